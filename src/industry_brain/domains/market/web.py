"""Web pages of the market service.

- ``/market``: the catalog with Chinese full-text search (every role with ``market.view``);
- ``/market/solutions/{id}`` (``?version=N``): a solution, its versions, the request-contact
  button for an enterprise, the edit form for its provider;
- ``/market/providers`` and ``/market/providers/{id}``: the registry and a provider's page
  (officers link and unlink the accounts acting for it, the administrator creates one);
- ``/market/review``: the officers' review queue (approve / reject with a note);
- ``/market/find``: the enterprise's ranked, explained solutions and providers (budget filter);
- ``/market/leads``: the enterprise's leads (rating after delivery) or the officers' view;
- ``/market/desk``: the provider's desk — its solutions (new ones, versions) and its leads.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from industry_brain.core.errors import ConflictError, Location, NotFoundError, ValidationError
from industry_brain.domains.market import codes, matching, service
from industry_brain.domains.market.models import MarketLead
from industry_brain.store import audit
from industry_brain.store.scope import PermissionDenied, Scope
from industry_brain.web import flash
from industry_brain.web.deps import CsrfDep, DbDep, ScopeDep
from industry_brain.web.errors import status_of

router = APIRouter(include_in_schema=False)


def _today(request: Request) -> date:
    return request.app.state.settings.current_date()


def _lang(request: Request) -> str:
    from industry_brain.web.app_helpers import page_lang

    return page_lang(request)


def _render(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> Response:
    base = {
        "codes": codes,
        "subdomains": codes.subdomains(),
    }
    return request.app.state.render(request, name, {**base, **ctx}, status)


def _fields(
    title: str,
    summary: str,
    subdomains: list[str],
    industries: str,
    sizes: list[str],
    price_min: str,
    price_max: str,
    delivery_days: str,
    case_enterprise: str,
    case_industry: str,
    case_result: str,
) -> dict[str, Any]:
    cases = []
    if case_enterprise.strip() or case_result.strip():
        cases.append(
            {"enterprise": case_enterprise, "industry": case_industry, "result": case_result}
        )
    return {
        "title": title,
        "summary": summary,
        "subdomains": subdomains,
        "industries": [x for x in industries.replace("，", ",").replace("、", ",").split(",")],
        "sizes": sizes,
        "price_min": price_min,
        "price_max": price_max,
        "delivery_days": delivery_days,
        "cases": cases,
    }


Text = Annotated[str, Form(max_length=4000)]
Short = Annotated[str, Form(max_length=200)]


@router.get("/market")
def catalog_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    scope.require("market.view")
    items = service.catalog(db, q, limit=50)
    return _render(
        request,
        "market_catalog.html",
        {
            "q": q,
            "items": items,
            "can_review": scope.can("market.review"),
            "is_provider": scope.role == "provider",
            "is_enterprise": scope.can("market.request"),
            "can_leads": scope.can("market.leads"),
        },
    )


@router.get("/market/solutions/{solution_id}")
def solution_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    solution_id: int,
    version: Annotated[int | None, Query(ge=1, le=100000)] = None,
) -> Response:
    d = service.solution_detail(db, scope, solution_id, version)
    return _render(
        request,
        "market_solution.html",
        {**d, "can_request": scope.can("market.request"), "today": _today(request)},
    )


@router.post("/market/solutions/{solution_id}/versions")
def new_version(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    solution_id: int,
    title: Short,
    price_min: Annotated[str, Form(max_length=20)],
    price_max: Annotated[str, Form(max_length=20)],
    delivery_days: Annotated[str, Form(max_length=10)],
    summary: Text = "",
    subdomains: Annotated[list[str] | None, Form()] = None,
    industries: Short = "",
    sizes: Annotated[list[str] | None, Form()] = None,
    case_enterprise: Short = "",
    case_industry: Annotated[str, Form(max_length=8)] = "",
    case_result: Text = "",
) -> Response:
    fields = _fields(
        title,
        summary,
        subdomains or [],
        industries,
        sizes or [],
        price_min,
        price_max,
        delivery_days,
        case_enterprise,
        case_industry,
        case_result,
    )
    v = service.edit_solution(db, scope, solution_id, fields)
    db.commit()
    return RedirectResponse(f"/market/solutions/{solution_id}?version={v.version}", status_code=303)


@router.post("/market/solutions/{solution_id}/contact")
def contact(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    solution_id: int,
    message: Text = "",
    reason: Text = "",
) -> Response:
    lead = service.request_contact(db, scope, solution_id, message, reason)
    db.commit()
    return RedirectResponse(f"/market/leads?requested={lead.id}", status_code=303)


@router.get("/market/providers")
def providers_page(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    scope.require("market.view")
    return _render(
        request,
        "market_providers.html",
        {"items": service.providers(db), "can_manage": scope.can("market.manage")},
    )


@router.post("/market/providers")
def register_provider(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    uscc: Annotated[str, Form(max_length=40)],
    name: Short,
    kind: Annotated[str, Form(max_length=32)],
    regions: Short = "",
    staff: Annotated[int, Form(ge=0, le=1_000_000)] = 0,
) -> Response:
    codes_ = [r for r in regions.replace("，", ",").replace("、", ",").split(",") if r.strip()]
    p = service.register_provider(db, scope, uscc, name, kind, codes_, staff)
    db.commit()
    return RedirectResponse(f"/market/providers/{p.id}", status_code=303)


@router.post("/market/providers/{provider_id}/recognitions")
def add_recognition(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    provider_id: int,
    kind: Annotated[str, Form(max_length=32)],
    year: Annotated[int, Form(ge=2000, le=2100)],
    issuer: Short,
    expires: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    try:
        until = date.fromisoformat(expires) if expires.strip() else None
    except ValueError as exc:
        raise ValidationError(
            "market.expiry_date",
            f"有效期“{expires}”不是日期（YYYY-MM-DD）",
            f"the expiry '{expires}' is not a date (YYYY-MM-DD)",
            Location(field="expires"),
        ) from exc
    service.add_recognition(db, scope, provider_id, kind, year, issuer, until)
    db.commit()
    return RedirectResponse(f"/market/providers/{provider_id}", status_code=303)


def _provider_page(
    request: Request, db: Session, scope: Scope, provider_id: int, **ctx: Any
) -> Response:
    """A provider's page; officers also see the accounts acting for it with the link, unlink
    and (administrator) new-account forms. ``ctx``: a failed form's ``link_error`` /
    ``account_error`` (shown beside its field), what was typed (``form``), ``status_code``."""
    d = service.provider_detail(db, provider_id, _today(request))
    manage = scope.can("market.manage")
    status = int(ctx.pop("status_code", 200))
    page = {
        **d,
        "can_manage": manage,
        "can_create_accounts": scope.can("market.provider_accounts"),
        "accounts": service.provider_users(db, provider_id) if manage else [],
        "password_min": service.PASSWORD_MIN,
        **ctx,
    }
    return _render(request, "market_provider.html", page, status)


@router.get("/market/providers/{provider_id}")
def provider_page(request: Request, db: DbDep, scope: ScopeDep, provider_id: int) -> Response:
    scope.require("market.view")
    return _provider_page(request, db, scope, provider_id)


@router.get("/market/providers/{provider_id}/users", response_class=HTMLResponse)
def provider_user_options(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    provider_id: int,
    username: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """Search-as-you-type of the link form (the input's own value, ``username``): up to 20
    active accounts of role ``provider`` whose username or name contains it, as ``<option>``
    elements naming the provider each already acts for."""
    scope.require("market.manage")
    rows = service.find_provider_users(db, username)
    return _render(request, "_market_user_options.html", {"rows": rows})


@router.post("/market/providers/{provider_id}/users")
def link_provider_user(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    provider_id: int,
    username: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Link an account of role ``provider`` to this provider; a refusal is shown beside the
    field with what was typed."""
    scope.require("market.manage")
    try:
        user = service.link_user(db, scope, username, provider_id)
    except (ValidationError, ConflictError, NotFoundError) as exc:
        return _account_refused(
            request, db, scope, provider_id, exc, ("username",), "link_error", username=username
        )
    return _account_done(request, db, provider_id, "flash.market_user_linked", user.username)


@router.post("/market/providers/{provider_id}/users/{user_id}/unlink")
def unlink_provider_user(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    provider_id: int,
    user_id: int,
) -> Response:
    user = service.unlink_user(db, scope, provider_id, user_id)
    return _account_done(request, db, provider_id, "flash.market_user_unlinked", user.username)


@router.post("/market/providers/{provider_id}/accounts")
def create_provider_account(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    provider_id: int,
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A new account of role ``provider`` acting for this provider (the administrator); a
    refusal is shown beside its field, the typed username and name kept (never the password)."""
    from industry_brain.web.auth import hash_password

    scope.require("market.provider_accounts")
    try:
        user = service.create_provider_user(
            db, scope, provider_id, username, display_name, password, hash_password
        )
    except (ValidationError, ConflictError) as exc:
        return _account_refused(
            request,
            db,
            scope,
            provider_id,
            exc,
            ("username", "display_name", "password"),
            "account_error",
            new_username=username,
            display_name=display_name,
        )
    return _account_done(request, db, provider_id, "flash.market_account_created", user.username)


def _account_refused(
    request: Request,
    db: Session,
    scope: Scope,
    provider_id: int,
    exc: ValidationError | ConflictError | NotFoundError,
    fields: tuple[str, ...],
    error_key: str,
    **typed: str,
) -> Response:
    """The provider's page again with a refusal of one of ``fields`` beside it and what was
    typed (never a password); a refusal of anything else is raised as it is."""
    if exc.problem.location.field not in fields:
        raise exc
    db.rollback()
    return _provider_page(
        request,
        db,
        scope,
        provider_id,
        **{error_key: exc.to_dict()},
        form=typed,
        status_code=status_of(exc),
    )


def _account_done(
    request: Request, db: Session, provider_id: int, key: str, username: str
) -> Response:
    db.commit()
    return flash.redirect(request, f"/market/providers/{provider_id}", key, username=username)


@router.get("/market/review")
def review_page(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    scope.require("market.review")
    return _render(request, "market_review.html", {"items": service.queue(db)})


@router.post("/market/import")
def import_collection(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Import the bureau's solution collection uploaded through the platform's upload staging
    (size limit, safe name, the uploader's own folder): all rows or nothing — any problem is
    listed by file, sheet, row and column and nothing is written."""
    import shutil

    from industry_brain.core.errors import IBError
    from industry_brain.domains.market import importer
    from industry_brain.web import imports

    scope.require("market.manage")
    settings = request.app.state.settings
    token = imports.stage(scope, file.filename, file.file, settings.upload_max_mb << 20)
    path = imports.staged_file(scope, token)
    ctx: dict[str, Any] = {"file": path.name}
    status = 200
    try:
        try:
            ctx["done"] = importer.import_solutions(db, scope, path)
            db.commit()
        except importer.ImportRejected as exc:
            db.rollback()
            ctx["problems"], status = exc.problems, 422
        except IBError as exc:
            db.rollback()
            ctx["error"], status = exc.problem, 422
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    response = _render(request, "market_review.html", {"items": service.queue(db), **ctx})
    response.status_code = status
    return response


@router.post("/market/review/{solution_id}/{version}")
def review(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    solution_id: int,
    version: int,
    decision: Annotated[str, Form(max_length=10)],
    note: Text = "",
) -> Response:
    service.review(db, scope, solution_id, version, decision, note)
    db.commit()
    return RedirectResponse("/market/review", status_code=303)


@router.get("/market/find")
def find_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    budget: Annotated[float | None, Query(ge=0, le=1e7)] = None,
) -> Response:
    scope.require("market.request")
    if not scope.enterprise_id:
        raise PermissionDenied("market.no_enterprise", "未关联企业", "no enterprise linked")
    lang = _lang(request)
    data = matching.for_enterprise(db, scope.enterprise_id, budget, lang, _today(request))
    audit.record(
        db,
        scope.username,
        "market.match",
        "enterprise",
        str(scope.enterprise_id),
        {"budget": budget, "results": len(data["solutions"])},
        user_id=scope.user_id,
    )
    db.commit()
    return _render(request, "market_find.html", {"m": data, "budget": budget})


@router.get("/market/leads")
def leads_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    requested: Annotated[int | None, Query(ge=1, le=10**12)] = None,
) -> Response:
    if not (scope.can("market.request") or scope.can("market.leads")):
        scope.require("market.leads")
    items = service.leads_for(db, scope)
    return _render(
        request,
        "market_leads.html",
        {"items": items, "requested": requested, "is_enterprise": scope.can("market.request")},
    )


@router.post("/market/leads/{lead_id}/rate")
def rate(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    lead_id: int,
    score: Annotated[int, Form(ge=1, le=5)],
    comment: Text = "",
) -> Response:
    service.rate(db, scope, lead_id, score, comment)
    db.commit()
    return RedirectResponse("/market/leads", status_code=303)


@router.post("/market/leads/{lead_id}/status")
def lead_status(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    lead_id: int,
    status: Annotated[str, Form(max_length=16)],
    amount: Annotated[float | None, Form(ge=0, le=1e9)] = None,
) -> Response:
    if scope.role != "provider":
        scope.require("market.provider_desk")
    service.update_lead(db, scope, lead_id, status, amount)
    db.commit()
    return RedirectResponse("/market/desk", status_code=303)


@router.get("/market/desk")
def desk(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    scope.require("market.provider_desk")
    own = service.provider_of(db, scope)
    return _render(
        request,
        "market_desk.html",
        {
            "own": own,
            "solutions": service.provider_solutions(db, own.id) if own else [],
            "leads": service.leads_for(db, scope) if own else [],
            "programme_desk": _programme_desk(scope),
        },
    )


def _programme_desk(scope: Scope) -> str | None:
    """The programmes service's desk of diagnosis tasks, when that service is registered on the
    contract and the caller may open it (a link; its modules are not imported)."""
    from industry_brain import contract

    svc = contract.services().get("programmes")
    if svc is None or svc.web_router is None:
        return None
    if "programmes.provider_desk" not in svc.permissions:
        return None
    return "/programmes/desk" if scope.can("programmes.provider_desk") else None


@router.post("/market/desk/solutions")
def desk_new_solution(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    title: Short,
    price_min: Annotated[str, Form(max_length=20)],
    price_max: Annotated[str, Form(max_length=20)],
    delivery_days: Annotated[str, Form(max_length=10)],
    summary: Text = "",
    subdomains: Annotated[list[str] | None, Form()] = None,
    industries: Short = "",
    sizes: Annotated[list[str] | None, Form()] = None,
    case_enterprise: Short = "",
    case_industry: Annotated[str, Form(max_length=8)] = "",
    case_result: Text = "",
) -> Response:
    scope.require("market.provider_desk")
    fields = _fields(
        title,
        summary,
        subdomains or [],
        industries,
        sizes or [],
        price_min,
        price_max,
        delivery_days,
        case_enterprise,
        case_industry,
        case_result,
    )
    s = service.create_solution(db, scope, fields)
    db.commit()
    return RedirectResponse(f"/market/solutions/{s.id}", status_code=303)


def portal_section(session: Session, scope: Scope) -> dict[str, Any] | None:
    """The enterprise portal's card: find a solution, and its leads by status."""
    if scope.role != "enterprise" or not scope.enterprise_id:
        return None
    from sqlalchemy import func, select

    counts = dict(
        session.execute(
            select(MarketLead.status, func.count())
            .where(MarketLead.enterprise_id == scope.enterprise_id)
            .group_by(MarketLead.status)
        ).all()
    )
    return {
        "title_zh": "智改数转服务市场",
        "title_en": "Service market (智改数转)",
        "rows": [],
        "template": "market_section.html",
        "id": "market-portal",
        "counts": counts,
    }
