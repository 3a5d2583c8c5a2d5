"""Golden test of the 亩均 evaluation: hand-computed enterprises on both engines.

Two counties, data year 2022:

- 331003 黄岩区 with its published parameters (``mujun.331003.yaml``): Huangyan 2022 fixed
  benchmarks [V], no cap, missing emission → county mean score of the item, quota classes.
- 331004 (a test-only override written below): the same fixed benchmarks, item scores capped at
  2 × weight, classes by score thresholds (A ≥ 120, B ≥ 90, C ≥ 60) and a bonus cap of 4.

Benchmarks 2022 (规上): 亩均税收 24.097 万元/亩 (w 30), 亩均增加值 136.16 (w 20), 单位能耗增加值
2.694 万元/tce (w 20), 单位排放增加值 4929.81 万元/t (w 10), 全员劳动生产率 18.14 万元/人 (w 10),
R&D 占比 0.0302 (w 10). 规下: 亩均税收 11.5932 (w 50), 单位电耗税收 0.2352 元/kWh (w 50).
Item score = value ÷ benchmark × weight; the total is published (and ranked and classed) to
2 decimals, rounding half up.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from industry_brain.core import parameters
from industry_brain.domains.mujun.rules import MujunError, rule_set
from industry_brain.domains.mujun.service import evaluate_snapshot

# the wide result frame is built in one piece: pandas' fragmentation warning is an error here
# (issue 21 named it, raised after the engine's frame was converted column by column)
pytestmark = pytest.mark.filterwarnings("error::pandas.errors.PerformanceWarning")

YEAR = 2022
TEST_OVERRIDE = """
above:
  item_cap_multiple:
    source: golden test
    quality: DEFAULT
    values:
      - since: 2018-01-01
        value: {default: 2.0}
  benchmarks:
    source: golden test (Huangyan 2022 values)
    quality: DEFAULT
    values:
      - since: 2018-01-01
        value: {tax_per_mu: 24.097, va_per_mu: 136.16, va_per_tce: 2.694,
                va_per_emission: 4929.81, labour_productivity: 18.14, rd_ratio: 0.0302}
  class_method:
    values:
      - since: 2018-01-01
        value: threshold
adjustments:
  limits:
    values:
      - since: 2018-01-01
        value: {bonus_max: 4, penalty_max: 20}
"""


def r2(x: float) -> float:
    """Round half up to 2 decimals, as the evaluation publishes totals."""
    return math.floor(x * 100 + 0.5) / 100


def r6(x: float) -> float:
    return math.floor(x * 1e6 + 0.5) / 1e6


# -- hand computation ---------------------------------------------------------------------------
# H1 — the worked example of shared/domain/mujun.md (规上, Huangyan 2022):
#   land 10 亩, tax 300 万元 → 30 万元/亩:          30 / 24.097 × 30   = 37.3490
#   value added 1500 → 150 万元/亩:                 150 / 136.16 × 20  = 22.0329
#   energy 500 tce → 1500 / 500 = 3.0 万元/tce:     3.0 / 2.694 × 20   = 22.2717
#   COD 0.375 t → 1500 / 0.375 = 4000 万元/t:        4000 / 4929.81 × 10 = 8.1139
#   employees 75 → 20 万元/人:                       20 / 18.14 × 10    = 11.0254
#   R&D 25 / revenue 1000 = 0.025:                   0.025 / 0.0302 × 10 = 8.2781
#   total 109.0710 → 109.07
H1_ITEMS = [
    30 / 24.097 * 30,
    150 / 136.16 * 20,
    3.0 / 2.694 * 20,
    4000 / 4929.81 * 10,
    20 / 18.14 * 10,
    0.025 / 0.0302 * 10,
]
H1 = r2(sum(H1_ITEMS))
# H3 — land 5, tax 50 (10/亩), VA 400 (80/亩), energy 200 (2.0), COD 0.05 (8000), 40 staff (10),
#   no R&D (absent = 0) and an environmental penalty (−5):
#   10/24.097×30 = 12.4497; 80/136.16×20 = 11.7509; 2/2.694×20 = 14.8478;
#   8000/4929.81×10 = 16.2278; 10/18.14×10 = 5.5127; 0 → 60.7889 − 5 = 55.79
H3_ITEMS = [
    10 / 24.097 * 30,
    80 / 136.16 * 20,
    2.0 / 2.694 * 20,
    8000 / 4929.81 * 10,
    10 / 18.14 * 10,
    0.0,
]
H3 = r2(sum(H3_ITEMS) - 5)
# H4 — H1's figures, 高新技术企业 (+3) and a 重大事故 veto: 109.07 + 3 = 112.07, class D.
H4 = r2(sum(H1_ITEMS) + 3)
# H2 — no emission data (missing item): land 20, tax 400 (20/亩), VA 2000 (100/亩), energy 1000
#   (2.0), 100 staff (20), R&D 30 / revenue 1500 (0.02):
#   20/24.097×30 = 24.8993; 100/136.16×20 = 14.6886; 2/2.694×20 = 14.8478;
#   20/18.14×10 = 11.0254; 0.02/0.0302×10 = 6.6225;
#   单位排放增加值 = mean score of the item over the county's evaluated 规上 firms that have it
#   (H1 8.1139, H3 16.2278, H4 8.1139) = 10.8185… (rounded to 6 decimals) → total 82.90
EMISSION_MEAN = r6((4000 / 4929.81 * 10 + 8000 / 4929.81 * 10 + 4000 / 4929.81 * 10) / 3)
H2_ITEMS = [
    20 / 24.097 * 30,
    100 / 136.16 * 20,
    2.0 / 2.694 * 20,
    EMISSION_MEAN,
    20 / 18.14 * 10,
    0.02 / 0.0302 * 10,
]
H2 = r2(sum(H2_ITEMS))
# Quota classes in 331003 规上 (n = 4; places = floor(cumulative share × 4 + 0.5)):
#   A: floor(0.2×4+0.5) = 1, A+B: floor(0.6×4+0.5) = 2, A+B+C: floor(0.95×4+0.5) = 4.
#   Order (veto last): H1 109.07 → A, H2 82.90 → B, H3 55.79 → C, H4 (veto) → D.
#
# 规下, Huangyan 2022:
# L1 — the worked example: land 5, tax 40 → 8 万元/亩: 8 / 11.5932 × 50 = 34.5030;
#   2,000,000 kWh → 40 × 10000 / 2e6 = 0.20 元/kWh: 0.20 / 0.2352 × 50 = 42.5170 → 77.02
L1 = r2(8 / 11.5932 * 50 + 0.20 / 0.2352 * 50)
# L3 — no electricity figure (missing item, own_items_mean): land 4, tax 60 → 15 万元/亩:
#   15 / 11.5932 × 50 = 64.6931; 单位电耗税收 = 50 × (64.6931 / 50) = 64.6931 → 129.39
L3_TAX = 15 / 11.5932 * 50
L3 = r2(L3_TAX + 50 * (L3_TAX / 50))
# 规下 quota (n = 2): A: floor(0.4+0.5) = 0 places, A+B: floor(1.2+0.5) = 1, A+B+C: 2.
#   L3 129.39 → B, L1 77.02 → C. L2 (2.5 亩 < 3 亩) and L4 (no revenue in 2021) → T.
#
# County 331004 (test override: cap 2 × weight, thresholds, bonus cap 4):
# C1 — capped item: land 10, tax 800 → 80 万元/亩: 80 / 24.097 × 30 = 99.5974 > 2 × 30 → 60;
#   other items as H1: 22.0329 + 22.2717 + 8.1139 + 11.0254 + 8.2781; bonus 3 + 2 = 5 → cap 4
#   → 60 + 71.7220 + 4 = 135.72 ≥ 120 → A
C1 = r2(60 + sum(H1_ITEMS[1:]) + 4)
# C2 — boundary: every indicator at 0.9 × its benchmark → 0.9 × 100 = 90.00 (the float sum
#   is 89.99999999999999 or 90.00000000000001; the published score rounds to 90.00) ≥ 90 → B.
# C3 — every indicator at 0.8999 × benchmark → 89.99 < 90 → C.
BENCH = {
    "tax_per_mu": 24.097,
    "va_per_mu": 136.16,
    "va_per_tce": 2.694,
    "va_per_emission": 4929.81,
    "labour_productivity": 18.14,
    "rd_ratio": 0.0302,
}


def _scaled_firm(r: float) -> dict[str, float]:
    """Inputs whose six indicators are exactly r × benchmark (land 10 亩, revenue 1000)."""
    va = r * BENCH["va_per_mu"] * 10
    return {
        "land_area": 10.0,
        "tax_paid": r * BENCH["tax_per_mu"] * 10,
        "value_added": va,
        "energy_total": va / (r * BENCH["va_per_tce"]),
        "emission.cod": va / (r * BENCH["va_per_emission"]),
        "employees": va / (r * BENCH["labour_productivity"]),
        "rd_expense": r * BENCH["rd_ratio"] * 1000,
        "revenue": 1000.0,
    }


FIRMS: dict[str, dict] = {
    # uscc suffix: (county, above, division, facts of 2022)
    "H1": (
        "331003",
        True,
        "17",
        {
            "land_area": 10,
            "tax_paid": 300,
            "value_added": 1500,
            "energy_total": 500,
            "emission.cod": 0.375,
            "employees": 75,
            "rd_expense": 25,
            "revenue": 1000,
        },
    ),
    "H2": (
        "331003",
        True,
        "17",
        {
            "land_area": 20,
            "tax_paid": 400,
            "value_added": 2000,
            "energy_total": 1000,
            "employees": 100,
            "rd_expense": 30,
            "revenue": 1500,
        },
    ),
    "H3": (
        "331003",
        True,
        "26",
        {
            "land_area": 5,
            "tax_paid": 50,
            "value_added": 400,
            "energy_total": 200,
            "emission.cod": 0.05,
            "employees": 40,
            "revenue": 800,
        },
    ),
    "H4": (
        "331003",
        True,
        "17",
        {
            "land_area": 10,
            "tax_paid": 300,
            "value_added": 1500,
            "energy_total": 500,
            "emission.cod": 0.375,
            "employees": 75,
            "rd_expense": 25,
            "revenue": 1000,
        },
    ),
    "L1": (
        "331003",
        False,
        "33",
        {"land_area": 5, "tax_paid": 40, "electricity": 2_000_000, "revenue": 500},
    ),
    "L2": (
        "331003",
        False,
        "33",
        {"land_area": 2.5, "tax_paid": 40, "electricity": 2_000_000, "revenue": 500},
    ),
    "L3": ("331003", False, "33", {"land_area": 4, "tax_paid": 60, "revenue": 600}),
    "L4": (
        "331003",
        False,
        "33",
        {"land_area": 6, "tax_paid": 10, "electricity": 500_000, "revenue": 300},
    ),
    "C1": (
        "331004",
        True,
        "17",
        {
            "land_area": 10,
            "tax_paid": 800,
            "value_added": 1500,
            "energy_total": 500,
            "emission.cod": 0.375,
            "employees": 75,
            "rd_expense": 25,
            "revenue": 1000,
        },
    ),
    "C2": ("331004", True, "26", _scaled_firm(0.9)),
    "C3": ("331004", True, "26", _scaled_firm(0.8999)),
}
ADJUSTMENTS = [
    ("H4", "high_tech"),
    ("H4", "major_accident"),
    ("H3", "environmental_penalty"),
    ("C1", "high_tech"),
    ("C1", "specialised_sme"),
]


def _uscc(key: str) -> str:
    return f"9133100{key}000000000"[:18]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The warehouse tables (snapshot schema) of the golden firms."""
    out = tmp_path_factory.mktemp("mujun-golden")
    ents, scales, facts = [], [], []
    for i, (key, (county, above, division, figures)) in enumerate(FIRMS.items(), 1):
        ents.append(
            {
                "enterprise_id": i,
                "uscc": _uscc(key),
                "name": f"黄岩测试{key}有限公司",
                "county_code": county,
                "industry_code": division + "10",
                "status": "存续",
                "division": division,
            }
        )
        scales.append({"enterprise_id": i, "year": YEAR, "above_scale": above})
        for item, value in figures.items():
            facts.append(
                {
                    "enterprise_id": i,
                    "year": YEAR,
                    "item": item,
                    "value": float(value),
                    "unit": "",
                    "source_dept": "test",
                }
            )
        if key != "L4":  # L4 reported nothing in 2021: 投产不满 2 年 → T
            facts.append(
                {
                    "enterprise_id": i,
                    "year": YEAR - 1,
                    "item": "revenue",
                    "value": 100.0,
                    "unit": "万元",
                    "source_dept": "test",
                }
            )
    pd.DataFrame(ents).to_parquet(out / "enterprises.parquet", index=False)
    pd.DataFrame(scales).to_parquet(out / "scales.parquet", index=False)
    pd.DataFrame(facts).to_parquet(out / "facts.parquet", index=False)
    return out


@pytest.fixture(scope="module")
def params(tmp_path_factory: pytest.TempPathFactory) -> parameters.Parameters:
    extra = tmp_path_factory.mktemp("mujun-params")
    (extra / "mujun.331004.yaml").write_text(TEST_OVERRIDE, encoding="utf-8")
    return parameters.load_dirs([*parameters.default_dirs(), extra])


def _adjustments() -> pd.DataFrame:
    ids = {key: i for i, key in enumerate(FIRMS, 1)}
    return pd.DataFrame(
        [{"enterprise_id": ids[k], "year": YEAR, "code": c} for k, c in ADJUSTMENTS]
    )


@pytest.fixture(scope="module", params=["duckdb", "pyspark"])
def results(request, snapshot, params) -> pd.DataFrame:
    ev = evaluate_snapshot(snapshot, YEAR, request.param, _adjustments(), params)
    keys = {_uscc(k): k for k in FIRMS}
    return ev.results.assign(key=ev.results["uscc"].map(keys)).set_index("key")


def test_worked_example_and_quota_classes(results):
    h1 = results.loc["H1"]
    assert [h1[f"score_{c}"] for c in BENCH] == pytest.approx(H1_ITEMS, rel=1e-12)
    assert h1["score"] == pytest.approx(109.07) == pytest.approx(H1)
    assert results.loc["H2", "score"] == pytest.approx(H2) == pytest.approx(82.90)
    assert results.loc["H3", "score"] == pytest.approx(H3) == pytest.approx(55.79)
    assert results.loc["H4", "score"] == pytest.approx(H4) == pytest.approx(112.07)
    classes = results.loc[["H1", "H2", "H3", "H4"], "class_code"].tolist()
    assert classes == ["A", "B", "C", "D"]
    assert results.loc[["H1", "H2", "H3", "H4"], "rank_county"].tolist() == [1, 2, 3, 4]
    assert set(results.loc[["H1", "H2", "H3", "H4"], "n_county"]) == {4}
    assert results.loc["H1", "class_rule"] == "quota"


def test_missing_emission_takes_the_county_mean_score(results):
    h2 = results.loc["H2"]
    assert h2["fill_va_per_emission"] == "population_item_mean"
    assert h2["score_va_per_emission"] == pytest.approx(EMISSION_MEAN, abs=1e-12)
    assert math.isnan(h2["value_va_per_emission"])
    assert [h2[f"score_{c}"] for c in BENCH] == pytest.approx(H2_ITEMS, rel=1e-12)
    assert results.loc["H1", "fill_va_per_emission"] is None


def test_absent_rd_is_zero_and_penalty_applies(results):
    h3 = results.loc["H3"]
    assert h3["rd_expense"] == 0.0 and h3["score_rd_ratio"] == 0.0
    assert h3["penalty"] == 5.0 and h3["bonus"] == 0.0
    assert h3["base_score"] == pytest.approx(sum(H3_ITEMS), rel=1e-12)


def test_veto_is_class_d_whatever_the_score(results):
    h4 = results.loc["H4"]
    assert h4["veto"] and h4["bonus"] == 3.0 and h4["class_code"] == "D"
    assert h4["class_rule"] == "veto"
    assert h4["score"] > results.loc["H1", "score"]  # the best score, still D and ranked last


def test_below_scale_worked_example_own_mean_and_exemptions(results):
    assert results.loc["L1", "score"] == pytest.approx(L1) == pytest.approx(77.02)
    assert results.loc["L1", "value_tax_per_kwh"] == pytest.approx(0.20)
    l3 = results.loc["L3"]
    assert l3["fill_tax_per_kwh"] == "own_items_mean"
    assert l3["score"] == pytest.approx(L3) == pytest.approx(129.39)
    assert results.loc[["L3", "L1"], "class_code"].tolist() == ["B", "C"]
    assert results.loc["L2", "class_code"] == "T"
    assert results.loc["L2", "exempt_reason"] == "small_land"
    assert results.loc["L4", "exempt_reason"] == "new_enterprise"
    assert math.isnan(results.loc["L2", "score"]) and pd.isna(results.loc["L2", "rank_county"])


def test_capped_item_and_bonus_cap(results):
    c1 = results.loc["C1"]
    assert c1["raw_tax_per_mu"] == pytest.approx(80 / 24.097 * 30)  # 99.60 before the cap
    assert c1["score_tax_per_mu"] == 60.0 and c1["capped_tax_per_mu"] == 1
    assert c1["bonus"] == 4.0  # 3 + 2 capped at 4
    assert c1["score"] == pytest.approx(C1) == pytest.approx(135.72)
    assert c1["class_code"] == "A" and c1["class_rule"] == "threshold"


def test_boundary_score_is_classed_on_the_published_score(results):
    c2, c3 = results.loc["C2"], results.loc["C3"]
    assert abs(c2["base_score"] - 90) < 1e-9  # 90 up to float noise
    assert c2["score"] == 90.0 and c2["class_code"] == "B"  # ≥ 90 → B
    assert c3["score"] == pytest.approx(89.99) and c3["class_code"] == "C"


def test_industry_ranks_across_counties(results):
    # 规上 division 17: C1 135.72, H1 109.07, H2 82.90, H4 (veto, last)
    assert results.loc[["C1", "H1", "H2", "H4"], "rank_industry"].tolist() == [1, 2, 3, 4]
    # 规上 division 26: C2 90.00, C3 89.99, H3 55.79
    assert results.loc[["C2", "C3", "H3"], "rank_industry"].tolist() == [1, 2, 3]


def test_huangyan_benchmarks_end_after_2022_and_rules_are_checked(params, tmp_path):
    rules = rule_set(2023, ["331003"], params)
    bm = rules.counties["331003"].scopes["above"].benchmarks["tax_per_mu"]
    assert bm.method == "mean" and bm.period == "previous"  # the base rule again
    assert rule_set(2022, ["331003"], params).counties["331003"].scopes["above"].benchmarks[
        "tax_per_mu"
    ].value == pytest.approx(24.097)
    bad = tmp_path / "mujun.330502.yaml"
    bad.write_text(
        "above:\n  class_quota:\n    values:\n      - since: 2018-01-01\n"
        "        value: {A: 0.5, B: 0.4}\n",
        encoding="utf-8",
    )
    wrong = parameters.load_dirs([*parameters.default_dirs(), tmp_path])
    with pytest.raises(MujunError) as info:
        rule_set(2025, ["330502"], wrong)
    assert info.value.code == "mujun.class_quota" and "之和" in info.value.zh


def test_benchmark_baseline_does_the_same_work():
    """The pandas baseline of ``bench/mujun.py`` gives the Ibis evaluation's classes and scores
    (on 2,000 generated enterprises; the timing itself is ``python -m bench mujun``)."""
    from bench import mujun as bench_mujun

    out = bench_mujun.run(2000, spark=False)
    assert out["enterprises"] == 2000  # active in 2025 (closed firms have no 2025 flag)
    assert out["class_agreement"] == 1.0 and out["max_score_diff"] == 0.0
