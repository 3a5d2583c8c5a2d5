"""项目钉 project tracker: the six stages (签约 → 开工 → 竣工 → 投产 → 上规 → 达产), a
forward-only stage machine with audited corrections and optimistic locking, 破五未 warnings
from dated regional deadlines, 破难题 problem tickets, and 百千万 programmes with a red/yellow/
black bulletin (XLSX, HTML, PDF).

Modules: :mod:`.stages` (projects, stage machine, progress reports), :mod:`.wuwei` (破五未
warnings and daily snapshots), :mod:`.tickets`, :mod:`.programs` (enrolment, progress,
bulletin figures), :mod:`.bulletin` (XLSX/HTML/PDF files), :mod:`.cli`, :mod:`.demo_hook`.
Every function that depends on the date takes ``today`` explicitly; none reads the clock.
"""
