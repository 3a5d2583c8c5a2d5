"""智能制造诊断 (diagnosis): maturity questionnaires, GB/T 39117 scoring, assessments (issue 18)."""
