"""改进清单: for poorly graded firms (``carbon.assist_grades``, default 4–5), the energy
structure (share of E_energy by carrier), the gap to the industry average and to the best
quartile (25th percentile of L among its peers), and the CO2 reduction if it reached them.

Reduction to the average = CO2 net − industry L × denominator (t), i.e. (L − L̄) × VA.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.domains.carbon.models import CarbonResult
from industry_brain.domains.carbon.rules import on_date
from industry_brain.domains.carbon.service import latest_data_year, latest_run
from industry_brain.store.models import Enterprise, Region

CARRIERS = ("coal", "oil", "gas", "other_fuel", "heat", "electricity")
CARRIER_ZH = {
    "coal": "煤",
    "oil": "油",
    "gas": "气",
    "other_fuel": "其他燃料",
    "heat": "外购热力",
    "electricity": "电力",
}


def structure(frame: pd.DataFrame) -> pd.DataFrame:
    """Shares of E_energy by carrier (columns ``share_<carrier>``), vectorised."""
    total = frame["e_energy"].where(frame["e_energy"] > 0)
    return pd.DataFrame(
        {f"share_{c}": (frame[f"co2_{c}"] / total).round(4) for c in CARRIERS},
        index=frame.index,
    )


def improvement_list(
    session: Session,
    year: int | None = None,
    county: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Firms of the assist grades in the latest run of ``year``, largest reduction first."""
    year = year or latest_data_year(session)
    run = latest_run(session, year)
    if run is None:
        return {"year": year, "run_id": None, "rows": [], "assist_grades": {}}
    table = CarbonResult.__table__
    stmt = (
        select(*table.columns, Enterprise.uscc, Enterprise.name, Region.name.label("county_name"))
        .join(Enterprise, Enterprise.id == CarbonResult.enterprise_id)
        .outerjoin(Region, Region.code == CarbonResult.county_code)
        .where(CarbonResult.run_id == run.id, CarbonResult.status == "graded")
    )
    if county:
        stmt = stmt.where(CarbonResult.county_code == county)
    result = session.execute(stmt)
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    params = parameters.load()
    assist = {
        c: [int(g) for g in params.get("carbon.assist_grades", c or None, on_date(year))]
        for c in frame["county_code"].fillna("").unique()
    }
    allowed = pd.DataFrame(
        [(c, g) for c, gs in assist.items() for g in gs], columns=["county_key", "grade"]
    )
    frame = frame.assign(county_key=frame["county_code"].fillna(""))
    frame = frame.merge(allowed, on=["county_key", "grade"], how="inner")
    frame = frame.assign(
        gap_to_average=(frame["intensity"] - frame["industry_intensity"]).round(4),
        gap_to_q25=(frame["intensity"] - frame["industry_q25"]).round(4),
        reduction_share=(frame["reduction_to_average"] / frame["co2_net"]).round(4),
    )
    frame = pd.concat([frame, structure(frame)], axis=1)
    frame = frame.sort_values(["reduction_to_average", "uscc"], ascending=[False, True])
    if limit:
        frame = frame.head(limit)
    keep = [
        "uscc",
        "name",
        "county_code",
        "county_name",
        "industry_key",
        "method",
        "grade",
        "label",
        "intensity",
        "industry_intensity",
        "industry_q25",
        "k_value",
        "gap_to_average",
        "gap_to_q25",
        "co2_net",
        "reduction_to_average",
        "reduction_to_q25",
        "reduction_share",
        *[f"share_{c}" for c in CARRIERS],
    ]
    out = frame[keep].astype(object).where(frame[keep].notna(), None)
    return {
        "year": year,
        "run_id": run.id,
        "assist_grades": {k or "base": v for k, v in assist.items()},
        "rows": out.to_dict("records"),
    }


def for_result(res: CarbonResult) -> dict[str, Any]:
    """The improvement block of one result (energy structure, gaps, reductions)."""
    row = pd.DataFrame(
        [{c: getattr(res, c) for c in ("e_energy", *(f"co2_{k}" for k in CARRIERS))}]
    )
    shares = structure(row).iloc[0].to_dict()
    return {
        "structure": [
            {
                "carrier": c,
                "zh": CARRIER_ZH[c],
                "co2": getattr(res, f"co2_{c}"),
                "share": shares[f"share_{c}"],
            }
            for c in CARRIERS
        ],
        "industry_intensity": res.industry_intensity,
        "industry_q25": res.industry_q25,
        "gap_to_average": None
        if res.intensity is None or res.industry_intensity is None
        else round(res.intensity - res.industry_intensity, 4),
        "gap_to_q25": None
        if res.intensity is None or res.industry_q25 is None
        else round(res.intensity - res.industry_q25, 4),
        "reduction_to_average": res.reduction_to_average,
        "reduction_to_q25": res.reduction_to_q25,
    }
