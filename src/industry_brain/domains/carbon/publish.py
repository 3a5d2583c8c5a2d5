"""碳效 results published to the warehouse: ``result_carbon``, one row per enterprise and year of
every year's current (latest) accounting run — grade, level, L (intensity, tCO2/万元), K,
net CO2 — with run id and parameter version. Other services read it as an Ibis table of a
snapshot, never through this package."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.contract import ResultTable, newest_runs
from industry_brain.domains.carbon.models import CarbonResult, CarbonResultLine, CarbonRun
from industry_brain.store.db import select_frame

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
    ("co2_electricity", "float64"),
    ("electricity_kwh", "float64"),
    ("grid_factor", "float64"),
    ("e_zero_carbon", "float64"),
    ("e_sinks", "float64"),
    ("denominator", "float64"),
)
#: The fuel lines of each result (the carbon figure's own lineage: quantity × factor = CO2).
LINE_SCHEMA: tuple[tuple[str, str], ...] = (
    ("run_id", "int64"),
    ("parameter_version", "string"),
    ("year", "int64"),
    ("enterprise_id", "int64"),
    ("item", "string"),
    ("fuel_group", "string"),
    ("quantity", "float64"),
    ("unit", "string"),
    ("factor", "float64"),
    ("co2", "float64"),
)
_COLUMNS = {"l_value": CarbonResult.intensity}


def runs(session: Session) -> list[dict[str, Any]]:
    """The latest run of every year."""
    return newest_runs(session, CarbonRun, "carbon")


def read_lines(session: Session) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Fuel lines of the latest run of every year (the runs are named by ``result_carbon``)."""
    meta = {r["run_id"]: (r["year"], r["parameter_version"]) for r in runs(session)}
    cols = [c for c, _ in LINE_SCHEMA if c not in ("run_id", "parameter_version", "year")]
    frame = select_frame(
        session,
        select(CarbonResultLine.run_id, *[getattr(CarbonResultLine, c) for c in cols])
        .where(CarbonResultLine.run_id.in_(list(meta)))
        .order_by(CarbonResultLine.run_id, CarbonResultLine.enterprise_id, CarbonResultLine.id),
        ["run_id", *cols],
    )
    # dict lookups, not a Python call per row (millions of lines at province scale)
    frame.insert(1, "parameter_version", frame["run_id"].map({i: v for i, (_, v) in meta.items()}))
    frame.insert(2, "year", frame["run_id"].map({i: y for i, (y, _) in meta.items()}))
    return frame, []


def read(session: Session) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Rows of the latest run of every year and those runs."""
    manifest = runs(session)
    versions = {r["run_id"]: r["parameter_version"] for r in manifest}
    cols = [c for c, _ in SCHEMA if c not in ("run_id", "parameter_version")]
    frame = select_frame(
        session,
        select(
            CarbonResult.run_id, *[_COLUMNS.get(c, getattr(CarbonResult, c, None)) for c in cols]
        )
        .where(CarbonResult.run_id.in_(list(versions)))
        .order_by(CarbonResult.run_id, CarbonResult.enterprise_id),
        ["run_id", *cols],
    )
    frame.insert(1, "parameter_version", frame["run_id"].map(versions))
    return frame, manifest


def _no_runs(session: Session) -> list[dict[str, Any]]:
    """The fuel lines name no runs of their own (``result_carbon`` names them)."""
    return []


RESULT_TABLE = ResultTable(
    "result_carbon", SCHEMA, ("year", "enterprise_id"), read, runs, fixed_by=runs
)
#: the lines are those of result_carbon's runs: fixed by those runs
LINES_TABLE = ResultTable(
    "result_carbon_lines",
    LINE_SCHEMA,
    ("year", "enterprise_id", "item"),
    read_lines,
    _no_runs,
    fixed_by=runs,
)
