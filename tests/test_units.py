"""Unit conversion to the store units (万元, 亩, kWh, tce, t, 万立方米, GJ, 人)."""

from __future__ import annotations

import math

import pytest

from industry_brain.core import units
from industry_brain.core.errors import Location, ValidationError

# (value, unit, dimension, expected value in the store unit) — each computed by hand.
CASES = [
    # -- area → 亩; 1 公顷 = 15 亩 and 1 公顷 = 10000 m², so 1 亩 = 10000/15 m² = 666.67 m²
    (1500, "平方米", "area", 2.25),  # 1500 × 15 / 10000 = 22500 / 10000 = 2.25
    (10000, "平方米", "area", 15.0),  # 10000 × 15 / 10000 = 15
    (20000, "m2", "area", 30.0),  # 20000 × 15 / 10000 = 30
    (100, "㎡", "area", 0.15),  # 100 × 15 / 10000 = 0.15
    (666.67, "平米", "area", 1.000005),  # 666.67 × 15 / 10000 = 10000.05 / 10000
    (1, "公顷", "area", 15.0),  # GB: 1 公顷 = 15 亩
    (2.4, "ha", "area", 36.0),  # 2.4 × 15 = 36
    (12.5, "亩", "area", 12.5),
    # -- money → 万元
    (1234, "千元", "money", 123.4),  # 1 千元 = 1000 元 = 0.1 万元
    (3, "千元", "money", 0.3),  # 3 × 0.1 = 0.3 (naive float: 0.30000000000000004)
    (7, "千元", "money", 0.7),  # 7 × 0.1 = 0.7 (naive float: 0.7000000000000001)
    (25000, "元", "money", 2.5),  # 25000 / 10000
    (1.5, "亿元", "money", 15000.0),  # 1 亿 = 10^8 元 = 10^4 万元
    (4.35, "百万元", "money", 435.0),  # 1 百万元 = 100 万元 (naive float: 434.99999999999994)
    (0.57, "百万元", "money", 57.0),  # naive float: 56.99999999999999
    (88, "万元", "money", 88.0),
    # -- electricity → kWh (千瓦时)
    (12.5, "万千瓦时", "electricity", 125000.0),  # 1 万千瓦时 = 10^4 kWh
    (3, "万度", "electricity", 30000.0),  # 度 = kWh
    (2, "兆瓦时", "electricity", 2000.0),  # 1 MWh = 1000 kWh
    (450, "kWh", "electricity", 450.0),
    (450, "度", "electricity", 450.0),
    # -- energy → tce (吨标准煤)
    (2500, "kgce", "energy", 2.5),  # 1 kgce = 1/1000 tce
    (800, "千克标准煤", "energy", 0.8),
    (1.2, "万吨标准煤", "energy", 12000.0),
    (5, "吨标煤", "energy", 5.0),
    # -- volume → 万立方米
    (35000, "立方米", "volume", 3.5),  # 35000 / 10000
    (123, "m3", "volume", 0.0123),  # 123 / 10000
    (0.8, "亿立方米", "volume", 8000.0),  # 1 亿 m³ = 10^4 万 m³
    (6, "万方", "volume", 6.0),
    # -- heat → GJ; 1 百万千焦 = 10^6 kJ = 10^9 J = 1 GJ
    (7.5, "百万千焦", "heat", 7.5),
    (500, "MJ", "heat", 0.5),  # 1 MJ = 1/1000 GJ
    (2, "万吉焦", "heat", 20000.0),
    # -- mass → t
    (2500, "kg", "mass", 2.5),
    (1.5, "万吨", "mass", 15000.0),
    (300, "公斤", "mass", 0.3),
    # -- headcount
    (120, "人", "headcount", 120.0),
]


@pytest.mark.parametrize(
    ("value", "unit", "dimension", "expected"),
    CASES,
    ids=[f"{c[0]}{c[1]}->{c[2]}" for c in CASES],
)
def test_convert(value: float, unit: str, dimension: str, expected: float) -> None:
    # Exact equality: the result is the double nearest to the exact decimal product.
    assert units.convert(value, unit, dimension) == expected


@pytest.mark.parametrize(
    ("unit", "dimension", "expected"),
    [
        ("千元", "money", 0.1),
        ("亿元", "money", 10000.0),
        ("元", "money", 0.0001),
        ("万千瓦时", "electricity", 10000.0),
        ("kgce", "energy", 0.001),
        ("立方米", "volume", 0.0001),
        ("百万千焦", "heat", 1.0),
        ("公顷", "area", 15.0),
        ("平方米", "area", 0.0015),  # 15 / 10000
    ],
)
def test_factor(unit: str, dimension: str, expected: float) -> None:
    assert units.factor(unit, dimension) == expected


def test_mu_definition() -> None:
    assert units.SQM_PER_MU * 15 == 10000
    assert float(units.SQM_PER_MU) == pytest.approx(666.67, abs=0.01)


@pytest.mark.parametrize(
    ("spelling", "dimension", "expected"),
    [
        ("（千元）", "money", 0.1),
        (" 万元 ", "money", 1.0),
        ("KWH", "electricity", 1.0),
        ("万KWh", "electricity", 10000.0),
        ("m²", "area", 0.0015),
        ("ｍ２", "area", 0.0015),  # full-width
        ("TCE", "energy", 1.0),
        ("[GJ]", "heat", 1.0),
        ("m³", "volume", 0.0001),
    ],
)
def test_unit_spellings(spelling: str, dimension: str, expected: float) -> None:
    assert units.factor(spelling, dimension) == expected


def test_convert_keeps_nan_and_infinity() -> None:
    assert math.isnan(units.convert(float("nan"), "千元", "money"))
    assert units.convert(float("inf"), "千元", "money") == float("inf")


def test_unknown_unit_is_a_bilingual_error() -> None:
    loc = Location(file="stats.xlsx", column="工业总产值(斤)")
    with pytest.raises(ValidationError) as info:
        units.factor("斤", "money", loc)
    err = info.value
    assert err.code == "unit.unknown"
    assert "无法识别的金额单位“斤”" in err.zh
    assert "千元" in err.zh  # lists the known units
    assert "unknown money unit '斤'" in err.en
    assert err.location == loc
    assert err.to_dict()["value"] == "斤"


def test_unit_of_another_dimension_is_unknown() -> None:
    with pytest.raises(ValidationError) as info:
        units.convert(5, "万千瓦时", "money")
    assert info.value.code == "unit.unknown"


def test_unknown_dimension() -> None:
    with pytest.raises(ValidationError) as info:
        units.factor("元", "happiness")
    assert info.value.code == "unit.dimension"
    assert "happiness" in info.value.zh and "happiness" in info.value.en


@pytest.mark.parametrize(
    ("dimension", "unit"),
    [
        ("money", "万元"),
        ("area", "亩"),
        ("electricity", "千瓦时"),
        ("energy", "吨标准煤"),
        ("mass", "吨"),
        ("headcount", "人"),
        ("volume", "万立方米"),
        ("heat", "吉焦"),
    ],
)
def test_store_unit_converts_with_factor_one(dimension: str, unit: str) -> None:
    assert units.store_unit(dimension) == unit
    assert units.factor(unit, dimension) == 1.0


@pytest.mark.parametrize(
    ("header", "dimension", "expected"),
    [
        ("工业总产值(千元)", "money", "千元"),
        ("营业收入（万元）", "money", "万元"),
        ("实缴税金(元)", "money", "元"),
        ("实缴税金/元", "money", "元"),
        ("用地面积（平方米）", "area", "平方米"),
        ("用地面积(亩)", "area", "亩"),
        ("用电量(万千瓦时)", "electricity", "万千瓦时"),  # not 千瓦时
        ("用电量(千瓦时)", "electricity", "千瓦时"),
        ("用电量(kWh)", "electricity", "kwh"),
        ("用电量（度）", "electricity", "度"),
        ("综合能耗(万吨标准煤)", "energy", "万吨标准煤"),  # not 吨标准煤
        ("综合能耗(吨标准煤)", "energy", "吨标准煤"),
        ("天然气(万立方米)", "volume", "万立方米"),  # not 立方米
        ("天然气(立方米)", "volume", "立方米"),
        ("蒸汽(百万千焦)", "heat", "百万千焦"),
        ("从业人员(人)", "headcount", "人"),
    ],
)
def test_detect_unit(header: str, dimension: str, expected: str) -> None:
    found = units.detect_unit(header, dimension)
    assert found == expected
    # the detected unit converts
    units.factor(found, dimension)


@pytest.mark.parametrize(
    ("header", "dimension"),
    [
        ("实缴税金", "money"),
        ("企业名称", "money"),
        ("年度用电量", "electricity"),  # 度 outside brackets is not a unit
        ("法定代表人", "headcount"),  # 人 outside brackets is not a unit
        ("用地面积", "area"),
    ],
)
def test_detect_unit_without_unit(header: str, dimension: str) -> None:
    assert units.detect_unit(header, dimension) is None
