"""工业运行监测 (industrial operation monitoring): 规上工业增加值 and growth, output, revenue,
profit, tax, monthly electricity, shares of industry groups and 新产品产值率, per county,
industry and year."""
