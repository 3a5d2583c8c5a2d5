"""政策计算器 · 一键减负 · 政策直兑: policies as rules-as-code over the warehouse (issue 16)."""
