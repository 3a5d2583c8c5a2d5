"""梯度培育 pipeline from the published runs: the funnel per county and year (规下 → 新升规 →
创新型 → 专精特新 → 小巨人 → 隐形冠军 → 单项冠军), movements year on year, candidates for the next
tier ranked by closeness with their gaps, and the 三单一库 lists."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.domains.tiers.models import TiersLevel, TiersResult, TiersRun
from industry_brain.domains.tiers.service import trace_of
from industry_brain.store.models import Enterprise, EnterpriseScale, Project

BELOW = "below_scale"


def ladder(year: int) -> list[str]:
    return list(parameters.load().get("tiers.ladder", on=date(year, 1, 1)))


def run_of(session: Session, year: int) -> TiersRun | None:
    return session.scalars(
        select(TiersRun)
        .where(TiersRun.year == year, TiersRun.status == "published")
        .order_by(TiersRun.id.desc())
    ).first()


def _levels(session: Session, run_id: int, clause: Any = None) -> list[Any]:
    stmt = (
        select(TiersLevel, Enterprise.uscc, Enterprise.name)
        .join(Enterprise, Enterprise.id == TiersLevel.enterprise_id)
        .where(TiersLevel.run_id == run_id)
    )
    if clause is not None:
        stmt = stmt.where(clause)
    return list(session.execute(stmt).all())


def funnel(
    session: Session, year: int, county: str | None = None, clause: Any = None
) -> dict[str, Any]:
    """Counts per stage: ``at`` (the firm's highest tier is this stage) and ``reached`` (this
    stage or higher); 规下 counts firms flagged below designated size in the year."""
    stages = [BELOW, *ladder(year)]
    run = run_of(session, year)
    at = dict.fromkeys(stages, 0)
    stmt = (
        select(EnterpriseScale.enterprise_id)
        .join(Enterprise, Enterprise.id == EnterpriseScale.enterprise_id)
        .where(EnterpriseScale.year == year, EnterpriseScale.above_scale.is_(False))
    )
    if county:
        stmt = stmt.where(Enterprise.county_code == county)
    if clause is not None:
        stmt = stmt.where(clause)
    at[BELOW] = len(session.scalars(stmt).all())
    if run is not None:
        for lv, _, _ in _levels(session, run.id, clause):
            if county and lv.county_code != county:
                continue
            if lv.tier in at:
                at[lv.tier] += 1
    reached = {}
    total = 0
    for s in reversed(stages[1:]):
        total += at[s]
        reached[s] = total
    reached[BELOW] = at[BELOW]
    return {
        "year": year,
        "county": county,
        "run_id": run.id if run else None,
        "stages": [{"stage": s, "at": at[s], "reached": reached[s]} for s in stages],
    }


def movements(session: Session, year: int, clause: Any = None) -> list[dict[str, Any]]:
    """Firms whose tier changed from year−1 to year (up, down), from the two published runs."""
    cur, prev = run_of(session, year), run_of(session, year - 1)
    if cur is None or prev is None:
        return []
    order = ladder(year)
    before = {lv.enterprise_id: lv.tier for lv, _, _ in _levels(session, prev.id, clause)}
    out = []
    for lv, uscc, name in _levels(session, cur.id, clause):
        old = before.get(lv.enterprise_id)
        if old == lv.tier:
            continue
        r_old = order.index(old) if old in order else -1
        r_new = order.index(lv.tier) if lv.tier in order else -1
        out.append(
            {
                "uscc": uscc,
                "name": name,
                "county_code": lv.county_code,
                "from": old,
                "to": lv.tier,
                "direction": "up" if r_new > r_old else "down",
            }
        )
    return sorted(out, key=lambda m: (m["direction"], m["county_code"] or "", m["uscc"]))


def candidates(
    session: Session,
    year: int,
    tier: str | None = None,
    clause: Any = None,
    limit: int = 50,
    min_closeness: float | None = None,
) -> list[dict[str, Any]]:
    """Firms ranked by closeness to their next tier (or to ``tier``), with the failing
    conditions (gaps) and missing data of that scheme."""
    run = run_of(session, year)
    if run is None:
        return []
    if min_closeness is None:
        min_closeness = float(
            parameters.load().get("tiers.candidates.min_closeness", on=date(year, 1, 1))
        )
    stmt = (
        select(TiersResult, TiersLevel, Enterprise.uscc, Enterprise.name)
        .join(
            TiersLevel,
            (TiersLevel.run_id == TiersResult.run_id)
            & (TiersLevel.enterprise_id == TiersResult.enterprise_id),
        )
        .join(Enterprise, Enterprise.id == TiersResult.enterprise_id)
        .where(TiersResult.run_id == run.id, TiersResult.status != "meets")
        .where(TiersResult.closeness >= min_closeness)
    )
    if tier:
        stmt = stmt.where(TiersResult.tier == tier)
    else:
        stmt = stmt.where(TiersResult.tier == TiersLevel.next_tier)
    if clause is not None:
        stmt = stmt.where(clause)
    stmt = stmt.order_by(
        (TiersResult.status == "candidate").desc(),
        TiersResult.closeness.desc(),
        Enterprise.uscc,
    ).limit(limit)
    out = []
    seen: set[tuple[str, str]] = set()
    for res, lv, uscc, name in session.execute(stmt).all():
        if (uscc, res.tier) in seen:  # a tier with categories: its closest one only
            continue
        seen.add((uscc, res.tier))
        trace = trace_of(run, res)
        out.append(
            {
                "uscc": uscc,
                "name": name,
                "county_code": lv.county_code,
                "current": lv.tier,
                "tier": res.tier,
                "status": res.status,
                "closeness": res.closeness,
                "points": res.points,
                "failing": trace.get("failing", []),
                "missing": trace.get("missing", []),
            }
        )
    return out


#: 三单一库: the three project lists — (zh, en, project tags, project types) — and the
#: 冠军领航企业培育库 (the pool, :mod:`.plans`). A project belongs to a list by a tag in
#: ``Project.programs`` or by its ``project_type`` (科技攻关: the 攻关 tag or type tech_tackling).
LISTS: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "chain_key": (
        "产业链重点项目清单",
        "key industrial-chain projects",
        ("产业链重点",),
        ("chain_key",),
    ),
    "tech_upgrade": (
        "技术改造项目清单",
        "technical upgrade projects",
        ("技改",),
        ("tech_upgrade",),
    ),
    "tech_tackling": (
        "科技攻关项目清单",
        "science and technology tackling projects",
        ("攻关",),
        ("tech_tackling",),
    ),
}


def project_list(session: Session, kind: str, clause: Any = None) -> list[dict[str, Any]]:
    """Projects of one 三单 list, by county and code."""
    _, _, tags, types = LISTS[kind]
    stmt = select(Project).order_by(Project.county_code, Project.code)
    if clause is not None:
        stmt = stmt.where(clause)
    out = []
    for p in session.scalars(stmt):
        if set(tags) & set(p.programs or []) or p.project_type in types:
            out.append(
                {
                    "code": p.code,
                    "name": p.name,
                    "county_code": p.county_code,
                    "investor_uscc": p.investor_uscc,
                    "planned_investment": p.planned_investment,
                    "stage": p.stage,
                }
            )
    return out
