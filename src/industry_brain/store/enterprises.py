"""Enterprise repository: the 一企一档 profile, read with an audit entry."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from industry_brain.core.errors import Location, NotFoundError
from industry_brain.store.audit import record
from industry_brain.store.facts import precedence_table
from industry_brain.store.models import (
    Enterprise,
    EnterpriseName,
    EnterpriseScale,
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


def yearly_figures_stmt(enterprise_id: int) -> Select:
    """The sums of :func:`yearly_figures` per (item, year, department). On PostgreSQL every
    column it reads is in ``ix_facts_lookup`` (migration 0027): an index-only scan of the
    enterprise's adjacent entries."""
    return (
        select(
            Fact.item,
            Fact.year,
            Fact.source_dept,
            func.sum(Fact.value),
            func.count(Fact.value),
            func.min(Fact.unit),
        )
        .where(Fact.enterprise_id == enterprise_id, Fact.superseded_by.is_(None))
        .group_by(Fact.item, Fact.year, Fact.source_dept)
        .order_by(Fact.item, Fact.year, Fact.source_dept)
    )


def yearly_figures(session: Session, enterprise_id: int, county: str | None) -> dict[str, dict]:
    """item → year → {value, unit, source_dept}: current facts of the preferred department,
    monthly and per-detail figures summed to the year.

    The database sums each (item, year, department) — one row per group instead of every
    monthly and per-account figure (``ix_facts_lookup`` finds the enterprise's rows); Python
    only picks the preferred department of each (item, year).
    """
    rows = session.execute(yearly_figures_stmt(enterprise_id)).all()
    out: dict[str, dict] = {}
    ranks: dict[tuple[str, int], int] = {}
    tables: dict[int, dict[str, list[str]]] = {}  # year → the precedence table in force
    for item, year, dept, total, n, unit in rows:
        table = tables.get(year)
        if table is None:
            table = tables[year] = precedence_table(county, date(year, 1, 1))
        order = table.get(item) or table["default"]
        rank = order.index(dept) if dept in order else len(order)
        if (item, year) not in ranks or rank < ranks[(item, year)]:
            ranks[(item, year)] = rank
            out.setdefault(item, {})[year] = {
                "value": float(total) if n else None,
                "unit": unit,
                "source_dept": dept,
            }
    return out


def profile_data(
    session: Session, ent: Enterprise, project_clause: ColumnElement[bool] | None = None
) -> dict[str, Any]:
    """Everything the store knows about ``ent`` (not audited: callers audit the read).

    A handful of narrow queries, each answered by an index on ``enterprise_id``;
    ``project_clause`` further filters the projects (the caller's data scope).
    """
    county_name, industry_name = session.execute(
        select(Region.name, Industry.name)
        .select_from(Enterprise)
        .outerjoin(Region, Region.code == Enterprise.county_code)
        .outerjoin(Industry, Industry.code == Enterprise.industry_code)
        .where(Enterprise.id == ent.id)
    ).one()
    names = session.execute(
        select(EnterpriseName.name, EnterpriseName.kind)
        .where(EnterpriseName.enterprise_id == ent.id)
        .order_by(EnterpriseName.id)
    ).all()
    scales = session.execute(
        select(EnterpriseScale.year, EnterpriseScale.above_scale)
        .where(EnterpriseScale.enterprise_id == ent.id)
        .order_by(EnterpriseScale.year)
    ).all()
    projects = select(Project.code, Project.name, Project.stage).where(
        Project.enterprise_id == ent.id
    )
    if project_clause is not None:
        projects = projects.where(project_clause)
    return {
        "uscc": ent.uscc,
        "name": ent.name,
        "former_names": [n for n, kind in names if kind == "former"],
        "names": [{"name": n, "kind": kind} for n, kind in names],
        "address": ent.address,
        "county_code": ent.county_code,
        "county_name": county_name,
        "industry_code": ent.industry_code,
        "industry_name": industry_name,
        "registration_date": ent.registration_date.isoformat() if ent.registration_date else None,
        "status": ent.status,
        "scale": {y: above for y, above in scales},
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
            for p in session.execute(
                select(
                    LandParcel.parcel_no,
                    LandParcel.area_mu,
                    LandParcel.tenure,
                    LandParcel.land_use,
                    LandParcel.holder_name,
                )
                .where(LandParcel.enterprise_id == ent.id)
                .order_by(LandParcel.id)
            )
        ],
        "projects": [
            {"code": c, "name": n, "stage": s}
            for c, n, s in session.execute(projects.order_by(Project.id))
        ],
    }


def profile(
    session: Session,
    uscc: str,
    actor: str,
    user_id: int | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Everything the store knows about one enterprise; the read is audited (the entry is
    added to the session after the reads, so a write transaction lasts only from the audit
    insert to the caller's commit)."""
    ent = get_by_uscc(session, uscc)
    data = profile_data(session, ent)
    data.pop("names")
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
    return data
