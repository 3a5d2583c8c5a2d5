"""The carbon JSON API over real HTTP: uvicorn serving the standalone app on 127.0.0.1 (a free
port, in a thread), httpx as the client, the store on SQLite and PostgreSQL.

Bank endpoints need a token and the enterprise's consent (403 after revoke and after expiry);
the verify endpoint is public; every error is ``{code, zh, en}``; every bank read is audited.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.domains.carbon import access, codes
from industry_brain.domains.carbon.api import build_app
from industry_brain.domains.carbon.models import BankToken
from industry_brain.domains.carbon.service import run_accounting
from industry_brain.store.enterprises import get_by_uscc
from industry_brain.store.models import AuditLog, User
from tests.test_carbon_accounting import YEAR, A, C, build_store

TODAY = date(2026, 3, 1)


class Clock:
    """The server's 'today' (consent and code expiry), moved by the test."""

    def __init__(self, today: date) -> None:
        self.today = today

    def __call__(self) -> date:
        return self.today


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(engine: Engine) -> Iterator[tuple[str, Engine, Clock]]:
    build_store(engine)
    run_accounting(engine, YEAR, "duckdb")
    clock = Clock(TODAY)
    port = _free_port()
    config = uvicorn.Config(
        build_app(engine, clock), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", engine, clock
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def _token(engine: Engine, bank: str = "bank_huzhou") -> str:
    with Session(engine) as s:
        token, _ = access.create_token(s, bank, "test", today=TODAY)
        s.commit()
    return token


def _is_error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["code"] == code and body["zh"] and body["en"], body


def test_bank_access_needs_token_and_consent_403_after_revoke(server) -> None:
    base, engine, clock = server
    token = _token(engine)
    with Session(engine) as s:
        stored = s.scalars(select(BankToken)).one()
        assert stored.token_hash == access.token_hash(token) and token not in stored.token_hash
    url = f"{base}/api/v1/carbon/bank/enterprises/{A.uscc}"
    auth = {"Authorization": f"Bearer {token}", "X-Request-Id": "req-1"}
    with httpx.Client(timeout=10) as http:
        _is_error(http.get(url), 401, "auth.token_missing")
        _is_error(
            http.get(url, headers={"Authorization": "Bearer ibk_nope"}), 401, "auth.token_invalid"
        )
        _is_error(http.get(url, headers=auth), 403, "carbon.consent_missing")
        with Session(engine) as s:
            consent = access.grant(
                s,
                A.uscc,
                "bank_huzhou",
                ["grade", "history"],
                TODAY + timedelta(days=10),
                today=TODAY,
            )
            s.commit()
            consent_id = consent.id
        r = http.get(url, headers=auth)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["uscc"], body["grade"], body["label"], body["year"]) == (
            A.uscc,
            4,
            "中碳4级",
            YEAR,
        )
        # co2_net / intensity would give the masked denominator: a bank sees neither
        assert "co2_net" not in body and "intensity" not in body and body["k_value"] > 0
        hist = http.get(url + "/history", headers=auth)
        assert hist.status_code == 200 and [h["grade"] for h in hist.json()["history"]] == [4]
        consents = http.get(f"{base}/api/v1/carbon/bank/consents", headers=auth).json()
        assert [(c["uscc"], c["state"]) for c in consents] == [(A.uscc, "active")]
        # revoke → 403 at once
        with Session(engine) as s:
            access.revoke(s, consent_id)
            s.commit()
        _is_error(http.get(url, headers=auth), 403, "carbon.consent_revoked")
        _is_error(http.get(url + "/history", headers=auth), 403, "carbon.consent_revoked")
        # a new consent that then expires: 200 on its last day, 403 the day after
        with Session(engine) as s:
            access.grant(
                s, A.uscc, "bank_huzhou", ["grade"], TODAY + timedelta(days=5), today=TODAY
            )
            s.commit()
        clock.today = TODAY + timedelta(days=5)
        assert http.get(url, headers=auth).status_code == 200
        clock.today = TODAY + timedelta(days=6)
        _is_error(http.get(url, headers=auth), 403, "carbon.consent_expired")
        # a revoked token is refused
        with Session(engine) as s:
            access.revoke_token(s, s.scalars(select(BankToken)).one().id)
            s.commit()
        _is_error(http.get(url, headers=auth), 401, "auth.token_invalid")
    with Session(engine) as s:
        entries = list(
            s.scalars(
                select(AuditLog)
                .where(AuditLog.action.in_(["carbon.bank.grade", "carbon.bank.history"]))
                .order_by(AuditLog.id)
            )
        )
    assert [(e.action.rsplit(".", 1)[1], e.detail["allowed"]) for e in entries] == [
        ("grade", False),
        ("grade", True),
        ("history", True),
        ("grade", False),
        ("history", False),
        ("grade", True),
        ("grade", False),
    ]
    assert all(e.actor == "bank_huzhou" and e.object_id == A.uscc for e in entries)
    assert entries[0].request_id == "req-1" and entries[0].user_id is not None


def test_loans_over_http(server) -> None:
    base, engine, _ = server
    token = _token(engine, "bank_icbc")
    auth = {"Authorization": f"Bearer {token}"}
    loan = {
        "uscc": C.uscc,
        "reference": "ICBC-2026-1",
        "amount_wan": 800.0,
        "rate_pct": 3.45,
        "granted_on": "2026-02-20",
        "grade": 1,
        "product_code": "ICBC-LXD",
    }
    with httpx.Client(timeout=10) as http:
        _is_error(
            http.post(f"{base}/api/v1/carbon/bank/loans", json=loan, headers=auth),
            403,
            "carbon.consent_missing",
        )
        with Session(engine) as s:
            s.add(
                User(
                    username="ent_C",
                    display_name="企业C",
                    role="enterprise",
                    enterprise_id=get_by_uscc(s, C.uscc).id,
                )
            )
            s.flush()
            access.grant(s, C.uscc, "bank_icbc", ["grade"], TODAY + timedelta(days=60), today=TODAY)
            s.commit()
        r = http.post(f"{base}/api/v1/carbon/bank/loans", json=loan, headers=auth)
        assert r.status_code == 201, r.text
        assert (r.json()["grade"], r.json()["amount_wan"], r.json()["bank"]) == (
            1,
            800.0,
            "bank_icbc",
        )
        _is_error(
            http.post(f"{base}/api/v1/carbon/bank/loans", json=loan, headers=auth),
            409,
            "carbon.loan_duplicate",
        )
        bad = loan | {"reference": "X", "grade": 3}
        _is_error(
            http.post(f"{base}/api/v1/carbon/bank/loans", json=bad, headers=auth),
            400,
            "carbon.loan_grade_mismatch",
        )
        _is_error(
            http.post(
                f"{base}/api/v1/carbon/bank/loans", json=loan | {"amount_wan": "many"}, headers=auth
            ),
            422,
            "request.invalid",
        )
        rows = http.get(f"{base}/api/v1/carbon/bank/loans", headers=auth).json()
        assert [x["reference"] for x in rows] == ["ICBC-2026-1"]
        products = http.get(f"{base}/api/v1/carbon/products").json()
        assert {p["code"] for p in products} >= {"HZB-TXD", "ICBC-LXD", "RCB-TXD"}


def test_public_verify_endpoint(server) -> None:
    base, engine, clock = server
    codes.generate_key()
    with Session(engine) as s:
        code = codes.issue_code(s, A.uscc, today=TODAY)
        s.commit()
    verify = f"{base}/api/v1/carbon/verify"
    with httpx.Client(timeout=10) as http:
        r = http.get(verify, params={"payload": code.payload})
        assert r.status_code == 200, r.text
        assert r.json()["valid"] is True
        assert (r.json()["grade"], r.json()["level_zh"], r.json()["uscc"]) == (4, "中碳", A.uscc)
        assert http.post(verify, json={"payload": code.payload}).json()["grade"] == 4
        tampered = code.payload.replace("grade=4", "grade=1")
        _is_error(http.get(verify, params={"payload": tampered}), 422, "carbon.code_bad_signature")
        _is_error(
            http.post(verify, json={"payload": "IBC1;nonsense"}), 400, "carbon.code_malformed"
        )
        _is_error(http.post(verify, json={"payload": 7}), 422, "request.invalid")
        clock.today = code.expires + timedelta(days=1)
        _is_error(http.get(verify, params={"payload": code.payload}), 410, "carbon.code_expired")
