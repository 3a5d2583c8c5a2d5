"""One package per service (mujun, carbon, projects, ...): parameters, models, evaluation."""
