"""The policy batch (issue 16 point 4): every enterprise × every shipped policy in force over a
small hand-made warehouse snapshot in one Ibis evaluation, identical on DuckDB and PySpark, with
hand-computed amounts, stacking across policies and "cannot tell" for unpublished results."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from industry_brain.domains.policy import compute, definitions, service
from industry_brain.warehouse import Snapshot

YEAR = 2025


def _snapshot(root: Path) -> Snapshot:
    root.mkdir(parents=True, exist_ok=True)
    ents = pd.DataFrame(
        {
            "enterprise_id": [1, 2, 3, 4],
            "uscc": ["U1", "U2", "U3", "U4"],
            "name": ["甲", "乙", "丙", "丁"],
            "county_code": ["330502", "330502", "330503", "330503"],
            "industry_code": ["2710", "3411", "3911", "1810"],
            "status": ["active"] * 4,
        }
    )
    ents["division"] = ents["industry_code"].str[:2]
    ents.to_parquet(root / "enterprises.parquet")
    pd.DataFrame(
        {
            "enterprise_id": [1, 2, 3, 4],
            "year": [YEAR] * 4,
            "above_scale": [True, True, True, False],
        }
    ).to_parquet(root / "scales.parquet")
    pd.DataFrame(
        {
            "enterprise_id": [1, 2],
            "year": [YEAR, YEAR],
            "item": ["revenue", "revenue"],
            "value": [10000.0, 5000.0],
            "unit": ["万元", "万元"],
            "source_dept": ["stats", "stats"],
        }
    ).to_parquet(root / "facts.parquet")
    pd.DataFrame(
        {
            "run_id": [7, 7, 7],
            "parameter_version": ["v"] * 3,
            "year": [YEAR] * 3,
            "enterprise_id": [1, 2, 3],
            "class_code": ["A", "B", "C"],
            "score": [90.0, 70.0, 50.0],
        }
    ).to_parquet(root / "result_mujun.parquet")
    pd.DataFrame(
        {
            "run_id": [8, 8],
            "parameter_version": ["v"] * 2,
            "year": [YEAR, YEAR],
            "enterprise_id": [1, 3],
            "grade": [1, 2],
        }
    ).to_parquet(root / "result_carbon.parquet")
    pd.DataFrame(
        {
            "run_id": [20251201] * 3,
            "parameter_version": ["v"] * 3,
            "year": [YEAR] * 3,
            "project_id": [11, 12, 13],
            "enterprise_id": [1, 2, 3],
            "industry_code": ["2710", "3411", "3911"],
            "stage": ["completed", "producing", "started"],
            "investment_to_date": [1000.0, 2000.0, 900.0],
        }
    ).to_parquet(root / "result_projects.parquet")
    (root / "manifest.json").write_text(
        '{"rows": {}, "batch_ids": [1], "created_at": "2026-01-01T00:00:00", "runs": []}', "utf-8"
    )
    return Snapshot.open(root)


def _extra() -> dict[str, pd.DataFrame]:
    return {
        "tax_types": pd.DataFrame(
            {
                "enterprise_id": [1, 2],
                "year": [YEAR, YEAR],
                "tax_type": ["城镇土地使用税", "城镇土地使用税"],
                "value": [12.0, 10.0],
            }
        ),
        "loans": pd.DataFrame(
            {
                "loan_id": [1, 2],
                "enterprise_id": [1, 3],
                "bank": ["B", "B"],
                "amount": [1000.0, 2000.0],
                "rate": [0.045, 0.04],
                "start_date": [date(2025, 1, 1), date(2025, 1, 1)],
                "end_date": [date(2026, 1, 1), date(2026, 1, 1)],
                "interest_paid": [None, None],
                "purpose": ["zgsz", "working_capital"],
            }
        ),
    }


def _evaluate(snap: Snapshot, engine: str, **options: Any) -> compute.Evaluation:
    policies = compute.in_force(definitions.load(), YEAR)
    con = service.snapshot_con(snap, engine)
    ins = service.inputs(con, snap, _extra())
    return compute.evaluate(con, policies, ins, YEAR, service.counties_of(snap), **options)


def _key(ev: compute.Evaluation) -> dict[tuple, tuple]:
    return {
        (r["policy"], r["enterprise_id"], r["entity"]): (r["status"], r["paid"]) for r in ev.rows
    }


def test_every_enterprise_every_policy_hand_computed(tmp_path: Path) -> None:
    ev = _evaluate(_snapshot(tmp_path / "snap"), "duckdb")
    got = _key(ev)
    expected = {
        # 贴息: 1000 × min(2 %, 4.5 %) = 20; the 碳效贷 discount on the same loan (1000 × 0.5 % = 5)
        # is stacked out.  Enterprise 3's loan is not for 智改数转, its discount 2000 × 0.3 % = 6.
        ("zgsz_loan_interest", 1, "loan:1"): ("eligible", 20.0),
        ("carbon_loan_discount", 1, "loan:1"): ("stacked", None),
        ("carbon_loan_discount", 3, "loan:2"): ("eligible", 6.0),
        # 有效投入: project 11 (2710) is pioneer 150 and high-tech 120 → pioneer kept;
        # project 12 (3411) other 2000 × 10 % = 200; project 13 is not completed.
        ("effective_investment_pioneer", 1, "project:11"): ("eligible", 150.0),
        ("effective_investment_hightech", 1, "project:11"): ("stacked", None),
        ("effective_investment_other", 2, "project:12"): ("eligible", 200.0),
        # 亩均 land-use tax relief: A 12 × 100 % = 12, B 10 × 80 % = 8; C none; 4 not evaluated.
        ("mujun_land_use_tax_relief", 1, ""): ("eligible", 12.0),
        ("mujun_land_use_tax_relief", 2, ""): ("eligible", 8.0),
        ("mujun_land_use_tax_relief", 4, ""): ("unknown", None),
        # result_tiers / result_maturity are not published: cannot tell (4 is below scale: no).
        ("hightech_zjtx_award", 1, ""): ("unknown", None),
        ("hightech_zjtx_award", 2, ""): ("unknown", None),
        ("hightech_zjtx_award", 3, ""): ("unknown", None),
        ("hightech_zjtx_award", 4, ""): ("unknown", None),
        ("lianghua_guanbiao_award", 1, ""): ("unknown", None),
        ("lianghua_guanbiao_award", 2, ""): ("unknown", None),
        ("lianghua_guanbiao_award", 3, ""): ("unknown", None),
        # R&D award: 1 and 2 report no R&D (counted as zero: no); 3 reports no revenue.
        ("rd_intensity_award", 3, ""): ("unknown", None),
    }
    assert got == expected
    totals = ev.totals()
    assert totals["beneficiaries"] == 3 and totals["total"] == pytest.approx(396.0)
    row = next(r for r in ev.rows if r["policy"] == "zgsz_loan_interest")
    assert row["trace"]["amount"]["values"]["loan.amount"] == 1000.0
    assert row["trace"]["stacking"]["decision"] == "kept"
    params = {p["name"]: p for p in row["trace"]["parameters"]}
    assert params["rate"]["value"] == 0.02 and params["rate"]["quality"] == "SEED"


def test_without_trace_the_same_statuses_and_amounts(tmp_path: Path) -> None:
    """The simulation's traceless evaluation (a smaller query) decides exactly as the batch:
    the same rows, statuses (stacking included) and paid amounts, and no trace."""
    snap = _snapshot(tmp_path / "snap")
    full, lean = _evaluate(snap, "duckdb"), _evaluate(snap, "duckdb", trace=False)
    assert _key(lean) == _key(full)
    assert {r["policy"]: r["rank_by"] for r in lean.rows} == {
        r["policy"]: r["rank_by"] for r in full.rows
    }
    assert all(r["trace"] is None for r in lean.rows)
    assert all(r["trace"]["conditions"] for r in full.rows)
    assert lean.rationing == full.rationing
    # keep="eligible": exactly the batch's eligible and stacked rows, nothing unknown
    paid = _evaluate(snap, "duckdb", keep="eligible", trace=False)
    assert _key(paid) == {k: v for k, v in _key(full).items() if v[0] in ("eligible", "stacked")}


def test_duckdb_and_pyspark_give_identical_results(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path / "snap")
    duck, spark = _evaluate(snap, "duckdb"), _evaluate(snap, "pyspark")
    assert len(duck.rows) == len(spark.rows) > 10
    for a, b in zip(duck.rows, spark.rows, strict=True):
        assert (a["policy"], a["enterprise_id"], a["entity"], a["status"]) == (
            b["policy"],
            b["enterprise_id"],
            b["entity"],
            b["status"],
        )
        assert (a["paid"] is None) == (b["paid"] is None)
        assert a["paid"] is None or a["paid"] == pytest.approx(b["paid"], rel=1e-9)
        assert a["trace"] == b["trace"]


def _published(name: str, rows: list[dict]) -> pd.DataFrame:
    """Rows in the schema the publishing service declares on the contract (every column, in
    its order), found through the contract — never by importing the service."""
    from industry_brain import contract

    tables = {t.name: t for s in contract.services().values() for t in s.result_tables}
    if name not in tables:
        pytest.skip(f"{name} is not published by any registered service")
    schema = tables[name].schema
    kinds = {"int64": "Int64", "float64": "float64", "string": "object", "bool": "boolean"}
    frame = pd.DataFrame([{c: r.get(c) for c, _ in schema} for r in rows])
    return frame.astype({c: kinds[k] for c, k in schema})


def test_the_batch_reads_the_tiers_and_maturity_results(tmp_path: Path) -> None:
    """result_tiers (new_tier: high_tech / zhuanjingtexin / little_giant …) and result_maturity
    (guanbiao_certified) as their services publish them: the tier award is 30 for a new 专精特新
    (1), 100 for a new 小巨人 (3), nothing for a firm evaluated with nothing new (2), cannot
    tell without a row (4); the 贯标 award 20 for 1 (certified, 规上), none for 2 (not
    certified), cannot tell for 3 (no row); 4 is below scale."""
    snap = _snapshot(tmp_path / "snap")
    base = {"run_id": 31, "parameter_version": "v", "year": YEAR}
    _published(
        "result_tiers",
        [
            {**base, "enterprise_id": 1, "status": "recognised", "new_tier": "zhuanjingtexin"},
            {**base, "enterprise_id": 2, "status": "meets", "new_tier": None},
            {**base, "enterprise_id": 3, "status": "recognised", "new_tier": "little_giant"},
        ],
    ).to_parquet(snap.path / "result_tiers.parquet")
    _published(
        "result_maturity",
        [
            {**base, "enterprise_id": 1, "guanbiao_certified": True},
            {**base, "enterprise_id": 2, "guanbiao_certified": False},
        ],
    ).to_parquet(snap.path / "result_maturity.parquet")
    ev = _evaluate(snap, "duckdb")
    got = {
        k: v
        for k, v in _key(ev).items()
        if k[0] in ("hightech_zjtx_award", "lianghua_guanbiao_award")
    }
    assert got == {
        ("hightech_zjtx_award", 1, ""): ("eligible", 30.0),
        ("hightech_zjtx_award", 3, ""): ("eligible", 100.0),
        ("hightech_zjtx_award", 4, ""): ("unknown", None),
        ("lianghua_guanbiao_award", 1, ""): ("eligible", 20.0),
        ("lianghua_guanbiao_award", 3, ""): ("unknown", None),
    }
    totals = ev.totals()
    assert totals["beneficiaries"] == 3 and totals["total"] == pytest.approx(396.0 + 150.0)
    row = next(
        r for r in ev.rows if r["policy"] == "hightech_zjtx_award" and r["enterprise_id"] == 1
    )
    assert row["trace"]["conditions"][0]["values"]["tier.new_tier"] == "zhuanjingtexin"
