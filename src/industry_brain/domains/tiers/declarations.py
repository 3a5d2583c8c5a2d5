"""企业申报: figures the departments do not send, each with its evidence file, verified or
rejected by an officer with a reason. Only verified figures count toward a recognised tier;
declared ones make the firm a *candidate*.

Evidence files (PDF, PNG, JPEG — recognised by their first bytes, not their name) are limited in
size (``tiers.evidence.max_bytes``), stored outside the web root under
``DATA_DIR/tiers_evidence/<sha256>`` with no extension and served only as an attachment.
An XLSX template (one row per figure: 统一社会信用代码, 年度, 指标代码, 数值, 说明) imports a
batch of declarations; evidence for those rows is attached through the portal afterwards.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from industry_brain.core import env, exports, parameters
from industry_brain.core.errors import Location
from industry_brain.domains.tiers.inputs import DECLARABLE, INPUTS
from industry_brain.domains.tiers.models import TiersDeclaration, TiersDeclarationItem
from industry_brain.domains.tiers.service import TiersError, enterprise_by_uscc
from industry_brain.store import audit
from industry_brain.store.db import data_dir
from industry_brain.store.enterprises import ENTERPRISE_ID
from industry_brain.store.models import Enterprise

MAGIC = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}
TEMPLATE_HEADER = ["统一社会信用代码", "年度", "指标代码", "数值", "说明"]


@dataclass
class Evidence:
    name: str
    content: bytes


def evidence_dir() -> Path:
    d = data_dir() / "tiers_evidence"
    d.mkdir(parents=True, exist_ok=True)
    return d


def max_bytes(on: date | None = None) -> int:
    return int(parameters.load().get("tiers.evidence.max_bytes", on=on or env.today()))


def sniff(content: bytes) -> str | None:
    for magic, mime in MAGIC.items():
        if content.startswith(magic):
            return mime
    return None


def store_evidence(ev: Evidence) -> tuple[str, str, int, str]:
    """Check and store one evidence file; returns (stored name, type, size, sha256)."""
    size = len(ev.content)
    limit = max_bytes()
    if size == 0 or size > limit:
        raise TiersError(
            "tiers.evidence_size",
            f"证明材料“{ev.name}”大小 {size} 字节，超出限制（1–{limit} 字节）",
            f"evidence '{ev.name}' is {size} bytes, outside 1–{limit}",
            Location(field="evidence"),
        )
    mime = sniff(ev.content)
    if mime is None:
        raise TiersError(
            "tiers.evidence_type",
            f"证明材料“{ev.name}”不是 PDF、PNG 或 JPEG 文件",
            f"evidence '{ev.name}' is not a PDF, PNG or JPEG file",
            Location(field="evidence"),
        )
    digest = hashlib.sha256(ev.content).hexdigest()
    path = evidence_dir() / digest
    if not path.exists():
        path.write_bytes(ev.content)
    return digest, mime, size, digest


def evidence_path(item: TiersDeclarationItem) -> Path | None:
    if not item.evidence_path:
        return None
    # the stored name is a hex digest: no path can escape the evidence folder
    if not all(c in "0123456789abcdef" for c in item.evidence_path):
        return None
    path = evidence_dir() / item.evidence_path
    return path if path.is_file() else None


def _check_item(item: str, value: Any) -> float:
    if item not in DECLARABLE:
        raise TiersError(
            "tiers.unknown_item",
            f"未知的申报指标“{item}”",
            f"unknown declaration item '{item}'",
            Location(field="item"),
        )
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise TiersError(
            "tiers.bad_value",
            f"指标“{INPUTS[item].zh}”的数值“{value}”不是数字",
            f"value '{value}' of '{item}' is not a number",
            Location(field=item),
        ) from exc
    unit = INPUTS[item].unit
    bad = (
        number < 0
        or (unit == "flag" and number not in (0.0, 1.0))
        or (unit == "ratio" and number > 1)
    )
    if bad:
        raise TiersError(
            "tiers.bad_value",
            f"指标“{INPUTS[item].zh}”的数值 {value} 超出范围",
            f"value {value} of '{item}' is out of range",
            Location(field=item),
        )
    return number


def declare(
    session: Session,
    enterprise: Enterprise,
    year: int,
    figures: dict[str, Any],
    evidence: dict[str, Evidence] | None = None,
    actor: str = "portal",
    channel: str = "portal",
    source_file: str | None = None,
    rows: dict[str, int] | None = None,
) -> TiersDeclaration:
    """Record a declaration of ``figures`` (item → value) with evidence per item."""
    evidence = evidence or {}
    checked = {item: _check_item(item, v) for item, v in figures.items()}
    if not checked:
        raise TiersError(
            "tiers.empty_declaration", "申报没有任何指标", "the declaration has no figure"
        )
    decl = TiersDeclaration(
        enterprise_id=enterprise.id,
        year=year,
        channel=channel,
        source_file=source_file,
        submitted_by=actor,
    )
    session.add(decl)
    session.flush()
    for item, value in checked.items():
        row = TiersDeclarationItem(
            declaration_id=decl.id,
            enterprise_id=enterprise.id,
            year=year,
            item=item,
            value=value,
            source_row=(rows or {}).get(item),
            status="declared",
        )
        if item in evidence:
            stored, mime, size, digest = store_evidence(evidence[item])
            row.evidence_path = stored
            row.evidence_name = exports.clean_text(Path(evidence[item].name).name)[:255]
            row.evidence_type = mime
            row.evidence_size = size
            row.evidence_sha256 = digest
        session.add(row)
    audit.record(
        session,
        actor,
        "tiers.declare",
        "enterprise",
        enterprise.uscc,
        {
            "tiers_declaration": decl.id,
            "year": year,
            "tiers_items": sorted(checked),
            "tiers_channel": channel,
        },
    )
    session.flush()
    return decl


def attach_evidence(
    session: Session, item: TiersDeclarationItem, ev: Evidence, actor: str
) -> TiersDeclarationItem:
    if item.status != "declared":
        raise TiersError(
            "tiers.item_decided",
            "该指标已审核，不能再更换证明材料",
            "this figure is already decided; its evidence cannot change",
        )
    stored, mime, size, digest = store_evidence(ev)
    item.evidence_path, item.evidence_type = stored, mime
    item.evidence_size, item.evidence_sha256 = size, digest
    item.evidence_name = exports.clean_text(Path(ev.name).name)[:255]
    audit.record(session, actor, "tiers.evidence", "tiers_item", str(item.id), {})
    return item


def decide(
    session: Session, item_id: int, actor: str, accept: bool, reason: str | None = None
) -> TiersDeclarationItem:
    """An officer verifies (``accept``) or rejects a declared figure; a rejection needs a reason
    and a verification needs evidence."""
    item = session.get(TiersDeclarationItem, item_id)
    if item is None:
        raise TiersError(
            "tiers.no_item", f"没有申报指标 {item_id}", f"no declared figure {item_id}"
        )
    if item.status != "declared":
        raise TiersError(
            "tiers.item_decided",
            f"申报指标 {item_id} 已审核（{item.status}）",
            f"declared figure {item_id} is already {item.status}",
        )
    if not accept and not (reason or "").strip():
        raise TiersError(
            "tiers.reason_required",
            "驳回必须填写理由",
            "a rejection needs a reason",
            Location(field="reason"),
        )
    if accept and not item.evidence_path:
        raise TiersError(
            "tiers.evidence_required",
            "没有证明材料的指标不能审核通过",
            "a figure without evidence cannot be verified",
        )
    item.status = "verified" if accept else "rejected"
    item.verifier = actor
    item.verified_at = datetime.now(UTC)
    item.reason = (reason or "").strip() or None
    ent = session.get(Enterprise, item.enterprise_id)
    audit.record(
        session,
        actor,
        "tiers.verify" if accept else "tiers.reject",
        "enterprise",
        ent.uscc if ent else None,
        {"item": item.id, "code": item.item, "reason": item.reason},
    )
    session.flush()
    return item


def pending(session: Session, enterprise_ids: Any = None, limit: int = 200) -> list[Any]:
    """Declared figures waiting for an officer (the agent's task list), oldest first."""
    stmt = (
        select(TiersDeclarationItem, Enterprise.uscc, Enterprise.name)
        .join(Enterprise, Enterprise.id == TiersDeclarationItem.enterprise_id)
        .where(TiersDeclarationItem.status == "declared")
        .order_by(TiersDeclarationItem.id)
        .limit(limit)
    )
    if enterprise_ids is not None:
        stmt = stmt.where(TiersDeclarationItem.enterprise_id.in_(enterprise_ids))
    return list(session.execute(stmt).all())


@cache
def _items_stmt() -> Select:  # built once: the profile page reads it on every view
    return (
        select(TiersDeclarationItem)
        .where(TiersDeclarationItem.enterprise_id == ENTERPRISE_ID)
        .order_by(TiersDeclarationItem.year.desc(), TiersDeclarationItem.id.desc())
    )


def items_of(session: Session, enterprise_id: int) -> list[TiersDeclarationItem]:
    return list(session.scalars(_items_stmt(), {"enterprise_id": enterprise_id}))


def write_template(path: Path) -> Path:
    """The XLSX declaration template: header, one example row and the item codes sheet."""
    wb = exports.workbook()
    ws = wb.active
    ws.title = "申报"
    exports.append(ws, TEMPLATE_HEADER)
    exports.append(ws, ["91330500XXXXXXXXXX", 2025, "debt_ratio", 0.52, "示例（请删除）"])
    codes = wb.create_sheet("指标代码")
    exports.append(codes, ["指标代码", "指标", "indicator", "单位"])
    for code in DECLARABLE:
        i = INPUTS[code]
        exports.append(codes, [code, i.zh, i.en, i.unit])
    return exports.save(wb, path)


def import_xlsx(session: Session, path: Path, actor: str) -> dict[str, Any]:
    """Import a filled template: one declaration per (enterprise, year); every row checked,
    nothing stored when a row is wrong (the problems are returned with their row numbers)."""
    wb = load_workbook(path, read_only=True, data_only=True)
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    if not rows or [str(c or "").strip() for c in rows[0][:4]] != TEMPLATE_HEADER[:4]:
        raise TiersError(
            "tiers.template",
            "不是申报模板（表头应为：" + "、".join(TEMPLATE_HEADER[:4]) + "）",
            "not the declaration template (header: USCC, year, item code, value)",
            Location(file=path.name, row=1),
        )
    groups: dict[tuple[str, int], dict[str, Any]] = {}
    where: dict[tuple[str, int], dict[str, int]] = {}
    problems: list[dict[str, Any]] = []
    for n, row in enumerate(rows[1:], start=2):
        if not row or all(c in (None, "") for c in row[:4]):
            continue
        uscc, year, item, value = (row + (None,) * 4)[:4]
        try:
            ent = enterprise_by_uscc(session, str(uscc or "").strip())
            number = _check_item(str(item or "").strip(), value)
            key = (ent.uscc, int(year))
        except (TiersError, TypeError, ValueError) as exc:
            problems.append({"row": n, "message": str(exc)})
            continue
        groups.setdefault(key, {})[str(item).strip()] = number
        where.setdefault(key, {})[str(item).strip()] = n
    if problems:
        return {"declarations": 0, "items": 0, "problems": problems}
    count = 0
    for (uscc, year), figures in groups.items():
        ent = enterprise_by_uscc(session, uscc)
        declare(session, ent, year, figures, None, actor, "xlsx", path.name, where[(uscc, year)])
        count += len(figures)
    return {"declarations": len(groups), "items": count, "problems": []}
