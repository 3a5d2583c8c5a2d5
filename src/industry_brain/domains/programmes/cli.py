"""``industry-brain programmes|benchmarks|events``: diagnosis programmes, 智能制造贷 loans and the
重硬轻软 investment structure; benchmark recognitions and visits; 智造荟 events."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from industry_brain.cli_support import JsonOpt, Table, console, day_or_today, parse_day
from industry_brain.cli_support import errors as _errors
from industry_brain.cli_support import print_json as _print_json

programmes_app = typer.Typer(
    help="智改数转 programmes: government-bought diagnosis programmes (targets, providers, "
    "assignment, progress, export), 智能制造贷 loans, investment structure (重硬轻软).",
    no_args_is_help=True,
)
benchmarks_app = typer.Typer(
    help="标杆 benchmarks: recognition lists (未来工厂, 智能工厂, 数字化车间, 灯塔工厂, "
    "5G 全连接工厂, 上云标杆, 绿色工厂), counts by county against targets, visits.",
    no_args_is_help=True,
)
events_app = typer.Typer(
    help="智造荟 supply–demand events: registrations, matches and outcomes.",
    no_args_is_help=True,
)

UserOpt = Annotated[
    str | None,
    typer.Option("--user", help="Username acting (its role and scope apply; default: admin CLI)."),
]
TodayOpt = Annotated[
    str | None,
    typer.Option("--today", help="Today as YYYY-MM-DD (default: IB_TODAY, else the real date)."),
]
ActorOpt = Annotated[str, typer.Option(help="Who acts (recorded in the audit log).")]


def _engine():  # type: ignore[no-untyped-def]
    from industry_brain.store.db import get_engine

    return get_engine()


def _scope(session: Any, username: str | None) -> Any:
    from sqlalchemy import select

    from industry_brain.core.errors import NotFoundError
    from industry_brain.store.models import User
    from industry_brain.store.scope import Scope, scope_for

    if username is None:
        return Scope(user_id=None, username="cli", role="admin")
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFoundError(
            "programmes.user", f"没有用户 {username}", f"no user {username}", value=username
        )
    return scope_for(user)


def _problems(out: dict[str, Any]) -> None:
    for p in out["problems"]:
        console.print(f"  行 row {p['row']}: {p['message']}", highlight=False)


# -- programmes ---------------------------------------------------------------------------------
@programmes_app.command(
    "create",
    epilog="Example: industry-brain programmes create '2026 年新智造诊断' --region 330500 "
    "--year 2026 --budget 1200 --start 2026-03-01 --end 2026-12-31 --json",
)
def create(
    name: Annotated[str, typer.Argument(help="Programme name.")],
    region: Annotated[str, typer.Option(help="Region code whose parameters apply (GB/T 2260).")],
    year: Annotated[int, typer.Option(help="Programme year.")],
    budget: Annotated[float, typer.Option(help="Budget in 万元.")],
    start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="Last day (YYYY-MM-DD).")],
    target: Annotated[
        list[str] | None,
        typer.Option(help="COUNTY=N target (repeatable; default: the parameters)."),
    ] = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Create a diagnosis programme; county targets from the dated parameters unless given."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import diagnosis

    targets = None
    if target:
        targets = {t.split("=", 1)[0].strip(): int(t.split("=", 1)[1]) for t in target}
    with _errors(), Session(_engine()) as s:
        p = diagnosis.create(
            s,
            name,
            region,
            year,
            budget,
            parse_day(start, "--start"),
            parse_day(end, "--end"),
            targets,
            actor,
        )
        s.commit()
        out = {"id": p.id, "name": p.name, "report_days": p.report_days, "parameters": p.parameters}
    if as_json:
        _print_json(out)
        return
    console.print(f"诊断项目 programme {out['id']}: {out['name']}", highlight=False)


@programmes_app.command(
    "provider",
    epilog="Example: industry-brain programmes provider 1 91330500MA2B3C4D5B '湖州智造咨询' "
    "--capacity 120 --industry 34 --industry 35",
)
def provider(
    programme: Annotated[int, typer.Argument(help="Programme id.")],
    uscc: Annotated[str, typer.Argument(help="Provider USCC.")],
    name: Annotated[str, typer.Argument(help="Provider name.")],
    capacity: Annotated[int, typer.Option(help="Enterprises it can diagnose.")],
    industry: Annotated[
        list[str] | None, typer.Option(help="GB/T 4754 division served (repeatable; none = all).")
    ] = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Add a tendered provider to a programme."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import diagnosis

    with _errors(), Session(_engine()) as s:
        p = diagnosis.add_provider(s, programme, uscc, name, capacity, industry, actor)
        s.commit()
        out = {"id": p.id, "uscc": p.uscc, "industries": p.industries, "capacity": p.capacity}
    if as_json:
        _print_json(out)
        return
    console.print(f"服务商 provider {out['uscc']} capacity {out['capacity']}", highlight=False)


@programmes_app.command(
    "assign",
    epilog="Example: industry-brain programmes assign 1 --file firms.txt --today 2026-03-02 --json",
)
def assign(
    programme: Annotated[int, typer.Argument(help="Programme id.")],
    uscc: Annotated[list[str] | None, typer.Option(help="Enterprise USCC (repeatable).")] = None,
    file: Annotated[Path | None, typer.Option(help="Text file with one USCC a line.")] = None,
    today: TodayOpt = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Assign enterprises to the programme's providers (by industry and capacity, explained)."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import diagnosis

    codes = list(uscc or [])
    if file is not None:
        codes += [x.strip() for x in file.read_text("utf-8").splitlines() if x.strip()]
    with _errors(), Session(_engine()) as s:
        out = diagnosis.assign(s, programme, codes, day_or_today(today), actor)
        s.commit()
    if as_json:
        _print_json(out)
        return
    for a in out["assigned"]:
        console.print(f"{a['uscc']} → {a['provider']}: {diagnosis.reason_text(a)}", highlight=False)
    for u in out["unassigned"]:
        console.print(f"{u['uscc']}: 无可用服务商 / no provider with capacity", highlight=False)


@programmes_app.command(
    "progress",
    epilog="Example: industry-brain programmes progress 1 --today 2026-06-30 --json",
)
def progress(
    programme: Annotated[int, typer.Argument(help="Programme id.")],
    today: TodayOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Progress by county against the targets, with 红榜 / 黄榜 / 黑榜 (diagnoses are done when
    the enterprise's diagnosis assessment is submitted)."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import diagnosis

    with _errors(), Session(_engine()) as s:
        data = diagnosis.progress(s, _scope(s, user), programme, day_or_today(today))
    if as_json:
        _print_json(data)
        return
    t = Table(title=f"{data['programme']['name']} · {data['as_of']} · f={data['time_fraction']}")
    for col in (
        "区县 county",
        "目标 target",
        "已分配 assigned",
        "完成 done",
        "逾期 overdue",
        "完成率 ratio",
        "榜单 list",
    ):
        t.add_column(col)
    for c in data["counties"]:
        t.add_row(
            c["county"],
            str(c["target"]),
            str(c["assigned"]),
            str(c["done"]),
            str(c["overdue"]),
            "—" if c["ratio"] is None else f"{c['ratio']:.2%}",
            diagnosis.LIST_ZH.get(c["list"] or "", "—"),
        )
    console.print(t)


@programmes_app.command(
    "link", epilog="Example: industry-brain programmes link 1 --today 2026-06-30"
)
def link(
    programme: Annotated[int, typer.Argument(help="Programme id.")],
    today: TodayOpt = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Store on each assignment the submitted diagnosis assessment that completes it."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import diagnosis

    with _errors(), Session(_engine()) as s:
        n = diagnosis.link_assessments(s, programme, day_or_today(today), actor)
        s.commit()
    if as_json:
        _print_json({"linked": n})
        return
    console.print(f"关联评估 linked: {n}", highlight=False)


@programmes_app.command(
    "export",
    epilog="Example: industry-brain programmes export 1 进度.xlsx --today 2026-06-30",
)
def export(
    programme: Annotated[int, typer.Argument(help="Programme id.")],
    path: Annotated[Path, typer.Argument(help="XLSX file to write.")],
    today: TodayOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the progress and the assignments as XLSX (audited)."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import diagnosis

    with _errors(), Session(_engine()) as s:
        out = diagnosis.export_xlsx(s, _scope(s, user), programme, day_or_today(today), path)
        s.commit()
    if as_json:
        _print_json({"file": str(out)})
        return
    console.print(f"已写入 written: {out}", highlight=False)


@programmes_app.command(
    "loan",
    epilog="Example: industry-brain programmes loan 91330500MA2B3C4D5B --bank bank_hz "
    "--reference ZN-2026-001 --amount 500 --rate 0.042 --start 2026-03-01 --end 2028-03-01 "
    "--product znzz --purpose '数控机床改造' --project HZXM-2026-00001",
)
def loan(
    uscc: Annotated[str, typer.Argument(help="Borrower USCC.")],
    bank: Annotated[str, typer.Option(help="The bank user registering the loan.")],
    reference: Annotated[str, typer.Option(help="The bank's contract number.")],
    amount: Annotated[float, typer.Option(help="Amount in 万元.")],
    rate: Annotated[float, typer.Option(help="Annual rate as a ratio, e.g. 0.042.")],
    start: Annotated[str, typer.Option(help="Interest start (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="Maturity (YYYY-MM-DD).")],
    product: Annotated[str, typer.Option(help="znzz (智能制造贷) or zgsz (智改数转贷).")],
    purpose: Annotated[str, typer.Option(help="What the loan finances.")],
    project: Annotated[str | None, typer.Option(help="Project code (optional).")] = None,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A bank registers a 智能制造贷 / 智改数转 loan (needs the enterprise's consent)."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import loans

    with _errors(), Session(_engine()) as s:
        ln = loans.register(
            s,
            _scope(s, bank),
            uscc,
            reference,
            amount,
            rate,
            parse_day(start, "--start"),
            parse_day(end, "--end"),
            product,
            purpose,
            project,
            day_or_today(today),
        )
        s.commit()
        out = {"id": ln.id, "policy_loan_id": ln.policy_loan_id}
    if as_json:
        _print_json(out)
        return
    console.print(f"已登记 registered loan {out['id']}", highlight=False)


@programmes_app.command(
    "loans", epilog="Example: industry-brain programmes loans --user bank_hz --json"
)
def loans_cmd(user: UserOpt = None, today: TodayOpt = None, as_json: JsonOpt = False) -> None:
    """Loan statistics by bank and county (a bank sees only consented loans of its own)."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import loans

    with _errors(), Session(_engine()) as s:
        data = loans.statistics(s, _scope(s, user), day_or_today(today))
        s.commit()
    if as_json:
        _print_json(data)
        return
    t = Table(title=f"智能制造贷 loans {data['as_of']}")
    for col in ("银行/区县 bank/county", "笔数 loans", "企业 firms", "金额 万元"):
        t.add_column(col)
    for g in data["by_bank"]:
        t.add_row(g["bank"], str(g["loans"]), str(g["firms"]), f"{g['amount_wan']:.2f}")
    for g in data["by_county"]:
        t.add_row(g["county"], str(g["loans"]), str(g["firms"]), f"{g['amount_wan']:.2f}")
    console.print(t)


@programmes_app.command(
    "investment",
    epilog="Examples: industry-brain programmes investment --json; "
    "industry-brain programmes investment --import 投资拆分.xlsx; "
    "industry-brain programmes investment --project HZXM-2026-00001 --split 800,150,50",
)
def investment_cmd(
    import_: Annotated[
        Path | None, typer.Option("--import", help="Import a list of splits (CSV/XLSX).")
    ] = None,
    project: Annotated[str | None, typer.Option(help="Set the split of this project.")] = None,
    split: Annotated[
        str | None, typer.Option(help="HARDWARE,SOFTWARE,SERVICES in 万元 (with --project).")
    ] = None,
    year: Annotated[int | None, typer.Option(help="Only projects signed in this year.")] = None,
    user: UserOpt = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Investment structure (重硬轻软): set or import splits; averages per project type and
    sums and shares by county and year."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import investment

    with _errors(), Session(_engine()) as s:
        if import_ is not None:
            out = investment.import_list(s, import_, actor)
            s.commit()
            if as_json:
                _print_json(out)
                return
            console.print(f"导入 imported: {out['splits']}", highlight=False)
            _problems(out)
            return
        if project is not None:
            parts = [float(x) for x in (split or "").split(",")]
            if len(parts) != 3:
                raise typer.BadParameter("--split needs HARDWARE,SOFTWARE,SERVICES")
            investment.set_split(s, project, *parts, actor=actor)
            s.commit()
        data = investment.structure(s, _scope(s, user), year)
    if as_json:
        _print_json(data)
        return
    t = Table(title="重硬轻软 investment structure (万元)")
    for col in ("类型 type", "项目 projects", "硬件 hw", "软件 sw", "服务 svc", "合计 total"):
        t.add_column(col)
    for r in data["by_type"]:
        t.add_row(
            r["type"],
            str(r["projects"]),
            f"{r['avg_hardware']:.1f}",
            f"{r['avg_software']:.1f}",
            f"{r['avg_services']:.1f}",
            f"{r['avg_total']:.1f}",
        )
    console.print(t)


# -- benchmarks ---------------------------------------------------------------------------------
@benchmarks_app.command(
    "import",
    epilog="Example: industry-brain benchmarks import 2025未来工厂名单.xlsx --kind future_factory",
)
def import_list(
    path: Annotated[Path, typer.Argument(help="CSV or XLSX recognition list.")],
    kind: Annotated[str | None, typer.Option(help="Kind of every row (else a column).")] = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Import a recognition list with lineage (file, sheet, row)."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import benchmarks

    with _errors(), Session(_engine()) as s:
        out = benchmarks.import_list(s, path, actor, kind)
        s.commit()
    if as_json:
        _print_json(out)
        return
    console.print(
        f"导入批次 {out['batch_id']}：认定 {out['recognitions']} 条，已有 {out['already_known']} 条"
        f" / batch {out['batch_id']}: {out['recognitions']} recognitions",
        highlight=False,
    )
    _problems(out)


@benchmarks_app.command("counts", epilog="Example: industry-brain benchmarks counts 2026 --json")
def counts(
    year: Annotated[int, typer.Argument(help="Count recognitions up to this year.")],
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recognitions by county and kind against the county targets."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import benchmarks

    with _errors(), Session(_engine()) as s:
        data = benchmarks.counts(s, _scope(s, user), year)
    if as_json:
        _print_json(data)
        return
    t = Table(title=f"标杆认定 benchmarks ≤ {year} (count/target)")
    t.add_column("区县 county")
    for k in benchmarks.KINDS:
        t.add_column(benchmarks.KINDS[k][0])
    for c in data["counties"]:
        t.add_row(c["county"], *[f"{k['count']}/{k['target']}" for k in c["kinds"]])
    console.print(t)


@benchmarks_app.command(
    "visit",
    epilog="Example: industry-brain benchmarks visit 91330500MA2B3C4D5B --date 2026-05-20 "
    "--title '灯塔工厂开放日' --visitors 60 --kind visit",
)
def visit(
    host: Annotated[str, typer.Argument(help="USCC of the benchmark factory.")],
    date_: Annotated[str, typer.Option("--date", help="Day of the event (YYYY-MM-DD).")],
    title: Annotated[str, typer.Option(help="Title of the visit or learning event.")],
    visitors: Annotated[int, typer.Option(help="Number of visitors.")],
    kind: Annotated[str, typer.Option(help="visit or learning.")] = "visit",
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Record a visit to (or a learning event at) a benchmark factory."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import benchmarks

    with _errors(), Session(_engine()) as s:
        ev = benchmarks.add_visit(s, host, parse_day(date_, "--date"), title, visitors, kind, actor)
        s.commit()
        out = {"id": ev.id}
    if as_json:
        _print_json(out)
        return
    console.print(f"活动 event {out['id']}", highlight=False)


@benchmarks_app.command("visits", epilog="Example: industry-brain benchmarks visits --json")
def visits_cmd(user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Visits and learning events at benchmark factories."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import benchmarks

    with _errors(), Session(_engine()) as s:
        data = benchmarks.visits(s, _scope(s, user))
    if as_json:
        _print_json(data)
        return
    for v in data:
        console.print(f"{v['held_on']} {v['kind']} {v['host']}: {v['visitors']}", highlight=False)


# -- events -------------------------------------------------------------------------------------
@events_app.command(
    "create",
    epilog="Example: industry-brain events create --date 2026-04-18 "
    "--theme '纺织行业智改数转对接会' --industry 17 --county 330502",
)
def ev_create(
    date_: Annotated[str, typer.Option("--date", help="Day of the event (YYYY-MM-DD).")],
    theme: Annotated[str, typer.Option(help="Theme.")],
    industry: Annotated[str | None, typer.Option(help="GB/T 4754 division.")] = None,
    county: Annotated[str | None, typer.Option(help="County code.")] = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Create a 智造荟 supply–demand event."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import events

    with _errors(), Session(_engine()) as s:
        ev = events.create(s, parse_day(date_, "--date"), theme, industry, county, actor)
        s.commit()
        out = {"id": ev.id}
    if as_json:
        _print_json(out)
        return
    console.print(f"活动 event {out['id']}", highlight=False)


@events_app.command(
    "register",
    epilog="Example: industry-brain events register 1 provider 91330500MA2B3C4D5B "
    "--name '某服务商'",
)
def ev_register(
    event: Annotated[int, typer.Argument(help="Event id.")],
    side: Annotated[str, typer.Argument(help="enterprise or provider.")],
    uscc: Annotated[str, typer.Argument(help="USCC.")],
    name: Annotated[str | None, typer.Option(help="Name (required for a provider).")] = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Register an enterprise or a provider for an event."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import events

    with _errors(), Session(_engine()) as s:
        r = events.register(s, event, side, uscc, name, actor)
        s.commit()
        out = {"id": r.id, "side": r.side, "uscc": r.uscc}
    if as_json:
        _print_json(out)
        return
    console.print(f"报名 registered {out['uscc']}", highlight=False)


@events_app.command(
    "match",
    epilog="Example: industry-brain events match 1 91330502MA2B3C4D1U 91330500MA2B3C4D5B "
    "--topic 'MES 上线'",
)
def ev_match(
    event: Annotated[int, typer.Argument(help="Event id.")],
    enterprise: Annotated[str, typer.Argument(help="Enterprise USCC (registered).")],
    provider: Annotated[str, typer.Argument(help="Provider USCC (registered).")],
    topic: Annotated[str, typer.Option(help="What was matched.")],
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Record a match made at the event."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import events

    with _errors(), Session(_engine()) as s:
        m = events.match(s, event, enterprise, provider, topic, actor)
        s.commit()
        out = {"id": m.id}
    if as_json:
        _print_json(out)
        return
    console.print(f"对接 match {out['id']}", highlight=False)


@events_app.command(
    "outcome",
    epilog="Example: industry-brain events outcome 3 contracted --amount 85",
)
def ev_outcome(
    match: Annotated[int, typer.Argument(help="Match id.")],
    outcome: Annotated[str, typer.Argument(help="matched, contacted, contracted or dropped.")],
    amount: Annotated[float | None, typer.Option(help="Contract amount (万元).")] = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Record a match's outcome."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import events

    with _errors(), Session(_engine()) as s:
        m = events.set_outcome(s, match, outcome, amount, actor)
        s.commit()
        out = {"id": m.id, "outcome": m.outcome, "amount_wan": m.amount_wan}
    if as_json:
        _print_json(out)
        return
    console.print(f"对接 match {out['id']}: {out['outcome']}", highlight=False)


@events_app.command("list", epilog="Example: industry-brain events list --json")
def ev_list(user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Events with registrations, matches by outcome and the contracted amount."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.programmes import events

    with _errors(), Session(_engine()) as s:
        data = events.summary(s, _scope(s, user))
    if as_json:
        _print_json(data)
        return
    t = Table(title="智造荟 events")
    for col in (
        "日期 date",
        "主题 theme",
        "企业 ent.",
        "服务商 prov.",
        "对接 matches",
        "签约 contracted",
        "金额 万元",
    ):
        t.add_column(col)
    for e in data:
        t.add_row(
            e["held_on"],
            e["theme"],
            str(e["enterprises"]),
            str(e["providers"]),
            str(e["matches"]),
            str(e["outcomes"]["contracted"]),
            f"{e['contracted_wan']:.1f}",
        )
    console.print(t)
