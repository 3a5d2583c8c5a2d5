"""Programme actions on the web (issue 19 points 4 and 9): an officer creates and edits a
programme, adds tendered providers, assigns enterprises by industry and capacity, sets a report
deadline and records a report received — CSRF, a confirmation after each action, errors beside the
field with what was typed, every change audited — and a provider's programme desk: a provider user
sees only the assignments of its own provider (matched by USCC with the market registry) and
marks a report delivered; another provider's assignment is not found."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain import contract
from industry_brain.core import uscc
from industry_brain.domains.market import service as market
from industry_brain.domains.programmes.models import Programme, ProgrammeAssignment
from industry_brain.store.models import AuditLog, Enterprise, User
from industry_brain.store.scope import Scope
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.web_fixtures import _HASH, USCC_NX, USCC_WX, csrf_of, login, seed

TODAY = date(2026, 6, 1)
PA = uscc.make("91330502MA2B0M001")
PB = uscc.make("91330502MA2B0M002")


def _client(app, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app, base_url="https://testserver")
    login(c, username)
    return c


def _audits(engine: Engine, action: str) -> list[AuditLog]:
    with Session(engine) as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action)))


def _providers(engine: Engine) -> None:
    """Two market providers, each with a provider user (prov_a, prov_b)."""
    contract.services()
    officer = Scope(user_id=None, username="officer", role="city_officer")
    with Session(engine) as s:
        for username, code, name in (
            ("prov_a", PA, "甲诊断服务公司"),
            ("prov_b", PB, "乙诊断服务公司"),
        ):
            s.add(User(username=username, display_name=name, role="provider", password_hash=_HASH))
            s.flush()
            p = market.register_provider(s, officer, code, name, "consulting", [], 10)
            market.link_user(s, officer, username, p.id)
        s.commit()


def _post(c: TestClient, page: str, url: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf_of(c.get(page).text)
    return c.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def test_officer_actions_and_provider_desk(sqlite_engine: Engine) -> None:
    seed(sqlite_engine)
    _providers(sqlite_engine)
    app = create_app(Settings(today=TODAY), sqlite_engine)
    city = _client(app, "city")

    # create: a missing name is an error beside the field, what was typed is kept
    r = _post(
        city,
        "/programmes",
        "/programmes/new",
        {
            "name": "",
            "year": "2026",
            "budget": "120",
            "start_on": "2026-01-01",
            "end_on": "2026-12-31",
        },
    )
    assert r.status_code == 400 and 'id="error-name"' in r.text and 'value="120"' in r.text
    r = _post(
        city,
        "/programmes",
        "/programmes/new",
        {
            "name": "试点诊断",
            "year": "2026",
            "budget": "12x",
            "start_on": "2026-01-01",
            "end_on": "2026-12-31",
        },
    )
    assert r.status_code == 400 and 'id="error-budget"' in r.text
    r = _post(
        city,
        "/programmes",
        "/programmes/new",
        {
            "name": "试点诊断",
            "year": "2026",
            "budget": "120",
            "start_on": "2026-01-01",
            "end_on": "2026-12-31",
        },
    )
    assert r.status_code == 303
    with Session(sqlite_engine) as s:
        p = s.scalars(select(Programme)).one()
        pid, days = p.id, p.report_days
    assert r.headers["location"] == f"/programmes?id={pid}"
    page = city.get(r.headers["location"]).text
    assert "已新建诊断服务项目“试点诊断”。" in page
    assert "已新建诊断服务项目" not in city.get(f"/programmes?id={pid}").text  # shown once

    # edit: report days out of range, then saved
    home = f"/programmes?id={pid}"
    edit = {
        "name": "试点诊断（修订）",
        "budget": "150",
        "start_on": "2026-01-01",
        "end_on": "2026-12-31",
    }
    r = _post(city, home, f"/programmes/{pid}/edit", {**edit, "report_days": "0"})
    assert r.status_code == 400 and 'id="error-report_days"' in r.text
    r = _post(city, home, f"/programmes/{pid}/edit", {**edit, "report_days": "20"})
    assert r.status_code == 303 and "已保存项目“试点诊断（修订）”。" in city.get(home).text
    with Session(sqlite_engine) as s:
        p = s.get(Programme, pid)
        assert (p.name, p.budget_wan, p.report_days) == ("试点诊断（修订）", 150.0, 20)
    assert _audits(sqlite_engine, "programmes.update")[0].detail["before"]["report_days"] == days

    # providers: a bad USCC beside its field; then A (capacity 1) and B (capacity 5)
    r = _post(
        city, home, f"/programmes/{pid}/providers", {"uscc": "123", "name": "x", "capacity": "1"}
    )
    assert r.status_code == 400 and 'id="error-uscc"' in r.text
    for code, name, cap in ((PA, "甲诊断服务公司", "1"), (PB, "乙诊断服务公司", "5")):
        r = _post(
            city,
            home,
            f"/programmes/{pid}/providers",
            {"uscc": code, "name": name, "capacity": cap},
        )
        assert r.status_code == 303
    assert "已添加服务商“乙诊断服务公司”。" in city.get(home).text

    # assign: an unknown USCC is an error and nothing is assigned; then both firms.
    # WX (吴兴 330502) comes first: both generalists at load 0 → the lower USCC, A;
    # NX: A is full (1/1) → B.
    unknown = uscc.make("91330502MA2B0X009")
    r = _post(city, home, f"/programmes/{pid}/assign", {"usccs": f"{USCC_WX}\n{unknown}"})
    assert r.status_code == 400 and 'id="error-usccs"' in r.text and unknown in r.text
    with Session(sqlite_engine) as s:
        assert s.scalar(select(func.count(ProgrammeAssignment.id))) == 0
    r = _post(city, home, f"/programmes/{pid}/assign", {"usccs": f"{USCC_WX}, {USCC_NX}"})
    assert r.status_code == 303
    assert "已分配 2 家企业，0 家无可用服务商。" in city.get(home).text
    with Session(sqlite_engine) as s:
        ent = dict(s.execute(select(Enterprise.uscc, Enterprise.id)).all())
        rows = {a.enterprise_id: a for a in s.scalars(select(ProgrammeAssignment)).all()}
        wx, nx = rows[ent[USCC_WX]], rows[ent[USCC_NX]]
        assert wx.due_on == date(2026, 6, 21) and wx.assigned_on == TODAY  # 20 days
        wx_id, nx_id = wx.id, nx.id

    # deadline: not before the assignment day; then set
    r = _post(city, home, f"/programmes/assignments/{wx_id}/due", {"due_on": "2026-05-31"})
    assert r.status_code == 400 and 'id="error-due_on"' in r.text
    r = _post(city, home, f"/programmes/assignments/{wx_id}/due", {"due_on": "2026-06-10"})
    assert r.status_code == 303 and "报告期限已改为 2026-06-10。" in city.get(home).text
    # a report received: not after today; then recorded → done
    r = _post(
        city, home, f"/programmes/assignments/{nx_id}/received", {"received_on": "2026-06-02"}
    )
    assert r.status_code == 400 and 'id="error-received_on"' in r.text
    r = _post(
        city, home, f"/programmes/assignments/{nx_id}/received", {"received_on": "2026-06-01"}
    )
    assert r.status_code == 303
    page = city.get(home).text
    assert "已登记于 2026-06-01 收到诊断报告。" in page
    row = re.search(rf'<tr id="assignment-{nx_id}">.*?</tr>', page, re.S).group(0)
    assert "已完成 2026-06-01" in row
    for action in (
        "programmes.create",
        "programmes.provider",
        "programmes.assign",
        "programmes.due",
        "programmes.received",
    ):
        assert _audits(sqlite_engine, action), action

    # CSRF: a post without the token is refused
    r = city.post(f"/programmes/assignments/{wx_id}/due", data={"due_on": "2026-06-12"})
    assert r.status_code == 403
    # a county officer may read but not act
    county = _client(app, "county_wx")
    assert 'id="programme-new"' not in county.get("/programmes").text
    r = _post(county, "/programmes", "/programmes/new", {"name": "x"})
    assert r.status_code == 403

    # the provider desk: A sees WX only, B sees NX only (scoped by the provider's USCC)
    a = _client(app, "prov_a")
    # the market's provider desk links to it (through the contract)
    assert 'id="market-programme-desk"' in a.get("/market/desk").text
    desk_a = a.get("/programmes/desk?lang=zh")
    assert desk_a.status_code == 200
    assert "湖州甲机械有限公司" in desk_a.text and "湖州乙纺织有限公司" not in desk_a.text
    assert f'id="desk-{wx_id}"' in desk_a.text and f'id="desk-{nx_id}"' not in desk_a.text
    assert "2026-06-10" in desk_a.text and "剩余 9 天" in desk_a.text
    b = _client(app, "prov_b")
    desk_b = b.get("/programmes/desk?lang=en").text
    assert f'id="desk-{nx_id}"' in desk_b and f'id="desk-{wx_id}"' not in desk_b
    assert "湖州甲机械有限公司" not in desk_b
    # A cannot mark B's assignment delivered: not found, nothing written
    r = _post(a, "/programmes/desk", f"/programmes/desk/{nx_id}/delivered", {})
    assert r.status_code == 404
    r = _post(a, "/programmes/desk", f"/programmes/desk/{wx_id}/delivered", {})
    assert r.status_code == 303
    page = a.get("/programmes/desk").text
    assert "已标记诊断报告交付。" in page
    r = _post(a, "/programmes/desk", f"/programmes/desk/{wx_id}/delivered", {})
    assert r.status_code == 409 and "已于 2026-06-01 标记交付" in r.text
    with Session(sqlite_engine) as s:
        got = {
            x.id: (x.delivered_on, x.delivered_by) for x in s.scalars(select(ProgrammeAssignment))
        }
    assert got == {wx_id: (TODAY, "prov_a"), nx_id: (None, None)}
    assert [x.object_id for x in _audits(sqlite_engine, "programmes.delivered")] == [str(wx_id)]
    assert {x.actor for x in _audits(sqlite_engine, "programmes.desk")} == {"prov_a", "prov_b"}
    # the officer sees the delivery; officers and enterprises have no desk
    row = re.search(rf'<tr id="assignment-{wx_id}">.*?</tr>', city.get(home).text, re.S).group(0)
    assert "2026-06-01" in row
    assert city.get("/programmes/desk").status_code == 403
    assert _client(app, "ent_wx").get("/programmes/desk").status_code == 403
