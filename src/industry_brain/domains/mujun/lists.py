"""清三低 and low-efficiency lists from the published results, by county, exportable.

Categories (thresholds are parameters ``mujun.lists.*``, per county and data year):

- 规上低贡献 ``low_contribution``: 规上 and 亩均税收 below ``low_contribution_tax_per_mu``
- 规下低效益 ``low_benefit``: 规下 and 亩均税收 below ``low_benefit_tax_per_mu``
- 用地低产出 ``low_output_land``: land ≥ ``low_output_land_min_mu`` 亩 and still 规下
- 连续低效 ``low_efficiency``: class ``low_efficiency_class`` in each of the last
  ``low_efficiency_years`` published years

亩均税收 here is tax ÷ land of every firm with land (also those not evaluated, e.g. 规下 below
the minimum area), so that small plots are not hidden from the lists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from industry_brain.core import exports, parameters
from industry_brain.domains.mujun import service
from industry_brain.domains.mujun.rules import MujunError, parameter_date
from industry_brain.store import scoped

CATEGORIES: dict[str, tuple[str, str]] = {
    "low_contribution": ("规上低贡献", "low-contribution 规上 firm"),
    "low_benefit": ("规下低效益", "low-benefit 规下 firm"),
    "low_output_land": ("用地低产出", "low-output land"),
    "low_efficiency": ("连续低效", "low efficiency in consecutive years"),
}
LIST_COLUMNS = (
    "category",
    "category_zh",
    "county_code",
    "county_name",
    "uscc",
    "name",
    "industry_code",
    "scope",
    "land_mu",
    "tax",
    "tax_per_mu",
    "score",
    "class_code",
    "classes",
    "rule",
)


def county_names(session: Session, codes: Any) -> dict[str, str]:
    """Names of the given county codes (:func:`scoped.region_names`)."""
    return scoped.region_names(session, codes)


def _thresholds(counties: list[str], year: int) -> pd.DataFrame:
    params = parameters.load()
    rows = []
    for county in counties:
        get = lambda key, c=county: params.get(  # noqa: E731
            f"mujun.lists.{key}", region=c or None, on=parameter_date(year)
        )
        rows.append(
            {
                "county_code": county,
                "t_contribution": float(get("low_contribution_tax_per_mu")),
                "t_benefit": float(get("low_benefit_tax_per_mu")),
                "t_land": float(get("low_output_land_min_mu")),
                "t_class": str(get("low_efficiency_class")),
                "t_years": int(get("low_efficiency_years")),
            }
        )
    return pd.DataFrame(rows)


def _fmt(values: pd.Series) -> pd.Series:
    """Numbers as short text (``6``, ``2.5``), formatted once per distinct value."""
    return values.map({v: f"{v:g}" for v in values.unique()}).astype(str)


def build(session: Session, year: int, county: str | None = None) -> pd.DataFrame:
    """Every listed (enterprise, category) of ``year``'s published result."""
    run = service.published_run(session, year)
    assert run is not None
    res = service.results_frame(session, run.id)
    res["county_code"] = res["county_code"].fillna("")
    if county:
        res = res[res["county_code"] == county]
    thresholds = _thresholds(sorted(res["county_code"].unique()), year)
    res = res.merge(thresholds, on="county_code", how="left")
    land = res["land_mu"].to_numpy(dtype=float)
    tax = res["tax"].fillna(0.0).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        res["tax_per_mu"] = np.where(land > 0, tax / land, np.nan)
    has_land = land > 0
    above = (res["scope"] == "above").to_numpy()
    masks = {
        "low_contribution": above & has_land & (res["tax_per_mu"] < res["t_contribution"]),
        "low_benefit": ~above & has_land & (res["tax_per_mu"] < res["t_benefit"]),
        "low_output_land": ~above & (np.nan_to_num(land) >= res["t_land"]),
    }
    rules = {
        "low_contribution": "规上 亩均税收 < " + _fmt(res["t_contribution"]) + " 万元/亩",
        "low_benefit": "规下 亩均税收 < " + _fmt(res["t_benefit"]) + " 万元/亩",
        "low_output_land": "用地 ≥ " + _fmt(res["t_land"]) + " 亩 仍为规下",
    }
    # consecutive years in the low-efficiency class
    max_years = int(res["t_years"].max()) if len(res) else 1
    res["classes"] = res["class_code"].astype(str)
    streak = pd.Series(1, index=res.index)
    alive = pd.Series(True, index=res.index)
    for back in range(1, max_years):
        prev = service.published_run(session, year - back, required=False)
        if prev is None:
            alive[:] = False
            break
        prev_res = service.results_frame(session, prev.id)[["enterprise_id", "class_code"]]
        cls = res["enterprise_id"].map(prev_res.set_index("enterprise_id")["class_code"])
        # all missing (no enterprise evaluated that year) the mapped column is float64: fill
        # as text, since pandas will refuse a text fill value for a float column
        res["classes"] = cls.astype("string").fillna("—").astype(str) + "→" + res["classes"]
        alive = alive & (cls == res["t_class"])
        streak = streak + alive.astype(int)
    same = res["class_code"] == res["t_class"]
    masks["low_efficiency"] = (same & (streak >= res["t_years"])).to_numpy()
    rules["low_efficiency"] = "连续 " + _fmt(res["t_years"]) + " 年 " + res["t_class"] + " 类"
    names = county_names(session, res["county_code"].unique())
    parts = []
    for cat, mask in masks.items():
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            continue
        sub = res.loc[mask].copy()
        sub["category"] = cat
        sub["category_zh"] = CATEGORIES[cat][0]
        sub["rule"] = rules[cat][mask].to_numpy()
        parts.append(sub)
    if not parts:
        return pd.DataFrame(columns=list(LIST_COLUMNS))
    out = pd.concat(parts, ignore_index=True)
    out["county_name"] = out["county_code"].map(names).fillna(out["county_code"])
    out = out.sort_values(["county_code", "category", "tax_per_mu", "uscc"], na_position="last")
    return out[list(LIST_COLUMNS)].reset_index(drop=True)


def counts(frame: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Listed enterprises per county name and category (and distinct firms per county)."""
    out: dict[str, dict[str, int]] = {}
    for (county, cat), n in frame.groupby(["county_name", "category"]).size().items():
        out.setdefault(str(county), {})[str(cat)] = int(n)
    for county, n in frame.groupby("county_name")["uscc"].nunique().items():
        out.setdefault(str(county), {})["enterprises"] = int(n)
    return out


HEADERS = {
    "category_zh": "类别",
    "county_name": "区县",
    "uscc": "统一社会信用代码",
    "name": "企业名称",
    "industry_code": "行业代码",
    "scope": "规模",
    "land_mu": "用地面积(亩)",
    "tax": "税收(万元)",
    "tax_per_mu": "亩均税收(万元/亩)",
    "score": "综合得分",
    "class_code": "分类",
    "classes": "历年分类",
    "rule": "列入依据",
}


def export(frame: pd.DataFrame, path: Path, year: int) -> Path:
    """Write the lists: ``.csv`` (UTF-8 with BOM, opens in Excel) or ``.xlsx`` (one sheet per
    county plus a summary; a 处置方式 column offers the configured disposal types). Written
    through :mod:`industry_brain.core.exports`: names are text, never formulas."""
    path = Path(path)
    table = frame.assign(scope=frame["scope"].map({"above": "规上", "below": "规下"}))
    table = table[list(HEADERS)].rename(columns=HEADERS)
    if path.suffix.lower() == ".csv":
        return exports.write_frame_csv(table, path)
    if path.suffix.lower() != ".xlsx":
        raise MujunError(
            "mujun.export_format",
            "导出文件应为 .xlsx 或 .csv",
            "export to .xlsx or .csv",
            None,
            str(path),
        )
    disposal = parameters.load().get("mujun.lists.disposal_types", on=parameter_date(year))
    # streamed by XlsxWriter in constant memory (a province's lists run to 100,000 rows)
    wb = exports.xlsx_book(path, constant_memory=True)
    dates = exports.date_formats(wb)
    title_format = wb.add_format({"bold": True, "font_size": 14})
    bold = wb.add_format({"bold": True})
    used: set[str] = set()
    summary = wb.add_worksheet(exports.sheet_title("汇总", used))
    title = f"{year} 年度“清三低”及低效企业名单汇总"
    exports.write_xlsx_row(summary, 0, [title], dates, cell_format=title_format)
    cats = list(CATEGORIES)
    header = ["区县", *[CATEGORIES[c][0] for c in cats], "涉及企业"]
    exports.write_xlsx_row(summary, 1, header, dates)
    by = counts(frame)
    for r, (county, row) in enumerate(sorted(by.items()), start=2):
        values = [county, *[row.get(c, 0) for c in cats], row.get("enterprises", 0)]
        exports.write_xlsx_row(summary, r, values, dates)
    for county, sub in table.groupby("区县", sort=True):
        ws = wb.add_worksheet(exports.sheet_title(county, used))
        title = f"{county} {year} 年度“清三低”及低效企业名单"
        exports.write_xlsx_row(ws, 0, [title], dates, cell_format=title_format)
        exports.write_xlsx_row(ws, 1, [*sub.columns, "处置方式"], dates, cell_format=bold)
        last = 2  # 0-based: the first data row
        for last, values in enumerate(sub.itertuples(index=False), start=2):
            exports.write_xlsx_row(ws, last, values, dates)
        col = len(sub.columns)
        # a list of the configured disposal types on the 处置方式 cells (rows 3 … last)
        ws.data_validation(2, col, max(2, last), col, {"validate": "list", "source": disposal})
        ws.freeze_panes(2, 0)
    wb.close()
    return path


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict("records")
