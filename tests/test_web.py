"""Web platform on real SQLite and PostgreSQL: login and sessions, CSRF, throttling, scopes per
role, masking, audit, XSS, SQL-injection strings, the import flow and the error shape."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.store.models import AuditLog, Enterprise, ImportBatch
from industry_brain.web import app as web_app
from industry_brain.web.app import create_app
from industry_brain.web.auth import LOGIN_COOKIE, SESSION_COOKIE
from industry_brain.web.models import WebSession
from industry_brain.web.settings import Settings
from tests.web_fixtures import (
    PASSWORD,
    USCC_NX,
    USCC_WX,
    USCC_XSS,
    XSS_NAME,
    csrf_of,
    login,
    seed,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture
def app(engine: Engine):  # type: ignore[no-untyped-def]
    seed(engine)
    return create_app(Settings(login_max_failures=3), engine)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def new_client(app) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app, base_url="https://testserver")


def _error(r) -> dict:  # type: ignore[no-untyped-def]
    body = r.json()
    assert {"code", "zh", "en", "request_id"} <= set(body), body
    return body


# -- sessions ----------------------------------------------------------------------------------
def test_login_sets_secure_cookie_rotates_session_and_logout_ends_it(client, engine):
    r = client.get("/login")
    assert r.status_code == 200 and client.cookies.get(LOGIN_COOKIE)
    assert client.cookies.get(SESSION_COOKIE) is None  # an anonymous visit stores nothing
    # another user's live session cookie (planted: fixation) is replaced, not reused
    planted = new_client(client.app)
    login(planted, "city")
    pre = planted.cookies.get(SESSION_COOKIE)
    r = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": csrf_of(r.text)},
        headers={
            "cookie": f"{SESSION_COOKIE}={pre}; {LOGIN_COOKIE}={client.cookies[LOGIN_COOKIE]}"
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie
    post = client.cookies.get(SESSION_COOKIE)
    assert post and post != pre  # rotated at login
    assert client.cookies.get(LOGIN_COOKIE) is None  # the login nonce is spent
    # the pre-login cookie is dead: replaying it is anonymous
    assert planted.get("/api/v1/me").status_code == 401  # the planted session ended
    with Session(engine) as s:  # only hashes are stored
        stored = {w.id_hash for w in s.scalars(select(WebSession))}
        assert pre not in stored and post not in stored
    me = client.get("/api/v1/me").json()
    assert me == {
        "username": "admin",
        "role": "admin",
        "display_name": "admin",
        "county_code": None,
        "sees_sensitive": True,
    }
    token = re.search(r'data-csrf="([^"]+)"', client.get("/cockpit").text).group(1)
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    stale = new_client(client.app)
    stale.cookies.set(SESSION_COOKIE, post)
    assert stale.get("/api/v1/me").status_code == 401
    assert stale.get("/cockpit", follow_redirects=False).headers["location"].startswith("/login")


def test_csrf_is_required_on_every_form(client):
    # login form without / with a wrong token
    client.get("/login")
    r = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert r.status_code == 403
    r = client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert r.status_code == 403 and "CSRF" in r.text
    token = login(client, "admin")
    # logout, import preview, token creation without the token
    assert client.post("/logout", data={}).status_code == 403
    files = {"file": ("tax.csv", (DATA / "tax_gbk.csv").read_bytes(), "text/csv")}
    r = client.post("/import/preview", data={"kind": "tax"}, files=files)
    assert r.status_code == 403
    r = client.post("/admin/tokens", data={"username": "bank", "name": "x"})
    assert r.status_code == 403
    # the API with a session cookie needs the header; JSON error shape
    r = client.post("/api/v1/imports/dry-run", data={"kind": "tax"}, files=files)
    assert r.status_code == 403 and _error(r)["code"] == "auth.csrf"
    r = client.post(
        "/api/v1/imports/dry-run",
        data={"kind": "tax"},
        files=files,
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200, r.text


def test_failed_logins_are_throttled_by_username_and_address(client, app):
    for _ in range(3):
        token = csrf_of(client.get("/login").text)
        r = client.post(
            "/login", data={"username": "city", "password": "wrong", "csrf_token": token}
        )
        assert r.status_code == 401 and 'data-code="auth.invalid"' in r.text
    # the address is locked for this username: a wrong password is refused as throttled …
    token = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"username": "city", "password": "nope", "csrf_token": token})
    assert r.status_code == 429 and 'data-code="auth.throttled"' in r.text
    # … while the real user's correct password passes (the username's own count is low)
    login(new_client(app), "city")
    # another username from the same address is not affected
    login(new_client(app), "admin")


# -- scopes ------------------------------------------------------------------------------------
def test_county_officer_sees_only_own_county(client):
    login(client, "county_wx")
    listed = client.get("/api/v1/enterprises").json()
    assert {e["uscc"] for e in listed["items"]} == {USCC_WX, USCC_XSS}
    assert client.get(f"/enterprises/{USCC_WX}").status_code == 200
    r = client.get(f"/enterprises/{USCC_NX}")
    assert r.status_code == 404 and "enterprise.not_found" in r.text
    r = client.get(f"/api/v1/enterprises/{USCC_NX}")
    assert r.status_code == 404 and _error(r)["code"] == "enterprise.not_found"
    r = client.get(f"/api/v1/enterprises/{USCC_NX}/facts/output_value?year=2024")
    assert r.status_code == 404
    # filtering by another county cannot widen the scope
    assert client.get("/api/v1/enterprises?county=330503").json()["total"] == 0
    cockpit = client.get("/api/v1/cockpit").json()
    assert [c["code"] for c in cockpit["by_county"]] == ["330502"]
    assert cockpit["batches"] == []
    assert client.get("/import").status_code == 403
    assert client.get("/admin/audit").status_code == 403


def test_enterprise_reads_only_its_own_record(client):
    login(client, "ent_wx")
    assert client.get("/", follow_redirects=False).headers["location"] == "/portal"
    portal = client.get("/portal").text  # its own page, linking its file
    assert f'id="own-profile" href="/enterprises/{USCC_WX}"' in portal
    own = client.get(f"/api/v1/enterprises/{USCC_WX}").json()
    assert own["facts"]["tax_paid"]["2024"]["value"] == 321.5  # own tax is visible
    assert client.get(f"/api/v1/enterprises/{USCC_NX}").status_code == 404
    assert client.get(f"/enterprises/{USCC_NX}").status_code == 404
    assert client.get("/cockpit").status_code == 403
    assert client.get("/api/v1/enterprises").status_code == 403


def test_agent_sees_assigned_enterprises_with_tax_masked(client):
    login(client, "agent_wx")
    r = client.get("/agent")
    assert r.status_code == 200 and "湖州甲机械有限公司" in r.text
    listed = client.get("/api/v1/enterprises").json()
    assert [e["uscc"] for e in listed["items"]] == [USCC_WX]
    prof = client.get(f"/api/v1/enterprises/{USCC_WX}").json()
    assert prof["sensitive_masked"] is True
    assert prof["facts"]["tax_paid"]["2024"] == {
        "value": None,
        "unit": "万元",
        "source_dept": None,
        "masked": True,
    }
    assert prof["facts"]["output_value"]["2024"]["value"] == 12345.6
    page = client.get(f"/enterprises/{USCC_WX}").text
    assert "321.5" not in page and "无权查看" in page
    r = client.get(f"/api/v1/enterprises/{USCC_WX}/facts/tax_paid?year=2024")
    assert r.status_code == 403 and _error(r)["code"] == "fact.masked"
    assert client.get(f"/api/v1/enterprises/{USCC_XSS}").status_code == 404


def test_bank_uses_hashed_api_tokens(client, app, engine):
    login(client, "admin")
    html = client.get("/admin/tokens").text
    r = client.post(
        "/admin/tokens", data={"username": "bank", "name": "授信", "csrf_token": csrf_of(html)}
    )
    token = re.search(r"<code>(ibt_[^<]+)</code>", r.text).group(1)
    with engine.connect() as conn:
        assert token not in str(conn.exec_driver_sql("SELECT * FROM api_tokens").fetchall())
    api = new_client(app)
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=auth).json()["role"] == "bank"
    # a bank reads consented carbon grades only (carbon bank API), never enterprise files
    assert api.get("/api/v1/enterprises", headers=auth).status_code == 403
    assert api.get(f"/api/v1/enterprises/{USCC_WX}", headers=auth).status_code == 404
    assert api.get("/api/v1/audit", headers=auth).status_code == 403
    r = api.get("/api/v1/me", headers={"Authorization": "Bearer ibt_0000_forged"})
    assert r.status_code == 401 and _error(r)["code"] == "auth.token"
    page = client.get("/admin/tokens").text
    token_id = re.search(r"/admin/tokens/(\d+)/revoke", page).group(1)
    client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf_of(page)})
    assert api.get("/api/v1/me", headers=auth).status_code == 401


def test_profile_views_and_exports_are_audited_and_admin_searches_them(client, app, engine):
    officer = new_client(app)
    login(officer, "county_wx")
    r = officer.get(f"/enterprises/{USCC_WX}", headers={"X-Request-ID": "req-profile-1"})
    assert r.headers["x-request-id"] == "req-profile-1"
    officer.get(f"/api/v1/enterprises/{USCC_WX}/facts/tax_paid?year=2024")
    with Session(engine) as s:
        views = s.scalars(
            select(AuditLog).where(
                AuditLog.action == "enterprise.view", AuditLog.actor == "county_wx"
            )
        ).all()
        assert [(v.object_id, v.request_id) for v in views] == [(USCC_WX, "req-profile-1")]
        assert (
            s.scalar(
                select(func.count()).select_from(AuditLog).where(AuditLog.action == "fact.explain")
            )
            == 1
        )
    assert officer.get("/api/v1/audit").status_code == 403
    login(client, "admin")
    found = client.get("/api/v1/audit?action=enterprise.view&actor=county_wx").json()
    assert found["total"] == 1 and found["items"][0]["object_id"] == USCC_WX
    page = client.get(f"/admin/audit?object_id={USCC_WX}").text
    assert "enterprise.view" in page and "req-profile-1" in page


# -- hostile input -----------------------------------------------------------------------------
def test_enterprise_named_script_renders_inert(client):
    login(client, "city")
    for path in ("/enterprises?q=script", f"/enterprises/{USCC_XSS}"):
        html = client.get(path).text
        assert XSS_NAME not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    r = client.get(f"/enterprises/{USCC_XSS}")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert client.get(f"/api/v1/enterprises/{USCC_XSS}").json()["name"] == XSS_NAME


@pytest.mark.parametrize(
    "q",
    [
        "' OR '1'='1",
        "'; DROP TABLE enterprises; --",
        "%",
        "_",
        '" OR 1=1 --',
        "\\",
        "甲机械' UNION SELECT uscc, name FROM enterprises --",
    ],
)
def test_sql_injection_strings_in_search_are_plain_text(client, engine, q):
    login(client, "city")
    r = client.get("/api/v1/enterprises", params={"q": q})
    assert r.status_code == 200 and r.json()["total"] == 0
    assert client.get("/enterprises", params={"q": q}).status_code == 200
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Enterprise)) == 3


def test_search_filters_and_pagination(client):
    login(client, "city")
    assert client.get("/api/v1/enterprises?q=甲机械").json()["items"][0]["uscc"] == USCC_WX
    assert client.get(f"/api/v1/enterprises?q={USCC_NX.lower()}").json()["total"] == 1
    above = client.get("/api/v1/enterprises?scale=above").json()
    assert {e["uscc"] for e in above["items"]} == {USCC_WX, USCC_XSS}
    page = client.get("/api/v1/enterprises?per_page=2&page=2").json()
    assert page["total"] == 3 and page["pages"] == 2 and len(page["items"]) == 1
    r = client.get("/api/v1/enterprises?per_page=1000")
    assert r.status_code == 422 and _error(r)["code"] == "request.invalid"
    html = client.get("/enterprises?county=330503").text
    assert "湖州乙纺织有限公司" in html and "湖州甲机械有限公司" not in html


# -- pages, errors, operations -----------------------------------------------------------------
def test_pages_render_for_city_officer_in_both_languages(client):
    login(client, "city")
    zh = client.get("/cockpit").text
    assert "产业驾驶舱" in zh and 'id="cockpit-data"' in zh and 'id="table-county"' in zh
    r = client.get("/lang/en?next=/cockpit", follow_redirects=False)
    assert r.headers["location"] == "/cockpit"
    en = client.get("/cockpit").text
    assert "Industry cockpit" in en and "产业驾驶舱" not in en
    assert (
        client.get("/lang/en?next=https://evil.example/", follow_redirects=False).headers[
            "location"
        ]
        == "/"
    )
    for path, text in (
        ("/mujun", "Per-mu evaluation"),
        ("/carbon", "Carbon-efficiency codes"),
        ("/projects", "Projects"),
        ("/bulletins", "bulletin"),
    ):
        page = client.get(path)
        assert page.status_code == 200 and text.lower() in page.text.lower(), path


def test_pages_of_services_without_web_module_say_not_built(engine, monkeypatch):
    from industry_brain.web import domains

    seed(engine)
    monkeypatch.setattr(domains, "discover", dict)  # as if no service had a web module
    with TestClient(create_app(Settings(), engine), base_url="https://testserver") as c:
        login(c, "admin")
        for path in ("/mujun", "/carbon", "/projects", "/bulletins"):
            page = c.get(path + "?lang=en")
            assert page.status_code == 200 and "not built yet" in page.text.lower(), path
        profile = c.get(f"/enterprises/{USCC_WX}?lang=en").text
        assert profile.lower().count("not built yet") == 3  # 亩均, carbon, projects sections


def test_error_bodies_share_one_shape(client):
    r = client.get("/api/v1/nope")
    assert r.status_code == 404 and _error(r)["code"] == "http.404"
    r = client.get("/api/v1/enterprises")
    assert r.status_code == 401 and _error(r)["code"] == "auth.required"
    login(client, "city")
    r = client.get(f"/api/v1/enterprises/{USCC_WX}/facts/output_value?year=abc")
    assert r.status_code == 422 and _error(r)["code"] == "request.invalid"
    r = client.get("/api/v1/enterprises/NOPE")
    assert r.status_code == 404 and _error(r)["en"].startswith("no enterprise")


def test_healthz_and_request_ids(client):
    r = client.get("/healthz")
    assert r.json() == {"status": "ok", "database": "ok"}
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
    assert (
        client.get("/healthz", headers={"X-Request-ID": "bad id!"}).headers["x-request-id"]
        != "bad id!"
    )


def test_fact_lineage_partial_names_batch_file_and_row(client):
    login(client, "county_wx")
    html = client.get(f"/enterprises/{USCC_WX}/facts/output_value/2024").text
    assert "统计年报_2024.xlsx" in html and "Sheet1" in html and "D（工业总产值）" in html


# -- import flow -------------------------------------------------------------------------------
def test_import_page_preview_commit_and_error_workbook(client, engine):
    token = login(client, "admin")
    files = {"file": ("tax_gbk.csv", (DATA / "tax_gbk.csv").read_bytes(), "text/csv")}
    r = client.post("/import/preview", data={"kind": "tax", "csrf_token": token}, files=files)
    assert r.status_code == 200, r.text[-2000:]
    html = r.text
    assert 'data-status="dry_run"' in html
    assert "纳税人识别号" in html and 'data-field="uscc"' in html  # detected mapping
    with Session(engine) as s:  # a dry run changes nothing
        assert s.scalar(select(func.count()).select_from(ImportBatch)) == 1
    upload = re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)
    if 'id="download-workbook"' in html:
        book = client.get(f"/import/{upload}/workbook")
        assert book.status_code == 200 and book.content[:2] == b"PK"
    r = client.post(
        "/import/commit",
        data={"csrf_token": token, "token": upload, "kind": "tax", "accept_valid": "1"},
    )
    assert r.status_code == 200 and 'id="committed"' in r.text, r.text[-1500:]
    with Session(engine) as s:
        batch = s.scalars(select(ImportBatch).order_by(ImportBatch.id.desc())).first()
        assert batch.kind == "tax" and batch.status in ("committed", "partial")
    # another user cannot use this upload
    other = new_client(client.app)
    login(other, "city")
    assert other.get(f"/import/{upload}/workbook").status_code == 404


def test_app_refuses_to_start_without_vendored_assets(engine, monkeypatch, tmp_path):
    static = tmp_path / "static"
    shutil.copytree(web_app.STATIC, static, ignore=shutil.ignore_patterns("vendor"))
    monkeypatch.setattr(web_app, "STATIC", static)
    with pytest.raises(web_app.MissingAssets, match="build_assets"):
        create_app(Settings(), engine)


def test_catalogs_have_the_same_keys_and_cover_the_templates():
    from industry_brain.web.i18n import catalog

    zh, en = catalog("zh"), catalog("en")
    assert set(zh) == set(en)
    used = set()
    for path in (p for d in web_app.template_dirs() for p in d.glob("*.html")):
        used |= set(re.findall(r"""\bt\(["']([a-z_.]+)["']""", path.read_text("utf-8")))
    prefixes = {k for k in used if k.endswith((".", "_"))}  # t("stage." ~ value): dynamic keys
    assert used - prefixes - set(zh) == set()
    assert all(any(k.startswith(p) for k in zh) for p in prefixes)
