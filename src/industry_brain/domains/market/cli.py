"""``industry-brain solutions|providers|match``: the 智改数转 service market on the command line
(catalog, review, registry, matching)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from industry_brain.cli_support import JsonOpt, Table, console, parse_day
from industry_brain.cli_support import errors as _errors
from industry_brain.cli_support import print_json as _print_json

solutions_app = typer.Typer(
    help="智改数转 solutions catalog: list and search (jieba tokens), show versions, import the "
    "bureau's XLSX collection, review.",
    rich_markup_mode="rich",
    no_args_is_help=True,
)
providers_app = typer.Typer(
    help="智改数转 service providers: registry (USCC checked), recognitions, provider users.",
    rich_markup_mode="rich",
    no_args_is_help=True,
)
match_app = typer.Typer(
    help="供需对接: an enterprise's ranked, explained solutions and providers.",
    rich_markup_mode="rich",
)
matches_app = typer.Typer(
    help="Batch matching runs: rank the catalog for every enterprise and publish the first ranks "
    "(result_market_matches, read by the diagnosis report).",
    rich_markup_mode="rich",
    no_args_is_help=True,
)

UserOpt = Annotated[
    str, typer.Option("--user", help="Username acting (its role applies; audited).")
]


def _scope(session: Any, username: str) -> Any:
    from sqlalchemy import select

    from industry_brain.core.errors import NotFoundError
    from industry_brain.store.models import User
    from industry_brain.store.scope import scope_for

    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFoundError(
            "market.user", f"没有用户 {username}", f"no user {username}", value=username
        )
    return scope_for(user)


def _session() -> Any:
    from sqlalchemy.orm import Session

    from industry_brain.store.db import get_engine

    return Session(get_engine())


def _version_dict(v: Any) -> dict[str, Any]:
    return {
        "version": v.version,
        "title": v.title,
        "summary": v.summary,
        "subdomains": list(v.subdomains),
        "industries": list(v.industries),
        "sizes": list(v.sizes),
        "price_min": v.price_min,
        "price_max": v.price_max,
        "delivery_days": v.delivery_days,
        "cases": list(v.cases),
        "review_status": v.review_status,
        "reviewed_by": v.reviewed_by,
        "review_note": v.review_note,
        "source": v.source,
    }


# -- solutions ---------------------------------------------------------------------------------
@solutions_app.command(
    "list", epilog="Example: industry-brain solutions list --query 计划调度 --json"
)
def list_solutions(
    query: Annotated[str, typer.Option("--query", "-q", help="Chinese full-text query.")] = "",
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Published solutions: the search hits (best first) or all by code."""
    from industry_brain.domains.market import service

    with _errors(), _session() as s:
        rows = [
            {
                "code": x["solution"].code,
                "version": x["version"].version,
                "title": x["version"].title,
                "provider": x["provider"].name,
                "subdomains": list(x["version"].subdomains),
                "price_min": x["version"].price_min,
                "price_max": x["version"].price_max,
                "relevance": x["relevance"],
            }
            for x in service.catalog(s, query, limit)
        ]
    if as_json:
        _print_json(rows)
        return
    t = Table(title="方案 / solutions")
    for col in (
        "编号 code",
        "名称 title",
        "服务商 provider",
        "价格 price (万元)",
        "相关度 relevance",
    ):
        t.add_column(col)
    for r in rows:
        rel = "" if r["relevance"] is None else f"{r['relevance']:.3f}"
        t.add_row(
            r["code"], r["title"], r["provider"], f"{r['price_min']:g}–{r['price_max']:g}", rel
        )
    console.print(t)


@solutions_app.command(
    "show", epilog="Example: industry-brain solutions show S00001 --version 1 --json"
)
def show_solution(
    code: Annotated[str, typer.Argument(help="The solution's code.")],
    version: Annotated[int | None, typer.Option(help="A version (default: every one).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A solution with its versions (every version stays readable)."""
    from sqlalchemy import select

    from industry_brain.core.errors import NotFoundError
    from industry_brain.domains.market.models import (
        MarketProvider,
        MarketSolution,
        MarketSolutionVersion,
    )

    with _errors(), _session() as s:
        sol = s.scalar(select(MarketSolution).where(MarketSolution.code == code))
        if sol is None:
            raise NotFoundError(
                "market.not_found", f"未找到方案：{code}", f"not found: {code}", value=code
            )
        q = select(MarketSolutionVersion).where(MarketSolutionVersion.solution_id == sol.id)
        if version is not None:
            q = q.where(MarketSolutionVersion.version == version)
        versions = [_version_dict(v) for v in s.scalars(q.order_by(MarketSolutionVersion.version))]
        out = {
            "code": sol.code,
            "provider": s.get(MarketProvider, sol.provider_id).name,
            "status": sol.status,
            "published_version": sol.published_version,
            "latest_version": sol.latest_version,
            "versions": versions,
        }
    if as_json:
        _print_json(out)
        return
    console.print(
        f"{out['code']} · {out['provider']} · 状态 status {out['status']} · "
        f"发布 published v{out['published_version']}",
        highlight=False,
    )
    for v in versions:
        console.print(
            f"  v{v['version']} [{v['review_status']}] {v['title']} · {v['price_min']:g}–"
            f"{v['price_max']:g} 万元 · {v['delivery_days']} 天 days",
            highlight=False,
        )


@solutions_app.command(
    "import", epilog="Example: industry-brain solutions import 方案征集表.xlsx --user admin --json"
)
def import_solutions(
    file: Annotated[Path, typer.Argument(help="The collection (XLSX or CSV).")],
    user: UserOpt = "admin",
    as_json: JsonOpt = False,
) -> None:
    """Import the bureau's solution collection: every row checked first; any problem (named by
    file, sheet, row and column) aborts the import with nothing written. Imported versions
    await review."""
    from industry_brain.cli_support import err
    from industry_brain.domains.market import importer

    with _errors(), _session() as s:
        try:
            out = importer.import_solutions(s, _scope(s, user), file)
        except importer.ImportRejected as exc:
            for p in exc.problems:
                where = p["location"].describe("zh")
                err.print(f"  {where}: {p['zh']} / {p['en']}", highlight=False, soft_wrap=True)
            raise
        s.commit()
    if as_json:
        _print_json(out)
        return
    console.print(
        f"新增方案 {out['created']} 个，新版本 {out['versions']} 个（待审核）/ "
        f"{out['created']} solutions added, {out['versions']} new versions (awaiting review)",
        highlight=False,
    )


@solutions_app.command("queue", epilog="Example: industry-brain solutions queue --json")
def review_queue(as_json: JsonOpt = False) -> None:
    """Versions awaiting an officer's review, oldest first."""
    from industry_brain.domains.market import service

    with _errors(), _session() as s:
        rows = [
            {
                "code": x["solution"].code,
                "version": x["version"].version,
                "title": x["version"].title,
                "provider": x["provider"].name,
                "source": x["version"].source,
            }
            for x in service.queue(s)
        ]
    if as_json:
        _print_json(rows)
        return
    t = Table(title="待审核 / awaiting review")
    for col in ("编号 code", "版本 version", "名称 title", "服务商 provider", "来源 source"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["code"], str(r["version"]), r["title"], r["provider"], r["source"])
    console.print(t)


@solutions_app.command(
    "review",
    epilog="Example: industry-brain solutions review S00001 2 --decision approve --user admin",
)
def review_solution(
    code: Annotated[str, typer.Argument(help="The solution's code.")],
    version: Annotated[int, typer.Argument(help="The version reviewed.")],
    decision: Annotated[str, typer.Option(help="approve or reject.")],
    note: Annotated[str, typer.Option(help="Required to reject.")] = "",
    user: UserOpt = "admin",
    as_json: JsonOpt = False,
) -> None:
    """Approve (publish, index for search) or reject a version."""
    from sqlalchemy import select

    from industry_brain.core.errors import NotFoundError
    from industry_brain.domains.market import service
    from industry_brain.domains.market.models import MarketSolution

    with _errors(), _session() as s:
        sol = s.scalar(select(MarketSolution).where(MarketSolution.code == code))
        if sol is None:
            raise NotFoundError(
                "market.not_found", f"未找到方案：{code}", f"not found: {code}", value=code
            )
        v = service.review(s, _scope(s, user), sol.id, version, decision, note)
        s.commit()
        out = {"code": code, "version": v.version, "review_status": v.review_status}
    if as_json:
        _print_json(out)
        return
    console.print(f"{code} v{version}: {out['review_status']}", highlight=False)


# -- providers ---------------------------------------------------------------------------------
@providers_app.command("list", epilog="Example: industry-brain providers list --json")
def list_providers(as_json: JsonOpt = False) -> None:
    """The registry: USCC, name, type, staff, published solutions, mean rating."""
    from industry_brain.domains.market import service

    with _errors(), _session() as s:
        rows = [
            {
                "uscc": x["provider"].uscc,
                "name": x["provider"].name,
                "kind": x["provider"].kind,
                "regions": list(x["provider"].regions),
                "staff": x["provider"].staff,
                "solutions": x["solutions"],
                "rating": x["rating"][0] if x["rating"] else None,
                "ratings": x["rating"][1] if x["rating"] else 0,
            }
            for x in service.providers(s)
        ]
    if as_json:
        _print_json(rows)
        return
    t = Table(title="服务商 / providers")
    for col in ("USCC", "名称 name", "类型 type", "人员 staff", "方案 solutions", "评分 rating"):
        t.add_column(col)
    for r in rows:
        rating = "—" if r["rating"] is None else f"{r['rating']:.1f} ({r['ratings']})"
        t.add_row(r["uscc"], r["name"], r["kind"], str(r["staff"]), str(r["solutions"]), rating)
    console.print(t)


@providers_app.command(
    "add",
    epilog="Example: industry-brain providers add 91330500MA2B3C4D5B --name 某数字科技有限公司 "
    "--kind engineering --regions 330500,330502 --staff 120 --user admin --json",
)
def add_provider(
    uscc: Annotated[str, typer.Argument(help="The provider's USCC (check character verified).")],
    name: Annotated[str, typer.Option(help="The provider's name.")],
    kind: Annotated[
        str,
        typer.Option(
            help="engineering, platform, data_collection, consulting, leading, excellent."
        ),
    ],
    regions: Annotated[
        str, typer.Option(help="Service areas: region codes, comma separated.")
    ] = "",
    staff: Annotated[int, typer.Option(help="Staff.")] = 0,
    contact: Annotated[str, typer.Option(help="Contact.")] = "",
    user: UserOpt = "admin",
    as_json: JsonOpt = False,
) -> None:
    """Register or update a provider."""
    from industry_brain.domains.market import service

    with _errors(), _session() as s:
        p = service.register_provider(
            s,
            _scope(s, user),
            uscc,
            name,
            kind,
            [r for r in regions.split(",") if r],
            staff,
            contact or None,
        )
        s.commit()
        out = {"id": p.id, "uscc": p.uscc, "name": p.name, "kind": p.kind, "regions": p.regions}
    if as_json:
        _print_json(out)
        return
    console.print(f"服务商 provider {out['id']}: {out['name']} ({out['uscc']})", highlight=False)


@providers_app.command(
    "recognize",
    epilog="Example: industry-brain providers recognize 91330500MA2B3C4D5B --kind leading "
    "--year 2024 --issuer 湖州市经信局 --expires 2027-12-31 --user admin",
)
def recognize(
    uscc: Annotated[str, typer.Argument(help="The provider's USCC.")],
    kind: Annotated[
        str, typer.Option(help="leading, excellent, engineering, data_collection, diagnosis.")
    ],
    year: Annotated[int, typer.Option(help="Year of the recognition.")],
    issuer: Annotated[str, typer.Option(help="Issuing body.")],
    expires: Annotated[str, typer.Option(help="Valid until (YYYY-MM-DD).")] = "",
    user: UserOpt = "admin",
    as_json: JsonOpt = False,
) -> None:
    """Record a recognition (领军服务机构, 优秀服务商 …) with its year and expiry."""
    from sqlalchemy import select

    from industry_brain.core.errors import NotFoundError
    from industry_brain.core.uscc import normalize
    from industry_brain.domains.market import service
    from industry_brain.domains.market.models import MarketProvider

    with _errors(), _session() as s:
        p = s.scalar(select(MarketProvider).where(MarketProvider.uscc == normalize(uscc)))
        if p is None:
            raise NotFoundError(
                "market.not_found", f"未找到服务商：{uscc}", f"not found: {uscc}", value=uscc
            )
        r = service.add_recognition(
            s,
            _scope(s, user),
            p.id,
            kind,
            year,
            issuer,
            parse_day(expires, "--expires") if expires else None,
        )
        s.commit()
        out = {"provider": p.uscc, "kind": r.kind, "year": r.year, "expires": expires or None}
    if as_json:
        _print_json(out)
        return
    console.print(f"{out['provider']}: {kind} {year}", highlight=False)


@providers_app.command(
    "link-user",
    epilog="Example: industry-brain providers link-user provider_01 91330500MA2B3C4D5B "
    "--user admin",
)
def link_user(
    username: Annotated[str, typer.Argument(help="A user of role provider.")],
    uscc: Annotated[str, typer.Argument(help="The provider's USCC.")],
    user: UserOpt = "admin",
    as_json: JsonOpt = False,
) -> None:
    """Make a provider user act for a provider (it then manages that provider's solutions)."""
    from sqlalchemy import select

    from industry_brain.core.errors import NotFoundError
    from industry_brain.core.uscc import normalize
    from industry_brain.domains.market import service
    from industry_brain.domains.market.models import MarketProvider

    with _errors(), _session() as s:
        p = s.scalar(select(MarketProvider).where(MarketProvider.uscc == normalize(uscc)))
        if p is None:
            raise NotFoundError(
                "market.not_found", f"未找到服务商：{uscc}", f"not found: {uscc}", value=uscc
            )
        service.link_user(s, _scope(s, user), username, p.id)
        s.commit()
    if as_json:
        _print_json({"username": username, "provider": p.uscc})
        return
    console.print(f"{username} → {uscc}", highlight=False)


# -- match -------------------------------------------------------------------------------------
@match_app.callback(
    invoke_without_command=True,
    # options may follow the USCC (a group otherwise reads them as a sub-command)
    context_settings={"allow_interspersed_args": True},
    epilog="Example: industry-brain match 91330500MA2B3C4D5B --budget 80 --lang en --json",
)
def match(
    uscc: Annotated[str, typer.Argument(help="The enterprise's USCC.")],
    budget: Annotated[float | None, typer.Option(help="Budget in 万元.")] = None,
    lang: Annotated[str, typer.Option(help="zh or en (the explanations).")] = "zh",
    as_json: JsonOpt = False,
) -> None:
    """Ranked solutions and providers for an enterprise, from its diagnosis (weak sub-domains,
    level gap), industry, size, budget and provider ratings — each rank explained."""
    from sqlalchemy import select

    from industry_brain.core.errors import NotFoundError
    from industry_brain.core.uscc import normalize
    from industry_brain.domains.market import matching
    from industry_brain.store.models import Enterprise

    with _errors(), _session() as s:
        code = normalize(uscc)
        eid = s.scalar(select(Enterprise.id).where(Enterprise.uscc == code))
        if eid is None:
            raise NotFoundError(
                "market.not_found", f"未找到企业：{code}", f"not found: {code}", value=code
            )
        m = matching.for_enterprise(s, eid, budget, lang if lang in ("zh", "en") else "zh")
    e = m["enterprise"]
    out = {
        "uscc": e["uscc"],
        "name": e["name"],
        "size": e["size"],
        "diagnosed": m["diagnosed"],
        "level": e["level"],
        "budget": budget,
        "eligible": m.get("eligible", 0),
        "catalog": m.get("catalog", 0),
        "solutions": [
            {
                "rank": r["rank"],
                "code": r["solution"]["code"],
                "title": r["solution"]["title"],
                "provider": r["solution"]["provider"],
                "score": r["components"]["score"],
                "components": r["components"],
                "reason": r["reason"],
            }
            for r in m["solutions"]
        ],
        "providers": [
            {k: p[k] for k in ("provider_id", "name", "score", "best", "solutions")}
            for p in m["providers"]
        ],
    }
    if as_json:
        _print_json(out)
        return
    console.print(
        f"{out['name']} ({out['uscc']}) · 诊断 diagnosis: "
        f"{'L' + str(out['level']) if out['diagnosed'] else '—'} · "
        f"符合 eligible {out['eligible']}/{out['catalog']}",
        highlight=False,
    )
    t = Table(title="推荐方案 / ranked solutions")
    for col in ("#", "编号 code", "名称 title", "服务商 provider", "得分 score", "理由 why"):
        t.add_column(col)
    for r in out["solutions"]:
        t.add_row(
            str(r["rank"]), r["code"], r["title"], r["provider"], f"{r['score']:.2f}", r["reason"]
        )
    console.print(t)


# -- match runs --------------------------------------------------------------------------------
@matches_app.command("run", epilog="Example: industry-brain matches run --on 2026-11-27 --json")
def matches_run(
    on: Annotated[
        str | None, typer.Option("--on", help="The day to rank on (YYYY-MM-DD; default today).")
    ] = None,
    actor: Annotated[str, typer.Option("--actor", help="Recorded in the audit log.")] = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Match every enterprise against the published catalog in one batch and publish the run
    (its first ranks with the explanation's parts, as the result table result_market_matches)."""
    from industry_brain.domains.market import publish

    with _errors(), _session() as s:
        day = parse_day(on, "--on") if on else None
        r = publish.run(s, actor, day)
        out = {
            "run_id": r.id,
            "on": r.on_date.isoformat(),
            "parameter_version": r.parameter_version,
            **r.summary,
            "inputs": r.inputs,
        }
    if as_json:
        _print_json(out)
        return
    console.print(
        f"匹配批次 match run {out['run_id']} ({out['on']}): 企业 {out['enterprises']} "
        f"(已诊断 diagnosed {out['diagnosed']}) × 方案 {out['catalog']} → 有推荐 matched "
        f"{out['matched']}, 发布 {out['rows']} 行 rows; 计算 {out['match_seconds']:.3f} s, "
        f"写入 write {out['write_seconds']:.3f} s",
        highlight=False,
    )


@matches_app.command("list", epilog="Example: industry-brain matches list --json")
def matches_list(as_json: JsonOpt = False) -> None:
    """Published batch matching runs, newest first, with their inputs."""
    from industry_brain.domains.market import publish

    with _errors(), _session() as s:
        out = [
            {
                "run_id": r.id,
                "on": r.on_date.isoformat(),
                "status": r.status,
                "parameter_version": r.parameter_version,
                "rows": r.summary.get("rows"),
                "matched": r.summary.get("matched"),
                "diagnosis_runs": [x["run_id"] for x in r.inputs.get("diagnosis_runs", [])],
            }
            for r in publish.runs(s)
        ]
    if as_json:
        _print_json(out)
        return
    t = Table(title="匹配批次 / match runs")
    for col in ("#", "日期 on", "参数 parameters", "行 rows", "有推荐 matched", "诊断批次 inputs"):
        t.add_column(col)
    for r in out:
        t.add_row(
            str(r["run_id"]),
            r["on"],
            r["parameter_version"],
            str(r["rows"]),
            str(r["matched"]),
            ", ".join(map(str, r["diagnosis_runs"])) or "—",
        )
    console.print(t)
