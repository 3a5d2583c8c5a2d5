"""The node's portal pages through the app (SQLite): an enterprise applies for a prefix, an
officer approves it, the enterprise registers one identifier through the form generated from
the template (errors next to their fields), stages a bulk file (report) and makes it live,
withdraws, delegates to a provider user who then registers under the prefix until the grant
is revoked (refusal shown and audited); both languages without raw catalog keys."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain import contract
from industry_brain.core import uscc
from industry_brain.domains.identifiers import service
from industry_brain.domains.identifiers.models import Identifier
from industry_brain.store.models import AuditLog, Enterprise, User
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.web_fixtures import _HASH, login

CONFIG = service.load_config()
PREFIX = f"{CONFIG.prefix}.8"


@pytest.fixture
def app(sqlite_engine: Engine):  # type: ignore[no-untyped-def]
    contract.services()
    with Session(sqlite_engine) as s:
        ent = Enterprise(uscc=uscc.make("91330502MA2B0J001"), name="湖州甲电池有限公司",
                         county_code="330502")  # fmt: skip
        s.add(ent)
        s.flush()
        for name, role, extra in (
            ("ent1", "enterprise", {"enterprise_id": ent.id}),
            ("prov1", "provider", {}),
            ("city", "city_officer", {}),
        ):
            s.add(User(username=name, display_name=f"{name}用户", role=role, password_hash=_HASH,
                       **extra))  # fmt: skip
        service.ensure_builtin_templates(s)
        s.commit()
    return create_app(Settings(), sqlite_engine), sqlite_engine


def _client(app, username: str) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    c = TestClient(app, base_url="https://testserver")
    return c, login(c, username)


def _post(c: TestClient, url: str, csrf: str, **data: str):  # type: ignore[no-untyped-def]
    return c.post(url, data={"csrf_token": csrf, **data}, follow_redirects=False)


def test_portal_flow(app) -> None:  # type: ignore[no-untyped-def]
    app, engine = app
    ent, ent_csrf = _client(app, "ent1")
    page = ent.get("/ids")
    assert page.status_code == 200 and "本企业的标识前缀" in page.text
    assert "暂无标识前缀" in page.text
    r = _post(ent, "/ids/prefixes", ent_csrf, prefix="99.1.1")  # not under this node
    assert r.status_code == 422 and "前缀应在本节点" in r.text and 'id="ids-apply-error"' in r.text
    r = _post(ent, "/ids/prefixes", ent_csrf, prefix=PREFIX)
    assert r.status_code == 303
    page = ent.get("/ids")
    assert f"已提交前缀 {PREFIX} 的申请" in page.text and "待审批" in page.text

    city, city_csrf = _client(app, "city")
    page = city.get("/ids")
    assert f'data-prefix="{PREFIX}"' in page.text and "湖州甲电池有限公司" in page.text
    r = _post(city, f"/ids/prefixes/{PREFIX}/decision", city_csrf, approve="1")
    assert r.status_code == 303
    assert "没有待审批的申请" in city.get("/ids").text

    # the form generated from the batch template; problems next to their fields
    form = ent.get("/ids/register", params={"prefix": PREFIX, "template": "batch"})
    assert form.status_code == 200
    for name in ("product", "batch", "quantity", "produced", "supplier"):
        assert f'name="f_{name}"' in form.text
    assert 'type="date"' in form.text and "受限" in form.text
    r = _post(ent, "/ids/register", ent_csrf, prefix=PREFIX, template="batch", suffix="L-1",
              f_product="", f_batch="B1", f_quantity="x", f_produced="2026-02-30")  # fmt: skip
    assert r.status_code == 422
    errors = dict(re.findall(r'<span class="error" id="error-(\w+)">([^<]+)</span>', r.text))
    assert errors == {
        "product": "必填",
        "quantity": "类型不符（如应为整数）",
        "produced": "日期无效（格式为 年-月-日）",
    }
    assert 'value="B1"' in r.text  # what was typed stays
    r = _post(ent, "/ids/register", ent_csrf, prefix=PREFIX, template="batch", suffix="L-1",
              f_product="电芯", f_batch="B1", f_quantity="12", f_supplier="某厂")  # fmt: skip
    assert r.status_code == 303
    r = _post(ent, "/ids/register", ent_csrf, prefix=PREFIX, template="batch", suffix="L-1",
              f_product="电芯", f_batch="B1", f_quantity="12")  # fmt: skip
    assert r.status_code == 422 and 'id="error-suffix">该标识已注册' in r.text
    with Session(engine) as s:
        res = service.resolve(s, f"{PREFIX}/L-1", CONFIG, restricted_ok=True, log=False)
        assert [(v["type"], v["data"]) for v in res.body["values"]] == [
            ("product", "电芯"), ("batch", "B1"), ("quantity", 12), ("supplier", "某厂")
        ]  # fmt: skip

    # bulk: a file with a problem is reported by row and column, nothing staged goes live
    bad = "suffix,product,batch,quantity\nM1,电芯,B1,5\nM2,电芯,B2,zero\n".encode()
    r = ent.post("/ids/bulk", data={"csrf_token": ent_csrf, "prefix": PREFIX, "template": "batch"},
                 files={"file": ("m.csv", bad, "text/csv")})  # fmt: skip
    assert r.status_code == 422 and 'data-status="failed"' in r.text
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td>", r.text)
    assert rows == [("3", "数量")]
    good = "suffix,product,batch,quantity\nM1,电芯,B1,5\nM2,电芯,B2,6\n".encode()
    r = ent.post("/ids/bulk", data={"csrf_token": ent_csrf, "prefix": PREFIX, "template": "batch"},
                 files={"file": ("m.csv", good, "text/csv")})  # fmt: skip
    assert r.status_code == 200 and "已暂存 2 行" in r.text
    upload = re.search(r'action="/ids/uploads/(\d+)/live"', r.text).group(1)
    with Session(engine) as s:  # staged, not live yet
        assert s.scalar(select(func.count()).select_from(Identifier)) == 1
    r = _post(ent, f"/ids/uploads/{upload}/live", ent_csrf)
    assert r.status_code == 303
    assert "2 个标识已上线" in ent.get("/ids").text
    r = _post(ent, f"/ids/uploads/{upload}/live", ent_csrf)  # only once
    assert r.status_code == 422 and "该文件不在待上线状态" in r.text
    r = _post(ent, "/ids/withdraw", ent_csrf, identifier=f"{PREFIX}/M2", reason="召回")
    assert r.status_code == 303
    page = ent.get("/ids")
    row = re.search(rf'<tr data-prefix="{re.escape(PREFIX)}">(.*?)</tr>', page.text, re.S)[1]
    assert re.findall(r"<td>([^<]*)</td>", row)[2:5] == ["已批准", "2", "1"]

    # delegation: the provider writes while delegated, is refused after revocation
    prov, prov_csrf = _client(app, "prov1")
    assert "暂无标识前缀" in prov.get("/ids").text
    r = _post(ent, "/ids/delegations", ent_csrf, prefix=PREFIX, provider="prov1",
              until="2099-12-31")  # fmt: skip
    assert r.status_code == 303
    page = prov.get("/ids")
    assert f'data-prefix="{PREFIX}"' in page.text and "授权给我的标识前缀" in page.text
    r = _post(prov, "/ids/register", prov_csrf, prefix=PREFIX, template="product", suffix="PV-1",
              f_name="童装", f_model="T-1")  # fmt: skip
    assert r.status_code == 303
    r = _post(ent, "/ids/delegations/revoke", ent_csrf, prefix=PREFIX, provider="prov1")
    assert r.status_code == 303
    assert "已撤销" in ent.get("/ids").text
    r = _post(prov, "/ids/register", prov_csrf, prefix=PREFIX, template="product", suffix="PV-2",
              f_name="童装", f_model="T-1")  # fmt: skip
    assert r.status_code == 422 and 'id="error-prefix">无权操作' in r.text
    with Session(engine) as s:
        refused = s.scalars(select(AuditLog).where(AuditLog.action == "ids.refused")).all()
        assert [(a.actor, a.detail["refusal"]) for a in refused] == [
            ("prov1", "delegation_revoked")
        ]
        made = s.scalars(select(AuditLog.actor).where(AuditLog.action == "ids.register")).all()
        assert made == ["ent1", "prov1"]
        assert s.scalar(select(func.count()).select_from(Identifier)) == 4


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_portal_pages_in_both_languages(app, lang: str) -> None:  # type: ignore[no-untyped-def]
    app, engine = app
    with Session(engine) as s:
        ent = s.scalar(select(Enterprise))
        actor = service.Actor("ent1", "enterprise", ent.id)
        service.apply_prefix(s, actor, ent.uscc, PREFIX, CONFIG)
        service.decide_prefix(s, service.Actor("city", "city_officer"), PREFIX, True)
    ent, _ = _client(app, "ent1")
    for url in ("/ids", "/ids/register?template=battery", "/ids/register?template=equipment"):
        page = ent.get(url, params={"lang": lang})
        assert page.status_code == 200, url
        text = re.sub(r"<[^>]+>", " ", page.text)
        assert not re.search(r"\bids\.[a-z_.]+", text), url  # no raw catalog key
        if lang == "en":
            assert "Industrial-internet identifiers" in page.text or "Register" in page.text
