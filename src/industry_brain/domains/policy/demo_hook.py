"""政策计算器 in the main job: demo loans (demo-only, DEFAULT) for a few above-scale firms, the
batch over the current snapshot (every enterprise × every policy in force), and one 政策直兑
list (亩均 land-use tax relief) submitted by the demo's first city officer and approved by its
admin; the headline figures: beneficiaries, total, per policy, 已兑现."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

ORDER = 35  # after the services whose results the snapshot publishes (carbon, mujun, projects)
DEMO_BANK = "演示银行（demo-only）"


def seed_loans(engine: Engine, year: int, n: int = 12) -> int:
    """Demo loans for the first ``n`` above-scale enterprises (by id) of ``year``: 智改数转 and
    working-capital loans, amounts and rates DEFAULT (no real loan data in the demo)."""
    from industry_brain.domains.policy.models import PolicyLoan
    from industry_brain.store.models import EnterpriseScale

    with Session(engine) as s:
        if s.scalar(select(PolicyLoan.id).where(PolicyLoan.bank == DEMO_BANK).limit(1)):
            return 0
        ids = s.scalars(
            select(EnterpriseScale.enterprise_id)
            .where(EnterpriseScale.year == year, EnterpriseScale.above_scale.is_(True))
            .order_by(EnterpriseScale.enterprise_id)
            .limit(n)
        ).all()
        for i, eid in enumerate(ids):
            s.add(
                PolicyLoan(
                    enterprise_id=eid,
                    bank=DEMO_BANK,
                    reference=f"DEMO-{year}-{i + 1:03d}",
                    amount=float(500 + 250 * (i % 4)),
                    rate=0.042 if i % 3 else 0.018,
                    start_date=date(year, 1 + (i % 6), 1),
                    end_date=date(year + 2, 1, 1),
                    purpose="zgsz" if i % 2 == 0 else "working_capital",
                    reported_by="demo",
                )
            )
        s.commit()
        return len(ids)


def run(engine: Engine, out_dir: Path, progress: Callable[[str, int, int], None]) -> dict[str, Any]:
    from industry_brain.domains.policy import ledger, service
    from industry_brain.store.models import EnterpriseScale

    with Session(engine) as s:
        year = s.scalar(select(EnterpriseScale.year).order_by(EnterpriseScale.year.desc()).limit(1))
    if year is None:
        return {"year": None, "headline": ["政策计算器：没有数据 / policies: no data"]}
    loans = seed_loans(engine, int(year))
    progress("policy", 0, 1)
    run_id, ev = service.run(engine, int(year), root=out_dir / "snapshots", actor="demo")
    progress("policy", 1, 1)
    totals = ev.totals()
    redeemed = None
    policy = "mujun_land_use_tax_relief"
    officers = _officers(engine)
    if policy in totals["by_policy"] and officers:
        with Session(engine) as s:
            approval = ledger.submit(s, run_id, policy, officers[0])
            result = ledger.approve(s, approval.id, officers[1])
            redeemed = {"policy": policy, "written": result["written"], "total": approval.total}
    return {
        "year": int(year),
        "run_id": run_id,
        "demo_loans": loans,
        **totals,
        "rationing": ev.rationing,
        "redeemed": redeemed,
        "headline": headline_lines(int(year), totals, redeemed, loans),
    }


def _officers(engine: Engine) -> tuple[str, str] | None:
    """Two of the demo's officers with the approval permission (the first city officer submits,
    the first admin approves), or None when the store has no such users."""
    from industry_brain.store.models import User

    with Session(engine) as s:
        city = s.scalar(select(User.username).where(User.role == "city_officer").order_by(User.id))
        admin = s.scalar(select(User.username).where(User.role == "admin").order_by(User.id))
    return (city, admin) if city and admin else None


def headline_lines(
    year: int, totals: dict[str, Any], redeemed: dict[str, Any] | None, loans: int
) -> list[str]:
    lines = [
        f"政策计算器 {year}：受益企业 {totals['beneficiaries']} 家，"
        f"可兑现合计 {totals['total']:,.2f} 万元，"
        f"无法判断 {totals['unknown']} 项（梯度、两化融合结果尚未发布）/ policies: "
        f"{totals['beneficiaries']} beneficiaries, {totals['total']:,.2f} (10k CNY)",
    ]
    for pid, v in totals["by_policy"].items():
        lines.append(f"  {pid}: {v['enterprises']} 家 firms, {v['amount']:,.2f} 万元")
    if loans:
        lines.append(f"  演示贷款 demo loans (DEFAULT): {loans}")
    if redeemed:
        lines.append(
            f"政策直兑 {redeemed['policy']}：双人审批后已兑现 {redeemed['total']:,.2f} 万元"
            f"（{redeemed['written']} 笔）/ paid after four-eyes approval"
        )
    return lines


def headline(summary: dict[str, Any]) -> list[str]:
    return list(summary["headline"])
