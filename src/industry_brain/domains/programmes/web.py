"""Web pages of the programmes service (officers, ``programmes.view``; scoped by county):

- ``/programmes``: the diagnosis programmes, the chosen one's progress by county (红榜 / 黄榜 /
  黑榜 on the platform's date), its assignments with deadlines, and its XLSX export (audited);
  officers with ``programmes.manage`` create and edit programmes, add tendered providers, assign
  enterprises (by industry and capacity, explained), set an assignment's report deadline and
  record a report received (CSRF, a confirmation after each action, errors beside the field,
  every change audited);
- ``/programmes/desk``: a provider user's desk (``programmes.provider_desk``): the enterprises
  assigned to its provider (matched by USCC with the market registry) in every programme, their
  deadlines and overdue state; it marks a diagnosis report delivered;
- ``/programmes/benchmarks``: recognitions by county and kind against targets, the newest
  recognitions with their lineage, visits and learning events at benchmark factories;
- ``/programmes/loans``: 智能制造贷 statistics by bank and county;
- the events, the bank's loans, the investment split and the report files: :mod:`.web_actions`;
- sections: the cockpit's (investment structure) and the bank's (its consented loans).
"""

from __future__ import annotations

import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core.errors import ConflictError, IBError, NotFoundError
from industry_brain.domains.programmes import benchmarks, diagnosis, investment, loans
from industry_brain.domains.programmes.common import err
from industry_brain.domains.programmes.models import (
    ProgrammeAssignment,
    ProgrammeInvestment,
    ProgrammeLoan,
    ProgrammeProvider,
)
from industry_brain.store import codes as store_codes
from industry_brain.store.scope import PermissionDenied, Scope
from industry_brain.web import flash
from industry_brain.web.deps import CsrfDep, DbDep, ScopeDep

router = APIRouter(include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _today(request: Request) -> date:
    return request.app.state.settings.current_date()


def _render(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> Response:
    response = request.app.state.render(request, name, {"page": name, **ctx})
    response.status_code = status
    return response


Id = Annotated[int, PathParam(ge=1, lt=2**31)]
Short = Annotated[str, Form(max_length=200)]
Day = Annotated[str, Form(max_length=10)]


def _home(
    request: Request,
    db: Session,
    scope: Scope,
    id: int | None,
    status: int = 200,
    form: dict[str, Any] | None = None,
    form_error: dict[str, Any] | None = None,
    form_name: str | None = None,
) -> Response:
    scope.require("programmes.view")
    items = diagnosis.list_programmes(db, scope)
    chosen = next((p for p in items if p.id == id), items[0] if items else None)
    today = _today(request)
    data = diagnosis.progress(db, scope, chosen.id, today) if chosen else None
    rows = diagnosis.assignments(db, scope, chosen.id, today, limit=50) if chosen else []
    files = diagnosis.report_files(db, [r["id"] for r in rows])
    for r in rows:
        r["file"] = files.get(r["id"])
        r["reason_zh"] = diagnosis.reason_text(r["reason"], "zh")
        r["reason_en"] = diagnosis.reason_text(r["reason"], "en")
    providers = (
        db.scalars(
            select(ProgrammeProvider)
            .where(ProgrammeProvider.programme_id == chosen.id)
            .order_by(ProgrammeProvider.uscc)
        ).all()
        if chosen
        else []
    )
    response = _render(
        request,
        "programmes_home.html",
        {
            "programmes": items,
            "chosen": chosen,
            "data": data,
            "rows": rows,
            "providers": providers,
            "can_manage": scope.can("programmes.manage"),
            "today": today.isoformat(),
            "region": store_codes.jurisdiction(),
            "form": form or {},
            "form_error": form_error,
            "form_name": form_name,
        },
    )
    response.status_code = status
    return response


@router.get("/programmes")
def home(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    id: Annotated[int | None, Query(ge=1, lt=2**31)] = None,
) -> Response:
    return _home(request, db, scope, id)


def _failed(
    request: Request,
    db: Session,
    scope: Scope,
    programme_id: int | None,
    exc: IBError,
    which: str,
    form: dict[str, Any],
) -> Response:
    """The page again with the error beside its field and what was typed (nothing written); an
    unknown programme or assignment, or a refusal, is the platform's error page."""
    db.rollback()
    if isinstance(exc, PermissionDenied | NotFoundError) and (
        exc.code in ("programmes.programme", "programmes.assignment")
        or isinstance(exc, PermissionDenied)
    ):
        raise exc
    status = 409 if isinstance(exc, ConflictError) else 400
    return _home(request, db, scope, programme_id, status, form, exc.to_dict(), which)


def _done(request: Request, url: str, key: str, **values: Any) -> Response:
    return flash.redirect(request, url, key, **values)


def _date_or_error(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise err(
            "date", f"“{text}”不是日期（YYYY-MM-DD）", f"'{text}' is not a date (YYYY-MM-DD)", field
        ) from exc


def _number(text: str, field: str, zh: str, en: str) -> float:
    try:
        return float(text.replace(",", "").strip())
    except ValueError as exc:
        raise err("number", zh, en, field, text) from exc


@router.post("/programmes/new")
def create_programme(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    name: Short = "",
    year: Annotated[str, Form(max_length=4)] = "",
    budget: Annotated[str, Form(max_length=20)] = "",
    start_on: Day = "",
    end_on: Day = "",
) -> Response:
    """A new programme for the deployment's jurisdiction (county targets from the parameters)."""
    scope.require("programmes.manage")
    form = {"name": name, "year": year, "budget": budget, "start_on": start_on, "end_on": end_on}
    try:
        if not name.strip():
            raise err("name", "请填写项目名称", "the programme needs a name", "name")
        if not (year.isdigit() and 2000 <= int(year) <= 2100):
            raise err("year", "年度须为 2000–2100", "the year is 2000–2100", "year", year)
        amount = _number(budget, "budget", "预算须为数字（万元）", "the budget is a number (万元)")
        p = diagnosis.create(
            db,
            name,
            store_codes.jurisdiction(),
            int(year),
            amount,
            _date_or_error(start_on, "start_on"),
            _date_or_error(end_on, "end_on"),
            None,
            scope.username,
        )
    except IBError as exc:
        return _failed(request, db, scope, None, exc, "create", form)
    db.commit()
    return _done(request, f"/programmes?id={p.id}", "flash.programme_created", name=p.name)


@router.post("/programmes/{programme_id}/edit")
def edit_programme(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    programme_id: Id,
    name: Short = "",
    budget: Annotated[str, Form(max_length=20)] = "",
    start_on: Day = "",
    end_on: Day = "",
    report_days: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    scope.require("programmes.manage")
    form = {
        "name": name,
        "budget": budget,
        "start_on": start_on,
        "end_on": end_on,
        "report_days": report_days,
    }
    try:
        if not report_days.strip().isdigit():
            raise err(
                "report_days",
                "报告期限须为 1–366 天",
                "the report deadline is 1–366 days",
                "report_days",
            )
        p = diagnosis.update(
            db,
            programme_id,
            name,
            _number(budget, "budget", "预算须为数字（万元）", "the budget is a number (万元)"),
            _date_or_error(start_on, "start_on"),
            _date_or_error(end_on, "end_on"),
            int(report_days),
            scope.username,
        )
    except IBError as exc:
        return _failed(request, db, scope, programme_id, exc, "edit", form)
    db.commit()
    return _done(request, f"/programmes?id={p.id}", "flash.programme_saved", name=p.name)


@router.post("/programmes/{programme_id}/providers")
def add_provider(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    programme_id: Id,
    uscc: Annotated[str, Form(max_length=40)] = "",
    name: Short = "",
    capacity: Annotated[str, Form(max_length=8)] = "",
    industries: Short = "",
) -> Response:
    scope.require("programmes.manage")
    form = {"uscc": uscc, "name": name, "capacity": capacity, "industries": industries}
    try:
        if not name.strip():
            raise err("provider_name", "请填写服务商名称", "the provider needs a name", "name")
        if not capacity.strip().isdigit():
            raise err(
                "capacity",
                "服务能力（家数）必须大于 0",
                "the capacity must be positive",
                "capacity",
            )
        divisions = [
            d for d in industries.replace("，", ",").replace("、", ",").split(",") if d.strip()
        ]
        prov = diagnosis.add_provider(
            db, programme_id, uscc, name, int(capacity), divisions, scope.username
        )
    except IBError as exc:
        return _failed(request, db, scope, programme_id, exc, "provider", form)
    db.commit()
    return _done(
        request, f"/programmes?id={programme_id}", "flash.programme_provider", name=prov.name
    )


@router.post("/programmes/{programme_id}/assign")
def assign(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    programme_id: Id,
    usccs: Annotated[str, Form(max_length=200_000)] = "",
) -> Response:
    """Assign the enterprises listed (USCCs, one a line or separated by commas) by industry and
    capacity, as the CLI does; the page then lists every assignment with its reason."""
    scope.require("programmes.manage")
    codes = [c for c in usccs.replace(",", "\n").replace("，", "\n").split() if c.strip()]
    try:
        if not codes:
            raise err("usccs", "请填写企业统一社会信用代码", "list the enterprises' USCCs", "usccs")
        out = diagnosis.assign(db, programme_id, codes, _today(request), scope.username)
        if out["unknown"]:
            raise err(
                "usccs_unknown",
                "没有这些企业：" + "、".join(out["unknown"][:10]),
                "no such enterprises: " + ", ".join(out["unknown"][:10]),
                "usccs",
                out["unknown"],
            )
    except IBError as exc:
        return _failed(request, db, scope, programme_id, exc, "assign", {"usccs": usccs})
    db.commit()
    return _done(
        request,
        f"/programmes?id={programme_id}",
        "flash.programme_assigned",
        n=len(out["assigned"]),
        left=len(out["unassigned"]),
    )


@router.post("/programmes/assignments/{assignment_id}/due")
def set_due(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    assignment_id: Id,
    due_on: Day = "",
) -> Response:
    scope.require("programmes.manage")
    a = db.get(ProgrammeAssignment, assignment_id)
    pid = a.programme_id if a else None
    try:
        a = diagnosis.set_due(db, scope, assignment_id, _date_or_error(due_on, "due_on"))
    except IBError as exc:
        return _failed(request, db, scope, pid, exc, f"due-{assignment_id}", {"due_on": due_on})
    db.commit()
    return _done(request, f"/programmes?id={a.programme_id}", "flash.programme_due", day=a.due_on)


@router.post("/programmes/assignments/{assignment_id}/received")
def record_received(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    assignment_id: Id,
    received_on: Day = "",
) -> Response:
    scope.require("programmes.manage")
    a = db.get(ProgrammeAssignment, assignment_id)
    pid = a.programme_id if a else None
    try:
        a = diagnosis.record_received(
            db,
            scope,
            assignment_id,
            _date_or_error(received_on, "received_on"),
            _today(request),
        )
    except IBError as exc:
        return _failed(
            request,
            db,
            scope,
            pid,
            exc,
            f"received-{assignment_id}",
            {"received_on": received_on},
        )
    db.commit()
    return _done(
        request, f"/programmes?id={a.programme_id}", "flash.programme_received", day=a.done_on
    )


def _desk(
    request: Request, db: Session, scope: Scope, status: int = 200, error: Any = None
) -> Response:
    data = diagnosis.desk(db, scope, _today(request))
    db.commit()  # the read is audited
    files = diagnosis.report_files(db, [r["id"] for r in data["items"]])
    limit = diagnosis.report_limit_bytes(store_codes.jurisdiction(), _today(request))
    response = _render(
        request,
        "programmes_desk.html",
        {"desk": data, "form_error": error, "files": files, "limit_mb": limit // (1024 * 1024)},
    )
    response.status_code = status
    return response


@router.get("/programmes/desk")
def desk(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    scope.require("programmes.provider_desk")
    return _desk(request, db, scope)


@router.post("/programmes/desk/{assignment_id}/delivered")
def delivered(
    request: Request, db: DbDep, scope: ScopeDep, _csrf: CsrfDep, assignment_id: Id
) -> Response:
    scope.require("programmes.provider_desk")
    try:
        diagnosis.mark_delivered(db, scope, assignment_id, _today(request))
    except IBError as exc:
        db.rollback()
        if isinstance(exc, PermissionDenied | NotFoundError):
            raise
        return _desk(request, db, scope, 409, {**exc.to_dict(), "assignment": assignment_id})
    db.commit()
    return _done(request, "/programmes/desk", "flash.programme_delivered")


@router.get("/programmes/{programme_id}/export.xlsx")
def export(request: Request, db: DbDep, scope: ScopeDep, programme_id: int) -> Response:
    today = _today(request)
    with tempfile.TemporaryDirectory() as tmp:
        path = diagnosis.export_xlsx(
            db, scope, programme_id, today, Path(tmp) / f"programme_{programme_id}.xlsx"
        )
        content = path.read_bytes()
    db.commit()
    name = f"programme_{programme_id}_{today.isoformat()}.xlsx"
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _benchmarks(
    request: Request,
    db: Session,
    scope: Scope,
    year: int | None,
    report: Any = None,
    status: int = 200,
    form: dict[str, Any] | None = None,
    form_error: dict[str, Any] | None = None,
) -> Response:
    scope.require("programmes.view")
    year = year or _today(request).year
    items = benchmarks.recognitions(db, scope, limit=50)
    hosts = sorted({(r["uscc"], r["name"]) for r in items if r.get("name")})
    response = _render(
        request,
        "programmes_benchmarks.html",
        {
            "year": year,
            "counts": benchmarks.counts(db, scope, year),
            "kinds": list(benchmarks.KINDS),
            "items": items,
            "visits": benchmarks.visits(db, scope),
            "can_manage": scope.can("programmes.manage"),
            "report": report,
            "hosts": hosts,
            "event_kinds": benchmarks.EVENT_KINDS,
            "today": _today(request).isoformat(),
            "form": form or {},
            "form_error": form_error,
        },
    )
    response.status_code = status
    return response


@router.get("/programmes/benchmarks")
def benchmarks_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Response:
    return _benchmarks(request, db, scope, year)


@router.post("/programmes/benchmarks/import")
async def benchmarks_import(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Import a recognition list uploaded by an officer (``programmes.manage``); the page shows
    the import report (rows loaded, already known, problems by row)."""
    scope.require("programmes.manage")
    name = re.sub(r"[^\w.\-（）()]", "_", Path(file.filename or "list.xlsx").name)[:120]
    if Path(name).suffix.lower() not in (".xlsx", ".xlsm", ".xls", ".csv"):
        raise err("upload_type", "请上传 Excel 或 CSV 名单", "upload an Excel or CSV list", "file")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(await file.read())
        report = benchmarks.import_list(db, path, scope.username, kind or None)
    db.commit()
    return _benchmarks(request, db, scope, None, report)


@router.post("/programmes/benchmarks/visits")
def benchmarks_visit(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    host: Annotated[str, Form(max_length=40)] = "",
    held_on: Day = "",
    title: Short = "",
    visitors: Annotated[str, Form(max_length=8)] = "",
    kind: Annotated[str, Form(max_length=16)] = "visit",
) -> Response:
    """Record a visit to, or a learning event at, a benchmark factory of the caller's scope."""
    scope.require("programmes.manage")
    form = {"host": host, "held_on": held_on, "title": title, "visitors": visitors, "kind": kind}
    try:
        if not visitors.strip().isdigit():
            raise err("visitors", "参观人数须为非负整数", "visitors is a whole number", "visitors")
        benchmarks.add_visit(
            db,
            host,
            _date_or_error(held_on, "held_on"),
            title,
            int(visitors),
            kind,
            scope.username,
            clause=scope.enterprise_clause(),
        )
    except IBError as exc:
        db.rollback()
        status = 409 if isinstance(exc, ConflictError) else 400
        return _benchmarks(request, db, scope, None, None, status, form, exc.to_dict())
    db.commit()
    return _done(request, "/programmes/benchmarks", "flash.programme_visit", title=title.strip())


@router.get("/programmes/loans")
def loans_page(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    scope.require("programmes.view")
    return _render(
        request, "programmes_loans.html", {"stats": loans.statistics(db, scope, _today(request))}
    )


def cockpit_section(session: Session, scope: Scope) -> dict[str, Any] | None:
    """重硬轻软: the split of planned investment by project type (projects in scope)."""
    if not scope.can("programmes.view"):
        return None
    inv = investment.structure(session, scope)
    if not inv["overall"]["projects"]:
        return None
    return {
        "id": "programmes-investment",
        "title_zh": "智改数转投资结构（重硬轻软）",
        "title_en": "Transformation investment structure (hardware vs software)",
        "rows": [],
        "template": "programmes_cockpit.html",
        "inv": inv,
    }


def cockpit_stamp(session: Session) -> tuple:
    return (
        session.scalar(select(func.count(ProgrammeInvestment.id))),
        session.scalar(select(func.sum(ProgrammeInvestment.hardware_wan))),
        session.scalar(select(func.sum(ProgrammeInvestment.software_wan))),
        session.scalar(select(func.sum(ProgrammeInvestment.services_wan))),
        session.scalar(select(func.max(ProgrammeAssignment.id))),
    )


def portal_section(session: Session, scope: Scope) -> dict[str, Any] | None:
    """The enterprise portal's card: its diagnosis assignments with the report file (download)
    and the link to its projects' investment split."""
    if scope.role != "enterprise" or not scope.enterprise_id:
        return None
    rows = session.execute(
        select(ProgrammeAssignment.id, ProgrammeAssignment.due_on, ProgrammeProvider.name)
        .join(ProgrammeProvider, ProgrammeProvider.id == ProgrammeAssignment.provider_id)
        .where(ProgrammeAssignment.enterprise_id == scope.enterprise_id)
        .order_by(ProgrammeAssignment.id)
    ).all()
    files = diagnosis.report_files(session, [r[0] for r in rows])
    return {
        "title_zh": "智改数转项目",
        "title_en": "Transformation programmes",
        "rows": [],
        "template": "programmes_portal.html",
        "id": "programmes-portal",
        "assignments": [
            {"id": i, "due_on": due.isoformat(), "provider": name, "file": files.get(i)}
            for i, due, name in rows
        ],
    }


def bank_section(session: Session, scope: Scope, today: date) -> dict[str, Any] | None:
    """The bank's 智能制造贷 loans of enterprises whose consent is in force (read audited), and
    the link to register one."""
    if not scope.can("programmes.loans.register"):
        return None
    if not session.scalar(
        select(func.count(ProgrammeLoan.id)).where(ProgrammeLoan.bank_user_id == scope.user_id)
    ):
        return {
            "id": "programmes-bank-loans",
            "title_zh": "智能制造贷（已授权企业）",
            "title_en": "Smart-manufacturing loans (consenting enterprises)",
            "rows": [],
            "template": "programmes_bank.html",
            "stats": None,
            "loan_items": [],
        }
    items = loans.listing(session, scope, today)
    stats = loans.statistics(session, scope, today, items)
    session.commit()  # the read is audited
    return {
        "id": "programmes-bank-loans",
        "title_zh": "智能制造贷（已授权企业）",
        "title_en": "Smart-manufacturing loans (consenting enterprises)",
        "rows": [],
        "template": "programmes_bank.html",
        "stats": stats,
        "loan_items": items,
    }
