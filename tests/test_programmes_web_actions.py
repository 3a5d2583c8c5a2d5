"""The programmes' remaining web actions (issue 19 points 4, 6–8): 智造荟 events (create, edit,
registrations within capacity, matches, outcomes), the bank's 智能制造贷 loans (registered only
under the enterprise's consent, refused and audited otherwise; a bank corrects its own loans
only), the investment split (the sum rule, scope, an all-or-nothing upload), and the provider's
diagnosis report file (size and PDF checks, sanitised name, hash; downloads for the officer of
the scope, the enterprise itself and the provider — nobody else). Each action: CSRF, errors
beside their field, an audit record."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.core import uscc
from industry_brain.domains.carbon.models import BankConsent
from industry_brain.domains.programmes import diagnosis
from industry_brain.domains.programmes.loans import policy_loans
from industry_brain.domains.programmes.models import (
    ProgrammeAssignment,
    ProgrammeEvent,
    ProgrammeInvestment,
    ProgrammeLoan,
    ProgrammeMatch,
    ProgrammeRecognition,
    ProgrammeRegistration,
    ProgrammeReportFile,
)
from industry_brain.store.models import AuditLog, Enterprise, Project, User
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.test_programmes_actions import PA, PB, _providers
from tests.web_fixtures import _HASH, USCC_NX, USCC_WX, csrf_of, login, seed

TODAY = date(2026, 6, 1)
UNKNOWN = uscc.make("91330502MA2B0X009")


def _client(app, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app, base_url="https://testserver")
    login(c, username)
    return c


def _post(c: TestClient, page: str, url: str, data: dict[str, str], files=None):  # type: ignore[no-untyped-def]
    token = csrf_of(c.get(page).text)
    return c.post(url, data={"csrf_token": token, **data}, files=files, follow_redirects=False)


def _audits(engine: Engine, action: str) -> list[AuditLog]:
    with Session(engine) as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action)))


def _count(engine: Engine, model) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


# -- 智造荟 events ------------------------------------------------------------------------------
def test_event_actions(sqlite_engine: Engine) -> None:
    seed(sqlite_engine)
    _providers(sqlite_engine)  # market providers 甲 (PA) and 乙 (PB)
    app = create_app(Settings(today=TODAY), sqlite_engine)
    city = _client(app, "city")
    page = "/programmes/events"
    new = {"held_on": "2026-06-20", "theme": "纺织行业智造荟", "county_code": "330502"}
    r = _post(city, page, "/programmes/events/new", {**new, "held_on": "6月20日"})
    assert r.status_code == 400 and 'id="error-held_on"' in r.text and "纺织行业智造荟" in r.text
    r = _post(city, page, "/programmes/events/new", {**new, "capacity": "0"})
    assert r.status_code == 400 and 'id="error-capacity"' in r.text
    r = _post(city, page, "/programmes/events/new", {**new, "theme": " "})
    assert r.status_code == 400 and 'id="error-theme"' in r.text
    assert _count(sqlite_engine, ProgrammeEvent) == 0
    r = _post(city, page, "/programmes/events/new", {**new, "place": "吴兴科创园", "capacity": "2"})
    assert r.status_code == 303
    with Session(sqlite_engine) as s:
        ev = s.scalars(select(ProgrammeEvent)).one()
        eid = ev.id
        assert (ev.place, ev.capacity, ev.county_code, ev.held_on) == (
            "吴兴科创园",
            2,
            "330502",
            date(2026, 6, 20),
        )
    home = f"/programmes/events?id={eid}"
    assert r.headers["location"] == home
    text = city.get(home).text
    assert "已新建活动“纺织行业智造荟”。" in text and "吴兴区" in text

    # search-as-you-type: the scoped firms by name or USCC prefix
    opts = city.get("/programmes/events/firms?uscc=甲机械").text
    assert USCC_WX in opts and USCC_NX not in opts
    assert USCC_NX in city.get(f"/programmes/events/firms?uscc={USCC_NX[:8]}").text
    assert city.get("/programmes/events/firms?uscc=甲").text.strip() == ""  # 2 characters at least

    # registrations: an unknown firm, a provider outside the registry, then within capacity 2
    reg = f"/programmes/events/{eid}/register"
    r = _post(city, home, reg, {"side": "enterprise", "uscc": UNKNOWN})
    assert r.status_code == 400 and 'id="error-uscc"' in r.text
    r = _post(city, home, reg, {"side": "provider", "provider_uscc": UNKNOWN})
    assert r.status_code == 400 and 'id="error-provider_uscc"' in r.text
    assert _post(city, home, reg, {"side": "enterprise", "uscc": USCC_WX}).status_code == 303
    r = _post(city, home, reg, {"side": "enterprise", "uscc": USCC_WX})
    assert r.status_code == 400 and "已报名" in r.text
    assert _post(city, home, reg, {"side": "provider", "provider_uscc": PA}).status_code == 303
    r = _post(city, home, reg, {"side": "enterprise", "uscc": USCC_NX})
    assert r.status_code == 400 and "名额已满（2 家）" in r.text
    # edit: the capacity cannot go below the 2 registrations; then 3, and 南浔's firm fits
    edit = f"/programmes/events/{eid}/save"
    fields = {**new, "place": "吴兴科创园", "theme": "纺织行业智造荟（二期）"}
    r = _post(city, home, edit, {**fields, "capacity": "1"})
    assert r.status_code == 400 and 'id="error-capacity"' in r.text and "已有 2 家报名" in r.text
    assert _post(city, home, edit, {**fields, "capacity": "3"}).status_code == 303
    assert "已保存活动“纺织行业智造荟（二期）”。" in city.get(home).text
    assert _post(city, home, reg, {"side": "enterprise", "uscc": USCC_NX}).status_code == 303
    assert _count(sqlite_engine, ProgrammeRegistration) == 3

    # a match: the topic is required; then recorded; its outcome needs an amount when contracted
    match = f"/programmes/events/{eid}/match"
    pair = {"enterprise_uscc": USCC_WX, "provider_uscc": PA}
    r = _post(city, home, match, {**pair, "topic": ""})
    assert r.status_code == 400 and 'id="error-topic"' in r.text
    r = _post(city, home, match, {**pair, "enterprise_uscc": PA, "topic": "MES"})
    assert r.status_code == 400 and "未作为企业报名" in r.text
    assert _post(city, home, match, {**pair, "topic": "MES 上线"}).status_code == 303
    with Session(sqlite_engine) as s:
        mid = s.scalars(select(ProgrammeMatch.id)).one()
    out = f"/programmes/events/matches/{mid}/outcome"
    r = _post(city, home, out, {"outcome": "contracted", "amount": ""})
    assert r.status_code == 400 and 'id="error-amount"' in r.text
    r = _post(city, home, out, {"outcome": "contracted", "amount": "85.5"})
    assert r.status_code == 303 and "已更新对接结果。" in city.get(home).text
    r = _post(city, home, out, {"outcome": "delivered", "amount": ""})
    assert r.status_code == 303
    with Session(sqlite_engine) as s:
        m = s.get(ProgrammeMatch, mid)
        assert (m.outcome, m.amount_wan) == ("delivered", 85.5)  # the contract's amount kept
    en = city.get(f"{home}&lang=en").text
    assert "delivered" in en and "programmes." not in re.sub(r'(href|action|id)="[^"]*"', "", en)
    for action in (
        "programmes.event",
        "programmes.event_update",
        "programmes.register",
        "programmes.match",
        "programmes.outcome",
    ):
        assert _audits(sqlite_engine, action), action
    assert len(_audits(sqlite_engine, "programmes.outcome")) == 2

    # refusals: no CSRF token; a county officer reads but may not act
    assert city.post("/programmes/events/new", data=new).status_code == 403
    county = _client(app, "county_wx")
    text = county.get(home).text
    assert "纺织行业智造荟" in text and 'id="event-new"' not in text
    assert _post(county, home, "/programmes/events/new", new).status_code == 403
    assert _post(county, home, reg, {"uscc": USCC_WX}).status_code == 403
    assert county.get("/programmes/events/firms?uscc=湖州").status_code == 403
    assert _count(sqlite_engine, ProgrammeEvent) == 1


# -- 智能制造贷 ----------------------------------------------------------------------------------
def test_bank_loan_actions_under_consent(sqlite_engine: Engine) -> None:
    ids = seed(sqlite_engine).ids
    with Session(sqlite_engine) as s:
        s.add(
            User(
                username="bank2",
                display_name="bank2",
                role="bank",
                organisation="南浔农商银行",
                password_hash=_HASH,
            )
        )
        wx = s.scalars(select(Enterprise).where(Enterprise.uscc == USCC_WX)).one()
        s.add(
            Project(
                code="T1",
                name="测试技改项目",
                enterprise_id=wx.id,
                investor_uscc=USCC_WX,
                county_code="330502",
                project_type="tech_upgrade",
                planned_investment=1000.0,
                stage="signed",
            )
        )
        consent = BankConsent(
            enterprise_id=wx.id,
            bank_user_id=ids["bank"],
            scopes=["grade"],
            granted_on=date(2026, 1, 1),
            expires_on=date(2026, 12, 31),
            granted_by=ids["ent_wx"],
        )
        s.add(consent)
        s.commit()
    app = create_app(Settings(today=TODAY), sqlite_engine)
    bank = _client(app, "bank")
    page = "/programmes/bank"
    # the bank's page links to it; the form offers the consenting firm only
    assert 'id="programmes-bank-link"' in bank.get("/bank").text
    text = bank.get(page).text
    assert f'<option value="{USCC_WX}">' in text and USCC_NX not in text
    loan = {
        "uscc": USCC_WX,
        "reference": "ZN-1",
        "amount": "500",
        "rate": "0.04",
        "start_on": "2026-03-01",
        "end_on": "2027-03-01",
        "product": "znzz",
        "purpose": "设备联网",
        "project": "T1",
    }
    for bad, field in (
        ({"rate": "4.2"}, "rate"),
        ({"amount": "0"}, "amount"),
        ({"end_on": "2026-02-01"}, "end_on"),
        ({"reference": ""}, "reference"),
        ({"project": "NOPE"}, "project"),
        ({"start_on": "2026/03/01"}, "start_on"),
    ):
        r = _post(bank, page, "/programmes/bank/loans", {**loan, **bad})
        assert r.status_code == 400 and f'id="error-{field}"' in r.text, (bad, r.status_code)
    # no consent (南浔) or an unknown USCC: refused alike, beside the field, audited, nothing kept
    for code in (USCC_NX, UNKNOWN):
        r = _post(bank, page, "/programmes/bank/loans", {**loan, "uscc": code})
        assert r.status_code == 403 and 'id="error-uscc"' in r.text and "未授权本银行" in r.text
    refused = _audits(sqlite_engine, "programmes.loan_refused")
    assert sorted(a.object_id for a in refused) == sorted([USCC_NX, UNKNOWN])
    assert _count(sqlite_engine, ProgrammeLoan) == 0
    r = _post(bank, page, "/programmes/bank/loans", loan)
    assert r.status_code == 303 and "已登记贷款 ZN-1。" in bank.get(page).text
    with Session(sqlite_engine) as s:
        lid = s.scalars(select(ProgrammeLoan.id)).one()
    # correct its own loan: 500 → 600 万元, in the policy register too
    fix = {k: v for k, v in loan.items() if k not in ("uscc", "reference")}
    r = _post(bank, page, f"/programmes/bank/loans/{lid}/save", {**fix, "rate": "1.5"})
    assert r.status_code == 400 and 'id="error-rate"' in r.text
    r = _post(bank, page, f"/programmes/bank/loans/{lid}/save", {**fix, "amount": "600"})
    assert r.status_code == 303 and "已更正贷款。" in bank.get(page).text
    upd = _audits(sqlite_engine, "programmes.loan_update")
    assert len(upd) == 1 and upd[0].detail["before"]["amount_wan"] == 500.0
    with Session(sqlite_engine) as s:
        assert s.scalar(select(policy_loans.c.amount)) == 600.0
    # the officer's statistics by bank and county follow
    city = _client(app, "city")
    stats = city.get("/programmes/loans?lang=zh").text
    row = re.search(r"<tr><td>湖州银行</td>.*?</tr>", stats).group(0)
    assert row == "<tr><td>湖州银行</td><td>1</td><td>1</td><td>600.00</td></tr>"
    # another bank neither sees nor corrects it
    bank2 = _client(app, "bank2")
    assert "ZN-1" not in bank2.get(page).text
    r = _post(bank2, page, f"/programmes/bank/loans/{lid}/save", {**fix, "amount": "1"})
    assert r.status_code == 404
    # officers and enterprises have no bank page
    assert city.get(page).status_code == 403
    assert _client(app, "ent_wx").get(page).status_code == 403
    # consent revoked: the loan disappears and a correction is refused (audited)
    with Session(sqlite_engine) as s:
        s.scalars(select(BankConsent)).one().revoked_at = datetime(2026, 5, 1, tzinfo=UTC)
        s.commit()
    assert "ZN-1" not in bank.get(page).text
    r = _post(bank, page, f"/programmes/bank/loans/{lid}/save", {**fix, "amount": "700"})
    assert r.status_code == 403
    assert len(_audits(sqlite_engine, "programmes.loan_refused")) == 3
    assert bank.post("/programmes/bank/loans", data=loan).status_code == 403  # no CSRF


# -- 重硬轻软 ------------------------------------------------------------------------------------
def test_investment_split_actions(sqlite_engine: Engine) -> None:
    seed(sqlite_engine)
    with Session(sqlite_engine) as s:
        ents = dict(s.execute(select(Enterprise.uscc, Enterprise.id)).all())
        for code, firm, county, planned in (
            ("T1", USCC_WX, "330502", 1000.0),
            ("T2", USCC_NX, "330503", 400.0),
        ):
            s.add(
                Project(
                    code=code,
                    name=f"项目{code}",
                    enterprise_id=ents[firm],
                    investor_uscc=firm,
                    county_code=county,
                    project_type="tech_upgrade",
                    planned_investment=planned,
                    stage="signed",
                    planned_signed=date(2025, 3, 1),
                )
            )
        s.commit()
    app = create_app(Settings(today=TODAY), sqlite_engine)
    city = _client(app, "city")
    page, url = "/programmes/investment", "/programmes/investment/split"
    split = {"project": "T1", "hardware": "800", "software": "150", "services": "50"}
    # 800 + 150 + 60 = 1,010 > 1,000 (+0.5 rounding): refused beside the services field
    r = _post(city, page, url, {**split, "services": "60"})
    assert r.status_code == 400 and 'id="error-services"' in r.text and "1010" in r.text
    r = _post(city, page, url, {**split, "hardware": "-1"})
    assert r.status_code == 400 and 'id="error-hardware"' in r.text
    r = _post(city, page, url, {**split, "software": "abc"})
    assert r.status_code == 400 and 'id="error-software"' in r.text
    r = _post(city, page, url, {**split, "project": "NOPE"})
    assert r.status_code == 400 and 'id="error-project"' in r.text
    assert _count(sqlite_engine, ProgrammeInvestment) == 0
    # 800 + 150 + 50.4 = 1,000.4: within the rounding margin
    assert _post(city, page, url, {**split, "services": "50.4"}).status_code == 303
    assert "已保存项目 T1 的投资拆分。" in city.get(page).text
    # a county officer: its county's project only (吴兴's T1 is not found for 南浔)
    nx = _client(app, "county_nx")
    r = _post(nx, page, url, {**split, "project": "T1"})
    assert r.status_code == 400 and 'id="error-project"' in r.text
    # the enterprise: its own projects on its page (linked from the portal), not another's
    ent = _client(app, "ent_wx")
    assert 'id="programmes-investment-mine-link"' in ent.get("/portal").text
    mine = ent.get("/programmes/investment/mine").text
    assert 'id="project-T1"' in mine and "T2" not in mine and 'value="800' in mine
    r = _post(ent, "/programmes/investment/mine", url, {**split, "project": "T2"})
    assert r.status_code == 400 and "没有项目 T2" in r.text
    r = _post(ent, "/programmes/investment/mine", url, {**split, "hardware": "700"})
    assert r.status_code == 303 and r.headers["location"] == "/programmes/investment/mine"
    assert ent.get(page).status_code == 403  # the officers' page stays theirs
    assert [a.actor for a in _audits(sqlite_engine, "programmes.investment")] == ["city", "ent_wx"]
    # the upload: one bad row → nothing changes, every problem with sheet, row and column
    bad = "项目代码,硬件投资,软件投资,服务投资\nT2,300,60,40\nT1,900,200,0\nT1,x,0,0\n"
    r = _post(
        city,
        page,
        "/programmes/investment/import",
        {},
        files={"file": ("拆分.csv", bad.encode(), "text/csv")},
    )
    assert r.status_code == 400 and "清单有 2 处问题，未导入任何数据" in r.text
    assert "第 3 行“三项合计”列" in r.text and "第 4 行“硬件投资”列" in r.text
    with Session(sqlite_engine) as s:
        rows = {i.project_id: i.hardware_wan for i in s.scalars(select(ProgrammeInvestment))}
    assert list(rows.values()) == [700.0]  # T2 not loaded, T1 unchanged
    r = _post(
        city,
        page,
        "/programmes/investment/import",
        {},
        files={"file": ("x.pdf", b"%PDF-1.4", "application/pdf")},
    )
    assert r.status_code == 400 and 'id="error-file"' in r.text
    good = "项目代码,硬件投资,软件投资,服务投资\nT2,300,60,40\n"
    r = _post(
        city,
        page,
        "/programmes/investment/import",
        {},
        files={"file": ("拆分.csv", good.encode(), "text/csv")},
    )
    assert r.status_code == 303 and "已导入 1 个项目的投资拆分。" in city.get(page).text
    assert _count(sqlite_engine, ProgrammeInvestment) == 2


# -- diagnosis report files -----------------------------------------------------------------------
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_report_file_upload_and_downloads(sqlite_engine: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    seed(sqlite_engine)
    _providers(sqlite_engine)
    with Session(sqlite_engine) as s:
        p = diagnosis.create(
            s, "诊断", "330500", 2026, 100, date(2026, 1, 1), date(2026, 12, 31), {"330502": 1}
        )
        diagnosis.add_provider(s, p.id, PA, "甲诊断服务公司", 1)
        diagnosis.add_provider(s, p.id, PB, "乙诊断服务公司", 1)
        diagnosis.assign(s, p.id, [USCC_WX, USCC_NX], date(2026, 5, 1))
        s.commit()
        ents = dict(s.execute(select(Enterprise.uscc, Enterprise.id)).all())
        a = {x.enterprise_id: x.id for x in s.scalars(select(ProgrammeAssignment))}
        wx_a, nx_a = a[ents[USCC_WX]], a[ents[USCC_NX]]
    # the limit is the parameter's 20 MB
    assert diagnosis.report_limit_bytes("330500", TODAY) == 20 * 1024 * 1024
    app = create_app(Settings(today=TODAY), sqlite_engine)
    prov_a, prov_b = _client(app, "prov_a"), _client(app, "prov_b")
    desk = "/programmes/desk"
    up = f"/programmes/desk/{wx_a}/report"
    assert f'id="report-upload-{wx_a}"' in prov_a.get(desk).text

    def send(c: TestClient, url: str, name: str, body: bytes):  # type: ignore[no-untyped-def]
        return _post(c, desk, url, {}, files={"file": (name, body, "application/pdf")})

    r = send(prov_a, up, "报告.pdf", b"PK\x03\x04 not a pdf")
    assert r.status_code == 400 and 'data-code="programmes.report_not_pdf"' in r.text
    monkeypatch.setattr(diagnosis, "report_limit_bytes", lambda region, on: 1024)
    r = send(prov_a, up, "报告.pdf", PDF + b"0" * 1024)
    assert r.status_code == 400 and 'data-code="programmes.report_too_big"' in r.text
    monkeypatch.undo()
    assert send(prov_b, up, "报告.pdf", PDF).status_code == 404  # another provider's assignment
    assert _count(sqlite_engine, ProgrammeReportFile) == 0
    assert prov_a.post(up, files={"file": ("a.pdf", PDF, "application/pdf")}).status_code == 403
    r = send(prov_a, up, "../../etc/诊断 报告<1>.PDF", PDF)
    assert r.status_code == 303
    digest = hashlib.sha256(PDF).hexdigest()
    assert f"SHA-256 {digest[:12]}" in prov_a.get(desk).text
    with Session(sqlite_engine) as s:
        f = s.scalars(select(ProgrammeReportFile)).one()
        assert (f.assignment_id, f.file_name, f.sha256, f.size_bytes, f.content) == (
            wx_a,
            "诊断 报告_1_.pdf",
            digest,
            len(PDF),
            PDF,
        )
        assert s.get(ProgrammeAssignment, wx_a).delivered_on == TODAY  # marked delivered
    (rec,) = _audits(sqlite_engine, "programmes.report_file")
    assert rec.detail["sha256"] == digest and rec.object_id == str(wx_a)

    # downloads: the officer of the scope, the enterprise itself, the provider; nobody else
    url = f"/programmes/assignments/{wx_a}/report.pdf"
    city = _client(app, "city")
    assert f'id="report-file-{wx_a}"' in city.get("/programmes").text
    for who in ("city", "county_wx", "ent_wx", "prov_a"):
        r = _client(app, who).get(url) if who != "city" else city.get(url)
        assert r.status_code == 200, who
        assert r.content == PDF and r.headers["content-type"] == "application/pdf"
        assert r.headers["content-disposition"].startswith("attachment;")
        assert "filename*=UTF-8''" in r.headers["content-disposition"]
    assert f'id="portal-report-{wx_a}"' in _client(app, "ent_wx").get("/portal").text
    for who in ("county_nx", "ent_nx", "prov_b", "bank"):
        assert _client(app, who).get(url).status_code in (403, 404), who
    # an assignment without a file: not found
    assert city.get(f"/programmes/assignments/{nx_a}/report.pdf").status_code == 404
    downloads = _audits(sqlite_engine, "programmes.report_download")
    assert sorted(d.actor for d in downloads) == ["city", "county_wx", "ent_wx", "prov_a"]


# -- visits and learning events at benchmark factories --------------------------------------
def test_benchmark_visit_action(sqlite_engine: Engine) -> None:
    seed(sqlite_engine)
    with Session(sqlite_engine) as s:
        ents = dict(s.execute(select(Enterprise.uscc, Enterprise.id)).all())
        s.add(
            ProgrammeRecognition(
                enterprise_id=ents[USCC_WX],
                uscc=USCC_WX,
                kind="future_factory",
                level="provincial",
                year=2025,
                source_file="名单.xlsx",
                source_row=2,
                actor="t",
            )
        )
        s.commit()
    app = create_app(Settings(today=TODAY), sqlite_engine)
    city = _client(app, "city")
    page, url = "/programmes/benchmarks", "/programmes/benchmarks/visits"
    text = city.get(page).text
    assert f'<option value="{USCC_WX}">湖州甲机械有限公司</option>' in text
    visit = {"host": USCC_WX, "held_on": "2026-05-20", "title": "未来工厂观摩", "visitors": "40"}
    for bad, field in (
        ({"visitors": "-3"}, "visitors"),
        ({"title": ""}, "title"),
        ({"held_on": "昨天"}, "held_on"),
        ({"held_on": "2024-05-20"}, "host"),  # recognised in 2025: no benchmark in 2024
        ({"host": USCC_NX}, "host"),  # not a benchmark factory
    ):
        r = _post(city, page, url, {**visit, **bad})
        assert r.status_code == 400 and f'id="error-{field}"' in r.text, (bad, r.text[-500:])
    assert _count(sqlite_engine, ProgrammeEvent) == 0
    r = _post(city, page, url, {**visit, "kind": "learning"})
    assert r.status_code == 303 and "已登记活动“未来工厂观摩”。" in city.get(page).text
    with Session(sqlite_engine) as s:
        ev = s.scalars(select(ProgrammeEvent)).one()
        assert (ev.kind, ev.visitors, ev.host_enterprise_id) == ("learning", 40, ents[USCC_WX])
    assert len(_audits(sqlite_engine, "programmes.visit")) == 1
    county = _client(app, "county_wx")
    assert 'id="visit-new"' not in county.get(page).text
    assert _post(county, page, url, visit).status_code == 403
