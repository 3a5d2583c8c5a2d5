"""产业数据仓: Parquet snapshots of the store and the analytics engine connection (Ibis over
DuckDB by default, PySpark for province scale).

The package's names are loaded on first use (PEP 562): ``python -m
industry_brain.warehouse.sqlite_export``, the child process of every snapshot of a SQLite
store, then imports only Arrow and the ADBC driver — importing the snapshot module (pandas,
SQLAlchemy, every service's models) cost it ≈ 85 % of its time."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from industry_brain.warehouse.engines import connect
    from industry_brain.warehouse.snapshot import Snapshot, build_snapshot, latest_snapshot

__all__ = ["Snapshot", "build_snapshot", "connect", "latest_snapshot"]

_HOMES = {
    "connect": "industry_brain.warehouse.engines",
    "Snapshot": "industry_brain.warehouse.snapshot",
    "build_snapshot": "industry_brain.warehouse.snapshot",
    "latest_snapshot": "industry_brain.warehouse.snapshot",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
