"""Outputs of a run: the ranking workbook (排名表, XLSX, one sheet per county in the bureau's
layout), summaries by county and by industry, year-on-year changes and JSON result objects.

Workbook layout, per county sheet: title row, run line (run id, parameter version, date),
then a 规上 block and a 规下 block, each with its header row: 序号, 企业名称, 统一社会信用代码,
行业, 用地面积, 税收, per indicator its value and score, 加分, 减分, 综合得分, 县内排名, 行业排名,
分类, 上年分类, 得分变化, 备注. Evaluated firms by rank, then 不参评 firms with the reason.
Then ``汇总(区县)``, ``汇总(行业)`` and ``说明`` (formulas and parameters). Rows are written
through :mod:`industry_brain.core.exports`, so enterprise names are never formulas.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core import exports
from industry_brain.domains.mujun import service
from industry_brain.domains.mujun.evaluate import STORED_INPUTS
from industry_brain.domains.mujun.lists import county_names
from industry_brain.domains.mujun.models import MujunRun
from industry_brain.domains.mujun.rules import CATALOGUE, CLASSES, SCOPE_ZH
from industry_brain.store.models import Industry

REASON_ZH = {
    "exempt_industry": "行业不参评",
    "no_land": "无用地数据",
    "small_land": "用地面积低于参评下限",
    "new_enterprise": "投产不满规定年限",
}
SUMMARY_CLASSES = (*CLASSES, "T")


def changes(session: Session, year: int, run_id: int | None = None) -> pd.DataFrame:
    """Year-on-year: each firm's class, score and county rank against the previous year."""
    run = service.get_run(session, run_id) if run_id else service.published_run(session, year)
    assert run is not None
    cur = service.results_frame(session, run.id)
    prev_run = service.published_run(session, year - 1, required=False)
    cols = ["enterprise_id", "class_code", "score", "rank_county"]
    if prev_run is None:
        prev = pd.DataFrame(columns=cols)
    else:
        prev = service.results_frame(session, prev_run.id)[cols]
    out = cur.merge(prev, on="enterprise_id", how="left", suffixes=("", "_prev"))
    out["score_change"] = out["score"].astype(float) - out["score_prev"].astype(float)
    out["rank_change"] = out["rank_county_prev"].astype(float) - out["rank_county"].astype(float)
    order = {c: i for i, c in enumerate(SUMMARY_CLASSES)}
    now = out["class_code"].map(order)
    before = out["class_code_prev"].map(order)
    out["movement"] = np.select(
        [before.isna(), now < before, now > before], ["new", "up", "down"], default="same"
    )
    return out


def summary(session: Session, year: int, run_id: int | None = None) -> dict[str, pd.DataFrame]:
    """Counts per class, mean score, 亩均税收 and 亩均增加值 (Σ÷Σ) by county and by industry."""
    run = service.get_run(session, run_id) if run_id else service.published_run(session, year)
    assert run is not None
    res = service.results_frame(session, run.id)
    names = county_names(session, res["county_code"].unique())
    industries = dict(session.execute(select(Industry.code, Industry.name)).all())
    res["county_name"] = res["county_code"].map(names).fillna(res["county_code"])
    res["industry_name"] = res["division"].map(industries).fillna("")

    def agg(keys: list[str]) -> pd.DataFrame:
        counts = res.pivot_table(
            index=keys, columns="class_code", values="enterprise_id", aggfunc="count", fill_value=0
        )
        for cls in SUMMARY_CLASSES:
            if cls not in counts:
                counts[cls] = 0
        counts = counts[list(SUMMARY_CLASSES)]
        ev = res[res["evaluated"]]
        sums = res.groupby(keys)[["tax", "value_added", "land_mu"]].sum(min_count=1)
        frame = counts.join(ev.groupby(keys)["score"].mean().rename("mean_score")).join(sums)
        frame["tax_per_mu"] = frame["tax"] / frame["land_mu"]
        frame["va_per_mu"] = frame["value_added"] / frame["land_mu"]
        frame["enterprises"] = counts.sum(axis=1)
        return frame.reset_index()

    return {
        "by_county": agg(["county_code", "county_name", "scope"]),
        "by_industry": agg(["division", "industry_name", "scope"]),
    }


def result_objects(session: Session, year: int, run_id: int | None = None) -> list[dict[str, Any]]:
    """One JSON object per enterprise of the run: identity, inputs, items, total, ranks, class."""
    run = service.get_run(session, run_id) if run_id else service.published_run(session, year)
    assert run is not None
    res = changes(session, year, run.id)
    items = service.items_of(session, run.id)
    items = items.astype(object).where(items.notna(), None)
    by_ent: dict[int, dict[str, Any]] = {}
    for it in items.to_dict("records"):
        by_ent.setdefault(int(it["enterprise_id"]), {})[it["indicator"]] = {
            k: it[k]
            for k in (
                "value",
                "benchmark",
                "benchmark_method",
                "benchmark_period",
                "benchmark_n",
                "weight",
                "raw_score",
                "capped",
                "fill_rule",
                "score",
            )
        }
    res = res.astype(object).where(res.notna(), None)
    labels = _labels(run, "zh")
    out = []
    for r in res.to_dict("records"):
        out.append(
            {
                "run_id": run.id,
                "year": run.year,
                "uscc": r["uscc"],
                "name": r["name"],
                "county_code": r["county_code"],
                "industry_code": r["industry_code"],
                "scope": r["scope"],
                "evaluated": bool(r["evaluated"]),
                "exempt_reason": r["exempt_reason"],
                "inputs": {k: r[k] for k in STORED_INPUTS},
                "items": by_ent.get(int(r["enterprise_id"]), {}),
                "base_score": r["base_score"],
                "bonus": r["bonus"],
                "penalty": r["penalty"],
                "veto": bool(r["veto"]),
                "adjustments": r["adjustment_codes"] or [],
                "score": r["score"],
                "rank_county": r["rank_county"],
                "n_county": r["n_county"],
                "rank_industry": r["rank_industry"],
                "n_industry": r["n_industry"],
                "class_code": r["class_code"],
                "class_label": labels.get(r["class_code"], r["class_code"]),
                "class_rule": r["class_rule"],
                "previous": {
                    "class_code": r["class_code_prev"],
                    "score": r["score_prev"],
                    "rank_county": r["rank_county_prev"],
                    "score_change": r["score_change"],
                    "movement": r["movement"],
                },
            }
        )
    return out


def _labels(run: MujunRun, lang: str) -> dict[str, str]:
    base = run.parameters.get("base", {}).get("mujun.classes.labels", {}).get("value", {})
    return {k: v.get(lang, k) for k, v in base.items()}


def _indicators(run: MujunRun, county: str | None, scope: str) -> list[str]:
    params = run.parameters.get(county or "base") or run.parameters.get("base", {})
    return list(params.get(f"mujun.{scope}.weights", {}).get("value", {}))


_TAIL = ("加分", "减分", "综合得分", "县内排名", "行业排名", "分类", "上年分类", "得分变化", "备注")


def _county_header(codes: list[str]) -> list[str]:
    header = ["序号", "企业名称", "统一社会信用代码", "行业代码", "用地面积(亩)", "税收(万元)"]
    for code in codes:
        ind = CATALOGUE[code]
        header += [f"{ind.zh}({ind.unit})", f"{ind.zh}得分"]
    return [*header, *_TAIL]


def write_workbook(
    session: Session, year: int, path: Path, run_id: int | None = None
) -> dict[str, Any]:
    """The ranking workbook of ``year`` (published run unless ``run_id``) at ``path``.

    Written with XlsxWriter in constant memory (rows streamed to disk in order, formats shared):
    a province's 500,000 rows cost neither a Python object per cell nor the time of styling
    each one (openpyxl: most of the 亩均 service's time at 20,000 firms)."""
    run = service.get_run(session, run_id) if run_id else service.published_run(session, year)
    assert run is not None
    res = changes(session, year, run.id)
    names = county_names(session, res["county_code"].dropna().unique())
    labels = _labels(run, "zh")
    path = Path(path)
    wb = exports.xlsx_book(path, constant_memory=True)
    dates = exports.date_formats(wb)
    title_fmt = wb.add_format({"bold": True, "font_size": 14})
    block_fmt = wb.add_format({"bold": True, "font_size": 12})
    cell_fmt = wb.add_format({"border": 1, "border_color": "#999999"})
    number_fmt = wb.add_format({"border": 1, "border_color": "#999999", "num_format": "0.00"})
    head_fmt = wb.add_format(
        {
            "bold": True,
            "bg_color": "#DDEBF7",
            "border": 1,
            "border_color": "#999999",
            "align": "center",
            "valign": "vcenter",
            "text_wrap": True,
        }
    )
    class_fmt = {
        c: wb.add_format({"border": 1, "border_color": "#999999", "bg_color": color})
        for c, color in (("A", "#C6EFCE"), ("B", "#DDEBF7"), ("C", "#FFEB9C"), ("D", "#FFC7CE"))
    }
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sheets: list[str] = []
    used: set[str] = set()
    for county in sorted(res["county_code"].dropna().unique()):
        cname = names.get(county, county)
        ws = wb.add_worksheet(exports.sheet_title(cname, used))
        sheets.append(ws.name)
        sub_all = res[res["county_code"] == county]
        blocks = [(scope, _indicators(run, county, scope)) for scope in ("above", "below")]
        width = max(len(_county_header(codes)) for _, codes in blocks)
        widths = {0: 6, 1: 34, 2: 21, 3: 9}
        for col in range(width):
            ws.set_column(col, col, widths.get(col, 12))
        ws.freeze_panes(5, 2)
        ws.merge_range(
            0, 0, 0, width - 1, f"{cname} {year} 年度工业企业亩均效益综合评价结果", title_fmt
        )
        ws.merge_range(
            1,
            0,
            1,
            width - 1,
            f"评价批次 #{run.id}（{'异议复核' if run.kind == 'appeal' else '年度评价'}）"
            f"  参数版本 {run.parameter_version}  生成 {created}  分类："
            + "  ".join(f"{c} {labels.get(c, c)}" for c in CLASSES),
        )
        r = 2
        for block, (scope, codes) in enumerate(blocks):
            sub = sub_all[sub_all["scope"] == scope]
            r += 1  # an empty row before the block
            ev = sub[sub["evaluated"]].sort_values(["rank_county", "uscc"])
            ex = sub[~sub["evaluated"]].sort_values("uscc")
            ws.write_string(
                r,
                0,
                f"{'一' if block == 0 else '二'}、{SCOPE_ZH[scope]}工业企业"
                f"（参评 {len(ev)} 家，不参评 {len(ex)} 家）",
                block_fmt,
            )
            r += 1
            header = _county_header(codes)
            exports.write_xlsx_row(ws, r, header, dates, head_fmt)
            r += 1
            class_col = len(header) - 4
            listed = pd.concat([ev, ex])
            eids = listed["enterprise_id"].astype("int64").to_numpy()
            items = service.items_of(session, run.id, eids.tolist())
            # each indicator's value, score, fill rule and cap as one array per block, in the
            # listed order (None where an enterprise has no such item): no pandas or dict
            # look-up per cell — a province's sheets hold millions of cells
            wide = {
                v: _per_code(items, v, eids, codes, numeric=v in ("value", "score"))
                for v in ("value", "score", "fill_rule", "capped")
            }
            cols = {
                c: listed[c].tolist()
                for c in (
                    "name",
                    "uscc",
                    "industry_code",
                    "evaluated",
                    "veto",
                    "adjustment_codes",
                    "exempt_reason",
                    "class_code",
                    "class_code_prev",
                )
            }
            nums = {
                c: _nums(listed[c])
                for c in ("land_mu", "tax", "bonus", "penalty", "score", "score_change")
            }
            ranks = {c: _nums(listed[c]) for c in ("rank_county", "rank_industry")}
            for k in range(len(listed)):
                evaluated = bool(cols["evaluated"][k])
                row: list[Any] = [
                    k + 1,
                    cols["name"][k],
                    cols["uscc"][k],
                    cols["industry_code"][k],
                    nums["land_mu"][k],
                    nums["tax"][k],
                ]
                notes = []
                for j, code in enumerate(codes):
                    row += [wide["value"][j][k], wide["score"][j][k]]
                    if evaluated:
                        fill = wide["fill_rule"][j][k]
                        if isinstance(fill, str):
                            notes.append(f"{CATALOGUE[code].zh}缺失按{_fill_zh(fill)}")
                        capped = wide["capped"][j][k]
                        if isinstance(capped, bool | np.bool_) and capped:
                            notes.append(f"{CATALOGUE[code].zh}封顶")
                if cols["veto"][k]:
                    notes.append("一票否决")
                if cols["adjustment_codes"][k]:
                    notes.append("加减分：" + "、".join(cols["adjustment_codes"][k]))
                if not evaluated:
                    reason = cols["exempt_reason"][k]
                    notes.append(REASON_ZH.get(reason, reason or ""))
                class_code, prev = cols["class_code"][k], cols["class_code_prev"][k]
                rank_county, rank_industry = ranks["rank_county"][k], ranks["rank_industry"][k]
                row += [
                    nums["bonus"][k] if evaluated else None,
                    nums["penalty"][k] if evaluated else None,
                    nums["score"][k],
                    None if rank_county is None else int(rank_county),
                    None if rank_industry is None else int(rank_industry),
                    class_code,
                    prev if isinstance(prev, str) else None,
                    nums["score_change"][k],
                    "；".join(notes) or None,
                ]
                exports.write_xlsx_row(ws, r, row, dates, cell_fmt, number_fmt)
                if class_code in class_fmt:
                    ws.write_string(r, class_col, class_code, class_fmt[class_code])
                r += 1

    summ = summary(session, year, run.id)
    for title, frame, keys in (
        ("汇总(区县)", summ["by_county"], ["county_name", "scope"]),
        ("汇总(行业)", summ["by_industry"], ["division", "industry_name", "scope"]),
    ):
        ws = wb.add_worksheet(exports.sheet_title(title, used))
        sheets.append(ws.name)
        key_zh = {
            "county_name": "区县",
            "division": "行业大类",
            "industry_name": "行业名称",
            "scope": "规模",
        }
        header = [key_zh[k] for k in keys] + [
            *[f"{c} 类" for c in SUMMARY_CLASSES],
            "企业数",
            "平均得分",
            "亩均税收(万元/亩)",
            "亩均增加值(万元/亩)",
        ]
        ws.set_column(0, len(header) - 1, 14)
        ws.freeze_panes(2, 0)
        ws.write_string(0, 0, f"{year} 年度亩均效益综合评价 {title}", title_fmt)
        exports.write_xlsx_row(ws, 1, header, dates, head_fmt)
        for n, rec in enumerate(frame.to_dict("records"), 2):
            exports.write_xlsx_row(
                ws,
                n,
                [SCOPE_ZH.get(rec[k], rec[k]) if k == "scope" else rec[k] for k in keys]
                + [int(rec[c]) for c in SUMMARY_CLASSES]
                + [
                    int(rec["enterprises"]),
                    _num(rec["mean_score"]),
                    _num(rec["tax_per_mu"]),
                    _num(rec["va_per_mu"]),
                ],
                dates,
            )
    ws = wb.add_worksheet(exports.sheet_title("说明", used))
    sheets.append(ws.name)
    _notes_sheet(ws, run, dates, title_fmt)
    wb.close()
    return {"path": str(path), "run_id": run.id, "sheets": sheets}


def _fill_zh(fill: str) -> str:
    return {
        "population_item_mean": "县均分",
        "own_items_mean": "本企业其他项得分率",
        "zero": "0分",
    }.get(fill, fill)


def _notes_sheet(ws: Any, run: MujunRun, dates: dict[str, Any], title_fmt: Any) -> None:
    """The ``说明`` sheet: the formula, the run, each indicator and every parameter."""
    rows: list[list[Any]] = [
        [
            "综合得分 = Σ(指标值 ÷ 基准值 × 权重)（负值记 0，可封顶）+ 加分 − 减分；"
            "一票否决定为 D 类"
        ],
        [f"评价批次 #{run.id}，参数版本 {run.parameter_version}，输入批次 {run.input_batch_ids}"],
        [],
        ["指标", "公式", "单位"],
        *[[ind.zh, ind.formula("zh"), ind.unit] for ind in CATALOGUE.values()],
        [],
        ["区县", "参数", "取值", "来源", "质量"],
    ]
    for county, params in sorted(run.parameters.items()):
        for key, entry in sorted(params.items()):
            value = entry["value"]
            text = value if isinstance(value, str) else str(value)
            rows.append([county, key, text, entry.get("source"), entry.get("quality")])
    for col, w in enumerate((10, 36, 60, 60, 10)):
        ws.set_column(col, col, w)
    ws.write_string(0, 0, "评价说明", title_fmt)
    for r, row in enumerate(rows, 1):
        exports.write_xlsx_row(ws, r, row, dates)


def _nums(column: pd.Series) -> list[float | None]:
    """A column as Python floats, None where missing or not a number (:func:`_num` of each
    value, done column-wise)."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return [None if v != v else v for v in values.tolist()]


def _per_code(
    items: pd.DataFrame, field: str, eids: np.ndarray, codes: list[str], numeric: bool
) -> list[list[Any]]:
    """``field`` of the items for each indicator of ``codes`` (outer) and enterprise of
    ``eids`` (inner), None where there is no such item (or, ``numeric``, no number)."""
    if items.empty:
        return [[None] * len(eids) for _ in codes]
    wide = items.pivot(index="enterprise_id", columns="indicator", values=field)
    wide = wide.reindex(index=eids, columns=codes)
    if numeric:
        return [_nums(wide[code]) for code in codes]
    return [[None if pd.isna(v) else v for v in wide[code].tolist()] for code in codes]


def _num(x: Any) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(v) else v
