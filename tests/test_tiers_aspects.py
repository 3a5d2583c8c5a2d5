"""五企培育 evaluation of the points that were not built first (DuckDB; golden by hand):
小巨人 链 and 品 from declared flags (missing → cannot tell, naming who can provide it),
the 单项冠军 product category beside the enterprise category, and the 专精特新 scoring table
(shipped empty) scored once a region's YAML gives its bands (a test-only YAML, bands by hand)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import ibis
import pytest

from industry_brain.domains.tiers import schemes as schemes_mod
from industry_brain.domains.tiers import service
from tests.test_tiers import YEAR, giant, ibis_tables, result, run, tables_for


# -- 小巨人 链 and 品 -----------------------------------------------------------------------
def test_little_giant_chain_and_brand_aspects() -> None:
    ok = giant(10000, 300)  # every other aspect holds (see test_tiers.GIANT)
    no_chain = giant(10000, 300)
    del no_chain["verified"]["chain_key_link"]
    no_field = giant(10000, 300)
    no_field["verified"]["key_product_field"] = 0
    ev = run([ok, no_chain, no_field])
    got = [result(ev, i, "little_giant")["status"] for i in (1, 2, 3)]
    assert got == ["meets", "unknown", "fails"]
    r2 = result(ev, 2, "little_giant")["trace"]
    missing = {m["input"]: m for m in r2["missing"]}
    assert set(missing) == {"chain_key_link"}
    # who can provide it: the key-chain office, or the firm by a verified declaration
    assert missing["chain_key_link"]["provider_zh"].startswith("经信部门")
    failing = [f["id"] for f in result(ev, 3, "little_giant")["trace"]["failing"]]
    assert failing == ["key_product_field"]
    # both aspects carry their quality tag: the details are remembered, not verified
    conds = {c["id"]: c for c in r2["conditions"]}
    assert conds["chain_key_link"]["quality"] == conds["key_product_field"]["quality"] == "PRIOR"


# -- 单项冠军: enterprise or product ----------------------------------------------------------
PRODUCT = {
    "product_years": 10,
    "product_new": 0,
    "product_rank_global": 3,
    "product_sales_share": 0.70,
    "ip_class1_total": 1,
    "violations_3y": 0,
}


def champ(**verified: float) -> dict[str, Any]:
    """Revenue 50 000 万元 (≥ 4 亿); the enterprise category's niche data are not declared."""
    return {
        "facts": {"revenue": {YEAR: 50000, YEAR - 1: 48000}, "employees": {YEAR: 1500}},
        "verified": {**PRODUCT, **verified},
    }


def test_single_champion_product_category() -> None:
    firms = [
        champ(),  # every product criterion exactly at its edge → meets
        champ(product_years=3, product_new=1),  # a new product: 3 years are enough
        champ(product_years=2.9, product_new=1),  # short of 3 by 0.1
        champ(product_rank_global=4),  # 4th in the world
        champ(product_sales_share=0.6999),
        {**champ(), "verified": {"ip_class1_total": 1, "violations_3y": 0}},  # nothing declared
    ]
    ev = run(firms)
    got = [result(ev, i, "single_champion_product")["status"] for i in range(1, 7)]
    assert got == ["meets", "meets", "fails", "fails", "fails", "unknown"]
    # the enterprise category cannot be told (niche years, global rank not declared)
    assert result(ev, 1, "single_champion")["status"] == "unknown"
    assert result(ev, 1, "single_champion_product")["trace"]["category"] == "product"
    gaps = {f["id"]: f["gap"] for f in result(ev, 3, "single_champion_product")["trace"]["failing"]}
    # both ways of the years condition fail: 10 years (7.1 short) or a new product's 3 (0.1)
    assert gaps == {"product_years": pytest.approx(7.1), "new_product_years": pytest.approx(0.1)}
    assert [f["gap"] for f in result(ev, 4, "single_champion_product")["trace"]["failing"]] == [1]
    assert result(ev, 5, "single_champion_product")["trace"]["failing"][0]["gap"] == (
        pytest.approx(0.0001)
    )
    missing = {m["input"] for m in result(ev, 6, "single_champion_product")["trace"]["missing"]}
    assert missing == {"product_years", "product_new", "product_rank_global", "product_sales_share"}
    # a firm meets the tier by either category
    lv = ev.levels.set_index("enterprise_id")
    assert (lv.loc[1, "tier"], lv.loc[1, "status"]) == ("single_champion", "meets")
    assert lv.loc[3, "tier"] != "single_champion"


# -- the 专精特新 scoring table: empty as shipped, scored by a region's bands --------------
REGION_YAML = """
code: zhuanjingtexin_test_region
extends: zhuanjingtexin
region: "3305"
version: test-2024
valid_from: 2022-06-01
# condition 4 as the region reads it: its own table's score (below) or a direct alternative —
# the declared score of the shipped scheme is replaced (same id)
conditions:
  - id: score_or_direct
    any_of:
      - {id: sci_award_top, input: sci_award_top, op: ">=", value: 1}
      - {id: rd_expense_mean_2y, input: rd_expense_mean_2y, op: ">=", value: 1000}
      - {id: equity_2y_large, input: equity_2y, op: ">=", value: 6000}
      - {id: maker_top500, input: maker_top500, op: ">=", value: 1}
points:
  within: score_or_direct
  total_min: {value: 60}
  indicators:
    - code: main_business_share
      group: specialisation
      bands:
        - {input: main_business_share, min: 0.7, points: 30}
        - {input: main_business_share, min: 0.5, points: 15}
        - {input: main_business_share, points: 0}
    - code: rd_ratio
      group: innovation
      bands:
        - {input: rd_ratio, min: 0.05, points: 40}
        - {input: rd_ratio, min: 0.03, points: 20}
        - {input: rd_ratio, points: 0}
    - code: debt_ratio
      group: refinement
      bands:
        - {input: debt_ratio, max: 0.5, max_inclusive: true, points: 30}
        - {input: debt_ratio, points: 10}
"""
NO_DIRECT = {"sci_award_top": 0, "equity_2y": 0, "maker_top500": 0, "niche_years": 2}


def scored(rd: float, county: str = "330502", **verified: float) -> dict[str, Any]:
    """Revenue 3 000 万元 both years, R&D ``rd`` (≥ 100 万元 and ≥ 3 %), 80 staff; no score
    declared and no direct alternative of condition 4."""
    return {
        "county": county,
        "facts": {
            "revenue": {YEAR: 3000, YEAR - 1: 3000},
            "rd_expense": {YEAR: rd, YEAR - 1: rd},
            "employees": {YEAR: 80},
        },
        "verified": {**NO_DIRECT, **verified},
    }


@pytest.fixture(scope="module")
def region_schemes(tmp_path_factory: pytest.TempPathFactory) -> list[schemes_mod.Scheme]:
    folder = tmp_path_factory.mktemp("schemes")
    for f in schemes_mod.SCHEMES_DIR.glob("*.yaml"):
        shutil.copy(f, folder / f.name)
    (folder / "zhuanjingtexin_test_region.yaml").write_text(REGION_YAML, "utf-8")
    return schemes_mod.load(folder)


def test_shipped_zhuanjingtexin_table_is_empty() -> None:
    shipped = next(s for s in schemes_mod.load() if s.code == "zhuanjingtexin")
    assert shipped.points is None


def test_region_bands_score_the_zhuanjingtexin_table(
    region_schemes: list[schemes_mod.Scheme],
) -> None:
    firms = [
        # R&D 150 = 5 % → 40; share 0.70 → 30; debt 0.50 (upper edge inclusive) → 30: 100
        scored(150, main_business_share=0.70, debt_ratio=0.50),
        # R&D 100 = 3.33 % → 20; share 0.60 → 15; debt 0.60 → 10: 45 < 60, no alternative
        scored(100, main_business_share=0.60, debt_ratio=0.60),
        # debt unknown: 40 + 30 = 70 at least → meets anyway
        scored(150, main_business_share=0.70),
        # debt unknown: 20 + 30 = 50 .. 80 → cannot tell
        scored(100, main_business_share=0.70),
        # the first firm outside the region: the shipped scheme, no table, no score → cannot tell
        scored(150, county="110101", main_business_share=0.70, debt_ratio=0.50),
    ]
    ev = service.evaluate_tables(
        ibis_tables(tables_for(firms)), YEAR, ibis.duckdb.connect(), scheme_list=region_schemes
    )
    code = "zhuanjingtexin_test_region"
    rows = [result(ev, i, code) for i in (1, 2, 3, 4)]
    assert [(r["status"], r["points"]) for r in rows] == [
        ("meets", 100),
        ("fails", 45),
        ("meets", 70),
        ("unknown", 50),
    ]
    pts = {i["code"]: i["points"] for i in rows[0]["trace"]["points"]["indicators"]}
    assert pts == {"main_business_share": 30, "rd_ratio": 40, "debt_ratio": 30}
    assert (rows[3]["trace"]["points"]["lo"], rows[3]["trace"]["points"]["hi"]) == (50, 80)
    assert "debt_ratio" in {m["input"] for m in rows[3]["trace"]["missing"]}
    # the score failing is named with its gap, beside condition 4's failing alternatives
    failing = {f["id"]: f for f in rows[1]["trace"]["failing"]}
    assert failing["_points"]["gap"] == 15
    assert {"sci_award_top", "equity_2y_large", "maker_top500"} <= set(failing)
    assert set(ev.results[ev.results["enterprise_id"] == 5]["scheme"]) >= {"zhuanjingtexin"}
    assert code not in set(ev.results[ev.results["enterprise_id"] == 5]["scheme"])
    assert result(ev, 5, "zhuanjingtexin")["status"] == "unknown"
    # the region's condition 4 replaced the shipped one (no declared score asked for)
    region = next(s for s in region_schemes if s.code == code)
    cond4 = next(n for n in region.conditions if n.id == "score_or_direct")
    assert "zjtx_score" not in {leaf.input for leaf in schemes_mod._leaves(cond4)}
    assert [n.id for n in region.conditions] == [
        n.id for n in next(s for s in region_schemes if s.code == "zhuanjingtexin").conditions
    ]


def test_points_within_must_name_an_any_of_condition(tmp_path: Path) -> None:
    bad = REGION_YAML.replace("within: score_or_direct", "within: niche_years")
    assert bad != REGION_YAML
    (tmp_path / "zhuanjingtexin.yaml").write_bytes(
        (schemes_mod.SCHEMES_DIR / "zhuanjingtexin.yaml").read_bytes()
    )
    (tmp_path / "region.yaml").write_text(bad, "utf-8")
    with pytest.raises(schemes_mod.SchemeError) as err:
        schemes_mod.load(tmp_path)
    assert err.value.location.file == "region.yaml"
    assert "any_of" in err.value.en
