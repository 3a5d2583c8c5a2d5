"""Indicators (评价指标) and the parameters of an evaluation resolved into rule tables.

The indicator catalogue is the only place where formulas live (an indicator is a ratio of two
store items); which indicators count, their weights, benchmarks, caps, missing-item rules,
classification and bonus/penalty items are dated regional parameters (``mujun.yaml`` and its
county overrides), resolved per county for the data year (value in force on 1 January).
A :class:`RuleSet` turns them into small tables that the Ibis evaluation joins, so every county
can have its own scheme while one expression evaluates all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from industry_brain.core import parameters
from industry_brain.core.errors import IBError, Location
from industry_brain.store.codes import jurisdiction

SCOPES = ("above", "below")
SCOPE_ZH = {"above": "规上", "below": "规下"}
CLASSES = ("A", "B", "C", "D")
BENCHMARK_METHODS = ("fixed", "mean", "median", "aggregate")
BENCHMARK_GROUPS = ("county", "industry", "county_industry", "all")
#: Levels of GB/T 4754 for industry peers (``mujun.industry_level``) and their code digits.
INDUSTRY_DIGITS = {"division": 2, "group": 3, "class": 4}
BENCHMARK_PERIODS = ("current", "previous")
MISSING_RULES = ("population_item_mean", "own_items_mean", "zero")
CLASS_METHODS = ("quota", "threshold")
#: Emission items that may be summed into 主要污染物排放量 (store items, tonnes).
EMISSION_ITEMS = (
    "emission.cod",
    "emission.ammonia",
    "emission.so2",
    "emission.nox",
    "emission.equivalent",
)
#: Inputs whose absence may be read as zero (``mujun.inputs.zero_when_absent``).
ZERO_ABLE = ("tax_paid", "rd_expense")


class MujunError(IBError):
    """A 亩均 evaluation problem (bad parameter, no results, bad appeal…), in zh and en."""


@dataclass(frozen=True)
class Input:
    """A store item used by the indicators, with the column name it gets in the evaluation."""

    column: str
    item: str
    unit: str
    zh: str
    en: str


INPUTS: dict[str, Input] = {
    i.column: i
    for i in (
        Input("tax", "tax_paid", "万元", "评价税收（实缴税金）", "tax paid"),
        Input("value_added", "value_added", "万元", "工业增加值", "industrial value added"),
        Input("revenue", "revenue", "万元", "营业收入", "revenue"),
        Input("rd_expense", "rd_expense", "万元", "R&D经费支出", "R&D expenditure"),
        Input("employees", "employees", "人", "年平均职工人数", "average employees"),
        Input("energy_tce", "energy_total", "tce", "综合能耗", "total energy consumption"),
        Input("emissions_t", "emission.*", "t", "主要污染物排放量", "main pollutant emissions"),
        Input("electricity_kwh", "electricity", "kWh", "用电量", "electricity consumption"),
        Input("land_mu", "land_area", "亩", "用地面积", "land area"),
        Input("output_value", "output_value", "万元", "工业总产值", "gross industrial output"),
        Input(
            "co2_net",
            "result_carbon.co2_net",
            "tCO2",
            "净碳排放量（碳效核算）",
            "net CO2 emissions (carbon accounting)",
        ),
    )
}
#: Inputs read from other services' published results (warehouse result tables), not facts.
RESULT_INPUTS = {"co2_net": "result_carbon"}


@dataclass(frozen=True)
class Indicator:
    """An evaluation indicator: ``numerator × factor / denominator`` (both store inputs)."""

    code: str
    zh: str
    en: str
    unit: str
    numerator: str  # INPUTS column
    denominator: str  # INPUTS column
    factor: float = 1.0

    def formula(self, lang: str = "zh") -> str:
        num, den = INPUTS[self.numerator], INPUTS[self.denominator]
        if lang == "zh":
            scale = "×10000" if self.factor == 10000 else ""
            return f"{self.zh} = {num.zh}（{num.unit}）{scale} ÷ {den.zh}（{den.unit}）"
        scale = " × 10000" if self.factor == 10000 else ""
        return f"{self.en} = {num.en} ({num.unit}){scale} / {den.en} ({den.unit})"


#: The catalogue, in the fixed order used for sums (so both engines add in the same order).
CATALOGUE: dict[str, Indicator] = {
    i.code: i
    for i in (
        Indicator("tax_per_mu", "亩均税收", "tax per mu", "万元/亩", "tax", "land_mu"),
        Indicator(
            "va_per_mu", "亩均增加值", "value added per mu", "万元/亩", "value_added", "land_mu"
        ),
        Indicator(
            "revenue_per_mu", "亩均营业收入", "revenue per mu", "万元/亩", "revenue", "land_mu"
        ),
        Indicator(
            "va_per_tce",
            "单位能耗增加值",
            "value added per tce",
            "万元/tce",
            "value_added",
            "energy_tce",
        ),
        Indicator("tax_per_tce", "单位能耗税收", "tax per tce", "万元/tce", "tax", "energy_tce"),
        Indicator(
            "va_per_emission",
            "单位排放增加值",
            "value added per tonne of pollutants",
            "万元/t",
            "value_added",
            "emissions_t",
        ),
        Indicator(
            "labour_productivity",
            "全员劳动生产率",
            "labour productivity",
            "万元/人",
            "value_added",
            "employees",
        ),
        Indicator(
            "rd_ratio", "R&D经费占营业收入比重", "R&D intensity", "ratio", "rd_expense", "revenue"
        ),
        Indicator(
            "tax_per_kwh",
            "单位电耗税收",
            "tax per kWh",
            "元/kWh",
            "tax",
            "electricity_kwh",
            10000.0,
        ),
        Indicator(
            "va_per_co2",
            "单位碳排放增加值",
            "value added per tonne of CO2",
            "万元/tCO2",
            "value_added",
            "co2_net",
        ),
    )
}
CODES: tuple[str, ...] = tuple(CATALOGUE)


@dataclass(frozen=True)
class Benchmark:
    """基准值 rule: a fixed value, or a statistic of the evaluated population."""

    method: str  # fixed | mean | median | aggregate (Σ numerator / Σ denominator)
    value: float | None = None
    group: str | None = None  # county | industry | county_industry | all
    period: str | None = None  # current | previous (falls back to current when empty)
    multiple: float = 1.0

    def describe(self, lang: str = "zh") -> str:
        if self.method == "fixed":
            return f"固定基准值 {self.value:g}" if lang == "zh" else f"fixed value {self.value:g}"
        zh_group = {
            "county": "本县（区）",
            "industry": "全市同行业",
            "county_industry": "本县同行业",
            "all": "全部",
        }
        zh_method = {"mean": "平均值", "median": "中位数", "aggregate": "总量比值"}
        zh_period = {"current": "当年", "previous": "上年"}
        mult = "" if self.multiple == 1 else f" × {self.multiple:g}"
        if lang == "zh":
            return (
                f"{zh_period[self.period or 'current']}{zh_group[self.group or 'county']}"
                f"参评企业{zh_method[self.method]}{mult}"
            )
        return (
            f"{self.method} of the evaluated firms ({self.group}, "
            f"{self.period or 'current'} year){mult}"
        )


@dataclass
class ScopeRules:
    """The scheme of one scope (规上 ``above`` or 规下 ``below``) in one county."""

    scope: str
    weights: dict[str, float]
    benchmarks: dict[str, Benchmark]
    caps: dict[str, float | None]
    missing: dict[str, str]
    min_land_mu: float
    class_method: str
    quota: dict[str, float]
    thresholds: dict[str, float]


@dataclass
class AdjustmentItem:
    code: str
    points: float
    veto: bool
    zh: str
    en: str


@dataclass
class CountyRules:
    """Everything an evaluation needs for one county (``""`` = enterprises without county)."""

    county: str
    year: int
    scopes: dict[str, ScopeRules]
    zero_when_absent: list[str]
    emission_items: list[str]
    exempt_divisions: list[str]
    min_years_reporting: int
    adjustments: dict[str, AdjustmentItem]
    bonus_max: float
    penalty_max: float
    benchmark_decimals: int
    score_decimals: int
    labels: dict[str, dict[str, str]]
    resolved: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: 碳效等级 → bonus (> 0) or penalty (< 0) points, from the carbon service's results
    carbon_grade_points: dict[int, float] = field(default_factory=dict)

    @property
    def uses_carbon(self) -> bool:
        """Whether this county's scheme reads the carbon service's results."""
        return bool(self.carbon_grade_points) or any(
            "va_per_co2" in sr.weights for sr in self.scopes.values()
        )


@dataclass
class RuleSet:
    """Rules of one data year for every county of the evaluation, and the parameter version."""

    year: int
    counties: dict[str, CountyRules]
    version: str
    # GB/T 4754 digits of the industry peers (2 division, 3 group, 4 class): mujun.industry_level
    industry_digits: int = 2

    def for_county(self, county: str | None) -> CountyRules:
        return self.counties.get(county or "") or self.counties[""]

    @property
    def uses_carbon(self) -> bool:
        """Whether some county's scheme reads the carbon results (``result_carbon``)."""
        return any(c.uses_carbon for c in self.counties.values())

    def carbon_grade_table(self) -> pd.DataFrame:
        """Points per county and 碳效等级 (bonus > 0, penalty < 0)."""
        rows = [
            {"county_key": c, "carbon_grade": int(g), "points": float(p)}
            for c, r in self.counties.items()
            for g, p in r.carbon_grade_points.items()
        ]
        frame = pd.DataFrame(rows, columns=["county_key", "carbon_grade", "points"])
        return frame.astype({"county_key": "string", "carbon_grade": "int64", "points": "float64"})

    def record(self) -> dict[str, Any]:
        """Resolved parameters per county (stored with a run)."""
        return {c or "base": r.resolved for c, r in self.counties.items()}

    # -- rule tables joined by the evaluation ---------------------------------------------------
    def item_table(self) -> pd.DataFrame:
        rows = []
        for county, cr in self.counties.items():
            for scope, sr in cr.scopes.items():
                for code, weight in sr.weights.items():
                    bm = sr.benchmarks[code]
                    cap = sr.caps.get(code)
                    rows.append(
                        {
                            "county_key": county,
                            "scope": scope,
                            "indicator": code,
                            "weight": float(weight),
                            "bm_method": bm.method,
                            "bm_value": float(bm.value) if bm.value is not None else None,
                            "bm_group": bm.group or "",
                            "bm_period": bm.period or "",
                            "bm_multiple": float(bm.multiple),
                            "cap_score": float(cap) * float(weight) if cap is not None else None,
                            "missing_rule": sr.missing[code],
                            "bm_scale": float(10**cr.benchmark_decimals),
                            "factor": float(CATALOGUE[code].factor),
                        }
                    )
        return pd.DataFrame(rows, columns=_ITEM_COLUMNS).astype(_ITEM_TYPES)

    def weight_table(self, codes: list[str]) -> pd.DataFrame:
        """Per county and scope: ``weight_<code>`` and ``cap_<code>`` (score cap) columns,
        empty where the scheme does not use the indicator."""
        rows = []
        for county, cr in self.counties.items():
            for scope, sr in cr.scopes.items():
                row: dict[str, Any] = {"county_key": county, "scope": scope}
                for code in codes:
                    weight = sr.weights.get(code)
                    cap = sr.caps.get(code)
                    row[f"weight_{code}"] = float(weight) if weight is not None else None
                    row[f"cap_{code}"] = (
                        float(cap) * float(weight) if cap is not None and weight else None
                    )
                rows.append(row)
        frame = pd.DataFrame(rows)
        types: dict[str, str] = {"county_key": "string", "scope": "string"}
        types.update({c: "float64" for c in frame.columns if c not in types})
        return frame.astype(types)

    def scope_table(self) -> pd.DataFrame:
        rows = []
        for county, cr in self.counties.items():
            for scope, sr in cr.scopes.items():
                cum = _cumulative(sr.quota)
                row: dict[str, Any] = {
                    "county_key": county,
                    "scope": scope,
                    "min_land_mu": float(sr.min_land_mu),
                    "class_method": sr.class_method,
                    "quota_a": cum["A"],
                    "quota_b": cum["B"],
                    "quota_c": cum["C"],
                    "threshold_a": float(sr.thresholds.get("A", 0.0)),
                    "threshold_b": float(sr.thresholds.get("B", 0.0)),
                    "threshold_c": float(sr.thresholds.get("C", 0.0)),
                    "bonus_max": float(cr.bonus_max),
                    "penalty_max": float(cr.penalty_max),
                    "min_years": int(cr.min_years_reporting),
                    "score_scale": float(10**cr.score_decimals),
                    "zero_tax": "tax_paid" in cr.zero_when_absent,
                    "zero_rd": "rd_expense" in cr.zero_when_absent,
                }
                for item in EMISSION_ITEMS:
                    row["emflag_" + item.split(".", 1)[1]] = item in cr.emission_items
                rows.append(row)
        frame = pd.DataFrame(rows)
        return frame.astype(
            {
                "county_key": "string",
                "scope": "string",
                "class_method": "string",
                "min_years": "int64",
            }
        )

    def exempt_table(self) -> pd.DataFrame:
        rows = [
            {"county_key": c, "division": d, "exempt": True}
            for c, r in self.counties.items()
            for d in r.exempt_divisions
        ]
        frame = pd.DataFrame(rows, columns=["county_key", "division", "exempt"])
        return frame.astype({"county_key": "string", "division": "string", "exempt": "bool"})

    def adjustment_table(self) -> pd.DataFrame:
        rows = [
            {"county_key": c, "code": a.code, "points": float(a.points), "veto": bool(a.veto)}
            for c, r in self.counties.items()
            for a in r.adjustments.values()
        ]
        frame = pd.DataFrame(rows, columns=["county_key", "code", "points", "veto"])
        return frame.astype(
            {"county_key": "string", "code": "string", "points": "float64", "veto": "bool"}
        )


_ITEM_COLUMNS = [
    "county_key",
    "scope",
    "indicator",
    "weight",
    "bm_method",
    "bm_value",
    "bm_group",
    "bm_period",
    "bm_multiple",
    "cap_score",
    "missing_rule",
    "bm_scale",
    "factor",
]
_ITEM_TYPES = {
    "county_key": "string",
    "scope": "string",
    "indicator": "string",
    "weight": "float64",
    "bm_method": "string",
    "bm_value": "float64",
    "bm_group": "string",
    "bm_period": "string",
    "bm_multiple": "float64",
    "cap_score": "float64",
    "missing_rule": "string",
    "bm_scale": "float64",
    "factor": "float64",
}


def _cumulative(quota: dict[str, float]) -> dict[str, float]:
    """Cumulative class shares A, A+B, A+B+C added as decimals (0.2 + 0.4 is 0.6, not 0.6…01)."""
    total = Decimal(0)
    out = {}
    for cls in CLASSES:
        total += Decimal(str(quota.get(cls, 0)))
        out[cls] = float(total)
    return out


def _error(code: str, zh: str, en: str, key: str, value: Any = None) -> MujunError:
    return MujunError(code, zh, en, Location(field=key), value)


def parameter_date(year: int) -> date:
    """Parameters of data year ``year`` are those in force on 1 January of that year."""
    return date(year, 1, 1)


def _benchmark(raw: Any, key: str, code: str) -> Benchmark:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if raw <= 0:
            raise _error(
                "mujun.benchmark",
                f"参数 {key} 中指标 {code} 的固定基准值必须为正数",
                f"{key}: the fixed benchmark of {code} must be positive",
                key,
                raw,
            )
        return Benchmark("fixed", float(raw))
    if not isinstance(raw, dict):
        raise _error(
            "mujun.benchmark",
            f"参数 {key} 中指标 {code} 的基准值应为数值或规则映射",
            f"{key}: the benchmark of {code} must be a number or a rule mapping",
            key,
            raw,
        )
    unknown = set(raw) - {"method", "value", "group", "period", "multiple"}
    method = raw.get("method", "fixed" if "value" in raw else "mean")
    group = raw.get("group", "county")
    period = raw.get("period", "current")
    bad = (
        unknown
        or method not in BENCHMARK_METHODS
        or group not in BENCHMARK_GROUPS
        or period not in BENCHMARK_PERIODS
    )
    if bad:
        raise _error(
            "mujun.benchmark",
            f"参数 {key} 中指标 {code} 的基准规则无效（method: {'/'.join(BENCHMARK_METHODS)}；"
            f"group: {'/'.join(BENCHMARK_GROUPS)}；period: {'/'.join(BENCHMARK_PERIODS)}）",
            f"{key}: invalid benchmark rule for {code} (method {BENCHMARK_METHODS}, "
            f"group {BENCHMARK_GROUPS}, period {BENCHMARK_PERIODS})",
            key,
            raw,
        )
    if method == "fixed":
        return _benchmark(raw.get("value"), key, code)
    return Benchmark(method, None, group, period, float(raw.get("multiple", 1.0)))


def _scope(
    params: parameters.Parameters, county: str | None, on: date, scope: str, record: dict
) -> ScopeRules:
    def get(name: str) -> Any:
        key = f"mujun.{scope}.{name}"
        res = params.resolve(key, region=county, on=on)
        record[key] = {
            "value": res.value,
            "region": res.region or "base",
            "since": res.since.isoformat(),
            "source": res.source,
            "quality": res.quality,
        }
        return res.value

    key = f"mujun.{scope}.weights"
    weights = get("weights")
    unknown = [c for c in weights if c not in CATALOGUE]
    if unknown or not weights:
        raise _error(
            "mujun.indicator",
            f"参数 {key} 含未知指标 {unknown}（可用：{', '.join(CODES)}）",
            f"{key} names unknown indicators {unknown} (known: {', '.join(CODES)})",
            key,
            unknown,
        )
    raw_bm = get("benchmarks")
    missing_bm = [c for c in weights if c not in raw_bm]
    if missing_bm:
        raise _error(
            "mujun.benchmark",
            f"参数 mujun.{scope}.benchmarks 缺少指标 {missing_bm} 的基准值",
            f"mujun.{scope}.benchmarks has no benchmark for {missing_bm}",
            f"mujun.{scope}.benchmarks",
            missing_bm,
        )
    benchmarks = {c: _benchmark(raw_bm[c], f"mujun.{scope}.benchmarks", c) for c in weights}
    caps_raw = get("item_cap_multiple") or {}
    caps = {c: caps_raw.get(c, caps_raw.get("default")) for c in weights}
    miss_raw = get("missing_rule") or {}
    missing = {c: miss_raw.get(c, miss_raw.get("default", "own_items_mean")) for c in weights}
    bad_rules = sorted({r for r in missing.values() if r not in MISSING_RULES})
    if bad_rules:
        raise _error(
            "mujun.missing_rule",
            f"参数 mujun.{scope}.missing_rule 含未知规则 {bad_rules}",
            f"mujun.{scope}.missing_rule has unknown rules {bad_rules} (known {MISSING_RULES})",
            f"mujun.{scope}.missing_rule",
            bad_rules,
        )
    method = get("class_method")
    if method not in CLASS_METHODS:
        raise _error(
            "mujun.class_method",
            f"参数 mujun.{scope}.class_method 应为 quota 或 threshold",
            f"mujun.{scope}.class_method must be quota or threshold",
            f"mujun.{scope}.class_method",
            method,
        )
    quota = {k: float(v) for k, v in (get("class_quota") or {}).items()}
    if abs(sum(Decimal(str(v)) for v in quota.values()) - 1) > Decimal("1e-9"):
        raise _error(
            "mujun.class_quota",
            f"参数 mujun.{scope}.class_quota 各类占比之和应为 1",
            f"mujun.{scope}.class_quota shares must add up to 1",
            f"mujun.{scope}.class_quota",
            quota,
        )
    return ScopeRules(
        scope=scope,
        weights={c: float(w) for c, w in weights.items()},
        benchmarks=benchmarks,
        caps={c: float(v) if v is not None else None for c, v in caps.items()},
        missing=missing,
        min_land_mu=float(get("min_land_mu")),
        class_method=method,
        quota=quota,
        thresholds={k: float(v) for k, v in (get("class_thresholds") or {}).items()},
    )


def county_rules(params: parameters.Parameters, county: str | None, year: int) -> CountyRules:
    """Resolve the parameters of ``county`` (None: base) for data ``year``."""
    on = parameter_date(year)
    record: dict[str, Any] = {}

    def get(key: str) -> Any:
        res = params.resolve(f"mujun.{key}", region=county, on=on)
        record[f"mujun.{key}"] = {
            "value": res.value,
            "region": res.region or "base",
            "since": res.since.isoformat(),
            "source": res.source,
            "quality": res.quality,
        }
        return res.value

    scopes = {s: _scope(params, county, on, s, record) for s in SCOPES}
    zero = list(get("inputs.zero_when_absent"))
    emission_items = list(get("inputs.emission_items"))
    bad = [i for i in emission_items if i not in EMISSION_ITEMS] + [
        i for i in zero if i not in ZERO_ABLE
    ]
    if bad:
        raise _error(
            "mujun.inputs",
            f"参数 mujun.inputs 含不支持的项目 {bad}",
            f"mujun.inputs names unsupported items {bad}",
            "mujun.inputs",
            bad,
        )
    adj_raw = get("adjustments.items") or {}
    adjustments = {
        code: AdjustmentItem(
            code=code,
            points=float(spec.get("points", 0.0)),
            veto=bool(spec.get("veto", False)),
            zh=str(spec.get("zh", code)),
            en=str(spec.get("en", code)),
        )
        for code, spec in adj_raw.items()
    }
    limits = get("adjustments.limits") or {}
    grade_points = get("carbon.grade_points") or {}
    bad_grades = [g for g in grade_points if str(g) not in {"1", "2", "3", "4", "5"}]
    if bad_grades:
        raise _error(
            "mujun.carbon_grade",
            f"参数 mujun.carbon.grade_points 含无效的碳效等级 {bad_grades}（应为 1–5）",
            f"mujun.carbon.grade_points names invalid carbon grades {bad_grades} (1–5)",
            "mujun.carbon.grade_points",
            bad_grades,
        )
    return CountyRules(
        county=county or "",
        year=year,
        scopes=scopes,
        zero_when_absent=zero,
        emission_items=emission_items,
        exempt_divisions=[str(d) for d in get("exempt.divisions") or []],
        min_years_reporting=int(get("exempt.min_years_reporting")),
        adjustments=adjustments,
        bonus_max=float(limits.get("bonus_max", 0.0)),
        penalty_max=float(limits.get("penalty_max", 0.0)),
        benchmark_decimals=int(get("benchmark_decimals")),
        score_decimals=int(get("score_decimals")),
        labels=get("classes.labels"),
        resolved=record,
        carbon_grade_points={int(g): float(p) for g, p in grade_points.items()},
    )


def rule_set(
    year: int, counties: list[str], params: parameters.Parameters | None = None
) -> RuleSet:
    """Rules of data ``year`` for ``counties`` (plus the base, key ``""``)."""
    params = params or parameters.load()
    out = {"": county_rules(params, None, year)}
    for county in sorted({c for c in counties if c}):
        out[county] = county_rules(params, county, year)
    level = params.resolve("mujun.industry_level", jurisdiction(), parameter_date(year)).value
    if level not in INDUSTRY_DIGITS:
        raise MujunError(
            "mujun.industry_level",
            f"行业口径应为 {'、'.join(INDUSTRY_DIGITS)} 之一，而不是“{level}”",
            f"industry level must be one of {', '.join(INDUSTRY_DIGITS)}, not '{level}'",
            Location(field="mujun.industry_level"),
        )
    return RuleSet(
        year=year,
        counties=out,
        version=params.version(),
        industry_digits=INDUSTRY_DIGITS[level],
    )
