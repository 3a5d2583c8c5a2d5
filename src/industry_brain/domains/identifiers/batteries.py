"""GB/T 34014 battery traceability on the node: coded packs, modules and cells, their links,
second-life codes that keep the original, lifecycle events and traceability queries.

A battery is registered by the enterprise owning an approved prefix; its identifier is
``<prefix>/<code>`` under the ``battery`` template, so it resolves through the node like any
other identifier. Lifecycle events go forward only: produced → packed → installed (with the VIN)
→ retired → second_life → recycled (a step may be skipped, never undone).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core.errors import ConflictError, Location, NotFoundError, ValidationError
from industry_brain.domains.identifiers import battery as bcode
from industry_brain.domains.identifiers import service
from industry_brain.domains.identifiers.models import Battery, BatteryEvent, Identifier
from industry_brain.store import audit

EVENTS = ("produced", "packed", "installed", "retired", "second_life", "recycled")


def get(session: Session, code: str) -> Battery:
    row = session.scalar(select(Battery).where(Battery.code == code.strip().upper()))
    if row is None:
        raise NotFoundError(
            "ids.battery.unknown",
            "电池编码未登记",
            "no battery with this code",
            Location(field="battery_code"),
            value=code,
        )
    return row


def register(
    session: Session,
    actor: service.Actor,
    prefix: str,
    code: str,
    on: date,
    config: service.NodeConfig,
    parent: str | None = None,
    original: str | None = None,
) -> Battery:
    """Register a coded battery (event ``produced`` on ``on``) and its identifier
    ``prefix/code``; ``parent`` links a cell to its module or a module to its pack (the parent
    must be registered and of the next level up); ``original`` is the code a second-life product
    replaces (kept; the original gets the event ``second_life``)."""
    parsed = bcode.parse(code)
    owner = service.owned_prefix(session, actor, prefix, "battery")
    if parent is not None:
        p = get(session, parent)
        if (parsed.product_type, p.product_type) not in {("C", "M"), ("M", "P"), ("C", "P")}:
            raise ValidationError(
                "ids.battery.link",
                "单体只能属于模块或电池包，模块只能属于电池包",
                "a cell belongs to a module or pack, a module to a pack",
                Location(field="parent"),
                value=parent,
            )
    orig = get(session, original) if original else None
    if session.scalar(select(Battery.id).where(Battery.code == parsed.raw)) is not None:
        raise ConflictError(
            "ids.battery.duplicate",
            "该电池编码已登记",
            "this battery code is registered",
            Location(field="battery_code"),
            value=parsed.raw,
        )
    data: dict[str, Any] = {
        "code": parsed.raw,
        "product_type": parsed.product_type,
        "chemistry": parsed.chemistry,
        "status": "produced",
    }
    if parsed.produced:
        data["produced"] = parsed.produced.isoformat()
    if parent:
        data["parent"] = parent
    if original:
        data["original"] = original
    ident = service.register(session, actor, f"{prefix}/{parsed.raw}", "battery", data, config)
    row = Battery(
        code=parsed.raw,
        product_type=parsed.product_type,
        chemistry=parsed.chemistry,
        manufacturer=parsed.manufacturer,
        enterprise_id=owner.enterprise_id,
        parent_code=parent,
        original_code=original,
        identifier_id=ident.id,
        status="produced",
    )
    session.add(row)
    session.flush()
    session.add(BatteryEvent(battery_id=row.id, event="produced", on=on, actor=actor.name))
    if parent:
        session.add(
            BatteryEvent(
                battery_id=row.id, event="packed", on=on, actor=actor.name, detail={"into": parent}
            )
        )
        row.status = "packed"
    if orig is not None:
        session.add(
            BatteryEvent(
                battery_id=orig.id,
                event="second_life",
                on=on,
                actor=actor.name,
                detail={"new_code": parsed.raw},
            )
        )
        orig.status = "second_life"
    audit.record(session, actor.name, "ids.battery", "battery", parsed.raw, {"id_prefix": prefix})
    session.commit()
    service.invalidate()
    return row


def event(
    session: Session,
    actor: service.Actor,
    code: str,
    name: str,
    on: date,
    vin: str | None = None,
    detail: dict | None = None,
) -> BatteryEvent:
    """Record a lifecycle event; only forward, by the owner of the battery's prefix."""
    row = get(session, code)
    ident = session.get(Identifier, row.identifier_id) if row.identifier_id else None
    if ident is not None:
        service.owned_prefix(session, actor, ident.prefix, "battery_event")
    if name not in EVENTS:
        raise ValidationError(
            "ids.battery.event",
            "未知的生命周期事件",
            "unknown lifecycle event",
            Location(field="event"),
            value=name,
        )
    if EVENTS.index(name) <= EVENTS.index(row.status):
        raise ConflictError(
            "ids.battery.backwards",
            f"生命周期只能向前：当前 {row.status}",
            f"the lifecycle only goes forward: now {row.status}",
            Location(field="event"),
            value=name,
        )
    if name == "installed" and not vin:
        raise ValidationError(
            "ids.battery.vin",
            "装车事件需要车辆识别代号 VIN",
            "installation needs the VIN",
            Location(field="vin"),
        )
    ev = BatteryEvent(
        battery_id=row.id, event=name, on=on, actor=actor.name, vin=vin, detail=detail or {}
    )
    session.add(ev)
    row.status = name
    audit.record(
        session, actor.name, "ids.battery_event", "battery", row.code, {"lifecycle_event": name}
    )
    session.commit()
    service.invalidate()
    return ev


def _events(session: Session, battery_id: int) -> list[dict[str, Any]]:
    return [
        {
            "event": e.event,
            "on": e.on.isoformat(),
            "actor": e.actor,
            "vin": e.vin,
            "detail": e.detail,
        }
        for e in session.scalars(
            select(BatteryEvent)
            .where(BatteryEvent.battery_id == battery_id)
            .order_by(BatteryEvent.on, BatteryEvent.id)
        )
    ]


def children(session: Session, code: str) -> list[Battery]:
    return list(
        session.scalars(select(Battery).where(Battery.parent_code == code).order_by(Battery.code))
    )


def cells_of(session: Session, code: str) -> list[str]:
    """All cells under a pack (through its modules) or a module."""
    out: list[str] = []
    stack = [code]
    while stack:
        for child in children(session, stack.pop()):
            if child.product_type == "C":
                out.append(child.code)
            else:
                stack.append(child.code)
    return sorted(out)


def trace(session: Session, code: str) -> dict[str, Any]:
    """Where a battery sits and went: parents up to the pack, children, all cells, events,
    second-life chain (the original it replaced, what replaced it), VINs it was installed in."""
    row = get(session, code)
    parents = []
    cur = row
    while cur.parent_code:
        cur = get(session, cur.parent_code)
        parents.append(cur.code)
    successors = [
        b.code for b in session.scalars(select(Battery).where(Battery.original_code == row.code))
    ]
    originals = []
    cur = row
    while cur.original_code:
        cur = get(session, cur.original_code)
        originals.append(cur.code)
    events = _events(session, row.id)
    vins = sorted({e["vin"] for e in events if e["vin"]})
    for p in parents:  # a cell travels with its pack
        vins += [e["vin"] for e in _events(session, get(session, p).id) if e["vin"]]
    ident = session.get(Identifier, row.identifier_id) if row.identifier_id else None
    return {
        "code": row.code,
        "parsed": bcode.parse(row.code).to_dict(),
        "identifier": f"{ident.prefix}/{ident.suffix}" if ident else None,
        "status": row.status,
        "parents": parents,
        "children": [c.code for c in children(session, row.code)],
        "cells": cells_of(session, row.code) if row.product_type != "C" else [],
        "original": originals,
        "second_life": successors,
        "vins": sorted(set(vins)),
        "events": events,
    }


def by_vin(session: Session, vin: str) -> list[str]:
    """The battery codes installed in a vehicle."""
    q = (
        select(Battery.code)
        .join(BatteryEvent, BatteryEvent.battery_id == Battery.id)
        .where(BatteryEvent.vin == vin)
        .order_by(Battery.code)
    )
    return list(session.scalars(q))
