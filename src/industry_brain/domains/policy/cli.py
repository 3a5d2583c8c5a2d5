"""``industry-brain policy``: 政策计算器 · 一键减负 · 政策直兑 — policies as rules-as-code."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from industry_brain.cli_support import JsonOpt, console
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
