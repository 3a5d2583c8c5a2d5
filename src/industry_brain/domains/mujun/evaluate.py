"""亩均效益综合评价 as Ibis expressions: a pure function from warehouse tables to a result table.

``evaluate(tables, rules, adjustments)`` builds one expression; the same expression runs on
DuckDB and on PySpark and gives identical results (tests compare both). Steps:

1. population (参评范围): enterprises with a 规上/规下 flag in the data year Y (and Y−1 for
   previous-year benchmarks); T 类 (不参评) when the industry is exempt, land is missing or below
   the scope's minimum, or no output/revenue was reported in Y−N+1 (投产不满 N 年)
2. inputs per enterprise and year from the long facts (conditional aggregation); absent tax or
   R&D read as zero where configured; 主要污染物排放量 = Σ configured pollutants
3. indicator values ``numerator × factor / denominator``, one row per configured indicator
   (the county's rule table is joined, so each county may have its own scheme)
4. benchmarks (基准值): fixed, or mean / median / Σnum÷Σden of the evaluated firms of the
   county, the industry (GB/T 4754 division), the county's industry or everyone, of Y or Y−1
5. item score ``max(0, value / benchmark × weight)``, capped at ``cap × weight`` if set; a missing
   item gets the county's mean score of that item (population_item_mean), the firm's mean
   score ratio of its other items × weight (own_items_mean) or 0
6. total = Σ item scores (fixed catalogue order) + bonus − penalty, rounded to the published
   decimals; rank in county × scope and in industry × scope; class by quota or by thresholds;
   one-vote veto → D

Shape of the plan: Spark inlines a subquery at every place it is used, so a table used by
tables that are themselves used several times is recomputed multiplicatively (a first version,
with one union branch per indicator, planned 861 exchanges for the small demo city). The
pipeline is therefore nearly linear. Each indicator is a set of columns of the enterprise's row
(the rule table joined once per county and scope, as columns); only the population statistics
actually configured are computed (group by, joined back). An earlier version made one row per
(enterprise, indicator) and pivoted them back: at province scale the pivot and the long rows
were most of DuckDB's time. Window functions run on narrow
tables joined back (a window sorts every column of its input), and the identity columns join
the result once at the end. DuckDB materialises shared CTEs, so the few reuses cost it little.

Determinism across engines: population statistics (whose float sums depend on the engine's
order of addition) are rounded to ``benchmark_decimals`` with ``floor(x·10ⁿ + 0.5)`` (engines'
``round`` differ on halves); sums over an enterprise's items are written out in catalogue order;
ranks and classes use the rounded total. The demo city gives bit-identical results.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from industry_brain.domains.mujun.rules import CATALOGUE, CODES, EMISSION_ITEMS, RuleSet
from industry_brain.warehouse.engines import computed_once

GROUP_KEYS: dict[str, list[str]] = {
    "county": ["county_key", "scope", "indicator"],
    "industry": ["industry_key", "scope", "indicator"],
    "county_industry": ["county_key", "industry_key", "scope", "indicator"],
    "all": ["scope", "indicator"],
}
INPUT_ITEMS: dict[str, str] = {
    "tax": "tax_paid",
    "value_added": "value_added",
    "revenue": "revenue",
    "rd_expense": "rd_expense",
    "employees": "employees",
    "energy_tce": "energy_total",
    "electricity_kwh": "electricity",
    "land_mu": "land_area",
    "output_value": "output_value",
}
FILL_CODES = {"population_item_mean": 1, "zero": 2, "own_items_mean": 3}
PERIOD_CODES = {"fixed": 0, "current": 1, "previous": 2}
ADJUSTMENT_COLUMNS = {"enterprise_id": "int64", "year": "int64", "code": "string"}
ITEM_FIELDS = (
    "value",
    "benchmark",
    "weight",
    "raw",
    "cap",
    "capped",
    "fill",
    "score",
    "bm_n",
    "bm_period",
)
INPUT_COLUMNS = (
    "land_mu",
    "tax",
    "value_added",
    "revenue",
    "rd_expense",
    "employees",
    "energy_tce",
    "emissions_t",
    "electricity_kwh",
    "output_value",
    "co2_net",
)
#: Inputs stored with each result and shown in explanations (gross output only feeds checks;
#: net CO2 comes from the carbon results and is kept as the item's denominator).
STORED_INPUTS = tuple(c for c in INPUT_COLUMNS if c not in ("output_value", "co2_net"))
#: Per-enterprise columns joined to the result after ranking.
CARRIED = (
    "uscc",
    "name",
    "county_code",
    "industry_code",
    "exempt_reason",
    "carbon_grade",
    *INPUT_COLUMNS,
)


def _round(x: ir.FloatingValue, scale: ir.FloatingValue | float) -> ir.FloatingValue:
    """Round half up to ``1/scale`` with floor (the same in every engine, unlike ``round``)."""
    return (x * scale + 0.5).floor().cast("float64") / scale


def _decode(code: ir.IntegerValue, codes: dict[str, int]) -> ir.StringValue:
    return ibis.cases(
        *[(code == v, ibis.literal(k)) for k, v in codes.items()],
        else_=ibis.null().cast("string"),
    )


def _null_float() -> ir.FloatingValue:
    return ibis.null().cast("float64")


def _adjustments_table(adjustments: ir.Table | pd.DataFrame | None) -> ir.Table:
    if adjustments is None:
        adjustments = pd.DataFrame(
            {c: pd.Series([], dtype=t) for c, t in ADJUSTMENT_COLUMNS.items()}
        )
    if isinstance(adjustments, pd.DataFrame):
        frame = adjustments[list(ADJUSTMENT_COLUMNS)].astype(ADJUSTMENT_COLUMNS)
        return ibis.memtable(frame)
    return adjustments


def _population(
    tables: Mapping[str, ir.Table], rules: RuleSet, years: list[int]
) -> tuple[ir.Table, ir.Table]:
    """Steps 1–2: one row per enterprise × year (Y−1, Y) with inputs, rules and eligibility."""
    year = rules.year
    known = sorted(c for c in rules.counties if c)
    ent = tables["enterprises"]
    county_key = (
        ibis.ifelse(ent.county_code.isin(known), ent.county_code, "") if known else ibis.literal("")
    )
    ents = ent.select(
        "enterprise_id",
        "uscc",
        "name",
        "county_code",
        "industry_code",
        division=ent.division.cast("string"),
        # peers by industry (benchmarks, rank_industry) at the level of mujun.industry_level
        industry_key=ibis.coalesce(
            ent.industry_code.substr(0, rules.industry_digits), ent.division
        ).cast("string"),
        county_key=county_key.cast("string"),
    )
    sc = tables["scales"]
    scales = sc.filter(sc.year.isin([year - 1, year])).select(
        enterprise_id=sc.enterprise_id,
        year=sc.year.cast("int64"),
        scope=ibis.ifelse(sc.above_scale, "above", "below"),
    )
    f = tables["facts"]
    emission_items = sorted({i for r in rules.counties.values() for i in r.emission_items})
    needed = [*INPUT_ITEMS.values(), *emission_items]
    f = f.filter(f.year.isin([year - 1, year]) & f.item.isin(needed))
    sums: dict[str, Any] = {
        col: f.value.sum(where=f.item == item) for col, item in INPUT_ITEMS.items()
    }
    for item in emission_items:
        sums["em_" + item.split(".", 1)[1]] = f.value.sum(where=f.item == item)
    wide = f.group_by(enterprise_id_w=f.enterprise_id, year_w=f.year.cast("int64")).aggregate(
        **sums
    )
    unused = {"em_" + i.split(".", 1)[1]: _null_float() for i in EMISSION_ITEMS}
    wide = wide.mutate(**{k: v for k, v in unused.items() if k not in sums})
    # years with a reported output or revenue, one flag column per year (投产年限)
    rep = tables["facts"]
    rep = rep.filter(
        rep.year.isin(years) & rep.item.isin(["output_value", "revenue"]) & rep.value.notnull()
    )
    reported = rep.group_by(enterprise_id_r=rep.enterprise_id).aggregate(
        **{f"rep_{y}": ibis.ifelse(rep.year == y, 1, 0).max() for y in years}
    )
    # the identity columns (USCC, name, codes) join the result once at the end: carried
    # through the two years' wide rows they would be copied at every step
    b = ents.select("enterprise_id", "division", "industry_key", "county_key").join(
        scales, "enterprise_id"
    )
    b = b.left_join(wide, [b.enterprise_id == wide.enterprise_id_w, b.year == wide.year_w])
    b = b.join(ibis.memtable(rules.scope_table()), ["county_key", "scope"])
    exempt = ibis.memtable(rules.exempt_table()).rename(
        county_key_x="county_key", division_x="division"
    )
    b = b.left_join(exempt, [b.county_key == exempt.county_key_x, b.division == exempt.division_x])
    b = b.left_join(reported, b.enterprise_id == reported.enterprise_id_r)
    # 碳效 in 亩均: net CO2 and grade of the carbon service's published results (result_carbon)
    rc = tables.get("result_carbon")
    if rules.uses_carbon and rc is not None:
        rc = rc.filter(rc.year.isin([year - 1, year])).select(
            eid_c=rc.enterprise_id,
            year_c=rc.year.cast("int64"),
            co2_net=rc.co2_net.cast("float64"),
            carbon_grade=rc.grade.cast("int64"),
        )
        b = b.left_join(rc, [b.enterprise_id == rc.eid_c, b.year == rc.year_c])
    else:
        b = b.mutate(co2_net=_null_float(), carbon_grade=ibis.null().cast("int64"))

    em_sum: ir.FloatingValue | None = None
    em_present: ir.BooleanValue = ibis.literal(False)
    for item in EMISSION_ITEMS:
        key = item.split(".", 1)[1]
        value, counts = b[f"em_{key}"], b[f"emflag_{key}"]
        part = ibis.ifelse(value.notnull() & counts, value, 0.0)
        em_sum = part if em_sum is None else em_sum + part
        em_present = em_present | (value.notnull() & counts)
    needed_year = b.year - (b.min_years - 1)
    was_reported = ibis.cases(
        *[(needed_year == y, b[f"rep_{y}"].fill_null(0) == 1) for y in years],
        else_=ibis.literal(False),
    )
    land = b.land_mu
    reason = ibis.cases(
        (b.exempt.fill_null(False), "exempt_industry"),
        (land.isnull() | (land <= 0), "no_land"),
        (land < b.min_land_mu, "small_land"),
        ((b.min_years > 1) & ~was_reported, "new_enterprise"),
        else_=ibis.null().cast("string"),
    )
    b = b.mutate(
        tax=ibis.ifelse(b.zero_tax, b.tax.fill_null(0.0), b.tax),
        rd_expense=ibis.ifelse(b.zero_rd, b.rd_expense.fill_null(0.0), b.rd_expense),
        emissions_t=ibis.ifelse(em_present, em_sum, _null_float()),
        exempt_reason=reason,
    )
    b = b.mutate(evaluated=b.exempt_reason.isnull())
    return b, ents


class _ItemConfig:
    """The rule table's indicator rows per county and scope, for one column set per indicator.

    A field of an indicator that is the same in every county and scope (used there or not) is a
    literal in the expression (for fields other than the weight: the same wherever the
    indicator is used); only the fields that differ become ``<field>__<code>`` columns of
    a small table joined to the rows (empty where the county's scheme for the scope does not use
    the indicator). Uniform rules (the usual case) thus add no column at all, and the engine
    folds their conditions."""

    KEYS = ("county_key", "scope")

    def __init__(self, item_table: pd.DataFrame, scopes: pd.DataFrame, configured: list[str]):
        keys = list(self.KEYS)
        fields = [c for c in item_table.columns if c not in (*keys, "indicator")]
        base = scopes[keys].drop_duplicates().reset_index(drop=True)
        self.types = {f: item_table[f].dtype for f in fields}
        self.literals: dict[tuple[str, str], Any] = {}
        table = base.copy()
        for code in configured:
            rows = item_table[item_table["indicator"] == code][[*keys, *fields]]
            part = base.merge(rows, on=keys, how="left")
            here = part["weight"].notna().tolist()
            for f in fields:
                values = [None if pd.isna(v) else v for v in part[f].tolist()]
                if f != "weight":
                    # where the scheme does not use the indicator, its weight is empty and no
                    # other field is read (every use is guarded): only the used rows count
                    values = [v for v, h in zip(values, here, strict=True) if h]
                if all(v == values[0] for v in values):
                    self.literals[(f, code)] = values[0]
                else:
                    table[f"{f}__{code}"] = part[f].astype(self.types[f]).to_numpy()
        used = item_table[keys].drop_duplicates()
        partial = len(used) < len(base)
        if partial:  # a county and scope without any indicator: its firms are not in the result
            table = table.merge(used, on=keys)
        # joined only to leave such firms out or to bring a field that differs
        self.table = table if partial or len(table.columns) > len(keys) else None

    def __call__(self, t: ir.Table, field: str, code: str) -> Any:
        """The field of ``code`` for the rows of ``t``: a literal or ``t``'s column."""
        if (field, code) not in self.literals:
            return t[f"{field}__{code}"]
        value = self.literals[(field, code)]
        kind = "string" if self.types[field] == "string" else "float64"
        return ibis.literal(value, kind) if value is not None else ibis.null().cast(kind)


def _item_scores(
    b: ir.Table, rules: RuleSet, item_table: pd.DataFrame, configured: list[str], backend: Any
) -> ir.Table:
    """Steps 3–5 on the population rows ``b`` (Y−1 and Y): per configured indicator its value,
    benchmark (with the number of firms and the period it came from), the raw score and its
    cap flag, the score before the missing-item fills, the fill rule applied and the score; one
    row per enterprise of Y.

    Everything stays one row per enterprise and year, one column set per indicator: the
    benchmarks are group-by aggregates of those columns joined back, so no row per
    (enterprise, indicator) is built and pivoted back (that long form cost the DuckDB plan
    most of its time at province scale)."""
    year = rules.year
    cfg = _ItemConfig(item_table, rules.scope_table(), configured)
    if cfg.table is not None:
        # an inner join: a firm whose county has no indicator for its scope is not in the result
        config = ibis.memtable(cfg.table).rename(county_key_i="county_key", scope_i="scope")
        b = b.join(config, [b.county_key == config.county_key_i, b.scope == config.scope_i])
        b = b.drop("county_key_i", "scope_i")

    # -- 3. indicator values (numerator × factor / denominator where the scheme uses it)
    values: dict[str, Any] = {}
    for code in configured:
        ind = CATALOGUE[code]
        num, den = b[ind.numerator].cast("float64"), b[ind.denominator].cast("float64")
        values[f"value_{code}"] = ibis.ifelse(
            cfg(b, "weight", code).notnull() & num.notnull() & den.notnull() & (den > 0),
            num * cfg(b, "factor", code) / den,
            _null_float(),
        )
    b = b.mutate(**values)
    b = computed_once(backend, b)  # read by every benchmark group and the scoring rows

    # -- 4. benchmarks: statistics of the evaluated population of Y and Y−1, per group
    combos = {
        code: sorted(
            {
                (str(g), str(m))
                for g, m in item_table[
                    (item_table["indicator"] == code) & (item_table["bm_method"] != "fixed")
                ][["bm_group", "bm_method"]].itertuples(index=False)
            }
        )
        for code in configured
    }
    # the columns the scoring steps and the result read (the population rows carry many more)
    keep = [
        "enterprise_id",
        "county_key",
        "scope",
        "division",
        "industry_key",
        "evaluated",
        *[c for c in b.columns if c.startswith(("quota_", "threshold_"))],
        "class_method",
        "bonus_max",
        "penalty_max",
        "score_scale",
        *[f"value_{code}" for code in configured],
        *[c for c in b.columns if "__" in c],  # the rule fields that differ between counties
    ]
    s = b.filter(b.year == year).select(*keep)
    for g in sorted({g for pairs in combos.values() for g, _ in pairs}):
        keys = [k for k in GROUP_KEYS[g] if k != "indicator"]
        stats: dict[str, Any] = {}
        for code in configured:
            methods = {m for gg, m in combos[code] if gg == g}
            if not methods:
                continue
            ind = CATALOGUE[code]
            value = b[f"value_{code}"]
            for period, y in (("c", year), ("p", year - 1)):
                at = b.evaluated & value.notnull() & (b.year == y)
                masked = ibis.ifelse(at, value, _null_float())
                stats[f"{g}_n_{period}__{code}"] = masked.count()
                if "mean" in methods:
                    stats[f"{g}_mean_{period}__{code}"] = masked.mean()
                if "median" in methods:
                    # median(where=…) compiles to an invalid PERCENTILE on Spark: masked values
                    stats[f"{g}_median_{period}__{code}"] = masked.median()
                if "aggregate" in methods:
                    num = b[ind.numerator].cast("float64")
                    den = b[ind.denominator].cast("float64")
                    stats[f"{g}_num_{period}__{code}"] = ibis.ifelse(at, num, _null_float()).sum()
                    stats[f"{g}_den_{period}__{code}"] = ibis.ifelse(at, den, _null_float()).sum()
        agg = b.group_by(**{f"{k}_g": b[k] for k in keys}).aggregate(**stats)
        s = s.left_join(agg, [s[k] == agg[f"{k}_g"] for k in keys]).drop(*[f"{k}_g" for k in keys])

    def pick(code: str, period: str) -> tuple[ir.FloatingValue, ir.IntegerValue]:
        stat_cases: list[tuple[ir.BooleanValue, ir.FloatingValue]] = []
        n_cases: list[tuple[ir.BooleanValue, ir.IntegerValue]] = []
        for g, method in combos[code]:
            when = (cfg(s, "bm_group", code) == g) & (cfg(s, "bm_method", code) == method)
            if method == "aggregate":
                den = s[f"{g}_den_{period}__{code}"]
                num = s[f"{g}_num_{period}__{code}"]
                stat = ibis.ifelse(den > 0, num * cfg(s, "factor", code) / den, _null_float())
            else:
                stat = s[f"{g}_{method}_{period}__{code}"]
            stat_cases.append((when, stat))
            n_cases.append((when, s[f"{g}_n_{period}__{code}"]))
        if not stat_cases:
            return _null_float(), ibis.literal(0).cast("int64")
        stat = ibis.cases(*stat_cases, else_=_null_float())
        n = ibis.cases(*n_cases, else_=ibis.null().cast("int64")).fill_null(0)
        return stat, n

    # a few projections, each reading the columns of the one before (an expression used
    # twice inside one projection is written out twice in the SQL: nested uses multiply) and
    # carrying only the columns still needed (each lists them all, and Ibis compiles them all)
    null_int = ibis.null().cast("int64")
    picked: dict[str, Any] = {}
    for code in configured:
        for period in ("c", "p"):
            picked[f"stat_{period}__{code}"], picked[f"n_{period}__{code}"] = pick(code, period)
    s = s.select(*keep, **picked)
    step: dict[str, Any] = {}
    for code in configured:
        here, n_p = cfg(s, "weight", code).notnull(), s[f"n_p__{code}"]
        use_prev = (cfg(s, "bm_period", code) == "previous") & (n_p > 0)
        fixed = (cfg(s, "bm_method", code) == "fixed") & here
        stat = ibis.ifelse(use_prev, s[f"stat_p__{code}"], s[f"stat_c__{code}"])
        population_bm = _round(stat * cfg(s, "bm_multiple", code), cfg(s, "bm_scale", code))
        step[f"benchmark_{code}"] = ibis.cases(
            (~here, _null_float()), (fixed, cfg(s, "bm_value", code)), else_=population_bm
        )
        step[f"bm_n_{code}"] = ibis.ifelse(
            here & ~fixed, ibis.ifelse(use_prev, n_p, s[f"n_c__{code}"]), null_int
        )
        step[f"bm_period_{code}"] = ibis.cases(
            (~here, null_int),
            (fixed, PERIOD_CODES["fixed"]),
            (use_prev, PERIOD_CODES["previous"]),
            else_=ibis.literal(PERIOD_CODES["current"]),
        )
    s = s.select(*keep, **step)
    keep += list(step)
    # -- 5. item score: value / benchmark × weight, floored at 0, capped
    step = {}
    for code in configured:
        value, benchmark = s[f"value_{code}"], s[f"benchmark_{code}"]
        usable = value.notnull() & benchmark.notnull() & (benchmark > 0)
        raw = ibis.ifelse(usable, value / benchmark * cfg(s, "weight", code), _null_float())
        floored = ibis.ifelse(raw < 0, 0.0, raw)
        cap = cfg(s, "cap_score", code)
        capped = (cap.notnull() & (floored > cap)).fill_null(False)
        step[f"pre_{code}"] = ibis.ifelse(capped, cap, floored)
        step[f"raw_{code}"] = raw
        step[f"capped_{code}"] = ibis.ifelse(capped, 1, 0).cast("int64")
    s = s.select(*keep, **step)
    keep += list(step)
    # the population's mean item score per county × scope × indicator: a small aggregate
    # joined back
    s = computed_once(backend, s)  # read by the population mean and joined back to it
    pop = s.group_by(county_key_m=s.county_key, scope_m=s.scope).aggregate(
        **{
            f"pop_mean_raw_{code}": ibis.ifelse(
                s.evaluated & s[f"pre_{code}"].notnull(), s[f"pre_{code}"], _null_float()
            ).mean()
            for code in configured
        }
    )
    s = s.left_join(pop, [s.county_key == pop.county_key_m, s.scope == pop.scope_m])
    step = {}
    for code in configured:
        pre = s[f"pre_{code}"]
        pop_mean = _round(s[f"pop_mean_raw_{code}"], cfg(s, "bm_scale", code))
        rule = cfg(s, "missing_rule", code)
        missing = cfg(s, "weight", code).notnull() & s.evaluated & pre.isnull()
        step[f"pop_mean__{code}"] = pop_mean
        # fill rule and benchmark period travel as small integers
        step[f"fill_{code}"] = ibis.cases(
            (~missing, null_int),
            (
                (rule == "population_item_mean") & pop_mean.notnull(),
                FILL_CODES["population_item_mean"],
            ),
            (rule == "zero", FILL_CODES["zero"]),
            else_=ibis.literal(FILL_CODES["own_items_mean"]),
        )
    s = s.select(*keep, **step)
    keep += list(step)
    step = {}
    for code in configured:
        fill = s[f"fill_{code}"]
        step[f"score1_{code}"] = ibis.cases(
            (cfg(s, "weight", code).isnull() | ~s.evaluated, _null_float()),
            (fill.isnull(), s[f"pre_{code}"]),
            (fill == FILL_CODES["population_item_mean"], s[f"pop_mean__{code}"]),
            (fill == FILL_CODES["zero"], 0.0),
            else_=_null_float(),
        )
    fields = ("fill", "value", "benchmark", "bm_n", "bm_period", "raw", "capped")
    return s.select(
        "enterprise_id",
        "county_key",
        "scope",
        "division",
        "industry_key",
        "evaluated",
        *[c for c in s.columns if c.startswith(("quota_", "threshold_"))],
        "class_method",
        "bonus_max",
        "penalty_max",
        "score_scale",
        *[f"{f}_{code}" for code in configured for f in fields],
        **step,
    )


def evaluate(
    tables: Mapping[str, ir.Table],
    rules: RuleSet,
    adjustments: ir.Table | pd.DataFrame | None = None,
    backend: Any = None,
) -> ir.Table:
    """The evaluation of ``rules.year`` as one Ibis table, one row per enterprise in the census.

    ``tables`` holds the warehouse tables ``enterprises``, ``scales`` and ``facts`` (snapshot
    schema); ``adjustments`` lists bonus/penalty/veto records (enterprise_id, year, code);
    ``backend`` (the connection the expression will run on) lets Spark compute the tables read
    several times once (:func:`computed_once`).
    Columns: identity, scope, ``evaluated``/``exempt_reason``, inputs, per indicator
    ``value_<code>``, ``benchmark_<code>``, ``weight_<code>``, ``raw_<code>``, ``cap_<code>``,
    ``capped_<code>``, ``fill_<code>``, ``score_<code>``, ``bm_n_<code>``, ``bm_period_<code>``,
    then ``base_score``, ``bonus``, ``penalty``, ``veto``, ``score``, ``rank_county``,
    ``n_county``, ``rank_industry``, ``n_industry``, ``class_code``, ``class_rule``.
    """
    year = rules.year
    max_back = max(1, max(r.min_years_reporting for r in rules.counties.values()) - 1)
    # Y−1 rows need their own reporting check in Y−1−(N−1)
    years = list(range(year - 1 - max_back, year + 1))
    b, ents = _population(tables, rules, years)
    # Spark recomputes a subquery wherever it is read: the population (read by the indicator
    # rows, the result keys and the carried inputs) is computed once on ``backend``
    b = computed_once(backend, b)

    # -- 3.–5. indicator values, benchmarks and item scores, one column set per indicator -----
    item_table = rules.item_table()
    configured = [c for c in CODES if c in set(item_table["indicator"])]
    r = _item_scores(b, rules, item_table, configured, backend)
    current = b.filter(b.year == year)
    # weights and caps per county and scope, one column per indicator
    weights = ibis.memtable(rules.weight_table(configured)).rename(
        county_key_w="county_key", scope_w="scope"
    )
    r = r.join(weights, [r.county_key == weights.county_key_w, r.scope == weights.scope_w])

    # own_items_mean fill: mean score ratio of the firm's other items, in catalogue order
    n_present: ir.IntegerValue = ibis.literal(0)
    sum_ratio: ir.FloatingValue = ibis.literal(0.0)
    for code in configured:
        present = r[f"score1_{code}"].notnull() & r[f"weight_{code}"].notnull()
        n_present = n_present + ibis.ifelse(present, 1, 0)
        sum_ratio = sum_ratio + ibis.ifelse(present, r[f"score1_{code}"] / r[f"weight_{code}"], 0.0)
    r = r.mutate(own_mean=ibis.ifelse(n_present > 0, sum_ratio / n_present, 0.0))
    r = r.mutate(
        **{
            f"score_{code}": ibis.ifelse(
                r[f"fill_{code}"] == FILL_CODES["own_items_mean"],
                r[f"weight_{code}"] * r.own_mean,
                r[f"score1_{code}"],
            )
            for code in configured
        }
    )
    base: ir.FloatingValue = ibis.literal(0.0)
    for code in configured:
        base = base + r[f"score_{code}"].fill_null(0.0)
    r = r.mutate(base_score=ibis.ifelse(r.evaluated, base, _null_float()))

    # -- 6. adjustments, total, ranks, class ----------------------------------------------------
    adj = _adjustments_table(adjustments)
    adj = adj.filter(adj.year == year)
    adj = adj.join(ents.select("enterprise_id", "county_key"), "enterprise_id")
    adj = adj.join(ibis.memtable(rules.adjustment_table()), ["county_key", "code"])
    adj_sum = adj.group_by(enterprise_id_a=adj.enterprise_id).aggregate(
        bonus_raw=ibis.ifelse(adj.points > 0, adj.points, 0.0).sum(),
        penalty_raw=ibis.ifelse(adj.points < 0, -adj.points, 0.0).sum(),
        veto_n=ibis.ifelse(adj.veto, 1, 0).sum(),
    )
    r = r.left_join(adj_sum, r.enterprise_id == adj_sum.enterprise_id_a)
    grade_table = rules.carbon_grade_table()
    if grade_table.empty:
        r = r.mutate(carbon_points=ibis.literal(0.0))
    else:
        cur = b.filter(b.year == year)
        pts = ibis.memtable(grade_table).rename(
            county_key_p="county_key", carbon_grade_p="carbon_grade"
        )
        cg = cur.join(
            pts, [cur.county_key == pts.county_key_p, cur.carbon_grade == pts.carbon_grade_p]
        ).select(enterprise_id_p=cur.enterprise_id, carbon_points=pts.points)
        r = r.left_join(cg, r.enterprise_id == cg.enterprise_id_p)
        r = r.mutate(carbon_points=r.carbon_points.fill_null(0.0))
    bonus_raw = r.bonus_raw.fill_null(0.0) + ibis.greatest(r.carbon_points, 0.0)
    penalty_raw = r.penalty_raw.fill_null(0.0) + ibis.greatest(-r.carbon_points, 0.0)
    bonus = ibis.least(bonus_raw, r.bonus_max)
    penalty = ibis.least(penalty_raw, r.penalty_max)
    r = r.mutate(
        bonus=ibis.ifelse(r.evaluated, bonus, 0.0),
        penalty=ibis.ifelse(r.evaluated, penalty, 0.0),
        veto=r.evaluated & (r.veto_n.fill_null(0) > 0),
    )
    r = r.mutate(
        score=ibis.ifelse(
            r.evaluated, _round(r.base_score + r.bonus - r.penalty, r.score_scale), _null_float()
        ),
        veto_order=ibis.ifelse(r.veto, 1, 0),
    )
    r = computed_once(backend, r)  # read by the ranks and joined back to them
    # ranks on a narrow table joined back: a window sorts every column of its input
    k = r.select(
        enterprise_id_k=r.enterprise_id,
        county_key_k=r.county_key,
        industry_key_k=r.industry_key,
        scope_k=r.scope,
        evaluated_k=r.evaluated,
        veto_order_k=r.veto_order,
        score_k=r.score,
    )
    order = [k.veto_order_k, k.score_k.desc()]
    by_county = ibis.window(group_by=[k.county_key_k, k.scope_k, k.evaluated_k], order_by=order)
    by_industry = ibis.window(group_by=[k.industry_key_k, k.scope_k, k.evaluated_k], order_by=order)
    # counts over the same ordered partitions with a full frame share the windows' sort
    county_all = ibis.window(
        group_by=[k.county_key_k, k.scope_k, k.evaluated_k], order_by=order, rows=(None, None)
    )
    industry_all = ibis.window(
        group_by=[k.industry_key_k, k.scope_k, k.evaluated_k], order_by=order, rows=(None, None)
    )
    k = k.select(
        "enterprise_id_k",
        rank_county=ibis.rank().over(by_county) + 1,
        n_county=k.enterprise_id_k.count().over(county_all),
        rank_industry=ibis.rank().over(by_industry) + 1,
        n_industry=k.enterprise_id_k.count().over(industry_all),
    )
    r = r.join(k, r.enterprise_id == k.enterprise_id_k).drop("enterprise_id_k")
    pos = r.rank_county - 1
    by_quota = ibis.cases(
        (pos < (r.quota_a * r.n_county + 0.5).floor(), "A"),
        (pos < (r.quota_b * r.n_county + 0.5).floor(), "B"),
        (pos < (r.quota_c * r.n_county + 0.5).floor(), "C"),
        else_=ibis.literal("D"),
    )
    by_threshold = ibis.cases(
        (r.score >= r.threshold_a, "A"),
        (r.score >= r.threshold_b, "B"),
        (r.score >= r.threshold_c, "C"),
        else_=ibis.literal("D"),
    )
    r = r.mutate(
        class_code=ibis.cases(
            (~r.evaluated, "T"),
            (r.veto, "D"),
            (r.class_method == "quota", by_quota),
            else_=by_threshold,
        ),
        class_rule=ibis.cases((~r.evaluated, "exempt"), (r.veto, "veto"), else_=r.class_method),
    )
    carried = current.select(
        enterprise_id_c=current.enterprise_id,
        **{c: current[c] for c in CARRIED if c not in r.columns and c in current.columns},
    )
    r = r.join(carried, r.enterprise_id == carried.enterprise_id_c)
    identity = ents.select(
        enterprise_id_e=ents.enterprise_id,
        **{c: ents[c] for c in CARRIED if c not in r.columns and c in ents.columns},
    )
    r = r.join(identity, r.enterprise_id == identity.enterprise_id_e)
    null_int = ibis.null().cast("int64")
    null_float = _null_float()
    columns: dict[str, Any] = {
        "enterprise_id": r.enterprise_id,
        "uscc": r.uscc,
        "name": r.name,
        "county_code": r.county_code,
        "industry_code": r.industry_code,
        "division": r.division,
        "year": ibis.literal(year).cast("int64"),
        "scope": r.scope,
        "evaluated": r.evaluated,
        "exempt_reason": r.exempt_reason,
        **{c: r[c] for c in INPUT_COLUMNS},
    }
    for code in CODES:
        here = code in configured
        for name in ITEM_FIELDS:
            if name in ("fill", "bm_period"):
                codes = FILL_CODES if name == "fill" else PERIOD_CODES
                value = _decode(r[f"{name}_{code}"], codes) if here else ibis.null().cast("string")
            elif here:
                value = r[f"{name}_{code}"]
            else:
                value = null_int if name in ("capped", "bm_n") else null_float
            columns[f"{name}_{code}"] = value
    columns.update(
        carbon_grade=r.carbon_grade,
        carbon_points=ibis.ifelse(r.evaluated, r.carbon_points, 0.0),
        base_score=r.base_score,
        bonus=r.bonus,
        penalty=r.penalty,
        veto=r.veto,
        score=r.score,
        rank_county=ibis.ifelse(r.evaluated, r.rank_county.cast("int64"), null_int),
        n_county=ibis.ifelse(r.evaluated, r.n_county.cast("int64"), null_int),
        rank_industry=ibis.ifelse(r.evaluated, r.rank_industry.cast("int64"), null_int),
        n_industry=ibis.ifelse(r.evaluated, r.n_industry.cast("int64"), null_int),
        class_code=r.class_code,
        class_rule=r.class_rule,
    )
    return r.select(**columns)
