"""标识解析 secondary node and GB/T 34014 battery traceability (issue 20)."""
