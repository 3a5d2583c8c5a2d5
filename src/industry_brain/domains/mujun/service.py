"""Running an evaluation on the store: snapshot → Ibis evaluation → a stored, published run.

A run records its parameter version, the resolved parameters of every county, the import
batches its input figures came from and the snapshot it read. Publishing a run supersedes the
year's earlier published run (kept as history); the published list of a year is its latest
published run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
from sqlalchemy import Engine, Text, cast, func, select, update
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core.errors import Location
from industry_brain.core.progress import Progress
from industry_brain.domains.mujun.evaluate import STORED_INPUTS, evaluate
from industry_brain.domains.mujun.models import (
    MujunAdjustment,
    MujunResult,
    MujunResultItem,
    MujunRun,
)
from industry_brain.domains.mujun.rules import (
    CATALOGUE,
    CODES,
    INPUTS,
    RESULT_INPUTS,
    MujunError,
    RuleSet,
    rule_set,
)
from industry_brain.store import audit, bulk
from industry_brain.store.db import chunks, data_dir, select_frames
from industry_brain.store.models import Enterprise, EnterpriseScale, Fact
from industry_brain.warehouse import Snapshot, build_snapshot, connect
from industry_brain.warehouse.engines import fetch

#: The carbon service's published results (a warehouse table; never its modules).
CARBON_TABLE = "result_carbon"
#: Tax type (税种, the ``detail`` of tax facts) that land-use-tax relief is computed on.
LAND_USE_TAX = "城镇土地使用税"
RESULT_COLUMNS = (
    "enterprise_id",
    "uscc",
    "name",
    "county_code",
    "industry_code",
    "division",
    "year",
    "scope",
    "evaluated",
    "exempt_reason",
    *STORED_INPUTS,
    "land_use_tax",
    "base_score",
    "bonus",
    "penalty",
    "veto",
    "adjustment_codes",
    "score",
    "rank_county",
    "n_county",
    "rank_industry",
    "n_industry",
    "class_code",
    "class_rule",
)
ITEM_COLUMNS = (
    "enterprise_id",
    "indicator",
    "numerator",
    "denominator",
    "value",
    "benchmark",
    "benchmark_method",
    "benchmark_group",
    "benchmark_period",
    "benchmark_n",
    "weight",
    "raw_score",
    "cap",
    "capped",
    "fill_rule",
    "score",
)


@dataclass
class Evaluation:
    """The executed evaluation of a year: wide results, long items, rules and timing."""

    year: int
    engine: str
    rules: RuleSet
    results: pd.DataFrame
    items: pd.DataFrame
    seconds: float
    snapshot: Snapshot | None = None
    #: Other services' runs whose published results the evaluation read (e.g. carbon runs).
    input_runs: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RunOutcome:
    run_id: int
    year: int
    engine: str
    parameter_version: str
    n_results: int
    summary: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# -- evaluation on a snapshot -----------------------------------------------------------------
def snapshot_counties(snapshot_dir: Path) -> list[str]:
    ents = pd.read_parquet(Path(snapshot_dir) / "enterprises.parquet", columns=["county_code"])
    return sorted(str(c) for c in ents["county_code"].dropna().unique())


def evaluate_snapshot(
    snapshot_dir: Path,
    year: int,
    engine: str = "duckdb",
    adjustments: pd.DataFrame | None = None,
    params: parameters.Parameters | None = None,
) -> Evaluation:
    """Evaluate data ``year`` on a warehouse snapshot with ``engine`` (duckdb | pyspark)."""
    rules = rule_set(year, snapshot_counties(snapshot_dir), params)
    names = ["enterprises", "scales", "facts"]
    # 碳效 in 亩均: the carbon service's published results, read only from the warehouse
    if rules.uses_carbon and (Path(snapshot_dir) / f"{CARBON_TABLE}.parquet").exists():
        names.append(CARBON_TABLE)
    con = connect(Path(snapshot_dir), engine, tables=tuple(names))
    if engine == "duckdb":
        con.raw_sql("SET enable_progress_bar = false")  # keep stdout clean (--json)
    tables = {name: con.table(name) for name in names}
    start = time.perf_counter()
    with unfused_selects():
        results = fetch(con, evaluate(tables, rules, adjustments, backend=con))
    seconds = time.perf_counter() - start
    results = normalise_results(results)
    codes: dict[int, list[str]] = {}
    if adjustments is not None and not adjustments.empty:
        this_year = adjustments[adjustments["year"] == year].sort_values(["enterprise_id", "code"])
        for eid, code in zip(this_year["enterprise_id"], this_year["code"], strict=True):
            codes.setdefault(int(eid), []).append(str(code))
    results = results.assign(
        adjustment_codes=pd.Series(
            [codes.get(int(e), []) for e in results["enterprise_id"]],
            index=results.index,
            dtype=object,
        )
    )
    ev = Evaluation(year, engine, rules, results, items_frame(results, rules), seconds)
    if CARBON_TABLE in names:
        ev.input_runs = [
            r
            for r in Snapshot.open(Path(snapshot_dir)).runs_of(CARBON_TABLE)
            if r["year"] in (year - 1, year)
        ]
    return ev


@contextmanager
def unfused_selects() -> Iterator[None]:
    """Ibis compiles without merging consecutive projections (``options.sql.fuse_selects``)
    inside the block. The evaluation's steps are projections that each read the one before;
    trying to merge them (and measuring each merge's complexity) cost Ibis about 1 s of a
    province evaluation's compile, and the engines plan the unmerged SQL the same."""
    before = ibis.options.sql.fuse_selects
    ibis.options.sql.fuse_selects = False
    try:
        yield
    finally:
        ibis.options.sql.fuse_selects = before


def normalise_results(frame: pd.DataFrame) -> pd.DataFrame:
    """Stable dtypes whatever the engine returned (nullable ints, floats, strings), in
    enterprise order. The columns are converted one by one, each taken in that order, into a new
    frame built once (replacing a hundred columns of a frame in place leaves it in as many
    blocks, and the next insert warns of fragmentation; sorting the converted frame after was
    one more copy of a province's 500,000 wide rows)."""
    ids = pd.to_numeric(frame["enterprise_id"]).to_numpy(dtype="int64")
    order = np.argsort(ids, kind="stable")
    out: dict[str, pd.Series] = {}
    for col in frame.columns:
        if col.startswith(("capped_", "bm_n_")) or col in (
            "rank_county",
            "n_county",
            "rank_industry",
            "n_industry",
            "enterprise_id",
            "year",
            "carbon_grade",
        ):
            out[col] = pd.to_numeric(frame[col]).astype("Int64")
        elif col.startswith(("fill_", "bm_period_")) or col in (
            "uscc",
            "name",
            "county_code",
            "industry_code",
            "division",
            "scope",
            "exempt_reason",
            "class_code",
            "class_rule",
        ):
            out[col] = frame[col].astype("object").where(frame[col].notna(), None)
        elif col in ("evaluated", "veto"):
            out[col] = frame[col].astype(bool)
        else:
            out[col] = pd.to_numeric(frame[col]).astype("float64")
        out[col] = out[col].take(order).reset_index(drop=True)
    return pd.DataFrame(out)


def items_frame(results: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """Long items (one row per enterprise × configured indicator) from the wide results."""
    table = rules.item_table()
    known = set(rules.counties)
    county_key = results["county_code"].where(results["county_code"].isin(known), "").fillna("")
    parts = []
    for code in CODES:
        has = results[f"weight_{code}"].notna()
        if not has.any():
            continue
        sub = results.loc[has]
        ind = CATALOGUE[code]
        parts.append(
            pd.DataFrame(
                {
                    "enterprise_id": sub["enterprise_id"].to_numpy(),
                    "county_key": county_key[has].to_numpy(),
                    "scope": sub["scope"].to_numpy(),
                    "indicator": code,
                    "numerator": sub[ind.numerator].to_numpy(dtype=float),
                    "denominator": sub[ind.denominator].to_numpy(dtype=float),
                    "value": sub[f"value_{code}"].to_numpy(dtype=float),
                    "benchmark": sub[f"benchmark_{code}"].to_numpy(dtype=float),
                    "benchmark_period": sub[f"bm_period_{code}"].to_numpy(dtype=object),
                    "benchmark_n": sub[f"bm_n_{code}"].to_numpy(dtype=object),
                    "weight": sub[f"weight_{code}"].to_numpy(dtype=float),
                    "raw_score": sub[f"raw_{code}"].to_numpy(dtype=float),
                    "cap": sub[f"cap_{code}"].to_numpy(dtype=float),
                    "capped": sub[f"capped_{code}"].fillna(0).to_numpy(dtype=int) > 0,
                    "fill_rule": sub[f"fill_{code}"].to_numpy(dtype=object),
                    "score": sub[f"score_{code}"].to_numpy(dtype=float),
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=list(ITEM_COLUMNS))
    long = pd.concat(parts, ignore_index=True)
    meta = table[["county_key", "scope", "indicator", "bm_method", "bm_group"]].astype(object)
    long = long.merge(meta, on=["county_key", "scope", "indicator"], how="left")
    long["benchmark_method"] = long["bm_method"]
    fixed = long["benchmark_method"] == "fixed"
    long["benchmark_group"] = long["bm_group"].where(~fixed, None)
    return long[list(ITEM_COLUMNS)]


# -- store ------------------------------------------------------------------------------------
def load_adjustments(session: Session, years: list[int]) -> pd.DataFrame:
    """Active bonus/penalty/veto records of ``years`` (enterprise_id, year, code)."""
    rows = session.execute(
        select(MujunAdjustment.enterprise_id, MujunAdjustment.year, MujunAdjustment.code).where(
            MujunAdjustment.year.in_(years), MujunAdjustment.revoked_at.is_(None)
        )
    ).all()
    return pd.DataFrame(rows, columns=["enterprise_id", "year", "code"]).astype(
        {"enterprise_id": "int64", "year": "int64", "code": "string"}
    )


def _input_items(rules: RuleSet) -> list[str]:
    """Store items the evaluation reads (plus output and revenue for the 投产年限 check)."""
    items = {"output_value", "revenue"}
    for county in rules.counties.values():
        for scope in county.scopes.values():
            for code in scope.weights:
                ind = CATALOGUE[code]
                for col in (ind.numerator, ind.denominator):
                    if col in RESULT_INPUTS:
                        continue  # another service's published result, not a fact
                    if col == "emissions_t":
                        items.update(county.emission_items)
                    else:
                        items.add(INPUTS[col].item)
    return sorted(items)


def input_batch_ids(session: Session, rules: RuleSet) -> list[int]:
    """Import batches of the current figures the evaluation of ``rules.year`` read."""
    years = [rules.year - 1, rules.year]
    ids = session.scalars(
        select(Fact.batch_id)
        .where(
            Fact.year.in_(years),
            Fact.item.in_(_input_items(rules)),
            Fact.superseded_by.is_(None),
        )
        .distinct()
    ).all()
    scale_ids = session.scalars(
        select(EnterpriseScale.batch_id)
        .where(EnterpriseScale.year.in_(years), EnterpriseScale.batch_id.is_not(None))
        .distinct()
    ).all()
    return sorted({int(i) for i in [*ids, *scale_ids]})


def land_use_tax(session: Session, year: int) -> pd.Series:
    """城镇土地使用税 paid per enterprise in ``year`` (万元), from the tax bureau's tax types."""
    rows = session.execute(
        select(Fact.enterprise_id, func.sum(Fact.value))
        .where(
            Fact.year == year,
            Fact.item == "tax_paid",
            Fact.detail == LAND_USE_TAX,
            Fact.superseded_by.is_(None),
        )
        .group_by(Fact.enterprise_id)
    ).all()
    return pd.Series({int(e): float(v) for e, v in rows if v is not None}, dtype="float64")


def _summary(results: pd.DataFrame) -> dict[str, Any]:
    counts = results.groupby(["county_code", "scope", "class_code"]).size()
    by_county: dict[str, dict[str, dict[str, int]]] = {}
    for (county, scope, cls), n in counts.items():
        by_county.setdefault(str(county), {}).setdefault(str(scope), {})[str(cls)] = int(n)
    return {
        "enterprises": len(results),
        "evaluated": int(results["evaluated"].sum()),
        "classes": {str(k): int(v) for k, v in results["class_code"].value_counts().items()},
        "by_county": by_county,
    }


def store_run(
    session: Session,
    ev: Evaluation,
    actor: str,
    kind: str = "evaluation",
    parent_run_id: int | None = None,
    note: str | None = None,
    publish: bool = True,
) -> MujunRun:
    """Write ``ev`` as a run with its results and items; publish it (superseding the year's
    earlier published run) unless ``publish`` is false."""
    results = ev.results.copy()
    taxes = land_use_tax(session, ev.year)
    results["land_use_tax"] = results["enterprise_id"].map(taxes).astype("float64")
    run = MujunRun(
        year=ev.year,
        kind=kind,
        status="draft",
        engine=ev.engine,
        parameter_version=ev.rules.version,
        parameters=ev.rules.record(),
        input_batch_ids=input_batch_ids(session, ev.rules),
        # the snapshot read, with the other services' runs whose results were inputs
        snapshot={**(ev.snapshot.to_dict() if ev.snapshot else {}), "input_runs": ev.input_runs},
        summary=_summary(results),
        parent_run_id=parent_run_id,
        note=note,
        actor=actor,
    )
    session.add(run)
    session.flush()
    # COPY on PostgreSQL, multi-row INSERTs on SQLite (a province: 500,000 results, 4 M items)
    bulk.insert_frame(session, MujunResult, results[list(RESULT_COLUMNS)], {"run_id": run.id})
    bulk.insert_frame(session, MujunResultItem, ev.items[list(ITEM_COLUMNS)], {"run_id": run.id})
    if publish:
        publish_run(session, run)
    audit.record(
        session,
        actor,
        "mujun.evaluate",
        "mujun_run",
        str(run.id),
        {
            "year": ev.year,
            "kind": kind,
            "engine": ev.engine,
            "parameter_version": ev.rules.version,
            "results": len(results),
            "parent_run_id": parent_run_id,
        },
    )
    return run


def publish_run(session: Session, run: MujunRun) -> None:
    session.execute(
        update(MujunRun)
        .where(MujunRun.year == run.year, MujunRun.status == "published", MujunRun.id != run.id)
        .values(status="superseded")
    )
    run.status = "published"


def published_run(session: Session, year: int, required: bool = True) -> MujunRun | None:
    """The published run of ``year`` (the final result; earlier runs are history)."""
    run = session.scalars(
        select(MujunRun)
        .where(MujunRun.year == year, MujunRun.status == "published")
        .order_by(MujunRun.id.desc())
        .limit(1)
    ).first()
    if run is None and required:
        raise MujunError(
            "mujun.no_run",
            f"{year} 年度尚无已发布的亩均评价结果，"
            f"请先运行 industry-brain mujun evaluate --year {year}",
            f"no published 亩均 evaluation for {year}; run industry-brain mujun evaluate "
            f"--year {year} first",
            Location(field="year"),
            year,
        )
    return run


def get_run(session: Session, run_id: int) -> MujunRun:
    run = session.get(MujunRun, run_id)
    if run is None:
        raise MujunError(
            "mujun.run_not_found",
            f"没有编号为 {run_id} 的评价批次",
            f"no evaluation run {run_id}",
            Location(field="run"),
            run_id,
        )
    return run


def results_frame(session: Session, run_id: int) -> pd.DataFrame:
    """The stored results of ``run_id`` by enterprise, one row each (columns
    :data:`RESULT_COLUMNS`). Read as the driver's plain tuples through the session's
    connection (booleans mapped, JSON decoded here), not as SQLAlchemy's rows: the workbook,
    lists and reports read a province's 500,000 results several times."""
    # the adjustment codes as their JSON text, decoded here: nearly every firm has none ("[]"),
    # and the driver's JSON decoding of each was millions of calls a province's run
    cols = [
        cast(MujunResult.adjustment_codes, Text).label(c)
        if c == "adjustment_codes"
        else getattr(MujunResult, c)
        for c in RESULT_COLUMNS
    ]
    frame = select_frames(
        session,
        [select(*cols).where(MujunResult.run_id == run_id).order_by(MujunResult.enterprise_id)],
        list(RESULT_COLUMNS),
    )
    frame["adjustment_codes"] = pd.Series(
        [
            None if v is None else [] if v == "[]" else json.loads(v)
            for v in frame["adjustment_codes"]
        ],
        index=frame.index,
        dtype=object,
    )
    return frame


def items_of(
    session: Session, run_id: int, enterprise_ids: list[int] | None = None
) -> pd.DataFrame:
    """The item rows of ``run_id`` (of ``enterprise_ids`` only when given), in stored order.
    The enterprises are looked up a slice at a time: a county's sheet of a province's
    workbook lists more firms than one ``IN`` list may bind (65,535 parameters)."""
    cols = [MujunResultItem.id, *(getattr(MujunResultItem, c) for c in ITEM_COLUMNS)]
    stmt = select(*cols).where(MujunResultItem.run_id == run_id)
    if enterprise_ids is None:
        parts = [stmt]
    else:
        wanted = sorted({int(e) for e in enterprise_ids})
        parts = [stmt.where(MujunResultItem.enterprise_id.in_(part)) for part in chunks(wanted)]
    # the driver's plain tuples, column-wise (SQLAlchemy's rows cost ≈ 2 s a county sheet's
    # items at province scale), then in stored (id) order
    frame = select_frames(session, parts, ["id", *ITEM_COLUMNS])
    return frame.sort_values("id", kind="stable").drop(columns="id").reset_index(drop=True)


def latest_year(session: Session) -> int | None:
    return session.scalar(select(func.max(EnterpriseScale.year)))


def take_snapshot(engine: Engine, root: Path | None = None) -> Snapshot:
    """A fresh warehouse snapshot of the store under ``root`` (default DATA_DIR/snapshots)."""
    root = root or data_dir() / "snapshots"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return build_snapshot(engine, Path(root) / f"mujun-{stamp}")


def run(
    engine: Engine,
    year: int,
    compute: str = "duckdb",
    snapshot: Snapshot | None = None,
    actor: str = "cli",
    kind: str = "evaluation",
    parent_run_id: int | None = None,
    note: str | None = None,
    progress: Progress | None = None,
    snapshot_root: Path | None = None,
) -> tuple[RunOutcome, Evaluation]:
    """Snapshot the store (unless given), evaluate ``year`` with ``compute`` and store the run."""
    step = progress or (lambda *_: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if snapshot is None:
        step("snapshot", 0, 1)
        snapshot = take_snapshot(engine, snapshot_root)
        step("snapshot", 1, 1)
    timings["snapshot"] = time.perf_counter() - t0
    with Session(engine) as session:
        adjustments = load_adjustments(session, [year])
    step("evaluate", 0, 1)
    ev = evaluate_snapshot(snapshot.path, year, compute, adjustments)
    if ev.results.empty:
        # nothing to publish: a run without a single enterprise would only hide the year's
        # absence of data behind an empty ranking
        raise MujunError(
            "mujun.no_enterprises",
            f"{year} 年没有可评价的企业：仓库快照中没有该年的企业数据，请先导入该年的部门数据",
            f"no enterprise to evaluate in {year}: the warehouse snapshot holds no enterprise "
            "data of that year; import the year's department files first",
            Location(field="year"),
            year,
        )
    ev.snapshot = snapshot
    timings["evaluate"] = ev.seconds
    step("evaluate", 1, 1)
    step("store", 0, 1)
    t1 = time.perf_counter()
    with Session(engine) as session:
        stored = store_run(session, ev, actor, kind, parent_run_id, note)
        session.commit()
        outcome = RunOutcome(
            run_id=stored.id,
            year=year,
            engine=compute,
            parameter_version=stored.parameter_version,
            n_results=len(ev.results),
            summary=stored.summary,
        )
    timings["store"] = time.perf_counter() - t1
    step("store", 1, 1)
    outcome.seconds = {k: round(v, 3) for k, v in timings.items()}
    return outcome, ev


def enterprise_by_uscc(session: Session, uscc: str) -> Enterprise:
    ent = session.scalars(select(Enterprise).where(Enterprise.uscc == uscc)).first()
    if ent is None:
        raise MujunError(
            "enterprise.not_found",
            f"企业库中没有统一社会信用代码为 {uscc} 的企业",
            f"no enterprise with USCC {uscc}",
            Location(field="uscc"),
            uscc,
        )
    return ent
