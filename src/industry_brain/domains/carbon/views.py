"""Scoped reads and actions of 工业碳效码 for the web pages (data-access layer).

Every function takes the caller's :class:`~industry_brain.store.scope.Scope`: enterprises are
filtered with ``scope.enterprise_clause()``; consents are managed by the enterprise's own user
(``consent.manage``) and read by banks (``consent.read``) through
:mod:`industry_brain.domains.carbon.access`, which audits every grant, revoke and bank read.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import Date, Select, bindparam, func, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core.errors import IBError, Location, ValidationError
from industry_brain.domains.carbon import access, codes
from industry_brain.domains.carbon import explain as explain_mod
from industry_brain.domains.carbon.models import BankConsent, CarbonCode, CarbonResult
from industry_brain.domains.carbon.rules import on_date
from industry_brain.domains.carbon.service import current_runs, history, result_dict
from industry_brain.store import scoped
from industry_brain.store.enterprises import ENTERPRISE_ID
from industry_brain.store.models import Enterprise, Region, User
from industry_brain.store.scope import PermissionDenied, Scope

GRADES = (1, 2, 3, 4, 5)
# what a role without the right to sensitive figures (agent, bank) may not see of a result: the
# denominator (value added, or tax for 规下 firms when ``carbon.below.denominator`` is
# ``tax_paid``) and the two figures it is one division away from (co2_net / intensity)
SENSITIVE_FIELDS = ("denominator", "co2_net", "intensity")


def latest_year(session: Session) -> int | None:
    runs = current_runs(session)
    return max(runs) if runs else None


def grade_colours(year: int | None, region: str | None = None) -> list[str]:
    """The code colours of grades 1–5 (parameter ``carbon.colours``) for a data year."""
    on = on_date(year) if year else date.today()
    return list(parameters.load().get("carbon.colours", region, on))


def grade_distribution(
    session: Session, scope: Scope, year: int | None = None, by: str | None = None
) -> dict[str, Any]:
    """Enterprises per county — or per town (乡镇街道) for a county officer, or ``by="town"`` —
    and grade (1–5; ``ungraded`` = no grade) in scope, from the current run of ``year``
    (default: the latest year). ``level`` says which (county | town)."""
    runs = current_runs(session)
    year = year or (max(runs) if runs else None)
    level = by or ("town" if scoped.towns_known(session, scope) else "county")
    if year is None or year not in runs:
        return {"year": year, "counties": [], "totals": {}, "level": level}
    area = Enterprise.town_code if level == "town" else CarbonResult.county_code
    # counted once per run and import (a group-by over every result of the run: ~30 ms on
    # the city demo, on every list page)
    rows = scoped.cached(
        session,
        (scope.cache_key, "carbon_distribution", year, level),
        (runs[year], *scoped.data_stamp(session)),
        lambda: session.execute(
            select(area, Region.name, CarbonResult.grade, func.count())
            .join(Enterprise, Enterprise.id == CarbonResult.enterprise_id)
            .outerjoin(Region, Region.code == area)
            .where(CarbonResult.run_id == runs[year], scope.enterprise_clause())
            .group_by(area, Region.name, CarbonResult.grade)
            .order_by(area)
        ).all(),
    )
    counties: dict[str, dict[str, Any]] = {}
    totals: dict[str, int] = {str(g): 0 for g in GRADES} | {"ungraded": 0}
    for code, name, grade, n in rows:
        key = str(grade) if grade else "ungraded"
        entry = counties.setdefault(
            code or "",
            {"code": code, "name": name or code or "—", "total": 0}
            | {str(g): 0 for g in GRADES}
            | {"ungraded": 0},
        )
        entry[key] += n
        entry["total"] += n
        totals[key] += n
    return {"year": year, "counties": list(counties.values()), "totals": totals, "level": level}


def results(
    session: Session,
    scope: Scope,
    year: int | None = None,
    *,
    county: str | None = None,
    grade: int | None = None,
    page: int = 1,
    per_page: int | None = 50,
    sort: str = "k_value",
    desc: bool = False,
) -> dict[str, Any]:
    """One page of current results in scope, best (lowest K) first, ungraded last, or ordered
    by ``sort`` (a key of :data:`RESULT_SORTS`); ``per_page=None`` returns every match."""
    scope.require("carbon.view")
    everything = per_page is None
    page, per_page = scoped._page_args(1 if everything else page, 1 if everything else per_page)
    if sort not in RESULT_SORTS:
        raise ValidationError(
            "query.sort",
            f"排序列只能是 {'、'.join(RESULT_SORTS)} 之一",
            f"sort must be one of {', '.join(RESULT_SORTS)}",
            Location(field="sort"),
            sort,
        )
    if grade is not None and grade not in GRADES:
        raise ValidationError(
            "query.grade", "等级应为 1–5", "grade must be 1–5", Location(field="grade"), grade
        )
    runs = current_runs(session)
    year = year or (max(runs) if runs else None)
    if year is None or year not in runs:
        return {"year": year, "page": scoped.Page([], 0, page, per_page)}
    conds = [CarbonResult.run_id == runs[year], scope.enterprise_clause()]
    if county:
        conds.append(CarbonResult.county_code == county)
    if grade:
        conds.append(CarbonResult.grade == grade)
    key = RESULT_SORTS[sort]
    order = (key.is_(None), key.desc() if desc else key.asc(), Enterprise.uscc)
    joined = (
        select(CarbonResult, Enterprise)
        .join(Enterprise, Enterprise.id == CarbonResult.enterprise_id)
        .where(*conds)
    )
    if everything:  # an export: every row in one sorted read
        rows = session.execute(joined.order_by(*order)).all()
        total = len(rows)
    else:
        ids, total = scoped.ordered_page(
            session,
            (scope.cache_key, "carbon_results", year, county or "", grade or 0, sort, desc),
            (runs[year], *scoped.data_stamp(session)),
            joined.with_only_columns(CarbonResult.id).order_by(*order),
            page,
            per_page,
        )
        rows = scoped.in_order(
            session.execute(joined.where(CarbonResult.id.in_(ids))).all(),
            ids,
            lambda row: row[0].id,
        )
    names = scoped.region_names(session, (r.county_code for r, _e in rows))
    items = [
        {
            "uscc": e.uscc,
            "name": e.name,
            "county": names.get(r.county_code or "", r.county_code),
            "above_scale": r.above_scale,
            "co2_net": r.co2_net,
            "intensity": r.intensity,
            "k_value": r.k_value,
            "level": r.level,
            "grade": r.grade,
            "label": r.label,
            "status": r.status,
        }
        for r, e in rows
    ]
    return {
        "year": year,
        "page": scoped.Page(items, int(total or 0), page, max(per_page, len(items))),
    }


#: sort keys of the results list → their column
RESULT_SORTS = {
    "name": Enterprise.name,
    "county": CarbonResult.county_code,
    "above_scale": CarbonResult.above_scale,
    "co2_net": CarbonResult.co2_net,
    "intensity": CarbonResult.intensity,
    "k_value": CarbonResult.k_value,
    "grade": CarbonResult.grade,
}


def _latest_code(session: Session, ent: Enterprise, today: date) -> CarbonCode | None:
    return session.scalars(_latest_code_stmt(), {"enterprise_id": ent.id, "today": today}).first()


@cache
def _latest_code_stmt() -> Select:  # built once: the profile page reads it on every view
    return (
        select(CarbonCode)
        .where(
            CarbonCode.enterprise_id == ENTERPRISE_ID,
            CarbonCode.expires_on >= bindparam("today", type_=Date),
        )
        .order_by(CarbonCode.id.desc())
        .limit(1)
    )


def may_issue(scope: Scope, ent: Enterprise) -> bool:
    """A code is issued by the enterprise's own user, or an admin or city officer."""
    return scope.city_wide or (scope.role == "enterprise" and scope.enterprise_id == ent.id)


def enterprise_carbon(session: Session, scope: Scope, uscc: str, today: date) -> dict[str, Any]:
    """The enterprise's current grade, its history and its valid code (if issued)."""
    ent = scoped.visible_enterprise(session, scope, uscc)
    # the current result of every year in one read; the latest year's is the current grade
    # (what result_for returns, without reading the runs and the results a second time)
    past = history(session, ent)
    res = past[-1] if past else None
    code = _latest_code(session, ent, today)
    out: dict[str, Any] = {
        "uscc": ent.uscc,
        "result": None,
        "history": [],
        "code": None,
        "masked": not scope.sees_sensitive,
        "can_issue": may_issue(scope, ent),
    }
    if res is not None:
        result = result_dict(res)
        if not scope.sees_sensitive:
            for f in SENSITIVE_FIELDS:
                result[f] = None
        out["result"] = result
        out["history"] = [
            {"year": h.year, "grade": h.grade, "label": h.label, "k_value": h.k_value} for h in past
        ]
    if code is not None:
        out["code"] = {
            "year": code.year,
            "grade": code.grade,
            "level": code.level,
            "issued_on": code.issued_on.isoformat(),
            "expires_on": code.expires_on.isoformat(),
            "key_id": code.key_id,
        }
    return out


def explanation(session: Session, scope: Scope, uscc: str, lang: str) -> dict[str, Any] | None:
    """The carbon accounting explanation (audited by the carbon service); needs the right to
    sensitive figures (the 规下 denominator may be tax)."""
    ent = scoped.visible_enterprise(session, scope, uscc)
    if not scope.sees_sensitive:
        return None
    try:
        data = explain_mod.explain(session, ent.uscc, actor=scope.username)
    except IBError:
        return None
    # the structured explanation (the document template) and its text lines (CLI wording)
    return {"lines": data["text"][lang], "improvement": data.get("improvement"), "doc": data}


def code_svg(session: Session, scope: Scope, uscc: str, today: date) -> bytes:
    """The QR symbol (SVG) of the enterprise's valid code: dark modules in a frame of its
    grade colour."""
    ent = scoped.visible_enterprise(session, scope, uscc)
    code = _latest_code(session, ent, today)
    if code is None:
        raise scoped._not_found(uscc)
    colours = grade_colours(code.year, ent.county_code)
    return codes.svg_bytes(code.payload, str(colours[code.grade - 1]))


def issue(session: Session, scope: Scope, uscc: str, today: date) -> dict[str, Any]:
    """Issue (sign) a code for the enterprise's current graded result: its own user or a city
    officer / admin; audited by the carbon service."""
    ent = scoped.visible_enterprise(session, scope, uscc)
    if not may_issue(scope, ent):
        raise PermissionDenied(
            "carbon.issue_forbidden",
            f"当前角色（{scope.role}）不能为该企业签发碳效码",
            f"the role {scope.role} may not issue this enterprise's code",
            Location(field="uscc"),
            ent.uscc,
        )
    return codes.issue_code(session, ent.uscc, actor=scope.username, today=today).to_dict()


# -- consents ---------------------------------------------------------------------------------
def banks(session: Session) -> list[dict[str, str]]:
    """The banks an enterprise can consent to (active users of role ``bank``)."""
    rows = session.execute(
        select(User.username, User.organisation, User.display_name)
        .where(User.role == "bank", User.active.is_(True))
        .order_by(User.username)
    ).all()
    return [{"username": u, "name": o or d or u} for u, o, d in rows]


def own_consents(session: Session, scope: Scope, today: date) -> list[dict[str, Any]]:
    """The consents the caller's enterprise has granted (newest first)."""
    scope.require("consent.manage")
    uscc = scoped.own_enterprise_uscc(session, scope)
    return sorted(access.list_consents(session, uscc=uscc, today=today), key=lambda c: -c["id"])


def grant(
    session: Session,
    scope: Scope,
    bank: str,
    scopes: list[str],
    expires_on: date,
    purpose: str,
    today: date,
) -> dict[str, Any]:
    scope.require("consent.manage")
    uscc = scoped.own_enterprise_uscc(session, scope)
    c = access.grant(
        session,
        uscc,
        bank,
        scopes,
        expires_on,
        by_username=scope.username,
        purpose=purpose,
        today=today,
    )
    return {"id": c.id}


def revoke(session: Session, scope: Scope, consent_id: int) -> None:
    """Revoke one of the caller's own consents (another enterprise's is reported missing)."""
    scope.require("consent.manage")
    c = session.get(BankConsent, consent_id)
    if c is None or c.enterprise_id != scope.enterprise_id:
        raise access.consent_not_found(consent_id)
    access.revoke(session, consent_id, by_username=scope.username)


def bank_consents(session: Session, scope: Scope, today: date) -> list[dict[str, Any]]:
    """Consents granted to the caller's bank, with the current grade where a consent is
    active and covers it (each such read is audited by the carbon service)."""
    scope.require("consent.read")
    bank = session.get(User, scope.user_id)
    assert bank is not None
    out = []
    for c in sorted(
        access.list_consents(session, bank_username=scope.username, today=today),
        key=lambda c: -c["id"],
    ):
        grade = None
        if c["state"] == "active" and "grade" in c["scopes"]:
            try:
                grade = access.bank_grade(session, bank, c["uscc"], today=today)
            except IBError:
                grade = None
        out.append({**c, "grade": grade})
    return out
