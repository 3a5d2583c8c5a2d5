"""Command line of the carbon service: ``industry-brain carbon ...`` (``app``) and the signing
keys ``industry-brain keys ...`` (``keys_app``).

Errors print their code with the Chinese and English message and exit with status 2;
``carbon verify`` exits 1 when the code is invalid.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session

from industry_brain.cli_support import JsonOpt, Table, parse_day, refuse_unless_ready
from industry_brain.cli_support import errors as _errors
from industry_brain.cli_support import print_json as _print_json
from industry_brain.core.errors import IBError

NAME = "carbon"
app = typer.Typer(
    help="工业碳效码 Industrial carbon-efficiency code: accounting, grades, codes, bank access.",
    no_args_is_help=True,
)
consent_app = typer.Typer(help="企业授权银行 Enterprise consent for banks.", no_args_is_help=True)
token_app = typer.Typer(help="银行 API 令牌 Bank API tokens.", no_args_is_help=True)
loans_app = typer.Typer(help="碳效贷登记与统计 Green-loan register.", no_args_is_help=True)
adjust_app = typer.Typer(
    help="零碳电力与碳汇录入 Zero-carbon electricity and sinks.", no_args_is_help=True
)
app.add_typer(consent_app, name="consent")
app.add_typer(token_app, name="token")
app.add_typer(loans_app, name="loans")
app.add_typer(adjust_app, name="adjust")
keys_app = typer.Typer(help="碳效码签名密钥 Ed25519 signing keys.", no_args_is_help=True)
EXTRA_APPS = {"keys": keys_app}  # registered by industry_brain.cli as `industry-brain keys`

console = Console()
err = Console(stderr=True)
YearOpt = Annotated[int | None, typer.Option(help="Evaluation year (default: latest).")]


@contextmanager
def _session() -> Iterator[Session]:
    from industry_brain.store.db import get_engine

    with _errors(), Session(get_engine()) as session:
        yield session
        session.commit()


def _uscc(raw: str) -> str:
    from industry_brain.core import uscc as uscc_mod

    with _errors():
        return uscc_mod.normalize(raw)


def _num(x: Any, digits: int = 4) -> str:
    from industry_brain.domains.carbon.explain import num

    return num(x, digits) if isinstance(x, int | float) else ("-" if x is None else str(x))


# -- accounting -------------------------------------------------------------------------------
@app.command("run", epilog="Example: industry-brain carbon run --year 2025 --engine duckdb")
def run_cmd(
    year: YearOpt = None,
    engine: Annotated[str, typer.Option(help="duckdb | pyspark")] = "duckdb",
    snapshot: Annotated[
        Path | None, typer.Option(help="Existing warehouse snapshot folder (default: new).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Account CO2 and grade every enterprise of the year (规上 and 规下); store a new run."""
    from industry_brain.domains.carbon.service import run_accounting
    from industry_brain.store.db import get_engine

    with _errors():
        summary = run_accounting(get_engine(), year, engine, snapshot, actor="cli")
    if as_json:
        _print_json(summary)
        return
    c = summary["counts"]
    console.print(
        f"核算批次 run [bold]{summary['run_id']}[/]  {summary['year']} 年  引擎 {summary['engine']}"
        f"  参数版本 {summary['parameter_version']}  {summary['seconds']} s"
    )
    console.print(
        f"企业 enterprises {c['enterprises']}  已评级 graded {c['graded']}  {c['status']}"
    )
    t = Table(title="碳效等级分布 / grade distribution")
    t.add_column("method")
    for g in range(1, 6):
        t.add_column(f"{g}级", justify="right")
    for method, grades in c["grades"].items():
        t.add_row(method, *[str(grades.get(str(g), 0)) for g in range(1, 6)])
    console.print(t)


@app.command("list", epilog="Example: industry-brain carbon list --year 2025 --grade 5 --json")
def list_cmd(
    year: YearOpt = None,
    county: Annotated[str | None, typer.Option(help="County GB/T 2260 code.")] = None,
    grade: Annotated[int | None, typer.Option(help="Only this grade (1-5).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Current results of a year: grade, level, L, K, CO2 and carbon-neutral rate."""
    from sqlalchemy import select

    from industry_brain.domains.carbon.models import CarbonResult
    from industry_brain.domains.carbon.service import latest_data_year, latest_run
    from industry_brain.store.models import Enterprise

    with _session() as session:
        y = year or latest_data_year(session)
        run = latest_run(session, y)
        stmt = (
            select(CarbonResult, Enterprise.uscc, Enterprise.name)
            .join(Enterprise, Enterprise.id == CarbonResult.enterprise_id)
            .where(CarbonResult.run_id == (run.id if run else -1))
            .order_by(CarbonResult.grade.desc(), Enterprise.uscc)
            .limit(limit)
        )
        if county:
            stmt = stmt.where(CarbonResult.county_code == county)
        if grade:
            stmt = stmt.where(CarbonResult.grade == grade)
        rows = [
            {
                "uscc": u,
                "name": n,
                "year": r.year,
                "method": r.method,
                "status": r.status,
                "label": r.label,
                "grade": r.grade,
                "intensity": r.intensity,
                "k_value": r.k_value,
                "co2_net": r.co2_net,
                "neutral_rate": r.neutral_rate,
            }
            for r, u, n in session.execute(stmt).all()
        ]
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"{y} 碳效结果 / results (run {run.id if run else '-'})")
    for col in ("uscc", "name", "method", "label", "L", "K", "CO2 t", "碳中和率", "status"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r["uscc"],
            r["name"],
            r["method"],
            r["label"] or "",
            _num(r["intensity"]),
            _num(r["k_value"]),
            _num(r["co2_net"], 1),
            _num(r["neutral_rate"]),
            r["status"],
        )
    console.print(t)


@app.command(
    "explain", epilog="Example: industry-brain carbon explain 91330502MA2B3C4D1U --year 2025"
)
def explain_cmd(
    uscc: Annotated[str, typer.Argument(help="Unified social credit code 统一社会信用代码.")],
    year: YearOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Explain a result: inputs with lineage, factors with source and quality, arithmetic."""
    from industry_brain.domains.carbon.explain import explain

    with _session() as session:
        data = explain(session, _uscc(uscc), year, actor="cli")
    if as_json:
        _print_json(data)
        return
    r = data["result"]
    console.print(f"[bold]{data['name']}[/] {data['uscc']}  {data['year']}  {r['label'] or ''}")
    console.print(f"{data['method_text']['zh']}\n{data['method_text']['en']}")
    run = data["run"]
    console.print(
        f"核算批次 run {run['id']} ({run['engine']}, {run['created_at']})  参数版本 "
        f"parameters {run['parameter_version']}  快照批次 batches {len(run['batch_ids'])}"
    )
    if data["parameters_changed"]:
        console.print(
            f"[yellow]参数文件已变更（现为 {data['parameter_version_now']}）：重新运行 "
            "industry-brain carbon run 以更新 / parameters changed since the run[/]"
        )
    for zh, en in zip(data["text"]["zh"], data["text"]["en"], strict=True):
        console.print(f"• {zh}", highlight=False)
        console.print(f"  [dim]{escape(en)}[/]", highlight=False)
    if data["defaults"]:
        console.print(
            "[yellow]软件缺省值（非公开标准）/ software defaults, not published standards:[/] "
            + "、".join(data["defaults"])
        )
    t = Table(title="参数 / parameters used")
    for col in ("key", "value", "unit", "region", "since", "quality", "source"):
        t.add_column(col, overflow="fold")
    for p in data["parameters"]:
        value = p["value"] if isinstance(p["value"], str) else json.dumps(p["value"])
        t.add_row(
            p["key"],
            value[:60],
            p.get("unit") or "",
            p.get("region") or "",
            p.get("since") or "",
            p.get("quality") or "",
            (p.get("source") or "")[:60],
        )
    console.print(t)
    lt = Table(title="数据来源 / lineage (current store)")
    for col in ("item", "value", "unit", "dept", "file / sheet / row"):
        lt.add_column(col, overflow="fold")
    for ln in data["lineage"]:
        where = "; ".join(
            f"{f['file']} {f['sheet'] or ''} {f['row'] or ''}" for f in ln["facts"][:6]
        )
        more = f" (+{ln['facts_total'] - 6})" if ln["facts_total"] > 6 else ""
        lt.add_row(
            ln["item"], _num(ln["value"]), ln["unit"] or "", ln["source_dept"] or "", where + more
        )
    console.print(lt)
    if data["improvement"]:
        imp = data["improvement"]
        console.print("[bold]改进建议 / improvement[/]")
        console.print(
            "能源结构 structure: "
            + "  ".join(f"{s['zh']} {_num((s['share'] or 0) * 100, 1)}%" for s in imp["structure"])
        )
        console.print(
            f"与行业平均差距 gap to average {_num(imp['gap_to_average'])} t/万元, 与最优四分位差距 "
            f"gap to best quartile {_num(imp['gap_to_q25'])}; 达到行业平均可减排 "
            f"{_num(imp['reduction_to_average'], 1)} tCO2, 达到最优四分位可减排 "
            f"{_num(imp['reduction_to_q25'], 1)} tCO2"
        )


@app.command("improve", epilog="Example: industry-brain carbon improve --year 2025 --limit 20")
def improve_cmd(
    year: YearOpt = None,
    county: Annotated[str | None, typer.Option(help="County GB/T 2260 code.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many rows.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Improvement list for grades 4–5: energy structure, gaps, CO2 reduction potential."""
    from industry_brain.domains.carbon.improve import CARRIER_ZH, CARRIERS, improvement_list

    with _session() as session:
        data = improvement_list(session, year, county, limit)
    if as_json:
        _print_json(data)
        return
    t = Table(title=f"{data['year']} 改进清单 / improvement list (run {data['run_id']})")
    for col in ("uscc", "name", "label", "L", "行业平均", "最优四分位", "减排至平均 t", "结构"):
        t.add_column(col, overflow="fold")
    for r in data["rows"]:
        shares = " ".join(
            f"{CARRIER_ZH[c]}{_num((r[f'share_{c}'] or 0) * 100, 0)}%"
            for c in CARRIERS
            if r[f"share_{c}"]
        )
        t.add_row(
            r["uscc"],
            r["name"],
            r["label"],
            _num(r["intensity"]),
            _num(r["industry_intensity"]),
            _num(r["industry_q25"]),
            _num(r["reduction_to_average"], 1),
            shares,
        )
    console.print(t)


# -- codes ------------------------------------------------------------------------------------
@app.command(
    "code",
    epilog="Example: industry-brain carbon code 91330502MA2B3C4D1U --svg code.svg --png code.png",
)
def code_cmd(
    uscc: Annotated[str, typer.Argument(help="Unified social credit code.")],
    year: YearOpt = None,
    payload: Annotated[
        bool, typer.Option("--payload", help="Print the payload text (last line).")
    ] = False,
    svg: Annotated[Path | None, typer.Option(help="Write the QR code as SVG.")] = None,
    png: Annotated[Path | None, typer.Option(help="Write the QR code as PNG.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue the signed dual code (企业码 + 碳效码) as payload, SVG or PNG QR code."""
    from industry_brain.domains.carbon.codes import issue_code, save_png, save_svg

    with _session() as session:
        code = issue_code(session, _uscc(uscc), year, actor="cli")
    with _errors():
        if svg:
            save_svg(code, svg)
        if png:
            save_png(code, png)
    if as_json:
        _print_json(
            code.to_dict() | {"svg": str(svg) if svg else None, "png": str(png) if png else None}
        )
        return
    console.print(
        f"[bold]{code.name}[/] {code.uscc}  {code.year}  {code.label}  颜色 {code.colour}  "
        f"签发 issued {code.issued}  有效至 expires {code.expires}  key {code.kid}",
        highlight=False,
    )
    for path in (svg, png):
        if path:
            console.print(f"二维码 QR: {path}")
    if payload or not (svg or png):
        sys.stdout.write(code.payload + "\n")


@app.command(
    "verify",
    epilog="Example: industry-brain carbon verify 'IBC1;uscc=...;sig=...' --json",
)
def verify_cmd(
    payload: Annotated[str, typer.Argument(help="The payload text read from the QR code.")],
    on: Annotated[
        str | None, typer.Option(help="Check validity on this date (YYYY-MM-DD).")
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option(help="Public key PEM (default: the keys folder).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify a code offline: signature (Ed25519 public key) and dates. Exit 0 valid, 1 not."""
    from industry_brain.domains.carbon.codes import key_id, load_public_key, verify_payload

    with _errors():
        today = parse_day(on, "--on") if on else None
    try:
        keys = None
        if public_key:
            key = load_public_key(public_key)
            keys = {key_id(key): key}
        data = verify_payload(payload, keys, today).to_dict()
    except ValueError as exc:
        err.print(f"[bold red]错误 error[/] --public-key: {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except IBError as exc:
        if as_json:
            _print_json({"valid": False, "code": exc.code, "zh": exc.zh, "en": exc.en})
        err.print(f"[bold red]无效 invalid[/] {escape(exc.problem.message())}", highlight=False)
        raise typer.Exit(1) from exc
    if as_json:
        _print_json(data)
        return
    console.print(
        f"[bold green]有效 valid[/] {data['uscc']} {data['year']} {data['scale_zh']} "
        f"{data['level_zh']}{data['grade']}级  签发 {data['issued']}  有效至 {data['expires']}  "
        f"key {data['kid']}",
        highlight=False,
    )


@app.command("products", epilog="Example: industry-brain carbon products 91330502MA2B3C4D1U")
def products_cmd(
    uscc: Annotated[
        str | None, typer.Argument(help="Enterprise (omit to list every product).")
    ] = None,
    year: YearOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """碳效贷 products: all of them, or those the enterprise's grade qualifies for."""
    from industry_brain.domains.carbon.products import all_products, qualifying

    if uscc is None:
        with _errors():
            data: Any = all_products(None, date(year, 1, 1) if year else None)
        if as_json:
            _print_json(data)
            return
        t = Table(title="碳效贷产品 / green-loan products [DEFAULT demo terms]")
        for col in ("bank", "code", "name", "grade: discount bp / limit 万元"):
            t.add_column(col, overflow="fold")
        for p in data:
            rules = "  ".join(
                f"{g}级 {r['rate_discount_bp']}bp/{r['limit_wan']}" for g, r in p["rules"].items()
            )
            t.add_row(p["bank"], p["code"], p["zh"], rules)
        console.print(t)
        return
    with _session() as session:
        data = qualifying(session, _uscc(uscc), year)
    if as_json:
        _print_json(data)
        return
    console.print(f"[bold]{data['name']}[/] {data['uscc']} {data['year']} {data['label']}")
    t = Table(title="可申请的碳效贷 / qualifying products")
    for col in ("bank", "code", "name", "rate discount bp", "limit 万元"):
        t.add_column(col)
    for p in data["products"]:
        t.add_row(p["bank"], p["code"], p["zh"], str(p["rate_discount_bp"]), str(p["limit_wan"]))
    console.print(t)
    if not data["products"]:
        console.print("当前等级没有可申请的碳效贷产品 / no product for this grade")


@app.command("serve", epilog="Example: industry-brain carbon serve --port 8606")
def serve_cmd(
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8606,
) -> None:
    """Serve the carbon JSON API (bank endpoints and public verify) standalone with uvicorn."""
    import uvicorn

    from industry_brain.domains.carbon.api import build_app

    refuse_unless_ready()
    uvicorn.run(build_app(), host=host, port=port, log_level="info")


# -- adjustments ------------------------------------------------------------------------------
@adjust_app.command(
    "set",
    epilog="Example: industry-brain carbon adjust set 91330502MA2B3C4D1U --year 2025 "
    "--kind onsite_pv --value 500000 --source 光伏电表",
)
def adjust_set(
    uscc: Annotated[str, typer.Argument(help="Unified social credit code.")],
    year: Annotated[int, typer.Option(help="Data year.")],
    kind: Annotated[str, typer.Option(help="green_power | onsite_pv (kWh) | sink (tCO2)")],
    value: Annotated[float, typer.Option(help="kWh for electricity, tCO2 for sinks.")],
    source: Annotated[str, typer.Option(help="Where the figure comes from.")],
    as_json: JsonOpt = False,
) -> None:
    """Enter zero-carbon electricity or a carbon sink (used by the next `carbon run`)."""
    from industry_brain.domains.carbon.service import set_adjustment

    with _session() as session:
        row = set_adjustment(session, _uscc(uscc), year, kind, value, source, actor="cli")
        data = {"uscc": uscc, "year": year, "kind": kind, "value": row.value, "unit": row.unit}
    if as_json:
        _print_json(data)
    else:
        console.print(f"已录入 saved {kind} {value} {data['unit']} for {uscc} {year}")


@adjust_app.command("list", epilog="Example: industry-brain carbon adjust list --year 2025")
def adjust_list(year: YearOpt = None, as_json: JsonOpt = False) -> None:
    """Entered zero-carbon electricity and sinks."""
    from industry_brain.domains.carbon.service import list_adjustments

    with _session() as session:
        rows = list_adjustments(session, year)
    if as_json:
        _print_json(rows)
        return
    t = Table()
    for col in ("uscc", "name", "year", "kind", "value", "unit", "source"):
        t.add_column(col)
    for r in rows:
        t.add_row(*[str(r[c]) for c in ("uscc", "name", "year", "kind", "value", "unit", "source")])
    console.print(t)


# -- consent ----------------------------------------------------------------------------------
@consent_app.command(
    "grant",
    epilog="Example: industry-brain carbon consent grant 91330502MA2B3C4D1U --bank bank_huzhou "
    "--scope grade --scope history --expires 2026-12-31",
)
def consent_grant(
    uscc: Annotated[str, typer.Argument(help="The enterprise granting access.")],
    bank: Annotated[str, typer.Option(help="Bank username (role bank), e.g. bank_huzhou.")],
    expires: Annotated[str, typer.Option(help="Last day of access (YYYY-MM-DD).")],
    scope: Annotated[list[str], typer.Option(help="grade | history (repeatable).")] = [  # noqa: B006
        "grade"
    ],
    by: Annotated[
        str | None, typer.Option(help="Enterprise user granting (default: its own user).")
    ] = None,
    purpose: Annotated[str, typer.Option(help="Purpose, e.g. 碳效贷申请.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """An enterprise grants a named bank access to its grade (scopes, expiry)."""
    from industry_brain.domains.carbon.access import grant

    with _errors():
        until = parse_day(expires, "--expires")
    with _session() as session:
        c = grant(session, _uscc(uscc), bank, scope, until, by, purpose)
        data = {"id": c.id, "uscc": uscc, "bank": bank, "scopes": c.scopes, "expires_on": expires}
    if as_json:
        _print_json(data)
    else:
        console.print(
            f"已授权 granted consent {data['id']}: {uscc} → {bank} {c.scopes} 至 {expires}"
        )


@consent_app.command("revoke", epilog="Example: industry-brain carbon consent revoke 3")
def consent_revoke(
    consent_id: Annotated[int, typer.Argument(help="Consent id.")],
    by: Annotated[str | None, typer.Option(help="Enterprise user or admin revoking.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a consent: the bank loses access immediately."""
    from industry_brain.domains.carbon.access import revoke

    with _session() as session:
        c = revoke(session, consent_id, by)
        data = {"id": c.id, "revoked_at": c.revoked_at}
    if as_json:
        _print_json(data)
    else:
        console.print(f"已撤销 revoked consent {consent_id}")


@consent_app.command("list", epilog="Example: industry-brain carbon consent list --bank bank_icbc")
def consent_list(
    uscc: Annotated[str | None, typer.Option(help="Only this enterprise.")] = None,
    bank: Annotated[str | None, typer.Option(help="Only this bank username.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Consents with their state (active, revoked, expired)."""
    from industry_brain.domains.carbon.access import list_consents

    with _session() as session:
        rows = list_consents(session, uscc, bank)
    if as_json:
        _print_json(rows)
        return
    t = Table()
    for col in ("id", "uscc", "name", "bank", "scopes", "granted_on", "expires_on", "state"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            str(r["id"]),
            r["uscc"],
            r["name"],
            r["bank"],
            ",".join(r["scopes"]),
            r["granted_on"],
            r["expires_on"],
            r["state"],
        )
    console.print(t)


# -- tokens -----------------------------------------------------------------------------------
@token_app.command(
    "create", epilog="Example: industry-brain carbon token create bank_huzhou --days 365"
)
def token_create(
    bank: Annotated[str, typer.Argument(help="Bank username (role bank).")],
    name: Annotated[str, typer.Option(help="Label, e.g. the bank's system.")] = "",
    days: Annotated[int | None, typer.Option(help="Valid for N days (default: no expiry).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API token for a bank; it is shown once (only its hash is stored)."""
    from industry_brain.domains.carbon.access import create_token

    with _session() as session:
        token, row = create_token(session, bank, name, days, actor="cli")
        data = {"id": row.id, "bank": bank, "token": token, "expires_on": row.expires_on}
    if as_json:
        _print_json(data)
        return
    console.print(f"令牌 token {data['id']} for {bank}（只显示这一次 / shown once）:")
    sys.stdout.write(token + "\n")


@token_app.command("list", epilog="Example: industry-brain carbon token list")
def token_list(as_json: JsonOpt = False) -> None:
    """API tokens (prefix only), their bank, expiry and last use."""
    from industry_brain.domains.carbon.access import list_tokens

    with _session() as session:
        rows = list_tokens(session)
    if as_json:
        _print_json(rows)
        return
    t = Table()
    for col in ("id", "bank", "name", "prefix", "expires_on", "revoked", "last_used_at"):
        t.add_column(col)
    for r in rows:
        t.add_row(*[str(r[c] if r[c] is not None else "") for c in r])
    console.print(t)


@token_app.command("revoke", epilog="Example: industry-brain carbon token revoke 2")
def token_revoke(token_id: Annotated[int, typer.Argument(help="Token id.")]) -> None:
    """Revoke an API token."""
    from industry_brain.domains.carbon.access import revoke_token

    with _session() as session:
        revoke_token(session, token_id, actor="cli")
    console.print(f"已撤销 revoked token {token_id}")


# -- loans ------------------------------------------------------------------------------------
@loans_app.command(
    "add",
    epilog="Example: industry-brain carbon loans add 91330502MA2B3C4D1U --bank bank_huzhou "
    "--reference HZ-2026-001 --amount 500 --rate 3.45 --granted 2026-03-01 --grade 2",
)
def loans_add(
    uscc: Annotated[str, typer.Argument(help="Borrowing enterprise.")],
    bank: Annotated[str, typer.Option(help="Bank username reporting the loan.")],
    reference: Annotated[str, typer.Option(help="The bank's loan number.")],
    amount: Annotated[float, typer.Option(help="Amount in 万元.")],
    rate: Annotated[float, typer.Option(help="Annual rate in %.")],
    granted: Annotated[str, typer.Option(help="Date granted (YYYY-MM-DD).")],
    grade: Annotated[int | None, typer.Option(help="Grade the bank relied on.")] = None,
    grade_year: Annotated[int | None, typer.Option(help="Year of that grade.")] = None,
    product: Annotated[str | None, typer.Option(help="Product code.")] = None,
    term: Annotated[int | None, typer.Option(help="Term in months.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a loan on behalf of a bank (the bank API does the same); needs consent."""
    from industry_brain.domains.carbon.access import get_user
    from industry_brain.domains.carbon.loans import loan_dict, report_loan

    with _errors():
        granted_on = parse_day(granted, "--granted")
    with _session() as session:
        user = get_user(session, bank, "bank")
        loan = report_loan(
            session,
            user,
            _uscc(uscc),
            reference,
            amount,
            rate,
            granted_on,
            grade,
            grade_year,
            product,
            term,
        )
        data = loan_dict(loan, _uscc(uscc), "", bank)
    if as_json:
        _print_json(data)
    else:
        console.print(f"已登记 registered loan {data['id']} grade {data['grade']}")


@loans_app.command("list", epilog="Example: industry-brain carbon loans list --bank bank_rcb")
def loans_list(
    bank: Annotated[str | None, typer.Option(help="Only this bank username.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Registered 碳效贷 loans."""
    from industry_brain.domains.carbon.loans import list_loans

    with _session() as session:
        rows = list_loans(session, bank)
    if as_json:
        _print_json(rows)
        return
    t = Table()
    cols = ("id", "bank", "uscc", "name", "reference", "amount_wan", "rate_pct", "grade")
    for col in cols:
        t.add_column(col)
    for r in rows:
        t.add_row(*[str(r[c]) for c in cols])
    console.print(t)


@loans_app.command("stats", epilog="Example: industry-brain carbon loans stats --by county")
def loans_stats(
    by: Annotated[str, typer.Option(help="grade | bank | county")] = "grade",
    as_json: JsonOpt = False,
) -> None:
    """Loans and amounts by grade, bank or county (amount-weighted mean rate)."""
    from industry_brain.domains.carbon.loans import loan_stats

    with _session() as session:
        data = loan_stats(session, by)
    if as_json:
        _print_json(data)
        return
    t = Table(title=f"碳效贷统计 / loans by {by}")
    for col in (by, "name", "loans", "amount 万元", "mean rate %"):
        t.add_column(col)
    for r in data["rows"]:
        t.add_row(
            str(r[by]),
            r["name"] or "",
            str(r["loans"]),
            _num(r["amount_wan"], 2),
            _num(r["mean_rate_pct"]),
        )
    tot = data["total"]
    t.add_row("合计 total", "", str(tot["loans"]), _num(tot["amount_wan"], 2), "")
    console.print(t)


# -- keys -------------------------------------------------------------------------------------
@keys_app.command("generate", epilog="Example: industry-brain keys generate --json")
def keys_generate(as_json: JsonOpt = False) -> None:
    """Generate a new Ed25519 signing key pair under $IB_DATA_DIR/keys; it becomes active."""
    from industry_brain.domains.carbon.codes import generate_key

    with _errors():
        info = generate_key()
    if as_json:
        _print_json(info.to_dict())
        return
    console.print(f"新密钥 new key [bold]{info.kid}[/]  私钥 private {info.private_path} (0600)")
    console.print(f"公钥 public {info.public_path}")


@keys_app.command("list", epilog="Example: industry-brain keys list --json")
def keys_list(as_json: JsonOpt = False) -> None:
    """Signing keys (the active one signs; older public keys still verify their codes)."""
    from industry_brain.domains.carbon.codes import list_keys

    with _errors():
        rows = [k.to_dict() for k in list_keys()]
    if as_json:
        _print_json(rows)
        return
    t = Table()
    for col in ("kid", "active", "created_at", "public_key"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["kid"], "✓" if r["active"] else "", r["created_at"], r["public_key"])
    console.print(t)


@keys_app.command("public", epilog="Example: industry-brain keys public > carbon-code.pub.pem")
def keys_public(
    kid: Annotated[str | None, typer.Argument(help="Key id (default: the active key).")] = None,
) -> None:
    """Print a public key (PEM) to hand to verifiers (banks, the public)."""
    from industry_brain.domains.carbon.codes import public_pem

    with _errors():
        sys.stdout.write(public_pem(kid))
