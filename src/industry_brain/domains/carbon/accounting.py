"""碳排放核算与碳效评价 as Ibis expressions (DuckDB and PySpark give the same result).

For the evaluation year Y and every enterprise in the 规上/规下 directory of Y:

- fuel CO2 = Σ fuel quantity × emission factor (``carbon.emission_factors.*``), heat CO2 =
  purchased heat (GJ) × ``carbon.heat_factor``;
- electricity CO2 = (purchased kWh [+ own PV kWh when ``onsite_pv_in_use``]) × grid factor / 1000;
- E_energy = fuel + heat + electricity CO2; E_zero = (green power + own PV) kWh × grid factor
  / 1000; sinks in tCO2; CO2 net (碳排量) = E_energy − E_zero − sinks;
- 规上 (``huzhou_2021``): L = CO2 net / value added (t/万元); 规下 (``proxy_below_size``,
  a documented default): L' = CO2 net / revenue or tax (``carbon.below.denominator``);
- industry average = Σ CO2 net / Σ denominator over the graded firms of the same method,
  GB/T 4754 industry (``carbon.industry_level``) and region (``carbon.peer_scope``);
  K = L / industry average;
- L and K are rounded to ``carbon.rounding_decimals``; level 低碳/中碳/高碳 from the bands on L,
  grade 1–5 from the cut-offs on K (upper bounds inclusive);
- 碳中和率 = clip((E_zero + sinks) / E_energy, 0, 1); reductions if the firm reached the
  industry average or the best quartile (25th percentile of L among its peers).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from industry_brain.domains.carbon.rules import BELOW_METHOD, Rules
from industry_brain.warehouse.engines import fetch

ADJUSTMENT_KINDS = {"green_power": "kWh", "onsite_pv": "kWh", "sink": "tCO2"}
ADJUSTMENT_SCHEMA = {
    "enterprise_id": "int64",
    "green_power_kwh": "float64",
    "onsite_pv_kwh": "float64",
    "sink_t": "float64",
}
RESULT_COLUMNS = (
    "enterprise_id",
    "year",
    "method",
    "above_scale",
    "county_code",
    "industry_key",
    "peer_region",
    "co2_coal",
    "co2_oil",
    "co2_gas",
    "co2_other_fuel",
    "heat_gj",
    "co2_heat",
    "electricity_item",
    "electricity_kwh",
    "onsite_pv_kwh",
    "green_power_kwh",
    "grid_factor",
    "co2_electricity",
    "e_energy",
    "e_zero_carbon",
    "e_sinks",
    "co2_net",
    "denominator_item",
    "denominator",
    "intensity",
    "industry_intensity",
    "industry_peers",
    "industry_q25",
    "k_value",
    "level",
    "grade",
    "label",
    "neutral_rate",
    "reduction_to_average",
    "reduction_to_q25",
    "status",
)
LINE_COLUMNS = ("enterprise_id", "item", "fuel_group", "quantity", "unit", "factor", "co2")


def _zero(x: ir.NumericValue) -> ir.NumericValue:
    return x.fill_null(0.0)


def emission_lines(facts: ir.Table, base: ir.Table, factors: ir.Table, year: int) -> ir.Table:
    """Fuel and heat lines: enterprise × item with quantity, factor and CO2 = quantity × factor."""
    f = facts.filter(facts.year == year)
    keyed = base.select("enterprise_id", "county_key")
    lines = f.join(keyed, "enterprise_id").join(factors, ["county_key", "item"])
    return lines.select(
        "enterprise_id",
        "item",
        "fuel_group",
        quantity=lines.value,
        unit=lines.unit,
        factor=lines.factor,
        co2=lines.value * lines.factor,
    )


def _population(enterprises: ir.Table, scales: ir.Table, scalars: ir.Table, year: int) -> ir.Table:
    s = scales.filter(scales.year == year).select("enterprise_id", "above_scale")
    e = enterprises.select(
        "enterprise_id",
        "county_code",
        "industry_code",
        county_key=enterprises.county_code.fill_null(""),
    )
    base = s.join(e, "enterprise_id").join(scalars, "county_key")
    return base.filter(base.above_scale | base.below_enabled)


def evaluate(
    enterprises: ir.Table,
    scales: ir.Table,
    facts: ir.Table,
    scalars: ir.Table,
    factors: ir.Table,
    adjustments: ir.Table,
    year: int,
    decimals: int,
) -> tuple[ir.Table, ir.Table]:
    """(results, lines) for ``year``: one result row per enterprise of the directory."""
    base = _population(enterprises, scales, scalars, year)
    f = facts.filter(facts.year == year)
    piv = f.group_by("enterprise_id").aggregate(
        value_added=f.value.sum(where=f.item == "value_added"),
        revenue=f.value.sum(where=f.item == "revenue"),
        tax_paid=f.value.sum(where=f.item == "tax_paid"),
        elec_grid=f.value.sum(where=f.item == "electricity"),
        elec_stats=f.value.sum(where=f.item == "fuel.electricity"),
    )
    lines = emission_lines(facts, base, factors, year)
    g = lines.fuel_group
    fuel = lines.group_by("enterprise_id").aggregate(
        co2_coal=lines.co2.sum(where=g == "coal"),
        co2_oil=lines.co2.sum(where=g == "oil"),
        co2_gas=lines.co2.sum(where=g == "gas"),
        co2_other_fuel=lines.co2.sum(where=~g.isin(["coal", "oil", "gas", "heat"])),
        heat_gj=lines.quantity.sum(where=g == "heat"),
        co2_heat=lines.co2.sum(where=g == "heat"),
        n_lines=lines.count(),
    )
    t = base.left_join(piv, "enterprise_id").drop("enterprise_id_right")
    t = t.left_join(fuel, "enterprise_id").drop("enterprise_id_right")
    t = t.left_join(adjustments, "enterprise_id").drop("enterprise_id_right")

    def metered(item: ir.StringValue) -> ir.FloatingValue:
        return ibis.cases(
            (item == "electricity", t.elec_grid),
            (item == "fuel.electricity", t.elec_stats),
            else_=ibis.null("float64"),
        )

    first, second = metered(t.electricity_first), metered(t.electricity_second)
    kwh = ibis.coalesce(first, second)
    item_used = ibis.cases(
        (first.notnull(), t.electricity_first),
        (second.notnull(), t.electricity_second),
        else_=ibis.null("string"),
    )
    pv = _zero(t.onsite_pv_kwh)
    green = _zero(t.green_power_kwh)
    sink = _zero(t.sink_t)
    use_kwh = _zero(kwh) + ibis.cases((t.onsite_pv_in_use, pv), else_=0.0)
    co2_elec = use_kwh * t.grid_factor / 1000.0
    has_energy = kwh.notnull() | (_zero(t.n_lines) > 0) | (pv > 0)
    fuels = _zero(t.co2_coal) + _zero(t.co2_oil) + _zero(t.co2_gas) + _zero(t.co2_other_fuel)
    e_energy = ibis.cases((has_energy, fuels + _zero(t.co2_heat) + co2_elec), else_=ibis.null())
    e_zero = (pv + green) * t.grid_factor / 1000.0
    below_denom = ibis.cases((t.below_denominator == "revenue", t.revenue), else_=t.tax_paid)
    denom = ibis.cases((t.above_scale, t.value_added), else_=below_denom)
    industry_key = ibis.cases(
        (t.industry_digits == 2, t.industry_code.substr(0, 2)),
        (t.industry_digits == 3, t.industry_code.substr(0, 3)),
        else_=t.industry_code.substr(0, 4),
    )
    no_denominator = ibis.cases((t.above_scale, "VA_NONPOSITIVE"), else_="BASE_NONPOSITIVE")
    status = ibis.cases(
        (denom.isnull() | (denom <= 0), no_denominator),
        (~has_energy, "NO_ENERGY_DATA"),
        (t.industry_code.isnull(), "NO_INDUSTRY"),
        else_="eligible",
    )
    t = t.mutate(
        method=ibis.cases((t.above_scale, t.method), else_=BELOW_METHOD),
        industry_key=industry_key,
        peer_region=t.peer_prefix,
        electricity_item=item_used,
        electricity_kwh=kwh,
        onsite_pv_kwh=pv,
        green_power_kwh=green,
        co2_coal=_zero(t.co2_coal),
        co2_oil=_zero(t.co2_oil),
        co2_gas=_zero(t.co2_gas),
        co2_other_fuel=_zero(t.co2_other_fuel),
        co2_heat=_zero(t.co2_heat),
        co2_electricity=co2_elec,
        e_energy=e_energy,
        e_zero_carbon=e_zero,
        e_sinks=sink,
        co2_net=e_energy - e_zero - sink,
        denominator_item=ibis.cases((t.above_scale, "value_added"), else_=t.below_denominator),
        denominator=denom,
        status=status,
    )
    t = t.mutate(raw_l=ibis.cases((t.status == "eligible", t.co2_net / t.denominator)))
    # Industry aggregates as window functions over the peer group (no self-join: Spark would
    # recompute the whole input pipeline for the joined side).
    peer = ibis.window(group_by=[t.method, t.peer_region, t.industry_key])
    eligible = t.status == "eligible"
    t = t.mutate(
        ind_co2=ibis.cases((eligible, t.co2_net)).sum().over(peer),
        ind_base=ibis.cases((eligible, t.denominator)).sum().over(peer),
        industry_peers=ibis.cases((eligible, 1), else_=0).sum().over(peer),
        industry_q25=t.raw_l.quantile(0.25).over(peer),
    )
    ind_l = ibis.cases(
        (t.ind_base > 0, t.ind_co2 / t.ind_base),
        else_=ibis.null("float64"),
    )
    status = ibis.cases(
        ((t.status == "eligible") & (ind_l.isnull() | (ind_l <= 0)), "INDUSTRY_AVG_NONPOSITIVE"),
        (t.status == "eligible", "graded"),
        else_=t.status,
    )
    t = t.mutate(industry_intensity=ind_l, status=status)
    graded = t.status == "graded"
    raw_k = t.raw_l / t.industry_intensity
    t = t.mutate(
        intensity=t.raw_l.round(decimals), k_value=ibis.cases((graded, raw_k.round(decimals)))
    )
    lo = ibis.cases((t.above_scale, t.level_lo), else_=t.below_level_lo)
    hi = ibis.cases((t.above_scale, t.level_hi), else_=t.below_level_hi)
    level = ibis.cases(
        (~graded, ibis.null("string")),
        (t.intensity <= lo, "低碳"),
        (t.intensity <= hi, "中碳"),
        else_="高碳",
    )
    k = t.k_value
    grade = ibis.cases(
        (~graded, ibis.null("int64")),
        (k <= t.cut1, 1),
        (k <= t.cut2, 2),
        (k <= t.cut3, 3),
        (k <= t.cut4, 4),
        else_=5,
    )
    t = t.mutate(level=level, grade=grade)
    label = t.label_format.replace("{level}", t.level).replace("{grade}", t.grade.cast("string"))
    neutral = ibis.cases(
        (graded & (t.e_energy > 0), (t.e_zero_carbon + t.e_sinks) / t.e_energy),
    )
    neutral = ibis.cases((neutral > 1.0, 1.0), (neutral < 0.0, 0.0), else_=neutral)
    to_avg = t.co2_net - t.industry_intensity * t.denominator
    to_q25 = t.co2_net - t.industry_q25 * t.denominator
    t = t.mutate(
        year=ibis.literal(year, "int64"),
        label=ibis.cases((graded, label)),
        neutral_rate=neutral,
        reduction_to_average=ibis.cases((graded, ibis.greatest(to_avg, 0.0))),
        reduction_to_q25=ibis.cases((graded, ibis.greatest(to_q25, 0.0))),
        industry_peers=t.industry_peers.cast("int64"),
    )
    return t.select(*RESULT_COLUMNS), lines.select(*LINE_COLUMNS)


def adjustments_frame(rows: list[tuple[int, str, float]]) -> pd.DataFrame:
    """(enterprise_id, kind, value) rows → one row per enterprise with the three inputs."""
    df = pd.DataFrame(rows, columns=["enterprise_id", "kind", "value"])
    wide = df.pivot_table(index="enterprise_id", columns="kind", values="value", aggfunc="sum")
    wide = wide.reindex(columns=list(ADJUSTMENT_KINDS)).reset_index()
    wide = wide.rename(
        columns={
            "green_power": "green_power_kwh",
            "onsite_pv": "onsite_pv_kwh",
            "sink": "sink_t",
        }
    )
    # a kind not entered is 0 (NaN would stay NaN on Spark, where it is not NULL)
    return wide.fillna(0.0).astype(ADJUSTMENT_SCHEMA)[list(ADJUSTMENT_SCHEMA)]


def compute(
    con: Any,
    rules: Rules,
    adjustments: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the evaluation on a connected backend (``warehouse.connect``) → pandas frames."""
    scalars = ibis.memtable(rules.scalars_frame())
    factors = ibis.memtable(rules.factors_frame())
    adj = ibis.memtable(adjustments.astype(ADJUSTMENT_SCHEMA), schema=ADJUSTMENT_SCHEMA)
    results, lines = evaluate(
        con.table("enterprises"),
        con.table("scales"),
        con.table("facts"),
        scalars,
        factors,
        adj,
        rules.year,
        rules.decimals,
    )
    res = fetch(con, results).sort_values("enterprise_id", kind="stable")
    for col in ("year", "grade", "industry_peers"):
        res[col] = res[col].astype("Int64")
    ln = fetch(con, lines).sort_values(["enterprise_id", "item"], kind="stable")
    return res.reset_index(drop=True), ln.reset_index(drop=True)
