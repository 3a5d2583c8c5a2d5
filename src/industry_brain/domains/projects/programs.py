"""百千万 programmes: categories (攻关 / 推广 / 上云), yearly targets per county, project
enrolment, progress against the time-progress target, and the red/yellow/black bulletin.

Figures of a bulletin for year ``Y`` as of day ``d`` (``d`` in ``Y``; after ``Y`` the year is
complete):

- time progress ``f = (d − 1 Jan Y + 1 day) / days in Y`` (``f = 1`` after the year);
- per county and category: ``achieved`` = enrolments of year ``Y`` made on or before ``d``,
  ``target`` = parameter ``projects.programs.county_targets`` for the county, in force on ``d``,
  ``ratio = achieved / (target × f)`` (categories with target 0 are left out);
- county score = mean of its category ratios; 红榜 (honour) when score ≥ ``red_at``, 黄榜
  when ``yellow_at`` ≤ score < ``red_at``, 黑榜 (named for lagging) below ``yellow_at``;
- ranking by score, highest first (equal scores share a rank; then by county code).

Scores are computed with exact fractions, so a boundary value lands in the right list.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core.errors import ConflictError, Location, ValidationError
from industry_brain.domains.projects.models import ProgramEnrolment, ProgressReport
from industry_brain.domains.projects.stages import (
    check_version,
    flush_or_conflict,
    get_project,
)
from industry_brain.store import codes
from industry_brain.store.audit import record
from industry_brain.store.models import Project

LISTS: tuple[str, ...] = ("red", "yellow", "black")
LIST_ZH = {"red": "红榜", "yellow": "黄榜", "black": "黑榜"}


def categories(region: str | None, on: date) -> list[dict[str, Any]]:
    """Programme categories in force: ``[{code, tier, en, tags}]``."""
    return parameters.load().get("projects.programs.categories", region=region, on=on)


def category_for(tag: str, region: str | None, on: date) -> str | None:
    """The category a project tag belongs to (``机器换人`` → ``推广``), or None."""
    for cat in categories(region, on):
        if tag == cat["code"] or tag in cat.get("tags", []):
            return cat["code"]
    return None


def enrol(
    session: Session,
    project_ref: str | int,
    program: str,
    on: date,
    today: date,
    *,
    expected_version: int | None = None,
    actor: str = "system",
    user_id: int | None = None,
) -> ProgramEnrolment:
    """入库: count a project in a programme category for the year of ``on``; the category is
    added to the project's programme tags."""
    project = get_project(session, project_ref)
    check_version(session, project, expected_version)
    code = category_for(program, project.county_code, on)
    if code is None:
        known = [c["code"] for c in categories(project.county_code, on)]
        raise ValidationError(
            "program.unknown",
            f"未知项目类别“{program}”（{'、'.join(known)}）",
            f"unknown programme category '{program}' (one of {', '.join(known)})",
            Location(field="program"),
            program,
        )
    if on > today:
        raise ValidationError(
            "program.date_future",
            f"入库日期 {on} 晚于今天 {today}",
            f"enrolment date {on} is after today {today}",
            Location(field="on"),
            on.isoformat(),
        )
    if project.actual_signed is not None and on < project.actual_signed:
        raise ValidationError(
            "program.before_signed",
            f"入库日期 {on} 早于项目签约日期 {project.actual_signed}",
            f"enrolment date {on} is before the project was signed ({project.actual_signed})",
            Location(field="on"),
            on.isoformat(),
        )
    exists = session.scalar(
        select(func.count())
        .select_from(ProgramEnrolment)
        .where(
            ProgramEnrolment.project_id == project.id,
            ProgramEnrolment.program == code,
            ProgramEnrolment.year == on.year,
        )
    )
    if exists:
        raise ConflictError(
            "program.duplicate",
            f"项目 {project.code} 已列入 {on.year} 年“{code}”",
            f"project {project.code} is enrolled in '{code}' for {on.year} already",
            Location(field="program"),
            code,
        )
    if code not in (project.programs or []):
        project.programs = [*(project.programs or []), code]
        flush_or_conflict(session, project, expected_version)
    enrolment = ProgramEnrolment(
        project_id=project.id, program=code, year=on.year, enrolled_on=on, actor=actor
    )
    session.add(enrolment)
    record(
        session,
        actor,
        "program.enrol",
        "project",
        project.code,
        {"program": code, "year": on.year, "on": on.isoformat()},
        user_id=user_id,
    )
    session.flush()
    return enrolment


def time_fraction(year: int, as_of: date) -> Fraction:
    """Share of ``year`` elapsed on ``as_of`` (the day itself included)."""
    if as_of.year < year:
        raise ValidationError(
            "program.year_future",
            f"{as_of} 时 {year} 年尚未开始",
            f"year {year} has not begun on {as_of}",
            Location(field="year"),
            year,
        )
    if as_of.year > year:
        return Fraction(1)
    days = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    return Fraction((as_of - date(year, 1, 1)).days + 1, days)


def _list_of(score: Fraction | None, red_at: Fraction, yellow_at: Fraction) -> str | None:
    if score is None:
        return None
    if score >= red_at:
        return "red"
    if score >= yellow_at:
        return "yellow"
    return "black"


def progress(session: Session, year: int, as_of: date) -> dict[str, Any]:
    """Progress of every county against its targets and the bulletin lists (see module doc)."""
    params = parameters.load()
    f = time_fraction(year, as_of)
    counties = codes.jurisdiction_counties(session)
    rows = session.execute(
        select(
            ProgramEnrolment.program,
            Project.county_code,
            Project.id,
            Project.planned_investment,
        )
        .join(Project, Project.id == ProgramEnrolment.project_id)
        .where(ProgramEnrolment.year == year, ProgramEnrolment.enrolled_on <= as_of)
    ).all()
    project_ids = {r[2] for r in rows}
    done = _investment_done(session, project_ids, as_of)
    county_rows = []
    used: dict[str, dict[str, Any]] = {}
    for code, name in counties:
        cats = params.resolve("projects.programs.categories", code, as_of)
        targets = params.resolve("projects.programs.county_targets", code, as_of)
        red_at = params.resolve("projects.programs.bulletin.red_at", code, as_of)
        yellow_at = params.resolve("projects.programs.bulletin.yellow_at", code, as_of)
        for r in (cats, targets, red_at, yellow_at):
            used.setdefault(f"{r.key}@{r.region or 'base'}", r.to_dict())
        per_cat = []
        ratios = []
        for cat in cats.value:
            mine = [r for r in rows if r[0] == cat["code"] and r[1] == code]
            target = int(targets.value.get(cat["code"], 0) or 0)
            time_target = target * f
            ratio = Fraction(len(mine)) / time_target if target > 0 else None
            if ratio is not None:
                ratios.append(ratio)
            per_cat.append(
                {
                    "program": cat["code"],
                    "tier": cat.get("tier"),
                    "target": target,
                    "time_target": round(float(time_target), 4),
                    "achieved": len(mine),
                    "ratio": None if ratio is None else round(float(ratio), 4),
                    "planned_investment": round(sum(r[3] for r in mine), 1),
                    "investment_done": round(sum(done.get(r[2], 0.0) for r in mine), 1),
                }
            )
        score = sum(ratios, Fraction(0)) / len(ratios) if ratios else None
        county_rows.append(
            {
                "county_code": code,
                "county": name,
                "programs": per_cat,
                "score_exact": score,
                "score": None if score is None else round(float(score), 4),
                "list": _list_of(
                    score, Fraction(str(red_at.value)), Fraction(str(yellow_at.value))
                ),
            }
        )
    ranked = sorted(
        county_rows,
        key=lambda c: (c["score_exact"] is None, -(c["score_exact"] or 0), c["county_code"]),
    )
    previous, rank = None, 0
    for i, c in enumerate(ranked, start=1):
        if c["score_exact"] != previous:
            rank, previous = i, c["score_exact"]
        c["rank"] = rank if c["score_exact"] is not None else None
    for c in ranked:
        del c["score_exact"]
    totals = {}
    for cat in categories(None, as_of):
        items = [p for c in ranked for p in c["programs"] if p["program"] == cat["code"]]
        totals[cat["code"]] = {
            "target": sum(p["target"] for p in items),
            "achieved": sum(p["achieved"] for p in items),
            "planned_investment": round(sum(p["planned_investment"] for p in items), 1),
            "investment_done": round(sum(p["investment_done"] for p in items), 1),
        }
    period = params.get("projects.programs.bulletin.period", None, as_of)
    return {
        "year": year,
        "as_of": as_of.isoformat(),
        "period": period,
        "time_fraction": round(float(f), 4),
        "counties": ranked,
        "totals": totals,
        "lists": {key: [c["county"] for c in ranked if c["list"] == key] for key in LISTS},
        "parameters": list(used.values()),
        "params_version": params.version(),
    }


def _investment_done(session: Session, project_ids: set[int], as_of: date) -> dict[int, float]:
    """Latest reported investment completed to date (万元) on or before ``as_of``."""
    if not project_ids:
        return {}
    out: dict[int, tuple[date, float]] = {}
    for pid, day, value in session.execute(
        select(
            ProgressReport.project_id,
            ProgressReport.report_date,
            ProgressReport.investment_completed,
        ).where(
            ProgressReport.project_id.in_(sorted(project_ids)),
            ProgressReport.report_date <= as_of,
        )
    ):
        if pid not in out or day > out[pid][0]:
            out[pid] = (day, value)
    return {pid: v for pid, (_, v) in out.items()}


def enrolments(session: Session, year: int, as_of: date) -> list[dict[str, Any]]:
    """Enrolments of ``year`` made on or before ``as_of``, with their projects."""
    rows = session.execute(
        select(ProgramEnrolment, Project.code, Project.name, Project.county_code, Project.stage)
        .join(Project, Project.id == ProgramEnrolment.project_id)
        .where(ProgramEnrolment.year == year, ProgramEnrolment.enrolled_on <= as_of)
        .order_by(Project.county_code, ProgramEnrolment.program, Project.code)
    ).all()
    return [
        {
            "program": e.program,
            "year": e.year,
            "enrolled_on": e.enrolled_on.isoformat(),
            "project": code,
            "name": name,
            "county_code": county,
            "stage": stage,
        }
        for e, code, name, county, stage in rows
    ]
