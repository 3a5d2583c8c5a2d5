"""亩均 results published to the warehouse: ``result_mujun``, one row per enterprise and data
year of every year's published run (class, score, ranks, veto), with run id and parameter
version. Other services read it as an Ibis table of a snapshot, never through this package."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.contract import ResultTable
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


def read(session: Session) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Rows of the published run of every year and those runs."""
    runs = session.execute(
        select(MujunRun.id, MujunRun.year, MujunRun.parameter_version)
        .where(MujunRun.status == "published")
        .order_by(MujunRun.year, MujunRun.id)
    ).all()
    latest = {int(y): (int(i), str(v)) for i, y, v in runs}  # the newest published run wins
    ids = [i for i, _ in latest.values()]
    cols = [c for c, _ in SCHEMA if c not in ("run_id", "parameter_version")]
    rows = session.execute(
        select(MujunResult.run_id, *[getattr(MujunResult, c) for c in cols])
        .where(MujunResult.run_id.in_(ids))
        .order_by(MujunResult.run_id, MujunResult.enterprise_id)
    ).all()
    frame = frame_of(rows, ["run_id", *cols])
    versions = {i: v for i, v in latest.values()}
    frame.insert(1, "parameter_version", frame["run_id"].map(versions))
    manifest = [
        {"service": "mujun", "run_id": i, "year": y, "parameter_version": v}
        for y, (i, v) in sorted(latest.items())
    ]
    return frame, manifest


RESULT_TABLE = ResultTable("result_mujun", SCHEMA, ("year", "enterprise_id"), read)
