"""五企培育 in the main job (``make demo``): demo recognition lists (CSV files written under the
demo's output folder and imported with their lineage — demo-only, not real lists), declarations
with a small demo evidence PDF (some verified, one rejected with a reason, some waiting for an
officer), the evaluation of the last two data years, a champion pool and a few 一企一策 plans;
the headline is the city's funnel.

Every choice is deterministic: firms are picked by their figures (R&D intensity, revenue) and id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.core import exports

ORDER = 32  # after carbon, mujun, projects; before policy (35), which reads result_tiers
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _figures(engine: Engine, year: int) -> pd.DataFrame:
    from industry_brain.store.models import Enterprise, EnterpriseScale, Fact

    with Session(engine) as s:
        rows = s.execute(
            select(Fact.enterprise_id, Fact.item, Fact.value).where(
                Fact.year == year,
                Fact.month == 0,
                Fact.item.in_(["revenue", "rd_expense", "employees"]),
                Fact.superseded_by.is_(None),
            )
        ).all()
        ents = s.execute(
            select(Enterprise.id, Enterprise.uscc, Enterprise.name, EnterpriseScale.above_scale)
            .join(EnterpriseScale, EnterpriseScale.enterprise_id == Enterprise.id)
            .where(EnterpriseScale.year == year)
        ).all()
    f = pd.DataFrame(rows, columns=["enterprise_id", "item", "value"])
    wide = f.pivot_table(index="enterprise_id", columns="item", values="value", aggfunc="sum")
    e = pd.DataFrame(ents, columns=["enterprise_id", "uscc", "name", "above"]).set_index(
        "enterprise_id"
    )
    out = e.join(wide, how="inner").reset_index()
    for col in ("revenue", "rd_expense", "employees"):
        if col not in out:
            out[col] = float("nan")
    out["rd_ratio"] = out["rd_expense"] / out["revenue"]
    return out.sort_values(["rd_ratio", "enterprise_id"], ascending=[False, True])


def _write_list(path: Path, rows: list[tuple[str, str, str, int, str]]) -> Path:
    return exports.write_csv(path, ["统一社会信用代码", "企业名称", "梯度", "年度", "批次"], rows)


def _split(items: list, shares: list[float]) -> list[list]:
    """Consecutive slices of ``items`` of the given shares (each at least one item while items
    last), so the small demo and the city demo both get every kind."""
    out, start, n = [], 0, len(items)
    for share in shares:
        size = max(1, round(share * n))
        out.append(items[start : start + size])
        start += size
    return out


def _ranked(fig: pd.DataFrame) -> pd.DataFrame:
    """Above-scale firms with revenue ≥ 2 000 万元, highest R&D intensity first."""
    return fig[(fig["above"]) & (fig["revenue"] >= 2000)]


def seed_lists(engine: Engine, out_dir: Path, year: int, fig: pd.DataFrame) -> dict[str, int]:
    """Demo lists: the highest-R&D above-scale firms hold titles (some recognised this year,
    some expired, some expiring), 高新技术企业 for the next ones."""
    from industry_brain.domains.tiers import titles

    above = _ranked(fig)
    u = list(zip(above["uscc"], above["name"], strict=True))
    if len(u) < 12:
        return {}
    champ, giant_new, giant_old, zjtx_old, zjtx_new, zjtx_expired, inno, ht_new, ht_old = _split(
        u[: int(len(u) * 0.6)], [0.01, 0.03, 0.02, 0.12, 0.08, 0.04, 0.3, 0.1, 0.05]
    )
    rows = []
    rows += [(c, n, "单项冠军", year - 1, "第八批") for c, n in champ]
    rows += [(c, n, "专精特新“小巨人”", year, "第七批") for c, n in giant_new]
    rows += [(c, n, "专精特新“小巨人”", year - 2, "第五批") for c, n in giant_old]
    # the champions and little giants are provincial 专精特新 as well
    rows += [(c, n, "专精特新中小企业", year - 2, f"{year - 2}年")
             for c, n in champ + giant_new + giant_old + zjtx_old]  # fmt: skip
    rows += [(c, n, "专精特新中小企业", year, f"{year}年") for c, n in zjtx_new]
    rows += [(c, n, "专精特新中小企业", year - 4, f"{year - 4}年") for c, n in zjtx_expired]
    rows += [(c, n, "创新型中小企业", year - 1, f"{year - 1}年") for c, n in inno]
    rows += [(c, n, "高新技术企业", year, f"{year}年") for c, n in ht_new]
    rows += [(c, n, "高新技术企业", year - 2, f"{year - 2}年") for c, n in ht_old]
    path = _write_list(out_dir / "tiers" / "演示认定名单（演示数据）.csv", rows)
    with Session(engine) as s:
        out = titles.import_list(s, path, "demo")
        s.commit()
    return {"titles": out["titles"], "batch_id": out["batch_id"]}


def seed_declarations(engine: Engine, year: int, fig: pd.DataFrame) -> dict[str, int]:
    """The next firms by R&D intensity after the titled ones (up to 12) declare the figures the
    专精特新 conditions need; the first half are verified by the demo's officer (one figure
    rejected with a reason), the rest wait for an officer."""
    from industry_brain.domains.tiers import declarations as decl
    from industry_brain.domains.tiers.models import TiersDeclaration
    from industry_brain.store.models import Enterprise

    above = _ranked(fig)
    start = int(len(above) * 0.6)
    picked = list(above["enterprise_id"][start : start + 12])
    verify_n = len(picked) // 2
    counts = {"declared": 0, "verified": 0, "rejected": 0}
    with Session(engine) as s:
        if s.scalar(select(TiersDeclaration.id).limit(1)) is not None:
            return counts
        for k, eid in enumerate(picked):
            ent = s.get(Enterprise, int(eid))
            figures = {
                "niche_years": 3 + k % 6,
                "zjtx_score": 58 + 2 * (k % 5),
                "debt_ratio": round(0.45 + 0.03 * (k % 6), 2),
                "main_business_share": round(0.72 + 0.02 * (k % 5), 2),
                "sci_award_top": 0,
                "maker_top500": 0,
                "invention_patents": 2 + k % 4,
                "rd_staff": 8 + k,
            }
            evidence = {
                item: decl.Evidence(
                    f"ZM-{year}-{k + 1:02d}{j + 1:02d}.PDF", DEMO_PDF + bytes([k, j])
                )
                for j, item in enumerate(figures)
            }
            d = decl.declare(s, ent, year, figures, evidence, actor="demo-enterprise")
            s.flush()
            counts["declared"] += len(figures)
            if k < verify_n:
                for item in d_items(s, d.id):
                    if k == verify_n - 1 and item.item == "zjtx_score":
                        decl.decide(s, item.id, "demo", False, "评分表与佐证材料不一致（演示）")
                        counts["rejected"] += 1
                    else:
                        decl.decide(s, item.id, "demo", True)
                        counts["verified"] += 1
        s.commit()
    return counts


def d_items(session: Session, declaration_id: int) -> list[Any]:
    from industry_brain.domains.tiers.models import TiersDeclarationItem

    return list(
        session.scalars(
            select(TiersDeclarationItem)
            .where(TiersDeclarationItem.declaration_id == declaration_id)
            .order_by(TiersDeclarationItem.id)
        )
    )


def seed_pool_and_plans(engine: Engine, year: int, fig: pd.DataFrame, today: date) -> int:
    """The three firms just below the champion get into the pool; two get a plan with targets
    (R&D intensity, revenue) and actions, one action already overdue on the demo's day."""
    from industry_brain.domains.tiers import plans
    from industry_brain.domains.tiers.models import TiersPlan
    from industry_brain.store.models import Enterprise

    above = _ranked(fig)
    picked = list(above["enterprise_id"][1:4])
    with Session(engine) as s:
        if s.scalar(select(TiersPlan.id).limit(1)) is not None:
            return 0
        made = 0
        for k, eid in enumerate(picked):
            ent = s.get(Enterprise, int(eid))
            plans.add_to_pool(s, ent, "demo", today - timedelta(days=200), "champion",
                              "single_champion", "冠军领航（演示）")  # fmt: skip
            if k >= 2:
                continue
            row = fig[fig["enterprise_id"] == eid].iloc[0]
            start = date(year, 1, 1)
            plan = plans.create_plan(
                s,
                ent,
                f"{ent.name} 冠军领航计划（{year}–{year + 2}）",
                start,
                date(year + 2, 12, 31),
                "demo",
                "single_champion",
                targets=[
                    {
                        "indicator": "rd_ratio",
                        "target": round(float(row["rd_ratio"]) + 0.01, 4),
                        "due_date": date(year + 1, 12, 31),
                        "baseline": round(float(row["rd_ratio"]), 4),
                        "baseline_year": year - 1,
                    },
                    {
                        "indicator": "revenue",
                        "target": round(float(row["revenue"]) * 1.3, 1),
                        "due_date": date(year + 2, 12, 31),
                        "baseline": round(float(row["revenue"]), 1),
                        "baseline_year": year - 1,
                    },
                ],
                actions=[
                    {
                        "title": "申报省级企业技术中心",
                        "owner_kind": "department",
                        "owner": "市经信局",
                        "due_date": today - timedelta(days=30),
                        "policy_code": "rd_intensity_award",
                    },
                    {
                        "title": "对接智改数转服务商",
                        "owner_kind": "agent",
                        "owner": "驻企服务员",
                        "due_date": today + timedelta(days=60),
                        "policy_code": "zgsz_loan_interest",
                    },
                ],
            )
            plans.sign(s, plan, ent.name, start + timedelta(days=20), "demo")
            plans.record_from_facts(s, plan, today, "demo")
            made += 1
        s.commit()
    return made


def run(engine: Engine, out_dir: Path, progress: Callable[[str, int, int], None]) -> dict[str, Any]:
    from industry_brain.demo.constants import DEMO_TODAY
    from industry_brain.domains.tiers import declarations, pipeline, plans, service, titles
    from industry_brain.store.models import EnterpriseScale

    with Session(engine) as s:
        years = sorted(s.scalars(select(EnterpriseScale.year).distinct()).all())
    if not years:
        return {"year": None}
    year = int(years[-1])
    fig = _figures(engine, year)
    progress("tiers lists", 0, 1)
    lists = seed_lists(engine, out_dir, year, fig)
    decls = seed_declarations(engine, year, fig)
    progress("tiers lists", 1, 1)
    snap = service.take_snapshot(engine, out_dir / "snapshots")
    runs = {}
    for y in years[-2:]:
        progress(f"tiers evaluate {y}", 0, 1)
        # the evaluation itself is not kept: holding a year's wide rows and results while the
        # next year is evaluated doubled the service's peak memory at province scale
        runs[y] = service.run(engine, y, "duckdb", snapshot=snap, actor="demo")[0].id
        progress(f"tiers evaluate {y}", 1, 1)
    made = seed_pool_and_plans(engine, year, fig, DEMO_TODAY)
    with Session(engine) as s:
        f = pipeline.funnel(s, year)
        n_warn = len(titles.warnings(s, DEMO_TODAY)) + len(plans.warnings(s, DEMO_TODAY))
        n_cand = len(pipeline.candidates(s, year, limit=1000))
        pending = len(declarations.pending(s, limit=10000))
    return {
        "year": year,
        "runs": runs,
        "lists": lists,
        "declarations": decls,
        "plans": made,
        "funnel": f["stages"],
        "warnings": n_warn,
        "candidates": n_cand,
        "pending": pending,
    }


def headline(summary: dict[str, Any]) -> list[str]:
    from industry_brain.domains.tiers.service import tier_label

    if not summary.get("year"):
        return ["五企培育：没有数据 / tiers: no data"]
    stages = " → ".join(
        f"{'规下' if st['stage'] == 'below_scale' else tier_label(st['stage'])} {st['reached']}"
        for st in summary["funnel"]
    )
    d = summary["declarations"]
    return [
        f"五企培育 {summary['year']} 漏斗 funnel: {stages}",
        f"  认定名单 {summary['lists'].get('titles', 0)} 条；申报指标 {d.get('declared', 0)} 项"
        f"（已审核 {d.get('verified', 0)}，驳回 {d.get('rejected', 0)}，"
        f"待审核 {summary['pending']}）；候选 {summary['candidates']} 家；"
        f"一企一策 {summary['plans']} 份；预警 {summary['warnings']} 条",
    ]
