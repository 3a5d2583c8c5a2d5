"""亩均 results published to the warehouse: ``result_mujun``, one row per enterprise and data
year of every year's published run (class, score, ranks, veto), with run id and parameter
version. Other services read it as an Ibis table of a snapshot, never through this package."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.contract import ResultTable, newest_runs
from industry_brain.domains.mujun.models import MujunResult, MujunRun
from industry_brain.store.db import frame_of

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
    rows = session.execute(
        select(MujunResult.run_id, *[getattr(MujunResult, c) for c in cols])
        .where(MujunResult.run_id.in_([r["run_id"] for r in manifest]))
        .order_by(MujunResult.run_id, MujunResult.enterprise_id)
    ).all()
    frame = frame_of(rows, ["run_id", *cols])
    versions = {r["run_id"]: r["parameter_version"] for r in manifest}
    frame.insert(1, "parameter_version", frame["run_id"].map(versions))
    return frame, manifest


RESULT_TABLE = ResultTable("result_mujun", SCHEMA, ("year", "enterprise_id"), read, runs)
