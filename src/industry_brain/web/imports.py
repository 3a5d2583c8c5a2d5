"""The import page's workflow on the real ingest path: stage an upload, preview the detected
mapping and the validation report (``import_file(..., dry_run=True)``), then commit it or
download the error workbook.

Uploads are staged under ``DATA_DIR/uploads/<user id>/<token>/``; a token is usable only by the
user who uploaded it. Commits of one SQLite store queue behind a writer lock (one import at a
time, :func:`industry_brain.store.db.writer_lock`); a wait longer than ``IB_IMPORT_WAIT_SECONDS``
answers 503 ``store.busy``.

A preview names the batch that loaded the same content before (``already``). The batch detail
(:func:`batch_detail`: counts, problems by code, the facts loaded, what superseded what, the
error workbook) and the matching review queue (:func:`reviews`, :func:`confirm_review`,
:func:`dismiss_review`: audited as the signed-in user) are for holders of ``import.run``.
Imports are stamped on the platform's day (``on_day``: ``Settings.today``).
"""

from __future__ import annotations

import re
import secrets
import shutil
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from industry_brain.core import exports
from industry_brain.core.errors import (
    ConflictError,
    IBError,
    Location,
    NotFoundError,
    ValidationError,
)
from industry_brain.ingest import import_file
from industry_brain.ingest import review as review_mod
from industry_brain.ingest.mapping import KINDS, load_mapping
from industry_brain.ingest.pipeline import ImportResult, file_hash, map_columns
from industry_brain.ingest.readers import read_file
from industry_brain.store import facts as fact_store
from industry_brain.store.db import WriterBusy, data_dir, writer_lock
from industry_brain.store.models import (
    Enterprise,
    Fact,
    ImportBatch,
    ImportProblem,
    MatchReview,
    User,
)
from industry_brain.store.scope import Scope
from industry_brain.web.errors import store_busy, store_unavailable

_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_UNSAFE = re.compile(r"[^\w.\-()（）\u4e00-\u9fff]+")
MAX_PROBLEMS_SHOWN = 500


def _root(scope: Scope) -> Path:
    return data_dir() / "uploads" / str(scope.user_id)


def safe_name(filename: str | None) -> str:
    name = unicodedata.normalize("NFKC", Path(filename or "upload").name)
    name = _UNSAFE.sub("_", name).strip("._") or "upload"
    return name[-120:]


def stage(scope: Scope, filename: str | None, stream: BinaryIO, max_bytes: int) -> str:
    """Save an upload; returns its token. Raises ``upload.too_large`` / ``upload.empty``."""
    scope.require("import.run")
    token = secrets.token_hex(16)
    folder = _root(scope) / token
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_name(filename)
    size = 0
    with open(target, "wb") as out:
        while chunk := stream.read(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise ValidationError(
                    "upload.too_large",
                    f"文件超过 {max_bytes // (1 << 20)} MB 上限",
                    f"the file exceeds the {max_bytes // (1 << 20)} MB limit",
                    Location(field="file"),
                )
            out.write(chunk)
    if size == 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise ValidationError(
            "upload.empty", "上传的文件为空", "the uploaded file is empty", Location(field="file")
        )
    return token


def staged_file(scope: Scope, token: str) -> Path:
    """The staged upload of ``token`` (own uploads only)."""
    scope.require("import.run")
    folder = _root(scope) / token if _TOKEN.match(token or "") else None
    files = sorted(p for p in folder.iterdir() if p.is_file()) if folder and folder.is_dir() else []
    if not files:
        raise NotFoundError(
            "upload.not_found",
            "上传的文件不存在或已过期，请重新上传",
            "the upload does not exist or has expired; upload it again",
            Location(field="token"),
            token,
        )
    return files[0]


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        load_mapping(kind)  # raises import.kind with the list of kinds
    return kind


def detected_mapping(path: Path, kind: str, sheet: str | None) -> list[dict[str, Any]]:
    """Per sheet: each header column with the field it maps to (or none)."""
    mapping = load_mapping(check_kind(kind))
    out: list[dict[str, Any]] = []
    for table in read_file(path, sheet=sheet, header_hints=mapping.hints()):
        found, _ = map_columns(table, mapping)
        by_index = {col.index: name for name, col in found.items()}
        columns = []
        for col in table.columns:
            canonical = by_index.get(col.index)
            spec = mapping.columns.get(canonical) if canonical else None
            columns.append(
                {
                    "letter": col.letter,
                    "header": col.label or col.name,
                    "field": canonical,
                    "field_label": spec.aliases[0] if spec else None,
                    "item": spec.item if spec else None,
                }
            )
        missing = [
            {"field": n, "label": s.aliases[0]}
            for n, s in mapping.columns.items()
            if s.required and n not in found
        ]
        out.append(
            {
                "sheet": table.sheet,
                "header_rows": table.header_rows,
                "rows": table.num_rows,
                "columns": columns,
                "missing": missing,
            }
        )
    return out


def _result(result: ImportResult, token: str) -> dict[str, Any]:
    data = result.to_dict(with_problems=False)
    data["counts_by_code"] = result.counts_by_code()
    data["errors"] = len(result.errors)
    data["warnings"] = len(result.warnings)
    data["problems"] = [p.to_dict() for p in result.problems[:MAX_PROBLEMS_SHOWN]]
    data["problems_total"] = len(result.problems)
    data["token"] = token
    data["has_workbook"] = bool(result.report_xlsx)
    data.pop("report_json", None)
    data.pop("report_xlsx", None)
    return data


def preview(
    scope: Scope,
    token: str,
    kind: str,
    sheet: str | None,
    year: int | None,
    engine: Any,
    on_day: date | None = None,
) -> dict[str, Any]:
    """Detected mapping and the dry-run validation report of a staged upload; ``already``
    names the batch that loaded the same content before (any kind), if one did."""
    path = staged_file(scope, token)
    with Session(engine) as session:
        already = prior_import(session, path)
    try:
        mapping = detected_mapping(path, kind, sheet)
    except IBError:
        mapping = []
    result = import_file(
        check_kind(kind),
        path,
        engine=engine,
        sheet=sheet,
        year=year,
        dry_run=True,
        user_id=scope.user_id,
        report_dir=path.parent / "reports",
        on_day=on_day,
    )
    return {
        "file": path.name,
        "kind": kind,
        "mapping": mapping,
        "already": already,
        **_result(result, token),
    }


def commit(
    scope: Scope,
    token: str,
    kind: str,
    sheet: str | None,
    year: int | None,
    accept_valid: bool,
    engine: Any,
    wait_seconds: float = 60.0,
    on_day: date | None = None,
) -> dict[str, Any]:
    """Import a staged upload for real (atomic; ``accept_valid`` loads the valid rows), after
    the imports queued before it on the same store (at most ``wait_seconds``)."""
    path = staged_file(scope, token)
    try:
        with writer_lock(engine, wait_seconds):
            result = import_file(
                check_kind(kind),
                path,
                engine=engine,
                sheet=sheet,
                year=year,
                accept_valid=accept_valid,
                user_id=scope.user_id,
                report_dir=path.parent / "reports",
                on_day=on_day,
            )
    except WriterBusy as exc:
        raise store_busy() from exc
    except PermissionError as exc:  # the lock file cannot be made: the data dir is read-only
        raise store_unavailable() from exc
    return {"file": path.name, "kind": kind, "mapping": [], **_result(result, token)}


def workbook(scope: Scope, token: str) -> Path:
    """The newest error workbook written for a staged upload."""
    path = staged_file(scope, token)
    books = sorted((path.parent / "reports").glob("*.xlsx"), key=lambda p: p.stat().st_mtime)
    if not books:
        raise NotFoundError(
            "upload.no_workbook",
            "该文件没有问题清单（没有发现问题）",
            "there is no error workbook for this file (no problems were found)",
            Location(field="token"),
            token,
        )
    return books[-1]


def recognised(mapping: list[dict[str, Any]]) -> int:
    """How many header columns a detected mapping recognises (all sheets)."""
    return sum(1 for sheet in mapping for col in sheet["columns"] if col["field"])


def suggest_kind(
    scope: Scope, token: str, kind: str, sheet: str | None, current: int
) -> dict[str, Any] | None:
    """The kind whose column mapping recognises the most columns of a staged upload's header,
    when that is more than ``current`` (what the chosen ``kind`` recognises); else ``None``."""
    path = staged_file(scope, token)
    best: tuple[int, str] | None = None
    for other in KINDS:
        if other == kind:
            continue
        try:
            matched = recognised(detected_mapping(path, other, sheet))
        except IBError:
            continue
        if matched > current and (best is None or matched > best[0]):
            best = (matched, other)
    return None if best is None else {"kind": best[1], "matched": best[0], "current": current}


# -- batch detail and the review queue (issue 14, point 14) -------------------------------------
FACTS_PER_PAGE = 50
PROBLEMS_SHOWN = 200
SUPERSEDED_SHOWN = 50
REVIEW_STATUSES = ("open", "confirmed", "dismissed")


def _batch(session: Session, scope: Scope, batch_id: int) -> ImportBatch:
    scope.require("import.run")  # batches are city-wide data: admins and city officers
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFoundError(
            "batch.not_found",
            f"导入批次 #{batch_id} 不存在",
            f"import batch #{batch_id} does not exist",
            Location(field="batch_id"),
            str(batch_id),
        )
    return batch


def prior_import(session: Session, path: Path) -> dict[str, Any] | None:
    """The earliest batch that loaded the same content (same SHA-256) as the file at ``path``,
    whatever its kind; ``None`` when the content was never loaded."""
    digest = file_hash(path)
    prior = session.scalars(
        select(ImportBatch)
        .where(
            ImportBatch.file_hash == digest,
            ImportBatch.status.in_(("committed", "partial")),
        )
        .order_by(ImportBatch.id)
    ).first()
    if prior is None:
        return None
    return {
        "batch_id": prior.id,
        "kind": prior.kind,
        "file_name": prior.file_name,
        "status": prior.status,
        "created_at": prior.created_at,
    }


def _fact_row(f: Fact, ent: Enterprise) -> dict[str, Any]:
    return {
        "id": f.id,
        "uscc": ent.uscc,
        "name": ent.name,
        "item": f.item,
        "year": f.year,
        "month": f.month,
        "detail": f.detail,
        "value": f.value,
        "unit": f.unit,
        "sheet": f.sheet,
        "row": f.row,
        "column": f.column,
        "raw_value": f.raw_value,
        "superseded_by": f.superseded_by,
        "batch_id": f.batch_id,
    }


def batch_detail(
    session: Session,
    scope: Scope,
    batch_id: int,
    *,
    uscc: str | None = None,
    page: int = 1,
    per_page: int = FACTS_PER_PAGE,
) -> dict[str, Any]:
    """One import batch: its file, kind, year, counts, the person who imported it, problems by
    code (and the first :data:`PROBLEMS_SHOWN`), the facts it loaded (a page; one enterprise's
    when ``uscc``), what it superseded and what superseded it later, its review entries."""
    batch = _batch(session, scope, batch_id)
    user = session.get(User, batch.user_id) if batch.user_id else None
    by_code = [
        {"code": code, "severity": severity, "count": int(n), "zh": zh, "en": en}
        for code, severity, n, zh, en in session.execute(
            select(
                ImportProblem.code,
                ImportProblem.severity,
                func.count(),
                func.min(ImportProblem.message_zh),
                func.min(ImportProblem.message_en),
            )
            .where(ImportProblem.batch_id == batch.id)
            .group_by(ImportProblem.code, ImportProblem.severity)
            .order_by(ImportProblem.severity, func.count().desc(), ImportProblem.code)
        )
    ]
    problems = [
        {
            "severity": p.severity,
            "code": p.code,
            "zh": p.message_zh,
            "en": p.message_en,
            "sheet": p.sheet,
            "row": p.row,
            "column": p.column,
            "value": p.value,
            "uscc": p.uscc,
        }
        for p in session.scalars(
            select(ImportProblem)
            .where(ImportProblem.batch_id == batch.id)
            .order_by(ImportProblem.id)
            .limit(PROBLEMS_SHOWN)
        )
    ]
    problems_total = sum(c["count"] for c in by_code)
    # The facts have no batch index (0007 dropped it: bulk imports are faster without it), so
    # every query of a batch's facts read all of them (five scans of 1.67 M facts, 1.6 s on the
    # city demo). One scan now finds the batch's id range and counts; the page and what a later
    # batch superseded are read in that range (the primary key), and what this batch superseded
    # (earlier facts pointing at its facts) is only looked for when the import superseded any.
    # An import records its facts' id range (``fact_id_range``): then even that scan is a
    # primary-key range read; batches imported before it was recorded scan.
    recorded = fact_store.recorded_range(batch.summary)
    where = [Fact.batch_id == batch.id]
    if recorded is not None:
        where.append(Fact.id.between(*recorded))
    total_all, later_total, lo, hi = session.execute(
        select(
            func.count(), func.count(Fact.superseded_by), func.min(Fact.id), func.max(Fact.id)
        ).where(*where)
    ).one()
    lo, hi = (lo or 0), (hi or 0)
    conds = [Fact.batch_id == batch.id, Fact.id.between(lo, hi)]
    if uscc:
        conds.append(Enterprise.uscc == uscc)
        facts_total = session.scalar(
            select(func.count())
            .select_from(Fact)
            .join(Enterprise, Enterprise.id == Fact.enterprise_id)
            .where(*conds)
        )
    else:
        facts_total = total_all
    pages = max(1, -(-int(facts_total or 0) // per_page))
    page = min(max(1, page), pages)
    facts = [
        _fact_row(f, e)
        for f, e in session.execute(
            select(Fact, Enterprise)
            .join(Enterprise, Enterprise.id == Fact.enterprise_id)
            .where(*conds)
            .order_by(Fact.sheet, Fact.row, Fact.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    ]
    # what this batch superseded (earlier facts now pointing at one of its facts) …
    new = aliased(Fact)
    own_ids = select(Fact.id).where(Fact.batch_id == batch.id, Fact.id.between(lo, hi))
    old_rows: list[Any] = []
    superseded_total = 0
    if total_all and (batch.summary or {}).get("facts_superseded", 1) != 0:
        pointing = [Fact.superseded_by.between(lo, hi), Fact.superseded_by.in_(own_ids)]
        old_rows = session.execute(
            select(Fact, new, Enterprise)
            .join(new, new.id == Fact.superseded_by)
            .join(Enterprise, Enterprise.id == Fact.enterprise_id)
            .where(*pointing)
            .order_by(Fact.id)
            .limit(SUPERSEDED_SHOWN)
        ).all()
        superseded_total = (
            len(old_rows)
            if len(old_rows) < SUPERSEDED_SHOWN
            else session.scalar(select(func.count()).select_from(Fact).where(*pointing))
        )
    # … and which of its facts a later batch superseded
    later_rows = (
        session.execute(
            select(Fact, new, Enterprise)
            .join(new, new.id == Fact.superseded_by)
            .join(Enterprise, Enterprise.id == Fact.enterprise_id)
            .where(Fact.batch_id == batch.id, Fact.id.between(lo, hi))
            .where(Fact.superseded_by.is_not(None))
            .order_by(Fact.id)
            .limit(SUPERSEDED_SHOWN)
        ).all()
        if later_total
        else []
    )
    reviews = dict(
        session.execute(
            select(MatchReview.status, func.count())
            .where(MatchReview.batch_id == batch.id)
            .group_by(MatchReview.status)
        ).all()
    )
    summary = batch.summary or {}
    return {
        "id": batch.id,
        "kind": batch.kind,
        "department": batch.department,
        "file_name": batch.file_name,
        "file_hash": batch.file_hash,
        "sheet": batch.sheet,
        "year": batch.year,
        "status": batch.status,
        "rows_total": batch.rows_total,
        "rows_loaded": batch.rows_loaded,
        "rows_rejected": batch.rows_rejected,
        "facts_inserted": summary.get("facts_inserted"),
        "facts_superseded": summary.get("facts_superseded"),
        "facts_unchanged": summary.get("facts_unchanged"),
        "enterprises_created": summary.get("enterprises_created"),
        "enterprises_updated": summary.get("enterprises_updated"),
        "accept_valid": bool((batch.options or {}).get("accept_valid")),
        "created_at": batch.created_at,
        "user": user.display_name if user else None,
        "by_code": by_code,
        "problems": problems,
        "problems_total": problems_total,
        "has_workbook": problems_total > 0 or _stored_workbook(batch) is not None,
        "facts": facts,
        "facts_total": int(facts_total or 0),
        "page": page,
        "pages": pages,
        "uscc": uscc or "",
        "superseded": [
            {"old": _fact_row(o, e), "new_id": n.id, "new_value": n.value, "new_batch": n.batch_id}
            for o, n, e in old_rows
        ],
        "superseded_total": int(superseded_total or 0),
        "superseded_later": [
            {"old": _fact_row(o, e), "new_id": n.id, "new_value": n.value, "new_batch": n.batch_id}
            for o, n, e in later_rows
        ],
        "superseded_later_total": int(later_total or 0),
        "reviews": {s: int(reviews.get(s, 0)) for s in REVIEW_STATUSES},
    }


def _stored_workbook(batch: ImportBatch) -> Path | None:
    """The department workbook the import wrote (its data sheets with the problems marked),
    when it is still on disk under its own name (``batch-<id>-<kind>.xlsx``)."""
    stored = (batch.summary or {}).get("report_xlsx")
    if not stored:
        return None
    path = Path(str(stored))
    if path.name != f"batch-{batch.id}-{batch.kind}.xlsx" or not path.is_file():
        return None
    return path


def batch_workbook(session: Session, scope: Scope, batch_id: int, folder: Path) -> Path:
    """The error workbook of a batch: the one the import wrote when it is still on disk, else
    one written now from the stored problems (through :mod:`core.exports`)."""
    batch = _batch(session, scope, batch_id)
    stored = _stored_workbook(batch)
    if stored is not None:
        return stored
    rows = session.scalars(
        select(ImportProblem).where(ImportProblem.batch_id == batch.id).order_by(ImportProblem.id)
    ).all()
    if not rows:
        raise NotFoundError(
            "upload.no_workbook",
            "该批次没有问题清单（没有发现问题）",
            "this batch has no error workbook (no problems were found)",
            Location(field="batch_id"),
            str(batch_id),
        )
    wb = exports.workbook()
    ws = wb.active
    ws.title = exports.sheet_title("问题清单")
    exports.append(
        ws,
        [
            "级别 severity",
            "代码 code",
            "工作表 sheet",
            "行 row",
            "列 column",
            "说明",
            "message",
            "原值 value",
            "统一社会信用代码 USCC",
        ],
    )
    for p in rows:
        exports.append(
            ws,
            [
                p.severity,
                p.code,
                p.sheet,
                p.row,
                p.column,
                p.message_zh,
                p.message_en,
                p.value,
                p.uscc,
            ],
        )
    return exports.save(wb, folder / f"batch-{batch.id}-{batch.kind}-problems.xlsx")


def reviews(
    session: Session,
    scope: Scope,
    *,
    status: str = "open",
    batch_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
) -> dict[str, Any]:
    """Entries of the matching review queue (待核对) with their candidates and batch."""
    scope.require("import.run")
    if status not in REVIEW_STATUSES:
        raise ValidationError(
            "review.status",
            f"状态应为 {'、'.join(REVIEW_STATUSES)} 之一",
            f"status must be one of {', '.join(REVIEW_STATUSES)}",
            Location(field="status"),
            status,
        )
    conds = [MatchReview.status == status]
    if batch_id is not None:
        conds.append(MatchReview.batch_id == batch_id)
    total = int(session.scalar(select(func.count()).select_from(MatchReview).where(*conds)) or 0)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = session.execute(
        select(MatchReview, ImportBatch)
        .join(ImportBatch, ImportBatch.id == MatchReview.batch_id)
        .where(*conds)
        .order_by(MatchReview.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    resolved = {
        e.id: e
        for e in session.scalars(
            select(Enterprise).where(
                Enterprise.id.in_([r.enterprise_id for r, _ in rows if r.enterprise_id])
            )
        )
    }
    counts = dict(
        session.execute(
            select(MatchReview.status, func.count())
            .where(*(conds[1:]))
            .group_by(MatchReview.status)
        ).all()
    )
    items = []
    for r, b in rows:
        ent = resolved.get(r.enterprise_id) if r.enterprise_id else None
        items.append(
            {
                "id": r.id,
                "batch_id": r.batch_id,
                "batch_kind": b.kind,
                "file_name": b.file_name,
                "sheet": r.sheet,
                "row": r.row,
                "raw_name": r.raw_name,
                "raw_uscc": r.raw_uscc,
                "raw_account": r.raw_account,
                "reason": r.reason,
                "candidates": list(r.candidates or []),
                "status": r.status,
                "enterprise": {"uscc": ent.uscc, "name": ent.name} if ent else None,
                "resolved_at": r.resolved_at,
            }
        )
    return {
        "items": items,
        "total": total,
        "page": page,
        "pages": pages,
        "status": status,
        "batch_id": batch_id,
        "counts": {s: int(counts.get(s, 0)) for s in REVIEW_STATUSES},
    }


def _open_review(session: Session, review_id: int) -> MatchReview:
    review = session.get(MatchReview, review_id)
    if review is None:
        raise NotFoundError(
            "review.not_found",
            f"待核对记录 {review_id} 不存在",
            f"review {review_id} does not exist",
            Location(field="review_id"),
            str(review_id),
        )
    if review.status != "open":
        raise ConflictError(
            "review.closed",
            f"待核对记录 {review_id} 已处理",
            f"review {review_id} is already decided",
            Location(field="review_id"),
            str(review_id),
        )
    return review


def confirm_review(session: Session, scope: Scope, review_id: int, uscc: str) -> dict[str, Any]:
    """Confirm an open review entry as enterprise ``uscc`` (remembered for the next import;
    audited ``review.confirm`` as the signed-in user)."""
    scope.require("import.run")
    _open_review(session, review_id)
    if not (uscc or "").strip():
        raise ValidationError(
            "review.uscc",
            "请选择候选企业或填写统一社会信用代码",
            "choose a candidate or enter a USCC",
            Location(field="uscc"),
        )
    done = review_mod.confirm(
        session, review_id, uscc.strip(), user_id=scope.user_id, actor=scope.username
    )
    ent = session.get(Enterprise, session.get(MatchReview, review_id).enterprise_id)
    return {**done, "uscc": ent.uscc, "name": ent.name}


def dismiss_review(session: Session, scope: Scope, review_id: int) -> dict[str, Any]:
    """Dismiss an open review entry (the row stays unloaded; audited ``review.dismiss``)."""
    scope.require("import.run")
    _open_review(session, review_id)
    return review_mod.dismiss(session, review_id, user_id=scope.user_id, actor=scope.username)
