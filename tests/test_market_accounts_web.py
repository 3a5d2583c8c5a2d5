"""Provider accounts on a provider's page (issue 19): officers link and unlink accounts of role
``provider`` (search-as-you-type by username or name), the administrator creates one; every
refusal is shown beside its field in the page's language with what was typed, every action is
audited, CSRF is required, other roles are refused. On SQLite and PostgreSQL (``engine``)."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain import contract
from industry_brain.core import uscc
from industry_brain.domains.market import service
from industry_brain.domains.market.models import MarketProviderUser
from industry_brain.store.models import AuditLog, Enterprise, User
from industry_brain.store.scope import Scope
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.web_fixtures import _HASH, login

OFFICER = Scope(user_id=None, username="officer", role="city_officer")


@pytest.fixture
def site(engine: Engine) -> tuple[Any, dict[str, int], Engine]:
    contract.services()
    with Session(engine) as s:
        e1 = Enterprise(
            uscc=uscc.make("91330502MA2B0E001"),
            name="湖州甲汽配有限公司",
            county_code="330502",
            industry_code="3670",
        )
        s.add(e1)
        s.flush()
        ids: dict[str, int] = {}
        for name, display, role, extra in (
            ("admin", "管理员", "admin", {}),
            ("city", "市经信局王", "city_officer", {}),
            ("ent1", "甲汽配", "enterprise", {"enterprise_id": e1.id}),
            ("prov_a", "甲数字工程 张工", "provider", {}),
            ("prov_b", "乙平台 李工", "provider", {}),
            ("prov_free", "丙咨询 赵工", "provider", {}),
            ("prov_off", "停用账号", "provider", {"active": False}),
            ("bank1", "湖州银行", "bank", {}),
        ):
            u = User(username=name, display_name=display, role=role, password_hash=_HASH, **extra)
            s.add(u)
            s.flush()
            ids[name] = u.id
        p1 = service.register_provider(
            s, OFFICER, uscc.make("91330502MA2B0M001"), "甲数字工程公司", "leading", [], 50
        )
        p2 = service.register_provider(
            s, OFFICER, uscc.make("91330502MA2B0M002"), "乙平台公司", "platform", [], 20
        )
        service.link_user(s, OFFICER, "prov_b", p2.id)
        s.commit()
        ids.update({"p1": p1.id, "p2": p2.id})
    return create_app(Settings(), engine), ids, engine


def _client(app: Any, username: str, lang: str = "zh") -> tuple[TestClient, str]:
    c = TestClient(app, base_url="https://testserver")
    csrf = login(c, username)
    if lang != "zh":
        c.get(f"/lang/{lang}")
    return c, csrf


def _field_error(html: str, form_id: str) -> tuple[str, str]:
    """(code, text) of the error shown beside a field of the form ``form_id``."""
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S)
    assert form, f"no form {form_id}"
    m = re.search(r'class="field-error"[^>]*data-code="([^"]+)">([^<]*)<', form.group(0))
    assert m, f"no error beside a field of {form_id}"
    return m.group(1), html_lib.unescape(m.group(2))


def _links(engine: Engine) -> dict[int, int]:
    with Session(engine) as s:
        return {x.user_id: x.provider_id for x in s.scalars(select(MarketProviderUser))}


def _audit(engine: Engine, action: str) -> list[AuditLog]:
    with Session(engine) as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action)))


def test_officer_links_and_unlinks_with_refusals_beside_the_field(site) -> None:  # type: ignore[no-untyped-def]
    app, ids, engine = site
    city, csrf = _client(app, "city")
    url = f"/market/providers/{ids['p1']}"
    page = city.get(url)
    assert 'id="market-link-user"' in page.text and "尚未关联账号" in page.text
    # the city officer registers providers but does not create accounts (the administrator)
    assert 'id="market-new-account"' not in page.text

    # search-as-you-type: provider accounts only, by username or name, with their provider
    options = city.get(f"{url}/users", params={"username": "prov"}).text
    assert re.findall(r'<option value="([^"]+)"', options) == ["prov_a", "prov_b", "prov_free"]
    assert "已关联 乙平台公司" in options  # prov_b acts for the other provider
    by_name = city.get(f"{url}/users", params={"username": "张工"}).text
    assert re.findall(r'<option value="([^"]+)"', by_name) == ["prov_a"]
    assert city.get(f"{url}/users", params={"username": "prov_f"}).text.count("<option") == 1
    assert "<option" not in city.get(f"{url}/users", params={"username": "ent"}).text
    assert "<option" not in city.get(f"{url}/users", params={"username": "停用"}).text

    # refusals, each beside the username field with what was typed, nothing linked
    cases = (
        ("nobody", 404, "market.user_not_found", "用户“nobody”不存在"),
        ("ent1", 400, "market.user_role", "用户“ent1”不是服务商角色"),
        ("prov_off", 400, "market.user_inactive", "用户“prov_off”已停用"),
        ("prov_b", 409, "market.user_linked", "已关联服务商“乙平台公司”"),
        ("  ", 400, "market.username_empty", "请填写用户名"),
    )
    for typed, status, code, text in cases:
        r = city.post(f"{url}/users", data={"csrf_token": csrf, "username": typed})
        assert r.status_code == status, (typed, r.status_code)
        shown_code, shown = _field_error(r.text, "market-link-user")
        assert shown_code == code and text in shown, (typed, shown)
        assert f'value="{typed}"' in r.text
    assert _links(engine) == {ids["prov_b"]: ids["p2"]}

    # without the CSRF token: 403, nothing linked
    r = city.post(f"{url}/users", data={"username": "prov_a"}, follow_redirects=False)
    assert r.status_code == 403 and _links(engine) == {ids["prov_b"]: ids["p2"]}

    # linked, with the confirmation, the account listed; audited with the actor
    r = city.post(f"{url}/users", data={"csrf_token": csrf, "username": "prov_a"})
    assert r.status_code == 200 and "已关联账号 prov_a" in r.text
    assert f'id="market-account-{ids["prov_a"]}"' in r.text
    assert _links(engine)[ids["prov_a"]] == ids["p1"]
    [entry] = _audit(engine, "market.link_user")[-1:]
    assert (entry.actor, entry.object_id, entry.detail) == (
        "city",
        str(ids["p1"]),
        {"username": "prov_a"},
    )
    # twice: refused as already linked (409), in English on an English page
    city_en, csrf_en = _client(app, "city", "en")
    r = city_en.post(f"{url}/users", data={"csrf_token": csrf_en, "username": "prov_a"})
    assert r.status_code == 409
    code, text = _field_error(r.text, "market-link-user")
    assert code == "market.already_linked"
    assert text == "the user 'prov_a' already acts for this provider"

    # the linked account signs in to its desk as this provider
    prov, _ = _client(app, "prov_a")
    assert "甲数字工程公司" in prov.get("/market/desk").text

    # unlinked: audited, the account stays and sees an empty desk; a second unlink is 404
    unlink = f"{url}/users/{ids['prov_a']}/unlink"
    r = city.post(unlink, data={"csrf_token": csrf})
    assert r.status_code == 200 and "已解除账号 prov_a 的关联" in r.text
    assert ids["prov_a"] not in _links(engine)
    assert [e.detail for e in _audit(engine, "market.unlink_user")] == [{"username": "prov_a"}]
    assert "甲数字工程公司" not in prov.get("/market/desk").text
    assert city.post(unlink, data={"csrf_token": csrf}).status_code == 404
    # another provider's account cannot be unlinked from this page
    r = city.post(f"{url}/users/{ids['prov_b']}/unlink", data={"csrf_token": csrf})
    assert r.status_code == 404 and _links(engine) == {ids["prov_b"]: ids["p2"]}


def test_other_roles_are_refused(site) -> None:  # type: ignore[no-untyped-def]
    app, ids, engine = site
    url = f"/market/providers/{ids['p2']}"
    for username in ("prov_b", "ent1"):
        c, csrf = _client(app, username)
        page = c.get(url)
        assert page.status_code == 200
        assert 'id="market-accounts"' not in page.text  # no account list for them
        assert (
            c.post(f"{url}/users", data={"csrf_token": csrf, "username": "prov_free"}).status_code
            == 403
        )
        assert c.get(f"{url}/users", params={"username": "prov"}).status_code == 403
        r = c.post(f"{url}/users/{ids['prov_b']}/unlink", data={"csrf_token": csrf})
        assert r.status_code == 403
        r = c.post(
            f"{url}/accounts",
            data={
                "csrf_token": csrf,
                "username": "x_new",
                "display_name": "x",
                "password": "p" * 12,
            },
        )
        assert r.status_code == 403
    # the bank has no market pages at all
    bank, csrf = _client(app, "bank1")
    assert (
        bank.post(f"{url}/users", data={"csrf_token": csrf, "username": "prov_free"}).status_code
        == 403
    )
    # the city officer may link but not create accounts
    city, csrf = _client(app, "city")
    r = city.post(
        f"{url}/accounts",
        data={"csrf_token": csrf, "username": "x_new", "display_name": "x", "password": "p" * 12},
    )
    assert r.status_code == 403
    assert _links(engine) == {ids["prov_b"]: ids["p2"]}
    with Session(engine) as s:
        assert s.scalar(select(User).where(User.username == "x_new")) is None


def test_admin_creates_a_provider_account(site) -> None:  # type: ignore[no-untyped-def]
    app, ids, engine = site
    admin, csrf = _client(app, "admin")
    url = f"/market/providers/{ids['p1']}"
    assert 'id="market-new-account"' in admin.get(url).text
    good = {"username": "jia_01", "display_name": "甲数字工程 王工", "password": "s3cret-pass!"}
    cases = (
        ({"username": "Jia 01"}, 400, "market.username_format", "用户名须为 3–64 个字符"),
        ({"username": "prov_free"}, 409, "market.username_taken", "用户名“prov_free”已被使用"),
        ({"display_name": " "}, 400, "market.display_name", "请填写姓名或名称"),
        ({"password": "short"}, 400, "market.password_short", "初始密码至少 10 个字符"),
    )
    for change, status, code, text in cases:
        r = admin.post(f"{url}/accounts", data={"csrf_token": csrf, **good, **change})
        assert r.status_code == status, change
        shown_code, shown = _field_error(r.text, "market-new-account")
        assert shown_code == code and text in shown, (change, shown)
        assert f'value="{change.get("username", good["username"])}"' in r.text
        assert good["password"] not in r.text  # a password is never sent back
    with Session(engine) as s:
        assert s.scalar(select(User).where(User.username == "jia_01")) is None

    r = admin.post(f"{url}/accounts", data={"csrf_token": csrf, **good})
    assert r.status_code == 200 and "已新建服务商账号 jia_01 并关联本服务商" in r.text
    with Session(engine) as s:
        user = s.scalar(select(User).where(User.username == "jia_01"))
        assert user is not None and user.role == "provider" and user.active
        assert user.organisation == "甲数字工程公司"
        assert PasswordHasher().verify(user.password_hash, good["password"])
        uid = user.id
    assert _links(engine)[uid] == ids["p1"]
    [created] = _audit(engine, "market.provider_user")
    assert (created.actor, created.object_id) == ("admin", str(ids["p1"]))
    assert created.detail == {"username": "jia_01"}  # never the password
    assert _audit(engine, "market.link_user")[-1].detail == {"username": "jia_01"}

    # the new account signs in with its initial password and sees its desk
    c = TestClient(app, base_url="https://testserver")
    login(c, "jia_01", good["password"])
    assert "甲数字工程公司" in c.get("/market/desk").text
