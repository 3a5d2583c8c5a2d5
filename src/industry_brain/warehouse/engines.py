"""Analytics engines behind Ibis: DuckDB (default, embedded) or PySpark (``local[2]``).

Both read the same Parquet snapshot, so an evaluation written as Ibis expressions gives the
same result on either (tests compare them). Spark is configured for this machine: a private
warehouse directory, no UI, loopback only.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from industry_brain.core.errors import Location, ValidationError

ENGINES = ("duckdb", "pyspark")
_SPARK: Any = None


def spark_session() -> Any:
    """One shared local Spark session (started on first use, ~5 s)."""
    global _SPARK
    if _SPARK is None:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        from pyspark.sql import SparkSession

        tmp = tempfile.mkdtemp(prefix="ib-spark-")
        _SPARK = (
            SparkSession.builder.master("local[2]")
            .appName("industry-brain")
            .config("spark.sql.warehouse.dir", str(Path(tmp) / "warehouse"))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.memory", "4g")  # collecting province-scale results
            .getOrCreate()
        )
        _SPARK.sparkContext.setLogLevel("ERROR")
    return _SPARK


def connect(snapshot_dir: Path, engine: str = "duckdb", tables: tuple[str, ...] | None = None):  # type: ignore[no-untyped-def]
    """An Ibis backend with the snapshot's Parquet tables registered under their names."""
    import ibis

    if engine not in ENGINES:
        raise ValidationError(
            "engine.unknown",
            f"未知的计算引擎“{engine}”（可选：duckdb、pyspark）",
            f"unknown engine '{engine}' (duckdb or pyspark)",
            Location(field="engine"),
            engine,
        )
    if engine == "duckdb":
        con = ibis.duckdb.connect()
        con.raw_sql("SET enable_progress_bar = false")  # keeps --json output clean
    else:
        con = ibis.pyspark.connect(spark_session())
    names = tables or tuple(p.stem for p in sorted(Path(snapshot_dir).glob("*.parquet")))
    for name in names:
        con.read_parquet(str(Path(snapshot_dir) / f"{name}.parquet"), table_name=name)
    return con
