"""梯度 results published to the warehouse: ``result_tiers``, one row per enterprise and data
year of every year's published run — the highest tier met or recognised, its status, the tier
newly recognised that year (``new_tier``: e.g. ``high_tech``, ``zhuanjingtexin``,
``little_giant``, or null), the next tier, the 创新评动力 score. Other services read it as an Ibis
table of a snapshot, never through this package."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from industry_brain.contract import ResultTable, newest_runs, rows_of_runs
from industry_brain.domains.tiers.models import TiersLevel, TiersRun

SCHEMA: tuple[tuple[str, str], ...] = (
    ("run_id", "int64"),
    ("parameter_version", "string"),
    ("year", "int64"),
    ("enterprise_id", "int64"),
    ("county_code", "string"),
    ("industry_code", "string"),
    ("tier", "string"),
    ("status", "string"),
    ("new_tier", "string"),
    ("next_tier", "string"),
    ("innovation_score", "float64"),
)


def runs(session: Session) -> list[dict[str, Any]]:
    """The published run of every year (the newest when a year has several)."""
    return newest_runs(session, TiersRun, "tiers", TiersRun.status == "published")


def read(session: Session) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Rows of the published run of every year and those runs."""
    manifest = runs(session)
    cols = [c for c, _ in SCHEMA if c not in ("run_id", "parameter_version", "year")]
    frame = rows_of_runs(session, TiersLevel, cols, manifest)
    frame.insert(2, "year", frame["run_id"].map({r["run_id"]: r["year"] for r in manifest}))
    return frame[[c for c, _ in SCHEMA]], manifest


RESULT_TABLE = ResultTable(
    "result_tiers", SCHEMA, ("year", "enterprise_id"), read, runs, fixed_by=runs
)
