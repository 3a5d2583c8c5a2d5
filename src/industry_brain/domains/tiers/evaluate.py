"""Every enterprise against every tier scheme as one Ibis expression (DuckDB or PySpark).

``evaluate(tables, schemes, year, on, settings)`` returns one row per (enterprise, basis):
``basis`` is ``verified`` (declared figures an officer verified) or ``declared`` (verified plus
not yet verified ones; a scheme met only on this basis makes the firm a *candidate*). Columns:
the inputs, then per scheme ``<code>__app`` (the scheme applies to the firm's region),
``<code>__status`` (true meets / false does not meet / null cannot tell), ``<code>__lo`` and
``<code>__hi`` (points with missing indicators at their least and most), ``<code>__p__<ind>``
(points per indicator), ``<code>__c__<node>`` (each condition's truth) and ``<code>__close``
(closeness: the share of the main conditions met, points counted as lo ÷ total_min).

Three-valued logic: a comparison with a missing input is null (cannot tell); SQL's AND/OR are
Kleene's in both engines (false AND null = false, true OR null = true), so a scheme is decided
whenever the known figures decide it. A points requirement holds when the least possible total
and group sums reach the minima, fails when even the most possible do not, else cannot tell.

Warehouse tables: ``enterprises`` (enterprise_id, county_code, industry_code), ``scales``
(enterprise_id, year, above_scale), ``facts`` (enterprise_id, year, item, value), ``titles``
(enterprise_id, tier, year, valid_until), ``declared`` (enterprise_id, basis, item, value).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from industry_brain.domains.tiers.inputs import DECLARABLE, TITLE_TIERS
from industry_brain.domains.tiers.schemes import Band, Leaf, Node, Scheme

FACT_ITEMS = ("revenue", "rd_expense", "employees", "profit")
BASES = ("verified", "declared")


def _nb() -> ir.BooleanValue:
    return ibis.null().cast("boolean")


def _nf() -> ir.FloatingValue:
    return ibis.null().cast("float64")


def _div(a: ir.NumericValue, b: ir.NumericValue) -> ir.FloatingValue:
    return ibis.ifelse(b == 0, _nf(), a.cast("float64") / b.cast("float64"))


def _growth(cur: ir.NumericValue, prev: ir.NumericValue) -> ir.FloatingValue:
    """(cur − prev) ÷ |prev|; null when prev is 0 or missing."""
    return ibis.ifelse(prev == 0, _nf(), (cur - prev).cast("float64") / prev.abs().cast("float64"))


def _both(a: ir.Value, b: ir.Value, value: ir.Value) -> ir.Value:
    """``value`` when both inputs are known (engines' least/greatest skip nulls)."""
    return ibis.ifelse(a.isnull() | b.isnull(), _nf(), value)


def _compare(col: ir.NumericValue, op: str, value: float) -> ir.BooleanValue:
    v = ibis.literal(value)
    return {
        ">=": col >= v,
        ">": col > v,
        "<=": col <= v,
        "<": col < v,
        "==": col == v,
        "!=": col != v,
    }[op]


def band_test(col: ir.NumericValue, band: Band) -> ir.BooleanValue:
    test: ir.BooleanValue | None = None
    if band.min is not None:
        test = col > band.min if band.min_exclusive else col >= band.min
    if band.max is not None:
        upper = col <= band.max if band.max_inclusive else col < band.max
        test = upper if test is None else test & upper
    if test is None:
        test = ibis.ifelse(col.isnull(), _nb(), ibis.literal(True))
    return test


def _node(
    t: ir.Table, node: Node, extra: dict[str, ir.BooleanValue] | None = None
) -> ir.BooleanValue:
    """A condition's truth; ``extra`` adds an alternative to an ``any_of`` group by its id (a
    points table ``within`` it)."""
    if isinstance(node, Leaf):
        return _compare(t[node.input], node.op, node.value)
    parts = [_node(t, c, extra) for c in node.children]
    if extra and node.id in extra:
        parts.append(extra[node.id])
    out = parts[0]
    for p in parts[1:]:
        out = (out & p) if node.kind == "all_of" else (out | p)
    return out


def _nodes(node: Node) -> list[Node]:
    if isinstance(node, Leaf):
        return [node]
    return [node, *[n for c in node.children for n in _nodes(c)]]


def _inputs(tables: dict[str, ir.Table], year: int, on: date, settings: dict[str, Any]) -> ir.Table:
    ent = tables["enterprises"].select("enterprise_id", "county_code", "industry_code")
    f = tables["facts"]
    f = f.filter(f.year.isin([year, year - 1, year - 2]) & f.item.isin(list(FACT_ITEMS)))
    wide = f.group_by("enterprise_id").aggregate(
        **{
            f"{item}_{k}": f.value.max(where=(f.item == item) & (f.year == year - k))
            for item in FACT_ITEMS
            for k in (0, 1, 2)
        }
    )
    sc = tables["scales"]
    sc = sc.filter(sc.year == year).select(
        "enterprise_id", above_scale=sc.above_scale.cast("int64").cast("float64")
    )
    ti = tables["titles"]
    ti = ti.filter((ti.year < on.year) & (ti.valid_until >= ibis.literal(on)))
    titles = ti.group_by("enterprise_id").aggregate(
        **{
            col: (ti.tier == tier).cast("int64").max().cast("float64")
            for col, tier in TITLE_TIERS.items()
        }
    )
    dec = tables["declared"]
    declared = dec.group_by(["enterprise_id", "basis"]).aggregate(
        **{item: dec.value.max(where=dec.item == item) for item in DECLARABLE}
    )
    bases = ibis.memtable({"basis": list(BASES)})
    t = ent.cross_join(bases)
    t = t.left_join(wide, "enterprise_id").drop("enterprise_id_right")
    t = t.left_join(sc, "enterprise_id").drop("enterprise_id_right")
    t = t.left_join(titles, "enterprise_id").drop("enterprise_id_right")
    t = t.left_join(declared, ["enterprise_id", "basis"]).drop("enterprise_id_right", "basis_right")
    # titles: the official lists are complete — not listed means not recognised
    t = t.mutate(**{col: t[col].fill_null(0.0) for col in TITLE_TIERS})
    r0, r1, r2 = t.revenue_0, t.revenue_1, t.revenue_2
    d0, d1 = t.rd_expense_0, t.rd_expense_1
    g0 = _growth(r0, r1)
    g1 = _growth(r1, r2)
    pg0 = _growth(t.profit_0, t.profit_1)
    pg1 = _growth(t.profit_1, t.profit_2)
    rd0 = _div(d0, r0)
    rd1 = _div(d1, r1)
    emp = t.employees_0
    sme_emp = settings["sme_employees_max"]
    sme_rev = settings["sme_revenue_max"]
    t = t.mutate(
        revenue=r0.cast("float64"),
        rd_expense=d0.cast("float64"),
        employees=emp.cast("float64"),
        revenue_growth=g0,
        revenue_growth_mean_2y=_both(g0, g1, (g0 + g1) / 2),
        revenue_growth_min_2y=_both(g0, g1, ibis.least(g0, g1)),
        rd_ratio=rd0,
        rd_ratio_min_2y=_both(rd0, rd1, ibis.least(rd0, rd1)),
        rd_expense_mean_2y=_both(d0, d1, (d0 + d1).cast("float64") / 2),
        rd_expense_total_2y=_both(d0, d1, (d0 + d1).cast("float64")),
        net_profit_growth_mean=_both(pg0, pg1, (pg0 + pg1) / 2),
        sme=((emp < sme_emp) | (r0 < sme_rev)).cast("int64").cast("float64"),
        rd_staff_ratio=_div(t.rd_staff, emp),
        invention_patents_per_100=_div(t.invention_patents * 100, emp),
        new_product_ratio=_div(t.new_product_output, r0),
    )
    return t


def _points_columns(
    t: ir.Table, s: Scheme
) -> tuple[dict[str, ir.Value], ir.BooleanValue, ir.FloatingValue]:
    """Points per indicator, their least and most possible totals and whether the table's
    requirement holds (true / false / null when the missing indicators could decide it)."""
    assert s.points is not None
    cols: dict[str, ir.Value] = {}
    pts: dict[str, ir.FloatingValue] = {}
    for ind in s.points.indicators:
        branches: list[tuple[ir.BooleanValue, ir.Value]] = []
        for band in ind.bands:
            test = band_test(t[band.input], band)
            branches.append((test.isnull(), _nf()))
            branches.append((test, ibis.literal(band.points, "float64")))
        pts[ind.code] = ibis.cases(*branches, else_=_nf())
        cols[f"{s.code}__p__{ind.code}"] = pts[ind.code]
    lo = hi = ibis.literal(0.0)
    glo: dict[str, ir.FloatingValue] = {}
    ghi: dict[str, ir.FloatingValue] = {}
    for ind in s.points.indicators:  # catalogue order: identical sums in every engine
        lo = lo + pts[ind.code].fill_null(0.0)
        hi = hi + pts[ind.code].fill_null(ind.max_points)
        glo[ind.group] = glo.get(ind.group, ibis.literal(0.0)) + pts[ind.code].fill_null(0.0)
        ghi[ind.group] = ghi.get(ind.group, ibis.literal(0.0)) + pts[ind.code].fill_null(
            ind.max_points
        )
    ok = lo >= s.points.total_min
    bad = hi < s.points.total_min
    for group, gmin in s.points.groups.items():
        ok = ok & (glo.get(group, ibis.literal(0.0)) >= gmin)
        bad = bad | (ghi.get(group, ibis.literal(0.0)) < gmin)
    points_ok = ibis.cases((ok, ibis.literal(True)), (bad, ibis.literal(False)), else_=_nb())
    cols[f"{s.code}__lo"] = lo
    cols[f"{s.code}__hi"] = hi
    cols[f"{s.code}__c___points"] = points_ok
    return cols, points_ok, lo


def _scheme_columns(t: ir.Table, s: Scheme, applies: ir.BooleanValue) -> dict[str, ir.Value]:
    cols: dict[str, ir.Value] = {f"{s.code}__app": applies}
    extra: dict[str, ir.BooleanValue] = {}
    points_ok: ir.BooleanValue | None = None
    lo: ir.FloatingValue | None = None
    if s.points is not None and s.points.indicators:
        pcols, points_ok, lo = _points_columns(t, s)
        cols.update(pcols)
        if s.points.within:
            extra[s.points.within] = points_ok
    else:
        cols[f"{s.code}__lo"] = _nf()
        cols[f"{s.code}__hi"] = _nf()
    for node in (*s.requires, *s.direct, *s.conditions):
        for n in _nodes(node):
            cols[f"{s.code}__c__{n.id}"] = _node(t, n, extra)
    main_parts: list[ir.BooleanValue] = [_node(t, n, extra) for n in s.main]
    close_parts: list[ir.FloatingValue] = [
        p.fill_null(False).cast("int64").cast("float64") for p in main_parts
    ]
    if points_ok is not None and lo is not None and not (s.points and s.points.within):
        main_parts.append(points_ok)
        total_min = (s.points.total_min if s.points else 0.0) or 1.0
        close_parts.append(ibis.least(lo / total_min, ibis.literal(1.0)))
    main: ir.BooleanValue | None = None
    for p in main_parts:
        main = p if main is None else main & p
    direct: ir.BooleanValue | None = None
    for n in s.direct:
        d = _node(t, n)
        direct = d if direct is None else direct | d
    if s.requires and direct is not None:
        # a direct path still needs the preconditions (e.g. being an SME)
        req: ir.BooleanValue | None = None
        for n in s.requires:
            req = _node(t, n) if req is None else req & _node(t, n)
        direct = req & direct
    if main is None:
        status = direct if direct is not None else ibis.literal(True)
    else:
        status = main if direct is None else (direct | main)
    cols[f"{s.code}__status"] = ibis.ifelse(applies, status, _nb())
    total = ibis.literal(0.0)
    for p in close_parts:
        total = total + p
    cols[f"{s.code}__close"] = total / max(len(close_parts), 1)
    return cols


def _applies(t: ir.Table, s: Scheme, schemes: list[Scheme]) -> ir.BooleanValue:
    """The scheme applies in its region, except where a more specific one of its tier does."""
    county = t.county_code.fill_null("")
    out = county.startswith(s.region) if s.region else ibis.literal(True)
    for other in schemes:
        if other.tier != s.tier or other.category != s.category or other is s:
            continue
        if (
            other.region
            and len(other.region) > len(s.region or "")
            and (not s.region or other.region.startswith(s.region))
        ):
            out = out & ~county.startswith(other.region)
    return out


def innovation_columns(t: ir.Table, weights: dict[str, float]) -> dict[str, ir.Value]:
    """创新评动力: Σ weight × score of each indicator, where a flag scores its value (0/1) and a
    measure its percentile rank (percent_rank among the firms that report it, per basis); a
    missing indicator scores 0. Then the score's percentile rank within the firm's industry
    (GB/T 4754 division) and county."""
    score = ibis.literal(0.0)
    cols: dict[str, ir.Value] = {}
    for code, weight in weights.items():
        col = t[code]
        if code.startswith("title_") or code in ("rd_institution",):
            part = col.fill_null(0.0) * float(weight)
        else:
            w = ibis.window(group_by=[t.basis, col.isnull()], order_by=col)
            part = ibis.ifelse(col.isnull(), 0.0, ibis.percent_rank().over(w) * float(weight))
        cols[f"inno__{code}"] = part
        score = score + part
    cols["inno__score"] = score
    return cols


def evaluate(
    tables: dict[str, ir.Table],
    schemes: list[Scheme],
    year: int,
    on: date,
    settings: dict[str, Any],
) -> ir.Table:
    t = _inputs(tables, year, on, settings)
    cols: dict[str, ir.Value] = {}
    for s in schemes:
        cols.update(_scheme_columns(t, s, _applies(t, s, schemes)))
    cols.update(innovation_columns(t, settings.get("innovation", {})))
    t = t.mutate(**cols)
    if settings.get("innovation"):
        division = t.industry_code.fill_null("").substr(0, 2)
        t = t.mutate(
            inno__rank_industry=ibis.percent_rank().over(
                ibis.window(group_by=[t.basis, division], order_by=t.inno__score)
            ),
            inno__rank_county=ibis.percent_rank().over(
                ibis.window(group_by=[t.basis, t.county_code], order_by=t.inno__score)
            ),
        )
    return t.order_by(["enterprise_id", "basis"])
