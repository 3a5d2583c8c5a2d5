"""The bulk registration's columnar path: a plain CSV file checked and encoded column by column
(Arrow) instead of row by row, with exactly the row path's outcome.

:func:`prepare` answers a :class:`Clean` file — every row valid, the identifiers' stored values
(``ids_identifiers.vals``) encoded — or ``None`` when it cannot *prove* that from columns alone:
a quote, a tab or another control character in the file, a row of another width, a header cell
empty or repeated, a cell the row path would read differently (an integer like ``1_000``), a
template using keywords outside the flat subset below, or any row that may be invalid. ``None``
sends the file down the row path (:func:`service.bulk` over :func:`service.read_rows`), which
reports each problem with its row and column; the columnar path never reports a problem itself,
so a file's outcome (live, or failed with its problems) never depends on the path it took.

The flat subset of JSON Schema checked here: an object template with ``properties``,
``required`` and a boolean ``additionalProperties``; each property of one ``type`` (string,
integer, number, boolean) with any keyword jsonschema checks on a single value (``minLength``,
``minimum``, ``pattern``, ``format``, ``enum``, …). String lengths and integer bounds are
compared as arrays; the other keywords run through the template's own jsonschema validator
once per *distinct* value of the column (dates and quantities repeat; a column of distinct codes
with a pattern costs one check per row, still in C-backed code).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

SUFFIX = "suffix"
BOM = b"\xef\xbb\xbf"
# bytes that make the file "not plain": quotes (the csv module's quoting rules), tabs and other
# control characters (escaped in JSON, refused or reported by the row path), DEL
_NOT_PLAIN = bytes([*range(0x00, 0x0A), 0x0B, 0x0C, *range(0x0E, 0x20), 0x22, 0x7F])
_TOP_KEYS = {"$schema", "$id", "$comment", "title", "description", "type", "properties",
             "required", "additionalProperties", "examples", "default"}  # fmt: skip
_PROP_KEYS = {"type", "title", "description", "$comment", "examples", "default", "format",
              "pattern", "enum", "const", "minLength", "maxLength", "minimum", "maximum",
              "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}  # fmt: skip
_ARRAY_CHECKS = {
    "string": {"minLength", "maxLength"},
    "integer": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"},
}
_INFO = {"title", "description", "$comment", "examples", "default"}
# Arrow's regex (RE2) on explicit ASCII classes: the same strings Python's int()/float() read
_INT_RE = r"^[+-]?[0-9]{1,18}$"
_NUM_RE = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"


@dataclass
class Clean:
    """A file every row of which is valid: file row numbers, suffixes and encoded values."""

    rows: list[int]
    suffixes: list[str]
    vals: list[str]


@lru_cache(maxsize=1)
def _spaces() -> Any:
    """The characters ``str.strip`` removes (every one below U+3001; a test checks the whole
    Unicode range), as an Arrow array."""
    import pyarrow as pa

    return pa.array([chr(c) for c in range(0x3001) if chr(c).isspace()], pa.string())


def _flat(schema: dict) -> dict[str, dict] | None:
    """The template's properties when it is in the flat subset, else None."""
    if set(k for k in schema if not k.startswith("x-")) - _TOP_KEYS:
        return None
    if schema.get("type", "object") != "object":
        return None
    if not isinstance(schema.get("additionalProperties", True), bool):
        return None
    props = schema.get("properties", {})
    if not isinstance(props, dict):
        return None
    for sub in props.values():
        if not isinstance(sub, dict) or set(k for k in sub if not k.startswith("x-")) - _PROP_KEYS:
            return None
        if sub.get("type") not in ("string", "integer", "number", "boolean"):
            return None
        for k in ("exclusiveMinimum", "exclusiveMaximum"):
            if k in sub and isinstance(sub[k], bool):
                return None
    return props


def _table(content: bytes) -> tuple[list[str], Any] | None:
    """(stripped header names, Arrow table of strings) of a plain CSV, else None."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if content.startswith(BOM):
        content = content[len(BOM) :]
    if len(content.translate(None, _NOT_PLAIN)) != len(content):
        return None
    if content.count(b"\r") != content.count(b"\r\n"):  # a lone CR ends a line for csv
        return None
    first = content.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        header = first.decode("utf-8").split(",")
    except UnicodeDecodeError:
        return None
    names = [h.strip() for h in header]
    if not first or "" in names or len(set(names)) != len(names):
        return None
    raw = [f"c{i}" for i in range(len(names))]
    try:
        table = pacsv.read_csv(
            io.BytesIO(content),
            read_options=pacsv.ReadOptions(column_names=raw, skip_rows=1),
            parse_options=pacsv.ParseOptions(quote_char=False, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in raw},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None  # a row of another width, bytes that are not UTF-8
    return names, table


def _stripped(col: Any) -> Any:
    """The column as ``str.strip`` leaves each cell (Python only when a cell needs it)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pc.all(pc.string_is_ascii(col)).as_py():  # tabs and control characters are refused
        edge = pc.or_(pc.starts_with(col, " "), pc.ends_with(col, " "))
    else:
        edge = pc.or_(
            pc.is_in(pc.utf8_slice_codeunits(col, 0, 1), value_set=_spaces()),
            pc.is_in(pc.utf8_slice_codeunits(col, -1, None), value_set=_spaces()),
        )
    if not pc.any(edge).as_py():
        return col
    return pa.array([v.strip() for v in col.to_pylist()], pa.string())


def _distinct(col: Any, convert: Any, check: Any) -> Any | None:
    """JSON text of each cell (via its distinct values), or None when one fails ``check``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    uniq = pc.unique(col)
    texts = []
    for v in uniq.to_pylist():
        value = convert(v)
        if check is not None and not check(value):
            return None
        texts.append(orjson.dumps(value).decode())
    return pc.take(pa.array(texts, pa.string()), pc.index_in(col, value_set=uniq))


def _column_json(col: Any, sub: dict | None, checker: Any) -> Any | None:
    """JSON text of the column's cells (all non-empty) as the row path converts them, or None
    when a cell may be invalid or read differently by the row path."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from industry_brain.domains.identifiers.service import _CONVERT  # the row path's readers

    kind = (sub or {}).get("type")
    keywords = set(k for k in (sub or {}) if not k.startswith("x-")) - _INFO - {"type"}
    per_value = keywords - _ARRAY_CHECKS.get(kind or "", set())
    check = checker.is_valid if per_value else None
    if kind in (None, "string"):
        if per_value:
            return _distinct(col, str, check)
        if keywords:
            n = pc.utf8_length(col)
            if "minLength" in sub and pc.any(pc.less(n, sub["minLength"])).as_py():
                return None
            if "maxLength" in sub and pc.any(pc.greater(n, sub["maxLength"])).as_py():
                return None
        # no quote or control character in the file: JSON escapes only the backslash
        if pc.any(pc.match_substring(col, "\\")).as_py():
            col = pc.replace_substring(col, "\\", "\\\\")
        return pc.binary_join_element_wise('"', col, '"', "")
    if kind == "integer":
        if not pc.all(pc.match_substring_regex(col, _INT_RE)).as_py():
            return None
        if per_value:
            return _distinct(col, _CONVERT["integer"], check)
        ints = pc.cast(pc.utf8_ltrim(col, characters="+"), pa.int64())  # Arrow reads no "+"
        bounds = (
            ("minimum", pc.less),
            ("maximum", pc.greater),
            ("exclusiveMinimum", pc.less_equal),
            ("exclusiveMaximum", pc.greater_equal),
        )
        for key, bad in bounds:
            if key in sub and pc.any(bad(ints, sub[key])).as_py():
                return None
        return pc.cast(ints, pa.string())
    if kind == "number":
        if not pc.all(pc.match_substring_regex(col, _NUM_RE)).as_py():
            return None
        return _distinct(col, _CONVERT["number"], check)
    return _distinct(col, _CONVERT["boolean"], check if per_value else _is_bool)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def prepare(content: bytes, schema: dict, default_ttl: int, checkers: Any) -> Clean | None:
    """The file as a :class:`Clean` when every row is provably valid for ``schema`` (see the
    module's docstring), else None. ``checkers(sub)`` gives the jsonschema validator of one
    property's schema (the template's dialect and format checks)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    props = _flat(schema)
    if props is None:
        return None
    parsed = _table(content)
    if parsed is None:
        return None
    names, table = parsed
    if SUFFIX not in names or table.num_rows == 0:
        return None
    cols = {name: _stripped(table.column(i).combine_chunks()) for i, name in enumerate(names)}
    from industry_brain.domains.identifiers.syntax import SUFFIX_RE

    suffixes = cols.pop(SUFFIX).to_pylist()
    if len(set(suffixes)) != len(suffixes) or not all(map(SUFFIX_RE.match, suffixes)):
        return None
    ttl = int(schema.get("x-ttl", default_ttl))
    restricted = set(schema.get("x-restricted") or [])
    for name in schema.get("required") or []:
        if name not in cols or not pc.all(pc.not_equal(cols[name], "")).as_py():
            return None  # a row lacks a required value: the row path reports it
    extra = sorted(k for k in cols if k not in props)
    pieces = []
    for name in [k for k in props if k in cols] + extra:
        col = cols[name]
        empty = pc.equal(col, "")
        if name not in props:
            if not schema.get("additionalProperties", True) and not pc.all(empty).as_py():
                return None
            sub = None
        else:
            sub = props[name]
        some = pc.invert(empty)
        filled = pc.filter(col, some)
        if len(filled) == 0:
            continue
        js = _column_json(filled, sub, checkers(sub) if sub else None)
        if js is None:
            return None
        key = orjson.dumps(name).decode()
        tail = f",{ttl},1]" if name in restricted else "]"
        piece = pc.binary_join_element_wise(f",[{key},", js, tail, "")
        if len(filled) < len(col):  # spread back over the rows, "" where the cell is empty
            idx = pc.subtract(pc.cumulative_sum(pc.cast(some, pa.int64())), 1)
            piece = pc.if_else(some, pc.take(piece, pc.max_element_wise(idx, 0)), "")
        pieces.append(piece)
    n = table.num_rows
    if pieces:
        vals = pc.binary_join_element_wise(f"[{ttl}", *pieces, "]", "").to_pylist()
    else:
        vals = [f"[{ttl}]"] * n
    return Clean(list(range(2, n + 2)), suffixes, vals)
