"""Carbon consent scope and masking for banks and agents (issue 13 points 12 and 18), on real
SQLite and PostgreSQL through the platform app."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.domains.carbon import access, views
from industry_brain.domains.carbon.models import CarbonResult, CarbonRun
from industry_brain.store.models import Enterprise, User
from industry_brain.store.scope import scope_for
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.security.web_seed import TODAY, seed_security
from tests.web_fixtures import USCC_WX, login

URL = f"/api/v1/carbon/bank/enterprises/{USCC_WX}"


def _add_2023_result(engine: Engine) -> None:
    """An earlier year's graded result of 甲 (the current one is 2024's)."""
    with Session(engine) as s:
        run = CarbonRun(
            year=2023,
            engine="duckdb",
            method="huzhou_2021",
            parameter_version="test",
            snapshot_path="-",
            snapshot_created_at="-",
        )
        s.add(run)
        s.flush()
        ent = s.scalars(select(Enterprise).where(Enterprise.uscc == USCC_WX)).one()
        s.add(
            CarbonResult(
                run_id=run.id,
                enterprise_id=ent.id,
                year=2023,
                method="huzhou_2021",
                above_scale=True,
                county_code="330502",
                denominator_item="value_added",
                denominator=900.0,
                co2_net=450.0,
                intensity=0.5,
                k_value=0.8,
                level="低碳",
                grade=2,
                label="低碳2级",
                status="graded",
            )
        )
        s.commit()


@pytest.fixture
def app(engine: Engine):  # type: ignore[no-untyped-def]
    store = seed_security(engine)
    _add_2023_result(engine)
    application = create_app(Settings(today=TODAY), engine)
    application.state.bank_token = store.bank_token
    return application


def test_another_year_than_the_current_needs_the_history_scope(app, engine):
    bank = TestClient(app, base_url="https://testserver")
    auth = {"Authorization": f"Bearer {app.state.bank_token}"}
    # the seeded consent covers only "grade"
    assert bank.get(URL, headers=auth).json()["year"] == 2024
    assert bank.get(URL, params={"year": 2024}, headers=auth).status_code == 200
    r = bank.get(URL, params={"year": 2023}, headers=auth)
    assert r.status_code == 403 and r.json()["code"] == "carbon.consent_scope_denied", r.text
    assert bank.get(URL + "/history", headers=auth).status_code == 403
    with Session(engine) as s:  # the enterprise consents to history as well
        consent = s.scalars(select(access.BankConsent)).one()
        access.revoke(s, consent.id, by_username="ent_wx")
        access.grant(
            s,
            USCC_WX,
            "bank",
            ["grade", "history"],
            TODAY + timedelta(days=30),
            by_username="ent_wx",
            today=TODAY,
        )
        s.commit()
    r = bank.get(URL, params={"year": 2023}, headers=auth)
    assert r.status_code == 200 and r.json()["year"] == 2023 and r.json()["grade"] == 2


def test_banks_and_agents_see_no_figure_the_masked_denominator_derives_from(app, engine):
    bank = TestClient(app, base_url="https://testserver")
    body = bank.get(URL, headers={"Authorization": f"Bearer {app.state.bank_token}"}).json()
    assert body["grade"] == 2 and body["k_value"] == 0.75
    assert not {"co2_net", "intensity", "denominator"} & set(body)
    with Session(engine) as s:
        users = {u.username: u for u in s.scalars(select(User))}
        masked = views.enterprise_carbon(s, scope_for(users["agent_wx"]), USCC_WX, TODAY)
        full = views.enterprise_carbon(s, scope_for(users["county_wx"]), USCC_WX, TODAY)
    assert full["result"]["co2_net"] == 500.0 and full["result"]["intensity"] == 0.5
    r = masked["result"]
    assert r["grade"] == 2 and r["co2_net"] is None and r["intensity"] is None
    assert r["denominator"] is None
    # the agent's profile page shows neither figure
    with TestClient(app, base_url="https://testserver") as agent:
        login(agent, "agent_wx")
        html = agent.get(f"/enterprises/{USCC_WX}").text
    assert "低碳2级" in html or "grade-2" in html
    # the footer's random request id (hex) may hold the digits "500": only the page's text counts
    text = re.sub(r'<span class="rid">[^<]*</span>', "", html)
    text = re.sub(r"<[^>]*>", " ", text.split("carbon", 1)[-1])
    assert not re.search(r"(?<![\w.])500(?:\.0+)?(?![\w.])", text) and ">0.5<" not in html
