"""The programmes pages through the app (SQLite, the web fixtures' store): officers read every
page in both languages with labels (no catalog keys), a county officer sees its county only, an
enterprise is refused, the export is an audited XLSX download, and the bank's page shows its
智能制造贷 loans only while the enterprise's consent is in force."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from io import BytesIO

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.domains.carbon.models import BankConsent
from industry_brain.domains.programmes import diagnosis, events, investment, loans
from industry_brain.store.models import AuditLog, Enterprise, Project, User
from industry_brain.store.scope import Scope, scope_for
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.web_fixtures import USCC_NX, USCC_WX, login, seed

TODAY = date(2026, 6, 1)
KEY = re.compile(r"\bprogrammes\.[a-z_.]+")


def _client(app, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app, base_url="https://testserver")
    login(c, username)
    return c


def test_pages_scopes_export_and_bank_consent(sqlite_engine: Engine) -> None:
    ids = seed(sqlite_engine).ids
    admin = Scope(user_id=None, username="admin", role="admin")
    with Session(sqlite_engine) as s:
        p = diagnosis.create(
            s,
            "测试诊断项目",
            "330500",
            2026,
            100,
            date(2026, 1, 1),
            date(2026, 12, 31),
            {"330502": 2, "330503": 1},
        )
        diagnosis.add_provider(s, p.id, "91330500MA2B3C4D1Y", "测试服务商", 5)
        diagnosis.assign(s, p.id, [USCC_WX, USCC_NX], date(2026, 2, 1))
        ev = events.create(s, date(2026, 4, 18), "测试对接会", None, "330502")
        events.register(s, ev.id, "enterprise", USCC_WX)
        s.add(
            Project(
                code="T1",
                name="测试技改项目",
                investor_uscc=USCC_WX,
                county_code="330502",
                project_type="tech_upgrade",
                planned_investment=1000.0,
                stage="signed",
                planned_signed=date(2025, 3, 1),
            )
        )
        s.flush()
        investment.set_split(s, "T1", 800, 150, 50)
        wx = s.scalars(select(Enterprise).where(Enterprise.uscc == USCC_WX)).one()
        s.add(
            BankConsent(
                enterprise_id=wx.id,
                bank_user_id=ids["bank"],
                scopes=["grade"],
                granted_on=date(2026, 1, 1),
                expires_on=date(2026, 12, 31),
                granted_by=ids["ent_wx"],
            )
        )
        s.commit()
        bank = scope_for(s.get(User, ids["bank"]))
        loans.register(
            s,
            bank,
            USCC_WX,
            "ZN-1",
            500,
            0.04,
            date(2026, 3, 1),
            date(2027, 3, 1),
            "znzz",
            "设备联网",
            "T1",
            TODAY,
        )
        s.commit()
        assert diagnosis.progress(s, admin, p.id, TODAY)["totals"]["assigned"] == 2
    app = create_app(Settings(today=TODAY), sqlite_engine)
    city = _client(app, "city")
    for path in (
        "/programmes",
        "/programmes/benchmarks",
        "/programmes/events",
        "/programmes/loans",
        "/programmes/investment",
    ):
        for lang in ("zh", "en"):
            r = city.get(f"{path}?lang={lang}")
            assert r.status_code == 200, (path, r.text[:500])
            assert not KEY.findall(r.text), (path, lang, KEY.findall(r.text))
    home = city.get("/programmes?lang=zh").text
    assert "测试诊断项目" in home and "黑榜" in home  # nothing done by 1 June
    loans_page = city.get("/programmes/loans?lang=zh").text
    assert "湖州银行" in loans_page and "500" in loans_page
    assert "智改数转投资结构" in city.get("/cockpit").text
    # the export: an audited XLSX
    r = city.get(f"/programmes/{p.id}/export.xlsx")
    assert r.status_code == 200
    ws = load_workbook(BytesIO(r.content))["进度 progress"]
    assert ws["A1"].value.startswith("测试诊断项目")
    with Session(sqlite_engine) as s:
        assert (
            s.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "programmes.export"))
            == 1
        )
    # a recognition list uploaded by the city officer; a county officer may not import
    page = city.get("/programmes/benchmarks").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    body = (
        f"统一社会信用代码,类别,等级,年度\n{USCC_WX},未来工厂,省级,2025\nbad,智能工厂,省级,2025\n"
    )
    r = city.post(
        "/programmes/benchmarks/import",
        data={"csrf_token": token, "kind": ""},
        files={"file": ("../2025名单.csv", body.encode("utf-8"), "text/csv")},
    )
    assert r.status_code == 200 and "新增认定 1 条，已有 0 条，问题 1 行" in r.text
    assert "第 3 行" in r.text and "2025名单.csv" in r.text  # the lineage names the file
    county = _client(app, "county_wx")
    page = county.get("/programmes/benchmarks").text
    assert 'id="recognition-import"' not in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = county.post(
        "/programmes/benchmarks/import",
        data={"csrf_token": token},
        files={"file": ("x.csv", body.encode("utf-8"), "text/csv")},
    )
    assert r.status_code == 403
    # a county officer sees its county's row only; an enterprise is refused
    nx = _client(app, "county_nx").get("/programmes?lang=zh").text
    assert nx.count('<tr class="list-') == 1 and "南浔区" in nx
    assert _client(app, "ent_wx").get("/programmes").status_code == 403
    # the bank: its consented loan on its page; nothing once the consent is revoked
    bank_client = _client(app, "bank")
    assert "ZN-1" in bank_client.get("/bank").text
    with Session(sqlite_engine) as s:
        s.scalars(select(BankConsent)).one().revoked_at = datetime(2026, 5, 1, tzinfo=UTC)
        s.commit()
    assert "ZN-1" not in bank_client.get("/bank").text
