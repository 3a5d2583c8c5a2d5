"""Unified social credit code (统一社会信用代码, USCC, GB 32100-2015) validation and normalisation.

Normalisation: NFKC (full-width → half-width), strip spaces and hyphens, upper-case.
A code whose check character is wrong is an error that names the expected character; it is
never corrected silently. python-stdnum checks the common form (the first 8 characters all
digits); it rejects valid codes of authorities coded with letters (N, Y, A...), which
GB 32100 allows, so the GB 32100 mod-31 checksum is applied here to every code and stdnum
cross-checks the common form.
"""

from __future__ import annotations

import re
import unicodedata

from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError as StdnumError

from industry_brain.core.errors import Location, ValidationError

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
_STRIP = re.compile(r"[\s\-\u3000]+")


def compact(raw: str) -> str:
    """Full-width → half-width, drop spaces and hyphens, upper-case. No validation."""
    text = unicodedata.normalize("NFKC", str(raw))
    return _STRIP.sub("", text).upper()


def check_character(base17: str) -> str:
    """The GB 32100 check character (position 18) for the first 17 characters."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(base17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalize(raw: str, location: Location | None = None) -> str:
    """Return the normalised USCC or raise a bilingual ``ValidationError``.

    >>> normalize(" 91350100m000100y43 ")
    '91350100M000100Y43'
    """
    loc = location or Location(field="uscc")
    if raw is None or str(raw).strip() == "":
        raise ValidationError("uscc.missing", "统一社会信用代码为空", "USCC is empty", loc, raw)
    code = compact(raw)
    if len(code) != 18:
        raise ValidationError(
            "uscc.length",
            f"统一社会信用代码应为18位，实为{len(code)}位",
            f"USCC must have 18 characters, got {len(code)}",
            loc,
            raw,
        )
    if not _SHAPE.match(code):
        bad = next(c for c in code if c not in ALPHABET)
        raise ValidationError(
            "uscc.charset",
            f"统一社会信用代码含非法字符“{bad}”（不得含 I、O、S、V、Z）",
            f"USCC contains an invalid character '{bad}' (I, O, S, V, Z are not used)",
            loc,
            raw,
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        raise ValidationError(
            "uscc.checksum",
            f"统一社会信用代码校验码错误：第18位应为“{expected}”，实为“{code[17]}”",
            f"USCC check character is wrong: expected '{expected}', got '{code[17]}'",
            loc,
            raw,
        )
    if code[:8].isdigit():
        # Cross-check with python-stdnum where its format assumptions hold.
        try:
            stdnum_uscc.validate(code)
        except StdnumError as exc:  # pragma: no cover - both implement GB 32100
            raise ValidationError(
                "uscc.invalid",
                f"统一社会信用代码无效：{exc}",
                f"USCC is invalid: {exc}",
                loc,
                raw,
            ) from exc
    return code


def is_valid(raw: str) -> bool:
    """True when ``raw`` normalises to a valid USCC."""
    try:
        normalize(raw)
    except ValidationError:
        return False
    return True


def make(base17: str) -> str:
    """Complete a 17-character base with its check character (used by the demo city)."""
    base = compact(base17)
    return base + check_character(base)
