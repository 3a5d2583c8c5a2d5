"""The participants' own programme pages (issue 19 points 6 and 7): the enterprise's loans page
(its own 智能制造贷 loans only, the interest subsidy the policy service computed and paid on them
read from its stored results and ledger — never recomputed — with the trace, the banks holding
its consent; reads audited) and the 智造荟 pages of enterprises and providers (register and cancel
within capacity and before the registration closes, their matches, the provider's outcome with
the officers' rules; audited, CSRF, confirmations)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.domains.carbon.models import BankConsent
from industry_brain.domains.policy import ledger
from industry_brain.domains.policy import service as policy_service
from industry_brain.domains.policy.models import PolicyResult
from industry_brain.domains.programmes import events, loans
from industry_brain.domains.programmes.models import (
    ProgrammeEvent,
    ProgrammeMatch,
    ProgrammeRegistration,
)
from industry_brain.store.models import AuditLog, Enterprise, Project, User
from industry_brain.store.scope import Scope
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.e2e.test_usability_crawl import Names, problems_of, visible_text
from tests.test_programmes_actions import PA, PB, _providers
from tests.web_fixtures import _HASH, USCC_NX, USCC_WX, csrf_of, login, seed

TODAY = date(2026, 6, 1)


def _client(app, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app, base_url="https://testserver")
    login(c, username)
    return c


def _post(c: TestClient, page: str, url: str, data: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    token = csrf_of(c.get(page).text)
    return c.post(url, data={"csrf_token": token, **(data or {})}, follow_redirects=False)


def _audits(engine: Engine, action: str) -> list[AuditLog]:
    with Session(engine) as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action)))


def _consent(s: Session, ent: int, bank: int, granted_by: int, expires: date) -> None:
    s.add(
        BankConsent(
            enterprise_id=ent,
            bank_user_id=bank,
            scopes=["grade"],
            granted_on=date(2024, 1, 1),
            expires_on=expires,
            granted_by=granted_by,
        )
    )


# -- the enterprise's loans ---------------------------------------------------------------------
def test_enterprise_loans_with_subsidy_trace_and_consents(engine: Engine, tmp_path: Path) -> None:
    ids = seed(engine).ids
    with Session(engine) as s:
        wx = s.scalar(select(Enterprise).where(Enterprise.uscc == USCC_WX))
        nx = s.scalar(select(Enterprise).where(Enterprise.uscc == USCC_NX))
        s.add(
            User(
                username="bank2",
                display_name="b2",
                role="bank",
                organisation="南浔农商银行",
                password_hash=_HASH,
            )
        )
        s.add(
            Project(
                code="ZG-2024-001",
                name="甲机械数字化车间改造",
                enterprise_id=wx.id,
                investor_uscc=USCC_WX,
                county_code="330502",
                project_type="tech_upgrade",
                planned_investment=1500.0,
                stage="signed",
            )
        )
        s.flush()
        bank2 = s.scalar(select(User.id).where(User.username == "bank2"))
        _consent(s, wx.id, ids["bank"], ids["ent_wx"], date(2026, 12, 31))
        _consent(s, wx.id, bank2, ids["ent_wx"], date(2026, 3, 31))  # expired on TODAY
        _consent(s, nx.id, ids["bank"], ids["ent_nx"], date(2026, 12, 31))
        s.commit()
        bank = Scope(user_id=ids["bank"], username="bank", role="bank")
        # two loans through the bank's own path (consent checked): 甲's with its project, 乙's
        mine = loans.register(
            s,
            bank,
            USCC_WX,
            "ZN-2024-01",
            1000.0,
            0.05,
            date(2024, 1, 1),
            date(2026, 12, 31),
            "znzz",
            "数字化车间设备购置",
            "ZG-2024-001",
            date(2024, 1, 1),
        )
        loans.register(
            s,
            bank,
            USCC_NX,
            "ZN-2024-02",
            300.0,
            0.04,
            date(2024, 3, 1),
            date(2025, 2, 28),
            "zgsz",
            "纺织 MES",
            None,
            date(2024, 3, 1),
        )
        s.commit()
        mine_id, policy_loan = mine.id, mine.policy_loan_id

    # the policy service's own batch over the store (data year 2024) computes the 贴息:
    # 规上 甲 (2024), purpose zgsz: 1,000 × min(2 %, 5 %) × 366 days of 2024 ÷ 365 = 20.0548 万元;
    # 乙 is not 规上 in 2024 → no result
    run_id, _ev = policy_service.run(engine, year=2024, root=tmp_path, actor="test")
    with Session(engine) as s:
        results = s.scalars(
            select(PolicyResult).where(
                PolicyResult.run_id == run_id, PolicyResult.policy == "zgsz_loan_interest"
            )
        ).all()
        assert [(r.entity, r.status) for r in results] == [(f"loan:{policy_loan}", "eligible")]
        result_id = results[0].id
        assert abs(results[0].amount - 1000 * 0.02 * 366 / 365) < 1e-4
        # 政策直兑: four eyes, then the ledger pays it
        approval = ledger.submit(s, run_id, "zgsz_loan_interest", "city")
        ledger.approve(s, approval.id, "admin")
        s.commit()

    app = create_app(Settings(today=TODAY), engine)
    ent = _client(app, "ent_wx")
    portal = ent.get("/portal").text
    assert 'href="/programmes/loans/mine"' in portal  # in the enterprise's navigation
    r = ent.get("/programmes/loans/mine")
    assert r.status_code == 200
    text = r.text
    row = re.search(r'<tr id="own-loan-\d+" data-reference="ZN-2024-01">.*?</tr>', text, re.S)
    assert row, text
    cells = row.group(0)
    for shown in (
        "湖州银行",
        "ZN-2024-01",
        "智能制造贷",
        "数字化车间设备购置",
        "1,000.00",
        "5.00%",
        "2024-01-01",
        "2026-12-31",
        "存续中",
        "甲机械数字化车间改造",
        "智改数转贷款贴息",
        "符合贴息条件",
        "测算 20.05 万元，核定 20.05 万元",
        "已兑现 20.05 万元",
    ):
        assert shown in cells, shown
    assert 'href="/projects/ZG-2024-001"' in cells
    assert f'href="/programmes/loans/mine/{mine_id}/subsidy/{result_id}"' in cells
    assert "ZN-2024-02" not in text and "纺织 MES" not in text  # 乙's loan is not 甲's
    # the banks holding the consent today (南浔农商银行's expired on 31 March), the consent page
    banks = re.search(r'id="table-consenting-banks".*?</table>', text, re.S).group(0)
    assert "湖州银行" in banks and "南浔农商银行" not in banks and "2026-12-31" in banks
    assert 'href="/portal#consents"' in text
    assert len(_audits(engine, "programmes.own_loans_read")) == 1

    # the trace as the policy service stored it
    trace = ent.get(f"/programmes/loans/mine/{mine_id}/subsidy/{result_id}")
    assert trace.status_code == 200
    assert "智改数转贷款贴息" in trace.text and "规上工业企业" in trace.text
    assert "✓" in trace.text and "✗" not in trace.text
    assert "公式结果 20.0548 万元" in trace.text
    assert [a.detail["result_id"] for a in _audits(engine, "programmes.subsidy_read")] == [
        result_id
    ]
    # the web crawl's language checks on the loans and trace pages, both languages
    names = Names.of(engine)
    for lang in ("zh", "en"):
        ent.get(f"/lang/{lang}")
        for url in (
            "/programmes/loans/mine",
            f"/programmes/loans/mine/{mine_id}/subsidy/{result_id}",
        ):
            text = visible_text(ent.get(url).text)
            assert not problems_of(text, lang, names, {"ent_wx"}), (url, lang)
    # English
    ent.get("/lang/en")
    en = ent.get("/programmes/loans/mine").text
    assert "qualifies for the subsidy" in en and "Smart-manufacturing loan" not in en
    assert "computed 20.05 万元, granted 20.05 万元" in en and "Paid 20.05 万元" in en

    # another firm: its own (no subsidy) loan only; 甲's trace is not found for it
    nx_client = _client(app, "ent_nx")
    other = nx_client.get("/programmes/loans/mine").text
    assert "ZN-2024-02" in other and "ZN-2024-01" not in other
    # 乙 is not 规上 in 2024: no 贴息; the 碳效贷 discount cannot tell without a carbon grade
    assert "智改数转贷款贴息" not in other and "碳效贷利率优惠 · 数据不足，无法判断" in other
    assert nx_client.get(f"/programmes/loans/mine/{mine_id}/subsidy/{result_id}").status_code == 404
    # no other role has the page
    for who in ("city", "bank", "county_wx"):
        assert _client(app, who).get("/programmes/loans/mine").status_code == 403


# -- 智造荟 for enterprises and providers ----------------------------------------------------------
def test_participants_register_cancel_and_record_outcomes(engine: Engine) -> None:
    seed(engine)
    _providers(engine)  # prov_a → 甲诊断服务公司 (PA), prov_b → 乙诊断服务公司 (PB)
    with Session(engine) as s:
        s.add(User(username="prov_x", display_name="x", role="provider", password_hash=_HASH))
        e1 = events.create(
            s, date(2026, 6, 20), "吴兴纺织智造荟", None, "330502", "city", "吴兴科创园", 2
        )
        e2 = events.create(s, date(2026, 6, 25), "全市数字化转型对接会", None, None, "city")
        shut = events.create(s, date(2026, 6, 1), "今日活动", None, None, "city", "会展中心", 50)
        nx = events.create(s, date(2026, 6, 22), "南浔专场", None, "330503", "city")
        past = events.create(s, date(2026, 5, 10), "五月智造荟", None, None, "city", "市民中心", 30)
        events.register(s, past.id, "enterprise", USCC_WX)
        events.register(s, past.id, "provider", PA, "甲诊断服务公司")
        events.set_outcome(s, events.match(s, past.id, USCC_WX, PA, "MES 选型").id, "contacted")
        s.commit()
        ids = {
            k: v.id for k, v in (("e1", e1), ("e2", e2), ("shut", shut), ("nx", nx), ("past", past))
        }
    app = create_app(Settings(today=TODAY), engine)
    page = "/programmes/events/mine"
    ent = _client(app, "ent_wx")
    assert f'href="{page}"' in ent.get("/portal").text  # in the enterprise's navigation
    text = ent.get(page).text
    assert "吴兴纺织智造荟" in text and "全市数字化转型对接会" in text and "南浔专场" not in text
    up = re.search(r'id="table-my-events-upcoming".*?</table>\s*<p', text, re.S).group(0)
    gone = re.search(r'id="table-my-events-past".*?</section>', text, re.S).group(0)
    assert "五月智造荟" in gone and "五月智造荟" not in up
    assert "剩 2 / 2" in up and "报名截止 2026-06-19" in up and "报名已于 2026-05-31 截止" in up
    # the past event's match with its provider and outcome
    assert "甲诊断服务公司" in gone and "MES 选型" in gone and "已联系" in gone

    reg = lambda key: f"/programmes/events/mine/{ids[key]}/register"  # noqa: E731
    cancel = lambda key: f"/programmes/events/mine/{ids[key]}/cancel"  # noqa: E731
    r = _post(ent, page, reg("e1"))
    assert r.status_code == 303 and r.headers["location"] == page
    text = ent.get(page).text
    assert "已报名“吴兴纺织智造荟”。" in text and "剩 1 / 2" in text
    assert f'action="{cancel("e1")}"' in text
    r = _post(ent, page, reg("e1"))
    assert r.status_code == 400 and "已报名" in r.text
    r = _post(ent, page, reg("shut"))  # closed the day before the event
    assert r.status_code == 400 and "报名已于 2026-05-31 截止" in r.text
    assert f'id="error-event-{ids["shut"]}"' in r.text
    assert _post(ent, page, reg("nx")).status_code == 404  # another county's event
    # no CSRF token: refused
    assert ent.post(reg("e2"), follow_redirects=False).status_code == 403

    prov_b, prov_a = _client(app, "prov_b"), _client(app, "prov_a")
    assert "南浔专场" in prov_b.get(page).text  # a provider sees every event
    assert _post(prov_b, page, reg("e1")).status_code == 303  # 2 of 2
    r = _post(prov_a, page, reg("e1"))
    assert r.status_code == 400 and "名额已满（2 家）" in r.text
    assert "名额已满" in prov_a.get(page).text
    with Session(engine) as s:
        regs = s.scalars(
            select(ProgrammeRegistration).where(ProgrammeRegistration.event_id == ids["e1"])
        ).all()
        assert sorted((x.side, x.uscc) for x in regs) == [("enterprise", USCC_WX), ("provider", PB)]
        # the officer records a match at the event
        m = events.match(s, ids["e1"], USCC_WX, PB, "印染车间数字化")
        s.commit()
        match_id = m.id
    # a registration with a match cannot be cancelled; one without can, until the close
    r = _post(ent, page, cancel("e1"))
    assert r.status_code == 400 and "已有对接记录，不能取消报名" in r.text
    assert _post(ent, page, reg("e2")).status_code == 303
    r = _post(ent, page, cancel("e2"))
    assert r.status_code == 303
    assert "已取消报名“全市数字化转型对接会”。" in ent.get(page).text
    assert [(a.actor, a.detail["uscc"]) for a in _audits(engine, "programmes.unregister")] == [
        ("ent_wx", USCC_WX)
    ]
    joined = [(a.actor, a.object_id) for a in _audits(engine, "programmes.register")]
    assert ("ent_wx", str(ids["e1"])) in joined and ("prov_b", str(ids["e1"])) in joined

    # the provider records the outcome of its own match with the officers' rules
    text = prov_b.get(page).text
    assert "湖州甲机械有限公司" in text and "印染车间数字化" in text
    out = f"/programmes/events/mine/matches/{match_id}/outcome"
    r = _post(prov_b, page, out, {"outcome": "contracted", "amount": ""})
    assert r.status_code == 400 and "签约须填写合同金额" in r.text
    r = _post(prov_b, page, out, {"outcome": "contracted", "amount": "八十"})
    assert r.status_code == 400 and "不是数字" in r.text
    assert _post(prov_a, page, out, {"outcome": "dropped"}).status_code == 404  # not its match
    assert _post(ent, page, out, {"outcome": "dropped"}).status_code == 403  # enterprises read
    r = _post(prov_b, page, out, {"outcome": "contracted", "amount": "85.5"})
    assert r.status_code == 303
    with Session(engine) as s:
        m = s.get(ProgrammeMatch, match_id)
        assert (m.outcome, m.amount_wan) == ("contracted", 85.5)
    assert ("prov_b", str(ids["e1"])) in [
        (a.actor, a.object_id) for a in _audits(engine, "programmes.outcome")
    ]
    mine = re.search(rf'<tr id="my-match-{match_id}">.*?</tr>', ent.get(page).text, re.S).group(0)
    assert "已签约" in mine and "85.50" in mine and "乙诊断服务公司" in mine

    # the web crawl's language checks (tests/e2e/test_usability_crawl.py; it crawls no provider)
    # on the participants' pages in both languages
    names = Names.of(engine)
    for who, c in (("ent_wx", ent), ("prov_b", prov_b)):
        for lang in ("zh", "en"):
            c.get(f"/lang/{lang}")
            html = c.get(page).text
            assert not problems_of(visible_text(html), lang, names, {who}), (who, lang)
    prov_b.get("/lang/zh")
    # English; officers have their own pages; a provider user without a registry entry
    prov_b.get("/lang/en")
    en = prov_b.get(page).text
    assert "Supply–demand events" in en and "contracted" in en and "Registration closes" in en
    assert _client(app, "city").get(page).status_code == 403
    unlinked = _client(app, "prov_x")
    assert 'id="my-events-unlinked"' in unlinked.get(page).text
    assert _post(unlinked, page, reg("e2")).status_code == 404
    with Session(engine) as s:
        assert s.get(ProgrammeEvent, ids["e2"]) is not None
