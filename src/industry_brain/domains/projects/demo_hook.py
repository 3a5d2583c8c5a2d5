"""项目钉 in the main job (``make demo``): on the demo store, as of ``DEMO_TODAY``,

1. files quarterly progress reports (investment completed to date, output, headcount) for the
   projects that had started by each quarter end of the demo year;
2. enrols the projects tagged 攻关 / 推广 (机器换人, 工厂物联网) / 上云 that started (开工) in
   the demo year in the 百千万 programme, on their start day;
3. computes the 破五未 warnings and stores the day's snapshot;
4. raises 破难题 tickets on the most overdue projects and works them through their lifecycle
   on earlier days (accepted, rerouted, resolved on time or late, reopened, closed, still open);
5. writes the 百千万 bulletin (XLSX, HTML, PDF) into ``out_dir/projects``.

Everything is deterministic: dates derive from ``DEMO_TODAY`` and random numbers from the
project ids.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.demo.constants import DEFAULT_SEED, DEMO_TODAY
from industry_brain.domains.projects import bulletin, programs, stages, tickets, wuwei
from industry_brain.domains.projects.bulletin import ReportError
from industry_brain.domains.projects.models import ProgramEnrolment, ProgressReport
from industry_brain.store.models import Project, User

ORDER = 30
#: kind → (ticket category, department, title)
_TICKET_OF_KIND = {
    "not_started": ("用地", "zrzy", "土地交付后场地平整未完成，无法开工"),
    "not_completed": ("审批", "zjj", "竣工验收所需消防审验排队等待"),
    "not_producing": ("环评", "sthj", "排污许可证尚未核发，无法投产"),
    "not_above_scale": ("资金", "jrb", "流动资金不足，产能释放受限"),
    "not_at_capacity": ("用能", "gdj", "用电增容未批复，达产受限"),
}


def _quarter_ends(year: int, today: date) -> list[date]:
    ends = [date(year, 3, 31), date(year, 6, 30), date(year, 9, 30), date(year, 12, 31)]
    return [d for d in ends if d <= today]


def _stage_on(p: Project, day: date) -> int:
    reached = 0
    for i, s in enumerate(stages.STAGES):
        actual = getattr(p, f"actual_{s}")
        if actual is not None and actual <= day:
            reached = i
    return reached


def seed_reports(session: Session, today: date) -> int:
    """Quarterly progress reports of the current year for started projects."""
    n = 0
    for p in session.scalars(select(Project).order_by(Project.id)):
        rng = np.random.default_rng([DEFAULT_SEED, p.id])
        share_done = float(rng.uniform(0.15, 0.35))
        output_per_investment = float(rng.uniform(0.8, 1.8))
        workers = max(5, round(p.planned_investment / float(rng.uniform(80, 200))))
        for day in _quarter_ends(today.year, today):
            if p.actual_started is None or p.actual_started > day:
                continue
            stage = _stage_on(p, day)
            if stage == 1:  # building: share of the construction period elapsed
                plan = p.planned_completed or p.actual_started + timedelta(days=365)
                span = max(1, (plan - p.actual_started).days)
                elapsed = min(1.0, (day - p.actual_started).days / span)
                share = min(0.85, share_done + (0.85 - share_done) * elapsed)
            elif stage == 2:
                share = 0.95
            else:
                share = 1.0
            producing = p.actual_producing is not None and p.actual_producing <= day
            months = day.month if producing else 0
            output = p.planned_investment * output_per_investment * months / 12
            stages.report_progress(
                session,
                p.id,
                day,
                round(p.planned_investment * share, 1),
                today,
                output=round(output, 1) if producing else 0.0,
                headcount=workers if stage >= 3 else max(3, workers // 4),
                notes="季度填报",
                actor="demo",
            )
            n += 1
    return n


def seed_enrolments(session: Session, today: date) -> int:
    """Enrol the tagged projects that started (开工) in ``today``'s year, on their start day, in
    their 百千万 categories: a programme project counts once it is being implemented."""
    n = 0
    for p in session.scalars(select(Project).order_by(Project.id)):
        if p.actual_started is None or p.actual_started.year != today.year:
            continue
        cats = dict.fromkeys(
            c
            for c in (programs.category_for(t, p.county_code, today) for t in p.programs or [])
            if c
        )
        for cat in cats:
            programs.enrol(session, p.id, cat, p.actual_started, today, actor="demo")
            n += 1
    return n


def seed_tickets(session: Session, warnings: list[wuwei.ProjectWarning], today: date) -> int:
    """Tickets on the most overdue projects, worked through on earlier days."""
    overdue = [w for w in warnings if w.colour in ("red", "black")]
    chosen: list[wuwei.ProjectWarning] = []
    for kind in wuwei.KINDS:  # a few of every kind, most overdue first
        chosen += [w for w in overdue if w.kind == kind][:3]
    agents = dict(session.execute(select(User.id, User.username)).all())
    # (days before today raised, due days, steps: (action, days after raising, extra))
    plans: list[list[tuple[str, int, dict[str, str]]]] = [
        [("accept", 1, {}), ("resolve", 9, {"resolution": "已协调解决"})],
        [("accept", 2, {}), ("resolve", 25, {"resolution": "逾期后解决"})],
        [("accept", 1, {})],
        [],
        [("reroute", 3, {"department": "fgw", "note": "需发改部门协调"})],
        [
            ("resolve", 6, {"resolution": "已解决"}),
            ("reopen", 10, {"note": "企业反映未落实"}),
            ("resolve", 18, {"resolution": "再次解决"}),
            ("close", 20, {}),
        ],
    ]
    n = 0
    for i, w in enumerate(chosen):
        category, dept, title = _TICKET_OF_KIND[w.kind]
        raised = today - timedelta(days=8 + 7 * (i % 6))
        project = session.get(Project, w.project_id)
        if project.actual_signed and raised < project.actual_signed:
            raised = project.actual_signed
        t = tickets.raise_ticket(
            session,
            w.project_id,
            title,
            dept,
            raised,
            raised_by_role="agent" if i % 3 else "enterprise",
            category=category,
            description=f"{w.to_dict()['kind']}：{w.to_dict()['explain']['zh']}",
            actor=agents.get(project.agent_id, "demo") if i % 3 else "企业",
        )
        for action, after, extra in plans[i % len(plans)]:
            day = min(today, raised + timedelta(days=after))
            tickets.transition(
                session,
                t.id,
                action,
                day,
                note=extra.get("note", ""),
                resolution=extra.get("resolution"),
                department=extra.get("department"),
                actor="demo",
            )
        n += 1
    return n


def run(
    engine: Engine, out_dir: Path, progress: Callable[[str, int, int], None] | None = None
) -> dict[str, Any]:
    """Seed reports, enrolments and tickets; compute warnings; write the bulletin."""
    step = progress or (lambda *_: None)
    today = DEMO_TODAY
    with Session(engine) as session:
        step("projects", 0, 5)
        reports = seed_reports(session, today)
        step("projects", 1, 5)
        enrolled = seed_enrolments(session, today)
        step("projects", 2, 5)
        snapshot = wuwei.refresh(session, today)
        found = wuwei.compute(session, today)
        raised = seed_tickets(session, found, today)
        session.commit()
        step("projects", 3, 5)
        by_stage = dict(
            session.execute(select(Project.stage, func.count()).group_by(Project.stage)).all()
        )
        ticket_stats = tickets.stats(session, today)
        data = programs.progress(session, today.year, today)
        listed = programs.enrolments(session, today.year, today)
        by_county = wuwei.grouped(session, found, "county")
        example = session.scalar(
            select(Project.code).where(Project.id == found[0].project_id) if found else None
        )
        counts = {
            "progress_reports": session.scalar(select(func.count()).select_from(ProgressReport)),
            "enrolments": session.scalar(select(func.count()).select_from(ProgramEnrolment)),
        }
    step("projects", 4, 5)
    folder = Path(out_dir) / "projects"
    try:
        files = bulletin.write_bulletin(data, listed, folder, pdf=True)
        pdf_error = None
    except ReportError as exc:
        files = bulletin.write_bulletin(data, listed, folder, pdf=False)
        pdf_error = exc.problem.message()
    step("projects", 5, 5)
    return {
        "as_of": today.isoformat(),
        "projects_by_stage": {s: by_stage.get(s, 0) for s in stages.STAGES},
        "progress_reports_added": reports,
        "progress_reports": counts["progress_reports"],
        "enrolments_added": enrolled,
        "enrolments": counts["enrolments"],
        "warnings_total": snapshot["warnings"],
        "warnings": snapshot["counts"],
        "warnings_by_county": by_county,
        "tickets_raised": raised,
        "tickets": {k: v for k, v in ticket_stats.items() if k != "county"},
        "bulletin": {
            "year": data["year"],
            "time_fraction": data["time_fraction"],
            "ranking": [
                {"rank": c["rank"], "county": c["county"], "score": c["score"], "list": c["list"]}
                for c in data["counties"]
            ],
            "lists": data["lists"],
            "files": files,
            "pdf_error": pdf_error,
        },
        "example_project": example,
    }


def headline(summary: dict[str, Any]) -> list[str]:
    """Lines the demo prints: stages, warnings by kind and colour, tickets, bulletin files."""
    stage_text = "  ".join(
        f"{stages.STAGE_ZH[s]} {n}" for s, n in summary["projects_by_stage"].items()
    )
    lines = [
        f"项目 projects by stage: {stage_text}",
        f"破五未预警 warnings on {summary['as_of']}: {summary['warnings_total']} "
        "(黄 yellow / 红 red / 黑 black)",
    ]
    for kind, c in summary["warnings"].items():
        lines.append(f"  {kind}: {c['yellow']} / {c['red']} / {c['black']}")
    t = summary["tickets"]
    lines.append(
        f"破难题 tickets: raised {t['raised']}, resolved {t['resolved']}, open {t['open']}, "
        f"overdue {t['overdue']}, resolved late {t['resolved_late']}"
    )
    b = summary["bulletin"]
    lines.append(
        f"百千万 {b['year']} enrolments {summary['enrolments']}: "
        + "  ".join(f"{k} {'、'.join(v) or '-'}" for k, v in b["lists"].items())
    )
    for kind, path in b["files"].items():
        lines.append(f"  bulletin {kind}: {path}")
    if b.get("pdf_error"):
        lines.append(f"  PDF not written: {b['pdf_error']}")
    if summary.get("example_project"):
        lines.append(
            f"  .venv/bin/industry-brain projects show {summary['example_project']} "
            f"--today {summary['as_of']}"
        )
    lines.append(f"  .venv/bin/industry-brain projects warnings --today {summary['as_of']}")
    return lines
