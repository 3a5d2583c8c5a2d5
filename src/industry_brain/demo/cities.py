"""Demo cities anywhere: the counties and towns of a real city from the shipped reference tables.

``city_for("330100")`` gives Hangzhou with its 13 county-level units in use and their towns and
streets (统计用区划代码); county shares are proportional to the number of towns (a proxy of size,
DEFAULT), enterprise counts come from the ``demo.city`` parameters of the region (Hangzhou's
are the seeds' figures). Huzhou (330500), the default, keeps its curated shares, towns and parks.
"""

from __future__ import annotations

import re
from functools import cache

from industry_brain.core import parameters
from industry_brain.core.errors import Location, ValidationError
from industry_brain.demo.constants import CITY_CODE, DEMO_TODAY, County, DemoCity, city
from industry_brain.store import reference
from industry_brain.store.codes import (
    CITY_SUFFIXES,
    COUNTY_SUFFIXES,
    PROVINCE_SUFFIXES,
    TOWN_SUFFIXES,
    short_name,
)


@cache
def _tables() -> tuple[dict[str, dict[str, str]], dict[str, list[dict[str, str]]]]:
    """Units in use by code (GB/T 2260 at 2024 and statistics-only units) and towns by county."""
    history = reference.parse_history(
        reference.read_csv_rows(
            reference.packaged_bytes("gbt2260_history_1981_2024.csv"), "history.csv"
        ),
        "gbt2260_history_1981_2024.csv",
    )
    units = {
        r["code"]: {"code": r["code"], "name": r["name"], "level": r["level"]}
        for r in history
        if r["valid_to"] is None
    }
    towns: dict[str, list[dict[str, str]]] = {}
    nbs = reference.read_csv_rows(
        reference.packaged_bytes("nbs_statistical_divisions_towns.csv.gz"), "towns.csv.gz"
    )
    for r in nbs:
        if r["level"] == "town":
            towns.setdefault(r["parent"], []).append(r)
        elif r["level"] == "county" and r["code"] not in units:
            units[r["code"]] = {"code": r["code"], "name": r["name"], "level": "county"}
    return units, towns


def _bad_region(region: str, zh: str, en: str) -> ValidationError:
    return ValidationError("demo.region", zh, en, Location(field="--region", value=region))


def city_for(region: str | None) -> DemoCity:
    """The demo city of a prefecture-level ``region`` code (default Huzhou 330500)."""
    if not region or region == CITY_CODE:
        return city() if city().code == CITY_CODE else _huzhou()
    if not re.fullmatch(r"\d{4}00", region) or region.endswith("0000"):
        raise _bad_region(
            region,
            f"演示城市应为地级市代码（如 330100 杭州市），而不是“{region}”",
            f"the demo region must be a prefecture-level code (e.g. 330100), not '{region}'",
        )
    units, towns = _tables()
    unit = units.get(region)
    if unit is None or unit["level"] != "city":
        raise _bad_region(
            region,
            f"{region} 不是在用的地级行政区划代码",
            f"{region} is not a prefecture-level division code in use",
        )
    province = units[region[:2] + "0000"]["name"]
    counties = []
    for code in sorted(
        c for c, u in units.items() if u["level"] == "county" and c[:4] == region[:4]
    ):
        name = units[code]["name"]
        mine = sorted(towns.get(code, []), key=lambda r: r["code"])
        pairs = tuple((short_name(t["name"], TOWN_SUFFIXES), t["name"]) for t in mine) or (
            (short_name(name, COUNTY_SUFFIXES), ""),
        )
        counties.append(
            County(code, name, short_name(name, COUNTY_SUFFIXES), float(len(pairs)), pairs)
        )
    if not counties:
        raise _bad_region(region, f"{region} 没有区县", f"{region} has no counties")
    short = short_name(unit["name"], CITY_SUFFIXES)
    params = parameters.load()
    return DemoCity(
        code=region,
        name=unit["name"],
        short=short,
        province=province,
        province_short=short_name(province, PROVINCE_SUFFIXES),
        counties=tuple(counties),
        park_lessors={
            c.code: (
                f"{short}{c.short}经济开发区建设发展有限公司",
                f"{short}{c.short}小微企业园管理有限公司",
            )
            for c in counties
        },
        above=int(params.get("demo.city.above", region, DEMO_TODAY)),
        below=int(params.get("demo.city.below", region, DEMO_TODAY)),
    )


def _huzhou() -> DemoCity:
    from industry_brain.demo.constants import _huzhou as make

    return make()
