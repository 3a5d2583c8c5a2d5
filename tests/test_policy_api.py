"""The 政策计算器 JSON API (/api/v1/policy) on the web fixtures' store (no 研发 or 营业收入
reported, so the R&D award cannot be told until a what-if gives the figures): qualifies /
almost / what-if with hand-computed amounts, nothing stored, scoped like the web calculator,
audited, the one error shape; plus a schemathesis run over its two operations."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import date
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.domains.policy import service
from industry_brain.domains.policy.models import PolicyLoan, PolicyResult, PolicyRun
from industry_brain.store.db import make_engine
from industry_brain.store.migrate import upgrade
from industry_brain.store.models import AuditLog, Enterprise
from industry_brain.web.app import create_app
from industry_brain.web.auth import create_api_token
from industry_brain.web.settings import Settings
from tests.web_fixtures import USCC_NX, USCC_WX, seed

_STATE: dict = {}


def _app():  # type: ignore[no-untyped-def]
    folder = Path(tempfile.mkdtemp(prefix="ib-policy-api-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # built at import time
    engine = make_engine(f"sqlite:///{folder / 'store.sqlite'}")
    upgrade(engine)
    ids = seed(engine).ids
    with Session(engine) as s:
        _STATE["tokens"] = {
            u: create_api_token(s, ids[u], "policy-api")
            for u in ("admin", "ent_wx", "county_nx", "bank")
        }
        s.commit()
    _STATE["engine"] = engine
    _STATE["data"] = folder / "data"
    return create_app(Settings(), engine)


APP = _app()


@pytest.fixture(autouse=True)
def _data_dir(monkeypatch):  # type: ignore[no-untyped-def]
    # one snapshot for the module (built on the first call, then reused)
    monkeypatch.setenv("IB_DATA_DIR", str(_STATE["data"]))


def _client(user: str) -> TestClient:
    return TestClient(
        APP,
        headers={"Authorization": f"Bearer {_STATE['tokens'][user]}"},
        raise_server_exceptions=True,
    )


def _by_policy(items: list[dict]) -> dict[str, dict]:
    return {i["policy"]: i for i in items if i["entity"] == ""}


def test_calculator_reads_the_store_and_cannot_tell_without_the_figures() -> None:
    r = _client("admin").get(f"/api/v1/policy/enterprises/{USCC_WX}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["uscc"] == USCC_WX and body["year"] == 2024 and body["what_if"] is False
    unknown = _by_policy(body["unknown"])
    # 规上 (330502) but no R&D or revenue reported: the R&D ratio is unknown, not "no"
    rd = unknown["rd_intensity_award"]
    assert [c["result"] for c in rd["conditions"]] == [True, None]
    assert body["total"] == 0 and not body["qualifies"]


def test_what_if_qualifies_almost_and_loan_with_hand_computed_amounts() -> None:
    c = _client("admin")
    # R&D 300 of revenue 4,000 万元: ratio 7.5 % ≥ 5 % (band below 5,000 万元);
    # award 300 × 5 % = 15 万元 (cap 50)
    r = c.post(
        f"/api/v1/policy/enterprises/{USCC_WX}/what-if",
        json={"facts": {"rd_expense": 300, "revenue": 4000}},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    award = _by_policy(body["qualifies"])["rd_intensity_award"]
    assert award["status"] == "eligible" and award["amount"] == pytest.approx(15.0)
    assert award["paid"] == pytest.approx(15.0) and body["what_if"] is True
    assert body["total"] == pytest.approx(15.0)
    # R&D 180 of 4,000: 4.5 % < 5 %, gap 0.5 point (10 % of the threshold: "almost"),
    # i.e. 0.005 × 4,000 = 20 万元 more R&D
    r = c.post(
        f"/api/v1/policy/enterprises/{USCC_WX}/what-if",
        json={"facts": {"rd_expense": 180, "revenue": 4000}},
    )
    near = _by_policy(r.json()["almost"])["rd_intensity_award"]
    (failing,) = near["failing"]
    assert failing["id"] == "rd_ratio" and failing["result"] is False
    assert failing["gap"] == pytest.approx(0.005) and failing["gap_amount"] == pytest.approx(20.0)
    assert near["amount"] is None
    # a 智改数转 loan of 1,000 万元 at 5 % over all of 2024 (366 days):
    # 1,000 × min(2 %, 5 %) × 366 ÷ 365 = 20.054795 万元
    r = c.post(
        f"/api/v1/policy/enterprises/{USCC_WX}/what-if",
        json={
            "loans": [
                {
                    "amount": 1000,
                    "rate": 0.05,
                    "start_date": "2024-01-01",
                    "end_date": "2025-01-01",
                    "purpose": "zgsz",
                }
            ]
        },
    )
    loans = [i for i in r.json()["qualifies"] if i["policy"] == "zgsz_loan_interest"]
    assert len(loans) == 1 and loans[0]["entity"].startswith("loan:")
    assert loans[0]["amount"] == pytest.approx(1000 * 0.02 * 366 / 365)
    # nothing stored by any of it; every call audited
    with Session(_STATE["engine"]) as s:
        assert s.scalar(select(func.count(PolicyRun.id))) == 0
        assert s.scalar(select(func.count(PolicyResult.id))) == 0
        audited = s.scalars(
            select(AuditLog).where(
                AuditLog.action == "policy.calculate", AuditLog.object_id == USCC_WX
            )
        ).all()
    assert sum(1 for a in audited if a.detail.get("what_if")) >= 3


def test_scope_like_the_web_calculator() -> None:
    # the enterprise itself: its own USCC only
    assert _client("ent_wx").get(f"/api/v1/policy/enterprises/{USCC_WX}").status_code == 200
    other = _client("ent_wx").get(f"/api/v1/policy/enterprises/{USCC_NX}")
    assert other.status_code == 404 and other.json()["code"] == "enterprise.not_found"
    # a county officer: its county only; a bank: nothing
    assert _client("county_nx").get(f"/api/v1/policy/enterprises/{USCC_WX}").status_code == 404
    assert _client("county_nx").get(f"/api/v1/policy/enterprises/{USCC_NX}").status_code == 200
    bank = _client("bank").post(
        f"/api/v1/policy/enterprises/{USCC_WX}/what-if", json={"facts": {"revenue": 1}}
    )
    assert bank.status_code == 404 and set(bank.json()) >= {"code", "zh", "en", "request_id"}
    anonymous = TestClient(APP).get(f"/api/v1/policy/enterprises/{USCC_WX}")
    assert anonymous.status_code == 401


def test_errors_have_the_one_shape() -> None:
    c = _client("admin")
    r = c.post(f"/api/v1/policy/enterprises/{USCC_WX}/what-if", json={"facts": {"employees": 3}})
    assert r.status_code == 400 and r.json()["code"] == "policy.what_if"
    assert r.json()["field"] == "facts.employees" and "employees" in r.json()["en"]
    r = c.post(
        f"/api/v1/policy/enterprises/{USCC_WX}/what-if",
        json={
            "loans": [
                {"amount": 5, "rate": 0.04, "start_date": "2024-05-01", "end_date": "2024-01-01"}
            ]
        },
    )
    assert r.status_code == 400 and r.json()["field"] == "loans"
    r = c.get("/api/v1/policy/enterprises/not-a-uscc")
    assert r.status_code == 422 and set(r.json()) >= {"code", "zh", "en", "request_id"}


def test_the_answer_is_computed_once_until_its_inputs_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int | None] = []
    real = service.evaluate_snapshot

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs.get("enterprise_id"))
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "evaluate_snapshot", counted)
    c, url = _client("admin"), f"/api/v1/policy/enterprises/{USCC_WX}"
    first = c.get(url).json()
    before = len(calls)
    assert c.get(url).json() == first and len(calls) == before  # the same inputs: kept
    assert not [i for i in first["qualifies"] if i["policy"] == "zgsz_loan_interest"]
    # a loan reported to the store changes an input (the snapshot is the same): computed again
    # — 1,000 万元 at 5 % over all of 2024 (366 days): 1,000 × min(2 %, 5 %) × 366 ÷ 365
    with Session(_STATE["engine"]) as s:
        eid = s.scalar(select(Enterprise.id).where(Enterprise.uscc == USCC_WX))
        loan = PolicyLoan(
            enterprise_id=eid,
            bank="测试银行",
            reference="cache-test-1",
            amount=1000,
            rate=0.05,
            start_date=date(2024, 1, 1),
            end_date=date(2025, 1, 1),
            purpose="zgsz",
            reported_by="test",
        )
        s.add(loan)
        s.commit()
        try:
            after = c.get(url).json()
            assert len(calls) == before + 1
            (interest,) = [i for i in after["qualifies"] if i["policy"] == "zgsz_loan_interest"]
            assert interest["amount"] == pytest.approx(1000 * 0.02 * 366 / 365)
        finally:
            s.delete(loan)
            s.commit()
    assert c.get(url).json() == first and len(calls) == before + 2


schema = schemathesis.openapi.from_asgi("/openapi.json", APP).include(
    path_regex=r"^/api/v1/policy/"
)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_policy_api_matches_its_schema(case):  # type: ignore[no-untyped-def]
    case.call_and_validate(
        headers={"Authorization": f"Bearer {_STATE['tokens']['admin']}"},
        excluded_checks=[
            schemathesis.checks.positive_data_acceptance,
            schemathesis.checks.allow_header_conformance,
        ],
    )
