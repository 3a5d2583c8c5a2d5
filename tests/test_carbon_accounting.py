"""碳排放核算与碳效评价 on a hand-made store: golden numbers computed by hand (arithmetic in the
comments), exact grade and level boundaries, the 规下 proxy with both denominators, statuses,
and DuckDB = PySpark on the same snapshot.

Factors in force for county 330502 (湖州吴兴区) in 2025 (parameters/carbon*.yaml): grid 华东
0.5500 tCO2/MWh (2023 data year, the latest published ≤ 2025), raw coal 1.9003 t/t, coke
2.8604 t/t, diesel 3.0959 t/t, LPG 3.1013 t/t, natural gas 21.622 t/万m³, heat 0.11 t/GJ;
level bands [0.6, 2.0]; grade cut-offs [0.6, 0.8, 1.2, 2.0]; rounding to 4 decimals.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core import uscc as uscc_mod
from industry_brain.core.parameters import ParameterError
from industry_brain.domains.carbon.accounting import adjustments_frame, compute
from industry_brain.domains.carbon.models import CarbonAdjustment
from industry_brain.domains.carbon.rules import load_rules
from industry_brain.domains.carbon.service import set_adjustment
from industry_brain.store import migrate
from industry_brain.store.db import make_engine
from industry_brain.store.models import (
    Enterprise,
    EnterpriseScale,
    Fact,
    ImportBatch,
    User,
)
from industry_brain.warehouse import build_snapshot, connect

YEAR = 2025
DEPT = {"electricity": "power_grid", "tax_paid": "tax"}
UNIT = {
    "value_added": "万元",
    "revenue": "万元",
    "tax_paid": "万元",
    "electricity": "千瓦时",
    "fuel.electricity": "千瓦时",
    "fuel.natural_gas": "万立方米",
    "fuel.heat": "吉焦",
}


def uscc(n: int) -> str:
    return uscc_mod.make(f"91330502MA2CB{n:04d}")


@dataclass
class Firm:
    key: str
    n: int
    industry: str
    above: bool
    facts: dict[str, float]
    adjustments: dict[str, float] = field(default_factory=dict)
    county: str = "330502"

    @property
    def uscc(self) -> str:
        return uscc(self.n)


# 规上 industry 30 (非金属矿物制品业): A, B, C and X (value added ≤ 0, not graded).
A = Firm(
    "A",
    1,
    "30",
    True,
    {"fuel.coal_raw": 1000, "electricity": 5_000_000, "value_added": 3000},
    {"onsite_pv": 500_000},
)
B = Firm(
    "B",
    2,
    "30",
    True,
    {
        "fuel.natural_gas": 50,
        "fuel.diesel": 10,
        "fuel.heat": 2000,
        "fuel.electricity": 1_000_000,  # no grid data: falls back to the statistics figure
        "value_added": 2000,
    },
    {"green_power": 200_000, "sink": 10},
)
C = Firm(
    "C",
    3,
    "30",
    True,
    {
        "fuel.coke": 100,
        "electricity": 2_000_000,  # grid first: the statistics figure below is not used
        "fuel.electricity": 1_900_000,
        "value_added": 4000,
    },
)
X = Firm("X", 4, "30", True, {"electricity": 100_000, "value_added": 0})
# 规上 industry 31: electricity only, VA 110 万元 each, kWh = L × 200 000 so that
# CO2 = kWh × 0.55 / 1000 = L × 110 exactly; BAL makes Σ CO2 = Σ VA, so the industry average
# is 1.0 and K = L.
BOUNDARY_L = (0.6, 0.6001, 0.8, 0.8001, 1.2, 1.2001, 2.0, 2.0001)
BOUNDARY = [
    Firm(f"K{v}", 10 + i, "31", True, {"electricity": round(v * 200_000), "value_added": 110})
    for i, v in enumerate(BOUNDARY_L)
]
# Σ L × 110 = 9.2004 × 110 = 1012.044 t over 880 万元; BAL: 1980 − 1012.044 = 967.956 t over
# 1100 万元 → kWh = 967.956 / 0.00055 = 1 759 920; total 1980 t / 1980 万元 = 1.0.
BAL = Firm("BAL", 30, "31", True, {"electricity": 1_759_920, "value_added": 1100})
# 规下 industry 17 (纺织业): proxy over revenue (default) or tax.
D = Firm(
    "D",
    40,
    "17",
    False,
    {"electricity": 1_000_000, "revenue": 1000, "tax_paid": 50, "value_added": 300},
)
E = Firm(
    "E",
    41,
    "17",
    False,
    {"electricity": 200_000, "fuel.lpg": 2, "revenue": 500, "tax_paid": 20},
)
F = Firm("F", 42, "17", False, {"electricity": 50_000})  # no revenue, no tax
G = Firm("G", 43, "17", False, {"revenue": 100, "tax_paid": 5})  # no energy data
FIRMS = [A, B, C, X, *BOUNDARY, BAL, D, E, F, G]
BANKS = {"bank_huzhou": "湖州银行", "bank_icbc": "中国工商银行湖州分行"}


def build_store(engine: Engine) -> dict[str, int]:
    """Load the hand-made firms, their facts and zero-carbon inputs; users for A, D and banks."""
    ids: dict[str, int] = {}
    with Session(engine) as s:
        batch = ImportBatch(
            kind="stats_annual",
            department="statistics",
            file_name="hand.csv",
            file_hash="0" * 64,
            status="committed",
            year=YEAR,
        )
        s.add(batch)
        s.flush()
        for row, f in enumerate(FIRMS, start=2):
            ent = Enterprise(
                uscc=f.uscc,
                name=f"手工测试企业{f.key}",
                county_code=f.county,
                industry_code=f.industry,
            )
            s.add(ent)
            s.flush()
            ids[f.key] = ent.id
            s.add(EnterpriseScale(enterprise_id=ent.id, year=YEAR, above_scale=f.above))
            for item, value in f.facts.items():
                s.add(
                    Fact(
                        enterprise_id=ent.id,
                        year=YEAR,
                        month=0,
                        item=item,
                        detail="",
                        value=float(value),
                        unit=UNIT.get(item, "吨"),
                        source_dept=DEPT.get(item, "statistics"),
                        batch_id=batch.id,
                        row=row,
                    )
                )
        for f in FIRMS:
            for kind, value in f.adjustments.items():
                set_adjustment(s, f.uscc, YEAR, kind, value, "测试凭证", "test")
        for key in ("A", "D"):
            s.add(
                User(
                    username=f"ent_{key}",
                    display_name=f"企业{key}",
                    role="enterprise",
                    enterprise_id=ids[key],
                )
            )
        for username, org in BANKS.items():
            s.add(User(username=username, display_name=org, role="bank", organisation=org))
        s.add(User(username="admin", display_name="管理员", role="admin"))
        s.commit()
    return ids


def compute_frames(engine: Engine, snap: Path, engine_name: str) -> dict[str, pd.DataFrame]:
    """Results and lines keyed by firm key, as the run computes them."""
    with Session(engine) as s:
        adj = s.execute(
            select(CarbonAdjustment.enterprise_id, CarbonAdjustment.kind, CarbonAdjustment.value)
        ).all()
        ids = dict(s.execute(select(Enterprise.uscc, Enterprise.id)).all())
    rules = load_rules(YEAR, ["330502"])
    res, lines = compute(
        connect(snap, engine_name), rules, adjustments_frame([tuple(a) for a in adj])
    )
    key_of = {ids[f.uscc]: f.key for f in FIRMS}
    res = res.assign(key=res["enterprise_id"].map(key_of)).set_index("key")
    lines = lines.assign(key=lines["enterprise_id"].map(key_of))
    return {"results": res, "lines": lines}


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("carbon-hand")
    engine = make_engine(f"sqlite:///{tmp / 'store.sqlite'}")
    migrate.upgrade(engine)
    build_store(engine)
    snap = build_snapshot(engine, tmp / "snapshot")
    yield engine, snap.path
    engine.dispose()


@pytest.fixture(scope="module")
def frames(hand: Any) -> dict[str, dict[str, pd.DataFrame]]:
    engine, snap = hand
    parameters._cached.cache_clear()
    return {name: compute_frames(engine, snap, name) for name in ("duckdb", "pyspark")}


@pytest.fixture(params=["duckdb", "pyspark"])
def res(request: pytest.FixtureRequest, frames: Any) -> pd.DataFrame:
    return frames[request.param]["results"]


def test_hand_computed_emissions_above_size(res: pd.DataFrame) -> None:
    a, b, c = res.loc["A"], res.loc["B"], res.loc["C"]
    # A (carbon.md §1.3a): coal 1000 t × 1.9003 = 1900.3 t; electricity (5 000 000 bought +
    # 500 000 own PV) kWh × 0.55 / 1000 = 3025 t; E_energy = 4925.3 t; E_zero = 500 000 × 0.55
    # / 1000 = 275 t; net 4650.3 t; L = 4650.3 / 3000 = 1.5501 → 中碳.
    assert a.co2_coal == pytest.approx(1900.3, rel=1e-12)
    assert a.electricity_item == "electricity" and a.electricity_kwh == 5_000_000
    assert a.co2_electricity == pytest.approx(3025.0, rel=1e-12)
    assert a.e_energy == pytest.approx(4925.3, rel=1e-12)
    assert a.e_zero_carbon == pytest.approx(275.0, rel=1e-12)
    assert a.co2_net == pytest.approx(4650.3, rel=1e-12)
    assert a.intensity == pytest.approx(1.5501) and a.level == "中碳"
    # B: gas 50 × 21.622 = 1081.1; diesel 10 × 3.0959 = 30.959; heat 2000 GJ × 0.11 = 220;
    # electricity (statistics, no grid figure) 1 000 000 × 0.55 / 1000 = 550;
    # E_energy = 1081.1 + 30.959 + 220 + 550 = 1882.059; E_zero = green 200 000 × 0.55 / 1000
    # = 110; sinks 10; net 1762.059; L = 1762.059 / 2000 = 0.8810295 → 0.881 → 中碳;
    # 碳中和率 = (110 + 10) / 1882.059 = 0.0637600.
    assert b.co2_gas == pytest.approx(1081.1, rel=1e-12)
    assert b.co2_oil == pytest.approx(30.959, rel=1e-12)
    assert b.heat_gj == 2000 and b.co2_heat == pytest.approx(220.0, rel=1e-12)
    assert b.electricity_item == "fuel.electricity"
    assert b.co2_electricity == pytest.approx(550.0, rel=1e-12)
    assert b.e_energy == pytest.approx(1882.059, rel=1e-12)
    assert b.e_zero_carbon == pytest.approx(110.0, rel=1e-12) and b.e_sinks == 10
    assert b.co2_net == pytest.approx(1762.059, rel=1e-12)
    assert b.intensity == pytest.approx(0.881) and b.level == "中碳"
    assert b.neutral_rate == pytest.approx(120 / 1882.059, rel=1e-12)
    # C: coke 100 × 2.8604 = 286.04; grid 2 000 000 × 0.55 / 1000 = 1100 (the statistics
    # 1 900 000 is ignored: grid first); net 1386.04; L = 1386.04 / 4000 = 0.34651 → 0.3465 低碳.
    assert c.co2_coal == pytest.approx(286.04, rel=1e-12)
    assert c.electricity_kwh == 2_000_000
    assert c.co2_net == pytest.approx(1386.04, rel=1e-12)
    assert c.intensity == pytest.approx(0.3465) and c.level == "低碳"
    # Industry 30 average = (4650.3 + 1762.059 + 1386.04) / (3000 + 2000 + 4000)
    # = 7798.399 / 9000 = 0.86648878 (X, with VA 0, is not a peer).
    avg = 7798.399 / 9000
    for f in (a, b, c):
        assert f.industry_intensity == pytest.approx(avg, rel=1e-12)
        assert f.industry_peers == 3 and f.industry_key == "30" and f.peer_region == "3305"
    # K: A 1.5501 / 0.86648878 = 1.78894 → grade 4; B 0.8810295 / 0.86648878 = 1.01678 → 3;
    # C 0.34651 / 0.86648878 = 0.39990 → 1.
    assert (a.k_value, a.grade, a.label) == (pytest.approx(1.7889), 4, "中碳4级")
    assert (b.k_value, b.grade, b.label) == (pytest.approx(1.0168), 3, "中碳3级")
    assert (c.k_value, c.grade, c.label) == (pytest.approx(0.3999), 1, "低碳1级")
    # A would emit 4650.3 − 0.86648878 × 3000 = 2050.834 t less at the industry average.
    assert a.reduction_to_average == pytest.approx(4650.3 - avg * 3000, rel=1e-12)
    assert c.reduction_to_average == 0.0
    assert res.loc["X"].status == "VA_NONPOSITIVE" and pd.isna(res.loc["X"].grade)


def test_grade_and_level_boundaries_are_exact(res: pd.DataFrame) -> None:
    # K = L (industry average 1.0); upper bounds are inclusive.
    expected_grade = {
        0.6: 1,
        0.6001: 2,
        0.8: 2,
        0.8001: 3,
        1.2: 3,
        1.2001: 4,
        2.0: 4,
        2.0001: 5,
    }
    expected_level = {0.6: "低碳", 0.6001: "中碳", 2.0: "中碳", 2.0001: "高碳"}
    bal = res.loc["BAL"]
    assert bal.industry_intensity == pytest.approx(1.0, rel=1e-12)
    assert bal.industry_peers == 9 and bal.intensity == pytest.approx(0.88) and bal.grade == 3
    for v in BOUNDARY_L:
        row = res.loc[f"K{v}"]
        assert row.intensity == v and row.k_value == v, v
        assert row.grade == expected_grade[v], v
        if v in expected_level:
            assert row.level == expected_level[v], v


def test_below_size_proxy_over_revenue(res: pd.DataFrame) -> None:
    d, e = res.loc["D"], res.loc["E"]
    assert d.method == e.method == "proxy_below_size"
    assert d.denominator_item == "revenue" and d.denominator == 1000
    # D: 1 000 000 kWh × 0.55 / 1000 = 550 t; L' = 550 / 1000 = 0.55 > 0.44 → 高碳.
    # E: 200 000 × 0.00055 = 110 + LPG 2 t × 3.1013 = 6.2026 → 116.2026 t;
    #    L' = 116.2026 / 500 = 0.2324052 → 中碳 (0.132 < L' ≤ 0.44).
    # 规下 industry 17 average = (550 + 116.2026) / 1500 = 0.44413507;
    # K_D = 0.55 / 0.44413507 = 1.23836 → 4; K_E = 0.2324052 / 0.44413507 = 0.52328 → 1.
    assert d.co2_net == pytest.approx(550.0, rel=1e-12)
    assert e.co2_net == pytest.approx(116.2026, rel=1e-12)
    assert (d.intensity, d.level, d.k_value, d.grade) == (0.55, "高碳", pytest.approx(1.2384), 4)
    assert (e.intensity, e.level, e.k_value, e.grade) == (
        pytest.approx(0.2324),
        "中碳",
        pytest.approx(0.5233),
        1,
    )
    assert d.industry_peers == 2
    assert res.loc["F"].status == "BASE_NONPOSITIVE"
    assert res.loc["G"].status == "NO_ENERGY_DATA"
    # 规上 and 规下 are never peers of each other
    assert res.loc["A"].industry_peers == 3


def test_engines_give_identical_results(frames: Any) -> None:
    a, b = frames["duckdb"], frames["pyspark"]
    assert len(a["results"]) == len(FIRMS)
    pd.testing.assert_frame_equal(
        a["results"].sort_index(), b["results"].sort_index(), check_dtype=False, rtol=1e-9
    )
    pd.testing.assert_frame_equal(
        a["lines"].reset_index(drop=True),
        b["lines"].reset_index(drop=True),
        check_dtype=False,
        rtol=1e-9,
    )


def test_below_size_denominator_is_configurable(
    hand: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "carbon.330502.yaml").write_text(
        textwrap.dedent(
            """
            below:
              denominator:
                values:
                  - since: 2024-01-01
                    value: tax_paid
            """
        ),
        "utf-8",
    )
    monkeypatch.setenv("IB_PARAMETERS_DIR", str(tmp_path))
    parameters._cached.cache_clear()
    engine, snap = hand
    res = compute_frames(engine, snap, "duckdb")["results"]
    d, e = res.loc["D"], res.loc["E"]
    # D: 550 / 50 = 11.0 → 中碳 (tax bands [3.3, 11.0], upper bound inclusive);
    # E: 116.2026 / 20 = 5.81013 → 中碳; average (550 + 116.2026) / 70 = 9.51718;
    # K_D = 11 / 9.51718 = 1.15580 → 3; K_E = 5.81013 / 9.51718 = 0.61049 → 2.
    assert d.denominator_item == "tax_paid" and d.denominator == 50
    assert (d.intensity, d.level, d.k_value, d.grade) == (11.0, "中碳", pytest.approx(1.1558), 3)
    assert (e.intensity, e.level, e.k_value, e.grade) == (
        pytest.approx(5.8101),
        "中碳",
        pytest.approx(0.6105),
        2,
    )
    assert res.loc["A"].grade == 4  # 规上 unchanged


def test_grid_factor_is_dated_and_regional() -> None:
    params = parameters.load()

    def grid(region: str, year: int) -> tuple[float, str | None]:
        r = params.resolve("carbon.grid_factor", region, date(year, 1, 1))
        return r.value, r.quality

    assert grid("330502", 2021) == (0.5568, "V")  # 华东 2021 not found → national average
    assert grid("330502", 2022) == (0.5617, "PRIOR")  # 华东 2022
    assert grid("330502", 2025) == (0.55, "V")  # latest published ≤ 2025: 华东 2023
    assert grid("110101", 2025) == (0.5306, "V")  # outside Zhejiang: national 2023


def test_a_wrong_regional_file_names_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "carbon.330502.yaml").write_text(
        "grade_cuts:\n  values:\n    - since: 2024-01-01\n      value: [0.6, 1.2, 0.8, 2.0]\n",
        "utf-8",
    )
    monkeypatch.setenv("IB_PARAMETERS_DIR", str(tmp_path))
    parameters._cached.cache_clear()
    with pytest.raises(ParameterError) as exc:
        load_rules(YEAR, ["330502"])
    assert exc.value.code == "carbon.param_invalid"
    assert exc.value.location.file == "carbon.330502.yaml"
    assert exc.value.location.field == "carbon.grade_cuts"
