"""Import of the bureau's solution collection (方案征集表, XLSX or CSV) through the platform's
bounded reader (:func:`industry_brain.ingest.readers.read_file`: size, zip-bomb and cell limits,
header detection). One row is one solution; headers in Chinese or English:

| column | aliases | content |
|---|---|---|
| provider_uscc | 服务商统一社会信用代码, 服务商信用代码 | a registered provider |
| title | 方案名称 | required |
| summary | 方案简介, 方案内容 | |
| subdomains | 能力子域, 提升能力子域 | CMMM sub-domain names or codes, separated by 、 , ； |
| industries | 适用行业, 行业代码 | GB/T 4754 codes (2–4 digits), separated likewise |
| sizes | 企业规模, 适用规模 | 大型 中型 小型 微型 |
| price_min, price_max | 价格下限(万元), 价格上限(万元) | numbers in 万元 |
| delivery_days | 交付周期(天) | a positive whole number |
| case_enterprise, case_industry, case_result | 案例企业, 案例行业, 案例成效 | one case |
| code | 方案编号 | optional: an existing solution's code makes a new version of it |

Every row is checked first; any problem aborts the whole import (nothing is written) with
every problem named by file, sheet, row and column in Chinese and English. Imported versions
await an officer's review like any other.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core.errors import IBError, Location, ValidationError
from industry_brain.core.uscc import normalize as normalize_uscc
from industry_brain.domains.market import codes, service
from industry_brain.domains.market.models import MarketProvider, MarketSolution
from industry_brain.ingest import readers
from industry_brain.store import audit
from industry_brain.store.scope import Scope

HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("方案编号", "code"),
    "provider_uscc": ("服务商统一社会信用代码", "服务商信用代码", "provider_uscc"),
    "title": ("方案名称", "title"),
    "summary": ("方案简介", "方案内容", "summary"),
    "subdomains": ("能力子域", "提升能力子域", "subdomains"),
    "industries": ("适用行业", "行业代码", "industries"),
    "sizes": ("企业规模", "适用规模", "sizes"),
    "price_min": ("价格下限", "价格下限(万元)", "price_min"),
    "price_max": ("价格上限", "价格上限(万元)", "price_max"),
    "delivery_days": ("交付周期", "交付周期(天)", "delivery_days"),
    "case_enterprise": ("案例企业", "case_enterprise"),
    "case_industry": ("案例行业", "case_industry"),
    "case_result": ("案例成效", "case_result"),
}
REQUIRED = ("provider_uscc", "title", "subdomains", "price_min", "price_max", "delivery_days")
_SPLIT = re.compile(r"[、,，;；/\s]+")


class ImportRejected(ValidationError):
    """The file has problems: nothing was imported. ``problems`` lists every one."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        first = problems[0]
        more = len(problems) - 1
        zh = first["zh"] + (
            f"（另有 {more} 处问题，未导入任何方案）" if more else "（未导入任何方案）"
        )
        en = first["en"] + (
            f" (and {more} more problems; nothing imported)" if more else " (nothing imported)"
        )
        super().__init__("market.import_rejected", zh, en, first["location"])
        self.problems = problems


def _split(value: str | None) -> list[str]:
    return [x for x in _SPLIT.split(value or "") if x]


def read_rows(path: Path) -> tuple[str | None, list[dict[str, Any]]]:
    """The rows of the first sheet as {field: (text, column letter)} plus ``_row``."""
    hints = [a for aliases in HEADERS.values() for a in aliases]
    tables = readers.read_file(path, header_hints=hints)
    if not tables:
        raise ValidationError(
            "market.import_empty",
            "文件中没有表格",
            "the file holds no table",
            Location(file=path.name),
        )
    table = tables[0]
    keys = {readers.header_key(a): f for f, aliases in HEADERS.items() for a in aliases}
    cols: dict[str, Any] = {}
    for col in table.columns:
        for k in readers.header_key_variants(col.name):
            if k in keys and keys[k] not in cols:
                cols[keys[k]] = col
                break
    missing = [f for f in REQUIRED if f not in cols]
    if missing:
        raise ValidationError(
            "market.import_header",
            "缺少列：" + "、".join(HEADERS[f][0] for f in missing),
            "missing columns: " + ", ".join(missing),
            Location(file=path.name, sheet=table.sheet, row=(table.header_rows or [1])[0]),
        )
    data = {f: table.column(c).to_pylist() for f, c in cols.items()}
    rows = []
    for i, number in enumerate(table.row_numbers.to_pylist()):
        rows.append(
            {
                "_row": int(number),
                **{f: (data[f][i], cols[f].letter) for f in cols},
            }
        )
    return table.sheet, rows


def import_solutions(session: Session, scope: Scope, path: Path) -> dict[str, Any]:
    """Check every row, then add the solutions (or new versions) awaiting review; the caller
    commits. Raises :class:`ImportRejected` (nothing added) when any row has a problem."""
    scope.require("market.manage")
    sheet, rows = read_rows(path)
    problems: list[dict[str, Any]] = []

    def problem(row: int, field: str, letter: str | None, zh: str, en: str) -> None:
        problems.append(
            {
                "row": row,
                "column": letter,
                "field": field,
                "zh": zh,
                "en": en,
                "location": Location(file=path.name, sheet=sheet, row=row, column=letter),
            }
        )

    providers = dict(session.execute(select(MarketProvider.uscc, MarketProvider.id)).all())
    plan: list[tuple[int, int | None, int, dict[str, Any]]] = []
    for r in rows:
        n = r["_row"]

        def text(field: str, r: dict[str, Any] = r) -> str:
            v = r.get(field, (None, None))[0]
            return "" if v is None else str(v).strip()

        def letter(field: str, r: dict[str, Any] = r) -> str | None:
            return r.get(field, (None, None))[1]

        pid = None
        try:
            uscc = normalize_uscc(text("provider_uscc"))
            pid = providers.get(uscc)
            if pid is None:
                problem(
                    n,
                    "provider_uscc",
                    letter("provider_uscc"),
                    f"服务商 {uscc} 未登记",
                    f"provider {uscc} is not registered",
                )
        except IBError as exc:
            problem(n, "provider_uscc", letter("provider_uscc"), exc.problem.zh, exc.problem.en)
        subs = []
        for s in _split(text("subdomains")):
            code = codes.subdomain_by_name(s)
            if code is None:
                problem(
                    n,
                    "subdomains",
                    letter("subdomains"),
                    f"能力子域“{s}”不在 GB/T 39116 中",
                    f"'{s}' is not a GB/T 39116 sub-domain",
                )
            else:
                subs.append(code)
        sizes = []
        for s in _split(text("sizes")):
            code = codes.size_by_name(s)
            if code is None:
                problem(
                    n, "sizes", letter("sizes"), f"企业规模“{s}”无效", f"invalid firm size '{s}'"
                )
            else:
                sizes.append(code)
        nums: dict[str, float] = {}
        for f in ("price_min", "price_max", "delivery_days"):
            try:
                nums[f] = float(text(f))
            except ValueError:
                problem(n, f, letter(f), f"“{text(f)}”不是数字", f"'{text(f)}' is not a number")
        case = None
        if text("case_enterprise") or text("case_result"):
            case = {
                "enterprise": text("case_enterprise"),
                "industry": text("case_industry"),
                "result": text("case_result"),
            }
        fields = {
            "title": text("title"),
            "summary": text("summary"),
            "subdomains": subs,
            "industries": _split(text("industries")),
            "sizes": sizes,
            "price_min": nums.get("price_min", 0.0),
            "price_max": nums.get("price_max", 0.0),
            "delivery_days": int(nums.get("delivery_days", 1)),
            "cases": [case] if case else [],
        }
        if subs and len(nums) == 3 and not any(p["row"] == n for p in problems):
            try:
                fields = service.clean_fields(fields)
            except IBError as exc:
                field = exc.problem.location.field or "title"
                problem(n, field, letter(field), exc.problem.zh, exc.problem.en)
        existing = None
        if text("code"):
            existing = session.scalar(
                select(MarketSolution).where(MarketSolution.code == text("code"))
            )
            if existing is None:
                problem(
                    n,
                    "code",
                    letter("code"),
                    f"方案编号 {text('code')} 不存在",
                    f"no solution {text('code')}",
                )
            elif pid is not None and existing.provider_id != pid:
                problem(
                    n,
                    "code",
                    letter("code"),
                    "方案编号属于其他服务商",
                    "the solution belongs to another provider",
                )
        if pid is not None:
            plan.append((n, existing.id if existing else None, pid, fields))
    if not rows:
        raise ValidationError(
            "market.import_empty",
            "文件中没有方案行",
            "the file holds no solution rows",
            Location(file=path.name, sheet=sheet),
        )
    if problems:
        session.rollback()
        raise ImportRejected(problems)
    created = versions = 0
    for _n, existing_id, pid, fields in plan:
        if existing_id is None:
            service.create_solution(
                session, scope, fields, provider_id=pid, source=f"xlsx:{path.name}"
            )
            created += 1
        else:
            v = service.edit_solution(session, scope, existing_id, fields)
            v.source = f"xlsx:{path.name}"
            versions += 1
    audit.record(
        session,
        scope.username,
        "market.import",
        "market_solution",
        None,
        {"filename": path.name, "created": created, "versions": versions},
        user_id=scope.user_id,
    )
    session.flush()
    return {
        "file": path.name,
        "sheet": sheet,
        "created": created,
        "versions": versions,
        "problems": [],
    }
