"""A province-scale PostgreSQL store for the web benchmark (issue 21 point 6), by bulk COPY.

The real ingest path (validation, matching, supersession, lineage per cell) takes hours at
500,000 firms on a small machine, and issue 21 point 1 covers it (``bench/province.py``). The
web bench only needs a store of that size to read, so this module loads one straight from the
generated province snapshot that ``bench/mujun.py prepare(n)`` builds and caches
(``enterprises``, ``scales``, ``facts`` Parquet):

1. a migrated database (``migrate.upgrade``: schema and reference tables: regions, industries);
2. one :class:`ImportBatch` per department file kind (市场监管 registration, 统计 annual
   statistics and energy, 税务, 电力, 自然资源, 生态环境) whose ``options``/``summary`` say it is
   a **bench bulk load by COPY, not the ingest path** — every fact and scale row points at the
   batch of its department (lineage columns: batch, department, a sheet named after the
   Parquet file, the Parquet row as ``row``, the item as ``column``, the value as text as
   ``raw_value``);
3. ``COPY`` of the enterprises (the Parquet's ids), their current names (``enterprise_names``,
   normalised as the ingest does), the 规上 flags and the 27 M facts — the facts table's
   indexes and foreign keys dropped first and rebuilt after (one sort instead of 27 M index
   insertions; the foreign keys validated in one pass), then ``VACUUM (ANALYZE)``;
4. the users: ``admin``, ``city_officer_01``/``02`` and one ``county_<code>`` county officer per
   county (county scope), passwords as the demo's (:data:`DEMO_PASSWORD`);
5. the services the pages show, through their own service functions on a warehouse snapshot
   of that store (``build_snapshot``): carbon accounting of the latest year, then 亩均 of the
   two latest years (published).

:func:`ensure` keeps a PostgreSQL cluster under ``DATA_DIR/bench/province-web-<n>-<seed>/pg``
and a stamp (snapshot path — size and seed —, its row counts, migration heads, loader version)
so a second run reuses the loaded database; a newer migration head alone upgrades it in place
(as a deployment's store is upgraded), any other difference rebuilds it. Each step's time is
printed; statements slower than 250 ms go to the cluster's log (``pg/log``).

    python -m bench.province_store 20000     # build (or reuse) the 20,000-firm store, then stop
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

from industry_brain.demo.constants import DEFAULT_SEED, city
from industry_brain.demo.operational import password_hash
from industry_brain.ingest.normalize import normalize_name
from industry_brain.store import bulk, migrate
from industry_brain.store.db import data_dir, make_engine
from industry_brain.store.models import (
    Enterprise,
    EnterpriseName,
    EnterpriseScale,
    Fact,
    ImportBatch,
    User,
)

LOADER_VERSION = 1
#: department file kinds → (department, the fact items its file carries)
DEPARTMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "registration": ("market", ()),
    "stats_annual": (
        "statistics",
        ("output_value", "value_added", "revenue", "profit", "employees", "rd_expense"),
    ),
    "energy": ("statistics", ("energy_total", "fuel.*")),
    "tax": ("tax", ("tax_paid",)),
    "power": ("power_grid", ("electricity",)),
    "land": ("natural_resources", ("land_area",)),
    "emissions": ("environment", ("emission.*",)),
}
NOTE_ZH = "基准测试批量装载（COPY，自生成的全省快照），非数据导入流程：未经校验、匹配与版本替换"
NOTE_EN = (
    "benchmark bulk load (COPY from the generated province snapshot), not the ingest path: "
    "no validation, matching or supersession"
)
Say = Callable[[str], None]


def _kind_of(item: str) -> str:
    for kind, (_dept, items) in DEPARTMENTS.items():
        for pattern in items:
            if item == pattern or (pattern.endswith("*") and item.startswith(pattern[:-1])):
                return kind
    raise ValueError(f"no department file carries the item {item!r}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def _step(name: str, times: dict[str, float], say: Say) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    times[name] = round(time.perf_counter() - t0, 2)
    say(f"  {name}: {times[name]:.1f}s")


@contextmanager
def _timed(say: Say, what: str) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    say(f"{what} in {time.perf_counter() - t0:.1f}s")


def _const(value: Any, n: int, type_: pa.DataType) -> pa.Array:
    return pa.repeat(pa.scalar(value, type_), n)


def _rebuildables(dbapi: Any, table: str) -> tuple[list[str], list[str], list[str]]:
    """(drop statements, create statements, add-constraint statements) of the indexes and
    foreign keys on ``table`` and of the foreign keys pointing at it (the primary key stays)."""
    with dbapi.cursor() as cur:
        cur.execute(
            """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
               FROM pg_constraint WHERE contype = 'f'
               AND (conrelid = %s::regclass OR confrelid = %s::regclass)""",
            (table, table),
        )
        fks = cur.fetchall()
        cur.execute(
            """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
               FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT i.indisprimary""",
            (table,),
        )
        idx = cur.fetchall()
    drops = [f'ALTER TABLE {t} DROP CONSTRAINT "{name}"' for t, name, _ in fks]
    drops += [f"DROP INDEX {name}" for name, _ in idx]
    creates = [definition for _name, definition in idx]
    adds = [f'ALTER TABLE {t} ADD CONSTRAINT "{name}" {d}' for t, name, d in fks]
    return drops, creates, adds


def load(engine: Engine, snapshot: Path, say: Say = print) -> dict[str, Any]:
    """Load the province snapshot at ``snapshot`` into the (empty) PostgreSQL database of
    ``engine``, create the users and run the carbon and 亩均 services; return counts and times."""
    if engine.dialect.name != "postgresql":
        raise ValueError("the province web store is a PostgreSQL database")
    times: dict[str, float] = {}
    snapshot = Path(snapshot)
    with _step("migrate", times, say):
        migrate.upgrade(engine)
    ents = pq.read_table(snapshot / "enterprises.parquet")
    scales = pq.read_table(snapshot / "scales.parquet")
    facts_file = pq.ParquetFile(snapshot / "facts.parquet")
    n_facts = facts_file.metadata.num_rows
    with _step("batches", times, say):
        hashes = {
            name: _sha256(snapshot / f"{name}.parquet")
            for name in ("enterprises", "scales", "facts")
        }
        items = pc.unique(pq.read_table(snapshot / "facts.parquet", columns=["item"])["item"])
        kind_of = {str(i): _kind_of(str(i)) for i in items.to_pylist()}
        batch_ids: dict[str, int] = {}
        with Session(engine) as s:
            for kind, (dept, _items) in DEPARTMENTS.items():
                files = ["enterprises"] if kind == "registration" else ["facts"]
                if kind == "stats_annual":
                    files.append("scales")
                batch = ImportBatch(
                    kind=kind,
                    department=dept,
                    file_name=", ".join(f"{f}.parquet" for f in files),
                    file_hash=hashes[files[0]],
                    status="committed",
                    options={"bench_bulk_load": True, "source": str(snapshot), "files": files},
                    summary={"note_zh": NOTE_ZH, "note_en": NOTE_EN, "bench_bulk_load": True},
                )
                s.add(batch)
                s.flush()
                batch_ids[kind] = batch.id
            s.commit()
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        with _step("copy enterprises", times, say):
            n = ents.num_rows
            bulk.pg_copy(
                dbapi,
                Enterprise.__table__,
                pa.table(
                    {
                        "id": ents["enterprise_id"],
                        "uscc": ents["uscc"],
                        "name": ents["name"],
                        "county_code": ents["county_code"],
                        "industry_code": ents["industry_code"],
                        "status": ents["status"],
                        "batch_id": _const(batch_ids["registration"], n, pa.int64()),
                    }
                ),
                {},
            )
            bulk.pg_copy(
                dbapi,
                EnterpriseName.__table__,
                pa.table(
                    {
                        "enterprise_id": ents["enterprise_id"],
                        "name": ents["name"],
                        "normalized": normalize_name(ents["name"]),
                        "kind": _const("current", n, pa.string()),
                    }
                ),
                {},
            )
            dbapi.execute(
                "SELECT setval(pg_get_serial_sequence('enterprises', 'id'), "
                "(SELECT max(id) FROM enterprises))"
            )
            dbapi.commit()
        with _step("copy scales", times, say):
            m = scales.num_rows
            bulk.pg_copy(
                dbapi,
                EnterpriseScale.__table__,
                pa.table(
                    {
                        "enterprise_id": scales["enterprise_id"],
                        "year": scales["year"],
                        "above_scale": scales["above_scale"],
                        "batch_id": _const(batch_ids["stats_annual"], m, pa.int64()),
                    }
                ),
                {},
            )
            dbapi.commit()
        drops, creates, adds = _rebuildables(dbapi, "facts")
        with _step("drop facts indexes and foreign keys", times, say):
            for sql in drops:
                dbapi.execute(sql)
            dbapi.commit()
        with _step(f"copy facts ({n_facts:,})", times, say):
            batch_of = pa.array([batch_ids[kind_of[str(i)]] for i in items.to_pylist()], pa.int64())
            offset = 0
            for part in facts_file.iter_batches(batch_size=1 << 20):
                k = part.num_rows
                item = part.column("item")
                value = part.column("value")
                at = pc.index_in(item, items)
                data = pa.table(
                    {
                        "enterprise_id": part.column("enterprise_id"),
                        "year": part.column("year"),
                        "month": _const(0, k, pa.int64()),
                        "item": item,
                        "detail": _const("", k, pa.string()),
                        "value": value,
                        "unit": part.column("unit"),
                        "source_dept": pc.take(
                            pa.array([DEPARTMENTS[kind_of[str(i)]][0] for i in items.to_pylist()]),
                            at,
                        ),
                        "batch_id": pc.take(batch_of, at),
                        "sheet": _const("facts.parquet", k, pa.string()),
                        "row": pa.array(range(offset + 1, offset + k + 1), pa.int64()),
                        "column": item,
                        "raw_value": pc.cast(value, pa.string()),
                    }
                )
                bulk.pg_copy(dbapi, Fact.__table__, data, {})
                offset += k
            dbapi.commit()
        with _step("facts indexes", times, say):
            dbapi.execute("SET maintenance_work_mem = '1GB'")
            for sql in creates:
                dbapi.execute(sql)
            dbapi.commit()
        with _step("foreign keys", times, say):
            for sql in adds:
                dbapi.execute(sql)
            dbapi.commit()
        with _step("vacuum analyze", times, say):
            # the visibility map too (as autovacuum would set it later): index-only scans
            dbapi.autocommit = True
            dbapi.execute("VACUUM (ANALYZE)")
            dbapi.autocommit = False
    finally:
        raw.close()
    with _step("users", times, say):
        users = add_users(engine)
    services = {}
    with _step("snapshot", times, say):
        from industry_brain.warehouse import build_snapshot

        snap = build_snapshot(engine, data_dir() / "snapshots" / f"province-web-{time.time_ns()}")
    with _step("carbon", times, say):
        from industry_brain.domains.carbon.service import run_accounting

        services["carbon"] = run_accounting(engine, None, "duckdb", snapshot_dir=snap.path)
    from industry_brain.domains.mujun import service as mujun

    with Session(engine) as s:
        year = mujun.latest_year(s)
    for y in (year - 1, year):
        with _step(f"mujun {y}", times, say):
            outcome, _ = mujun.run(engine, y, snapshot=snap, actor="bench")
            services[f"mujun_{y}"] = outcome.n_results
    shutil.rmtree(snap.path, ignore_errors=True)
    return {
        "enterprises": ents.num_rows,
        "scales": scales.num_rows,
        "facts": n_facts,
        "batches": batch_ids,
        "users": users,
        "services": {
            k: v if isinstance(v, int) else v.get("counts", {}) for k, v in services.items()
        },
        "seconds": times,
    }


def add_users(engine: Engine, seed: int = DEFAULT_SEED) -> dict[str, list[str]]:
    """``admin``, two city officers and one county officer per county of the store (county
    scope), as the demo creates them (its password, argon2id hashes)."""
    with Session(engine) as s:
        counties = [
            str(c)
            for (c,) in s.execute(
                text("SELECT DISTINCT county_code FROM enterprises WHERE county_code IS NOT NULL")
            )
        ]
        names = {c.code: c.name for c in city().counties}
        org = f"{city().name}经济和信息化局"
        rows = [
            {
                "username": "admin",
                "display_name": "系统管理员",
                "role": "admin",
                "organisation": org,
            }
        ]
        rows += [
            {
                "username": f"city_officer_{k:02d}",
                "display_name": f"市经信局 {k:02d}",
                "role": "city_officer",
                "organisation": org,
            }
            for k in (1, 2)
        ]
        rows += [
            {
                "username": f"county_{c}",
                "display_name": f"{names.get(c, c)}经信局",
                "role": "county_officer",
                "county_code": c,
                "organisation": f"{names.get(c, c)}经济和信息化局",
            }
            for c in sorted(counties)
        ]
        for r in rows:
            r.setdefault("county_code", None)
            r["password_hash"] = password_hash(r["username"], seed)
            r["active"] = True
        s.execute(insert(User), rows)
        s.commit()
    return {
        "city": [r["username"] for r in rows if r["role"] == "city_officer"],
        "county": [r["username"] for r in rows if r["role"] == "county_officer"],
    }


# -- a kept PostgreSQL cluster ------------------------------------------------------------------
@dataclass
class Cluster:
    """A PostgreSQL cluster in ``root`` (data directory ``root/data``) on 127.0.0.1."""

    root: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://app@127.0.0.1:{self.port}/province"

    def _run(self, *args: str) -> None:
        from tests import pgserver

        bindir = pgserver._bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (Debian package postgresql)")
        cmd = [str(bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, capture_output=True, text=True, check=True)

    def start(self) -> Cluster:
        data = self.root / "data"
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        fresh = not (data / "PG_VERSION").exists()
        if fresh:
            self._run(
                "initdb", "-D", str(data), "-U", "app", "--auth=trust", "-E", "UTF8",
                "--locale=C.UTF-8", "--no-sync",
            )  # fmt: skip
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        opts = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c shared_buffers=1GB -c max_wal_size=8GB -c checkpoint_timeout=30min"
            " -c max_connections=200 -c log_min_duration_statement=250"
        )
        log = str(self.root / "log")
        self._run("pg_ctl", "-D", str(data), "-l", log, "-w", "-o", opts, "start")
        if fresh:
            import psycopg

            with psycopg.connect(
                f"host=127.0.0.1 port={self.port} user=app dbname=postgres", autocommit=True
            ) as conn:
                conn.execute('CREATE DATABASE "province"')
        return self

    def pid(self) -> int:
        """The postmaster's process id."""
        return int((self.root / "data" / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")


def _stamp(snapshot: Path) -> dict[str, Any]:
    from alembic.script import ScriptDirectory

    manifest = json.loads((snapshot / "manifest.json").read_text("utf-8"))
    head = ScriptDirectory.from_config(migrate.alembic_config(make_engine("sqlite://"))).get_heads()
    return {
        "snapshot": str(snapshot),
        "rows": manifest["rows"],
        "migration_heads": sorted(head),
        "loader": LOADER_VERSION,
    }


def ensure(n: int, seed: int = 20261127, say: Say = print) -> Cluster:
    """The started cluster holding the province store of ``n`` firms (the snapshot of
    ``bench.mujun.prepare(n, seed)``), built unless the kept one's stamp matches."""
    from bench.mujun import prepare

    snapshot = prepare(n, seed)
    root = data_dir() / "bench" / f"province-web-{n}-{seed}"
    stamp_file = root / "stamp.json"
    stamp = _stamp(snapshot)
    old = json.loads(stamp_file.read_text("utf-8")) if stamp_file.exists() else None
    # a newer migration head alone: the kept store is upgraded in place, as a deployment's is
    upgrade = (
        old is not None
        and old != stamp
        and {**old, "migration_heads": None}
        == {
            **stamp,
            "migration_heads": None,
        }
    )
    kept = old == stamp or upgrade
    if not kept and root.exists():
        say(f"the kept store at {root} is stale: rebuilding it")
        shutil.rmtree(root)
    cluster = Cluster(root / "pg").start()
    if upgrade:
        with _timed(say, "upgraded the kept store to the latest migration"):
            engine = make_engine(cluster.url)
            migrate.upgrade(engine)
            engine.dispose()
        stamp_file.write_text(json.dumps(stamp, indent=1), "utf-8")
    if kept:
        say(f"reusing the province store at {root} ({stamp['rows']['enterprises']:,} firms)")
        return cluster
    try:
        t0 = time.perf_counter()
        say(f"building the province store at {root}")
        engine = make_engine(cluster.url)
        result = load(engine, snapshot, say)
        engine.dispose()
        say(f"built in {time.perf_counter() - t0:.0f}s")
        stamp_file.write_text(json.dumps(stamp, indent=1), "utf-8")
        (root / "load.json").write_text(json.dumps(result, indent=1, default=str), "utf-8")
    except BaseException:
        cluster.stop()
        raise
    return cluster


if __name__ == "__main__":
    kept = ensure(int(sys.argv[1]) if len(sys.argv) > 1 else 500_000)
    print(kept.url)
    kept.stop()
