"""The cockpit (产业驾驶舱) with filters: year, county (a county officer: town) and industry.

A filter never widens what the caller may see: :func:`narrowed` returns the caller's scope with
the filters ANDed to its enterprise and project clauses (and to its cache key), so every
aggregate and every service section computed with it stays inside the caller's scope.

Data completeness (数据完整度) replaces the old coverage chart: for the selected year, per
department (``facts.source_dept``) and key item, the share of the enterprises in the filtered
scope that have at least one figure of that item from that department (superseded figures
count: the department did deliver them). The denominator is the number of enterprises in the
filtered scope, the same for every bar, so the bars compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, distinct, func, select
from sqlalchemy.orm import Session

from industry_brain.store import scoped
from industry_brain.store.models import (
    Enterprise,
    EnterpriseScale,
    Fact,
    Industry,
    Project,
    Region,
)
from industry_brain.store.scope import Scope


@dataclass(frozen=True)
class Filters:
    """The cockpit's filters (``None`` = all). ``county`` applies to city-wide callers,
    ``town`` to county officers; ``industry`` is a GB/T 4754 division (2 digits)."""

    year: int | None = None
    county: str | None = None
    town: str | None = None
    industry: str | None = None

    def query(self, **extra: Any) -> dict[str, str]:
        """The filters as URL query parameters (empty ones left out), plus ``extra``."""
        out = {
            "year": str(self.year) if self.year else "",
            "county": self.county or "",
            "town": self.town or "",
            "industry": self.industry or "",
        }
        out.update({k: "" if v is None else str(v) for k, v in extra.items()})
        return {k: v for k, v in out.items() if v}


@dataclass(frozen=True)
class NarrowedScope(Scope):
    """A caller's scope with the cockpit's filters applied (never wider than the caller's)."""

    f_county: str | None = None
    f_town: str | None = None
    f_industry: str | None = None

    def _enterprise_filters(self) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if self.f_county:
            conds.append(Enterprise.county_code == self.f_county)
        if self.f_town:
            conds.append(Enterprise.town_code == self.f_town)
        if self.f_industry:
            conds.append(Enterprise.industry_code.startswith(self.f_industry, autoescape=True))
        return conds

    def enterprise_clause(self) -> ColumnElement[bool]:
        return and_(super().enterprise_clause(), *self._enterprise_filters())

    def project_clause(self) -> ColumnElement[bool]:
        conds: list[ColumnElement[bool]] = []
        if self.f_county:
            conds.append(Project.county_code == self.f_county)
        if self.f_town:
            # a project's town is its investor's (projects carry no town of their own)
            conds.append(
                Project.enterprise_id.in_(
                    select(Enterprise.id).where(Enterprise.town_code == self.f_town)
                )
            )
        if self.f_industry:
            conds.append(Project.industry_code.startswith(self.f_industry, autoescape=True))
        return and_(super().project_clause(), *conds)

    @property
    def cache_key(self) -> str:
        base = super().cache_key
        return f"{base}|c={self.f_county or ''}|t={self.f_town or ''}|i={self.f_industry or ''}"


def narrowed(scope: Scope, filters: Filters) -> Scope:
    """``scope`` with ``filters`` applied (the scope itself when no area or industry filter)."""
    county = filters.county if scope.city_wide else None
    town = filters.town if scope.role == "county_officer" else None
    if not (county or town or filters.industry):
        return scope
    if isinstance(scope, NarrowedScope):
        raise TypeError("a narrowed scope is not narrowed again")
    return NarrowedScope(
        user_id=scope.user_id,
        username=scope.username,
        role=scope.role,
        county_code=scope.county_code,
        enterprise_id=scope.enterprise_id,
        display_name=scope.display_name,
        organisation=scope.organisation,
        f_county=county,
        f_town=town,
        f_industry=filters.industry,
    )


def clean(scope: Scope, filters: Filters, options: dict[str, Any]) -> Filters:
    """Filters restricted to the values the caller's options offer (an unknown county, town,
    industry or year is dropped: it would select nothing or something outside the page)."""
    years = {y for y in options["years"]}
    areas = {a["code"] for a in options["areas"]}
    industries = {i["code"] for i in options["industries"]}
    return Filters(
        year=filters.year if filters.year in years else None,
        county=filters.county if scope.city_wide and filters.county in areas else None,
        town=filters.town if scope.role == "county_officer" and filters.town in areas else None,
        industry=filters.industry if filters.industry in industries else None,
    )


def options(session: Session, scope: Scope) -> dict[str, Any]:
    """What the filters offer the caller: years with figures, counties (city-wide) or towns
    (a county officer), industry divisions."""
    years = sorted(fact_years(session), reverse=True)
    if scope.role == "county_officer":
        rows = session.execute(
            select(Region.code, Region.name)
            .where(
                select(Enterprise.id)
                .where(Enterprise.town_code == Region.code, scope.enterprise_clause())
                .exists()
            )
            .order_by(Region.code)
        ).all()
        areas = [{"code": c, "name": n} for c, n in rows]
        level = "town"
    else:
        areas = scoped.counties(session, scope)
        level = "county"
    return {
        "years": years,
        "areas": areas,
        "level": level,
        "industries": scoped.industry_divisions(session),
    }


def completeness(session: Session, scope: Scope, year: int | None) -> dict[str, Any]:
    """Per department and key item (:data:`scoped.KEY_ITEMS`), the share (0–1) of the
    enterprises in ``scope`` with a figure of ``year``: ``n`` of ``enterprises``. Every
    department–item pair delivered that year anywhere in the store is listed (0 % when none in
    ``scope``), ordered by department, then item."""
    clause = scope.enterprise_clause()
    total = session.scalar(select(func.count()).select_from(Enterprise).where(clause)) or 0
    if year is None:
        return {"year": year, "enterprises": total, "rows": []}
    pairs = scoped.cached(
        session,
        ("completeness_pairs", year),
        scoped.data_stamp(session),
        lambda: session.execute(
            select(Fact.source_dept, Fact.item)
            .where(Fact.year == year, Fact.item.in_(scoped.KEY_ITEMS))
            .distinct()
        ).all(),
    )
    in_scope = select(Enterprise.id).where(clause)
    counts = {
        (d, i): n
        for d, i, n in session.execute(
            select(Fact.source_dept, Fact.item, func.count(distinct(Fact.enterprise_id)))
            .where(
                Fact.year == year,
                Fact.item.in_(scoped.KEY_ITEMS),
                Fact.enterprise_id.in_(in_scope),
            )
            .group_by(Fact.source_dept, Fact.item)
        ).all()
    }
    order = {item: k for k, item in enumerate(scoped.KEY_ITEMS)}
    rows = [
        {
            "dept": d,
            "item": i,
            "n": counts.get((d, i), 0),
            "share": counts.get((d, i), 0) / total if total else 0.0,
        }
        for d, i in sorted(
            {tuple(p) for p in pairs if p[0] and p[1]}, key=lambda p: (p[0], order[p[1]])
        )
    ]
    return {"year": year, "enterprises": total, "rows": rows}


def year_of_scale(session: Session, year: int | None) -> int | None:
    """The 规上/规下 year of the selection: ``year`` when it has scale data, else the latest."""
    if year is not None:
        found = session.scalar(
            select(EnterpriseScale.year).where(EnterpriseScale.year == year).limit(1)
        )
        if found is not None:
            return year
    return scoped.latest_scale_year(session)


def aggregates(session: Session, scope: Scope, year: int | None) -> dict[str, Any]:
    """Counts by county (and town for a county officer) and 规上/规下 of the selection's year,
    and the data completeness of that year, for ``scope`` (already narrowed)."""
    scale_year = year_of_scale(session, year)
    clause = scope.enterprise_clause()
    town_level = scope.role == "county_officer" and scoped.towns_known(session, scope)
    by_county = scoped._counts_by_area(session, clause, scale_year, Enterprise.county_code)
    by_town = (
        scoped._counts_by_area(session, clause, scale_year, Enterprise.town_code)
        if town_level
        else None
    )
    fact_year = year or latest_fact_year(session)
    county_name = (
        session.scalar(select(Region.name).where(Region.code == scope.county_code))
        if scope.county_code
        else None
    )
    return {
        "scale_year": scale_year,
        "area_level": "town" if town_level else "county",
        "county_name": county_name,
        "by_county": by_county,
        "by_town": by_town,
        "total": sum(c["total"] for c in by_county),
        "completeness": completeness(session, scope, fact_year),
    }


def fact_years(session: Session) -> tuple[int, ...]:
    """The years with a figure of the key items, whoever asks (one scan of the facts — 20–35 s
    at 27 M facts on PostgreSQL, no index leads with the year — cached once for every scope
    until the data stamp changes)."""
    return scoped.cached(
        session,
        ("fact_years",),
        scoped.data_stamp(session),
        lambda: tuple(
            sorted(
                session.scalars(select(Fact.year).where(Fact.item.in_(scoped.KEY_ITEMS)).distinct())
            )
        ),
    )


def latest_fact_year(session: Session) -> int | None:
    """The latest year with a figure of the key items."""
    years = fact_years(session)
    return years[-1] if years else None


def page_data(
    session: Session, scope: Scope, filters: Filters, stamp: tuple | None = None
) -> dict[str, Any]:
    """Everything the cockpit page shows for ``scope`` (already narrowed by ``filters``): the
    aggregates (cached per scope, filters and year until the next import batch), projects by
    stage, and for city-wide callers the recent import batches and their statuses."""
    scope.require("cockpit.view")
    data = scoped.cached(
        session,
        (scope.cache_key, "cockpit_aggregates", filters.year),
        stamp if stamp is not None else scoped.data_stamp(session),
        lambda: aggregates(session, scope, filters.year),
    )
    stage_rows = dict(
        session.execute(
            select(Project.stage, func.count())
            .where(scope.project_clause())
            .group_by(Project.stage)
        ).all()
    )
    return {
        **data,
        "projects_by_stage": [{"stage": s, "count": stage_rows.get(s, 0)} for s in scoped.STAGES],
        "batches": scoped.import_batches(session, scope, limit=10) if scope.city_wide else [],
        "batch_status": scoped._batch_status(session) if scope.city_wide else {},
    }


def industry_name(session: Session, code: str | None) -> str | None:
    if not code:
        return None
    return session.scalar(select(Industry.name).where(Industry.code == code))


SCALES = ("above", "below", "unknown")

#: sortable columns of the drill-down list → SQL expression
_SORT = {
    "name": Enterprise.name,
    "uscc": Enterprise.uscc,
    "area": Enterprise.county_code,
    "industry": Enterprise.industry_code,
}


def drill_down(
    session: Session,
    scope: Scope,
    *,
    scale_year: int | None,
    scale: str | None = None,
    fact_year: int | None = None,
    dept: str | None = None,
    item: str | None = None,
    has: bool | None = None,
    sort: str = "name",
    desc: bool = False,
    offset: int = 0,
    limit: int | None = 20,
) -> tuple[int, list[dict[str, Any]]]:
    """The enterprises behind a cockpit figure, in ``scope`` (already narrowed by the
    filters): of 规模 ``scale`` in ``scale_year`` (``unknown``: no 规上/规下 record), and — with
    ``item`` — with (``has``) or without a figure of ``item`` from ``dept`` in ``fact_year``.
    Returns the total and the rows of the page (every row with ``limit=None``)."""
    conds: list[ColumnElement[bool]] = [scope.enterprise_clause()]
    if scale in ("above", "below"):
        conds.append(
            Enterprise.id.in_(
                select(EnterpriseScale.enterprise_id).where(
                    EnterpriseScale.year == scale_year,
                    EnterpriseScale.above_scale.is_(scale == "above"),
                )
            )
        )
    elif scale == "unknown":
        conds.append(
            Enterprise.id.not_in(
                select(EnterpriseScale.enterprise_id).where(EnterpriseScale.year == scale_year)
            )
        )
    if item and fact_year is not None and has is not None:
        # correlated: one probe of ix_facts_lookup (enterprise, year, item) per enterprise
        reported = select(Fact.id).where(
            Fact.enterprise_id == Enterprise.id, Fact.year == fact_year, Fact.item == item
        )
        if dept:
            reported = reported.where(Fact.source_dept == dept)
        conds.append(reported.exists() if has else ~reported.exists())
    total = session.scalar(select(func.count()).select_from(Enterprise).where(*conds)) or 0
    expr = _SORT[sort]
    order = [expr.is_(None), expr.desc() if desc else expr.asc(), Enterprise.id]
    county = Region.__table__.alias("county_region")
    town = Region.__table__.alias("town_region")
    stmt = (
        select(
            Enterprise.uscc,
            Enterprise.name,
            county.c.name,
            town.c.name,
            Enterprise.industry_code,
            Industry.name,
            EnterpriseScale.above_scale,
        )
        .outerjoin(county, county.c.code == Enterprise.county_code)
        .outerjoin(town, town.c.code == Enterprise.town_code)
        .outerjoin(Industry, Industry.code == Enterprise.industry_code)
        .outerjoin(
            EnterpriseScale,
            (EnterpriseScale.enterprise_id == Enterprise.id) & (EnterpriseScale.year == scale_year),
        )
        .where(*conds)
        .order_by(*order)
        .offset(offset)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = [
        {
            "uscc": u,
            "name": n,
            "county_name": c,
            "town_name": tn,
            "industry_code": ic,
            "industry_name": iname,
            "scale": "unknown" if above is None else ("above" if above else "below"),
        }
        for u, n, c, tn, ic, iname, above in session.execute(stmt).all()
    ]
    return total, rows
