"""Per-enterprise explanation (评价说明) of a stored result, in Chinese or English.

An explanation names the run (id, parameter version, input batches), every input figure with
its lineage (department, file, sheet, row), each indicator's arithmetic with its benchmark rule,
caps and missing-item fills, bonus/penalty/veto items, the total, the ranks, the class rule
that placed the firm, the previous year's result and any appeals.
"""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core.errors import Location
from industry_brain.domains.mujun.models import (
    MujunAdjustment,
    MujunAppeal,
    MujunResult,
    MujunRun,
)
from industry_brain.domains.mujun.rules import (
    CATALOGUE,
    CLASSES,
    INPUTS,
    RESULT_INPUTS,
    SCOPE_ZH,
    Benchmark,
    MujunError,
)
from industry_brain.domains.mujun.service import (
    enterprise_by_uscc,
    get_run,
    items_of,
    published_run,
)
from industry_brain.store import facts as store_facts
from industry_brain.store import scoped
from industry_brain.warehouse.engines import table_path

LANGS = ("zh", "en")
DEPT_ZH = {
    "statistics": "统计局",
    "tax": "税务局",
    "power_grid": "供电公司",
    "natural_resources": "自然资源局",
    "environment": "生态环境局",
    "market": "市场监管局",
    "appeal": "异议更正",
}
REASONS = {
    "exempt_industry": ("所属行业不参评（T 类）", "industry not evaluated (T class)"),
    "no_land": ("无用地面积数据，无法按亩均评价", "no land area, cannot be evaluated per mu"),
    "small_land": ("用地面积低于参评最小面积", "land area below the minimum for evaluation"),
    "new_enterprise": ("投产不满规定年限", "not yet in production for the required years"),
}
RUN_STATUS_ZH = {"published": "已发布", "draft": "未发布", "superseded": "已被替代"}
ENGINES = {"duckdb": "DuckDB", "pyspark": "PySpark", "spark": "Spark", "postgres": "PostgreSQL"}


def engine_name(engine: str | None) -> str:
    """The computing engine's proper name (``duckdb`` → DuckDB)."""
    return ENGINES.get(str(engine or "").lower(), str(engine or "—"))


FILL_TEXT = {
    "population_item_mean": (
        "该项缺失：按本县同类参评企业该项平均得分计",
        "item missing: the county's mean score of this item is used",
    ),
    "own_items_mean": (
        "该项缺失：按本企业其他指标得分率均值 × 权重计",
        "item missing: the firm's mean score ratio of its other items × weight",
    ),
    "zero": ("该项缺失：记 0 分", "item missing: scored 0"),
}


def _n(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{float(x):,.{digits}f}"


def _g(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{float(x):.10g}"


def _param(run: MujunRun, county: str | None, key: str) -> Any:
    by_county = run.parameters.get(county or "base") or run.parameters.get("base", {})
    entry = by_county.get(key)
    return entry["value"] if entry else None


def _cuts(quota: dict[str, float], n: int) -> dict[str, int]:
    """Places per class as the evaluation computes them: floor(cumulative share × n + 0.5)."""
    total, out = Decimal(0), {}
    for cls in CLASSES:
        total += Decimal(str(quota.get(cls, 0)))
        out[cls] = math.floor(float(total) * n + 0.5)
    return out


def _grouped(used: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Figures of one file, sheet, column and detail (e.g. 12 months of a power account) as
    one line: their sum, count and row range."""
    groups: dict[tuple, dict[str, Any]] = {}
    for u in used:
        key = (u["batch_id"], u["file"], u["sheet"], u["column"], u["detail"], u["source_dept"])
        g = groups.setdefault(
            key,
            {
                "batch_id": u["batch_id"],
                "file": u["file"],
                "sheet": u["sheet"],
                "column": u["column"],
                "detail": u["detail"],
                "source_dept": u["source_dept"],
                "value": 0.0,
                "n": 0,
                "rows": [],
            },
        )
        g["value"] += u["value"] or 0.0
        g["n"] += 1
        if u["row"] is not None:
            g["rows"].append(u["row"])
    for g in groups.values():
        g["rows"] = sorted(g["rows"]) or ["—"]
    return list(groups.values())


def _source(lin: dict[str, Any], g: dict[str, Any]) -> dict[str, Any]:
    """One grouped line of an input's lineage, for the explanation document: the fact item,
    department, batch, file, sheet, column, detail, first and last row, and the sum."""
    rows = [r for r in g["rows"] if r != "—"]
    return {
        "item": lin["item"],
        "source_dept": g["source_dept"],
        "batch_id": g["batch_id"],
        "file": g["file"],
        "sheet": g["sheet"],
        "column": g["column"],
        "detail": g["detail"],
        "first_row": rows[0] if rows else None,
        "last_row": rows[-1] if rows else None,
        "n": g["n"],
        "value": g["value"],
    }


def _lineage(session: Session, uscc: str, year: int, item: str) -> dict[str, Any]:
    data = store_facts.explain(session, uscc, year, item)
    used = [
        {
            "fact_id": u["id"],
            "value": u["value"],
            "source_dept": u["source_dept"],
            "batch_id": u["batch_id"],
            "file": u["file"],
            "sheet": u["sheet"],
            "row": u["row"],
            "column": u["column"],
            "raw_value": u["raw_value"],
            "month": u["month"],
            "detail": u["detail"],
        }
        for u in data["used"]
    ]
    return {
        "item": item,
        "current_value": data["value"],
        "source_dept": data["source_dept"],
        "used": used,
        "history": len(data["history"]),
        "superseded": [
            {"fact_id": h["id"], "value": h["value"], "reason": h["reason"]}
            for h in data["history"]
            if h["superseded_by"]
        ],
    }


CARBON_TABLES = ("result_carbon", "result_carbon_lines")


def _files_stamp(path: Path) -> tuple[tuple[str, int, int], ...]:
    """Name, modification time and size of every Parquet file of the snapshot's carbon tables
    (a table is one file or a folder of them): a rewritten file changes the stamp."""
    out = []
    for name in CARBON_TABLES:
        where = table_path(path, name)
        files = sorted(where.glob("*.parquet")) if where.is_dir() else [where]
        for f in files:
            st = f.stat()
            out.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(out)


def _carbon_index(path: Path) -> dict[str, dict[tuple[int, int], Any]]:
    """The snapshot's carbon results by (enterprise, year): the result row and its fuel lines
    in item order (read once with pyarrow; the lines' order is a stable sort by item)."""
    heads: dict[tuple[int, int], dict[str, Any]] = {}
    for row in pq.read_table(table_path(path, "result_carbon")).to_pylist():
        heads.setdefault((row["enterprise_id"], row["year"]), row)
    lines: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for row in pq.read_table(table_path(path, "result_carbon_lines")).to_pylist():
        lines.setdefault((row["enterprise_id"], row["year"]), []).append(row)
    for rows in lines.values():
        rows.sort(key=lambda r: (r["item"] is None, r["item"] or ""))
    return {"heads": heads, "lines": lines}


def carbon_lineage(
    session: Session, run: MujunRun, enterprise_id: int, year: int
) -> dict[str, Any] | None:
    """The carbon figure's own lineage, read from the warehouse snapshot the run evaluated
    (``result_carbon`` and ``result_carbon_lines`` of the carbon service; never its modules):
    the carbon run, its fuel lines (quantity × factor = CO2), electricity, the subtractions and
    the grade. None when the snapshot is gone or holds no carbon result of the enterprise.

    The two tables are read once per snapshot and kept (an index by enterprise and year, in
    the store's cache) until one of their files changes (name, time or size); a new run reads
    a new snapshot folder. Opening a DuckDB connection over the snapshot on every explanation
    cost 40–90 ms of CPU."""
    path = Path(str((run.snapshot or {}).get("path") or ""))
    if not (path / "result_carbon.parquet").exists():
        return None
    index = scoped.cached(
        session,
        ("mujun_carbon_lineage", str(path.resolve())),
        _files_stamp(path),
        lambda: _carbon_index(path),
    )
    head = index["heads"].get((enterprise_id, year))
    if head is None:
        return None
    fuel = [dict(r) for r in index["lines"].get((enterprise_id, year), [])]
    return {**head, "lines": fuel, "snapshot": str(path)}


def _carbon_text(c: dict[str, Any], zh: bool) -> list[str]:
    """Lines of the carbon lineage (a figure of the carbon accounting, with its own inputs)."""
    out = [
        f"    ← 碳效核算 批次 #{c['run_id']}（{c['year']} 年，参数版本 {c['parameter_version']}，"
        f"碳效服务发布的 result_carbon）"
        if zh
        else f"    ← carbon accounting run #{c['run_id']} ({c['year']}, parameter version "
        f"{c['parameter_version']}, published by the carbon service as result_carbon)"
    ]
    for line in c["lines"]:
        out.append(
            f"      {line['item']} {_n(line['quantity'])} {line['unit']} × {_g(line['factor'])}"
            f" = {_n(line['co2'])} tCO2"
        )
    if c.get("electricity_kwh") is not None:
        out.append(
            f"      电力 {_n(c['electricity_kwh'])} kWh，电网排放因子 {_g(c['grid_factor'])}"
            f" → {_n(c['co2_electricity'])} tCO2"
            if zh
            else f"      electricity {_n(c['electricity_kwh'])} kWh, grid factor "
            f"{_g(c['grid_factor'])} → {_n(c['co2_electricity'])} tCO2"
        )
    out.append(
        f"      能源排放 {_n(c['e_energy'])} − 零碳电力 {_n(c['e_zero_carbon'])} − 碳汇 "
        f"{_n(c['e_sinks'])} = 净排放 {_n(c['co2_net'])} tCO2；碳效等级 {c['grade'] or '—'} 级"
        if zh
        else f"      energy CO2 {_n(c['e_energy'])} − zero-carbon power {_n(c['e_zero_carbon'])}"
        f" − sinks {_n(c['e_sinks'])} = net {_n(c['co2_net'])} tCO2; grade {c['grade'] or '—'}"
    )
    return out


def explain(
    session: Session,
    uscc: str,
    year: int,
    lang: str = "zh",
    run_id: int | None = None,
    lineage: bool = True,
) -> dict[str, Any]:
    """The explanation of ``uscc``'s result of ``year`` (published run unless ``run_id``)."""
    if lang not in LANGS:
        raise MujunError(
            "mujun.lang",
            f"语言应为 zh 或 en，而不是“{lang}”",
            f"language must be zh or en, not '{lang}'",
            Location(field="lang"),
            lang,
        )
    ent = enterprise_by_uscc(session, uscc)
    run = get_run(session, run_id) if run_id else published_run(session, year)
    assert run is not None
    res = session.scalars(
        select(MujunResult).where(MujunResult.run_id == run.id, MujunResult.enterprise_id == ent.id)
    ).first()
    if res is None:
        raise MujunError(
            "mujun.not_in_run",
            f"{ent.name}（{uscc}）不在 {run.year} 年度评价批次 #{run.id} 的评价范围内"
            "（无当年规上/规下标志）",
            f"{uscc} is not in the census of run {run.id} for {run.year} "
            "(no 规上/规下 flag for the year)",
            Location(field="uscc"),
            uscc,
        )
    zh = lang == "zh"
    county = res.county_code
    labels = _param(run, county, "mujun.classes.labels") or {}
    label = labels.get(res.class_code, {}).get(lang, res.class_code)
    items = items_of(session, run.id, [ent.id])
    items = items.astype(object).where(items.notna(), None)
    lines: list[str] = []
    scope_zh = SCOPE_ZH[res.scope]
    if zh:
        lines.append(f"{res.name}（{uscc}）{year} 年度亩均效益综合评价（{scope_zh}）")
        lines.append(
            f"评价批次 #{run.id}（{'异议复核' if run.kind == 'appeal' else '年度评价'}，"
            f"{RUN_STATUS_ZH.get(run.status, run.status)}），参数版本 {run.parameter_version}，"
            f"输入数据批次 {len(run.input_batch_ids)} 个，计算引擎 {engine_name(run.engine)}"
        )
    else:
        lines.append(
            f"{res.name} ({uscc}) per-mu evaluation {year} "
            f"({'above' if res.scope == 'above' else 'below'} designated size)"
        )
        lines.append(
            f"Run #{run.id} ({run.kind}, {run.status}), parameter version "
            f"{run.parameter_version}, {len(run.input_batch_ids)} input batches, "
            f"engine {run.engine}"
        )

    # -- inputs with lineage --------------------------------------------------------------------
    needed: list[str] = ["land_mu"]
    for code in items["indicator"]:
        ind = CATALOGUE[str(code)]
        for col in (ind.numerator, ind.denominator):
            if col not in needed:
                needed.append(col)
    emission_items = _param(run, county, "mujun.inputs.emission_items") or []
    inputs = []
    lines.append("一、输入数据" if zh else "1. Inputs")
    carbon = carbon_lineage(session, run, ent.id, year) if lineage else None
    for col in needed:
        spec = INPUTS[col]
        if col in RESULT_INPUTS:
            # another service's published result: the item's denominator, with its own lineage
            uses = [CATALOGUE[str(c)].denominator == col for c in items["indicator"]]
            rows = items[uses]
            value = rows["denominator"].iloc[0] if len(rows) else None
            inputs.append(
                {
                    "column": col,
                    "item": spec.item,
                    "name": spec.zh if zh else spec.en,
                    "unit": spec.unit,
                    "value": value,
                    "lineage": [],
                    "result": carbon,
                }
            )
            lines.append(f"  {spec.zh if zh else spec.en}: {_n(value)} {spec.unit}")
            if carbon is not None:
                lines.extend(_carbon_text(carbon, zh))
            continue
        value = getattr(res, col)
        store_items = emission_items if col == "emissions_t" else [spec.item]
        lineages = [_lineage(session, uscc, year, i) for i in store_items] if lineage else []
        inputs.append(
            {
                "column": col,
                "item": spec.item if col != "emissions_t" else emission_items,
                "name": spec.zh if zh else spec.en,
                "unit": spec.unit,
                "value": value,
                "lineage": lineages,
                "sources": [_source(lin, g) for lin in lineages for g in _grouped(lin["used"])],
                "superseded": [s for lin in lineages for s in lin["superseded"]],
            }
        )
        lines.append(f"  {spec.zh if zh else spec.en}: {_n(value)} {spec.unit}")
        for lin in lineages:
            for g in _grouped(lin["used"]):
                dept = DEPT_ZH.get(g["source_dept"], g["source_dept"]) if zh else g["source_dept"]
                rows = (
                    f"{g['rows'][0]}" if len(g["rows"]) == 1 else f"{g['rows'][0]}–{g['rows'][-1]}"
                )
                where = (
                    f"{g['file']} {g['sheet'] or ''} 第 {rows} 行 {g['column'] or ''}"
                    if zh
                    else f"{g['file']} {g['sheet'] or ''} row {rows} {g['column'] or ''}"
                )
                extra = f" [{g['detail']}]" if g["detail"] else ""
                count = ""
                if g["n"] > 1:
                    count = f"（{g['n']} 项之和）" if zh else f" (sum of {g['n']})"
                lines.append(
                    f"    ← {lin['item']}{extra} {_n(g['value'])}{count} "
                    f"{dept} {where.strip()} (batch {g['batch_id']})"
                )
            for s in lin["superseded"]:
                lines.append(
                    f"    × {'已被更正' if zh else 'superseded'} fact {s['fact_id']} "
                    f"{_n(s['value'])}{'：' + s['reason'] if s['reason'] else ''}"
                )

    # -- indicators ---------------------------------------------------------------------------
    lines.append("二、指标得分" if zh else "2. Indicator scores")
    item_out = []
    scope_key = f"mujun.{res.scope}"
    bm_rules = _param(run, county, f"{scope_key}.benchmarks") or {}
    for k, it in enumerate(items.to_dict("records"), 1):
        code = str(it["indicator"])
        ind = CATALOGUE[code]
        name = ind.zh if zh else ind.en
        num, den = INPUTS[ind.numerator], INPUTS[ind.denominator]
        bm_rule = bm_rules.get(code)
        bm = Benchmark("fixed", bm_rule) if isinstance(bm_rule, int | float) else None
        if bm is None and isinstance(bm_rule, dict):
            bm = Benchmark(
                bm_rule.get("method", "mean"),
                bm_rule.get("value"),
                bm_rule.get("group", "county"),
                bm_rule.get("period", "current"),
                float(bm_rule.get("multiple", 1.0)),
            )
        rule_text = bm.describe(lang) if bm else "—"
        if it["benchmark_period"] == "current" and bm and bm.period == "previous":
            rule_text += (
                "（上年无数据，用当年）" if zh else " (no previous-year data: current year)"
            )
        scale = " × 10000" if ind.factor == 10000 else ""
        calc = (
            f"  {k}. {name} = {num.zh if zh else num.en} {_n(it['numerator'])} {num.unit}{scale}"
            f" ÷ {den.zh if zh else den.en} {_n(it['denominator'])} {den.unit}"
            f" = {_n(it['value'])} {ind.unit}"
        )
        lines.append(calc)
        n_text = f"，n = {it['benchmark_n']}" if it["benchmark_n"] is not None else ""
        if not zh and it["benchmark_n"] is not None:
            n_text = f", n = {it['benchmark_n']}"
        lines.append(
            f"     {'基准值' if zh else 'benchmark'} {_g(it['benchmark'])}（{rule_text}{n_text}）"
            if zh
            else f"     benchmark {_g(it['benchmark'])} ({rule_text}{n_text})"
        )
        weight = float(it["weight"])
        if not res.evaluated:
            arithmetic = "未参评，不计分" if zh else "not evaluated, no score"
        elif it["fill_rule"]:
            fz, fe = FILL_TEXT[str(it["fill_rule"])]
            arithmetic = f"{fz if zh else fe} → {_n(it['score'], 2)}"
        else:
            raw = it["raw_score"]
            arithmetic = (
                f"{'得分' if zh else 'score'} = {_n(it['value'])} ÷ {_g(it['benchmark'])}"
                f" × {weight:g} = {_n(raw, 2)}"
            )
            if raw is not None and raw < 0:
                arithmetic += "，负值记 0" if zh else ", negative → 0"
            if it["capped"]:
                cap = float(it["cap"])
                arithmetic += (
                    f"，超过封顶 {cap / weight:g} × {weight:g} = {cap:g}，记 {cap:g}"
                    if zh
                    else f", above the cap {cap / weight:g} × {weight:g} = {cap:g}: {cap:g}"
                )
        lines.append(f"     {arithmetic}")
        item_out.append(
            {
                "indicator": code,
                "name": name,
                "unit": ind.unit,
                "formula": ind.formula(lang),
                "numerator": it["numerator"],
                "denominator": it["denominator"],
                "value": it["value"],
                "benchmark": it["benchmark"],
                "benchmark_rule": rule_text,
                "benchmark_method": it["benchmark_method"],
                "benchmark_group": it["benchmark_group"],
                "benchmark_period": it["benchmark_period"],
                "benchmark_n": it["benchmark_n"],
                "weight": weight,
                "raw_score": it["raw_score"],
                "cap": it["cap"],
                "capped": bool(it["capped"]),
                "fill_rule": it["fill_rule"],
                "score": it["score"],
                "arithmetic": arithmetic.strip(),
            }
        )

    # -- adjustments and total ----------------------------------------------------------------
    adj_spec = _param(run, county, "mujun.adjustments.items") or {}
    adj_rows = session.scalars(
        select(MujunAdjustment)
        .where(
            MujunAdjustment.enterprise_id == ent.id,
            MujunAdjustment.year == year,
            MujunAdjustment.revoked_at.is_(None),
        )
        .order_by(MujunAdjustment.id)
    ).all()
    adjustments = []
    for a in adj_rows:
        spec = adj_spec.get(a.code, {})
        adjustments.append(
            {
                "code": a.code,
                "label": spec.get(lang, a.code),
                "points": spec.get("points", 0),
                "veto": bool(spec.get("veto", False)),
                "note": a.note,
                "source": a.source,
                "recorded_by": a.recorded_by,
            }
        )
    lines.append("三、综合得分" if zh else "3. Total")
    if res.evaluated:
        parts = " + ".join(_n(i["score"], 2) for i in item_out)
        lines.append(
            f"  指标得分合计 {parts} = {_n(res.base_score, 2)}；加分 {_n(res.bonus, 2)}，"
            f"减分 {_n(res.penalty, 2)} → 综合得分 {_n(res.score, 2)}"
            if zh
            else f"  items {parts} = {_n(res.base_score, 2)}; bonus {_n(res.bonus, 2)}, "
            f"penalty {_n(res.penalty, 2)} → score {_n(res.score, 2)}"
        )
        for a in adjustments:
            sign = (
                "一票否决" if a["veto"] and zh else ("veto" if a["veto"] else f"{a['points']:+g}")
            )
            lines.append(f"  · {a['label']} {sign}  {a['source'] or ''} {a['note'] or ''}".rstrip())
        grade_points = _param(run, county, "mujun.carbon.grade_points") or {}
        if grade_points and carbon is not None and carbon.get("grade") is not None:
            points = grade_points.get(carbon["grade"], grade_points.get(str(carbon["grade"]), 0))
            adjustments.append(
                {
                    "code": "carbon_grade",
                    "label": f"碳效等级 {carbon['grade']} 级"
                    if zh
                    else f"carbon grade {carbon['grade']}",
                    "points": points,
                    "veto": False,
                    "note": None,
                    "source": f"碳效核算批次 #{carbon['run_id']}"
                    if zh
                    else f"carbon accounting run #{carbon['run_id']}",
                    "recorded_by": None,
                }
            )
            lines.append(
                f"  · 碳效等级 {carbon['grade']} 级 {float(points):+g}"
                f"（碳效批次 #{carbon['run_id']}）"
                if zh
                else f"  · carbon grade {carbon['grade']} {float(points):+g} "
                f"(carbon run #{carbon['run_id']})"
            )
        if adjustments and (res.bonus or res.penalty):
            limits = _param(run, county, "mujun.adjustments.limits") or {}
            lines.append(
                f"  加分上限 {limits.get('bonus_max')}，减分上限 {limits.get('penalty_max')}"
                if zh
                else f"  bonus cap {limits.get('bonus_max')}, "
                f"penalty cap {limits.get('penalty_max')}"
            )
    else:
        rz, re_ = REASONS.get(res.exempt_reason or "", (res.exempt_reason, res.exempt_reason))
        detail = ""
        if res.exempt_reason == "small_land":
            minimum = _param(run, county, f"{scope_key}.min_land_mu")
            detail = (
                f"（{_n(res.land_mu, 2)} 亩 < {minimum} 亩）"
                if zh
                else f" ({_n(res.land_mu, 2)} mu < {minimum} mu)"
            )
        if res.exempt_reason == "exempt_industry":
            detail = f"（行业大类 {res.division}）" if zh else f" (division {res.division})"
        lines.append(f"  不参评：{rz}{detail}" if zh else f"  not evaluated: {re_}{detail}")

    # -- rank and class -----------------------------------------------------------------------
    lines.append("四、排名与分类" if zh else "4. Rank and class")
    method = _param(run, county, f"{scope_key}.class_method")
    class_rule: dict[str, Any] = {"rule": res.class_rule}
    if res.evaluated:
        lines.append(
            f"  本县{scope_zh}参评 {res.n_county} 家中第 {res.rank_county} 名；"
            f"同行业（大类 {res.division}）{scope_zh} {res.n_industry} 家中"
            f"第 {res.rank_industry} 名"
            if zh
            else f"  rank {res.rank_county} of {res.n_county} in the county, "
            f"{res.rank_industry} of {res.n_industry} in division {res.division}"
        )
    if res.class_rule == "veto":
        vetoes = [a["label"] for a in adjustments if a["veto"]]
        text = (
            f"一票否决（{'、'.join(vetoes)}）→ D 类"
            if zh
            else f"one-vote veto ({', '.join(vetoes)}) → class D"
        )
    elif res.class_rule == "quota":
        quota = _param(run, county, f"{scope_key}.class_quota") or {}
        cuts = _cuts(quota, int(res.n_county or 0))
        ranges, start = [], 1
        for cls in CLASSES:
            end = cuts[cls]
            if end >= start:
                ranges.append(f"{cls} {start}–{end}")
            start = max(start, end + 1)
        shares = "，".join(f"{c} {quota.get(c, 0):.0%}" for c in CLASSES)
        text = (
            f"按名额分类（{shares}，名额 = 占比累计 × {res.n_county} 四舍五入）："
            f"{'；'.join(ranges)}；第 {res.rank_county} 名 → {res.class_code} 类"
            if zh
            else f"by quota ({shares.replace('，', ', ')}; places = cumulative share × "
            f"{res.n_county}, rounded): {'; '.join(ranges)}; rank {res.rank_county} → "
            f"class {res.class_code}"
        )
        class_rule.update(quota=quota, places=cuts)
    elif res.class_rule == "threshold":
        th = _param(run, county, f"{scope_key}.class_thresholds") or {}
        bounds = "，".join(f"{c} ≥ {th[c]:g}" for c in ("A", "B", "C") if c in th)
        text = (
            f"按分数线分类（{bounds}，其余 D）：{_n(res.score, 2)} 分 → {res.class_code} 类"
            if zh
            else f"by thresholds ({bounds.replace('，', ', ')}, else D): score "
            f"{_n(res.score, 2)} → class {res.class_code}"
        )
        class_rule.update(thresholds=th)
    else:
        text = "不参评 → T 类" if zh else "not evaluated → class T"
    lines.append(f"  {text}（{label}）" if zh else f"  {text} ({label})")
    class_rule["text"] = text

    # -- previous year and appeals ------------------------------------------------------------
    previous = None
    prev_run = published_run(session, year - 1, required=False)
    if prev_run is not None:
        prev = session.scalars(
            select(MujunResult).where(
                MujunResult.run_id == prev_run.id, MujunResult.enterprise_id == ent.id
            )
        ).first()
        if prev is not None:
            change = (
                res.score - prev.score if res.score is not None and prev.score is not None else None
            )
            previous = {
                "year": year - 1,
                "run_id": prev_run.id,
                "class_code": prev.class_code,
                "score": prev.score,
                "rank_county": prev.rank_county,
                "score_change": change,
            }
            lines.append("五、上年对比" if zh else "5. Previous year")
            delta = f"{change:+.2f}" if change is not None else "—"
            lines.append(
                f"  {year - 1} 年：{prev.class_code} 类，{_n(prev.score, 2)} 分；"
                f"本年变化 {delta} 分"
                if zh
                else f"  {year - 1}: class {prev.class_code}, score {_n(prev.score, 2)}; "
                f"change {delta}"
            )
    appeals = [
        {
            "id": a.id,
            "item": a.item,
            "status": a.status,
            "disputed_value": a.disputed_value,
            "claimed_value": a.claimed_value,
            "corrected_value": a.corrected_value,
            "statement": a.statement,
            "decision_reason": a.decision_reason,
            "new_run_id": a.new_run_id,
        }
        for a in session.scalars(
            select(MujunAppeal)
            .where(MujunAppeal.enterprise_id == ent.id, MujunAppeal.year == year)
            .order_by(MujunAppeal.id)
        )
    ]
    if appeals:
        lines.append("六、异议" if zh else "6. Appeals")
        for a in appeals:
            new = a["corrected_value"] if a["corrected_value"] is not None else a["claimed_value"]
            lines.append(
                f"  #{a['id']} {a['item']} {a['status']}: {_n(a['disputed_value'])} → {_n(new)}"
                f" {a['decision_reason'] or a['statement']}"
            )
    return {
        "uscc": uscc,
        "name": res.name,
        "year": year,
        "lang": lang,
        "run": {
            "id": run.id,
            "kind": run.kind,
            "status": run.status,
            "parameter_version": run.parameter_version,
            "input_batch_ids": run.input_batch_ids,
            "engine": run.engine,
            "created_at": run.created_at.isoformat() if run.created_at else None,
        },
        "engine_name": engine_name(run.engine),
        "county_code": county,
        "industry_code": res.industry_code,
        "scope": res.scope,
        "evaluated": res.evaluated,
        "exempt_reason": res.exempt_reason,
        "exempt_text": (
            REASONS.get(res.exempt_reason or "", (res.exempt_reason, res.exempt_reason))[
                0 if zh else 1
            ]
            if not res.evaluated
            else None
        ),
        "inputs": inputs,
        "items": item_out,
        "adjustments": adjustments,
        "base_score": res.base_score,
        "bonus": res.bonus,
        "penalty": res.penalty,
        "veto": res.veto,
        "score": res.score,
        "rank_county": res.rank_county,
        "n_county": res.n_county,
        "rank_industry": res.rank_industry,
        "n_industry": res.n_industry,
        "class_code": res.class_code,
        "class_label": label,
        "class_rule": class_rule,
        "method": method,
        "previous": previous,
        "appeals": appeals,
        "text": "\n".join(lines),
    }
