"""智改数转 programmes: diagnosis programmes, benchmarks and recognitions, 智造荟 events,
智能制造贷 loans and the investment structure (重硬轻软) of projects (issue 19, points 4–8)."""
