"""亩均 and carbon pages, the enterprise portal's bank consents and the bank page, on real
SQLite and PostgreSQL (hand-made results: tests/domain_fixtures.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.domains.carbon import codes
from industry_brain.domains.carbon.models import BankConsent, CarbonCode
from industry_brain.store import scoped
from industry_brain.store.models import AuditLog
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.domain_fixtures import seed_domains
from tests.web_fixtures import USCC_NX, USCC_WX, USCC_XSS, csrf_of, login, seed

TODAY = date(2026, 11, 27)


@pytest.fixture
def app(engine: Engine):  # type: ignore[no-untyped-def]
    seed(engine)
    seed_domains(engine)
    return create_app(Settings(today=TODAY), engine)


def client_for(app, username: str | None = None) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app, base_url="https://testserver")
    if username:
        login(c, username)
    return c


@pytest.fixture
def admin(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with client_for(app, "admin") as c:
        yield c


def _table(html: str, table_id: str) -> list[list[str]]:
    """The body rows of table ``table_id`` as lists of cell texts (tags stripped)."""
    body = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, f"no table {table_id}"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)
    return [
        [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)
        ]
        for r in rows
    ]


# -- 亩均 ---------------------------------------------------------------------------------------
def test_mujun_page_scoped_per_role(app, admin):
    page = admin.get("/mujun").text
    # by county: 吴兴区 330502 has A 1 (甲), B 1 (script-named); 南浔区 330503 has D 1 (乙)
    rows = {r[0]: r[1:] for r in _table(page, "table-mujun-county")}
    assert rows["吴兴区"] == ["1", "1", "0", "0", "0", "2"]
    assert rows["南浔区"] == ["0", "0", "0", "1", "0", "1"]
    # best score first: 92.5 (甲), 70.0 (script-named firm, escaped), 41.0 (乙)
    names = [r[0] for r in _table(page, "mujun-results")]
    assert names[0] == "湖州甲机械有限公司" and names[2] == "湖州乙纺织有限公司"
    assert "<script>alert" not in page
    with client_for(app, "county_wx") as officer:
        page = officer.get("/mujun").text
        assert [r[0] for r in _table(page, "table-mujun-county")] == ["吴兴区"]
        assert "湖州乙纺织有限公司" not in page
    for role in ("ent_wx", "agent_wx", "bank"):
        with client_for(app, role) as other:
            assert other.get("/mujun").status_code == 403
            assert 'href="/mujun"' not in other.get("/").text  # not in their navigation


def test_mujun_profile_section_and_explanation_masked_for_agent(app, admin, engine):
    page = admin.get(f"/enterprises/{USCC_WX}").text
    assert 'id="mujun-class"' in page and "A 类" in page
    assert f'hx-get="/mujun/explain/{USCC_WX}"' in page
    text = admin.get(f"/mujun/explain/{USCC_WX}").text
    assert 'id="mujun-explanation"' in text and USCC_WX in text
    with Session(engine) as s:
        entry = s.scalar(
            select(AuditLog).where(AuditLog.action == "mujun.explain", AuditLog.actor == "admin")
        )
        assert entry is not None and entry.request_id  # the request that read it
    with client_for(app, "agent_wx") as agent:
        page = agent.get(f"/enterprises/{USCC_WX}").text
        assert "A 类" in page and "mujun/explain" not in page  # class yes, tax-based maths no
        assert "mujun-explanation" not in agent.get(f"/mujun/explain/{USCC_WX}").text
        assert agent.get(f"/mujun/explain/{USCC_NX}").status_code == 404  # not assigned


def test_mujun_lists_export_is_audited(admin, engine):
    r = admin.get("/mujun/lists/2024.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    with Session(engine) as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "export.mujun_lists")).one()
        assert entry.actor == "admin" and entry.object_id == "2024"


# -- carbon -------------------------------------------------------------------------------------
def test_carbon_page_and_cockpit_sections(app, admin):
    page = admin.get("/carbon").text
    rows = {r[0]: r[1:] for r in _table(page, "table-carbon-county")}
    # grades 1..5, ungraded, total
    assert rows["吴兴区"] == ["0", "1", "0", "0", "0", "1", "2"]
    assert rows["南浔区"] == ["0", "0", "0", "0", "1", "0", "1"]
    # lowest K first, ungraded last
    assert [r[-1] for r in _table(page, "carbon-results")] == ["低碳2级", "高碳5级", "未评级"]
    cockpit = admin.get("/cockpit").text
    assert (
        'data-chart-json="chart-carbon"' in cockpit and 'data-chart-json="chart-mujun"' in cockpit
    )
    assert _table(cockpit, "table-mujun")[0] == ["吴兴区", "1", "1", "0", "0", "0", "2"]
    en = admin.get("/cockpit?lang=en").text
    assert "Grade 5" in en and "A priority development" in en


def test_dual_code_issued_by_the_enterprise_and_served_in_scope(app, engine):
    with client_for(app, "ent_wx") as ent:
        portal = ent.get("/portal").text
        assert 'id="carbon-issue"' in portal and "低碳2级" in portal
        # CSRF is required
        assert ent.post(f"/carbon/code/{USCC_WX}").status_code == 403
        r = ent.post(
            f"/carbon/code/{USCC_WX}",
            data={"csrf_token": csrf_of(portal)},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/portal")
        with Session(engine) as s:
            code = s.scalars(select(CarbonCode)).one()
            assert (code.grade, code.issued_on) == (2, TODAY)
            assert code.expires_on > TODAY
            verified = codes.verify_payload(code.payload, today=TODAY)
            assert verified.to_dict()["uscc"] == USCC_WX
        svg = ent.get(f"/carbon/code/{USCC_WX}.svg")
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg")
        assert b"<svg" in svg.content and b"#7CC243" in svg.content.upper()  # grade-2 colour
        assert 'id="carbon-code"' in ent.get("/portal").text
        # another enterprise's code: not found, like a missing one
        assert ent.get(f"/carbon/code/{USCC_NX}.svg").status_code == 404
        assert (
            ent.post(f"/carbon/code/{USCC_NX}", data={"csrf_token": csrf_of(portal)}).status_code
            == 404
        )
    with client_for(app, "county_nx") as officer:
        assert officer.get(f"/carbon/code/{USCC_WX}.svg").status_code == 404  # other county
    with client_for(app, "agent_wx") as agent:
        page = agent.get(f"/enterprises/{USCC_WX}").text
        assert "carbon-explain" not in page and "carbon/explain" not in page


# -- consents ------------------------------------------------------------------------------------
def _grant(ent: TestClient, **fields: str):  # type: ignore[no-untyped-def]
    page = ent.get("/portal").text
    data = {"csrf_token": csrf_of(page), **fields}
    return ent.post("/portal/consents", data=data, follow_redirects=False)


def test_consent_grant_bank_reads_then_revoke(app, engine):
    expires = (TODAY + timedelta(days=90)).isoformat()
    bank = client_for(app, "bank")
    assert "湖州甲机械有限公司" not in bank.get("/bank").text  # nothing consented yet
    with client_for(app, "ent_wx") as ent:
        r = _grant(ent, bank="bank", scopes="grade", expires_on=expires, purpose="碳效贷")
        assert r.status_code == 303, r.text[:500]
        rows = _table(ent.get("/portal").text, "consent-list")
        assert rows[0][0] == "湖州银行" and rows[0][5] == "有效"
        # a second active consent to the same bank is refused with the reason, nothing stored
        r = _grant(ent, bank="bank", scopes="grade", expires_on=expires)
        assert r.status_code == 409 and "请先撤销" in r.text
        # an expiry beyond the parameter's limit is refused
        r = _grant(ent, bank="bank", scopes="grade", expires_on="2099-01-01")
        assert r.status_code == 400
    with Session(engine) as s:
        consent = s.scalars(select(BankConsent)).one()
        assert consent.scopes == ["grade"] and consent.expires_on.isoformat() == expires
    # the bank sees the grade on its page, and the read is audited
    rows = _table(bank.get("/bank").text, "bank-consents")
    assert rows[0][1] == USCC_WX and rows[0][5].startswith("低碳2级")
    with Session(engine) as s:
        assert s.scalars(
            select(AuditLog).where(
                AuditLog.action == "carbon.bank.grade", AuditLog.object_id == USCC_WX
            )
        ).first()
    # another enterprise cannot revoke it
    with client_for(app, "ent_nx") as other:
        page = other.get("/portal").text
        r = other.post(f"/portal/consents/{consent.id}/revoke", data={"csrf_token": csrf_of(page)})
        assert r.status_code == 404
    with client_for(app, "ent_wx") as ent:
        page = ent.get("/portal").text
        r = ent.post(
            f"/portal/consents/{consent.id}/revoke",
            data={"csrf_token": csrf_of(page)},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert _table(ent.get("/portal").text, "consent-list")[0][5] == "已撤销"
    rows = _table(bank.get("/bank").text, "bank-consents")
    assert rows[0][4] == "已撤销" and rows[0][5] == "—"
    bank.close()


def test_bank_api_accepts_platform_tokens_and_follows_consents(app, engine):
    with client_for(app, "admin") as admin:
        html = admin.get("/admin/tokens").text
        r = admin.post(
            "/admin/tokens", data={"username": "bank", "name": "授信", "csrf_token": csrf_of(html)}
        )
        token = re.search(r"<code>(ibt_[^<]+)</code>", r.text).group(1)
        html = admin.get("/admin/tokens").text
        r = admin.post(
            "/admin/tokens",
            data={"username": "ent_wx", "name": "not a bank", "csrf_token": csrf_of(html)},
        )
        ent_token = re.search(r"<code>(ibt_[^<]+)</code>", r.text).group(1)
    api = TestClient(app, base_url="https://testserver")
    auth = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/carbon/bank/enterprises/{USCC_WX}"
    r = api.get(url, headers=auth)
    assert r.status_code == 403 and r.json()["code"] == "carbon.consent_missing"
    r = api.get(url, headers={"Authorization": f"Bearer {ent_token}"})
    assert r.status_code == 401  # a platform token of a non-bank user
    with client_for(app, "ent_wx") as ent:
        expires = (TODAY + timedelta(days=30)).isoformat()
        assert _grant(ent, bank="bank", scopes="grade", expires_on=expires).status_code == 303
    r = api.get(url, headers=auth)
    assert r.status_code == 200 and r.json()["grade"] == 2 and r.json()["label"] == "低碳2级"
    # history was not consented
    assert api.get(url + "/history", headers=auth).status_code == 403
    assert api.get(f"/api/v1/carbon/bank/enterprises/{USCC_XSS}", headers=auth).status_code == 403


def test_portal_pages_in_english_and_bank_denied_elsewhere(app):
    with client_for(app, "ent_wx") as ent:
        page = ent.get("/portal?lang=en").text
        assert "Bank consents" in page and "Grant" in page
        assert ent.get("/carbon").status_code == 403
    with client_for(app, "bank") as bank:
        assert bank.get("/enterprises").status_code == 403
        assert bank.get(f"/enterprises/{USCC_WX}").status_code == 404
        assert bank.get("/portal").status_code == 403


def test_portal_lists_its_own_loans_read_only_scoped_and_audited(app, engine):
    """The enterprise portal lists the loans banks registered to the enterprise (the loans
    table): its own only, newest first, sortable and exportable, each read audited."""
    from industry_brain.domains.carbon.models import CarbonLoan
    from industry_brain.store.models import Enterprise, User

    with Session(engine) as s:
        bank = s.scalars(select(User).where(User.username == "bank")).one()
        ents = {e.uscc: e for e in s.scalars(select(Enterprise))}
        granted = {}
        for uscc, who in ((USCC_WX, "ent_wx"), (USCC_NX, "ent_nx")):
            granter = s.scalars(select(User).where(User.username == who)).one()
            consent = BankConsent(
                enterprise_id=ents[uscc].id,
                bank_user_id=bank.id,
                scopes=["grade"],
                granted_on=date(2026, 1, 5),
                expires_on=date(2027, 1, 5),
                granted_by=granter.id,
            )
            s.add(consent)
            s.flush()
            granted[uscc] = consent.id
        for uscc, ref, amount, rate, on in (
            (USCC_WX, "HZB-2026-001", 300.0, 3.45, date(2026, 3, 1)),
            (USCC_WX, "HZB-2026-007", 1250.5, 3.1, date(2026, 9, 15)),
            (USCC_NX, "HZB-2026-002", 80.0, 3.9, date(2026, 4, 1)),
        ):
            s.add(
                CarbonLoan(
                    bank_user_id=bank.id,
                    enterprise_id=ents[uscc].id,
                    reference=ref,
                    amount_wan=amount,
                    rate_pct=rate,
                    granted_on=on,
                    term_months=12,
                    grade=1,
                    grade_year=2025,
                    level="A",
                    consent_id=granted[uscc],
                    reported_by="bank",
                )
            )
        s.commit()
    with client_for(app, "ent_wx") as ent:
        page = ent.get("/portal").text
        rows = _table(page, "portal-loans")
        # newest first; the bank by its organisation's name; 万元 with 2 decimals
        assert [r[:3] for r in rows] == [
            ["湖州银行", "HZB-2026-007", "1,250.50"],
            ["湖州银行", "HZB-2026-001", "300.00"],
        ]
        assert "HZB-2026-002" not in page  # another enterprise's loan
        assert 'method="post"' not in re.search(r'id="my-loans">(.*?)</section>', page, re.S).group(
            1
        )  # read-only
        by_amount = _table(ent.get("/portal?l_sort=amount_wan&l_dir=asc").text, "portal-loans")
        assert [r[1] for r in by_amount] == ["HZB-2026-001", "HZB-2026-007"]
        export = ent.get("/portal?l_sort=amount_wan&l_dir=asc&l_export=csv")
        assert export.status_code == 200
        lines = export.text.lstrip("\ufeff").splitlines()
        assert len(lines) == 3 and "HZB-2026-001" in lines[1] and "HZB-2026-007" in lines[2]
        assert "HZB-2026-002" not in export.text
    with client_for(app, "ent_nx") as other:
        assert [r[1] for r in _table(other.get("/portal").text, "portal-loans")] == ["HZB-2026-002"]
    with Session(engine) as s:
        reads = s.scalars(
            select(AuditLog).where(AuditLog.action == "portal.loans").order_by(AuditLog.id)
        ).all()
        assert [(a.actor, a.object_id, a.detail["rows"]) for a in reads][:1] == [
            ("ent_wx", USCC_WX, 2)
        ]
        assert s.scalar(
            select(AuditLog.id).where(
                AuditLog.action == "export.list.loans", AuditLog.actor == "ent_wx"
            )
        )


def test_cockpit_sections_cached_until_their_data_change(app, admin, engine):
    """The 亩均 section is computed once per scope and language, then served from the cache
    until a new run is stored; a new run shows at once."""
    from industry_brain.domains.mujun.models import MujunResult, MujunRun

    entry = app.state.domains["mujun"]
    real = entry.cockpit_section
    calls: list[int] = []

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    entry.cockpit_section = counting
    scoped._COCKPIT_CACHE.entries.clear()  # signing in already opened the cockpit
    first = _table(admin.get("/cockpit").text, "table-mujun")
    admin.get("/cockpit")
    assert first[0] == ["吴兴区", "1", "1", "0", "0", "0", "2"] and len(calls) == 1
    # a re-evaluation publishes a run in which 甲 is class C
    with Session(engine) as s:
        old = s.scalars(select(MujunRun)).one()
        old.status = "superseded"
        run = MujunRun(
            year=2024,
            kind="evaluation",
            status="published",
            engine="duckdb",
            parameter_version="test",
            actor="test",
        )
        s.add(run)
        s.flush()
        for r in s.scalars(select(MujunResult).where(MujunResult.run_id == old.id)).all():
            values = {c.key: getattr(r, c.key) for c in MujunResult.__table__.columns}
            values.update(id=None, run_id=run.id)
            if r.uscc == USCC_WX:
                values.update(class_code="C", score=60.0)
            s.add(MujunResult(**values))
        s.commit()
    after = _table(admin.get("/cockpit").text, "table-mujun")
    assert after[0] == ["吴兴区", "0", "1", "1", "0", "0", "2"] and len(calls) == 2
