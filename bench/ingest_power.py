"""Ingest benchmark: a monthly electricity CSV (GBK, like the grid company sends it) through the
real import path, against a naive pandas + iterrows + ORM baseline of the same work.

Target (issue 4): ≥ 100,000 rows/s end to end on this machine. The baseline runs on a slice
(it is two orders of magnitude slower) and is compared by rows per second.
"""

from __future__ import annotations

import re
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


def run(rows: int = 1_000_000) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory(prefix="ib-bench-") as tmpdir:
        tmp = Path(tmpdir)
        ents = _enterprises(20_000, rng)
        csv = tmp / "power_2025.csv"
        t0 = time.perf_counter()
        _write_power_csv(csv, ents, rows, rng)
        print(
            f"wrote {rows:,} rows in {time.perf_counter() - t0:.1f}s "
            f"({csv.stat().st_size / 1e6:.0f} MB)"
        )

        url = _store(tmp, "fast.sqlite", ents)
        engine = make_engine(url)
        start = time.perf_counter()
        result = import_file("power", csv, engine=engine, write_reports=False)
        elapsed = time.perf_counter() - start
        engine.dispose()
        with Session(make_engine(url)) as session:
            accounts = session.scalar(select(PowerAccount.account_no).limit(1))
        fast = result.rows_loaded / elapsed
        print(
            f"industry-brain import: {result.rows_loaded:,} rows in {elapsed:.2f}s "
            f"= {fast:,.0f} rows/s "
            f"(status {result.status}, facts {result.facts_inserted:,}, account e.g. {accounts})"
        )

        base_url = _store(tmp, "baseline.sqlite", ents)
        base = _baseline(csv, base_url, min(BASELINE_ROWS, rows))
        print(
            f"naive pandas+iterrows+ORM baseline: {base:,.0f} rows/s "
            f"on {min(BASELINE_ROWS, rows):,} rows"
        )
        ratio = fast / base
        print(
            f"ratio: {ratio:.1f}x   target ≥ {TARGET_ROWS_PER_S:,} rows/s: "
            f"{'met' if fast >= TARGET_ROWS_PER_S else 'NOT met'}"
        )
    return {
        "rows": rows,
        "seconds": round(elapsed, 2),
        "rows_per_s": round(fast),
        "baseline_rows_per_s": round(base),
        "ratio": round(ratio, 1),
        "target_rows_per_s": TARGET_ROWS_PER_S,
        "target_met": fast >= TARGET_ROWS_PER_S,
        "status": result.status,
    }
