"""HTML pages. Each route parses input, takes the caller's scope, calls one scoped repository
or service function and renders; permissions and scope live in the data-access layer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from industry_brain.core import formatting, parameters
from industry_brain.core.errors import IBError
from industry_brain.store import scoped
from industry_brain.store.scope import Scope
from industry_brain.web import auth, flash, imports, lists
from industry_brain.web.app_helpers import page_lang
from industry_brain.web.deps import (
    LANG_COOKIE,
    CsrfDep,
    DbDep,
    PrincipalDep,
    ScopeDep,
    SettingsDep,
    client_ip,
    request_id,
)
from industry_brain.web.domains import KNOWN, call_section
from industry_brain.web.errors import status_of
from industry_brain.web.i18n import LANGUAGES, Translator
from industry_brain.web.query import Year

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parents[1] / "static"


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return request.app.state.render(request, name, context, status_code)


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login or a language switch."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _set_session_cookie(response: Response, settings: Any, value: str, max_age: int) -> None:
    response.set_cookie(
        auth.SESSION_COOKIE,
        value,
        max_age=max_age,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def home_for(scope: Scope) -> str:
    if scope.can("cockpit.view"):
        return "/cockpit"
    homes = {"agent": "/agent", "enterprise": "/portal", "bank": "/bank"}
    homes["assessor"] = "/diagnosis/assessor"  # the diagnosis service's assessors
    homes["provider"] = "/market/desk"  # the market service's provider users
    return homes.get(scope.role, "/login")


@router.get("/")
def index(principal: PrincipalDep) -> Response:
    if principal.user is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(home_for(principal.scope), status_code=303)


# -- docs and icon -------------------------------------------------------------------------------
@router.get("/docs")
def api_docs(request: Request) -> Response:
    """Swagger UI of the JSON API from the vendored ``swagger-ui-dist`` (no CDN, no inline
    script: the page keeps the platform's Content-Security-Policy)."""
    return _render(request, "docs.html", openapi_url=request.app.openapi_url or "/openapi.json")


@router.get("/favicon.ico")
def favicon() -> Response:
    return FileResponse(
        STATIC / "favicon.ico",
        media_type="image/vnd.microsoft.icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )


# -- login / logout / language -----------------------------------------------------------------
@router.get("/login")
def login_page(
    request: Request,
    principal: PrincipalDep,
    settings: SettingsDep,
    next: str = "/",
) -> Response:
    if principal.user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    # stateless: the form's CSRF token signs the nonce of the ib_login cookie (nothing stored)
    nonce = auth.login_nonce(request.cookies.get(auth.LOGIN_COOKIE))
    response = _render(
        request,
        "login.html",
        next=_safe_next(next),
        error=None,
        csrf_token=auth.login_csrf_token(settings, nonce),
    )
    if request.cookies.get(auth.LOGIN_COOKIE) != nonce:
        _set_login_cookie(response, settings, nonce)
    return response


def _set_login_cookie(response: Response, settings: Any, nonce: str) -> None:
    response.set_cookie(
        auth.LOGIN_COOKIE,
        nonce,
        max_age=settings.anonymous_session_minutes * 60,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


@router.post("/login")
def login_submit(
    request: Request,
    db: DbDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    nonce = request.cookies.get(auth.LOGIN_COOKIE)
    auth.check_login_csrf(settings, nonce, csrf_token)
    try:
        user = auth.authenticate(db, settings, username, password, client_ip(request), request_id())
    except (auth.AuthError, auth.Throttled) as exc:
        status = 429 if isinstance(exc, auth.Throttled) else 401
        return _render(
            request,
            "login.html",
            status,
            next=_safe_next(next),
            error=exc.to_dict(),
            username=username,
            csrf_token=csrf_token,
        )
    lang = request.cookies.get(LANG_COOKIE)
    old = principal.session.cookie if principal.session else None
    info = auth.login(
        db, settings, user, old, lang if lang in LANGUAGES else None, client_ip(request)
    )
    auth.purge_expired(db)
    db.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    _set_session_cookie(response, settings, info.cookie, settings.session_hours * 3600)
    response.delete_cookie(
        auth.LOGIN_COOKIE, path="/", secure=settings.cookie_secure, httponly=True, samesite="lax"
    )
    return response


@router.post("/logout")
def logout(
    request: Request, db: DbDep, principal: PrincipalDep, settings: SettingsDep, _csrf: CsrfDep
) -> Response:
    auth.end_session(db, principal.session.cookie if principal.session else None)
    db.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        auth.SESSION_COOKIE,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/lang/{code}")
def switch_language(code: str, settings: SettingsDep, next: str = "/") -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            code,
            max_age=365 * 86400,
            path="/",
            secure=settings.cookie_secure,
            httponly=True,
            samesite="lax",
        )
    return response


# -- cockpit -----------------------------------------------------------------------------------
def _section(fn: Any, *args: Any, **optional: Any) -> dict | None:
    try:
        return call_section(fn, *args, **optional)
    except IBError:
        return None


def _sections(
    request: Request, hook: str, *args: Any, cache_scope: Scope | None = None
) -> list[dict]:
    """The sections the domain services contribute to a page (``hook`` names the function).

    With ``cache_scope`` (the cockpit), a service that has a ``cockpit_stamp`` gets its section
    cached per scope, language and day until its stamp, the import stamp or the parameters
    change.
    """
    today = request.app.state.settings.current_date()
    lang = page_lang(request)
    db = args[0]
    out = []
    for name, entry in request.app.state.domains.items():
        fn = getattr(entry, hook)
        if fn is None:
            continue

        def compute(fn: Any = fn) -> dict | None:
            return _section(fn, *args, today=today, lang=lang)

        if cache_scope is None or entry.cockpit_stamp is None:
            section = compute()
        else:
            stamp = (
                scoped.data_stamp(db),
                entry.cockpit_stamp(db),
                parameters.load().version(),
            )
            key = (cache_scope.cache_key, f"{hook}:{name}", lang, today.isoformat())
            section = scoped.cached(db, key, stamp, compute)
        if section is not None:
            out.append(section)
    return out


# -- enterprises -------------------------------------------------------------------------------
def _scale_text(row: Any, t: Translator) -> str:
    flag = row.get("above_scale")
    return t("scale.above") if flag else (t("scale.below") if flag is False else "")


def _code_name(code_key: str, name_key: str) -> Any:
    def value(row: Any, t: Translator) -> str:
        code, name = row.get(code_key), row.get(name_key)
        return f"{code} {name}" if code and name else str(code or name or "")

    return value


ENTERPRISES = lists.ListSpec(
    "enterprises",
    (
        lists.Column("name", "col.name"),
        lists.Column("uscc", "col.uscc"),
        lists.Column("county", "col.county", value=lambda r, t: r.get("county_name")),
        lists.Column(
            "industry", "col.industry", value=_code_name("industry_code", "industry_name")
        ),
        lists.Column("scale", "col.scale", sortable=False, value=_scale_text),
        lists.Column("status", "col.status", value=lists.coded("ent_status.", "status")),
    ),
    default_sort="name",
)


@router.get("/enterprises")
def enterprise_search(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    county: Annotated[str | None, Query(max_length=6)] = None,
    industry: Annotated[str | None, Query(max_length=4)] = None,
    scale: Annotated[str | None, Query(max_length=5)] = None,
) -> Response:
    scope.require("enterprise.search")
    filters = {
        "q": q or "",
        "county": county or "",
        "industry": industry or "",
        "scale": scale or "",
    }
    state = lists.read(request, ENTERPRISES, filters)
    result = scoped.search_enterprises(
        db,
        scope,
        q=q,
        county=county or None,
        industry=industry or None,
        scale=scale or None,
        page=state.page,
        per_page=None if state.export else state.size,
        sort=state.sort,
        desc=state.desc,
    )
    state.paged(result.total)
    if state.export:
        return lists.export_response(db, scope, state, result.items, page_lang(request))
    template = "_results.html" if request.headers.get("hx-request") else "enterprises.html"
    return _render(
        request,
        template,
        result=result,
        state=state,
        filters=filters,
        vetoed=lists.vetoed(db, (e["uscc"] for e in result.items)),
        counties=scoped.counties(db, scope),
        industries=scoped.industry_divisions(db),
    )


@router.get("/enterprises/{uscc}")
def enterprise_profile(request: Request, db: DbDep, scope: ScopeDep, uscc: str) -> Response:
    profile = scoped.enterprise_profile(db, scope, uscc, request_id())
    db.commit()  # the audit entry of this view
    plugins = request.app.state.domains
    sections = _sections(request, "profile_section", db, scope, profile["uscc"])
    missing = [
        KNOWN[name][0]
        for name in ("mujun", "carbon", "projects")
        if name not in plugins or plugins[name].profile_section is None
    ]
    years = sorted({y for by_year in profile["facts"].values() for y in by_year})
    return _render(
        request,
        "profile.html",
        p=profile,
        years=years,
        items=[i for i in scoped.KEY_ITEMS if i in profile["facts"]]
        + sorted(i for i in profile["facts"] if i not in scoped.KEY_ITEMS),
        sections=sections,
        missing_sections=missing,
    )


@router.get("/enterprises/{uscc}/facts/{item}/{year}")
def fact_lineage(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    uscc: str,
    item: str,
    year: int,
) -> Response:
    explained = scoped.explain_fact(db, scope, uscc, year, item, request_id())
    db.commit()
    return _render(request, "_lineage.html", e=explained)


# -- import ------------------------------------------------------------------------------------
@router.get("/import")
def import_page(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    scope.require("import.run")
    return _render(
        request,
        "import.html",
        kinds=imports.KINDS,
        report=None,
        batches=scoped.import_batches(db, scope, limit=10),
    )


def _year(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


@router.post("/import/preview")
def import_preview(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    settings: SettingsDep,
    _csrf: CsrfDep,
    kind: Annotated[str, Form(max_length=32)],
    file: Annotated[UploadFile, File()],
    sheet: Annotated[str | None, Form(max_length=100)] = None,
    year: Annotated[str | None, Form(max_length=4)] = None,
) -> Response:
    imports.check_kind(kind)
    token = imports.stage(scope, file.filename, file.file, settings.upload_max_mb << 20)
    return _preview_page(request, db, scope, token, kind, sheet, year)


@router.post("/import/preview/again")
def import_preview_again(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    token: Annotated[str, Form(max_length=32)],
    kind: Annotated[str, Form(max_length=32)],
    sheet: Annotated[str | None, Form(max_length=100)] = None,
    year: Annotated[str | None, Form(max_length=4)] = None,
) -> Response:
    """The preview of an upload already staged, with another kind (the suggested one)."""
    imports.check_kind(kind)
    return _preview_page(request, db, scope, token, kind, sheet, year)


def _preview_page(
    request: Request,
    db: Any,
    scope: Scope,
    token: str,
    kind: str,
    sheet: str | None,
    year: str | None,
) -> Response:
    report = imports.preview(
        scope,
        token,
        kind,
        sheet or None,
        _year(year),
        request.app.state.engine,
        on_day=request.app.state.settings.today,  # the platform's day, when it is fixed
    )
    suggestion = None
    if not report["rows_loaded"] or any(sh["missing"] for sh in report["mapping"]):
        current = imports.recognised(report["mapping"])
        suggestion = imports.suggest_kind(scope, token, kind, sheet or None, current)
    template = "_import_report.html" if request.headers.get("hx-request") else "import.html"
    return _render(
        request,
        template,
        kinds=imports.KINDS,
        report=report,
        suggestion=suggestion,
        sheet=sheet or "",
        year=year or "",
        batches=scoped.import_batches(db, scope, limit=10),
    )


@router.post("/import/commit")
def import_commit(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    token: Annotated[str, Form(max_length=32)],
    kind: Annotated[str, Form(max_length=32)],
    sheet: Annotated[str | None, Form(max_length=100)] = None,
    year: Annotated[str | None, Form(max_length=4)] = None,
    accept_valid: Annotated[str | None, Form(max_length=8)] = None,
) -> Response:
    report = imports.commit(
        scope,
        token,
        kind,
        sheet or None,
        _year(year),
        accept_valid == "1",
        request.app.state.engine,
        request.app.state.settings.import_wait_seconds,
        on_day=request.app.state.settings.today,
    )
    htmx = bool(request.headers.get("hx-request"))
    status = report.get("status")
    key = {"committed": "flash.import_committed", "partial": "flash.import_committed"}.get(
        status or "", "flash.import_rejected" if status == "rejected" else None
    )
    message = None
    if key and report.get("batch_id"):
        message = flash.text(
            page_lang(request),
            key,
            batch=report["batch_id"],
            rows=formatting.integer(report.get("rows_loaded") or 0),
        )
    return _render(
        request,
        "_import_report.html" if htmx else "import.html",
        kinds=imports.KINDS,
        report=report,
        flash=message,
        committed=True,
        refresh_batches=htmx,  # the list below the form, swapped out of band
        batches=scoped.import_batches(db, scope, limit=10),
    )


@router.get("/import/{token}/workbook")
def import_workbook(db: DbDep, scope: ScopeDep, token: str) -> Response:
    path = imports.workbook(scope, token)
    scoped.record_export(db, scope, "import_workbook", token, {"file": path.name}, request_id())
    db.commit()
    return FileResponse(
        path,
        filename=path.name,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


BATCHES = lists.ListSpec(
    "batches",
    (
        lists.Column("id", "list.col.id"),
        lists.Column("kind", "col.kind", value=lists.coded("kind.", "kind")),
        lists.Column("file_name", "col.file"),
        lists.Column("status", "col.status", value=lists.coded("status.", "status")),
        lists.Column("year", "list.col.year"),
        lists.Column("rows_total", "col.rows"),
        lists.Column("rows_loaded", "col.loaded"),
        lists.Column("rows_rejected", "col.rejected"),
        lists.Column("created_at", "col.time"),
    ),
    default_sort="id",
    default_desc=True,
    sizes=(20, 50, 100),
    default_size=50,
)


@router.get("/import/batches")
def batch_list(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    year: Annotated[Year, Query()] = None,
) -> Response:
    """Every import batch: filtered by kind, status and year, sorted, paged, exported."""
    scope.require("import.run")
    filters = {"kind": kind or "", "status": status or "", "year": year or ""}
    state = lists.read(request, BATCHES, filters)
    result = scoped.batch_search(
        db,
        scope,
        kind=kind or None,
        status=status or None,
        year=year,
        page=state.page,
        per_page=None if state.export else state.size,
        sort=state.sort,
        desc=state.desc,
    )
    state.paged(result.total)
    if state.export:
        return lists.export_response(db, scope, state, result.items, page_lang(request))
    return _render(
        request,
        "batches.html",
        result=result,
        state=state,
        filters=filters,
        choices=scoped.batch_choices(db),
    )


# -- admin -------------------------------------------------------------------------------------
AUDIT = lists.ListSpec(
    "audit",
    (
        lists.Column("id", "list.col.id"),
        lists.Column("at", "col.time"),
        lists.Column("actor", "audit.actor"),
        lists.Column("action", "audit.action", value=lists.coded("audit.action.", "action")),
        lists.Column("object_id", "audit.object"),
        lists.Column(
            "detail",
            "audit.detail",
            sortable=False,
            value=lambda r, t: json.dumps(r.get("detail") or {}, ensure_ascii=False, default=str),
        ),
        lists.Column("request_id", "audit.request", sortable=False),
    ),
    default_sort="id",
    default_desc=True,
    sizes=(50, 100),
    default_size=50,
)


@router.get("/admin/audit")
def audit_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    filters = {"actor": actor or "", "action": action or "", "object_id": object_id or ""}
    state = lists.read(request, AUDIT, filters)
    result = scoped.audit_search(
        db,
        scope,
        actor=actor or None,
        action=action or None,
        object_id=object_id or None,
        page=state.page,
        per_page=None if state.export else state.size,
        sort=state.sort,
        desc=state.desc,
    )
    state.paged(result.total)
    if state.export:
        return lists.export_response(db, scope, state, result.items, page_lang(request))
    names = scoped.display_names(db, (a["actor"] for a in result.items))
    return _render(request, "audit.html", result=result, state=state, filters=filters, names=names)


@router.get("/admin/tokens")
def tokens_page(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    scope.require("token.manage")
    return _render(request, "tokens.html", tokens=auth.list_api_tokens(db), new_token=None)


@router.post("/admin/tokens")
def tokens_create(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    username: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=100)],
    days: Annotated[str | None, Form(max_length=6, pattern=r"^\d*$")] = None,
) -> Response:
    scope.require("token.manage")
    from industry_brain.web.tokens import issue_token

    try:
        token = issue_token(
            db, scope, username, name, request_id(), days=int(days) if days else None
        )
    except IBError as exc:  # shown next to its field, the form kept
        db.rollback()
        return _render(
            request,
            "tokens.html",
            status_of(exc),
            tokens=auth.list_api_tokens(db),
            new_token=None,
            form_error=exc.to_dict(),
            form={"username": username, "name": name, "days": days or ""},
        )
    db.commit()
    return _render(
        request,
        "tokens.html",
        tokens=auth.list_api_tokens(db),
        new_token=token,
        flash=flash.text(page_lang(request), "flash.token_created", name=name),
    )


@router.post("/admin/tokens/{token_id}/revoke")
def tokens_revoke(
    request: Request, db: DbDep, scope: ScopeDep, _csrf: CsrfDep, token_id: int
) -> Response:
    scope.require("token.manage")
    from industry_brain.web.tokens import revoke_token

    revoke_token(db, scope, token_id, request_id())
    db.commit()
    response = RedirectResponse("/admin/tokens", status_code=303)
    return flash.flash(response, "flash.token_revoked", request.app.state.settings.cookie_secure)


# -- portals -----------------------------------------------------------------------------------
def _section_lists(
    request: Request, db: Any, scope: Scope, sections: list[dict]
) -> Response | None:
    """Tables of the services' sections as lists: a section's ``lists`` maps a key of its
    rows to a :class:`lists.ListSpec` (with its own parameter prefix); the sorted page goes
    to ``section["list_<key>"]`` (``state``, ``rows``). An export of one answers the file."""
    for section in sections:
        for key, spec in (section.get("lists") or {}).items():
            state = lists.read(request, spec)
            shown = state.apply(section.get(key) or [])
            if state.export:
                return lists.export_response(db, scope, state, shown, page_lang(request))
            section[f"list_{key}"] = {"state": state, "rows": shown}
    return None


@router.get("/portal")
def enterprise_portal(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    """The enterprise's own page: its file (一企一档) at a glance and what the services offer
    it (carbon code and bank consents, tickets…)."""
    return portal_page(request, db, scope)


def portal_page(
    request: Request, db: Any, scope: Scope, status_code: int = 200, **extra: Any
) -> Response:
    """The enterprise portal; ``extra`` carries a failed form back (its error beside the
    field, what was typed), e.g. a consent the carbon service refused."""
    from industry_brain.web.routes.desks import PORTAL_LOANS, own_loans, portal_desk

    own = scoped.own_enterprise(db, scope)
    sections = _sections(request, "portal_section", db, scope)
    exported = _section_lists(request, db, scope, sections)
    if exported is None:  # the enterprise's own loans (read-only, the read audited)
        loans = lists.read(request, PORTAL_LOANS)
        loan_rows = loans.apply(own_loans(db, scope))
        if loans.export:
            exported = lists.export_response(db, scope, loans, loan_rows, page_lang(request))
    db.commit()  # audit entries the services' sections and the loans read may write
    if exported is not None:
        return exported
    desk = portal_desk(db, scope, request.app.state.settings.current_date())
    desk["loans"] = {"state": loans, "rows": loan_rows}
    return _render(
        request, "portal.html", status_code, p=own, sections=sections, desk=desk, **extra
    )


AGENT_ENTERPRISES = lists.ListSpec(
    "agent_enterprises",
    (
        lists.Column("name", "col.name"),
        lists.Column("uscc", "col.uscc"),
        lists.Column("county_code", "col.county", value=lambda r, t: r.get("county_name")),
        lists.Column(
            "industry_code", "col.industry", value=_code_name("industry_code", "industry_name")
        ),
        lists.Column(
            "veto",
            "list.vetoed",
            sortable=False,
            show=False,
            value=lists.flag("veto", "list.vetoed"),
        ),
    ),
    default_sort="name",
    sizes=(20, 50, 100),
    default_size=20,
    prefix="e_",
)


def _agent_enterprises(
    request: Request,
    db: Any,
    scope: Scope,
    county: str | None,
    industry: str | None,
    q: str | None = None,
) -> tuple[lists.ListState, list[dict[str, Any]], list[dict[str, Any]]]:
    """The agent's enterprises as a list (filtered by county and industry division): its
    state, the rows shown (all of them when exporting) and every assigned firm."""
    everyone = scoped.agent_enterprises(db, scope)
    state = lists.read(
        request,
        AGENT_ENTERPRISES,
        {"county": county or "", "industry": industry or "", "q": q or ""},
    )
    text = (q or "").strip().upper()
    wanted = [
        e
        for e in everyone
        if (not county or e["county_code"] == county)
        and (not industry or (e["industry_code"] or "").startswith(industry))
        and (not text or text in e["name"].upper() or text in e["uscc"])
    ]
    vetoed = lists.vetoed(db, (e["uscc"] for e in wanted))
    for e in wanted:
        e["veto"] = e["uscc"] in vetoed
    return state, state.apply(wanted), everyone


@router.get("/agent")
def agent_portal(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    county: Annotated[str | None, Query(max_length=6)] = None,
    industry: Annotated[str | None, Query(max_length=4)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    from industry_brain.web.routes.desks import agent_desk  # the desk (warnings, tickets…)

    estate, shown, everyone = _agent_enterprises(request, db, scope, county, industry, q)
    if estate.export:
        return lists.export_response(db, scope, estate, shown, page_lang(request))
    return _render(
        request,
        "agent.html",
        enterprises=everyone,
        estate=estate,
        erows=shown,
        ecounties=sorted(
            {(e["county_code"], e["county_name"]) for e in everyone if e["county_code"]}
        ),
        eindustries=sorted(
            scoped.industry_names(
                db, {e["industry_code"][:2] for e in everyone if e["industry_code"]}
            ).items()
        ),
        projects=scoped.agent_projects(db, scope),
        desk=agent_desk(db, scope, request.app.state.settings.current_date(), q),
        # the services' desk sections (contract hook ib_desk_section): their work for the agent
        sections=_sections(request, "desk_section", db, scope),
    )


@router.get("/bank")
def bank_page(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    scope.require("consent.read")
    sections = _sections(request, "bank_section", db, scope)
    exported = _section_lists(request, db, scope, sections)
    db.commit()  # every consented read is audited
    if exported is not None:
        return exported
    return _render(request, "bank.html", sections=sections)


def add_placeholders(app: FastAPI) -> None:
    """Pages of services that are not built yet say so plainly (the service's own router,
    when it exists, is included before these and wins)."""
    taken = {getattr(r, "path", None) for r in app.routes}
    for name, (key, path, issue, _perm) in KNOWN.items():
        if path in taken:
            continue

        def page(
            request: Request,
            scope: ScopeDep,
            _key: str = key,
            _issue: int = issue,
            _name: str = name,
        ) -> Response:
            return _render(request, "not_built.html", title_key=_key, issue=_issue, service=_name)

        app.add_api_route(path, page, methods=["GET"], include_in_schema=False)
