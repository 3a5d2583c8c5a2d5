"""政策直兑 — paid without application: a run's per-policy list → officer review (exclude with a
reason) → submission → approval by a second officer (four eyes) → the append-only payout
ledger → the finance bureau's XLSX → the enterprise sees "已兑现 X 万元".

Never twice: a payout row is unique per (policy, period, enterprise, entity, kind) in the
database, approvals insert with ``ON CONFLICT DO NOTHING`` and the approval's own status moves
from ``submitted`` to ``approved`` by a guarded update, so two officers approving at once, or a
list approved again after a re-run, pays each beneficiary once. A reversal is a new row of kind
``reversal`` with a reason. The budget is never exceeded: an approval whose new payouts exceed
what is left of the policy's budget for the period is refused (the run's rationing rule already
fitted the list to the budget). Every step is audited.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from industry_brain.core import exports
from industry_brain.core.errors import IBError, Location
from industry_brain.domains.policy import compute, definitions
from industry_brain.domains.policy.models import (
    PolicyApproval,
    PolicyPayout,
    PolicyResult,
    PolicyReview,
    PolicyRun,
)
from industry_brain.store import audit
from industry_brain.store.db import chunks
from industry_brain.store.models import Enterprise


class LedgerError(IBError):
    """A refused ledger step (same officer, budget, unknown list)."""


def _run(session: Session, run_id: int) -> PolicyRun:
    run = session.get(PolicyRun, run_id)
    if run is None or run.kind != "run":
        raise LedgerError(
            "policy.run",
            f"没有测算批次 {run_id}",
            f"no policy run {run_id}",
            Location(field="run_id"),
            run_id,
        )
    return run


def period_of(run: PolicyRun) -> int:
    """The payout period: the application year of the run's data year."""
    return compute.apply_date(run.year).year


def excluded(session: Session, run_id: int, policy: str) -> dict[tuple[int, str], str]:
    """(enterprise, entity) → reason, for the latest review of each that excludes it."""
    rows = session.execute(
        select(
            PolicyReview.enterprise_id,
            PolicyReview.entity,
            PolicyReview.action,
            PolicyReview.reason,
        )
        .where(PolicyReview.run_id == run_id, PolicyReview.policy == policy)
        .order_by(PolicyReview.id)
    ).all()
    state: dict[tuple[int, str], str | None] = {}
    for eid, entity, action, reason in rows:
        state[(int(eid), entity)] = reason if action == "exclude" else None
    return {k: v for k, v in state.items() if v is not None}


#: payout rows written by one INSERT (10 values each: within every store's parameter limit)
PAYOUT_SLICE = 1000


def payout_list(session: Session, run_id: int, policy: str) -> list[dict[str, Any]]:
    """The eligible results of a policy in a run with their review state and what is paid."""
    run = _run(session, run_id)
    out = excluded(session, run_id, policy)
    paid = {
        (int(e), ent): float(a)
        for e, ent, a in session.execute(
            select(PolicyPayout.enterprise_id, PolicyPayout.entity, func.sum(PolicyPayout.amount))
            .where(PolicyPayout.policy == policy, PolicyPayout.period == period_of(run))
            .group_by(PolicyPayout.enterprise_id, PolicyPayout.entity)
        ).all()
    }
    # the columns shown, not the results themselves: a result's explanation (``trace``) is
    # JSON of a few kilobytes, and a province's policy has hundreds of thousands of payees
    rows = session.execute(
        select(
            PolicyResult.id,
            PolicyResult.enterprise_id,
            Enterprise.uscc,
            Enterprise.name,
            PolicyResult.entity,
            PolicyResult.county_code,
            PolicyResult.amount,
            PolicyResult.paid,
        )
        .join(Enterprise, Enterprise.id == PolicyResult.enterprise_id)
        .where(
            PolicyResult.run_id == run_id,
            PolicyResult.policy == policy,
            PolicyResult.status == "eligible",
        )
        .order_by(Enterprise.uscc, PolicyResult.entity)
    ).all()
    return [
        {
            "result_id": rid,
            "enterprise_id": eid,
            "uscc": uscc,
            "name": name,
            "entity": entity,
            "county_code": county,
            "amount": amount,
            "paid": paid_amount,
            "excluded": out.get((eid, entity)),
            "in_ledger": paid.get((eid, entity)),
        }
        for rid, eid, uscc, name, entity, county, amount, paid_amount in rows
    ]


def review(
    session: Session,
    run_id: int,
    policy: str,
    uscc: str,
    entity: str,
    action: str,
    reason: str,
    actor: str,
) -> PolicyReview:
    """Exclude (or include again) one result from the list, with a reason; audited."""
    if action not in ("exclude", "include") or not reason.strip():
        raise LedgerError(
            "policy.review",
            "须说明排除或恢复的理由",
            "a review needs exclude/include and a reason",
            Location(field="reason"),
        )
    _run(session, run_id)
    eid = session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc))
    if eid is None:
        raise LedgerError(
            "policy.enterprise",
            f"未找到企业 {uscc}",
            f"no enterprise {uscc}",
            Location(field="uscc"),
            uscc,
        )
    row = PolicyReview(
        run_id=run_id,
        policy=policy,
        enterprise_id=eid,
        entity=entity,
        action=action,
        reason=reason.strip(),
        actor=actor,
    )
    session.add(row)
    audit.record(
        session,
        actor,
        f"policy.{action}",
        "policy_result",
        f"{run_id}:{policy}:{uscc}:{entity}",
        {"reason": reason.strip()},
    )
    session.commit()
    return row


def submit(session: Session, run_id: int, policy: str, actor: str) -> PolicyApproval:
    """Submit a run's list of one policy for approval by a second officer."""
    run = _run(session, run_id)
    if policy not in run.policies:
        raise LedgerError(
            "policy.unknown",
            f"批次 {run_id} 没有政策 {policy}",
            f"run {run_id} has no policy {policy}",
            Location(field="policy"),
            policy,
        )
    rows = payout_list(session, run_id, policy)
    total = sum(r["paid"] or 0.0 for r in rows if not r["excluded"])
    existing = session.scalar(
        select(PolicyApproval).where(
            PolicyApproval.run_id == run_id, PolicyApproval.policy == policy
        )
    )
    if existing is not None:
        raise LedgerError(
            "policy.submitted",
            f"批次 {run_id} 的 {policy} 清单已提交",
            f"the {policy} list of run {run_id} is already submitted",
            Location(field="policy"),
            existing.id,
        )
    approval = PolicyApproval(
        run_id=run_id,
        policy=policy,
        period=period_of(run),
        status="submitted",
        total=round(total, 4),
        submitted_by=actor,
    )
    session.add(approval)
    session.flush()
    audit.record(
        session,
        actor,
        "policy.submit",
        "policy_approval",
        str(approval.id),
        {"run_id": run_id, "policy": policy, "total": round(total, 4)},
    )
    session.commit()
    return approval


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(PolicyPayout)


def remaining_budget(session: Session, policy_id: str, period: int) -> float | None:
    p = definitions.load()[policy_id]
    if p.spec.budget is None:
        return None
    from datetime import date

    budget = float(p.resolve(p.spec.budget, p.spec.region, date(period, 1, 1)).value)
    spent = session.scalar(
        select(func.coalesce(func.sum(PolicyPayout.amount), 0.0)).where(
            PolicyPayout.policy == policy_id, PolicyPayout.period == period
        )
    )
    return budget - float(spent or 0.0)


def approve(session: Session, approval_id: int, actor: str) -> dict[str, Any]:
    """Approve a submitted list (not by the officer who submitted it) and write its payouts.
    Returns how many payouts were written and how many were already in the ledger."""
    approval = session.get(PolicyApproval, approval_id)
    if approval is None:
        raise LedgerError(
            "policy.approval",
            f"没有待审批清单 {approval_id}",
            f"no approval {approval_id}",
            Location(field="approval_id"),
            approval_id,
        )
    if approval.submitted_by == actor:
        raise LedgerError(
            "policy.four_eyes",
            "提交人不能审批自己提交的清单（双人复核）",
            "the officer who submitted a list cannot approve it (four eyes)",
            Location(field="actor"),
            actor,
        )
    session.commit()  # end the read: the guarded update below decides who approves
    claimed = session.execute(
        update(PolicyApproval)
        .where(PolicyApproval.id == approval_id, PolicyApproval.status == "submitted")
        .values(status="approved", approved_by=actor, approved_at=datetime.now(UTC))
    ).rowcount
    if claimed != 1:
        session.rollback()
        return {
            "approval_id": approval_id,
            "written": 0,
            "already": 0,
            "status": "already approved",
        }
    rows = [
        r
        for r in payout_list(session, approval.run_id, approval.policy)
        if not r["excluded"] and (r["paid"] or 0) > 0
    ]
    new = [r for r in rows if r["in_ledger"] is None]
    left = remaining_budget(session, approval.policy, approval.period)
    total_new = sum(r["paid"] for r in new)
    if left is not None and total_new > left + 1e-6:
        session.rollback()
        raise LedgerError(
            "policy.budget",
            f"本次兑现 {total_new:.4f} 万元超过剩余预算 {left:.4f} 万元",
            f"paying {total_new:.4f} would exceed the remaining budget {left:.4f} (万元)",
            Location(field="budget"),
            total_new,
        )
    traces = {
        rid: trace
        for part in chunks([x["result_id"] for x in new])  # a province's payees: in slices
        for rid, trace in session.execute(
            select(PolicyResult.id, PolicyResult.trace).where(PolicyResult.id.in_(part))
        )
    }
    written = 0
    for part in chunks(new, PAYOUT_SLICE):  # one statement per slice of payees
        stmt = (
            _insert(session)
            .values(
                [
                    {
                        "policy": approval.policy,
                        "period": approval.period,
                        "enterprise_id": r["enterprise_id"],
                        "entity": r["entity"],
                        "kind": "payout",
                        "amount": r["paid"],
                        "run_id": approval.run_id,
                        "approval_id": approval.id,
                        "trace": traces.get(r["result_id"], {}),
                        "actor": actor,
                    }
                    for r in part
                ]
            )
            .on_conflict_do_nothing(
                index_elements=["policy", "period", "enterprise_id", "entity", "kind"]
            )
        )
        written += len(session.execute(stmt.returning(PolicyPayout.id)).all())
    audit.record(
        session,
        actor,
        "policy.approve",
        "policy_approval",
        str(approval_id),
        {
            "written": written,
            "already": len(rows) - written,
            "policy": approval.policy,
            "period": approval.period,
        },
    )
    session.commit()
    return {
        "approval_id": approval_id,
        "written": written,
        "already": len(rows) - written,
        "status": "approved",
    }


def reverse(session: Session, payout_id: int, reason: str, actor: str) -> PolicyPayout:
    """Reverse a payout: a new ledger row of kind ``reversal`` with the negative amount."""
    payout = session.get(PolicyPayout, payout_id)
    if payout is None or payout.kind != "payout":
        raise LedgerError(
            "policy.payout",
            f"没有兑现记录 {payout_id}",
            f"no payout {payout_id}",
            Location(field="payout_id"),
            payout_id,
        )
    if not reason.strip():
        raise LedgerError(
            "policy.reason", "冲销须说明理由", "a reversal needs a reason", Location(field="reason")
        )
    row = PolicyPayout(
        policy=payout.policy,
        period=payout.period,
        enterprise_id=payout.enterprise_id,
        entity=payout.entity,
        kind="reversal",
        amount=-payout.amount,
        run_id=payout.run_id,
        approval_id=payout.approval_id,
        reverses_id=payout.id,
        reason=reason.strip(),
        trace={},
        actor=actor,
    )
    try:
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor,
            "policy.reverse",
            "policy_payout",
            str(payout_id),
            {"reason": reason.strip()},
        )
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise LedgerError(
            "policy.reversed",
            f"兑现记录 {payout_id} 已冲销",
            f"payout {payout_id} is already reversed",
            Location(field="payout_id"),
            payout_id,
        ) from exc
    return row


def payouts(
    session: Session,
    policy: str | None = None,
    period: int | None = None,
    enterprise_id: int | None = None,
) -> list[dict[str, Any]]:
    stmt = select(PolicyPayout, Enterprise.uscc, Enterprise.name, Enterprise.county_code).join(
        Enterprise, Enterprise.id == PolicyPayout.enterprise_id
    )
    if policy:
        stmt = stmt.where(PolicyPayout.policy == policy)
    if period:
        stmt = stmt.where(PolicyPayout.period == period)
    if enterprise_id is not None:
        stmt = stmt.where(PolicyPayout.enterprise_id == enterprise_id)
    return [
        {
            "id": p.id,
            "policy": p.policy,
            "period": p.period,
            "uscc": uscc,
            "name": name,
            "county_code": county,
            "entity": p.entity,
            "kind": p.kind,
            "amount": p.amount,
            "run_id": p.run_id,
            "approval_id": p.approval_id,
            "reverses_id": p.reverses_id,
            "reason": p.reason,
            "actor": p.actor,
            "created_at": p.created_at.isoformat() if p.created_at else None,
        }
        for p, uscc, name, county in session.execute(stmt.order_by(PolicyPayout.id)).all()
    ]


def redeemed(session: Session, enterprise_id: int) -> float:
    """已兑现: the enterprise's payouts less reversals, 万元."""
    total = session.scalar(
        select(func.coalesce(func.sum(PolicyPayout.amount), 0.0)).where(
            PolicyPayout.enterprise_id == enterprise_id
        )
    )
    return round(float(total or 0.0), 4)


FINANCE_COLUMNS = (
    "序号",
    "政策",
    "兑现年度",
    "统一社会信用代码",
    "企业名称",
    "区县代码",
    "项目/贷款",
    "金额（万元）",
    "类型",
    "批次",
    "审批单",
    "说明",
)


def export_finance(
    session: Session,
    path: Path,
    policy: str | None = None,
    period: int | None = None,
    actor: str = "cli",
) -> Path:
    """The finance bureau's XLSX: one row per ledger entry (payouts and reversals), totals."""
    rows = payouts(session, policy, period)
    titles = {p.id: p.spec.title.zh for p in definitions.load().values()}
    wb = exports.workbook()
    ws = wb.active
    ws.title = exports.sheet_title("政策直兑拨付清单")
    exports.append(ws, FINANCE_COLUMNS)
    for i, r in enumerate(rows, 1):
        exports.append(
            ws,
            [
                i,
                titles.get(r["policy"], r["policy"]),
                r["period"],
                r["uscc"],
                r["name"],
                r["county_code"],
                r["entity"] or "—",
                round(r["amount"], 4),
                "拨付" if r["kind"] == "payout" else "冲销",
                r["run_id"],
                r["approval_id"],
                r["reason"] or "",
            ],
        )
    exports.append(
        ws,
        ["合计", "", "", "", "", "", "", round(sum(r["amount"] for r in rows), 4), "", "", "", ""],
    )
    audit.record(
        session,
        actor,
        "policy.export",
        "policy_payouts",
        policy or "*",
        {"period": period, "rows": len(rows)},
    )
    session.commit()
    return exports.save(wb, path)
