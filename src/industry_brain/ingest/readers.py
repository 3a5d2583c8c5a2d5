"""Readers for department exports (部门导出文件): CSV in any encoding, XLSX and XLS.

A reader turns one file into raw string tables (``RawTable``): one per sheet, every cell as
the text a person sees, every data row with the row/line number a person sees, and every row
that is not data (标题行 title rows, 空行 blank rows, 合计/小计/总计 total rows, repeated
表头 header rows, 注/填表人 notes under the table) listed with a reason code instead of being
dropped silently.

CSV (逗号分隔文件): UTF-8, UTF-8 with BOM, UTF-16 with BOM and GBK/GB2312/GB18030 (read as
GB18030) are detected; the text is decoded in Python and parsed by ``pyarrow.csv`` with every
column as a string, so a 1,000,000-row file reads in about a second. Line numbers come from a
vectorised scan of the line breaks (quoted line breaks inside a value do not start a record).

Excel (XLSX/XLS/XLSB/ODS) is read with python-calamine; merged cells (合并单元格) are taken
from calamine's merged ranges. Numbers are rendered without float noise, date cells as ISO
dates.

Header detection (表头识别): the header is the row among the first 30 with the most cells
matching ``header_hints`` (known column aliases, compared after NFKC/whitespace cleanup and
after dropping a bracketed unit suffix such as ``（千元）``); without hints, the first row of
mostly text nearly as wide as the widest such row. A parent row above (``能源消费量`` over
``原煤/焦炭``), a child row below or a units row below (``千元``) make a two- or three-row
header; a 单位：万元 note above the header is kept as ``RawTable.unit_note``.

Reason codes in ``RawTable.skipped``: ``title``, ``blank``, ``column_codes`` (the 甲/乙/1/2
column-code row of statistical forms), ``total_row``, ``repeated_header``, ``note``.

Hostile or oversized files (超限文件) are refused before any large allocation, within the
bounds of the dated parameters ``ingest.limits.*`` (``Limits``): the file size is checked
first; an Excel zip (XLSX/XLSM/XLSB/ODS) has every member decompressed as a stream, counting
bytes (total size and compression ratio: a zip bomb), and every XLSX worksheet's XML is scanned
with regular expressions over the stream for its declared ``<dimension>``, the cell references,
the number of cells, formulas without a cached value and error cells (``#DIV/0!``), all before
calamine loads a sheet. ``file.too_large``: more bytes, rows, columns or cells than allowed;
``file.sparse``: a used range (declared or spanned by the cells) far beyond the bounds while
the cells themselves are few (a 4.8 KB file with cells at A2 and XFD1048576). A CSV file is
read whole (its size is bounded) and its number of fields per record is checked before the
table is built. Cells Excel shows as formulas without a cached value or as error values are
listed in ``RawTable.cell_flags`` (calamine reads both as empty).
"""

from __future__ import annotations

import codecs
import csv
import html
import io
import os
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import python_calamine

from industry_brain.core import parameters
from industry_brain.core.errors import Location, ValidationError
from industry_brain.core.units import DIMENSIONS, canonical_unit

__all__ = [
    "CSV_EXTENSIONS",
    "EXCEL_EXTENSIONS",
    "HEADER_SCAN_ROWS",
    "SKIP_REASONS",
    "CellFlag",
    "Limits",
    "RawColumn",
    "RawTable",
    "clean_label",
    "column_letter",
    "header_key",
    "header_key_variants",
    "read_file",
]

CSV_EXTENSIONS = frozenset({".csv", ".txt", ".tsv"})
EXCEL_EXTENSIONS = frozenset({".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"})
HEADER_SCAN_ROWS = 30
DELIMITERS = (",", "\t", ";", "|")
SKIP_REASONS = ("title", "blank", "column_codes", "total_row", "repeated_header", "note")

_ZIP_MAGIC = b"PK\x03\x04"
# A CSV field may be long (a huge cell is reported by the pipeline as value.too_long, not
# raised by the csv module's default 128 KiB limit); the file size bounds it.
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

Grid = list[list[str | None]]
Merge = tuple[int, int, int, int]  # first row, first column, last row, last column (0-based)


# -- public data structures ------------------------------------------------------------------
@dataclass(frozen=True)
class Limits:
    """Bounds on a department file (parameters ``ingest.limits.*``, see ``ingest.yaml``)."""

    max_file_bytes: int
    max_uncompressed_bytes: int
    max_compression_ratio: float
    ratio_check_from_bytes: int
    max_rows: int
    max_columns: int
    max_cells: int
    max_cell_chars: int

    @classmethod
    def from_parameters(cls, on: date | None = None) -> Limits:
        """The limits in force on ``on`` (default: today)."""
        params = parameters.load()

        def get(name: str) -> Any:
            return params.get(f"ingest.limits.{name}", on=on or date.today())

        mb = 1 << 20
        return cls(
            max_file_bytes=int(get("max_file_mb") * mb),
            max_uncompressed_bytes=int(get("max_uncompressed_mb") * mb),
            max_compression_ratio=float(get("max_compression_ratio")),
            ratio_check_from_bytes=int(get("ratio_check_from_mb") * mb),
            max_rows=int(get("max_rows")),
            max_columns=int(get("max_columns")),
            max_cells=int(get("max_cells")),
            max_cell_chars=int(get("max_cell_chars")),
        )


@dataclass(frozen=True)
class CellFlag:
    """A cell calamine reads as empty but that is not: ``kind`` ``formula_uncached`` (a formula
    saved without its result, e.g. by a script) or ``error`` (an Excel error value such as
    ``#DIV/0!``, given in ``value``). ``row`` is 1-based, ``column`` 0-based."""

    row: int
    column: int
    kind: str
    value: str | None = None


@dataclass
class RawColumn:
    """One column of a sheet.

    ``name`` is the lowest non-empty header label, cleaned (e.g. ``原煤(吨)``); ``label`` the
    full label with the parent header and a units row (e.g. ``能源消费量/原煤(吨)``,
    ``工业总产值/千元``), used to find units; ``index`` the 0-based column index in the sheet
    (also the position of the column in ``RawTable.data``); ``letter`` the Excel column letter.
    A column without a header label but with data has ``name == label == ""``.
    """

    name: str
    label: str
    index: int
    letter: str


@dataclass
class RawTable:
    """One sheet (工作表) or CSV file as raw strings.

    ``data`` has one string column per ``RawColumn``, named ``c{index}`` and in index order
    (``data.column(col.index)`` is the column of ``col``), null for empty cells.
    ``row_numbers`` (int32) gives each data row's 1-based row/line number as seen in Excel or
    a text editor. ``header_rows`` are the 1-based numbers of the header rows; ``skipped``
    lists every other row that is not data as ``(row number, reason)``. ``unit_note`` is a
    sheet-wide unit written above or beside the header (``单位：万元`` → ``"万元"``), for
    columns whose header names no unit.
    """

    file: str
    sheet: str | None
    encoding: str | None
    columns: list[RawColumn]
    data: pa.Table
    row_numbers: pa.Array
    header_rows: list[int]
    skipped: list[tuple[int, str]] = field(default_factory=list)
    unit_note: str | None = None
    cell_flags: list[CellFlag] = field(default_factory=list)

    @property
    def num_rows(self) -> int:
        return self.data.num_rows

    def column(self, col: RawColumn | int) -> pa.Array:
        """The data of one column as a single (unchunked) string array."""
        index = col.index if isinstance(col, RawColumn) else int(col)
        arr = self.data.column(index)
        return arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)


# -- label helpers -----------------------------------------------------------------------------
_NEWLINE = re.compile(r"\s*[\r\n]+\s*")
_SPACES = re.compile(r"\s+")
_UNIT_SUFFIX = re.compile(r"[(\[【〔][^()\[\]【】〔〕]*[)\]】〕]$")


def _join_newline(m: re.Match[str]) -> str:
    s = m.string
    before = s[m.start() - 1] if m.start() > 0 else ""
    after = s[m.end()] if m.end() < len(s) else ""
    latin = before.isascii() and before.isalnum() and after.isascii() and after.isalnum()
    return " " if latin else ""


def clean_label(text: object) -> str:
    """Clean a header cell (表头): NFKC, line breaks removed, whitespace collapsed, the
    required-field marker ``*`` of templates dropped.

    >>> clean_label("工业总产值\\n（千元）")
    '工业总产值(千元)'
    """
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    s = _NEWLINE.sub(_join_newline, s)
    return _SPACES.sub(" ", s).strip().strip("*※").strip()


def header_key(text: object) -> str:
    """Matching key of a header label or alias: cleaned, no whitespace, case-folded."""
    return _SPACES.sub("", clean_label(text)).casefold()


def header_key_variants(text: object) -> list[str]:
    """The key of a label and the keys with trailing bracketed suffixes (units) removed.

    >>> header_key_variants("工业总产值（当年价格）（千元）")
    ['工业总产值(当年价格)(千元)', '工业总产值(当年价格)', '工业总产值']
    """
    key = header_key(text)
    out = [key]
    while True:
        shorter = _UNIT_SUFFIX.sub("", key)
        if shorter == key or not shorter:
            return out
        out.append(shorter)
        key = shorter


def column_letter(index: int) -> str:
    """Excel column letter of a 0-based column index: 0 → A, 25 → Z, 26 → AA."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# -- cell classification (header detection) --------------------------------------------------
_DATE_LIKE = re.compile(r"^\d{4}\s*[年\-/.]\s*\d{1,2}")
_CODE_LIKE = re.compile(r"^[0-9A-Za-z]{15,20}$")
_META = re.compile(r"^(?!其中)[^:：]{1,12}[:：]")
_COLUMN_CODES = "甲乙丙丁戊己庚辛壬癸"
_EXTRA_UNITS = (
    "%",
    "‰",
    "个",
    "家",
    "台",
    "套",
    "项",
    "件",
    "户",
    "次",
    "辆",
    "张",
    "元/吨",
    "年",
    "月",
    "天",
    "小时",
    "千瓦",
    "kw",
    "kva",
    "兆瓦",
    "mw",
    "万人",
)
_UNIT_KEYS = frozenset(
    {canonical_unit(alias) for dim in DIMENSIONS.values() for alias in dim.factors}
    | {canonical_unit(u) for u in _EXTRA_UNITS}
)
_UNIT_LABELS = frozenset({"单位", "计量单位"})
_UNIT_PREFIX = re.compile(r"^(?:计量)?单位[:：]?")
_TOTAL_RE = r"^[\s\x{3000}\x{a0}]*(?:合[\s\x{3000}]*计|小[\s\x{3000}]*计|总[\s\x{3000}]*计)"
_NOTE_RE = (
    r"^[\s\x{3000}]*(?:(?:注|说明|备注|填表人|填报人|制表人?|审核人?|负责人|单位负责人|"
    r"统计负责人|数据来源|资料来源|报出日期|填报日期|填表日期|联系电话|联系人)"
    r"[\s\x{3000}]*[:：]|注[\s\x{3000}]*\d+[:：、.．])"
)


def _is_data_like(value: str) -> bool:
    """True for cells that look like data rather than a header label (numbers, dates, codes)."""
    v = value.strip()
    if not any(unicodedata.category(ch).startswith("L") for ch in v):
        return True  # digits, punctuation, dashes
    if _DATE_LIKE.match(v):
        return True
    return bool(_CODE_LIKE.match(v)) and sum(ch.isdigit() for ch in v) >= 6


def _is_unit_text(value: str) -> bool:
    key = canonical_unit(value)
    if key in _UNIT_LABELS:
        return True
    key = _UNIT_PREFIX.sub("", key)
    if not key:
        return False
    parts = re.split(r"[/每]", key)
    return all(p in _UNIT_KEYS for p in parts if p) and any(parts)


def _cells(grid: Grid, r: int) -> dict[int, str]:
    if r < 0 or r >= len(grid):
        return {}
    return {c: v for c, v in enumerate(grid[r]) if v is not None}


def _cell(grid: Grid, r: int, c: int) -> str | None:
    if r < 0 or r >= len(grid) or c >= len(grid[r]):
        return None
    return grid[r][c]


def _merge_at(merges: Sequence[Merge], r: int, c: int) -> Merge | None:
    for m in merges:
        if m[0] <= r <= m[2] and m[1] <= c <= m[3]:
            return m
    return None


# -- header detection --------------------------------------------------------------------------
@dataclass
class _Header:
    rows: list[int]  # 0-based grid rows of the header, top to bottom
    names: list[str]  # per column 0..width-1
    labels: list[str]
    raw: list[list[str]]  # per column: raw header cell texts (repeated-header detection)
    data_start: int  # 0-based grid row of the first data row
    extra_skips: list[tuple[int, str]]  # (0-based grid row, reason) inside the header block


def _hint_score(cells: dict[int, str], hint_keys: frozenset[str]) -> int:
    return sum(1 for v in cells.values() if any(k in hint_keys for k in header_key_variants(v)))


def _choose_header_row(grid: Grid, hint_keys: frozenset[str]) -> int | None:
    limit = min(len(grid), HEADER_SCAN_ROWS)
    if hint_keys:
        scores = [_hint_score(_cells(grid, r), hint_keys) for r in range(limit)]
        best = max(scores, default=0)
        if best > 0:
            return scores.index(best)
    candidates: list[tuple[int, int]] = []
    for r in range(limit):
        cells = _cells(grid, r)
        values = [v for v in cells.values() if v.strip()]
        text = [v for v in values if not _is_data_like(v)]
        meta = [v for v in values if _META.match(v.strip())]
        if len(text) >= 2 and 3 * len(text) >= 2 * len(values) and 2 * len(meta) < len(values):
            candidates.append((r, len(values)))
    if not candidates:
        return None
    widest = max(n for _, n in candidates)
    return next(r for r, n in candidates if 4 * n >= 3 * widest)


def _textual(cells: dict[int, str]) -> bool:
    return bool(cells) and all(not _is_data_like(v) and not _META.match(v) for v in cells.values())


def _extent(grid: Grid, merges: Sequence[Merge], p: int, c: int, child: dict[int, str]) -> range:
    """Columns covered by parent cell (p, c): its merged range, or (no merges in the row) the
    run of empty parent cells to its right that have a child label."""
    m = _merge_at(merges, p, c)
    if m is not None:
        return range(m[1], m[3] + 1)
    if any(mm[0] <= p <= mm[2] for mm in merges):
        return range(c, c + 1)
    end = c + 1
    while end in child and _cell(grid, p, end) is None:
        end += 1
    return range(c, end)


def _is_parent(grid: Grid, merges: Sequence[Merge], p: int, c: int, allow_vertical: bool) -> bool:
    """Is row ``p`` a parent header row (e.g. 能源消费量 over 原煤, 焦炭) of row ``c``?"""
    parent, child = _cells(grid, p), _cells(grid, c)
    if p < 0 or not _textual(parent) or not _textual(child):
        return False
    span = set(child)
    left = min(span | set(parent))
    if len(parent) == 1 and min(parent) <= left:
        return False  # a single cell at the left edge is a title (标题), not a group label
    for col in parent:
        if col <= left:
            continue  # left-edge cells are titles or vertical labels, not group labels
        cover = set(_extent(grid, merges, p, col, child)) & span
        if len(cover) >= 2 and (len(parent) >= 2 or not span <= cover):
            return True  # a group label over several child labels
    if allow_vertical and len(parent) >= 2:
        lo, hi = min(span), max(span)
        return any(lo <= col <= hi and col not in span for col in parent)
    return False


def _is_units_row(grid: Grid, r: int, labelled: set[int]) -> bool:
    cells = _cells(grid, r)
    values = {c: v for c, v in cells.items() if v.strip()}
    if not values or not all(_is_unit_text(v) for v in values.values()):
        return False
    real = [c for c, v in values.items() if canonical_unit(v) not in _UNIT_LABELS]
    return bool(real) and all(c in labelled for c in real)


def _is_column_code_row(grid: Grid, r: int) -> bool:
    """The 栏次 row of statistical forms: 甲, 乙, 丙… then 1, 2, 3… under the header."""
    values = [v.strip() for v in _cells(grid, r).values() if v.strip()]
    codes = [v for v in values if v in _COLUMN_CODES]
    numbers = values[len(codes) :]
    return (
        bool(codes)
        and "".join(codes) == _COLUMN_CODES[: len(codes)]
        and numbers == [str(i) for i in range(1, len(numbers) + 1)]
    )


def _detect_header(grid: Grid, merges: Sequence[Merge], hints: Collection[str]) -> _Header | None:
    hint_keys = frozenset(k for h in hints for k in header_key_variants(h) if k)
    main = _choose_header_row(grid, hint_keys)
    if main is None:
        return None
    parent: int | None = None
    if _is_parent(grid, merges, main, main + 1, allow_vertical=False):
        parent, main = main, main + 1
    elif _is_parent(grid, merges, main - 1, main, allow_vertical=True):
        parent = main - 1
    rows = [r for r in (parent, main) if r is not None]
    width = max((max(_cells(grid, r), default=-1) + 1 for r in rows), default=0)

    def main_label(col: int) -> str:
        v = _cell(grid, main, col)
        if v is None:
            m = _merge_at(merges, main, col)
            if m is not None and m[1] == col and m[0] < main:
                v = _cell(grid, m[0], m[1])  # vertical merge from the parent row
        return clean_label(v)

    def parent_labels() -> list[str]:
        if parent is None:
            return [""] * width
        out: list[str] = []
        merged_row = any(m[0] <= parent <= m[2] for m in merges)
        for col in range(width):
            v = _cell(grid, parent, col)
            if v is None and merged_row:
                m = _merge_at(merges, parent, col)
                if m is not None:
                    v = _cell(grid, m[0], m[1])
            elif (
                v is None
                and col > 0
                and out[col - 1]
                and main_label(col)
                and main_label(col - 1)
                and _cell(grid, main, col) is not None
            ):
                out.append(out[col - 1])  # CSV: a group label runs over its sub-labels
                continue
            out.append(clean_label(v))
        return out

    tops = parent_labels()
    mains = [main_label(col) for col in range(width)]
    labelled = {col for col in range(width) if tops[col] or mains[col]}
    units_row = main + 1 if _is_units_row(grid, main + 1, labelled) else None
    if units_row is not None:
        rows.append(units_row)
        width = max(width, max(_cells(grid, units_row), default=-1) + 1)
        tops += [""] * (width - len(tops))
        mains += [""] * (width - len(mains))
    names: list[str] = []
    labels: list[str] = []
    raw: list[list[str]] = []
    for col in range(width):
        top, mid = tops[col], mains[col]
        unit = ""
        if units_row is not None:
            u = clean_label(_cell(grid, units_row, col))
            unit = "" if canonical_unit(u) in _UNIT_LABELS else u
        if top == mid:
            top = ""
        name = mid or top
        parts: list[str] = []
        for part in (top, mid, unit):
            if part and (not parts or parts[-1] != part):
                parts.append(part)
        names.append(name)
        labels.append("/".join(parts))
        raw.append([v for r in rows if (v := _cell(grid, r, col)) is not None])
    data_start = rows[-1] + 1
    extra: list[tuple[int, str]] = []
    if _is_column_code_row(grid, data_start):
        extra.append((data_start, "column_codes"))
        data_start += 1
    return _Header(rows, names, labels, raw, data_start, extra)


_UNIT_NOTE = re.compile(r"单位\s*[:：]\s*([^\s,，;；)）\]】]+)")


def _unit_note(grid: Grid, header: _Header) -> str | None:
    """A sheet-wide unit (计量单位) written in the title rows or the header, e.g. 单位：万元."""
    for r in range(header.rows[-1] + 1):
        for v in _cells(grid, r).values():
            m = _UNIT_NOTE.search(unicodedata.normalize("NFKC", v))
            if m and _is_unit_text(m.group(1)):
                return m.group(1)
    return None


def _leading_skips(grid: Grid, header: _Header) -> list[tuple[int, str]]:
    """Rows above the header (1-based): titles and blank rows; rows inside the header block."""
    out: list[tuple[int, str]] = []
    for r in range(header.rows[0]):
        out.append((r + 1, "title" if _cells(grid, r) else "blank"))
    out.extend((r + 1, reason) for r, reason in header.extra_skips)
    return out


# -- shared post-processing --------------------------------------------------------------------
def _blank_to_null(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    space = pc.utf8_is_space(arr)
    if pc.any(space).as_py():
        return pc.if_else(space, pa.scalar(None, pa.string()), arr)
    return arr


def _bool_np(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _matches(arr: pa.Array | pa.ChunkedArray, needle: str, pattern: str) -> np.ndarray:
    """Regex test, skipped when no value contains ``needle`` (a cheap pre-filter)."""
    hit = _bool_np(pc.match_substring(arr, needle))
    if hit.any():
        hit &= _bool_np(pc.match_substring_regex(arr, pattern))
    return hit


def _finish(
    *,
    file: str,
    sheet: str | None,
    encoding: str | None,
    header: _Header,
    data: pa.Table,
    row_numbers: np.ndarray,
    skipped: list[tuple[int, str]],
    unit_note: str | None,
) -> RawTable:
    """Name columns, drop non-data rows (recording why) and build the ``RawTable``."""
    columns_data = [_blank_to_null(data.column(i)) for i in range(data.num_columns)]
    width = len(header.names)
    keep_upto = width
    for i in range(len(columns_data) - 1, width - 1, -1):
        if columns_data[i].null_count < len(columns_data[i]):
            keep_upto = i + 1
            break
    while keep_upto > 0 and not (
        (keep_upto <= width and header.names[keep_upto - 1])
        or columns_data[keep_upto - 1].null_count < len(columns_data[keep_upto - 1])
    ):
        keep_upto -= 1  # trailing columns with neither a label nor data
    columns_data = columns_data[:keep_upto]
    n = data.num_rows
    if not columns_data:
        raise ValidationError(
            "read.no_header",
            "未找到表头（没有列名）",
            "no header found (no column labels)",
            Location(file=file, sheet=sheet),
        )

    nonnull = np.zeros(n, dtype=np.int32)
    for arr in columns_data:
        nonnull += _bool_np(pc.is_valid(arr))
    blank = nonnull == 0

    first = pc.coalesce(*columns_data[:3]) if len(columns_data) > 1 else columns_data[0]
    total = _matches(first, "计", _TOTAL_RE)
    for arr in columns_data[:2]:
        total |= _matches(arr, "计", _TOTAL_RE)

    matches = np.zeros(n, dtype=np.int32)
    labelled = 0
    for i, arr in enumerate(columns_data):
        raw = header.raw[i] if i < width else []
        if raw:
            labelled += 1
            matches += _bool_np(pc.is_in(arr, value_set=pa.array(raw, pa.string())))
    repeated = (matches >= min(2, max(labelled, 1))) & (2 * matches >= nonnull)

    note_candidate = _matches(first, ":", _NOTE_RE) | _matches(first, "：", _NOTE_RE)
    regular = ~(blank | total | repeated | note_candidate)
    last_regular = int(np.flatnonzero(regular)[-1]) if regular.any() else -1
    note = note_candidate & (np.arange(n) > last_regular)

    reasons = np.full(n, -1, dtype=np.int8)
    for code, mask in enumerate((note, repeated, total, blank)):
        reasons[mask] = code
    names = ("note", "repeated_header", "total_row", "blank")
    drop = reasons >= 0
    for i in np.flatnonzero(drop):
        skipped.append((int(row_numbers[i]), names[reasons[i]]))
    skipped.sort()

    keep = pa.array(~drop)
    out_cols = [pc.filter(arr, keep) if drop.any() else arr for arr in columns_data]
    table = pa.table(out_cols, names=[f"c{i}" for i in range(len(out_cols))])
    columns = [
        RawColumn(
            name=header.names[i] if i < width else "",
            label=header.labels[i] if i < width else "",
            index=i,
            letter=column_letter(i),
        )
        for i in range(len(out_cols))
    ]
    rows = pa.array(row_numbers[~drop].astype(np.int32), pa.int32())
    return RawTable(
        file=file,
        sheet=sheet,
        encoding=encoding,
        columns=columns,
        data=table,
        row_numbers=rows,
        header_rows=[r + 1 for r in header.rows],
        skipped=skipped,
        unit_note=unit_note,
    )


# -- errors ------------------------------------------------------------------------------------
def _no_header(file: str, sheet: str | None) -> ValidationError:
    return ValidationError(
        "read.no_header",
        "文件为空或未找到表头（前30行中没有列名行）",
        "the file is empty or no header row was found in the first 30 rows",
        Location(file=file, sheet=sheet),
    )


def _unreadable(file: str, exc: BaseException) -> ValidationError:
    return ValidationError(
        "read.unreadable",
        f"无法读取文件：{exc}",
        f"cannot read the file: {exc}",
        Location(file=file),
    )


# -- limits (file.too_large / file.sparse) ---------------------------------------------------
def _too_large(
    file: str, zh: str, en: str, value: Any = None, sheet: str | None = None
) -> ValidationError:
    return ValidationError("file.too_large", zh, en, Location(file=file, sheet=sheet), value)


def _sparse(file: str, sheet: str | None, used: str, cells: int, limits: Limits) -> ValidationError:
    return ValidationError(
        "file.sparse",
        f"工作表的使用区域 {used} 远超上限（最多 {limits.max_rows} 行、{limits.max_columns} 列、"
        f"{limits.max_cells} 个单元格），而实际只有 {cells} 个单元格：请删除多余的空行空列后另存",
        f"the sheet's used range {used} is far beyond the limits ({limits.max_rows} rows, "
        f"{limits.max_columns} columns, {limits.max_cells} cells) while it holds only {cells} "
        "cells: delete the stray cells and save again",
        Location(file=file, sheet=sheet),
        used,
    )


def _check_file_size(path: Path, file: str, limits: Limits) -> None:
    size = os.path.getsize(path)
    if size > limits.max_file_bytes:
        mb = limits.max_file_bytes / (1 << 20)
        raise _too_large(
            file,
            f"文件过大：{size / (1 << 20):.1f} MB，上限 {mb:g} MB",
            f"the file is too large: {size / (1 << 20):.1f} MB (limit {mb:g} MB)",
            size,
        )


def _col_index(letters: bytes) -> int:
    """0-based column index of Excel column letters: b"A" → 0, b"XFD" → 16383."""
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


_REF_RANGE = re.compile(r"^\$?([A-Z]{1,4})\$?(\d{1,9})(?::\$?([A-Z]{1,4})\$?(\d{1,9}))?$")
_ROOT_RE = re.compile(rb"<([A-Za-z_][\w.-]*:)?worksheet\b")


@dataclass(frozen=True)
class _Patterns:
    """Worksheet XML patterns for one namespace prefix (``b""`` or e.g. ``b"x:"``)."""

    prefix: bytes
    dimension: re.Pattern[bytes]
    row_r: re.Pattern[bytes]
    special: re.Pattern[bytes]
    formula: re.Pattern[bytes]
    value: re.Pattern[bytes]
    row_end: bytes


@cache
def _patterns(prefix: bytes) -> _Patterns:
    ns = re.escape(prefix)
    return _Patterns(
        prefix=prefix,
        dimension=re.compile(rb"<" + ns + rb"dimension\b[^>]*?\bref=\"([^\"]*)\""),
        row_r=re.compile(rb"<" + ns + rb"row\s[^>]*?\br=\"(\d{1,9})\""),
        special=re.compile(rb"<" + ns + rb"c\b([^>]*?)(?:/>|>(.*?)</" + ns + rb"c>)", re.DOTALL),
        formula=re.compile(rb"<" + ns + rb"f\b"),
        value=re.compile(rb"<" + ns + rb"v\b[^>]*>([^<]*)</" + ns + rb"v>", re.DOTALL),
        row_end=b"</" + prefix + b"row>",
    )


_ATTR_R_RE = re.compile(rb"\br=\"([A-Z]{1,4})(\d{1,9})\"")
_CELL_ROW_RE = re.compile(rb"\sr=\"[A-Z]{1,4}(\d{1,9})\"")
_CELL_COL_RE = re.compile(rb"\sr=\"([A-Z]{1,4})\d")
_ATTR_T_RE = re.compile(rb"\bt=\"([^\"]*)\"")


@dataclass
class _SheetScan:
    """What the stream scan of one worksheet's XML found."""

    patterns: _Patterns | None = None
    declared: tuple[int, int] | None = None  # rows, columns of the <dimension> ref
    cells: int = 0
    max_row: int = 0  # 1-based
    max_col: int = 0  # 1-based
    flags: list[CellFlag] = field(default_factory=list)

    def cut(self, buf: bytes) -> int:
        """End of the last complete row in ``buf`` (0 when there is none yet)."""
        if self.patterns is None:
            root = _ROOT_RE.search(buf)
            if root is None:
                return 0
            self.patterns = _patterns(root.group(1) or b"")
        end = self.patterns.row_end
        at = buf.rfind(end)
        return at + len(end) if at >= 0 else 0


def _scan_chunk(scan: _SheetScan, chunk: bytes) -> None:
    """Scan complete rows of worksheet XML (regular expressions, no per-cell Python)."""
    if scan.patterns is None:
        root = _ROOT_RE.search(chunk)
        scan.patterns = _patterns(root.group(1) or b"" if root else b"")
    pat = scan.patterns
    if scan.declared is None and scan.cells == 0:
        m = pat.dimension.search(chunk)
        if m:
            ref = _REF_RANGE.match(m.group(1).decode("ascii", "replace").upper())
            if ref:
                last_col, last_row = ref.group(3) or ref.group(1), ref.group(4) or ref.group(2)
                scan.declared = (int(last_row), _col_index(last_col.encode()) + 1)
    tag = b"<" + pat.prefix + b"c"
    tags = sum(chunk.count(tag + end) for end in (b" ", b">", b"/", b"\t", b"\n", b"\r"))
    scan.cells += tags
    # a cell's r="B12" (a row's r is digits only): its column letters and its row number
    numbers = _CELL_ROW_RE.findall(chunk)
    if numbers:
        letters = set(_CELL_COL_RE.findall(chunk))
        scan.max_col = max(scan.max_col, *(_col_index(c) + 1 for c in letters))
        scan.max_row = max(scan.max_row, max(map(int, numbers)))
    if len(numbers) < tags:  # cells without a reference: their position is their order in the row
        rows = pat.row_r.findall(chunk)
        if rows:
            scan.max_row = max(scan.max_row, max(map(int, rows)))
        for row in chunk.split(pat.row_end):
            width = sum(row.count(tag + end) for end in (b" ", b">", b"/"))
            scan.max_col = max(scan.max_col, width)
    if b"<" + pat.prefix + b"f" in chunk or b't="e"' in chunk:
        _special_cells(scan, chunk)


def _special_cells(scan: _SheetScan, chunk: bytes) -> None:
    """Formulas without a cached value and error cells (calamine reads both as empty)."""
    pat = scan.patterns
    assert pat is not None
    for m in pat.special.finditer(chunk):
        attrs, body = m.group(1), m.group(2) or b""
        t = _ATTR_T_RE.search(attrs)
        typ = t.group(1) if t else b"n"
        is_formula = pat.formula.search(body) is not None
        if typ != b"e" and not is_formula:
            continue
        ref = _ATTR_R_RE.search(attrs)
        if ref is None:
            continue  # no position to report (and calamine places it by order)
        row, col = int(ref.group(2)), _col_index(ref.group(1))
        v = pat.value.search(body)
        value = html.unescape(v.group(1).decode("utf-8", "replace")) if v else None
        if typ == b"e":
            scan.flags.append(CellFlag(row, col, "error", value or "#ERROR"))
        elif (value is None or value == "") and typ not in (b"str", b"inlineStr"):
            scan.flags.append(CellFlag(row, col, "formula_uncached"))


def _check_scan(scan: _SheetScan, file: str, sheet: str | None, limits: Limits) -> None:
    def fits(rows: int, cols: int) -> bool:
        return (
            rows <= limits.max_rows
            and cols <= limits.max_columns
            and rows * cols <= (limits.max_cells)
        )

    if scan.cells > limits.max_cells:
        raise _too_large(
            file,
            f"工作表单元格过多：超过 {limits.max_cells} 个",
            f"the sheet has too many cells: more than {limits.max_cells}",
            scan.cells,
            sheet,
        )
    rows, cols = scan.max_row, scan.max_col
    if not fits(rows, cols) or (scan.declared is not None and not fits(*scan.declared)):
        if scan.declared is not None and not fits(*scan.declared):
            rows, cols = max(rows, scan.declared[0]), max(cols, scan.declared[1])
        used = f"A1:{column_letter(max(cols, 1) - 1)}{max(rows, 1)}"
        if scan.cells * 100 < rows * cols:  # under 1 % of the used range holds a cell
            raise _sparse(file, sheet, used, scan.cells, limits)
        raise _too_large(
            file,
            f"工作表过大：使用区域 {used}（上限 {limits.max_rows} 行、{limits.max_columns} 列、"
            f"{limits.max_cells} 个单元格）",
            f"the sheet is too large: used range {used} (limits {limits.max_rows} rows, "
            f"{limits.max_columns} columns, {limits.max_cells} cells)",
            used,
            sheet,
        )


def _xlsx_sheet_names(zf: zipfile.ZipFile, sizes_ok: set[str]) -> dict[str, str]:
    """Worksheet member path → sheet name, from xl/workbook.xml and its relationships."""
    names: dict[str, str] = {}
    if "xl/workbook.xml" not in sizes_ok or "xl/_rels/workbook.xml.rels" not in sizes_ok:
        return names
    book = zf.read("xl/workbook.xml")
    rels = zf.read("xl/_rels/workbook.xml.rels")
    targets: dict[bytes, str] = {}
    for m in re.finditer(rb"<(?:\w+:)?Relationship\b([^>]*)>", rels):
        rid = re.search(rb"\bId=\"([^\"]*)\"", m.group(1))
        target = re.search(rb"\bTarget=\"([^\"]*)\"", m.group(1))
        if rid and target:
            t = target.group(1).decode("utf-8", "replace")
            targets[rid.group(1)] = t.lstrip("/") if t.startswith("/") else f"xl/{t}"
    for m in re.finditer(rb"<(?:\w+:)?sheet\b([^>]*)>", book):
        name = re.search(rb"\bname=\"([^\"]*)\"", m.group(1))
        rid = re.search(rb"\br:id=\"([^\"]*)\"|\bid=\"([^\"]*)\"", m.group(1))
        if name and rid:
            key = rid.group(1) or rid.group(2)
            if key in targets:
                names[targets[key]] = html.unescape(name.group(1).decode("utf-8", "replace"))
    return names


_CHUNK = 1 << 20


def _stream_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    file: str,
    limits: Limits,
    scan: _SheetScan | None,
    sheet: str | None,
    total: int,
) -> int:
    """Decompress one member as a stream within the limits; returns the running total."""
    limit_mb = limits.max_uncompressed_bytes / (1 << 20)
    ratio = limits.max_compression_ratio
    size = 0
    carry = b""
    with zf.open(info) as member:
        while chunk := member.read(_CHUNK):
            size += len(chunk)
            total += len(chunk)
            if total > limits.max_uncompressed_bytes:
                raise _too_large(
                    file,
                    f"文件解压后超过 {limit_mb:g} MB",
                    f"the file is larger than {limit_mb:g} MB uncompressed",
                    total,
                )
            if size > limits.ratio_check_from_bytes and size > ratio * max(info.compress_size, 1):
                raise _too_large(
                    file,
                    f"压缩比异常（超过 {ratio:g} 倍，疑似压缩炸弹）：{info.filename}",
                    f"abnormal compression ratio (over {ratio:g}×, a zip bomb?): {info.filename}",
                    info.filename,
                )
            if scan is not None:
                buf = carry + chunk if carry else chunk
                cut = scan.cut(buf)
                if not cut and len(buf) > 8 * _CHUNK:  # one enormous row: scan what is whole
                    cut = buf.rfind(b">") + 1
                if cut:
                    _scan_chunk(scan, buf[:cut])
                    _check_scan(scan, file, sheet, limits)
                carry = buf[cut:]
    if scan is not None:
        _scan_chunk(scan, carry)
        _check_scan(scan, file, sheet, limits)
    return total


def _check_zip(path: Path, file: str, limits: Limits) -> dict[str, list[CellFlag]]:
    """Stream every member of an Excel zip within the limits; scan XLSX worksheets.

    Returns the cell flags per sheet name. Raises ``file.too_large`` / ``file.sparse``, or
    ``read.unreadable`` for a truncated or corrupt zip."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _unreadable(file, exc) from exc
    flags: dict[str, list[CellFlag]] = {}
    total = 0
    limit_mb = limits.max_uncompressed_bytes / (1 << 20)
    with zf:
        infos = zf.infolist()
        declared = sum(i.file_size for i in infos)
        if declared > limits.max_uncompressed_bytes:
            raise _too_large(
                file,
                f"文件解压后过大：{declared / (1 << 20):.0f} MB，上限 {limit_mb:g} MB",
                f"the file is too large uncompressed: {declared / (1 << 20):.0f} MB "
                f"(limit {limit_mb:g} MB)",
                declared,
            )
        sheets = {
            i.filename
            for i in infos
            if re.fullmatch(r"xl/worksheets/[^/]+\.xml", i.filename, re.IGNORECASE)
        }
        ok = {i.filename for i in infos}
        names = _xlsx_sheet_names(zf, ok) if sheets else {}
        for info in infos:
            if info.is_dir():
                continue
            sheet = names.get(info.filename, info.filename) if info.filename in sheets else None
            scan = _SheetScan() if sheet is not None else None
            try:
                total = _stream_member(zf, info, file, limits, scan, sheet, total)
            except ValidationError:
                raise
            except Exception as exc:  # zlib.error, BadZipFile, EOFError: a corrupt member
                raise _unreadable(file, exc) from exc
            if scan is not None and sheet is not None:
                flags[sheet] = scan.flags
    return flags


def _check_range(ws: Any, file: str, sheet: str, limits: Limits) -> None:
    """Bound a loaded sheet (XLS, XLSB, ODS) before it is turned into Python values."""
    end = ws.end
    rows, cols = (int(end[0]) + 1, int(end[1]) + 1) if end else (0, 0)
    if rows > limits.max_rows or cols > limits.max_columns or rows * cols > limits.max_cells:
        used = f"A1:{column_letter(max(cols, 1) - 1)}{max(rows, 1)}"
        raise _too_large(
            file,
            f"工作表过大：使用区域 {used}（上限 {limits.max_rows} 行、{limits.max_columns} 列、"
            f"{limits.max_cells} 个单元格）",
            f"the sheet is too large: used range {used} (limits {limits.max_rows} rows, "
            f"{limits.max_columns} columns, {limits.max_cells} cells)",
            used,
            sheet,
        )


# -- Excel -------------------------------------------------------------------------------------
def _render_float(v: float) -> str:
    if v != v or v in (float("inf"), float("-inf")):
        return str(v)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    s = f"{v:.15g}"  # Excel shows 15 significant digits: no float noise
    if "e" in s:
        s = format(Decimal(s), "f")
        if "." in s:
            s = s.rstrip("0").rstrip(".")
    return s


def _render(v: Any) -> str | None:
    """The text a person sees in an Excel cell."""
    if v is None:
        return None
    if isinstance(v, str):
        return v if v.strip() else None
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _render_float(v)
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == time(0) else v.isoformat(sep=" ")
    if isinstance(v, date | time):
        return v.isoformat()
    if isinstance(v, timedelta):
        return str(v)
    return str(v)


def _fill_merged_data(grid: Grid, merges: Sequence[Merge], start: int) -> None:
    """Give every cell of a merged range in the data area the value of its top-left cell."""
    for r0, c0, r1, c1 in merges:
        if r0 < start:
            continue
        value = _cell(grid, r0, c0)
        if value is None:
            continue
        for r in range(r0, min(r1, len(grid) - 1) + 1):
            row = grid[r]
            for c in range(c0, c1 + 1):
                if c < len(row) and row[c] is None:
                    row[c] = value


def _sheet_table(
    file: str,
    sheet: str,
    rows: list[list[Any]],
    merges: Sequence[Merge],
    hints: Collection[str],
    fill_merged: bool,
    flags: Sequence[CellFlag] = (),
) -> RawTable | None:
    grid: Grid = [[_render(v) for v in row] for row in rows]
    for flag in flags:  # calamine reads an error cell as empty: show its value, as Excel does
        if (
            flag.kind == "error"
            and flag.row - 1 < len(grid)
            and flag.column < len(grid[flag.row - 1])
        ):
            grid[flag.row - 1][flag.column] = flag.value
    while grid and not any(v is not None for v in grid[-1]):
        grid.pop()
    if not grid:
        return None
    header = _detect_header(grid, merges, hints)
    if header is None:
        return None
    if fill_merged:
        _fill_merged_data(grid, merges, header.data_start)
    body = grid[header.data_start :]
    width = max([len(header.names), *(len(r) for r in body)])
    arrays = [
        pa.array([row[c] if c < len(row) else None for row in body], pa.string())
        for c in range(width)
    ]
    data = pa.table(arrays, names=[f"c{i}" for i in range(width)])
    numbers = np.arange(header.data_start + 1, len(grid) + 1, dtype=np.int64)
    table = _finish(
        file=file,
        sheet=sheet,
        encoding=None,
        header=header,
        data=data,
        row_numbers=numbers,
        skipped=_leading_skips(grid, header),
        unit_note=_unit_note(grid, header),
    )
    table.cell_flags = list(flags)
    return table


def _read_excel(
    path: Path,
    file: str,
    sheet: str | None,
    hints: Collection[str],
    fill_merged: bool,
    limits: Limits,
    is_zip: bool,
) -> list[RawTable]:
    flags = _check_zip(path, file, limits) if is_zip else {}
    try:
        wb = python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several error types for broken files
        raise _unreadable(file, exc) from exc
    with wb:
        names = list(wb.sheet_names)
        if sheet is not None:
            if sheet not in names:
                listed = "、".join(names)
                raise ValidationError(
                    "read.sheet_not_found",
                    f"工作表“{sheet}”不存在（现有工作表：{listed}）",
                    f"sheet '{sheet}' not found (available sheets: {', '.join(names)})",
                    Location(file=file, sheet=sheet),
                    sheet,
                )
            targets = [sheet]
        else:
            visible = [
                m.name
                for m in wb.sheets_metadata
                if m.visible == python_calamine.SheetVisibleEnum.Visible
            ]
            targets = visible or names
        tables: list[RawTable] = []
        for name in targets:
            try:
                ws = wb.get_sheet_by_name(name)
            except Exception as exc:
                raise _unreadable(file, exc) from exc
            _check_range(ws, file, name, limits)
            try:
                rows = ws.to_python(skip_empty_area=False)
                ranges = ws.merged_cell_ranges or []
            except Exception as exc:
                raise _unreadable(file, exc) from exc
            merges = [(a[0], a[1], b[0], b[1]) for a, b in ranges]
            table = _sheet_table(file, name, rows, merges, hints, fill_merged, flags.get(name, ()))
            if table is None and sheet is not None:
                raise _no_header(file, sheet)
            if table is not None:
                tables.append(table)
    if not tables:
        raise _no_header(file, None)
    return tables


# -- CSV ---------------------------------------------------------------------------------------
_ENCODING_ALIASES = {
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "euc-cn": "gb18030",
    "euccn": "gb18030",
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8",
    "utf_8": "utf-8",
}


def _encoding_error(file: str, data: bytes, enc: str, exc: UnicodeDecodeError) -> ValidationError:
    line = data.count(b"\n", 0, exc.start) + 1
    return ValidationError(
        "read.encoding",
        f"第{line}行无法按 {enc} 编码解码（请确认文件编码）",
        f"line {line} cannot be decoded as {enc} (check the file encoding)",
        Location(file=file, row=line),
        enc,
    )


def _decode(data: bytes, encoding: str | None, file: str) -> tuple[str | None, str]:
    """Decode CSV bytes: returns (text or None when the bytes are valid UTF-8, encoding)."""
    if encoding:
        name = encoding.strip().lower()
        enc = _ENCODING_ALIASES.get(name, name)
        try:
            enc = codecs.lookup(enc).name
        except LookupError as exc:
            raise ValidationError(
                "read.encoding",
                f"未知的编码“{encoding}”",
                f"unknown encoding '{encoding}'",
                Location(file=file),
                encoding,
            ) from exc
        if enc in ("gbk", "gb2312"):
            enc = "gb18030"
    elif data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        enc = "utf-16"
    else:
        enc = None
    if enc in (None, "utf-8"):
        bom = data.startswith(codecs.BOM_UTF8)
        try:
            data.decode("utf-8-sig")
            return None, "utf-8-sig" if bom else "utf-8"
        except UnicodeDecodeError as exc:
            if enc == "utf-8":
                raise _encoding_error(file, data, "utf-8", exc) from exc
        enc = "gb18030"
    try:
        return data.decode(enc), enc
    except UnicodeDecodeError as exc:
        raise _encoding_error(file, data, enc, exc) from exc


def _sniff_delimiter(sample: str) -> str:
    best, best_score = ",", (0, 0)
    for d in DELIMITERS:
        counts = [
            len(row)
            for row in csv.reader(io.StringIO(sample, newline=""), delimiter=d)
            if any(cell.strip() for cell in row)
        ]
        multi = [n for n in counts if n > 1]
        if not multi:
            continue
        mode, freq = Counter(multi).most_common(1)[0]
        score = (freq, mode)
        if score > best_score:
            best, best_score = d, score
    return best


def _parse_record(raw: bytes, delimiter: str, codec: str = "utf-8") -> list[str | None]:
    text = raw.decode(codec).rstrip("\r\n")
    if not text:
        return []
    row = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    return [v if v.strip() else None for v in row]


class _Records:
    """Record boundaries of CSV bytes: quoted line breaks do not end a record."""

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        arr = np.frombuffer(buf, dtype=np.uint8)
        self.arr = arr
        newlines = np.flatnonzero(arr == 10)
        self.quotes = np.flatnonzero(arr == 34)
        if self.quotes.size:
            inside = (np.searchsorted(self.quotes, newlines) & 1).astype(bool)
            self.quoted_newlines = bool(inside.any())
            bounds = newlines[~inside]
        else:
            self.quoted_newlines = False
            bounds = newlines
        starts = np.concatenate(([0], bounds + 1))
        ends = np.concatenate((bounds, [len(buf)]))
        if starts[-1] >= len(buf):
            starts, ends = starts[:-1], ends[:-1]
        self.starts = starts
        self.ends = ends
        if self.quoted_newlines:  # 1-based line number of each record start
            self.lines = np.searchsorted(newlines, starts) + 1
        else:
            self.lines = np.arange(1, len(starts) + 1)
        length = ends - starts
        last = arr[np.maximum(ends - 1, 0)] if len(buf) else np.zeros(0, np.uint8)
        self.empty = (length == 0) | ((length == 1) & (last == 13))

    def __len__(self) -> int:
        return len(self.starts)

    def raw(self, k: int) -> bytes:
        return self.buf[self.starts[k] : self.ends[k]]

    def field_counts(self, delimiter: str) -> np.ndarray:
        pos = np.flatnonzero(self.arr == ord(delimiter))
        if self.quotes.size:
            pos = pos[(np.searchsorted(self.quotes, pos) & 1) == 0]
        rec = np.searchsorted(self.starts, pos, side="right") - 1
        return np.bincount(rec, minlength=len(self)) + 1


def _rows_table(rows: list[list[str | None]], width: int) -> pa.Table:
    arrays = [
        pa.array([r[c] if c < len(r) else None for r in rows], pa.string()) for c in range(width)
    ]
    return pa.table(arrays, names=[f"c{i}" for i in range(width)])


def _widen(table: pa.Table, width: int) -> pa.Table:
    for i in range(table.num_columns, width):
        table = table.append_column(f"c{i}", pa.nulls(table.num_rows, pa.string()))
    return table


def _too_wide(file: str, width: int, limits: Limits) -> ValidationError:
    return _too_large(
        file,
        f"列数过多：{width} 列（上限 {limits.max_columns} 列）",
        f"too many columns: {width} (limit {limits.max_columns})",
        width,
    )


#: delimiters that never occur inside a GB18030 character (its trail bytes are 0x30–0x39 and
#: 0x40–0xFE; quotes and line ends are below 0x30 too), so GB18030 bytes can be split as they are
_GB_SAFE_DELIMITERS = (",", "\t", ";")
_GB18030_BOM = "\ufeff".encode("gb18030")


def _gb18030_codec(data: bytes, encoding: str | None) -> bool:
    """Whether ``data`` is read as GB18030 (given, or not UTF-8/UTF-16), checked without
    decoding the whole file; the bytes are then transcoded cell by cell (:func:`_transcode`)."""
    if data.startswith(_GB18030_BOM):
        return False
    if encoding:
        name = encoding.strip().lower()
        return _ENCODING_ALIASES.get(name, name) == "gb18030"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF8)):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _transcode(table: pa.Table, codec: str) -> pa.Table:
    """Binary columns of ``codec`` bytes as UTF-8 string columns: ASCII-only columns as they
    are (zero copy), repeating text (names, months) by decoding each distinct value once, other
    columns value by value. Raises ``UnicodeDecodeError`` on bytes that are not ``codec``."""
    out = []
    for i in range(table.num_columns):
        col = table.column(i)
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if len(arr) == 0:
            out.append(pa.array([], pa.string()))
            continue
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)
        first, last = int(offsets[arr.offset]), int(offsets[arr.offset + len(arr)])
        body = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[first:last] if last > first else []
        if not len(body) or int(np.max(body)) < 0x80:
            out.append(arr.view(pa.string()))
            continue
        encoded = pc.dictionary_encode(arr)
        if 2 * len(encoded.dictionary) <= len(arr):
            words = pa.array([v.decode(codec) for v in encoded.dictionary.to_pylist()], pa.string())
            out.append(pc.take(words, encoded.indices))
        else:
            out.append(
                pa.array(
                    [None if v is None else v.decode(codec) for v in arr.to_pylist()], pa.string()
                )
            )
    return pa.table(out, names=table.column_names)


def _read_csv(
    data: bytes, file: str, encoding: str | None, hints: Collection[str], limits: Limits
) -> RawTable:
    if _gb18030_codec(data, encoding):
        try:
            return _read_csv_buffer(data, "gb18030", file, hints, limits)
        except UnicodeDecodeError:
            pass  # decoding the whole file names the line of the bad bytes (read.encoding)
        except (_NotSafe, pa.ArrowInvalid):
            pass  # another delimiter, or rows of another width (their text is only UTF-8)
    text, used = _decode(data, encoding, file)
    if text is None:
        buf = data
        while buf.startswith(codecs.BOM_UTF8):  # a BOM written twice by a careless converter
            buf = buf[3:]
    else:
        buf = text.lstrip("\ufeff").encode("utf-8")
    return _read_csv_buffer(buf, "utf-8", file, hints, limits, used)


class _NotSafe(Exception):
    """The GB18030 bytes cannot be split as they are (another delimiter): decode them first."""


def _read_csv_buffer(
    buf: bytes,
    codec: str,
    file: str,
    hints: Collection[str],
    limits: Limits,
    used: str | None = None,
) -> RawTable:
    """Read CSV bytes in ``codec`` (UTF-8, or GB18030 split as bytes and transcoded cell by
    cell — decoding a whole GBK file in Python was a third of a large import's reading)."""
    used = used or codec
    if b"\n" not in buf and b"\r" in buf:
        buf = buf.replace(b"\r", b"\n")  # classic Mac line ends
    if not buf or buf.isspace():
        raise _no_header(file, None)
    rec = _Records(buf)
    head_n = min(len(rec), HEADER_SCAN_ROWS + 5)
    sample = buf[: rec.ends[head_n - 1]].decode(codec)
    delimiter = _sniff_delimiter(sample)
    if codec != "utf-8" and delimiter not in _GB_SAFE_DELIMITERS:
        raise _NotSafe(delimiter)
    grid: Grid = [_parse_record(rec.raw(k), delimiter, codec) for k in range(head_n)]
    header = _detect_header(grid, [], hints)
    if header is None:
        raise _no_header(file, None)
    # Exports often end every line with the same number of delimiters (the sheet's used
    # width), so the usual field count of the first data lines sets the width.
    lengths = Counter(len(grid[r]) for r in range(header.data_start, len(grid)) if grid[r])
    header_len = max(len(grid[r]) for r in header.rows)
    width = max(lengths.most_common(1)[0][0] if lengths else header_len, len(header.names), 1)
    if width > limits.max_columns:
        raise _too_wide(file, width, limits)
    start = header.data_start
    skipped = _leading_skips(grid, header)
    idx = np.arange(start, len(rec))
    empty = rec.empty[start:]
    skipped.extend((int(line), "blank") for line in rec.lines[idx[empty]])
    candidates = idx[~empty]

    if candidates.size == 0:
        table = _rows_table([], width)
        order = candidates
    else:
        bad: list[str] = []

        def on_invalid(row: Any) -> str:
            bad.append(row.text)
            return "skip"

        names = [f"c{i}" for i in range(width)]
        body = pa.py_buffer(buf).slice(int(rec.starts[start]))
        table = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=rec.quoted_newlines,
                ignore_empty_lines=True,
                # GB18030: pyarrow hands the handler text as UTF-8, so odd rows fall back
                invalid_row_handler=on_invalid if codec == "utf-8" else None,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string() if codec == "utf-8" else pa.binary()),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
        if codec != "utf-8":
            table = _transcode(table, codec)
        order = candidates
        if bad or table.num_rows != candidates.size:
            # Rows with another number of fields: pad or widen them in Python (rare rows).
            counts = rec.field_counts(delimiter)[candidates]
            if counts.size and int(counts.max()) > limits.max_columns:
                raise _too_wide(file, int(counts.max()), limits)
            odd = candidates[counts != width]
            regular = candidates[counts == width]
            if len(odd) == len(bad) and table.num_rows == regular.size:
                rows = [_parse_record(rec.raw(k), delimiter, codec) for k in odd]
            else:  # quoting that the fast path could not follow: parse every row in Python
                table = _rows_table([], width)
                regular = regular[:0]
                odd = candidates
                rows = [_parse_record(rec.raw(k), delimiter, codec) for k in odd]
            used_width = max(
                [
                    width,
                    *(
                        max((i + 1 for i, v in enumerate(r) if v is not None), default=0)
                        for r in rows
                    ),
                ]
            )
            extra = _rows_table(rows, used_width)
            table = pa.concat_tables([_widen(table, used_width), extra])
            order = np.concatenate((regular, odd))
            sort = np.argsort(order, kind="stable")
            table = table.take(pa.array(sort))
            order = order[sort]
    return _finish(
        file=file,
        sheet=None,
        encoding=used,
        header=header,
        data=table,
        row_numbers=rec.lines[order],
        skipped=skipped,
        unit_note=_unit_note(grid, header),
    )


# -- entry point -------------------------------------------------------------------------------
#: Signatures of files that are not spreadsheets, sent renamed (a PDF saved as .xlsx).
_BINARY_MAGIC = {
    b"%PDF": "PDF",
    b"\x89PNG": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF8": "GIF",
    b"\x1f\x8b": "gzip",
    b"7z\xbc\xaf": "7z",
    b"Rar!": "RAR",
    b"{\\rtf": "RTF",
    b"PK\x05\x06": "empty zip",
}


def _sniff_kind(head: bytes, suffix: str) -> str:
    if head.startswith(_ZIP_MAGIC) or head.startswith(_OLE_MAGIC):
        return "excel"
    if any(head.startswith(magic) for magic in _BINARY_MAGIC):
        return "binary"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<", b"\xff\xfe<", b"\xfe\xff\x00<")):
        return "html"
    if suffix in CSV_EXTENSIONS or suffix in EXCEL_EXTENSIONS:
        return "csv"  # a text export saved with an Excel extension is still text
    return "unknown"


def read_file(
    path: Path | str,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    header_hints: Collection[str] = (),
    fill_merged: bool = True,
    limits: Limits | None = None,
) -> list[RawTable]:
    """Read a department export into raw string tables, one per non-empty sheet.

    ``sheet`` picks one Excel sheet by name (``read.sheet_not_found`` lists the sheets when it
    does not exist; ignored for CSV). ``encoding`` overrides CSV encoding detection (GBK and
    GB2312 are read as GB18030). ``header_hints`` are known column aliases used to find the
    header row. ``fill_merged`` gives the cells of a merged range in the data area (e.g. a
    区县 cell merged over several rows) the range's value, as a person reads it.
    Hidden sheets are read only when named. ``limits`` bound the file (default: the
    parameters ``ingest.limits.*`` in force today).

    Errors (``ValidationError``): ``read.unreadable``, ``read.format``, ``read.encoding``,
    ``read.no_header``, ``read.sheet_not_found``, ``file.too_large``, ``file.sparse``.
    """
    limits = limits or Limits.from_parameters()
    p = Path(path)
    file = p.name
    suffix = p.suffix.lower()
    if suffix not in CSV_EXTENSIONS and suffix not in EXCEL_EXTENSIONS:
        known = " ".join(sorted(CSV_EXTENSIONS | EXCEL_EXTENSIONS))
        raise ValidationError(
            "read.format",
            f"不支持的文件类型“{suffix or '（无扩展名）'}”（支持：{known}）",
            f"unsupported file type '{suffix or '(none)'}' (supported: {known})",
            Location(file=file),
            suffix,
        )
    try:
        _check_file_size(p, file, limits)
        with open(p, "rb") as fh:
            head = fh.read(512)
            kind = _sniff_kind(head, suffix)
            data = b""
            if kind != "excel":
                fh.seek(0)
                data = fh.read()
    except OSError as exc:
        raise _unreadable(file, exc) from exc
    if kind == "binary":
        what = next(name for magic, name in _BINARY_MAGIC.items() if head.startswith(magic))
        raise ValidationError(
            "read.format",
            f"文件实际是 {what} 文件而非表格（扩展名为 {suffix}），请提交 Excel 或 CSV 文件",
            f"the file is really a {what} file, not a spreadsheet (named {suffix}): send an "
            "Excel or CSV file",
            Location(file=file),
            what,
        )
    if kind == "html":
        raise ValidationError(
            "read.format",
            "文件是网页（HTML/XML）格式而非表格，请用 Excel 打开后另存为 .xlsx",
            "the file is a web page (HTML/XML), not a spreadsheet: open it in Excel and save "
            "it as .xlsx",
            Location(file=file),
            suffix,
        )
    if kind == "excel":
        is_zip = head.startswith(_ZIP_MAGIC)
        return _read_excel(p, file, sheet, header_hints, fill_merged, limits, is_zip)
    return [_read_csv(data, file, encoding, header_hints, limits)]
