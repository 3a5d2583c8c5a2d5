"""项目钉 for the web: every read and write of the project pages, with the caller's scope.

The web routes (:mod:`.web`) parse input and render; this module decides what the caller may
see and do, so that a template or a route can never show a project outside the scope by
forgetting a check:

- every project query applies ``scope.project_clause()`` (admin and city officers: all;
  county officer: own county; agent: own projects; enterprise: own projects; bank: none), and a
  project outside the scope answers ``project.not_found`` exactly like a missing one;
- the board and the project pages are for the roles that have projects in their scope
  (permission ``projects.view``; others get 403), the 百千万 bulletin for officers and admins
  (``bulletins.view``);
- progress reports (进度填报) are filed by the project's own agent (代办员) or an admin; 破难题
  tickets are raised by the project's agent or its enterprise (the rules of
  :func:`industry_brain.domains.projects.tickets.raise_ticket`).

Writes go through the service functions (:mod:`.stages`, :mod:`.tickets`) with their checks and
optimistic locking; they flush, the route commits (or rolls back on an error). Nothing here
reads the clock: ``today`` is a parameter.
"""

from __future__ import annotations

import math
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core.errors import Location, NotFoundError, ValidationError
from industry_brain.domains.projects import bulletin, programs, stages, tickets, wuwei
from industry_brain.domains.projects.models import ProgressReport, Ticket
from industry_brain.store import scoped
from industry_brain.store.models import Enterprise, Project, Region, User
from industry_brain.store.scope import PermissionDenied, Scope
from industry_brain.store.scoped import record_export

#: cards per stage column on the unfiltered board; page size of one stage's column
PER_COLUMN = 30
PER_PAGE = 60
#: rows of the warnings table on the board
WARNINGS_SHOWN = 100
_RANK = {"black": 0, "red": 1, "yellow": 2}
KIND_EN = {
    "not_started": "signed, not started",
    "not_completed": "started, not completed",
    "not_producing": "completed, not producing",
    "not_above_scale": "producing, not yet above size",
    "not_at_capacity": "above size, not at capacity",
}


# -- permissions ------------------------------------------------------------------------------
def _deny(code: str, zh: str, en: str, scope: Scope) -> PermissionDenied:
    return PermissionDenied(code, zh, en, Location(field="role"), scope.role)


def require_board(scope: Scope) -> None:
    """Raise 403 unless the caller's role has projects in its scope (``projects.view``)."""
    scope.require("projects.view")


def require_bulletin(scope: Scope) -> None:
    """Raise 403 unless the caller may read the 百千万 bulletin (``bulletins.view``: officers of
    the bureau and admins)."""
    scope.require("bulletins.view")


def can_report(scope: Scope, project: Project) -> bool:
    """进度填报: the project's own agent, or an admin."""
    if scope.role == "admin":
        return True
    return scope.role == "agent" and scope.user_id is not None and project.agent_id == scope.user_id


def can_raise(scope: Scope) -> bool:
    """破难题: the project's agent or its enterprise (a visible project is theirs)."""
    return scope.role in ("agent", "enterprise")


def visible_project(session: Session, scope: Scope, code: str) -> Project:
    """The project ``code`` when the caller may see it; otherwise the same 404 as a missing one."""
    require_board(scope)
    project = session.scalars(
        select(Project).where(Project.code == code.strip(), scope.project_clause())
    ).first()
    if project is None:
        raise NotFoundError(
            "project.not_found",
            f"没有编号或代码为“{code}”的项目",
            f"no project with id or code '{code}'",
            Location(field="project"),
            code,
        )
    return project


# -- plain data -------------------------------------------------------------------------------
def warning_dict(w: wuwei.ProjectWarning | None) -> dict[str, Any] | None:
    """A warning for the pages: kind (code, zh, en), colour, deadline, days over/left."""
    if w is None:
        return None
    return {
        "kind": w.kind,
        "kind_zh": wuwei.KINDS[w.kind][2],
        "kind_en": KIND_EN[w.kind],
        "colour": w.colour,
        "deadline": w.rule.deadline.isoformat(),
        "days_overdue": w.days_overdue,
        "days_left": w.days_left,
        "anchor": w.rule.anchor,
        "anchor_date": w.rule.anchor_date.isoformat(),
        "months": w.rule.months,
        "yellow_from": w.rule.yellow_from.isoformat(),
        "black_from": w.rule.black_from.isoformat(),
    }


def _rank(card: dict[str, Any]) -> tuple:
    w = card["warning"]
    if w is None:
        return (3, 0, 0, card["code"])
    return (_RANK[w["colour"]], -w["days_overdue"], w["days_left"], card["code"])


@dataclass
class _Row:
    project: Project
    investor: str
    county: str
    agent: str | None


def _rows(session: Session, scope: Scope, *conditions: Any) -> list[_Row]:
    stmt = (
        select(Project, Enterprise.name, Region.name, User.display_name, User.username)
        .outerjoin(Enterprise, Enterprise.id == Project.enterprise_id)
        .outerjoin(Region, Region.code == Project.county_code)
        .outerjoin(User, User.id == Project.agent_id)
        .where(scope.project_clause(), *conditions)
        .order_by(Project.code)
    )
    return [
        _Row(p, ent or p.investor_name or p.investor_uscc, county or p.county_code, disp or user)
        for p, ent, county, disp, user in session.execute(stmt).all()
    ]


def _card(row: _Row, warning: wuwei.ProjectWarning | None) -> dict[str, Any]:
    p = row.project
    return {
        "code": p.code,
        "name": p.name,
        "investor": row.investor,
        "uscc": p.investor_uscc,
        "county_code": p.county_code,
        "county": row.county,
        "stage": p.stage,
        "planned_investment": p.planned_investment,
        "agent": row.agent,
        "warning": warning_dict(warning),
    }


def _evaluate(rows: list[_Row], today: date) -> list[tuple[_Row, wuwei.ProjectWarning | None]]:
    params = parameters.load()
    return [(r, wuwei.evaluate(r.project, today, params)) for r in rows]


def kind_table(warnings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Warnings by kind and colour (every kind and colour, zeros included)."""
    c = Counter((w["kind"], w["colour"]) for w in warnings)
    out = []
    for kind, spec in wuwei.KINDS.items():
        row = {"kind": kind, "kind_zh": spec[2], "kind_en": KIND_EN[kind]}
        row.update({col: c[(kind, col)] for col in wuwei.COLOURS})
        row["total"] = sum(c[(kind, col)] for col in wuwei.COLOURS)
        out.append(row)
    return out


# -- board ------------------------------------------------------------------------------------
def counties_in_scope(session: Session, scope: Scope) -> list[dict[str, str]]:
    """Counties the caller's projects are in (for the filter)."""
    rows = session.execute(
        select(Region.code, Region.name)
        .where(Region.code.in_(select(Project.county_code).where(scope.project_clause())))
        .order_by(Region.code)
    ).all()
    return [{"code": c, "name": n} for c, n in rows]


def board(
    session: Session,
    scope: Scope,
    today: date,
    *,
    county: str | None = None,
    stage: str | None = None,
    warnings_only: bool = False,
    colour: str | None = None,
    kind: str | None = None,
    page: int = 1,
) -> dict[str, Any]:
    """The projects board of the caller's scope on ``today``: counts per stage, a column of
    cards per stage (worst warnings first), the warnings table and counts by kind/colour.

    Filters: ``county`` (GB/T 2260), ``stage`` (one column, paginated), ``warnings_only``,
    ``colour`` and ``kind`` (破五未 kind, code or Chinese name) of the warning (each implies
    warnings only)."""
    require_board(scope)
    conditions = []
    if county:
        conditions.append(Project.county_code == county)
    if stage:
        stage = stages.stage_name(stage)
    wanted = wuwei.colour_code(colour) if colour else None
    wanted_kind = wuwei.kind_code(kind) if kind else None
    evaluated = _evaluate(_rows(session, scope, *conditions), today)
    cards = [_card(r, w) for r, w in evaluated]
    if warnings_only or wanted or wanted_kind:
        cards = [c for c in cards if c["warning"] is not None]
    if wanted:
        cards = [c for c in cards if c["warning"]["colour"] == wanted]
    if wanted_kind:
        cards = [c for c in cards if c["warning"]["kind"] == wanted_kind]
    cards.sort(key=_rank)
    counts = Counter(c["stage"] for c in cards)
    warned = Counter(c["stage"] for c in cards if c["warning"] is not None)
    columns = []
    pages = 1
    for s in stages.STAGES:
        if stage and s != stage:
            continue
        mine = [c for c in cards if c["stage"] == s]
        if stage:
            pages = max(1, math.ceil(len(mine) / PER_PAGE))
            shown = mine[(page - 1) * PER_PAGE : page * PER_PAGE]
        else:
            shown = mine[:PER_COLUMN]
        columns.append(
            {"stage": s, "count": len(mine), "cards": shown, "more": len(mine) - len(shown)}
        )
    warnings = [
        {
            **c["warning"],
            **{k: c[k] for k in ("code", "name", "county", "county_code", "stage", "agent")},
            "severity": rank,  # worst first, as the cards
            "days": c["warning"]["days_overdue"] or -c["warning"]["days_left"],
        }
        for rank, c in enumerate(
            c for c in cards if c["warning"] is not None and (not stage or c["stage"] == stage)
        )
    ]
    return {
        "as_of": today.isoformat(),
        "total": len(cards),
        "counts": [{"stage": s, "count": counts[s], "warned": warned[s]} for s in stages.STAGES],
        "columns": columns,
        "page": page,
        "pages": pages,
        "warnings": warnings[:WARNINGS_SHOWN],
        "warnings_all": warnings,  # the board's warnings list (sorted and paged by the page)
        "warnings_total": len(warnings),
        "by_kind": kind_table(warnings),
        "counties": counties_in_scope(session, scope),
        "filters": {
            "county": county or "",
            "stage": stage or "",
            "warnings": "1" if warnings_only else "",
            "colour": wanted or "",
            "kind": wanted_kind or "",
        },
    }


# -- one project ------------------------------------------------------------------------------
def _ticket_form(region: str, today: date) -> dict[str, Any]:
    params = parameters.load()
    return {
        "departments": tickets.departments(region, today),
        "categories": params.get("projects.tickets.categories", region=region, on=today),
    }


def detail(session: Session, scope: Scope, code: str, today: date) -> dict[str, Any]:
    """One project in scope: stages with planned and actual dates, the next deadline and the
    warning (with its explanation), history, progress reports, tickets with their history, and
    what the caller may do (report progress, raise a ticket)."""
    project = visible_project(session, scope, code)
    row = _rows(session, scope, Project.id == project.id)[0]
    params = parameters.load()
    rule = wuwei.deadline_of(project, today, params)
    warning = wuwei.evaluate(project, today, params)
    current = stages.STAGES.index(project.stage)
    stage_rows = []
    for i, s in enumerate(stages.STAGES):
        actual = getattr(project, f"actual_{s}")
        stage_rows.append(
            {
                "stage": s,
                "planned": stages._iso(getattr(project, f"planned_{s}")),
                "actual": stages._iso(actual),
                "state": "done" if i < current else "current" if i == current else "pending",
                "deadline": rule.deadline.isoformat() if rule and i == current + 1 else None,
            }
        )
    explain = warning.to_dict()["explain"] if warning else None
    data = stages.project_dict(project, {}, {})
    data.update(
        {
            "investor": row.investor,
            "county": row.county,
            "agent": row.agent,
            "industry_code": project.industry_code,
            "land_transfer_date": stages._iso(project.land_transfer_date),
        }
    )
    nxt = stages.STAGES[current + 1] if current + 1 < len(stages.STAGES) else None
    reports = stages.reports(session, project.id)
    return {
        "project": data,
        "as_of": today.isoformat(),
        "stages": stage_rows,
        "next_stage": nxt,
        "deadline": (
            {
                "kind": rule.kind,
                "deadline": rule.deadline.isoformat(),
                "anchor": rule.anchor,
                "anchor_date": rule.anchor_date.isoformat(),
                "months": rule.months,
                "yellow_from": rule.yellow_from.isoformat(),
                "black_from": rule.black_from.isoformat(),
            }
            if rule
            else None
        ),
        "warning": warning_dict(warning),
        "explain": explain,
        "history": stages.history(session, project.id),
        "reports": reports,
        "latest_report": reports[-1] if reports else None,
        "tickets": tickets.list_tickets(session, today, project=project.id, with_history=True),
        "can_report": can_report(scope, project),
        "can_raise": can_raise(scope),
        "ticket_form": _ticket_form(project.county_code, today),
    }


# -- writes -----------------------------------------------------------------------------------
def _invalid(code: str, zh: str, en: str, field: str, value: Any) -> ValidationError:
    return ValidationError(code, zh, en, Location(field=field), value)


def _text(form: dict[str, Any], field: str) -> str:
    value = form.get(field)
    return value.strip() if isinstance(value, str) else ""


def _number(
    form: dict[str, Any], field: str, label_zh: str, *, required: bool = False
) -> float | None:
    text = _text(form, field).replace(",", "").replace("，", "")
    if not text:
        if required:
            raise _invalid(
                "form.required",
                f"请填写{label_zh}",
                f"{field} is required",
                field,
                None,
            )
        return None
    try:
        value = float(text)
    except ValueError:
        raise _invalid(
            "form.not_number",
            f"{label_zh}“{text}”不是数字",
            f"{field} '{text}' is not a number",
            field,
            text,
        ) from None
    if not math.isfinite(value):
        raise _invalid(
            "form.not_number",
            f"{label_zh}“{text}”不是有效数字",
            f"{field} '{text}' is not a valid number",
            field,
            text,
        )
    return value


def _int(form: dict[str, Any], field: str, label_zh: str, *, required: bool = False) -> int | None:
    value = _number(form, field, label_zh, required=required)
    if value is None:
        return None
    if not value.is_integer():
        raise _invalid(
            "form.not_integer",
            f"{label_zh}须为整数",
            f"{field} must be a whole number",
            field,
            value,
        )
    return int(value)


def _date(form: dict[str, Any], field: str, label_zh: str, default: date | None = None) -> date:
    text = _text(form, field)
    if not text:
        if default is not None:
            return default
        raise _invalid("form.required", f"请填写{label_zh}", f"{field} is required", field, None)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _invalid(
            "form.bad_date",
            f"{label_zh}“{text}”应为 YYYY-MM-DD 格式",
            f"{field} '{text}' must be a date YYYY-MM-DD",
            field,
            text,
        ) from None


def submit_progress(
    session: Session,
    scope: Scope,
    code: str,
    form: dict[str, Any],
    today: date,
) -> ProgressReport:
    """进度填报 from the project page: figures as of ``report_date`` and, optionally, the next
    stage reached (``advance_to`` on ``advance_on``). The form carries the project version the
    reporter read: a project changed since then is refused (``project.version_conflict``) and
    nothing is saved. Flushes; the caller commits, or rolls back on an error."""
    project = visible_project(session, scope, code)
    if not can_report(scope, project):
        raise _deny(
            "project.report_forbidden",
            f"只有项目 {project.code} 的代办员可以填报进度",
            f"only the agent of project {project.code} may report its progress",
            scope,
        )
    version = _int(form, "version", "版本号", required=True)
    report_date = _date(form, "report_date", "填报日期", default=today)
    investment = _number(form, "investment_completed", "累计完成投资", required=True)
    output = _number(form, "output", "本年累计产值")
    headcount = _int(form, "headcount", "用工人数")
    notes = _text(form, "notes")
    if len(notes) > 2000:
        raise _invalid(
            "form.too_long",
            "说明不能超过 2000 字",
            "notes are limited to 2000 characters",
            "notes",
            None,
        )
    advance_to = _text(form, "advance_to")
    advance_on = _date(form, "advance_on", "阶段日期") if advance_to else None
    expected, bump = version, True
    if advance_to and advance_on is not None:
        stages.advance(
            session,
            project.id,
            advance_to,
            advance_on,
            today,
            expected_version=version,
            actor=scope.username,
            user_id=scope.user_id,
        )
        # checked by advance, which bumped the version in this transaction (the row is ours)
        expected, bump = None, False
    return stages.report_progress(
        session,
        project.id,
        report_date,
        investment,
        today,
        output=output,
        headcount=headcount,
        notes=notes,
        expected_version=expected,
        actor=scope.username,
        user_id=scope.user_id,
        bump=bump,
    )


def submit_ticket(
    session: Session,
    scope: Scope,
    code: str,
    form: dict[str, Any],
    today: date,
) -> Ticket:
    """提出难题 from the project page, as the caller (its agent or its enterprise)."""
    project = visible_project(session, scope, code)
    if not can_raise(scope):
        raise _deny(
            "ticket.forbidden",
            "只有项目代办员或项目企业可以提出难题",
            "only the project's agent or its enterprise may raise a ticket",
            scope,
        )
    title = _text(form, "title")
    if len(title) > 200:
        raise _invalid(
            "form.too_long",
            "标题不能超过 200 字",
            "the title is limited to 200 characters",
            "title",
            None,
        )
    description = _text(form, "description")
    if len(description) > 4000:
        raise _invalid(
            "form.too_long",
            "说明不能超过 4000 字",
            "the description is limited to 4000 characters",
            "description",
            None,
        )
    return tickets.raise_ticket(
        session,
        project.id,
        title,
        _text(form, "department"),
        today,
        raised_by_role=scope.role,
        description=description,
        category=_text(form, "category") or "其他",
        user=scope.username,
        actor=scope.username,
    )


# -- sections ---------------------------------------------------------------------------------
def enterprise_projects(
    session: Session, scope: Scope, uscc: str, today: date
) -> dict[str, Any] | None:
    """The projects of enterprise ``uscc`` in the caller's scope with their warnings, and their
    tickets; None when the enterprise is not visible or has no such project."""
    if not scope.can("projects.view"):
        return None
    try:  # looked up once per request (the profile's other sections ask for it too)
        ent = scoped.visible_enterprise(session, scope, uscc)
    except NotFoundError:
        return None
    return _projects_and_tickets(session, scope, today, Project.enterprise_id == ent.id)


def _projects_and_tickets(
    session: Session, scope: Scope, today: date, *conditions: Any
) -> dict[str, Any] | None:
    rows = _rows(session, scope, *conditions)
    cards = [_card(r, w) for r, w in _evaluate(rows, today)]
    if not cards:
        return None
    cards.sort(key=_rank)
    ids = [r.project.id for r in rows]
    listed = []
    for pid in sorted(ids):
        listed += tickets.list_tickets(session, today, project=pid)
    listed.sort(key=lambda t: (t["status"] in tickets.DONE, t["due_date"], t["id"]))
    return {
        "as_of": today.isoformat(),
        "projects": cards,
        "warnings": sum(1 for c in cards if c["warning"]),
        "tickets": listed,
    }


def own_projects(session: Session, scope: Scope, today: date) -> dict[str, Any] | None:
    """An enterprise user's own projects with warnings and tickets (None for other roles)."""
    if scope.role != "enterprise" or not scope.enterprise_id:
        return None
    return _projects_and_tickets(
        session, scope, today, Project.enterprise_id == scope.enterprise_id
    )


def warnings_by_kind(session: Session, scope: Scope, today: date) -> dict[str, Any] | None:
    """破五未 warnings in the caller's scope by kind and colour (None for roles without a
    projects scope)."""
    if not scope.can("projects.view"):
        return None
    found = [warning_dict(w) for _, w in _evaluate(_rows(session, scope), today) if w is not None]
    table = kind_table(found)
    return {
        "as_of": today.isoformat(),
        "by_kind": table,
        "totals": {col: sum(r[col] for r in table) for col in (*wuwei.COLOURS, "total")},
    }


# -- 百千万 bulletin --------------------------------------------------------------------------
def bulletin_page(session: Session, scope: Scope, year: int, today: date) -> dict[str, Any]:
    """The 百千万 bulletin of ``year`` as of ``today``: the county ranking and the red/yellow/
    black lists (all counties: the bulletin compares them), the totals, the parameters used,
    and the enrolled projects in the caller's scope."""
    require_bulletin(scope)
    data = programs.progress(session, year, today)
    visible = set(session.scalars(select(Project.code).where(scope.project_clause())))
    names = {c["county_code"]: c["county"] for c in data["counties"]}
    enrolled = [
        {**e, "county": names.get(e["county_code"], e["county_code"])}
        for e in programs.enrolments(session, year, today)
        if e["project"] in visible
    ]
    cats = {c["code"]: c for c in programs.categories(None, today)}
    return {"b": data, "enrolled": enrolled, "categories": cats, "year": year}


def bulletin_workbook(
    session: Session, scope: Scope, year: int, today: date, request_id: str | None = None
) -> tuple[str, bytes]:
    """The bulletin workbook (XLSX, the CLI's layout; the enrolment sheet holds the projects in
    the caller's scope) as ``(file name, bytes)``; the download is audited as an export."""
    page = bulletin_page(session, scope, year, today)
    name = f"bulletin_{year}_{today.isoformat()}.xlsx"
    with tempfile.TemporaryDirectory(prefix="ib-bulletin-") as tmp:
        path = bulletin.write_xlsx(page["b"], Path(tmp) / name, page["enrolled"])
        content = path.read_bytes()
    record_export(
        session,
        scope,
        "projects_bulletin",
        str(year),
        {"file": name, "as_of": today.isoformat(), "enrolments": len(page["enrolled"])},
        request_id,
    )
    return name, content
