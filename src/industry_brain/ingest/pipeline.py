"""The one import path for department files: read → map → normalise → validate → match → load.

Everything is column-wise (pyarrow/pandas/numpy); there is no per-row Python on the hot path.
A batch is atomic: by default any error rejects the whole file and the store's data stay as
they were (the attempt itself is recorded as a rejected batch with its problems, so that the
review queue and the error report survive). ``accept_valid`` loads the rows without errors and
records the rejects. The same content (same hash, same kind) that was loaded before — committed
or partially — is a ``duplicate`` whatever the options, so ``--accept-valid`` cannot load a
file twice; a file only rejected before may be tried again (the store may have changed, e.g. a
review was confirmed), and its review entries are not opened twice: a review entry is unique per
kind, file content, sheet and row (``MatchReview.identity``). A corrected re-import supersedes
earlier values, which stay as history.

Before validation, reading refuses hostile files (``file.too_large``, ``file.sparse``, see
``readers``) and a file without data rows (``file.no_rows``): nothing is recorded. Cell checks:
text over ``ingest.limits.max_cell_chars`` (``value.too_long``), control characters such as NUL
(``value.control_char``), invisible zero-width and bidi characters (removed, warning
``value.invisible_removed``), text that starts like a formula (warning ``value.formula_like``),
formulas saved without a value (``value.formula_uncached``), Excel error values
(``value.not_number`` / ``value.excel_error``); plausibility bounds per dimension and the data
year range (``ingest.plausibility.*``: ``value.implausible``, ``value.year_out_of_range``).

Reports are written before the commit: a failing report writer is recorded as a warning
(``report.failed``) and can never leave a committed batch behind an error exit.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from industry_brain.core import env, parameters, units
from industry_brain.core.errors import Location, Problem, ValidationError
from industry_brain.core.progress import Progress
from industry_brain.ingest import load as loader
from industry_brain.ingest import matching, normalize, readers, stream, validate
from industry_brain.ingest.mapping import Mapping, alias_index, clean_header, load_mapping
from industry_brain.store import replay
from industry_brain.store.db import data_dir, get_engine
from industry_brain.store.models import ImportBatch, ImportProblem, MatchReview


@dataclass
class ImportResult:
    """What an import did (or would do, for a dry run)."""

    kind: str
    file: str
    status: str  # committed | partial | rejected | duplicate | dry_run
    batch_id: int | None = None
    duplicate_of: int | None = None
    rows_total: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    facts_inserted: int = 0
    facts_superseded: int = 0
    facts_unchanged: int = 0
    enterprises_created: int = 0
    enterprises_updated: int = 0
    reviews_opened: int = 0
    problems: list[Problem] = field(default_factory=list)
    report_json: str | None = None
    report_xlsx: str | None = None
    sheets: list[str | None] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def counts_by_code(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.problems:
            out[p.code] = out.get(p.code, 0) + 1
        return dict(sorted(out.items()))

    def to_dict(self, with_problems: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kind": self.kind,
            "file": self.file,
            "status": self.status,
            "batch_id": self.batch_id,
            "duplicate_of": self.duplicate_of,
            "rows_total": self.rows_total,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "facts_inserted": self.facts_inserted,
            "facts_superseded": self.facts_superseded,
            "facts_unchanged": self.facts_unchanged,
            "enterprises_created": self.enterprises_created,
            "enterprises_updated": self.enterprises_updated,
            "reviews_opened": self.reviews_opened,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problem_counts": self.counts_by_code(),
            "report_json": self.report_json,
            "report_xlsx": self.report_xlsx,
        }
        if with_problems:
            d["problems"] = [p.to_dict() for p in self.problems]
        return d


@dataclass
class Prepared:
    """One sheet after mapping and normalisation: a frame of typed columns plus problems."""

    table: readers.RawTable
    frame: pd.DataFrame  # _row, _error, canonical columns (typed), enterprise_id, year, month
    columns: dict[str, readers.RawColumn]  # canonical name → raw column
    units: dict[str, str]  # canonical name → unit found (header or default)
    factors: dict[str, float]
    problems: list[Problem]
    reviews: list[dict[str, Any]]
    # an error located on a row that is not a data row (e.g. a row of uncached formulas only)
    orphan_errors: bool = False


def today() -> date:
    """The platform's today: ``IB_TODAY`` (ISO date) when set, else the real date (the same
    clock as the web platform's ``Settings.today``)."""
    return env.today()


def stamp(day: date | None = None) -> datetime | None:
    """When an import made on the platform's day ``day`` (default :func:`today`) is stamped:
    ``None`` (the store's clock) when that day is the real date; else the real time of day on
    ``day`` in the platform's time zone (``IB_TIMEZONE``, default Asia/Shanghai), in UTC — a
    store replaying another day (the demo's ``DEMO_TODAY``, ``IB_TODAY``) never shows an import
    after its today."""
    return replay.stamp_on(day or today())


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- mapping ----------------------------------------------------------------------------------
# Columns with a closed set of values: parser, problem code and messages for other values.
CHOICE_TYPES: dict[str, tuple[Callable[[Any], Any], str, str, str]] = {
    "flag": (
        normalize.parse_flag,
        "value.bad_flag",
        "规上标志应为 是/否、1/0 或 规上/规下",
        "flag must be yes/no, 1/0 or 规上/规下",
    ),
    "tenure": (
        normalize.parse_tenure,
        "value.bad_tenure",
        "取得方式应为 出让 或 租赁",
        "tenure must be 出让 (granted) or 租赁 (leased)",
    ),
}

# A separate unit column (单位) gives the unit of numeric columns whose header names none.
UNIT_COLUMN = "_unit"
UNIT_COLUMNS = {"单位", "计量单位", "金额单位"}


def map_columns(
    table: readers.RawTable, mapping: Mapping
) -> tuple[dict[str, readers.RawColumn], list[Problem]]:
    """Canonical column → raw column; unknown columns are warnings, missing required errors."""
    index = alias_index(mapping)
    found: dict[str, readers.RawColumn] = {}
    problems: list[Problem] = []
    for col in table.columns:
        if not col.name and not col.label:
            if table.column(col).null_count < len(table.data):
                problems.append(
                    Problem(
                        "column.unnamed",
                        f"第 {col.letter} 列没有表头但有数据，已忽略（未导入）",
                        f"column {col.letter} has data but no header; ignored (not imported)",
                        Location(file=table.file, sheet=table.sheet, column=col.letter),
                        "warning",
                    )
                )
            continue
        canonical = index.get(clean_header(col.name))
        if canonical is None and clean_header(col.name) in UNIT_COLUMNS:
            found[UNIT_COLUMN] = col
            continue
        if canonical is None and col.label != col.name:
            canonical = index.get(clean_header(col.label.split("/")[-1]))
        loc = Location(
            file=table.file,
            sheet=table.sheet,
            row=_header_row(table),
            column=f"{col.letter}（{col.name}）",
        )
        if canonical is None:
            problems.append(
                Problem(
                    "column.unknown",
                    f"未识别的列“{col.name}”，已忽略（未导入）",
                    f"unknown column '{col.name}' ignored (not imported)",
                    loc,
                    "warning",
                    col.name,
                )
            )
        elif canonical in found:
            problems.append(
                Problem(
                    "column.duplicate",
                    f"列“{col.name}”与第 {found[canonical].letter} 列都对应“{canonical}”",
                    f"column '{col.name}' and column {found[canonical].letter} both map to "
                    f"'{canonical}'",
                    loc,
                    "error",
                    col.name,
                )
            )
        else:
            found[canonical] = col
    for name, spec in mapping.columns.items():
        if spec.required and name not in found:
            problems.append(
                Problem(
                    "column.missing",
                    f"缺少必需列“{spec.aliases[0]}”（可用列名：{'、'.join(spec.aliases)}）",
                    f"required column '{spec.aliases[0]}' ({name}) is missing",
                    Location(file=table.file, sheet=table.sheet, field=name),
                    "error",
                )
            )
    return found, problems


def _header_row(table: readers.RawTable) -> int | None:
    return table.header_rows[-1] if table.header_rows else None


# -- per-column normalisation ----------------------------------------------------------------
class _Sheet:
    """Helper that turns invalid cells into problems and marks their rows."""

    def __init__(self, table: readers.RawTable, mapping: Mapping) -> None:
        self.table = table
        self.mapping = mapping
        self.rows = np.asarray(table.row_numbers.to_numpy(zero_copy_only=False), dtype=np.int64)
        self.n = len(self.rows)
        self.error = np.zeros(self.n, dtype=bool)
        self.problems: list[Problem] = []
        self.orphan_errors = False

    def raw(self, col: readers.RawColumn) -> pa.Array:
        arr = self.table.data.column(col.index)
        return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr

    def flag(
        self,
        mask: np.ndarray,
        col: readers.RawColumn | None,
        code: str,
        zh: str,
        en: str,
        severity: str = "error",
        values: Any = None,
        uscc: Any = None,
        zh_each: Callable[[int], str] | None = None,
        en_each: Callable[[int], str] | None = None,
        show: Callable[[Any], Any] | None = None,
    ) -> None:
        """Record a problem for every row where ``mask`` holds. The value shown is ``values[i]``
        or, without ``values``, the raw cell of ``col`` — read for the flagged rows only (a
        column of millions of rows never becomes Python objects for a few problems) — passed
        through ``show`` when given, control characters escaped."""
        idx = np.flatnonzero(mask)
        if len(idx) == 0:
            return
        if severity == "error":
            self.error[idx] = True
        raw_values = None
        if values is None and col is not None:
            raw_values = self.raw(col).take(pa.array(idx)).to_pylist()
        for k, i in enumerate(idx):
            value = values[i] if values is not None else raw_values[k] if raw_values else None
            if show is not None:
                value = show(value)
            if isinstance(value, str):
                value = escape_controls(value)
            self.problems.append(
                Problem(
                    code,
                    zh_each(i) if zh_each else zh,
                    en_each(i) if en_each else en,
                    Location(
                        file=self.table.file,
                        sheet=self.table.sheet,
                        row=int(self.rows[i]),
                        column=f"{col.letter}（{col.name}）" if col else None,
                    ),
                    severity,
                    value,
                    uscc[i] if uscc is not None and isinstance(uscc[i], str) else None,
                )
            )


def _status(arr: Any) -> np.ndarray:
    return _objects(arr)


def _floats(arr: Any) -> np.ndarray:
    if isinstance(arr, pa.ChunkedArray | pa.Array):
        return np.asarray(arr.to_pandas(), dtype=np.float64)
    return np.asarray(arr, dtype=np.float64)


# Below this many rows a column is converted directly; above it, repeating text (codes, names,
# months, statuses) becomes one Python object per distinct value, shared by its rows.
_SHARED_MIN_ROWS = 4096
_SHARED_SAMPLE = 20000


def _objects(arr: Any) -> np.ndarray:
    """A column as an object array of Python values (None for null)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not isinstance(arr, pa.Array):
        return np.asarray(arr, dtype=object)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    n = len(arr)
    if n >= _SHARED_MIN_ROWS and (
        pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
    ):
        head = arr.slice(0, _SHARED_SAMPLE)
        if 2 * pc.count_distinct(head, mode="all").as_py() <= len(head):
            encoded = pc.dictionary_encode(arr)
            if 2 * len(encoded.dictionary) <= n:
                distinct = np.empty(len(encoded.dictionary) + 1, dtype=object)
                distinct[:-1] = encoded.dictionary.to_pylist()
                distinct[-1] = None
                idx = pc.fill_null(encoded.indices, len(encoded.dictionary))
                return distinct[np.asarray(idx.to_numpy(zero_copy_only=False), dtype=np.intp)]
    return np.asarray(arr.to_pylist(), dtype=object)


def _int64(arr: pa.Array | pa.ChunkedArray) -> pd.api.extensions.ExtensionArray:
    """An integer column as pandas ``Int64`` (NA for null), without Python objects."""
    values = np.asarray(pc.fill_null(arr, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    mask = np.asarray(pc.is_null(arr).to_numpy(zero_copy_only=False), dtype=bool)
    return pd.arrays.IntegerArray(values, mask)


def _obj_column(values: np.ndarray) -> pd.Series:
    """An object column as is: pandas 3 would otherwise convert Python strings to its Arrow
    string dtype and back again at every use (a large share of a big import's time)."""
    return pd.Series(values, dtype=object, copy=False)


def prepare(
    table: readers.RawTable,
    mapping: Mapping,
    session: Session,
    year: int | None,
    lookup: matching.Lookup,
    thresholds: dict[str, Any],
) -> Prepared:
    """Map, normalise and validate one sheet; match its rows to enterprises."""
    columns, problems = map_columns(table, mapping)
    if any(p.severity == "error" for p in problems):
        return refused(table, columns, problems)
    part = normalise(table, mapping, columns, year, thresholds)
    part.sheet.problems[:0] = problems
    reviews = matching.match_rows(part.frame, part.sheet, mapping, columns, lookup)
    return finish(part, mapping, session, thresholds, reviews)


def refused(
    table: readers.RawTable, columns: dict[str, readers.RawColumn], problems: list[Problem]
) -> Prepared:
    """A sheet whose columns cannot be mapped (an error among ``problems``): every row in error."""
    rows = np.asarray(table.row_numbers.to_numpy(zero_copy_only=False), dtype=np.int64)
    frame = pd.DataFrame({"_row": rows, "_error": np.ones(len(rows), dtype=bool)})
    return Prepared(table, frame, columns, {}, {}, list(problems), [])


@dataclass
class Normalised:
    """Rows of a sheet (the whole sheet or a slice of it, :mod:`industry_brain.ingest.stream`)
    normalised and checked cell by cell, their periods filled; not yet matched."""

    sheet: _Sheet
    frame: pd.DataFrame
    columns: dict[str, readers.RawColumn]
    units: dict[str, str]
    factors: dict[str, float]


def finish(
    part: Normalised,
    mapping: Mapping,
    session: Session,
    thresholds: dict[str, Any],
    reviews: list[dict[str, Any]],
) -> Prepared:
    """The checks of the whole sheet on matched rows — duplicates in the file, the cross-field
    and year-on-year rules against the store — and the :class:`Prepared` sheet."""
    validate.duplicates(part.frame, part.sheet, mapping, part.columns)
    validate.store_rules(part.frame, part.sheet, mapping, part.columns, session, thresholds)
    return prepared(part, reviews)


def prepared(part: Normalised, reviews: list[dict[str, Any]]) -> Prepared:
    """The :class:`Prepared` sheet of ``part`` once every check has run."""
    sheet = part.sheet
    part.frame["_error"] = sheet.error
    return Prepared(
        sheet.table,
        part.frame,
        part.columns,
        part.units,
        part.factors,
        sheet.problems,
        reviews,
        orphan_errors=sheet.orphan_errors,
    )


def normalise(
    table: readers.RawTable,
    mapping: Mapping,
    columns: dict[str, readers.RawColumn],
    year: int | None,
    thresholds: dict[str, Any],
) -> Normalised:
    """Normalise and check the cells of ``table`` in ``columns`` (mapped, without errors) and
    fill each row's period: everything of :func:`prepare` that reads one row at a time."""
    sheet = _Sheet(table, mapping)
    frame = pd.DataFrame({"_row": sheet.rows})
    found_units: dict[str, str] = {}
    factors: dict[str, float] = {}
    max_chars = int(thresholds["max_cell_chars"])
    for name, col in columns.items():
        raw = _cell_checks(sheet, col, mapping.columns.get(name), max_chars)
        if name == UNIT_COLUMN:
            continue
        spec = mapping.columns[name]
        status: np.ndarray | None = None
        if spec.type == "number":
            unit = units.detect_unit(col.label, spec.dimension) or units.detect_unit(
                col.name, spec.dimension
            )
            unit = unit or table.unit_note or spec.unit
            if unit is not None and table.unit_note and unit == table.unit_note:
                try:
                    units.factor(unit, spec.dimension)
                except ValidationError:
                    unit = spec.unit  # the sheet's unit note is of another dimension
            header_unit = units.detect_unit(col.label, spec.dimension) or units.detect_unit(
                col.name, spec.dimension
            )
            found_units[name] = unit
            factors[name] = units.factor(unit, spec.dimension)
            numerator = np.full(sheet.n, float(units.exact_factor(unit, spec.dimension).numerator))
            denominator = np.full(
                sheet.n, float(units.exact_factor(unit, spec.dimension).denominator)
            )
            if header_unit is None and UNIT_COLUMN in columns:
                unit_col = columns[UNIT_COLUMN]
                per_row = normalize.unit_from_unit_column(sheet.raw(unit_col), spec.dimension)
                unit_status = _status(per_row.status)
                sheet.flag(
                    unit_status == "invalid",
                    unit_col,
                    "value.bad_unit",
                    f"单位无法用于“{spec.aliases[0]}”",
                    f"unit does not fit '{spec.aliases[0]}' ({spec.dimension})",
                )
                row_units = _objects(per_row.units)
                for u in {u for u in row_units if u}:
                    exact_u = units.exact_factor(u, spec.dimension)
                    mask = row_units == u
                    numerator[mask] = float(exact_u.numerator)
                    denominator[mask] = float(exact_u.denominator)
                found_units[name] = f"{unit_col.name} 列 / column"
            parsed = normalize.parse_numbers(raw)
            status = _status(parsed.status)
            values = _floats(parsed.values)
            sheet.flag(
                status == "invalid",
                col,
                "value.not_number",
                f"“{spec.aliases[0]}”不是有效数字",
                f"'{spec.aliases[0]}' is not a valid number",
            )
            if spec.min is not None:
                sheet.flag(
                    (status == "ok") & (values < spec.min),
                    col,
                    "value.negative",
                    f"“{spec.aliases[0]}”不能为负数",
                    f"'{spec.aliases[0]}' must not be negative",
                )
            if spec.min_exclusive is not None:
                sheet.flag(
                    (status == "ok") & (values <= spec.min_exclusive),
                    col,
                    "value.not_positive",
                    f"“{spec.aliases[0]}”必须大于 0",
                    f"'{spec.aliases[0]}' must be greater than 0",
                )
            # numerator, then denominator: each step correctly rounded, so 3 千元 → 0.3 万元
            frame[name] = values * numerator / denominator
            frame[name + "__raw"] = _obj_column(_objects(raw))
            _magnitude(sheet, col, spec, frame[name].to_numpy(), status, thresholds)
        elif spec.type in ("year", "month", "date"):
            parsed = normalize.parse_periods(raw, kind=spec.type)
            status = _status(parsed.status)
            what = {"year": "年份", "month": "月份", "date": "日期"}[spec.type]
            sheet.flag(
                status == "invalid",
                col,
                f"value.bad_{spec.type}",
                f"无法识别的{what}",
                f"unrecognised {spec.type}",
            )
            if spec.type == "date":
                frame[name] = _obj_column(_objects(parsed.date))
            else:
                frame[name + "__year"] = _int64(parsed.year)
                frame[name + "__month"] = _int64(parsed.month)
                _year_range(sheet, col, spec, parsed.year, thresholds)
        elif spec.type == "uscc":
            codes, status, expected = normalize.normalize_uscc(raw)
            status = _status(status)
            # the expected check character is only needed for the rows that have it wrong
            expected_arr = _objects(expected) if (status == "checksum").any() else None
            sheet.flag(
                status == "checksum",
                col,
                "uscc.checksum",
                "",
                "",
                zh_each=lambda i, e=expected_arr: f"统一社会信用代码校验码错误：第18位应为“{e[i]}”",
                en_each=lambda i, e=expected_arr: (
                    f"USCC check character is wrong: expected '{e[i]}'"
                ),
            )
            sheet.flag(
                status == "length",
                col,
                "uscc.length",
                "统一社会信用代码应为18位",
                "USCC must have 18 characters",
            )
            sheet.flag(
                status == "charset",
                col,
                "uscc.charset",
                "统一社会信用代码含非法字符",
                "USCC contains invalid characters",
            )
            codes_obj = _objects(codes)
            codes_obj[status != "ok"] = None
            frame[name] = _obj_column(codes_obj)
            frame[name + "__raw"] = _obj_column(_objects(raw))
            frame[name + "__status"] = _obj_column(status)
        elif spec.type in CHOICE_TYPES:
            parser, code, zh, en = CHOICE_TYPES[spec.type]
            parsed = parser(raw)
            status = _status(parsed.status)
            sheet.flag(status == "invalid", col, code, zh, en)
            frame[name] = _obj_column(_objects(parsed.values))
        elif spec.type == "text_list":
            frame[name] = _obj_column(_objects(normalize.normalize_text(raw)))
        else:  # text, region, industry
            text = normalize.normalize_text(raw)
            if spec.type == "text":
                _formula_like(sheet, col, spec, text)
            frame[name] = _obj_column(_objects(text))
        if spec.required and spec.type not in ("uscc",):
            # invalid cells have their own problem: only flag cells that are truly empty
            sheet.flag(
                _missing(frame, name, spec.type, status),
                col,
                "value.required",
                f"必填项“{spec.aliases[0]}”为空",
                f"required value '{spec.aliases[0]}' is empty",
            )

    _cell_flags(sheet, columns, mapping)
    _periods(frame, sheet, mapping, columns, year)
    return Normalised(sheet, frame, columns, found_units, factors)


# -- cell checks (issue 13: control characters, huge cells, formulas, plausibility) ---------
_TEXT_TYPES = ("text", "text_list", "region", "industry", "uscc")
_CONTROL_RE = re.compile(normalize.CONTROL_PATTERN)


def escape_controls(text: str) -> str:
    """Control characters written visibly (NUL → ``\\x00``): PostgreSQL text cannot hold NUL,
    and a report must show what was there."""
    if not _CONTROL_RE.search(text):
        return text
    return _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _shown(value: Any) -> Any:
    """A cell value as it may be shown in a report: control characters escaped (``\\x00``),
    long text cut to its first 50 characters and its length."""
    if not isinstance(value, str):
        return value
    text = escape_controls(value)
    return text if len(text) <= 200 else f"{text[:50]}…（{len(value)} 字符 / characters）"


def _cell_checks(sheet: _Sheet, col: readers.RawColumn, spec: Any, max_chars: int) -> pa.Array:
    """Refuse over-long cells and control characters; strip invisible characters (text).

    Returns the column to parse (invisible characters removed, refused cells null)."""
    raw = sheet.raw(col)
    label = spec.aliases[0] if spec is not None else col.name
    longest = pc.max(pc.binary_length(raw)).as_py() if len(raw) else None
    if longest is not None and longest > max_chars:
        long = np.asarray(
            pc.fill_null(pc.greater(pc.utf8_length(raw), max_chars), False), dtype=bool
        )
        if long.any():
            sheet.flag(
                long,
                col,
                "value.too_long",
                f"“{label}”超过 {max_chars} 个字符",
                f"'{label}' is longer than {max_chars} characters",
                show=_shown,
            )
            raw = pc.if_else(pa.array(long), pa.scalar(None, pa.string()), raw)
    if spec is None or spec.type not in _TEXT_TYPES:
        return raw  # control characters make a number, month or flag invalid anyway
    scrub = normalize.scrub_text(raw)
    control = np.asarray(scrub.control.to_numpy(zero_copy_only=False), dtype=bool)
    if control.any():
        # the flagged cells as read (an over-long cell, already refused, is not among them)
        sheet.flag(
            control,
            col,
            "value.control_char",
            f"“{label}”含控制字符（如 NUL），请检查导出程序",
            f"'{label}' contains control characters (such as NUL): check the exporting program",
            show=_shown,
        )
    if scrub.removed.null_count < len(scrub.removed):
        cleaned = np.asarray(pc.is_valid(scrub.removed).to_numpy(zero_copy_only=False), dtype=bool)
        where = np.flatnonzero(cleaned)  # what was removed, of those rows only
        removed = dict(
            zip(where.tolist(), scrub.removed.take(pa.array(where)).to_pylist(), strict=True)
        )
        sheet.flag(
            cleaned,
            col,
            "value.invisible_removed",
            "",
            "",
            severity="warning",
            zh_each=lambda i: (
                f"已删除“{label}”中的不可见字符 {removed[i]}（零宽或文字方向控制字符）"
            ),
            en_each=lambda i: (
                f"removed invisible characters {removed[i]} (zero-width or bidi controls) "
                f"from '{label}'"
            ),
        )
    return scrub.values


def _formula_like(sheet: _Sheet, col: readers.RawColumn, spec: Any, text: pa.Array) -> None:
    sheet.flag(
        normalize.formula_like(text),
        col,
        "value.formula_like",
        f"“{spec.aliases[0]}”以 = + - @ 开头，像电子表格公式；导出时按文本处理，请核实",
        f"'{spec.aliases[0]}' starts with = + - or @ like a spreadsheet formula; it is "
        "exported as text, please check",
        severity="warning",
    )


def _magnitude(
    sheet: _Sheet,
    col: readers.RawColumn,
    spec: Any,
    values: np.ndarray,
    status: np.ndarray,
    thresholds: dict[str, Any],
) -> None:
    """``value.implausible``: the absolute value (in the store unit) beyond the dimension's
    bound (``ingest.plausibility.max_magnitude``)."""
    bound = thresholds["max_magnitude"].get(spec.dimension)
    if bound is None:
        return
    with np.errstate(invalid="ignore"):
        mask = (status == "ok") & ~(np.abs(values) <= float(bound))
    if not mask.any():
        return
    store = units.DIMENSIONS[spec.dimension].store_unit
    label = spec.aliases[0]
    sheet.flag(
        mask,
        col,
        "value.implausible",
        "",
        "",
        zh_each=lambda i: (
            f"“{label}”为 {values[i]:g} {store}，超出合理范围（绝对值上限 {bound:g} {store}）"
        ),
        en_each=lambda i: (
            f"'{label}' is {values[i]:g} {store}, beyond the plausible bound "
            f"(absolute value at most {bound:g} {store})"
        ),
    )


def _year_range(
    sheet: _Sheet,
    col: readers.RawColumn,
    spec: Any,
    years: pa.Array,
    thresholds: dict[str, Any],
) -> None:
    """``value.year_out_of_range``: a data year before ``ingest.plausibility.first_data_year``
    or after the platform's current year."""
    first, last = int(thresholds["first_data_year"]), int(thresholds["today"].year)
    y = np.asarray(pc.fill_null(years, first).to_numpy(zero_copy_only=False), dtype=np.int64)
    mask = (y < first) | (y > last)
    what = "年份" if spec.type == "year" else "月份"
    sheet.flag(
        mask,
        col,
        "value.year_out_of_range",
        "",
        "",
        zh_each=lambda i: f"{what}的年份 {y[i]} 超出数据年份范围 {first}–{last}",
        en_each=lambda i: f"year {y[i]} is outside the data years {first}–{last}",
    )


def _cell_flags(sheet: _Sheet, columns: dict[str, readers.RawColumn], mapping: Mapping) -> None:
    """Cells the reader saw but calamine read as empty: formulas without a cached value and
    Excel error values (in a number column the error text itself is invalid)."""
    flags = sheet.table.cell_flags
    if not flags:
        return
    by_index = {col.index: (name, col) for name, col in columns.items() if name != UNIT_COLUMN}
    position = {int(r): i for i, r in enumerate(sheet.rows)}
    header_end = max(sheet.table.header_rows, default=0)
    for flag in flags:
        if flag.column not in by_index or flag.row <= header_end:
            continue
        name, col = by_index[flag.column]
        spec = mapping.columns[name]
        if flag.kind == "error" and spec.type == "number":
            continue  # parse_numbers reports the error text as value.not_number
        if flag.kind == "formula_uncached":
            code = "value.formula_uncached"
            zh = f"“{spec.aliases[0]}”是公式但没有保存计算结果（请在 Excel 中打开并保存后重新导入）"
            en = (
                f"'{spec.aliases[0]}' is a formula saved without its result (open and save "
                "the file in Excel, then import it again)"
            )
        else:
            code = "value.excel_error"
            zh = f"“{spec.aliases[0]}”是 Excel 错误值 {flag.value}"
            en = f"'{spec.aliases[0]}' is the Excel error value {flag.value}"
        i = position.get(flag.row)
        if i is not None:
            sheet.error[i] = True
        else:
            sheet.orphan_errors = True
        sheet.problems.append(
            Problem(
                code,
                zh,
                en,
                Location(
                    file=sheet.table.file,
                    sheet=sheet.table.sheet,
                    row=flag.row,
                    column=f"{col.letter}（{col.name}）",
                ),
                "error",
                flag.value,
            )
        )


def _missing(frame: pd.DataFrame, name: str, typ: str, status: np.ndarray | None) -> np.ndarray:
    """Rows where a column's value is missing (blank or a missing marker), not invalid."""
    if typ in ("number", "year", "month", "date", "flag", "tenure") and status is not None:
        return status == "missing"
    return frame[name].isna().to_numpy()


def _periods(
    frame: pd.DataFrame,
    sheet: _Sheet,
    mapping: Mapping,
    columns: dict[str, readers.RawColumn],
    year: int | None,
) -> None:
    """Fill ``year`` and ``month`` for every row from the file or the ``--year`` option."""
    n = len(frame)
    if mapping.period == "none":
        frame["year"] = pd.array([year] * n, dtype="Int64")
        frame["month"] = 0
        return
    if mapping.period == "month":
        frame["year"] = frame.get("month__year", pd.NA)
        frame["month"] = frame.get("month__month", pd.NA)
        if year is not None and "month__year" in frame:
            other = frame["year"].notna().to_numpy() & (frame["year"].to_numpy() != year)
            sheet.flag(
                other,
                columns.get("month"),
                "period.year_mismatch",
                f"月份不属于指定年份 {year}",
                f"month is not in the requested year {year}",
            )
        return
    if "year" in columns:
        frame["year"] = frame["year__year"]
        if year is not None:
            other = frame["year"].notna().to_numpy() & (frame["year"].to_numpy(na_value=0) != year)
            sheet.flag(
                other,
                columns["year"],
                "period.year_mismatch",
                f"年份与指定年份 {year} 不一致",
                f"year differs from the requested year {year}",
            )
        if year is not None:
            frame["year"] = frame["year"].fillna(year)
    elif year is not None:
        frame["year"] = pd.array([year] * n, dtype="Int64")
    else:
        frame["year"] = pd.array([pd.NA] * n, dtype="Int64")
        sheet.error[:] = True
        sheet.problems.append(
            Problem(
                "period.missing_year",
                "文件没有年份列，请用 --year 指定数据年份",
                "the file has no year column: give the data year with --year",
                Location(file=sheet.table.file, sheet=sheet.table.sheet),
            )
        )
    frame["month"] = 0


# -- orchestration ----------------------------------------------------------------------------
def import_file(
    kind: str,
    path: Path | str,
    *,
    engine: Engine | None = None,
    sheet: str | None = None,
    year: int | None = None,
    encoding: str | None = None,
    accept_valid: bool = False,
    dry_run: bool = False,
    user_id: int | None = None,
    report_dir: Path | None = None,
    progress: Progress | None = None,
    write_reports: bool = True,
    on_day: date | None = None,
) -> ImportResult:
    """Import one department file of ``kind`` atomically; see the module docstring.

    ``on_day`` is the platform's today (default :func:`today`): it bounds the data year and
    the batch is stamped on it (:func:`stamp`).

    Example: ``import_file("power", "data/demo/inbox/power_2025.csv", accept_valid=True)``.
    """
    mapping = load_mapping(kind)
    path = Path(path)
    engine = engine or get_engine()
    now = on_day or today()
    ensure_year(year, now)
    result = ImportResult(kind=kind, file=path.name, status="rejected")
    step = progress or (lambda *_: None)
    step("hash", 0, 1)
    digest = file_hash(path)
    with Session(engine) as session:
        # content loaded before (committed, or partially with --accept-valid) is a duplicate
        # whatever the options; content only rejected before may be tried again
        prior = session.scalars(
            select(ImportBatch)
            .where(
                ImportBatch.file_hash == digest,
                ImportBatch.kind == kind,
                ImportBatch.status.in_(("committed", "partial")),
            )
            .order_by(ImportBatch.id)
        ).first()
        if prior is not None and (sheet is None or prior.sheet == sheet):
            result.status = "duplicate"
            result.duplicate_of = prior.id
            result.rows_total = prior.rows_total
            return result

    step("read", 0, 1)
    tables = readers.read_file(
        path,
        sheet=sheet,
        encoding=encoding,
        header_hints=mapping.hints(),
        limits=readers.Limits.from_parameters(now),
    )
    if not any(t.num_rows for t in tables):
        raise ValidationError(
            "file.no_rows",
            "文件只有表头，没有数据行（未导入）",
            "the file has a header but no data rows (nothing imported)",
            Location(file=path.name, sheet=sheet),
        )
    result.sheets = [t.sheet for t in tables]
    on = date(year, 1, 1) if year else now
    thresholds = _thresholds(on, now)
    with Session(engine) as session:
        lookup = matching.Lookup.load(session)
        batch = ImportBatch(
            kind=kind,
            department=mapping.department,
            file_name=path.name,
            file_hash=digest,
            sheet=sheet,
            year=year,
            status="rejected",  # until the rows are checked
            rows_total=0,
            rows_rejected=0,
            rows_loaded=0,
            options={"accept_valid": accept_valid, "encoding": encoding, "sheet": sheet},
            summary={},
            user_id=user_id,
        )
        stamped = stamp(now)
        if stamped is not None:
            batch.created_at = stamped
        streamed: stream.Stream | None = None
        if not dry_run and stream.eligible(session, mapping, tables):
            session.add(batch)
            session.flush()  # the streamed facts refer to it
            streamed = stream.Stream.begin(session, batch, mapping, lookup, accept_valid)
        prepared: list[Prepared] = []
        try:
            for i, table in enumerate(tables):
                step("validate", i, len(tables))
                if streamed is not None:
                    prep = streamed.prepare(table, year, thresholds, progress=step)
                else:
                    prep = prepare(table, mapping, session, year, lookup, thresholds)
                prepared.append(prep)
        except BaseException:
            if streamed is not None:
                streamed.close()
            raise
        step("validate", len(tables), len(tables))
        for prep in prepared:
            result.problems.extend(prep.problems)
            result.rows_total += len(prep.frame)
            result.rows_rejected += int(prep.frame["_error"].sum())
        has_errors = (
            result.rows_rejected > 0
            or any(p.severity == "error" and p.location.row is None for p in result.problems)
            or any(prep.orphan_errors for prep in prepared)
        )
        result.problems.sort(key=_problem_order)
        if dry_run:
            result.status = "dry_run"
            result.rows_loaded = result.rows_total - result.rows_rejected
            result.reviews_opened = sum(len(p.reviews) for p in prepared)
            if write_reports:
                _safe_reports(result, prepared, report_dir, f"dry-run-{digest[:10]}")
            return result
        status = "committed"
        if has_errors:
            status = "partial" if accept_valid else "rejected"
        if status == "partial" and result.rows_rejected == result.rows_total:
            status = "rejected"
        if streamed is not None and (status == "rejected" or streamed.stopped is not None):
            # nothing of what it sent stays (before the batch changes: a rollback to the
            # savepoint expires what changed after it)
            streamed.discard()
            streamed = None
        batch.status = status
        batch.rows_total = result.rows_total
        batch.rows_rejected = result.rows_rejected if status != "committed" else 0
        session.add(batch)
        session.flush()
        result.batch_id = batch.id
        if status in ("committed", "partial"):
            step("load", 0, 1)
            if streamed is not None:
                first = streamed.first_fact_id
                stats = streamed.load(prepared[0])
            else:
                first = loader.next_fact_id(session)
                stats = loader.load(
                    session, batch, mapping, prepared, lookup, progress=step, first_fact_id=first
                )
            # the batch's facts lie in this id range (the facts have no batch index: the batch
            # page reads its facts by the primary key in it; a concurrent import on PostgreSQL
            # may interleave ids, so the range is a superset, always filtered by batch)
            fact_ids = [first, loader.next_fact_id(session) - 1]
            result.rows_loaded = stats.rows_loaded
            result.facts_inserted = stats.facts_inserted
            result.facts_superseded = stats.facts_superseded
            result.facts_unchanged = stats.facts_unchanged
            result.enterprises_created = stats.enterprises_created
            result.enterprises_updated = stats.enterprises_updated
            batch.rows_loaded = stats.rows_loaded
        result.reviews_opened = _record_reviews(session, batch, prepared, digest)
        result.status = status
        if write_reports:
            # before the commit: nothing after it can fail the import (issue 13 point 2)
            _safe_reports(result, prepared, report_dir, f"batch-{result.batch_id}")
        _record_problems(session, batch, result.problems)
        summary = result.to_dict(with_problems=False)
        if status in ("committed", "partial"):
            summary["fact_id_range"] = fact_ids
            summary["fact_years"] = sorted(stats.fact_years)
            summary["fact_units"] = dict(sorted(stats.fact_units.items()))
        batch.summary = summary
        session.commit()
    return result


def _safe_reports(
    result: ImportResult, prepared: list[Prepared], report_dir: Path | None, stem: str
) -> None:
    """Write the reports; a failure becomes the warning ``report.failed`` on the import."""
    try:
        _reports(result, prepared, report_dir, stem)
    except Exception as exc:  # any writer failure: the import itself stays whole
        result.problems.append(
            Problem(
                "report.failed",
                f"导入报告未能生成：{type(exc).__name__}: {exc}",
                f"the import report could not be written: {type(exc).__name__}: {exc}",
                Location(file=result.file),
                "warning",
            )
        )


def _thresholds(on: date, now: date | None = None) -> dict[str, Any]:
    params = parameters.load()
    now = now or today()
    return {
        "today": now,
        "first_data_year": params.get("ingest.plausibility.first_data_year", on=now),
        "max_magnitude": params.get("ingest.plausibility.max_magnitude", on=now),
        "max_cell_chars": params.get("ingest.limits.max_cell_chars", on=now),
        "tax_revenue_ratio_max": params.get("ingest.validation.tax_revenue_ratio_max", on=on),
        "electricity_yoy_jump_max": params.get("ingest.validation.electricity_yoy_jump_max", on=on),
        "value_added_exceeds_output": params.get(
            "ingest.validation.value_added_exceeds_output", on=on
        ),
    }


def _problem_order(p: Problem) -> tuple:
    loc = p.location
    return (loc.sheet or "", loc.row if loc.row is not None else -1, loc.column or "", p.code)


def review_identity(kind: str, digest: str, sheet: str | None, row: int | None) -> str:
    """A review entry's identity: kind, file content, sheet and row (unique in the store)."""
    return f"{kind}:{digest}:{sheet or ''}:{row if row is not None else ''}"


def _record_reviews(
    session: Session, batch: ImportBatch, prepared: list[Prepared], digest: str
) -> int:
    """Open the review entries not opened before for the same content and row; returns how
    many were opened (a re-import of a rejected file opens none twice)."""
    rows = [
        {
            "batch_id": batch.id,
            "sheet": prep.table.sheet,
            "identity": review_identity(batch.kind, digest, prep.table.sheet, review.get("row")),
            "status": "open",
            "candidates": [],
            **review,
            **{
                k: escape_controls(v)
                for k, v in review.items()
                if k in ("raw_name", "raw_uscc", "raw_account") and isinstance(v, str)
            },
        }
        for prep in prepared
        for review in prep.reviews
    ]
    if not rows:
        return 0
    prefix = review_identity(batch.kind, digest, None, None).rsplit(":", 2)[0] + ":"
    known = set(
        session.scalars(select(MatchReview.identity).where(MatchReview.identity.startswith(prefix)))
    )
    new = [r for r in rows if r["identity"] not in known]
    if not new:
        return 0
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(MatchReview).on_conflict_do_nothing(index_elements=["identity"])
    session.execute(stmt, new)
    return len(new)


def _record_problems(session: Session, batch: ImportBatch, problems: list[Problem]) -> None:
    rows = [
        {
            "batch_id": batch.id,
            "severity": p.severity,
            "code": p.code,
            "message_zh": escape_controls(p.zh),
            "message_en": escape_controls(p.en),
            "sheet": p.location.sheet,
            "row": p.location.row,
            "column": p.location.column or p.location.field,
            "value": None if p.value is None else escape_controls(str(p.value))[:500],
            "uscc": p.uscc,
        }
        for p in problems
    ]
    if rows:
        session.execute(ImportProblem.__table__.insert(), rows)


def _reports(
    result: ImportResult, prepared: list[Prepared], report_dir: Path | None, stem: str
) -> None:
    from industry_brain.ingest import report

    out = report_dir or (data_dir() / "reports")
    out.mkdir(parents=True, exist_ok=True)
    result.report_json = str(report.write_json(result, out / f"{stem}-{result.kind}.json"))
    if result.problems:
        result.report_xlsx = str(
            report.write_xlsx(result, prepared, out / f"{stem}-{result.kind}.xlsx")
        )


def ensure_year(year: int | None, now: date | None = None) -> None:
    """The ``--year`` option must be a data year: from ``ingest.plausibility.first_data_year``
    to the platform's current year."""
    if year is None:
        return
    now = now or today()
    first = int(parameters.load().get("ingest.plausibility.first_data_year", on=now))
    if not (first <= year <= now.year):
        raise ValidationError(
            "import.year",
            f"年份 {year} 不合理（数据年份应在 {first}–{now.year} 之间）",
            f"year {year} is out of range (data years are {first}–{now.year})",
            Location(field="year"),
            year,
        )
