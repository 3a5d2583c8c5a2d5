"""``industry-brain projects …``: 项目钉 projects, stages, 破五未 warnings, 破难题 tickets and
the 百千万 bulletin. Every command takes ``--today YYYY-MM-DD`` where the date matters (default:
the real date) and ``--json`` where it prints data. Errors print their code with the Chinese
and English message and exit with status 2.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from industry_brain.cli_support import JsonOpt, Table, day_or_today, parse_day
from industry_brain.cli_support import errors as _errors
from industry_brain.cli_support import print_json as _print_json
from industry_brain.core.errors import Location, ValidationError

NAME = "projects"
app = typer.Typer(
    help="项目钉 projects: stages, 破五未 warnings, 破难题 tickets, 百千万 bulletin.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
tickets_app = typer.Typer(help="破难题 problem tickets.", no_args_is_help=True)
app.add_typer(tickets_app, name="tickets")

console = Console()
err = Console(stderr=True)

TodayOpt = Annotated[
    str | None, typer.Option("--today", help="Today as YYYY-MM-DD (default: the real date).")
]
ExpectedOpt = Annotated[
    int | None,
    typer.Option(
        "--expected-version",
        help="The version you read; the change fails with a conflict if it moved on.",
    ),
]
UserOpt = Annotated[
    str | None, typer.Option("--user", help="Username doing this (recorded in the audit log).")
]
COLOUR_STYLE = {"yellow": "bold yellow", "red": "bold red", "black": "bold white on black"}


def _day(text: str | None, field: str) -> date:
    if text is None:
        raise ValidationError(
            "cli.date_required",
            f"缺少日期 {field}",
            f"{field} is required",
            Location(field=field),
        )
    return parse_day(text, field)


def _session() -> Session:
    from industry_brain.store.db import get_engine

    return Session(get_engine())


def _actor(session: Session, user: str | None) -> tuple[str, int | None]:
    if user is None:
        return "cli", None
    from industry_brain.domains.projects.stages import find_user

    u = find_user(session, user)
    return u.username, u.id


# -- projects ---------------------------------------------------------------------------------
@app.command("list", epilog="Example: industry-brain projects list --county 330502 --limit 20")
def list_cmd(
    county: Annotated[str | None, typer.Option(help="County GB/T 2260 code.")] = None,
    agent: Annotated[str | None, typer.Option(help="Agent username (代办员).")] = None,
    stage: Annotated[str | None, typer.Option(help="Stage (signed…at_capacity or 签约…).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    offset: Annotated[int, typer.Option(help="Skip this many rows.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """List projects (filter by county, agent, stage)."""
    from industry_brain.domains.projects.stages import list_projects

    with _errors(), _session() as session:
        rows = list_projects(
            session, county=county, agent=agent, stage=stage, limit=limit, offset=offset
        )
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"项目 projects: {len(rows)}")
    for col in ("id", "code", "name", "county", "stage", "investment 万元", "agent", "v"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            str(r["id"]),
            r["code"],
            r["name"],
            r["county"],
            r["stage_zh"],
            f"{r['planned_investment']:,.0f}",
            r["agent"] or "",
            str(r["version"]),
        )
    console.print(t)


@app.command("show", epilog="Example: industry-brain projects show HZXM-2025-00001 --json")
def show_cmd(
    project: Annotated[str, typer.Argument(help="Project id or code.")],
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One project: stage dates, history, progress reports, warning, tickets, programmes."""
    from sqlalchemy import select

    from industry_brain.domains.projects import stages, tickets, wuwei
    from industry_brain.domains.projects.models import ProgramEnrolment
    from industry_brain.store.models import Enterprise

    with _errors(), _session() as session:
        day = day_or_today(today)
        p = stages.get_project(session, project)
        counties, users = stages.lookups(session)
        data = stages.project_dict(p, counties, users)
        if p.enterprise_id is not None and not data["investor_name"]:
            data["investor_name"] = session.get(Enterprise, p.enterprise_id).name
        data["history"] = stages.history(session, p.id)
        data["reports"] = stages.reports(session, p.id)
        warning = wuwei.evaluate(p, day)
        data["warning"] = warning.to_dict(counties, users) if warning else None
        data["tickets"] = tickets.list_tickets(session, day, project=p.id)
        data["enrolments"] = [
            {"program": e.program, "year": e.year, "enrolled_on": e.enrolled_on.isoformat()}
            for e in session.scalars(
                select(ProgramEnrolment)
                .where(ProgramEnrolment.project_id == p.id)
                .order_by(ProgramEnrolment.year, ProgramEnrolment.program)
            )
        ]
        data["as_of"] = day.isoformat()
    if as_json:
        _print_json(data)
        return
    console.print(f"[bold]{data['name']}[/]  {data['code']}  (id {data['id']}, v{data['version']})")
    investor = data["investor_name"] or ""
    console.print(
        f"投资主体 investor: {data['uscc']} {investor}"
        f"{' （新设公司 new company）' if data['new_company'] else ''}   "
        f"区县 county: {data['county']}   行业 industry: {data['industry_code'] or '-'}   "
        f"类型 type: {data['project_type']}"
    )
    console.print(
        f"计划投资 planned investment: {data['planned_investment']:,.1f} 万元   "
        f"用地 land: {data['planned_land_mu'] or '-'} 亩   交地 land handover: "
        f"{data['land_transfer_date'] or '-'}   代办员 agent: {data['agent'] or '-'}   "
        f"标签 programmes: {'、'.join(data['programs']) or '-'}"
    )
    t = Table(title=f"阶段 stages (current: {data['stage_zh']} {data['stage']})")
    for col in ("stage", "planned", "actual"):
        t.add_column(col)
    for s in stages.STAGES:
        t.add_row(f"{stages.STAGE_ZH[s]} {s}", data["planned"][s] or "-", data["actual"][s] or "-")
    console.print(t)
    if data["warning"]:
        w = data["warning"]
        console.print(
            f"[{COLOUR_STYLE[w['colour']]}]{w['kind']} {w['colour_zh']}灯 {w['colour']}[/] "
            f"期限 deadline {w['deadline']}  超期 overdue {w['days_overdue']} 天 days  "
            f"{w['explain']['zh']}"
        )
    else:
        console.print(f"无预警 no warning on {data['as_of']}")
    if data["history"]:
        h = Table(title="阶段记录 stage history")
        for col in ("day", "action", "stage", "old", "new", "reason", "actor", "version"):
            h.add_column(col)
        for e in data["history"]:
            h.add_row(
                e["on_day"],
                e["action"],
                e["stage"],
                e["old_date"] or "",
                e["new_date"] or "",
                e["reason"] or "",
                e["actor"],
                str(e["version_after"]),
            )
        console.print(h)
    if data["reports"]:
        r = Table(title="进度填报 progress reports")
        for col in ("date", "investment done 万元", "output YTD 万元", "headcount", "notes"):
            r.add_column(col)
        for rep in data["reports"]:
            r.add_row(
                rep["report_date"],
                f"{rep['investment_completed']:,.1f}",
                "-" if rep["output"] is None else f"{rep['output']:,.1f}",
                "-" if rep["headcount"] is None else str(rep["headcount"]),
                rep["notes"],
            )
        console.print(r)
    for tk in data["tickets"]:
        console.print(
            f"难题 ticket #{tk['id']} [{tk['status_zh']}] {tk['title']} → "
            f"{tk['department_name']} due {tk['due_date']}"
            + ("  超期 OVERDUE" if tk["overdue"] else "")
        )
    for e in data["enrolments"]:
        console.print(f"百千万 {e['year']} {e['program']} (入库 {e['enrolled_on']})")


@app.command(
    "add",
    epilog="Example: industry-brain projects add --code HZXM-2026-09001 --name 年产5万台电机项目 "
    "--uscc 91330502MA2B3C4D1U --county 330502 --investment 52000 --signed 2026-03-01",
)
def add_cmd(
    code: Annotated[str, typer.Option(help="Project code (unique).")],
    name: Annotated[str, typer.Option(help="Project name.")],
    uscc: Annotated[str, typer.Option(help="Investor's USCC 统一社会信用代码.")],
    county: Annotated[str, typer.Option(help="County GB/T 2260 code.")],
    investment: Annotated[float, typer.Option(help="Planned investment, 万元.")],
    signed: Annotated[str, typer.Option(help="Signing date 签约 YYYY-MM-DD.")],
    investor_name: Annotated[
        str | None, typer.Option(help="Investor name (required for a new company).")
    ] = None,
    industry: Annotated[str | None, typer.Option(help="GB/T 4754-2017 code.")] = None,
    project_type: Annotated[
        str, typer.Option("--type", help="industrial | tech_upgrade")
    ] = "industrial",
    land_mu: Annotated[float | None, typer.Option(help="Planned land, 亩.")] = None,
    land_transfer: Annotated[
        str | None, typer.Option(help="Land handover date 交地 YYYY-MM-DD.")
    ] = None,
    agent: Annotated[str | None, typer.Option(help="Agent username 代办员.")] = None,
    program: Annotated[
        list[str] | None, typer.Option(help="Programme tag (repeatable), e.g. 攻关.")
    ] = None,
    plan: Annotated[
        list[str] | None,
        typer.Option(help="Planned date STAGE=YYYY-MM-DD (repeatable), e.g. started=2026-06-01."),
    ] = None,
    today: TodayOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a signed project (签约) with its planned stage dates."""
    from industry_brain.domains.projects import stages

    with _errors(), _session() as session:
        actor, user_id = _actor(session, user)
        planned = {}
        for item in plan or []:
            stage, sep, day = item.partition("=")
            if not sep:
                raise ValidationError(
                    "cli.plan",
                    f"计划日期“{item}”应为 阶段=YYYY-MM-DD",
                    f"planned date '{item}' must be STAGE=YYYY-MM-DD",
                    Location(field="--plan"),
                    item,
                )
            planned[stages.stage_name(stage)] = _day(day, "--plan")
        p = stages.create_project(
            session,
            code=code,
            name=name,
            investor_uscc=uscc,
            investor_name=investor_name,
            county_code=county,
            industry_code=industry,
            project_type=project_type,
            planned_investment=investment,
            planned_land_mu=land_mu,
            signed_on=_day(signed, "--signed"),
            land_transfer_date=_day(land_transfer, "--land-transfer") if land_transfer else None,
            agent=agent,
            programs=program or [],
            planned=planned,
            today=day_or_today(today),
            actor=actor,
            user_id=user_id,
        )
        session.commit()
        data = stages.project_dict(p, *stages.lookups(session))
    if as_json:
        _print_json(data)
    else:
        console.print(f"已登记项目 registered project {data['code']} (id {data['id']})")


def _stage_change_output(data: dict[str, Any], as_json: bool, verb: str) -> None:
    if as_json:
        _print_json(data)
    else:
        console.print(
            f"{verb} {data['code']}: 阶段 stage {data['stage_zh']} {data['stage']}, "
            f"版本 version {data['version']}"
        )


@app.command(
    "advance",
    epilog="Example: industry-brain projects advance HZXM-2025-00001 started --on 2026-05-10",
)
def advance_cmd(
    project: Annotated[str, typer.Argument(help="Project id or code.")],
    stage: Annotated[str, typer.Argument(help="The next stage (started…at_capacity or 开工…).")],
    on: Annotated[str, typer.Option("--on", help="Actual date YYYY-MM-DD (not in the future).")],
    expected_version: ExpectedOpt = None,
    today: TodayOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Advance a project to its next stage (forward only, date not before the previous one)."""
    from industry_brain.domains.projects import stages

    with _errors(), _session() as session:
        actor, user_id = _actor(session, user)
        p = stages.advance(
            session,
            project,
            stage,
            _day(on, "--on"),
            day_or_today(today),
            expected_version=expected_version,
            actor=actor,
            user_id=user_id,
        )
        session.commit()
        data = stages.project_dict(p, *stages.lookups(session))
    _stage_change_output(data, as_json, "已推进 advanced")


@app.command(
    "correct",
    epilog="Example: industry-brain projects correct HZXM-2025-00001 started --on 2026-05-08 "
    '--reason "施工许可证日期录入错误"',
)
def correct_cmd(
    project: Annotated[str, typer.Argument(help="Project id or code.")],
    stage: Annotated[
        str, typer.Argument(help="A reached stage, or land_transfer (交地) for the handover date.")
    ],
    reason: Annotated[str, typer.Option(help="Why the correction is made (required).")],
    on: Annotated[str | None, typer.Option("--on", help="Corrected date YYYY-MM-DD.")] = None,
    undo: Annotated[
        bool, typer.Option("--undo", help="Withdraw the last stage reached instead.")
    ] = False,
    expected_version: ExpectedOpt = None,
    today: TodayOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Correct a recorded stage date (or withdraw the last stage with --undo); audited."""
    from industry_brain.domains.projects import stages

    with _errors(), _session() as session:
        actor, user_id = _actor(session, user)
        day = day_or_today(today)
        if undo:
            p = stages.get_project(session, project)
            if stages.stage_name(stage) != p.stage:
                raise ValidationError(
                    "project.undo_not_last",
                    f"只能撤销最后到达的阶段“{stages.STAGE_ZH[p.stage]}”",
                    f"only the last stage reached ('{p.stage}') can be withdrawn",
                    Location(field="stage"),
                    stage,
                )
            p = stages.undo(
                session,
                project,
                reason,
                day,
                expected_version=expected_version,
                actor=actor,
                user_id=user_id,
            )
        else:
            p = stages.correct(
                session,
                project,
                stage,
                _day(on, "--on"),
                reason,
                day,
                expected_version=expected_version,
                actor=actor,
                user_id=user_id,
            )
        session.commit()
        data = stages.project_dict(p, *stages.lookups(session))
    _stage_change_output(data, as_json, "已更正 corrected")


@app.command(
    "report",
    epilog="Example: industry-brain projects report HZXM-2025-00001 --on 2026-09-30 "
    "--investment 12000 --output 0 --headcount 35",
)
def report_cmd(
    project: Annotated[str, typer.Argument(help="Project id or code.")],
    on: Annotated[str, typer.Option("--on", help="Report date YYYY-MM-DD.")],
    investment: Annotated[float, typer.Option(help="Investment completed to date, 万元.")],
    output: Annotated[float | None, typer.Option(help="Output this year to date, 万元.")] = None,
    headcount: Annotated[int | None, typer.Option(help="Headcount 用工人数.")] = None,
    notes: Annotated[str, typer.Option(help="Notes.")] = "",
    today: TodayOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """File a progress report (investment completed, output, headcount, notes)."""
    from industry_brain.domains.projects import stages

    with _errors(), _session() as session:
        actor, user_id = _actor(session, user)
        stages.report_progress(
            session,
            project,
            _day(on, "--on"),
            investment,
            day_or_today(today),
            output=output,
            headcount=headcount,
            notes=notes,
            actor=actor,
            user_id=user_id,
        )
        session.commit()
        p = stages.get_project(session, project)
        data = stages.reports(session, p.id)
    if as_json:
        _print_json(data)
    else:
        console.print(f"已填报 reported {project} {on}: {investment:,.1f} 万元")


@app.command(
    "enrol",
    epilog="Example: industry-brain projects enrol HZXM-2025-00001 攻关 --on 2026-03-01",
)
def enrol_cmd(
    project: Annotated[str, typer.Argument(help="Project id or code.")],
    program: Annotated[str, typer.Argument(help="Programme category (攻关, 推广, 上云) or tag.")],
    on: Annotated[str, typer.Option("--on", help="Enrolment date; its year is the target year.")],
    today: TodayOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Enrol a project in a 百千万 programme category for a year."""
    from industry_brain.domains.projects import programs

    with _errors(), _session() as session:
        actor, user_id = _actor(session, user)
        e = programs.enrol(
            session,
            project,
            program,
            _day(on, "--on"),
            day_or_today(today),
            actor=actor,
            user_id=user_id,
        )
        session.commit()
        data = {"project": project, "program": e.program, "year": e.year, "on": on}
    if as_json:
        _print_json(data)
    else:
        console.print(f"已入库 enrolled {project} in {data['program']} {data['year']}")


# -- warnings ---------------------------------------------------------------------------------
@app.command(
    "warnings",
    epilog="Example: industry-brain projects warnings --county 330502 --colour red --json",
)
def warnings_cmd(
    today: TodayOpt = None,
    county: Annotated[str | None, typer.Option(help="Only this county.")] = None,
    agent: Annotated[str | None, typer.Option(help="Only this agent (username).")] = None,
    kind: Annotated[
        str | None, typer.Option(help="签约未开工 … 上规未达产 (or not_started …).")
    ] = None,
    colour: Annotated[str | None, typer.Option(help="yellow | red | black (黄/红/黑).")] = None,
    group_by: Annotated[
        str | None, typer.Option("--group-by", help="Counts per county or per agent.")
    ] = None,
    refresh: Annotated[
        bool,
        typer.Option("--refresh", help="Store today's snapshot (run daily from cron)."),
    ] = False,
    limit: Annotated[int, typer.Option(help="Rows in the table (JSON prints all).")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """破五未 warnings as of --today: yellow (near), red (overdue), black (overdue further)."""
    from industry_brain.domains.projects import stages, wuwei

    with _errors(), _session() as session:
        day = day_or_today(today)
        snap = None
        if refresh:
            snap = wuwei.refresh(session, day)
            session.commit()
        found = wuwei.compute(session, day, county=county, agent=agent, kind=kind, colour=colour)
        counties, users = stages.lookups(session)
        rows = [w.to_dict(counties, users) for w in found]
        groups = wuwei.grouped(session, found, group_by) if group_by else None
    if snap is not None:
        err.print(
            f"已保存 {snap['snapshot_date']} 的预警快照 snapshot stored: "
            f"{snap['warnings']} warnings (parameters {snap['params_version']})"
        )
    if as_json:
        _print_json(groups if groups is not None else rows)
        return
    if groups is not None:
        t = Table(title=f"破五未预警 warnings by {group_by} on {day}")
        for col in (group_by, "黄 yellow", "红 red", "黑 black", "合计 total"):
            t.add_column(col)
        for g in groups:
            t.add_row(g["name"], str(g["yellow"]), str(g["red"]), str(g["black"]), str(g["total"]))
        console.print(t)
        return
    summary = wuwei.counts(found)
    s = Table(title=f"破五未预警 warnings on {day}: {len(rows)}")
    for col in ("类别 kind", "黄 yellow", "红 red", "黑 black"):
        s.add_column(col)
    for k, c in summary.items():
        s.add_row(k, str(c["yellow"]), str(c["red"]), str(c["black"]))
    console.print(s)
    t = Table()
    for col in ("code", "uscc", "county", "agent", "kind", "colour", "deadline", "days overdue"):
        t.add_column(col)
    for r in rows[:limit]:
        t.add_row(
            r["code"],
            r["uscc"],
            r["county"],
            r["agent"] or "",
            r["kind"],
            f"[{COLOUR_STYLE[r['colour']]}]{r['colour_zh']} {r['colour']}[/]",
            r["deadline"],
            str(r["days_overdue"]),
        )
    console.print(t)
    if len(rows) > limit:
        console.print(f"… {len(rows) - limit} more (use --limit or --json)")


# -- bulletin ---------------------------------------------------------------------------------
@app.command(
    "bulletin",
    epilog="Example: industry-brain projects bulletin --year 2026 --today 2026-11-30 --out reports",
)
def bulletin_cmd(
    year: Annotated[int | None, typer.Option(help="Programme year (default: today's).")] = None,
    today: TodayOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder for the files (default DATA_DIR/reports/projects).")
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write a PDF.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """百千万 bulletin: county ranking with red/yellow/black lists, as XLSX, HTML and PDF."""
    from industry_brain.domains.projects import bulletin, programs
    from industry_brain.store.db import data_dir

    with _errors(), _session() as session:
        day = day_or_today(today)
        data = programs.progress(session, year or day.year, day)
        enrolled = programs.enrolments(session, year or day.year, day)
        files = bulletin.write_bulletin(
            data, enrolled, out or data_dir() / "reports" / "projects", pdf=pdf
        )
    data["files"] = files
    if as_json:
        _print_json(data)
        return
    cats = [p["program"] for p in data["counties"][0]["programs"]] if data["counties"] else []
    t = Table(
        title=f"{data['year']}年百千万进度通报 bulletin as of {data['as_of']} "
        f"(时序进度 time progress {data['time_fraction']:.1%})"
    )
    for col in ["rank", "county", *[f"{c} 完成/目标" for c in cats], "score", "list"]:
        t.add_column(col)
    style = {"red": "red", "yellow": "yellow", "black": "white on black"}
    for c in data["counties"]:
        cells = [f"{p['achieved']}/{p['target']}" for p in c["programs"]]
        listed = programs.LIST_ZH[c["list"]] if c["list"] else "-"
        t.add_row(
            str(c["rank"] or "-"),
            c["county"],
            *cells,
            "-" if c["score"] is None else f"{c['score']:.1%}",
            f"[{style[c['list']]}]{listed}[/]" if c["list"] else listed,
        )
    console.print(t)
    for key in programs.LISTS:
        console.print(f"{programs.LIST_ZH[key]}: {'、'.join(data['lists'][key]) or '-'}")
    for kind, path in files.items():
        console.print(f"{kind}: {path}")


# -- tickets ----------------------------------------------------------------------------------
@tickets_app.command(
    "raise",
    epilog="Example: industry-brain projects tickets raise HZXM-2025-00001 --title 用电增容未批复 "
    "--department gdj --category 用能 --by agent",
)
def tickets_raise(
    project: Annotated[str, typer.Argument(help="Project id or code.")],
    title: Annotated[str, typer.Option(help="What is blocking the project.")],
    department: Annotated[str, typer.Option(help="Department code or name (see params).")],
    by: Annotated[str, typer.Option("--by", help="agent | enterprise")] = "agent",
    category: Annotated[str, typer.Option(help="用地, 用能, 资金, 审批, 环评, …")] = "其他",
    description: Annotated[str, typer.Option(help="Details.")] = "",
    due: Annotated[str | None, typer.Option(help="Due date (default: today + due_days).")] = None,
    today: TodayOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Raise a problem ticket (破难题) against a project, routed to a department."""
    from industry_brain.domains.projects import tickets

    with _errors(), _session() as session:
        day = day_or_today(today)
        t = tickets.raise_ticket(
            session,
            project,
            title,
            department,
            day,
            raised_by_role=by,
            description=description,
            category=category,
            due_date=_day(due, "--due") if due else None,
            user=user,
            actor=user or "cli",
        )
        session.commit()
        data = tickets.list_tickets(session, day, project=t.project_id, with_history=True)
        data = next(d for d in data if d["id"] == t.id)
    if as_json:
        _print_json(data)
    else:
        console.print(
            f"已提出难题 ticket #{data['id']} → {data['department_name']}, due {data['due_date']}"
        )


@tickets_app.command(
    "act",
    epilog='Example: industry-brain projects tickets act 3 resolve --resolution "已完成增容"',
)
def tickets_act(
    ticket: Annotated[int, typer.Argument(help="Ticket id.")],
    action: Annotated[str, typer.Argument(help="accept | reroute | resolve | reopen | close")],
    note: Annotated[str, typer.Option(help="Note (required to reopen).")] = "",
    resolution: Annotated[str | None, typer.Option(help="Resolution (to resolve).")] = None,
    department: Annotated[str | None, typer.Option(help="New department (reroute).")] = None,
    expected_version: ExpectedOpt = None,
    today: TodayOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move a ticket through its lifecycle (accept, reroute, resolve, reopen, close)."""
    from industry_brain.domains.projects import tickets

    with _errors(), _session() as session:
        actor, user_id = _actor(session, user)
        day = day_or_today(today)
        t = tickets.transition(
            session,
            ticket,
            action,
            day,
            note=note,
            resolution=resolution,
            department=department,
            expected_version=expected_version,
            actor=actor,
            user_id=user_id,
        )
        session.commit()
        data = next(
            d
            for d in tickets.list_tickets(session, day, project=t.project_id, with_history=True)
            if d["id"] == t.id
        )
    if as_json:
        _print_json(data)
    else:
        console.print(f"难题 ticket #{data['id']}: {data['status_zh']} {data['status']}")


@tickets_app.command(
    "list", epilog="Example: industry-brain projects tickets list --overdue --today 2026-11-27"
)
def tickets_list(
    today: TodayOpt = None,
    project: Annotated[str | None, typer.Option(help="Project id or code.")] = None,
    county: Annotated[str | None, typer.Option(help="County code.")] = None,
    department: Annotated[str | None, typer.Option(help="Department code.")] = None,
    status: Annotated[
        str | None, typer.Option(help="open | in_progress | resolved | closed")
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue tickets.")] = False,
    history: Annotated[bool, typer.Option("--history", help="Include status history.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Tickets with their state as of --today."""
    from industry_brain.domains.projects import tickets

    with _errors(), _session() as session:
        rows = tickets.list_tickets(
            session,
            day_or_today(today),
            project=project,
            county=county,
            department=department,
            status=status,
            overdue=True if overdue else None,
            with_history=history,
        )
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"破难题 tickets: {len(rows)}")
    for col in ("id", "project", "title", "department", "raised", "due", "status", "overdue"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            str(r["id"]),
            r["project"],
            r["title"],
            r["department_name"],
            r["raised_on"],
            r["due_date"],
            r["status_zh"],
            f"{r['days_overdue']} 天" if r["overdue"] else "",
        )
    console.print(t)


@tickets_app.command(
    "stats", epilog="Example: industry-brain projects tickets stats --today 2026-11-27 --json"
)
def tickets_stats(
    today: TodayOpt = None,
    since: Annotated[str | None, typer.Option(help="Only tickets raised from this day.")] = None,
    county: Annotated[str | None, typer.Option(help="County code.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ticket statistics: raised, resolved, overdue, by department."""
    from industry_brain.domains.projects import tickets

    with _errors(), _session() as session:
        data = tickets.stats(
            session,
            day_or_today(today),
            since=_day(since, "--since") if since else None,
            county=county,
        )
    if as_json:
        _print_json(data)
        return
    t = Table(title=f"破难题统计 ticket statistics as of {data['as_of']}")
    t.add_column("department", no_wrap=True)
    for col in ("raised", "resolved", "open", "overdue", "resolved late", "mean days"):
        t.add_column(col, justify="right")
    for r in [*data["by_department"], {**data, "name": "合计 total"}]:
        t.add_row(
            r["name"],
            str(r["raised"]),
            str(r["resolved"]),
            str(r["open"]),
            str(r["overdue"]),
            str(r["resolved_late"]),
            "-" if r["mean_days_to_resolve"] is None else str(r["mean_days_to_resolve"]),
        )
    console.print(t)
