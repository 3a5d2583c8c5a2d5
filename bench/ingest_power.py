"""Ingest benchmark: a monthly electricity CSV (GBK, like the grid company sends it) through the
real import path, against references measured in the same run.

Targets: issue 4 — ≥ 100,000 rows/s end to end (the naive pandas + iterrows + ORM baseline of
the same work runs on a slice, it is two orders of magnitude slower); issue 21 point 2 — ≥ 2×
an analyst's ``pandas.read_csv`` + ``DataFrame.to_sql`` script (no validation, no matching, no
lineage; a fresh SQLite file with the driver's defaults) on SQLite, and ≥ 300,000 rows/s into
PostgreSQL (``IB_BENCH_PG_URL``, else a throwaway server like the tests' when PostgreSQL is
installed). DuckDB's own bulk load of the same rows (``CREATE TABLE AS read_csv`` of a UTF-8
copy: DuckDB reads no GBK without its downloadable encodings extension) is printed as the
floor. The import and the pandas script run alternately ``IB_BENCH_INGEST_RUNS`` times
(default 2) and the medians are compared; the load average is printed beside them.

Each engine's own limit is measured on the facts the import wrote: SQLite's ``INSERT … SELECT``
of them from a staging file (the store's settings, its ``facts`` table and a bare one) and
PostgreSQL's ``COPY`` of them in the binary form the import sends and as text — what a client
with every row ready could reach. The "next year" import (the store holds the year before, which
the year-on-year electricity check reads) is printed beside the first year's, on both stores.
On PostgreSQL the file is streamed (:mod:`industry_brain.ingest.stream`: its facts sent slice
by slice while the next slice is checked); the same import whole-file runs alternately with it
as the reference.
"""

from __future__ import annotations

import os
import re
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core import uscc as uscc_mod
from industry_brain.ingest import import_file
from industry_brain.store import migrate
from industry_brain.store.db import make_engine
from industry_brain.store.models import Enterprise, EnterpriseName, Fact, ImportBatch, PowerAccount

TARGET_ROWS_PER_S = 100_000
TARGET_VS_PANDAS = 2.0
TARGET_PG_ROWS_PER_S = 300_000
BASELINE_ROWS = 20_000
ALPHABET = uscc_mod.ALPHABET


def _enterprises(n: int, rng: np.random.Generator) -> pd.DataFrame:
    bodies = rng.integers(0, 31, size=(n, 9))
    usccs, names = [], []
    for i in range(n):
        body = "".join(ALPHABET[b] for b in bodies[i])
        usccs.append(uscc_mod.make(f"91330502{body}"))
        names.append(f"湖州基准{i:06d}制造有限公司")
    return pd.DataFrame({"uscc": usccs, "name": names})


def _write_power_csv(path: Path, ents: pd.DataFrame, rows: int, rng: np.random.Generator) -> None:
    n_acc = -(-rows // 12)
    owner = rng.integers(0, len(ents), size=n_acc)
    accounts = np.array([f"33{i:010d}" for i in range(n_acc)])
    acc = np.repeat(accounts, 12)[:rows]
    own = np.repeat(owner, 12)[:rows]
    month = np.tile(np.arange(1, 13), n_acc)[:rows]
    usccs = ents["uscc"].to_numpy()[own]
    names = ents["name"].to_numpy()[own]
    kwh = np.round(rng.lognormal(10, 1.2, size=rows), 1)
    frame = pd.DataFrame(
        {
            "户号": acc,
            "户名": names,
            "统一社会信用代码": usccs,
            "月份": [f"2025年{m}月" for m in month],
            "用电量(千瓦时)": kwh,
        }
    )
    frame.to_csv(path, index=False, encoding="gbk")


def _baseline(path: Path, url: str, rows: int) -> float:
    """Naive import: pandas + iterrows + per-row parsing, validation and ORM inserts."""
    engine = make_engine(url)
    frame = pd.read_csv(path, encoding="gbk", dtype=str, nrows=rows)
    start = time.perf_counter()
    with Session(engine) as session:
        ids = dict(session.execute(select(Enterprise.uscc, Enterprise.id)).all())
        batch = ImportBatch(
            kind="power",
            department="power_grid",
            file_name=path.name,
            file_hash="baseline",
            status="committed",
            options={},
            summary={},
        )
        session.add(batch)
        session.flush()
        for _, row in frame.iterrows():
            code = uscc_mod.normalize(row["统一社会信用代码"])
            m = re.match(r"(\d{4})年(\d{1,2})月", row["月份"])
            value = float(str(row["用电量(千瓦时)"]).replace(",", ""))
            session.add(
                Fact(
                    enterprise_id=ids[code],
                    year=int(m[1]),
                    month=int(m[2]),
                    item="electricity",
                    detail=row["户号"],
                    value=value,
                    unit="千瓦时",
                    source_dept="power_grid",
                    batch_id=batch.id,
                    sheet=None,
                    row=int(_) + 2,
                    column="E",
                    raw_value=row["用电量(千瓦时)"],
                )
            )
        session.commit()
    elapsed = time.perf_counter() - start
    engine.dispose()
    return rows / elapsed


def _store(tmp: Path, name: str, ents: pd.DataFrame) -> str:
    url = f"sqlite:///{tmp / name}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as session:
        session.execute(
            Enterprise.__table__.insert(),
            [
                {"uscc": u, "name": n, "status": "存续"}
                for u, n in zip(ents["uscc"], ents["name"], strict=True)
            ],
        )
        ids = dict(session.execute(select(Enterprise.uscc, Enterprise.id)).all())
        session.execute(
            EnterpriseName.__table__.insert(),
            [
                {"enterprise_id": ids[u], "name": n, "normalized": n, "kind": "current"}
                for u, n in zip(ents["uscc"], ents["name"], strict=True)
            ],
        )
        session.commit()
    engine.dispose()
    return url


def _previous_year_copy(path: Path) -> Path:
    """The same file one year earlier (its 月份 cells say 2024 instead of 2025)."""
    prev = path.with_name("power_2024.csv")
    if not prev.exists():
        prev.write_bytes(path.read_bytes().replace("2025年".encode("gbk"), "2024年".encode("gbk")))
    return prev


def _pandas_script(path: Path, tmp: Path) -> tuple[float, float]:
    """An analyst's script: read the GBK file with pandas, write it with ``to_sql`` into a
    fresh SQLite file (driver defaults), commit. Returns (wall, CPU) seconds."""
    db = tmp / "pandas.sqlite"
    db.unlink(missing_ok=True)
    cpu = time.process_time()
    start = time.perf_counter()
    frame = pd.read_csv(path, encoding="gbk")
    with sqlite3.connect(db) as con:
        frame.to_sql("power", con, index=False)
        con.commit()
    con.close()
    return time.perf_counter() - start, time.process_time() - cpu


def _duckdb_load(path: Path, tmp: Path) -> float:
    """DuckDB's bulk load of a UTF-8 copy of the file into a DuckDB file. Returns seconds."""
    import duckdb

    utf8 = tmp / "power_utf8.csv"
    if not utf8.exists():
        utf8.write_bytes(path.read_bytes().decode("gb18030").encode("utf-8"))
    db = tmp / "duck.duckdb"
    db.unlink(missing_ok=True)
    start = time.perf_counter()
    with duckdb.connect(str(db)) as con:
        con.execute(f"CREATE TABLE power AS SELECT * FROM read_csv('{utf8}', header = true)")
    return time.perf_counter() - start


def _import(kind_path: Path, url: str) -> tuple[float, float, Any]:
    """The real import into ``url``: (wall seconds, CPU seconds of this process, result)."""
    engine = make_engine(url)
    cpu = time.process_time()
    start = time.perf_counter()
    result = import_file("power", kind_path, engine=engine, write_reports=False)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    engine.dispose()
    return elapsed, cpu, result


def _pg_import(kind_path: Path, url: str, streamed: bool) -> tuple[float, float, Any]:
    """:func:`_import` streamed (:mod:`industry_brain.ingest.stream`, whatever the file's size)
    or whole-file — the reference a streamed import is measured against — through the stream's
    own setting ``IB_IMPORT_STREAM_FROM``, whatever the environment holds."""
    saved = os.environ.pop("IB_IMPORT_STREAM_FROM", None)
    os.environ["IB_IMPORT_STREAM_FROM"] = "1" if streamed else "off"
    try:
        return _import(kind_path, url)
    finally:
        os.environ.pop("IB_IMPORT_STREAM_FROM", None)
        if saved is not None:
            os.environ["IB_IMPORT_STREAM_FROM"] = saved


def _pg_url() -> tuple[str | None, Any]:
    """``IB_BENCH_PG_URL``, else a throwaway server (as in the tests) when PostgreSQL is
    installed; (None, None) when neither."""
    if os.environ.get("IB_BENCH_PG_URL"):
        return os.environ["IB_BENCH_PG_URL"], None
    try:
        from tests import pgserver
    except ImportError:
        return None, None
    if not pgserver.available():
        return None, None
    server = pgserver.start()
    return server.create_database("ingest_bench"), server


def _pg_store(url: str, ents: pd.DataFrame) -> str:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "TRUNCATE facts, power_accounts, import_problems, match_reviews, import_batches, "
            "enterprise_names, enterprises CASCADE"
        )
    engine.dispose()
    with Session(make_engine(url)) as session:
        session.execute(
            Enterprise.__table__.insert(),
            [
                {"uscc": u, "name": n, "status": "存续"}
                for u, n in zip(ents["uscc"], ents["name"], strict=True)
            ],
        )
        session.commit()
    return url


def _pg_floor(url: str) -> dict[str, float]:
    """PostgreSQL's own limit on this machine, measured on the facts the import just wrote: the
    rows read back by ``COPY … TO STDOUT`` (every column but the id) in the text form and in
    the binary form the import sends, then ``COPY``-ed back (a) into the store's ``facts``
    table itself — emptied first, its indexes and constraints kept, the foreign keys left to a
    set-wise check as the import does (``session_replication_role``) — in each form, and (b)
    as text into a bare unlogged table of the same columns. A client that had every row
    validated and ready could go no faster than (a). Returns rows/s of each."""
    import io

    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as con:
        cols = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'facts' "
                "AND column_name <> 'id' ORDER BY ordinal_position"
            )
        ]
        names = ", ".join(f'"{c}"' for c in cols)
        data: dict[str, bytes] = {}
        for form, option in (("text", ""), ("binary", "(FORMAT binary)")):
            buf = io.BytesIO()
            with con.cursor().copy(f"COPY (SELECT {names} FROM facts) TO STDOUT {option}") as cp:
                for block in cp:
                    buf.write(block)
            data[form] = buf.getvalue()
        n = con.execute("SELECT count(*) FROM facts").fetchone()[0]
        con.execute("CREATE UNLOGGED TABLE bench_facts_bare AS SELECT * FROM facts LIMIT 0")
        con.execute("ALTER TABLE bench_facts_bare DROP COLUMN id")
        con.commit()
        out = {}
        for label, table, form in (
            ("facts_table", "facts", "text"),
            ("facts_table_binary", "facts", "binary"),
            ("bare_table", "bench_facts_bare", "text"),
        ):
            con.execute(f"TRUNCATE {table} CASCADE")
            con.commit()
            option = "(FORMAT binary)" if form == "binary" else ""
            start = time.perf_counter()
            # as the import does: no per-row foreign-key triggers (it checks the keys per set)
            con.execute("SET LOCAL session_replication_role = replica")
            with con.cursor().copy(f"COPY {table} ({names}) FROM STDIN {option}") as copy:
                block = data[form]
                for i in range(0, len(block), 1 << 20):
                    copy.write(block[i : i + (1 << 20)])
            con.commit()
            out[label] = n / (time.perf_counter() - start)
        con.execute("DROP TABLE bench_facts_bare")
        con.commit()
    return out


def _sqlite_floor(imported: str, empty: str) -> dict[str, float]:
    """SQLite's own limit on this machine, measured on the facts the import just wrote
    (``imported``): the rows (every column but the id) copied into a staging file in enterprise
    order, as the import writes them, then one ``INSERT … SELECT`` of them and its commit, on a
    connection with the store's own settings (WAL, page cache, foreign keys on), (a) into the
    ``facts`` table of ``empty`` (a fresh store: its index and constraints kept) and (b) into a
    bare table of the same columns in that file. No client work at all: a client that had every
    row validated and ready could go no faster than (a). Returns rows/s of each."""
    source = imported.removeprefix("sqlite:///")
    staging = str(Path(source).with_name("floor_staging.sqlite"))
    Path(staging).unlink(missing_ok=True)
    with sqlite3.connect(source) as con:
        cols = [r[1] for r in con.execute("PRAGMA table_info(facts)") if r[1] != "id"]
        names = ", ".join(f'"{c}"' for c in cols)
        con.execute("ATTACH ? AS staging", (staging,))
        # in the order the import writes them (enterprise order, :func:`load._index_order`):
        # an ``ORDER BY`` in the measured statement would time SQLite's sort of the rows too
        con.execute(
            f"CREATE TABLE staging.facts AS SELECT {names} FROM facts ORDER BY enterprise_id, id"
        )
        con.commit()
        n = con.execute("SELECT count(*) FROM staging.facts").fetchone()[0]
    con.close()
    engine = make_engine(empty)
    out = {}
    try:
        with engine.connect() as conn:
            dbapi = conn.connection.driver_connection
            dbapi.execute("ATTACH ? AS staging", (staging,))
            # the facts' batch, so that every foreign key holds (a violation would make SQLite
            # look for referencing rows at each insert)
            dbapi.execute("ATTACH ? AS imported", (source,))
            dbapi.execute("INSERT INTO import_batches SELECT * FROM imported.import_batches")
            dbapi.commit()
            dbapi.execute("DETACH imported")
            dbapi.execute(f"CREATE TABLE bench_facts_bare AS SELECT {names} FROM facts LIMIT 0")
            dbapi.commit()
            for label, table in (("facts_table", "facts"), ("bare_table", "bench_facts_bare")):
                start = time.perf_counter()
                dbapi.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM staging.facts")
                dbapi.commit()
                out[label] = n / (time.perf_counter() - start)
            dbapi.execute("DETACH staging")
    finally:
        engine.dispose()
        Path(staging).unlink(missing_ok=True)
    return out


def _load() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def run(rows: int = 1_000_000) -> dict[str, Any]:
    runs = int(os.environ.get("IB_BENCH_INGEST_RUNS", "2"))
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory(prefix="ib-bench-") as tmpdir:
        tmp = Path(tmpdir)
        ents = _enterprises(20_000, rng)
        csv = tmp / "power_2025.csv"
        t0 = time.perf_counter()
        _write_power_csv(csv, ents, rows, rng)
        print(
            f"wrote {rows:,} rows in {time.perf_counter() - t0:.1f}s "
            f"({csv.stat().st_size / 1e6:.0f} MB); load average {_load()}"
        )

        ours, pandas_s, cpus, pandas_cpus = [], [], [], []
        for k in range(runs):
            for suffix in ("", "-wal", "-shm"):
                (tmp / f"fast.sqlite{suffix}").unlink(missing_ok=True)
            url = _store(tmp, "fast.sqlite", ents)
            elapsed, cpu, result = _import(csv, url)
            ours.append(elapsed)
            cpus.append(cpu)
            wall, pandas_cpu = _pandas_script(csv, tmp)
            pandas_s.append(wall)
            pandas_cpus.append(pandas_cpu)
            print(
                f"run {k + 1}: industry-brain import {rows / elapsed:,.0f} rows/s "
                f"({elapsed:.2f}s wall, {cpu:.2f}s CPU, status {result.status}, "
                f"facts {result.facts_inserted:,}); pandas read_csv + to_sql "
                f"{rows / wall:,.0f} rows/s ({wall:.2f}s wall, {pandas_cpu:.2f}s CPU); "
                f"load average {_load()}"
            )
        with Session(make_engine(url)) as session:
            accounts = session.scalar(select(PowerAccount.account_no).limit(1))
        # the usual case after the first year: the store holds last year's figures, which the
        # year-on-year electricity check reads (1,000,000 of them here)
        prev = _previous_year_copy(csv)
        next_url = _store(tmp, "next.sqlite", ents)
        _import(prev, next_url)
        next_s, next_cpu, next_result = _import(csv, next_url)
        print(
            f"next year (the store holds last year's {rows:,} figures): {rows / next_s:,.0f} "
            f"rows/s ({next_s:.2f}s wall, {next_cpu:.2f}s CPU, status {next_result.status}, "
            f"facts {next_result.facts_inserted:,})"
        )
        elapsed = statistics.median(ours)
        fast = rows / elapsed
        pandas_rate = rows / statistics.median(pandas_s)
        duck = _duckdb_load(csv, tmp)
        print(f"DuckDB bulk load (UTF-8 copy, no validation): {rows / duck:,.0f} rows/s")
        sqlite_floor = _sqlite_floor(url, _store(tmp, "floor.sqlite", ents))
        print(
            "SQLite's own INSERT … SELECT of the same facts, ready in a staging file: into the "
            f"store's facts table {sqlite_floor['facts_table']:,.0f} rows/s "
            f"({sqlite_floor['facts_table'] / pandas_rate:.2f}x the pandas script), into a bare "
            f"table {sqlite_floor['bare_table']:,.0f} rows/s"
        )

        base_url = _store(tmp, "baseline.sqlite", ents)
        base = _baseline(csv, base_url, min(BASELINE_ROWS, rows))
        print(
            f"naive pandas+iterrows+ORM baseline: {base:,.0f} rows/s "
            f"on {min(BASELINE_ROWS, rows):,} rows"
        )
        ratio = fast / base
        vs_pandas = fast / pandas_rate
        # on a loaded machine wall times mostly measure the queue: CPU seconds are compared too
        vs_pandas_cpu = statistics.median(pandas_cpus) / statistics.median(cpus)
        print(
            f"CPU: import {statistics.median(cpus):.2f}s, pandas script "
            f"{statistics.median(pandas_cpus):.2f}s = {vs_pandas_cpu:.2f}x"
        )
        print(
            f"SQLite median: {fast:,.0f} rows/s (account e.g. {accounts}) = {vs_pandas:.2f}x the "
            f"pandas script (target ≥ {TARGET_VS_PANDAS}x: "
            f"{'met' if vs_pandas >= TARGET_VS_PANDAS else 'NOT met'}), "
            f"{fast * duck / rows:.2f}x DuckDB's bulk load, {ratio:.1f}x the naive baseline "
            f"(target ≥ {TARGET_ROWS_PER_S:,} rows/s: "
            f"{'met' if fast >= TARGET_ROWS_PER_S else 'NOT met'})"
        )

        pg_rate = pg_whole_rate = None
        pg_next_s = 0.0
        pg_floor: dict[str, float] = {}
        pg_url, server = _pg_url()
        try:
            if pg_url:
                pg_runs, whole_runs = [], []
                for _ in range(runs):
                    pg_elapsed, pg_cpu, pg_result = _pg_import(csv, _pg_store(pg_url, ents), True)
                    pg_runs.append(pg_elapsed)
                    print(
                        f"PostgreSQL, streamed: {rows / pg_elapsed:,.0f} rows/s ({pg_elapsed:.2f}s "
                        f"wall, {pg_cpu:.2f}s client CPU, status {pg_result.status}); "
                        f"load average {_load()}"
                    )
                    whole_s, whole_cpu, _ = _pg_import(csv, _pg_store(pg_url, ents), False)
                    whole_runs.append(whole_s)
                    print(
                        f"PostgreSQL, the same import whole-file (not streamed): "
                        f"{rows / whole_s:,.0f} rows/s ({whole_s:.2f}s wall, {whole_cpu:.2f}s "
                        f"client CPU); load average {_load()}"
                    )
                pg_rate = rows / statistics.median(pg_runs)
                pg_whole_rate = rows / statistics.median(whole_runs)
                next_pg = _pg_store(pg_url, ents)
                _import(prev, next_pg)
                pg_next_s, pg_next_cpu, _ = _import(csv, next_pg)
                print(
                    f"PostgreSQL, next year (the store holds last year's figures): "
                    f"{rows / pg_next_s:,.0f} rows/s ({pg_next_s:.2f}s wall, {pg_next_cpu:.2f}s "
                    "client CPU)"
                )
                pg_floor = _pg_floor(pg_url)
                print(
                    f"PostgreSQL median: {pg_rate:,.0f} rows/s streamed, "
                    f"{pg_whole_rate:,.0f} whole-file = {pg_rate / pg_whole_rate:.2f}x; "
                    f"{pg_rate / pg_floor['facts_table_binary']:.2f}x the engine's own binary "
                    f"COPY (target ≥ "
                    f"{TARGET_PG_ROWS_PER_S:,}: "
                    f"{'met' if pg_rate >= TARGET_PG_ROWS_PER_S else 'NOT met'}); "
                    f"PostgreSQL's own COPY of the same facts, ready: into the store's facts "
                    f"table in the binary form (the import's) "
                    f"{pg_floor['facts_table_binary']:,.0f} rows/s, as text "
                    f"{pg_floor['facts_table']:,.0f} rows/s, as text into a bare unlogged "
                    f"table {pg_floor['bare_table']:,.0f} rows/s; load average {_load()}"
                )
            else:
                print("PostgreSQL: not measured (no IB_BENCH_PG_URL and no PostgreSQL installed)")
        finally:
            if server is not None:
                server.stop()
    return {
        "rows": rows,
        "runs": runs,
        "seconds": round(elapsed, 2),
        "seconds_all": [round(x, 2) for x in ours],
        "cpu_seconds_all": [round(x, 2) for x in cpus],
        "rows_per_s": round(fast),
        "pandas_script_rows_per_s": round(pandas_rate),
        "pandas_script_seconds_all": [round(x, 2) for x in pandas_s],
        "vs_pandas_script": round(vs_pandas, 2),
        "pandas_script_cpu_seconds_all": [round(x, 2) for x in pandas_cpus],
        "vs_pandas_script_cpu": round(vs_pandas_cpu, 2),
        "duckdb_rows_per_s": round(rows / duck),
        "sqlite_insert_facts_table_rows_per_s": round(sqlite_floor["facts_table"]),
        "sqlite_insert_bare_table_rows_per_s": round(sqlite_floor["bare_table"]),
        "baseline_rows_per_s": round(base),
        "ratio": round(ratio, 1),
        "next_year_rows_per_s": round(rows / next_s),
        "postgresql_rows_per_s": round(pg_rate) if pg_rate else None,
        "postgresql_whole_file_rows_per_s": round(pg_whole_rate) if pg_rate else None,
        "postgresql_next_year_rows_per_s": round(rows / pg_next_s) if pg_rate else None,
        "postgresql_copy_facts_table_rows_per_s": round(pg_floor.get("facts_table", 0)) or None,
        "postgresql_copy_facts_table_binary_rows_per_s": round(
            pg_floor.get("facts_table_binary", 0)
        )
        or None,
        "postgresql_copy_bare_table_rows_per_s": round(pg_floor.get("bare_table", 0)) or None,
        "target_rows_per_s": TARGET_ROWS_PER_S,
        "target_vs_pandas_script": TARGET_VS_PANDAS,
        "target_postgresql_rows_per_s": TARGET_PG_ROWS_PER_S,
        "target_met": fast >= TARGET_ROWS_PER_S
        and vs_pandas >= TARGET_VS_PANDAS
        and (pg_rate or 0) >= TARGET_PG_ROWS_PER_S,
        "status": result.status,
        "load_average": _load(),
    }
