"""工业碳效 accounting benchmark at province scale (issue 21 point 4): the service's Ibis evaluation
(``domains/carbon/accounting.compute``) on DuckDB against the same core written by hand as
DuckDB SQL over the same Parquet files, measured in the same run, both returning the result rows
and the emission lines as pandas (through Arrow, as the engine's ``fetch`` does).

The input is the generated province snapshot of ``bench/mujun.py`` (500,000 enterprises, their
energy facts of the latest year: coal, oil, gas, heat, electricity), cached under
``DATA_DIR/bench``. Both sides run alternately ``IB_BENCH_CARBON_RUNS`` times (default 3) and
the medians are compared. Target: the engine within 3× of the hand-written query. The two
results must agree row for row (status, CO2 net, intensity, K, level, grade, label, industry
average and quartile), so the reference is known to do the same work.

    python -m bench carbon
    python -m bench carbon --rows 20000      # 20,000 enterprises (cached separately)
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from bench.mujun import PROVINCE, prepare
from industry_brain.demo.constants import LATEST_YEAR
from industry_brain.domains.carbon.accounting import (
    ADJUSTMENT_SCHEMA,
    LINE_COLUMNS,
    RESULT_COLUMNS,
    adjustments_frame,
    compute,
)
from industry_brain.domains.carbon.rules import BELOW_METHOD, Rules, load_rules
from industry_brain.warehouse import connect

TARGET_RATIO = 3.0
# columns compared between the engine and the hand-written query (all of RESULT_COLUMNS but the
# inputs echoed from the rules)
COMPARED = (
    "status",
    "co2_net",
    "e_energy",
    "co2_electricity",
    # the denominator, intensity, peers' benchmarks, K, level, grade and the reductions
    *RESULT_COLUMNS[RESULT_COLUMNS.index("denominator") : RESULT_COLUMNS.index("status")],
)


def snapshot_rules(snapshot_dir: Path, year: int) -> Rules:
    """The carbon rules of ``year`` for every county of the snapshot, as the service loads them."""
    counties = pd.read_parquet(snapshot_dir / "enterprises.parquet", columns=["county_code"])
    codes = counties["county_code"].drop_duplicates().tolist()
    return load_rules(year, [c if isinstance(c, str) else None for c in codes])


def engine(snapshot_dir: Path, rules: Rules) -> tuple[float, pd.DataFrame, pd.DataFrame]:
    """The service's evaluation (connect + compute): (seconds, results, lines)."""
    start = time.perf_counter()
    con = connect(snapshot_dir, "duckdb", tables=("enterprises", "scales", "facts"))
    results, lines = compute(con, rules, adjustments_frame([]))
    return time.perf_counter() - start, results, lines


def hand_sql(snapshot_dir: Path, rules: Rules) -> tuple[float, pd.DataFrame, pd.DataFrame]:
    """The accounting's core as DuckDB SQL written by hand: the population of the year's
    directory with each county's rules, the emission lines (fuel and heat × factor, kept as a
    temporary table), the input pivot, electricity by the configured source order, E_energy,
    E_zero, CO2 net, the denominator and status, the peer group's Σ CO2 ÷ Σ denominator and 25th
    percentile as window functions, K, level, grade, label, 碳中和率 and the reductions; the
    adjustments table joined as the engine does (empty here). Returns (seconds, results, lines)
    sorted as the engine sorts them."""
    year, d = rules.year, rules.decimals
    con = duckdb.connect()
    con.register("rules", rules.scalars_frame())
    con.register("factors", rules.factors_frame())
    con.register("adj", adjustments_frame([]).astype(ADJUSTMENT_SCHEMA))
    ent, scales, facts = (snapshot_dir / f"{t}.parquet" for t in ("enterprises", "scales", "facts"))
    start = time.perf_counter()
    con.execute(f"""
    CREATE TEMP TABLE base AS
      SELECT s.enterprise_id, s.above_scale, e.county_code, e.industry_code, r.*
      FROM read_parquet('{scales}') s
      JOIN read_parquet('{ent}') e USING (enterprise_id)
      JOIN rules r ON r.county_key = coalesce(e.county_code, '')
      WHERE s.year = {year} AND (s.above_scale OR r.below_enabled);
    CREATE TEMP TABLE f AS
      SELECT enterprise_id, item, value, unit FROM read_parquet('{facts}') WHERE year = {year};
    CREATE TEMP TABLE lines AS
      SELECT f.enterprise_id, f.item, k.fuel_group, f.value AS quantity, f.unit, k.factor,
             f.value * k.factor AS co2
      FROM f JOIN base b USING (enterprise_id)
      JOIN factors k ON k.county_key = b.county_key AND k.item = f.item;
    """)
    results = (
        con.sql(f"""
    WITH piv AS (
      SELECT enterprise_id,
             sum(value) FILTER (WHERE item = 'value_added') AS value_added,
             sum(value) FILTER (WHERE item = 'revenue') AS revenue,
             sum(value) FILTER (WHERE item = 'tax_paid') AS tax_paid,
             sum(value) FILTER (WHERE item = 'electricity') AS elec_grid,
             sum(value) FILTER (WHERE item = 'fuel.electricity') AS elec_stats
      FROM f GROUP BY enterprise_id
    ), fuel AS (
      SELECT enterprise_id,
             sum(co2) FILTER (WHERE fuel_group = 'coal') AS co2_coal,
             sum(co2) FILTER (WHERE fuel_group = 'oil') AS co2_oil,
             sum(co2) FILTER (WHERE fuel_group = 'gas') AS co2_gas,
             sum(co2) FILTER (WHERE fuel_group NOT IN ('coal', 'oil', 'gas', 'heat'))
               AS co2_other_fuel,
             sum(quantity) FILTER (WHERE fuel_group = 'heat') AS heat_gj,
             sum(co2) FILTER (WHERE fuel_group = 'heat') AS co2_heat,
             count(*) AS n_lines
      FROM lines GROUP BY enterprise_id
    ), t AS (
      SELECT b.*, p.value_added, p.revenue, p.tax_paid, l.*, a.*,
        CASE b.electricity_first WHEN 'electricity' THEN p.elec_grid
             WHEN 'fuel.electricity' THEN p.elec_stats END AS k1,
        CASE b.electricity_second WHEN 'electricity' THEN p.elec_grid
             WHEN 'fuel.electricity' THEN p.elec_stats END AS k2
      FROM base b LEFT JOIN piv p USING (enterprise_id) LEFT JOIN fuel l USING (enterprise_id)
      LEFT JOIN adj a USING (enterprise_id)
    ), e AS (
      SELECT *, coalesce(k1, k2) AS kwh,
        CASE WHEN k1 IS NOT NULL THEN electricity_first
             WHEN k2 IS NOT NULL THEN electricity_second END AS item_used,
        coalesce(onsite_pv_kwh, 0) AS pv, coalesce(green_power_kwh, 0) AS green,
        coalesce(sink_t, 0) AS sink,
        coalesce(k1, k2) IS NOT NULL OR coalesce(n_lines, 0) > 0
          OR coalesce(onsite_pv_kwh, 0) > 0 AS has_energy,
        CASE WHEN above_scale THEN value_added
             WHEN below_denominator = 'revenue' THEN revenue ELSE tax_paid END AS denom
      FROM t
    ), n AS (
      SELECT *,
        (coalesce(kwh, 0) + CASE WHEN onsite_pv_in_use THEN pv ELSE 0 END)
          * grid_factor / 1000 AS co2_elec,
        (pv + green) * grid_factor / 1000 AS e_zero,
        CASE WHEN denom IS NULL OR denom <= 0 THEN
               CASE WHEN above_scale THEN 'VA_NONPOSITIVE' ELSE 'BASE_NONPOSITIVE' END
             WHEN NOT has_energy THEN 'NO_ENERGY_DATA'
             WHEN industry_code IS NULL THEN 'NO_INDUSTRY' ELSE 'eligible' END AS st,
        substr(industry_code, 1, CASE WHEN industry_digits IN (2, 3) THEN industry_digits
                                      ELSE 4 END) AS ind_key
      FROM e
    ), c AS (
      SELECT *,
        CASE WHEN has_energy THEN coalesce(co2_coal, 0) + coalesce(co2_oil, 0)
          + coalesce(co2_gas, 0) + coalesce(co2_other_fuel, 0) + coalesce(co2_heat, 0)
          + co2_elec END AS energy,
        CASE WHEN above_scale THEN method ELSE '{BELOW_METHOD}' END AS meth
      FROM n
    ), r AS (
      SELECT *, energy - e_zero - sink AS net,
        CASE WHEN st = 'eligible' THEN (energy - e_zero - sink) / denom END AS raw_l
      FROM c
    ), w AS (
      SELECT *,
        sum(CASE WHEN st = 'eligible' THEN net END) OVER peer AS ind_co2,
        sum(CASE WHEN st = 'eligible' THEN denom END) OVER peer AS ind_base,
        sum(CASE WHEN st = 'eligible' THEN 1 ELSE 0 END) OVER peer AS peers,
        quantile_cont(raw_l, 0.25) OVER peer AS q25
      FROM r WINDOW peer AS (PARTITION BY meth, peer_prefix, ind_key)
    ), g AS (
      SELECT *, CASE WHEN ind_base > 0 THEN ind_co2 / ind_base END AS ind_l FROM w
    ), h AS (
      SELECT *,
        CASE WHEN st = 'eligible' AND (ind_l IS NULL OR ind_l <= 0)
               THEN 'INDUSTRY_AVG_NONPOSITIVE'
             WHEN st = 'eligible' THEN 'graded' ELSE st END AS status2,
        round(raw_l, {d}) AS l_rounded
      FROM g
    ), k AS (
      SELECT *, CASE WHEN status2 = 'graded' THEN round(raw_l / ind_l, {d}) END AS k_rounded
      FROM h
    ), z AS (
      SELECT *,
        CASE WHEN status2 <> 'graded' THEN NULL
             WHEN l_rounded <= CASE WHEN above_scale THEN level_lo ELSE below_level_lo END
               THEN '低碳'
             WHEN l_rounded <= CASE WHEN above_scale THEN level_hi ELSE below_level_hi END
               THEN '中碳'
             ELSE '高碳' END AS lvl,
        CASE WHEN status2 <> 'graded' THEN NULL WHEN k_rounded <= cut1 THEN 1
             WHEN k_rounded <= cut2 THEN 2 WHEN k_rounded <= cut3 THEN 3
             WHEN k_rounded <= cut4 THEN 4 ELSE 5 END AS grd,
        CASE WHEN status2 = 'graded' AND energy > 0 THEN (e_zero + sink) / energy END AS nr
      FROM k
    )
    SELECT enterprise_id, {year}::BIGINT AS year, meth AS method, above_scale, county_code,
      ind_key AS industry_key, peer_prefix AS peer_region,
      coalesce(co2_coal, 0) AS co2_coal, coalesce(co2_oil, 0) AS co2_oil,
      coalesce(co2_gas, 0) AS co2_gas, coalesce(co2_other_fuel, 0) AS co2_other_fuel,
      heat_gj, coalesce(co2_heat, 0) AS co2_heat, item_used AS electricity_item,
      kwh AS electricity_kwh, pv AS onsite_pv_kwh, green AS green_power_kwh, grid_factor,
      co2_elec AS co2_electricity, energy AS e_energy, e_zero AS e_zero_carbon, sink AS e_sinks,
      net AS co2_net,
      CASE WHEN above_scale THEN 'value_added' ELSE below_denominator END AS denominator_item,
      denom AS denominator, l_rounded AS intensity, ind_l AS industry_intensity,
      peers::BIGINT AS industry_peers, q25 AS industry_q25, k_rounded AS k_value,
      lvl AS level, grd::BIGINT AS grade,
      CASE WHEN status2 = 'graded' THEN
        replace(replace(label_format, '{{level}}', lvl), '{{grade}}', grd::VARCHAR) END AS label,
      CASE WHEN nr > 1 THEN 1.0 WHEN nr < 0 THEN 0.0 ELSE nr END AS neutral_rate,
      CASE WHEN status2 = 'graded' THEN greatest(net - ind_l * denom, 0) END
        AS reduction_to_average,
      CASE WHEN status2 = 'graded' THEN greatest(net - q25 * denom, 0) END AS reduction_to_q25,
      status2 AS status
    FROM z ORDER BY enterprise_id
    """)
        .to_arrow_table()
        .to_pandas(split_blocks=True, self_destruct=True)
    )
    lines = (
        con.sql(f"SELECT {', '.join(LINE_COLUMNS)} FROM lines ORDER BY enterprise_id, item")
        .to_arrow_table()
        .to_pandas(split_blocks=True, self_destruct=True)
    )
    seconds = time.perf_counter() - start
    con.close()
    return seconds, results[list(RESULT_COLUMNS)], lines


def compare(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, Any]:
    """Row-for-row agreement of two result frames on ``COMPARED``: floats to 1e-9 relative or
    1e-9 absolute (a reduction is a difference of sums of hundreds of tonnes, whose summation
    order differs between the two plans: its last digits differ near zero)."""
    m = a.merge(b, on="enterprise_id", suffixes=("", "_ref"), how="outer", indicator=True)
    out: dict[str, Any] = {"rows_only_one_side": int((m["_merge"] != "both").sum())}
    diffs = {}
    for col in COMPARED:
        x, y = m[col], m[f"{col}_ref"]
        if pd.api.types.is_float_dtype(x) and pd.api.types.is_float_dtype(y):
            xa, ya = x.to_numpy(float), y.to_numpy(float)
            same = np.isclose(xa, ya, rtol=1e-9, atol=1e-9) | (np.isnan(xa) & np.isnan(ya))
        else:
            # as text: Int64 (engine) and int64 (reference) grades compare by value; NULL = NULL
            same = x.astype(str).where(x.notna(), "∅") == y.astype(str).where(y.notna(), "∅")
        n = int((~np.asarray(same)).sum())
        if n:
            diffs[col] = n
    out["differing"] = diffs
    out["identical"] = not diffs and out["rows_only_one_side"] == 0
    return out


def run(rows: int) -> dict[str, Any]:
    """Time the engine and the hand-written query on ``min(rows, 500000)`` enterprises."""
    n = min(int(rows), PROVINCE)
    snap = prepare(n)
    rules = snapshot_rules(snap, LATEST_YEAR)
    runs = int(os.environ.get("IB_BENCH_CARBON_RUNS", "3"))
    eng_s, hand_s = [], []
    for _ in range(runs):
        s, res, lines = engine(snap, rules)
        eng_s.append(s)
        s, ref, ref_lines = hand_sql(snap, rules)
        hand_s.append(s)
    agree = compare(res, ref)
    same_lines = len(lines) == len(ref_lines) and bool(
        np.allclose(lines["co2"].to_numpy(), ref_lines["co2"].to_numpy())
        and (lines["item"].to_numpy() == ref_lines["item"].to_numpy()).all()
    )
    e, h = statistics.median(eng_s), statistics.median(hand_s)
    out = {
        "enterprises": len(res),
        "lines": len(lines),
        "graded": int((res["status"] == "graded").sum()),
        "runs": runs,
        "engine_s": [round(x, 2) for x in eng_s],
        "hand_sql_s": [round(x, 2) for x in hand_s],
        "engine_median_s": round(e, 2),
        "hand_sql_median_s": round(h, 2),
        "ratio_to_hand_sql": round(e / h, 2),
        "target": f"≤ {TARGET_RATIO}× the hand-written DuckDB SQL (issue 21)",
        "identical_results": agree["identical"],
        "differing_columns": agree["differing"],
        "identical_lines": same_lines,
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    out["target_met"] = bool(e <= TARGET_RATIO * h and agree["identical"] and same_lines)
    print(
        f"carbon: {out['enterprises']:,} enterprises ({out['graded']:,} graded), "
        f"{out['lines']:,} emission lines — engine {out['engine_s']} s, hand-written DuckDB SQL "
        f"{out['hand_sql_s']} s: median {out['ratio_to_hand_sql']}× (target ≤ {TARGET_RATIO}×); "
        f"results identical: {agree['identical']} {agree['differing'] or ''}, lines identical: "
        f"{same_lines}; load average {out['load_average']}"
    )
    return out
