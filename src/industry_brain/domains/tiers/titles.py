"""认定名单: the official recognition lists (工信部 / 省经信厅 / 科技厅) imported as facts with
lineage — the file, sheet and row of every title, under an import batch — and validity
(``tiers.validity_years``, 3 years [PRIOR]; a list gives the year, the title is taken as
recognised on 1 January of it [DEFAULT] unless the list has a 认定日期 column), with expiry and
re-review warnings.

Columns (Chinese or English headers): 统一社会信用代码/uscc, 企业名称/name, 梯度/tier (a tier code
or its Chinese name), 年度/year, 批次/batch, optional 认定日期/recognised_on, 认定单位/issuer.
"""

from __future__ import annotations

import csv
import hashlib
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core.errors import Location
from industry_brain.core.uscc import normalize as normalize_uscc
from industry_brain.domains.tiers.inputs import TIERS
from industry_brain.domains.tiers.models import TiersTitle
from industry_brain.domains.tiers.service import TiersError
from industry_brain.store import audit
from industry_brain.store import facts as fact_store
from industry_brain.store.db import chunks
from industry_brain.store.enterprises import ENTERPRISE_ID
from industry_brain.store.models import Enterprise, ImportBatch

HEADERS = {
    "uscc": ("统一社会信用代码", "uscc", "信用代码"),
    "name": ("企业名称", "name", "名称"),
    "tier": ("梯度", "tier", "称号", "类别"),
    "year": ("年度", "year", "认定年度"),
    "batch": ("批次", "batch"),
    "recognised_on": ("认定日期", "recognised_on"),
    "issuer": ("认定单位", "issuer"),
}
BY_NAME = {zh: code for code, (zh, _) in TIERS.items()} | {
    "小巨人": "little_giant",
    "专精特新“小巨人”企业": "little_giant",
    "专精特新": "zhuanjingtexin",
    "单项冠军": "single_champion",
    "隐形冠军": "hidden_champion",
    "高新技术企业": "high_tech",
    "创新型中小企业": "innovative_sme",
}


def _rows(path: Path) -> tuple[str | None, list[list[Any]]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        wb = load_workbook(path, read_only=True, data_only=True)
        ws = wb.worksheets[0]
        return ws.title, [list(r) for r in ws.iter_rows(values_only=True)]
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise TiersError("tiers.encoding", "无法识别文件编码", "unknown file encoding")
    return None, [list(r) for r in csv.reader(text.splitlines())]


def _columns(header: list[Any], file: str) -> dict[str, int]:
    names = [str(h or "").strip() for h in header]
    out = {}
    for code, aliases in HEADERS.items():
        for i, n in enumerate(names):
            if n in aliases or n.lower() in aliases:
                out[code] = i
                break
    missing = [c for c in ("uscc", "tier", "year") if c not in out]
    if missing:
        raise TiersError(
            "tiers.list_header",
            "名单缺少列：" + "、".join(HEADERS[c][0] for c in missing),
            "the list lacks columns: " + ", ".join(missing),
            Location(file=file, row=1),
        )
    return out


def tier_code(value: Any) -> str | None:
    text = str(value or "").strip()
    if text in TIERS:
        return text
    return BY_NAME.get(text)


def import_list(
    session: Session, path: Path, actor: str = "cli", tier: str | None = None
) -> dict[str, Any]:
    """Import an official list; a row already imported (same USCC, tier, year, batch) is kept
    once. Returns counts and the rows that could not be used (with their row numbers)."""
    sheet, rows = _rows(path)
    if not rows:
        raise TiersError("tiers.empty_list", "名单为空", "the list is empty")
    cols = _columns(rows[0], path.name)
    params = parameters.load()
    batch = ImportBatch(
        kind="tier_list",
        department="economy",
        file_name=path.name,
        file_hash=hashlib.sha256(path.read_bytes()).hexdigest(),
        sheet=sheet,
        status="committed",
        rows_total=len(rows) - 1,
    )
    session.add(batch)
    session.flush()
    problems: list[dict[str, Any]] = []
    listed: list[tuple[int, list[Any], str, str, int, str]] = []  # row no., row, title key

    def cell(row: list[Any], column: str) -> Any:
        return row[cols[column]] if column in cols and cols[column] < len(row) else None

    for n, row in enumerate(rows[1:], start=2):
        if all(v in (None, "") for v in row):
            continue
        code = tier or tier_code(cell(row, "tier"))
        try:
            uscc = normalize_uscc(str(cell(row, "uscc") or ""))
            year = int(str(cell(row, "year")).strip()[:4])
        except Exception as exc:  # a bad cell is a problem of its row, not of the file
            problems.append({"row": n, "message": str(exc)})
            continue
        if code is None:
            problems.append({"row": n, "message": f"未知梯度 / unknown tier: {cell(row, 'tier')}"})
            continue
        listed.append((n, row, uscc, code, year, str(cell(row, "batch") or "").strip() or "1"))
    # the titles already imported and the enterprises, looked up for the whole list at once
    usccs = sorted({entry[2] for entry in listed})
    known_titles: set[tuple[str, str, int, str]] = set()
    ent_ids: dict[str, int] = {}
    for part in chunks(usccs):
        known_titles.update(
            tuple(r)
            for r in session.execute(
                select(TiersTitle.uscc, TiersTitle.tier, TiersTitle.year, TiersTitle.batch).where(
                    TiersTitle.uscc.in_(part)
                )
            )
        )
        ent_ids.update(
            (u, i)
            for u, i in session.execute(
                select(Enterprise.uscc, Enterprise.id).where(Enterprise.uscc.in_(part))
            )
        )
    validity: dict[int, int] = {}
    loaded, known = 0, 0
    for n, row, uscc, code, year, batch_label in listed:
        key = (uscc, code, year, batch_label)
        if key in known_titles:  # imported before, or a repeated row of this list
            known += 1
            continue
        known_titles.add(key)
        on = cell(row, "recognised_on")
        start = on if isinstance(on, date) else date(year, 1, 1)
        if hasattr(start, "date"):
            start = start.date()
        if year not in validity:
            validity[year] = int(params.get("tiers.validity_years", on=date(year, 1, 1)))
        until = date(start.year + validity[year], start.month, start.day) - timedelta(days=1)
        session.add(
            TiersTitle(
                enterprise_id=ent_ids.get(uscc),
                uscc=uscc,
                name=str(cell(row, "name") or "")[:200] or None,
                tier=code,
                year=year,
                batch=batch_label,
                issuer=str(cell(row, "issuer") or "")[:64] or None,
                valid_until=until,
                source_file=path.name,
                source_sheet=sheet,
                source_row=n,
                import_batch_id=batch.id,
                actor=actor,
            )
        )
        loaded += 1
    batch.rows_loaded = loaded
    batch.rows_rejected = len(problems)
    batch.status = "committed" if not problems else "partial"
    batch.summary = {
        **fact_store.NO_FACTS,
        "titles": loaded,
        "already_known": known,
        "problems": len(problems),
    }
    audit.record(
        session, actor, "tiers.import_list", "import_batch", str(batch.id), {"file": path.name}
    )
    session.flush()
    return {
        "batch_id": batch.id,
        "titles": loaded,
        "already_known": known,
        "problems": problems,
    }


def warnings(session: Session, today: date, enterprise_ids: Any = None) -> list[dict[str, Any]]:
    """Titles expired (and not renewed by a later title of the same tier) or expiring within
    ``tiers.rereview_warning_days``: 到期 / 复核 warnings, soonest first."""
    days = int(parameters.load().get("tiers.rereview_warning_days", on=today))
    stmt = select(TiersTitle, Enterprise.name).join(
        Enterprise, Enterprise.id == TiersTitle.enterprise_id
    )
    if enterprise_ids is not None:
        stmt = stmt.where(TiersTitle.enterprise_id.in_(enterprise_ids))
    latest: dict[tuple[int, str], tuple[TiersTitle, str]] = {}
    for t, name in session.execute(stmt).all():
        key = (t.enterprise_id, t.tier)
        if key not in latest or latest[key][0].valid_until < t.valid_until:
            latest[key] = (t, name)
    out = []
    for t, name in latest.values():
        left = (t.valid_until - today).days
        if left < 0:
            kind = "expired"
        elif left <= days:
            kind = "rereview"
        else:
            continue
        out.append(
            {
                "kind": kind,
                "enterprise_id": t.enterprise_id,
                "uscc": t.uscc,
                "name": name,
                "tier": t.tier,
                "year": t.year,
                "valid_until": t.valid_until.isoformat(),
                "days_left": left,
                "source": f"{t.source_file}:{t.source_row}",
            }
        )
    return sorted(out, key=lambda w: (w["days_left"], w["uscc"]))


@cache
def _titles_stmt() -> Select:  # built once: the profile page reads it on every view
    return (
        select(TiersTitle)
        .where(TiersTitle.enterprise_id == ENTERPRISE_ID)
        .order_by(TiersTitle.year.desc(), TiersTitle.tier)
    )


def titles_of(session: Session, enterprise_id: int) -> list[TiersTitle]:
    return list(session.scalars(_titles_stmt(), {"enterprise_id": enterprise_id}))
