"""亩均论英雄 in the main job (``make demo``): evaluate the two latest years on the demo store,
write the ranking workbook and the 清三低 lists, compute the measures, summarise.

The demo city has no bonus/penalty records, so the hook records a few, marked as demo data
(source ``演示数据``), chosen deterministically from the USCC: 高新技术企业 among 规上
firms with R&D intensity ≥ 3 %, some 专精特新, environmental and safety penalties, and one
one-vote veto per county — so that the demo shows every rule at work.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from industry_brain.domains.mujun import lists, measures, report, service
from industry_brain.domains.mujun.models import MujunAdjustment
from industry_brain.domains.mujun.rules import MujunError
from industry_brain.warehouse.engines import table_path

ORDER = 25  # after carbon (20): the Huzhou scheme reads its published results (result_carbon)
DEMO_SOURCE = "演示数据"


def _hash(usccs: pd.Series, salt: str) -> np.ndarray:
    return np.array([zlib.crc32(f"{salt}:{u}".encode()) for u in usccs], dtype=np.int64)


def seed_adjustments(session: Session, snapshot_dir: Path, year: int) -> int:
    """Record demo bonus/penalty/veto items for ``year`` unless the year already has some."""
    existing = session.scalar(
        select(func.count()).select_from(MujunAdjustment).where(MujunAdjustment.year == year)
    )
    if existing:
        return 0
    ents = pd.read_parquet(snapshot_dir / "enterprises.parquet")
    scales = pd.read_parquet(snapshot_dir / "scales.parquet")
    facts = pd.read_parquet(table_path(snapshot_dir, "facts"))
    facts = facts[(facts["year"] == year) & facts["item"].isin(["rd_expense", "revenue"])]
    wide = facts.pivot_table(index="enterprise_id", columns="item", values="value", aggfunc="sum")
    above = scales[(scales["year"] == year) & scales["above_scale"]]["enterprise_id"]
    firms = ents[ents["enterprise_id"].isin(above)].copy()
    firms["rd_ratio"] = firms["enterprise_id"].map(
        wide.get("rd_expense", pd.Series(dtype=float)) / wide.get("revenue", pd.Series(dtype=float))
    )
    firms = firms.sort_values("uscc").reset_index(drop=True)
    h = _hash(firms["uscc"], str(year))
    picks = {
        "high_tech": (firms["rd_ratio"].fillna(0) >= 0.03) & (h % 3 == 0),
        "specialised_sme": h % 17 == 1,
        "green_factory": h % 23 == 2,
        "environmental_penalty": h % 29 == 3,
        "safety_penalty": h % 31 == 4,
    }
    rows: list[dict[str, Any]] = []
    for code, mask in picks.items():
        for eid in firms.loc[np.asarray(mask, dtype=bool), "enterprise_id"]:
            rows.append({"enterprise_id": int(eid), "code": code})
    # one veto per county: the firm with the smallest hash
    firms["h"] = h
    veto = firms.sort_values(["county_code", "h"]).groupby("county_code").head(1)
    rows += [{"enterprise_id": int(e), "code": "major_accident"} for e in veto["enterprise_id"]]
    records = [
        {
            **r,
            "year": year,
            "note": "演示数据（合成）",
            "source": DEMO_SOURCE,
            "recorded_by": "demo",
        }
        for r in rows
    ]
    if records:
        session.execute(insert(MujunAdjustment), records)
    return len(records)


def run(engine: Engine, out_dir: Path, progress: Callable[[str, int, int], None]) -> dict[str, Any]:
    """Evaluate the latest year (and the one before, for year-on-year and 连续低效) on the demo
    store; write the workbook and lists under ``out_dir/reports``; return the summary."""
    out_dir = Path(out_dir)
    with Session(engine) as session:
        year = service.latest_year(session)
    if year is None:
        return {"skipped": "no 规上/规下 data"}
    progress("mujun snapshot", 0, 1)
    snap = service.take_snapshot(engine, out_dir / "snapshots")
    progress("mujun snapshot", 1, 1)
    seeded = 0
    with Session(engine) as session:
        for y in (year - 1, year):
            seeded += seed_adjustments(session, snap.path, y)
        session.commit()
    runs: dict[int, service.RunOutcome] = {}
    for y in (year - 1, year):
        # the evaluation itself is not kept: a year's frames held while the next year is
        # evaluated (and through the reports) add gigabytes at province scale
        try:
            runs[y] = service.run(
                engine,
                y,
                snapshot=snap,
                actor="demo",
                progress=lambda step, done, total, y=y: progress(f"mujun {step} {y}", done, total),
            )[0]
        except MujunError as exc:
            if y == year or exc.code != "mujun.no_enterprises":
                raise
            # the store's first data year: no year before it to compare with (nothing published)
    reports = out_dir / "reports"
    with Session(engine) as session:
        progress("mujun workbook", 0, 1)
        wb = report.write_workbook(session, year, reports / f"mujun_{year}.xlsx")
        progress("mujun workbook", 1, 1)
        listed = lists.build(session, year)
        lists_path = lists.export(listed, reports / f"mujun_qingsandi_{year}.xlsx", year)
        money = measures.totals(measures.compute(session, year))
        summ = report.summary(session, year)["by_county"]
        moves = report.changes(session, year)["movement"].value_counts().to_dict()
        res = service.results_frame(session, runs[year].run_id)
    classes: dict[str, dict[str, dict[str, int]]] = {}
    for r in summ.to_dict("records"):
        classes.setdefault(str(r["county_name"]), {})[str(r["scope"])] = {
            c: int(r[c]) for c in report.SUMMARY_CLASSES
        }
    example = res[(res["scope"] == "above") & res["evaluated"]].sort_values("rank_county")
    return {
        "year": year,
        "run_id": runs[year].run_id,
        "previous_run_id": runs[year - 1].run_id if year - 1 in runs else None,
        "parameter_version": runs[year].parameter_version,
        "enterprises": len(res),
        "evaluated": int(res["evaluated"].sum()),
        "classes_by_county": classes,
        "qingsandi": lists.counts(listed),
        "qingsandi_total": int(listed["uscc"].nunique()) if len(listed) else 0,
        "measures": money,
        "movements": {str(k): int(v) for k, v in moves.items()},
        "adjustments_seeded": seeded,
        "workbook": wb["path"],
        "lists_file": str(lists_path),
        "example_uscc": str(example["uscc"].iloc[0]) if len(example) else None,
        "seconds": runs[year].seconds,
    }


def headline(summary: dict[str, Any]) -> list[str]:
    """The lines the demo prints: classes by county, 清三低 counts, money of measures, files."""
    if "skipped" in summary:
        return [f"亩均评价 skipped: {summary['skipped']}"]
    y = summary["year"]
    lines = [
        f"亩均评价 {y}（run #{summary['run_id']}，参数 {summary['parameter_version']}）："
        f"{summary['enterprises']} 家，参评 {summary['evaluated']} 家 / per-mu evaluation"
    ]
    for county, scopes in summary["classes_by_county"].items():
        parts = []
        for scope, counts in scopes.items():
            zh = "规上" if scope == "above" else "规下"
            parts.append(f"{zh} " + " ".join(f"{c}{n}" for c, n in counts.items()))
        lines.append(f"  {county}: " + "；".join(parts))
    q = summary["qingsandi"]
    labels = {k: v[0] for k, v in lists.CATEGORIES.items()}
    totals: dict[str, int] = {}
    for row in q.values():
        for k, n in row.items():
            if k in labels:
                totals[k] = totals.get(k, 0) + n
    lines.append(
        f"清三低及低效 lists: {summary['qingsandi_total']} 家 — "
        + "，".join(f"{labels[k]} {totals.get(k, 0)}" for k in labels)
    )
    money = summary["measures"]["total"]
    parts = []
    for lever, v in money.items():
        zh = measures.LEVERS[lever][1]
        parts.append(f"{zh} {v['enterprises']} 家 {v['money_wan_yuan']:,.1f} 万元")
    lines.append("差别化政策 measures: " + "；".join(parts))
    mv = summary["movements"]
    lines.append(
        f"比上年 vs {y - 1}: 升 up {mv.get('up', 0)}，降 down {mv.get('down', 0)}，"
        f"持平 same {mv.get('same', 0)}"
    )
    lines.append(f"排名表 workbook: {summary['workbook']}")
    lines.append(f"名单 lists: {summary['lists_file']}")
    if summary.get("example_uscc"):
        lines.append(
            f"  .venv/bin/industry-brain mujun explain {summary['example_uscc']} --year {y}"
        )
    return lines
