"""政策直兑 ledger (issue 16 point 7) on SQLite and PostgreSQL: exclusion with a reason, four
eyes, two officers approving the same list at once pay once, a re-run's list pays nobody twice,
reversal as a new entry, the budget is never exceeded, the finance XLSX, every step audited."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from industry_brain.domains.policy import ledger
from industry_brain.domains.policy.models import PolicyPayout, PolicyResult, PolicyRun
from industry_brain.store.db import make_engine
from industry_brain.store.models import AuditLog, Enterprise

POLICY = "mujun_land_use_tax_relief"
USCCS = ("91330502TESTPOL01A", "91330502TESTPOL02B", "91330502TESTPOL03C")


def _seed(engine: Engine, paid: tuple[float, ...] = (12.0, 8.0, 5.0), policy: str = POLICY) -> int:
    """A run of data year 2025 with one eligible result per enterprise; returns the run id."""
    with Session(engine) as s:
        ids = []
        for i, uscc in enumerate(USCCS):
            e = s.scalar(select(Enterprise).where(Enterprise.uscc == uscc))
            if e is None:
                e = Enterprise(uscc=uscc, name=f"政策测试企业{i + 1}", county_code="330502")
                s.add(e)
                s.flush()
            ids.append(e.id)
        run = PolicyRun(
            year=2025,
            kind="run",
            engine="duckdb",
            parameter_version="t",
            policies=[policy],
            input_batch_ids=[],
            input_runs=[],
            snapshot={},
            summary={},
            actor="test",
        )
        s.add(run)
        s.flush()
        for eid, amount in zip(ids, paid, strict=True):
            s.add(
                PolicyResult(
                    run_id=run.id,
                    policy=policy,
                    enterprise_id=eid,
                    entity="",
                    county_code="330502",
                    status="eligible",
                    amount=amount,
                    paid=amount,
                    trace={"amount": {"formula": "x", "formula_value": amount}},
                )
            )
        s.commit()
        return run.id


def _ledger(engine: Engine) -> list[tuple[str, float, str]]:
    with Session(engine) as s:
        return [(r["uscc"], r["amount"], r["kind"]) for r in ledger.payouts(s)]


def test_review_four_eyes_payout_reversal_and_export(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from industry_brain.store import db

    monkeypatch.setattr(db, "IN_CHUNK", 1)  # the payees' results read one at a time
    monkeypatch.setattr(ledger, "PAYOUT_SLICE", 1)  # and their payouts written one at a time
    run_id = _seed(engine)
    with Session(engine) as s:
        ledger.review(s, run_id, POLICY, USCCS[2], "", "exclude", "企业已迁出本市", "officer_a")
        lst = ledger.payout_list(s, run_id, POLICY)
        assert [(r["uscc"], r["excluded"]) for r in lst] == [
            (USCCS[0], None),
            (USCCS[1], None),
            (USCCS[2], "企业已迁出本市"),
        ]
        approval = ledger.submit(s, run_id, POLICY, "officer_a")
        assert approval.total == 20.0 and approval.period == 2026  # 12 + 8; paid in 2026
        with pytest.raises(ledger.LedgerError) as err:
            ledger.approve(s, approval.id, "officer_a")
        assert err.value.code == "policy.four_eyes"
        result = ledger.approve(s, approval.id, "officer_b")
        assert result == {
            "approval_id": approval.id,
            "written": 2,
            "already": 0,
            "status": "approved",
        }
    assert _ledger(engine) == [(USCCS[0], 12.0, "payout"), (USCCS[1], 8.0, "payout")]
    with Session(engine) as s:  # each payout keeps its result's explanation
        assert sorted(
            p.trace["amount"]["formula_value"] for p in s.scalars(select(PolicyPayout))
        ) == [
            8.0,
            12.0,
        ]
        first = ledger.payouts(s)[0]["id"]
        ledger.reverse(s, first, "重复享受同类政策", "officer_b")
        with pytest.raises(ledger.LedgerError) as err:
            ledger.reverse(s, first, "again", "officer_b")
        assert err.value.code == "policy.reversed"
        eid = s.scalar(select(Enterprise.id).where(Enterprise.uscc == USCCS[0]))
        assert ledger.redeemed(s, eid) == 0.0
        out = ledger.export_finance(s, tmp_path / "finance.xlsx", POLICY, 2026, actor="officer_b")
        actions = set(s.scalars(select(AuditLog.action).where(AuditLog.action.like("policy.%"))))
    assert actions >= {
        "policy.exclude",
        "policy.submit",
        "policy.approve",
        "policy.reverse",
        "policy.export",
    }
    ws = load_workbook(out).active
    rows = list(ws.values)
    assert rows[0][:4] == ("序号", "政策", "兑现年度", "统一社会信用代码")
    assert [(r[3], r[7], r[8]) for r in rows[1:-1]] == [
        (USCCS[0], 12.0, "拨付"),
        (USCCS[1], 8.0, "拨付"),
        (USCCS[0], -12.0, "冲销"),
    ]
    assert rows[-1][0] == "合计" and rows[-1][7] == 8.0


def test_a_rerun_list_pays_nobody_twice_and_the_constraint_holds(engine: Engine) -> None:
    first = _seed(engine)
    with Session(engine) as s:
        ledger.approve(s, ledger.submit(s, first, POLICY, "officer_a").id, "officer_b")
    second = _seed(engine, paid=(12.0, 8.0, 5.0))
    with Session(engine) as s:
        result = ledger.approve(s, ledger.submit(s, second, POLICY, "officer_a").id, "officer_c")
    assert (result["written"], result["already"]) == (0, 3)
    assert len(_ledger(engine)) == 3
    with Session(engine) as s:  # the database itself refuses a second payout row
        p = s.scalars(select(PolicyPayout)).first()
        s.add(
            PolicyPayout(
                policy=p.policy,
                period=p.period,
                enterprise_id=p.enterprise_id,
                entity=p.entity,
                kind="payout",
                amount=1.0,
                run_id=second,
                trace={},
                actor="sneaky",
            )
        )
        with pytest.raises(IntegrityError):
            s.commit()


def test_the_budget_is_never_exceeded_by_an_approval(engine: Engine) -> None:
    run_id = _seed(engine, paid=(3000.0, 1500.0, 600.0), policy="zgsz_loan_interest")  # 5100 > 5000
    with Session(engine) as s:
        approval = ledger.submit(s, run_id, "zgsz_loan_interest", "officer_a")
        with pytest.raises(ledger.LedgerError) as err:
            ledger.approve(s, approval.id, "officer_b")
        assert err.value.code == "policy.budget"
    assert _ledger(engine) == []


def test_two_officers_approving_at_once_pay_once(engine: Engine) -> None:
    run_id = _seed(engine)
    with Session(engine) as s:
        approval_id = ledger.submit(s, run_id, POLICY, "officer_a").id
    url = engine.url.render_as_string(hide_password=False)
    barrier = threading.Barrier(2)
    outcome: dict[str, dict] = {}

    def work(officer: str) -> None:
        eng = make_engine(url)
        try:
            with Session(eng) as session:
                barrier.wait()
                outcome[officer] = ledger.approve(session, approval_id, officer)
        finally:
            eng.dispose()

    threads = [threading.Thread(target=work, args=(o,)) for o in ("officer_b", "officer_c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = sorted(o["status"] for o in outcome.values())
    assert statuses == ["already approved", "approved"]
    assert sum(o["written"] for o in outcome.values()) == 3
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(PolicyPayout)) == 3
