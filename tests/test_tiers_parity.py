"""五企培育 evaluation parity: the same small case on DuckDB and PySpark gives identical wide
results (statuses, points, condition truths, closeness, 创新评动力 scores and ranks) and the
same decoded results and levels."""

from __future__ import annotations

from datetime import date

import ibis
import pandas as pd
from pandas.testing import assert_frame_equal

from industry_brain.warehouse import engines
from tests.test_tiers import FULL, GIANT, YEAR, base_firm, giant, run, with_growth, with_rd, zjtx


def firms() -> list[dict]:
    rich = with_growth(1150)
    rich["facts"]["rd_expense"] = {YEAR: 57.5}
    rich["verified"] = {**FULL, "rd_staff": 20, "invention_patents": 3}
    cand = with_rd(50)
    cand["declared"] = dict(FULL)
    return [
        rich,
        cand,
        base_firm(titles=[("high_tech", YEAR, date(YEAR + 3, 12, 31))]),
        zjtx(3000, 100),
        zjtx(3500, 99.99, niche_years=1),
        giant(10000, 300),
        {**giant(5000, 299), "verified": {**GIANT, "debt_ratio": 0.71}},
        {**base_firm(above=False, county="330523", industry="2120")},
        {"facts": {"revenue": {YEAR: 2100}, "employees": {YEAR: 30}}, "above": False},
        {"county": "110101"},  # nothing known, outside Zhejiang
    ]


def test_duckdb_and_pyspark_agree() -> None:
    duck = run(firms(), ibis.duckdb.connect())
    spark = run(firms(), ibis.pyspark.connect(engines.spark_session()))
    cols = sorted(duck.wide.columns)
    left = duck.wide[cols].sort_values(["enterprise_id", "basis"]).reset_index(drop=True)
    right = spark.wide[cols].sort_values(["enterprise_id", "basis"]).reset_index(drop=True)
    assert_frame_equal(left.astype(object), right.astype(object), check_dtype=False)
    key = ["enterprise_id", "scheme"]
    a = duck.results.drop(columns="trace").sort_values(key).reset_index(drop=True)
    b = spark.results.drop(columns="trace").sort_values(key).reset_index(drop=True)
    assert_frame_equal(a, b)
    assert list(duck.results.sort_values(key)["trace"]) == list(
        spark.results.sort_values(key)["trace"]
    )
    assert_frame_equal(
        pd.DataFrame(duck.levels).drop(columns=["titles", "innovation_parts"]),
        pd.DataFrame(spark.levels).drop(columns=["titles", "innovation_parts"]),
    )
    # something is decided on each side of the ledger
    statuses = set(duck.results["status"])
    assert {"meets", "fails", "unknown", "candidate"} <= statuses
