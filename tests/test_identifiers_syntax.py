"""Identifier syntax ``88.118.8/…`` and GB/T 34014 battery codes (pure functions, hypothesis)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from industry_brain.core.errors import ValidationError
from industry_brain.domains.identifiers import battery as bcode
from industry_brain.domains.identifiers import syntax

SEG = st.text(
    alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    min_size=1,
    max_size=6,
)
SUFFIX = st.text(
    alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-._~:/*",
    min_size=1,
    max_size=60,
)
PREFIX = st.builds(
    lambda c, segs: ".".join([str(c), *segs]),
    st.integers(min_value=1, max_value=999),
    st.lists(SEG, min_size=2, max_size=4),
)


@given(PREFIX, SUFFIX)
def test_round_trip(prefix: str, suffix: str) -> None:
    h = syntax.parse(f"{prefix}/{suffix}")
    assert (h.prefix, h.suffix, str(h)) == (prefix, suffix, f"{prefix}/{suffix}")
    assert h.country == prefix.split(".")[0]
    assert h.node == ".".join(prefix.split(".")[:2])


@given(PREFIX, SUFFIX, st.sampled_from([" ", "\t", "中", "#", "?", "%", "\n", '"']))
def test_forbidden_character_in_suffix(prefix: str, suffix: str, bad: str) -> None:
    with pytest.raises(ValidationError) as e:
        syntax.parse(f"{prefix}/{suffix[: len(suffix) // 2]}{bad}{suffix[len(suffix) // 2 :]}")
    assert e.value.code == "ids.bad_suffix"


@given(st.text(max_size=30))
def test_arbitrary_text_never_crashes(text: str) -> None:
    if syntax.is_valid(text):
        prefix, suffix = text.split("/", 1)
        assert syntax.PREFIX_RE.match(prefix) and prefix.count(".") >= 2
        assert syntax.SUFFIX_RE.match(suffix)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("88.118.8", "ids.bad_syntax"),  # no suffix
        ("88.118.8/", "ids.bad_suffix"),
        ("88.118/P1", "ids.bad_prefix"),  # two segments: not an enterprise prefix
        ("x8.118.8/P1", "ids.bad_prefix"),  # the country code is digits
        ("88..8/P1", "ids.bad_prefix"),
        ("88.1-8.8/P1", "ids.bad_prefix"),
        ("88.118.8/" + "a" * 256, "ids.bad_suffix"),
    ],
)
def test_bad_syntax(text: str, code: str) -> None:
    with pytest.raises(ValidationError) as e:
        syntax.parse(text)
    assert e.value.code == code


def test_suffix_may_hold_slashes() -> None:
    assert syntax.parse("88.118.8/a/b/c").suffix == "a/b/c"
    assert syntax.parse("88.118.8.1/Z").prefix == "88.118.8.1"


# ------------------------------------------------------------------ GB/T 34014


def test_parse_a_code_by_hand() -> None:
    # 厂商 A1B · 电池包 P · 磷酸铁锂 B · 规格 01 · 追溯 HZ00001 · date T3F · serial 0000042
    # default date tables: T = 2010 + 16 (A B C D E F G H J K L M N P R S T) = 2026, 3 = March,
    # F = 9 + 6 = the 15th
    c = bcode.parse("A1BPB01HZ00001T3F0000042")
    assert (c.manufacturer, c.product_type, c.chemistry, c.spec, c.trace) == (
        "A1B",
        "P",
        "B",
        "01",
        "HZ00001",
    )
    assert (c.date_chars, c.produced, c.serial) == ("T3F", date(2026, 3, 15), 42)
    assert c.to_dict()["chemistry_name"] == "LFP"
    assert bcode.generate("A1B", "P", "B", "01", "HZ00001", date(2026, 3, 15), 42) == c.raw


def test_lenient_date_and_strict_fields() -> None:
    c = bcode.parse("a1bpb01hz00001I3F0000042")  # I is no year char: date unknown, code kept
    assert (c.raw, c.produced, c.warnings) == (
        "A1BPB01HZ00001I3F0000042",
        None,
        ("date_not_decoded",),
    )
    for raw, code in [
        ("A1BPB01HZ00001T3F000004", "ids.battery.length"),
        ("A1BXB01HZ00001T3F0000042", "ids.battery.product_type"),
        ("A1BPY01HZ00001T3F0000042", "ids.battery.chemistry"),
        ("A1BPB01HZ00001T3F0000000", "ids.battery.serial"),
        ("A1BPB01HZ00001T3F00000A2", "ids.battery.serial"),
    ]:
        with pytest.raises(ValidationError) as e:
            bcode.parse(raw)
        assert e.value.code == code, raw


def test_day_31_and_cycle() -> None:
    assert bcode.DEFAULT_DATES.encode(date(2026, 12, 31))[1:] == "CY"
    assert len(set(bcode.DEFAULT_DATES.day_chars)) == 31
    # a 30-year cycle: 2040 is written like 2010; ``near`` picks the nearer one
    assert bcode.DEFAULT_DATES.encode(date(2040, 1, 1)) == "A11"
    assert bcode.DEFAULT_DATES.decode("A11") == date(2010, 1, 1)
    assert bcode.DEFAULT_DATES.decode("A11", near=2041) == date(2040, 1, 1)


@given(
    st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3),
    st.sampled_from(sorted(bcode.PRODUCT_TYPES)),
    st.sampled_from(sorted(bcode.CHEMISTRY)),
    st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2),
    st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=7, max_size=7),
    st.dates(min_value=date(2010, 1, 1), max_value=date(2039, 12, 31)),
    st.integers(min_value=1, max_value=9_999_999),
)
def test_battery_round_trip(
    m: str, p: str, ch: str, spec: str, trace: str, d: date, serial: int
) -> None:
    code = bcode.generate(m, p, ch, spec, trace, d, serial)
    assert len(code) == 24
    c = bcode.parse(code)
    assert (c.manufacturer, c.product_type, c.chemistry, c.spec, c.trace, c.produced, c.serial) == (
        m,
        p,
        ch,
        spec,
        trace,
        d,
        serial,
    )
