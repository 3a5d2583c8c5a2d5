"""Enterprise repository: the 一企一档 profile, read with an audit entry."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core.errors import Location, NotFoundError
from industry_brain.store.audit import record
from industry_brain.store.facts import precedence
from industry_brain.store.models import (
    Enterprise,
    Fact,
    Industry,
    LandParcel,
    PowerAccount,
    Project,
    Region,
)


def get_by_uscc(session: Session, uscc: str) -> Enterprise:
    ent = session.scalars(select(Enterprise).where(Enterprise.uscc == uscc)).first()
    if ent is None:
        raise NotFoundError(
            "enterprise.not_found",
            f"企业库中没有统一社会信用代码为 {uscc} 的企业",
            f"no enterprise with USCC {uscc}",
            Location(field="uscc"),
            uscc,
        )
    return ent


def yearly_figures(session: Session, enterprise_id: int, county: str | None) -> dict[str, dict]:
    """item → year → {value, unit, source_dept}: current facts of the preferred department,
    monthly and per-detail figures summed to the year."""
    rows = session.execute(
        select(Fact.item, Fact.year, Fact.value, Fact.unit, Fact.source_dept).where(
            Fact.enterprise_id == enterprise_id, Fact.superseded_by.is_(None)
        )
    ).all()
    sums: dict[tuple[str, int, str], list] = {}
    for item, year, value, unit, dept in rows:
        acc = sums.setdefault((item, year, dept), [0.0, unit, 0])
        if value is not None:
            acc[0] += value
            acc[2] += 1
    out: dict[str, dict] = {}
    for (item, year, dept), (total, unit, n) in sorted(sums.items()):
        order = precedence(item, county, date(year, 1, 1))
        current = out.setdefault(item, {}).get(year)
        rank = order.index(dept) if dept in order else len(order)
        if current is None or rank < current["_rank"]:
            out[item][year] = {
                "value": total if n else None,
                "unit": unit,
                "source_dept": dept,
                "_rank": rank,
            }
    for by_year in out.values():
        for v in by_year.values():
            v.pop("_rank", None)
    return out


def profile(
    session: Session,
    uscc: str,
    actor: str,
    user_id: int | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Everything the store knows about one enterprise; the read is audited."""
    ent = get_by_uscc(session, uscc)
    county = session.get(Region, ent.county_code) if ent.county_code else None
    industry = session.get(Industry, ent.industry_code) if ent.industry_code else None
    record(
        session,
        actor,
        "enterprise.view",
        "enterprise",
        ent.uscc,
        {},
        user_id=user_id,
        request_id=request_id,
    )
    return {
        "uscc": ent.uscc,
        "name": ent.name,
        "former_names": ent.former_names,
        "address": ent.address,
        "county_code": ent.county_code,
        "county_name": county.name if county else None,
        "industry_code": ent.industry_code,
        "industry_name": industry.name if industry else None,
        "registration_date": ent.registration_date.isoformat() if ent.registration_date else None,
        "status": ent.status,
        "scale": {s.year: s.above_scale for s in ent.scales},
        "facts": yearly_figures(session, ent.id, ent.county_code),
        "power_accounts": list(
            session.scalars(
                select(PowerAccount.account_no)
                .where(PowerAccount.enterprise_id == ent.id)
                .order_by(PowerAccount.account_no)
            )
        ),
        "land_parcels": [
            {
                "parcel_no": p.parcel_no,
                "area_mu": p.area_mu,
                "tenure": p.tenure,
                "land_use": p.land_use,
                "holder_name": p.holder_name,
            }
            for p in session.scalars(
                select(LandParcel).where(LandParcel.enterprise_id == ent.id).order_by(LandParcel.id)
            )
        ],
        "projects": [
            {"code": p.code, "name": p.name, "stage": p.stage}
            for p in session.scalars(
                select(Project).where(Project.enterprise_id == ent.id).order_by(Project.id)
            )
        ],
    }
