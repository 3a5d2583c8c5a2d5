"""Explanation of one enterprise's carbon result: every input with its lineage, every factor and
cut-off with its source and quality tag, and the arithmetic step by step (中文 / English).

The numbers come from the stored result and its lines (what the run computed); the parameter
metadata is resolved again for the enterprise's region and year, and a change of the parameter
files since the run is reported.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core import uscc as uscc_mod
from industry_brain.domains.carbon import improve
from industry_brain.domains.carbon.models import CarbonResult, CarbonResultLine, CarbonRun
from industry_brain.domains.carbon.rules import BELOW_METHOD, LEVEL_EN, on_date, resolve_all
from industry_brain.domains.carbon.service import result_dict, result_for
from industry_brain.store import facts as facts_mod
from industry_brain.store.audit import record
from industry_brain.store.enterprises import get_by_uscc
from industry_brain.store.models import Industry

FUEL_ZH = {
    "fuel.coal_raw": "原煤",
    "fuel.coke": "焦炭",
    "fuel.crude_oil": "原油",
    "fuel.fuel_oil": "燃料油",
    "fuel.gasoline": "汽油",
    "fuel.kerosene": "煤油",
    "fuel.diesel": "柴油",
    "fuel.lpg": "液化石油气",
    "fuel.refinery_gas": "炼厂干气",
    "fuel.natural_gas": "天然气",
    "fuel.heat": "外购热力",
}
#: the store items read as purchased electricity (``carbon.electricity_sources``)
ELECTRICITY_TEXT = {
    "electricity": ("电网抄表用电量", "metered grid electricity"),
    "fuel.electricity": ("统计能源报表外购电力", "purchased electricity of the energy report"),
}
#: parameter quality tags as words (the web shows them as badges with their meaning)
QUALITY_TEXT = {
    "V": ("已核实", "verified"),
    "SEED": ("参考资料", "reference"),
    "PRIOR": ("往年取值", "prior year"),
    "DEFAULT": ("系统默认", "default"),
    "NOT_FOUND": ("未找到依据", "no source found"),
}


def quality(tag: str | None, zh: bool) -> str:
    """A parameter's quality tag as a word (``V`` → 已核实 / verified)."""
    if not tag:
        return "—"
    pair = QUALITY_TEXT.get(tag)
    return (pair[0] if zh else pair[1]) if pair else tag


def _electricity(item: str | None, zh: bool) -> str:
    if not item:
        return "无数据" if zh else "no data"
    pair = ELECTRICITY_TEXT.get(item)
    return (pair[0] if zh else pair[1]) if pair else item


FUEL_EN = {
    "fuel.coal_raw": "raw coal",
    "fuel.coke": "coke",
    "fuel.crude_oil": "crude oil",
    "fuel.fuel_oil": "fuel oil",
    "fuel.gasoline": "gasoline",
    "fuel.kerosene": "kerosene",
    "fuel.diesel": "diesel",
    "fuel.lpg": "LPG",
    "fuel.refinery_gas": "refinery gas",
    "fuel.natural_gas": "natural gas",
    "fuel.heat": "purchased heat",
}
#: units as English text reads them
UNITS_EN = {"万元": "10k yuan", "万m³": "10k m³", "万立方米": "10k m³", "立方米": "m³", "吨": "t"}


def _english(text: str) -> str:
    for zh, en in UNITS_EN.items():
        text = text.replace(zh, en)
    return text


STATUS_TEXT = {
    "VA_NONPOSITIVE": ("增加值缺失或不大于 0", "value added missing or ≤ 0"),
    "BASE_NONPOSITIVE": ("分母（营业收入/税收）缺失或不大于 0", "revenue/tax missing or ≤ 0"),
    "NO_ENERGY_DATA": ("没有任何能源数据", "no energy data"),
    "NO_INDUSTRY": ("缺少行业代码", "no industry code"),
    "INDUSTRY_AVG_NONPOSITIVE": ("行业平均不大于 0，无法计算 K", "industry average ≤ 0: no K"),
}
DENOM_EN = {"value_added": "value added", "revenue": "revenue", "tax_paid": "tax paid"}
METHOD_TEXT = {
    "huzhou_2021": (
        "规上：湖州《规上工业企业碳效等级评价方法》，L = 碳排放 / 增加值",
        "above-size: Huzhou method, L = CO2 / value added",
    ),
    BELOW_METHOD: (
        "规下：代理方法（软件缺省值，非公开标准），L' = 碳排放 / 营业收入或税收",
        "below-size: proxy method (software DEFAULT, not a published standard), "
        "L' = CO2 / revenue or tax",
    ),
}


def num(x: float | None, digits: int = 4) -> str:
    """A number for reading: rounded to ``digits`` decimals, trailing zeros dropped."""
    if x is None:
        return "-"
    text = f"{x:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _param(res: dict[str, Any], key: str) -> dict[str, Any]:
    r = res.get(key)
    return r.to_dict() if r is not None else {"key": key, "value": None}


def _lineage(session: Session, uscc: str, year: int, item: str) -> dict[str, Any]:
    data = facts_mod.explain(session, uscc, year, item)
    return {
        "item": item,
        "value": data["value"],
        "unit": data["unit"],
        "source_dept": data["source_dept"],
        "facts": [
            {"file": u["file"], "sheet": u["sheet"], "row": u["row"], "batch_id": u["batch_id"]}
            for u in data["used"][:12]
        ],
        "facts_total": len(data["used"]),
    }


def _industry_totals(session: Session, res: CarbonResult) -> tuple[float, float, int]:
    co2, base, n = session.execute(
        select(
            func.sum(CarbonResult.co2_net),
            func.sum(CarbonResult.denominator),
            func.count(CarbonResult.id),
        ).where(
            CarbonResult.run_id == res.run_id,
            CarbonResult.method == res.method,
            CarbonResult.peer_region == res.peer_region,
            CarbonResult.industry_key == res.industry_key,
            CarbonResult.status.in_(["graded", "INDUSTRY_AVG_NONPOSITIVE"]),
        )
    ).one()
    return float(co2 or 0.0), float(base or 0.0), int(n or 0)


def explain(
    session: Session, uscc: str, year: int | None = None, actor: str = "cli"
) -> dict[str, Any]:
    """The full explanation of the enterprise's current result of ``year`` (read is audited)."""
    ent = get_by_uscc(session, uscc_mod.normalize(uscc))
    res = result_for(session, ent, year)
    run = session.get(CarbonRun, res.run_id)
    assert run is not None
    params = parameters.load()
    resolved = resolve_all(params, ent.county_code, res.year)
    industry = session.get(Industry, res.industry_key) if res.industry_key else None
    lines = list(
        session.scalars(
            select(CarbonResultLine)
            .where(
                CarbonResultLine.run_id == res.run_id,
                CarbonResultLine.enterprise_id == ent.id,
            )
            .order_by(CarbonResultLine.item)
        )
    )
    used_keys: list[str] = []
    zh: list[str] = []
    en: list[str] = []
    steps: list[dict[str, Any]] = []

    def step(key: str, text_zh: str, text_en: str, value: Any, unit: str = "") -> None:
        text_en = _english(text_en)
        steps.append({"step": key, "zh": text_zh, "en": text_en, "value": value, "unit": unit})
        zh.append(text_zh)
        en.append(text_en)

    # 1. fuels and heat
    fuel_lines = []
    for ln in lines:
        key = (
            "carbon.heat_factor"
            if ln.item == "fuel.heat"
            else f"carbon.emission_factors.{ln.item.split('.', 1)[1]}"
        )
        meta = _param(resolved, key)
        used_keys.append(key)
        fuel_lines.append(
            {
                "item": ln.item,
                "zh": FUEL_ZH.get(ln.item, ln.item),
                "group": ln.fuel_group,
                "quantity": ln.quantity,
                "unit": ln.unit,
                "factor": ln.factor,
                "factor_unit": meta.get("unit"),
                "co2": ln.co2,
                "parameter": key,
                "quality": meta.get("quality"),
                "source": meta.get("source"),
            }
        )
        step(
            f"fuel:{ln.item}",
            f"{FUEL_ZH.get(ln.item, ln.item)}：{num(ln.quantity)} {ln.unit} × {num(ln.factor)} "
            f"{meta.get('unit') or ''} = {num(ln.co2)} tCO2"
            f"（因子{quality(meta.get('quality'), True)}）",
            f"{FUEL_EN.get(ln.item, ln.item)}: {num(ln.quantity)} {ln.unit} × {num(ln.factor)} "
            f"{meta.get('unit') or ''} = {num(ln.co2)} tCO2 "
            f"(factor {quality(meta.get('quality'), False)})",
            ln.co2,
            "tCO2",
        )
    fuels_total = res.co2_coal + res.co2_oil + res.co2_gas + res.co2_other_fuel
    # 2. electricity
    grid = _param(resolved, "carbon.grid_factor")
    used_keys += ["carbon.grid_factor", "carbon.electricity_sources", "carbon.onsite_pv_in_use"]
    pv_in_use = bool(_param(resolved, "carbon.onsite_pv_in_use").get("value"))
    kwh = res.electricity_kwh or 0.0
    pv_part = res.onsite_pv_kwh if pv_in_use else 0.0
    step(
        "electricity",
        f"电力：({num(kwh, 0)} kWh 外购（{_electricity(res.electricity_item, True)}）"
        f" + {num(pv_part, 0)} kWh 自发自用) × {num(res.grid_factor)} tCO2/MWh ÷ 1000 = "
        f"{num(res.co2_electricity)} tCO2（电网因子{quality(grid.get('quality'), True)}，"
        f"地区 {grid.get('region')}）",
        f"electricity: ({num(kwh, 0)} kWh purchased ({_electricity(res.electricity_item, False)})"
        f" + {num(pv_part, 0)} kWh own PV) × {num(res.grid_factor)} tCO2/MWh / 1000 = "
        f"{num(res.co2_electricity)} tCO2 (grid factor {quality(grid.get('quality'), False)}, "
        f"region {grid.get('region')})",
        res.co2_electricity,
        "tCO2",
    )
    step(
        "e_energy",
        f"能耗碳排放 E_energy = 燃料 {num(fuels_total)} + 热力 {num(res.co2_heat)} + 电力 "
        f"{num(res.co2_electricity)} = {num(res.e_energy)} tCO2",
        f"E_energy = fuels {num(fuels_total)} + heat {num(res.co2_heat)} + electricity "
        f"{num(res.co2_electricity)} = {num(res.e_energy)} tCO2",
        res.e_energy,
        "tCO2",
    )
    step(
        "e_zero",
        f"零碳电力 E_zero = (绿电 {num(res.green_power_kwh, 0)} + 自发光伏 "
        f"{num(res.onsite_pv_kwh, 0)}) kWh × {num(res.grid_factor)} ÷ 1000 = "
        f"{num(res.e_zero_carbon)} tCO2；碳汇 E_sinks = {num(res.e_sinks)} tCO2",
        f"E_zero = (green power {num(res.green_power_kwh, 0)} + own PV "
        f"{num(res.onsite_pv_kwh, 0)}) kWh × {num(res.grid_factor)} / 1000 = "
        f"{num(res.e_zero_carbon)} tCO2; sinks E_sinks = {num(res.e_sinks)} tCO2",
        res.e_zero_carbon,
        "tCO2",
    )
    step(
        "co2_net",
        f"碳排量 = {num(res.e_energy)} − {num(res.e_zero_carbon)} − {num(res.e_sinks)} = "
        f"{num(res.co2_net)} tCO2",
        f"CO2 net = {num(res.e_energy)} − {num(res.e_zero_carbon)} − {num(res.e_sinks)} = "
        f"{num(res.co2_net)} tCO2",
        res.co2_net,
        "tCO2",
    )
    # 3. intensity, industry, K, level, grade
    decimals = int(_param(resolved, "carbon.rounding_decimals").get("value") or 4)
    denom_zh = {"value_added": "增加值", "revenue": "营业收入", "tax_paid": "实缴税金"}
    dz = denom_zh.get(res.denominator_item, res.denominator_item)
    if res.method == BELOW_METHOD:
        used_keys += ["carbon.below.denominator", "carbon.below.level_bands"]
        bands = _param(resolved, "carbon.below.level_bands")
        band_values = (bands.get("value") or {}).get(res.denominator_item)
    else:
        used_keys.append("carbon.level_bands")
        bands = _param(resolved, "carbon.level_bands")
        band_values = bands.get("value")
    used_keys += [
        "carbon.method",
        "carbon.grade_cuts",
        "carbon.industry_level",
        "carbon.peer_scope",
        "carbon.rounding_decimals",
        "carbon.label_format",
    ]
    raw_l = (
        res.co2_net / res.denominator
        if res.co2_net is not None and res.denominator and res.denominator > 0
        else None
    )
    if raw_l is not None:
        step(
            "intensity",
            f"碳效 L = 碳排量 / {dz} = {num(res.co2_net)} / {num(res.denominator)} 万元 = "
            f"{num(raw_l, 8)} → 保留 {decimals} 位 {num(res.intensity, decimals)} tCO2/万元",
            f"L = CO2 net / {DENOM_EN.get(res.denominator_item, res.denominator_item)} = "
            f"{num(res.co2_net)} / "
            f"{num(res.denominator)} 万元 = {num(raw_l, 8)} → {decimals} decimals "
            f"{num(res.intensity, decimals)} tCO2/万元",
            res.intensity,
            "tCO2/万元",
        )
    ind: dict[str, Any] = {}
    if res.status in ("graded", "INDUSTRY_AVG_NONPOSITIVE"):
        co2_sum, base_sum, n = _industry_totals(session, res)
        ind = {
            "industry_key": res.industry_key,
            "industry_name": industry.name if industry else None,
            "peer_region": res.peer_region,
            "peers": n,
            "co2_sum": co2_sum,
            "denominator_sum": base_sum,
            "intensity": res.industry_intensity,
            "q25": res.industry_q25,
        }
        step(
            "industry",
            f"行业平均（{res.industry_key} {ind['industry_name'] or ''}，地区 {res.peer_region}*，"
            f"{n} 家）= Σ碳排量 / Σ{dz} = {num(co2_sum)} / {num(base_sum)} = "
            f"{num(res.industry_intensity, 8)} tCO2/万元",
            f"industry average ({res.industry_key}, region {res.peer_region}*, {n} firms) = "
            f"ΣCO2 / Σ{DENOM_EN.get(res.denominator_item, res.denominator_item)} = "
            f"{num(co2_sum)} / {num(base_sum)} = "
            f"{num(res.industry_intensity, 8)} tCO2/万元",
            res.industry_intensity,
            "tCO2/万元",
        )
    if res.status == "graded":
        cuts = _param(resolved, "carbon.grade_cuts")
        raw_k = (
            raw_l / res.industry_intensity if raw_l is not None and res.industry_intensity else None
        )
        step(
            "k",
            f"碳效值 K = L / 行业平均 = {num(raw_l, 8)} / {num(res.industry_intensity, 8)} = "
            f"{num(raw_k, 8)} → {num(res.k_value, decimals)}",
            f"K = L / industry average = {num(raw_l, 8)} / {num(res.industry_intensity, 8)} = "
            f"{num(raw_k, 8)} → {num(res.k_value, decimals)}",
            res.k_value,
        )
        lo, hi = band_values or (None, None)
        step(
            "level",
            f"碳效水平：L = {num(res.intensity, decimals)}，分档 ≤{lo} 低碳 / ≤{hi} 中碳 / "
            "以上高碳 "
            f"→ {res.level}（分档{quality(bands.get('quality'), True)}）",
            f"level: L = {num(res.intensity, decimals)}, bands ≤{lo} low / ≤{hi} mid / above "
            f"high → {LEVEL_EN.get(res.level or '', res.level)} "
            f"(bands {quality(bands.get('quality'), False)})",
            res.level,
        )
        c = cuts.get("value") or []
        step(
            "grade",
            f"碳效等级：K = {num(res.k_value, decimals)}，切分点 {c}（含上界）→ {res.grade} 级"
            f"（切分点{quality(cuts.get('quality'), True)}）；标识 {res.label}",
            f"grade: K = {num(res.k_value, decimals)}, cut-offs {c} (upper bounds inclusive) → "
            f"grade {res.grade} (cut-offs {quality(cuts.get('quality'), False)}); "
            f"label {LEVEL_EN.get(res.level or '', res.level)} {res.grade}",
            res.grade,
        )
        step(
            "neutral_rate",
            f"碳中和率 = (E_zero + E_sinks) / E_energy = ({num(res.e_zero_carbon)} + "
            f"{num(res.e_sinks)}) / {num(res.e_energy)} = {num(res.neutral_rate, 6)}（系统默认）",
            f"carbon-neutral rate = (E_zero + E_sinks) / E_energy = ({num(res.e_zero_carbon)} "
            f"+ {num(res.e_sinks)}) / {num(res.e_energy)} = {num(res.neutral_rate, 6)} (default)",
            res.neutral_rate,
        )
    else:
        text = STATUS_TEXT.get(res.status, (res.status, res.status))
        step("status", f"未评级：{text[0]}", f"not graded: {text[1]}", res.status)
    used = sorted(set(used_keys))
    param_list = [_param(resolved, k) for k in used]
    defaults = [p["key"] for p in param_list if p.get("quality") == "DEFAULT"]
    if res.method == BELOW_METHOD:
        defaults = sorted(set(defaults) | {"carbon.below.denominator"})
    items = [res.denominator_item, *([res.electricity_item] if res.electricity_item else [])]
    items += [ln.item for ln in lines]
    lineage = [_lineage(session, ent.uscc, res.year, item) for item in items]
    assist = [
        int(g) for g in params.get("carbon.assist_grades", ent.county_code, on_date(res.year))
    ]
    improvement = (
        improve.for_result(res) if res.status == "graded" and res.grade in assist else None
    )
    record(session, actor, "carbon.explain", "enterprise", ent.uscc, {"year": res.year})
    return {
        "uscc": ent.uscc,
        "name": ent.name,
        "county_code": ent.county_code,
        "industry_code": ent.industry_code,
        "year": res.year,
        "method": res.method,
        "method_text": {"zh": METHOD_TEXT[res.method][0], "en": METHOD_TEXT[res.method][1]},
        "status": res.status,
        "status_text": dict(
            zip(("zh", "en"), STATUS_TEXT.get(res.status, (None, None)), strict=True)
        ),
        "level_en": LEVEL_EN.get(res.level or "", res.level),
        "result": result_dict(res),
        "run": {
            "id": run.id,
            "engine": run.engine,
            "created_at": run.created_at.isoformat() if run.created_at else None,
            "parameter_version": run.parameter_version,
            "snapshot_created_at": run.snapshot_created_at,
            "batch_ids": run.batch_ids,
        },
        "parameter_version_now": params.version("carbon"),
        "parameters_changed": params.version("carbon") != run.parameter_version,
        "fuel_lines": fuel_lines,
        "industry": ind,
        "steps": steps,
        "parameters": param_list,
        "defaults": defaults,
        "lineage": lineage,
        "improvement": improvement,
        "text": {"zh": zh, "en": en},
    }
