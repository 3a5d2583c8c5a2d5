"""The import page's workflow on the real ingest path: stage an upload, preview the detected
mapping and the validation report (``import_file(..., dry_run=True)``), then commit it or
download the error workbook.

Uploads are staged under ``DATA_DIR/uploads/<user id>/<token>/``; a token is usable only by the
user who uploaded it. Commits of one SQLite store queue behind a writer lock (one import at a
time, :func:`industry_brain.store.db.writer_lock`); a wait longer than ``IB_IMPORT_WAIT_SECONDS``
answers 503 ``store.busy``.
"""

from __future__ import annotations

import re
import secrets
import shutil
import unicodedata
from pathlib import Path
from typing import Any, BinaryIO

from industry_brain.core.errors import IBError, Location, NotFoundError, ValidationError
from industry_brain.ingest import import_file
from industry_brain.ingest.mapping import KINDS, load_mapping
from industry_brain.ingest.pipeline import ImportResult, map_columns
from industry_brain.ingest.readers import read_file
from industry_brain.store.db import WriterBusy, data_dir, writer_lock
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
    scope: Scope, token: str, kind: str, sheet: str | None, year: int | None, engine: Any
) -> dict[str, Any]:
    """Detected mapping and the dry-run validation report of a staged upload."""
    path = staged_file(scope, token)
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
    )
    return {"file": path.name, "kind": kind, "mapping": mapping, **_result(result, token)}


def commit(
    scope: Scope,
    token: str,
    kind: str,
    sheet: str | None,
    year: int | None,
    accept_valid: bool,
    engine: Any,
    wait_seconds: float = 60.0,
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
