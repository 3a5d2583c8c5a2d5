"""Imported certificates: 两化融合管理体系贯标 (``lianghua_guanbiao``) and DCMM (``dcmm``) lists
with lineage — the file, sheet and row of every certificate under an import batch — and expiry.
``result_maturity`` reads them (a certificate counts for a year its validity overlaps).

Columns (Chinese or English headers): 统一社会信用代码/uscc, 证书编号/certificate_no,
发证日期/issued_on, 有效期至/expires_on, optional 企业名称/name, 发证机构/issuer, 等级/level
(the DCMM level). A certificate already imported (same kind and number) is kept once; a row
that cannot be used is reported with its row number and the others are loaded.
"""

from __future__ import annotations

import csv
import hashlib
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core.errors import IBError, Location, ValidationError
from industry_brain.core.uscc import normalize as normalize_uscc
from industry_brain.domains.diagnosis.models import DiagnosisCertification
from industry_brain.store import audit
from industry_brain.store import facts as fact_store
from industry_brain.store.models import Enterprise, ImportBatch

KINDS = ("lianghua_guanbiao", "dcmm")
HEADERS = {
    "uscc": ("统一社会信用代码", "uscc", "信用代码"),
    "certificate_no": ("证书编号", "certificate_no", "证书号"),
    "issued_on": ("发证日期", "issued_on", "颁证日期"),
    "expires_on": ("有效期至", "expires_on", "有效期"),
    "issuer": ("发证机构", "issuer", "认证机构"),
    "level": ("等级", "level", "评估等级"),
}
REQUIRED = ("uscc", "certificate_no", "issued_on", "expires_on")


def _error(
    code: str, zh: str, en: str, file: str, row: int | None = None, sheet: str | None = None
) -> ValidationError:
    return ValidationError(f"diagnosis.{code}", zh, en, Location(file=file, sheet=sheet, row=row))


def _rows(path: Path) -> tuple[str | None, list[list[Any]]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        wb = load_workbook(path, read_only=True, data_only=True)
        ws = wb.worksheets[0]
        return ws.title, [list(r) for r in ws.iter_rows(values_only=True)]
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return None, [list(r) for r in csv.reader(raw.decode(enc).splitlines())]
        except UnicodeDecodeError:
            continue
    raise _error("encoding", "无法识别文件编码", "unknown file encoding", path.name)


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip().replace("/", "-")[:10])


def import_certificates(
    session: Session, path: Path, kind: str, actor: str = "cli"
) -> dict[str, Any]:
    """Import one certificate list of ``kind`` (committed by the caller)."""
    if kind not in KINDS:
        raise _error(
            "certificate_kind",
            f"证书类型“{kind}”无效（lianghua_guanbiao 或 dcmm）",
            f"certificate kind '{kind}' is invalid (lianghua_guanbiao or dcmm)",
            path.name,
        )
    sheet, rows = _rows(path)
    if not rows:
        raise _error("empty_list", "名单为空", "the list is empty", path.name)
    names = [str(h or "").strip() for h in rows[0]]
    cols = {
        code: i
        for code, aliases in HEADERS.items()
        for i, n in enumerate(names)
        if n in aliases or n.lower() in aliases
    }
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise _error(
            "list_header",
            "名单缺少列：" + "、".join(HEADERS[c][0] for c in missing),
            "the list lacks columns: " + ", ".join(missing),
            path.name,
            1,
            sheet,
        )
    batch = ImportBatch(
        kind=f"certificates_{kind}",
        department="economy",
        file_name=path.name,
        file_hash=hashlib.sha256(path.read_bytes()).hexdigest(),
        sheet=sheet,
        status="committed",
        rows_total=len(rows) - 1,
        options={"kind": kind},
        summary={},
    )
    session.add(batch)
    session.flush()
    problems: list[dict[str, Any]] = []
    loaded = known = 0
    for n, row in enumerate(rows[1:], start=2):
        if all(v in (None, "") for v in row):
            continue

        def cell(code: str, r: list[Any] = row) -> Any:
            return r[cols[code]] if code in cols and cols[code] < len(r) else None

        def problem(code: str, zh: str, en: str, r: int = n) -> dict[str, Any]:
            return {
                "file": path.name,
                "sheet": sheet,
                "row": r,
                "column": get_column_letter(cols[code] + 1),
                "header": names[cols[code]],
                "zh": zh,
                "en": en,
                "message": f"{zh} / {en}",
            }

        try:
            uscc = normalize_uscc(str(cell("uscc") or ""))
        except IBError as exc:  # a bad cell is a problem of its row, not of the file
            problems.append(problem("uscc", exc.zh, exc.en))
            continue
        number = str(cell("certificate_no") or "").strip()
        if not number:
            problems.append(problem("certificate_no", "证书编号为空", "empty certificate number"))
            continue
        dates: dict[str, date] = {}
        for code in ("issued_on", "expires_on"):
            raw = cell(code)
            try:
                dates[code] = _date(raw)
            except (TypeError, ValueError):
                problems.append(
                    problem(
                        code,
                        f"日期“{raw if raw is not None else ''}”无法识别（应为 YYYY-MM-DD）",
                        f"date '{raw if raw is not None else ''}' not understood (YYYY-MM-DD)",
                    )
                )
        if len(dates) < 2:
            continue
        issued, expires = dates["issued_on"], dates["expires_on"]
        if expires < issued:
            problems.append(
                problem("expires_on", "有效期早于发证日期", "expires before it is issued")
            )
            continue
        dup = session.scalar(
            select(DiagnosisCertification.id).where(
                DiagnosisCertification.kind == kind,
                DiagnosisCertification.certificate_no == number,
            )
        )
        if dup is not None:
            known += 1
            continue
        session.add(
            DiagnosisCertification(
                enterprise_id=session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc)),
                uscc=uscc,
                kind=kind,
                level=str(cell("level") or "").strip()[:16] or None,
                certificate_no=number[:64],
                issuer=str(cell("issuer") or "").strip()[:100] or None,
                issued_on=issued,
                expires_on=expires,
                source_file=path.name,
                source_sheet=sheet,
                source_row=n,
                import_batch_id=batch.id,
                actor=actor,
            )
        )
        session.flush()
        loaded += 1
    batch.rows_loaded, batch.rows_rejected = loaded, len(problems)
    batch.status = "committed" if not problems else "partial"
    batch.summary = {
        **fact_store.NO_FACTS,
        "certificates": loaded,
        "already_known": known,
        "problems": len(problems),
    }
    audit.record(
        session,
        actor,
        "diagnosis.certifications",
        "import_batch",
        str(batch.id),
        {"file": path.name, "kind": kind},
    )
    session.flush()
    return {
        "batch_id": batch.id,
        "kind": kind,
        "certificates": loaded,
        "already_known": known,
        "problems": problems,
    }
