"""Web pages of the diagnosis service.

- ``/diagnosis`` (officers): county digital indicators with the published comparisons, the
  assessments in scope, assigning an enterprise to an assessor;
- ``/diagnosis/portal`` (the enterprise): its assessments and starting one;
- ``/diagnosis/assessor`` (an assessor's home): the assigned enterprises' assessments;
- ``/diagnosis/assessments/{id}``: fill in (save and resume, progress bar, evidence uploads,
  skip logic applied on save) and submit — for the enterprise while a draft; review each answer
  (accept / adjust with a comment / request evidence) and finish with an opinion — for the
  assigned assessor once submitted; read-only for officers;
- ``/diagnosis/assessments/{id}/report`` and ``/report.pdf``: the diagnosis report (audited);
- sections: the portal's and the profile's (latest result with its report), the cockpit's
  (county indicators).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.domains.diagnosis import indicators as ind
from industry_brain.domains.diagnosis import questionnaire as qn
from industry_brain.domains.diagnosis import report as rep
from industry_brain.domains.diagnosis import service
from industry_brain.domains.diagnosis.models import (
    DiagnosisAssessment,
    DiagnosisAssignment,
    DiagnosisRun,
)
from industry_brain.store import audit, scoped
from industry_brain.store.models import Enterprise
from industry_brain.store.scope import Scope
from industry_brain.web.deps import CsrfDep, DbDep, ScopeDep

router = APIRouter(include_in_schema=False)
INDICATORS = ("nc_rate", "design_tools", "chain_collaboration", "cloud")


def _today(request: Request) -> date:
    return request.app.state.settings.current_date()


def _lang(request: Request) -> str:
    from industry_brain.web.app_helpers import page_lang

    return page_lang(request)


def _latest_year(session: Session) -> int | None:
    """The newest year with a submitted census (the indicators' year)."""
    return session.scalar(
        select(func.max(DiagnosisAssessment.year)).where(
            DiagnosisAssessment.questionnaire == "census", DiagnosisAssessment.status != "draft"
        )
    )


@router.get("/diagnosis")
def home(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    scope.require("diagnosis.view")
    year = _latest_year(db)
    data = ind.indicators(db, year) if year else None
    if data and scope.role == "county_officer":
        data["rows"] = [r for r in data["rows"] if r["county_code"] == scope.county_code]
    items = service.list_for(db, scope)[:50]
    return request.app.state.render(
        request,
        "diagnosis_home.html",
        {
            "year": year,
            "ind": data,
            "names": INDICATORS,
            "items": items,
            "titles": {q.id: q.title for q in qn.latest()},
            "can_assign": scope.can("diagnosis.assign"),
            "can_import": scope.can("import.run"),
        },
    )


# -- certificate lists (两化融合贯标 / DCMM) ------------------------------------------------
def _certificates_page(
    request: Request, db: Session, scope: Scope, status_code: int = 200, **extra: Any
) -> Response:
    from industry_brain.domains.diagnosis.certificates import KINDS
    from industry_brain.domains.diagnosis.models import DiagnosisCertification
    from industry_brain.store.models import ImportBatch

    today = _today(request)
    counts = {
        kind: {
            "all": n,
            "valid": db.scalar(
                select(func.count(DiagnosisCertification.id)).where(
                    DiagnosisCertification.kind == kind,
                    DiagnosisCertification.issued_on <= today,
                    DiagnosisCertification.expires_on >= today,
                )
            )
            or 0,
        }
        for kind in KINDS
        for n in [
            db.scalar(
                select(func.count(DiagnosisCertification.id)).where(
                    DiagnosisCertification.kind == kind
                )
            )
            or 0
        ]
    }
    batches = db.scalars(
        select(ImportBatch)
        .where(ImportBatch.kind.in_([f"certificates_{k}" for k in KINDS]))
        .order_by(ImportBatch.id.desc())
        .limit(10)
    ).all()
    ctx = {"kinds": KINDS, "counts": counts, "batches": batches, "today": today, **extra}
    return request.app.state.render(request, "diagnosis_certificates.html", ctx, status_code)


@router.get("/diagnosis/certificates")
def certificates_page(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    """The certificate list import (officers who may import department files)."""
    scope.require("diagnosis.view")
    scope.require("import.run")
    return _certificates_page(request, db, scope)


@router.post("/diagnosis/certificates")
def certificates_import(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    kind: Annotated[str, Form(max_length=32)],
    file: Annotated[UploadFile, File()],
) -> Response:
    """Import a 贯标 or DCMM list uploaded through the platform's upload staging (size limit,
    safe name, the uploader's own folder): all rows or nothing — a list with any unusable row
    is rolled back and its problems listed (file, sheet, row, column); the import and a
    rejected attempt are audited."""
    import shutil

    from industry_brain.core.errors import IBError
    from industry_brain.domains.diagnosis import certificates as certs
    from industry_brain.web import imports

    scope.require("diagnosis.view")
    settings = request.app.state.settings
    token = imports.stage(scope, file.filename, file.file, settings.upload_max_mb << 20)
    path = imports.staged_file(scope, token)
    try:
        try:
            out = certs.import_certificates(db, path, kind, scope.username)
        except IBError as exc:
            db.rollback()
            _rejected(db, scope, path.name, kind, 1)
            return _certificates_page(request, db, scope, 422, error=exc.problem, kind=kind)
        if out["problems"]:
            db.rollback()
            _rejected(db, scope, path.name, kind, len(out["problems"]))
            return _certificates_page(
                request, db, scope, 422, problems=out["problems"], file=path.name, kind=kind
            )
        db.commit()
        return _certificates_page(request, db, scope, done=out, file=path.name, kind=kind)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def _rejected(db: Session, scope: Scope, file: str, kind: str, problems: int) -> None:
    audit.record(
        db,
        scope.username,
        "diagnosis.certifications_rejected",
        "certificate_list",
        file,
        {"file": file, "kind": kind, "rows_with_problems": problems},
        user_id=scope.user_id,
    )
    db.commit()


@router.post("/diagnosis/assign")
def assign(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    assessor: Annotated[str, Form(max_length=64)],
    uscc: Annotated[str, Form(max_length=18)],
) -> Response:
    service.assign(db, scope, assessor.strip(), uscc.strip())
    return RedirectResponse("/diagnosis", status_code=303)


@router.get("/diagnosis/portal")
def portal(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    scope.require("diagnosis.fill")
    own = scoped.own_enterprise(db, scope)
    return request.app.state.render(
        request,
        "diagnosis_portal.html",
        {
            "own": own,
            "items": service.list_for(db, scope),
            "questionnaires": qn.latest(),
            "titles": {q.id: q.title for q in qn.latest()},
            "year": _today(request).year - 1,
        },
    )


@router.post("/diagnosis/portal/start")
def start(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    questionnaire: Annotated[str, Form(max_length=32)],
    year: Annotated[int, Form(ge=2000, le=2100)],
    industry_type: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    own = scoped.own_enterprise(db, scope)
    a = service.start(db, scope, own["uscc"], questionnaire, year, industry_type or None)
    return RedirectResponse(f"/diagnosis/assessments/{a.id}", status_code=303)


@router.get("/diagnosis/assessor")
def assessor_home(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    scope.require("diagnosis.assess")
    firms = db.execute(
        select(Enterprise.uscc, Enterprise.name)
        .join(DiagnosisAssignment, DiagnosisAssignment.enterprise_id == Enterprise.id)
        .where(DiagnosisAssignment.user_id == scope.user_id, scope.enterprise_clause())
        .order_by(Enterprise.name)
    ).all()
    return request.app.state.render(
        request,
        "diagnosis_assessor.html",
        {
            "firms": firms,
            "items": service.list_for(db, scope),
            "titles": {q.id: q.title for q in qn.latest()},
        },
    )


def _groups(d: dict[str, Any]) -> list[dict[str, Any]]:
    """The applicable requirements by domain and sub-domain, in questionnaire order."""
    q: qn.Questionnaire = d["questionnaire"]
    out = []
    for dom in q.domains:
        subs = []
        for sub in dom["subdomains"]:
            reqs = [
                r
                for r in q.requirements.values()
                if r.subdomain == sub["code"] and r.code in d["applicable"]
            ]
            if reqs:
                subs.append({"sub": sub, "reqs": sorted(reqs, key=lambda r: r.level)})
        if subs:
            out.append({"domain": dom, "subs": subs})
    return out


@router.get("/diagnosis/assessments/{assessment_id}")
def assessment(request: Request, db: DbDep, scope: ScopeDep, assessment_id: int) -> Response:
    # read-only for whoever may see the enterprise (its scope decides); forms by permission
    d = service.detail(db, scope, assessment_id)
    a = d["assessment"]
    return request.app.state.render(
        request,
        "diagnosis_assessment.html",
        {
            "d": d,
            "a": a,
            "q": d["questionnaire"],
            "groups": _groups(d),
            "can_fill": scope.can("diagnosis.fill") and a.status == "draft",
            "can_review": scope.can("diagnosis.assess") and a.status == "submitted",
            "can_upload": scope.can("diagnosis.fill"),
            "choices": {
                "satisfaction": ("full", "largely", "partly", "none"),
                "yes_no": ("yes", "no"),
            },
        },
    )


@router.post("/diagnosis/assessments/{assessment_id}/answers")
async def save(request: Request, db: DbDep, scope: ScopeDep, _csrf: CsrfDep, assessment_id: int):
    form = await request.form()
    answers = {
        k[2:]: str(v) for k, v in form.multi_items() if k.startswith("a:") and isinstance(v, str)
    }
    service.save_answers(db, scope, assessment_id, answers)
    if form.get("then") == "submit":
        service.submit(db, scope, assessment_id)
    return RedirectResponse(f"/diagnosis/assessments/{assessment_id}", status_code=303)


@router.post("/diagnosis/assessments/{assessment_id}/evidence")
async def evidence(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    assessment_id: int,
    requirement: Annotated[str, Form(max_length=64)],
    file: Annotated[UploadFile, File()],
) -> Response:
    content = await file.read(service.MAX_EVIDENCE_BYTES + 1)
    service.add_evidence(
        db,
        scope,
        assessment_id,
        requirement,
        file.filename or "evidence",
        content,
        file.content_type,
    )
    return RedirectResponse(f"/diagnosis/assessments/{assessment_id}", status_code=303)


@router.get("/diagnosis/evidence/{evidence_id}")
def evidence_file(request: Request, db: DbDep, scope: ScopeDep, evidence_id: int) -> Response:
    """An evidence file, for whoever may see its assessment (audited)."""
    from pathlib import Path

    from industry_brain.core.errors import NotFoundError
    from industry_brain.domains.diagnosis.models import DiagnosisEvidence

    ev = db.get(DiagnosisEvidence, evidence_id)
    if ev is None:
        raise NotFoundError(
            "diagnosis.not_found", f"没有证明材料 {evidence_id}", f"no evidence file {evidence_id}"
        )
    service.detail(db, scope, ev.assessment_id)  # the caller's scope decides
    audit.record(
        db,
        scope.username,
        "diagnosis.evidence_download",
        "diagnosis_assessment",
        str(ev.assessment_id),
        {"requirement": ev.requirement, "filename": ev.filename},
        user_id=scope.user_id,
    )
    db.commit()
    return Response(
        Path(ev.path).read_bytes(),
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(ev.filename)}",
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/diagnosis/assessments/{assessment_id}/review")
def review(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    assessment_id: int,
    requirement: Annotated[str, Form(max_length=64)],
    action: Annotated[str, Form(max_length=24)],
    value: Annotated[str, Form(max_length=64)] = "",
    comment: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    service.review(db, scope, assessment_id, requirement, action, value or None, comment)
    return RedirectResponse(
        f"/diagnosis/assessments/{assessment_id}#r-{requirement}", status_code=303
    )


@router.post("/diagnosis/assessments/{assessment_id}/accept-all")
def accept_all(
    request: Request, db: DbDep, scope: ScopeDep, _csrf: CsrfDep, assessment_id: int
) -> Response:
    """Accept every answered requirement the assessor has not decided on yet."""
    d = service.detail(db, scope, assessment_id)
    for code in sorted(d["applicable"]):
        if d["values"].get(code) is not None and code not in d["reviews"]:
            service.review(db, scope, assessment_id, code, "accept")
    return RedirectResponse(f"/diagnosis/assessments/{assessment_id}", status_code=303)


@router.post("/diagnosis/assessments/{assessment_id}/finish")
def finish(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    assessment_id: int,
    opinion: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    service.finish_review(db, scope, assessment_id, opinion)
    return RedirectResponse(f"/diagnosis/assessments/{assessment_id}/report", status_code=303)


def _report(request: Request, db: Session, scope: Scope, assessment_id: int) -> dict[str, Any]:
    data = rep.build(db, scope, assessment_id, _lang(request))
    audit.record(
        db,
        scope.username,
        "diagnosis.report",
        "diagnosis_assessment",
        str(assessment_id),
        {"uscc": data["enterprise"]["uscc"]},
        user_id=scope.user_id,
    )
    db.commit()
    return data


@router.get("/diagnosis/assessments/{assessment_id}/report")
def report_page(request: Request, db: DbDep, scope: ScopeDep, assessment_id: int) -> Response:
    data = _report(request, db, scope, assessment_id)
    return request.app.state.render(
        request,
        "diagnosis_report_page.html",
        {"body": rep.html(data, _today(request), standalone=False), "a_id": assessment_id},
    )


@router.get("/diagnosis/assessments/{assessment_id}/report.pdf")
def report_pdf(request: Request, db: DbDep, scope: ScopeDep, assessment_id: int) -> Response:
    data = _report(request, db, scope, assessment_id)
    name = f"diagnosis-{data['enterprise']['uscc']}-{data['assessment'].year}.pdf"
    return Response(
        rep.pdf(data, _today(request)),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, no-store",
        },
    )


# -- sections -----------------------------------------------------------------------------------
def _latest_final(session: Session, scope: Scope, enterprise_id: int) -> list[DiagnosisAssessment]:
    newest = (
        select(func.max(DiagnosisAssessment.id))
        .join(Enterprise, Enterprise.id == DiagnosisAssessment.enterprise_id)
        .where(
            DiagnosisAssessment.enterprise_id == enterprise_id,
            DiagnosisAssessment.status == "final",
            scope.enterprise_clause(),
        )
        .group_by(DiagnosisAssessment.questionnaire)
    )
    return list(
        session.scalars(
            select(DiagnosisAssessment)
            .where(DiagnosisAssessment.id.in_(newest))
            .order_by(DiagnosisAssessment.questionnaire)
        )
    )


def _results_section(
    session: Session, scope: Scope, enterprise_id: int, section_id: str
) -> dict[str, Any] | None:
    finals = _latest_final(session, scope, enterprise_id)
    titles = {q.id: q.title for q in qn.latest()}
    return {
        "title_zh": "智能制造诊断",
        "title_en": "Intelligent manufacturing diagnosis",
        "rows": [],
        "template": "diagnosis_section.html",
        "id": section_id,
        "finals": [
            {
                "id": a.id,
                "title": titles.get(
                    a.questionnaire, {"zh": a.questionnaire, "en": a.questionnaire}
                ),
                "year": a.year,
                "level": a.result.get("level"),
                "score": a.result.get("score"),
                "scoring": a.result.get("scoring"),
            }
            for a in finals
            if a.result.get("scoring") != "survey"
        ],
        "portal": scope.role == "enterprise",
    }


def portal_section(session: Session, scope: Scope) -> dict[str, Any] | None:
    if scope.role != "enterprise" or not scope.enterprise_id:
        return None
    return _results_section(session, scope, scope.enterprise_id, "diagnosis-portal")


def profile_section(session: Session, scope: Scope, uscc: str) -> dict[str, Any] | None:
    ent = scoped.visible_enterprise(session, scope, uscc)
    return _results_section(session, scope, ent.id, "diagnosis-profile")


def cockpit_section(session: Session, scope: Scope) -> dict[str, Any] | None:
    if not scope.can("diagnosis.view"):
        return None
    year = _latest_year(session)
    if year is None:
        return None
    data = ind.indicators(session, year)
    if not data["rows"]:
        return None
    if scope.role == "county_officer":
        data["rows"] = [r for r in data["rows"] if r["county_code"] == scope.county_code]
    return {
        "title_zh": "制造业数字化指标",
        "title_en": "Manufacturing digitalisation indicators",
        "rows": [],
        "template": "diagnosis_cockpit.html",
        "id": "diagnosis-indicators",
        "ind": data,
        "names": INDICATORS,
    }


def cockpit_stamp(session: Session) -> tuple:
    """Changes with every assessment, status change, answer and published run."""
    from industry_brain.domains.diagnosis.models import DiagnosisAnswer

    return (
        session.scalar(select(func.count(DiagnosisAssessment.id))),
        session.scalar(
            select(func.count(DiagnosisAssessment.id)).where(DiagnosisAssessment.status != "draft")
        ),
        session.scalar(select(func.max(DiagnosisAnswer.id))),
        session.scalar(select(func.max(DiagnosisRun.id))),
    )


#: the agent's desk lists this many reports (newest first)
DESK_LIMIT = 10


def desk_section(session: Session, scope: Scope) -> dict[str, Any] | None:
    """The agent's desk: the newest final diagnosis reports of the enterprises assigned to it
    (one per enterprise and questionnaire, newest first), each a link to the report (the
    report's read is audited when opened)."""
    if scope.role != "agent":
        return None
    newest = (
        select(func.max(DiagnosisAssessment.id))
        .join(Enterprise, Enterprise.id == DiagnosisAssessment.enterprise_id)
        .where(DiagnosisAssessment.status == "final", scope.enterprise_clause())
        .group_by(DiagnosisAssessment.enterprise_id, DiagnosisAssessment.questionnaire)
    )
    rows = session.execute(
        select(DiagnosisAssessment, Enterprise.uscc, Enterprise.name)
        .join(Enterprise, Enterprise.id == DiagnosisAssessment.enterprise_id)
        .where(DiagnosisAssessment.id.in_(newest))
        .order_by(DiagnosisAssessment.id.desc())
    ).all()
    titles = {q.id: q.title for q in qn.latest()}
    reports = [
        {
            "id": a.id,
            "uscc": uscc,
            "name": name,
            "title": titles.get(a.questionnaire, {"zh": a.questionnaire, "en": a.questionnaire}),
            "year": a.year,
            "level": a.result.get("level"),
            "score": a.result.get("score"),
        }
        for a, uscc, name in rows
        if a.result.get("scoring") != "survey"  # the census is not a diagnosis (no report)
    ]
    return {
        "id": "desk-diagnosis",
        "title_zh": "智能制造诊断：企业的诊断报告",
        "title_en": "Diagnosis: reports of your enterprises",
        "rows": [],
        "template": "diagnosis_desk.html",
        "reports": reports[:DESK_LIMIT],
        "total": len(reports),
    }
