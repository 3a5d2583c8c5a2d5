"""Command line (Typer + Rich): ``industry-brain --help``. One sub-command group per domain.

Errors print their code with the Chinese and English message and exit with status 2.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.cli_support import (
    JsonOpt,
    Table,
    console,
    err,
    parse_day,
    print_problem,
    progress,
    refuse_unless_ready,
)
from industry_brain.cli_support import errors as _errors
from industry_brain.cli_support import print_json as _print_json
from industry_brain.core import env, formatting
from industry_brain.reference_cli import reference_app
from industry_brain.store.copy_cli import store_app

app = typer.Typer(
    help="Industry Brain 产业大脑 — data platform of a city's economy & IT bureau.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Operational store 数据库: migrations.", no_args_is_help=True)
params_app = typer.Typer(help="Dated regional parameters 参数.", no_args_is_help=True)
ent_app = typer.Typer(help="Enterprises 一企一档.", no_args_is_help=True)
facts_app = typer.Typer(help="Facts and their lineage 数据血缘.", no_args_is_help=True)
review_app = typer.Typer(help="Matching review queue 待核对队列.", no_args_is_help=True)
batches_app = typer.Typer(help="Import batches 导入批次.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(params_app, name="params")
app.add_typer(ent_app, name="enterprises")
app.add_typer(facts_app, name="facts")
app.add_typer(review_app, name="review")
app.add_typer(batches_app, name="batches")
app.add_typer(reference_app, name="reference")
app.add_typer(store_app, name="store")


PROGRESS_LABELS = {
    "read": "读取文件 reading",
    "validate": "校验 validating",
    "load": "入库 loading",
    "hash": "校验和 hashing",
    "import": "导入部门文件 importing department files",
}


def _progress(enabled: bool = True):  # type: ignore[no-untyped-def]
    return progress(enabled, PROGRESS_LABELS)


# -- demo -------------------------------------------------------------------------------------
@app.command(
    epilog="Examples: industry-brain demo --scale small · industry-brain demo --region 330100"
)
def demo(
    scale: Annotated[str, typer.Option(help="small | city | province")] = "city",
    seed: Annotated[int, typer.Option(help="Random seed (same seed → same files).")] = 20261127,
    out: Annotated[Path | None, typer.Option(help="Output folder (default DATA_DIR/demo).")] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the store instead of resetting.")
    ] = False,
    region: Annotated[
        str | None,
        typer.Option(
            help="Prefecture code of the demo city: 330500 湖州 (default), 330100 杭州, "
            "320500 苏州, 420100 武汉, … (its real counties and towns)."
        ),
    ] = None,
    firms: Annotated[
        int | None,
        typer.Option(
            help="Province only: active enterprises of a province written as department files, "
            "imported and run through the whole main job (without: Parquet tables only)."
        ),
    ] = None,
    import_workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="PostgreSQL: files of independent departments imported side by side by this "
            "many processes (default IB_IMPORT_WORKERS, else 2; 1 = one by one). SQLite: 1.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Build the demo city, import its department files, seed projects and users, summarise."""
    from industry_brain.demo import use_firms
    from industry_brain.mainjob import run_demo
    from industry_brain.store.db import data_dir, database_url, describe

    if scale not in ("small", "city", "province"):
        raise typer.BadParameter("scale must be small, city or province", param_hint="--scale")
    out_dir = out or (data_dir() / "demo")
    if firms is not None and scale != "province":
        raise typer.BadParameter("--firms is for --scale province", param_hint="--firms")
    if firms is not None and firms < 100:
        raise typer.BadParameter("a province demo needs at least 100 firms", param_hint="--firms")
    with _errors(), _progress(not as_json) as step, use_firms(firms):
        run = run_demo(
            out_dir,
            scale=scale,
            seed=seed,
            reset=not keep,
            progress=step,
            region=region,
            import_workers=import_workers,
        )
    if as_json:
        _print_json(run.to_dict())
        return
    _print_demo(run, describe(database_url()))


def _print_demo(run: Any, store: str) -> None:
    s = run.summary
    if run.scale == "province" and "parquet" in s:
        console.print(f"[bold]Province-scale Parquet written to[/] {s['parquet']}")
        console.print(s["counts"])
        return
    t = Table(title=f"演示城市企业（{s['latest_year']} 年）/ demo city enterprises")
    for col in ("区县 county", "规上 above", "规下 below", "未定 unknown", "合计 total"):
        t.add_column(col, justify="right" if col != "区县 county" else "left")
    totals = [0, 0, 0, 0]
    for county, c in s["by_county"].items():
        t.add_row(county, str(c["above"]), str(c["below"]), str(c["unknown"]), str(c["total"]))
        for i, k in enumerate(("above", "below", "unknown", "total")):
            totals[i] += c[k]
    t.add_row("[bold]合计 total", *[f"[bold]{v}" for v in totals])
    console.print(t)
    imp = Table(title="部门文件导入 / department file imports")
    for col in (
        "文件 file",
        "类型 kind",
        "状态 status",
        "行 rows",
        "入库 loaded",
        "拒绝 rejected",
        "警告 warnings",
    ):
        imp.add_column(col)
    for r in run.imports:
        imp.add_row(
            r.file,
            r.kind,
            r.status,
            str(r.rows_total),
            str(r.rows_loaded),
            str(r.rows_rejected),
            str(len(r.warnings)),
        )
    console.print(imp)
    codes: dict[str, int] = {}
    for r in run.imports:
        for code, n in r.counts_by_code().items():
            codes[code] = codes.get(code, 0) + n
    pt = Table(title="发现的问题（按代码）/ problems found by code")
    pt.add_column("code")
    pt.add_column("count", justify="right")
    for code, n in sorted(codes.items()):
        pt.add_row(code, str(n))
    console.print(pt)
    op = run.operational
    console.print(
        f"事实 facts: [bold]{s['facts']}[/]  待核对 open reviews: [bold]{s['open_reviews']}[/]  "
        f"项目 projects: [bold]{s['projects']}[/]  用户 users: [bold]{s['users']}[/]"
    )
    from industry_brain.mainjob import service_hooks

    for name, hook in service_hooks():
        if name in run.services:
            console.rule(name)
            for line in hook.headline(run.services[name]):
                console.print(line, highlight=False)
    console.print(f"存储 store: [bold]{store}[/]")
    console.print(
        f"部门文件 inbox: {run.out_dir / 'inbox'}   报告 reports: {run.out_dir / 'reports'}"
    )
    if op.get("password"):
        console.print(f"演示账号密码 demo password: {op['password']}")
    example = s.get("example_uscc") or "USCC"
    year = s.get("latest_year") or 2025
    console.print(f"演示城市 demo city: {run.region_name} ({run.region})")
    console.print("Where to look next 接下来:")
    first_county = next(iter(s.get("county_codes") or []), "330502")
    console.print(f"  .venv/bin/industry-brain enterprises list --county {first_county} --limit 5")
    console.print(f"  .venv/bin/industry-brain enterprises show {example}")
    console.print(f"  .venv/bin/industry-brain facts explain {example} --year {year} --item tax")
    console.print("  .venv/bin/industry-brain review list")
    users = s.get("sign_in") or {}
    if users:
        from industry_brain.demo.operational import DEMO_PASSWORD

        env = "" if run.region == "330500" else f"IB_JURISDICTION={run.region} "
        console.print(
            f"Web 网页: {env}.venv/bin/industry-brain serve → http://127.0.0.1:8000/login "
            f"(password 密码 {DEMO_PASSWORD})"
        )
        for role in ("admin", "city_officer", "county_officer", "agent", "enterprise", "bank"):
            if role in users:
                console.print(f"  {role}: {users[role]}")


# -- db ---------------------------------------------------------------------------------------
@db_app.command(
    "upgrade",
    epilog="Example: IB_DATABASE_URL=postgresql://app@127.0.0.1/ib industry-brain db upgrade",
)
def db_upgrade(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "heads",
    as_json: JsonOpt = False,
) -> None:
    """Apply migrations (Alembic) and load reference data (regions, industries, roles)."""
    from industry_brain.store import migrate
    from industry_brain.store.db import database_url, describe, get_engine

    with _errors():
        rev = migrate.upgrade(get_engine(), revision)
        tables = migrate.table_names(get_engine())
    if as_json:
        _print_json({"revision": rev, "database": describe(database_url()), "tables": tables})
    else:
        console.print(
            f"数据库已升级到 revision [bold]{rev}[/] / upgraded: {describe(database_url())}"
        )


@db_app.command("current", epilog="Example: industry-brain db current --json")
def db_current(as_json: JsonOpt = False) -> None:
    """Print the store's migration revision and whether it is this code's (current, empty,
    outdated: run `db upgrade`, or newer than this code)."""
    from industry_brain.store import migrate
    from industry_brain.store.db import get_engine

    with _errors():
        state = migrate.schema_state(get_engine())
    if as_json:
        _print_json({"status": state.status, "store": state.store, "code": state.code})
        return
    console.print(",".join(state.store) or "(empty)")
    if state.status != "current":
        problem = state.problem()
        assert problem is not None
        err.print(f"[yellow]{escape(problem.message())}[/]", highlight=False, soft_wrap=True)


# -- check ------------------------------------------------------------------------------------
@app.command(
    "check",
    epilog="Example: IB_DATABASE_URL=postgresql://app@127.0.0.1/ib industry-brain check --json",
)
def check(as_json: JsonOpt = False) -> None:
    """Check this installation 体检: every IB_* setting, the store (reachable, its schema this
    code's) and the web assets. Exit 0 when ready, 2 with each problem in Chinese and English."""
    from industry_brain import checkup

    report = checkup.run(assets=True)
    if as_json:
        _print_json(report.to_dict())
    else:
        schema = report.schema
        if report.store:
            console.print(f"数据库 store: {escape(report.store)}", highlight=False)
        if schema:
            console.print(
                f"表结构 schema: {schema['status']} "
                f"(store {', '.join(schema['store']) or '—'}; code {', '.join(schema['code'])})",
                highlight=False,
            )
        for p in report.problems:
            print_problem(p)
        if report.ok:
            console.print("一切就绪 / ready")
    if not report.ok:
        raise typer.Exit(2)


# -- params -----------------------------------------------------------------------------------
@params_app.command(
    "show", epilog="Example: industry-brain params show ingest --region 330502 --year 2025"
)
def params_show(
    domain: Annotated[str, typer.Argument(help="Domain, e.g. ingest, mujun, carbon.")],
    region: Annotated[str | None, typer.Option(help="GB/T 2260 code, e.g. 330502.")] = None,
    year: Annotated[int | None, typer.Option(help="Year (values in force on 1 January).")] = None,
    on: Annotated[str | None, typer.Option(help="Exact date YYYY-MM-DD instead of --year.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show every parameter of a domain as resolved for a region and year, with its source."""
    from industry_brain.core import parameters
    from industry_brain.core.errors import Location, ValidationError

    with _errors():
        params = parameters.load()
        if domain not in params.domains():
            raise ValidationError(
                "param.unknown_domain",
                f"未知的参数域“{domain}”（可选：{'、'.join(params.domains())}）",
                f"unknown parameter domain '{domain}' (one of: {', '.join(params.domains())})",
                Location(field="domain"),
            )
        when = parse_day(on, "--on") if on else date(year, 1, 1) if year else env.today()
        resolved = params.domain(domain, region, when)
    if as_json:
        _print_json(
            {
                "domain": domain,
                "region": region,
                "on": when.isoformat(),
                "version": params.version(),
                "parameters": [r.to_dict() for r in resolved],
            }
        )
        return
    t = Table(title=f"{domain} 参数 @ {region or '默认 base'} {when.isoformat()}")
    t.add_column("key", no_wrap=True)
    for col in ("value", "unit", "region", "since", "quality"):
        t.add_column(col)
    for r in resolved:
        value = r.value if isinstance(r.value, str) else json.dumps(r.value, ensure_ascii=False)
        t.add_row(
            r.key, value, r.unit or "", r.region or "base", r.since.isoformat(), r.quality or ""
        )
    console.print(t)


# -- enterprises ------------------------------------------------------------------------------
@ent_app.command(
    "show", epilog="Example: industry-brain enterprises show 91330502MA2B3C4D1Y --json"
)
def enterprises_show(
    uscc: Annotated[str, typer.Argument(help="Unified social credit code 统一社会信用代码.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one enterprise's file (一企一档): registration, names, scale, figures by year."""
    from industry_brain.core import uscc as uscc_mod
    from industry_brain.store.db import get_engine
    from industry_brain.store.enterprises import profile

    with _errors(), Session(get_engine()) as session:
        data = profile(session, uscc_mod.normalize(uscc), actor="cli")
        session.commit()
    if as_json:
        _print_json(data)
        return
    e = data
    console.print(f"[bold]{e['name']}[/]  {e['uscc']}")
    console.print(
        f"区县 county: {e['county_name'] or '-'} ({e['county_code'] or '-'})   "
        f"行业 industry: {e['industry_code'] or '-'} {e['industry_name'] or ''}   "
        f"成立 registered: {e['registration_date'] or '-'}   状态 status: {e['status']}"
    )
    if e["former_names"]:
        console.print(f"曾用名 former names: {'、'.join(e['former_names'])}")
    if e["scale"]:
        console.print(
            "规上/规下 by year: "
            + "  ".join(f"{y}:{'规上' if a else '规下'}" for y, a in sorted(e["scale"].items()))
        )
    t = Table(title="年度数据 figures by year (current values, preferred department)")
    years = sorted({y for item in e["facts"].values() for y in item})
    t.add_column("item")
    t.add_column("unit")
    for y in years:
        t.add_column(str(y), justify="right")
    for item, by_year in sorted(e["facts"].items()):
        unit = next(iter(by_year.values()))["unit"]
        t.add_row(item, unit, *[_fmt(by_year.get(y, {}).get("value"), unit) for y in years])
    console.print(t)
    if e["power_accounts"]:
        console.print("电力户号 power accounts: " + "、".join(e["power_accounts"]))
    if e["land_parcels"]:
        console.print(
            "宗地 parcels: "
            + "；".join(
                f"{p['parcel_no']} {p['area_mu']:.2f}亩 {p['tenure']}" for p in e["land_parcels"]
            )
        )
    console.print(f"项目 projects: {len(e['projects'])}")


def _fmt(value: Any, unit: str | None = None) -> str:
    """A figure for a table (:func:`industry_brain.core.formatting.number`: thousands
    separators, the unit's decimals); ``-`` when missing."""
    return "-" if value is None else formatting.number(value, unit=unit)


@ent_app.command(
    "list", epilog="Example: industry-brain enterprises list --county 330502 --limit 20"
)
def enterprises_list(
    county: Annotated[str | None, typer.Option(help="County GB/T 2260 code.")] = None,
    name: Annotated[str | None, typer.Option(help="Part of the name.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """List enterprises (filter by county or name)."""
    from industry_brain.store.db import get_engine
    from industry_brain.store.models import Enterprise

    with _errors(), Session(get_engine()) as session:
        stmt = select(Enterprise).order_by(Enterprise.id).limit(limit)
        if county:
            stmt = stmt.where(Enterprise.county_code == county)
        if name:
            stmt = stmt.where(Enterprise.name.contains(name))
        rows = [
            {
                "uscc": e.uscc,
                "name": e.name,
                "county_code": e.county_code,
                "industry_code": e.industry_code,
                "status": e.status,
            }
            for e in session.scalars(stmt)
        ]
    if as_json:
        _print_json(rows)
        return
    t = Table()
    for col in ("uscc", "name", "county_code", "industry_code", "status"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            *[str(r[k] or "") for k in ("uscc", "name", "county_code", "industry_code", "status")]
        )
    console.print(t)


# -- import -----------------------------------------------------------------------------------
@app.command(
    "import",
    epilog="Example: industry-brain import power data/demo/inbox/power_2025.csv --accept-valid",
)
def import_cmd(
    kind: Annotated[
        str,
        typer.Argument(
            help="registration | stats_annual | energy | tax | power | land | emissions"
        ),
    ],
    file: Annotated[
        Path, typer.Argument(help="CSV, XLSX or XLS file.", exists=True, dir_okay=False)
    ],
    sheet: Annotated[
        str | None, typer.Option(help="Only this sheet (default: all sheets).")
    ] = None,
    year: Annotated[
        int | None, typer.Option(help="Data year when the file has no year column.")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="CSV encoding (default: detected).")] = None,
    accept_valid: Annotated[
        bool, typer.Option("--accept-valid", help="Load valid rows, record rejects.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate only; change nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import a department file: validate, match enterprises, load facts with lineage."""
    from industry_brain.ingest import import_file

    with _errors(), _progress(not as_json) as step:
        result = import_file(
            kind,
            file,
            sheet=sheet,
            year=year,
            encoding=encoding,
            accept_valid=accept_valid,
            dry_run=dry_run,
            progress=step,
        )
    if as_json:
        _print_json(result.to_dict())
    else:
        _print_import(result)
    if result.status == "rejected":
        raise typer.Exit(1)


def _print_import(r: Any) -> None:
    colour = {
        "committed": "green",
        "partial": "yellow",
        "rejected": "red",
        "duplicate": "cyan",
        "dry_run": "blue",
    }.get(r.status, "white")
    console.print(
        f"[bold {colour}]{r.status}[/] {r.kind} {r.file}  batch={r.batch_id}  rows={r.rows_total} "
        f"loaded={r.rows_loaded} rejected={r.rows_rejected}  facts +{r.facts_inserted} "
        f"superseded {r.facts_superseded} unchanged {r.facts_unchanged}  "
        f"enterprises +{r.enterprises_created} ~{r.enterprises_updated}  reviews {r.reviews_opened}"
    )
    if r.status == "duplicate":
        console.print(
            f"同一文件已于批次 {r.duplicate_of} 导入，未做任何更改 / "
            f"already imported as batch {r.duplicate_of}; nothing changed"
        )
    if r.problems:
        t = Table(title="问题汇总 / problem summary")
        for col in ("severity", "code", "count", "first: row/column", "message"):
            t.add_column(col)
        firsts: dict[str, Any] = {}
        for p in r.problems:
            firsts.setdefault(p.code, p)
        for code, n in r.counts_by_code().items():
            p = firsts[code]
            loc = p.location
            where = f"{loc.sheet or ''} {loc.row or ''} {loc.column or loc.field or ''}"
            t.add_row(p.severity, code, str(n), where.strip(), f"{p.zh} / {p.en}")
        console.print(t)
    if r.report_xlsx:
        console.print(f"错误报告 report: {r.report_xlsx}  {r.report_json}")


# -- facts ------------------------------------------------------------------------------------
@facts_app.command(
    "explain",
    epilog="Example: industry-brain facts explain 91330502MA2B3C4D1Y --year 2025 --item tax",
)
def facts_explain(
    uscc: Annotated[str, typer.Argument(help="Unified social credit code.")],
    year: Annotated[int, typer.Option(help="Data year.")],
    item: Annotated[
        str, typer.Option(help="Item: tax, va, output, revenue, land, energy, electricity, ...")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Value, unit and lineage (batch, file, sheet, row) of a figure, with superseded values."""
    from industry_brain.core import uscc as uscc_mod
    from industry_brain.store.db import get_engine
    from industry_brain.store.facts import explain

    with _errors(), Session(get_engine()) as session:
        data = explain(session, uscc_mod.normalize(uscc), year, item)
    if as_json:
        _print_json(data)
        return
    console.print(f"[bold]{data['name']}[/] {data['uscc']}  {year}  {data['item']}")
    if data["value"] is None:
        console.print("无数据 / no figure stored")
    else:
        console.print(
            f"值 value: [bold]{data['value']:,.4f}[/] {data['unit']}   "
            f"来源 source: {data['source_dept']}"
            f"   (precedence: {' > '.join(data['precedence'])})"
        )
    t = Table(title="血缘与历史 / lineage and history")
    for col in (
        "fact",
        "value",
        "unit",
        "month",
        "detail",
        "dept",
        "batch",
        "file",
        "sheet",
        "row",
        "column",
        "raw",
        "state",
    ):
        t.add_column(col)
    used = {u["id"] for u in data["used"]}
    for h in data["history"]:
        state = (
            "used"
            if h["id"] in used
            else (f"superseded by {h['superseded_by']}" if h["superseded_by"] else "not preferred")
        )
        t.add_row(
            str(h["id"]),
            _fmt(h["value"], h["unit"]),
            h["unit"],
            str(h["month"] or ""),
            h["detail"],
            h["source_dept"],
            str(h["batch_id"]),
            h["file"],
            h["sheet"] or "",
            str(h["row"] or ""),
            h["column"] or "",
            h["raw_value"] or "",
            state,
        )
    console.print(t)


# -- review queue -----------------------------------------------------------------------------
@review_app.command("list", epilog="Example: industry-brain review list --json")
def review_list(
    batch: Annotated[int | None, typer.Option(help="Only this batch.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open review-queue entries with candidate enterprises."""
    from industry_brain.ingest.review import open_reviews
    from industry_brain.store.db import get_engine

    with _errors(), Session(get_engine()) as session:
        rows = open_reviews(session, batch)
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"待核对 open reviews: {len(rows)}")
    for col in ("id", "batch", "row", "reason", "name", "uscc", "account", "candidates"):
        t.add_column(col)
    for r in rows:
        cands = "；".join(f"{c['name']} {c['uscc']}" for c in r["candidates"])
        t.add_row(
            str(r["id"]),
            str(r["batch_id"]),
            str(r["row"]),
            r["reason"],
            r["raw_name"] or "",
            r["raw_uscc"] or "",
            r["raw_account"] or "",
            cands,
        )
    console.print(t)


@review_app.command(
    "confirm", epilog="Example: industry-brain review confirm 12 91330502MA2B3C4D1Y"
)
def review_confirm(
    review_id: Annotated[int, typer.Argument(help="Review id from `review list`.")],
    uscc: Annotated[str, typer.Argument(help="The enterprise the row belongs to.")],
    as_json: JsonOpt = False,
) -> None:
    """Confirm a match; it is remembered for the next import (re-import the file to load it)."""
    from industry_brain.ingest.review import confirm
    from industry_brain.store.db import get_engine

    with _errors(), Session(get_engine()) as session:
        data = confirm(session, review_id, uscc)
        session.commit()
    if as_json:
        _print_json(data)
    else:
        console.print(f"已确认 confirmed review {review_id} → {uscc}")


@review_app.command("dismiss", epilog="Example: industry-brain review dismiss 12")
def review_dismiss(review_id: Annotated[int, typer.Argument(help="Review id.")]) -> None:
    """Dismiss a review entry (the row stays unloaded)."""
    from industry_brain.ingest.review import dismiss
    from industry_brain.store.db import get_engine

    with _errors(), Session(get_engine()) as session:
        dismiss(session, review_id)
        session.commit()
    console.print(f"已忽略 dismissed review {review_id}")


# -- batches ----------------------------------------------------------------------------------
@batches_app.command("list", epilog="Example: industry-brain batches list --json")
def batches_list(
    limit: Annotated[int, typer.Option(help="Most recent N batches.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Import batches, newest first."""
    from industry_brain.store.db import get_engine
    from industry_brain.store.models import ImportBatch

    with _errors(), Session(get_engine()) as session:
        rows = [
            {
                "id": b.id,
                "kind": b.kind,
                "file": b.file_name,
                "status": b.status,
                "year": b.year,
                "rows_total": b.rows_total,
                "rows_loaded": b.rows_loaded,
                "rows_rejected": b.rows_rejected,
                "created_at": b.created_at,
            }
            for b in session.scalars(
                select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)
            )
        ]
    if as_json:
        _print_json(rows)
        return
    t = Table()
    columns = ("id", "kind", "file", "status", "year", "rows_total", "rows_loaded", "rows_rejected")
    for col in columns:
        t.add_column(col)
    for r in rows:
        t.add_row(*[str(r[c] if r[c] is not None else "") for c in columns])
    console.print(t)


# -- web ---------------------------------------------------------------------------------------
@app.command(epilog="Example: industry-brain serve --host 127.0.0.1 --port 8000 --workers 2")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="uvicorn worker processes (one per core; sessions, throttling and the audit "
            "log live in the database, so any worker serves any request).",
        ),
    ] = 1,
) -> None:
    """Serve the web platform and JSON API (FastAPI on uvicorn); open http://HOST:PORT/login."""
    # Each worker process builds its own app from the factory (uvicorn needs the import string
    # for several workers) with its own connection pool; on SQLite the workers share the WAL
    # store and wait for each other's short write transactions (busy timeout, store.db).
    import uvicorn

    refuse_unless_ready(assets=True)
    console.print(f"产业大脑 Industry Brain: http://{host}:{port}/login")
    uvicorn.run(
        "industry_brain.web.app:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        # forwarded headers count only from IB_TRUSTED_PROXIES, checked by the app itself
        proxy_headers=False,
        # a worker imports the whole platform on start: on a loaded machine that takes longer than
        # uvicorn's default 5 s health check, which then kills and restarts workers in a loop
        timeout_worker_healthcheck=60,
    )


def _register_domain_commands() -> None:
    """Each service on the contract (:mod:`industry_brain.contract`, hook ``ib_cli_groups``)
    adds its command groups."""
    from industry_brain import contract

    for _name, groups in contract.each("cli_groups"):
        for group_name, group_app in groups.items():
            app.add_typer(group_app, name=group_name)


_register_domain_commands()


def main() -> None:
    """The console script: a platform error that no command caught, or a command that failed on
    the store because of the store itself (unreachable, or its schema not this code's —
    ``db upgrade`` not run), is told in Chinese and English (exit 2) instead of with a
    traceback."""
    from sqlalchemy.exc import DBAPIError

    from industry_brain.core.errors import IBError

    try:
        app()
    except IBError as exc:  # a platform error no command caught: said, not a traceback
        print_problem(exc.problem)
        raise SystemExit(2) from exc
    except DBAPIError as exc:
        from industry_brain import checkup

        problem = checkup.explain_store_error(exc)
        if problem is None:
            raise
        print_problem(problem)
        raise SystemExit(2) from exc


if __name__ == "__main__":
    main()
