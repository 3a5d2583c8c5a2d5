"""智造荟 supply–demand events: the event (date, theme, industry, county), registrations of
enterprises (demand) and providers (supply, by USCC), matches made at the event between a
registered enterprise and a registered provider, and each match's outcome (matched → contacted →
contracted with an amount in 万元 → delivered, or dropped). An event may have a place and a
capacity (registrations of both sides together may not exceed it)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core.errors import Location, NotFoundError
from industry_brain.core.uscc import normalize as normalize_uscc
from industry_brain.domains.programmes.common import err
from industry_brain.domains.programmes.models import (
    ProgrammeEvent,
    ProgrammeMatch,
    ProgrammeRegistration,
)
from industry_brain.store import audit
from industry_brain.store.models import Enterprise
from industry_brain.store.scope import Scope

SIDES = ("enterprise", "provider")
OUTCOMES = ("matched", "contacted", "contracted", "delivered", "dropped")


def _event(session: Session, event_id: int) -> ProgrammeEvent:
    ev = session.get(ProgrammeEvent, event_id) if 0 < event_id < 2**31 else None
    if ev is None or ev.kind != "zhizaohui":
        raise NotFoundError(
            "programmes.event",
            f"没有智造荟活动 {event_id}",
            f"no event {event_id}",
            Location(field="event"),
            event_id,
        )
    return ev


def _check(theme: str, capacity: int | None) -> None:
    if not theme.strip():
        raise err("theme", "活动主题不能为空", "the theme is required", "theme")
    if capacity is not None and not 0 < capacity < 100_000:
        raise err(
            "event_capacity",
            "名额须为 1–99999 的整数",
            "the capacity is a whole number 1–99999",
            "capacity",
            capacity,
        )


def create(
    session: Session,
    held_on: date,
    theme: str,
    industry_code: str | None = None,
    county_code: str | None = None,
    actor: str = "cli",
    place: str | None = None,
    capacity: int | None = None,
) -> ProgrammeEvent:
    _check(theme, capacity)
    ev = ProgrammeEvent(
        kind="zhizaohui",
        held_on=held_on,
        theme=theme.strip()[:200],
        industry_code=(industry_code or "").strip()[:8] or None,
        county_code=(county_code or "").strip() or None,
        place=(place or "").strip()[:200] or None,
        capacity=capacity,
        created_by=actor,
    )
    session.add(ev)
    session.flush()
    audit.record(
        session, actor, "programmes.event", "programme_event", str(ev.id), {"event_theme": ev.theme}
    )
    return ev


def update(
    session: Session,
    event_id: int,
    held_on: date,
    theme: str,
    industry_code: str | None,
    county_code: str | None,
    place: str | None,
    capacity: int | None,
    actor: str = "cli",
) -> ProgrammeEvent:
    """Edit an event (the capacity not below the registrations already made); audited with the
    values before."""
    ev = _event(session, event_id)
    _check(theme, capacity)
    n = session.scalar(
        select(func.count(ProgrammeRegistration.id)).where(
            ProgrammeRegistration.event_id == event_id
        )
    )
    if capacity is not None and n > capacity:
        raise err(
            "event_capacity_low",
            f"已有 {n} 家报名，名额不能少于 {n}",
            f"{n} have registered: the capacity cannot be below {n}",
            "capacity",
            capacity,
        )
    before = {
        "held_on": ev.held_on.isoformat(),
        "theme": ev.theme,
        "industry_code": ev.industry_code,
        "county_code": ev.county_code,
        "place": ev.place,
        "capacity": ev.capacity,
    }
    ev.held_on = held_on
    ev.theme = theme.strip()[:200]
    ev.industry_code = (industry_code or "").strip()[:8] or None
    ev.county_code = (county_code or "").strip() or None
    ev.place = (place or "").strip()[:200] or None
    ev.capacity = capacity
    session.flush()
    audit.record(
        session,
        actor,
        "programmes.event_update",
        "programme_event",
        str(ev.id),
        {"before": before, "event_theme": ev.theme},
    )
    return ev


def register(
    session: Session,
    event_id: int,
    side: str,
    uscc: str,
    name: str | None = None,
    actor: str = "cli",
    clause: Any = None,
) -> ProgrammeRegistration:
    """Register an enterprise (must be known to the platform, and within ``clause`` — the
    caller's scope — when given) or a provider (by USCC and name), within the event's
    capacity."""
    ev = _event(session, event_id)
    if side not in SIDES:
        raise err("side", f"报名方“{side}”无效", f"unknown side '{side}'", "side", side)
    code = normalize_uscc(uscc, Location(field="uscc"))
    stmt = select(Enterprise).where(Enterprise.uscc == code)
    if clause is not None and side == "enterprise":
        stmt = stmt.where(clause)
    ent = session.scalars(stmt).first()
    if side == "enterprise" and ent is None:
        raise NotFoundError(
            "programmes.enterprise",
            f"没有企业 {code}",
            f"no enterprise {code}",
            Location(field="uscc"),
            code,
        )
    label = (name or (ent.name if ent else "")).strip()[:200]
    if not label:
        raise err("name", "服务商名称不能为空", "the provider's name is required", "name")
    dup = session.scalar(
        select(ProgrammeRegistration.id).where(
            ProgrammeRegistration.event_id == event_id, ProgrammeRegistration.uscc == code
        )
    )
    if dup is not None:
        raise err("registered", f"{code} 已报名", f"{code} is already registered", "uscc", code)
    if ev.capacity is not None:
        n = session.scalar(
            select(func.count(ProgrammeRegistration.id)).where(
                ProgrammeRegistration.event_id == event_id
            )
        )
        if n >= ev.capacity:
            raise err(
                "event_full",
                f"名额已满（{ev.capacity} 家）",
                f"the event is full ({ev.capacity})",
                "uscc",
                code,
            )
    reg = ProgrammeRegistration(
        event_id=event_id,
        side=side,
        uscc=code,
        name=label,
        enterprise_id=ent.id if ent else None,
    )
    session.add(reg)
    session.flush()
    audit.record(
        session,
        actor,
        "programmes.register",
        "programme_event",
        str(event_id),
        {"uscc": code, "registration_side": side},
    )
    return reg


def _registration(session: Session, event_id: int, uscc: str, side: str) -> ProgrammeRegistration:
    code = normalize_uscc(uscc, Location(field="uscc"))
    reg = session.scalars(
        select(ProgrammeRegistration).where(
            ProgrammeRegistration.event_id == event_id,
            ProgrammeRegistration.uscc == code,
            ProgrammeRegistration.side == side,
        )
    ).first()
    if reg is None:
        raise err(
            "not_registered",
            f"{code} 未作为{'企业' if side == 'enterprise' else '服务商'}报名",
            f"{code} is not registered as {side}",
            "uscc",
            code,
        )
    return reg


def match(
    session: Session,
    event_id: int,
    enterprise_uscc: str,
    provider_uscc: str,
    topic: str,
    actor: str = "cli",
) -> ProgrammeMatch:
    """A match made at the event (both sides registered; one match per pair)."""
    _event(session, event_id)
    demand = _registration(session, event_id, enterprise_uscc, "enterprise")
    supply = _registration(session, event_id, provider_uscc, "provider")
    dup = session.scalar(
        select(ProgrammeMatch.id).where(
            ProgrammeMatch.event_id == event_id,
            ProgrammeMatch.demand_id == demand.id,
            ProgrammeMatch.supply_id == supply.id,
        )
    )
    if dup is not None:
        raise err("matched", "该对接已登记", "this match is already recorded", "match", dup)
    m = ProgrammeMatch(
        event_id=event_id,
        demand_id=demand.id,
        supply_id=supply.id,
        topic=topic.strip()[:200],
        outcome="matched",
        actor=actor,
    )
    session.add(m)
    session.flush()
    audit.record(
        session, actor, "programmes.match", "programme_event", str(event_id), {"match_id": m.id}
    )
    return m


def set_outcome(
    session: Session,
    match_id: int,
    outcome: str,
    amount_wan: float | None = None,
    actor: str = "cli",
) -> ProgrammeMatch:
    """Record a match's outcome; ``contracted`` needs the contract amount (万元, > 0)."""
    m = session.get(ProgrammeMatch, match_id) if 0 < match_id < 2**31 else None
    if m is None:
        raise NotFoundError(
            "programmes.match",
            f"没有对接记录 {match_id}",
            f"no match {match_id}",
            Location(field="match"),
            match_id,
        )
    if outcome not in OUTCOMES:
        raise err(
            "outcome",
            f"对接结果“{outcome}”无效",
            f"unknown outcome '{outcome}'",
            "outcome",
            outcome,
        )
    if outcome == "delivered" and amount_wan is None:
        amount_wan = m.amount_wan  # the contract's amount, recorded when contracted
    if outcome in ("contracted", "delivered") and not (amount_wan and amount_wan > 0):
        raise err(
            "amount",
            "签约须填写合同金额（万元）",
            "a contract needs its amount (万元)",
            "amount",
            amount_wan,
        )
    m.outcome = outcome
    m.amount_wan = float(amount_wan) if outcome in ("contracted", "delivered") else None
    session.flush()
    audit.record(
        session,
        actor,
        "programmes.outcome",
        "programme_event",
        str(m.event_id),
        {"match_id": m.id, "match_outcome": outcome},
    )
    return m


def summary(session: Session, scope: Scope, event_id: int | None = None) -> list[dict[str, Any]]:
    """Every 智造荟 event (or one) with registrations by side, matches by outcome and the
    contracted amount (a county officer sees the events held in its county)."""
    scope.require("programmes.view")
    stmt = select(ProgrammeEvent).where(ProgrammeEvent.kind == "zhizaohui")
    if scope.role == "county_officer":
        stmt = stmt.where(ProgrammeEvent.county_code == scope.county_code)
    if event_id is not None:
        stmt = stmt.where(ProgrammeEvent.id == event_id)
    events = session.scalars(stmt.order_by(ProgrammeEvent.held_on.desc(), ProgrammeEvent.id)).all()
    out = []
    for ev in events:
        regs = session.scalars(
            select(ProgrammeRegistration).where(ProgrammeRegistration.event_id == ev.id)
        ).all()
        by_id = {r.id: r for r in regs}
        matches = session.scalars(
            select(ProgrammeMatch)
            .where(ProgrammeMatch.event_id == ev.id)
            .order_by(ProgrammeMatch.id)
        ).all()
        outcomes = {o: sum(1 for m in matches if m.outcome == o) for o in OUTCOMES}
        out.append(
            {
                "id": ev.id,
                "held_on": ev.held_on.isoformat(),
                "theme": ev.theme,
                "industry_code": ev.industry_code,
                "county_code": ev.county_code,
                "place": ev.place,
                "capacity": ev.capacity,
                "registrations": [
                    {"id": r.id, "side": r.side, "uscc": r.uscc, "name": r.name}
                    for r in sorted(regs, key=lambda r: (r.side, r.id))
                ],
                "enterprises": sum(1 for r in regs if r.side == "enterprise"),
                "providers": sum(1 for r in regs if r.side == "provider"),
                "matches": len(matches),
                "outcomes": outcomes,
                "contracted_wan": round(sum(m.amount_wan or 0.0 for m in matches), 2),
                "match_list": [
                    {
                        "id": m.id,
                        "enterprise": by_id[m.demand_id].name,
                        "provider": by_id[m.supply_id].name,
                        "topic": m.topic,
                        "outcome": m.outcome,
                        "amount_wan": m.amount_wan,
                    }
                    for m in matches
                ],
            }
        )
    return out


# -- the participants' own side: enterprises and providers register themselves -------------------
def registration_closes(ev: ProgrammeEvent, region_code: str) -> date:
    """The last day an enterprise or provider may register itself or cancel its registration:
    ``programmes.events.registration_close_days`` before the event (dated parameter)."""
    days = parameters.load().resolve(
        "programmes.events.registration_close_days", region_code, ev.held_on
    )
    return ev.held_on - timedelta(days=int(days.value))


def _open_or_refuse(ev: ProgrammeEvent, region_code: str, today: date) -> None:
    closes = registration_closes(ev, region_code)
    if today > closes:
        raise err(
            "registration_closed",
            f"报名已于 {closes.isoformat()} 截止",
            f"registration closed on {closes.isoformat()}",
            "event",
            ev.id,
        )


def join(
    session: Session,
    event_id: int,
    side: str,
    uscc: str,
    name: str | None,
    region_code: str,
    today: date,
    actor: str,
    clause: Any = None,
    county_code: str | None = None,
) -> ProgrammeRegistration:
    """A participant registers itself (an enterprise with its own USCC, a provider with its
    registry USCC): until the registration closes, within the capacity (:func:`register`'s
    rules, not a copy). An enterprise sees, and joins, the events of the whole region or of its
    county (``county_code``); another county's event is not found for it."""
    ev = _event(session, event_id)
    if side == "enterprise" and ev.county_code and ev.county_code != county_code:
        raise NotFoundError(
            "programmes.event",
            f"没有智造荟活动 {event_id}",
            f"no event {event_id}",
            Location(field="event"),
            event_id,
        )
    _open_or_refuse(ev, region_code, today)
    return register(session, event_id, side, uscc, name, actor, clause=clause)


def cancel(
    session: Session, event_id: int, uscc: str, region_code: str, today: date, actor: str
) -> ProgrammeRegistration:
    """A participant cancels its own registration until the registration closes; not once a
    match involves it (the match and its outcome stay on record). Audited."""
    ev = _event(session, event_id)
    code = normalize_uscc(uscc, Location(field="uscc"))
    reg = session.scalars(
        select(ProgrammeRegistration).where(
            ProgrammeRegistration.event_id == event_id, ProgrammeRegistration.uscc == code
        )
    ).first()
    if reg is None:
        raise err("not_registered_self", "未报名该活动", "not registered for this event", "event")
    _open_or_refuse(ev, region_code, today)
    matched = session.scalar(
        select(func.count(ProgrammeMatch.id)).where(
            (ProgrammeMatch.demand_id == reg.id) | (ProgrammeMatch.supply_id == reg.id)
        )
    )
    if matched:
        raise err(
            "cancel_matched",
            "已有对接记录，不能取消报名",
            "a match involves this registration: it cannot be cancelled",
            "event",
        )
    session.delete(reg)
    session.flush()
    audit.record(
        session,
        actor,
        "programmes.unregister",
        "programme_event",
        str(event_id),
        {"uscc": code, "registration_side": reg.side},
    )
    return reg


def participant_view(
    session: Session,
    uscc: str,
    side: str,
    county_code: str | None,
    region_code: str,
    today: date,
) -> dict[str, Any]:
    """The 智造荟 events a participant sees — an enterprise: those of the whole region or of its
    county; a provider: all — upcoming (today or later) and past, with the places left, whether
    it registered and may still register or cancel, and the matches that involve it."""
    stmt = select(ProgrammeEvent).where(ProgrammeEvent.kind == "zhizaohui")
    mine_ids = select(ProgrammeRegistration.event_id).where(ProgrammeRegistration.uscc == uscc)
    if side == "enterprise":
        stmt = stmt.where(
            ProgrammeEvent.county_code.is_(None)
            | (ProgrammeEvent.county_code == county_code)
            | ProgrammeEvent.id.in_(mine_ids)
        )
    events = session.scalars(stmt.order_by(ProgrammeEvent.held_on, ProgrammeEvent.id)).all()
    ids = [ev.id for ev in events]
    counts = dict(
        session.execute(
            select(ProgrammeRegistration.event_id, func.count(ProgrammeRegistration.id))
            .where(ProgrammeRegistration.event_id.in_(ids))
            .group_by(ProgrammeRegistration.event_id)
        ).all()
    )
    own = {
        r.event_id: r
        for r in session.scalars(
            select(ProgrammeRegistration).where(
                ProgrammeRegistration.event_id.in_(ids), ProgrammeRegistration.uscc == uscc
            )
        )
    }
    other = ProgrammeRegistration.__table__.alias("other")
    mine = ProgrammeRegistration.__table__.alias("mine")
    mine_col, other_col = (
        (ProgrammeMatch.demand_id, ProgrammeMatch.supply_id)
        if side == "enterprise"
        else (ProgrammeMatch.supply_id, ProgrammeMatch.demand_id)
    )
    match_rows = session.execute(
        select(ProgrammeMatch, other.c.name, other.c.uscc)
        .join(mine, mine.c.id == mine_col)
        .join(other, other.c.id == other_col)
        .where(mine.c.uscc == uscc, mine.c.side == side)
        .order_by(ProgrammeMatch.id)
    ).all()
    matches: dict[int, list[dict[str, Any]]] = {}
    for m, other_name, other_uscc in match_rows:
        matches.setdefault(m.event_id, []).append(
            {
                "id": m.id,
                "party": other_name,
                "party_uscc": other_uscc,
                "topic": m.topic,
                "outcome": m.outcome,
                "amount_wan": m.amount_wan,
            }
        )
    upcoming, past = [], []
    for ev in events:
        n = counts.get(ev.id, 0)
        closes = registration_closes(ev, region_code)
        item = {
            "id": ev.id,
            "held_on": ev.held_on.isoformat(),
            "theme": ev.theme,
            "industry_code": ev.industry_code,
            "county_code": ev.county_code,
            "place": ev.place,
            "capacity": ev.capacity,
            "registered": n,
            "left": None if ev.capacity is None else max(ev.capacity - n, 0),
            "closes_on": closes.isoformat(),
            "open": today <= closes,
            "mine": ev.id in own,
            "matches": matches.get(ev.id, []),
        }
        (upcoming if ev.held_on >= today else past).append(item)
    past.reverse()  # the newest first
    return {"upcoming": upcoming, "past": past}


def provider_outcome(
    session: Session,
    match_id: int,
    provider_uscc: str,
    outcome: str,
    amount_wan: float | None,
    actor: str,
) -> ProgrammeMatch:
    """A provider records the outcome of a match of its own (it is the supply side) through
    :func:`set_outcome`, the officers' rules (an amount for a contract, the contract's amount
    kept on delivery); another's match is not found."""
    m = session.get(ProgrammeMatch, match_id) if 0 < match_id < 2**31 else None
    supply = session.get(ProgrammeRegistration, m.supply_id) if m is not None else None
    if supply is None or supply.uscc != provider_uscc:
        raise NotFoundError(
            "programmes.match",
            f"没有对接记录 {match_id}",
            f"no match {match_id}",
            Location(field="match"),
            match_id,
        )
    return set_outcome(session, match_id, outcome, amount_wan, actor)


def event_theme(session: Session, event_id: int) -> str:
    """The theme of a 智造荟 event (not found otherwise)."""
    return _event(session, event_id).theme
