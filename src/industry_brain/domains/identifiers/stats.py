"""Statistics of the node for the cockpit: registrations per day, enterprise and template,
resolutions per day and answer, active prefixes, batteries by lifecycle status."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, String, cast, func, select
from sqlalchemy.orm import Session

from industry_brain.domains.identifiers.models import (
    Battery,
    Identifier,
    IdPrefix,
    IdResolution,
    IdTemplate,
)
from industry_brain.store.models import Enterprise


def summary(session: Session, days: int = 30) -> dict[str, Any]:
    # the registration day (UTC on SQLite, the session's zone on PostgreSQL)
    if session.get_bind().dialect.name == "sqlite":
        day = func.date(Identifier.created_at, type_=String)
    else:
        day = cast(Identifier.created_at, Date)
    by_day = session.execute(
        select(day, func.count()).group_by(day).order_by(day.desc()).limit(days)
    ).all()
    by_enterprise = session.execute(
        select(Enterprise.uscc, Enterprise.name, func.count(Identifier.id))
        .join(IdPrefix, IdPrefix.enterprise_id == Enterprise.id)
        .join(Identifier, Identifier.prefix_id == IdPrefix.id)
        .group_by(Enterprise.uscc, Enterprise.name)
        .order_by(func.count(Identifier.id).desc(), Enterprise.uscc)
    ).all()
    by_template = session.execute(
        select(IdTemplate.code, func.count(Identifier.id))
        .join(Identifier, Identifier.template_id == IdTemplate.id)
        .group_by(IdTemplate.code)
        .order_by(IdTemplate.code)
    ).all()
    res_day = session.execute(
        select(IdResolution.day, IdResolution.status, func.sum(IdResolution.hits))
        .group_by(IdResolution.day, IdResolution.status)
        .order_by(IdResolution.day.desc(), IdResolution.status)
    ).all()
    status = dict(
        session.execute(select(Identifier.status, func.count()).group_by(Identifier.status)).all()
    )
    active = session.scalar(
        select(func.count(func.distinct(Identifier.prefix_id))).where(Identifier.status == "live")
    )
    approved = session.scalar(
        select(func.count()).select_from(IdPrefix).where(IdPrefix.status == "approved")
    )
    pending = session.scalar(
        select(func.count()).select_from(IdPrefix).where(IdPrefix.status == "pending")
    )
    batteries = dict(
        session.execute(select(Battery.status, func.count()).group_by(Battery.status)).all()
    )
    resolutions: dict[str, dict[str, int]] = {}
    for d, st, n in res_day:
        resolutions.setdefault(str(d), {})[str(st)] = n
    return {
        "identifiers": sum(status.values()),
        "live": status.get("live", 0),
        "withdrawn": status.get("withdrawn", 0),
        "prefixes_approved": approved or 0,
        "prefixes_pending": pending or 0,
        "prefixes_active": active or 0,
        "registrations_by_day": [{"day": str(d), "count": n} for d, n in by_day],
        "registrations_by_enterprise": [
            {"uscc": u, "name": name, "count": n} for u, name, n in by_enterprise
        ],
        "registrations_by_template": [{"template": t, "count": n} for t, n in by_template],
        "resolutions_by_day": [
            {"day": d, "by_status": v} for d, v in sorted(resolutions.items(), reverse=True)
        ][:days],
        "resolutions": sum(n for _, _, n in res_day),
        "batteries": batteries,
    }
