"""Department files in memory and on disk: XLSX (openpyxl) and CSV (GBK or UTF-8 with BOM).

Writing is deterministic: openpyxl's ZIP entries get a fixed date, its core properties fixed
times, and CSV lines end in CRLF as Windows exports do.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import CellRange

from industry_brain.demo.constants import FIXED_TIMESTAMP, city

Row = list[Any]


@dataclass
class Sheet:
    """One table: an optional merged title row, one or two header rows, data rows, a 合计 row.

    ``groups`` are parent headers spanning columns (0-based, inclusive) above the header row,
    e.g. 能源消费量 over the fuel columns. ``owners`` holds, per data row, the index of the
    enterprise it describes (or None) so that defects can be planted on the right rows.
    """

    header: list[str]
    keys: list[str]  # canonical column keys, parallel to ``header``
    name: str | None = None
    title: str | None = None
    groups: list[tuple[str, int, int]] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    owners: list[int | None] = field(default_factory=list)
    total: Row | None = None

    @property
    def header_lines(self) -> int:
        """Lines above the first data row (title + header rows)."""
        return (1 if self.title else 0) + (2 if self.groups else 1)

    def add(self, row: Row, owner: int | None) -> None:
        self.rows.append(row)
        self.owners.append(owner)

    def insert_after(self, row: Row, new: Row, owner: int | None) -> None:
        """Insert ``new`` right below ``row`` (found by identity)."""
        pos = next(k for k, r in enumerate(self.rows) if r is row)
        self.rows.insert(pos + 1, new)
        self.owners.insert(pos + 1, owner)

    def add_column(self, key: str, header: str, values: list[Any]) -> None:
        """Append a column (e.g. an unknown 备注 column) to the header and every data row."""
        self.header.append(header)
        self.keys.append(key)
        for row, value in zip(self.rows, values, strict=True):
            row.append(value)
        if self.total is not None:
            self.total.append(None)

    def col(self, key: str) -> int:
        """Position of the column with canonical key ``key``."""
        return self.keys.index(key)

    def line_numbers(self) -> dict[int, int]:
        """Spreadsheet line number (1-based, as Excel shows it) of each data row, by ``id``."""
        first = self.header_lines + 1
        return {id(r): first + k for k, r in enumerate(self.rows)}


@dataclass
class DeptFile:
    """A department file: kind, data year, relative path, format and its sheets."""

    kind: str
    year: int | None
    path: str
    fmt: str  # xlsx | csv
    encoding: str | None  # CSV encoding (gbk, utf-8-sig); None for XLSX
    sheets: list[Sheet]
    creator: str = ""


_TITLE_FONT = Font(name="宋体", size=14, bold=True)
_HEADER_FONT = Font(name="宋体", size=11, bold=True)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def write(dept: DeptFile, out_dir: Path) -> Path:
    """Write ``dept`` under ``out_dir``; returns the path written."""
    path = out_dir / dept.path
    path.parent.mkdir(parents=True, exist_ok=True)
    if dept.fmt == "xlsx":
        _write_xlsx(dept, path)
    else:
        _write_csv(dept, path)
    return path


def _write_csv(dept: DeptFile, path: Path) -> None:
    (sheet,) = dept.sheets
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(sheet.header)
    for row in sheet.rows:
        writer.writerow([_text(v) for v in row])
    if sheet.total is not None:
        writer.writerow([_text(v) for v in sheet.total])
    path.write_bytes(buf.getvalue().encode(dept.encoding or "utf-8-sig"))


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        text = f"{value:.4f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _write_xlsx(dept: DeptFile, path: Path) -> None:
    wb = Workbook(write_only=True)
    wb.properties.creator = dept.creator or city().name
    wb.properties.created = FIXED_TIMESTAMP
    wb.properties.modified = FIXED_TIMESTAMP
    for sheet in dept.sheets:
        ws = wb.create_sheet(sheet.name or "Sheet1")
        width = len(sheet.header)
        last = get_column_letter(width)
        for k in range(width):
            ws.column_dimensions[get_column_letter(k + 1)].width = 14 if k > 1 else 24
        line = 1
        if sheet.title:
            cell = WriteOnlyCell(ws, value=sheet.title)
            cell.font, cell.alignment = _TITLE_FONT, _CENTER
            ws.append([cell])
            ws.merged_cells.add(CellRange(f"A1:{last}1"))
            line += 1
        if sheet.groups:
            upper: list[Any] = list(sheet.header)
            lower: list[Any] = [None] * width
            grouped: set[int] = set()
            for text, first, end in sheet.groups:
                for k in range(first, end + 1):
                    grouped.add(k)
                    upper[k] = None
                    lower[k] = sheet.header[k]
                upper[first] = text
                ws.merged_cells.add(
                    CellRange(
                        f"{get_column_letter(first + 1)}{line}:{get_column_letter(end + 1)}{line}"
                    )
                )
            for k in range(width):
                if k not in grouped:
                    letter = get_column_letter(k + 1)
                    ws.merged_cells.add(CellRange(f"{letter}{line}:{letter}{line + 1}"))
            ws.append([_header_cell(ws, v) for v in upper])
            ws.append([_header_cell(ws, v) for v in lower])
        else:
            ws.append([_header_cell(ws, v) for v in sheet.header])
        for row in sheet.rows:
            ws.append(row)
        if sheet.total is not None:
            ws.append(sheet.total)
    buf = io.BytesIO()
    wb.save(buf)
    _deterministic_zip(buf.getvalue(), path)


def _header_cell(ws: Any, value: Any) -> Any:
    if value is None:
        return None
    cell = WriteOnlyCell(ws, value=value)
    cell.font, cell.alignment = _HEADER_FONT, _CENTER
    return cell


_CORE_TIMES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def _deterministic_zip(data: bytes, path: Path) -> None:
    """Rewrite openpyxl's ZIP with fixed entry dates and fixed core-property times."""
    stamp = FIXED_TIMESTAMP.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _CORE_TIMES.sub(lambda m: m.group(1) + stamp + m.group(3), content)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIMESTAMP.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 0
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, content, compresslevel=6)
