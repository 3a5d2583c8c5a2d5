"""Web pages of 项目钉, included by the platform through discovery (``web/domains.py``).

- ``GET /projects`` — admin, officers, agents, enterprises (bank: 403): the board by stage
  with 破五未 warnings, filters (county, stage, colour, warnings only) and the warnings table;
- ``GET /projects/{code}`` — the same roles, in scope (else 404): stages, deadline and
  warning, history, progress reports, tickets;
- ``POST /projects/{code}/progress`` — the project's agent or an admin: 进度填报, optionally
  with the next stage, under the project's optimistic lock (the form carries the version);
- ``POST /projects/{code}/tickets`` — the project's agent or its enterprise: 提出难题;
- ``GET /bulletins`` — admin, city and county officers: the 百千万 county bulletin;
- ``GET /bulletins/{year}.xlsx`` — the same: the bulletin workbook, audited as an export.

Sections: ``profile_section`` (the enterprise's projects with warnings, and its tickets),
``cockpit_section`` (warnings by kind and colour), ``portal_section`` (an enterprise user's
projects and tickets). Scope and permissions live in :mod:`.views`.

"Today" is the platform's clock (``Settings.today`` / ``IB_TODAY``, else the real date): routes
take ``TodayDep``, sections receive ``today=`` from the platform.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core.errors import ConflictError, IBError, NotFoundError
from industry_brain.domains.projects import tickets as tickets_service
from industry_brain.domains.projects import views
from industry_brain.store import scoped
from industry_brain.store.models import Project
from industry_brain.store.scope import PermissionDenied, Scope
from industry_brain.web import flash
from industry_brain.web import lists as weblists
from industry_brain.web.app_helpers import page_lang
from industry_brain.web.deps import CsrfDep, DbDep, ScopeDep, TodayDep, request_id
from industry_brain.web.query import PageNumber, Year

router = APIRouter(include_in_schema=False)


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return request.app.state.render(request, name, context, status_code)


# -- board ------------------------------------------------------------------------------------
def _days_text(row: Any, t: Any) -> str:
    if row.get("days_overdue"):
        return t("projects.days_overdue", n=row["days_overdue"])
    return t("projects.days_left", n=row.get("days_left"))


WARNINGS = weblists.ListSpec(
    "warnings",
    (
        weblists.Column("code", "projects.col.project"),
        weblists.Column("name", "list.col.project_name", sortable=False, show=False),
        weblists.Column("county_code", "col.county", value=lambda r, t: r.get("county")),
        weblists.Column("stage", "col.stage", value=weblists.coded("stage.", "stage")),
        weblists.Column(
            "severity", "projects.col.kind", value=weblists.coded("projects.kind.", "kind")
        ),
        weblists.Column(
            "colour", "projects.board.colour", value=weblists.coded("projects.colour.", "colour")
        ),
        weblists.Column("deadline", "projects.col.deadline"),
        weblists.Column("days", "projects.col.days", value=_days_text),
        weblists.Column("agent", "projects.col.agent"),
    ),
    default_sort="severity",
    sizes=(20, 50, 100),
    default_size=50,
    prefix="w_",
)


@router.get("/projects")
def projects_board(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    today: TodayDep,
    county: Annotated[str | None, Query(max_length=6)] = None,
    stage: Annotated[str | None, Query(max_length=16)] = None,
    warnings: Annotated[str | None, Query(max_length=1)] = None,
    colour: Annotated[str | None, Query(max_length=8)] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[PageNumber(10000), Query()] = 1,
) -> Response:
    data = views.board(
        db,
        scope,
        today,
        county=county or None,
        stage=stage or None,
        warnings_only=warnings == "1",
        colour=colour or None,
        kind=kind or None,
        page=page,
    )
    state = weblists.read(
        request, WARNINGS, data["filters"], extra={"page": page} if page > 1 else None
    )
    shown = state.apply(data["warnings_all"])
    if state.export:
        return weblists.export_response(db, scope, state, shown, page_lang(request))
    return _render(request, "projects_board.html", d=data, wstate=state, wrows=shown)


# -- one project ------------------------------------------------------------------------------
def _detail_page(
    request: Request,
    db: Session,
    scope: Scope,
    code: str,
    today: date,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    data = views.detail(db, scope, code, today)
    people = [e["actor"] for e in data["history"]] + [r["actor"] for r in data["reports"]]
    for tk in data["tickets"]:
        people += [tk["raised_by"], *(h["actor"] for h in tk.get("history", []))]
    context: dict[str, Any] = {
        "d": data,
        "form": {},
        "form_error": None,
        "form_name": None,
        "names": scoped.display_names(db, people),  # people by name, not username
        "industries": scoped.industry_names(db, [data["project"].get("industry_code")]),
    }
    context.update(extra)
    return _render(request, "projects_detail.html", status_code, **context)


@router.get("/projects/{code}")
def project_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    today: TodayDep,
    code: str,
) -> Response:
    return _detail_page(request, db, scope, code, today)


def _form_failed(
    request: Request,
    db: Session,
    scope: Scope,
    code: str,
    today: date,
    exc: IBError,
    which: str,
    form: dict,
) -> Response:
    db.rollback()
    status = 409 if isinstance(exc, ConflictError) else 400
    if exc.code == "project.version_conflict":
        form = {k: v for k, v in form.items() if k != "version"}  # the page shows the new one
    return _detail_page(
        request,
        db,
        scope,
        code,
        today,
        status,
        form=form,
        form_error=exc.to_dict(),
        form_name=which,
    )


def _saved(request: Request, url: str, key: str) -> Response:
    """303 to ``url`` with the one-time confirmation ``key`` (web/flash.py)."""
    return flash.redirect(request, url, key)


@router.post("/projects/{code}/progress")
def project_progress(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    today: TodayDep,
    _csrf: CsrfDep,
    code: str,
    version: Annotated[str, Form(max_length=12)] = "",
    report_date: Annotated[str, Form(max_length=10)] = "",
    investment_completed: Annotated[str, Form(max_length=32)] = "",
    output: Annotated[str, Form(max_length=32)] = "",
    headcount: Annotated[str, Form(max_length=12)] = "",
    notes: Annotated[str, Form(max_length=2000)] = "",
    advance_to: Annotated[str, Form(max_length=16)] = "",
    advance_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    form = {
        "version": version,
        "report_date": report_date,
        "investment_completed": investment_completed,
        "output": output,
        "headcount": headcount,
        "notes": notes,
        "advance_to": advance_to,
        "advance_on": advance_on,
    }
    views.visible_project(db, scope, code)  # 404 before anything else
    try:
        views.submit_progress(db, scope, code, form, today)
        db.commit()
    except IBError as exc:
        if isinstance(exc, PermissionDenied | NotFoundError):  # the error page
            raise
        return _form_failed(request, db, scope, code, today, exc, "progress", form)
    return _saved(request, f"/projects/{quote(code)}#progress", "flash.progress_saved")


@router.post("/projects/{code}/tickets")
def project_ticket(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    today: TodayDep,
    _csrf: CsrfDep,
    code: str,
    title: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    category: Annotated[str, Form(max_length=16)] = "",
    department: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    form = {
        "title": title,
        "description": description,
        "category": category,
        "department": department,
    }
    views.visible_project(db, scope, code)
    try:
        views.submit_ticket(db, scope, code, form, today)
        db.commit()
    except IBError as exc:
        if isinstance(exc, PermissionDenied | NotFoundError):  # the error page
            raise
        return _form_failed(request, db, scope, code, today, exc, "ticket", form)
    return _saved(request, f"/projects/{quote(code)}#tickets", "flash.ticket_saved")


# -- 百千万 bulletin --------------------------------------------------------------------------
ENROLLED = weblists.ListSpec(
    "bulletin",
    (
        weblists.Column("program", "projects.bulletin.category"),
        weblists.Column("enrolled_on", "projects.bulletin.enrolled_on"),
        weblists.Column("project", "projects.col.project"),
        weblists.Column("name", "list.col.project_name", show=False),
        weblists.Column("county_code", "col.county", value=lambda r, t: r.get("county")),
        weblists.Column("stage", "col.stage", value=weblists.coded("stage.", "stage")),
    ),
    default_sort="enrolled_on",
    sizes=(20, 50, 100),
    default_size=50,
    prefix="e_",
)


@router.get("/bulletins")
def bulletins_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    today: TodayDep,
    year: Annotated[Year, Query()] = None,
    program: Annotated[str | None, Query(max_length=32)] = None,
    county: Annotated[str | None, Query(max_length=6)] = None,
) -> Response:
    data = views.bulletin_page(db, scope, year or today.year, today)
    state = weblists.read(
        request, ENROLLED, {"program": program or "", "county": county or ""}, {"year": year or ""}
    )
    wanted = [
        e
        for e in data["enrolled"]
        if (not program or e["program"] == program) and (not county or e["county_code"] == county)
    ]
    shown = state.apply(wanted)
    if state.export:
        return weblists.export_response(
            db, scope, state, shown, page_lang(request), str(data["year"])
        )
    return _render(
        request,
        "projects_bulletin.html",
        d=data,
        years=range(today.year, 2018, -1),
        estate=state,
        erows=shown,
        eprograms=sorted({e["program"] for e in data["enrolled"]}),
        ecounties=sorted({(e["county_code"], e["county"]) for e in data["enrolled"]}),
    )


@router.get("/bulletins/{year}.xlsx")
def bulletin_download(db: DbDep, scope: ScopeDep, today: TodayDep, year: int) -> Response:
    name, content = views.bulletin_workbook(db, scope, year, today, request_id())
    db.commit()  # the export's audit entry
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- tickets ----------------------------------------------------------------------------------
TICKETS = weblists.ListSpec(
    "tickets",
    (
        weblists.Column("id", "list.col.id"),
        weblists.Column("project", "projects.col.project"),
        weblists.Column("title", "projects.col.title"),
        weblists.Column("category", "projects.col.category"),
        weblists.Column("department_name", "projects.col.department"),
        weblists.Column("raised_on", "projects.col.raised"),
        weblists.Column("due_date", "projects.col.due"),
        weblists.Column(
            "status", "col.status", value=weblists.coded("projects.ticket_status.", "status")
        ),
        weblists.Column("days_overdue", "list.col.days_overdue"),
    ),
    default_sort="due_date",
    sizes=(20, 50, 100),
    default_size=50,
)
TICKET_STATUSES = ("open", "in_progress", "resolved", "closed")


@router.get("/tickets")
def tickets_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    today: TodayDep,
    county: Annotated[str | None, Query(max_length=6)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    overdue: Annotated[str | None, Query(max_length=1)] = None,
) -> Response:
    """破难题 tickets of the caller's projects on ``today``: filtered by county, status and
    overdue, sorted, paged and exported by the list component."""
    views.require_board(scope)
    if status and status not in TICKET_STATUSES:
        status = None
    filters = {"county": county or "", "status": status or "", "overdue": overdue or ""}
    state = weblists.read(request, TICKETS, filters)
    visible = set(db.scalars(select(Project.code).where(scope.project_clause())))
    rows = [
        t
        for t in tickets_service.list_tickets(
            db,
            today,
            county=county or None,
            status=status or None,
            overdue=True if overdue == "1" else None,
        )
        if t["project"] in visible
    ]
    shown = state.apply(rows)
    if state.export:
        return weblists.export_response(db, scope, state, shown, page_lang(request))
    return _render(
        request,
        "projects_tickets.html",
        state=state,
        rows=shown,
        statuses=TICKET_STATUSES,
        counties=views.counties_in_scope(db, scope),
    )


# -- sections ---------------------------------------------------------------------------------
def profile_section(session: Session, scope: Scope, uscc: str, today: date) -> dict | None:
    """The enterprise's projects (stage, 破五未 warning) and tickets, in the caller's scope."""
    data = views.enterprise_projects(session, scope, uscc, today)
    if data is None:
        return None
    return {
        "title_zh": "项目钉：项目预警与诉求工单",
        "title_en": "Projects: warnings and service tickets",
        "rows": [],
        "note_zh": f"预警按 {data['as_of']} 计算。",
        "note_en": f"Warnings as of {data['as_of']}.",
        "template": "projects_section.html",
        "id": "projects-section",
        **data,
    }


def cockpit_stamp(session: Session) -> tuple:
    """Changes whenever a project changes (every change bumps its version), for the cached
    cockpit section; the day is part of the cache key."""
    return tuple(
        session.execute(select(func.count(), func.max(Project.id), func.sum(Project.version))).one()
    )


def cockpit_section(
    session: Session, scope: Scope, today: date, filters: Any = None
) -> dict | None:
    """破五未 warnings in the caller's scope by kind and colour (table and chart); each
    colour's total links to the board's warnings of that colour (the board filters by county
    and colour only: no links under an industry or town filter)."""
    data = views.warnings_by_kind(session, scope, today)
    if data is None:
        return None
    links = kind_links = segment_links = None
    if not (getattr(filters, "industry", None) or getattr(filters, "town", None)):
        county = getattr(filters, "county", None)
        where = f"county={quote(county)}&" if county else ""
        links = {col: f"/projects?{where}colour={col}" for col in ("yellow", "red", "black")}
        # each kind (table row) and each chart segment (kind × colour) opens the board's
        # warnings of that kind (and colour)
        kind_links = {r["kind"]: f"/projects?{where}kind={r['kind']}" for r in data["by_kind"]}
        segment_links = [
            [f"{kind_links[r['kind']]}&colour={col}" for r in data["by_kind"]]
            for col in ("yellow", "red", "black")
        ]
    return {
        "links": links,
        "kind_links": kind_links,
        "segment_links": segment_links,
        "title_zh": "破五未预警（按类别和颜色）",
        "title_en": "Project warnings (破五未) by kind and colour",
        "rows": [],
        "note_zh": f"按 {data['as_of']} 计算；详见项目看板。",
        "note_en": f"As of {data['as_of']}; see the projects board.",
        "template": "projects_cockpit.html",
        "id": "projects-warnings",
        **data,
    }


def portal_section(session: Session, scope: Scope, today: date) -> dict | None:
    """For an enterprise user: its projects with their warnings, and its tickets."""
    data = views.own_projects(session, scope, today)
    if data is None:
        return None
    return {
        "title_zh": "我的项目与诉求工单",
        "title_en": "My projects and service tickets",
        "rows": [],
        "note_zh": f"预警按 {data['as_of']} 计算。",
        "note_en": f"Warnings as of {data['as_of']}.",
        "template": "projects_section.html",
        "id": "projects-portal",
        **data,
    }
