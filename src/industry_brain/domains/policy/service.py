"""The policy batch on the warehouse: every enterprise × every policy in force for a data year,
evaluated in one Ibis expression on DuckDB or PySpark, stored as a run (parameter version, the
snapshot's batches and service runs it read) with each result's trace; one enterprise's
calculator (qualifies / almost / cannot tell, what-if without storing)."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from industry_brain.core.errors import IBError, Location
from industry_brain.domains.policy import compute, definitions
from industry_brain.domains.policy import engine as eng
from industry_brain.domains.policy.models import PolicyLoan, PolicyResult, PolicyRun
from industry_brain.store import scoped
from industry_brain.store.db import data_dir
from industry_brain.store.models import Enterprise, Fact
from industry_brain.warehouse import Snapshot, build_snapshot, connect, latest_snapshot

BASE_TABLES = ("enterprises", "scales", "facts")
RESULT_TABLES = (
    "result_mujun",
    "result_carbon",
    "result_projects",
    "result_tiers",
    "result_maturity",
)
EMPTY_PROJECTS = {
    "year": "int64",
    "project_id": "int64",
    "enterprise_id": "int64",
    "stage": "string",
    "investment_to_date": "float64",
    "planned_investment": "float64",
    "industry_code": "string",
    "county_code": "string",
}


class PolicyRunError(IBError):
    """A policy run cannot be made (no data, unknown enterprise)."""


def current_snapshot(engine: Engine, root: Path | None = None, fresh: bool = False) -> Snapshot:
    """The newest current snapshot of the store (a new one when there is none)."""
    root = root or data_dir() / "snapshots"
    snap = None if fresh else latest_snapshot(root, engine)
    if snap is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        snap = build_snapshot(engine, Path(root) / f"policy-{stamp}")
    return snap


def tax_types(session: Session, year: int, enterprise_ids: list[int] | None = None) -> pd.DataFrame:
    """Taxes paid by type in ``year`` (the tax bureau's detail of ``tax_paid``), 万元."""
    stmt = (
        select(Fact.enterprise_id, Fact.year, Fact.detail, func.sum(Fact.value))
        .where(
            Fact.year == year,
            Fact.item == "tax_paid",
            Fact.detail.in_(list(eng.TAX_TYPES.values())),
            Fact.superseded_by.is_(None),
        )
        .group_by(Fact.enterprise_id, Fact.year, Fact.detail)
    )
    if enterprise_ids is not None:
        stmt = stmt.where(Fact.enterprise_id.in_(enterprise_ids))
    rows = session.execute(stmt).all()
    return pd.DataFrame(rows, columns=list(eng.TAX_SCHEMA)).astype(
        {"enterprise_id": "int64", "year": "int64", "value": "float64"}
    )


def loans(session: Session, enterprise_ids: list[int] | None = None) -> pd.DataFrame:
    """Loans reported for interest subsidies (policy_loans)."""
    stmt = select(
        PolicyLoan.id,
        PolicyLoan.enterprise_id,
        PolicyLoan.bank,
        PolicyLoan.amount,
        PolicyLoan.rate,
        PolicyLoan.start_date,
        PolicyLoan.end_date,
        PolicyLoan.purpose,
    )
    if enterprise_ids is not None:
        stmt = stmt.where(PolicyLoan.enterprise_id.in_(enterprise_ids))
    rows = session.execute(stmt.order_by(PolicyLoan.id)).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "loan_id",
            "enterprise_id",
            "bank",
            "amount",
            "rate",
            "start_date",
            "end_date",
            "purpose",
        ],
    )
    frame["interest_paid"] = None
    return frame


def inputs(con: Any, snap: Snapshot, extra: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The warehouse tables of a snapshot (result tables it holds) plus in-memory extras."""
    out = {t: con.table(t) for t in BASE_TABLES}
    for t in RESULT_TABLES:
        if snap.table(t).exists():
            out[t] = con.table(t)
    out.update(compute.memtables(extra))
    if "result_projects" not in out:
        import ibis

        out["result_projects"] = ibis.memtable(
            pd.DataFrame(
                {
                    c: pd.Series([], dtype="object" if k == "string" else k)
                    for c, k in EMPTY_PROJECTS.items()
                }
            ),
            schema=EMPTY_PROJECTS,
        )
    return out


def snapshot_con(snap: Snapshot, compute_engine: str) -> Any:
    names = tuple(t for t in (*BASE_TABLES, *RESULT_TABLES) if snap.table(t).exists())
    return connect(snap.path, compute_engine, tables=names)


def latest_year(snap: Snapshot) -> int:
    scales = pd.read_parquet(snap.table("scales"), columns=["year"])
    if scales.empty:
        raise PolicyRunError(
            "policy.no_data",
            "仓库快照中没有规上/规下标志",
            "the warehouse snapshot has no year",
            Location(field="year"),
        )
    return int(scales["year"].max())


def counties_of(snap: Snapshot) -> list[str]:
    ents = pd.read_parquet(snap.table("enterprises"), columns=["county_code"])
    return compute.check_counties(list(ents["county_code"].dropna().unique()))


def evaluate_snapshot(
    snap: Snapshot,
    session: Session,
    year: int,
    compute_engine: str = "duckdb",
    policies: list[definitions.Policy] | None = None,
    keep: str = "candidates",
    enterprise_id: int | None = None,
    extra: dict[str, pd.DataFrame] | None = None,
    trace: bool = True,
) -> compute.Evaluation:
    """Every policy in force (or ``policies``) over the snapshot, executed once (``trace``: see
    :func:`compute.evaluate`)."""
    policies = policies if policies is not None else compute.in_force(definitions.load(), year)
    ids = [enterprise_id] if enterprise_id is not None else None
    # the store's frames the caller did not hand over (the calculator reads them for its
    # cache's stamp; a what-if brings its own loans)
    frames = dict(extra or {})
    if "tax_types" not in frames:
        frames["tax_types"] = tax_types(session, year, ids)
    if "loans" not in frames:
        frames["loans"] = loans(session, ids)
    con = snapshot_con(snap, compute_engine)
    return compute.evaluate(
        con,
        policies,
        inputs(con, snap, frames),
        year,
        counties_of(snap),
        keep,
        enterprise_id,
        trace,
    )


def run(
    engine: Engine,
    year: int | None = None,
    compute_engine: str = "duckdb",
    root: Path | None = None,
    actor: str = "cli",
    fresh: bool = False,
) -> tuple[int, compute.Evaluation]:
    """The batch: evaluate, then store the run and its results (eligible, stacked, unknown)."""
    snap = current_snapshot(engine, root, fresh)
    year = year if year is not None else latest_year(snap)
    with Session(engine) as session:
        ev = evaluate_snapshot(snap, session, year, compute_engine)
        totals = ev.totals()
        reads = set(RESULT_TABLES)
        run_row = PolicyRun(
            year=year,
            kind="run",
            engine=compute_engine,
            parameter_version=definitions.version(),
            policies=[p.id for p in ev.policies],
            input_batch_ids=list(snap.batch_ids),
            input_runs=[r for r in snap.runs if r.get("table") in reads],
            snapshot={"path": str(snap.path), "created_at": snap.created_at},
            summary={**totals, "on": ev.on.isoformat(), "rationing": ev.rationing},
            actor=actor,
        )
        session.add(run_row)
        session.flush()
        if ev.rows:
            session.execute(
                insert(PolicyResult),
                [
                    {
                        "run_id": run_row.id,
                        "policy": r["policy"],
                        "enterprise_id": r["enterprise_id"],
                        "entity": r["entity"],
                        "county_code": r["county_code"],
                        "status": r["status"],
                        "amount": r["amount"],
                        "paid": r["paid"],
                        "trace": r["trace"],
                    }
                    for r in ev.rows
                ],
            )
        from industry_brain.store import audit

        audit.record(
            session,
            actor,
            "policy.run",
            "policy_run",
            str(run_row.id),
            {
                "year": year,
                "engine": compute_engine,
                **{k: totals[k] for k in ("beneficiaries", "total")},
            },
        )
        session.commit()
        return run_row.id, ev


def enterprise_id_of(session: Session, uscc: str) -> int:
    eid = session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc))
    if eid is None:
        raise PolicyRunError(
            "policy.enterprise",
            f"未找到企业 {uscc}",
            f"no enterprise {uscc}",
            Location(field="uscc"),
            uscc,
        )
    return int(eid)


def explain(
    engine: Engine,
    uscc: str,
    year: int | None = None,
    root: Path | None = None,
    what_if: dict[str, Any] | None = None,
    session: Session | None = None,
) -> dict[str, Any]:
    """政策计算器 for one enterprise: what it qualifies for and how much, what it almost
    qualifies for (the failing conditions and their gaps), what cannot be told yet. ``what_if``
    (``facts``: item → value; ``loans``: list of loans) changes inputs for this answer only —
    nothing is stored."""
    snap = current_snapshot(engine, root)
    year = year if year is not None else latest_year(snap)
    own = session is None
    session = session or Session(engine)
    try:
        eid = enterprise_id_of(session, uscc)
        extra: dict[str, pd.DataFrame] = {}
        if what_if and what_if.get("loans") is not None:
            base = loans(session, [eid])
            new = pd.DataFrame(
                [
                    {"loan_id": -(i + 1), "enterprise_id": eid, "bank": "what-if", **ln}
                    for i, ln in enumerate(what_if["loans"])
                ]
            )
            extra["loans"] = pd.concat([base, new], ignore_index=True) if not base.empty else new
        if what_if and what_if.get("facts"):
            ev = _with_facts(snap, session, year, eid, what_if["facts"], extra)
            return _answer(uscc, year, ev)
        if extra:
            ev = evaluate_snapshot(snap, session, year, keep="all", enterprise_id=eid, extra=extra)
            return _answer(uscc, year, ev)
        # the answer depends on the snapshot, the policies and parameters, and the enterprise's
        # own taxes by type and loans read from the store: computed once for all of them (an
        # evaluation compiles and runs one query per request, ≈ 0.3 s), a copy handed out
        frames = {"tax_types": tax_types(session, year, [eid]), "loans": loans(session, [eid])}
        stamp = (str(snap.path), snap.created_at, definitions.version(), _digest(frames))
        answer = scoped.cached(
            session,
            ("policy.explain", eid, year),
            stamp,
            lambda: _answer(
                uscc,
                year,
                evaluate_snapshot(snap, session, year, keep="all", enterprise_id=eid, extra=frames),
            ),
            scoped.ENTERPRISE_CACHE,
        )
        return copy.deepcopy(answer)
    finally:
        if own:
            session.close()


def _digest(frames: dict[str, pd.DataFrame]) -> str:
    """A content hash of small frames (one enterprise's rows): their values' exact text (floats
    by ``repr``), name by name."""
    digest = hashlib.sha256()
    for name in sorted(frames):
        digest.update(name.encode())
        digest.update(repr(frames[name].to_dict("split")).encode())
    return digest.hexdigest()


def _with_facts(
    snap: Snapshot,
    session: Session,
    year: int,
    eid: int,
    facts: dict[str, float],
    extra: dict[str, pd.DataFrame],
) -> compute.Evaluation:
    """Evaluate with the enterprise's figures of ``year`` replaced by ``facts``."""
    f = pd.read_parquet(snap.table("facts"))
    f = f[(f["enterprise_id"] == eid) & (f["year"] == year)]
    changed = f[~f["item"].isin(list(facts))]
    add = pd.DataFrame(
        [
            {
                "enterprise_id": eid,
                "year": year,
                "item": k,
                "value": float(v),
                "unit": "",
                "source_dept": "what-if",
            }
            for k, v in facts.items()
        ]
    )
    frame = pd.concat([changed, add], ignore_index=True).astype(
        {"enterprise_id": "int64", "year": "int64", "value": "float64"}
    )
    policies = compute.in_force(definitions.load(), year)
    frames = {
        "tax_types": tax_types(session, year, [eid]),
        "loans": loans(session, [eid]),
        **extra,
        "facts": frame,
    }
    con = snapshot_con(snap, "duckdb")
    ins = inputs(con, snap, frames)
    return compute.evaluate(con, policies, ins, year, counties_of(snap), "all", eid)


def _answer(uscc: str, year: int, ev: compute.Evaluation) -> dict[str, Any]:
    near = {(r["policy"], r["entity"]) for r in compute.almost(ev)}
    names = {p.id: p.spec.title for p in ev.policies}
    out: dict[str, Any] = {
        "uscc": uscc,
        "year": year,
        "on": ev.on.isoformat(),
        "qualifies": [],
        "almost": [],
        "unknown": [],
        "stacked": [],
        "no": [],
    }
    for r in ev.rows:
        item = {**r, "title_zh": names[r["policy"]].zh, "title_en": names[r["policy"]].en}
        if r["status"] == "eligible":
            out["qualifies"].append(item)
        elif r["status"] == "stacked":
            out["stacked"].append(item)
        elif r["status"] == "unknown":
            out["unknown"].append(item)
        elif (r["policy"], r["entity"]) in near:
            out["almost"].append(item)
        else:
            out["no"].append(item)
    out["total"] = round(sum(r["paid"] or 0.0 for r in out["qualifies"] if (r["paid"] or 0) > 0), 4)
    return out
