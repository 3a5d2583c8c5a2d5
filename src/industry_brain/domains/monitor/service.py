"""工业运行监测 on a warehouse snapshot: the figures of :mod:`.compute` executed on an engine and
returned as plain tables (the CLI, the ``/monitor`` page, its export and the main job read them).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core.errors import IBError, Location
from industry_brain.domains.monitor import compute
from industry_brain.store import scoped
from industry_brain.store.db import data_dir
from industry_brain.store.models import Region
from industry_brain.warehouse import Snapshot, build_snapshot, connect, latest_snapshot
from industry_brain.warehouse.engines import fetch

TABLES = ("enterprises", "scales", "facts", "electricity_monthly")


class MonitorError(IBError):
    """A monitoring problem (no data for the year, unknown county), in zh and en."""


@dataclass
class Report:
    """The monitoring figures of one year (and optionally one county)."""

    year: int
    county: str | None
    parameter_version: str
    groups: dict[str, dict[str, Any]]
    snapshot: dict[str, Any]
    city: dict[str, Any]
    counties: list[dict[str, Any]]
    industries: list[dict[str, Any]]
    electricity: list[dict[str, Any]]
    electricity_city: list[dict[str, Any]]
    names: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "county": self.county,
            "growth_basis": "nominal",
            "parameter_version": self.parameter_version,
            "groups": self.groups,
            "snapshot": self.snapshot,
            "city": self.city,
            "counties": self.counties,
            "industries": self.industries,
            "electricity": self.electricity,
            "electricity_city": self.electricity_city,
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain values (None for missing numbers)."""
    out = []
    for row in frame.to_dict("records"):
        clean = {}
        for k, v in row.items():
            if hasattr(v, "item"):
                v = v.item()
            if v is pd.NA or (isinstance(v, float) and math.isnan(v)):
                v = None
            clean[k] = v
        out.append(clean)
    return out


def groups_of(params: parameters.Parameters, year: int, county: str | None) -> dict[str, Any]:
    """The industry groups (``monitor.groups``) in force for data ``year`` in ``county``."""
    return params.get("monitor.groups", region=county, on=date(year, 1, 1))


def report(
    snapshot_dir: Path,
    year: int,
    engine: str = "duckdb",
    county: str | None = None,
    params: parameters.Parameters | None = None,
) -> Report:
    """The monitoring figures of data ``year`` on a snapshot with ``engine``."""
    params = params or parameters.load()
    groups = groups_of(params, year, county)
    con = connect(Path(snapshot_dir), engine, tables=TABLES)
    tables = {t: con.table(t) for t in TABLES}
    base = compute.firms(tables, year, groups, county)

    def run(expr: Any) -> pd.DataFrame:
        return fetch(con, expr)

    by_industry = run(compute.aggregate(base, ["county_code", "division"], groups))
    by_county = run(compute.aggregate(base, ["county_code"], groups))
    city = run(compute.aggregate(base, [], groups))
    power = run(compute.electricity(tables, year, ["county_code"], county))
    power_city = run(compute.electricity(tables, year, [], county))
    if int(city["enterprises"].iloc[0]) == 0:
        raise MonitorError(
            "monitor.no_data",
            f"{year} 年没有规上企业数据" + (f"（区县 {county}）" if county else ""),
            f"no above-scale enterprises in {year}" + (f" (county {county})" if county else ""),
            Location(field="year"),
            year,
        )
    snap = Snapshot.open(Path(snapshot_dir))
    return Report(
        year=year,
        county=county,
        parameter_version=params.version(),
        groups={k: dict(v) for k, v in groups.items()},
        snapshot={"path": str(snap.path), "created_at": snap.created_at},
        city=_records(city)[0],
        counties=_records(by_county.sort_values("county_code")),
        industries=_records(by_industry.sort_values(["county_code", "division"])),
        electricity=_records(power.sort_values(["county_code", "month"])),
        electricity_city=_records(power_city.sort_values("month")),
    )


def current_snapshot(engine: Engine, root: Path | None = None, fresh: bool = False) -> Snapshot:
    """The newest current snapshot of the store under ``root`` (default DATA_DIR/snapshots),
    or a new one when there is none (or ``fresh``)."""
    root = root or data_dir() / "snapshots"
    snap = None if fresh else latest_snapshot(root, engine)
    if snap is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        snap = build_snapshot(engine, Path(root) / f"monitor-{stamp}")
    return snap


def for_store(
    engine: Engine,
    year: int | None = None,
    county: str | None = None,
    root: Path | None = None,
    fresh: bool = False,
    compute_engine: str = "duckdb",
) -> Report:
    """The monitoring figures of ``year`` (default: the latest year with 规上 flags) on the
    store's current snapshot, with county names."""
    snap = current_snapshot(engine, root, fresh)
    if year is None:
        scales = pd.read_parquet(snap.table("scales"), columns=["year"])
        if scales.empty:
            raise MonitorError(
                "monitor.no_data",
                "仓库快照中没有规上/规下标志，无法监测",
                "the warehouse snapshot has no above-scale flags to monitor",
                Location(field="year"),
            )
        year = int(scales["year"].max())
    params = parameters.load()
    with Session(engine) as session:
        if county and session.get(Region, county) is None:
            raise MonitorError(
                "monitor.county",
                f"未知的区县代码 {county}",
                f"unknown county code {county}",
                Location(field="county"),
                county,
            )
        # a pure function of the snapshot and the parameters: computed once for both (each
        # request of the page or its export ran every figure's query again), a copy handed out
        rep = copy.deepcopy(
            scoped.cached(
                session,
                ("monitor.report", year, county, compute_engine),
                (str(snap.path), snap.created_at, params.version()),
                lambda: report(snap.path, year, compute_engine, county, params),
            )
        )
        # the names of the counties shown only (the table holds every region of China)
        codes = {r["county_code"] for r in rep.counties + rep.industries + rep.electricity}
        codes.discard(None)
        names = dict(
            session.execute(
                select(Region.code, Region.name).where(Region.code.in_(sorted(codes)))
            ).all()
        )
    rep.names = {
        c["county_code"]: names.get(c["county_code"], c["county_code"]) for c in rep.counties
    }
    for row in rep.counties + rep.industries + rep.electricity:
        row["county_name"] = names.get(row["county_code"], row["county_code"])
    return rep


def _pct(value: float | None, sign: str = "") -> str:
    return "—" if value is None else f"{value * 100:{sign}.1f}%"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def headline(rep: Report) -> list[str]:
    """The headline figures, one line each, in Chinese and English."""
    c = rep.city
    growth = _pct(c["va_growth"], "+")
    lines = [
        f"{rep.year} 年规上工业增加值 {_num(c['value_added'])} 万元，名义增长 {growth}"
        f"（{c['enterprises']} 家规上企业）/ above-scale value added {_num(c['value_added'])} "
        f"(10k CNY), nominal growth {growth}",
        f"工业总产值 output {_num(c['output_value'])} · 营业收入 revenue {_num(c['revenue'])} · "
        f"利润 profit {_num(c['profit'])} · 税金 tax {_num(c['tax'])}（万元 10k CNY）",
    ]
    shares = " · ".join(f"{g['zh']} {_pct(c.get('share_' + k))}" for k, g in rep.groups.items())
    lines.append(f"产业结构 shares of value added: {shares}")
    if rep.electricity_city:
        last = rep.electricity_city[-1]
        ytd = _pct(last["ytd_growth"], "+")
        lines.append(
            f"工业用电 1–{last['month']} 月累计 {_num(last['ytd'])} kWh，同比 {ytd} / "
            f"industrial electricity Jan–{last['month']} year to date, growth {ytd}"
        )
    rate = c.get("new_product_rate")
    lines.append(
        "新产品产值率 new-product output rate: "
        + ("未报送 not reported" if rate is None else _pct(rate))
    )
    return lines
