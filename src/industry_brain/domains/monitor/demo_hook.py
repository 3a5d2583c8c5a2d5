"""工业运行监测 in the main job: the latest year's figures on a current snapshot of the demo store,
printed as headline figures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

ORDER = 40  # after the services whose results the snapshot publishes


def run(engine: Engine, out_dir: Path, progress: Callable[[str, int, int], None]) -> dict[str, Any]:
    from industry_brain.domains.monitor.service import for_store, headline

    rep = for_store(engine, root=out_dir / "snapshots")
    return {
        "year": rep.year,
        "city": rep.city,
        "counties": len(rep.counties),
        "snapshot": rep.snapshot,
        "headline": headline(rep),
    }


def headline(summary: dict[str, Any]) -> list[str]:
    return list(summary["headline"])
