"""冠军企业培育库 and 一企一策 plans (冠军领航计划书).

An officer puts a firm into the cultivation pool; a plan per firm has targets (an input of the
tier schemes — R&D intensity, revenue, invention patents … — with a target value and date) and
actions (owner — agent, department or the enterprise — and due date). Progress against a target
is recorded from the facts as they arrive (:func:`record_from_facts`, the latest year's value)
or by hand; :func:`warnings` on a given (frozen) day lists overdue actions and targets off track
(like 破五未: due and not reached, or behind the straight line from baseline to target).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core.errors import Location
from industry_brain.domains.tiers.inputs import INPUTS
from industry_brain.domains.tiers.models import (
    TiersPlan,
    TiersPlanAction,
    TiersPlanProgress,
    TiersPlanTarget,
    TiersPoolEntry,
)
from industry_brain.domains.tiers.service import TiersError
from industry_brain.store import audit
from industry_brain.store.models import Enterprise, Fact

#: target indicators that are read from the facts (yearly figures) and how
FACT_TARGETS = {
    "revenue": ("revenue", None),
    "rd_expense": ("rd_expense", None),
    "employees": ("employees", None),
    "rd_ratio": ("rd_expense", "revenue"),
}


# -- pool ---------------------------------------------------------------------------------------
def add_to_pool(
    session: Session,
    enterprise: Enterprise,
    actor: str,
    today: date,
    pool: str = "champion",
    target_tier: str | None = None,
    reason: str | None = None,
) -> TiersPoolEntry:
    current = session.scalar(
        select(TiersPoolEntry).where(
            TiersPoolEntry.enterprise_id == enterprise.id,
            TiersPoolEntry.pool == pool,
            TiersPoolEntry.removed_on.is_(None),
        )
    )
    if current is not None:
        return current
    entry = TiersPoolEntry(
        enterprise_id=enterprise.id,
        pool=pool,
        target_tier=target_tier,
        reason=reason,
        added_by=actor,
        added_on=today,
    )
    session.add(entry)
    audit.record(
        session, actor, "tiers.pool_add", "enterprise", enterprise.uscc, {"tiers_pool": pool}
    )
    session.flush()
    return entry


def remove_from_pool(
    session: Session, enterprise: Enterprise, actor: str, today: date, pool: str = "champion"
) -> None:
    for entry in session.scalars(
        select(TiersPoolEntry).where(
            TiersPoolEntry.enterprise_id == enterprise.id,
            TiersPoolEntry.pool == pool,
            TiersPoolEntry.removed_on.is_(None),
        )
    ):
        entry.removed_on, entry.removed_by = today, actor
    audit.record(
        session, actor, "tiers.pool_remove", "enterprise", enterprise.uscc, {"tiers_pool": pool}
    )


def pool_members(session: Session, pool: str = "champion", enterprise_ids: Any = None) -> list:
    stmt = (
        select(TiersPoolEntry, Enterprise)
        .join(Enterprise, Enterprise.id == TiersPoolEntry.enterprise_id)
        .where(TiersPoolEntry.pool == pool, TiersPoolEntry.removed_on.is_(None))
        .order_by(Enterprise.county_code, Enterprise.uscc)
    )
    if enterprise_ids is not None:
        stmt = stmt.where(TiersPoolEntry.enterprise_id.in_(enterprise_ids))
    return list(session.execute(stmt).all())


# -- plans --------------------------------------------------------------------------------------
def create_plan(
    session: Session,
    enterprise: Enterprise,
    title: str,
    start: date,
    end: date,
    actor: str,
    target_tier: str | None = None,
    targets: list[dict[str, Any]] | None = None,
    actions: list[dict[str, Any]] | None = None,
) -> TiersPlan:
    if end <= start:
        raise TiersError(
            "tiers.plan_dates",
            "计划结束日期必须晚于开始日期",
            "the plan must end after it starts",
            Location(field="end"),
        )
    plan = TiersPlan(
        enterprise_id=enterprise.id,
        title=title,
        target_tier=target_tier,
        start_date=start,
        end_date=end,
        status="draft",
        created_by=actor,
    )
    session.add(plan)
    session.flush()
    for t in targets or []:
        add_target(session, plan, **t)
    for a in actions or []:
        add_action(session, plan, **a)
    audit.record(
        session, actor, "tiers.plan_create", "enterprise", enterprise.uscc, {"tiers_plan": plan.id}
    )
    session.flush()
    return plan


def add_target(
    session: Session,
    plan: TiersPlan,
    indicator: str,
    target: float,
    due_date: date,
    baseline: float | None = None,
    baseline_year: int | None = None,
) -> TiersPlanTarget:
    if indicator not in INPUTS:
        raise TiersError(
            "tiers.unknown_indicator",
            f"未知的目标指标“{indicator}”",
            f"unknown target indicator '{indicator}'",
            Location(field="indicator"),
        )
    row = TiersPlanTarget(
        plan_id=plan.id,
        indicator=indicator,
        baseline=baseline,
        baseline_year=baseline_year,
        target=float(target),
        due_date=due_date,
    )
    session.add(row)
    session.flush()
    return row


def add_action(
    session: Session,
    plan: TiersPlan,
    title: str,
    owner_kind: str,
    owner: str,
    due_date: date,
    policy_code: str | None = None,
) -> TiersPlanAction:
    if owner_kind not in ("agent", "department", "enterprise"):
        raise TiersError(
            "tiers.owner_kind",
            "举措责任方须为 agent、department 或 enterprise",
            "an action's owner is an agent, a department or the enterprise",
            Location(field="owner_kind"),
        )
    row = TiersPlanAction(
        plan_id=plan.id,
        title=title,
        owner_kind=owner_kind,
        owner=owner,
        due_date=due_date,
        policy_code=policy_code,
    )
    session.add(row)
    session.flush()
    return row


def complete_action(session: Session, action_id: int, done_on: date, actor: str) -> None:
    action = session.get(TiersPlanAction, action_id)
    if action is None:
        raise TiersError("tiers.no_action", f"没有举措 {action_id}", f"no action {action_id}")
    action.done_on = done_on
    session.add(
        TiersPlanProgress(
            plan_id=action.plan_id,
            action_id=action.id,
            source="manual",
            note="done",
            recorded_on=done_on,
            actor=actor,
        )
    )


def sign(session: Session, plan: TiersPlan, signed_by: str, on: date, actor: str) -> None:
    plan.status, plan.signed_by, plan.signed_on = "signed", signed_by, on
    audit.record(
        session,
        actor,
        "tiers.plan_sign",
        "tiers_plan",
        str(plan.id),
        {"tiers_signed_by": signed_by},
    )


def _fact_value(session: Session, enterprise_id: int, item: str, year: int) -> float | None:
    return session.scalar(
        select(func.sum(Fact.value)).where(
            Fact.enterprise_id == enterprise_id,
            Fact.item == item,
            Fact.year == year,
            Fact.month == 0,
            Fact.superseded_by.is_(None),
        )
    )


def record_from_facts(session: Session, plan: TiersPlan, today: date, actor: str) -> int:
    """Record each fact-backed target's value of every year since the plan started that has
    figures and is not recorded yet; returns how many were recorded."""
    added = 0
    for t in session.scalars(select(TiersPlanTarget).where(TiersPlanTarget.plan_id == plan.id)):
        if t.indicator not in FACT_TARGETS:
            continue
        num, den = FACT_TARGETS[t.indicator]
        for year in range(plan.start_date.year - 1, today.year + 1):
            done = session.scalar(
                select(TiersPlanProgress.id).where(
                    TiersPlanProgress.target_id == t.id,
                    TiersPlanProgress.year == year,
                    TiersPlanProgress.source == "fact",
                )
            )
            if done is not None:
                continue
            value = _fact_value(session, plan.enterprise_id, num, year)
            if value is None:
                continue
            if den is not None:
                d = _fact_value(session, plan.enterprise_id, den, year)
                if not d:
                    continue
                value = value / d
            session.add(
                TiersPlanProgress(
                    plan_id=plan.id,
                    target_id=t.id,
                    year=year,
                    value=value,
                    source="fact",
                    recorded_on=today,
                    actor=actor,
                )
            )
            added += 1
    session.flush()
    return added


@dataclass
class TargetState:
    target: TiersPlanTarget
    latest: float | None
    latest_year: int | None
    expected: float | None
    state: str  # reached | on_track | off_track | no_data | due_missed


def target_states(session: Session, plan: TiersPlan, today: date) -> list[TargetState]:
    """Each target against its latest recorded value: reached; due and not reached
    (due_missed); behind the straight line from baseline (at plan start) to target (at its
    due date) on ``today`` (off_track); else on_track; no_data without any value."""
    out = []
    for t in session.scalars(
        select(TiersPlanTarget)
        .where(TiersPlanTarget.plan_id == plan.id)
        .order_by(TiersPlanTarget.id)
    ):
        rec = session.execute(
            select(TiersPlanProgress.value, TiersPlanProgress.year)
            .where(TiersPlanProgress.target_id == t.id, TiersPlanProgress.value.is_not(None))
            .order_by(TiersPlanProgress.year.desc().nulls_last(), TiersPlanProgress.id.desc())
        ).first()
        latest, year = (rec[0], rec[1]) if rec else (None, None)
        expected = None
        if t.baseline is not None:
            span = (t.due_date - plan.start_date).days
            done = min(max((today - plan.start_date).days, 0), span) if span > 0 else 0
            expected = t.baseline + (t.target - t.baseline) * (done / span if span > 0 else 1)
        if latest is None:
            state = "due_missed" if today > t.due_date else "no_data"
        elif latest >= t.target:
            state = "reached"
        elif today > t.due_date:
            state = "due_missed"
        elif expected is not None and latest < expected:
            state = "off_track"
        else:
            state = "on_track"
        out.append(TargetState(t, latest, year, expected, state))
    return out


def warnings(session: Session, today: date, enterprise_ids: Any = None) -> list[dict[str, Any]]:
    """Overdue actions (due before ``today``, not done) and targets off track or missed, for
    every signed or draft plan, most overdue first."""
    stmt = (
        select(TiersPlan, Enterprise)
        .join(Enterprise, Enterprise.id == TiersPlan.enterprise_id)
        .where(TiersPlan.status != "closed")
    )
    if enterprise_ids is not None:
        stmt = stmt.where(TiersPlan.enterprise_id.in_(enterprise_ids))
    out: list[dict[str, Any]] = []
    for plan, ent in session.execute(stmt).all():
        for a in session.scalars(
            select(TiersPlanAction).where(
                TiersPlanAction.plan_id == plan.id,
                TiersPlanAction.done_on.is_(None),
                TiersPlanAction.due_date < today,
            )
        ):
            out.append(
                {
                    "kind": "action_overdue",
                    "plan_id": plan.id,
                    "uscc": ent.uscc,
                    "name": ent.name,
                    "what": a.title,
                    "owner": a.owner,
                    "due_date": a.due_date.isoformat(),
                    "days_overdue": (today - a.due_date).days,
                }
            )
        for st in target_states(session, plan, today):
            if st.state in ("off_track", "due_missed"):
                out.append(
                    {
                        "kind": f"target_{st.state}",
                        "plan_id": plan.id,
                        "uscc": ent.uscc,
                        "name": ent.name,
                        "what": st.target.indicator,
                        "owner": None,
                        "due_date": st.target.due_date.isoformat(),
                        "days_overdue": max((today - st.target.due_date).days, 0),
                        "latest": st.latest,
                        "expected": st.expected,
                        "target": st.target.target,
                    }
                )
    return sorted(out, key=lambda w: (-w["days_overdue"], w["uscc"], w["kind"]))


def plan_view(session: Session, plan: TiersPlan, today: date) -> dict[str, Any]:
    ent = session.get(Enterprise, plan.enterprise_id)
    actions = list(
        session.scalars(
            select(TiersPlanAction)
            .where(TiersPlanAction.plan_id == plan.id)
            .order_by(TiersPlanAction.due_date, TiersPlanAction.id)
        )
    )
    from industry_brain.domains.tiers.policy_links import support_policies

    return {
        "plan": plan,
        "enterprise": ent,
        "targets": target_states(session, plan, today),
        "policies": support_policies(
            session,
            plan.enterprise_id,
            ent.uscc if ent else "",
            [a.policy_code for a in actions if a.policy_code],
        ),
        "actions": [
            {
                "action": a,
                "state": "done" if a.done_on else ("overdue" if a.due_date < today else "open"),
            }
            for a in actions
        ],
    }


def plans_of(session: Session, enterprise_ids: Any = None) -> list[TiersPlan]:
    stmt = select(TiersPlan).order_by(TiersPlan.id)
    if enterprise_ids is not None:
        stmt = stmt.where(TiersPlan.enterprise_id.in_(enterprise_ids))
    return list(session.scalars(stmt))
