"""项目钉 results published to the warehouse: ``result_projects``, one row per project (and its
enterprise) as of the latest 破五未 warning snapshot — stage, warnings, investment completed to
date — with run id and parameter version.

The run of 项目钉 is a day's warning snapshot (``projects warnings --refresh``): its run id is
the snapshot date written ``YYYYMMDD`` and its parameter version the one the warnings were
computed with. Other services read the table as an Ibis table of a snapshot, never through this
package."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.contract import ResultTable
from industry_brain.domains.projects.models import ProgressReport, WarningSnapshot
from industry_brain.store.models import Project

SCHEMA: tuple[tuple[str, str], ...] = (
    ("run_id", "int64"),
    ("parameter_version", "string"),
    ("year", "int64"),
    ("run_date", "string"),
    ("project_id", "int64"),
    ("project_code", "string"),
    ("enterprise_id", "int64"),
    ("investor_uscc", "string"),
    ("county_code", "string"),
    ("industry_code", "string"),
    ("stage", "string"),
    ("warnings", "int64"),
    ("warning_kind", "string"),
    ("warning_colour", "string"),
    ("days_overdue", "int64"),
    ("planned_investment", "float64"),
    ("investment_to_date", "float64"),
)


def runs(session: Session) -> list[dict[str, Any]]:
    """The latest warning snapshot as the run (its date as the run id: ``YYYYMMDD``)."""
    day = session.scalar(select(func.max(WarningSnapshot.snapshot_date)))
    if day is None:
        return []
    version = session.scalar(
        select(func.min(WarningSnapshot.params_version)).where(WarningSnapshot.snapshot_date == day)
    )
    run_id = int(day.strftime("%Y%m%d"))
    return [
        {"service": "projects", "run_id": run_id, "year": day.year, "parameter_version": version}
    ]


def read(session: Session) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Every project as of the latest warning snapshot, and that snapshot as the run."""
    manifest = runs(session)
    columns = [c for c, _ in SCHEMA]
    if not manifest:
        return pd.DataFrame(columns=columns), []
    run_id, version = manifest[0]["run_id"], manifest[0]["parameter_version"]
    day = datetime.strptime(str(run_id), "%Y%m%d").date()
    latest_report = (
        select(
            ProgressReport.project_id.label("pid"),
            func.max(ProgressReport.report_date).label("last"),
        )
        .where(ProgressReport.report_date <= day)
        .group_by(ProgressReport.project_id)
        .subquery()
    )
    invested = (
        select(ProgressReport.project_id.label("pid"), ProgressReport.investment_completed)
        .join(
            latest_report,
            (latest_report.c.pid == ProgressReport.project_id)
            & (latest_report.c.last == ProgressReport.report_date),
        )
        .subquery()
    )
    warned = select(WarningSnapshot).where(WarningSnapshot.snapshot_date == day).subquery()
    rows = session.execute(
        select(
            Project.id,
            Project.code,
            Project.enterprise_id,
            Project.investor_uscc,
            Project.county_code,
            Project.industry_code,
            Project.stage,
            warned.c.kind,
            warned.c.colour,
            warned.c.days_overdue,
            Project.planned_investment,
            invested.c.investment_completed,
        )
        .outerjoin(warned, warned.c.project_id == Project.id)
        .outerjoin(invested, invested.c.pid == Project.id)
        .order_by(Project.id)
    ).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "project_id",
            "project_code",
            "enterprise_id",
            "investor_uscc",
            "county_code",
            "industry_code",
            "stage",
            "warning_kind",
            "warning_colour",
            "days_overdue",
            "planned_investment",
            "investment_to_date",
        ],
    )
    frame["warnings"] = frame["warning_kind"].notna().astype("int64")
    frame["run_id"] = run_id
    frame["parameter_version"] = version
    frame["year"] = day.year
    frame["run_date"] = day.isoformat()
    return frame[columns], manifest


RESULT_TABLE = ResultTable("result_projects", SCHEMA, ("project_id",), read, runs)
