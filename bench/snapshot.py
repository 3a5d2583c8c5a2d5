"""Warehouse snapshot of a loaded store (issue 21 point 3): a full build, then an appeal's
correction and the incremental refresh it triggers, each with its peak memory, against the
engine's own limit measured in the same run.

- **Full build** (``build_snapshot(…, incremental=False)``): enterprises, scales, every
  service's result tables and the facts (exported from the store, reduced by DuckDB).
- **Parts**: the result tables read alone and the raw facts' export alone (what the full
  build spends outside DuckDB).
- **Reference — the store's own limit**: PostgreSQL's ``COPY (<the snapshot's facts
  query>) TO STDOUT (FORMAT binary)`` drained without decoding (the server's cost of handing
  the rows out; no client could read them faster). On SQLite the same query stepped through
  by the ``sqlite3`` module, values discarded.
- **Correction**: one enterprise's tax of its latest year (two tax types) imported through
  the ingest path, then a refresh beside the full build: its time, the enterprises re-read,
  the files written and linked.

    IB_BENCH_STORE=postgresql://… python -m bench snapshot

``python -m bench province`` measures it after the main job, on the store the job loaded;
without ``IB_BENCH_STORE`` this bench runs that (``IB_BENCH_FIRMS``, default 500,000).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bench.province import _Meter
from industry_brain.demo import DEMO_TODAY
from industry_brain.ingest import import_file
from industry_brain.store import facts as fact_store
from industry_brain.store.db import bulk_reads, make_engine
from industry_brain.store.models import Enterprise, Fact, ImportBatch
from industry_brain.warehouse import snapshot as snapshot_module
from industry_brain.warehouse.snapshot import build_snapshot


def _timed(meter: _Meter, what: str, call: Any) -> tuple[Any, dict[str, Any]]:
    meter.take()
    started = time.perf_counter()
    value = call()
    seconds = time.perf_counter() - started
    peak = meter.take() / 2**20
    print(f"  {what:<34} {seconds:9.1f} s   peak RSS {peak:8,.0f} MB")
    return value, {"seconds": round(seconds, 2), "peak_mb": round(peak)}


def _units(session: Session) -> dict[str, str] | None:
    """The unit of each item as the batches recorded them, as a full build reads them."""
    return fact_store.batch_units(session, snapshot_module._input_batches(session))


def _engine_limit(engine: Engine) -> int:
    """Drain the snapshot's raw facts query (the columns a full build reads) as the store hands
    it out; returns the bytes (PostgreSQL) or rows (SQLite) drained."""
    with Session(engine) as s:
        with_unit = _units(s) is None
    with engine.connect() as conn:
        sql = snapshot_module._raw_facts_sql(conn, None, None, with_unit)
        raw = conn.connection.dbapi_connection
        assert raw is not None
        if conn.dialect.name == "postgresql":
            drained = 0
            with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT binary)") as cp:
                for block in cp:
                    drained += len(block)
            return drained
        cur = raw.cursor()
        cur.execute(sql)
        n = 0
        while rows := cur.fetchmany(100_000):
            n += len(rows)
        return n


def _export_alone(session: Session, staging: Path) -> int:
    """The raw facts handed out bucket by bucket as a full build reads them, nothing reduced;
    returns the rows."""
    top = session.scalar(select(func.max(Enterprise.id))) or 0
    buckets = list(range(top // snapshot_module.BUCKET_FIRMS + 1))
    raw = snapshot_module._RawFacts(session.connection(), staging, None, buckets, _units(session))
    rows = 0
    with raw.parts() as parts:
        for _bucket, source, _high in parts:
            if isinstance(source, pa.Table):
                rows += source.num_rows
    if not rows:  # SQLite: staged files, one per bucket
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in staging.glob("raw/*.parquet"))
    return rows


def _correction_file(engine: Engine, folder: Path) -> tuple[Path, str, int]:
    """One enterprise's tax of its latest year (增值税 20,000 元 + 房产税 5,000 元 and the
    import batches so far, so that a second run's file is not refused as the same file), as a
    county would send it: (file, USCC, year)."""
    with Session(engine) as s:
        uscc, year = s.execute(
            select(Enterprise.uscc, Fact.year)
            .join(Fact, Fact.enterprise_id == Enterprise.id)
            .where(Fact.item == "tax_paid")
            .order_by(Fact.year.desc(), Enterprise.id)
            .limit(1)
        ).one()
        batches = s.scalar(select(func.count(ImportBatch.id))) or 0
    path = folder / "correction_tax.csv"
    path.write_text(
        "纳税人识别号,所属年度,税种,实缴税金(元)\n"
        f"{uscc},{year},增值税,20000\n{uscc},{year},房产税,{5000 + batches}\n",
        "utf-8",
    )
    return path, str(uscc), int(year)


def _correction(engine: Engine, path: Path) -> None:
    """The correction imported (the timed part: the file was made beforehand)."""
    result = import_file("tax", path, engine=engine, on_day=DEMO_TODAY)
    if result.status != "committed":
        raise RuntimeError(f"the correction was not committed: {result.status}")


def measure(engine: Engine, root: Path) -> dict[str, Any]:
    """The full build, its parts, the store's limit and a correction's refresh, under
    ``root``."""
    meter = _Meter()
    try:
        full, t_full = _timed(
            meter,
            "full build",
            lambda: build_snapshot(engine, root / "full", incremental=False),
        )
        staging = Path(tempfile.mkdtemp(dir=root))
        with Session(engine) as s, bulk_reads():  # as build_snapshot reads them
            (rows, _runs, _keys), t_results = _timed(
                meter, "part: result tables", lambda: snapshot_module._write_results(s, staging)
            )
            raw_rows, t_export = _timed(
                meter, "part: raw facts export", lambda: _export_alone(s, staging)
            )
        _drained, t_limit = _timed(
            meter, "reference: store's own export", lambda: _engine_limit(engine)
        )
        path, uscc, year = _correction_file(engine, root)
        _none, t_import = _timed(meter, "correction import", lambda: _correction(engine, path))
        refresh, t_refresh = _timed(
            meter, "refresh after the correction", lambda: build_snapshot(engine, root / "fix")
        )
    finally:
        meter.close()
    written = {
        t: sorted(
            p.name
            for p in refresh.table(t).iterdir()
            if not os.path.samefile(p, full.table(t) / p.name)
        )
        if full.table(t).is_dir()
        else None
        for t in snapshot_module.BY_YEAR
    }
    linked_results = sorted(
        name
        for name in full.rows
        if name.startswith("result_") and os.path.samefile(refresh.table(name), full.table(name))
    )
    out = {
        "store": engine.dialect.name,
        "paths": {"full": str(full.path), "refresh": str(refresh.path)},
        "facts": full.rows.get("facts"),
        "raw_facts": raw_rows,
        "result_rows": sum(rows.values()),
        "full": t_full,
        "results": t_results,
        "raw_export": t_export,
        "reference_store_export": t_limit,
        "correction": {"uscc": uscc, "year": year, "import": t_import, "refresh": t_refresh},
        "refreshed_enterprises": refresh.refreshed_enterprises,
        "rewritten_years": refresh.rewritten_years,
        "written_files": written,
        "linked_results": linked_results,
        "target_full_s": 60,
        "full_met": t_full["seconds"] <= 60,
    }
    print(
        f"snapshot: full {t_full['seconds']:,.1f} s (export {t_export['seconds']:,.1f} s vs the "
        f"store's own {t_limit['seconds']:,.1f} s for {raw_rows:,} raw facts; results "
        f"{t_results['seconds']:,.1f} s); a correction's refresh {t_refresh['seconds']:,.1f} s "
        f"({refresh.refreshed_enterprises} enterprise re-read, files written {written}, "
        f"{len(linked_results)} result tables linked)"
    )
    return out


def run(rows: int = 0) -> dict[str, Any]:
    del rows  # sized by the store
    url = os.environ.get("IB_BENCH_STORE")
    if not url:
        # no store given: the province bench builds one and measures its snapshot after the
        # main job (IB_BENCH_FIRMS, default 500,000)
        from bench import province

        return province.run()["snapshot"]
    engine = make_engine(url)
    try:
        with tempfile.TemporaryDirectory(prefix="ib-snapshot-") as tmpdir:
            return measure(engine, Path(tmpdir))
    finally:
        engine.dispose()
