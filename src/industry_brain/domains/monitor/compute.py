"""工业运行监测 as Ibis expressions over the warehouse tables (the same on DuckDB and PySpark).

Figures of data year ``Y`` for the 规上 (above-scale) enterprises of ``Y``, by county and
industry (GB/T 4754 division), by county and for the whole city:

- 规上工业增加值, 工业总产值, 营业收入, 利润总额, 税金 (``tax_paid``): sums, 万元
- 增加值增速 (nominal, current prices, 名义增速): same-sample growth
  ``Σ VA_Y / Σ VA_{Y−1} − 1`` over the enterprises above scale in ``Y`` that reported value
  added in both years (the statistics bureau publishes real growth at comparable prices, which
  needs a price index we do not hold)
- shares of the configured industry groups (``monitor.groups``: 装备制造业, 高新技术产业,
  战略性新兴产业) in 规上工业增加值: ``Σ VA of the group's enterprises / Σ VA``
- 新产品产值率 (when reported): ``Σ 新产品产值 / Σ 工业总产值`` over the enterprises that reported
  新产品产值 (store item ``new_product_output``); empty when nobody reported it

Electricity (the leading indicator, 先行指标), every enterprise with a power account, by county
and month of ``Y``: kWh of the month and of the same month of ``Y−1`` with the month's growth,
and year-to-date sums over the months reported in ``Y`` with the year-to-date growth.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir

#: Figure column → store item.
ITEMS: dict[str, str] = {
    "value_added": "value_added",
    "output_value": "output_value",
    "revenue": "revenue",
    "profit": "profit",
    "tax": "tax_paid",
    "new_product_output": "new_product_output",
}
FIGURES = ("value_added", "output_value", "revenue", "profit", "tax")


def _null() -> ir.FloatingValue:
    return ibis.null().cast("float64")


def firms(
    tables: Mapping[str, ir.Table],
    year: int,
    groups: Mapping[str, Mapping[str, Any]],
    county: str | None = None,
) -> ir.Table:
    """One row per 规上 enterprise of ``year``: county, division, figures of ``year``, value
    added of ``year − 1`` and one flag per industry group."""
    ent = tables["enterprises"]
    if county:
        ent = ent.filter(ent.county_code == county)
    sc = tables["scales"]
    above = sc.filter((sc.year == year) & sc.above_scale).select(eid_s=sc.enterprise_id)
    f = tables["facts"]
    f = f.filter(f.year.isin([year - 1, year]) & f.item.isin(list(ITEMS.values())))
    sums: dict[str, Any] = {
        col: f.value.sum(where=(f.item == item) & (f.year == year)) for col, item in ITEMS.items()
    }
    sums["value_added_prev"] = f.value.sum(where=(f.item == "value_added") & (f.year == year - 1))
    wide = f.group_by(eid_f=f.enterprise_id).aggregate(**sums)
    b = ent.join(above, ent.enterprise_id == above.eid_s)
    b = b.left_join(wide, b.enterprise_id == wide.eid_f)
    flags = {}
    for name, spec in groups.items():
        hit: ir.BooleanValue = ibis.literal(False)
        for code in spec["codes"]:
            hit = hit | b.industry_code.startswith(str(code))
        flags[f"in_{name}"] = hit.fill_null(False)
    return b.select(
        "enterprise_id",
        county_code=b.county_code.cast("string"),
        division=b.division.cast("string"),
        **{c: b[c].cast("float64") for c in [*ITEMS, "value_added_prev"]},
        **flags,
    )


def aggregate(base: ir.Table, keys: list[str], groups: Mapping[str, Any]) -> ir.Table:
    """The figures of :func:`firms` summed per ``keys`` (``[]``: the whole population), with
    the nominal growth of value added, the groups' shares and 新产品产值率."""
    same = base.value_added.notnull() & base.value_added_prev.notnull()
    reported = base.new_product_output.notnull()
    metrics: dict[str, Any] = {
        "enterprises": base.enterprise_id.count(),
        **{c: base[c].sum() for c in FIGURES},
        "va_same": base.value_added.sum(where=same),
        "va_prev_same": base.value_added_prev.sum(where=same),
        "new_product_output": base.new_product_output.sum(),
        "output_of_reporters": base.output_value.sum(where=reported),
        **{f"va_{g}": base.value_added.sum(where=base[f"in_{g}"]) for g in groups},
    }
    agg = base.group_by(keys).aggregate(**metrics) if keys else base.aggregate(**metrics)
    share = {
        f"share_{g}": ibis.ifelse(
            agg.value_added > 0, agg[f"va_{g}"].fill_null(0.0) / agg.value_added, _null()
        )
        for g in groups
    }
    return agg.mutate(
        va_growth=ibis.ifelse(agg.va_prev_same > 0, agg.va_same / agg.va_prev_same - 1, _null()),
        new_product_rate=ibis.ifelse(
            agg.output_of_reporters > 0, agg.new_product_output / agg.output_of_reporters, _null()
        ),
        **share,
    )


def electricity(
    tables: Mapping[str, ir.Table], year: int, keys: list[str], county: str | None = None
) -> ir.Table:
    """kWh per ``keys`` and month of ``year`` with the same month of ``year − 1``, the month's
    growth, and year-to-date sums and growth over the months reported in ``year``."""
    ent = tables["enterprises"]
    if county:
        ent = ent.filter(ent.county_code == county)
    em = tables["electricity_monthly"]
    em = em.filter(em.year.isin([year - 1, year]))
    who = ent.select(eid=ent.enterprise_id, county_code=ent.county_code.cast("string"))
    e = em.join(who, em.enterprise_id == who.eid)
    by = [*keys, "month"]
    m = e.group_by([e[k] for k in keys] + [e.month.cast("int64").name("month")]).aggregate(
        kwh=e.value.sum(where=e.year == year),
        kwh_prev=e.value.sum(where=e.year == year - 1),
    )
    m = m.filter(m.kwh.notnull())
    w = ibis.window(group_by=[m[k] for k in keys] or None, order_by=m.month, rows=(None, 0))
    m = m.mutate(ytd=m.kwh.sum().over(w), ytd_prev=m.kwh_prev.fill_null(0.0).sum().over(w))
    return m.mutate(
        growth=ibis.ifelse(m.kwh_prev > 0, m.kwh / m.kwh_prev - 1, _null()),
        ytd_growth=ibis.ifelse(m.ytd_prev > 0, m.ytd / m.ytd_prev - 1, _null()),
    ).order_by(by)
