"""标识解析 in the main job: demo prefixes (88.118.1001 …, demo values) for the first enterprises
of the store, applied for and approved by an officer; a bulk upload of batch identifiers per
enterprise; a GB/T 34014 battery chain (pack → modules → cells, installed in a vehicle, one cell
retired and given a second-life code); a few resolutions, one withdrawal; the statistics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

ORDER = 45  # reads nothing the others publish
ENTERPRISES = 6
# batch identifiers per demo enterprise: five per enterprise of the store, 500 to 50,000 each
# (the city demo: 6 × 50,000 = 300,000 — "a few hundred thousand", issue 20; small: fewer)
PER_ENTERPRISE_MIN, PER_ENTERPRISE_MAX, PER_FIRM = 500, 50_000, 5


def per_enterprise(firms: int) -> int:
    """Batch identifiers each demo enterprise uploads, for a store of ``firms`` enterprises."""
    return min(PER_ENTERPRISE_MAX, max(PER_ENTERPRISE_MIN, firms * PER_FIRM))


DEMO_VIN = "LDEMO000000000001"  # demo value, not a real vehicle


def run(engine: Engine, out_dir: Path, progress: Callable[[str, int, int], None]) -> dict[str, Any]:
    from industry_brain.domains.identifiers import batteries, service, stats
    from industry_brain.domains.identifiers import battery as bcode
    from industry_brain.domains.identifiers.cli import headline_lines
    from industry_brain.domains.identifiers.models import IdPrefix
    from industry_brain.store.models import Enterprise

    config = service.load_config()
    with Session(engine) as s:
        service.ensure_builtin_templates(s, "demo")
        if s.scalar(select(func.count()).select_from(IdPrefix)):
            out = stats.summary(s)
            return {**out, "headline": headline_lines(out)}
        ents = list(s.scalars(select(Enterprise).order_by(Enterprise.id).limit(ENTERPRISES)))
        if not ents:
            return {"headline": ["标识解析：没有企业 / identifiers: no enterprises"]}
        officer = service.Actor("demo-officer", "city_officer")
        actors = []
        for i, e in enumerate(ents):
            actor = service.Actor(f"demo:{e.uscc}", "enterprise", e.id)
            prefix = f"{config.prefix}.{1001 + i}"
            service.apply_prefix(s, actor, e.uscc, prefix, config)
            service.decide_prefix(s, officer, prefix, True)
            actors.append((actor, prefix))
        per = per_enterprise(s.scalar(select(func.count()).select_from(Enterprise)) or 0)
        for n, (actor, prefix) in enumerate(actors):
            progress("ids", n, len(actors) + 1)
            # the enterprise's upload: plain values, no quoting needed
            lines = ["suffix,product,batch,quantity,produced"] + [
                f"LOT-2026-{k:05d},演示产品,2026{k:05d},{k % 97 + 1},2026-11-01"
                for k in range(1, per + 1)
            ]
            content = "\n".join(lines).encode("utf-8")
            service.bulk_file(s, actor, prefix, "demo.csv", content, "batch", config)
        # a battery chain under the first enterprise's prefix
        actor, prefix = actors[0]
        day = date(2026, 3, 15)
        pack = bcode.generate("D01", "P", "B", "01", "DEMO001", day, 1)
        modules = [bcode.generate("D01", "M", "B", "01", "DEMO001", day, i) for i in (1, 2)]
        cells = [bcode.generate("D01", "C", "B", "02", "DEMO001", day, i) for i in range(1, 9)]
        batteries.register(s, actor, prefix, pack, day, config)
        for m in modules:
            batteries.register(s, actor, prefix, m, day, config, parent=pack)
        for i, c in enumerate(cells):
            batteries.register(s, actor, prefix, c, day, config, parent=modules[i // 4])
        batteries.event(s, actor, pack, "installed", date(2026, 4, 1), vin=DEMO_VIN)
        batteries.event(s, actor, cells[0], "retired", date(2026, 10, 1))
        second = bcode.generate("D01", "C", "B", "02", "SL00001", date(2026, 11, 1), 1)
        batteries.register(s, actor, prefix, second, date(2026, 11, 1), config, original=cells[0])
        service.withdraw(s, actor, f"{prefix}/LOT-2026-00001", "演示注销 demo withdrawal")
        for text in (
            f"{prefix}/LOT-2026-00002",
            f"{prefix}/{pack}",
            f"{prefix}/{second}",
            f"{prefix}/LOT-2026-00001",
            f"{prefix}/NOPE",
        ):
            service.resolve(s, text, config)
        progress("ids", len(actors) + 1, len(actors) + 1)
        out = stats.summary(s)
    return {**out, "battery_pack": pack, "headline": headline_lines(out)}


def headline(summary: dict[str, Any]) -> list[str]:
    return list(summary["headline"])
