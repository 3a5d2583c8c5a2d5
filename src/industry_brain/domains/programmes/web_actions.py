"""Web actions of the programmes service beyond the diagnosis programmes (issue 19, points 6–8
and the report files of point 4). Every action: CSRF, a confirmation after it (303 + flash), an
error beside its field with what was typed (nothing written), an audit record, the caller's
scope.

- ``/programmes/events``: an officer (``programmes.manage``) creates and edits a 智造荟 event
  (date, theme, industry, county, place, capacity), registers enterprises of its scope (USCC
  with search-as-you-type over the scoped firms) and providers (a select over the market
  registry), records matches between registered firms and their outcome (contacted, contracted
  with an amount, delivered, dropped);
- ``/programmes/bank``: a bank user (``programmes.loans.register``) registers a 智能制造贷 loan
  for an enterprise whose consent to this bank is in force (otherwise refused and audited),
  sees and corrects its own loans only;
- ``/programmes/investment``: an officer (or, on ``/programmes/investment/mine``, an enterprise
  for its own project) enters a project's hardware / software / services split, or uploads the
  split list (all or nothing; problems name sheet, row and column);
- ``/programmes/desk/{id}/report``: the provider uploads the diagnosis report (PDF, checked
  before it is read whole); ``/programmes/assignments/{id}/report.pdf``: the officer of the
  scope, the enterprise itself and the provider download it (attachment, audited).
"""

from __future__ import annotations

import hashlib
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core.errors import ConflictError, IBError, NotFoundError
from industry_brain.domains.programmes import diagnosis, events, investment, loans
from industry_brain.domains.programmes.common import err
from industry_brain.domains.programmes.models import ProgrammeMatch
from industry_brain.domains.programmes.web import _done, _render, _today
from industry_brain.store import codes as store_codes
from industry_brain.store import scoped
from industry_brain.store.models import Enterprise
from industry_brain.store.scope import PermissionDenied, Scope
from industry_brain.web.deps import CsrfDep, DbDep, ScopeDep

router = APIRouter(include_in_schema=False)

Id = Annotated[int, PathParam(ge=1, lt=2**31)]
Short = Annotated[str, Form(max_length=200)]
Day = Annotated[str, Form(max_length=10)]
Num = Annotated[str, Form(max_length=20)]

_market_providers = sa.table(
    "market_providers",
    sa.column("uscc", sa.String),
    sa.column("name", sa.String),
    sa.column("status", sa.String),
)


def _status(exc: IBError) -> int:
    if isinstance(exc, PermissionDenied):
        return 403
    return 409 if isinstance(exc, ConflictError) else 400


def _date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise err(
            "date", f"“{text}”不是日期（YYYY-MM-DD）", f"'{text}' is not a date (YYYY-MM-DD)", field
        ) from exc


def _number(text: str, field: str) -> float:
    try:
        return float(text.replace(",", "").strip())
    except ValueError as exc:
        raise err("number", f"“{text}”不是数字", f"'{text}' is not a number", field, text) from exc


def _whole(text: str, field: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit():
        raise err("whole", f"“{text}”不是整数", f"'{text}' is not a whole number", field, text)
    return int(text.strip())


# -- 智造荟 events ---------------------------------------------------------------------------
def _events(
    request: Request,
    db: Session,
    scope: Scope,
    event_id: int | None,
    status: int = 200,
    form: dict[str, Any] | None = None,
    form_error: dict[str, Any] | None = None,
    form_name: str | None = None,
) -> Response:
    scope.require("programmes.view")
    items = events.summary(db, scope)
    chosen = next((e for e in items if e["id"] == event_id), items[0] if items else None)
    can_manage = scope.can("programmes.manage")
    providers = (
        db.execute(
            select(_market_providers.c.uscc, _market_providers.c.name)
            .where(_market_providers.c.status == "active")
            .order_by(_market_providers.c.name)
        ).all()
        if can_manage
        else []
    )
    names = scoped.region_names(db, [e["county_code"] for e in items if e["county_code"]])
    return _render(
        request,
        "programmes_events.html",
        {
            "events": items,
            "chosen": chosen,
            "outcomes": events.OUTCOMES,
            "can_manage": can_manage,
            "counties": store_codes.jurisdiction_counties(db) if can_manage else [],
            "divisions": scoped.industry_divisions(db) if can_manage else [],
            "county_names": names,
            "providers": providers,
            "today": _today(request).isoformat(),
            "form": form or {},
            "form_error": form_error,
            "form_name": form_name,
        },
        status,
    )


def _events_failed(
    request: Request,
    db: Session,
    scope: Scope,
    event_id: int | None,
    exc: IBError,
    which: str,
    form: dict[str, Any],
) -> Response:
    db.rollback()
    if isinstance(exc, PermissionDenied) or (
        isinstance(exc, NotFoundError) and exc.code in ("programmes.event", "programmes.match")
    ):
        raise exc
    return _events(request, db, scope, event_id, _status(exc), form, exc.to_dict(), which)


@router.get("/programmes/events")
def events_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    id: Annotated[int | None, Query(ge=1, lt=2**31)] = None,
) -> Response:
    return _events(request, db, scope, id)


def _event_form(
    held_on: str, theme: str, industry_code: str, county_code: str, place: str, capacity: str
) -> dict[str, Any]:
    return {
        "held_on": held_on,
        "theme": theme,
        "industry_code": industry_code,
        "county_code": county_code,
        "place": place,
        "capacity": capacity,
    }


@router.post("/programmes/events/new")
def event_create(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    held_on: Day = "",
    theme: Short = "",
    industry_code: Annotated[str, Form(max_length=8)] = "",
    county_code: Annotated[str, Form(max_length=12)] = "",
    place: Short = "",
    capacity: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    scope.require("programmes.manage")
    form = _event_form(held_on, theme, industry_code, county_code, place, capacity)
    try:
        ev = events.create(
            db,
            _date(held_on, "held_on"),
            theme,
            industry_code or None,
            county_code or None,
            scope.username,
            place or None,
            _whole(capacity, "capacity"),
        )
    except IBError as exc:
        return _events_failed(request, db, scope, None, exc, "event-new", form)
    db.commit()
    return _done(
        request, f"/programmes/events?id={ev.id}", "flash.programme_event_created", name=ev.theme
    )


@router.post("/programmes/events/{event_id}/save")
def event_save(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    event_id: Id,
    held_on: Day = "",
    theme: Short = "",
    industry_code: Annotated[str, Form(max_length=8)] = "",
    county_code: Annotated[str, Form(max_length=12)] = "",
    place: Short = "",
    capacity: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    scope.require("programmes.manage")
    form = _event_form(held_on, theme, industry_code, county_code, place, capacity)
    try:
        ev = events.update(
            db,
            event_id,
            _date(held_on, "held_on"),
            theme,
            industry_code or None,
            county_code or None,
            place or None,
            _whole(capacity, "capacity"),
            scope.username,
        )
    except IBError as exc:
        return _events_failed(request, db, scope, event_id, exc, "event-edit", form)
    db.commit()
    return _done(
        request, f"/programmes/events?id={ev.id}", "flash.programme_event_saved", name=ev.theme
    )


@router.get("/programmes/events/firms", response_class=HTMLResponse)
def event_firms(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    uscc: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """Search-as-you-type for the registration form (the input's own value, ``uscc``): up to 20
    enterprises of the caller's scope whose name contains it or whose USCC starts with it, as
    ``<option>`` elements."""
    scope.require("programmes.manage")
    text = uscc.strip()
    rows: list[Any] = []
    if len(text) >= 2:
        rows = db.execute(
            select(Enterprise.uscc, Enterprise.name)
            .where(
                scope.enterprise_clause(),
                sa.or_(
                    Enterprise.name.contains(text, autoescape=True),
                    Enterprise.uscc.startswith(text.upper(), autoescape=True),
                ),
            )
            .order_by(Enterprise.uscc)
            .limit(20)
        ).all()
    return _render(request, "_programmes_firm_options.html", {"firms": rows})


@router.post("/programmes/events/{event_id}/register")
def event_register(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    event_id: Id,
    side: Annotated[str, Form(max_length=16)] = "enterprise",
    uscc: Annotated[str, Form(max_length=40)] = "",
    provider_uscc: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Register an enterprise of the caller's scope (typed USCC) or a provider of the market
    registry (selected)."""
    scope.require("programmes.manage")
    form = {"side": side, "uscc": uscc, "provider_uscc": provider_uscc}
    try:
        if side == "provider":
            code = provider_uscc.strip()
            name = db.scalar(
                select(_market_providers.c.name).where(_market_providers.c.uscc == code)
            )
            if not code or name is None:
                raise err(
                    "provider_pick",
                    "请选择登记在册的服务商",
                    "choose a provider of the registry",
                    "provider_uscc",
                )
            reg = events.register(db, event_id, "provider", code, name, scope.username)
        else:
            if not uscc.strip():
                raise err("uscc_required", "请填写企业信用代码", "enter the USCC", "uscc")
            reg = events.register(
                db,
                event_id,
                "enterprise",
                uscc,
                None,
                scope.username,
                clause=scope.enterprise_clause(),
            )
    except IBError as exc:
        return _events_failed(request, db, scope, event_id, exc, "register", form)
    db.commit()
    return _done(
        request,
        f"/programmes/events?id={event_id}",
        "flash.programme_event_registered",
        name=reg.name,
    )


@router.post("/programmes/events/{event_id}/match")
def event_match(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    event_id: Id,
    enterprise_uscc: Annotated[str, Form(max_length=40)] = "",
    provider_uscc: Annotated[str, Form(max_length=40)] = "",
    topic: Short = "",
) -> Response:
    scope.require("programmes.manage")
    form = {"enterprise_uscc": enterprise_uscc, "provider_uscc": provider_uscc, "topic": topic}
    try:
        if not topic.strip():
            raise err("topic", "请填写对接内容", "describe the match", "topic")
        for field, value in (
            ("enterprise_uscc", enterprise_uscc),
            ("provider_uscc", provider_uscc),
        ):
            if not value.strip():
                raise err("pick", "请选择已报名的一方", "choose a registered party", field)
        events.match(db, event_id, enterprise_uscc, provider_uscc, topic, scope.username)
    except IBError as exc:
        return _events_failed(request, db, scope, event_id, exc, "match", form)
    db.commit()
    return _done(request, f"/programmes/events?id={event_id}", "flash.programme_event_matched")


@router.post("/programmes/events/matches/{match_id}/outcome")
def event_outcome(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    match_id: Id,
    outcome: Annotated[str, Form(max_length=16)] = "",
    amount: Num = "",
) -> Response:
    scope.require("programmes.manage")
    m = db.get(ProgrammeMatch, match_id)
    event_id = m.event_id if m else None
    form = {"outcome": outcome, "amount": amount}
    try:
        value = _number(amount, "amount") if amount.strip() else None
        m = events.set_outcome(db, match_id, outcome, value, scope.username)
    except IBError as exc:
        return _events_failed(request, db, scope, event_id, exc, f"outcome-{match_id}", form)
    db.commit()
    return _done(
        request,
        f"/programmes/events?id={m.event_id}",
        "flash.programme_event_outcome",
    )


# -- 智能制造贷: the bank's loans -------------------------------------------------------------
def _bank(
    request: Request,
    db: Session,
    scope: Scope,
    status: int = 200,
    form: dict[str, Any] | None = None,
    form_error: dict[str, Any] | None = None,
    form_name: str | None = None,
) -> Response:
    scope.require("programmes.loans.register")
    today = _today(request)
    items = loans.listing(db, scope, today)
    stats = loans.statistics(db, scope, today, items)
    firms = db.execute(
        select(Enterprise.uscc, Enterprise.name)
        .where(Enterprise.id.in_(loans.consented(scope.user_id, today)))
        .order_by(Enterprise.uscc)
        .limit(500)
    ).all()
    db.commit()  # the read is audited
    return _render(
        request,
        "programmes_bank_loans.html",
        {
            "loan_items": items,
            "stats": stats,
            "firms": firms,
            "products": loans.PRODUCTS,
            "today": today.isoformat(),
            "form": form or {},
            "form_error": form_error,
            "form_name": form_name,
        },
        status,
    )


@router.get("/programmes/bank")
def bank_page(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    return _bank(request, db, scope)


def _loan_args(
    amount: str, rate: str, start_on: str, end_on: str
) -> tuple[float, float, date, date]:
    return (
        _number(amount, "amount"),
        _number(rate, "rate"),
        _date(start_on, "start_on"),
        _date(end_on, "end_on"),
    )


@router.post("/programmes/bank/loans")
def loan_register(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    uscc: Annotated[str, Form(max_length=40)] = "",
    reference: Annotated[str, Form(max_length=64)] = "",
    amount: Num = "",
    rate: Num = "",
    start_on: Day = "",
    end_on: Day = "",
    product: Annotated[str, Form(max_length=16)] = "znzz",
    purpose: Annotated[str, Form(max_length=500)] = "",
    project: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    scope.require("programmes.loans.register")
    form = {
        "uscc": uscc,
        "reference": reference,
        "amount": amount,
        "rate": rate,
        "start_on": start_on,
        "end_on": end_on,
        "product": product,
        "purpose": purpose,
        "project": project,
    }
    try:
        loan = loans.register(
            db,
            scope,
            uscc,
            reference,
            *_loan_args(amount, rate, start_on, end_on),
            product,
            purpose,
            project.strip() or None,
            _today(request),
        )
    except IBError as exc:
        db.rollback()  # a refusal's audit record is committed by the service
        return _bank(request, db, scope, _status(exc), form, exc.to_dict(), "loan-new")
    db.commit()
    return _done(
        request,
        "/programmes/bank",
        "flash.programme_loan_registered",
        reference=reference,
        n=loan.id,
    )


@router.post("/programmes/bank/loans/{loan_id}/save")
def loan_save(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    loan_id: Id,
    amount: Num = "",
    rate: Num = "",
    start_on: Day = "",
    end_on: Day = "",
    product: Annotated[str, Form(max_length=16)] = "znzz",
    purpose: Annotated[str, Form(max_length=500)] = "",
    project: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    scope.require("programmes.loans.register")
    form = {
        "amount": amount,
        "rate": rate,
        "start_on": start_on,
        "end_on": end_on,
        "product": product,
        "purpose": purpose,
        "project": project,
    }
    try:
        loans.update(
            db,
            scope,
            loan_id,
            *_loan_args(amount, rate, start_on, end_on),
            product,
            purpose,
            project.strip() or None,
            _today(request),
        )
    except IBError as exc:
        db.rollback()
        if isinstance(exc, NotFoundError) and exc.code == "programmes.loan":
            raise
        return _bank(request, db, scope, _status(exc), form, exc.to_dict(), f"loan-{loan_id}")
    db.commit()
    return _done(request, "/programmes/bank", "flash.programme_loan_saved")


# -- 重硬轻软: investment splits -------------------------------------------------------------
def _investment(
    request: Request,
    db: Session,
    scope: Scope,
    year: int | None = None,
    status: int = 200,
    form: dict[str, Any] | None = None,
    form_error: dict[str, Any] | None = None,
    report: dict[str, Any] | None = None,
) -> Response:
    if not scope.can("programmes.view"):
        return _mine(request, db, scope, status, form, form_error)
    return _render(
        request,
        "programmes_investment.html",
        {
            "inv": investment.structure(db, scope, year),
            "can_edit": scope.can("programmes.investment.edit"),
            "tolerance": investment.SUM_TOLERANCE_WAN,
            "form": form or {},
            "form_error": form_error,
            "report": report,
        },
        status,
    )


def _mine(
    request: Request,
    db: Session,
    scope: Scope,
    status: int = 200,
    form: dict[str, Any] | None = None,
    form_error: dict[str, Any] | None = None,
) -> Response:
    scope.require("programmes.investment.edit")
    return _render(
        request,
        "programmes_investment_mine.html",
        {
            "projects": investment.projects(db, scope),
            "tolerance": investment.SUM_TOLERANCE_WAN,
            "form": form or {},
            "form_error": form_error,
        },
        status,
    )


@router.get("/programmes/investment")
def investment_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Response:
    scope.require("programmes.view")
    return _investment(request, db, scope, year)


@router.get("/programmes/investment/mine")
def investment_mine(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    return _mine(request, db, scope)


@router.post("/programmes/investment/split")
def investment_split(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    project: Annotated[str, Form(max_length=32)] = "",
    hardware: Num = "",
    software: Num = "",
    services: Num = "",
) -> Response:
    """Set one project's split (a project outside the caller's scope is not found)."""
    scope.require("programmes.investment.edit")
    form = {
        "project": project,
        "hardware": hardware,
        "software": software,
        "services": services,
    }
    back = (
        "/programmes/investment" if scope.can("programmes.view") else "/programmes/investment/mine"
    )
    try:
        if not project.strip():
            raise err("project_required", "请填写项目代码", "enter the project code", "project")
        parts = [
            _number(v, f)
            for f, v in (("hardware", hardware), ("software", software), ("services", services))
        ]
        investment.set_split(db, project, *parts, actor=scope.username, scope=scope)
    except IBError as exc:
        db.rollback()
        form["which"] = project.strip()
        return _investment(request, db, scope, None, _status(exc), form, exc.to_dict())
    db.commit()
    return _done(request, back, "flash.programme_investment_saved", project=project.strip())


@router.post("/programmes/investment/import")
async def investment_import(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Upload the split list (the XLSX/CSV the CLI imports): all or nothing — a list with any bad
    row changes nothing and the page lists every problem with its sheet, row and column."""
    scope.require("programmes.investment.edit")
    scope.require("programmes.view")
    name = diagnosis.safe_file_name(file.filename)[:-4] or "list"
    suffix = Path(file.filename or "").suffix.lower()
    try:
        if suffix not in (".xlsx", ".xlsm", ".csv"):
            raise err(
                "upload_type", "请上传 Excel 或 CSV 名单", "upload an Excel or CSV list", "file"
            )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{name}{suffix}"
            path.write_bytes(await file.read())
            report = investment.import_list(db, path, scope.username, scope=scope, atomic=True)
    except IBError as exc:
        db.rollback()
        return _investment(request, db, scope, None, _status(exc), None, exc.to_dict())
    if report["problems"]:
        db.rollback()
        return _investment(request, db, scope, None, 400, None, None, report)
    db.commit()
    return _done(
        request, "/programmes/investment", "flash.programme_investment_imported", n=report["splits"]
    )


# -- diagnosis report files -----------------------------------------------------------------------
@router.post("/programmes/desk/{assignment_id}/report")
async def report_upload(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    assignment_id: Id,
    file: Annotated[UploadFile, File()],
) -> Response:
    """The provider uploads the PDF report: the announced size and the first bytes are checked
    before the file is read; it is then read at most to the limit (+1 byte)."""
    from industry_brain.domains.programmes import web

    scope.require("programmes.provider_desk")
    today = _today(request)
    limit = diagnosis.report_limit_bytes(store_codes.jurisdiction(), today)
    try:
        diagnosis._own_assignment(db, scope, assignment_id)
        head = await file.read(8)
        diagnosis.check_report(head, file.size or 0, limit)
        content = head + await file.read(limit + 1 - len(head))
        diagnosis.store_report(db, scope, assignment_id, file.filename, content, today, limit)
    except IBError as exc:
        db.rollback()
        if isinstance(exc, PermissionDenied | NotFoundError):
            raise
        return web._desk(request, db, scope, 400, {**exc.to_dict(), "assignment": assignment_id})
    db.commit()
    return _done(
        request,
        "/programmes/desk",
        "flash.programme_report_uploaded",
        sha=hashlib.sha256(content).hexdigest()[:12],
    )


@router.get("/programmes/assignments/{assignment_id}/report.pdf")
def report_download(request: Request, db: DbDep, scope: ScopeDep, assignment_id: Id) -> Response:
    f, _a = diagnosis.read_report(db, scope, assignment_id)
    db.commit()  # the download is audited
    return Response(
        f.content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": 'attachment; filename="report.pdf"; '
            f"filename*=UTF-8''{quote(f.file_name)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            # the virus scan at upload: "clean" or "not-scanned" (never claimed otherwise)
            "X-Virus-Scan": "clean" if f.scan_status == "clean" else "not-scanned",
        },
    )
