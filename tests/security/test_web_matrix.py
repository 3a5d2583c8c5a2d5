"""Role × route matrix generated from the application's routes (issue 13 points 3 and 4).

Every method and path of ``app.routes`` is called by every role and anonymously, with valid and
hostile path values and hostile integers in integer query parameters. Nothing may answer 500;
every answer carries the request id and the security headers; anonymous callers of a protected
route get 401 (or 303 to the login page); roles without the route's permission get 403/404. A
new route is covered without editing this test (a new *public* route must be named in
``PUBLIC``: that it needs no sign-in is a decision).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from industry_brain.store.scope import PERMISSIONS
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.security.web_seed import TODAY, seed_security
from tests.web_fixtures import USCC_WX, login

ROLES = ("admin", "city", "county_wx", "agent_wx", "ent_wx", "bank")
ROLE_OF = {
    "admin": "admin",
    "city": "city_officer",
    "county_wx": "county_officer",
    "agent_wx": "agent",
    "ent_wx": "enterprise",
    "bank": "bank",
}
#: routes anyone may call (the login page, language switch, health, docs, public code checks)
PUBLIC = {
    "/",
    "/login",
    "/logout",
    "/lang/{code}",
    "/healthz",
    "/favicon.ico",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/api/v1/carbon/verify",
    "/api/v1/carbon/products",
    # 标识解析: resolution is public by design (Handle / GS1 resolvers); restricted values are
    # shown only to those who may see them (tests/test_identifiers*.py)
    "/api/v1/ids/resolve/{identifier:path}",
}
#: path prefixes and the permission they need (a role without it gets 403/404)
GUARDED = (
    ("/admin/tokens", "token.manage"),
    ("/admin/audit", "audit.search"),
    ("/api/v1/audit", "audit.search"),
    ("/import", "import.run"),
    ("/api/v1/imports", "import.run"),
    ("/cockpit", "cockpit.view"),
    ("/api/v1/cockpit", "cockpit.view"),
    ("/mujun/lists", "mujun.view"),
    ("/bulletins", "bulletins.view"),
)
#: exact paths and the permission they need (their sub-paths serve other roles too)
GUARDED_EXACT = {
    "/enterprises": "enterprise.search",
    "/api/v1/enterprises": "enterprise.search",
    "/mujun": "mujun.view",
    "/carbon": "carbon.view",
    "/bank": "consent.read",
}
VALID = {
    "uscc": USCC_WX,
    "item": "output_value",
    "year": "2024",
    "code": "en",
    "token": "0" * 32,
    "consent_id": "1",
    "token_id": "1",
}
HOSTILE = (
    "0",
    "-1",
    "99999999999999999999",
    "huge",
    "%27%20OR%201%3D1--",
    "..%2F..%2Fetc%2Fpasswd",
)
HOSTILE_INTS = ("huge", "99999999999999999999", "-1")
#: who sends the hostile values (every principal sends the valid ones)
HOSTILE_CALLERS = ("anonymous", "admin", "bank_token")
HEADERS = ("x-request-id", "content-security-policy", "x-content-type-options", "x-frame-options")


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_int(a) for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _is_int(typing.get_args(annotation)[0])
    return False


def calls(app: Any) -> Iterator[tuple[str, str, str, dict[str, str], bool]]:
    """(method, route path, concrete url, query, hostile) for every route and value case."""
    for route in iter_route_contexts(app.routes):
        path = route.path
        methods = sorted((route.methods or set()) - {"HEAD"})
        if not path or not methods or path.startswith("/static"):
            continue
        dependant = getattr(route, "dependant", None)
        names = re.findall(r"{(\w+)(?::\w+)?}", path)
        cases = [{n: VALID.get(n, "x") for n in names}]
        if names:
            cases += [dict.fromkeys(names, h) for h in HOSTILE]
        int_queries = [
            q.name
            for q in (dependant.query_params if dependant else [])
            if _is_int(q.field_info.annotation) and not q.name.startswith("_")
        ]
        for method in methods:
            for n, case in enumerate(cases):
                url = re.sub(r"{(\w+)(?::\w+)?}", lambda m, c=case: c[m.group(1)], path)
                yield method, path, url, {}, n > 0
            for name in int_queries:
                url = re.sub(r"{(\w+)(?::\w+)?}", lambda m: VALID.get(m.group(1), "x"), path)
                for value in HOSTILE_INTS:
                    yield method, path, url, {name: value}, True


def _guard(path: str) -> str | None:
    if path in GUARDED_EXACT:
        return GUARDED_EXACT[path]
    for prefix, permission in GUARDED:
        if path == prefix or path.startswith(prefix + "/"):
            return permission
    return None


@pytest.fixture
def app(engine: Engine):  # type: ignore[no-untyped-def]
    store = seed_security(engine)
    application = create_app(Settings(today=TODAY), engine)
    application.state.bank_token = store.bank_token
    return application


def _principals(app: Any) -> dict[str, tuple[TestClient, dict[str, str]]]:
    out: dict[str, tuple[TestClient, dict[str, str]]] = {}
    anon = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    out["anonymous"] = (anon, {})
    for username in ROLES:
        c = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
        out[username] = (c, {"X-CSRF-Token": login(c, username)})
    bearer = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    out["bank_token"] = (bearer, {"Authorization": f"Bearer {app.state.bank_token}"})
    return out


#: on PostgreSQL the matrix runs for these callers (SQLite runs every one): the widest role
#: reaches the most SQL (what differs between the stores is SQL), the weakest and the bank's
#: token the refusals; access rules themselves do not depend on the store (suite time)
PG_CALLERS = ("anonymous", "admin", "county_wx", "ent_wx", "bank_token")


def test_role_route_matrix_no_500_headers_and_access(app):
    principals = _principals(app)
    if app.state.engine.dialect.name == "postgresql":
        principals = {who: p for who, p in principals.items() if who in PG_CALLERS}
    problems: list[str] = []
    seen_paths: set[str] = set()
    # signing out ends the principal's session: those calls come last
    ordered = sorted(calls(app), key=lambda c: c[1] in ("/logout", "/login"))
    for method, path, url, query, hostile in ordered:
        seen_paths.add(path)
        for who, (client, headers) in principals.items():
            if hostile and who not in HOSTILE_CALLERS:
                continue  # bounded time: hostile values from the widest and the weakest caller
            r = client.request(method, url, params=query, headers=headers, follow_redirects=False)
            where = f"{who} {method} {url} {query} → {r.status_code}"
            if r.status_code >= 500:
                problems.append(f"{where}: {r.text[:200]}")
                continue
            missing = [h for h in HEADERS if h not in r.headers]
            if missing:
                problems.append(f"{where}: missing headers {missing}")
            if r.status_code >= 400 and r.headers.get("content-type", "").startswith(
                "application/json"
            ):
                body = r.json()
                if not {"code", "zh", "en", "request_id"} <= set(body):
                    problems.append(f"{where}: error body not in the one shape: {body}")
            if who == "anonymous" and path not in PUBLIC:
                to_login = r.status_code == 303 and r.headers["location"].startswith("/login")
                if not (to_login or r.status_code in (401, 403, 404)):
                    problems.append(f"{where}: anonymous not refused")
            role = ROLE_OF.get(who.removesuffix("_token"))
            permission = _guard(path)
            refused = r.status_code in (401, 403, 404, 422) or (
                r.status_code == 303 and r.headers["location"].startswith("/login")
            )
            if role and permission and role not in PERMISSIONS[permission] and not refused:
                problems.append(f"{where}: role without {permission} not refused")
    assert not problems, "\n".join(problems[:60]) + f"\n({len(problems)} problems)"
    # the matrix reached the routes of the platform and of the services
    assert {"/cockpit", "/import", "/api/v1/carbon/bank/enterprises/{uscc}"} <= seen_paths
    assert any(p.startswith("/mujun") for p in seen_paths)


@pytest.mark.parametrize("username", ["admin", "city"])
def test_cockpit_and_import_render_after_an_accepted_appeal(app, username):
    """Point 4: the batches table met the batch kind ``appeal`` (KeyError → 500)."""
    with TestClient(app, base_url="https://testserver") as c:
        login(c, username)
        for page in ("/cockpit", "/import"):
            r = c.get(page)
            assert r.status_code == 200, (page, r.text[:300])
        assert "异议更正" in c.get("/import").text
        assert "Appeal correction" in c.get("/import?lang=en").text


def test_hostile_numbers_of_the_issue_answer_404_or_422(app):
    """Point 3's examples: 400/404/422 in the one shape (was 500 without headers)."""
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        login(c, "admin")
        for url in (
            "/mujun/lists/0.xlsx",
            "/mujun/lists/-1.xlsx",
            "/mujun/lists/99999999999999999999.xlsx",
            f"/enterprises/{USCC_WX}/facts/output_value/huge",
            f"/enterprises/{USCC_WX}/facts/output_value/99999999999999999999",
            "/bulletins/99999999999999999999.xlsx",
        ):
            r = c.get(url)
            assert r.status_code in (400, 404, 422), (url, r.status_code, r.text[:300])
            assert r.headers["x-request-id"] and "content-security-policy" in r.headers
        bank = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
        auth_header = {"Authorization": f"Bearer {app.state.bank_token}"}
        for year in ("huge", "99999999999999999999"):
            r = bank.get(
                f"/api/v1/carbon/bank/enterprises/{USCC_WX}",
                params={"year": year},
                headers=auth_header,
            )
            assert r.status_code == 422 and r.json()["code"] == "request.invalid", r.text
            assert r.headers["x-request-id"]
