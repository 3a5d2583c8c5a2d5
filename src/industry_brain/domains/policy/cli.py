"""``industry-brain policy``: 政策计算器 · 一键减负 · 政策直兑 — policies as rules-as-code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from industry_brain.cli_support import JsonOpt, Table, console
from industry_brain.cli_support import errors as _errors
from industry_brain.cli_support import print_json as _print_json

NAME = "policy"
app = typer.Typer(
    help="政策计算器 policies as rules-as-code: list, show, test, run over every enterprise, "
    "explain one enterprise, simulate a draft, payouts.",
    rich_markup_mode="rich",
    no_args_is_help=True,
)


def _policies() -> dict[str, Any]:
    from industry_brain.domains.policy import definitions

    return definitions.load()


@app.command("list", epilog="Example: industry-brain policy list --json")
def list_(as_json: JsonOpt = False) -> None:
    """The shipped policies: id, title, target, period, stacking group, quality."""
    with _errors():
        policies = _policies()
    rows = [
        {
            "id": p.id,
            "title_zh": p.spec.title.zh,
            "title_en": p.spec.title.en,
            "target": p.spec.target,
            "kind": p.spec.kind,
            "region": p.spec.region,
            "since": p.spec.period.since.isoformat(),
            "until": p.spec.period.until.isoformat() if p.spec.period.until else None,
            "stacking_group": p.spec.stacking.group if p.spec.stacking else None,
            "quality": p.spec.quality,
        }
        for p in policies.values()
    ]
    if as_json:
        _print_json(rows)
        return
    t = Table(title="政策 / policies")
    for col in ("ID", "政策 title", "对象 target", "生效 since", "叠加组 group", "质量 quality"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r["id"],
            r["title_zh"],
            r["target"],
            r["since"],
            r["stacking_group"] or "—",
            r["quality"],
        )
    console.print(t)


@app.command(epilog="Example: industry-brain policy show zgsz_loan_interest --json")
def show(
    policy_id: Annotated[str, typer.Argument(help="Policy id (see `policy list`).")],
    as_json: JsonOpt = False,
) -> None:
    """One policy: document, conditions, amount formula, parameters with source and quality."""
    from industry_brain.core.errors import IBError

    with _errors():
        policies = _policies()
        if policy_id not in policies:
            raise IBError(
                "policy.unknown", f"没有政策 {policy_id}", f"no policy {policy_id}", value=policy_id
            )
    p = policies[policy_id]
    data = p.spec.model_dump(mode="json")
    data["file"] = p.file
    data["tests_file"] = p.tests_file.name if p.tests_file else None
    data["regional_overrides"] = sorted(p.regional)
    if as_json:
        _print_json(data)
        return
    console.print(f"[bold]{p.spec.title.zh}[/] / {p.spec.title.en}  ({p.id})", highlight=False)
    console.print(f"{p.spec.document.zh}\n{p.spec.document.en}", highlight=False)
    console.print(f"来源 source: {p.spec.source} [{p.spec.quality}]", highlight=False)
    for c in p.spec.conditions:
        console.print(f"  条件 {c.id}: {c.zh} — [cyan]{c.when}[/]", highlight=False)
    console.print(f"  金额 amount: [cyan]{p.spec.amount.formula}[/] 万元", highlight=False)
    for name, spec in p.params.items():
        console.print(
            f"  参数 {name}: {getattr(spec, 'ref', None) or spec.values[-1].value}", highlight=False
        )


@app.command(epilog="Example: industry-brain policy test zgsz_loan_interest")
def test(
    policy_id: Annotated[
        str | None, typer.Argument(help="Policy id (default: every policy).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the OpenFisca-style YAML test cases beside each policy (exit 1 when one fails)."""
    from industry_brain.core.errors import IBError
    from industry_brain.domains.policy import testcases

    with _errors():
        policies = _policies()
        ids = [policy_id] if policy_id else sorted(policies)
        for pid in ids:
            if pid not in policies:
                raise IBError("policy.unknown", f"没有政策 {pid}", f"no policy {pid}", value=pid)
        results = [r for pid in ids for r in testcases.run_policy(policies, pid)]
    failed = [r for r in results if not r.ok]
    if as_json:
        _print_json(
            {
                "passed": len(results) - len(failed),
                "failed": len(failed),
                "cases": [
                    {"policy": r.policy, "name": r.name, "ok": r.ok, "problems": r.problems}
                    for r in results
                ],
            }
        )
    else:
        for r in results:
            mark = "[green]PASS[/]" if r.ok else "[red]FAIL[/]"
            console.print(f"{mark} {r.policy}: {r.name}", highlight=False)
            for problem in r.problems:
                console.print(f"      {problem}", highlight=False)
        console.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


YearOpt = Annotated[
    int | None, typer.Option(help="Data year 数据年度 (default: the latest in the store).")
]
SnapOpt = Annotated[
    Path | None,
    typer.Option(help="Snapshot folder (default DATA_DIR/snapshots; a current one is reused)."),
]


def _wan(x: float | None) -> str:
    return "—" if x is None else f"{x:,.4f}"


@app.command(epilog="Example: industry-brain policy run --year 2025 --engine pyspark --json")
def run(
    year: YearOpt = None,
    engine: Annotated[str, typer.Option(help="duckdb or pyspark.")] = "duckdb",
    snapshots: SnapOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every enterprise × every policy in force, one evaluation; stored as a run with its
    parameter version, input batches and service runs, each result with its trace."""
    from industry_brain.domains.policy import service
    from industry_brain.store.db import get_engine

    with _errors():
        run_id, ev = service.run(get_engine(), year, engine, root=snapshots)
    totals = ev.totals()
    if as_json:
        _print_json(
            {
                "run_id": run_id,
                "year": ev.year,
                "on": ev.on.isoformat(),
                **totals,
                "rationing": ev.rationing,
            }
        )
        return
    console.print(
        f"政策测算批次 {run_id}（数据年度 {ev.year}）：受益企业 {totals['beneficiaries']} 家，"
        f"合计 {_wan(totals['total'])} 万元；无法判断 {totals['unknown']} 项 / run {run_id}: "
        f"{totals['beneficiaries']} beneficiaries, {_wan(totals['total'])} (10k CNY)",
        highlight=False,
    )
    t = Table(title="按政策 by policy")
    for col in ("政策 policy", "企业 firms", "金额 amount (万元)", "预算 budget", "配给 rationed"):
        t.add_column(col)
    for pid, v in totals["by_policy"].items():
        r = ev.rationing.get(pid, {})
        t.add_row(
            pid,
            str(v["enterprises"]),
            _wan(v["amount"]),
            _wan(r.get("budget")),
            r.get("rule", "") if r.get("applied") else "—",
        )
    console.print(t)


@app.command(
    epilog="Example: industry-brain policy explain 91330502MA2B3C4D5E --what-if rd_expense=300"
)
def explain(
    uscc: Annotated[str, typer.Argument(help="The enterprise's USCC.")],
    year: YearOpt = None,
    what_if: Annotated[
        list[str] | None,
        typer.Option("--what-if", help="Change a figure for this answer only: ITEM=VALUE (万元)."),
    ] = None,
    loan: Annotated[
        list[str] | None,
        typer.Option(help="Add a loan for this answer only: AMOUNT,RATE,START,END,PURPOSE."),
    ] = None,
    snapshots: SnapOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """政策计算器 for one enterprise: what it qualifies for and how much, what it almost
    qualifies for (the failing conditions with the gap), what cannot be told yet. Nothing is
    stored."""
    from datetime import date

    from industry_brain.core.errors import IBError
    from industry_brain.domains.policy import service
    from industry_brain.store.db import get_engine

    with _errors():
        changes: dict[str, Any] = {}
        try:
            if what_if:
                changes["facts"] = {k: float(v) for k, v in (w.split("=", 1) for w in what_if)}
            if loan:
                changes["loans"] = []
                for spec in loan:
                    amount, rate, start, end, purpose = spec.split(",")
                    changes["loans"].append(
                        {
                            "amount": float(amount),
                            "rate": float(rate),
                            "start_date": date.fromisoformat(start),
                            "end_date": date.fromisoformat(end),
                            "purpose": purpose,
                        }
                    )
        except ValueError as exc:
            raise IBError(
                "policy.what_if", f"假设条件格式有误：{exc}", f"bad what-if: {exc}"
            ) from exc
        answer = service.explain(get_engine(), uscc, year, snapshots, changes or None)
    if as_json:
        _print_json(answer)
        return
    console.print(
        f"{uscc} · 数据年度 {answer['year']} · 可享受合计 {_wan(answer['total'])} 万元",
        highlight=False,
    )
    for label, key in (
        ("可享受 qualifies", "qualifies"),
        ("差一点 almost", "almost"),
        ("无法判断 cannot tell", "unknown"),
        ("被叠加规则排除 stacked", "stacked"),
    ):
        for r in answer[key]:
            money = _wan(r["paid"] if key == "qualifies" else r["amount"])
            line = f"[{label}] {r['title_zh']} {r['entity']} {money}"
            console.print(line, highlight=False)
            for c in r["trace"]["conditions"]:
                if c["result"] is not True:
                    gap = f"，差 {c['gap']:g}" if c.get("gap") is not None else ""
                    console.print(
                        f"    ✗ {c['zh']}（{c['when']}）{gap} {c['values']}", highlight=False
                    )


@app.command(epilog="Example: industry-brain policy simulate draft.yaml --export sim.xlsx --json")
def simulate(
    file: Annotated[Path, typer.Argument(help="A draft policy YAML file.")],
    year: YearOpt = None,
    export: Annotated[Path | None, typer.Option(help="Write the comparison as XLSX.")] = None,
    snapshots: SnapOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate a draft over the whole base before publishing: beneficiaries, cost against the
    budget, distribution by county, industry and size, gainers and losers against the policy in
    force. Nothing is stored."""
    from industry_brain.domains.policy import simulate as sim
    from industry_brain.store.db import get_engine

    with _errors():
        result = sim.simulate(get_engine(), sim.load_draft(file), year, snapshots)
        if export:
            sim.export(result, export)
    if as_json:
        _print_json({k: v for k, v in result.items() if k != "enterprises"})
        return
    console.print(
        f"草案 {result['policy']}：受益 {result['beneficiaries']} 家"
        f"（现行 {result['baseline_beneficiaries']}），成本 {_wan(result['cost'])} 万元"
        f"（现行 {_wan(result['baseline_cost'])}，预算 {_wan(result['budget'])}），"
        f"增加 {result['gainers']} 家，减少 {result['losers']} 家",
        highlight=False,
    )


ledger_app = typer.Typer(
    help="政策直兑 ledger: review, submit, approve (four eyes), reverse, export."
)
app.add_typer(ledger_app, name="payouts")


@ledger_app.command(
    "list", epilog="Example: industry-brain policy payouts list --period 2026 --json"
)
def payouts_list(
    policy: Annotated[str | None, typer.Option(help="Only this policy.")] = None,
    period: Annotated[int | None, typer.Option(help="Only this payout year.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The payout ledger (payouts and reversals)."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.policy import ledger
    from industry_brain.store.db import get_engine

    with _errors(), Session(get_engine()) as s:
        rows = ledger.payouts(s, policy, period)
    if as_json:
        _print_json(rows)
        return
    t = Table(title="政策直兑台账 / payout ledger (万元)")
    for col in (
        "#",
        "政策 policy",
        "年度 period",
        "USCC",
        "对象 entity",
        "金额 amount",
        "类型 kind",
    ):
        t.add_column(col)
    for r in rows:
        t.add_row(
            str(r["id"]),
            r["policy"],
            str(r["period"]),
            r["uscc"],
            r["entity"] or "—",
            _wan(r["amount"]),
            r["kind"],
        )
    console.print(t)


@ledger_app.command(
    epilog="Example: industry-brain policy payouts review 3 mujun_land_use_tax_relief "
    "91330502MA2B3C4D5E --reason 已迁出"
)
def review(
    run_id: int,
    policy: str,
    uscc: str,
    reason: Annotated[str, typer.Option(help="Why (required).")],
    entity: Annotated[
        str, typer.Option(help="project:ID or loan:ID (empty: the enterprise).")
    ] = "",
    include: Annotated[bool, typer.Option(help="Include again instead of excluding.")] = False,
    actor: Annotated[str, typer.Option(help="The officer.")] = "cli",
) -> None:
    """Exclude one result from a run's payout list (or include it again), with a reason."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.policy import ledger
    from industry_brain.store.db import get_engine

    with _errors(), Session(get_engine()) as s:
        ledger.review(
            s, run_id, policy, uscc, entity, "include" if include else "exclude", reason, actor
        )
    console.print("已记录 recorded")


@ledger_app.command(
    epilog="Example: industry-brain policy payouts submit 3 mujun_land_use_tax_relief "
    "--actor officer_a"
)
def submit(
    run_id: int,
    policy: str,
    actor: Annotated[str, typer.Option(help="The submitting officer.")] = "cli",
) -> None:
    """Submit a run's list of one policy for approval by a second officer."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.policy import ledger
    from industry_brain.store.db import get_engine

    with _errors(), Session(get_engine()) as s:
        a = ledger.submit(s, run_id, policy, actor)
        console.print(f"待审批清单 approval {a.id}: {_wan(a.total)} 万元", highlight=False)


@ledger_app.command(epilog="Example: industry-brain policy payouts approve 1 --actor officer_b")
def approve(
    approval_id: int,
    actor: Annotated[str, typer.Option(help="The approving officer (not the submitter).")] = "cli",
) -> None:
    """Approve a submitted list (four eyes) and write its payouts to the ledger, once."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.policy import ledger
    from industry_brain.store.db import get_engine

    with _errors(), Session(get_engine()) as s:
        r = ledger.approve(s, approval_id, actor)
    console.print(
        f"{r['status']}: 新写入 {r['written']} 笔，已在台账 {r['already']} 笔", highlight=False
    )


@ledger_app.command(
    epilog="Example: industry-brain policy payouts reverse 12 --reason 重复享受 --actor officer_b"
)
def reverse(
    payout_id: int,
    reason: Annotated[str, typer.Option(help="Why (required).")],
    actor: Annotated[str, typer.Option(help="The officer.")] = "cli",
) -> None:
    """Reverse a payout: a new ledger entry with the negative amount and the reason."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.policy import ledger
    from industry_brain.store.db import get_engine

    with _errors(), Session(get_engine()) as s:
        row = ledger.reverse(s, payout_id, reason, actor)
    console.print(f"冲销 reversal {row.id}", highlight=False)


@ledger_app.command(
    epilog="Example: industry-brain policy payouts export finance.xlsx --period 2026"
)
def export(
    path: Path,
    policy: Annotated[str | None, typer.Option(help="Only this policy.")] = None,
    period: Annotated[int | None, typer.Option(help="Only this payout year.")] = None,
    actor: Annotated[str, typer.Option(help="The officer.")] = "cli",
) -> None:
    """The finance bureau's XLSX of the ledger (payouts, reversals, total)."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.policy import ledger
    from industry_brain.store.db import get_engine

    with _errors(), Session(get_engine()) as s:
        out = ledger.export_finance(s, path, policy, period, actor)
    console.print(str(out))
