"""Web pages of the programmes service (officers, ``programmes.view``; scoped by county):

- ``/programmes``: the diagnosis programmes, the chosen one's progress by county (红榜 / 黄榜 /
  黑榜 on the platform's date), its assignments with deadlines, and its XLSX export (audited);
- ``/programmes/benchmarks``: recognitions by county and kind against targets, the newest
  recognitions with their lineage, visits and learning events at benchmark factories;
- ``/programmes/events``: 智造荟 events with registrations, matches and outcomes;
- ``/programmes/loans``: 智能制造贷 statistics by bank and county;
- ``/programmes/investment``: the hardware / software / services split (重硬轻软);
- sections: the cockpit's (investment structure) and the bank's (its consented loans).
"""

from __future__ import annotations

import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.domains.programmes import benchmarks, diagnosis, events, investment, loans
from industry_brain.domains.programmes.common import err
from industry_brain.domains.programmes.models import (
    ProgrammeAssignment,
    ProgrammeInvestment,
    ProgrammeLoan,
)
from industry_brain.store.scope import Scope
from industry_brain.web.deps import CsrfDep, DbDep, ScopeDep

router = APIRouter(include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _today(request: Request) -> date:
    return request.app.state.settings.current_date()


def _render(request: Request, name: str, ctx: dict[str, Any]) -> Response:
    return request.app.state.render(request, name, {"page": name, **ctx})


@router.get("/programmes")
def home(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    id: Annotated[int | None, Query(ge=1, lt=2**31)] = None,
) -> Response:
    scope.require("programmes.view")
    items = diagnosis.list_programmes(db, scope)
    chosen = next((p for p in items if p.id == id), items[0] if items else None)
    today = _today(request)
    data = diagnosis.progress(db, scope, chosen.id, today) if chosen else None
    rows = diagnosis.assignments(db, scope, chosen.id, today, limit=50) if chosen else []
    for r in rows:
        r["reason_zh"] = diagnosis.reason_text(r["reason"], "zh")
        r["reason_en"] = diagnosis.reason_text(r["reason"], "en")
    return _render(
        request,
        "programmes_home.html",
        {"programmes": items, "chosen": chosen, "data": data, "rows": rows},
    )


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
    request: Request, db: Session, scope: Scope, year: int | None, report: Any = None
) -> Response:
    scope.require("programmes.view")
    year = year or _today(request).year
    return _render(
        request,
        "programmes_benchmarks.html",
        {
            "year": year,
            "counts": benchmarks.counts(db, scope, year),
            "kinds": list(benchmarks.KINDS),
            "items": benchmarks.recognitions(db, scope, limit=50),
            "visits": benchmarks.visits(db, scope),
            "can_manage": scope.can("programmes.manage"),
            "report": report,
        },
    )


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


@router.get("/programmes/events")
def events_page(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    scope.require("programmes.view")
    return _render(
        request,
        "programmes_events.html",
        {"events": events.summary(db, scope), "outcomes": events.OUTCOMES},
    )


@router.get("/programmes/loans")
def loans_page(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    scope.require("programmes.view")
    return _render(
        request, "programmes_loans.html", {"stats": loans.statistics(db, scope, _today(request))}
    )


@router.get("/programmes/investment")
def investment_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Response:
    scope.require("programmes.view")
    return _render(
        request, "programmes_investment.html", {"inv": investment.structure(db, scope, year)}
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


def bank_section(session: Session, scope: Scope, today: date) -> dict[str, Any] | None:
    """The bank's 智能制造贷 loans of enterprises whose consent is in force (read audited)."""
    if not scope.can("programmes.loans.register"):
        return None
    if not session.scalar(
        select(func.count(ProgrammeLoan.id)).where(ProgrammeLoan.bank_user_id == scope.user_id)
    ):
        return None
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
