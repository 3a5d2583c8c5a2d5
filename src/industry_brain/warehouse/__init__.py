"""产业数据仓: Parquet snapshots of the store and the analytics engine connection (Ibis over
DuckDB by default, PySpark for province scale)."""

from industry_brain.warehouse.engines import connect
from industry_brain.warehouse.snapshot import Snapshot, build_snapshot, latest_snapshot

__all__ = ["Snapshot", "build_snapshot", "connect", "latest_snapshot"]
