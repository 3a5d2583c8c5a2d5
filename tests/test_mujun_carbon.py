"""碳效 in 亩均: the 亩均 scheme reads the carbon service's published results
(``result_carbon`` of a warehouse snapshot) — the indicator 单位碳排放增加值 and points by
碳效等级 — hand-computed on both engines, two counties, one with carbon (a Huzhou county) and
one without (Huangyan).

Data year 2022, 规上 firms of division 17, each with revenue reported in 2021 (投产满 2 年).

County 330502 (湖州市吴兴区): the shipped Huzhou override (``mujun.330500.yaml``) adds carbon;
a test override for 330502 below fixes simple weights and benchmarks so the arithmetic is short:
亩均税收 weight 50, benchmark 20 万元/亩; 单位碳排放增加值 weight 50, benchmark 0.5 万元/tCO2;
classes by thresholds (A ≥ 120, B ≥ 90, C ≥ 60); 碳效等级 points from the Huzhou override
(grade 1 +2, 2 +1, 4 −1, 5 −2).

| firm | land | tax | VA | net CO2 (grade) | 亩均税收 score | 单位碳排放增加值 | points | total |
|---|---|---|---|---|---|---|---|---|
| W1 | 10 | 250 | 1500 | 2000 t (2) | 25/20×50 = 62.5 | 0.75/0.5×50 = 75 | +1 | 138.5 A |
| W2 | 20 | 200 | 800 | 4000 t (5) | 10/20×50 = 25 | 0.2/0.5×50 = 20 | −2 | 43 D |
| W3 | 10 | 150 | 600 | no carbon result | 15/20×50 = 37.5 | own mean 0.75 × 50 = 37.5 | 0 | 75 C |

County 331003 (台州市黄岩区) has no carbon in its scheme: H1 is the worked example of
shared/domain/mujun.md with Huangyan's 2022 fixed benchmarks — 37.3490 + 22.0329 + 22.2717 +
8.1139 + 11.0254 + 8.2781 = 109.0710 → 109.07 — although a carbon result (grade 1) exists for it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from industry_brain.core import parameters
from industry_brain.domains.mujun.rules import rule_set
from industry_brain.domains.mujun.service import evaluate_snapshot

YEAR = 2022
HUZHOU_TEST = """
above:
  weights:
    source: golden test
    quality: DEFAULT
    values:
      - since: 2018-01-01
        value: {tax_per_mu: 50, va_per_co2: 50}
  benchmarks:
    source: golden test
    quality: DEFAULT
    values:
      - since: 2018-01-01
        value: {tax_per_mu: 20, va_per_co2: 0.5}
  class_method:
    values:
      - since: 2018-01-01
        value: threshold
"""
FIRMS = {
    # key: (county, figures of 2022, carbon (co2_net, grade) or None)
    "W1": ("330502", {"land_area": 10, "tax_paid": 250, "value_added": 1500}, (2000.0, 2)),
    "W2": ("330502", {"land_area": 20, "tax_paid": 200, "value_added": 800}, (4000.0, 5)),
    "W3": ("330502", {"land_area": 10, "tax_paid": 150, "value_added": 600}, None),
    "H1": (
        "331003",
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
        (900.0, 1),
    ),
}
CARBON_RUN = 7


def r2(x: float) -> float:
    return math.floor(x * 100 + 0.5) / 100


H1 = r2(
    30 / 24.097 * 30
    + 150 / 136.16 * 20
    + 3.0 / 2.694 * 20
    + 4000 / 4929.81 * 10
    + 20 / 18.14 * 10
    + 0.025 / 0.0302 * 10
)


def write_snapshot(out: Path) -> Path:
    """Warehouse tables of the firms, with the carbon service's result table and manifest."""
    ents, scales, facts, carbon = [], [], [], []
    for i, (key, (county, figures, co2)) in enumerate(FIRMS.items(), 1):
        ents.append(
            {
                "enterprise_id": i,
                "uscc": f"9133{key}".ljust(18, "0"),
                "name": f"测试{key}",
                "county_code": county,
                "industry_code": "1711",
                "status": "存续",
                "division": "17",
            }
        )
        scales.append({"enterprise_id": i, "year": YEAR, "above_scale": True})
        facts += [
            {"enterprise_id": i, "year": YEAR, "item": k, "value": float(v), "unit": ""}
            for k, v in figures.items()
        ]
        facts.append({"enterprise_id": i, "year": YEAR - 1, "item": "revenue", "value": 100.0})
        if co2 is not None:
            carbon.append(
                {
                    "run_id": CARBON_RUN,
                    "parameter_version": "c0ffee",
                    "year": YEAR,
                    "enterprise_id": i,
                    "co2_net": co2[0],
                    "grade": co2[1],
                }
            )
    facts_frame = pd.DataFrame(facts).assign(source_dept="test").fillna({"unit": ""})
    pd.DataFrame(ents).to_parquet(out / "enterprises.parquet", index=False)
    pd.DataFrame(scales).to_parquet(out / "scales.parquet", index=False)
    facts_frame.to_parquet(out / "facts.parquet", index=False)
    pd.DataFrame(carbon).to_parquet(out / "result_carbon.parquet", index=False)
    runs = [
        {
            "service": "carbon",
            "run_id": CARBON_RUN,
            "year": YEAR,
            "parameter_version": "c0ffee",
            "table": "result_carbon",
        }
    ]
    manifest = {"rows": {}, "batch_ids": [], "created_at": "2026-01-05", "runs": runs}
    (out / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    return out


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_snapshot(tmp_path_factory.mktemp("mujun-carbon"))


@pytest.fixture(scope="module")
def params(tmp_path_factory: pytest.TempPathFactory) -> parameters.Parameters:
    extra = tmp_path_factory.mktemp("mujun-carbon-params")
    (extra / "mujun.330502.yaml").write_text(HUZHOU_TEST, "utf-8")
    return parameters.load_dirs([*parameters.default_dirs(), extra])


@pytest.fixture(scope="module", params=["duckdb", "pyspark"])
def evaluation(request, snapshot, params):  # type: ignore[no-untyped-def]
    return evaluate_snapshot(snapshot, YEAR, request.param, None, params)


def _by_key(ev) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    keys = {f"9133{k}".ljust(18, "0"): k for k in FIRMS}
    return ev.results.assign(key=ev.results["uscc"].map(keys)).set_index("key")


def test_county_with_carbon_indicator_and_grade_points(evaluation) -> None:  # type: ignore[no-untyped-def]
    res = _by_key(evaluation)
    w1, w2, w3 = res.loc["W1"], res.loc["W2"], res.loc["W3"]
    assert w1["value_va_per_co2"] == pytest.approx(1500 / 2000)
    assert w1["score_va_per_co2"] == pytest.approx(0.75 / 0.5 * 50)
    assert w1["score_tax_per_mu"] == pytest.approx(25 / 20 * 50)
    assert (w1["carbon_grade"], w1["bonus"], w1["penalty"]) == (2, 1.0, 0.0)
    assert w1["score"] == pytest.approx(62.5 + 75 + 1) and w1["class_code"] == "A"
    assert w2["score_va_per_co2"] == pytest.approx(0.2 / 0.5 * 50)
    assert (w2["bonus"], w2["penalty"]) == (0.0, 2.0)
    assert w2["score"] == pytest.approx(25 + 20 - 2) and w2["class_code"] == "D"
    # no carbon result: the item is missing and takes the firm's mean ratio of its other items
    assert pd.isna(w3["value_va_per_co2"]) and w3["fill_va_per_co2"] == "own_items_mean"
    assert w3["score_va_per_co2"] == pytest.approx(37.5 / 50 * 50)
    assert w3["score"] == pytest.approx(75.0) and w3["class_code"] == "C"
    assert pd.isna(w3["carbon_grade"]) and w3["bonus"] == 0
    assert [w1["rank_county"], w3["rank_county"], w2["rank_county"]] == [1, 2, 3]


def test_county_without_carbon_ignores_the_carbon_results(evaluation) -> None:  # type: ignore[no-untyped-def]
    h1 = _by_key(evaluation).loc["H1"]
    assert h1["score"] == pytest.approx(H1) and H1 == 109.07
    assert pd.isna(h1["weight_va_per_co2"]) and h1["bonus"] == 0
    assert (h1["base_score"], h1["penalty"]) == (pytest.approx(109.0710, abs=1e-4), 0)


def test_the_carbon_run_read_is_recorded_as_input(evaluation) -> None:  # type: ignore[no-untyped-def]
    assert evaluation.input_runs == [
        {
            "service": "carbon",
            "run_id": CARBON_RUN,
            "year": YEAR,
            "parameter_version": "c0ffee",
            "table": "result_carbon",
        }
    ]
    items = evaluation.items
    co2 = items[items["indicator"] == "va_per_co2"].set_index("enterprise_id")
    assert co2.loc[1, "denominator"] == 2000.0 and co2.loc[1, "numerator"] == 1500.0


def test_huzhou_override_is_shipped_and_tagged() -> None:
    params = parameters.load()
    rules = rule_set(2025, ["330502", "330523", "331003"], params)
    for county in ("330502", "330523"):  # every Huzhou county inherits the city's scheme
        assert rules.counties[county].scopes["above"].weights["va_per_co2"] == 10
        assert sum(rules.counties[county].scopes["above"].weights.values()) == 100
        assert rules.counties[county].carbon_grade_points == {1: 2, 2: 1, 4: -1, 5: -2}
    assert not rules.counties["331003"].uses_carbon
    resolved = params.resolve("mujun.above.weights", region="330502", on=rules_date(2025))
    assert resolved.region == "330500" and resolved.quality == "DEFAULT"
    assert "NOT FOUND" in (resolved.source or "")


def rules_date(year: int):  # type: ignore[no-untyped-def]
    from industry_brain.domains.mujun.rules import parameter_date

    return parameter_date(year)
