"""Snapshot of the operational store as Parquet: the input of every evaluation.

Tables (one Parquet file each under the snapshot folder):

- ``enterprises``: enterprise_id, uscc, name, county_code, industry_code, division, status
- ``scales``: enterprise_id, year, above_scale (规上/规下 by year)
- ``facts``: enterprise_id, year, item, value, unit, source_dept — the current
  figures of the preferred department (``ingest.precedence``), monthly and per-detail figures
  (power accounts, parcels, tax types) summed to the year
- ``electricity_monthly``: enterprise_id, year, month, value (kWh, all accounts summed)
- ``result_<service>``: the results each service publishes (``ib_result_tables`` of the service
  contract, :mod:`industry_brain.contract`): ``result_mujun``, ``result_carbon``,
  ``result_projects``, … — the rows of the services' published runs with run id and parameter
  version. A service reads another's results only here, as Ibis tables.

``manifest.json`` records the snapshot time, row counts, the batch ids and the service runs it
contains, so a result can name the inputs (batches and runs) it was computed from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.store.db import describe, read_frame
from industry_brain.store.models import Enterprise, EnterpriseScale, Fact, ImportBatch

TABLES = ("enterprises", "scales", "facts", "electricity_monthly")


@dataclass
class Snapshot:
    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    batch_ids: list[int] = field(default_factory=list)
    created_at: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)
    database: str = ""

    def table(self, name: str) -> Path:
        return self.path / f"{name}.parquet"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "rows": self.rows,
            "batch_ids": self.batch_ids,
            "created_at": self.created_at,
            "runs": self.runs,
            "database": self.database,
        }

    def runs_of(self, table: str) -> list[dict[str, Any]]:
        """The runs whose rows the result table ``table`` holds (from the manifest)."""
        return [r for r in self.runs if r.get("table") == table]

    @classmethod
    def open(cls, path: Path) -> Snapshot:
        data = json.loads((path / "manifest.json").read_text("utf-8"))
        return cls(
            Path(path),
            data["rows"],
            data["batch_ids"],
            data["created_at"],
            data.get("runs", []),
            data.get("database", ""),
        )


def latest_snapshot(root: Path, engine: Engine) -> Snapshot | None:
    """The newest snapshot under ``root`` taken of the store of ``engine`` that is current:
    no import batch committed since and every service run it holds still the published one
    (None when there is none)."""
    database = describe(str(engine.url))
    found = []
    for manifest in Path(root).glob("*/manifest.json"):
        try:
            snap = Snapshot.open(manifest.parent)
        except (OSError, ValueError, KeyError):
            continue  # a snapshot being written or a foreign folder
        if snap.database == database:
            found.append(snap)
    if not found:
        return None
    snap = max(found, key=lambda s: (s.created_at, str(s.path)))
    with Session(engine) as s:
        batches = _input_batches(s)
        runs = _write_results(s, None)[1]
    current = batches == snap.batch_ids and [
        {k: r[k] for k in ("table", "run_id")} for r in runs
    ] == [{k: r[k] for k in ("table", "run_id")} for r in snap.runs]
    return snap if current else None


def _write(frame: pd.DataFrame, path: Path, schema: pa.Schema) -> int:
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    pq.write_table(table, path, compression="zstd")
    return table.num_rows


_ARROW = {"int64": pa.int64(), "float64": pa.float64(), "string": pa.string(), "bool": pa.bool_()}
_PANDAS = {"int64": "Int64", "float64": "float64", "string": "object", "bool": "boolean"}


def _input_batches(session: Session) -> list[int]:
    """Every batch whose rows are in the store (committed or partly loaded): a snapshot's inputs."""
    return [
        int(b)
        for b in session.scalars(
            select(ImportBatch.id)
            .where(ImportBatch.status.in_(["committed", "partial"]))
            .order_by(ImportBatch.id)
        )
    ]


def _write_results(
    session: Session, out_dir: Path | None
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Every service's published result tables (service contract) as Parquet under ``out_dir``
    (only read when None), and their runs."""
    from industry_brain import contract

    rows: dict[str, int] = {}
    runs: list[dict[str, Any]] = []
    for _service, tables in contract.each("result_tables"):
        for table in tables:
            frame, table_runs = table.read(session)
            runs += [{**r, "table": table.name} for r in table_runs]
            if out_dir is None:
                continue
            frame = frame[[c for c, _ in table.schema]].copy()
            for col, kind in table.schema:
                values = frame[col].astype(object).where(frame[col].notna(), None)
                frame[col] = values if kind == "string" else values.astype(_PANDAS[kind])
            schema = pa.schema([(c, _ARROW[k]) for c, k in table.schema])
            rows[table.name] = _write(frame, out_dir / f"{table.name}.parquet", schema)
    return rows, runs


def _preferred(facts: pd.DataFrame, counties: pd.Series) -> pd.DataFrame:
    """Keep, per (enterprise, year, item), the figures of the highest-precedence department."""
    if facts.empty:
        return facts
    params = parameters.load()
    facts = facts.assign(county=facts["enterprise_id"].map(counties).fillna(""))
    combos = facts[["county", "year", "item", "source_dept"]].drop_duplicates()
    ranks = []
    for county, year, item, dept in combos.itertuples(index=False):
        table = params.get("ingest.precedence", region=county or None, on=date(int(year), 1, 1))
        order = table.get(item) or table["default"]
        ranks.append(order.index(dept) if dept in order else len(order))
    combos = combos.assign(rank=ranks)
    facts = facts.merge(combos, on=["county", "year", "item", "source_dept"], how="left")
    best = facts.groupby(["enterprise_id", "year", "item"])["rank"].transform("min")
    return facts[facts["rank"] == best].drop(columns=["rank", "county"])


def build_snapshot(engine: Engine, out_dir: Path) -> Snapshot:
    """Export the store's current figures to Parquet under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with Session(engine) as s:
        ents = read_frame(
            s,
            select(
                Enterprise.id,
                Enterprise.uscc,
                Enterprise.name,
                Enterprise.county_code,
                Enterprise.industry_code,
                Enterprise.status,
            ),
            ["enterprise_id", "uscc", "name", "county_code", "industry_code", "status"],
        )
        scales = read_frame(
            s,
            select(
                EnterpriseScale.enterprise_id, EnterpriseScale.year, EnterpriseScale.above_scale
            ),
            ["enterprise_id", "year", "above_scale"],
        )
        raw = read_frame(
            s,
            select(
                Fact.enterprise_id,
                Fact.year,
                Fact.month,
                Fact.item,
                Fact.value,
                Fact.unit,
                Fact.source_dept,
                Fact.batch_id,
            ).where(Fact.superseded_by.is_(None), Fact.value.is_not(None)),
            ["enterprise_id", "year", "month", "item", "value", "unit", "source_dept", "batch_id"],
        )
        batch_ids = _input_batches(s)
        result_rows, runs = _write_results(s, out_dir)
    scales["above_scale"] = scales["above_scale"].astype(bool)
    ents["division"] = ents["industry_code"].str.slice(0, 2)
    counties = ents.set_index("enterprise_id")["county_code"]
    chosen = _preferred(raw, counties)
    yearly = chosen.groupby(
        ["enterprise_id", "year", "item", "unit", "source_dept"], as_index=False
    )["value"].sum()
    monthly = (
        chosen[(chosen["item"] == "electricity") & (chosen["month"] > 0)]
        .groupby(["enterprise_id", "year", "month"], as_index=False)["value"]
        .sum()
    )
    rows = {
        "enterprises": _write(
            ents,
            out_dir / "enterprises.parquet",
            pa.schema(
                [
                    ("enterprise_id", pa.int64()),
                    ("uscc", pa.string()),
                    ("name", pa.string()),
                    ("county_code", pa.string()),
                    ("industry_code", pa.string()),
                    ("status", pa.string()),
                    ("division", pa.string()),
                ]
            ),
        ),
        "scales": _write(
            scales,
            out_dir / "scales.parquet",
            pa.schema(
                [("enterprise_id", pa.int64()), ("year", pa.int64()), ("above_scale", pa.bool_())]
            ),
        ),
        "facts": _write(
            yearly[["enterprise_id", "year", "item", "value", "unit", "source_dept"]],
            out_dir / "facts.parquet",
            pa.schema(
                [
                    ("enterprise_id", pa.int64()),
                    ("year", pa.int64()),
                    ("item", pa.string()),
                    ("value", pa.float64()),
                    ("unit", pa.string()),
                    ("source_dept", pa.string()),
                ]
            ),
        ),
        "electricity_monthly": _write(
            monthly,
            out_dir / "electricity_monthly.parquet",
            pa.schema(
                [
                    ("enterprise_id", pa.int64()),
                    ("year", pa.int64()),
                    ("month", pa.int64()),
                    ("value", pa.float64()),
                ]
            ),
        ),
    }
    snap = Snapshot(
        path=out_dir,
        rows={**rows, **result_rows},
        batch_ids=batch_ids,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        runs=runs,
        database=describe(str(engine.url)),
    )
    (out_dir / "manifest.json").write_text(json.dumps(snap.to_dict(), indent=2), "utf-8")
    return snap
