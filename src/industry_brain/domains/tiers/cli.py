"""``industry-brain tiers``: 五企培育 — evaluate every enterprise against the tier schemes, explain
one, rank candidates, the funnel, recognition lists, declarations, the pool and 一企一策 plans."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from industry_brain.cli_support import JsonOpt, Table, console, day_or_today
from industry_brain.cli_support import errors as _errors
from industry_brain.cli_support import print_json as _print_json

NAME = "tiers"
app = typer.Typer(
    help="五企培育 enterprise tiers: evaluate, explain, candidates, funnel, recognition lists, "
    "declarations, cultivation pool and 一企一策 plans.",
    rich_markup_mode="rich",
    no_args_is_help=True,
)

YearOpt = Annotated[
    int | None, typer.Option(help="Data year 数据年度 (default: the latest in the store).")
]
TodayOpt = Annotated[
    str | None, typer.Option("--today", help="Today as YYYY-MM-DD (default: the real date).")
]
ActorOpt = Annotated[str, typer.Option(help="The officer (recorded in the audit log).")]


def _engine():  # type: ignore[no-untyped-def]
    from industry_brain.store.db import get_engine

    return get_engine()


def _year(session: Any, year: int | None) -> int:
    from industry_brain.domains.tiers import service

    if year is not None:
        return year
    latest = service.latest_year(session)
    if latest is None:
        raise service.TiersError(
            "tiers.no_data", "企业库没有年度数据", "the store has no yearly data"
        )
    return int(latest)


def _label(code: str | None) -> str:
    from industry_brain.domains.tiers.service import tier_label

    return f"{tier_label(code, 'zh')} {code}" if code else "—"


@app.command(epilog="Example: industry-brain tiers evaluate --year 2025 --engine pyspark --json")
def evaluate(
    year: YearOpt = None,
    engine: Annotated[str, typer.Option(help="duckdb or pyspark.")] = "duckdb",
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Evaluate every enterprise against every tier scheme in force (one Ibis expression) and
    publish the run (result_tiers in the next snapshot)."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.tiers import service

    with _errors():
        eng = _engine()
        with Session(eng) as s:
            y = _year(s, year)
        run, _ev = service.run(eng, y, engine, actor=actor)
    data = {"run_id": run.id, "year": y, "engine": engine, **run.summary}
    if as_json:
        _print_json(data)
        return
    console.print(
        f"梯度评价批次 {run.id}（数据年度 {y}，{engine}）：企业 {data['enterprises']} 家 / "
        f"tiers run {run.id}",
        highlight=False,
    )
    t = Table(title="方案结果 results by scheme")
    for col in ("方案 scheme", "满足 meets", "候选 candidate", "不满足 fails", "无法判断 unknown"):
        t.add_column(col)
    for code, counts in data["schemes"].items():
        t.add_row(
            code,
            *(str(counts.get(k, 0)) for k in ("meets", "candidate", "fails", "unknown")),
        )
    console.print(t)


@app.command(
    epilog="Example: industry-brain tiers explain 91330502982344741G --scheme zhuanjingtexin"
)
def explain(
    uscc: Annotated[str, typer.Argument(help="统一社会信用代码 of the enterprise.")],
    scheme: Annotated[str | None, typer.Option(help="One scheme (default: all).")] = None,
    year: YearOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One enterprise: per scheme meets / does not meet / cannot tell, points per indicator,
    failing conditions with the gap, missing data and who provides it."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from industry_brain.domains.tiers import pipeline, service
    from industry_brain.domains.tiers.models import TiersLevel, TiersResult

    with _errors(), Session(_engine()) as s:
        ent = service.enterprise_by_uscc(s, uscc)
        y = _year(s, year)
        run = pipeline.run_of(s, y)
        if run is None:
            raise service.TiersError(
                "tiers.no_run",
                f"{y} 年度尚无梯度评价（运行 industry-brain tiers evaluate）",
                f"no tiers run for {y} (run industry-brain tiers evaluate)",
            )
        stmt = select(TiersResult).where(
            TiersResult.run_id == run.id, TiersResult.enterprise_id == ent.id
        )
        if scheme:
            stmt = stmt.where(TiersResult.scheme == scheme)
        rows = list(s.scalars(stmt.order_by(TiersResult.scheme)))
        level = s.scalars(
            select(TiersLevel).where(
                TiersLevel.run_id == run.id, TiersLevel.enterprise_id == ent.id
            )
        ).first()
    data = {
        "uscc": ent.uscc,
        "name": ent.name,
        "year": y,
        "run_id": run.id,
        "tier": level.tier if level else None,
        "status": level.status if level else None,
        "new_tier": level.new_tier if level else None,
        "next_tier": level.next_tier if level else None,
        "innovation_score": level.innovation_score if level else None,
        "schemes": [
            {
                "scheme": r.scheme,
                "status": r.status,
                "points": r.points,
                "closeness": r.closeness,
                "trace": service.trace_of(run, r),
            }
            for r in rows
        ],
    }
    if as_json:
        _print_json(data)
        return
    console.print(
        f"[bold]{ent.name}[/] {ent.uscc} — {y}: {_label(data['tier'])} ({data['status']})",
        highlight=False,
    )
    for r in data["schemes"]:
        tr = r["trace"]
        console.print(f"\n[bold]{r['scheme']}[/]: {r['status']}  (basis {tr.get('basis')})")
        if "points" in tr:
            p = tr["points"]
            console.print(f"  points {p['lo']} … {p['hi']} (min {p['total_min']})", highlight=False)
            for ind in p["indicators"]:
                console.print(f"    {ind['code']}: {ind['points']} / {ind['max']}", highlight=False)
        for f in tr.get("failing", []):
            console.print(
                f"  ✗ {f['id']}: {f['value']} {f['op']} {f['threshold']} — gap {f['gap']}",
                highlight=False,
            )
        for m in tr.get("missing", []):
            console.print(f"  ? {m['input']} — {m['provider_zh']}", highlight=False)


@app.command(epilog="Example: industry-brain tiers candidates --tier zhuanjingtexin --json")
def candidates(
    year: YearOpt = None,
    tier: Annotated[str | None, typer.Option(help="Tier (default: each firm's next).")] = None,
    county: Annotated[str | None, typer.Option(help="County code.")] = None,
    limit: Annotated[int, typer.Option(help="How many.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Firms closest to their next tier (or to --tier), with what they lack."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.tiers import pipeline
    from industry_brain.store.models import Enterprise

    with _errors(), Session(_engine()) as s:
        y = _year(s, year)
        clause = Enterprise.county_code == county if county else None
        rows = pipeline.candidates(s, y, tier, clause, limit)
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"候选企业 candidates {y}")
    for col in (
        "USCC",
        "企业 name",
        "现梯度 current",
        "目标 target",
        "接近度 closeness",
        "差距 gaps",
    ):
        t.add_column(col)
    for r in rows:
        gaps = "; ".join(f"{f['id']} {f['gap']}" for f in r["failing"][:3])
        t.add_row(
            r["uscc"],
            r["name"],
            r["current"] or "—",
            r["tier"],
            f"{r['closeness']:.2f}",
            gaps or "—",
        )
    console.print(t)


@app.command(epilog="Example: industry-brain tiers funnel --year 2025 --county 330502 --json")
def funnel(
    year: YearOpt = None,
    county: Annotated[str | None, typer.Option(help="County code.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The funnel 规下 → 新升规 → 创新型 → 专精特新 → 小巨人 → 单项冠军 for a year (and county)."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.tiers import pipeline

    with _errors(), Session(_engine()) as s:
        data = pipeline.funnel(s, _year(s, year), county)
    if as_json:
        _print_json(data)
        return
    print_funnel(data)


def print_funnel(data: dict[str, Any]) -> None:
    from industry_brain.domains.tiers.service import tier_label

    t = Table(title=f"梯度培育漏斗 funnel {data['year']} {data['county'] or ''}")
    for col in ("梯度 stage", "当前 at", "达到 reached"):
        t.add_column(col)
    for st in data["stages"]:
        label = "规下企业" if st["stage"] == "below_scale" else tier_label(st["stage"])
        t.add_row(label, str(st["at"]), str(st["reached"]))
    console.print(t)


@app.command("import-list", epilog="Example: industry-brain tiers import-list 小巨人名单.xlsx")
def import_list(
    path: Annotated[Path, typer.Argument(help="CSV or XLSX list (USCC, tier, year, batch).")],
    tier: Annotated[str | None, typer.Option(help="Tier of every row (else a column).")] = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Import an official recognition list (titles with lineage and 3-year validity)."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.tiers import titles

    with _errors(), Session(_engine()) as s:
        out = titles.import_list(s, path, actor, tier)
        s.commit()
    if as_json:
        _print_json(out)
        return
    console.print(
        f"导入批次 {out['batch_id']}：称号 {out['titles']} 条，已有 {out['already_known']} 条，"
        f"问题 {len(out['problems'])} 行 / batch {out['batch_id']}: {out['titles']} titles",
        highlight=False,
    )
    for p in out["problems"]:
        console.print(f"  行 row {p['row']}: {p['message']}", highlight=False)


@app.command(epilog="Example: industry-brain tiers warnings --today 2026-06-30 --json")
def warnings(today: TodayOpt = None, as_json: JsonOpt = False) -> None:
    """Titles expired or due for re-review, overdue plan actions and off-track targets."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.tiers import plans, titles

    day = day_or_today(today)
    with _errors(), Session(_engine()) as s:
        data = {"titles": titles.warnings(s, day), "plans": plans.warnings(s, day)}
    if as_json:
        _print_json(data)
        return
    for w in data["titles"]:
        console.print(
            f"{w['kind']}: {w['name']} {w['tier']} valid until {w['valid_until']}", highlight=False
        )
    for w in data["plans"]:
        console.print(
            f"{w['kind']}: {w['name']} — {w['what']} (due {w['due_date']})", highlight=False
        )


@app.command(
    epilog="Examples: industry-brain tiers declarations --json; "
    "industry-brain tiers declarations --verify 12; "
    "industry-brain tiers declarations --reject 13 --reason '证明材料与申报数不符'; "
    "industry-brain tiers declarations --template 申报模板.xlsx; "
    "industry-brain tiers declarations --import 申报.xlsx"
)
def declarations(
    verify: Annotated[int | None, typer.Option(help="Verify this declared figure.")] = None,
    reject: Annotated[int | None, typer.Option(help="Reject this declared figure.")] = None,
    reason: Annotated[str | None, typer.Option(help="Reason (required to reject).")] = None,
    template: Annotated[Path | None, typer.Option(help="Write the XLSX template here.")] = None,
    import_: Annotated[
        Path | None, typer.Option("--import", help="Import a filled XLSX template.")
    ] = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Declared figures waiting for verification; verify, reject (with a reason), the XLSX
    template and its import."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.tiers import declarations as decl

    with _errors(), Session(_engine()) as s:
        if template is not None:
            decl.write_template(template)
            data: Any = {"template": str(template)}
        elif import_ is not None:
            data = decl.import_xlsx(s, import_, actor)
            s.commit()
        elif verify is not None or reject is not None:
            item = decl.decide(
                s, verify if verify is not None else reject, actor, verify is not None, reason
            )
            s.commit()
            data = {"item": item.id, "status": item.status, "reason": item.reason}
        else:
            data = [
                {
                    "id": it.id,
                    "uscc": uscc,
                    "name": name,
                    "year": it.year,
                    "item": it.item,
                    "value": it.value,
                    "evidence": it.evidence_name,
                }
                for it, uscc, name in decl.pending(s)
            ]
    if as_json:
        _print_json(data)
        return
    if isinstance(data, list):
        t = Table(title="待审核申报 declarations to verify")
        for col in (
            "ID",
            "USCC",
            "企业 name",
            "年度 year",
            "指标 item",
            "数值 value",
            "材料 evidence",
        ):
            t.add_column(col)
        for r in data:
            t.add_row(
                str(r["id"]), r["uscc"], r["name"], str(r["year"]), r["item"], str(r["value"]),
                r["evidence"] or "—",
            )  # fmt: skip
        console.print(t)
    else:
        console.print(data, highlight=False)


@app.command(
    epilog="Examples: industry-brain tiers pool --json; "
    "industry-brain tiers pool --add 91330502982344741G --target single_champion"
)
def pool(
    add: Annotated[str | None, typer.Option(help="USCC to put into the pool.")] = None,
    remove: Annotated[str | None, typer.Option(help="USCC to take out of the pool.")] = None,
    target: Annotated[str | None, typer.Option(help="Target tier of an added firm.")] = None,
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
    today: TodayOpt = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """冠军企业培育库: list, add or remove a firm."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.tiers import plans, service

    day = day_or_today(today)
    with _errors(), Session(_engine()) as s:
        if add:
            plans.add_to_pool(s, service.enterprise_by_uscc(s, add), actor, day, "champion",
                              target, reason)  # fmt: skip
            s.commit()
        if remove:
            plans.remove_from_pool(s, service.enterprise_by_uscc(s, remove), actor, day)
            s.commit()
        rows = [
            {
                "uscc": ent.uscc,
                "name": ent.name,
                "county_code": ent.county_code,
                "target_tier": e.target_tier,
                "added_on": e.added_on.isoformat(),
                "added_by": e.added_by,
            }
            for e, ent in plans.pool_members(s)
        ]
    if as_json:
        _print_json(rows)
        return
    t = Table(title="冠军企业培育库 champion pool")
    for col in ("USCC", "企业 name", "区县 county", "目标 target", "入库 added"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["uscc"], r["name"], r["county_code"] or "—", r["target_tier"] or "—",
                  r["added_on"])  # fmt: skip
    console.print(t)


@app.command(
    epilog="Example: industry-brain tiers plan 91330502982344741G --today 2026-06-30 --pdf plan.pdf"
)
def plan(
    uscc: Annotated[str, typer.Argument(help="统一社会信用代码 of the enterprise.")],
    today: TodayOpt = None,
    refresh: Annotated[bool, typer.Option(help="Record progress from the facts first.")] = True,
    pdf: Annotated[Path | None, typer.Option(help="Write the 冠军领航计划书 PDF here.")] = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """The firm's 一企一策 plans: targets with progress, actions with owners, warnings."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.tiers import plans, service

    day = day_or_today(today)
    with _errors(), Session(_engine()) as s:
        ent = service.enterprise_by_uscc(s, uscc)
        found = plans.plans_of(s, [ent.id])
        if refresh:
            for p in found:
                plans.record_from_facts(s, p, day, actor)
            s.commit()
        views = [plans.plan_view(s, p, day) for p in found]
        data = [
            {
                "plan_id": v["plan"].id,
                "title": v["plan"].title,
                "status": v["plan"].status,
                "target_tier": v["plan"].target_tier,
                "targets": [
                    {
                        "indicator": t.target.indicator,
                        "target": t.target.target,
                        "due_date": t.target.due_date.isoformat(),
                        "latest": t.latest,
                        "expected": t.expected,
                        "state": t.state,
                    }
                    for t in v["targets"]
                ],
                "actions": [
                    {
                        "title": a["action"].title,
                        "owner": a["action"].owner,
                        "due_date": a["action"].due_date.isoformat(),
                        "state": a["state"],
                    }
                    for a in v["actions"]
                ],
            }
            for v in views
        ]
        if pdf is not None and found:
            from industry_brain.domains.tiers import documents

            pdf.write_bytes(documents.plan_pdf(s, found[-1], day))
    if as_json:
        _print_json(data)
        return
    if not data:
        console.print(f"{ent.name} 尚无一企一策计划 / no plan yet", highlight=False)
    for p in data:
        console.print(f"[bold]{p['title']}[/] ({p['status']})", highlight=False)
        for t in p["targets"]:
            console.print(
                f"  目标 {t['indicator']}: {t['latest']} → {t['target']} by {t['due_date']} "
                f"[{t['state']}]",
                highlight=False,
            )
        for a in p["actions"]:
            console.print(
                f"  举措 {a['title']} — {a['owner']} by {a['due_date']} [{a['state']}]",
                highlight=False,
            )
