"""Web pages of 工业碳效码: grade distribution and results, the profile's carbon section with the
dual code (signed QR) and the explanation, the enterprise portal's code and bank consents
(授权), and the bank's page of consented enterprises.

Routes: ``GET /carbon`` (officers), ``GET /carbon/explain/{uscc}`` (htmx fragment),
``GET /carbon/explanation/{uscc}`` (the explanation as a printable document) and ``….pdf``,
``GET /carbon/code/{uscc}.svg`` (the valid code's QR), ``POST /carbon/code/{uscc}`` (issue a
code: the enterprise itself or a city officer/admin), ``POST /portal/consents`` (grant) and
``POST /portal/consents/{id}/revoke`` (enterprise users, CSRF-checked like every form).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core.errors import IBError, Location, ValidationError
from industry_brain.domains.carbon import access, loans, views
from industry_brain.domains.carbon.models import CarbonRun
from industry_brain.store import scoped
from industry_brain.store.scope import PermissionDenied, Scope
from industry_brain.web import documents, flash
from industry_brain.web import lists as weblists
from industry_brain.web.app_helpers import page_lang
from industry_brain.web.charts import area_links, stacked_by_county
from industry_brain.web.deps import CsrfDep, DbDep, ScopeDep, TodayDep
from industry_brain.web.errors import status_of
from industry_brain.web.query import OptionalInt, Year

router = APIRouter(include_in_schema=False)
UNGRADED_COLOUR = "#9E9E9E"


def _render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    return request.app.state.render(request, name, context, status)


RESULTS = weblists.ListSpec(
    "carbon_results",
    (
        weblists.Column("name", "col.name"),
        weblists.Column("uscc", "col.uscc", sortable=False, show=False),
        weblists.Column("county", "col.county"),
        weblists.Column(
            "above_scale",
            "col.scale",
            value=lambda r, t: t("scale.above") if r.get("above_scale") else t("scale.below"),
        ),
        weblists.Column("co2_net", "carbon.co2"),
        weblists.Column("intensity", "carbon.intensity"),
        weblists.Column("k_value", "carbon.k"),
        weblists.Column("grade", "carbon.grade", value=weblists.coded("carbon.grade.", "grade")),
        weblists.Column(
            "veto",
            "list.vetoed",
            sortable=False,
            show=False,
            value=weblists.flag("veto", "list.vetoed"),
        ),
    ),
    default_sort="k_value",
    sizes=(20, 50, 100),
    default_size=50,
)


@router.get("/carbon")
def results_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    year: Annotated[Year, Query()] = None,
    county: Annotated[str | None, Query(max_length=6)] = None,
    grade: Annotated[OptionalInt(1, 5), Query()] = None,
) -> Response:
    filters = {"county": county or "", "grade": grade or ""}
    state = weblists.read(request, RESULTS, filters, extra={"year": year or ""})
    data = views.results(
        db,
        scope,
        year,
        county=county or None,
        grade=grade,
        page=state.page,
        per_page=None if state.export else state.size,
        sort=state.sort,
        desc=state.desc,
    )
    state.paged(data["page"].total)
    state.extra["year"] = str(data["year"] or "")
    vetoed = weblists.vetoed(db, (r["uscc"] for r in data["page"].items))
    for r in data["page"].items:
        r["veto"] = r["uscc"] in vetoed
    if state.export:
        return weblists.export_response(
            db, scope, state, data["page"].items, page_lang(request), str(data["year"] or "")
        )
    return _render(
        request,
        "carbon.html",
        data=data,
        state=state,
        dist=views.grade_distribution(db, scope, data["year"]),
        counties=scoped.counties(db, scope),
        grades=views.GRADES,
        filters=filters,
    )


@router.get("/carbon/explain/{uscc}")
def explanation(request: Request, db: DbDep, scope: ScopeDep, uscc: str) -> Response:
    data = views.explanation(db, scope, uscc, page_lang(request))
    db.commit()  # the carbon service audits the read
    return _render(request, "carbon_explain.html", e=data)


def _document(request: Request, db: Session, scope: Scope, uscc: str) -> dict[str, Any]:
    data = views.explanation(db, scope, uscc, page_lang(request))
    db.commit()  # the carbon service audits the read
    if data is None:  # masked for the role, or no result
        raise scoped._not_found(uscc)
    return {"d": data["doc"], "links": scope.can("import.run")}


documents.explanation_routes(router, "carbon", _document)


@router.get("/carbon/code/{uscc}.svg")
def code_svg(db: DbDep, scope: ScopeDep, today: TodayDep, uscc: str) -> Response:
    return Response(
        views.code_svg(db, scope, uscc, today),
        media_type="image/svg+xml",
        headers={"Cache-Control": "private, no-store"},
    )


@router.post("/carbon/code/{uscc}")
def issue_code(
    request: Request, db: DbDep, scope: ScopeDep, today: TodayDep, _csrf: CsrfDep, uscc: str
) -> Response:
    try:
        views.issue(db, scope, uscc, today)
    except IBError as exc:
        db.rollback()
        return _failed(request, exc, _back(scope))
    db.commit()
    target = "/portal" if scope.role == "enterprise" else f"/enterprises/{uscc}"
    response = RedirectResponse(f"{target}#carbon-section", status_code=303)
    return _flash(request, response, "flash.code_issued")


def _failed(request: Request, exc: IBError, back: str) -> Response:
    """The page telling why an action was refused (in the UI language), with the status of
    the error's kind (400 rule, 403 role, 404 missing or out of scope, 409 conflict)."""
    status = status_of(exc)
    return _render(request, "carbon_error.html", status, error=exc.to_dict(), back=back)


def _back(scope: Scope) -> str:
    return "/portal" if scope.role == "enterprise" else "/"


def _expiry(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            "carbon.consent_expiry",
            f"授权截止日应为 YYYY-MM-DD 格式的日期（收到“{text}”）",
            f"the expiry must be a date YYYY-MM-DD (got '{text}')",
            Location(field="expires_on"),
            text,
        ) from None


@router.post("/portal/consents")
def grant_consent(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    today: TodayDep,
    _csrf: CsrfDep,
    bank: Annotated[str, Form(max_length=64)],
    expires_on: Annotated[str, Form(max_length=10)],
    scopes: Annotated[list[str] | None, Form(max_length=16)] = None,
    purpose: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        views.grant(db, scope, bank, scopes or [], _expiry(expires_on), purpose.strip(), today)
    except IBError as exc:
        db.rollback()
        if isinstance(exc, PermissionDenied):
            return _failed(request, exc, "/portal")
        from industry_brain.web.routes.pages import portal_page

        form = {"bank": bank, "scopes": scopes or [], "expires_on": expires_on, "purpose": purpose}
        return portal_page(
            request, db, scope, status_of(exc), consent_error=exc.to_dict(), consent_form=form
        )
    db.commit()
    names = {b["username"]: b["name"] for b in views.banks(db)}
    response = RedirectResponse("/portal#consents", status_code=303)
    return _flash(request, response, "flash.consent_granted", bank=names.get(bank, bank))


def _flash(request: Request, response: Response, key: str, **values: Any) -> Response:
    """The confirmation the next page shows once (web/flash.py)."""
    return flash.flash(response, key, request.app.state.settings.cookie_secure, **values)


@router.post("/portal/consents/{consent_id}/revoke")
def revoke_consent(
    request: Request, db: DbDep, scope: ScopeDep, _csrf: CsrfDep, consent_id: int
) -> Response:
    try:
        views.revoke(db, scope, consent_id)
    except IBError as exc:
        db.rollback()
        return _failed(request, exc, "/portal")
    db.commit()
    response = RedirectResponse("/portal#consents", status_code=303)
    return _flash(request, response, "flash.consent_revoked")


# -- sections -----------------------------------------------------------------------------------
def profile_section(session: Session, scope: Scope, uscc: str, today: date) -> dict[str, Any]:
    return {
        "id": "carbon-section",
        "title_zh": "工业碳效码",
        "title_en": "Carbon-efficiency code",
        "template": "carbon_profile.html",
        "c": views.enterprise_carbon(session, scope, uscc, today),
    }


def _scopes_text(row: Any, t: Any) -> str:
    return t("sep.list").join(t(f"carbon.scope.{sc}") for sc in row.get("scopes") or [])


def _bank_grade(row: Any, t: Any) -> Any:
    g = row.get("grade")
    return g.get("label") if isinstance(g, dict) else None


_CONSENT_STATE = weblists.coded("carbon.state.", "state")
OWN_CONSENTS = weblists.ListSpec(
    "consents",
    (
        weblists.Column("bank_name", "carbon.bank"),
        weblists.Column("scopes", "carbon.scopes", sortable=False, value=_scopes_text),
        weblists.Column("purpose", "carbon.purpose"),
        weblists.Column("granted_on", "carbon.granted_on"),
        weblists.Column("expires_on", "carbon.expires_on"),
        weblists.Column("state", "col.status", value=_CONSENT_STATE),
        weblists.Column("id", "list.col.actions", sortable=False, export=False),
    ),
    default_sort="granted_on",
    default_desc=True,
    sizes=(10, 20, 50),
    default_size=10,
    prefix="c_",
)
BANK_CONSENTS = weblists.ListSpec(
    "consents",
    (
        weblists.Column("name", "col.name"),
        weblists.Column("uscc", "col.uscc"),
        weblists.Column("scopes", "carbon.scopes", sortable=False, value=_scopes_text),
        weblists.Column("expires_on", "carbon.expires_on"),
        weblists.Column("state", "col.status", value=_CONSENT_STATE),
        weblists.Column("grade", "carbon.grade", sortable=False, value=_bank_grade),
        weblists.Column("granted_on", "carbon.granted_on"),
    ),
    default_sort="granted_on",
    default_desc=True,
    sizes=(20, 50, 100),
    default_size=50,
    prefix="c_",
)
BANK_LOANS = weblists.ListSpec(
    "loans",
    (
        weblists.Column("reference", "list.col.reference"),
        weblists.Column("name", "col.name"),
        weblists.Column("uscc", "col.uscc"),
        weblists.Column("amount_wan", "list.col.amount_wan"),
        weblists.Column("rate_pct", "list.col.rate_pct"),
        weblists.Column("granted_on", "list.col.loan_date"),
        weblists.Column("term_months", "list.col.term_months"),
        weblists.Column("grade", "carbon.grade", value=weblists.coded("carbon.grade.", "grade")),
    ),
    default_sort="granted_on",
    default_desc=True,
    sizes=(20, 50, 100),
    default_size=20,
    prefix="l_",
)


def portal_section(session: Session, scope: Scope, today: date) -> dict[str, Any] | None:
    """The enterprise's code and its bank consents (grant and revoke)."""
    if not scope.can("consent.manage"):
        return None
    uscc = scoped.own_enterprise_uscc(session, scope)
    return {
        "id": "consents",
        "title_zh": "碳效码与银行授权",
        "title_en": "Carbon code and bank consents",
        "template": "carbon_portal.html",
        "c": views.enterprise_carbon(session, scope, uscc, today),
        "consents": views.own_consents(session, scope, today),
        # tables the page sorts, pages and exports (web/lists.py; see routes/pages.py)
        "lists": {"consents": OWN_CONSENTS},
        "banks": views.banks(session),
        "scopes": list(access.SCOPES),
        "today": today.isoformat(),
    }


def bank_section(session: Session, scope: Scope, today: date) -> dict[str, Any] | None:
    """A bank's consents and the consented grades (each read audited)."""
    if not scope.can("consent.read"):
        return None
    return {
        "id": "bank-consents-section",
        "title_zh": "企业授权",
        "title_en": "Consents granted to this bank",
        "template": "carbon_bank.html",
        "consents": views.bank_consents(session, scope, today),
        "loans": loans.list_loans(session, bank_username=scope.username),
        "lists": {"consents": BANK_CONSENTS, "loans": BANK_LOANS},
    }


def cockpit_stamp(session: Session) -> tuple:
    """Changes with every accounting run (results are only written by runs)."""
    return (session.scalar(select(func.max(CarbonRun.id))),)


def cockpit_section(
    session: Session, scope: Scope, year: int | None = None, filters: Any = None
) -> dict[str, Any] | None:
    """Grades by county (or town) of ``year`` (default: the latest); each graded segment
    links to the results list of that county and grade (:func:`area_links`)."""
    if not scope.can("carbon.view"):
        return None
    dist = views.grade_distribution(session, scope, year)
    keys = [*(str(g) for g in views.GRADES), "ungraded"]
    links = area_links(
        "/carbon",
        dist["counties"],
        keys,
        "grade",
        filters,
        level=dist["level"],
        linked=tuple(str(g) for g in views.GRADES),  # the list has no "ungraded" filter
        year=dist["year"],
    )
    return {
        "id": "carbon-cockpit",
        "title_zh": f"碳效等级分布（{dist['year'] or '—'} 年度）",
        "title_en": f"Carbon grades ({dist['year'] or '—'})",
        "template": "carbon_cockpit.html",
        "dist": dist,
        "links": links,
        "chart": stacked_by_county(
            dist["counties"],
            keys,
            "carbon.grade.{}",
            [str(c) for c in views.grade_colours(dist["year"])] + [UNGRADED_COLOUR],
            links,
        ),
    }
