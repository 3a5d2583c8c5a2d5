"""差别化政策 (differentiated measures): per class, the configured consequences computed per
enterprise with the money involved.

Levers (parameters ``mujun.measures.*`` per county, in force in the application year = data
year + ``apply_year_offset``):

- ``land_use_tax_relief`` (城镇土地使用税减免): share by class × the 城镇土地使用税 the firm paid
  in the data year (tax bureau's tax-type detail) → relief in 万元
- ``electricity_surcharge`` (差别化电价): 元/kWh by class × the data year's consumption
  → surcharge in 万元 (an estimate at the data year's consumption)
- ``energy_quota_priority`` / ``emission_quota_priority`` (用能、排污权指标保障次序): a label
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.domains.mujun import service
from industry_brain.domains.mujun.lists import county_names
from industry_brain.domains.mujun.rules import parameter_date

#: lever → (kind, zh, en, unit of the rate, base column, base unit)
LEVERS: dict[str, tuple[str, str, str, str, str | None, str | None]] = {
    "land_use_tax_relief": (
        "relief",
        "城镇土地使用税减免",
        "land-use tax relief",
        "ratio",
        "land_use_tax",
        "万元",
    ),
    "electricity_surcharge": (
        "surcharge",
        "差别化电价加价",
        "electricity surcharge",
        "元/kWh",
        "electricity_kwh",
        "kWh",
    ),
    "energy_quota_priority": (
        "priority",
        "用能指标保障",
        "energy quota priority",
        "",
        None,
        None,
    ),
    "emission_quota_priority": (
        "priority",
        "排污权指标保障",
        "discharge quota priority",
        "",
        None,
        None,
    ),
}
MEASURE_COLUMNS = (
    "county_code",
    "county_name",
    "uscc",
    "name",
    "scope",
    "class_code",
    "lever",
    "lever_zh",
    "kind",
    "rate",
    "rate_unit",
    "label",
    "base",
    "base_unit",
    "money",
    "apply_year",
)


def _rates(counties: list[str], on: date) -> pd.DataFrame:
    """(county, lever, class) → rate or label, for every lever in force on ``on``."""
    params = parameters.load()
    rows = []
    for county in counties:
        for lever in LEVERS:
            try:
                table = params.get(f"mujun.measures.{lever}", region=county or None, on=on)
            except parameters.ParameterError as exc:
                if exc.code == "param.not_in_force":
                    continue
                raise
            for cls, value in table.items():
                rows.append({"county_code": county, "lever": lever, "class_code": cls, "v": value})
    return pd.DataFrame(rows, columns=["county_code", "lever", "class_code", "v"])


def compute(session: Session, year: int, county: str | None = None) -> pd.DataFrame:
    """One row per enterprise × applicable lever of ``year``'s published result."""
    run = service.published_run(session, year)
    assert run is not None
    res = service.results_frame(session, run.id)
    res["county_code"] = res["county_code"].fillna("")
    if county:
        res = res[res["county_code"] == county]
    counties = sorted(res["county_code"].unique())
    offset = int(parameters.load().get("mujun.measures.apply_year_offset", on=parameter_date(year)))
    apply_year = year + offset
    rates = _rates(counties, parameter_date(apply_year))
    merged = res.merge(rates, on=["county_code", "class_code"], how="inner")
    if merged.empty:
        return pd.DataFrame(columns=list(MEASURE_COLUMNS))
    meta = pd.DataFrame(
        [
            {
                "lever": k,
                "kind": v[0],
                "lever_zh": v[1],
                "rate_unit": v[3],
                "base_col": v[4],
                "base_unit": v[5],
            }
            for k, v in LEVERS.items()
        ]
    )
    merged = merged.merge(meta, on="lever", how="left")
    numeric = merged["kind"] != "priority"
    merged["rate"] = pd.to_numeric(merged["v"].where(numeric), errors="coerce")
    merged["label"] = merged["v"].where(~numeric).astype(object)
    base = np.full(len(merged), np.nan)
    for col in ("land_use_tax", "electricity_kwh"):
        at = (merged["base_col"] == col).to_numpy()
        base[at] = merged.loc[at, col].to_numpy(dtype=float)
    merged["base"] = base
    money = np.full(len(merged), np.nan)
    relief = (merged["lever"] == "land_use_tax_relief").to_numpy()
    money[relief] = merged["rate"].to_numpy(dtype=float)[relief] * np.nan_to_num(base[relief])
    surcharge = (merged["lever"] == "electricity_surcharge").to_numpy()
    # 元/kWh × kWh = 元 → 万元
    money[surcharge] = (
        merged["rate"].to_numpy(dtype=float)[surcharge] * np.nan_to_num(base[surcharge]) / 10000.0
    )
    merged["money"] = money
    merged["apply_year"] = apply_year
    merged["county_name"] = merged["county_code"].map(
        county_names(session, merged["county_code"].unique())
    )
    order = list(LEVERS)
    merged["lever_order"] = merged["lever"].map({k: i for i, k in enumerate(order)})
    merged = merged.sort_values(["county_code", "lever_order", "class_code", "uscc"])
    return merged[list(MEASURE_COLUMNS)].reset_index(drop=True)


def totals(frame: pd.DataFrame) -> dict[str, Any]:
    """Money and firms per county and lever (relief to firms, surcharge paid by firms)."""
    money = frame[frame["kind"] != "priority"]
    out: dict[str, Any] = {"by_county": {}, "total": {}}
    for (county, lever), g in money.groupby(["county_name", "lever"]):
        out["by_county"].setdefault(str(county), {})[str(lever)] = {
            "enterprises": len(g),
            "money_wan_yuan": round(float(g["money"].sum()), 4),
        }
    for lever, g in money.groupby("lever"):
        out["total"][str(lever)] = {
            "enterprises": len(g),
            "money_wan_yuan": round(float(g["money"].sum()), 4),
        }
    prio = frame[frame["kind"] == "priority"]
    out["priority"] = {
        str(lever): {str(k): int(v) for k, v in g["label"].value_counts().items()}
        for lever, g in prio.groupby("lever")
    }
    return out


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict("records")
