"""Market pages through the app (SQLite): catalog search, solution page and its versions, the
registry, the review queue, the enterprise's find-a-solution page and contact request, the
provider's desk (its leads only; another provider's lead refused), rating once, and both
languages rendering every page without a raw catalog key."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain import contract
from industry_brain.core import uscc
from industry_brain.domains.market import service
from industry_brain.domains.market.models import MarketLead
from industry_brain.store.models import AuditLog, Enterprise, User
from industry_brain.store.scope import Scope
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.web_fixtures import _HASH, login

OFFICER = Scope(user_id=None, username="officer", role="city_officer")


@pytest.fixture
def app_ids(sqlite_engine: Engine):  # type: ignore[no-untyped-def]
    contract.services()
    with Session(sqlite_engine) as s:
        e1 = Enterprise(
            uscc=uscc.make("91330502MA2B0E001"),
            name="湖州甲汽配有限公司",
            county_code="330502",
            industry_code="3670",
        )
        s.add(e1)
        s.flush()
        ids = {"e1": e1.id}
        for name, role, extra in (
            ("admin", "admin", {}),
            ("ent1", "enterprise", {"enterprise_id": e1.id}),
            ("prov1", "provider", {}),
            ("prov2", "provider", {}),
            ("county", "county_officer", {"county_code": "330502"}),
        ):
            u = User(username=name, display_name=name, role=role, password_hash=_HASH, **extra)
            s.add(u)
            s.flush()
            ids[name] = u.id
        p1 = service.register_provider(
            s, OFFICER, uscc.make("91330502MA2B0M001"), "甲数字工程公司", "leading", ["330500"], 50
        )
        p2 = service.register_provider(
            s, OFFICER, uscc.make("91330502MA2B0M002"), "乙平台公司", "platform", [], 20
        )
        service.link_user(s, OFFICER, "prov1", p1.id)
        service.link_user(s, OFFICER, "prov2", p2.id)
        sol = service.create_solution(
            s,
            OFFICER,
            {
                "title": "生产计划与调度优化",
                "summary": "高级排程",
                "subdomains": ["planning"],
                "industries": ["36"],
                "sizes": [],
                "price_min": 30,
                "price_max": 60,
                "delivery_days": 90,
                "cases": [{"enterprise": "案例甲", "industry": "36", "result": "交期缩短"}],
            },
            provider_id=p1.id,
        )
        service.review(s, OFFICER, sol.id, 1, "approve")
        s.commit()
        ids.update({"p1": p1.id, "p2": p2.id, "sol": sol.id})
    app = create_app(Settings(), sqlite_engine)
    return app, ids, sqlite_engine


def _client(app, username: str) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    c = TestClient(app, base_url="https://testserver")
    return c, login(c, username)


def test_enterprise_finds_requests_provider_handles_rates(app_ids) -> None:  # type: ignore[no-untyped-def]
    app, ids, engine = app_ids
    ent, ent_csrf = _client(app, "ent1")
    page = ent.get("/market/find")
    assert page.status_code == 200
    assert "尚无智能制造能力成熟度诊断结果" in page.text
    assert "生产计划与调度优化" in page.text and "同行业案例 1 个" in page.text
    hits = ent.get("/market", params={"q": "计划调度"})
    assert "找到 1 个方案" in hits.text
    r = ent.post(
        f"/market/solutions/{ids['sol']}/contact",
        data={"csrf_token": ent_csrf, "reason": "适用本行业"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    leads = ent.get(r.headers["location"])
    assert "已提交对接申请" in leads.text and "已申请对接" in leads.text
    with Session(engine) as s:
        lead_id = s.scalar(select(MarketLead.id))

    # the other provider: an empty desk, and its attempt on the lead is refused and audited
    p2, p2_csrf = _client(app, "prov2")
    assert "湖州甲汽配有限公司" not in p2.get("/market/desk").text
    r = p2.post(
        f"/market/leads/{lead_id}/status",
        data={"csrf_token": p2_csrf, "status": "contacted"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    # the owning provider: the lead on its desk, contacted → contracted → delivered
    p1, p1_csrf = _client(app, "prov1")
    desk = p1.get("/market/desk")
    assert "湖州甲汽配有限公司" in desk.text and f'id="market-lead-{lead_id}"' in desk.text
    for status, extra in (("contacted", {}), ("contracted", {"amount": "45"}), ("delivered", {})):
        r = p1.post(
            f"/market/leads/{lead_id}/status",
            data={"csrf_token": p1_csrf, "status": status, **extra},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:300]
    # the enterprise rates once
    r = ent.post(
        f"/market/leads/{lead_id}/rate",
        data={"csrf_token": ent_csrf, "score": "5"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = ent.post(
        f"/market/leads/{lead_id}/rate",
        data={"csrf_token": ent_csrf, "score": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 409
    assert "已评价" in ent.get("/market/leads").text
    with Session(engine) as s:
        actions = list(s.scalars(select(AuditLog.action).order_by(AuditLog.id)))
    assert "market.refused" in actions and actions.count("market.rate") == 1
    # the county officer sees the lead of an enterprise of its county
    county, _ = _client(app, "county")
    assert f'id="market-lead-{lead_id}"' in county.get("/market/leads").text


def test_pages_render_in_both_languages(app_ids) -> None:  # type: ignore[no-untyped-def]
    app, ids, _ = app_ids
    pages = {
        "admin": [
            "/market",
            "/market/providers",
            f"/market/providers/{ids['p1']}",
            f"/market/solutions/{ids['sol']}",
            "/market/review",
            "/market/leads",
        ],
        "ent1": ["/market/find", "/market/find?budget=10", "/market/leads"],
        "prov1": ["/market/desk", f"/market/solutions/{ids['sol']}"],
    }
    for user, paths in pages.items():
        c, _ = _client(app, user)
        for lang in ("zh", "en"):
            for path in paths:
                sep = "&" if "?" in path else "?"
                r = c.get(f"{path}{sep}lang={lang}")
                assert r.status_code == 200, (user, path, r.text[:300])
                assert not re.search(r">\s*market\.[a-z_.]+\s*<", r.text), (user, path)
    # a provider user signs in to its desk; an enterprise may not open the desk or the queue
    c, _ = _client(app, "prov1")
    assert c.get("/", follow_redirects=False).headers["location"] == "/market/desk"
    ent, _ = _client(app, "ent1")
    assert ent.get("/market/desk").status_code == 403
    assert ent.get("/market/review").status_code == 403


def test_provider_edits_own_solution_officer_reviews(app_ids) -> None:  # type: ignore[no-untyped-def]
    app, ids, _ = app_ids
    p1, csrf = _client(app, "prov1")
    form = {
        "csrf_token": csrf,
        "title": "生产计划与调度优化 2.0",
        "subdomains": ["planning", "operations"],
        "price_min": "35",
        "price_max": "70",
        "delivery_days": "80",
    }
    r = p1.post(f"/market/solutions/{ids['sol']}/versions", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("version=2")
    p2, csrf2 = _client(app, "prov2")
    r = p2.post(
        f"/market/solutions/{ids['sol']}/versions",
        data={**form, "csrf_token": csrf2},
        follow_redirects=False,
    )
    assert r.status_code == 403
    admin, acsrf = _client(app, "admin")
    queue = admin.get("/market/review")
    assert "生产计划与调度优化 2.0" in queue.text
    r = admin.post(
        f"/market/review/{ids['sol']}/2",
        data={"csrf_token": acsrf, "decision": "approve"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = admin.get(f"/market/solutions/{ids['sol']}")
    assert "生产计划与调度优化 2.0" in page.text
    old = admin.get(f"/market/solutions/{ids['sol']}?version=1")
    assert old.status_code == 200 and 'id="market-solution-title">生产计划与调度优化<' in old.text


def test_officer_imports_the_collection_on_the_review_page(app_ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import Workbook

    app, _, _ = app_ids

    def xlsx(name: str, rows: list[list[object]]) -> bytes:
        wb = Workbook()
        ws = wb.active
        ws.append(
            ["服务商统一社会信用代码", "方案名称", "能力子域", "价格下限", "价格上限", "交付周期"]
        )
        for r in rows:
            ws.append(r)
        path = tmp_path / name
        wb.save(path)
        return path.read_bytes()

    p1 = uscc.make("91330502MA2B0M001")
    admin, csrf = _client(app, "admin")
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    bad = xlsx(
        "坏.xlsx", [[p1, "设备管理", "设备运维", 5, 8, 30], [p1, "仓储", "仓储配送", "x", 8, 30]]
    )
    r = admin.post(
        "/market/import",
        data={"csrf_token": csrf},
        files={"file": ("坏.xlsx", bad, mime)},
    )
    assert r.status_code == 422
    assert "发现 2 处问题，未导入任何方案" in r.text
    cells = re.findall(r"<tr><td>(\d+)</td><td>([A-Z])</td>", r.text)
    assert cells == [("2", "C"), ("3", "D")]
    good = xlsx("好.xlsx", [[p1, "设备预测性维护", "设备管理", 5, 8, 30]])
    r = admin.post(
        "/market/import",
        data={"csrf_token": csrf},
        files={"file": ("好.xlsx", good, mime)},
    )
    assert r.status_code == 200 and "新增方案 1 个" in r.text
    assert "设备预测性维护" in admin.get("/market/review").text
    ent, ent_csrf = _client(app, "ent1")
    r = ent.post(
        "/market/import",
        data={"csrf_token": ent_csrf},
        files={"file": ("好.xlsx", good, mime)},
    )
    assert r.status_code == 403


def test_officer_registers_a_provider_and_its_recognition(app_ids) -> None:  # type: ignore[no-untyped-def]
    app, _, _ = app_ids
    admin, csrf = _client(app, "admin")
    new = uscc.make("91330502MA2B0M003")
    bad = new[:-1] + ("0" if new[-1] != "0" else "1")
    form = {"csrf_token": csrf, "name": "丙数采公司", "kind": "data_collection", "staff": "12"}
    r = admin.post("/market/providers", data={**form, "uscc": bad}, follow_redirects=False)
    assert r.status_code == 400 and "校验码" in r.text
    r = admin.post(
        "/market/providers",
        data={**form, "uscc": new, "regions": "330502,330503"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page_url = r.headers["location"]
    r = admin.post(
        f"{page_url}/recognitions",
        data={
            "csrf_token": csrf,
            "kind": "excellent",
            "year": "2024",
            "issuer": "湖州市经信局",
            "expires": "",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = admin.get(page_url)
    assert "丙数采公司" in page.text and "优秀智改数转服务商" in page.text and "吴兴区" in page.text
    ent, ent_csrf = _client(app, "ent1")
    r = ent.post(
        "/market/providers",
        data={**form, "csrf_token": ent_csrf, "uscc": new},
        follow_redirects=False,
    )
    assert r.status_code == 403
