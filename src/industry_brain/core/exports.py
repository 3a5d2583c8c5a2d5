"""One writer for every exported file (导出文件): XLSX workbooks and CSV tables.

Exports carry user-sourced text (enterprise names, department cell values, statements), so every
export goes through this module, which makes them safe to open in a spreadsheet:

- **No formula from data.** In XLSX every text value is written as a string cell (openpyxl
  ``data_type 's'``; XlsxWriter's ``write_string`` in :func:`write_xlsx`), so
  ``=HYPERLINK("http://…","click")`` stays inert text and ``#N/A`` is not an error cell. In
  CSV, which has no cell types, text starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return gets the OWASP ``'`` prefix (CSV injection guidance), so a spreadsheet shows
  it as text instead of evaluating it.
- **Writing never crashes on a character.** Characters XML 1.0 (hence XLSX) cannot hold — NUL
  and the other C0 control characters except tab, line feed and carriage return, lone
  surrogates, U+FFFE and U+FFFF — are replaced by a visible escape such as ``\\x00`` in both
  formats (:func:`clean_text`), so a reader sees that the source held one.
- Text longer than an XLSX cell holds is cut with a visible ``…[截断 truncated]`` mark.
- Missing numbers (``None``, NaN, ±inf, pandas ``NA``/``NaT``) are written as empty cells.

Worksheet styling (fonts, fills, widths) stays with the caller; rows go in through
:func:`append`, sheets are named through :func:`sheet_title`. A plain one-sheet table (the web
lists' downloads) is written by :func:`write_xlsx` with XlsxWriter, about three times faster
than openpyxl, under the same rules. An architectural test
(``tests/security/test_exports_architecture.py``) fails when a module writes XLSX or CSV
elsewhere.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xlsxwriter
from openpyxl import Workbook
from openpyxl.cell.cell import Cell

if TYPE_CHECKING:
    import pandas as pd
    from openpyxl.worksheet.worksheet import Worksheet

#: First characters that make a spreadsheet read CSV text as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: The prefix that makes such text inert.
CSV_PREFIX = "'"
#: Longest text an XLSX cell holds (Office Open XML / Excel specification limit).
XLSX_CELL_MAX = 32_767
TRUNCATED = "…[截断 truncated]"
#: Characters XML 1.0 cannot carry (C0 controls but tab/LF/CR, surrogates, U+FFFE/U+FFFF).
ILLEGAL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: The first characters of :data:`FORMULA_TRIGGERS` as a set (a cheap test of a cell's start).
_TRIGGER_START = frozenset(FORMULA_TRIGGERS)
#: Number formats of date and time cells, as openpyxl writes them.
DATE_FORMATS = {"datetime": "yyyy-mm-dd h:mm:ss", "date": "yyyy-mm-dd", "time": "h:mm:ss"}
#: Characters an Excel sheet title cannot hold.
_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
SHEET_TITLE_MAX = 31  # Excel's limit on a sheet name

_PLAIN = (int, float, Decimal, bool, date, datetime, time)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean_text(text: str) -> str:
    """``text`` with every character an XLSX cell cannot hold replaced by a visible escape
    (NUL → ``\\x00``, U+FFFF → ``\\uffff``)."""
    if ILLEGAL_CHARACTERS.search(text) is None:
        return text
    return ILLEGAL_CHARACTERS.sub(_escape, text)


def csv_text(text: str) -> str:
    """Text for a CSV cell: cleaned and, when it could start a formula, prefixed with ``'``."""
    text = clean_text(text)
    return CSV_PREFIX + text if text.startswith(FORMULA_TRIGGERS) else text


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value) or math.isinf(value)
    if isinstance(value, (*_PLAIN, str)):
        return False
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-likes are not missing scalars
        return False


def _number(value: Any) -> Any:
    """numpy scalars as Python numbers; other values unchanged."""
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy":
        value = item()
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return None
    return value


# -- XLSX -------------------------------------------------------------------------------------
def workbook() -> Workbook:
    """A new workbook with openpyxl's one default sheet (rename it, or remove it)."""
    return Workbook()


def sheet_title(name: Any, used: set[str] | None = None, default: str = "数据") -> str:
    """A valid, unique sheet title from ``name`` (user text): illegal characters replaced,
    at most 31 characters; ``used`` collects the titles already taken."""
    base = clean_text(str(name)) if name not in (None, "") else default
    base = _TITLE_FORBIDDEN.sub("_", base).strip("'") or default
    base = base[:SHEET_TITLE_MAX]
    if used is None:
        return base
    title, k = base, 2
    while title.lower() in {u.lower() for u in used}:
        suffix = f"_{k}"
        title, k = base[: SHEET_TITLE_MAX - len(suffix)] + suffix, k + 1
    used.add(title)
    return title


def _xlsx_text(text: str) -> str:
    """Text as an XLSX cell holds it: characters XML cannot carry escaped, cut at the cell's
    limit with a visible mark."""
    text = clean_text(text)
    if len(text) > XLSX_CELL_MAX:
        text = text[: XLSX_CELL_MAX - len(TRUNCATED)] + TRUNCATED
    return text


def xlsx_value(ws: Worksheet, value: Any) -> Any:
    """What to hand openpyxl for ``value``: text as a string :class:`Cell` (never a formula or
    an error code), numbers and dates as they are, missing values as ``None``."""
    value = _number(value)
    if _missing(value):
        return None
    if isinstance(value, datetime | time) and value.tzinfo is not None:
        return value.isoformat()  # Excel has no time zones: keep the offset visible as text
    if isinstance(value, _PLAIN):
        return value
    text = _xlsx_text(value if isinstance(value, str) else str(value))
    if not text.startswith("=") and text[:1] != "#":
        return text  # openpyxl types any other text as a string already
    cell = Cell(ws, value=text)
    cell.data_type = "s"
    return cell


def append(ws: Worksheet, values: Iterable[Any]) -> int:
    """Append one row of values to ``ws`` safely; returns the row number written."""
    ws.append([xlsx_value(ws, v) for v in values])
    return ws._current_row  # openpyxl's own append cursor: max_row would scan the sheet


def write_xlsx(
    path: Path,
    header: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    title: str = "数据",
) -> Path:
    """:func:`xlsx_bytes` saved at ``path`` (folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(xlsx_bytes(header, rows, title))
    return path


#: XlsxWriter options of every workbook written: text stays text (never a formula, URL or number)
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def xlsx_book(target: Any, **options: Any) -> xlsxwriter.Workbook:
    """An XlsxWriter workbook at ``target`` (a path or a buffer) with :data:`XLSX_OPTIONS`
    (``constant_memory=True`` streams rows to disk: write them in order)."""
    if isinstance(target, str | Path):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        target = str(target)
    return xlsxwriter.Workbook(target, {**XLSX_OPTIONS, **options})


def date_formats(wb: xlsxwriter.Workbook) -> dict[str, Any]:
    """The workbook's formats for dates, times and datetimes (openpyxl's number formats)."""
    return {kind: wb.add_format({"num_format": code}) for kind, code in DATE_FORMATS.items()}


def write_xlsx_row(
    ws: Any,
    r: int,
    row: Iterable[Any],
    dates: dict[str, Any],
    cell_format: Any = None,
    number_format: Any = None,
    column_formats: dict[int, Any] | None = None,
) -> None:
    """Write ``row`` at 0-based row ``r`` of an XlsxWriter sheet under the rules of
    :func:`xlsx_value`: text always as a string cell (``write_string``), cleaned and cut;
    numbers, booleans, dates (``dates`` from :func:`date_formats`) as such; missing values and
    empty text as empty cells (blank cells carrying a format when one applies); times with a
    zone as ISO text. ``number_format`` (default ``cell_format``) formats numbers;
    ``column_formats`` (0-based column → format) overrides both for those cells."""
    search = ILLEGAL_CHARACTERS.search
    numbers = number_format if number_format is not None else cell_format
    for c, value in enumerate(row):
        fmt, num = cell_format, numbers
        if column_formats and c in column_formats:
            fmt = num = column_formats[c]
        if type(value) is str and value:  # the common case first: text needing no change
            if search(value) is None and len(value) <= XLSX_CELL_MAX:
                ws.write_string(r, c, value, fmt)
            else:
                ws.write_string(r, c, _xlsx_text(value), fmt)
            continue
        value = _number(value)
        if _missing(value) or value == "":
            if fmt is not None:
                ws.write_blank(r, c, None, fmt)
        elif isinstance(value, bool):
            ws.write_boolean(r, c, value, fmt)
        elif isinstance(value, int | float | Decimal):
            ws.write_number(r, c, float(value) if isinstance(value, Decimal) else value, num)
        elif isinstance(value, datetime | time) and value.tzinfo is not None:
            ws.write_string(r, c, value.isoformat(), fmt)  # Excel has no time zones
        elif isinstance(value, datetime):
            if value == value:  # pandas NaT (a datetime unequal to itself) stays empty
                ws.write_datetime(r, c, value, dates["datetime"])
        elif isinstance(value, date):
            ws.write_datetime(r, c, value, dates["date"])
        elif isinstance(value, time):
            ws.write_datetime(r, c, value, dates["time"])
        else:
            ws.write_string(r, c, _xlsx_text(str(value)), fmt)


def xlsx_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]], title: str = "数据") -> bytes:
    """A one-sheet workbook of ``header`` and ``rows`` (sheet ``title``, made valid by
    :func:`sheet_title`), written with XlsxWriter by :func:`write_xlsx_row`."""
    buffer = io.BytesIO()
    wb = xlsx_book(buffer, in_memory=True)
    dates = date_formats(wb)
    ws = wb.add_worksheet(sheet_title(title))
    for r, row in enumerate(chain([header], rows)):
        write_xlsx_row(ws, r, row, dates)
    wb.close()
    return buffer.getvalue()


def save(wb: Workbook, path: Path) -> Path:
    """Save ``wb`` at ``path`` (folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# -- CSV --------------------------------------------------------------------------------------
def csv_value(value: Any) -> Any:
    """A CSV cell: numbers as they are, missing as empty, text through :func:`csv_text`."""
    value = _number(value)
    if _missing(value):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    return csv_text(value if isinstance(value, str) else str(value))


def _csv_row(row: Iterable[Any]) -> list[Any]:
    """:func:`csv_value` of each cell; text that needs no change passes without a call."""
    search = ILLEGAL_CHARACTERS.search
    return [
        v if type(v) is str and v[:1] not in _TRIGGER_START and search(v) is None else csv_value(v)
        for v in row
    ]


def write_csv(
    path: Path,
    header: Sequence[Any],
    rows: Iterable[Iterable[Any]],
    encoding: str = "utf-8-sig",
) -> Path:
    """Write a CSV export (UTF-8 with BOM by default, so Excel opens it as Unicode)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as fh:
        # rows gathered in memory and written a block at a time (one encoding per block)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([csv_value(v) for v in header])
        for n, row in enumerate(rows, 1):
            writer.writerow(_csv_row(row))
            if n % 2000 == 0:
                fh.write(buffer.getvalue())
                buffer.seek(0)
                buffer.truncate()
        fh.write(buffer.getvalue())
    return path


#: A field of CSV text after a delimiter or a line end that starts (after an opening quote) with
#: a formula trigger. An unquoted CR there is the line end of a row whose last field is empty
#: (the writer quotes every field holding a CR).
_FIELD_TRIGGER = re.compile(r'[,\n](?:"?[=+\-@\t]|"\r|\r(?!\n))')


def _as_written(text: str) -> bool:
    """Whether CSV ``text`` (text cells only) holds no character to escape and no field that
    starts with a formula trigger: then every cell was written as :func:`csv_value` gives it."""
    if text[:1] in _TRIGGER_START or (text[:1] == '"' and text[1:2] in _TRIGGER_START):
        return False
    return ILLEGAL_CHARACTERS.search(text) is None and _FIELD_TRIGGER.search(text) is None


def csv_bytes(
    header: Sequence[Any], rows: Iterable[Sequence[Any]], encoding: str = "utf-8-sig"
) -> bytes:
    """The CSV export :func:`write_csv` writes, as bytes (for a download built in memory).

    A table of text only is written as it is when the written text holds no character to
    escape and no field starting with a formula trigger — then no cell needed a change, and
    the text is what :func:`csv_value` cell by cell gives; otherwise it is written cell by
    cell."""
    rows = rows if isinstance(rows, list) else list(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if set(map(type, chain(header, *rows))) <= {str}:
        writer.writerow(header)
        writer.writerows(rows)
        text = buffer.getvalue()
        if _as_written(text):
            return text.encode(encoding)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_value(v) for v in header])
    writer.writerows(_csv_row(row) for row in rows)
    return buffer.getvalue().encode(encoding)


def write_frame_csv(frame: pd.DataFrame, path: Path, encoding: str = "utf-8-sig") -> Path:
    """A pandas frame as a CSV export (its columns as the header, no index)."""
    return write_csv(path, list(frame.columns), frame.itertuples(index=False), encoding)
