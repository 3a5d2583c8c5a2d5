"""一键减负 totals by policy, county, industry and month on the cockpit and /policy, each figure
a link to the ledger entries behind it (/policy/payouts, scoped and audited). Store: the web
fixtures plus four hand-made ledger entries (万元):

    甲 (330502, industry 34) rd_intensity_award  10.0  2026-11
    甲 (330502, industry 34) zgsz_loan_interest   5.5  2026-12  and its reversal −5.5 2026-12
    乙 (330503, industry 17) rd_intensity_award   2.0  2026-12

so: rd 12.0, zgsz 0.0; 330502 10.0, 330503 2.0; 34 → 10.0, 17 → 2.0; 2026-11 10.0, 2026-12 2.0;
total 12.0 for 2 enterprises."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.domains.policy.models import PolicyPayout, PolicyRun
from industry_brain.store.models import AuditLog, Enterprise
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.web_fixtures import USCC_NX, USCC_WX, login, seed


@pytest.fixture
def client(sqlite_engine: Engine) -> TestClient:
    seed(sqlite_engine)
    with Session(sqlite_engine) as s:
        ents = {e.uscc: e for e in s.scalars(select(Enterprise))}
        ents[USCC_WX].industry_code = "3411"
        ents[USCC_NX].industry_code = "1711"
        run = PolicyRun(
            year=2024,
            kind="run",
            engine="duckdb",
            parameter_version="t",
            actor="t",
            summary={"beneficiaries": 2, "total": 17.5},
        )
        s.add(run)
        s.flush()

        def pay(uscc: str, policy: str, amount: float, month: int, **kw: object) -> PolicyPayout:
            p = PolicyPayout(
                policy=policy,
                period=2025,
                enterprise_id=ents[uscc].id,
                entity="",
                kind=kw.pop("kind", "payout"),
                amount=amount,
                run_id=run.id,
                actor="t",
                created_at=datetime(2026, month, 2, tzinfo=UTC),
                **kw,
            )
            s.add(p)
            s.flush()
            return p

        pay(USCC_WX, "rd_intensity_award", 10.0, 11)
        loan = pay(USCC_WX, "zgsz_loan_interest", 5.5, 12)
        pay(USCC_WX, "zgsz_loan_interest", -5.5, 12, kind="reversal", reverses_id=loan.id)
        pay(USCC_NX, "rd_intensity_award", 2.0, 12)
        s.commit()
    return TestClient(create_app(Settings(), sqlite_engine), base_url="https://testserver")


def _links(html: str) -> dict[str, str]:
    """href → figure of the relief links."""
    return {
        unescape(h): v
        for h, v in re.findall(
            r'<a href="(/policy/payouts\?[^"]+)" class="relief-link">([^<]+)</a>', html
        )
    }


def test_cockpit_totals_by_policy_county_industry_month_link_to_their_lists(
    client: TestClient, sqlite_engine: Engine
) -> None:
    login(client, "city")
    html = client.get("/cockpit").text
    assert 'id="policy-relief-line"' in html
    links = _links(html)
    want = {
        "/policy/payouts?policy=rd_intensity_award": 12.0,
        "/policy/payouts?policy=zgsz_loan_interest": 0.0,
        "/policy/payouts?county=330502": 10.0,
        "/policy/payouts?county=330503": 2.0,
        "/policy/payouts?industry=34": 10.0,
        "/policy/payouts?industry=17": 2.0,
        "/policy/payouts?month=2026-11": 10.0,
        "/policy/payouts?month=2026-12": 2.0,
    }
    assert {k: float(v.replace(",", "")) for k, v in links.items()} == want
    # /policy shows the same four tables
    assert _links(client.get("/policy").text) == links
    # each link's list adds up to its figure
    for href, figure in want.items():
        page = client.get(href).text
        amounts = re.findall(r"<td>(-?[\d,.]+)</td></tr>", page)
        assert sum(float(a.replace(",", "")) for a in amounts) == pytest.approx(figure), href
    page = client.get("/policy/payouts?county=330502").text
    assert page.count(f">{USCC_WX}</a>") == 3 and USCC_NX not in page
    with Session(sqlite_engine) as s:
        entry = s.scalars(
            select(AuditLog)
            .where(AuditLog.action == "policy.payouts.view")
            .order_by(AuditLog.id.desc())
        ).first()
    assert entry is not None and entry.detail == {"county": "330502", "rows": 3}


def test_a_county_officer_sees_its_county_only(client: TestClient) -> None:
    login(client, "county_nx")
    links = {k: float(v) for k, v in _links(client.get("/policy").text).items()}
    assert (
        links["/policy/payouts?county=330503"] == 2.0
        and "/policy/payouts?county=330502" not in links
    )
    page = client.get("/policy/payouts?policy=rd_intensity_award").text
    assert USCC_NX in page and USCC_WX not in page


def test_enterprise_and_bank_users_do_not_see_the_lists(client: TestClient) -> None:
    for user in ("ent_wx", "bank"):
        c = TestClient(client.app, base_url="https://testserver")
        login(c, user)
        assert c.get("/policy/payouts").status_code == 403
