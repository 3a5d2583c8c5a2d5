"""Analytics engines behind Ibis: DuckDB (default, embedded) or PySpark.

Both read the same Parquet snapshot, so an evaluation written as Ibis expressions gives the
same result on either (tests compare them).

Spark runs where configuration says, with no code change:

- ``IB_SPARK_MASTER``: the master URL — ``local[2]`` (default, in process), ``spark://host:7077``
  (a standalone cluster), ``yarn``, ``k8s://https://…``.
- ``IB_SPARK_CONF``: further ``spark.*`` settings, ``key=value`` pairs separated by ``;`` or new
  lines (``spark.executor.memory=4g; spark.executor.instances=8``); they override the defaults
  below. A key not starting with ``spark.`` is refused.
- ``IB_SPARK_RESULTS``: where the executors write a result as Parquet before the driver reads it
  back (default: a private temporary folder). On a cluster whose executors run on other machines
  this must be a location the driver can read too (``hdfs://…``, ``s3a://…``, a shared mount).

Results are never collected row by row into the driver: :func:`fetch` has the executors write
Parquet and reads it back with Arrow. Local and loopback masters bind the driver to 127.0.0.1.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from industry_brain.core.errors import Location, ValidationError

ENGINES = ("duckdb", "pyspark")
DEFAULT_MASTER = "local[2]"
_SPARK: Any = None
_RESULTS_TMP = ""


def _conf_error(detail_zh: str, detail_en: str, value: str) -> ValidationError:
    return ValidationError(
        "engine.spark_conf",
        f"IB_SPARK_CONF 无效：{detail_zh}",
        f"IB_SPARK_CONF is invalid: {detail_en}",
        Location(field="IB_SPARK_CONF"),
        value,
    )


def spark_master() -> str:
    """The Spark master URL (``IB_SPARK_MASTER``, default ``local[2]``)."""
    return os.environ.get("IB_SPARK_MASTER", "").strip() or DEFAULT_MASTER


def _loopback(master: str) -> bool:
    return master.startswith("local") or any(
        host in master for host in ("//127.0.0.1", "//localhost")
    )


def spark_settings(master: str | None = None) -> dict[str, str]:
    """The Spark settings of the session: our defaults, then ``IB_SPARK_CONF`` over them."""
    master = master or spark_master()
    settings = {
        "spark.app.name": "industry-brain",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.memory": "4g",
    }
    if _loopback(master):
        settings["spark.driver.host"] = "127.0.0.1"
        settings["spark.driver.bindAddress"] = "127.0.0.1"
    raw = os.environ.get("IB_SPARK_CONF", "")
    for part in raw.replace("\n", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise _conf_error(f"“{part}”不是 键=值", f"'{part}' is not key=value", part)
        if not key.startswith("spark."):
            raise _conf_error(
                f"“{key}”不是 Spark 设置（应以 spark. 开头）",
                f"'{key}' is not a Spark setting (must start with spark.)",
                key,
            )
        settings[key] = value
    return settings


def spark_session() -> Any:
    """One shared Spark session on :func:`spark_master` (started on first use, ~5 s)."""
    global _SPARK
    if _SPARK is None:
        master = spark_master()
        settings = spark_settings(master)
        if _loopback(master):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        from pyspark.sql import SparkSession

        tmp = _scratch("ib-spark-")
        builder = SparkSession.builder.master(master).config(
            "spark.sql.warehouse.dir", str(Path(tmp) / "warehouse")
        )
        for key, value in settings.items():
            builder = builder.config(key, value)
        _SPARK = builder.getOrCreate()
        _SPARK.sparkContext.setLogLevel("ERROR")
    return _SPARK


def _scratch(prefix: str) -> str:
    """A temporary folder of this process, removed when the process exits."""
    folder = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _results_location() -> tuple[str, Any, str]:
    """A fresh folder for one result: (URI for Spark, pyarrow filesystem, path in it)."""
    import uuid

    from pyarrow import fs

    root = os.environ.get("IB_SPARK_RESULTS", "").strip()
    name = f"result-{uuid.uuid4().hex}"
    if not root:
        global _RESULTS_TMP
        _RESULTS_TMP = _RESULTS_TMP or _scratch("ib-spark-results-")
        root = _RESULTS_TMP
    if "://" not in root:
        path = str(Path(root).resolve() / name)
        return path, fs.LocalFileSystem(), path
    uri = root.rstrip("/") + "/" + name
    # Spark's Hadoop S3 connector says s3a://, Arrow says s3://: the same objects
    arrow_uri = "s3://" + uri[len("s3a://") :] if uri.startswith("s3a://") else uri
    filesystem, path = fs.FileSystem.from_uri(arrow_uri)
    return uri, filesystem, path


def _to_pandas(table: Any) -> pd.DataFrame:
    return table.to_pandas(split_blocks=True, self_destruct=True)


def fetch(con: Any, expr: Any) -> pd.DataFrame:
    """Execute ``expr`` and return its rows as pandas, through Arrow.

    On DuckDB the result comes back as Arrow directly. On Spark the executors write it as Parquet
    (no row passes through the driver's JVM heap) and Arrow reads the files back; the folder is
    removed afterwards. (``execute()`` adds per-column conversions that cost seconds at
    500,000 rows, so neither engine uses it.) The Arrow table becomes pandas column by column
    (``split_blocks``: no consolidation of a hundred float columns into one 2-D copy) and frees
    each Arrow column once converted (``self_destruct``): half the conversion time and peak
    memory of a wide result."""
    import pyarrow.dataset as ds

    if getattr(con, "name", "") != "pyspark":
        return _to_pandas(con.to_pyarrow(expr))
    uri, filesystem, path = _results_location()
    try:
        con.to_parquet(expr, uri)
        table = ds.dataset(path, filesystem=filesystem, format="parquet").to_table()
        # the columns in the expression's order, whatever order the part files list them
        return _to_pandas(table.select(list(expr.columns)))
    finally:
        with contextlib.suppress(FileNotFoundError, OSError):
            filesystem.delete_dir(path)


def computed_once(backend: Any, table: Any) -> Any:
    """``table`` computed once where the engine would recompute it at every use: on Spark, which
    inlines a subquery wherever it is read, a persisted frame (the Ibis backend's cache,
    released with the expressions); elsewhere (DuckDB materialises a CTE read several times)
    ``table`` itself. ``Table.cache()`` would pick the default backend for in-memory inputs and
    PySpark's cache does not register them first (Ibis 12 has no public way to): both are done
    here on ``backend``."""
    if backend is None or getattr(backend, "name", "") != "pyspark":
        return table
    backend._run_pre_execute_hooks(table)
    return backend._cached_table(table)


def table_path(snapshot_dir: Path, name: str) -> Path:
    """Where the snapshot table ``name`` lies: a folder of Parquet files, one per year and
    bucket of enterprises (``facts/2025-0000.parquet``), or one file (``enterprises.parquet``).
    pandas and pyarrow read either."""
    folder = Path(snapshot_dir) / name
    return folder if folder.is_dir() else Path(snapshot_dir) / f"{name}.parquet"


def scan_path(path: Path) -> str:
    """The path an engine reads a table from: a folder's Parquet files by glob, or the file."""
    return str(Path(path) / "*.parquet") if Path(path).is_dir() else str(path)


def snapshot_tables(snapshot_dir: Path) -> tuple[str, ...]:
    """The names of the tables a snapshot folder holds (files and per-year folders)."""
    root = Path(snapshot_dir)
    files = {p.stem for p in root.glob("*.parquet")}
    folders = {p.parent.name for p in root.glob("*/*.parquet") if not p.parent.name.startswith(".")}
    return tuple(sorted(files | folders))


def connect(
    snapshot_dir: Path | str, engine: str = "duckdb", tables: tuple[str, ...] | None = None
):  # type: ignore[no-untyped-def]
    """An Ibis backend with the snapshot's Parquet tables registered under their names (a table
    kept as files per year and bucket is read as one table).

    ``snapshot_dir`` is a local folder or the URI of a published snapshot
    (:mod:`industry_brain.warehouse.shared`: ``s3://…``, ``hdfs://…``, ``file://…``). On
    PySpark a local folder that was published is read from its URI, so the executors of a
    cluster read the shared copy, never the driver's disk."""
    import ibis

    from industry_brain.warehouse import shared

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
    location = str(snapshot_dir)
    if engine == "pyspark" and not shared.is_uri(location):
        location = shared.published_uri(Path(location)) or location
    if not shared.is_uri(location):
        for name in tables or snapshot_tables(Path(location)):
            con.read_parquet(scan_path(table_path(Path(location), name)), table_name=name)
        return con
    for name in tables or tuple(sorted(shared.remote_tables(location))):
        if engine == "duckdb":
            # an Arrow dataset on the shared file system: no DuckDB extension to install
            con.con.register(name, shared.dataset(location, name))
        else:
            con.read_parquet(shared.table_uri(location, name), table_name=name)
    return con
