"""The carbon parameters resolved for each region and year, as small tables for the engines.

Parameters are resolved once per distinct county (a handful of rows), never per enterprise: the
evaluation joins the resulting tables on the enterprise's county. Values are checked here, so a
wrong regional file fails with the file and key named before any computation runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any

import pandas as pd

from industry_brain.core import parameters
from industry_brain.core.errors import Location
from industry_brain.core.parameters import ParameterError, Parameters, Resolved

METHODS = ("huzhou_2021",)
BELOW_METHOD = "proxy_below_size"
INDUSTRY_DIGITS = {"division": 2, "group": 3, "class": 4}
PEER_DIGITS = {"province": 2, "city": 4, "county": 6}
DENOMINATORS = ("revenue", "tax_paid")
ELECTRICITY_ITEMS = ("electricity", "fuel.electricity")
LEVELS = ("低碳", "中碳", "高碳")
LEVEL_EN = {"低碳": "low-carbon", "中碳": "mid-carbon", "高碳": "high-carbon"}

SCALAR_COLUMNS = {
    "county_key": "string",
    "peer_prefix": "string",
    "method": "string",
    "grid_factor": "float64",
    "electricity_first": "string",
    "electricity_second": "string",
    "onsite_pv_in_use": "boolean",
    "level_lo": "float64",
    "level_hi": "float64",
    "below_enabled": "boolean",
    "below_denominator": "string",
    "below_level_lo": "float64",
    "below_level_hi": "float64",
    "cut1": "float64",
    "cut2": "float64",
    "cut3": "float64",
    "cut4": "float64",
    "industry_digits": "int64",
    "label_format": "string",
}
FACTOR_COLUMNS = {
    "county_key": "string",
    "item": "string",
    "fuel_group": "string",
    "factor": "float64",
    "unit": "string",
}


def on_date(year: int) -> date:
    """Parameters for evaluation year Y are those in force on 1 January of Y."""
    return date(year, 1, 1)


def resolve_all(params: Parameters, region: str | None, year: int) -> dict[str, Resolved]:
    """Every ``carbon.*`` parameter in force for ``region`` in ``year`` (key → Resolved)."""
    return {r.key: r for r in params.domain("carbon", region, on_date(year))}


def _need(res: dict[str, Resolved], key: str, region: str | None, year: int) -> Any:
    if key not in res:
        raise ParameterError(
            "carbon.param_missing",
            f"参数“{key}”在 {year} 年（地区 {region or '默认'}）没有生效的取值",
            f"parameter '{key}' has no value in force in {year} (region {region or 'base'})",
            Location(field=key),
        )
    return res[key].value


def _bad(key: str, res: dict[str, Resolved], zh: str, en: str) -> ParameterError:
    r = res.get(key)
    return ParameterError(
        "carbon.param_invalid",
        f"参数“{key}”{zh}",
        f"parameter '{key}' {en}",
        Location(file=r.file if r else None, field=key),
        r.value if r else None,
    )


def _bands(key: str, value: Any, n: int, res: dict[str, Resolved]) -> list[float]:
    ok = (
        isinstance(value, list)
        and len(value) == n
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and all(a < b for a, b in pairwise(value))
    )
    if not ok:
        raise _bad(key, res, f"应为 {n} 个递增的数", f"must be {n} increasing numbers")
    return [float(v) for v in value]


@dataclass
class RegionRules:
    """The carbon rules of one region (county code, or None for the base) and year."""

    region: str | None
    year: int
    resolved: dict[str, Resolved]

    def value(self, key: str) -> Any:
        return _need(self.resolved, f"carbon.{key}", self.region, self.year)

    def scalars(self) -> dict[str, Any]:
        """One row of the rules table (validated)."""
        res = self.resolved
        method = self.value("method")
        if method not in METHODS:
            raise _bad(
                "carbon.method",
                res,
                f"取值“{method}”未实现（已实现：{'、'.join(METHODS)}）",
                f"value '{method}' is not implemented (implemented: {', '.join(METHODS)})",
            )
        order = self.value("electricity_sources")
        if (
            not isinstance(order, list)
            or not order
            or len(set(order)) != len(order)
            or any(i not in ELECTRICITY_ITEMS for i in order)
        ):
            raise _bad(
                "carbon.electricity_sources",
                res,
                f"应为 {ELECTRICITY_ITEMS} 中不重复的指标列表",
                f"must list distinct items among {ELECTRICITY_ITEMS}",
            )
        level = self.value("industry_level")
        if level not in INDUSTRY_DIGITS:
            raise _bad(
                "carbon.industry_level",
                res,
                f"应为 {list(INDUSTRY_DIGITS)} 之一",
                f"must be one of {list(INDUSTRY_DIGITS)}",
            )
        scope = self.value("peer_scope")
        if scope not in PEER_DIGITS:
            raise _bad(
                "carbon.peer_scope",
                res,
                f"应为 {list(PEER_DIGITS)} 之一",
                f"must be one of {list(PEER_DIGITS)}",
            )
        denominator = self.value("below.denominator")
        if denominator not in DENOMINATORS:
            raise _bad(
                "carbon.below.denominator",
                res,
                f"应为 {DENOMINATORS} 之一",
                f"must be one of {DENOMINATORS}",
            )
        below_bands = self.value("below.level_bands")
        if not isinstance(below_bands, dict) or denominator not in below_bands:
            raise _bad(
                "carbon.below.level_bands",
                res,
                f"缺少分母“{denominator}”的分档",
                f"has no bands for denominator '{denominator}'",
            )
        lo, hi = _bands("carbon.level_bands", self.value("level_bands"), 2, res)
        blo, bhi = _bands("carbon.below.level_bands", below_bands[denominator], 2, res)
        cuts = _bands("carbon.grade_cuts", self.value("grade_cuts"), 4, res)
        grid = self.value("grid_factor")
        region = self.region or ""
        return {
            "county_key": region,
            "peer_prefix": region[: PEER_DIGITS[scope]],
            "method": method,
            "grid_factor": float(grid),
            "electricity_first": order[0],
            "electricity_second": order[1] if len(order) > 1 else "",
            "onsite_pv_in_use": bool(self.value("onsite_pv_in_use")),
            "level_lo": lo,
            "level_hi": hi,
            "below_enabled": bool(self.value("below.enabled")),
            "below_denominator": denominator,
            "below_level_lo": blo,
            "below_level_hi": bhi,
            "cut1": cuts[0],
            "cut2": cuts[1],
            "cut3": cuts[2],
            "cut4": cuts[3],
            "industry_digits": INDUSTRY_DIGITS[level],
            "label_format": str(self.value("label_format")),
        }

    def factors(self) -> list[dict[str, Any]]:
        """Fuel and heat emission factors as rows (item, group, factor, unit)."""
        groups = self.value("fuel_groups") or {}
        rows = []
        for key, r in self.resolved.items():
            if not key.startswith("carbon.emission_factors."):
                continue
            name = key.rsplit(".", 1)[1]
            rows.append(
                {
                    "county_key": self.region or "",
                    "item": f"fuel.{name}",
                    "fuel_group": groups.get(name, "other"),
                    "factor": float(r.value),
                    "unit": r.unit or "",
                }
            )
        heat = self.resolved["carbon.heat_factor"]
        rows.append(
            {
                "county_key": self.region or "",
                "item": "fuel.heat",
                "fuel_group": "heat",
                "factor": float(heat.value),
                "unit": heat.unit or "",
            }
        )
        return rows


@dataclass
class Rules:
    """Rules for every county of a run, plus the run-wide settings."""

    year: int
    version: str
    by_region: dict[str, RegionRules]
    decimals: int

    def scalars_frame(self) -> pd.DataFrame:
        rows = [r.scalars() for r in self.by_region.values()]
        return pd.DataFrame(rows, columns=list(SCALAR_COLUMNS)).astype(SCALAR_COLUMNS)

    def factors_frame(self) -> pd.DataFrame:
        rows = [row for r in self.by_region.values() for row in r.factors()]
        return pd.DataFrame(rows, columns=list(FACTOR_COLUMNS)).astype(FACTOR_COLUMNS)

    def for_region(self, county: str | None) -> RegionRules:
        return self.by_region[county or ""]


def load_rules(year: int, counties: list[str | None], params: Parameters | None = None) -> Rules:
    """Resolve the carbon rules for each county (None = enterprises without a county)."""
    params = params or parameters.load()
    by_region: dict[str, RegionRules] = {}
    for county in sorted({c or "" for c in counties} | {""}):
        rr = RegionRules(county or None, year, resolve_all(params, county or None, year))
        rr.scalars()  # validate early, naming the file and key
        by_region[county] = rr
    decimals = {int(r.value("rounding_decimals")) for r in by_region.values()}
    if len(decimals) != 1:
        raise ParameterError(
            "carbon.param_invalid",
            "参数“carbon.rounding_decimals”在同一次核算的各地区必须一致",
            "parameter 'carbon.rounding_decimals' must be the same for all regions of a run",
            Location(field="carbon.rounding_decimals"),
        )
    return Rules(year, params.version("carbon"), by_region, decimals.pop())
