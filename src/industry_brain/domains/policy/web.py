"""Web pages of the policy service: ``/policy`` (officers: the latest run, 一键减负 totals, the
payout lists), ``/policy/calculator`` (政策计算器 for one enterprise — qualifies, almost with the
gap, cannot tell, what-if; nothing stored; officers, agents and the enterprise itself),
``/policy/runs/{run}/{policy}`` (the list: exclude with a reason, submit), ``/policy/approvals/
{id}`` (a second officer approves: four eyes), the portal's "已兑现 X 万元" section and the
cockpit's 一键减负 section."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core.errors import IBError
from industry_brain.domains.policy import definitions, ledger, service
from industry_brain.domains.policy.models import (
    PolicyApproval,
    PolicyPayout,
    PolicyResult,
    PolicyRun,
)
from industry_brain.store import audit, scoped
from industry_brain.store.models import Enterprise
from industry_brain.store.scope import Scope
from industry_brain.web.deps import CsrfDep, DbDep, ScopeDep

router = APIRouter(include_in_schema=False)


def titles() -> dict[str, dict[str, str]]:
    return {
        p.id: {"zh": p.spec.title.zh, "en": p.spec.title.en} for p in definitions.load().values()
    }


def latest_run(session: Session) -> PolicyRun | None:
    return session.scalars(
        select(PolicyRun).where(PolicyRun.kind == "run").order_by(PolicyRun.id.desc()).limit(1)
    ).first()


def relief_rows(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """The ledger entries in the caller's scope (payouts and, negative, reversals) with the
    keys 一键减负 groups them by: policy, county, industry division, month."""
    q = (
        select(
            PolicyPayout.id,
            PolicyPayout.policy,
            PolicyPayout.period,
            PolicyPayout.entity,
            PolicyPayout.kind,
            PolicyPayout.created_at,
            PolicyPayout.amount,
            PolicyPayout.enterprise_id,
            Enterprise.uscc,
            Enterprise.name,
            Enterprise.county_code,
            Enterprise.industry_code,
        )
        .join(Enterprise, Enterprise.id == PolicyPayout.enterprise_id)
        .where(scope.enterprise_clause())
        .order_by(PolicyPayout.id)
    )
    return [
        {
            "id": pid,
            "policy": policy,
            "period": period,
            "entity": entity,
            "kind": kind,
            "month": at.strftime("%Y-%m") if at else "",
            "amount": amount,
            "enterprise_id": eid,
            "uscc": uscc,
            "name": name,
            "county": county or "",
            "industry": (industry or "")[:2],
        }
        for pid, policy, period, entity, kind, at, amount, eid, uscc, name, county, industry in (
            session.execute(q).all()
        )
    ]


#: the keys the totals group by → the filter of /policy/payouts
RELIEF_KEYS = ("policy", "county", "industry", "month")


def relief_totals(session: Session, scope: Scope) -> dict[str, Any]:
    """一键减负: what the ledger paid (payouts less reversals) by policy, county, industry
    division and month, in the caller's scope; each figure with the key of its list
    (``/policy/payouts?<by>=<key>``)."""
    rows = relief_rows(session, scope)
    names = scoped.region_names(session, (r["county"] for r in rows))
    divisions = {d["code"]: d["name"] for d in scoped.industry_divisions(session)}
    labels = {"county": names, "industry": divisions}
    out: dict[str, Any] = {
        "total": round(sum(r["amount"] for r in rows), 4),
        "enterprises": len({r["enterprise_id"] for r in rows}),
    }
    for by in RELIEF_KEYS:
        sums: dict[str, float] = {}
        for r in rows:
            sums[r[by]] = sums.get(r[by], 0.0) + r["amount"]
        out[f"by_{by}"] = [
            {"key": k, "label": labels.get(by, {}).get(k, k), "amount": round(v, 4)}
            for k, v in sorted(sums.items())
        ]
    return out


@router.get("/policy/payouts")
def relief_list(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    policy: Annotated[str, Query(max_length=64)] = "",
    county: Annotated[str, Query(max_length=12)] = "",
    industry: Annotated[str, Query(max_length=4)] = "",
    month: Annotated[str, Query(max_length=7)] = "",
) -> Response:
    """The ledger entries behind a 一键减负 figure (the cockpit's and /policy's links)."""
    scope.require("policy.view")
    want = {"policy": policy, "county": county, "industry": industry, "month": month}
    want = {k: v for k, v in want.items() if v}
    rows = [r for r in relief_rows(db, scope) if all(r[k] == v for k, v in want.items())]
    audit.record(
        db,
        scope.username,
        "policy.payouts.view",
        "list",
        "policy_payouts",
        {**want, "rows": len(rows)},
        user_id=scope.user_id,
    )
    db.commit()
    names = scoped.region_names(db, (r["county"] for r in rows))
    divisions = {d["code"]: d["name"] for d in scoped.industry_divisions(db)}
    labels = {
        "policy": {k: t for k, t in ((k, titles().get(k)) for k in [policy]) if t},
        "county": names,
        "industry": divisions,
    }
    return request.app.state.render(
        request,
        "policy_payouts.html",
        {
            "rows": rows,
            "filters": want,
            "labels": labels,
            "titles": titles(),
            "names": names,
            "total": round(sum(r["amount"] for r in rows), 4),
            "firms": len({r["enterprise_id"] for r in rows}),
        },
    )


@router.get("/policy")
def policy_home(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    scope.require("policy.view")
    run = latest_run(db)
    lists: list[dict[str, Any]] = []
    if run is not None:
        rows = db.execute(
            select(
                PolicyResult.policy,
                func.count(func.distinct(PolicyResult.enterprise_id)),
                func.sum(PolicyResult.paid),
            )
            .join(Enterprise, Enterprise.id == PolicyResult.enterprise_id)
            .where(
                PolicyResult.run_id == run.id,
                PolicyResult.status == "eligible",
                scope.enterprise_clause(),
            )
            .group_by(PolicyResult.policy)
            .order_by(PolicyResult.policy)
        ).all()
        approvals = {
            a.policy: a
            for a in db.scalars(select(PolicyApproval).where(PolicyApproval.run_id == run.id))
        }
        lists = [
            {"policy": p, "firms": n, "amount": a or 0.0, "approval": approvals.get(p)}
            for p, n, a in rows
        ]
    return request.app.state.render(
        request,
        "policy_home.html",
        {
            "run": run,
            "lists": lists,
            "titles": titles(),
            "relief": relief_totals(db, scope),
            "policies": list(definitions.load().values()),
        },
    )


def _float(raw: str) -> float | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError as exc:
        raise IBError("policy.what_if", f"不是数字：{raw}", f"not a number: {raw}") from exc


@router.get("/policy/calculator")
def calculator(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    uscc: Annotated[str, Query(max_length=18)] = "",
    rd_expense: Annotated[str, Query(max_length=20)] = "",
    revenue: Annotated[str, Query(max_length=20)] = "",
    loan_amount: Annotated[str, Query(max_length=20)] = "",
    loan_rate: Annotated[str, Query(max_length=10)] = "",
    loan_start: Annotated[str, Query(max_length=10)] = "",
    loan_end: Annotated[str, Query(max_length=10)] = "",
    loan_purpose: Annotated[str, Query(max_length=16)] = "zgsz",
) -> Response:
    """政策计算器: for an enterprise user always its own enterprise."""
    if scope.role == "enterprise":
        own = db.get(Enterprise, scope.enterprise_id) if scope.enterprise_id else None
        uscc = own.uscc if own else ""
    answer = None
    what_if: dict[str, Any] = {}
    form = {
        "uscc": uscc,
        "rd_expense": rd_expense,
        "revenue": revenue,
        "loan_amount": loan_amount,
        "loan_rate": loan_rate,
        "loan_start": loan_start,
        "loan_end": loan_end,
        "loan_purpose": loan_purpose,
    }
    if uscc:
        ent = scoped.visible_enterprise(db, scope, uscc)
        facts = {
            k: v
            for k, v in (("rd_expense", _float(rd_expense)), ("revenue", _float(revenue)))
            if v is not None
        }
        if facts:
            what_if["facts"] = facts
        amount = _float(loan_amount)
        if amount is not None:
            try:
                start, end = date.fromisoformat(loan_start), date.fromisoformat(loan_end)
            except ValueError as exc:
                raise IBError(
                    "policy.what_if",
                    "贷款起止日期格式应为 YYYY-MM-DD",
                    "loan dates must be YYYY-MM-DD",
                ) from exc
            what_if["loans"] = [
                {
                    "amount": amount,
                    "rate": _float(loan_rate) or 0.0,
                    "start_date": start,
                    "end_date": end,
                    "purpose": loan_purpose or "zgsz",
                }
            ]
        answer = service.explain(
            request.app.state.engine, ent.uscc, what_if=what_if or None, session=db
        )
        answer["name"] = ent.name
        audit.record(
            db,
            scope.username,
            "policy.calculate",
            "enterprise",
            ent.uscc,
            {"what_if": bool(what_if)},
            user_id=scope.user_id,
        )
        db.commit()
    return request.app.state.render(
        request,
        "policy_calculator.html",
        {"answer": answer, "form": form, "what_if": bool(what_if)},
    )


@router.get("/policy/runs/{run_id}/{policy}")
def payout_list(request: Request, db: DbDep, scope: ScopeDep, run_id: int, policy: str) -> Response:
    scope.require("policy.review")
    rows = ledger.payout_list(db, run_id, policy)
    approval = db.scalar(
        select(PolicyApproval).where(
            PolicyApproval.run_id == run_id, PolicyApproval.policy == policy
        )
    )
    run = db.get(PolicyRun, run_id)
    return request.app.state.render(
        request,
        "policy_list.html",
        {
            "rows": rows,
            "run": run,
            "policy": policy,
            "title": titles().get(policy),
            "approval": approval,
            "total": round(sum(r["paid"] or 0 for r in rows if not r["excluded"]), 4),
            "rationing": (run.summary.get("rationing") or {}).get(policy) if run else None,
        },
    )


@router.post("/policy/runs/{run_id}/{policy}/review")
def review(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    run_id: int,
    policy: str,
    uscc: Annotated[str, Form(max_length=18)],
    reason: Annotated[str, Form(max_length=500)] = "",
    entity: Annotated[str, Form(max_length=32)] = "",
    action: Annotated[str, Form(max_length=8)] = "exclude",
) -> Response:
    scope.require("policy.review")
    ledger.review(db, run_id, policy, uscc, entity, action, reason, scope.username)
    return RedirectResponse(f"/policy/runs/{run_id}/{policy}", status_code=303)


@router.post("/policy/runs/{run_id}/{policy}/submit")
def submit(
    request: Request, db: DbDep, scope: ScopeDep, _csrf: CsrfDep, run_id: int, policy: str
) -> Response:
    scope.require("policy.review")
    approval = ledger.submit(db, run_id, policy, scope.username)
    return RedirectResponse(f"/policy/approvals/{approval.id}", status_code=303)


@router.get("/policy/approvals/{approval_id}")
def approval_page(request: Request, db: DbDep, scope: ScopeDep, approval_id: int) -> Response:
    scope.require("policy.review")
    approval = db.get(PolicyApproval, approval_id)
    if approval is None:
        raise IBError(
            "policy.approval", f"没有待审批清单 {approval_id}", f"no approval {approval_id}"
        )
    rows = [
        r for r in ledger.payout_list(db, approval.run_id, approval.policy) if not r["excluded"]
    ]
    names = scoped.display_names(db, [approval.submitted_by, approval.approved_by])
    return request.app.state.render(
        request,
        "policy_approval.html",
        {
            "approval": approval,
            "rows": rows,
            "title": titles().get(approval.policy),
            "names": names,
            "can_approve": scope.can("policy.approve") and scope.username != approval.submitted_by,
        },
    )


@router.post("/policy/approvals/{approval_id}/approve")
def approve(
    request: Request, db: DbDep, scope: ScopeDep, _csrf: CsrfDep, approval_id: int
) -> Response:
    scope.require("policy.approve")
    ledger.approve(db, approval_id, scope.username)
    return RedirectResponse(f"/policy/approvals/{approval_id}", status_code=303)


def portal_section(session: Session, scope: Scope) -> dict[str, Any] | None:
    """已兑现 X 万元: the enterprise's payouts (less reversals) with their trace."""
    if scope.role != "enterprise" or not scope.enterprise_id:
        return None
    rows = ledger.payouts(session, enterprise_id=scope.enterprise_id)
    return {
        "title_zh": "政策直兑（免申即享）",
        "title_en": "Policies paid without application",
        "rows": [],
        "template": "policy_portal.html",
        "id": "policy-portal",
        "redeemed": ledger.redeemed(session, scope.enterprise_id),
        "payouts": rows,
        "titles": titles(),
    }


def cockpit_section(session: Session, scope: Scope) -> dict[str, Any] | None:
    """一键减负: what the ledger paid, by policy, county, industry and month; each figure links
    to its list."""
    data = relief_totals(session, scope)
    if not data["enterprises"]:
        return None
    return {
        "title_zh": "一键减负（政策直兑已兑现）",
        "title_en": "Burden relief paid (policies paid without application)",
        "rows": [],
        "template": "policy_cockpit.html",
        "id": "policy-relief",
        "relief": data,
        "titles": titles(),
    }


def cockpit_stamp(session: Session) -> tuple:
    """Changes with every payout: payouts are only added (a reversal is a row of its own), so
    the highest id says it — a primary-key lookup. Counting them too scanned the whole table
    on every cockpit (millions of payouts at province scale)."""
    return (session.scalar(select(func.max(PolicyPayout.id))),)
