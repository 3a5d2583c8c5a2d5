"""Unit conversion to the store's units.

Store units (see DESIGN.md): money 万元, land 亩, electricity kWh (千瓦时), energy tce
(吨标准煤), CO2 t, pollutants and fuels by mass t, gas 万立方米, heat GJ (吉焦), people 人.
Units are converted at ingest, never in formulas.

Number policy: values are stored as IEEE-754 doubles. Conversion factors are exact decimal
ratios (powers of ten, 1 亩 = 10000/15 m²), applied once at ingest; presentation rounds
(money to 4 decimals of 万元 = 1 元). Sums over many enterprises are compared with a relative
tolerance in tests because engines may add in different orders.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

from industry_brain.core.errors import Location, ValidationError

# 1 亩 = 10000/15 m² = 666.666… m² (GB: 1 公顷 = 15 亩).
SQM_PER_MU = Fraction(10000, 15)


@dataclass(frozen=True)
class Dimension:
    name: str
    store_unit: str
    zh: str
    factors: dict[str, Fraction]  # unit alias → factor to the store unit


_MONEY = {
    "元": Fraction(1, 10000),
    "千元": Fraction(1, 10),
    "万元": Fraction(1),
    "百万元": Fraction(100),
    "亿元": Fraction(10000),
    "yuan": Fraction(1, 10000),
    "cny": Fraction(1, 10000),
    "10k yuan": Fraction(1),
}
_AREA = {
    "亩": Fraction(1),
    "平方米": 1 / SQM_PER_MU,
    "m2": 1 / SQM_PER_MU,
    "㎡": 1 / SQM_PER_MU,
    "平米": 1 / SQM_PER_MU,
    "公顷": Fraction(15),
    "ha": Fraction(15),
    "mu": Fraction(1),
}
_ELECTRICITY = {
    "千瓦时": Fraction(1),
    "kwh": Fraction(1),
    "度": Fraction(1),
    "万千瓦时": Fraction(10000),
    "万kwh": Fraction(10000),
    "万度": Fraction(10000),
    "兆瓦时": Fraction(1000),
    "mwh": Fraction(1000),
}
_ENERGY = {
    "吨标准煤": Fraction(1),
    "吨标煤": Fraction(1),
    "tce": Fraction(1),
    "万吨标准煤": Fraction(10000),
    "千克标准煤": Fraction(1, 1000),
    "千克标煤": Fraction(1, 1000),
    "kgce": Fraction(1, 1000),
}
_MASS = {
    "吨": Fraction(1),
    "t": Fraction(1),
    "千克": Fraction(1, 1000),
    "公斤": Fraction(1, 1000),
    "kg": Fraction(1, 1000),
    "万吨": Fraction(10000),
}
_HEADCOUNT = {"人": Fraction(1), "persons": Fraction(1)}
_VOLUME = {
    "万立方米": Fraction(1),
    "万m3": Fraction(1),
    "万方": Fraction(1),
    "立方米": Fraction(1, 10000),
    "m3": Fraction(1, 10000),
    "亿立方米": Fraction(10000),
}
_HEAT = {
    "吉焦": Fraction(1),
    "gj": Fraction(1),
    "百万千焦": Fraction(1),
    "兆焦": Fraction(1, 1000),
    "mj": Fraction(1, 1000),
    "万吉焦": Fraction(10000),
}

DIMENSIONS: dict[str, Dimension] = {
    "money": Dimension("money", "万元", "金额", _MONEY),
    "area": Dimension("area", "亩", "面积", _AREA),
    "electricity": Dimension("electricity", "千瓦时", "电量", _ELECTRICITY),
    "energy": Dimension("energy", "吨标准煤", "能耗", _ENERGY),
    "mass": Dimension("mass", "吨", "质量", _MASS),
    "headcount": Dimension("headcount", "人", "人数", _HEADCOUNT),
    "volume": Dimension("volume", "万立方米", "体积", _VOLUME),
    "heat": Dimension("heat", "吉焦", "热量", _HEAT),
}


@cache
def _lookup(dimension: str) -> dict[str, Fraction]:
    """Canonical spelling → exact factor, built once per dimension."""
    return {canonical_unit(k): v for k, v in DIMENSIONS[dimension].factors.items()}


def canonical_unit(text: str) -> str:
    """Normalise a unit spelling: NFKC, lower-case, no spaces or brackets."""
    t = unicodedata.normalize("NFKC", text).strip().lower()
    t = re.sub(r"[\s()\[\]（）【】]", "", t)
    return t.replace("²", "2")


def factor(unit: str, dimension: str, location: Location | None = None) -> float:
    """Factor converting a value in ``unit`` to the store unit of ``dimension``.

    >>> factor("千元", "money")
    0.1
    """
    return float(exact_factor(unit, dimension, location))


def exact_factor(unit: str, dimension: str, location: Location | None = None) -> Fraction:
    """The exact ratio (a ``Fraction``) converting ``unit`` to the store unit of ``dimension``."""
    dim = DIMENSIONS.get(dimension)
    if dim is None:
        raise ValidationError(
            "unit.dimension",
            f"未知的量纲“{dimension}”",
            f"unknown dimension '{dimension}'",
            location,
            dimension,
        )
    table = _lookup(dimension)
    key = canonical_unit(unit)
    if key not in table:
        known = "、".join(dim.factors)
        raise ValidationError(
            "unit.unknown",
            f"无法识别的{dim.zh}单位“{unit}”（可用：{known}）",
            f"unknown {dimension} unit '{unit}' (known: {', '.join(dim.factors)})",
            location,
            unit,
        )
    return table[key]


def convert(value: float, unit: str, dimension: str, location: Location | None = None) -> float:
    """Convert ``value`` given in ``unit`` to the store unit of ``dimension``.

    The product is computed exactly (the decimal the float stands for, times the exact factor)
    and rounded once, so 3 千元 gives 0.3 万元, not ``3 * 0.1 == 0.30000000000000004``.

    >>> convert(1500, "平方米", "area")
    2.25
    >>> convert(3, "千元", "money")
    0.3
    """
    exact = exact_factor(unit, dimension, location)
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value * exact)
    number = float(value)
    if not math.isfinite(number):
        return number * float(exact)
    # repr() is the shortest decimal that round-trips, i.e. the number as written in the file.
    return float(Fraction(repr(number)) * exact)


def store_unit(dimension: str) -> str:
    """The unit a dimension is stored in (万元, 亩, 千瓦时, 吨标准煤, 吨, 人)."""
    return DIMENSIONS[dimension].store_unit


def detect_unit(header: str, dimension: str) -> str | None:
    """Find a unit of ``dimension`` written in a column header, e.g. ``用地面积(平方米)``.

    Longest alias wins so that 万千瓦时 is not read as 千瓦时.
    """
    text = canonical_unit(header)
    aliases = sorted(DIMENSIONS[dimension].factors, key=lambda a: -len(canonical_unit(a)))
    for alias in aliases:
        key = canonical_unit(alias)
        if len(key) <= 1 and not re.search(r"[(（\[【/]" + re.escape(alias), header):
            # a one-character unit (元, 亩, 度, t, 人) only counts inside brackets or after '/'
            continue
        if key in text:
            return alias
    return None
