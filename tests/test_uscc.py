"""USCC (GB 32100-2015) normalisation and validation.

Check character: C18 = ALPHABET[(31 − Σ value_i × w_i mod 31) mod 31] with
ALPHABET = 0123456789ABCDEFGHJKLMNPQRTUWXY (value = index: A=10 … H=17, J=18, K=19, L=20, M=21,
N=22, P=23, Q=24, R=25, T=26, U=27, W=28, X=29, Y=30) and weights
w = 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28 (shared/domain/codes.md §1).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from industry_brain.core import uscc
from industry_brain.core.errors import Location, ValidationError

# Vectors from shared/domain/codes.md §1; the sums below are Σ value × weight over positions 1–17.
VALID = [
    # 9 1 3 5 0 1 0 0 M(21) 0 0 0 1 0 0 Y(30) 4
    # 9+3+27+135+0+26+0+0+420+0+0+0+8+0+0+900+112 = 1640; 1640 mod 31 = 28; 31−28 = 3 → '3'
    "91350100M000100Y43",
    # 9 1 3 3 0 0 0 0 M(21) A(10) 2 7 U(27) 0 X(29) B(11) 2
    # 9+3+27+81+420+290+50+91+216+290+330+56 = 1863; mod 31 = 3; 31−3 = 28 → 'W'
    "91330000MA27U0XB2W",
    # 9 1 3 3 0 5 0 0 M(21) A(10) 2 B(11) 3 C(12) 4 D(13) 1
    # 9+3+27+81+130+420+290+50+143+24+288+40+390+28 = 1923; mod 31 = 1; 31−1 = 30 → 'Y'
    "91330500MA2B3C4D1Y",
    # 9 1 3 3 0 5 0 0 1 2 3 4 5 6 7 8 8
    # 9+3+27+81+130+20+58+75+52+40+144+70+240+224 = 1173; mod 31 = 26; 31−26 = 5 → '5'
    "913305001234567885",
    # 9 1 3 3 0 5 then zeros: 9+3+27+81+130 = 250; mod 31 = 2; 31−2 = 29 → 'X'
    "91330500000000000X",
]


@pytest.mark.parametrize("code", VALID)
def test_valid_vectors(code: str) -> None:
    assert uscc.normalize(code) == code
    assert uscc.is_valid(code)
    assert uscc.check_character(code[:17]) == code[17]
    assert uscc.make(code[:17]) == code


def test_wrong_check_character_names_the_expected_one() -> None:
    # 91350100M000100Y4 + '4' instead of '3' (sum 1640, 1640 mod 31 = 28, 31 − 28 = 3 → '3').
    with pytest.raises(ValidationError) as info:
        uscc.normalize("91350100M000100Y44")
    err = info.value
    assert err.code == "uscc.checksum"
    assert "“3”" in err.zh and "“4”" in err.zh
    assert "expected '3'" in err.en and "got '4'" in err.en
    assert err.location == Location(field="uscc")
    assert not uscc.is_valid("91350100M000100Y44")


def test_wrong_check_character_letter() -> None:
    # 91330500MA2B3C4D1 → sum 1923, mod 31 = 1, 31 − 1 = 30 → 'Y'; given 'X' (29).
    with pytest.raises(ValidationError) as info:
        uscc.normalize("91330500MA2B3C4D1X")
    assert info.value.code == "uscc.checksum"
    assert "“Y”" in info.value.zh
    assert "expected 'Y'" in info.value.en


def test_error_carries_location_and_raw_value() -> None:
    loc = Location(file="tax.xlsx", sheet="Sheet1", row=7, column="纳税人识别号")
    with pytest.raises(ValidationError) as info:
        uscc.normalize(" 91350100m000100y44 ", loc)
    assert info.value.location == loc
    d = info.value.to_dict()
    assert d["code"] == "uscc.checksum"
    assert d["row"] == 7 and d["file"] == "tax.xlsx"
    assert d["value"] == " 91350100m000100y44 "


def test_full_width_input_is_normalised() -> None:
    full = "９１３５０１００Ｍ０００１００Ｙ４３"
    assert uscc.normalize(full) == "91350100M000100Y43"
    # Full-width space (U+3000) and full-width hyphen (U+FF0D) are separators too.
    assert uscc.normalize("９１３５０１００\u3000Ｍ０００１００－Ｙ４３") == "91350100M000100Y43"
    # python-stdnum alone rejects full-width input (STACK.md gotcha 5): we must normalise first.
    assert not stdnum_uscc.is_valid(full)


def test_lowercase_is_normalised() -> None:
    assert uscc.normalize("91330000ma27u0xb2w") == "91330000MA27U0XB2W"


@pytest.mark.parametrize(
    "raw",
    [
        " 91330000MA27U0XB2W ",
        "9133 0000 MA27 U0XB 2W",
        "91330000-MA27U0XB2-W",
        "\t91330000MA27U0XB2W\n",
    ],
)
def test_spaces_and_hyphens_are_stripped(raw: str) -> None:
    assert uscc.normalize(raw) == "91330000MA27U0XB2W"


@pytest.mark.parametrize(
    ("raw", "length"),
    [("91330000MA27U0XB2", 17), ("91330000MA27U0XB2WW", 19), ("9133", 4)],
)
def test_wrong_length(raw: str, length: int) -> None:
    with pytest.raises(ValidationError) as info:
        uscc.normalize(raw)
    assert info.value.code == "uscc.length"
    assert f"实为{length}位" in info.value.zh
    assert f"got {length}" in info.value.en


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000"])
def test_missing(raw: str | None) -> None:
    with pytest.raises(ValidationError) as info:
        uscc.normalize(raw)  # type: ignore[arg-type]
    assert info.value.code == "uscc.missing"
    assert not uscc.is_valid(raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["I", "O", "S", "V", "Z"])
def test_invalid_characters(bad: str) -> None:
    raw = "91330000MA27U0XB2W"
    code = raw[:10] + bad + raw[11:]  # replace the '2' at position 11
    with pytest.raises(ValidationError) as info:
        uscc.normalize(code)
    assert info.value.code == "uscc.charset"
    assert f"“{bad}”" in info.value.zh
    assert f"'{bad}'" in info.value.en
    # lower case is upper-cased first, so it is the same error
    with pytest.raises(ValidationError) as info:
        uscc.normalize(code.lower())
    assert info.value.code == "uscc.charset"


def test_punctuation_is_an_invalid_character() -> None:
    with pytest.raises(ValidationError) as info:
        uscc.normalize("91330000MA27U0XB2*")
    assert info.value.code == "uscc.charset"


@pytest.mark.parametrize(
    ("base", "check"),
    [
        # N(22) 2 3 3 0 5 0 0 M A 2 B 3 C 4 D 1:
        # 22+6+27+81+130+420+290+50+143+24+288+40+390+28 = 1939; mod 31 = 17; 31−17 = 14 → 'E'
        ("N2330500MA2B3C4D1", "E"),
        # Y(30) 1 3 3 0 5 0 0 M A 2 B 3 C 4 D 1:
        # 30+3+27+81+130+420+290+50+143+24+288+40+390+28 = 1944; mod 31 = 22; 31−22 = 9 → '9'
        ("Y1330500MA2B3C4D1", "9"),
    ],
)
def test_letter_authority_is_accepted_although_stdnum_rejects_it(base: str, check: str) -> None:
    code = uscc.make(base)
    assert code == base + check
    assert uscc.normalize(code) == code
    # python-stdnum requires 8 leading digits, so it rejects this GB 32100-valid code ...
    assert not stdnum_uscc.is_valid(code)
    # ... although its own checksum agrees with ours.
    assert stdnum_uscc.calc_check_digit(base) == check
    # and a wrong check character is still caught for these codes
    wrong = base + ("0" if check != "0" else "1")
    with pytest.raises(ValidationError) as info:
        uscc.normalize(wrong)
    assert info.value.code == "uscc.checksum"


_bases = st.text(alphabet=uscc.ALPHABET, min_size=17, max_size=17)


@settings(max_examples=200, deadline=None)
@given(base=_bases, data=st.data())
def test_make_is_valid_and_any_single_change_is_detected(base: str, data: st.DataObject) -> None:
    code = uscc.make(base)
    assert len(code) == 18
    assert uscc.is_valid(code)
    assert uscc.normalize(code.lower()) == code
    pos = data.draw(st.integers(min_value=0, max_value=17), label="position")
    new = data.draw(
        st.sampled_from([c for c in uscc.ALPHABET if c != code[pos]]), label="replacement"
    )
    changed = code[:pos] + new + code[pos + 1 :]
    assert not uscc.is_valid(changed)
    with pytest.raises(ValidationError) as info:
        uscc.normalize(changed)
    assert info.value.code == "uscc.checksum"


@settings(max_examples=100, deadline=None)
@given(base=_bases)
def test_every_single_substitution_is_detected(base: str) -> None:
    # Exhaustive over positions and replacement characters: weights are non-zero mod 31 (a prime),
    # so any one substitution changes the weighted sum mod 31.
    code = uscc.make(base)
    for pos in range(18):
        for new in uscc.ALPHABET:
            if new != code[pos]:
                assert not uscc.is_valid(code[:pos] + new + code[pos + 1 :])
