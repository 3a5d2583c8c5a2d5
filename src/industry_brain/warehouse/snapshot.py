"""Snapshot of the operational store as Parquet: the input of every evaluation.

Tables (one Parquet file each under the snapshot folder; the two big ones, ``facts`` and
``electricity_monthly``, one file per year and bucket of enterprise ids under a folder of their
name — ``facts/2025-0003.parquet`` — so an evaluation of a year reads that year's files and a
refresh rewrites only the files of the years and enterprises a new batch touched):

- ``enterprises``: enterprise_id, uscc, name, county_code, industry_code, division, status
- ``scales``: enterprise_id, year, above_scale (规上/规下 by year)
- ``facts``: enterprise_id, year, item, value, unit, source_dept — the current
  figures of the preferred department (``ingest.precedence``), monthly and per-detail figures
  (power accounts, parcels, tax types) summed to the year
- ``electricity_monthly``: enterprise_id, year, month, value (kWh, all accounts summed)
- ``result_<service>``: the results each service publishes (``ib_result_tables`` of the service
  contract, :mod:`industry_brain.contract`): ``result_mujun``, ``result_carbon``,
  ``result_projects``, … — the rows of the services' published runs with run id and parameter
  version. A service reads another's results only here, as Ibis tables.

``manifest.json`` records the snapshot time, row counts, the batch ids and the service runs it
contains, so a result can name the inputs (batches and runs) it was computed from.
"""

from __future__ import annotations

import hashlib
import json
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import BigInteger, Connection, Engine, Float, cast, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core.errors import Location, ValidationError
from industry_brain.store import facts as fact_store
from industry_brain.store.db import bulk_reads, describe, select_frame
from industry_brain.store.models import Enterprise, EnterpriseScale, Fact, ImportBatch
from industry_brain.warehouse import shared
from industry_brain.warehouse.engines import scan_path, table_path

TABLES = ("enterprises", "scales", "facts", "electricity_monthly")
#: tables written as one Parquet file per year and bucket of ``BUCKET_FIRMS`` enterprise ids
#: (``<table>/<year>-<bucket>.parquet``; a table without rows is one empty file,
#: ``<table>/empty.parquet``)
BY_YEAR = ("facts", "electricity_monthly")


@dataclass
class Snapshot:
    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    batch_ids: list[int] = field(default_factory=list)
    created_at: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)
    database: str = ""
    #: the parameter version the facts were reduced with (department precedence)
    parameter_version: str = ""
    #: what fixes each result table's rows (``ResultTable.fixed_by``), by table: a refresh
    #: links a table whose key is unchanged
    result_keys: dict[str, Any] = field(default_factory=dict)
    #: enterprise ids per year file (``BUCKET_FIRMS`` when written; None: a snapshot written
    #: before the buckets, one file per year)
    bucket_firms: int | None = None
    #: fingerprint of the import batches it holds (ids, files, times): proves a later snapshot
    #: may start from it (the same store, nothing rewritten)
    batches_fingerprint: str = ""
    #: an incremental refresh: the snapshot it started from and the enterprises it re-read
    refreshed_from: str = ""
    refreshed_enterprises: int | None = None
    #: a refresh: the years whose files it wrote (the others are the base's files, linked);
    #: None for a full build (every year written)
    rewritten_years: list[int] | None = None
    #: where the snapshot was published for a cluster (``IB_SNAPSHOT_URI``), "" when not
    published_uri: str = ""
    #: what the last publication sent and copied (:func:`shared.publish`); not in the manifest
    publication: dict[str, Any] | None = field(default=None, repr=False)

    def table(self, name: str) -> Path:
        """The table's Parquet file, or its folder of year files (:data:`BY_YEAR`)."""
        return table_path(self.path, name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "rows": self.rows,
            "batch_ids": self.batch_ids,
            "created_at": self.created_at,
            "runs": self.runs,
            "database": self.database,
            "parameter_version": self.parameter_version,
            "result_keys": self.result_keys,
            "bucket_firms": self.bucket_firms,
            "batches_fingerprint": self.batches_fingerprint,
            "refreshed_from": self.refreshed_from,
            "refreshed_enterprises": self.refreshed_enterprises,
            "rewritten_years": self.rewritten_years,
            "published_uri": self.published_uri,
        }

    def runs_of(self, table: str) -> list[dict[str, Any]]:
        """The runs whose rows the result table ``table`` holds (from the manifest)."""
        return [r for r in self.runs if r.get("table") == table]

    @classmethod
    def open(cls, path: Path) -> Snapshot:
        data = json.loads((path / "manifest.json").read_text("utf-8"))
        return cls(
            path=Path(path),
            rows=data["rows"],
            batch_ids=data["batch_ids"],
            created_at=data["created_at"],
            runs=data.get("runs", []),
            database=data.get("database", ""),
            parameter_version=data.get("parameter_version", ""),
            result_keys=data.get("result_keys", {}),
            bucket_firms=data.get("bucket_firms"),
            batches_fingerprint=data.get("batches_fingerprint", ""),
            refreshed_from=data.get("refreshed_from", ""),
            refreshed_enterprises=data.get("refreshed_enterprises"),
            rewritten_years=data.get("rewritten_years"),
            published_uri=data.get("published_uri", ""),
        )


def latest_snapshot(root: Path, engine: Engine) -> Snapshot | None:
    """The newest snapshot under ``root`` taken of the store of ``engine`` that is current:
    no import batch committed since and every service run it holds still the published one
    (None when there is none)."""
    database = describe(str(engine.url))
    found = []
    for manifest in Path(root).glob("*/manifest.json"):
        try:
            snap = Snapshot.open(manifest.parent)
        except (OSError, ValueError, KeyError):
            continue  # a snapshot being written or a foreign folder
        if snap.database == database:
            found.append(snap)
    if not found:
        return None
    snap = max(found, key=lambda s: (s.created_at, str(s.path)))
    with Session(engine) as s:
        batches = _input_batches(s)
        runs = _published_runs(s)
    current = batches == snap.batch_ids and [
        {k: r[k] for k in ("table", "run_id")} for r in runs
    ] == [{k: r[k] for k in ("table", "run_id")} for r in snap.runs]
    return snap if current else None


def _write(frame: pd.DataFrame, path: Path, schema: pa.Schema) -> int:
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    pq.write_table(table, path, compression="zstd")
    return table.num_rows


_ARROW = {"int64": pa.int64(), "float64": pa.float64(), "string": pa.string(), "bool": pa.bool_()}
_PANDAS = {"int64": "Int64", "float64": "float64", "string": "object", "bool": "boolean"}


def _input_batches(session: Session) -> list[int]:
    """Every batch whose rows are in the store (committed or partly loaded): a snapshot's inputs."""
    return [
        int(b)
        for b in session.scalars(
            select(ImportBatch.id)
            .where(ImportBatch.status.in_(["committed", "partial"]))
            .order_by(ImportBatch.id)
        )
    ]


def _published_runs(session: Session) -> list[dict[str, Any]]:
    """The runs of every service's published result tables (no rows read), as the manifest
    of a snapshot taken now would name them."""
    from industry_brain import contract

    return [
        {**r, "table": table.name}
        for _service, tables in contract.each("result_tables")
        for table in tables
        for r in table.published_runs(session)
    ]


def _write_results(
    session: Session, out_dir: Path, base: Snapshot | None = None
) -> tuple[dict[str, int], list[dict[str, Any]], dict[str, Any]]:
    """Every service's published result tables (service contract) as Parquet under
    ``out_dir``, their runs and the keys of the tables that declare what fixes their rows
    (``ResultTable.fixed_by``). With ``base`` (a refresh), a table whose key equals the base
    snapshot's is the base's file, linked: not read again."""
    from industry_brain import contract

    rows: dict[str, int] = {}
    runs: list[dict[str, Any]] = []
    keys: dict[str, Any] = {}
    for _service, tables in contract.each("result_tables"):
        for table in tables:
            target = out_dir / f"{table.name}.parquet"
            if table.fixed_by is not None:
                # JSON's own form, as the manifest keeps it
                keys[table.name] = json.loads(json.dumps(table.fixed_by(session)))
                if (
                    base is not None
                    and (base.path / target.name).is_file()
                    and table.name in base.rows
                    and base.result_keys.get(table.name) == keys[table.name]
                ):
                    _link(base.path / target.name, target)
                    rows[table.name] = base.rows[table.name]
                    runs += [{**r, "table": table.name} for r in table.published_runs(session)]
                    continue
            frame, table_runs = table.read(session)
            runs += [{**r, "table": table.name} for r in table_runs]
            frame = frame[[c for c, _ in table.schema]]
            # Arrow converts a ready column as it is (NaN and None become null); the frame is
            # copied only when a column must be normalised (a copy of millions of rows costs
            # more than the check)
            unready = [(c, k) for c, k in table.schema if not _arrow_ready(frame[c], k)]
            if unready:
                frame = frame.copy()
            for col, kind in unready:
                values = frame[col].astype(object).where(frame[col].notna(), None)
                frame[col] = values if kind == "string" else values.astype(_PANDAS[kind])
            schema = pa.schema([(c, _ARROW[k]) for c, k in table.schema])
            rows[table.name] = _write(frame, target, schema)
    return rows, runs, keys


def _arrow_ready(column: pd.Series, kind: str) -> bool:
    """Whether Arrow converts ``column`` to the schema's ``kind`` as it is: integers (plain or
    nullable) for int64, floats for float64, booleans (plain or nullable) for bool, text for
    string. Anything else (an object column of ints and None, ints with NaN read as floats) is
    normalised value by value first — millions of Python objects at province scale, so only
    when needed. An object column holding only text (and missing values) is ready for string:
    one C pass over it instead of a copy (the market's 2.6 million matches at province scale
    carry their run's version and date as such columns)."""
    dtype = column.dtype
    if kind == "int64":
        return pd.api.types.is_integer_dtype(dtype)
    if kind == "float64":
        return pd.api.types.is_float_dtype(dtype)
    if kind == "bool":
        return pd.api.types.is_bool_dtype(dtype)
    if pd.api.types.is_object_dtype(dtype):
        return pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty")
    return pd.api.types.is_string_dtype(dtype)


def _precedence_ranks(
    combos: pd.DataFrame, known: dict[tuple[str, int, str, str], int] | None = None
) -> pd.DataFrame:
    """The rank of each department per (county, year, item) in ``ingest.precedence`` (0 first; a
    department the table does not list ranks after all listed ones). ``known``: ranks found
    before (a snapshot's buckets share most combinations), completed here."""
    params = parameters.load()
    known = {} if known is None else known
    ranks = []
    for county, year, item, dept in combos.itertuples(index=False):
        key = (county, int(year), item, dept)
        if key not in known:
            table = params.get("ingest.precedence", region=county or None, on=date(key[1], 1, 1))
            order = table.get(item) or table["default"]
            known[key] = order.index(dept) if dept in order else len(order)
        ranks.append(known[key])
    return combos.assign(rank=pd.Series(ranks, dtype="int64", index=combos.index))


RAW_COLUMNS = ("enterprise_id", "year", "month", "item", "value", "unit", "source_dept")
RAW_SCHEMA = pa.schema(
    [
        ("enterprise_id", pa.int64()),
        ("year", pa.int64()),
        ("month", pa.int64()),
        ("item", pa.string()),
        ("value", pa.float64()),
        ("unit", pa.string()),
        ("source_dept", pa.string()),
    ]
)
#: PostgreSQL's export sends ``enterprise_id · 2¹⁸ + year · 2⁴ + month`` as this one column
#: instead of the three (:func:`_raw_facts_sql`); migration 0030's ``ck_facts_period`` keeps
#: the year within 14 bits and the month within 4
PACKED_KEY = "enterprise_year_month"
_MONTH_BITS = 4
PACKED_SHIFT = 18
_PACKED = ("enterprise_id", "year", "month")
#: DuckDB's memory for precedence and sums; beyond it DuckDB spills to the snapshot's temp folder
DUCKDB_MEMORY = "2GB"
#: an incremental refresh re-reads at most this many enterprises; beyond, a full build
INCREMENTAL_MAX = 50_000
#: enterprises (by id) per file of a year: a refresh rewrites only the files of the enterprises
#: it re-read (a file of a year holds ≈ 2 million facts at province scale)
BUCKET_FIRMS = 50_000


def _raw_facts_sql(
    conn: Any,
    enterprises: list[int] | None = None,
    ids: tuple[int, int | None] | None = None,
    with_unit: bool = True,
) -> str:
    """The store's current facts (``RAW_COLUMNS``): of ``enterprises`` only, or of the ids
    ``ids`` = [low, high) (high None: no upper bound). ``with_unit`` False: on PostgreSQL
    without the unit, which the caller names from the item
    (:func:`industry_brain.store.facts.batch_units`); SQLite's read always carries it."""
    if conn.dialect.name == "postgresql":
        # the enterprise, year and month packed into one bigint (``PACKED_KEY``), split again
        # by Arrow (:func:`_coded`): every column sent costs PostgreSQL's output and ADBC's
        # decoding of each of 85 million rows (a bucket of 8.3 million facts: 0.4–0.5 s less
        # CPU on each side, measured); exact within ``ck_facts_period`` (migration 0030)
        packed = (
            cast(Fact.enterprise_id, BigInteger)
            .op("<<")(PACKED_SHIFT)
            .op("|")(Fact.year.op("<<")(_MONTH_BITS))
            .op("|")(Fact.month)
        )
        columns: list[Any] = [
            packed.label(PACKED_KEY),
            *(
                getattr(Fact, c)
                for c in RAW_COLUMNS
                if c not in _PACKED and (with_unit or c != "unit")
            ),
        ]
    else:
        # typed casts on SQLite, whose values carry no declared type of their own (ADBC infers
        # from them)
        columns = [
            cast(getattr(Fact, c), Float if t == pa.float64() else BigInteger).label(c)
            if t != pa.string()
            else getattr(Fact, c)
            for c, t in zip(RAW_COLUMNS, RAW_SCHEMA.types, strict=True)
        ]
    stmt = select(*columns).where(Fact.superseded_by.is_(None), Fact.value.is_not(None))
    if enterprises is not None:
        stmt = stmt.where(Fact.enterprise_id.in_(enterprises))
    if ids is not None:
        stmt = stmt.where(Fact.enterprise_id >= ids[0])
        if ids[1] is not None:
            stmt = stmt.where(Fact.enterprise_id < ids[1])
    return str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))


def _files_sql(files: Iterable[Path | str]) -> str:
    """``files`` as a DuckDB list of string literals, for ``read_parquet([…])``."""
    return ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)


#: what the export hands the reduction for one bucket: the bucket, its raw facts (an Arrow
#: table, or a DuckDB expression reading them: a staged Parquet file) — which may hold other
#: buckets' facts too — and the end of its id range (None: open, the last bucket)
RawPart = tuple[int, "pa.Table | str", int | None]
#: buckets read ahead of DuckDB's reduction (each ≈ 2.5 million raw facts, ≈ 200 MB as Arrow,
#: at province scale)
PREFETCH = 1


class _RawFacts:
    """The store's current facts, handed out bucket by bucket (``BUCKET_FIRMS`` enterprise
    ids) by a thread of their own, so that DuckDB reduces one bucket while the store hands out
    the next: the two overlap instead of following each other.

    - **PostgreSQL, a full build**: one query per bucket (``enterprise_id`` in the bucket's
      range, answered from ``ix_facts_lookup``) through the ADBC PostgreSQL driver on a
      connection of its own (``COPY … TO STDOUT (FORMAT binary)`` decoded into Arrow in C: no
      Python object per row); at most ``PREFETCH`` buckets wait while DuckDB works, so memory
      is bounded by a few buckets.
    - **PostgreSQL, a refresh**: the affected enterprises' facts in one query, then each of
      their buckets.
    - **SQLite**: the ADBC SQLite driver, in a child process (:mod:`.sqlite_export`: its own
      copy of SQLite must not share this process's file locks), reads the facts in one pass,
      Arrow batch by Arrow batch, into one staged Parquet file per bucket; each bucket is then
      read from its file.

    The facts are read on another connection than the caller's, so an import committed in
    between may or may not be in them. ``enterprises``: only these (a refresh); an empty list
    reads nothing. ``buckets``: the buckets to hand out, ascending; the last one's range is
    open (an enterprise registered after the caller read the enterprises is not lost)."""

    def __init__(
        self,
        conn: Connection,
        staging: Path,
        enterprises: list[int] | None,
        buckets: list[int],
        units: dict[str, str] | None = None,
    ) -> None:
        self.buckets = buckets
        self.staging = staging
        self.dialect = conn.dialect.name
        self.url = conn.engine.url
        if self.dialect != "postgresql":
            database = conn.engine.url.database
            if not database or database == ":memory:":
                raise ValidationError(
                    "snapshot.memory_store",
                    "内存中的 SQLite 库不能生成快照，请使用数据库文件",
                    "an in-memory SQLite store cannot be snapshotted: use a database file",
                    Location(field="IB_DATABASE_URL"),
                    str(conn.engine.url),
                )
        # the unit of each item, when every batch recorded them (PostgreSQL: one text column
        # fewer to send and decode per fact; the reduction names each fact's unit from its
        # item, :func:`_coded`)
        self.units = units if self.dialect == "postgresql" else None
        with_unit = self.units is None
        # compiled here, on the caller's connection (its dialect), for the thread
        self.sql: dict[int | None, str] = {}
        if enterprises is not None and not enterprises:
            return
        if self.dialect == "postgresql" and enterprises is None:
            for i, bucket in enumerate(buckets):
                self.sql[bucket] = _raw_facts_sql(
                    conn, None, (bucket * BUCKET_FIRMS, self._end(i)), with_unit
                )
        else:
            self.sql[None] = _raw_facts_sql(conn, enterprises, None, with_unit)

    def _end(self, i: int) -> int | None:
        """The end of the ``i``-th bucket's id range (None: open, the last bucket)."""
        return None if i == len(self.buckets) - 1 else (self.buckets[i] + 1) * BUCKET_FIRMS

    def _produce(self) -> Iterator[RawPart]:
        if not self.sql:
            for i, bucket in enumerate(self.buckets):
                yield bucket, RAW_SCHEMA.empty_table(), self._end(i)
            return
        if self.dialect == "postgresql":
            from industry_brain.store.db import adbc_postgresql

            with adbc_postgresql(self.url) as conn, conn.cursor() as cursor:
                # a bucket is read along ix_facts_lookup, which carries every column read (an
                # index-only scan: 1.5 s for a bucket of 8 million facts of 85 million). Once
                # part of the table is not marked all-visible (after an import, before the
                # next vacuum) the planner may prefer a sequential scan: the whole table for
                # each bucket (8 s) — so this connection does not offer it one
                cursor.execute("SET enable_seqscan = off")
                cursor.execute("SET enable_bitmapscan = off")
                if None in self.sql:
                    cursor.execute(self.sql[None])
                    table = cursor.fetch_arrow_table()
                    for i, bucket in enumerate(self.buckets):
                        yield bucket, table, self._end(i)
                    return
                for i, bucket in enumerate(self.buckets):
                    cursor.execute(self.sql[bucket])
                    yield bucket, cursor.fetch_arrow_table(), self._end(i)
            return
        folder = self.staging / "raw"
        # ADBC in a child process: its own copy of SQLite must not share this process's
        # file locks. It writes one staged file per bucket (``raw-0003.parquet``)
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "industry_brain.warehouse.sqlite_export",
                str(self.url.database),
                str(folder),
                str(BUCKET_FIRMS),
            ],
            input=self.sql[None],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            raise RuntimeError(
                f"reading the facts of {self.url.database} failed: {child.stderr[-2000:]}"
            )
        staged = {int(f.stem.split("-")[1]): f for f in folder.glob("raw-*.parquet")}
        for i, bucket in enumerate(self.buckets):
            end = self._end(i)
            files = [
                f for b, f in sorted(staged.items()) if b == bucket or (end is None and b > bucket)
            ]
            source = f"read_parquet([{_files_sql(files)}])" if files else RAW_SCHEMA.empty_table()
            yield bucket, source, end

    @contextmanager
    def parts(self) -> Iterator[Iterator[RawPart]]:
        """The buckets' raw facts, read ahead in a thread (started on entering): the thread
        stops when the block is left, whether the parts were all taken or not."""
        ready: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=PREFETCH)
        stop = threading.Event()

        def put(item: tuple[str, Any]) -> bool:
            while not stop.is_set():
                try:
                    ready.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def run() -> None:
            try:
                for part in self._produce():
                    if not put(("part", part)):
                        return
            except BaseException as error:  # handed to the consumer, raised there
                put(("error", error))
                return
            put(("done", None))

        worker = threading.Thread(target=run, name="ib-facts-export", daemon=True)
        worker.start()

        def taken() -> Iterator[RawPart]:
            while True:
                kind, value = ready.get()
                if kind == "error":
                    raise value
                if kind == "done":
                    return
                yield value

        try:
            yield taken()
        finally:
            stop.set()
            worker.join()


def _year_files(folder: Path) -> dict[tuple[int, int], Path] | None:
    """A snapshot table's files by (year, bucket) — ``2025-0003.parquet`` — or None when a file
    is named otherwise (a snapshot written before the buckets: ``2025.parquet``); the empty
    table's ``empty.parquet`` is not a part."""
    parts: dict[tuple[int, int], Path] = {}
    for path in folder.glob("*.parquet"):
        found = _PART.fullmatch(path.stem)
        if found is None:
            if path.stem != "empty":
                return None
            continue
        parts[(int(found[1]), int(found[2]))] = path
    return parts


def _part_name(year: int, bucket: int) -> str:
    return f"{year}-{bucket:04d}.parquet"


_PART = re.compile(r"(\d{4})-(\d{4})")


def _base_parts(base: Snapshot | None) -> dict[str, dict[tuple[int, int], Path]] | None:
    """The base snapshot's files of each bucketed table by (year, bucket) when a refresh can
    link them (the same ``BUCKET_FIRMS``), else None (no base, or a base written before the
    buckets or with other buckets: read whole, every part written anew)."""
    if base is None or base.bucket_firms != BUCKET_FIRMS:
        return None
    if not all(base.table(t).is_dir() for t in BY_YEAR):
        return None
    found = {name: _year_files(base.table(name)) for name in BY_YEAR}
    if any(parts is None for parts in found.values()):
        return None
    return {name: parts for name, parts in found.items() if parts is not None}


def _write_facts(
    parts: Iterable[RawPart],
    enterprises: Path,
    out_dir: Path,
    staging: Path,
    base: Snapshot | None = None,
    affected: list[int] | None = None,
    changed_years: set[int] | None = None,
    base_parts: dict[str, dict[tuple[int, int], Path]] | None = None,
    units: dict[str, str] | None = None,
) -> tuple[dict[str, int], list[int] | None]:
    """Precedence, yearly sums and monthly electricity by DuckDB from the raw facts, bucket by
    bucket as :class:`_RawFacts` hands them out (memory bounded by a bucket and
    ``DUCKDB_MEMORY``, spilling to ``staging``), written as one Parquet file per year and
    bucket of enterprises (``facts/2025-0003.parquet``: ids 150,000–199,999 with
    ``BUCKET_FIRMS`` 50,000). Precedence and sums are per enterprise, so each bucket is reduced
    on its own while the store hands out the next.

    With ``base``, the raw facts are those of the ``affected`` enterprises only. Only the
    parts (year, bucket) that may differ from the base are written — the buckets of the affected
    enterprises, in ``changed_years`` (every year when None) — from the affected enterprises'
    facts and the base's rows of the other enterprises of those parts; every other part is the
    base's file, linked. An appeal's correction of one firm's year thus rewrites one part of
    one year, at any scale. ``base_parts``: the base's files that can be linked
    (:func:`_base_parts`); a base without them (written before the buckets) is read whole and
    every part written. ``units``: the unit of each item, for raw facts handed out without
    theirs (:class:`_RawFacts`). Returns the row counts and the years with a part written (None:
    a full build)."""
    import duckdb

    size = BUCKET_FIRMS
    touched = {int(e) // size for e in affected or ()}

    def redo(year: int, bucket: int) -> bool:
        """Whether the part (year, bucket) may differ from the base's."""
        return bucket in touched and (changed_years is None or year in changed_years)

    # in ``chosen`` the text columns are codes in the order of their text (:func:`_coded`):
    # ordering by the codes is ordering by the text, as a refresh orders its named rows
    order = {
        "facts": "enterprise_id, year, item, unit, source_dept",
        "electricity_monthly": "enterprise_id, year, month",
    }

    # fsum: compensated summation, as pandas' groupby sum (Kahan) did. A yearly figure is the
    # sum of its department's rows (months, details) after precedence; since precedence picks
    # one department per (enterprise, year, item), summing first and ranking the sums gives the
    # same figures from ≈ 3× fewer rows. The monthly electricity keeps the raw months of the
    # department chosen for the enterprise's yearly electricity
    def reduce(name: str, electricity: int) -> str:
        """The table ``name`` from ``chosen`` (and, for the months, the bucket's coded raw
        facts ``raw``); ``electricity``: the code of the item ``electricity`` (-1: none)."""
        if name == "facts":
            # the text again (a full build names the codes as it writes: :func:`_write_named`)
            return """SELECT c.enterprise_id, c.year, i.text AS item, c.value, u.text AS unit,
                             d.text AS source_dept
                      FROM chosen c JOIN text_item i ON i.code = c.item
                      JOIN text_unit u ON u.code = c.unit
                      JOIN text_source_dept d ON d.code = c.source_dept"""
        return f"""SELECT enterprise_id, year, month, fsum(value) AS value
                   FROM raw r
                   SEMI JOIN (SELECT enterprise_id, year, source_dept FROM chosen
                              WHERE item = {electricity}) c
                     USING (enterprise_id, year, source_dept)
                   WHERE item = {electricity} AND month > 0
                   GROUP BY enterprise_id, year, month"""

    columns = {
        "facts": "enterprise_id, year, item, value, unit, source_dept",
        "electricity_monthly": "enterprise_id, year, month, value",
    }

    def use(source: pa.Table, low: int, high: int | None) -> dict[str, pa.Array]:
        """``source``'s coded rows of the bucket [``low``, ``high``) as the table ``raw`` and
        each text column's values as ``text_<column>``; returns those values (:func:`_coded`)."""
        raw, texts = _coded(source, low, high, units)
        con.register("raw", raw)
        for column, values in texts.items():
            con.register(f"text_{column}", _text_table(values))
        return texts

    keep = "enterprise_id NOT IN (SELECT enterprise_id FROM affected)"
    years = (
        "TRUE"
        if changed_years is None
        else f"year IN ({', '.join(str(int(y)) for y in sorted(changed_years)) or 'NULL'})"
    )
    for name in BY_YEAR:
        (out_dir / name).mkdir()
    written: set[int] = set()
    ranked: dict[tuple[str, int, str, str], int] = {}
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
        con.execute(f"SET temp_directory = '{staging / 'spill'}'")
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = false")
        con.execute(
            f"""CREATE TEMP TABLE counties AS SELECT enterprise_id,
                coalesce(county_code, '') AS county FROM read_parquet('{enterprises}')"""
        )
        if base is not None:
            con.register("affected", pd.DataFrame({"enterprise_id": affected or []}, dtype="int64"))
        for bucket, source, high in parts:
            low = bucket * size
            within = f"enterprise_id >= {low}"
            if high is not None:
                within += f" AND enterprise_id < {high}"
            if not isinstance(source, pa.Table):  # staged files: the bucket's rows
                source = con.sql(f"SELECT * FROM {source} WHERE {within}").to_arrow_table()
            texts = use(source, low, high)
            del source  # the export's table: only the coded copy is reduced
            electricity = _code_of(texts["item"], "electricity")
            # summed per department first (then the contested groups ranked): all keys integers
            con.execute(
                """CREATE OR REPLACE TEMP TABLE summed AS
                    SELECT s.*, coalesce(c.county, '') AS county
                    FROM (SELECT enterprise_id, year, item, unit, source_dept,
                                 fsum(value) AS value
                          FROM raw
                          GROUP BY enterprise_id, year, item, unit, source_dept) s
                    LEFT JOIN counties c USING (enterprise_id)"""
            )
            combos = con.execute(
                "SELECT DISTINCT county, year, item, source_dept FROM summed ORDER BY ALL"
            ).df()
            # ranked by their text; registered by their codes
            ranks = _precedence_ranks(
                combos.assign(
                    item=_texts(texts["item"], combos["item"]),
                    source_dept=_texts(texts["source_dept"], combos["source_dept"]),
                ),
                ranked,
            ).assign(item=combos["item"], source_dept=combos["source_dept"])
            # a (county, year, item) that one department alone reports in the bucket needs no
            # ranking: every row of it is chosen (an enterprise lies in one county, so all its
            # rows of a year and item fall in one such group). Only the contested groups —
            # e.g. tax from statistics and the tax bureau — go through the window
            contested = ranks.groupby(["county", "year", "item"])["source_dept"].transform("size")
            con.register("ranks", ranks.assign(contested=contested > 1))
            con.execute(
                """CREATE OR REPLACE TEMP TABLE chosen AS
                   SELECT enterprise_id, year, item, value, unit, source_dept
                   FROM summed JOIN ranks k USING (county, year, item, source_dept)
                   WHERE NOT k.contested
                   UNION ALL
                   SELECT enterprise_id, year, item, value, unit, source_dept FROM (
                     SELECT summed.*, k.rank,
                            min(k.rank) OVER (PARTITION BY enterprise_id, summed.year,
                                                           summed.item) AS best
                     FROM summed JOIN ranks k USING (county, year, item, source_dept)
                     WHERE k.contested
                   ) WHERE rank = best"""
            )
            con.execute("DROP TABLE summed")
            for name in BY_YEAR:
                wanted = reduce(name, electricity)
                if base is not None:
                    if base_parts is not None:
                        # only the base's files of the parts being rewritten
                        files = [
                            str(path)
                            for (year, part), path in sorted(base_parts[name].items())
                            if part == bucket and redo(year, part)
                        ]
                    else:
                        files = [scan_path(base.table(name))]
                    if files:
                        wanted = (
                            f"SELECT {columns[name]} FROM ({wanted})"
                            f" UNION ALL SELECT {columns[name]}"
                            f" FROM read_parquet([{_files_sql(files)}])"
                            f" WHERE {keep} AND {within}"
                        )
                    if base_parts is not None:
                        wanted = f"SELECT * FROM ({wanted}) WHERE {years}"
                if base is None and name == "facts":
                    # the yearly figures as they are, their codes named by Arrow as it writes
                    # them (a Parquet dictionary from the codes: no text per row)
                    found = con.execute(
                        f"SELECT DISTINCT year, enterprise_id // {size} FROM chosen ORDER BY ALL"
                    ).fetchall()
                    for year, part in found:
                        coded = con.sql(
                            f"""SELECT {columns[name]} FROM chosen
                                WHERE year = {year} AND enterprise_id // {size} = {part}
                                ORDER BY {order[name]}"""
                        ).to_arrow_table()
                        _write_named(coded, texts, out_dir / name / _part_name(year, part))
                        written.add(int(year))
                    continue
                con.execute(f"CREATE OR REPLACE TEMP TABLE out AS {wanted}")
                found = con.execute(
                    f"SELECT DISTINCT year, enterprise_id // {size} FROM out ORDER BY ALL"
                ).fetchall()
                for year, part in found:
                    con.execute(
                        f"""COPY (SELECT {columns[name]} FROM out
                                  WHERE year = {year} AND enterprise_id // {size} = {part}
                                  ORDER BY {order[name]})
                            TO '{out_dir / name / _part_name(year, part)}' (FORMAT parquet,
                            COMPRESSION zstd)"""
                    )
                    written.add(int(year))
                con.execute("DROP TABLE out")
            con.execute("DROP TABLE chosen")
            con.unregister("raw")
        rows: dict[str, int] = {}
        for name in BY_YEAR:
            folder = out_dir / name
            if base_parts is not None:
                for part, old in sorted(base_parts[name].items()):
                    if not redo(*part):
                        _link(old, folder / old.name)
            if not any(folder.glob("*.parquet")):
                # the table's own columns: its reduction of no raw facts
                use(RAW_SCHEMA.empty_table(), 0, None)
                con.execute(
                    """CREATE OR REPLACE TEMP TABLE chosen AS SELECT enterprise_id, year, item,
                        value, unit, source_dept FROM raw"""
                )
                con.execute(
                    f"""COPY (SELECT {columns[name]} FROM ({reduce(name, -1)}))
                        TO '{folder / "empty.parquet"}' (FORMAT parquet, COMPRESSION zstd)"""
                )
            rows[name] = sum(pq.ParquetFile(f).metadata.num_rows for f in folder.glob("*.parquet"))
    finally:
        con.close()
    return rows, (sorted(written) if base is not None else None)


def _coded(
    source: pa.Table, low: int, high: int | None, units: dict[str, str] | None = None
) -> tuple[pa.Table, dict[str, pa.Array]]:
    """The raw facts of ``source`` in the bucket's id range [``low``, ``high``) (``high`` None:
    no upper bound), typed as ``RAW_SCHEMA`` with each text column (``item``, ``unit``,
    ``source_dept``) as int32 codes, and each text column's values in code order — sorted, so
    that ordering by the codes orders by the text. DuckDB groups, joins and sorts these
    integers several times faster than the text of millions of facts (a bucket of 8.3 million
    raw facts: its sums 1.8 → 0.8 s, its yearly files 1.3 → 0.7 s of CPU, measured).

    ``source`` may come with the enterprise, year and month packed (``PACKED_KEY``), and
    without its units: then each fact's unit is its item's in ``units``."""
    columns: dict[str, Any] = {}
    texts: dict[str, pa.Array] = {}
    if PACKED_KEY in source.column_names:  # PostgreSQL's packed key (:func:`_raw_facts_sql`)
        key = source[PACKED_KEY]
        source = source.drop_columns([PACKED_KEY])
        for name, value in (
            ("month", pc.bit_wise_and(key, (1 << _MONTH_BITS) - 1)),
            (
                "year",
                pc.bit_wise_and(
                    pc.shift_right(key, _MONTH_BITS), (1 << (PACKED_SHIFT - _MONTH_BITS)) - 1
                ),
            ),
            ("enterprise_id", pc.shift_right(key, PACKED_SHIFT)),
        ):
            source = source.add_column(0, name, value)
    ids = source["enterprise_id"].cast(pa.int64())
    if source.num_rows:
        least, most = pc.min_max(ids).values()
        outside = least.as_py() < low or (high is not None and most.as_py() >= high)
        if outside:  # a refresh's table holds every affected bucket: this bucket's rows
            keep = pc.greater_equal(ids, low)
            if high is not None:
                keep = pc.and_(keep, pc.less(ids, high))
            source = source.filter(keep)
    for name, kind in zip(RAW_COLUMNS, RAW_SCHEMA.types, strict=True):
        if name == "unit" and name not in source.column_names:
            columns[name], texts[name] = _units_of(columns["item"], texts["item"], units or {})
            continue
        column = source[name].cast(kind)  # checked: SQLite's values carry no type of their own
        if kind == pa.string():
            values = pc.unique(column).drop_null()
            texts[name] = values.take(pc.sort_indices(values))
            column = pc.index_in(column, value_set=texts[name]).cast(pa.int32())
        columns[name] = column
    return pa.table(columns), texts


def _units_of(
    items: pa.Array | pa.ChunkedArray, item_texts: pa.Array, units: dict[str, str]
) -> tuple[pa.Array, pa.Array]:
    """The unit codes of facts whose item codes are ``items`` (:func:`_coded`), each item's unit
    being ``units[item]``, and the units' text in code order. An item without a recorded unit
    (an import that brought a new item committed while the snapshot read the batches) stops
    the snapshot: nothing is guessed; taking it again reads that batch's record too."""
    names = item_texts.to_pylist()
    unknown = sorted(name for name in names if name not in units)
    if unknown:
        raise ValidationError(
            "snapshot.unit_unknown",
            f"快照读取期间出现了未记录单位的指标 {', '.join(unknown)}（可能有导入同时提交），"
            "请重新生成快照",
            f"items without a recorded unit appeared while the snapshot read the store "
            f"({', '.join(unknown)}; an import may have committed meanwhile): take it again",
            Location(field="facts.unit"),
            unknown[0],
        )
    unit_texts = sorted({units[name] for name in names})
    per_item = pa.array([unit_texts.index(units[name]) for name in names], pa.int32())
    return pc.take(per_item, items), pa.array(unit_texts, pa.string())


#: rows per Parquet row group of a snapshot file Arrow writes (DuckDB's own default)
ROW_GROUP = 122_880


def _write_named(coded: pa.Table, texts: dict[str, pa.Array], path: Path) -> None:
    """``coded`` (text columns as codes, :func:`_coded`) written to ``path`` as Parquet with
    its text: each coded column becomes a dictionary of its ``texts`` — no text per row is
    built — which Parquet stores as it stores any text column (dictionary pages); read back,
    the column is plain text (the Arrow schema is not stored). 0.7 instead of 1.0 s of CPU for
    a bucket's 3 million yearly figures, measured against DuckDB's ``COPY`` of the named rows."""
    columns = []
    for name in coded.column_names:
        column = coded[name]
        if name in texts:
            column = pa.chunked_array(
                [pa.DictionaryArray.from_arrays(c, texts[name]) for c in column.chunks],
                pa.dictionary(pa.int32(), pa.string()),
            )
        columns.append(column)
    pq.write_table(
        pa.table(columns, names=coded.column_names),
        path,
        compression="zstd",
        row_group_size=ROW_GROUP,
        store_schema=False,
    )


def _code_of(values: pa.Array, text: str) -> int:
    """The code of ``text`` among a text column's ``values`` (:func:`_coded`), -1 if absent."""
    return int(pc.index(values, text).as_py())


def _texts(values: pa.Array, codes: pd.Series) -> np.ndarray:
    """The text of each code in ``codes`` (:func:`_coded`)."""
    return np.asarray(values.to_pylist(), dtype=object)[codes.to_numpy(dtype=np.int64)]


def _text_table(values: pa.Array) -> pa.Table:
    """A text column's codes and values (:func:`_coded`) as a table to join: ``code``, ``text``."""
    return pa.table({"code": pa.array(range(len(values)), pa.int32()), "text": values})


def _link(source: Path, target: Path) -> None:
    """``target`` as a hard link to ``source`` (a copy across file systems): a year's file a
    refresh did not rewrite costs no disk and no time."""
    try:
        target.hardlink_to(source)
    except OSError:
        shutil.copyfile(source, target)


def _fingerprint(session: Session, batch_ids: list[int]) -> str:
    """A hash of the batches' ids, file hashes and times: another store (a recreated database
    reusing the ids) or a rewritten history gives another fingerprint."""
    digest = hashlib.sha256()
    for chunk in range(0, len(batch_ids), 5000):
        for bid, file_hash, created in session.execute(
            select(ImportBatch.id, ImportBatch.file_hash, ImportBatch.created_at)
            .where(ImportBatch.id.in_(batch_ids[chunk : chunk + 5000]))
            .order_by(ImportBatch.id)
        ):
            digest.update(f"{bid}|{file_hash}|{created.isoformat() if created else ''};".encode())
    return digest.hexdigest()[:20]


def _refresh_base(
    session: Session, out_dir: Path, database: str, batch_ids: list[int], version: str
) -> Snapshot | None:
    """The newest snapshot beside ``out_dir`` that a refresh may start from: the same store
    (database and batch fingerprint), the same parameters, and batches only added since."""
    current = set(batch_ids)
    found = []
    for manifest in out_dir.parent.glob("*/manifest.json"):
        if manifest.parent == out_dir:
            continue
        try:
            snap = Snapshot.open(manifest.parent)
        except (OSError, ValueError, KeyError):
            continue
        if (
            snap.database == database
            and snap.parameter_version == version
            and snap.batches_fingerprint
            and set(snap.batch_ids) <= current
            and all(snap.table(t).exists() for t in ("enterprises", *BY_YEAR))
        ):
            found.append(snap)
    if not found:
        return None
    # the one holding the most batches (least to re-read); then one of the same buckets (its
    # year files can be linked); then the newest
    base = max(
        found,
        key=lambda s: (
            len(s.batch_ids),
            s.bucket_firms == BUCKET_FIRMS,
            s.created_at,
            str(s.path),
        ),
    )
    return base if _fingerprint(session, base.batch_ids) == base.batches_fingerprint else None


def _affected(
    session: Session, base: Snapshot, batch_ids: list[int], ents: pd.DataFrame
) -> tuple[list[int], set[int] | None, bool]:
    """Enterprises whose current facts may differ from ``base``: those with a figure in a batch
    added since (a superseded figure is always replaced by one of the same enterprise and year),
    and those added, removed or moved to another county (department precedence is per county);
    the years that may differ: those of the new batches' figures, or None (every year) when
    an enterprise was added, removed or moved; and whether an enterprise of ``base`` is no
    longer in the store (its result rows went with it)."""
    new = sorted(set(batch_ids) - set(base.batch_ids))
    # the new batches' facts by the primary key in their recorded id ranges (no index of the
    # batch); a batch without a recorded range leaves only a scan of every fact
    within = fact_store.in_ranges(fact_store.batch_ranges(session, new))
    ids: set[int] = set()
    years: set[int] = set()
    for chunk in range(0, len(new), 1000):
        query = select(Fact.enterprise_id, Fact.year).where(
            Fact.batch_id.in_(new[chunk : chunk + 1000])
        )
        if within is not None:
            query = query.where(within)
        for enterprise_id, year in session.execute(query.distinct()):
            ids.add(int(enterprise_id))
            years.add(int(year))
    before = pd.read_parquet(base.table("enterprises"), columns=["enterprise_id", "county_code"])
    both = ents[["enterprise_id", "county_code"]].merge(
        before, on="enterprise_id", how="outer", suffixes=("", "_before"), indicator=True
    )
    moved = both[
        (both["_merge"] != "both")
        | (both["county_code"].fillna("") != both["county_code_before"].fillna(""))
    ]
    ids.update(int(e) for e in moved["enterprise_id"])
    removed = bool((both["_merge"] == "right_only").any())
    return sorted(ids), (None if len(moved) else years), removed


def _buckets(
    base_parts: dict[str, dict[tuple[int, int], Path]] | None,
    affected: list[int] | None,
    ents: pd.DataFrame,
) -> list[int]:
    """The buckets a build writes: those of the affected enterprises when the base's files of
    the others can be linked (``base_parts``), else every bucket up to the highest enterprise
    id."""
    if base_parts is not None:
        return sorted({int(e) // BUCKET_FIRMS for e in affected or ()})
    top = int(ents["enterprise_id"].max()) if len(ents) else 0
    return list(range(top // BUCKET_FIRMS + 1))


def build_snapshot(engine: Engine, out_dir: Path, incremental: bool = True) -> Snapshot:
    """Export the store's current figures to Parquet under ``out_dir``.

    Enterprises, scales and the services' result tables are read as frames (one row per
    enterprise or result); the facts — the big table, 27 million rows at province scale — are
    handed out of the store bucket by bucket of enterprise ids by a thread while DuckDB reduces
    the previous bucket (:class:`_RawFacts`, :func:`_write_facts`), so memory stays bounded by
    a few buckets and the store's export overlaps DuckDB's work.

    **Incremental refresh** (``incremental``, the default): when a snapshot of the same store
    lies beside ``out_dir`` (same parent folder), taken with the same parameters, and import
    batches were only added since, only the enterprises those batches touched (and enterprises
    added, removed or moved to another county) are read from the store; every other
    enterprise's facts are copied from that snapshot. An appeal's correction thus re-snapshots
    in seconds. More than ``INCREMENTAL_MAX`` enterprises touched: a full build."""
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    database = describe(str(engine.url))
    version = parameters.load().version()
    stack = ExitStack()
    try:
        with Session(engine) as s, bulk_reads():
            # bulk: through ADBC on PostgreSQL (515,000 enterprises, millions of 规上 flags)
            ents = select_frame(
                s,
                select(
                    Enterprise.id,
                    Enterprise.uscc,
                    Enterprise.name,
                    Enterprise.county_code,
                    Enterprise.industry_code,
                    Enterprise.status,
                ),
                ["enterprise_id", "uscc", "name", "county_code", "industry_code", "status"],
            )
            scales = select_frame(
                s,
                select(
                    EnterpriseScale.enterprise_id,
                    EnterpriseScale.year,
                    EnterpriseScale.above_scale,
                ),
                ["enterprise_id", "year", "above_scale"],
            )
            batch_ids = _input_batches(s)
            base = _refresh_base(s, out_dir, database, batch_ids, version) if incremental else None
            affected, changed_years, removed = (
                _affected(s, base, batch_ids, ents) if base is not None else (None, None, False)
            )
            # result tables may be linked from the base unless an enterprise was deleted
            # (its result rows go with it)
            results_base = None if removed else base
            if affected is not None and len(affected) > INCREMENTAL_MAX:
                base, affected, changed_years = None, None, None
            # the facts handed out bucket by bucket on a connection of their own, in a thread,
            # starting while the result tables are read (bulk: through ADBC on PostgreSQL)
            base_parts = _base_parts(base)
            units = fact_store.batch_units(s, batch_ids)
            raw = _RawFacts(
                s.connection(), staging, affected, _buckets(base_parts, affected, ents), units
            )
            fingerprint = _fingerprint(s, batch_ids)
            parts = stack.enter_context(raw.parts())
            result_rows, runs, result_keys = _write_results(s, out_dir, results_base)
        scales["above_scale"] = scales["above_scale"].astype(bool)
        codes = ents["industry_code"]
        # a store with no enterprise yet gives an empty column without a text type
        ents["division"] = codes.str.slice(0, 2) if len(codes) else codes.astype(object)
        rows = {
            "enterprises": _write(
                ents,
                out_dir / "enterprises.parquet",
                pa.schema(
                    [
                        ("enterprise_id", pa.int64()),
                        ("uscc", pa.string()),
                        ("name", pa.string()),
                        ("county_code", pa.string()),
                        ("industry_code", pa.string()),
                        ("status", pa.string()),
                        ("division", pa.string()),
                    ]
                ),
            ),
            "scales": _write(
                scales,
                out_dir / "scales.parquet",
                pa.schema(
                    [
                        ("enterprise_id", pa.int64()),
                        ("year", pa.int64()),
                        ("above_scale", pa.bool_()),
                    ]
                ),
            ),
        }
        fact_rows, rewritten = _write_facts(
            parts,
            out_dir / "enterprises.parquet",
            out_dir,
            staging,
            base,
            affected,
            changed_years,
            base_parts,
            raw.units,
        )
        rows.update(fact_rows)
    finally:
        stack.close()  # the export's thread stopped before its staging folder goes
        shutil.rmtree(staging, ignore_errors=True)
    snap = Snapshot(
        path=out_dir,
        rows={**rows, **result_rows},
        batch_ids=batch_ids,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        runs=runs,
        database=database,
        result_keys=result_keys,
        bucket_firms=BUCKET_FIRMS,
        parameter_version=version,
        batches_fingerprint=fingerprint,
        refreshed_from=str(base.path) if base is not None else "",
        refreshed_enterprises=len(affected) if affected is not None else None,
        rewritten_years=rewritten,
    )
    (out_dir / "manifest.json").write_text(json.dumps(snap.to_dict(), indent=2), "utf-8")
    if shared.root_uri():
        # for a cluster: the same files on the shared file system (a refresh sends only the
        # years it rewrote)
        snap.publication = shared.publish(out_dir)
        snap.published_uri = snap.publication["uri"]
    return snap
