"""The batch matching published to the warehouse: ``result_market_matches``.

A **match run** ranks the published catalog for every enterprise in one batch (the code of the
portal's live page, :func:`matching.match`) and keeps the first ``market.matching.published``
ranks of each enterprise with the explanation's parts, so that another service (the diagnosis
report) can list an enterprise's recommended solutions and say why without importing the market:

- ``weak``: the weak sub-domains the solution covers, ``code:score`` joined by ``;`` in the order
  of the CMMM sub-domains (e.g. ``planning:1.5``), with ``target_level`` (the enterprise's level
  + 1, capped) — empty without a diagnosis or when no covered sub-domain is below the target;
- ``cover`` (the sum of those gaps), ``industry_fit``, ``cases`` (peer cases, capped), ``area``,
  the provider's ``rating`` and number of ``ratings`` at the time of the run, and ``score``.

A run records the parameter version, the day it ranks on (the platform's day) and, as its
inputs, the diagnosis data it read: the final CMMM assessments (count, newest id) and the
diagnosis service's published runs at that time (read through a lightweight description of
its table; the market never imports the diagnosis modules). The table holds the rows of the
newest published run of every year.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.contract import ResultTable, newest_runs
from industry_brain.core import parameters as core_params
from industry_brain.domains.market import codes, matching
from industry_brain.domains.market.models import (
    MarketMatch,
    MarketMatchRun,
    MarketProvider,
    MarketSolution,
    MarketSolutionVersion,
)
from industry_brain.store import audit, bulk
from industry_brain.store.db import frame_of, select_frame
from industry_brain.store.models import Enterprise

TABLE = "result_market_matches"
SCHEMA: tuple[tuple[str, str], ...] = (
    ("run_id", "int64"),
    ("parameter_version", "string"),
    ("year", "int64"),
    ("on_date", "string"),
    ("enterprise_id", "int64"),
    ("uscc", "string"),
    ("rank", "int64"),
    ("solution_id", "int64"),
    ("solution_version", "int64"),
    ("solution_code", "string"),
    ("title", "string"),
    ("provider_id", "int64"),
    ("provider_uscc", "string"),
    ("provider", "string"),
    ("score", "float64"),
    ("cover", "float64"),
    ("industry_fit", "bool"),
    ("cases", "int64"),
    ("area", "bool"),
    ("rating", "float64"),
    ("ratings", "int64"),
    ("weak", "string"),
    ("target_level", "int64"),
    ("diagnosis_year", "int64"),
)

_diagnosis_runs = sa.table(
    "diagnosis_runs", sa.column("id"), sa.column("year"), sa.column("status")
)


def _inputs(session: Session) -> dict[str, Any]:
    a = matching._assessments
    n, newest = session.execute(
        select(func.count(a.c.id), func.max(a.c.id)).where(
            a.c.questionnaire == "cmmm", a.c.status == "final"
        )
    ).one()
    runs = session.execute(
        select(_diagnosis_runs.c.id, _diagnosis_runs.c.year)
        .where(_diagnosis_runs.c.status == "published")
        .order_by(_diagnosis_runs.c.id)
    ).all()
    return {
        "cmmm_final_assessments": int(n or 0),
        "newest_assessment_id": None if newest is None else int(newest),
        "diagnosis_runs": [
            {"service": "diagnosis", "run_id": int(i), "year": int(y)} for i, y in runs
        ],
    }


#: published match rows written by one bulk insert
MATCH_SLICE = 50_000
MATCH_COLUMNS = [
    "enterprise_id",
    "rank",
    "solution_id",
    "solution_version",
    "provider_id",
    "score",
    "cover",
    "industry_fit",
    "cases",
    "area",
    "rating",
    "ratings",
    "weak",
    "target_level",
    "diagnosis_year",
]
MATCH_TYPES = {"rating": "float64", "target_level": "Int64", "diagnosis_year": "Int64"}


def rows_of(
    ents: pd.DataFrame, sols: pd.DataFrame, m: matching.Matches, w: matching.Weights, keep: int
) -> list[dict[str, Any]]:
    """The published rows of a batch: the first ``keep`` ranks of every enterprise, with the
    explanation's parts (``run_id`` not set)."""
    order = list(codes.subdomains())
    top_level = codes.max_level()
    sol_subs = [set(x) for x in sols["subdomains"]]
    # plain lists: indexing a frame per row costs more than the ranking itself
    s_id = sols["id"].tolist()
    s_version = sols["version"].tolist()
    s_provider = sols["provider_id"].tolist()
    s_rating = sols["rating"].tolist()
    s_ratings = sols["ratings"].tolist()
    e_id = ents["id"].tolist()
    e_subs = ents["subdomains"].tolist()
    e_level = ents["level"].tolist()
    e_year = ents["diagnosis_year"].tolist()
    index = m.index.tolist()
    score, cover = m.score.tolist(), m.cover.tolist()
    industry, cases, area = m.industry.tolist(), m.cases.tolist(), m.area.tolist()
    out: list[dict[str, Any]] = []
    keep = min(keep, m.index.shape[1]) if m.index.ndim == 2 else 0
    for r in range(len(e_id)):
        subs = e_subs[r]
        diagnosed = isinstance(subs, dict)
        target = min(int(e_level[r] or 0) + 1, top_level) if diagnosed else None
        dyear = e_year[r] if diagnosed else None
        eid = int(e_id[r])
        for j in range(keep):
            i = int(index[r][j])
            if i < 0:
                break
            weak = ""
            if diagnosed:
                covered = sol_subs[i]
                weak = ";".join(
                    f"{c}:{round(float(subs[c]), 4):g}"
                    for c in order
                    if c in subs and c in covered and subs[c] < target
                )
            rating = s_rating[i]
            out.append(
                {
                    "enterprise_id": eid,
                    "rank": j + 1,
                    "solution_id": int(s_id[i]),
                    "solution_version": int(s_version[i]),
                    "provider_id": int(s_provider[i]),
                    "score": float(score[r][j]),
                    "cover": round(float(cover[r][j]), 6),
                    "industry_fit": bool(industry[r][j]),
                    "cases": int(cases[r][j]),
                    "area": bool(area[r][j]),
                    "rating": None if rating != rating else float(rating),
                    "ratings": int(s_ratings[i]),
                    "weak": weak[:400],
                    "target_level": target,
                    "diagnosis_year": None if dyear is None or dyear != dyear else int(dyear),
                }
            )
    return out


def run(session: Session, actor: str, on: date | None = None) -> MarketMatchRun:
    """Match every enterprise against the published catalog and publish the run."""
    on = on or date.today()
    t0 = time.perf_counter()
    w = matching.Weights.load(on)
    keep = int(core_params.load().get("market.matching.published", on=on))
    inputs = _inputs(session)
    ents = matching.enterprises(session, None, on)
    sols = matching.solutions(session)
    t1 = time.perf_counter()
    if len(ents) and len(sols):
        m = matching.match(ents, sols, w, k=max(keep, 1))
        rows = rows_of(ents, sols, m, w, keep)
        matched = int((m.index[:, 0] >= 0).sum())
        mean_eligible = round(float(m.eligible.mean()), 1)
    else:
        rows, matched, mean_eligible = [], 0, 0.0
    t2 = time.perf_counter()
    r = MarketMatchRun(
        on_date=on,
        year=on.year,
        parameter_version=core_params.load().version("market"),
        status="published",
        summary={},
        inputs=inputs,
        actor=actor,
    )
    session.add(r)
    session.flush()
    # one COPY (PostgreSQL) or multi-row INSERTs (SQLite) a slice at a time: the ORM's bulk
    # insert sent these rows in tens of thousands of small statements (25 of 31 s at 20,000 firms)
    for a in range(0, len(rows), MATCH_SLICE):
        frame = pd.DataFrame(rows[a : a + MATCH_SLICE], columns=MATCH_COLUMNS)
        bulk.insert_frame(session, MarketMatch, frame.astype(MATCH_TYPES), {"run_id": r.id})
    t3 = time.perf_counter()
    r.summary = {
        "enterprises": len(ents),
        "diagnosed": int(ents["subdomains"].notna().sum()) if len(ents) else 0,
        "catalog": len(sols),
        "matched": matched,
        "rows": len(rows),
        "mean_eligible": mean_eligible,
        "load_seconds": round(t1 - t0, 3),
        "match_seconds": round(t2 - t1, 3),
        "write_seconds": round(t3 - t2, 3),
    }
    audit.record(
        session,
        actor,
        "market.match_run",
        "market_match_run",
        str(r.id),
        {"on": on.isoformat(), "rows": len(rows), "parameter_version": r.parameter_version},
    )
    session.commit()
    return r


def runs(session: Session) -> list[MarketMatchRun]:
    return list(session.scalars(select(MarketMatchRun).order_by(MarketMatchRun.id.desc())))


def published(session: Session) -> list[dict[str, Any]]:
    """The newest published run of every year (the runs :func:`read` names)."""
    return newest_runs(session, MarketMatchRun, "market", MarketMatchRun.status == "published")


def read(
    session: Session, enterprise_ids: list[int] | None = None
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Rows of the newest published run of every year and those runs. ``enterprise_ids``
    (optional; a reader checks that the function takes it) limits the rows to those
    enterprises — the diagnosis report reads one firm's rows, not the whole table's ~50,000."""
    manifest = published(session)
    ids = [r["run_id"] for r in manifest]
    on_dates = dict(
        session.execute(
            select(MarketMatchRun.id, MarketMatchRun.on_date).where(MarketMatchRun.id.in_(ids))
        ).all()
    )
    q = (
        select(
            MarketMatch.run_id,
            MarketMatch.enterprise_id,
            Enterprise.uscc,
            MarketMatch.rank,
            MarketMatch.solution_id,
            MarketMatch.solution_version,
            MarketSolution.code,
            MarketSolutionVersion.title,
            MarketMatch.provider_id,
            MarketProvider.uscc,
            MarketProvider.name,
            MarketMatch.score,
            MarketMatch.cover,
            MarketMatch.industry_fit,
            MarketMatch.cases,
            MarketMatch.area,
            MarketMatch.rating,
            MarketMatch.ratings,
            MarketMatch.weak,
            MarketMatch.target_level,
            MarketMatch.diagnosis_year,
        )
        .join(Enterprise, Enterprise.id == MarketMatch.enterprise_id)
        .join(MarketSolution, MarketSolution.id == MarketMatch.solution_id)
        .join(
            MarketSolutionVersion,
            (MarketSolutionVersion.solution_id == MarketMatch.solution_id)
            & (MarketSolutionVersion.version == MarketMatch.solution_version),
        )
        .join(MarketProvider, MarketProvider.id == MarketMatch.provider_id)
        .where(MarketMatch.run_id.in_(ids))
        .where(
            MarketMatch.enterprise_id.in_(enterprise_ids)
            if enterprise_ids is not None
            else sa.true()
        )
        .order_by(MarketMatch.run_id, MarketMatch.enterprise_id, MarketMatch.rank)
    )
    cols = [
        "run_id",
        "enterprise_id",
        "uscc",
        "rank",
        "solution_id",
        "solution_version",
        "solution_code",
        "title",
        "provider_id",
        "provider_uscc",
        "provider",
        *MATCH_COLUMNS[MATCH_COLUMNS.index("score") :],  # the match's own figures
    ]
    frame = select_frame(session, q, cols) if ids else frame_of([], cols)
    by_run = {r["run_id"]: r for r in manifest}
    frame["parameter_version"] = (
        frame["run_id"].map({i: r["parameter_version"] for i, r in by_run.items()}).astype(object)
    )
    frame["year"] = frame["run_id"].map({i: r["year"] for i, r in by_run.items()}).astype("int64")
    frame["on_date"] = (
        frame["run_id"].map({i: d.isoformat() for i, d in on_dates.items()}).astype(object)
    )
    for c in ("target_level", "diagnosis_year"):
        frame[c] = frame[c].astype("Int64")
    for c in ("industry_fit", "area"):
        frame[c] = frame[c].astype(bool)
    frame["rating"] = frame["rating"].astype(float)
    return frame[[c for c, _ in SCHEMA]], manifest


RESULT_TABLE = ResultTable(
    TABLE, SCHEMA, ("year", "enterprise_id", "rank"), read, published, fixed_by=published
)
