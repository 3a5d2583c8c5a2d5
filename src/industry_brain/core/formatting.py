"""Numbers for people: one helper for pages, exports and CLI tables.

- thousands separators everywhere (``12,345.60``);
- one number of decimals per unit (:data:`UNIT_DECIMALS`: kWh and people integers, 万元 and
  亩 2 decimals, tce/t 2, ratios such as K 2);
- percentages as percentages: a fraction ``0.9068`` reads ``90.7%``;
- counts and ranks as integers (``886/886``);
- ``—`` when a value is missing (``None``, NaN).

These are display conventions of the store's units (see :mod:`industry_brain.core.units`),
not domain numbers: rounding happens only here, never in formulas.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

MISSING = "—"
DEFAULT_DECIMALS = 2
PERCENT_DECIMALS = 1
#: decimals shown per store unit (unit text as stored; compared case-insensitively)
UNIT_DECIMALS: dict[str, int] = {
    "kwh": 0,
    "千瓦时": 0,
    "万kwh": 2,
    "万千瓦时": 2,
    "万元": 2,
    "元": 0,
    "亩": 2,
    "tce": 2,
    "吨标准煤": 2,
    "t": 2,
    "吨": 2,
    "tco2": 2,
    "万立方米": 2,
    "gj": 0,
    "人": 0,
    "家": 0,
    "个": 0,
}


def _real(value: Any) -> float | None:
    """``value`` as a float, or ``None`` when it is missing or not a number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Real):
        number = float(value)
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
    return None if math.isnan(number) else number


def decimals_for(unit: str | None) -> int:
    """The decimals shown for a value in ``unit`` (2 when the unit is unknown)."""
    if not unit:
        return DEFAULT_DECIMALS
    return UNIT_DECIMALS.get(unit.strip().lower(), DEFAULT_DECIMALS)


def number(value: Any, decimals: int | None = None, unit: str | None = None) -> str:
    """A figure with thousands separators.

    ``decimals`` fixed, else the unit's (:func:`decimals_for`), else integers as integers and
    other values with 2 decimals. Text that is not a number is returned as it is.
    """
    num = _real(value)
    if num is None:
        return MISSING if value is None or isinstance(value, float) else str(value)
    if decimals is None:
        if unit:
            decimals = decimals_for(unit)
        elif isinstance(value, int) or num.is_integer():
            decimals = 0
        else:
            decimals = DEFAULT_DECIMALS
    text = f"{num:,.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text  # no "-0.00"


def with_unit(value: Any, unit: str | None) -> str:
    """``number(value, unit=unit)`` followed by the unit (``1,234.50 万元``)."""
    text = number(value, unit=unit)
    return f"{text} {unit}" if unit and text != MISSING else text


def integer(value: Any) -> str:
    """A count or a rank: an integer with thousands separators."""
    num = _real(value)
    if num is None:
        return MISSING if value is None or isinstance(value, float) else str(value)
    return f"{round(num):,}"


def percent(fraction: Any, decimals: int = PERCENT_DECIMALS) -> str:
    """A fraction as a percentage: ``0.9068`` → ``90.7%``."""
    num = _real(fraction)
    if num is None:
        return MISSING
    return f"{num * 100:,.{decimals}f}%"


def rank(position: Any, of: Any) -> str:
    """A rank among a population: ``886/886`` (``—`` without a rank)."""
    if _real(position) is None:
        return MISSING
    return f"{integer(position)}/{integer(of)}"
