"""五企培育 evaluation: golden numbers by hand on every band edge of the 创新型中小企业 table,
the 专精特新 and 小巨人 conditions, direct paths, missing data → cannot tell, declared figures →
candidate, the tier newly recognised in a year (DuckDB; PySpark parity in test_tiers_parity)."""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import pandas as pd
import pytest

from industry_brain.domains.tiers import schemes as schemes_mod
from industry_brain.domains.tiers import service
from industry_brain.domains.tiers.evaluate import band_test
from industry_brain.domains.tiers.schemes import Band

YEAR = 2024


def tables_for(firms: list[dict[str, Any]]) -> dict[str, Any]:
    """Warehouse-shaped frames for hand-made firms: ``facts`` {item: {year: value}},
    ``verified`` / ``declared`` {item: value} (declared = not yet verified), ``titles``
    [(tier, year, valid_until)], ``above`` (规上 flag of YEAR)."""
    ents, facts, scales, titles, declared = [], [], [], [], []
    for i, f in enumerate(firms, start=1):
        ents.append((i, f.get("county", "330502"), f.get("industry", "3670")))
        for item, by_year in f.get("facts", {}).items():
            for y, v in by_year.items():
                facts.append((i, y, item, float(v)))
        scales.append((i, YEAR, bool(f.get("above", True))))
        for tier, y, until in f.get("titles", []):
            titles.append((i, tier, y, until))
        ver = f.get("verified", {})
        dec = {**ver, **f.get("declared", {})}
        declared += [(i, "verified", k, float(v)) for k, v in ver.items()]
        declared += [(i, "declared", k, float(v)) for k, v in dec.items()]
    frames = {
        "enterprises": pd.DataFrame(
            ents, columns=["enterprise_id", "county_code", "industry_code"]
        ),
        "facts": pd.DataFrame(facts, columns=["enterprise_id", "year", "item", "value"]),
        "scales": pd.DataFrame(scales, columns=["enterprise_id", "year", "above_scale"]),
        "titles": pd.DataFrame(titles, columns=list(service.TITLE_SCHEMA)),
        "declared": pd.DataFrame(declared, columns=list(service.DECLARED_SCHEMA)),
    }
    return frames


def ibis_tables(frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    schemas = {
        "enterprises": {
            "enterprise_id": "int64",
            "county_code": "string",
            "industry_code": "string",
        },
        "facts": {"enterprise_id": "int64", "year": "int64", "item": "string", "value": "float64"},
        "scales": {"enterprise_id": "int64", "year": "int64", "above_scale": "boolean"},
        "titles": service.TITLE_SCHEMA,
        "declared": service.DECLARED_SCHEMA,
    }
    out: dict[str, Any] = {k: ibis.memtable(v, schema=schemas[k]) for k, v in frames.items()}
    out["_titles_frame"] = frames["titles"]
    return out


def run(firms: list[dict[str, Any]], con: Any = None) -> service.Evaluation:
    con = con or ibis.duckdb.connect()
    return service.evaluate_tables(ibis_tables(tables_for(firms)), YEAR, con)


def result(ev: service.Evaluation, eid: int, scheme: str) -> dict[str, Any]:
    r = ev.results
    rows = r[(r["enterprise_id"] == eid) & (r["scheme"] == scheme)].to_dict(orient="records")
    assert len(rows) == 1, rows
    return rows[0]


def points(ev: service.Evaluation, eid: int, code: str) -> float | None:
    trace = result(ev, eid, "innovative_sme")["trace"]
    return next(i["points"] for i in trace["points"]["indicators"] if i["code"] == code)


def base_firm(**kw: Any) -> dict[str, Any]:
    """An SME (50 staff) with revenue 1000 万元 in YEAR and YEAR−1 (growth 0 → 5 points)."""
    firm: dict[str, Any] = {
        "facts": {
            "revenue": {YEAR: 1000, YEAR - 1: 1000, YEAR - 2: 1000},
            "rd_expense": {YEAR: 0, YEAR - 1: 0},
            "employees": {YEAR: 50},
        }
    }
    firm.update(kw)
    return firm


def with_rd(rd: float) -> dict[str, Any]:
    f = base_firm()
    f["facts"]["rd_expense"] = {YEAR: rd, YEAR - 1: rd}
    return f


def with_growth(revenue: float) -> dict[str, Any]:
    f = base_firm()
    f["facts"]["revenue"] = {YEAR: revenue, YEAR - 1: 1000}
    return f


# -- the 创新型中小企业 points table, every band edge -------------------------------------------
def test_rd_ratio_band_edges() -> None:
    # R&D / revenue: ≥5 % → 20; 3–5 % → 15; 2–3 % → 10; 1–2 % → 5; <1 % → 0 (lower inclusive)
    cases = [(50, 20), (49.99, 15), (30, 15), (29.99, 10), (20, 10), (19.99, 5), (10, 5),
             (9.99, 0), (0, 0)]  # fmt: skip
    ev = run([with_rd(rd) for rd, _ in cases])
    assert [points(ev, i, "rd_ratio") for i in range(1, len(cases) + 1)] == [p for _, p in cases]


def test_revenue_growth_band_edges() -> None:
    # growth: ≥15 % → 20; 10–15 % → 15; 5–10 % → 10; 0–5 % → 5; <0 → 0
    cases = [(1150, 20), (1149.9, 15), (1100, 15), (1099.9, 10), (1050, 10), (1049.9, 5),
             (1000, 5), (999.9, 0)]  # fmt: skip
    ev = run([with_growth(r) for r, _ in cases])
    assert [points(ev, i, "revenue_growth") for i in range(1, len(cases) + 1)] == [
        p for _, p in cases
    ]


def test_declared_indicator_band_edges() -> None:
    # debt ratio <55 % → 10; 55–75 % → 5 (75 % itself → 5); >75 % → 0
    debt = [(0.5499, 10), (0.55, 5), (0.75, 5), (0.7501, 0)]
    # main-business share ≥70 → 20; 60–70 → 15; 55–60 → 10; 50–55 → 5; <50 → 0
    share = [(0.70, 20), (0.6999, 15), (0.60, 15), (0.5999, 10), (0.55, 10), (0.5499, 5),
             (0.50, 5), (0.4999, 0)]  # fmt: skip
    firms = [base_firm(verified={"debt_ratio": d}) for d, _ in debt]
    firms += [base_firm(verified={"main_business_share": s}) for s, _ in share]
    firms += [
        base_firm(verified={"strategic_emerging": 1}),
        base_firm(verified={"strategic_emerging": 0}),
    ]
    ev = run(firms)
    got_debt = [points(ev, i, "debt_ratio") for i in range(1, 5)]
    got_share = [points(ev, i, "main_business_share") for i in range(5, 13)]
    assert got_debt == [p for _, p in debt]
    assert got_share == [p for _, p in share]
    assert [points(ev, 13, "strategic_emerging"), points(ev, 14, "strategic_emerging")] == [10, 5]


def test_ip_bands_first_match_and_unknown() -> None:
    firms = [
        base_firm(verified={"ip_class1_high_value": 1}),  # 20 whatever the others
        base_firm(verified={"ip_class1_high_value": 0, "ip_class1_own": 1}),  # 15
        base_firm(verified={"ip_class1_high_value": 0, "ip_class1_own": 0, "ip_class1_total": 2}),
        base_firm(
            verified={
                "ip_class1_high_value": 0,
                "ip_class1_own": 0,
                "ip_class1_total": 0,
                "ip_class2": 3,
            }
        ),
        base_firm(
            verified={
                "ip_class1_high_value": 0,
                "ip_class1_own": 0,
                "ip_class1_total": 0,
                "ip_class2": 0,
            }
        ),
        base_firm(verified={"ip_class2": 3}),  # class-I counts unknown → cannot tell
    ]
    ev = run(firms)
    assert [points(ev, i, "ip") for i in range(1, 7)] == [20, 15, 10, 5, 0, None]


def test_band_without_bounds_matches_known_values_only() -> None:
    con = ibis.duckdb.connect()
    t = ibis.memtable({"x": [1.0, None]})
    got = con.to_pyarrow(t.select(ok=band_test(t.x, Band("x", 0)))).to_pandas()["ok"].tolist()
    assert got == [True, None]


# -- 创新型中小企业 decisions -------------------------------------------------------------------
FULL = {
    "ip_class1_high_value": 1,  # 20
    "debt_ratio": 0.5,  # 10
    "strategic_emerging": 1,  # 10
    "main_business_share": 0.8,  # 20
}

NO_DIRECT = {"sci_award_3y": 0, "ip_demo_enterprise": 0, "prov_rd_institution": 0, "equity_3y": 0}


def test_innovative_sme_totals_and_group_minima() -> None:
    # firm 1: IP 20 + R&D 5 % 20 + growth 0 → 5 + debt 10 + SEI 10 + share 20 = 85 → meets
    meets = with_rd(50)
    meets["verified"] = dict(FULL)
    # firm 2: total 65 ≥ 60 but 创新能力 = IP 0 + R&D 0 < 20 → fails on the group minimum
    weak = with_growth(1150)  # growth 20
    weak["verified"] = {**FULL, "ip_class1_high_value": 0, "ip_class1_own": 0,
                        "ip_class1_total": 0, "ip_class2": 0, **NO_DIRECT}  # fmt: skip
    # firm 3: debt ratio missing, growth 15 %: known 90, at least 90 ≥ 60 and every group
    # reached (成长性 20 ≥ 15) → meets anyway
    known = with_growth(1150)
    known["facts"]["rd_expense"] = {YEAR: 57.5}  # 5 % of 1150
    known["verified"] = {k: v for k, v in FULL.items() if k != "debt_ratio"}
    # firm 4: main-business share and field missing: known 55 (IP 20, R&D 20, growth 5,
    # debt 10), at most 85; 专业化 0..30 against 15 → cannot tell
    open_ = with_rd(50)
    unknown_items = ("main_business_share", "strategic_emerging")
    open_["verified"] = {k: v for k, v in FULL.items() if k not in unknown_items}
    # firm 5: as firm 2 but the direct paths are not declared: cannot tell (one may hold)
    undecided = with_growth(1150)
    undecided["verified"] = {k: v for k, v in weak["verified"].items() if k not in NO_DIRECT}
    ev = run([meets, weak, known, open_, undecided])
    r1, r2, r3, r4 = (result(ev, i, "innovative_sme") for i in (1, 2, 3, 4))
    assert (r1["status"], r1["points"]) == ("meets", 85)
    assert (r2["status"], r2["points"]) == ("fails", 60)
    assert r2["trace"]["points"]["ok"] is False
    assert (r3["status"], r3["points"]) == ("meets", 90)
    assert r4["status"] == "unknown"
    assert (r4["trace"]["points"]["lo"], r4["trace"]["points"]["hi"]) == (55, 85)
    missing = {m["input"] for m in r4["trace"]["missing"]}
    # the points could still reach 60, and any direct path could hold: all are asked for
    assert missing == {"main_business_share", "strategic_emerging", *NO_DIRECT}
    assert all(m["provider_en"].startswith("enterprise") for m in r4["trace"]["missing"])
    r5 = result(ev, 5, "innovative_sme")
    assert r5["status"] == "unknown"
    assert {m["input"] for m in r5["trace"]["missing"]} == set(NO_DIRECT)


def test_innovative_sme_direct_paths_and_sme_precondition() -> None:
    valid = [("high_tech", YEAR - 1, date(YEAR + 2, 12, 31))]
    expired = [("high_tech", YEAR - 4, date(YEAR, 6, 30))]
    firms = [
        base_firm(titles=valid),  # valid 高新技术企业 → meets with no points at all
        base_firm(titles=expired),  # expired before the application date → not a direct path
        base_firm(verified={"equity_3y": 500}),  # ≥ 500 万元 equity → meets
        base_firm(verified={"equity_3y": 499.99}),
        {"facts": {"employees": {YEAR: 1000}, "revenue": {YEAR: 40000}}, "titles": valid},
        {"titles": valid},  # size unknown: SME cannot be told → cannot tell
    ]
    ev = run(firms)
    got = [result(ev, i, "innovative_sme")["status"] for i in range(1, 7)]
    assert got == ["meets", "unknown", "meets", "unknown", "fails", "unknown"]


def test_declared_figures_give_candidate_until_verified() -> None:
    cand = with_rd(50)
    cand["declared"] = dict(FULL)
    done = with_rd(50)
    done["verified"] = dict(FULL)
    ev = run([cand, done])
    assert result(ev, 1, "innovative_sme")["status"] == "candidate"
    assert result(ev, 1, "innovative_sme")["trace"]["basis"] == "declared"
    assert result(ev, 2, "innovative_sme")["status"] == "meets"
    levels = ev.levels.set_index("enterprise_id")
    assert levels.loc[1, "tier"] is None and levels.loc[1, "candidate_tier"] == "innovative_sme"
    assert (levels.loc[2, "tier"], levels.loc[2, "status"]) == ("innovative_sme", "meets")


# -- 专精特新 conditions with gaps -------------------------------------------------------------
ZJTX = {"niche_years": 2, "zjtx_score": 60}


def zjtx(revenue: float, rd: float, **verified: float) -> dict[str, Any]:
    return {
        "facts": {
            "revenue": {YEAR: revenue, YEAR - 1: revenue},
            "rd_expense": {YEAR: rd, YEAR - 1: rd},
            "employees": {YEAR: 80},
        },
        "verified": {**ZJTX, **verified},
    }


def test_zhuanjingtexin_edges_and_gaps() -> None:
    firms = [
        zjtx(3000, 100),  # R&D 100 万元 = 3.33 % ≥ 3 %, revenue ≥ 1000 → meets
        zjtx(3500, 99.99),  # R&D below 100 万元 by 0.01; ratio 2.857 % < 3 %
        zjtx(900, 100, equity_2y=2000),  # revenue < 1000 but equity ≥ 2000 → meets (11.1 %)
        zjtx(900, 100, equity_2y=1999),  # neither → fails on revenue_or_equity
        zjtx(3000, 100, niche_years=1.5),
        zjtx(3000, 100, zjtx_score=59.5),  # score < 60 and no direct alternative → fails
        {**zjtx(3000, 100), "verified": {"zjtx_score": 60}},  # niche years unknown
    ]
    ev = run(firms)
    got = [result(ev, i, "zhuanjingtexin")["status"] for i in range(1, 8)]
    assert got == ["meets", "fails", "meets", "fails", "fails", "unknown", "unknown"]
    failing = {f["id"]: f for f in result(ev, 2, "zhuanjingtexin")["trace"]["failing"]}
    assert set(failing) == {"rd_expense", "rd_ratio"}
    assert failing["rd_expense"]["gap"] == pytest.approx(0.01)
    assert failing["rd_ratio"]["gap"] == pytest.approx(0.03 - 99.99 / 3500, abs=1e-6)
    failing4 = {f["id"] for f in result(ev, 4, "zhuanjingtexin")["trace"]["failing"]}
    assert failing4 == {"revenue", "equity_2y"}
    assert result(ev, 5, "zhuanjingtexin")["trace"]["failing"][0]["gap"] == 0.5
    assert {m["input"] for m in result(ev, 7, "zhuanjingtexin")["trace"]["missing"]} == {
        "niche_years"
    }


def test_decode_by_slices_of_enterprises_gives_the_same_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``decode`` turns the wide rows into dicts a slice of enterprises at a time; a slice of
    one enterprise (both bases of a firm stay together) gives what one slice of all gives."""
    firms = [zjtx(3000, 100), zjtx(900, 100, equity_2y=1999), zjtx(3000, 100, zjtx_score=59.5)]
    firms.append({**zjtx(3000, 100), "verified": {"zjtx_score": 60}})
    ev = run(firms)
    whole = service.decode(ev.wide, ev.schemes)
    monkeypatch.setattr(service, "DECODE_SLICE", 1)
    sliced = service.decode(ev.wide.sample(frac=1, random_state=7), ev.schemes)

    def rows(frame: pd.DataFrame) -> list[tuple]:
        return sorted(
            (r.enterprise_id, r.scheme, r.status, r.points, r.closeness, repr(dict(r.trace)))
            for r in frame.itertuples(index=False)
        )

    assert len(whole) > 4 and rows(sliced) == rows(whole)


# -- 小巨人 revenue-banded R&D thresholds ------------------------------------------------------
GIANT = {
    "niche_years": 3,
    "main_business_share": 0.7,
    "info_system": 1,
    "certification": 1,
    "debt_ratio": 0.7,
    "market_share_national": 0.1,
    "own_brand": 1,
    "chain_key_link": 1,
    "key_product_field": 1,
    "rd_institution": 1,
    "ip_class1_total": 2,
    "sci_award_top3": 0,  # the direct path of 新 is known not to hold
    "maker_top50": 0,
}
ZJTX_TITLE = [("zhuanjingtexin", YEAR - 1, date(YEAR + 2, 12, 31))]


def giant(revenue: float, rd: float) -> dict[str, Any]:
    """Revenue ``revenue`` in YEAR, 90 % of it in YEAR−1 and 80 % in YEAR−2 (growth 11.1 % and
    12.5 %, mean ≥ 5 %); R&D ``rd`` in YEAR and 90 % of it in YEAR−1 (the same ratio)."""
    return {
        "facts": {
            "revenue": {YEAR: revenue, YEAR - 1: revenue * 0.9, YEAR - 2: revenue * 0.8},
            "rd_expense": {YEAR: rd, YEAR - 1: rd * 0.9},
            "employees": {YEAR: 300},
        },
        "verified": dict(GIANT),
        "titles": ZJTX_TITLE,
    }


def test_little_giant_revenue_bands() -> None:
    firms = [
        giant(10000, 300),  # ≥ 1 亿: R&D 3 % in each year → meets
        giant(10000, 299),  # 2.99 % → fails
        giant(5000, 300),  # 5 000 万–1 亿 (lower edge inclusive): needs 6 % → 6 % → meets
        giant(5000, 299),  # 5.98 % < 6 % → fails
        giant(9999, 300),  # 3 % is not enough below 1 亿 → fails
        {**giant(10000, 300), "titles": []},  # not a provincial 专精特新 → fails the prerequisite
    ]
    ev = run(firms)
    got = [result(ev, i, "little_giant")["status"] for i in range(1, 7)]
    assert got == ["meets", "fails", "meets", "fails", "fails", "fails"]
    gap = {f["id"]: f["gap"] for f in result(ev, 4, "little_giant")["trace"]["failing"]}
    assert gap["rd_ratio_min_2y_6"] == pytest.approx(0.06 - 299 / 5000, abs=1e-6)


# -- levels: tier, new tier, next tier ---------------------------------------------------------
def test_levels_recognised_titles_and_new_tier() -> None:
    firms = [
        base_firm(
            titles=[
                ("little_giant", YEAR, date(YEAR + 3, 12, 31)),
                ("zhuanjingtexin", YEAR - 2, date(YEAR + 1, 12, 31)),
            ]
        ),
        base_firm(titles=[("high_tech", YEAR, date(YEAR + 3, 12, 31))]),
        base_firm(titles=[("zhuanjingtexin", YEAR - 3, date(YEAR - 1, 12, 31))]),  # expired
        {**base_firm(above=False), "facts": {"revenue": {YEAR: 2000}, "employees": {YEAR: 30}}},
    ]
    ev = run(firms)
    lv = ev.levels.set_index("enterprise_id")
    assert (lv.loc[1, "tier"], lv.loc[1, "status"], lv.loc[1, "new_tier"]) == (
        "little_giant",
        "recognised",
        "little_giant",
    )
    assert lv.loc[2, "new_tier"] == "high_tech"
    # an expired title is not held; the firm falls back to what its figures meet (none known)
    assert lv.loc[3, "tier"] != "zhuanjingtexin"
    assert lv.loc[3, "new_tier"] is None
    # a 规下 firm at the 2 000 万元 line meets 新升规
    assert (lv.loc[4, "tier"], lv.loc[4, "status"]) == ("new_above_scale", "meets")


def test_schemes_load_and_resolve_by_date_and_region() -> None:
    all_ = schemes_mod.load()
    codes = {s.code for s in schemes_mod.in_force(all_, date(2023, 1, 1))}
    assert "hidden_champion" not in codes  # the 2025 notice is not in force in 2023
    assert {"innovative_sme", "zhuanjingtexin", "little_giant", "single_champion"} <= codes
    # the 专精特新 scoring table's bands are not published: shipped empty
    zjtx_scheme = next(s for s in all_ if s.code == "zhuanjingtexin")
    assert zjtx_scheme.points is None
    ev = run([base_firm(county="110101")], None)
    assert "hidden_champion" not in set(ev.results["scheme"])  # Zhejiang only


def test_innovation_score_percentiles_by_hand() -> None:
    # shipped weights: R&D intensity 30, 高新技术企业 10 (others absent → 0 here)
    # A 1 %, B 2 %, C 3 % + valid 高新 title, D no revenue (R&D intensity unknown)
    # R&D percent_rank among the three that report it: A 0, B 0.5, C 1
    # score: A 0; B 0.5 × 30 = 15; C 1 × 30 + 10 = 40; D 0
    firms = [
        with_rd(10),
        with_rd(20),
        {**with_rd(30), "titles": [("high_tech", YEAR - 1, date(YEAR + 2, 12, 31))]},
        {"county": "330503", "facts": {"employees": {YEAR: 10}}},
    ]
    ev = run(firms)
    lv = ev.levels.set_index("enterprise_id")
    assert [lv.loc[i, "innovation_score"] for i in (1, 2, 3, 4)] == [0, 15, 40, 0]
    # within the industry (all four in division 36): ranks of 0, 15, 40, 0 → A and D tie at 0,
    # B (3rd of 4) (3 − 1) / 3, C 1; within the county 330502 (A, B, C): 0, 0.5, 1; D alone 0
    assert [lv.loc[i, "innovation_rank_industry"] for i in (1, 2, 3, 4)] == pytest.approx(
        [0, 2 / 3, 1, 0]
    )
    assert [lv.loc[i, "innovation_rank_county"] for i in (1, 2, 3, 4)] == [0, 0.5, 1, 0]
