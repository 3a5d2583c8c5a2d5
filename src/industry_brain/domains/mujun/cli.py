"""``industry-brain mujun …``: 亩均论英雄 evaluation, explanations, lists, measures, appeals.

Every command prints Chinese with English; ``--json`` prints data instead of tables; errors
print their code with both messages and exit with status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from industry_brain.cli_support import JsonOpt, Table, progress
from industry_brain.cli_support import errors as _errors
from industry_brain.cli_support import print_json as _print_json
from industry_brain.core import formatting
from industry_brain.core.errors import Location

NAME = "mujun"
app = typer.Typer(
    help="亩均论英雄 per-mu evaluation: scores, classes, 清三低 lists, measures, appeals.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
adjust_app = typer.Typer(
    help="加减分与一票否决 bonus, penalty and veto records.", no_args_is_help=True
)
appeal_app = typer.Typer(help="异议 appeals against published figures.", no_args_is_help=True)
app.add_typer(adjust_app, name="adjust")
app.add_typer(appeal_app, name="appeal")

console = Console()
err = Console(stderr=True)

YearOpt = Annotated[
    int | None, typer.Option(help="Data year 数据年度 (default: the latest year in the store).")
]
CountyOpt = Annotated[str | None, typer.Option(help="Only this county (GB/T 2260 code).")]
EngineOpt = Annotated[str, typer.Option(help="Analytics engine: duckdb | pyspark.")]
ActorOpt = Annotated[str, typer.Option("--by", help="Who records this (audit log).")]
LABELS = {
    "snapshot": "数据仓快照 snapshot",
    "evaluate": "亩均评价 evaluating",
    "store": "保存结果 storing",
    "workbook": "排名表 workbook",
}


def _progress(enabled: bool = True):  # type: ignore[no-untyped-def]
    return progress(enabled, LABELS)


def _engine():  # type: ignore[no-untyped-def]
    """The store's engine; a bilingual error when its schema predates the 亩均 tables."""
    from sqlalchemy import inspect

    from industry_brain.domains.mujun.rules import MujunError
    from industry_brain.store.db import describe, get_engine

    engine = get_engine()
    if not inspect(engine).has_table("mujun_runs"):
        raise MujunError(
            "mujun.schema",
            f"数据库 {describe(str(engine.url))} 尚无亩均评价表，"
            "请先运行 industry-brain db upgrade",
            f"the store {describe(str(engine.url))} has no 亩均 tables; run industry-brain "
            "db upgrade first",
            Location(field="database"),
        )
    return engine


def _year(session: Session, year: int | None) -> int:
    from industry_brain.domains.mujun.rules import MujunError
    from industry_brain.domains.mujun.service import latest_year

    if year is not None:
        return year
    latest = latest_year(session)
    if latest is None:
        raise MujunError(
            "mujun.no_data",
            "库中没有规上/规下数据，请先导入统计年报或运行 industry-brain demo",
            "the store has no 规上/规下 data; import the statistics file or run "
            "industry-brain demo",
            Location(field="year"),
        )
    return int(latest)


def _uscc(raw: str) -> str:
    from industry_brain.core import uscc as uscc_mod

    return uscc_mod.normalize(raw)


def _check_engine(engine: str) -> None:
    from industry_brain.warehouse.engines import ENGINES

    if engine not in ENGINES:
        raise typer.BadParameter("duckdb or pyspark", param_hint="--engine")


def _fmt(x: Any, digits: int = 2) -> str:
    """A figure for a table (:func:`industry_brain.core.formatting.number`); ``-`` when
    missing."""
    text = formatting.number(x, decimals=digits)
    return "-" if text == formatting.MISSING else text


# -- evaluate ---------------------------------------------------------------------------------
@app.command(epilog="Example: industry-brain mujun evaluate --year 2025 --engine duckdb")
def evaluate(
    year: YearOpt = None,
    engine: EngineOpt = "duckdb",
    snapshot: Annotated[
        Path | None,
        typer.Option(help="Use this warehouse snapshot folder instead of a fresh snapshot."),
    ] = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Evaluate a data year (snapshot → Ibis on DuckDB or PySpark) and publish the run.

    With --json: a list of result objects, one per enterprise (uscc, inputs, items, score,
    ranks, class, previous year)."""
    from industry_brain.domains.mujun import report, service
    from industry_brain.warehouse import Snapshot

    _check_engine(engine)
    with _errors():
        db = _engine()
        with Session(db) as session:
            year = _year(session, year)
        snap = Snapshot.open(snapshot) if snapshot else None
        with _progress(not as_json) as step:
            # the evaluation itself is not kept (a province's is gigabytes)
            outcome = service.run(
                db, year, compute=engine, snapshot=snap, actor=actor, progress=step
            )[0]
        with Session(db) as session:
            if as_json:
                _print_json(report.result_objects(session, year, outcome.run_id))
                return
            summ = report.summary(session, year, outcome.run_id)["by_county"]
    console.print(
        f"[bold]{year} 年度亩均评价[/] run #{outcome.run_id}  engine {engine}  "
        f"parameters {outcome.parameter_version}  enterprises {outcome.n_results}  "
        f"({outcome.seconds})"
    )
    _print_summary(summ, f"{year} 分类结果 / classes by county")


def _print_summary(frame: Any, title: str, key: str = "区县 county") -> None:
    t = Table(title=title)
    for col in (key, "规模 scope", "A", "B", "C", "D", "T", "平均得分 mean", "亩均税收"):
        t.add_column(col, justify="left" if col in (key, "规模 scope") else "right")
    for r in frame.to_dict("records"):
        t.add_row(
            str(r.get("county_name") or r.get("industry_name") or ""),
            {"above": "规上", "below": "规下"}.get(r["scope"], r["scope"]),
            *[str(int(r[c])) for c in ("A", "B", "C", "D", "T")],
            _fmt(r["mean_score"]),
            _fmt(r["tax_per_mu"]),
        )
    console.print(t)


# -- explain ----------------------------------------------------------------------------------
@app.command(
    epilog="Example: industry-brain mujun explain 91330502MA2B3C4D1U --year 2025 --lang en"
)
def explain(
    uscc: Annotated[str, typer.Argument(help="Unified social credit code 统一社会信用代码.")],
    year: YearOpt = None,
    lang: Annotated[str, typer.Option(help="zh | en")] = "zh",
    run: Annotated[int | None, typer.Option(help="A run id (default: the published run).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Explain one enterprise's result: inputs with lineage, benchmarks, arithmetic, class rule."""
    from industry_brain.domains.mujun.explain import explain as do_explain

    with _errors(), Session(_engine()) as session:
        data = do_explain(session, _uscc(uscc), _year(session, year), lang=lang, run_id=run)
    if as_json:
        _print_json(data)
    else:
        console.print(data["text"], highlight=False, markup=False)


# -- published list, runs, changes, summary -------------------------------------------------
@app.command(epilog="Example: industry-brain mujun results --year 2025 --county 330502 --class D")
def results(
    year: YearOpt = None,
    county: CountyOpt = None,
    class_code: Annotated[str | None, typer.Option("--class", help="A, B, C, D or T.")] = None,
    scope: Annotated[str | None, typer.Option(help="above (规上) | below (规下).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows (table only).")] = 30,
    as_json: JsonOpt = False,
) -> None:
    """The published list (最终结果) of a year: score, ranks and class per enterprise."""
    from industry_brain.domains.mujun import report

    with _errors(), Session(_engine()) as session:
        rows = report.result_objects(session, _year(session, year))
    if county:
        rows = [r for r in rows if r["county_code"] == county]
    if class_code:
        rows = [r for r in rows if r["class_code"] == class_code.upper()]
    if scope:
        rows = [r for r in rows if r["scope"] == scope]
    rows.sort(key=lambda r: (r["county_code"] or "", r["scope"], r["rank_county"] or 10**9))
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"亩均评价结果 / results ({len(rows)})")
    for col in ("uscc", "name", "county", "scope", "score", "rank", "class", "prev"):
        t.add_column(col)
    for r in rows[:limit]:
        t.add_row(
            r["uscc"],
            r["name"],
            r["county_code"] or "",
            r["scope"],
            _fmt(r["score"]),
            formatting.rank(r["rank_county"], r["n_county"]),
            f"{r['class_code']} {r['class_label']}",
            r["previous"]["class_code"] or "-",
        )
    console.print(t)


@app.command(epilog="Example: industry-brain mujun runs --year 2025")
def runs(year: YearOpt = None, as_json: JsonOpt = False) -> None:
    """Evaluation runs (published and superseded history) with parameter version and inputs."""
    from sqlalchemy import select

    from industry_brain.domains.mujun.models import MujunRun

    with _errors(), Session(_engine()) as session:
        stmt = select(MujunRun).order_by(MujunRun.id)
        if year is not None:
            stmt = stmt.where(MujunRun.year == year)
        rows = [
            {
                "id": r.id,
                "year": r.year,
                "kind": r.kind,
                "status": r.status,
                "engine": r.engine,
                "parameter_version": r.parameter_version,
                "input_batch_ids": r.input_batch_ids,
                "parent_run_id": r.parent_run_id,
                "note": r.note,
                "actor": r.actor,
                "created_at": r.created_at,
                "summary": r.summary,
            }
            for r in session.scalars(stmt)
        ]
    if as_json:
        _print_json(rows)
        return
    t = Table(title="评价批次 / runs")
    for col in (
        "id",
        "year",
        "kind",
        "status",
        "engine",
        "parameters",
        "batches",
        "parent",
        "note",
    ):
        t.add_column(col)
    for r in rows:
        t.add_row(
            str(r["id"]),
            str(r["year"]),
            r["kind"],
            r["status"],
            r["engine"],
            r["parameter_version"],
            str(len(r["input_batch_ids"])),
            str(r["parent_run_id"] or ""),
            r["note"] or "",
        )
    console.print(t)


@app.command(epilog="Example: industry-brain mujun changes --year 2025 --county 330502")
def changes(
    year: YearOpt = None,
    county: CountyOpt = None,
    limit: Annotated[int, typer.Option(help="At most this many rows (table only).")] = 30,
    as_json: JsonOpt = False,
) -> None:
    """Year-on-year changes: class moves, score and rank changes against the previous year."""
    from industry_brain.domains.mujun import report

    with _errors(), Session(_engine()) as session:
        y = _year(session, year)
        frame = report.changes(session, y)
    if county:
        frame = frame[frame["county_code"] == county]
    cols = [
        "uscc",
        "name",
        "county_code",
        "scope",
        "class_code_prev",
        "class_code",
        "score_prev",
        "score",
        "score_change",
        "rank_county_prev",
        "rank_county",
        "movement",
    ]
    frame = frame[cols]
    moves = frame["movement"].value_counts().to_dict()
    if as_json:
        clean = frame.astype(object).where(frame.notna(), None)
        _print_json({"year": y, "movements": moves, "changes": clean.to_dict("records")})
        return
    console.print(f"{y} 对比 {y - 1}: " + "  ".join(f"{k} {v}" for k, v in moves.items()))
    t = Table(title="分类变化 / class changes (largest score changes)")
    for col in ("uscc", "name", "scope", "class", "score", "change", "rank"):
        t.add_column(col)
    moved = frame.dropna(subset=["score_change"])
    moved = moved.reindex(moved["score_change"].abs().sort_values(ascending=False).index)
    for r in moved.head(limit).to_dict("records"):
        t.add_row(
            r["uscc"],
            r["name"],
            r["scope"],
            f"{r['class_code_prev']}→{r['class_code']}",
            _fmt(r["score"]),
            f"{r['score_change']:+.2f}",
            f"{_fmt(r['rank_county_prev'], 0)}→{_fmt(r['rank_county'], 0)}",
        )
    console.print(t)


@app.command(epilog="Example: industry-brain mujun summary --year 2025 --json")
def summary(year: YearOpt = None, as_json: JsonOpt = False) -> None:
    """Summary by county and by industry: counts per class, mean score, 亩均税收, 亩均增加值."""
    from industry_brain.domains.mujun import report

    with _errors(), Session(_engine()) as session:
        y = _year(session, year)
        data = report.summary(session, y)
    if as_json:
        _print_json(
            {k: v.astype(object).where(v.notna(), None).to_dict("records") for k, v in data.items()}
        )
        return
    _print_summary(data["by_county"], f"{y} 按区县 / by county")
    _print_summary(data["by_industry"], f"{y} 按行业 / by industry", "行业 industry")


@app.command(epilog="Example: industry-brain mujun report --year 2025 --out data/mujun_2025.xlsx")
def report(
    year: YearOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="XLSX path (default DATA_DIR/reports/mujun_YEAR.xlsx).")
    ] = None,
    run: Annotated[int | None, typer.Option(help="A run id (default: the published run).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the ranking workbook: one sheet per county (bureau layout) and summary sheets."""
    from industry_brain.domains.mujun import report as rep
    from industry_brain.store.db import data_dir

    with _errors(), Session(_engine()) as session, _progress(not as_json) as step:
        y = _year(session, year)
        path = out or data_dir() / "reports" / f"mujun_{y}.xlsx"
        step("workbook", 0, 1)
        data = rep.write_workbook(session, y, path, run_id=run)
        step("workbook", 1, 1)
    if as_json:
        _print_json(data)
    else:
        console.print(
            f"排名表 workbook: [bold]{data['path']}[/]  sheets: {', '.join(data['sheets'])}"
        )


# -- lists and measures -----------------------------------------------------------------------
@app.command(
    "list",
    hidden=True,
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    epilog="Example: industry-brain mujun lists --year 2025 · industry-brain mujun results",
)
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """No such command: points to `lists` (清三低名单) and `results` (评价结果)."""
    message = {
        "code": "cli.no_such_command",
        "message_zh": "没有 list 命令：清三低及低效企业名单用 `industry-brain mujun lists`，"
        "评价结果用 `industry-brain mujun results`",
        "message_en": "no 'list' command: the 清三低 lists are `industry-brain mujun lists`, "
        "the evaluation results `industry-brain mujun results`",
    }
    if as_json:
        _print_json({"error": message})
    else:
        err.print(f"{message['message_zh']}\n{message['message_en']}")
    raise typer.Exit(2)


@app.command(epilog="Example: industry-brain mujun lists --year 2025 --out data/qingsandi.xlsx")
def lists(
    year: YearOpt = None,
    county: CountyOpt = None,
    category: Annotated[
        str | None,
        typer.Option(help="low_contribution | low_benefit | low_output_land | low_efficiency"),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Export to .xlsx or .csv.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """清三低 and low-efficiency lists by county (thresholds are parameters), exportable."""
    from industry_brain.domains.mujun import lists as lists_mod

    with _errors(), Session(_engine()) as session:
        y = _year(session, year)
        frame = lists_mod.build(session, y, county)
        if category:
            frame = frame[frame["category"] == category]
        path = lists_mod.export(frame, out, y) if out else None
    if as_json:
        _print_json(
            {
                "year": y,
                "counts": lists_mod.counts(frame),
                "file": str(path) if path else None,
                "rows": lists_mod.to_records(frame),
            }
        )
        return
    t = Table(title=f"{y} 清三低及低效企业 / lists by county")
    cats = list(lists_mod.CATEGORIES)
    t.add_column("区县 county")
    for c in cats:
        t.add_column(lists_mod.CATEGORIES[c][0], justify="right")
    t.add_column("企业 firms", justify="right")
    for county_name, row in sorted(lists_mod.counts(frame).items()):
        t.add_row(county_name, *[str(row.get(c, 0)) for c in cats], str(row.get("enterprises", 0)))
    console.print(t)
    if path:
        console.print(f"已导出 exported: {path}")


@app.command(epilog="Example: industry-brain mujun measures --year 2025 --county 330522 --json")
def measures(
    year: YearOpt = None,
    county: CountyOpt = None,
    out: Annotated[Path | None, typer.Option(help="Export the rows to .csv.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Differentiated measures per enterprise by class: land-use-tax relief, electricity
    surcharge (money in 万元), energy and discharge quota priority."""
    from industry_brain.domains.mujun import measures as m

    with _errors(), Session(_engine()) as session:
        y = _year(session, year)
        frame = m.compute(session, y, county)
    if out:
        from industry_brain.core import exports

        exports.write_frame_csv(frame, Path(out))
    tot = m.totals(frame)
    if as_json:
        _print_json({"year": y, "totals": tot, "rows": m.to_records(frame)})
        return
    t = Table(title=f"{y} 差别化政策 / measures (万元)")
    for col in ("区县 county", "措施 lever", "企业 firms", "金额 money (万元)"):
        t.add_column(col)
    for county_name, levers in sorted(tot["by_county"].items()):
        for lever, v in levers.items():
            t.add_row(
                county_name,
                m.LEVERS[lever][1] + " " + lever,
                str(v["enterprises"]),
                _fmt(v["money_wan_yuan"], 4),
            )
    console.print(t)
    for lever, counts in tot["priority"].items():
        console.print(f"{m.LEVERS[lever][1]} {lever}: {counts}")
    if out:
        console.print(f"已导出 exported: {out}")


# -- adjustments ------------------------------------------------------------------------------
@adjust_app.command(
    "add",
    epilog="Example: industry-brain mujun adjust add 91330502MA2B3C4D1U --year 2025 "
    "--code high_tech --source 国科发火〔2025〕12号",
)
def adjust_add(
    uscc: Annotated[str, typer.Argument(help="Unified social credit code.")],
    year: Annotated[int, typer.Option(help="Data year.")],
    code: Annotated[str, typer.Option(help="Item code from mujun.adjustments.items.")],
    note: Annotated[str | None, typer.Option(help="Note 说明.")] = None,
    source: Annotated[str | None, typer.Option(help="Source: department, decision number.")] = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Record a bonus, penalty or veto item for an enterprise and year."""
    from industry_brain.domains.mujun import adjustments

    with _errors(), Session(_engine()) as session:
        adj = adjustments.add(session, _uscc(uscc), year, code, actor, note, source)
        session.commit()
        data = {"id": adj.id, "uscc": _uscc(uscc), "year": year, "code": code}
    if as_json:
        _print_json(data)
    else:
        console.print(f"已记录 recorded adjustment #{data['id']} {code} {data['uscc']} {year}")


@adjust_app.command("list", epilog="Example: industry-brain mujun adjust list --year 2025 --json")
def adjust_list(year: YearOpt = None, county: CountyOpt = None, as_json: JsonOpt = False) -> None:
    """Active bonus, penalty and veto records of a year."""
    from industry_brain.domains.mujun import adjustments

    with _errors(), Session(_engine()) as session:
        rows = adjustments.listing(session, _year(session, year), county)
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"加减分记录 / adjustments ({len(rows)})")
    for col in ("id", "uscc", "name", "code", "source", "note"):
        t.add_column(col)
    for r in rows:
        t.add_row(str(r["id"]), r["uscc"], r["name"], r["code"], r["source"] or "", r["note"] or "")
    console.print(t)


@adjust_app.command(
    "import", epilog="Example: industry-brain mujun adjust import data/high_tech_2025.csv"
)
def adjust_import(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX.", exists=True, dir_okay=False)],
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Import records from a file with columns 统一社会信用代码, 年度, 项目代码, 说明, 来源."""
    from industry_brain.domains.mujun import adjustments

    with _errors(), Session(_engine()) as session:
        data = adjustments.import_file(session, file, actor)
        session.commit()
    if as_json:
        _print_json(data)
    else:
        console.print(f"已导入 imported {data['imported']} records from {data['file']}")


@adjust_app.command(
    "revoke", epilog="Example: industry-brain mujun adjust revoke 12 --reason 处罚已撤销"
)
def adjust_revoke(
    adjustment_id: Annotated[int, typer.Argument(help="Record id from `adjust list`.")],
    reason: Annotated[str, typer.Option(help="Why it is revoked.")],
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Revoke a record (kept, marked revoked; audited)."""
    from industry_brain.domains.mujun import adjustments

    with _errors(), Session(_engine()) as session:
        adjustments.revoke(session, adjustment_id, actor, reason)
        session.commit()
    if as_json:
        _print_json({"id": adjustment_id, "revoked": True})
    else:
        console.print(f"已撤销 revoked adjustment #{adjustment_id}")


# -- appeals ----------------------------------------------------------------------------------
@appeal_app.command(
    "file",
    epilog="Example: industry-brain mujun appeal file 91330502MA2B3C4D1U --year 2025 "
    "--item land_area --claimed 12.5 --statement 租赁厂房已退租",
)
def appeal_file(
    uscc: Annotated[str, typer.Argument(help="Unified social credit code.")],
    year: Annotated[int, typer.Option(help="Data year of the published result.")],
    item: Annotated[str, typer.Option(help="Disputed input: tax_paid, land_area, electricity…")],
    statement: Annotated[str, typer.Option(help="The enterprise's statement 异议理由.")],
    claimed: Annotated[float | None, typer.Option(help="The value the enterprise claims.")] = None,
    actor: ActorOpt = "enterprise",
    as_json: JsonOpt = False,
) -> None:
    """File an appeal (异议) against a figure of the published result."""
    from industry_brain.domains.mujun import appeals

    with _errors(), Session(_engine()) as session:
        a = appeals.file(session, _uscc(uscc), year, item, statement, actor, claimed)
        session.commit()
        data = {
            "id": a.id,
            "item": a.item,
            "disputed_value": a.disputed_value,
            "claimed_value": a.claimed_value,
            "run_id": a.run_id,
            "status": a.status,
        }
    if as_json:
        _print_json(data)
    else:
        console.print(
            f"已登记异议 appeal #{data['id']} {data['item']}: {_fmt(data['disputed_value'], 4)} → "
            f"{_fmt(data['claimed_value'], 4)}"
        )


@appeal_app.command(
    "decide",
    epilog="Example: industry-brain mujun appeal decide 3 --accept --value 12.5 "
    "--reason 核实租赁合同 --by officer_wx",
)
def appeal_decide(
    appeal_id: Annotated[int, typer.Argument(help="Appeal id from `appeal list`.")],
    reason: Annotated[str, typer.Option(help="Reason of the decision 处理意见.")],
    accept: Annotated[
        bool, typer.Option("--accept/--reject", help="Accept (correct the figure) or reject.")
    ] = True,
    value: Annotated[
        float | None, typer.Option(help="Corrected value (default: the claimed value).")
    ] = None,
    reevaluate: Annotated[
        bool,
        typer.Option(
            "--reevaluate/--no-reevaluate", help="Re-evaluate the year now (a new published run)."
        ),
    ] = True,
    engine: EngineOpt = "duckdb",
    actor: ActorOpt = "officer",
    as_json: JsonOpt = False,
) -> None:
    """Decide an appeal: an accepted one writes the corrected fact (superseding the disputed
    figures, audited) and re-evaluates the year; the published list shows the new run."""
    from industry_brain.domains.mujun import appeals

    _check_engine(engine)
    with _errors():
        db = _engine()
        with Session(db) as session:
            a = appeals.decide(session, appeal_id, accept, reason, actor, value)
            session.commit()
            data: dict[str, Any] = {
                "id": a.id,
                "status": a.status,
                "year": a.year,
                "item": a.item,
                "corrected_value": a.corrected_value,
                "fact_id": a.fact_id,
                "superseded_fact_ids": a.superseded_fact_ids,
                "new_run_id": None,
            }
        if a.status == "accepted" and reevaluate:
            with _progress(not as_json) as step:
                outcome = appeals.reevaluate(
                    db, data["year"], [appeal_id], compute=engine, actor=actor, progress=step
                )
            data["new_run_id"] = outcome.run_id
    if as_json:
        _print_json(data)
        return
    console.print(f"异议 appeal #{appeal_id}: {data['status']}")
    if data["fact_id"]:
        console.print(
            f"更正数据 corrected fact {data['fact_id']} = {_fmt(data['corrected_value'], 4)}；"
            f"被替代 superseded {data['superseded_fact_ids']}"
        )
    if data["new_run_id"]:
        console.print(f"已重新评价 re-evaluated: run #{data['new_run_id']} published")


@appeal_app.command("list", epilog="Example: industry-brain mujun appeal list --year 2025 --json")
def appeal_list(
    year: YearOpt = None,
    status: Annotated[str | None, typer.Option(help="open | accepted | rejected")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Appeals of a year with their decisions and the runs they produced."""
    from industry_brain.domains.mujun import appeals

    with _errors(), Session(_engine()) as session:
        rows = appeals.listing(session, _year(session, year), status)
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"异议 / appeals ({len(rows)})")
    for col in ("id", "uscc", "item", "status", "disputed", "claimed", "corrected", "new run"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            str(r["id"]),
            r["uscc"],
            r["item"],
            r["status"],
            _fmt(r["disputed_value"], 4),
            _fmt(r["claimed_value"], 4),
            _fmt(r["corrected_value"], 4),
            str(r["new_run_id"] or ""),
        )
    console.print(t)
