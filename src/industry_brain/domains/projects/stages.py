"""项目钉 projects and their stage machine (六环: 签约 → 开工 → 竣工 → 投产 → 上规 → 达产).

Rules:

- **advance** (推进): only to the next stage, with an actual date that is not after ``today``
  and not before the previous stage's date (the same day is allowed).
- **correct** (更正): a separate, audited action with a reason; changes the date of a stage
  already reached (keeping the order with its neighbours and not after ``today``) or the land
  handover date (交地); **undo** (撤销) withdraws the last stage reached, with a reason.
- Every change writes a :class:`StageEvent` and an audit entry and bumps ``Project.version``.
  A writer that read an older version gets :class:`ConflictError` (``project.version_conflict``):
  optimistic locking, so no update is lost. Functions flush but never commit.

Nothing here reads the clock: ``today`` is always a parameter.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from industry_brain.core import parameters
from industry_brain.core import uscc as uscc_mod
from industry_brain.core.errors import ConflictError, Location, NotFoundError, ValidationError
from industry_brain.domains.projects.models import ProgressReport, StageEvent
from industry_brain.store.audit import record
from industry_brain.store.models import (
    AgentAssignment,
    Enterprise,
    Industry,
    Project,
    Region,
    User,
)

#: The six stages in order: English name stored in ``Project.stage``.
STAGES: tuple[str, ...] = (
    "signed",
    "started",
    "completed",
    "producing",
    "above_scale",
    "at_capacity",
)
STAGE_ZH: dict[str, str] = {
    "signed": "签约",
    "started": "开工",
    "completed": "竣工",
    "producing": "投产",
    "above_scale": "上规",
    "at_capacity": "达产",
}
LAND_TRANSFER = "land_transfer"
LAND_TRANSFER_ZH = "交地"


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months; a day past the target month's end becomes its last day.

    >>> add_months(date(2026, 1, 31), 1)
    datetime.date(2026, 2, 28)
    """
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def stage_name(text: str) -> str:
    """The stored stage name for an English or Chinese name (``开工`` → ``started``)."""
    value = text.strip()
    if value in STAGES:
        return value
    for name, zh in STAGE_ZH.items():
        if value == zh:
            return name
    raise ValidationError(
        "project.stage_unknown",
        f"未知阶段“{text}”（签约/开工/竣工/投产/上规/达产）",
        f"unknown stage '{text}' (one of {', '.join(STAGES)})",
        Location(field="stage"),
        text,
    )


def get_project(session: Session, ref: str | int) -> Project:
    """A project by id or by code (``HZXM-2025-00001``)."""
    project = None
    text = str(ref).strip()
    if text.isdigit():
        project = session.get(Project, int(text))
    if project is None:
        project = session.scalars(select(Project).where(Project.code == text)).first()
    if project is None:
        raise NotFoundError(
            "project.not_found",
            f"没有编号或代码为“{ref}”的项目",
            f"no project with id or code '{ref}'",
            Location(field="project"),
            ref,
        )
    return project


def find_user(session: Session, ref: str | int) -> User:
    """A user by username or id."""
    text = str(ref).strip()
    user = session.scalars(select(User).where(User.username == text)).first()
    if user is None and text.isdigit():
        user = session.get(User, int(text))
    if user is None:
        raise NotFoundError(
            "user.not_found",
            f"没有用户“{ref}”",
            f"no user '{ref}'",
            Location(field="user"),
            ref,
        )
    return user


def _bad_date(code: str, zh: str, en: str, field: str, value: Any) -> ValidationError:
    return ValidationError(code, zh, en, Location(field=field), value)


def _not_future(day: date, today: date, field: str) -> None:
    if day > today:
        raise _bad_date(
            "project.date_future",
            f"日期 {day} 晚于今天 {today}：实际日期不能在未来",
            f"date {day} is after today {today}: an actual date cannot be in the future",
            field,
            day.isoformat(),
        )


def conflict(session: Session, project_id: int, expected: int | None) -> ConflictError:
    """The version-conflict error, naming the stored version (read after a rollback)."""
    current = session.scalar(select(Project.version).where(Project.id == project_id))
    code = session.scalar(select(Project.code).where(Project.id == project_id))
    yours = f"（您读取的版本 {expected}）" if expected is not None else ""
    yours_en = f" (you read version {expected})" if expected is not None else ""
    return ConflictError(
        "project.version_conflict",
        f"项目 {code} 已被他人修改，当前版本为 {current}{yours}；本次修改未保存，请刷新后重试",
        f"project {code} was changed by someone else; it is now at version {current}"
        f"{yours_en}. Your change was not saved: reload and retry",
        Location(field="version"),
        current,
    )


def check_version(session: Session, project: Project, expected: int | None) -> None:
    """Refuse early when the caller edited an older version than the stored one."""
    if expected is not None and project.version != expected:
        pid = project.id
        session.rollback()
        raise conflict(session, pid, expected)


def flush_or_conflict(session: Session, project: Project, expected: int | None) -> None:
    """Flush; a concurrent writer's commit (``UPDATE … WHERE version = n`` matching no row)
    becomes a :class:`ConflictError` after rolling the session back."""
    pid = project.id
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise conflict(session, pid, expected) from None


def _event(
    session: Session,
    project: Project,
    action: str,
    stage: str,
    old: date | None,
    new: date | None,
    before: str | None,
    today: date,
    actor: str,
    user_id: int | None,
    reason: str | None = None,
) -> StageEvent:
    event = StageEvent(
        project_id=project.id,
        action=action,
        stage=stage,
        old_date=old,
        new_date=new,
        stage_before=before,
        stage_after=project.stage,
        reason=reason,
        actor=actor,
        user_id=user_id,
        on_day=today,
        version_after=project.version,
    )
    session.add(event)
    return event


def _audit(
    session: Session,
    project: Project,
    action: str,
    actor: str,
    user_id: int | None,
    detail: dict[str, Any],
) -> None:
    record(session, actor, f"project.{action}", "project", project.code, detail, user_id=user_id)


# -- create -----------------------------------------------------------------------------------
def create_project(
    session: Session,
    *,
    code: str,
    name: str,
    investor_uscc: str,
    county_code: str,
    planned_investment: float,
    signed_on: date,
    today: date,
    investor_name: str | None = None,
    industry_code: str | None = None,
    project_type: str = "industrial",
    planned_land_mu: float | None = None,
    programs: Iterable[str] = (),
    agent: str | int | None = None,
    land_transfer_date: date | None = None,
    planned: dict[str, date] | None = None,
    actor: str = "system",
    user_id: int | None = None,
) -> Project:
    """Register a signed project (签约). The investor is a USCC; when it is not in the
    enterprise registry (a company being set up for the project) ``investor_name`` is required.
    """
    uscc = uscc_mod.normalize(investor_uscc, Location(field="investor_uscc"))
    if not code.strip() or not name.strip():
        raise ValidationError(
            "project.required", "项目代码和名称不能为空", "project code and name are required"
        )
    if session.scalar(select(func.count()).select_from(Project).where(Project.code == code)):
        raise ConflictError(
            "project.duplicate_code",
            f"项目代码 {code} 已存在",
            f"project code {code} exists already",
            Location(field="code"),
            code,
        )
    enterprise = session.scalars(select(Enterprise).where(Enterprise.uscc == uscc)).first()
    if enterprise is None and not (investor_name or "").strip():
        raise ValidationError(
            "project.investor_name_required",
            f"投资主体 {uscc} 不在企业库中（新设公司），须填写投资主体名称",
            f"investor {uscc} is not in the enterprise registry (a new company): give its name",
            Location(field="investor_name"),
            uscc,
        )
    county = session.get(Region, county_code)
    if county is None or county.level != "county":
        raise ValidationError(
            "project.county_unknown",
            f"“{county_code}”不是已知的区县代码",
            f"'{county_code}' is not a known county code",
            Location(field="county_code"),
            county_code,
        )
    if industry_code is not None and session.get(Industry, industry_code) is None:
        raise ValidationError(
            "project.industry_unknown",
            f"未知行业代码“{industry_code}”（GB/T 4754-2017）",
            f"unknown industry code '{industry_code}' (GB/T 4754-2017)",
            Location(field="industry_code"),
            industry_code,
        )
    types = parameters.load().get("projects.project_types", region=county_code, on=today)
    if project_type not in types:
        raise ValidationError(
            "project.type_unknown",
            f"未知项目类型“{project_type}”（{'、'.join(types)}）",
            f"unknown project type '{project_type}' (one of {', '.join(types)})",
            Location(field="project_type"),
            project_type,
        )
    if not planned_investment > 0:
        raise ValidationError(
            "project.investment",
            "计划投资须大于 0（万元）",
            "planned investment must be greater than 0 (万元)",
            Location(field="planned_investment"),
            planned_investment,
        )
    if planned_land_mu is not None and planned_land_mu < 0:
        raise ValidationError(
            "project.land",
            "计划用地不能为负（亩）",
            "planned land cannot be negative (亩)",
            Location(field="planned_land_mu"),
            planned_land_mu,
        )
    _not_future(signed_on, today, "signed_on")
    if land_transfer_date is not None:
        _not_future(land_transfer_date, today, "land_transfer_date")
    agent_user = find_user(session, agent) if agent is not None else None
    if agent_user is not None and agent_user.role != "agent":
        raise ValidationError(
            "project.agent_role",
            f"用户 {agent_user.username} 不是代办员（角色 {agent_user.role}）",
            f"user {agent_user.username} is not an agent (role {agent_user.role})",
            Location(field="agent"),
            agent_user.username,
        )
    plan = dict(planned or {})
    for key in plan:
        stage_name(key)
    tags = list(dict.fromkeys(t.strip() for t in programs if t and t.strip()))
    project = Project(
        code=code.strip(),
        name=name.strip(),
        investor_uscc=uscc,
        investor_name=(investor_name or "").strip() or None,
        enterprise_id=enterprise.id if enterprise else None,
        county_code=county_code,
        industry_code=industry_code,
        project_type=project_type,
        planned_investment=float(planned_investment),
        planned_land_mu=planned_land_mu,
        programs=tags,
        stage="signed",
        agent_id=agent_user.id if agent_user else None,
        land_transfer_date=land_transfer_date,
        actual_signed=signed_on,
        planned_signed=plan.get("signed", signed_on),
    )
    for key, day in plan.items():
        setattr(project, f"planned_{stage_name(key)}", day)
    session.add(project)
    session.flush()
    if agent_user is not None and enterprise is not None:
        exists = session.scalar(
            select(func.count())
            .select_from(AgentAssignment)
            .where(
                AgentAssignment.user_id == agent_user.id,
                AgentAssignment.enterprise_id == enterprise.id,
            )
        )
        if not exists:
            session.add(AgentAssignment(user_id=agent_user.id, enterprise_id=enterprise.id))
    _event(session, project, "create", "signed", None, signed_on, None, today, actor, user_id)
    _audit(session, project, "create", actor, user_id, {"signed": signed_on.isoformat()})
    session.flush()
    return project


# -- advance / correct / undo -----------------------------------------------------------------
def advance(
    session: Session,
    ref: str | int,
    stage: str,
    on: date,
    today: date,
    *,
    expected_version: int | None = None,
    actor: str = "system",
    user_id: int | None = None,
) -> Project:
    """推进: record that the project reached ``stage`` (the next one) on ``on``."""
    project = get_project(session, ref)
    target = stage_name(stage)
    check_version(session, project, expected_version)
    current = STAGES.index(project.stage)
    wanted = STAGES.index(target)
    if current == len(STAGES) - 1:
        raise ValidationError(
            "project.stage_final",
            f"项目 {project.code} 已达产，没有后续阶段",
            f"project {project.code} is at capacity (达产): there is no further stage",
            Location(field="stage"),
            target,
        )
    if wanted <= current:
        raise ValidationError(
            "project.stage_backward",
            f"项目 {project.code} 已处于“{STAGE_ZH[project.stage]}”，阶段只能前进到"
            f"“{STAGE_ZH[STAGES[current + 1]]}”；更正已记录的日期请用 correct",
            f"project {project.code} is at '{project.stage}': stages only move forward, to "
            f"'{STAGES[current + 1]}'; use correct to change a recorded date",
            Location(field="stage"),
            target,
        )
    if wanted > current + 1:
        raise ValidationError(
            "project.stage_skip",
            f"项目 {project.code} 须先记录“{STAGE_ZH[STAGES[current + 1]]}”，不能跳到"
            f"“{STAGE_ZH[target]}”",
            f"project {project.code} must reach '{STAGES[current + 1]}' before '{target}'",
            Location(field="stage"),
            target,
        )
    _not_future(on, today, "on")
    previous = getattr(project, f"actual_{project.stage}")
    if previous is not None and on < previous:
        raise _bad_date(
            "project.date_before_previous",
            f"{STAGE_ZH[target]}日期 {on} 早于{STAGE_ZH[project.stage]}日期 {previous}",
            f"{target} date {on} is before the {project.stage} date {previous}",
            "on",
            on.isoformat(),
        )
    before = project.stage
    setattr(project, f"actual_{target}", on)
    project.stage = target
    flush_or_conflict(session, project, expected_version)
    _event(session, project, "advance", target, None, on, before, today, actor, user_id)
    _audit(
        session,
        project,
        "advance",
        actor,
        user_id,
        {"stage": target, "date": on.isoformat(), "version": project.version},
    )
    session.flush()
    return project


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationError(
            "project.reason_required",
            "更正须说明理由",
            "a correction needs a reason",
            Location(field="reason"),
        )
    return text


def correct(
    session: Session,
    ref: str | int,
    stage: str,
    new_date: date,
    reason: str,
    today: date,
    *,
    expected_version: int | None = None,
    actor: str = "system",
    user_id: int | None = None,
) -> Project:
    """更正: change the date of a reached stage, or the land handover date (``land_transfer``
    / ``交地``), with a reason. The order of the stage dates is kept."""
    text = _reason(reason)
    project = get_project(session, ref)
    check_version(session, project, expected_version)
    _not_future(new_date, today, "on")
    if stage.strip() in (LAND_TRANSFER, LAND_TRANSFER_ZH):
        field, target = "land_transfer_date", LAND_TRANSFER
    else:
        target = stage_name(stage)
        idx, current = STAGES.index(target), STAGES.index(project.stage)
        if idx > current:
            raise ValidationError(
                "project.correct_unreached",
                f"项目 {project.code} 尚未到达“{STAGE_ZH[target]}”，不能更正；请用 advance 推进",
                f"project {project.code} has not reached '{target}': nothing to correct; "
                "use advance",
                Location(field="stage"),
                target,
            )
        if idx > 0:
            prev = getattr(project, f"actual_{STAGES[idx - 1]}")
            if prev is not None and new_date < prev:
                raise _bad_date(
                    "project.date_before_previous",
                    f"{STAGE_ZH[target]}日期 {new_date} 早于{STAGE_ZH[STAGES[idx - 1]]}日期 {prev}",
                    f"{target} date {new_date} is before the {STAGES[idx - 1]} date {prev}",
                    "on",
                    new_date.isoformat(),
                )
        if idx < current:
            nxt = getattr(project, f"actual_{STAGES[idx + 1]}")
            if nxt is not None and new_date > nxt:
                raise _bad_date(
                    "project.date_after_next",
                    f"{STAGE_ZH[target]}日期 {new_date} 晚于{STAGE_ZH[STAGES[idx + 1]]}日期 {nxt}",
                    f"{target} date {new_date} is after the {STAGES[idx + 1]} date {nxt}",
                    "on",
                    new_date.isoformat(),
                )
        field = f"actual_{target}"
    old = getattr(project, field)
    if old == new_date:
        raise ValidationError(
            "project.correct_no_change",
            f"日期已是 {new_date}，无需更正",
            f"the date is {new_date} already: nothing to correct",
            Location(field="on"),
            new_date.isoformat(),
        )
    setattr(project, field, new_date)
    flush_or_conflict(session, project, expected_version)
    _event(
        session,
        project,
        "correct",
        target,
        old,
        new_date,
        project.stage,
        today,
        actor,
        user_id,
        text,
    )
    _audit(
        session,
        project,
        "correct",
        actor,
        user_id,
        {
            "stage": target,
            "old": old.isoformat() if old else None,
            "new": new_date.isoformat(),
            "reason": text,
            "version": project.version,
        },
    )
    session.flush()
    return project


def undo(
    session: Session,
    ref: str | int,
    reason: str,
    today: date,
    *,
    expected_version: int | None = None,
    actor: str = "system",
    user_id: int | None = None,
) -> Project:
    """撤销: withdraw the last stage reached (recorded by mistake), with a reason."""
    text = _reason(reason)
    project = get_project(session, ref)
    check_version(session, project, expected_version)
    current = STAGES.index(project.stage)
    if current == 0:
        raise ValidationError(
            "project.undo_signed",
            "签约是第一个阶段，不能撤销；请更正签约日期",
            "signed is the first stage and cannot be withdrawn; correct its date instead",
            Location(field="stage"),
            project.stage,
        )
    before = project.stage
    old = getattr(project, f"actual_{before}")
    setattr(project, f"actual_{before}", None)
    project.stage = STAGES[current - 1]
    flush_or_conflict(session, project, expected_version)
    _event(session, project, "undo", before, old, None, before, today, actor, user_id, text)
    _audit(
        session,
        project,
        "undo",
        actor,
        user_id,
        {
            "stage": before,
            "old": old.isoformat() if old else None,
            "reason": text,
            "version": project.version,
        },
    )
    session.flush()
    return project


# -- progress reports -------------------------------------------------------------------------
def report_progress(
    session: Session,
    ref: str | int,
    report_date: date,
    investment_completed: float,
    today: date,
    *,
    output: float | None = None,
    headcount: int | None = None,
    notes: str = "",
    expected_version: int | None = None,
    actor: str = "system",
    user_id: int | None = None,
    bump: bool = True,
) -> ProgressReport:
    """进度填报: cumulative investment completed (万元), year-to-date output (万元), headcount.

    With ``expected_version`` (the project version the reporter read, e.g. from a web form) a
    project changed since then refuses the report with ``project.version_conflict``.

    A report bumps the project version in its own transaction (compare-and-set, see
    :func:`_bump_version`), so reports of one project are serialised: of two agents posting at
    once, the second gets ``project.version_conflict`` instead of storing a figure checked
    against a series that changed meanwhile (累计完成投资 never decreases). ``bump=False`` is
    for a caller that has already bumped the version in this transaction (a stage advance
    filed with the report: one submission, one version)."""
    project = get_project(session, ref)
    check_version(session, project, expected_version)
    _not_future(report_date, today, "report_date")
    if project.actual_signed is not None and report_date < project.actual_signed:
        raise _bad_date(
            "report.before_signed",
            f"填报日期 {report_date} 早于签约日期 {project.actual_signed}",
            f"report date {report_date} is before the signing date {project.actual_signed}",
            "report_date",
            report_date.isoformat(),
        )
    for field, value in (
        ("investment_completed", investment_completed),
        ("output", output),
        ("headcount", headcount),
    ):
        if value is not None and value < 0:
            raise ValidationError(
                "report.negative",
                f"{field} 不能为负",
                f"{field} cannot be negative",
                Location(field=field),
                value,
            )
    others = list(
        session.scalars(
            select(ProgressReport)
            .where(ProgressReport.project_id == project.id)
            .order_by(ProgressReport.report_date)
        )
    )
    if any(r.report_date == report_date for r in others):
        raise _duplicate_report(project.code, report_date)
    earlier = [r for r in others if r.report_date < report_date]
    later = [r for r in others if r.report_date > report_date]
    if earlier and investment_completed < earlier[-1].investment_completed:
        raise ValidationError(
            "report.investment_decreasing",
            f"累计完成投资 {investment_completed} 万元少于 {earlier[-1].report_date} 填报的 "
            f"{earlier[-1].investment_completed} 万元",
            f"investment completed to date {investment_completed} 万元 is less than the "
            f"{earlier[-1].investment_completed} 万元 reported on {earlier[-1].report_date}",
            Location(field="investment_completed"),
            investment_completed,
        )
    if later and investment_completed > later[0].investment_completed:
        raise ValidationError(
            "report.investment_decreasing",
            f"累计完成投资 {investment_completed} 万元多于之后 {later[0].report_date} 填报的 "
            f"{later[0].investment_completed} 万元",
            f"investment completed to date {investment_completed} 万元 is more than the "
            f"{later[0].investment_completed} 万元 reported later on {later[0].report_date}",
            Location(field="investment_completed"),
            investment_completed,
        )
    if bump:
        _bump_version(session, project)
    report = ProgressReport(
        project_id=project.id,
        report_date=report_date,
        investment_completed=float(investment_completed),
        output=None if output is None else float(output),
        headcount=headcount,
        notes=notes or "",
        actor=actor,
        user_id=user_id,
    )
    session.add(report)
    _audit(
        session,
        project,
        "report",
        actor,
        user_id,
        {"date": report_date.isoformat(), "investment_completed": investment_completed},
    )
    code = project.code
    try:
        session.flush()
    except IntegrityError:
        # a concurrent report of the same date won the race: the unique constraint refused
        # this one; the transaction is rolled back and the caller gets the same conflict
        session.rollback()
        raise _duplicate_report(code, report_date) from None
    return report


def _bump_version(session: Session, project: Project) -> None:
    """``UPDATE projects SET version = n + 1 WHERE id = … AND version = n`` for the version ``n``
    this session read. A writer that committed in between (or holds the row: PostgreSQL makes
    the UPDATE wait for its commit, SQLite's single writer does the same) leaves no row to
    match, and the caller gets :class:`ConflictError` after a rollback."""
    pid, seen = project.id, project.version
    done = session.execute(
        update(Project)
        .where(Project.id == pid, Project.version == seen)
        .values(version=seen + 1)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        session.rollback()
        raise conflict(session, pid, seen)
    set_committed_value(project, "version", seen + 1)


def _duplicate_report(code: str, report_date: date) -> ConflictError:
    return ConflictError(
        "report.duplicate",
        f"项目 {code} 已有 {report_date} 的进度填报",
        f"project {code} has a progress report for {report_date} already",
        Location(field="report_date"),
        report_date.isoformat(),
    )


# -- reading ----------------------------------------------------------------------------------
def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def project_dict(
    project: Project, county_names: dict[str, str], agents: dict[int, str]
) -> dict[str, Any]:
    """A project as plain data (dates as ISO strings)."""
    return {
        "id": project.id,
        "code": project.code,
        "name": project.name,
        "uscc": project.investor_uscc,
        "investor_name": project.investor_name,
        "enterprise_id": project.enterprise_id,
        "new_company": project.enterprise_id is None,
        "county_code": project.county_code,
        "county": county_names.get(project.county_code, project.county_code),
        "industry_code": project.industry_code,
        "project_type": project.project_type,
        "planned_investment": project.planned_investment,
        "planned_land_mu": project.planned_land_mu,
        "programs": list(project.programs or []),
        "stage": project.stage,
        "stage_zh": STAGE_ZH[project.stage],
        "agent": agents.get(project.agent_id) if project.agent_id else None,
        "land_transfer_date": _iso(project.land_transfer_date),
        "planned": {s: _iso(getattr(project, f"planned_{s}")) for s in STAGES},
        "actual": {s: _iso(getattr(project, f"actual_{s}")) for s in STAGES},
        "version": project.version,
    }


def lookups(session: Session) -> tuple[dict[str, str], dict[int, str]]:
    """County names by code and usernames by id, for plain-data output."""
    counties = dict(session.execute(select(Region.code, Region.name)).all())
    users = dict(session.execute(select(User.id, User.username)).all())
    return counties, users


def list_projects(
    session: Session,
    *,
    county: str | None = None,
    agent: str | None = None,
    stage: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Projects filtered by county, agent (username) and stage, ordered by id."""
    stmt = select(Project).order_by(Project.id)
    if county:
        stmt = stmt.where(Project.county_code == county)
    if agent:
        stmt = stmt.where(Project.agent_id == find_user(session, agent).id)
    if stage:
        stmt = stmt.where(Project.stage == stage_name(stage))
    counties, users = lookups(session)
    rows = session.scalars(stmt.offset(offset).limit(limit))
    return [project_dict(p, counties, users) for p in rows]


def history(session: Session, project_id: int) -> list[dict[str, Any]]:
    """Stage events of a project, oldest first."""
    events = session.scalars(
        select(StageEvent).where(StageEvent.project_id == project_id).order_by(StageEvent.id)
    )
    return [
        {
            "action": e.action,
            "stage": e.stage,
            "old_date": _iso(e.old_date),
            "new_date": _iso(e.new_date),
            "stage_before": e.stage_before,
            "stage_after": e.stage_after,
            "reason": e.reason,
            "actor": e.actor,
            "on_day": e.on_day.isoformat(),
            "version_after": e.version_after,
        }
        for e in events
    ]


def reports(session: Session, project_id: int) -> list[dict[str, Any]]:
    """Progress reports of a project, oldest first."""
    rows = session.scalars(
        select(ProgressReport)
        .where(ProgressReport.project_id == project_id)
        .order_by(ProgressReport.report_date)
    )
    return [
        {
            "report_date": r.report_date.isoformat(),
            "investment_completed": r.investment_completed,
            "output": r.output,
            "headcount": r.headcount,
            "notes": r.notes,
            "actor": r.actor,
        }
        for r in rows
    ]
