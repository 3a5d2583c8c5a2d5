"""The node's section of the cockpit: identifiers, prefixes, resolutions and batteries of the
enterprises in the caller's scope (a county officer sees the county view)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core.formatting import integer
from industry_brain.domains.identifiers.models import (
    Battery,
    Identifier,
    IdHistory,
    IdPrefix,
    IdResolution,
)
from industry_brain.store.models import Enterprise
from industry_brain.store.scope import Scope


def cockpit_section(session: Session, scope: Scope) -> dict[str, Any] | None:
    if not scope.can("ids.view"):
        return None
    scoped = select(Enterprise.id).where(scope.enterprise_clause())
    prefixes = select(IdPrefix.id).where(IdPrefix.enterprise_id.in_(scoped))
    status = dict(
        session.execute(
            select(Identifier.status, func.count())
            .where(Identifier.prefix_id.in_(prefixes))
            .group_by(Identifier.status)
        ).all()
    )
    if not status:
        return None
    prefix_status = dict(
        session.execute(
            select(IdPrefix.status, func.count())
            .where(IdPrefix.enterprise_id.in_(scoped))
            .group_by(IdPrefix.status)
        ).all()
    )
    active = session.scalar(
        select(func.count(func.distinct(Identifier.prefix_id))).where(
            Identifier.prefix_id.in_(prefixes), Identifier.status == "live"
        )
    )
    scoped_prefixes = select(IdPrefix.prefix).where(IdPrefix.enterprise_id.in_(scoped))
    resolutions = session.scalar(
        select(func.sum(IdResolution.hits)).where(IdResolution.prefix.in_(scoped_prefixes))
    )
    packs = session.scalar(
        select(func.count())
        .select_from(Battery)
        .where(Battery.enterprise_id.in_(scoped), Battery.product_type == "P")
    )
    cells = session.scalar(
        select(func.count())
        .select_from(Battery)
        .where(Battery.enterprise_id.in_(scoped), Battery.product_type == "C")
    )
    return {
        "title_zh": "工业互联网标识解析（二级节点）",
        "title_en": "Industrial-internet identifiers (secondary node)",
        "id": "ids-node",
        "rows": [
            ["在用标识", "live identifiers", integer(status.get("live", 0))],
            ["已注销标识", "withdrawn identifiers", integer(status.get("withdrawn", 0))],
            ["活跃企业前缀", "active enterprise prefixes", integer(active or 0)],
            ["已批准前缀", "approved prefixes", integer(prefix_status.get("approved", 0))],
            ["待审批前缀", "prefixes awaiting approval", integer(prefix_status.get("pending", 0))],
            ["解析次数", "resolutions", integer(resolutions or 0)],
            [
                "动力电池包 / 单体",
                "battery packs / cells",
                f"{integer(packs or 0)} / {integer(cells or 0)}",
            ],
        ],
        "note_zh": "标识数据来自本节点的注册；电池编码规则 GB/T 34014-2017。",
        "note_en": "Identifiers registered on this node; battery codes per GB/T 34014-2017.",
    }


def cockpit_stamp(session: Session) -> tuple:
    """Changes with every registration (a new id), update and withdrawal (each writes a history
    row), resolution-log row and prefix — four primary-key maxima, no table scan (the count
    and latest update of ten million identifiers cost seconds per cockpit view)."""
    return (
        session.scalar(select(func.max(Identifier.id))),
        session.scalar(select(func.max(IdHistory.id))),
        session.scalar(select(func.max(IdResolution.id))),
        session.scalar(select(func.max(IdPrefix.id))),
    )
