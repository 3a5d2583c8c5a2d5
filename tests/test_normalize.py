"""Normalisers: numbers, periods, text and names, USCC, flags, tenure and unit columns."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from industry_brain.core import uscc
from industry_brain.core.errors import ValidationError
from industry_brain.ingest import normalize as nz

FULL_WIDTH = str.maketrans("0123456789,.-()%", "０１２３４５６７８９，．－（）％")
MISSING_MARKERS = ["—", "——", "--", "-", "/", "无", "空", "N/A", "NA", "n/a", "null", "NULL", ""]


def numbers(values: list[str | None], **kwargs: bool) -> list[tuple[float | None, str]]:
    r = nz.parse_numbers(values, **kwargs)
    return list(zip(r.values.to_pylist(), r.status.to_pylist(), strict=True))


# -- numbers ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "value", "status"),
    [
        ("1234.5", 1234.5, "ok"),
        ("１２３４．５", 1234.5, "ok"),
        ("1,234,567.8", 1234567.8, "ok"),
        ("1，234", 1234.0, "ok"),
        (" 1 234 ", 1234.0, "ok"),
        ("+4", 4.0, "ok"),
        ("-12.5", -12.5, "ok"),
        ("(12.5)", -12.5, "ok"),
        ("（1,000）", -1000.0, "ok"),
        ("−3", -3.0, "ok"),
        ("1.5E+06", 1_500_000.0, "ok"),
        (".5", 0.5, "ok"),
        ("¥1,000", 1000.0, "ok"),
        ("0", 0.0, "ok"),
        ("-0", 0.0, "ok"),
        ("0.00", 0.0, "ok"),
        ("约100", None, "invalid"),
        ("abc", None, "invalid"),
        ("100万元", None, "invalid"),
        ("12,34", None, "invalid"),
        ("1.2.3", None, "invalid"),
        ("(12", None, "invalid"),
        ("12%", None, "invalid"),
        (None, None, "missing"),
        ("—", None, "missing"),
        ("N/A", None, "missing"),
        ("　", None, "missing"),
    ],
)
def test_parse_numbers(raw: str | None, value: float | None, status: str) -> None:
    [(v, s)] = numbers([raw])
    assert s == status
    assert v == value
    if v == 0:
        assert math.copysign(1, v) == 1  # no negative zero


def test_percent_only_when_asked() -> None:
    assert numbers(["12%", "12.5％", "7"], percent=True) == [
        (0.12, "ok"),
        (0.125, "ok"),
        (7.0, "ok"),
    ]
    assert numbers(["12%"]) == [(None, "invalid")]


@pytest.mark.parametrize("marker", MISSING_MARKERS)
def test_missing_markers_are_missing_never_zero(marker: str) -> None:
    r = nz.parse_numbers([marker, f"  {marker} ", marker.translate(FULL_WIDTH)])
    assert r.values.to_pylist() == [None, None, None]
    assert r.status.to_pylist() == ["missing"] * 3


@settings(max_examples=150, deadline=None)
@given(
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=4),
)
def test_formatted_numbers_parse_back(x: float, decimals: int) -> None:
    plain = f"{abs(x):,.{decimals}f}"
    expected = float(f"{x:.{decimals}f}")
    styles = [
        ("-" if x < 0 else "") + plain,
        ("-" if x < 0 else "+") + plain.replace(",", ""),
        (("-" if x < 0 else "") + plain).translate(FULL_WIDTH),
        f"({plain})" if x < 0 else plain,
        (f"({plain})" if x < 0 else plain).translate(FULL_WIDTH),
        ("-" if x < 0 else "") + plain.replace(",", "，"),
    ]
    r = nz.parse_numbers(styles)
    assert r.status.to_pylist() == ["ok"] * len(styles)
    for got in r.values.to_pylist():
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(MISSING_MARKERS), st.sampled_from(["", " ", "\u3000", "\t"]))
def test_missing_markers_with_whitespace(marker: str, pad: str) -> None:
    r = nz.parse_numbers([pad + marker + pad])
    assert r.values.to_pylist() == [None]
    assert r.status.to_pylist() == ["missing"]


def test_many_rows_use_the_same_rules() -> None:
    base = ["1,234", "—", "(5)", "x", None, "0"]
    small = numbers(base)
    big = nz.parse_numbers(base * 2000)  # the distinct-values path
    assert list(zip(big.values.to_pylist(), big.status.to_pylist(), strict=True)) == small * 2000


# -- periods ---------------------------------------------------------------------------------
MONTH_STYLES = [
    "{y}年{m}月",
    "{y}年{m:02d}月",
    "{y}年{m}月份",
    "{y}.{m:02d}",
    "{y}.{m}",
    "{y}-{m:02d}",
    "{y}/{m}",
    "{y}{m:02d}",
    " {y} 年 {m} 月 ",
]
DATE_STYLES = [
    "{y}-{m:02d}-{d:02d}",
    "{y}/{m}/{d}",
    "{y}年{m}月{d}日",
    "{y}{m:02d}{d:02d}",
    "{y}-{m:02d}-{d:02d} 00:00:00",
    "{y}.{m}.{d}",
]


def periods(values: list[str | None], kind: str) -> list[tuple[object, ...]]:
    r = nz.parse_periods(values, kind=kind)
    return list(
        zip(
            r.year.to_pylist(),
            r.month.to_pylist(),
            r.date.to_pylist(),
            r.status.to_pylist(),
            strict=True,
        )
    )


@pytest.mark.parametrize("style", MONTH_STYLES)
def test_month_styles(style: str) -> None:
    assert periods([style.format(y=2024, m=3)], "month") == [(2024, 3, None, "ok")]


@pytest.mark.parametrize("style", DATE_STYLES)
def test_date_styles(style: str) -> None:
    text = style.format(y=2024, m=3, d=1)
    expected = (2024, 3, dt.date(2024, 3, 1), "ok")
    assert periods([text], "date") == [expected]
    assert periods([text], "month") == [expected]


def test_excel_serial_days() -> None:
    assert periods(["45352", "45352.0"], "date") == [(2024, 3, dt.date(2024, 3, 1), "ok")] * 2
    assert periods(["45352"], "month") == [(2024, 3, dt.date(2024, 3, 1), "ok")]
    assert periods(["45352"], "year") == [(None, None, None, "invalid")]
    assert periods(["19999", "80001"], "date") == [(None, None, None, "invalid")] * 2


def test_years() -> None:
    assert (
        periods(["2024", "2024年", "2024年度", "２０２４"], "year") == [(2024, 0, None, "ok")] * 4
    )
    assert periods(["2024-03"], "year") == [(2024, 3, None, "ok")]
    assert periods(["1899", "24", "abc"], "year") == [(None, None, None, "invalid")] * 3


def test_precision_required_by_kind() -> None:
    assert periods(["2024"], "month") == [(None, None, None, "invalid")]
    assert periods(["2024-03"], "date") == [(None, None, None, "invalid")]


@pytest.mark.parametrize("bad", ["2024-13", "2024年13月", "202413", "2024-00", "2023-02-29"])
def test_impossible_months_and_days_are_invalid(bad: str) -> None:
    assert periods([bad], "date" if bad.count("-") == 2 else "month") == [
        (None, None, None, "invalid")
    ]


def test_leap_day_and_missing_periods() -> None:
    assert periods(["2024-02-29"], "date") == [(2024, 2, dt.date(2024, 2, 29), "ok")]
    assert periods([None, "—", "无", ""], "month") == [(None, None, None, "missing")] * 4


def test_period_kind_is_checked() -> None:
    with pytest.raises(ValueError, match="kind"):
        nz.parse_periods(["2024"], kind="week")


@settings(max_examples=80, deadline=None)
@given(
    st.integers(min_value=1950, max_value=2100),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=28),
)
def test_generated_periods_parse_back(y: int, m: int, d: int) -> None:
    months = [s.format(y=y, m=m) for s in MONTH_STYLES]
    r = nz.parse_periods(months, kind="month")
    assert r.status.to_pylist() == ["ok"] * len(months)
    assert r.year.to_pylist() == [y] * len(months)
    assert r.month.to_pylist() == [m] * len(months)
    dates = [s.format(y=y, m=m, d=d) for s in DATE_STYLES]
    r = nz.parse_periods(dates, kind="date")
    assert r.status.to_pylist() == ["ok"] * len(dates)
    assert r.date.to_pylist() == [dt.date(y, m, d)] * len(dates)
    serial = (dt.date(y, m, d) - dt.date(1899, 12, 30)).days
    if 20000 <= serial <= 80000:
        assert nz.parse_periods([str(serial)], kind="date").date.to_pylist() == [dt.date(y, m, d)]


def test_many_period_rows_use_the_same_rules() -> None:
    base = ["2024年3月", "2024-13", None, "45352", "202412"]
    small = periods(base, "month")
    assert periods(base * 1500, "month") == small * 1500


# -- text and names --------------------------------------------------------------------------
def test_normalize_text() -> None:
    out = nz.normalize_text(["  湖州  吴兴区\n织里镇 ", "ＡＢＣ　公司", "", "   ", None])
    assert out.to_pylist() == ["湖州 吴兴区 织里镇", "ABC 公司", None, None, None]


def test_normalize_name_makes_spellings_equal() -> None:
    out = nz.normalize_name(
        [
            "湖州 某某（集团）有限公司",
            "湖州某某(集团)有限公司",
            "湖州某某【集团】有限公司",
            "湖州某某　(集团) 有限公司",
            "abc科技有限公司",
            None,
            " ",
        ]
    ).to_pylist()
    assert out[:4] == ["湖州某某(集团)有限公司"] * 4
    assert out[4:] == ["ABC科技有限公司", None, None]


@pytest.mark.parametrize(
    "values",
    [
        ["a  b", None],
        pa.chunked_array([["a  b"], [None]]),
        np.array(["a  b", None], dtype=object),
        pd.Series(["a  b", np.nan], dtype=object),
        pa.array(["a  b", None]).dictionary_encode(),
    ],
)
def test_inputs_of_any_kind(values: object) -> None:
    assert nz.normalize_text(values).to_pylist() == ["a b", None]


def test_numeric_arrays_are_read_as_text() -> None:
    r = nz.parse_numbers(pa.array([1.5, None, 3]))
    assert r.values.to_pylist() == [1.5, None, 3.0]
    assert nz.as_strings([1, "x", None]).to_pylist() == ["1", "x", None]


# -- USCC ------------------------------------------------------------------------------------
VALID = "91330500MA2B3C4D5B"


def test_normalize_uscc_statuses() -> None:
    raw = [
        VALID,
        " 91330500ma2b3c4d5b ",
        "91330500-MA2B3C4D5B",
        "９１３３０５００ＭＡ２Ｂ３Ｃ４Ｄ５Ｂ",
        "91330500MA2B3C4D5A",
        "9133050",
        "91330500MA2B3C4D5I",
        None,
        "—",
        "",
    ]
    codes, status, expected = nz.normalize_uscc(raw)
    assert codes.to_pylist()[:7] == [VALID] * 4 + [
        "91330500MA2B3C4D5A",
        "9133050",
        "91330500MA2B3C4D5I",
    ]
    assert codes.to_pylist()[7:] == [None, None, None]
    assert status.to_pylist() == ["ok"] * 4 + [
        "checksum",
        "length",
        "charset",
        "missing",
        "missing",
        "missing",
    ]
    assert expected.to_pylist() == [None] * 4 + ["B"] + [None] * 5


def test_uscc_of_letter_coded_authority() -> None:
    code = uscc.make("N2330500MA2B3C4D5")
    assert nz.normalize_uscc([code]).status.to_pylist() == ["ok"]


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=uscc.ALPHABET, min_size=17, max_size=17), st.sampled_from(uscc.ALPHABET))
def test_uscc_check_character(base: str, wrong: str) -> None:
    good = uscc.make(base)
    bad = base + wrong
    _, status, expected = nz.normalize_uscc([good, bad, good.lower()])
    assert status.to_pylist()[0] == "ok"
    assert status.to_pylist()[2] == "ok"
    if wrong == good[17]:
        assert status.to_pylist()[1] == "ok"
    else:
        assert status.to_pylist()[1] == "checksum"
        assert expected.to_pylist()[1] == good[17]
    assert uscc.is_valid(good)


def test_many_uscc_rows_use_the_same_rules() -> None:
    base = [VALID, "91330500MA2B3C4D5A", None, "x"]
    codes, status, expected = nz.normalize_uscc(base * 1500)
    assert status.to_pylist() == ["ok", "checksum", "missing", "length"] * 1500
    assert expected.to_pylist() == [None, "B", None, None] * 1500
    assert codes.to_pylist() == [VALID, "91330500MA2B3C4D5A", None, "X"] * 1500


# -- flags, tenure, units --------------------------------------------------------------------
def test_parse_flag() -> None:
    raw = ["是", "否", "1", "0", "Y", "n", "规上", "规下", "TRUE", "false", "x", None, "—"]
    r = nz.parse_flag(raw)
    assert r.values.to_pylist() == [True, False] * 5 + [None] * 3
    assert r.status.to_pylist() == ["ok"] * 10 + ["invalid", "missing", "missing"]


def test_parse_tenure() -> None:
    raw = ["出让", "划拨", "自有", "出租", "承租", "租用", "租赁", " 出让用地 ", "买卖", None]
    r = nz.parse_tenure(raw)
    assert r.values.to_pylist() == ["出让"] * 3 + ["租赁"] * 4 + ["出让", None, None]
    assert r.status.to_pylist() == ["ok"] * 8 + ["invalid", "missing"]


def test_unit_from_unit_column() -> None:
    raw = ["万千瓦时", "千瓦时", "（万kWh）", "度", "单位：万度", "吨", None]
    r = nz.unit_from_unit_column(raw, "electricity")
    assert r.units.to_pylist() == ["万千瓦时", "千瓦时", "万kwh", "度", "万度", None, None]
    assert r.factors.to_pylist() == [10000.0, 1.0, 10000.0, 1.0, 10000.0, None, None]
    assert r.status.to_pylist() == ["ok"] * 5 + ["invalid", "missing"]


def test_unit_column_with_unknown_dimension() -> None:
    with pytest.raises(ValidationError) as err:
        nz.unit_from_unit_column(["吨"], "weight")
    assert err.value.code == "unit.dimension"


# -- issue 13: control and invisible characters, formula-like text, NaN ----------------------
def test_scrub_text_reports_control_and_removes_invisible_characters() -> None:
    r = nz.scrub_text(
        ["湖州甲\u202e司公限有", "a\x00b", "纯文本", None, "\u200b甲\ufeff", "a\tb", "\x1b[31m"]
    )
    assert r.values.to_pylist() == [
        "湖州甲司公限有",
        "a\x00b",
        "纯文本",
        None,
        "甲",
        "a\tb",
        "\x1b[31m",
    ]
    assert r.control.to_pylist() == [False, True, False, False, False, False, True]
    assert r.removed.to_pylist() == ["U+202E", None, None, None, "U+200B U+FEFF", None, None]


def test_scrub_text_on_many_repeated_values_is_exact() -> None:
    values = ["甲\u202e乙", "正常名称", None] * 3000  # the distinct-value path
    r = nz.scrub_text(values)
    assert r.values.to_pylist() == ["甲乙", "正常名称", None] * 3000
    assert r.removed.to_pylist() == ["U+202E", None, None] * 3000


def test_formula_like_text() -> None:
    got = nz.formula_like(["=HYPERLINK(1)", "+86", "-x", "@SUM", "甲=乙", None, ""])
    assert got.tolist() == [True, True, True, True, False, False, False]


@pytest.mark.parametrize("text", ["NaN", "nan", "#N/A", "#DIV/0!", "TRUE", "#VALUE!"])
def test_nan_true_and_excel_errors_are_not_numbers(text: str) -> None:
    r = nz.parse_numbers([text])
    assert r.status.to_pylist() == ["invalid"]
