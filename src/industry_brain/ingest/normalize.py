"""Vectorised normalisers (规范化) for raw department data.

Every function takes a column of raw strings — a ``pyarrow`` array or chunked array (what
``RawTable.data`` holds), or any sequence / NumPy array / pandas Series of strings and
``None`` — and returns ``pyarrow`` arrays of the same length. The work is done by
``pyarrow.compute`` kernels (NFKC, regular expressions, casts); the few steps that need Python
(USCC check characters, unit names) run once per *distinct* value, never once per row.

Each parser returns a ``status`` string array with a small code per row: ``ok``, ``missing``
(an empty cell or a placeholder such as ``—``, ``--``, ``/``, ``无``, ``空``, ``N/A``) or
``invalid``; ``normalize_uscc`` uses ``ok``, ``missing``, ``length``, ``charset`` and
``checksum``. A missing value is null, never 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, NamedTuple, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from industry_brain.core import units
from industry_brain.core.uscc import ALPHABET, WEIGHTS, check_character

__all__ = [
    "MISSING_PATTERN",
    "FlagResult",
    "NumberResult",
    "PeriodResult",
    "ScrubResult",
    "TenureResult",
    "UnitResult",
    "UsccResult",
    "as_strings",
    "formula_like",
    "normalize_name",
    "normalize_text",
    "normalize_uscc",
    "parse_flag",
    "parse_numbers",
    "parse_periods",
    "parse_tenure",
    "scrub_text",
    "unit_from_unit_column",
]

ArrayLike = pa.Array | pa.ChunkedArray | Sequence[Any] | np.ndarray  # or a pandas Series

#: Placeholders meaning "no value" (after NFKC and whitespace removal), case-insensitive:
#: runs of dashes (—, --, -, ——), slashes, 无, 空, 暂无, 不详, N/A, NA, null, none. ``NaN``
#: (a program's failed computation) and Excel error values (``#N/A``, ``#DIV/0!``) are not
#: placeholders: in a number column they are invalid (value.not_number), never silently missing.
MISSING_PATTERN = r"^(?i:[\-‐‑‒–—―−─━_~/\\]*|无|空|暂无|不详|n/?a|null|none)$"
_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?"
_NUMBER_PATTERN = rf"^(?:(?P<sign>[+-]?)[¥$]?(?P<n1>{_NUM})|\([¥$]?(?P<n2>{_NUM})\))(?P<pct>%?)$"
_PLAIN_NUMBER = r"^-?\d+(?:\.\d+)?$"
_STATUS3 = pa.array(["ok", "missing", "invalid"], pa.string())
_NULL_STR = pa.scalar(None, pa.string())
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
_DISTINCT_MIN_ROWS = 4096
_DISTINCT_SAMPLE = 20000


# -- input helpers ---------------------------------------------------------------------------
def as_strings(values: ArrayLike) -> pa.Array:
    """Any column of raw values as one (unchunked) ``pa.string()`` array; NaN/None → null."""
    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks == 0:
            arr = pa.array([], values.type)
        elif values.num_chunks == 1:
            arr = values.chunk(0)
        else:
            arr = values.combine_chunks()
    elif isinstance(values, pa.Array):
        arr = values
    else:
        try:
            arr = pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = pa.array(
                [
                    None if v is None or (isinstance(v, float) and v != v) else str(v)
                    for v in values
                ],
                pa.string(),
            )
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_string(arr.type):
        return arr
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.string())
    return pc.cast(arr, pa.string())


def _nfkc(arr: pa.Array) -> pa.Array:
    """NFKC (全角→半角: １２３ → 123, （ → (, ， → ,) when any value is not ASCII."""
    if pc.all(pc.string_is_ascii(arr)).as_py() is False:
        return pc.utf8_normalize(arr, form="NFKC")
    return arr


def _replace_all(arr: pa.Array, pattern: str, replacement: str) -> pa.Array:
    if pc.any(pc.match_substring_regex(arr, pattern)).as_py():
        return pc.replace_substring_regex(arr, pattern, replacement)
    return arr


def _squeeze(arr: pa.Array) -> pa.Array:
    """NFKC, all whitespace removed, the Unicode minus sign as '-'."""
    s = _nfkc(arr)
    s = _replace_all(s, r"\s+", "")
    return _replace_all(s, "−", "-")


def _np_bool(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _missing(squeezed: pa.Array) -> np.ndarray:
    return ~_np_bool(pc.is_valid(squeezed)) | _np_bool(
        pc.match_substring_regex(squeezed, MISSING_PATTERN)
    )


def _status(missing: np.ndarray, ok: np.ndarray, codes: pa.Array = _STATUS3) -> pa.Array:
    idx = np.where(missing, 1, np.where(ok, 0, 2)).astype(np.int8)
    return pc.take(codes, pa.array(idx))


def _masked(values: np.ndarray, ok: np.ndarray, typ: pa.DataType) -> pa.Array:
    return pa.array(values, typ, mask=~ok)


_T = TypeVar("_T")


def _by_distinct(arr: pa.Array, impl: Callable[[pa.Array], _T], *, sample: bool = False) -> _T:
    """Run ``impl`` once per distinct value when values repeat (months, names, codes, flags)
    and spread the results back to the rows with ``take``; otherwise run it on all rows.

    With ``sample`` (columns that are usually all distinct, like amounts) the first rows decide
    whether encoding is worth it."""
    n = len(arr)
    if n < _DISTINCT_MIN_ROWS:
        return impl(arr)
    if sample:
        head = arr.slice(0, _DISTINCT_SAMPLE)
        if 2 * pc.count_distinct(head, mode="all").as_py() > len(head):
            return impl(arr)
    encoded = pc.dictionary_encode(arr)
    if 2 * len(encoded.dictionary) > n:
        return impl(arr)
    dictionary = pa.concat_arrays([encoded.dictionary, pa.nulls(1, arr.type)])
    idx = pc.fill_null(encoded.indices, len(encoded.dictionary))
    result = impl(dictionary)
    if isinstance(result, pa.Array):
        return pc.take(result, idx)
    if isinstance(result, tuple):
        return type(result)(*(pc.take(x, idx) for x in result))
    return replace(
        result, **{f.name: pc.take(getattr(result, f.name), idx) for f in fields(result)}
    )


# -- numbers -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class NumberResult:
    """``values`` float64 (null where missing or invalid); ``status`` ok|missing|invalid."""

    values: pa.Array
    status: pa.Array


def parse_numbers(values: ArrayLike, *, percent: bool = False) -> NumberResult:
    """Parse numbers (数值) as written in department files.

    Accepts full-width digits and punctuation (``１２３４．５``), thousands separators
    (``1,234,567.8``, ``1，234``), spaces, a leading ``+``, ``-12.5``, accounting negatives
    ``(12.5)``, exponents (``1.5E+06``) and a leading ``¥``. ``12%`` is 0.12 when ``percent``
    is true and invalid otherwise; without ``%`` a number is taken as written. Placeholders
    (``—``, ``--``, ``-``, ``/``, ``无``, ``空``, ``N/A``, ``NA``, ``null``, blank) are
    missing, never 0. Text such as ``约100`` or ``abc`` is invalid.
    """
    return _by_distinct(as_strings(values), lambda arr: _parse_numbers(arr, percent), sample=True)


def _parse_numbers(arr: pa.Array, percent: bool) -> NumberResult:
    s = _squeeze(arr)
    missing = _missing(s)
    plain = _np_bool(pc.match_substring_regex(s, _PLAIN_NUMBER))
    if plain.sum() + missing.sum() == len(s):  # fast path: plain decimals only
        nums = pc.cast(pc.if_else(pa.array(plain), s, _NULL_STR), pa.float64())
        ok = plain
    else:
        m = pc.extract_regex(s, _NUMBER_PATTERN)
        ok = _np_bool(pc.is_valid(m)) & ~missing
        n1, n2 = m.field("n1"), m.field("n2")
        text = pc.if_else(pc.equal(n1, ""), n2, n1)
        text = pc.if_else(pa.array(ok), text, _NULL_STR)
        text = _replace_all(text, ",", "")
        nums = pc.cast(text, pa.float64())
        negative = pc.or_(pc.equal(m.field("sign"), "-"), pc.not_equal(n2, ""))
        nums = pc.if_else(negative, pc.negate(nums), nums)
        has_pct = _np_bool(pc.equal(m.field("pct"), "%"))
        if percent:
            nums = pc.if_else(pa.array(has_pct), pc.divide(nums, 100.0), nums)
        else:
            ok &= ~has_pct
    floats = np.asarray(pc.fill_null(nums, 0.0).to_numpy(zero_copy_only=False), np.float64)
    floats = floats + 0.0  # no negative zero
    return NumberResult(
        values=_masked(floats, ok, pa.float64()), status=_status(missing, ok & ~missing)
    )


# -- periods -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PeriodResult:
    """Parsed periods: ``year`` int32, ``month`` int32 (0 when only a year is given),
    ``date`` date32 (null unless a day is given) — all null unless ``status`` is ``ok``."""

    year: pa.Array
    month: pa.Array
    date: pa.Array
    status: pa.Array


_DATE_PATTERN = r"^(?P<y>\d{4})(?:-(?P<m>\d{1,2})(?:-(?P<d>\d{1,2}))?)?$"
_COMPACT_PATTERN = r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})?$"
_SERIAL_PATTERN = r"^(?P<n>\d{5})(?:\.\d+)?$"
_TIME_SUFFIX = r"(?:T|\s)+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$"


def _ints(struct: pa.Array, name: str, absent: int) -> np.ndarray:
    """A regex group as int64: ``absent`` where the group did not take part, -1 on no match."""
    part = struct.field(name)
    part = pc.if_else(pc.equal(part, ""), _NULL_STR, part)
    out = np.array(
        pc.fill_null(pc.cast(part, pa.int64()), absent).to_numpy(zero_copy_only=False),
        np.int64,
    )
    out[~_np_bool(pc.is_valid(struct))] = -1
    return out


def parse_periods(values: ArrayLike, kind: str = "month") -> PeriodResult:
    """Parse years, months and dates (年份/月份/日期).

    Accepted: ``2024年3月``, ``2024年03月``, ``2024年3月份``, ``2024.03``, ``2024.3``,
    ``2024-03``, ``2024/3``, ``202403``, ``2024-03-01``, ``2024/3/1``, ``2024年3月1日``,
    ``20240301`` (a trailing time such as ``00:00:00`` is ignored), ``2024`` and
    ``2024年``/``2024年度``, and for ``kind`` ``"date"`` or ``"month"`` Excel serial day
    numbers between 20000 and 80000 (``45352`` → 2024-03-01). ``kind`` says what a value must
    contain: ``"year"`` a year, ``"month"`` a year and month, ``"date"`` a full date; less is
    invalid, more is kept (a date in a month column gives its year, month and date). Years
    outside 1900–2200, month 13 or 31 February are invalid.
    """
    if kind not in ("year", "month", "date"):
        raise ValueError(f"kind must be 'year', 'month' or 'date', not {kind!r}")
    return _by_distinct(as_strings(values), lambda arr: _parse_periods(arr, kind))


def _parse_periods(arr: pa.Array, kind: str) -> PeriodResult:
    s = pc.utf8_trim_whitespace(_nfkc(arr))
    squeezed = _replace_all(s, r"\s+", "")
    missing = _missing(squeezed)
    t = _replace_all(s, _TIME_SUFFIX, "")
    t = _replace_all(t, r"\s+", "")
    t = _replace_all(t, r"年度?|月份?|[/.]", "-")
    t = _replace_all(t, r"(?:日|号|-)$", "")
    a = pc.extract_regex(t, _DATE_PATTERN)
    b = pc.extract_regex(t, _COMPACT_PATTERN)
    ya, ma, da = _ints(a, "y", 0), _ints(a, "m", 0), _ints(a, "d", 0)
    yb, mb, db = _ints(b, "y", 0), _ints(b, "m", 0), _ints(b, "d", 0)
    use_a = ya >= 0
    y = np.where(use_a, ya, yb)
    m = np.where(use_a, ma, mb)
    d = np.where(use_a, da, db)
    matched = y >= 0
    if kind != "year":
        serial = _ints(pc.extract_regex(squeezed, _SERIAL_PATTERN), "n", -1)
        is_serial = (serial >= 20000) & (serial <= 80000)
        if is_serial.any():
            days = _EXCEL_EPOCH + np.where(is_serial, serial, 0).astype("timedelta64[D]")
            months = days.astype("datetime64[M]")
            sy = months.astype("datetime64[Y]").astype(np.int64) + 1970
            sm = months.astype(np.int64) % 12 + 1
            sd = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
            y = np.where(is_serial, sy, y)
            m = np.where(is_serial, sm, m)
            d = np.where(is_serial, sd, d)
            matched |= is_serial
    ok = matched & (y >= 1900) & (y <= 2200) & (m >= 0) & (m <= 12) & (d >= 0)
    ok &= (d == 0) | (m >= 1)
    safe_y = np.where(ok, y, 2000)
    safe_m = np.where(ok & (m >= 1), m, 1)
    first = ((safe_y - 1970) * 12 + safe_m - 1).astype("datetime64[M]")
    month_days = ((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(
        np.int64
    )
    ok &= d <= month_days
    if kind == "month":
        ok &= m >= 1
    elif kind == "date":
        ok &= d >= 1
    ok &= ~missing
    has_day = ok & (d >= 1)
    dates = first.astype("datetime64[D]") + np.where(has_day, d - 1, 0).astype("timedelta64[D]")
    return PeriodResult(
        year=_masked(y.astype(np.int32), ok, pa.int32()),
        month=_masked(m.astype(np.int32), ok, pa.int32()),
        date=pc.cast(_masked(dates.astype(np.int32), has_day, pa.int32()), pa.date32()),
        status=_status(missing, ok),
    )


# -- text and names --------------------------------------------------------------------------
def _empty_to_null(arr: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(arr, ""), _NULL_STR, arr)


def normalize_text(values: ArrayLike) -> pa.Array:
    """Free text (文本): NFKC, trimmed, inner whitespace collapsed to one space; "" → null."""
    return _by_distinct(as_strings(values), _normalize_text)


def _normalize_text(arr: pa.Array) -> pa.Array:
    s = _replace_all(_nfkc(arr), r"\s+", " ")
    return _empty_to_null(pc.utf8_trim(s, " "))


def normalize_name(values: ArrayLike) -> pa.Array:
    """Enterprise-name matching key (企业名称): NFKC, no whitespace at all, brackets unified
    to ASCII ``()`` (（）【】〔〕[]), Latin letters upper-case; "" → null.

    ``湖州 某某（集团）有限公司`` and ``湖州某某(集团)有限公司`` give the same key.
    """
    return _by_distinct(as_strings(values), _normalize_name)


def _normalize_name(arr: pa.Array) -> pa.Array:
    s = _replace_all(_nfkc(arr), r"\s+", "")
    s = _replace_all(s, r"[\[【〔〖﹝]", "(")
    s = _replace_all(s, r"[\]】〕〗﹞]", ")")
    return _empty_to_null(pc.utf8_upper(s))


# -- control and invisible characters -------------------------------------------------------
#: C0 control characters other than tab, line feed and carriage return; DEL; C1 controls.
CONTROL_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
#: Invisible format characters (Unicode Cf): soft hyphen, Arabic letter mark, Mongolian vowel
#: separator, zero-width space/joiners, left-to-right/right-to-left marks, bidi embeddings and
#: overrides (U+202A–U+202E), word joiner and invisible operators, bidi isolates, BOM.
INVISIBLE_PATTERN = (
    r"[\x{00ad}\x{061c}\x{180e}\x{200b}-\x{200f}\x{202a}-\x{202e}\x{2060}-\x{2064}"
    r"\x{2066}-\x{206f}\x{feff}]"
)
_INVISIBLE_CHARS = frozenset(
    [
        *(0x00AD, 0x061C, 0x180E, 0xFEFF),
        *range(0x200B, 0x2010),
        *range(0x202A, 0x202F),
        *range(0x2060, 0x2065),
        *range(0x2066, 0x2070),
    ]
)


@dataclass(frozen=True)
class ScrubResult:
    """``values``: the text with invisible characters removed; ``control`` bool: the value
    holds a control character (NUL, ESC…); ``removed``: the code points removed, e.g.
    ``"U+202E U+200B"`` (null where nothing was removed)."""

    values: pa.Array
    control: pa.Array
    removed: pa.Array


def scrub_text(values: ArrayLike) -> ScrubResult:
    """Find control characters (控制字符) and remove invisible ones (不可见字符: zero-width and
    bidi controls such as U+202E, which make ``司公限有`` display as ``有限公司``).

    A control character is reported, never removed (the cell is refused); invisible
    characters are removed and listed. Values of printable text only are returned as they are
    (one vectorised check; the slow path runs only when some value is not printable).
    """
    arr = as_strings(values)
    if not _maybe_unclean(arr):  # one pass over the bytes: the usual case costs milliseconds
        n = len(arr)
        return ScrubResult(arr, pa.array(np.zeros(n, dtype=bool)), pa.nulls(n, pa.string()))
    return _by_distinct(arr, _scrub_text, sample=True)


def _string_bytes(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (int64, one more than the values) and the UTF-8 bytes of a string array."""
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    offsets = offsets.astype(np.int64)
    if data_buf is None or len(offsets) == 0:
        return offsets, np.zeros(0, dtype=np.uint8)
    data = np.frombuffer(data_buf, dtype=np.uint8)[offsets[0] : offsets[-1]]
    return offsets - offsets[0], data


#: UTF-8 of the invisible characters: lead byte → allowed (second byte, third-byte range).
_INVISIBLE_UTF8 = {
    0xC2: ((0xAD, None),),  # U+00AD
    0xD8: ((0x9C, None),),  # U+061C
    0xE1: ((0xA0, (0x8E, 0x8E)),),  # U+180E
    0xE2: ((0x80, (0x8B, 0x8F)), (0x80, (0xAA, 0xAE)), (0x81, (0xA0, 0xAF))),
    0xEF: ((0xBB, (0xBF, 0xBF)),),  # U+FEFF
}


def _maybe_unclean(arr: pa.Array) -> bool:
    """Could a value hold a control or invisible character? Vectorised over the raw bytes;
    a false positive only costs the exact (slower) check."""
    if pa.types.is_large_string(arr.type):
        return True
    _, data = _string_bytes(arr)
    if data.size == 0:
        return False
    if bool((data < 0x20).any()) or bool((data == 0x7F).any()):
        return True  # tab, CR and LF too: rare in cells, and the exact check handles them
    if bool(((data[:-1] == 0xC2) & (data[1:] >= 0x80) & (data[1:] <= 0x9F)).any()):
        return True  # C1 controls
    for lead, seqs in _INVISIBLE_UTF8.items():
        pos = np.flatnonzero(data[:-1] == lead)
        if pos.size == 0:
            continue
        second = data[pos + 1]
        third = data[np.minimum(pos + 2, data.size - 1)]
        for b2, b3 in seqs:
            hit = second == b2
            if b3 is not None:
                hit &= (third >= b3[0]) & (third <= b3[1])
            if hit.any():
                return True
    return False


def _scrub_text(arr: pa.Array) -> ScrubResult:
    n = len(arr)
    printable = pc.fill_null(pc.utf8_is_printable(arr), True)
    if pc.all(printable).as_py() is not False:
        return ScrubResult(arr, pa.array(np.zeros(n, dtype=bool)), pa.nulls(n, pa.string()))
    control = pc.fill_null(pc.match_substring_regex(arr, CONTROL_PATTERN), False)
    invisible = _np_bool(pc.match_substring_regex(arr, INVISIBLE_PATTERN))
    removed: list[str | None] = [None] * n
    cleaned = arr
    if invisible.any():
        idx = np.flatnonzero(invisible)
        for i, value in zip(idx, arr.take(pa.array(idx)).to_pylist(), strict=True):
            found = sorted({ord(ch) for ch in value if ord(ch) in _INVISIBLE_CHARS})
            removed[i] = " ".join(f"U+{cp:04X}" for cp in found)
        cleaned = pc.replace_substring_regex(arr, INVISIBLE_PATTERN, "")
    return ScrubResult(cleaned, control, pa.array(removed, pa.string()))


def formula_like(values: ArrayLike) -> np.ndarray:
    """True where a text starts like a spreadsheet formula (``=``, ``+``, ``-``, ``@``), as an
    enterprise renamed ``=HYPERLINK(…)`` would (公式注入)."""
    arr = as_strings(values)
    if pa.types.is_large_string(arr.type):
        return _np_bool(pc.match_substring_regex(arr, r"^[=+\-@]"))
    offsets, data = _string_bytes(arr)
    starts, lengths = offsets[:-1], np.diff(offsets)
    first = data[np.minimum(starts, max(data.size - 1, 0))] if data.size else np.zeros(0, np.uint8)
    if not data.size:
        return np.zeros(len(arr), dtype=bool)
    hit = (lengths > 0) & np.isin(first, np.frombuffer(b"=+-@", dtype=np.uint8))
    return hit & _np_bool(pc.is_valid(arr))


# -- USCC --------------------------------------------------------------------------------------
class UsccResult(NamedTuple):
    """``codes``: compacted codes (null when missing); ``status``: ok|missing|length|charset|
    checksum; ``expected_check``: the correct 18th character where status is checksum."""

    codes: pa.Array
    status: pa.Array
    expected_check: pa.Array


def _uscc_status(code: str) -> tuple[str, str | None]:
    if len(code) != 18:
        return "length", None
    if any(ch not in ALPHABET for ch in code):
        return "charset", None
    expected = check_character(code[:17])
    return ("ok", None) if code[17] == expected else ("checksum", expected)


#: byte → value of a GB 32100 character (−1 for any other byte)
_USCC_VALUE = np.full(256, -1, dtype=np.int64)
_USCC_VALUE[np.frombuffer(ALPHABET.encode(), dtype=np.uint8)] = np.arange(len(ALPHABET))


def _uscc_statuses(codes: list[str]) -> list[tuple[str, str | None]]:
    """:func:`_uscc_status` of every code; the usual codes (18 ASCII characters) checked as
    one NumPy matrix, the others one by one."""
    out: list[tuple[str, str | None]] = [("length", None)] * len(codes)
    usual = [i for i, c in enumerate(codes) if len(c) == 18 and c.isascii()]
    for i in set(range(len(codes))) - set(usual):
        out[i] = _uscc_status(codes[i])
    if not usual:
        return out
    raw = np.frombuffer("".join(codes[i] for i in usual).encode("ascii"), dtype=np.uint8)
    values = _USCC_VALUE[raw.reshape(-1, 18)]
    charset = (values < 0).any(axis=1)
    total = (values[:, :17] * np.asarray(WEIGHTS, dtype=np.int64)).sum(axis=1)
    expected = (31 - total % 31) % 31
    good = values[:, 17] == expected
    for i, bad_char, ok, exp in zip(
        usual, charset.tolist(), good.tolist(), expected.tolist(), strict=True
    ):
        if bad_char:
            out[i] = ("charset", None)
        elif ok:
            out[i] = ("ok", None)
        else:
            out[i] = ("checksum", ALPHABET[exp])
    return out


def normalize_uscc(values: ArrayLike) -> UsccResult:
    """Normalise and check unified social credit codes (统一社会信用代码, GB 32100).

    Compacts every value (NFKC full-width → half-width, spaces and hyphens removed, upper
    case) and checks length (18), characters (no I, O, S, V, Z) and the check character. The
    check runs once per distinct code. Invalid codes are reported, never corrected.
    """
    return _by_distinct(as_strings(values), _normalize_uscc)


def _normalize_uscc(arr: pa.Array) -> UsccResult:
    raw = _nfkc(arr)
    missing = _missing(_replace_all(raw, r"\s+", ""))
    codes = pc.utf8_upper(_replace_all(raw, r"[\s\-]+", ""))
    codes = pc.if_else(pa.array(missing), _NULL_STR, codes)
    encoded = pc.dictionary_encode(codes)
    checked = _uscc_statuses(encoded.dictionary.to_pylist())
    status_d = pa.array([st for st, _ in checked] + ["missing"], pa.string())
    expected_d = pa.array([ex for _, ex in checked] + [None], pa.string())
    idx = pc.fill_null(encoded.indices, len(checked))
    return UsccResult(codes, pc.take(status_d, idx), pc.take(expected_d, idx))


# -- flags, tenure, units --------------------------------------------------------------------
@dataclass(frozen=True)
class FlagResult:
    """``values`` bool (null unless ok); ``status`` ok|missing|invalid."""

    values: pa.Array
    status: pa.Array


_TRUE = ("是", "1", "1.0", "y", "yes", "true", "t", "规上", "规模以上", "√", "✓", "✔")
_FALSE = ("否", "0", "0.0", "n", "no", "false", "f", "规下", "规模以下", "×", "✗", "✘")


def parse_flag(values: ArrayLike) -> FlagResult:
    """Yes/no flags such as 规上标志: 是/否, 1/0, Y/N, yes/no, true/false, 规上/规下,
    规模以上/规模以下, √/× (case-insensitive). Anything else is invalid."""
    return _by_distinct(as_strings(values), _parse_flag)


def _parse_flag(arr: pa.Array) -> FlagResult:
    s = pc.utf8_lower(_squeeze(arr))
    yes = _np_bool(pc.is_in(s, value_set=pa.array(_TRUE)))
    no = _np_bool(pc.is_in(s, value_set=pa.array(_FALSE)))
    ok = yes | no
    missing = _missing(s) & ~ok
    return FlagResult(values=_masked(yes, ok, pa.bool_()), status=_status(missing, ok))


@dataclass(frozen=True)
class TenureResult:
    """``values`` "出让" or "租赁" (null unless ok); ``status`` ok|missing|invalid."""

    values: pa.Array
    status: pa.Array


_GRANTED = ("出让", "划拨", "自有", "出让/划拨", "划拨/出让")
_LEASED = ("租赁", "出租", "承租", "租用")


def parse_tenure(values: ArrayLike) -> TenureResult:
    """Land tenure (取得方式): 出让, 划拨, 自有 → "出让"; 租赁, 出租, 承租, 租用 → "租赁";
    a suffix 用地/土地/方式 is ignored (``出让用地``). Anything else is invalid."""
    return _by_distinct(as_strings(values), _parse_tenure)


def _parse_tenure(arr: pa.Array) -> TenureResult:
    s = _squeeze(arr)
    missing = _missing(s)
    s = _replace_all(s, r"(?:用地|土地|方式)$", "")
    granted = _np_bool(pc.is_in(s, value_set=pa.array(_GRANTED)))
    leased = _np_bool(pc.is_in(s, value_set=pa.array(_LEASED)))
    ok = (granted | leased) & ~missing
    out = np.where(granted, "出让", "租赁").astype(object)
    return TenureResult(values=_masked(out, ok, pa.string()), status=_status(missing, ok))


@dataclass(frozen=True)
class UnitResult:
    """``units``: the unit alias as listed in ``core.units`` (e.g. "万千瓦时"); ``factors``:
    float64 factor to the store unit; both null unless ``status`` (ok|missing|invalid) is ok."""

    units: pa.Array
    factors: pa.Array
    status: pa.Array


def _unit_lookup(dimension: str) -> Callable[[str], str | None]:
    table = {units.canonical_unit(a): a for a in units.DIMENSIONS[dimension].factors}

    def find(text: str) -> str | None:
        key = units.canonical_unit(text)
        for prefix in ("计量单位:", "计量单位", "单位:", "单位"):
            if key.startswith(prefix) and key != prefix:
                key = key[len(prefix) :]
                break
        return table.get(key)

    return find


def unit_from_unit_column(values: ArrayLike, dimension: str) -> UnitResult:
    """Units from a separate 单位/计量单位 column (e.g. ``万千瓦时``, ``（千元）``), one lookup
    per distinct value. Raises ``ValidationError`` (``unit.dimension``) for an unknown
    dimension; an unknown unit is ``invalid``."""
    if dimension not in units.DIMENSIONS:
        units.factor("", dimension)  # raises the bilingual unit.dimension error
    s = _nfkc(as_strings(values))
    missing = _missing(_replace_all(s, r"\s+", ""))
    s = pc.if_else(pa.array(missing), _NULL_STR, s)
    encoded = pc.dictionary_encode(s)
    find = _unit_lookup(dimension)
    aliases = [find(v) for v in encoded.dictionary.to_pylist()]
    factors = [units.factor(a, dimension) if a else None for a in aliases]
    unit_arr = pc.take(pa.array(aliases, pa.string()), encoded.indices)
    factor_arr = pc.take(pa.array(factors, pa.float64()), encoded.indices)
    ok = _np_bool(pc.is_valid(unit_arr))
    return UnitResult(unit_arr, factor_arr, _status(missing, ok))
