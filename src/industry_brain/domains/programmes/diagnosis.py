"""Diagnosis programmes (政府购买诊断服务): a programme with its budget, period and target per
county, tendered providers, assignment of enterprises to providers, report deadlines and the
progress against the targets by county with the lists of the 百千万 bulletin.

**Targets.** At creation, the target of each county is given, or else taken from the dated
parameter ``programmes.diagnosis.county_targets`` in force on the start date for the programme's
region; when that mapping is empty, ``programmes.diagnosis.annual_target`` is split evenly over the
jurisdiction's counties (remainders one each to the first counties by code). The parameters used
are stored with the programme.

**Assignment** (deterministic, every choice explained). Enterprises are taken in the order
(county code, USCC). For each, the candidates are the providers with capacity left; a provider
whose industries include the enterprise's GB/T 4754 division is a *specialist*, one with no
industries listed a *generalist*, others are not candidates. The choice: specialists before
generalists, then the lowest load (assigned ÷ capacity, exact fractions), then the USCC. The
report is due ``report_days`` after the assignment day.

**Done.** A programme diagnosis is done when the enterprise's diagnosis assessment (the
``diagnosis`` service's ``diagnosis_assessments``, status submitted, reviewed or final) was
submitted on or after the assignment day and on or before the day asked.

**Recorded by hand.** An officer may record a report received on a day (``done_on``) for an
assignment without a diagnosis assessment in the platform (a report delivered on paper); it counts
as done from that day. A tendered provider's user marks the report delivered on its desk
(``delivered_on``), which tells the officer to check it; it does not count as done by itself.

**Provider desk.** A user of role ``provider`` acts for the market registry's provider it is
linked to (the ``market`` service's ``market_provider_users`` / ``market_providers``, read as
tables — its modules are not imported); the programmes' tendered providers are matched to it by
USCC. It sees only the assignments of the tendered providers with its USCC.

**Progress on day d** (exact fractions; boundary values land in the right list):
time progress ``f = (min(d, end) − start + 1) / (end − start + 1)`` (0 before the start);
per county ``ratio = done ÷ (target × f)``; 红榜 when ``ratio ≥ red_at``, 黄榜 when
``yellow_at ≤ ratio < red_at``, 黑榜 below (``programmes.bulletin.*``, the 百千万 rule);
``overdue`` = assignments past their deadline and not done.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core import exports, parameters
from industry_brain.core.errors import Location, NotFoundError
from industry_brain.core.uscc import normalize as normalize_uscc
from industry_brain.domains.programmes import virus_scan
from industry_brain.domains.programmes.common import err
from industry_brain.domains.programmes.models import (
    Programme,
    ProgrammeAssignment,
    ProgrammeProvider,
    ProgrammeReportFile,
    ProgrammeTarget,
)
from industry_brain.store import audit, codes, scoped
from industry_brain.store.db import chunks
from industry_brain.store.models import Enterprise
from industry_brain.store.scope import Scope

LISTS = ("red", "yellow", "black")
LIST_ZH = {"red": "红榜", "yellow": "黄榜", "black": "黑榜"}
LIST_EN = {"red": "red list", "yellow": "yellow list", "black": "black list"}
DONE_STATUSES = ("submitted", "reviewed", "final")

# the diagnosis service's assessments, read as a table (its modules are not imported)
_assessments = sa.table(
    "diagnosis_assessments",
    sa.column("id", sa.Integer),
    sa.column("enterprise_id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("submitted_at", sa.DateTime),
)


def get(session: Session, programme_id: int) -> Programme:
    p = session.get(Programme, programme_id) if 0 < programme_id < 2**31 else None
    if p is None:
        raise NotFoundError(
            "programmes.programme",
            f"没有诊断项目 {programme_id}",
            f"no programme {programme_id}",
            Location(field="programme"),
            programme_id,
        )
    return p


def _even_split(total: int, counties: list[str]) -> dict[str, int]:
    if not counties:
        return {}
    base, rest = divmod(int(total), len(counties))
    return {c: base + (1 if i < rest else 0) for i, c in enumerate(sorted(counties))}


def create(
    session: Session,
    name: str,
    region_code: str,
    year: int,
    budget_wan: float,
    start_on: date,
    end_on: date,
    targets: dict[str, int] | None = None,
    actor: str = "cli",
) -> Programme:
    """A new programme; targets per county given or from the parameters (see module doc)."""
    if end_on < start_on:
        raise err("period", "结束日期早于开始日期", "the programme ends before it starts", "end_on")
    if not budget_wan >= 0:
        raise err(
            "budget", "预算不能为负（万元）", "the budget cannot be negative (万元)", "budget"
        )
    params = parameters.load()
    used = []
    days = params.resolve("programmes.diagnosis.report_days", region_code, start_on)
    used.append(days.to_dict())
    if targets is None:
        mapping = params.resolve("programmes.diagnosis.county_targets", region_code, start_on)
        used.append(mapping.to_dict())
        if mapping.value:
            targets = {str(k): int(v) for k, v in mapping.value.items()}
        else:
            annual = params.resolve("programmes.diagnosis.annual_target", region_code, start_on)
            used.append(annual.to_dict())
            counties = [c for c, _ in codes.jurisdiction_counties(session)]
            targets = _even_split(int(annual.value), counties)
    for county, n in targets.items():
        if int(n) < 0:
            raise err("target", "目标数不能为负", "a target cannot be negative", county, n)
    p = Programme(
        name=name.strip()[:200],
        region_code=region_code,
        year=int(year),
        budget_wan=float(budget_wan),
        start_on=start_on,
        end_on=end_on,
        report_days=int(days.value),
        parameters=[
            {k: u[k] for k in ("key", "region", "value", "since", "quality", "source")}
            for u in used
        ],
        created_by=actor,
    )
    session.add(p)
    session.flush()
    for county, n in sorted(targets.items()):
        session.add(ProgrammeTarget(programme_id=p.id, county_code=str(county), target=int(n)))
    audit.record(session, actor, "programmes.create", "programme", str(p.id), {"name": p.name})
    session.flush()
    return p


def add_provider(
    session: Session,
    programme_id: int,
    uscc: str,
    name: str,
    capacity: int,
    industries: list[str] | None = None,
    actor: str = "cli",
) -> ProgrammeProvider:
    """A tendered provider (by USCC) with its capacity and the industries (divisions) it serves."""
    get(session, programme_id)
    code = normalize_uscc(uscc, Location(field="uscc"))
    if int(capacity) <= 0:
        raise err(
            "capacity", "服务能力（家数）必须大于 0", "the capacity must be positive", "capacity"
        )
    divisions = sorted({str(d).strip()[:2] for d in industries or [] if str(d).strip()})
    bad = [d for d in divisions if not (d.isdigit() and len(d) == 2)]
    if bad:
        raise err(
            "industries",
            "行业须为两位门类代码（GB/T 4754）",
            "industries are 2-digit divisions",
            "industries",
            bad,
        )
    dup = session.scalar(
        select(ProgrammeProvider.id).where(
            ProgrammeProvider.programme_id == programme_id, ProgrammeProvider.uscc == code
        )
    )
    if dup is not None:
        raise err(
            "provider_known",
            f"服务商 {code} 已在该项目中",
            f"provider {code} is already in",
            "uscc",
            code,
        )
    prov = ProgrammeProvider(
        programme_id=programme_id,
        uscc=code,
        name=name.strip()[:200],
        industries=divisions,
        capacity=int(capacity),
    )
    session.add(prov)
    session.flush()
    audit.record(
        session, actor, "programmes.provider", "programme", str(programme_id), {"uscc": code}
    )
    return prov


def assign(
    session: Session,
    programme_id: int,
    usccs: list[str],
    today: date,
    actor: str = "cli",
) -> dict[str, Any]:
    """Assign enterprises to the programme's providers (see module doc); enterprises already
    assigned are skipped. Returns the assignments made (with their reasons) and the enterprises
    left unassigned (no provider with capacity for them)."""
    p = get(session, programme_id)
    providers = session.scalars(
        select(ProgrammeProvider).where(ProgrammeProvider.programme_id == p.id)
    ).all()
    load = dict(
        session.execute(
            select(ProgrammeAssignment.provider_id, func.count(ProgrammeAssignment.id))
            .where(ProgrammeAssignment.programme_id == p.id)
            .group_by(ProgrammeAssignment.provider_id)
        ).all()
    )
    known = set(
        session.scalars(
            select(ProgrammeAssignment.enterprise_id).where(
                ProgrammeAssignment.programme_id == p.id
            )
        )
    )
    codes_ = {normalize_uscc(u, Location(field="uscc")) for u in usccs}
    firms = sorted(
        (
            firm
            for part in chunks(sorted(codes_))  # a list may name a province's firms
            for firm in session.scalars(select(Enterprise).where(Enterprise.uscc.in_(part)))
        ),
        key=lambda f: (f.county_code or "", f.uscc),
    )
    missing = sorted(codes_ - {f.uscc for f in firms})
    made, unassigned = [], []
    for firm in firms:
        if firm.id in known:
            continue
        division = (firm.industry_code or "")[:2]
        cands = []
        for prov in providers:
            left = prov.capacity - load.get(prov.id, 0)
            if left <= 0:
                continue
            if prov.industries and division not in prov.industries:
                continue
            specialist = bool(prov.industries)
            cands.append(
                (
                    0 if specialist else 1,
                    Fraction(load.get(prov.id, 0), prov.capacity),
                    prov.uscc,
                    prov,
                )
            )
        if not cands:
            unassigned.append({"uscc": firm.uscc, "name": firm.name, "division": division})
            continue
        cands.sort(key=lambda c: c[:3])
        kind, _ratio, _, prov = cands[0]
        reason = {
            "division": division,
            "rule": "specialist" if kind == 0 else "generalist",
            "load_before": f"{load.get(prov.id, 0)}/{prov.capacity}",
            "candidates": len(cands),
        }
        session.add(
            ProgrammeAssignment(
                programme_id=p.id,
                enterprise_id=firm.id,
                provider_id=prov.id,
                assigned_on=today,
                due_on=today + timedelta(days=p.report_days),
                reason=reason,
                actor=actor,
            )
        )
        load[prov.id] = load.get(prov.id, 0) + 1
        made.append(
            {
                "uscc": firm.uscc,
                "name": firm.name,
                "provider": prov.uscc,
                "provider_name": prov.name,
                **reason,
            }
        )
    session.flush()
    audit.record(
        session,
        actor,
        "programmes.assign",
        "programme",
        str(p.id),
        {"firms_assigned": len(made), "firms_unassigned": len(unassigned)},
    )
    return {"assigned": made, "unassigned": unassigned, "unknown": missing}


def reason_text(reason: dict[str, Any], lang: str = "zh") -> str:
    """The explanation of one assignment in words."""
    if lang == "en":
        rule = (
            f"serves division {reason.get('division')}"
            if reason.get("rule") == "specialist"
            else "serves every industry"
        )
        return (
            f"{rule}; load before {reason.get('load_before')}; "
            f"{reason.get('candidates')} candidate(s)"
        )
    rule = (
        f"专业服务行业 {reason.get('division')}"
        if reason.get("rule") == "specialist"
        else "服务全部行业"
    )
    return f"{rule}；分配前负荷 {reason.get('load_before')}；候选 {reason.get('candidates')} 家"


def _done_on(
    session: Session, programme_id: int, as_of: date
) -> dict[int, tuple[int | None, date]]:
    """Assignment id → (assessment id, submission day) of the first assessment submitted on or
    after the assignment day and on or before ``as_of``; else (None, day) for a report recorded
    received by an officer on a day on or before ``as_of``."""
    rows = session.execute(
        select(
            ProgrammeAssignment.id,
            ProgrammeAssignment.assigned_on,
            _assessments.c.id,
            _assessments.c.submitted_at,
        )
        .join(_assessments, _assessments.c.enterprise_id == ProgrammeAssignment.enterprise_id)
        .where(
            ProgrammeAssignment.programme_id == programme_id,
            _assessments.c.status.in_(DONE_STATUSES),
            _assessments.c.submitted_at.is_not(None),
        )
        .order_by(_assessments.c.submitted_at, _assessments.c.id)
    ).all()
    out: dict[int, tuple[int, date]] = {}
    for aid, assigned_on, assessment_id, submitted_at in rows:
        if isinstance(submitted_at, str):
            submitted_at = datetime.fromisoformat(submitted_at)
        day = submitted_at.date() if isinstance(submitted_at, datetime) else submitted_at
        if assigned_on <= day <= as_of and aid not in out:
            out[aid] = (int(assessment_id), day)
    recorded = session.execute(
        select(ProgrammeAssignment.id, ProgrammeAssignment.done_on).where(
            ProgrammeAssignment.programme_id == programme_id,
            ProgrammeAssignment.assessment_id.is_(None),
            ProgrammeAssignment.done_on.is_not(None),
            ProgrammeAssignment.done_on <= as_of,
        )
    ).all()
    for aid, day in recorded:
        out.setdefault(aid, (None, day))
    return out


def link_assessments(session: Session, programme_id: int, as_of: date, actor: str = "cli") -> int:
    """Store on each assignment the diagnosis assessment that completes it (as of ``as_of``)."""
    done = _done_on(session, programme_id, as_of)
    n = 0
    for a in session.scalars(
        select(ProgrammeAssignment).where(ProgrammeAssignment.programme_id == programme_id)
    ):
        found = done.get(a.id)
        if found and (a.assessment_id, a.done_on) != found:
            a.assessment_id, a.done_on = found
            n += 1
    if n:
        audit.record(
            session,
            actor,
            "programmes.link",
            "programme",
            str(programme_id),
            {"assessments_linked": n},
        )
    session.flush()
    return n


def time_fraction(start: date, end: date, as_of: date) -> Fraction:
    """Share of the programme's period elapsed on ``as_of`` (the day itself included)."""
    if as_of < start:
        return Fraction(0)
    last = min(as_of, end)
    return Fraction((last - start).days + 1, (end - start).days + 1)


def _list_of(ratio: Fraction | None, red_at: Fraction, yellow_at: Fraction) -> str | None:
    if ratio is None:
        return None
    if ratio >= red_at:
        return "red"
    if ratio >= yellow_at:
        return "yellow"
    return "black"


def progress(session: Session, scope: Scope, programme_id: int, as_of: date) -> dict[str, Any]:
    """Progress of each county (in the caller's scope) against its target (see module doc)."""
    scope.require("programmes.view")
    p = get(session, programme_id)
    params = parameters.load()
    f = time_fraction(p.start_on, p.end_on, as_of)
    done = _done_on(session, p.id, as_of)
    rows = session.execute(
        select(
            ProgrammeAssignment.id,
            ProgrammeAssignment.due_on,
            ProgrammeAssignment.assigned_on,
            Enterprise.county_code,
        )
        .join(Enterprise, Enterprise.id == ProgrammeAssignment.enterprise_id)
        .where(ProgrammeAssignment.programme_id == p.id, ProgrammeAssignment.assigned_on <= as_of)
    ).all()
    targets = session.scalars(
        select(ProgrammeTarget)
        .where(ProgrammeTarget.programme_id == p.id)
        .order_by(ProgrammeTarget.county_code)
    ).all()
    names = scoped.region_names(session, (t.county_code for t in targets))
    red_r = params.resolve("programmes.bulletin.red_at", p.region_code, as_of)
    yellow_r = params.resolve("programmes.bulletin.yellow_at", p.region_code, as_of)
    red_at, yellow_at = Fraction(str(red_r.value)), Fraction(str(yellow_r.value))
    counties = []
    for t in targets:
        if scope.role == "county_officer" and t.county_code != scope.county_code:
            continue
        mine = [r for r in rows if r[3] == t.county_code]
        n_done = sum(1 for r in mine if r[0] in done)
        overdue = sum(1 for r in mine if r[0] not in done and r[1] < as_of)
        time_target = t.target * f
        ratio = Fraction(n_done) / time_target if time_target > 0 else None
        counties.append(
            {
                "county_code": t.county_code,
                "county": names.get(t.county_code, t.county_code),
                "target": t.target,
                "time_target": round(float(time_target), 4),
                "assigned": len(mine),
                "done": n_done,
                "overdue": overdue,
                "ratio": None if ratio is None else round(float(ratio), 4),
                "list": _list_of(ratio, red_at, yellow_at),
            }
        )
    return {
        "programme": {
            "id": p.id,
            "name": p.name,
            "region_code": p.region_code,
            "year": p.year,
            "budget_wan": p.budget_wan,
            "start_on": p.start_on.isoformat(),
            "end_on": p.end_on.isoformat(),
            "report_days": p.report_days,
        },
        "as_of": as_of.isoformat(),
        "time_fraction": round(float(f), 4),
        "counties": counties,
        "totals": {
            "target": sum(c["target"] for c in counties),
            "assigned": sum(c["assigned"] for c in counties),
            "done": sum(c["done"] for c in counties),
            "overdue": sum(c["overdue"] for c in counties),
        },
        "lists": {k: [c["county"] for c in counties if c["list"] == k] for k in LISTS},
        "parameters": [*p.parameters, red_r.to_dict(), yellow_r.to_dict()],
    }


def assignments(
    session: Session, scope: Scope, programme_id: int, as_of: date, limit: int = 200
) -> list[dict[str, Any]]:
    """The programme's assignments in the caller's scope, with deadline state."""
    scope.require("programmes.view")
    done = _done_on(session, programme_id, as_of)
    rows = session.execute(
        select(
            ProgrammeAssignment,
            Enterprise.uscc,
            Enterprise.name,
            Enterprise.county_code,
            ProgrammeProvider.name,
        )
        .join(Enterprise, Enterprise.id == ProgrammeAssignment.enterprise_id)
        .join(ProgrammeProvider, ProgrammeProvider.id == ProgrammeAssignment.provider_id)
        .where(ProgrammeAssignment.programme_id == programme_id, scope.enterprise_clause())
        .order_by(ProgrammeAssignment.due_on, Enterprise.uscc)
        .limit(limit)
    ).all()
    out = []
    for a, uscc, name, county, provider in rows:
        d = done.get(a.id)
        state = "done" if d else ("overdue" if a.due_on < as_of else "open")
        out.append(
            {
                "uscc": uscc,
                "name": name,
                "county_code": county,
                "provider": provider,
                "assigned_on": a.assigned_on.isoformat(),
                "due_on": a.due_on.isoformat(),
                "done_on": d[1].isoformat() if d else None,
                "assessment_id": d[0] if d else None,
                "state": state,
                "reason": a.reason,
                "id": a.id,
                "delivered_on": a.delivered_on.isoformat() if a.delivered_on else None,
            }
        )
    return out


def list_programmes(session: Session, scope: Scope) -> list[Programme]:
    scope.require("programmes.view")
    return list(session.scalars(select(Programme).order_by(Programme.id.desc())))


def export_xlsx(session: Session, scope: Scope, programme_id: int, as_of: date, path: Path) -> Path:
    """The progress and the assignments as XLSX (through core.exports; the export is audited)."""
    data = progress(session, scope, programme_id, as_of)
    items = assignments(session, scope, programme_id, as_of, limit=100_000)
    wb = exports.workbook()
    ws = wb.active
    ws.title = "进度 progress"
    prog = data["programme"]
    exports.append(ws, [f"{prog['name']}（截至 {data['as_of']}）"])
    exports.append(ws, [f"时序进度 time progress: {data['time_fraction']:.4f}"])
    exports.append(
        ws,
        [
            "区县代码 code",
            "区县 county",
            "目标 target",
            "时序目标 time target",
            "已分配 assigned",
            "已完成 done",
            "逾期 overdue",
            "完成率 ratio",
            "榜单 list",
        ],
    )
    for c in data["counties"]:
        exports.append(
            ws,
            [
                c["county_code"],
                c["county"],
                c["target"],
                c["time_target"],
                c["assigned"],
                c["done"],
                c["overdue"],
                c["ratio"],
                LIST_ZH.get(c["list"] or ""),
            ],
        )
    detail = wb.create_sheet("分配 assignments")
    exports.append(
        detail,
        [
            "统一社会信用代码 USCC",
            "企业 enterprise",
            "区县 county",
            "服务商 provider",
            "分配日期 assigned",
            "报告期限 due",
            "完成日期 done",
            "状态 state",
            "分配理由 reason",
        ],
    )
    for a in items:
        exports.append(
            detail,
            [
                a["uscc"],
                a["name"],
                a["county_code"],
                a["provider"],
                a["assigned_on"],
                a["due_on"],
                a["done_on"],
                a["state"],
                reason_text(a["reason"]),
            ],
        )
    params = wb.create_sheet("参数 parameters")
    exports.append(params, ["key", "region", "value", "since", "quality", "source"])
    for q in data["parameters"]:
        exports.append(
            params, [q["key"], q["region"], str(q["value"]), q["since"], q["quality"], q["source"]]
        )
    stamp = datetime.combine(as_of, datetime.min.time(), tzinfo=UTC).replace(tzinfo=None)
    wb.properties.created = wb.properties.modified = stamp
    audit.record(
        session,
        scope.username,
        "programmes.export",
        "programme",
        str(programme_id),
        {"as_of": data["as_of"], "rows": len(items)},
        user_id=scope.user_id,
    )
    return exports.save(wb, path)


# -- officers' actions on the web ------------------------------------------------------------
def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise err(
            "date", f"“{text}”不是日期（YYYY-MM-DD）", f"'{text}' is not a date (YYYY-MM-DD)", field
        ) from exc


def update(
    session: Session,
    programme_id: int,
    name: str,
    budget_wan: float,
    start_on: date,
    end_on: date,
    report_days: int,
    actor: str,
) -> Programme:
    """Edit a programme's name, budget, period and report deadline (days after assignment; the
    deadlines of assignments already made stay as they are)."""
    p = get(session, programme_id)
    if not name.strip():
        raise err("name", "请填写项目名称", "the programme needs a name", "name")
    if end_on < start_on:
        raise err("period", "结束日期早于开始日期", "the programme ends before it starts", "end_on")
    if not budget_wan >= 0:
        raise err(
            "budget", "预算不能为负（万元）", "the budget cannot be negative (万元)", "budget"
        )
    if not 1 <= int(report_days) <= 366:
        raise err(
            "report_days",
            "报告期限须为 1–366 天",
            "the report deadline is 1–366 days",
            "report_days",
        )
    before = {
        "name": p.name,
        "budget_wan": p.budget_wan,
        "start_on": p.start_on.isoformat(),
        "end_on": p.end_on.isoformat(),
        "report_days": p.report_days,
    }
    p.name, p.budget_wan = name.strip()[:200], float(budget_wan)
    p.start_on, p.end_on, p.report_days = start_on, end_on, int(report_days)
    audit.record(session, actor, "programmes.update", "programme", str(p.id), {"before": before})
    session.flush()
    return p


def _assignment(session: Session, scope: Scope, assignment_id: int) -> ProgrammeAssignment:
    a = session.get(ProgrammeAssignment, assignment_id) if 0 < assignment_id < 2**31 else None
    if a is not None and scope.role != "provider":
        visible = session.scalar(
            select(Enterprise.id).where(Enterprise.id == a.enterprise_id, scope.enterprise_clause())
        )
        a = a if visible is not None else None
    if a is None:
        raise NotFoundError(
            "programmes.assignment",
            f"没有分配记录 {assignment_id}",
            f"no assignment {assignment_id}",
            Location(field="assignment"),
            assignment_id,
        )
    return a


def set_due(
    session: Session, scope: Scope, assignment_id: int, due_on: date
) -> ProgrammeAssignment:
    """Set one assignment's report deadline (not before its assignment day)."""
    scope.require("programmes.manage")
    a = _assignment(session, scope, assignment_id)
    if due_on < a.assigned_on:
        raise err(
            "due_before",
            f"报告期限不能早于分配日期 {a.assigned_on.isoformat()}",
            f"the deadline cannot be before the assignment day {a.assigned_on.isoformat()}",
            "due_on",
        )
    before = a.due_on.isoformat()
    a.due_on = due_on
    audit.record(
        session,
        scope.username,
        "programmes.due",
        "programme_assignment",
        str(a.id),
        {"before": before, "due_on": due_on.isoformat()},
        user_id=scope.user_id,
    )
    session.flush()
    return a


def record_received(
    session: Session, scope: Scope, assignment_id: int, on: date, today: date
) -> ProgrammeAssignment:
    """Record the diagnosis report of one assignment received on ``on`` (not before its
    assignment day, not after today)."""
    scope.require("programmes.manage")
    a = _assignment(session, scope, assignment_id)
    if on < a.assigned_on or on > today:
        raise err(
            "received_day",
            f"收到日期须在 {a.assigned_on.isoformat()} 与 {today.isoformat()} 之间",
            f"the day received must be between {a.assigned_on.isoformat()} and {today.isoformat()}",
            "received_on",
        )
    if a.assessment_id is not None:
        raise err(
            "received_linked",
            "该分配已由诊断评估完成，无需手工登记",
            "this assignment is completed by a diagnosis assessment already",
            "received_on",
        )
    a.done_on = on
    audit.record(
        session,
        scope.username,
        "programmes.received",
        "programme_assignment",
        str(a.id),
        {"received_on": on.isoformat()},
        user_id=scope.user_id,
    )
    session.flush()
    return a


# -- the provider's desk -----------------------------------------------------------------------
# the market service's provider registry and its users, read as tables (not imported)
_market_provider_users = sa.table(
    "market_provider_users", sa.column("user_id", sa.Integer), sa.column("provider_id", sa.Integer)
)
_market_providers = sa.table(
    "market_providers", sa.column("id", sa.Integer), sa.column("uscc", sa.String)
)


def provider_uscc(session: Session, scope: Scope) -> str | None:
    """The USCC of the registry provider a ``provider`` user acts for (None otherwise)."""
    if scope.role != "provider" or scope.user_id is None:
        return None
    if not sa.inspect(session.connection()).has_table("market_providers"):
        return None  # no market service in this deployment
    return session.scalar(
        select(_market_providers.c.uscc)
        .join(
            _market_provider_users,
            _market_provider_users.c.provider_id == _market_providers.c.id,
        )
        .where(_market_provider_users.c.user_id == scope.user_id)
    )


def desk(session: Session, scope: Scope, as_of: date) -> dict[str, Any]:
    """The assignments of the caller's provider in every programme, with deadlines and state
    (the read of these enterprises is audited)."""
    scope.require("programmes.provider_desk")
    uscc = provider_uscc(session, scope)
    if uscc is None:
        return {"uscc": None, "items": [], "counts": {}}
    rows = session.execute(
        select(
            ProgrammeAssignment,
            Programme.name,
            Enterprise.uscc,
            Enterprise.name,
            Enterprise.county_code,
        )
        .join(ProgrammeProvider, ProgrammeProvider.id == ProgrammeAssignment.provider_id)
        .join(Programme, Programme.id == ProgrammeAssignment.programme_id)
        .join(Enterprise, Enterprise.id == ProgrammeAssignment.enterprise_id)
        .where(ProgrammeProvider.uscc == uscc)
        .order_by(ProgrammeAssignment.due_on, Enterprise.uscc)
    ).all()
    done: dict[int, dict[int, tuple[int | None, date]]] = {}
    items = []
    for a, programme, e_uscc, e_name, county in rows:
        if a.programme_id not in done:
            done[a.programme_id] = _done_on(session, a.programme_id, as_of)
        d = done[a.programme_id].get(a.id)
        state = "done" if d else ("overdue" if a.due_on < as_of else "open")
        items.append(
            {
                "id": a.id,
                "programme": programme,
                "uscc": e_uscc,
                "name": e_name,
                "county_code": county,
                "assigned_on": a.assigned_on.isoformat(),
                "due_on": a.due_on.isoformat(),
                "days_left": (a.due_on - as_of).days,
                "state": state,
                "done_on": d[1].isoformat() if d else None,
                "delivered_on": a.delivered_on.isoformat() if a.delivered_on else None,
            }
        )
    counts = {k: sum(1 for i in items if i["state"] == k) for k in ("open", "overdue", "done")}
    audit.record(
        session,
        scope.username,
        "programmes.desk",
        "programme_provider",
        uscc,
        {"enterprises": len(items)},
        user_id=scope.user_id,
    )
    return {"uscc": uscc, "items": items, "counts": counts}


def mark_delivered(
    session: Session, scope: Scope, assignment_id: int, today: date
) -> ProgrammeAssignment:
    """The provider marks the diagnosis report of one of its assignments delivered today."""
    scope.require("programmes.provider_desk")
    uscc = provider_uscc(session, scope)
    a = session.get(ProgrammeAssignment, assignment_id) if 0 < assignment_id < 2**31 else None
    own = (
        a is not None
        and uscc is not None
        and session.scalar(
            select(ProgrammeProvider.uscc).where(ProgrammeProvider.id == a.provider_id)
        )
        == uscc
    )
    if not own:
        # another provider's assignment is not found (its existence is not disclosed)
        raise NotFoundError(
            "programmes.assignment",
            f"没有分配记录 {assignment_id}",
            f"no assignment {assignment_id}",
            Location(field="assignment"),
            assignment_id,
        )
    if a.delivered_on is not None:
        raise err(
            "delivered_already",
            f"已于 {a.delivered_on.isoformat()} 标记交付",
            f"marked delivered on {a.delivered_on.isoformat()} already",
            "assignment",
        )
    a.delivered_on, a.delivered_by = today, scope.username
    audit.record(
        session,
        scope.username,
        "programmes.delivered",
        "programme_assignment",
        str(a.id),
        {"delivered_on": today.isoformat()},
        user_id=scope.user_id,
    )
    session.flush()
    return a


# -- diagnosis report files ----------------------------------------------------------------------
PDF_MAGIC = b"%PDF-"
_UNSAFE_NAME = re.compile(r"[^\w.\-（）() ]")


def report_limit_bytes(region_code: str, on: date) -> int:
    """The largest report file accepted (parameter ``programmes.reports.max_file_mb``)."""
    mb = parameters.load().resolve("programmes.reports.max_file_mb", region_code, on).value
    return int(float(mb) * 1024 * 1024)


def safe_file_name(name: str | None) -> str:
    """A stored file name: the last path part, characters outside letters, digits, ``.-()`` and
    spaces replaced, at most 120 characters, ending in ``.pdf``."""
    base = re.split(r"[\\/]", name or "")[-1].strip()
    base = _UNSAFE_NAME.sub("_", base).strip(". ") or "report"
    stem = base[:-4] if base.lower().endswith(".pdf") else base
    return stem[:116] + ".pdf"


def _own_assignment(session: Session, scope: Scope, assignment_id: int) -> ProgrammeAssignment:
    """An assignment of the caller's provider (another provider's is not found)."""
    uscc = provider_uscc(session, scope)
    a = session.get(ProgrammeAssignment, assignment_id) if 0 < assignment_id < 2**31 else None
    own = (
        a is not None
        and uscc is not None
        and session.scalar(
            select(ProgrammeProvider.uscc).where(ProgrammeProvider.id == a.provider_id)
        )
        == uscc
    )
    if not own:
        raise NotFoundError(
            "programmes.assignment",
            f"没有分配记录 {assignment_id}",
            f"no assignment {assignment_id}",
            Location(field="assignment"),
            assignment_id,
        )
    return a


def check_report(head: bytes, size: int, limit: int) -> None:
    """Refuse a report file before it is read whole: too big (``size`` as announced or read so
    far) or not a PDF (its first bytes are not ``%PDF-``)."""
    if size > limit:
        raise err(
            "report_too_big",
            f"文件过大（上限 {limit // (1024 * 1024)} MB）",
            f"the file is too big (limit {limit // (1024 * 1024)} MB)",
            "file",
            size,
        )
    if not head.startswith(PDF_MAGIC):
        raise err("report_not_pdf", "请上传 PDF 文件", "upload a PDF file", "file")


def store_report(
    session: Session,
    scope: Scope,
    assignment_id: int,
    file_name: str | None,
    content: bytes,
    today: date,
    limit: int,
) -> ProgrammeReportFile:
    """The provider uploads the diagnosis report file of one of its assignments: checked (size,
    PDF), scanned for viruses (:mod:`.virus_scan`; an infected file is refused with the
    signature's name, nothing stored, the refusal audited; without a scanner the file is kept
    marked not scanned), kept as a blob with its SHA-256 (a new upload replaces the file), the
    assignment marked delivered today if it was not; audited with the hash and the scan."""
    scope.require("programmes.provider_desk")
    a = _own_assignment(session, scope, assignment_id)
    check_report(content[:8], len(content), limit)
    digest = hashlib.sha256(content).hexdigest()
    name = safe_file_name(file_name)
    scanned = virus_scan.scan(content)
    if scanned.status == "infected":
        # refused, nothing stored; the refusal is audited (committed: the caller rolls back)
        audit.record(
            session,
            scope.username,
            "programmes.report_infected",
            "programme_assignment",
            str(a.id),
            {
                "file": name,
                "signature": scanned.signature,
                "sha256": digest,
                "size_bytes": len(content),
                "scan_engine": scanned.engine,
                "scan_signatures": scanned.signatures,
            },
            user_id=scope.user_id,
        )
        session.commit()
        raise err(
            "report_infected",
            f"文件“{name}”检出病毒（{scanned.signature}），已拒收，未保存",
            f"the file '{name}' carries a virus ({scanned.signature}): refused, nothing stored",
            "file",
            scanned.signature,
        )
    f = session.scalars(
        select(ProgrammeReportFile).where(ProgrammeReportFile.assignment_id == a.id)
    ).first()
    replaced = f.sha256 if f is not None else None
    if f is None:
        f = ProgrammeReportFile(assignment_id=a.id)
        session.add(f)
    f.file_name, f.size_bytes, f.sha256, f.content = name, len(content), digest, content
    f.uploaded_by = scope.username
    f.scan_status, f.scan_engine, f.scan_signatures = (
        scanned.status,
        scanned.engine,
        scanned.signatures,
    )
    f.scanned_at, f.scan_note = scanned.scanned_at, scanned.note
    if a.delivered_on is None:
        a.delivered_on, a.delivered_by = today, scope.username
    session.flush()
    audit.record(
        session,
        scope.username,
        "programmes.report_file",
        "programme_assignment",
        str(a.id),
        {
            "sha256": digest,
            "size_bytes": len(content),
            "file": name,
            "replaced_sha256": replaced,
            "scan_status": scanned.status,
            "scan_signatures": scanned.signatures,
        },
        user_id=scope.user_id,
    )
    return f


def report_files(session: Session, assignment_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Name, size, hash and virus scan (``scanned``: found clean by a scanner; engine, signature
    version, time) of the report files of these assignments (no content)."""
    if not assignment_ids:
        return {}
    rows = session.execute(
        select(
            ProgrammeReportFile.assignment_id,
            ProgrammeReportFile.file_name,
            ProgrammeReportFile.size_bytes,
            ProgrammeReportFile.sha256,
            ProgrammeReportFile.scan_status,
            ProgrammeReportFile.scan_engine,
            ProgrammeReportFile.scan_signatures,
            ProgrammeReportFile.scanned_at,
        ).where(ProgrammeReportFile.assignment_id.in_(assignment_ids))
    ).all()
    return {
        i: {
            "name": n,
            "size": s,
            "sha256": h,
            "scanned": status == "clean",
            "scan_engine": engine,
            "scan_signatures": sigs,
            "scanned_at": at,
        }
        for i, n, s, h, status, engine, sigs, at in rows
    }


def read_report(
    session: Session, scope: Scope, assignment_id: int
) -> tuple[ProgrammeReportFile, ProgrammeAssignment]:
    """The report file for download: the officer of the enterprise's scope, the enterprise itself
    or the assignment's own provider; anyone else is told it does not exist. Audited."""
    a = session.get(ProgrammeAssignment, assignment_id) if 0 < assignment_id < 2**31 else None
    allowed = False
    if a is not None:
        if scope.role == "provider":
            try:
                _own_assignment(session, scope, assignment_id)
                allowed = True
            except NotFoundError:
                allowed = False
        elif scope.role == "enterprise":
            allowed = scope.enterprise_id is not None and scope.enterprise_id == a.enterprise_id
        elif scope.can("programmes.view"):
            allowed = (
                session.scalar(
                    select(Enterprise.id).where(
                        Enterprise.id == a.enterprise_id, scope.enterprise_clause()
                    )
                )
                is not None
            )
    f = (
        session.scalars(
            select(ProgrammeReportFile).where(ProgrammeReportFile.assignment_id == a.id)
        ).first()
        if allowed
        else None
    )
    if f is None:
        raise NotFoundError(
            "programmes.report_file",
            f"分配记录 {assignment_id} 没有报告文件",
            f"assignment {assignment_id} has no report file",
            Location(field="assignment"),
            assignment_id,
        )
    audit.record(
        session,
        scope.username,
        "programmes.report_download",
        "programme_assignment",
        str(a.id),
        {"sha256": f.sha256},
        user_id=scope.user_id,
    )
    return f, a
