"""Web pages of the tiers service (五企培育):

- ``GET /tiers`` — officers and agents: the funnel (chart and table) of a year and county,
  candidates for the next tier with their gaps, the champion pool with plans, warnings
  (titles expiring, overdue actions, targets off track), the 三单一库 lists with exports;
- ``GET /tiers/declarations`` — declared figures to verify (an agent's tasks: its firms only),
  ``POST /tiers/declarations/{id}/verify|reject`` (a rejection needs a reason);
- ``GET /tiers/evidence/{id}`` — an evidence file, always as an attachment (audited);
- ``GET /tiers/plans/{id}`` and ``/tiers/plans/{id}.pdf`` — a 一企一策 plan, the signed
  冠军领航计划书 as PDF;
- ``GET /tiers/lists/{kind}.xlsx`` — a 三单一库 list (or the pool) as XLSX (audited export);
- ``POST /tiers/declare`` — the enterprise declares figures with evidence (portal);
- profile and portal sections: tier, titles, 创新评动力, "你距离专精特新还差：…".
"""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import Integer, Select, String, bindparam, func, select
from sqlalchemy.orm import Session

from industry_brain.core import exports, formatting
from industry_brain.core.errors import IBError, NotFoundError
from industry_brain.domains.tiers import declarations as decl
from industry_brain.domains.tiers import documents, pipeline, plans, service, titles
from industry_brain.domains.tiers.inputs import DECLARABLE, INPUTS
from industry_brain.domains.tiers.models import (
    TiersDeclarationItem,
    TiersLevel,
    TiersPlan,
    TiersResult,
    TiersRun,
)
from industry_brain.store import audit, scoped
from industry_brain.store.enterprises import ENTERPRISE_ID
from industry_brain.store.models import Enterprise
from industry_brain.store.scope import Scope
from industry_brain.web.deps import CsrfDep, DbDep, ScopeDep
from industry_brain.web.i18n import LANGUAGES, Translator

router = APIRouter(include_in_schema=False)


def _label(code: str | None, lang: str) -> str:
    if code == pipeline.BELOW:
        return "规下企业" if lang == "zh" else "below designated size"
    return service.tier_label(code, lang)


def input_text(code: str, lang: str) -> str:
    return service.input_label(code, lang)


def value_text(code: str, value: Any) -> str:
    """A scheme input's value for display (ratios as percent, money in 万元)."""
    if value is None:
        return "—"
    unit = INPUTS[code].unit if code in INPUTS else None
    if unit == "ratio":
        return formatting.percent(value)
    if unit in ("flag",):
        return formatting.integer(value)
    return formatting.number(value)


def funnel_chart(data: dict[str, Any]) -> dict[str, Any]:
    """The funnel chart per language (cockpit.js draws kind "funnel" as an ECharts funnel)."""
    out = {}
    for lang in LANGUAGES:
        t = Translator(lang)
        # a funnel of "reached" (that tier or higher): it narrows stage by stage; the table
        # beside it gives both counts
        out[lang] = {
            "kind": "funnel",
            "categories": [_label(s["stage"], lang) for s in data["stages"]],
            "series": [
                {"name": t("tiers.reached"), "data": [s["reached"] for s in data["stages"]]},
            ],
        }
    return out


def _years(session: Session) -> list[int]:
    return sorted(
        {int(y) for y in session.scalars(select(TiersRun.year).distinct()).all()}, reverse=True
    )


@router.get("/tiers")
def tiers_home(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    county: Annotated[str | None, Query(max_length=12)] = None,
) -> Response:
    scope.require("tiers.view")
    years = _years(db)
    year = year or (years[0] if years else None)
    today = request.app.state.settings.current_date()
    clause = scope.enterprise_clause()
    county = county or None
    ctx: dict[str, Any] = {
        "years": years,
        "year": year,
        "county": county,
        "counties": scoped.counties(db, scope),
        "lists": pipeline.LISTS,
        "inputs": INPUTS,
        "value_text": value_text,
    }
    if year is not None:
        data = pipeline.funnel(db, year, county, clause)
        ctx["funnel"] = data
        ctx["chart"] = funnel_chart(data)
        county_clause = clause if not county else clause & (Enterprise.county_code == county)
        ctx["candidates"] = pipeline.candidates(db, year, None, county_clause, limit=20)
        ctx["movements"] = pipeline.movements(db, year, county_clause)[:20]
    ids = select(Enterprise.id).where(clause)
    ctx["pool"] = plans.pool_members(db, "champion", ids)
    ctx["plans"] = {p.enterprise_id: p for p in plans.plans_of(db, ids)}
    ctx["title_warnings"] = titles.warnings(db, today, ids)[:20]
    ctx["plan_warnings"] = plans.warnings(db, today, ids)[:20]
    ctx["pending"] = len(decl.pending(db, ids, limit=1000))
    return request.app.state.render(request, "tiers_home.html", ctx)


@router.get("/tiers/declarations")
def declarations_page(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    scope.require("tiers.verify")
    ids = select(Enterprise.id).where(scope.enterprise_clause())
    return request.app.state.render(
        request,
        "tiers_declarations.html",
        {"rows": decl.pending(db, ids), "inputs": INPUTS, "value_text": value_text},
    )


def _item_in_scope(db: Session, scope: Scope, item_id: int) -> TiersDeclarationItem:
    row = db.execute(
        select(TiersDeclarationItem)
        .join(Enterprise, Enterprise.id == TiersDeclarationItem.enterprise_id)
        .where(TiersDeclarationItem.id == item_id, scope.enterprise_clause())
    ).scalar_one_or_none()
    if row is None:
        raise NotFoundError(
            "tiers.no_item", f"没有申报指标 {item_id}", f"no declared figure {item_id}"
        )
    return row


@router.post("/tiers/declarations/{item_id}/verify")
def verify(db: DbDep, scope: ScopeDep, _csrf: CsrfDep, item_id: int) -> Response:
    scope.require("tiers.verify")
    _item_in_scope(db, scope, item_id)
    decl.decide(db, item_id, scope.username, True)
    db.commit()
    return RedirectResponse("/tiers/declarations", status_code=303)


@router.post("/tiers/declarations/{item_id}/reject")
def reject(
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    item_id: int,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    scope.require("tiers.verify")
    _item_in_scope(db, scope, item_id)
    decl.decide(db, item_id, scope.username, False, reason)
    db.commit()
    return RedirectResponse("/tiers/declarations", status_code=303)


@router.get("/tiers/evidence/{item_id}")
def evidence(db: DbDep, scope: ScopeDep, item_id: int) -> Response:
    """The evidence file as an attachment (never rendered inline), for the enterprise itself
    and the officers and agents whose scope holds it; each download audited."""
    if scope.role != "enterprise":
        scope.require("tiers.verify")
    item = _item_in_scope(db, scope, item_id)
    path = decl.evidence_path(item)
    if path is None:
        raise NotFoundError("tiers.no_evidence", "没有证明材料", "no evidence file")
    audit.record(
        db, scope.username, "tiers.evidence_download", "tiers_item", str(item.id), {},
        user_id=scope.user_id,
    )  # fmt: skip
    db.commit()
    name = item.evidence_name or f"evidence-{item.id}"
    return FileResponse(
        path,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


def _plan_in_scope(db: Session, scope: Scope, plan_id: int) -> TiersPlan:
    plan = db.execute(
        select(TiersPlan)
        .join(Enterprise, Enterprise.id == TiersPlan.enterprise_id)
        .where(TiersPlan.id == plan_id, scope.enterprise_clause())
    ).scalar_one_or_none()
    if plan is None:
        raise NotFoundError("tiers.no_plan", f"没有计划 {plan_id}", f"no plan {plan_id}")
    return plan


@router.get("/tiers/plans/{plan_id}.pdf")
def plan_pdf(request: Request, db: DbDep, scope: ScopeDep, plan_id: int) -> Response:
    scope.require("tiers.view")
    plan = _plan_in_scope(db, scope, plan_id)
    today = request.app.state.settings.current_date()
    body = documents.plan_pdf(db, plan, today)
    name = f"冠军领航计划书-{plan.id}.pdf"
    scoped.record_export(db, scope, "tiers.plan", str(plan.id), {"format": "pdf"})
    db.commit()
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/tiers/plans/{plan_id}")
def plan_page(request: Request, db: DbDep, scope: ScopeDep, plan_id: int) -> Response:
    scope.require("tiers.view")
    plan = _plan_in_scope(db, scope, plan_id)
    today = request.app.state.settings.current_date()
    view = plans.plan_view(db, plan, today)
    return request.app.state.render(
        request,
        "tiers_plan.html",
        {"v": view, "today": today, "value_text": value_text, "inputs": INPUTS},
    )


@router.get("/tiers/lists/{kind}.xlsx")
def list_export(
    db: DbDep,
    scope: ScopeDep,
    kind: str,
    county: Annotated[str | None, Query(max_length=12)] = None,
) -> Response:
    """A 三单一库 list as XLSX, by county (the pool: 冠军领航企业培育库)."""
    scope.require("tiers.view")
    clause = scope.enterprise_clause()
    wb = exports.workbook()
    ws = wb.active
    if kind == "pool":
        ws.title = "冠军领航企业培育库"
        exports.append(ws, ["统一社会信用代码", "企业名称", "区县", "目标梯度", "入库日期"])
        for e, ent in plans.pool_members(db, "champion", select(Enterprise.id).where(clause)):
            if county and ent.county_code != county:
                continue
            exports.append(ws, [ent.uscc, ent.name, ent.county_code,
                                service.tier_label(e.target_tier), e.added_on])  # fmt: skip
        name = "冠军领航企业培育库"
    elif kind in pipeline.LISTS:
        zh = pipeline.LISTS[kind][0]
        ws.title = exports.sheet_title(zh)
        exports.append(ws, ["项目代码", "项目名称", "区县", "投资方", "计划投资（万元）", "阶段"])
        rows = pipeline.project_list(db, kind)
        visible = set(db.scalars(select(Enterprise.uscc).where(clause)).all())
        for r in rows:
            if county and r["county_code"] != county:
                continue
            if not scope.city_wide and r["investor_uscc"] not in visible:
                continue
            exports.append(ws, [r["code"], r["name"], r["county_code"], r["investor_uscc"],
                                r["planned_investment"], r["stage"]])  # fmt: skip
        name = zh
    else:
        raise NotFoundError("tiers.unknown_list", f"没有清单 {kind}", f"no list {kind}")
    scoped.record_export(db, scope, "tiers.list", kind, {"tiers_county": county})
    db.commit()
    with tempfile.TemporaryDirectory() as tmp:
        body = exports.save(wb, Path(tmp) / "list.xlsx").read_bytes()
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name + '.xlsx')}"},
    )


@router.post("/tiers/declare")
async def declare(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    item: Annotated[str, Form(max_length=48)],
    value: Annotated[str, Form(max_length=32)],
    year: Annotated[int, Form(ge=2000, le=2100)],
    evidence: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """The enterprise declares one figure with its evidence (portal form)."""
    if scope.role != "enterprise" or not scope.enterprise_id:
        raise IBError("tiers.portal_only", "仅企业本身可申报", "only the enterprise declares")
    ent = db.get(Enterprise, scope.enterprise_id)
    files = {}
    if evidence is not None and evidence.filename:
        limit = decl.max_bytes()
        content = await evidence.read(limit + 1)
        files[item] = decl.Evidence(evidence.filename, content)
    decl.declare(db, ent, year, {item: value}, files, actor=scope.username)
    db.commit()
    return RedirectResponse("/portal#tiers-portal", status_code=303)


# -- sections -----------------------------------------------------------------------------------
def _level(session: Session, enterprise_id: int) -> tuple[TiersRun | None, TiersLevel | None]:
    # the newest published run and the enterprise's level in it, in one read; the run's JSON
    # columns (its schemes' definitions: ≈ 18 KB) are not decoded for every profile: loaded
    # when read (a gap's explanation reads the schemes, cached per run)
    row = session.execute(_level_stmt(), {"enterprise_id": enterprise_id}).first()
    return (None, None) if row is None else (row[0], row[1])


@cache
def _level_stmt() -> Select:  # built once: the profile page reads it on every view
    return (
        service.published_stmt(light=True)
        .add_columns(TiersLevel)
        .outerjoin(
            TiersLevel,
            (TiersLevel.run_id == TiersRun.id) & (TiersLevel.enterprise_id == ENTERPRISE_ID),
        )
        .limit(1)
    )


@cache
def _next_tier_stmt() -> Select:  # the results of the next tier's categories
    return (
        select(TiersResult)
        .where(
            TiersResult.run_id == bindparam("run_id", type_=Integer),
            TiersResult.enterprise_id == ENTERPRISE_ID,
            TiersResult.tier == bindparam("tier", type_=String),
        )
        .order_by(TiersResult.id)
    )


def _gaps(session: Session, run: TiersRun, lv: TiersLevel | None) -> dict[str, Any] | None:
    """The next tier's failing conditions (gap) and missing data, for "你距离…还差"."""
    if lv is None or not lv.next_tier:
        return None
    # a tier with categories (单项冠军: enterprise or product): the closest category
    res = max(
        session.scalars(
            _next_tier_stmt(),
            {"run_id": run.id, "enterprise_id": lv.enterprise_id, "tier": lv.next_tier},
        ),
        key=lambda r: r.closeness or 0.0,
        default=None,
    )
    if res is None:
        return None
    trace = service.trace_of(run, res)
    failing = [
        {
            **f,
            "value_text": value_text(f["input"], f["value"]),
            "need_text": value_text(f["input"], f["threshold"]),
        }
        for f in trace.get("failing", [])
        if f.get("input") in INPUTS
    ]
    return {
        "tier": lv.next_tier,
        "status": res.status,
        "failing": failing,
        "missing": trace.get("missing", []),
    }


def _section(session: Session, enterprise_id: int) -> dict[str, Any]:
    run, lv = _level(session, enterprise_id)
    return {
        "run": run,
        "level": lv,
        "gaps": _gaps(session, run, lv) if run else None,
        "titles": titles.titles_of(session, enterprise_id),
        "items": decl.items_of(session, enterprise_id)[:30],
        "value_text": value_text,
        "inputs": INPUTS,
    }


def profile_section(session: Session, scope: Scope, uscc: str) -> dict[str, Any] | None:
    if not scope.can("tiers.view") and scope.role != "enterprise":
        return None
    ent = scoped.visible_enterprise(session, scope, uscc)
    return {
        "id": "tiers-section",
        "title_zh": "五企培育（企业梯度）",
        "title_en": "Enterprise tiers",
        "rows": [],
        "template": "tiers_profile.html",
        **_section(session, ent.id),
    }


def portal_section(session: Session, scope: Scope) -> dict[str, Any] | None:
    """The enterprise: its tier, the gap to the next tier, its declarations and the form.
    (An agent's verification tasks are ``/tiers/declarations``, limited to its firms.)"""
    if scope.role != "enterprise" or not scope.enterprise_id:
        return None
    data = _section(session, scope.enterprise_id)
    year = data["run"].year if data["run"] else None
    return {
        "id": "tiers-portal",
        "title_zh": "五企培育（企业梯度）",
        "title_en": "Enterprise tiers",
        "rows": [],
        "template": "tiers_portal.html",
        "declarable": [INPUTS[c] for c in DECLARABLE],
        "year": year,
        **data,
    }


def cockpit_stamp(session: Session) -> tuple:
    return tuple(session.execute(select(func.max(TiersRun.id), func.count(TiersRun.id))).one())


#: the agent's desk lists this many declarations (the rest are on /tiers/declarations)
DESK_LIMIT = 10


def desk_section(session: Session, scope: Scope) -> dict[str, Any] | None:
    """The agent's desk: declared figures of its enterprises waiting to be verified (oldest
    first, with the count of all of them), each linking to the verification page."""
    if scope.role != "agent" or not scope.can("tiers.verify"):
        return None
    ids = select(Enterprise.id).where(scope.enterprise_clause())
    total = session.scalar(
        select(func.count(TiersDeclarationItem.id)).where(
            TiersDeclarationItem.status == "declared",
            TiersDeclarationItem.enterprise_id.in_(ids),
        )
    )
    return {
        "id": "desk-tiers",
        "title_zh": "五企培育：待核实的企业申报",
        "title_en": "Enterprise tiers: declarations to verify",
        "rows": [],
        "template": "tiers_desk.html",
        "items": decl.pending(session, ids, limit=DESK_LIMIT),
        "total": int(total or 0),
        "inputs": INPUTS,
        "value_text": value_text,
    }
