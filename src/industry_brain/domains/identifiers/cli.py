"""``industry-brain ids``: the 标识解析 secondary node — prefixes, templates, registration,
bulk, resolution, withdrawal, GB/T 34014 batteries, statistics, and the resolver alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from industry_brain.cli_support import (
    JsonOpt,
    Table,
    console,
    day_or_today,
    parse_day,
    refuse_unless_ready,
)
from industry_brain.cli_support import errors as _errors
from industry_brain.cli_support import print_json as _print_json

NAME = "ids"
app = typer.Typer(
    help="标识解析 identifier secondary node: prefixes, templates, register, bulk, resolve, "
    "withdraw, GB/T 34014 batteries, stats, serve.",
    rich_markup_mode="rich",
    no_args_is_help=True,
)
prefix_app = typer.Typer(help="Enterprise prefixes: apply, approve, list.", no_args_is_help=True)
battery_app = typer.Typer(
    help="GB/T 34014 battery codes: parse, generate, register, event, trace.",
    no_args_is_help=True,
)
delegate_app = typer.Typer(
    help="Provider delegation: the owner lets a provider user write under its prefix until a "
    "date; grant, revoke, list.",
    no_args_is_help=True,
)
app.add_typer(prefix_app, name="prefix")
app.add_typer(battery_app, name="battery")
app.add_typer(delegate_app, name="delegate")

AsUscc = Annotated[
    str,
    typer.Option(
        "--as-uscc",
        help="Act as this enterprise (USCC): the owner of the prefix; others are refused.",
    ),
]


def _session():  # type: ignore[no-untyped-def]
    from sqlalchemy.orm import Session

    from industry_brain.store.db import get_engine

    return Session(get_engine())


def _config():  # type: ignore[no-untyped-def]
    from industry_brain.domains.identifiers import service

    return service.load_config()


def _as(session: Any, uscc: str) -> Any:
    from sqlalchemy import select

    from industry_brain.core import uscc as uscc_mod
    from industry_brain.core.errors import NotFoundError
    from industry_brain.domains.identifiers import service
    from industry_brain.store.models import Enterprise

    code = uscc_mod.normalize(uscc)
    ent = session.scalar(select(Enterprise).where(Enterprise.uscc == code))
    if ent is None:
        raise NotFoundError(
            "ids.uscc_unknown",
            "企业库中没有该统一社会信用代码",
            "the USCC is not in the enterprise registry",
            value=code,
        )
    return service.Actor(f"cli:{code}", "enterprise", ent.id)


OFFICER = ("cli", "city_officer")


def _out(data: Any, as_json: bool, lines: list[str]) -> None:
    if as_json:
        _print_json(data)
    else:
        for line in lines:
            console.print(line)


@prefix_app.command(
    "apply", epilog="Example: industry-brain ids prefix apply 91330522MA2B00001X 88.118.8"
)
def prefix_apply(
    uscc: Annotated[str, typer.Argument(help="USCC of the applying enterprise.")],
    prefix: Annotated[str, typer.Argument(help="Prefix under this node, e.g. 88.118.8.")],
    as_json: JsonOpt = False,
) -> None:
    """An enterprise applies for a prefix (real-name check against the enterprise registry)."""
    from industry_brain.domains.identifiers import service

    with _errors(), _session() as s:
        row = service.apply_prefix(s, _as(s, uscc), uscc, prefix, _config())
        _out({"prefix": row.prefix, "status": row.status}, as_json, [f"{row.prefix}: {row.status}"])


@prefix_app.command("approve", epilog="Example: industry-brain ids prefix approve 88.118.8 --json")
def prefix_approve(
    prefix: Annotated[str, typer.Argument(help="The pending prefix.")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """An officer approves (or rejects) a pending prefix application."""
    from industry_brain.domains.identifiers import service

    with _errors(), _session() as s:
        row = service.decide_prefix(s, service.Actor(*OFFICER), prefix, not reject)
        _out({"prefix": row.prefix, "status": row.status}, as_json, [f"{row.prefix}: {row.status}"])


@prefix_app.command("list", epilog="Example: industry-brain ids prefix list --json")
def prefix_list(as_json: JsonOpt = False) -> None:
    """Prefixes with their owner and status."""
    from sqlalchemy import select

    from industry_brain.domains.identifiers.models import IdPrefix
    from industry_brain.store.models import Enterprise

    with _errors(), _session() as s:
        rows = [
            {"prefix": p.prefix, "uscc": e.uscc, "name": e.name, "status": p.status}
            for p, e in s.execute(
                select(IdPrefix, Enterprise)
                .join(Enterprise, Enterprise.id == IdPrefix.enterprise_id)
                .order_by(IdPrefix.prefix)
            )
        ]
    if as_json:
        _print_json(rows)
        return
    t = Table(title="标识前缀 / prefixes")
    for col in ("前缀 prefix", "企业 enterprise", "USCC", "状态 status"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["prefix"], r["name"], r["uscc"], r["status"])
    console.print(t)


def _owner_user(session: Any, uscc: str) -> Any:
    """The enterprise of ``uscc`` as the acting owner (a CLI operator acts for the enterprise)."""
    return _as(session, uscc)


@delegate_app.command(
    "grant",
    epilog="Example: industry-brain ids delegate grant 88.118.8 provider_01 --until 2027-06-30 "
    "--as-uscc 91330522MA2B00001X",
)
def delegate_grant(
    prefix: Annotated[str, typer.Argument(help="The enterprise's prefix.")],
    provider: Annotated[str, typer.Argument(help="Username of a provider user.")],
    until: Annotated[str, typer.Option(help="Last day of the delegation (YYYY-MM-DD, UTC).")],
    as_uscc: AsUscc,
    as_json: JsonOpt = False,
) -> None:
    """Let a provider user register, update and withdraw under the prefix until a date."""
    from datetime import UTC, datetime, time, timedelta

    from industry_brain.domains.identifiers import service

    end = datetime.combine(parse_day(until, "--until") + timedelta(days=1), time(), tzinfo=UTC)
    with _errors(), _session() as s:
        g = service.delegate(s, _owner_user(s, as_uscc), prefix, provider, end)
        out = {"id": g.id, "prefix": prefix, "provider": provider,
               "expires_at": service._aware(g.expires_at).isoformat()}  # fmt: skip
        _out(out, as_json, [f"{prefix} → {provider} until {out['expires_at']}"])


@delegate_app.command(
    "revoke",
    epilog="Example: industry-brain ids delegate revoke 88.118.8 provider_01 "
    "--as-uscc 91330522MA2B00001X",
)
def delegate_revoke(
    prefix: Annotated[str, typer.Argument(help="The enterprise's prefix.")],
    provider: Annotated[str, typer.Argument(help="Username of the provider user.")],
    as_uscc: AsUscc,
    as_json: JsonOpt = False,
) -> None:
    """Revoke the provider's live delegation on the prefix at once."""
    from industry_brain.domains.identifiers import service

    with _errors(), _session() as s:
        n = service.revoke_delegation(s, _owner_user(s, as_uscc), prefix, provider)
        _out({"prefix": prefix, "provider": provider, "revoked": n}, as_json,
             [f"{prefix} → {provider}: revoked"])  # fmt: skip


@delegate_app.command(
    "list", epilog="Example: industry-brain ids delegate list 88.118.8 --as-uscc 91330522MA2B00001X"
)
def delegate_list(
    prefix: Annotated[str, typer.Argument(help="The enterprise's prefix.")],
    as_uscc: AsUscc,
    as_json: JsonOpt = False,
) -> None:
    """The prefix's delegations, newest first: live, expired or revoked."""
    from industry_brain.domains.identifiers import service

    with _errors(), _session() as s:
        row = service._owner_only(s, _owner_user(s, as_uscc), prefix, "list_delegations")
        rows = service.delegations(s, [row.id])
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"{prefix} 授权 / delegations")
    for col in ("服务商 provider", "状态 state", "截止 expires", "授权人 granted by"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["provider"], r["state"], r["expires_at"], r["granted_by"])
    console.print(t)


@app.command(epilog="Example: industry-brain ids template battery --file battery_v2.json")
def template(
    code: Annotated[str | None, typer.Argument(help="Template code; none lists them.")] = None,
    file: Annotated[
        Path | None, typer.Option(help="JSON Schema file: adds a new version of the template.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the metadata templates, show one, or add a new version from a JSON Schema file
    (older versions stay; identifiers registered under them keep them)."""
    from sqlalchemy import select

    from industry_brain.domains.identifiers import service
    from industry_brain.domains.identifiers.models import IdTemplate

    with _errors(), _session() as s:
        service.ensure_builtin_templates(s)
        if code and file:
            row = service.put_template(s, "cli", code, json.loads(file.read_text(encoding="utf-8")))
            _out(
                {"template": row.code, "version": row.version},
                as_json,
                [f"{row.code} v{row.version}"],
            )
            return
        if code:
            row = service.template(s, code)
            _out(
                {
                    "template": row.code,
                    "version": row.version,
                    "industry": row.industry,
                    "schema": row.schema,
                },
                as_json,
                [
                    f"{row.code} v{row.version} ({row.industry})",
                    json.dumps(row.schema, ensure_ascii=False, indent=2),
                ],
            )
            return
        rows = [
            {
                "template": t.code,
                "version": t.version,
                "industry": t.industry,
                "title": t.schema.get("title", ""),
            }
            for t in s.scalars(select(IdTemplate).order_by(IdTemplate.code, IdTemplate.version))
        ]
    if as_json:
        _print_json(rows)
        return
    t = Table(title="元数据模板 / templates")
    for col in ("模板 template", "版本 version", "行业 industry", "标题 title"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["template"], str(r["version"]), r["industry"], r["title"])
    console.print(t)


@app.command(
    epilog="Example: industry-brain ids register 88.118.8/P001 --template product "
    '--data \'{"name": "童装", "model": "T-1"}\' --as-uscc 91330522MA2B00001X'
)
def register(
    identifier: Annotated[str, typer.Argument(help="prefix/suffix")],
    template_code: Annotated[str, typer.Option("--template", help="Template code.")],
    data: Annotated[str, typer.Option(help="The values as a JSON object.")],
    as_uscc: AsUscc,
    as_json: JsonOpt = False,
) -> None:
    """Register one identifier under a prefix the enterprise owns."""
    from industry_brain.domains.identifiers import service

    with _errors(), _session() as s:
        ident = service.register(
            s, _as(s, as_uscc), identifier, template_code, json.loads(data), _config()
        )
        _out(
            {"identifier": identifier, "status": ident.status},
            as_json,
            [f"{identifier}: {ident.status}"],
        )


@app.command(
    epilog="Example: industry-brain ids bulk ids.csv --prefix 88.118.8 --template batch "
    "--as-uscc 91330522MA2B00001X --json"
)
def bulk(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV (UTF-8) or XLSX: a suffix column and one column per template field."
        ),
    ],
    prefix: Annotated[str, typer.Option(help="The enterprise's prefix.")],
    template_code: Annotated[str, typer.Option("--template", help="Template code.")],
    as_uscc: AsUscc,
    as_json: JsonOpt = False,
) -> None:
    """Stage, validate and register a file of identifiers: all go live, or none (problems are
    listed with their row and column)."""
    from industry_brain.domains.identifiers import service

    with _errors(), _session() as s:
        rep = service.bulk_file(
            s,
            _as(s, as_uscc),
            prefix,
            file.name,
            file.read_bytes(),
            template_code,
            _config(),
        )
    if as_json:
        _print_json(rep.to_dict())
    else:
        console.print(f"upload {rep.upload_id}: {rep.status}, {rep.rows} rows")
        for p in rep.problems[:50]:
            console.print(f"  行 row {p['row']} 列 column {p['column']}: {p['zh']} / {p['en']}")
    if rep.status != "live":
        raise typer.Exit(1)


@app.command(epilog="Example: industry-brain ids resolve 88.118.8/P001 --json")
def resolve(
    identifier: Annotated[str, typer.Argument(help="prefix/suffix")],
    restricted: Annotated[bool, typer.Option(help="Show restricted values too.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Resolve on this node's store (status 200/303/400/404/410 and the answer)."""
    from industry_brain.domains.identifiers import service

    with _errors(), _session() as s:
        res = service.resolve(s, identifier, _config(), restricted_ok=restricted)
    body = {**res.body, "http_status": res.status, "location": res.location, "ttl": res.ttl}
    if as_json:
        _print_json(body)
    else:
        console.print(f"{res.status} {identifier}")
        for v in res.body.get("values", []):
            console.print(f"  {v['index']:>3} {v['type']:<14} {v['data']}  ({v['permission']})")
        if res.location:
            console.print(f"  → {res.location}")
    if res.status not in (200, 303):
        raise typer.Exit(1)


@app.command(
    epilog="Example: industry-brain ids withdraw 88.118.8/P001 --reason 停产 "
    "--as-uscc 91330522MA2B00001X"
)
def withdraw(
    identifier: Annotated[str, typer.Argument(help="prefix/suffix")],
    as_uscc: AsUscc,
    reason: Annotated[str, typer.Option(help="Why.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Withdraw an identifier: it then resolves to 410 with its history."""
    from industry_brain.domains.identifiers import service

    with _errors(), _session() as s:
        ident = service.withdraw(s, _as(s, as_uscc), identifier, reason)
        _out(
            {"identifier": identifier, "status": ident.status},
            as_json,
            [f"{identifier}: {ident.status}"],
        )


@app.command(epilog="Example: industry-brain ids stats --json")
def stats(as_json: JsonOpt = False) -> None:
    """Registrations per day, enterprise and template; resolutions; active prefixes."""
    from industry_brain.domains.identifiers import stats as st

    with _errors(), _session() as s:
        out = st.summary(s)
    if as_json:
        _print_json(out)
        return
    for line in headline_lines(out):
        console.print(line)


def headline_lines(out: dict[str, Any]) -> list[str]:
    from industry_brain.core.formatting import integer

    tpl = "，".join(
        f"{t['template']} {integer(t['count'])}" for t in out["registrations_by_template"]
    )
    return [
        f"标识解析：标识 {integer(out['identifiers'])} 个（在用 {integer(out['live'])}，"
        f"注销 {integer(out['withdrawn'])}），活跃前缀 {integer(out['prefixes_active'])} 个，"
        f"解析 {integer(out['resolutions'])} 次；按模板：{tpl or '—'}",
        f"identifiers: {integer(out['identifiers'])} ({integer(out['live'])} live, "
        f"{integer(out['withdrawn'])} withdrawn), {integer(out['prefixes_active'])} active "
        f"prefixes, {integer(out['resolutions'])} resolutions",
    ]


@battery_app.command(
    "parse", epilog="Example: industry-brain ids battery parse A1BPB01HZ00001T3F0000042"
)
def battery_parse(
    code: Annotated[str, typer.Argument(help="24-character GB/T 34014 code.")],
    as_json: JsonOpt = False,
) -> None:
    """Validate and split a code (the date tables are [DEFAULT]: see the README)."""
    from industry_brain.domains.identifiers import battery as bcode

    with _errors():
        d = bcode.parse(code).to_dict()
    _out(d, as_json, [f"{k}: {v}" for k, v in d.items()])


@battery_app.command(
    "generate",
    epilog="Example: industry-brain ids battery generate A1B P B 01 HZ00001 2026-03-15 42",
)
def battery_generate(
    manufacturer: str,
    product_type: str,
    chemistry: str,
    spec: str,
    trace: str,
    produced: Annotated[str, typer.Argument(help="YYYY-MM-DD")],
    serial: int,
    as_json: JsonOpt = False,
) -> None:
    """Compose a 24-character code from its parts."""
    from industry_brain.domains.identifiers import battery as bcode

    with _errors():
        code = bcode.generate(
            manufacturer,
            product_type,
            chemistry,
            spec,
            trace,
            parse_day(produced, "PRODUCED"),
            serial,
        )
    _out({"code": code}, as_json, [code])


@battery_app.command(
    "register",
    epilog="Example: industry-brain ids battery register A1BCB02HZ00001T3F0000001 "
    "--prefix 88.118.8 --parent A1BMB01HZ00001T3F0000001 --as-uscc 91330522MA2B00001X",
)
def battery_register(
    code: str,
    prefix: Annotated[str, typer.Option(help="The enterprise's prefix.")],
    as_uscc: AsUscc,
    on: Annotated[str | None, typer.Option(help="Production date (default today).")] = None,
    parent: Annotated[str | None, typer.Option(help="Module or pack it belongs to.")] = None,
    original: Annotated[str | None, typer.Option(help="Code it replaces (second life).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a coded battery and its identifier prefix/code."""
    from industry_brain.domains.identifiers import batteries

    with _errors(), _session() as s:
        row = batteries.register(
            s,
            _as(s, as_uscc),
            prefix,
            code,
            day_or_today(on, "--on"),
            _config(),
            parent,
            original,
        )
        _out({"code": row.code, "status": row.status}, as_json, [f"{row.code}: {row.status}"])


@battery_app.command(
    "event",
    epilog="Example: industry-brain ids battery event A1BPB01HZ00001T3F0000001 installed "
    "--on 2026-04-01 --vin LSVAB2BR1NN000001 --as-uscc 91330522MA2B00001X",
)
def battery_event(
    code: str,
    event: Annotated[str, typer.Argument(help="packed|installed|retired|second_life|recycled")],
    as_uscc: AsUscc,
    on: Annotated[str | None, typer.Option(help="Date (default today).")] = None,
    vin: Annotated[str | None, typer.Option(help="VIN (installed).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a lifecycle event (forward only)."""
    from industry_brain.domains.identifiers import batteries

    with _errors(), _session() as s:
        ev = batteries.event(s, _as(s, as_uscc), code, event, day_or_today(on, "--on"), vin)
        _out(
            {"code": code, "event": ev.event, "on": ev.on.isoformat()},
            as_json,
            [f"{code}: {ev.event} {ev.on}"],
        )


@battery_app.command(
    "trace", epilog="Example: industry-brain ids battery trace A1BPB01HZ00001T3F0000001 --json"
)
def battery_trace(code: str, as_json: JsonOpt = False) -> None:
    """Traceability: parents, children, all cells, events, second life, vehicles."""
    from industry_brain.domains.identifiers import batteries

    with _errors(), _session() as s:
        out = batteries.trace(s, code)
    if as_json:
        _print_json(out)
        return
    console.print(
        f"{out['code']} ({out['parsed']['product']}) {out['status']} {out['identifier'] or ''}"
    )
    for key in ("parents", "children", "cells", "original", "second_life", "vins"):
        if out[key]:
            console.print(f"  {key}: {', '.join(out[key])}")
    for e in out["events"]:
        console.print(f"  {e['on']} {e['event']} {e['actor']} {e['vin'] or ''}")


@app.command(
    epilog="Example: IB_IDS_NODE_CONFIG=node.yaml industry-brain ids serve --port 8090 --workers 2"
)
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8090,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    config: Annotated[
        Path | None, typer.Option(help="Node table (YAML); default IB_IDS_NODE_CONFIG.")
    ] = None,
) -> None:
    """Run the resolver alone (GET /api/v1/ids/resolve/…) with uvicorn."""
    import os

    import uvicorn

    if config is not None:
        os.environ["IB_IDS_NODE_CONFIG"] = str(config)
    refuse_unless_ready()
    uvicorn.run(
        "industry_brain.domains.identifiers.node:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        proxy_headers=False,  # no forwarded address is used: a resolution needs no client IP
    )
