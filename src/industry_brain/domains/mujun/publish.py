"""亩均 results published to the warehouse: ``result_mujun``, one row per enterprise and data
year of every year's published run (class, score, ranks, veto), with run id and parameter
version. Other services read it as an Ibis table of a snapshot, never through this package."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from industry_brain.contract import ResultTable, newest_runs, rows_of_runs
from industry_brain.domains.mujun.models import MujunResult, MujunRun

SCHEMA: tuple[tuple[str, str], ...] = (
    ("run_id", "int64"),
    ("parameter_version", "string"),
    ("year", "int64"),
    ("enterprise_id", "int64"),
    ("county_code", "string"),
    ("industry_code", "string"),
    ("scope", "string"),
    ("evaluated", "bool"),
    ("class_code", "string"),
    ("score", "float64"),
    ("rank_county", "int64"),
    ("n_county", "int64"),
    ("rank_industry", "int64"),
    ("n_industry", "int64"),
    ("veto", "bool"),
)


def runs(session: Session) -> list[dict[str, Any]]:
    """The published run of every year (the newest when a year has several)."""
    return newest_runs(session, MujunRun, "mujun", MujunRun.status == "published")


def read(session: Session) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Rows of the published run of every year and those runs."""
    manifest = runs(session)
    cols = [c for c, _ in SCHEMA if c not in ("run_id", "parameter_version")]
    return rows_of_runs(session, MujunResult, cols, manifest), manifest


RESULT_TABLE = ResultTable(
    "result_mujun", SCHEMA, ("year", "enterprise_id"), read, runs, fixed_by=runs
)
