"""Accounting runs (核算) on a warehouse snapshot, written back with run id, parameter version and
the snapshot's batch ids; and reading the current result of an enterprise.

The current result of a year is the enterprise's row in the latest run of that year.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import Session

from industry_brain.core.errors import Location
from industry_brain.domains.carbon.accounting import ADJUSTMENT_KINDS, adjustments_frame, compute
from industry_brain.domains.carbon.errors import CarbonError
from industry_brain.domains.carbon.models import (
    CarbonAdjustment,
    CarbonResult,
    CarbonResultLine,
    CarbonRun,
)
from industry_brain.domains.carbon.rules import load_rules
from industry_brain.store import bulk
from industry_brain.store.audit import record
from industry_brain.store.db import data_dir
from industry_brain.store.enterprises import ENTERPRISE_ID, get_by_uscc
from industry_brain.store.models import Enterprise, EnterpriseScale
from industry_brain.warehouse import Snapshot, build_snapshot, connect


def latest_data_year(session: Session) -> int:
    year = session.scalar(select(func.max(EnterpriseScale.year)))
    if year is None:
        raise CarbonError(
            "carbon.no_data",
            "企业库中没有规上/规下名录数据，无法核算",
            "the store has no 规上/规下 directory: nothing to account",
            Location(field="year"),
        )
    return int(year)


def run_accounting(
    engine: Engine,
    year: int | None = None,
    compute_engine: str = "duckdb",
    snapshot_dir: Path | None = None,
    actor: str = "system",
) -> dict[str, Any]:
    """Account every enterprise of the ``year`` directory and store the results as a new run.

    ``snapshot_dir``: an existing warehouse snapshot to read; by default a new snapshot of the
    store is written under ``$IB_DATA_DIR/snapshots``.
    """
    started = time.perf_counter()
    with Session(engine) as session:
        year = year or latest_data_year(session)
        adjustments = session.execute(
            select(
                CarbonAdjustment.enterprise_id, CarbonAdjustment.kind, CarbonAdjustment.value
            ).where(CarbonAdjustment.year == year)
        ).all()
    if snapshot_dir is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        snap = build_snapshot(engine, data_dir() / "snapshots" / f"carbon-{stamp}")
    else:
        snap = Snapshot.open(Path(snapshot_dir))
    counties = (
        pd.read_parquet(snap.table("enterprises"), columns=["county_code"])["county_code"]
        .drop_duplicates()
        .tolist()
    )
    rules = load_rules(year, [c if isinstance(c, str) else None for c in counties])
    con = connect(snap.path, compute_engine, tables=("enterprises", "scales", "facts"))
    results, lines = compute(con, rules, adjustments_frame([tuple(a) for a in adjustments]))
    counts = summarise_frame(results)
    with Session(engine) as session:
        run = CarbonRun(
            year=year,
            engine=compute_engine,
            method=str(rules.for_region(None).value("method")),
            parameter_version=rules.version,
            snapshot_path=str(snap.path),
            snapshot_created_at=snap.created_at,
            batch_ids=list(snap.batch_ids),
            counts=counts,
            actor=actor,
        )
        session.add(run)
        session.flush()
        # COPY on PostgreSQL, multi-row INSERTs on SQLite (a province: 500,000 results)
        bulk.insert_frame(session, CarbonResult, results, {"run_id": run.id})
        bulk.insert_frame(session, CarbonResultLine, lines, {"run_id": run.id})
        record(
            session,
            actor,
            "carbon.run",
            "carbon_run",
            str(run.id),
            {"year": year, "engine": compute_engine, "parameter_version": rules.version},
        )
        session.commit()
        run_id = run.id
    return {
        "run_id": run_id,
        "year": year,
        "engine": compute_engine,
        "parameter_version": rules.version,
        "snapshot": str(snap.path),
        "batch_ids": list(snap.batch_ids),
        "counts": counts,
        "seconds": round(time.perf_counter() - started, 2),
    }


def summarise_frame(results: pd.DataFrame) -> dict[str, Any]:
    """Counts by status, by method × grade and by method × level (JSON-serialisable)."""
    graded = results[results["status"] == "graded"]
    out: dict[str, Any] = {
        "enterprises": len(results),
        "graded": len(graded),
        "status": {str(k): int(v) for k, v in results["status"].value_counts().items()},
        "grades": {},
        "levels": {},
    }
    for method, part in graded.groupby("method"):
        out["grades"][str(method)] = {
            str(int(g)): int(n) for g, n in part["grade"].value_counts().sort_index().items()
        }
        out["levels"][str(method)] = {
            str(lv): int(n) for lv, n in part["level"].value_counts().items()
        }
    return out


def latest_run(session: Session, year: int) -> CarbonRun | None:
    return session.scalars(
        select(CarbonRun).where(CarbonRun.year == year).order_by(CarbonRun.id.desc()).limit(1)
    ).first()


def current_runs(session: Session) -> dict[int, int]:
    """year → id of the latest run of that year."""
    return {
        int(y): int(i)
        for y, i in session.execute(
            select(CarbonRun.year, func.max(CarbonRun.id)).group_by(CarbonRun.year)
        ).all()
    }


def _current_run_ids() -> Any:
    """The ids of :func:`current_runs` as a subquery: an enterprise's results are read in one
    statement (a profile page reads them on every view)."""
    return select(func.max(CarbonRun.id)).group_by(CarbonRun.year).scalar_subquery()


def result_for(
    session: Session, ent: Enterprise, year: int | None = None, graded_only: bool = False
) -> CarbonResult:
    """The enterprise's current result of ``year`` (default: the latest year it has one)."""
    stmt = select(CarbonResult).where(
        CarbonResult.enterprise_id == ent.id, CarbonResult.run_id.in_(_current_run_ids())
    )
    if year is not None:
        stmt = stmt.where(CarbonResult.year == year)
    if graded_only:
        stmt = stmt.where(CarbonResult.status == "graded")
    res = session.scalars(stmt.order_by(CarbonResult.year.desc()).limit(1)).first()
    if res is None:
        when = f" {year} 年" if year else ""
        when_en = f" for {year}" if year else ""
        raise CarbonError(
            "carbon.no_result",
            f"企业 {ent.uscc}{when}没有{'已评级的' if graded_only else ''}碳效结果（先运行 "
            "industry-brain carbon run）",
            f"enterprise {ent.uscc} has no {'graded ' if graded_only else ''}carbon result"
            f"{when_en} (run `industry-brain carbon run` first)",
            Location(field="uscc"),
            ent.uscc,
        )
    return res


def history(session: Session, ent: Enterprise) -> list[CarbonResult]:
    """The enterprise's current result of every year, oldest first."""
    return list(session.scalars(_history_stmt(), {"enterprise_id": ent.id}))


@cache
def _history_stmt() -> Select:  # built once: the profile page reads it on every view
    return (
        select(CarbonResult)
        .where(
            CarbonResult.enterprise_id == ENTERPRISE_ID,
            CarbonResult.run_id.in_(_current_run_ids()),
        )
        .order_by(CarbonResult.year)
    )


def result_dict(res: CarbonResult, ent: Enterprise | None = None) -> dict[str, Any]:
    """A result as a JSON-ready dict (一码三标识: grade/K, 碳排量 CO2 net, 碳中和率)."""
    d = {c.key: getattr(res, c.key) for c in CarbonResult.__table__.columns}
    if ent is not None:
        d = {"uscc": ent.uscc, "name": ent.name, **d}
    return d


def set_adjustment(
    session: Session,
    uscc: str,
    year: int,
    kind: str,
    value: float,
    source: str,
    actor: str,
) -> CarbonAdjustment:
    """Enter (or replace) a zero-carbon electricity or sink figure; used by the next run."""
    if kind not in ADJUSTMENT_KINDS:
        raise CarbonError(
            "carbon.adjustment_kind",
            f"未知的调整类型“{kind}”（可选：green_power 绿电交易、onsite_pv 自发自用光伏、"
            "sink 碳汇）",
            f"unknown adjustment kind '{kind}' (green_power, onsite_pv or sink)",
            Location(field="kind"),
            kind,
        )
    if not value >= 0:
        raise CarbonError(
            "carbon.adjustment_value",
            "调整量必须为非负数",
            "an adjustment must be a non-negative number",
            Location(field="value"),
            value,
        )
    if not source.strip():
        raise CarbonError(
            "carbon.adjustment_source",
            "请注明数据来源（如绿电交易凭证编号、光伏电表）",
            "name the source of the figure (green-power certificate, PV meter...)",
            Location(field="source"),
        )
    ent = get_by_uscc(session, uscc)
    row = session.scalars(
        select(CarbonAdjustment).where(
            CarbonAdjustment.enterprise_id == ent.id,
            CarbonAdjustment.year == year,
            CarbonAdjustment.kind == kind,
        )
    ).first()
    before = row.value if row else None
    if row is None:
        row = CarbonAdjustment(enterprise_id=ent.id, year=year, kind=kind)
        session.add(row)
    row.value = float(value)
    row.unit = ADJUSTMENT_KINDS[kind]
    row.source = source.strip()
    row.entered_by = actor
    record(
        session,
        actor,
        "carbon.adjustment",
        "enterprise",
        ent.uscc,
        {"year": year, "kind": kind, "value": float(value), "before": before, "source": source},
    )
    session.flush()
    return row


def list_adjustments(session: Session, year: int | None = None) -> list[dict[str, Any]]:
    stmt = (
        select(CarbonAdjustment, Enterprise.uscc, Enterprise.name)
        .join(Enterprise, Enterprise.id == CarbonAdjustment.enterprise_id)
        .order_by(CarbonAdjustment.year, Enterprise.uscc, CarbonAdjustment.kind)
    )
    if year is not None:
        stmt = stmt.where(CarbonAdjustment.year == year)
    return [
        {
            "uscc": uscc,
            "name": name,
            "year": a.year,
            "kind": a.kind,
            "value": a.value,
            "unit": a.unit,
            "source": a.source,
            "entered_by": a.entered_by,
        }
        for a, uscc, name in session.execute(stmt).all()
    ]
