"""碳效 results published to the warehouse: ``result_carbon``, one row per enterprise and year of
every year's current (latest) accounting run — grade, level, L (intensity, tCO2/万元), K,
net CO2 — with run id and parameter version. Other services read it as an Ibis table of a
snapshot, never through this package."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.contract import ResultTable
from industry_brain.domains.carbon.models import CarbonResult, CarbonRun

SCHEMA: tuple[tuple[str, str], ...] = (
    ("run_id", "int64"),
    ("parameter_version", "string"),
    ("year", "int64"),
    ("enterprise_id", "int64"),
    ("county_code", "string"),
    ("industry_key", "string"),
    ("method", "string"),
    ("status", "string"),
    ("grade", "int64"),
    ("level", "string"),
    ("label", "string"),
    ("l_value", "float64"),
    ("k_value", "float64"),
    ("co2_net", "float64"),
    ("e_energy", "float64"),
    ("denominator", "float64"),
)
_COLUMNS = {"l_value": CarbonResult.intensity}


def read(session: Session) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Rows of the latest run of every year and those runs."""
    latest = select(func.max(CarbonRun.id)).group_by(CarbonRun.year).scalar_subquery()
    runs = session.execute(
        select(CarbonRun.id, CarbonRun.year, CarbonRun.parameter_version)
        .where(CarbonRun.id.in_(latest))
        .order_by(CarbonRun.year)
    ).all()
    versions = {int(i): str(v) for i, _, v in runs}
    cols = [c for c, _ in SCHEMA if c not in ("run_id", "parameter_version")]
    rows = session.execute(
        select(
            CarbonResult.run_id, *[_COLUMNS.get(c, getattr(CarbonResult, c, None)) for c in cols]
        )
        .where(CarbonResult.run_id.in_(list(versions)))
        .order_by(CarbonResult.run_id, CarbonResult.enterprise_id)
    ).all()
    frame = pd.DataFrame(rows, columns=["run_id", *cols])
    frame.insert(1, "parameter_version", frame["run_id"].map(versions))
    manifest = [
        {"service": "carbon", "run_id": int(i), "year": int(y), "parameter_version": str(v)}
        for i, y, v in runs
    ]
    return frame, manifest


RESULT_TABLE = ResultTable("result_carbon", SCHEMA, ("year", "enterprise_id"), read)
