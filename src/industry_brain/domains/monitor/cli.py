"""``industry-brain monitor``: 工业运行监测 figures of a year, by county (and industry)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from industry_brain.cli_support import JsonOpt, Table, console
from industry_brain.cli_support import errors as _errors
from industry_brain.cli_support import print_json as _print_json

NAME = "monitor"
app = typer.Typer(
    help="工业运行监测 industrial operation: value added and growth, output, revenue, profit, "
    "tax, electricity, industry groups.",
    rich_markup_mode="rich",
)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


@app.callback(
    invoke_without_command=True,
    epilog="Example: industry-brain monitor --year 2025 --county 330502 --json",
)
def monitor(
    year: Annotated[
        int | None, typer.Option(help="Data year 数据年度 (default: the latest in the store).")
    ] = None,
    county: Annotated[str | None, typer.Option(help="Only this county (GB/T 2260 code).")] = None,
    snapshots: Annotated[
        Path | None,
        typer.Option(help="Snapshot folder (default DATA_DIR/snapshots; a current one is reused)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """规上工业增加值 and its nominal growth, output, revenue, profit and tax per county and
    industry; monthly electricity with month and year-to-date growth; industry group shares;
    新产品产值率 when reported."""
    from industry_brain.domains.monitor.service import for_store
    from industry_brain.store.db import get_engine

    with _errors():
        rep = for_store(get_engine(), year, county, root=snapshots)
    if as_json:
        _print_json(rep.to_dict())
        return
    _print(rep)


def _print(rep: Any) -> None:
    from industry_brain.domains.monitor.service import headline

    for line in headline(rep):
        console.print(line, highlight=False)
    t = Table(title=f"{rep.year} 年规上工业（名义增速）/ above-scale industry (nominal growth)")
    cols = ["区县 county", "企业 firms", "增加值 VA", "增速 growth", "产值 output"]
    cols += ["营收 revenue", "利润 profit", "税金 tax", "新产品产值率 new-product rate"]
    cols += [f"{g['zh']} share" for g in rep.groups.values()]
    for col in cols:
        t.add_column(col, justify="left" if col == cols[0] else "right")
    for c in rep.counties:
        t.add_row(
            c["county_name"],
            str(c["enterprises"]),
            _num(c["value_added"]),
            _pct(c["va_growth"]),
            _num(c["output_value"]),
            _num(c["revenue"]),
            _num(c["profit"]),
            _num(c["tax"]),
            _pct(c["new_product_rate"]),
            *[_pct(c[f"share_{k}"]) for k in rep.groups],
        )
    console.print(t)
    e = Table(title=f"{rep.year} 年工业用电（kWh）/ industrial electricity")
    for col in ("区县 county", "月 month", "当月 month", "同比 growth", "累计 YTD", "累计同比 YTD"):
        e.add_column(col, justify="left" if col == "区县 county" else "right")
    for r in rep.electricity:
        e.add_row(
            r["county_name"],
            str(r["month"]),
            _num(r["kwh"]),
            _pct(r["growth"]),
            _num(r["ytd"]),
            _pct(r["ytd_growth"]),
        )
    console.print(e)
