"""破难题 problem tickets: raised by a project's agent (代办员) or its enterprise, routed to a
department with a due date, worked through a status history to a resolution.

Statuses and actions::

    raise ──► open ──accept──► in_progress ──resolve──► resolved ──close──► closed
               │  ▲                │  ▲                    │
               │  └──reroute───────┘  └──────reopen────────┘
               └──────────resolve──────────►

``reroute`` sends an open or in-progress ticket to another department (status ``open``).
A ticket is **overdue** on a day when it is not resolved or closed on that day and the day is
after its due date; a ticket resolved after its due date counts as **resolved late**.
Statistics replay the status history, so they are right as of any ``today``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from industry_brain.core import parameters
from industry_brain.core.errors import (
    ConflictError,
    IBError,
    Location,
    NotFoundError,
    ValidationError,
)
from industry_brain.domains.projects.models import Ticket, TicketEvent
from industry_brain.domains.projects.stages import find_user, get_project
from industry_brain.store.audit import record
from industry_brain.store.models import AgentAssignment, Project, User

STATUSES: tuple[str, ...] = ("open", "in_progress", "resolved", "closed")
STATUS_ZH = {"open": "待办", "in_progress": "办理中", "resolved": "已解决", "closed": "已办结"}
#: action → (allowed from, to)
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "accept": (("open",), "in_progress"),
    "reroute": (("open", "in_progress"), "open"),
    "resolve": (("open", "in_progress"), "resolved"),
    "reopen": (("resolved",), "in_progress"),
    "close": (("resolved",), "closed"),
}
ACTION_ZH = {
    "raise": "提出",
    "accept": "受理",
    "reroute": "改派",
    "resolve": "解决",
    "reopen": "重新办理",
    "close": "办结",
}
DONE = ("resolved", "closed")


class ScopeError(IBError):
    """The user may not act on this project (not its agent, not its enterprise)."""


def departments(region: str | None, on: date) -> dict[str, str]:
    """Department code → name (parameter ``projects.tickets.departments``)."""
    return parameters.load().get("projects.tickets.departments", region=region, on=on)


def _department(code: str, region: str | None, on: date) -> str:
    known = departments(region, on)
    if code in known:
        return code
    for key, name in known.items():
        if code == name:
            return key
    raise ValidationError(
        "ticket.department_unknown",
        f"未知部门“{code}”（{'、'.join(f'{k} {v}' for k, v in known.items())}）",
        f"unknown department '{code}' (one of {', '.join(known)})",
        Location(field="department"),
        code,
    )


def _check_scope(session: Session, user: User, project: Project, role: str) -> None:
    if user.role != role:
        raise ScopeError(
            "ticket.role",
            f"用户 {user.username} 的角色是 {user.role}，不能以 {role} 身份提出难题",
            f"user {user.username} has role {user.role} and cannot raise a ticket as {role}",
            Location(field="user"),
            user.username,
        )
    if role == "enterprise":
        ok = project.enterprise_id is not None and user.enterprise_id == project.enterprise_id
    else:
        ok = project.agent_id == user.id or bool(
            project.enterprise_id is not None
            and session.scalar(
                select(func.count())
                .select_from(AgentAssignment)
                .where(
                    AgentAssignment.user_id == user.id,
                    AgentAssignment.enterprise_id == project.enterprise_id,
                )
            )
        )
    if not ok:
        raise ScopeError(
            "ticket.scope",
            f"用户 {user.username} 不负责项目 {project.code}，不能对其提出难题",
            f"user {user.username} is not responsible for project {project.code}",
            Location(field="user"),
            user.username,
        )


def raise_ticket(
    session: Session,
    project_ref: str | int,
    title: str,
    department: str,
    today: date,
    *,
    raised_by_role: str = "agent",
    description: str = "",
    category: str = "其他",
    due_date: date | None = None,
    user: str | int | None = None,
    actor: str = "system",
) -> Ticket:
    """提出难题 against a project, routed to ``department`` (code or name), due on
    ``due_date`` (default: today + ``projects.tickets.due_days``)."""
    project = get_project(session, project_ref)
    if raised_by_role not in ("agent", "enterprise"):
        raise ValidationError(
            "ticket.raised_by",
            f"提出方“{raised_by_role}”无效（agent 代办员 或 enterprise 企业）",
            f"raised_by '{raised_by_role}' is invalid (agent or enterprise)",
            Location(field="raised_by_role"),
            raised_by_role,
        )
    if not title.strip():
        raise ValidationError(
            "ticket.title", "难题标题不能为空", "a ticket needs a title", Location(field="title")
        )
    params = parameters.load()
    region = project.county_code
    dept = _department(department, region, today)
    categories = params.get("projects.tickets.categories", region=region, on=today)
    if category not in categories:
        raise ValidationError(
            "ticket.category_unknown",
            f"未知难题类别“{category}”（{'、'.join(categories)}）",
            f"unknown ticket category '{category}' (one of {', '.join(categories)})",
            Location(field="category"),
            category,
        )
    if project.actual_signed is not None and today < project.actual_signed:
        raise ValidationError(
            "ticket.before_signed",
            f"项目 {project.code} 于 {project.actual_signed} 签约，不能在此之前提出难题",
            f"project {project.code} was signed on {project.actual_signed}: no ticket before",
            Location(field="today"),
            today.isoformat(),
        )
    due = due_date or today + timedelta(
        days=params.get("projects.tickets.due_days", region=region, on=today)
    )
    if due < today:
        raise ValidationError(
            "ticket.due_past",
            f"办理期限 {due} 早于提出日 {today}",
            f"due date {due} is before the day the ticket is raised ({today})",
            Location(field="due_date"),
            due.isoformat(),
        )
    user_obj = find_user(session, user) if user is not None else None
    if user_obj is not None:
        _check_scope(session, user_obj, project, raised_by_role)
    ticket = Ticket(
        project_id=project.id,
        title=title.strip(),
        description=description or "",
        category=category,
        raised_by_role=raised_by_role,
        raised_by=user_obj.username if user_obj else actor,
        user_id=user_obj.id if user_obj else None,
        department=dept,
        raised_on=today,
        due_date=due,
        status="open",
    )
    session.add(ticket)
    session.flush()
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            on_day=today,
            action="raise",
            from_status=None,
            to_status="open",
            department=dept,
            note=title.strip(),
            actor=ticket.raised_by,
            user_id=ticket.user_id,
        )
    )
    record(
        session,
        ticket.raised_by,
        "ticket.raise",
        "ticket",
        str(ticket.id),
        {"project": project.code, "department": dept, "due": due.isoformat()},
        user_id=ticket.user_id,
    )
    session.flush()
    return ticket


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFoundError(
            "ticket.not_found",
            f"没有编号为 {ticket_id} 的难题",
            f"no ticket {ticket_id}",
            Location(field="ticket"),
            ticket_id,
        )
    return ticket


def transition(
    session: Session,
    ticket_id: int,
    action: str,
    today: date,
    *,
    note: str = "",
    resolution: str | None = None,
    department: str | None = None,
    expected_version: int | None = None,
    actor: str = "system",
    user_id: int | None = None,
) -> Ticket:
    """Apply ``action`` (accept, reroute, resolve, reopen, close) to a ticket on ``today``."""
    if action not in ACTIONS:
        raise ValidationError(
            "ticket.action_unknown",
            f"未知操作“{action}”（{'、'.join(ACTIONS)}）",
            f"unknown action '{action}' (one of {', '.join(ACTIONS)})",
            Location(field="action"),
            action,
        )
    ticket = get_ticket(session, ticket_id)
    if expected_version is not None and ticket.version != expected_version:
        raise _conflict(ticket.id, ticket.version, expected_version)
    allowed, to = ACTIONS[action]
    if ticket.status not in allowed:
        raise ValidationError(
            "ticket.transition",
            f"难题 {ticket.id} 当前为“{STATUS_ZH[ticket.status]}”，不能{ACTION_ZH[action]}",
            f"ticket {ticket.id} is {ticket.status}: cannot {action}",
            Location(field="status"),
            ticket.status,
        )
    last = session.scalar(
        select(func.max(TicketEvent.on_day)).where(TicketEvent.ticket_id == ticket.id)
    )
    if last is not None and today < last:
        raise ValidationError(
            "ticket.date_order",
            f"操作日期 {today} 早于该难题上次变更日期 {last}",
            f"action date {today} is before the ticket's last change on {last}",
            Location(field="today"),
            today.isoformat(),
        )
    region = ticket_region(session, ticket)
    before = ticket.status
    if action == "reroute":
        if not department:
            raise ValidationError(
                "ticket.department_required",
                "改派须指定新部门",
                "reroute needs the new department",
                Location(field="department"),
            )
        new_dept = _department(department, region, today)
        if new_dept == ticket.department:
            raise ValidationError(
                "ticket.same_department",
                f"难题已在 {new_dept}",
                f"the ticket is with {new_dept} already",
                Location(field="department"),
                new_dept,
            )
        ticket.department = new_dept
    if action == "resolve":
        if not (resolution or "").strip():
            raise ValidationError(
                "ticket.resolution_required",
                "解决难题须填写解决情况",
                "resolving a ticket needs a resolution",
                Location(field="resolution"),
            )
        ticket.resolution = resolution.strip()
        ticket.resolved_on = today
    if action in ("reopen",) and not note.strip():
        raise ValidationError(
            "ticket.note_required",
            "重新办理须说明原因",
            "reopening needs a note saying why",
            Location(field="note"),
        )
    if action == "reopen":
        ticket.resolved_on = None
    if action == "close":
        ticket.closed_on = today
    ticket.status = to
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        current = session.scalar(select(Ticket.version).where(Ticket.id == ticket_id))
        raise _conflict(ticket_id, current, expected_version) from None
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            on_day=today,
            action=action,
            from_status=before,
            to_status=to,
            department=ticket.department,
            note=(note or resolution or "").strip(),
            actor=actor,
            user_id=user_id,
        )
    )
    record(
        session,
        actor,
        f"ticket.{action}",
        "ticket",
        str(ticket.id),
        {"from": before, "to": to, "department": ticket.department},
        user_id=user_id,
    )
    session.flush()
    return ticket


def _conflict(ticket_id: int, current: int | None, expected: int | None) -> ConflictError:
    return ConflictError(
        "ticket.version_conflict",
        f"难题 {ticket_id} 已被他人修改（当前版本 {current}），本次修改未保存，请刷新后重试",
        f"ticket {ticket_id} was changed by someone else (now version {current}); "
        "your change was not saved: reload and retry",
        Location(field="version"),
        expected,
    )


def ticket_region(session: Session, ticket: Ticket) -> str:
    return session.scalar(select(Project.county_code).where(Project.id == ticket.project_id))


# -- state as of a day ------------------------------------------------------------------------
def _events_by_ticket(session: Session, ids: Iterable[int]) -> dict[int, list[TicketEvent]]:
    out: dict[int, list[TicketEvent]] = {}
    ids = list(ids)
    if not ids:
        return out
    for e in session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id.in_(ids))
        .order_by(TicketEvent.on_day, TicketEvent.id)
    ):
        out.setdefault(e.ticket_id, []).append(e)
    return out


def state_on(ticket: Ticket, events: list[TicketEvent], day: date) -> dict[str, Any]:
    """Status, department and resolution day of a ticket as of ``day`` (from its history)."""
    status, dept, resolved_on = "open", ticket.department, None
    for e in events:
        if e.on_day > day:
            break
        status, dept = e.to_status, e.department
        if e.action == "resolve":
            resolved_on = e.on_day
        elif e.action == "reopen":
            resolved_on = None
    overdue = status not in DONE and day > ticket.due_date
    return {
        "status": status,
        "department": dept,
        "resolved_on": resolved_on,
        "overdue": overdue,
        "days_overdue": (day - ticket.due_date).days if overdue else 0,
        "resolved_late": resolved_on is not None and resolved_on > ticket.due_date,
    }


def ticket_dict(
    ticket: Ticket,
    events: list[TicketEvent],
    today: date,
    project_code: str,
    names: dict[str, str],
    with_history: bool = False,
) -> dict[str, Any]:
    state = state_on(ticket, events, today)
    data: dict[str, Any] = {
        "id": ticket.id,
        "project": project_code,
        "title": ticket.title,
        "category": ticket.category,
        "raised_by_role": ticket.raised_by_role,
        "raised_by": ticket.raised_by,
        "raised_on": ticket.raised_on.isoformat(),
        "due_date": ticket.due_date.isoformat(),
        "status": state["status"],
        "status_zh": STATUS_ZH[state["status"]],
        "department": state["department"],
        "department_name": names.get(state["department"], state["department"]),
        "resolution": ticket.resolution if state["status"] in DONE else None,
        "resolved_on": state["resolved_on"].isoformat() if state["resolved_on"] else None,
        "overdue": state["overdue"],
        "days_overdue": state["days_overdue"],
        "version": ticket.version,
    }
    if with_history:
        data["history"] = [
            {
                "on_day": e.on_day.isoformat(),
                "action": e.action,
                "action_zh": ACTION_ZH[e.action],
                "from": e.from_status,
                "to": e.to_status,
                "department": e.department,
                "note": e.note,
                "actor": e.actor,
            }
            for e in events
            if e.on_day <= today
        ]
    return data


def list_tickets(
    session: Session,
    today: date,
    *,
    project: str | int | None = None,
    county: str | None = None,
    department: str | None = None,
    status: str | None = None,
    overdue: bool | None = None,
    with_history: bool = False,
) -> list[dict[str, Any]]:
    """Tickets raised on or before ``today``, with their state on ``today``."""
    stmt = (
        select(Ticket, Project.code, Project.county_code)
        .join(Project, Project.id == Ticket.project_id)
        .where(Ticket.raised_on <= today)
        .order_by(Ticket.id)
    )
    if project is not None:
        stmt = stmt.where(Ticket.project_id == get_project(session, project).id)
    if county:
        stmt = stmt.where(Project.county_code == county)
    rows = session.execute(stmt).all()
    events = _events_by_ticket(session, [t.id for t, _, _ in rows])
    names = departments(county, today)
    out = []
    for ticket, code, _county in rows:
        data = ticket_dict(ticket, events.get(ticket.id, []), today, code, names, with_history)
        if department and data["department"] != _department(department, county, today):
            continue
        if status and data["status"] != status:
            continue
        if overdue is not None and data["overdue"] != overdue:
            continue
        out.append(data)
    return out


def stats(
    session: Session,
    today: date,
    *,
    since: date | None = None,
    county: str | None = None,
) -> dict[str, Any]:
    """Ticket statistics on ``today`` for tickets raised from ``since`` (default: all):
    raised, resolved (resolved or closed), open, overdue, resolved late, mean days to resolve,
    in total and by department (the department holding the ticket on ``today``)."""
    tickets = list_tickets(session, today, county=county)
    if since is not None:
        tickets = [t for t in tickets if t["raised_on"] >= since.isoformat()]
    names = departments(county, today)

    def block(items: list[dict[str, Any]]) -> dict[str, Any]:
        done = [t for t in items if t["status"] in DONE]
        days = [
            (date.fromisoformat(t["resolved_on"]) - date.fromisoformat(t["raised_on"])).days
            for t in done
            if t["resolved_on"]
        ]
        return {
            "raised": len(items),
            "resolved": len(done),
            "open": len(items) - len(done),
            "overdue": sum(1 for t in items if t["overdue"]),
            "resolved_late": sum(
                1 for t in done if t["resolved_on"] and t["resolved_on"] > t["due_date"]
            ),
            "mean_days_to_resolve": round(sum(days) / len(days), 1) if days else None,
        }

    by_dept: dict[str, list[dict[str, Any]]] = {}
    for t in tickets:
        by_dept.setdefault(t["department"], []).append(t)
    return {
        "as_of": today.isoformat(),
        "since": since.isoformat() if since else None,
        "county": county,
        **block(tickets),
        "by_department": [
            {"department": code, "name": names.get(code, code), **block(items)}
            for code, items in sorted(by_dept.items())
        ],
    }
