"""亩均论英雄 (per-mu performance evaluation) and 清三低 — the bureau's yearly census of every
industrial enterprise: output per unit of land, energy and emissions, turned into classes
(A 优先发展 · B 鼓励提升 · C 监管调控 · D 落后整治 · T 不参评) that drive differentiated land,
power, energy and pollutant policies.

- ``rules``: dated regional parameters (``parameters/mujun*.yaml``) resolved into rule tables
- ``evaluate``: the evaluation as Ibis expressions (DuckDB or PySpark), a pure function
- ``service``: snapshot → evaluate → store a run (run id, parameter version, input batches)
- ``explain``, ``lists`` (清三低), ``measures`` (差别化政策), ``appeals`` (异议), ``report`` (XLSX)
"""
