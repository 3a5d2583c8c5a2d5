"""Policy results published to the warehouse: ``result_policy``, one row per (policy,
enterprise, entity) of every year's latest batch run — the candidates a run stores: eligible,
stacked (eligible, but a higher benefit of its stacking group is kept) and cannot tell — with
run id and parameter version. ``eligible`` is three-valued as text (``true`` / ``false`` /
``unknown``: an input nobody publishes yet); ``amount`` is the policy's amount, ``paid`` what
the batch pays after the budget's rationing rule (only eligible rows are paid). Another service
reads it as an Ibis table of a snapshot, never through this package."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.contract import ResultTable, newest_runs
from industry_brain.domains.policy.models import PolicyResult, PolicyRun
from industry_brain.store.db import select_frame

SCHEMA: tuple[tuple[str, str], ...] = (
    ("run_id", "int64"),
    ("parameter_version", "string"),
    ("year", "int64"),
    ("enterprise_id", "int64"),
    ("policy_id", "string"),
    ("entity", "string"),
    ("county_code", "string"),
    ("status", "string"),
    ("eligible", "string"),
    ("amount", "float64"),
    ("paid", "float64"),
)
#: a stored status → eligible, three-valued (a stored row is never "no": a run keeps candidates)
ELIGIBLE = {"eligible": "true", "stacked": "true", "unknown": "unknown", "no": "false"}


def runs(session: Session) -> list[dict[str, Any]]:
    """The latest batch run of every year."""
    return newest_runs(session, PolicyRun, "policy", PolicyRun.kind == "run")


def read(session: Session) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Rows of the latest batch run of every year and those runs."""
    manifest = runs(session)
    meta = {r["run_id"]: (r["year"], r["parameter_version"]) for r in manifest}
    stmt = (
        select(
            PolicyResult.run_id,
            PolicyResult.enterprise_id,
            PolicyResult.policy,
            PolicyResult.entity,
            PolicyResult.county_code,
            PolicyResult.status,
            PolicyResult.amount,
            PolicyResult.paid,
        )
        .where(PolicyResult.run_id.in_(list(meta)))
        .order_by(
            PolicyResult.run_id,
            PolicyResult.policy,
            PolicyResult.enterprise_id,
            PolicyResult.entity,
        )
    )
    cols = ["run_id", "enterprise_id", "policy_id", "entity", "county_code", "status"]
    frame = select_frame(session, stmt, [*cols, "amount", "paid"])
    # dict lookups, not a Python call per row (millions of candidates at province scale)
    frame["parameter_version"] = frame["run_id"].map({i: v for i, (_, v) in meta.items()})
    frame["year"] = frame["run_id"].map({i: y for i, (y, _) in meta.items()})
    frame["eligible"] = frame["status"].map(ELIGIBLE)
    frame = frame.astype({"amount": "float64", "paid": "float64"})
    return frame[[c for c, _ in SCHEMA]], manifest


#: a run's candidates are written once (reviews and payouts are rows of their own tables)
RESULT_TABLE = ResultTable(
    "result_policy",
    SCHEMA,
    ("year", "enterprise_id", "policy_id", "entity"),
    read,
    runs,
    fixed_by=runs,
)
