"""``industry-brain reference``: the national code tables (regions with their history, towns,
industries) — look a code or name up, see what is loaded, load a newer edition."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from industry_brain.cli_support import JsonOpt, Table, console, errors, parse_day, print_json
from industry_brain.core.errors import Location, ValidationError

reference_app = typer.Typer(
    help="Reference tables 参考代码表: GB/T 2260 regions and towns, GB/T 4754 industries.",
    no_args_is_help=True,
)

LEVELS_REGION = ("province", "city", "county", "town")
LEVELS_INDUSTRY = ("section", "division", "group", "class")
TABLES = ("region_history", "nbs_units", "industries", "industries_2011")


def _check_choice(value: str | None, allowed: tuple[str, ...], field: str) -> None:
    if value is not None and value not in allowed:
        raise ValidationError(
            "cli.bad_choice",
            f"{field} 应为：{'、'.join(allowed)}",
            f"{field} must be one of: {', '.join(allowed)}",
            Location(field=field),
        )


def _print_rows(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> None:
    table = Table(show_lines=False)
    for key, title in columns:
        # codes are never cut: other columns fold instead
        table.add_column(title, no_wrap=key == "code", overflow="fold")
    for r in rows:
        table.add_row(*["" if r.get(k) is None else str(r.get(k)) for k, _ in columns])
    console.print(table)


@reference_app.command(
    "regions",
    epilog=(
        "Examples: industry-brain reference regions 吴兴 · industry-brain reference regions "
        "330103 · industry-brain reference regions --level county --on 2020-06-30 杭州 --json"
    ),
)
def regions(
    query: Annotated[str | None, typer.Argument(help="A code, or part of a name.")] = None,
    on: Annotated[
        str | None, typer.Option("--on", help="Only units in use on this date (YYYY-MM-DD).")
    ] = None,
    level: Annotated[str | None, typer.Option(help="province, city, county or town.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Regions by code or name, with their validity, history and successors."""
    from industry_brain.store import codes
    from industry_brain.store.db import get_engine
    from industry_brain.store.models import Region

    with errors():
        _check_choice(level, LEVELS_REGION, "level")
        day = parse_day(on, "--on") if on else None
        with Session(get_engine()) as session:
            stmt = select(Region)
            if query:
                q = codes.clean(query)
                stmt = stmt.where(
                    or_(Region.code == q, Region.code.like(q + "%"), Region.name.contains(q))
                    if q.isdigit()
                    else Region.name.contains(q)
                )
            if level:
                stmt = stmt.where(Region.level == level)
            if day:
                stmt = stmt.where(
                    or_(Region.valid_from.is_(None), Region.valid_from <= day),
                    or_(Region.valid_to.is_(None), Region.valid_to > day),
                )
            found = list(session.scalars(stmt.order_by(Region.code).limit(limit)))
            index = codes.region_index(session)
            year = (day or date.today()).year
            rows = []
            for r in found:
                row: dict[str, Any] = {
                    "code": r.code,
                    "name": r.name,
                    "level": r.level,
                    "parent": r.parent_code,
                    "valid_from": r.valid_from.year if r.valid_from else None,
                    "valid_to": r.valid_to.year if r.valid_to else None,
                    "source": r.source,
                }
                if r.level == "county":
                    row["history"] = index.history(r.code)
                    if r.valid_to is not None:
                        res = index.resolve(r.code, r.valid_to.year - 1)
                        row["now"] = (
                            f"{res.code} {res.name}"
                            if res.code
                            else codes.candidates_text(res.candidates) or "—"
                        )
                rows.append(row)
    if as_json:
        print_json({"query": query, "on": on, "year": year, "regions": rows})
        return
    _print_rows(
        rows,
        [
            ("code", "代码 code"),
            ("name", "名称 name"),
            ("level", "级别 level"),
            ("parent", "上级 parent"),
            ("valid_from", "启用 from"),
            ("valid_to", "停用 to"),
            ("now", "现为 now"),
        ],
    )
    for row in rows:
        if len(row.get("history") or []) > 1 and query and codes.clean(query) == row["code"]:
            console.print(f"[bold]{row['code']}[/] 沿革 history:")
            for h in row["history"]:
                succ = "、".join(h["successors"]) or "—"
                console.print(f"  {h['valid_from']}–{h['valid_to'] or ''} {h['name']} → {succ}")


@reference_app.command(
    "industries",
    epilog=(
        "Examples: industry-brain reference industries 3421 · industry-brain reference "
        "industries 机床 --level class --json"
    ),
)
def industries(
    query: Annotated[
        str | None, typer.Argument(help="A code (3421, C3421, C34), or part of a name.")
    ] = None,
    level: Annotated[str | None, typer.Option(help="section, division, group or class.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """GB/T 4754-2017 industries by code or name; a 2011 code shows its 2017 counterparts."""
    from industry_brain.store import codes
    from industry_brain.store.db import get_engine
    from industry_brain.store.models import Industry, Industry2011
    from industry_brain.store.reference import STANDARD_2017

    with errors():
        _check_choice(level, LEVELS_INDUSTRY, "level")
        with Session(get_engine()) as session:
            stmt = select(Industry).where(Industry.standard == STANDARD_2017)
            old: dict[str, Any] | None = None
            if query:
                q = codes.clean(query).upper()
                digits = (
                    q.lstrip("ABCDEFGHIJKLMNOPQRST") if q[:1].isalpha() and q[1:].isdigit() else q
                )
                if digits.isdigit():
                    stmt = stmt.where(Industry.code.like(digits + "%"))
                    o = session.get(Industry2011, digits)
                    if o is not None:
                        res = codes.industry_index(session).resolve(digits, 2017)
                        old = {
                            "code": o.code,
                            "name": o.name,
                            "maps_to": res.code,
                            "candidates": [list(c) for c in res.candidates],
                        }
                else:
                    stmt = stmt.where(Industry.name.contains(codes.clean(query)))
            if level:
                stmt = stmt.where(Industry.level == level)
            rows = [
                {"code": i.code, "name": i.name, "level": i.level, "parent": i.parent_code}
                for i in session.scalars(stmt.order_by(Industry.code).limit(limit))
            ]
    if as_json:
        print_json({"query": query, "industries": rows, "gbt4754_2011": old})
        return
    _print_rows(
        rows,
        [("code", "代码 code"), ("name", "名称 name"), ("level", "级别 level"),
         ("parent", "上级 parent")],
    )  # fmt: skip
    if old:
        target = old["maps_to"] or "；".join(f"{c} {n}" for c, n in old["candidates"])
        console.print(f"GB/T 4754-2011 {old['code']} {old['name']} → 2017: {target or '—'}")


@reference_app.command("stats", epilog="Example: industry-brain reference stats --json")
def stats(as_json: JsonOpt = False) -> None:
    """Counts per level of every reference table and the editions loaded."""
    from industry_brain.store import reference
    from industry_brain.store.db import get_engine

    with errors(), Session(get_engine()) as session:
        data = reference.stats(session)
    if as_json:
        print_json(data)
        return
    for key in ("regions", "regions_retired", "statistics_only_units", "region_history",
                "industries", "industries_2011"):  # fmt: skip
        parts = "，".join(f"{k} {v:,}" for k, v in sorted(data[key].items()))
        console.print(f"[bold]{key}[/]: {parts}")
    _print_rows(
        data["editions"],
        [("table", "表 table"), ("edition", "版本 edition"), ("rows", "行 rows"),
         ("added", "新增 added"), ("ended", "终止 ended"), ("loaded_at", "载入 loaded")],
    )  # fmt: skip


@reference_app.command(
    "load",
    epilog=(
        "Example: industry-brain reference load region_history gbt2260_history_1981_2025.csv "
        '--edition "GB/T 2260 1981-2025"'
    ),
)
def load(
    table: Annotated[
        str, typer.Argument(help="region_history, nbs_units, industries or industries_2011.")
    ],
    file: Annotated[str, typer.Argument(help="The CSV of the new edition (same columns).")],
    edition: Annotated[str, typer.Option(help="Name of the edition.")],
    as_json: JsonOpt = False,
) -> None:
    """Load a newer edition: new codes and end years are added, history is never rewritten."""
    from industry_brain.store import reference
    from industry_brain.store.db import get_engine

    with errors():
        _check_choice(table, TABLES, "table")
        report = reference.refresh(get_engine(), table, file, edition)
    if as_json:
        print_json(report.as_dict())
        return
    if report.skipped:
        console.print("此文件已载入，未作改动 / this file was loaded before: nothing changed")
        return
    console.print(
        f"已载入 {report.rows:,} 行：新增 {report.added:,}，终止 {report.ended:,} / loaded "
        f"{report.rows:,} rows: {report.added:,} added, {report.ended:,} ended"
    )
    for c in report.conflicts:
        console.print(f"[yellow]保留原记录 kept[/]: {c}")
