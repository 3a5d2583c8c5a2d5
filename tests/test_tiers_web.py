"""五企培育 web pages on the web fixtures' store (SQLite): the tiers page (funnel, candidates with
gaps, pool and plan), the plan page and PDF, the portal's gap line and declaration form with an
evidence upload, evidence served as an attachment within scope, the verification tasks (an
agent sees its firms only; a rejection needs a reason), the profile section, the list export."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.domains.tiers import plans, service
from industry_brain.domains.tiers.models import TiersDeclarationItem, TiersPlanAction
from industry_brain.store.models import AuditLog, Enterprise, Fact, ImportBatch
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.web_fixtures import USCC_NX, USCC_WX, login, seed

PDF = b"%PDF-1.4\n% evidence\n"


def fresh(client: TestClient) -> TestClient:
    """Another browser on the same application (one user per session)."""
    return TestClient(client.app, base_url="https://testserver")


@pytest.fixture
def client(sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """湖州甲 (330502): revenue 1000 → 1150 万元, R&D 57.5 (5 %), 50 staff; a tiers run of 2024;
    in the champion pool with a plan (R&D intensity 4 % → 6 % by 2024-12-31, an action due
    2024-06-30 not done)."""
    monkeypatch.setenv("IB_DATA_DIR", str(tmp_path / "data"))
    seed(sqlite_engine)
    with Session(sqlite_engine) as s:
        batch = s.scalars(select(ImportBatch)).first()
        wx = s.scalars(select(Enterprise).where(Enterprise.uscc == USCC_WX)).one()
        figures = ((2023, "revenue", 1000.0), (2024, "revenue", 1150.0),
                   (2024, "rd_expense", 57.5), (2024, "employees", 50.0))  # fmt: skip
        for year, item, value in figures:
            s.add(Fact(enterprise_id=wx.id, year=year, month=0, item=item, detail="", value=value,
                       unit="万元", source_dept="statistics", batch_id=batch.id))  # fmt: skip
        s.commit()
        plans.add_to_pool(s, wx, "city", date(2024, 1, 5), target_tier="little_giant")
        plans.create_plan(
            s, wx, "冠军领航计划", date(2024, 1, 1), date(2025, 12, 31), "city", "little_giant",
            targets=[{"indicator": "rd_ratio", "target": 0.06, "due_date": date(2024, 12, 31),
                      "baseline": 0.04}],
            actions=[{"title": "申报省级企业技术中心", "owner_kind": "department",
                      "owner": "市经信局", "due_date": date(2024, 6, 30)}],
        )  # fmt: skip
        s.commit()
    service.run(sqlite_engine, 2024, snapshot_root=tmp_path / "snaps")
    app = create_app(Settings(today=date(2024, 9, 1)), sqlite_engine)
    return TestClient(app, base_url="https://testserver")


def test_tiers_page_funnel_candidates_pool_and_warnings(client: TestClient) -> None:
    login(client, "city")
    html = client.get("/tiers").text
    chart = r'<script type="application/json" id="chart-tiers-funnel">(.*?)</script>'
    spec = json.loads(re.search(chart, html, re.S).group(1))
    # the chart and the table show the same numbers; drawn as an ECharts funnel
    assert spec["kind"] == "funnel"
    assert spec["categories"][0] == "规下企业"
    rows = re.findall(r'<tr data-stage="(\w+)"><td>[^<]*</td><td>(\d+)</td><td>(\d+)</td>', html)
    assert [r[0] for r in rows][:3] == ["below_scale", "new_above_scale", "innovative_sme"]
    assert spec["series"][0]["data"] == [int(r[2]) for r in rows]
    assert dict((r[0], int(r[1])) for r in rows)["below_scale"] == 1  # 乙纺织 is 规下
    # 湖州甲 is a candidate for 创新型中小企业: no IP, debt, field or share data declared
    cand = re.search(rf'<tr data-uscc="{USCC_WX}">.*?</tr>', html, re.S).group(0)
    assert "创新型中小企业" in cand and "Ⅰ类高价值知识产权数" in cand
    assert "企业申报" in cand  # who provides the missing data
    # the pool with its plan; warnings: the overdue action and the R&D target off track
    assert 'class="tiers-plan-link">冠军领航计划</a>' in html
    assert "举措逾期" in html and "申报省级企业技术中心" in html


def test_plan_page_and_pdf(client: TestClient, sqlite_engine: Engine) -> None:
    login(client, "county_wx")
    html = client.get("/tiers").text
    plan_url = re.search(r'href="(/tiers/plans/\d+)" class="tiers-plan-link"', html).group(1)
    page = client.get(plan_url).text
    # 57.5 / 1150 = 5 %; expected 4 % + 2 % × 244 / 365 = 5.3 % on 2024-09-01 → 滞后
    row = re.search(r'<tr data-indicator="rd_ratio" data-state="(\w+)">(.*?)</tr>', page, re.S)
    assert row.group(1) == "off_track" and "5.0%" in row.group(2).replace(" ", "")
    pdf = client.get(plan_url + ".pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment;")
    assert pdf.content.startswith(b"%PDF")
    # another county's officer cannot open it
    nx = fresh(client)
    login(nx, "county_nx")
    assert nx.get(plan_url).status_code == 404
    with Session(sqlite_engine) as s:
        assert s.scalar(select(AuditLog.id).where(AuditLog.action == "export.tiers.plan"))
        # the action names a support policy: the plan shows its title and standing, linked
        action = s.scalars(select(TiersPlanAction)).one()
        action.policy_code = "rd_intensity_award"
        s.commit()
    page = client.get(plan_url).text
    pol = re.search(r'<tr id="policy-rd_intensity_award"[^>]*>(.*?)</tr>', page, re.S)
    assert pol is not None and 'data-status="not_run"' in pol.group(0)
    assert f'href="/policy/calculator?uscc={USCC_WX}">研发投入奖励</a>' in pol.group(1)
    assert "政策服务尚未发布计算结果" in pol.group(1)


def test_portal_declaration_evidence_and_verification(
    client: TestClient, sqlite_engine: Engine
) -> None:
    token = login(client, "ent_wx")
    html = client.get("/portal").text
    assert 'id="tiers-portal"' in html and "你距离创新型中小企业还差" in html
    r = client.post(
        "/tiers/declare",
        data={"item": "debt_ratio", "value": "0.5", "year": "2024", "csrf_token": token},
        files={"evidence": ("负债表.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with Session(sqlite_engine) as s:
        item = s.scalars(select(TiersDeclarationItem)).one()
        assert (item.item, item.value, item.status) == ("debt_ratio", 0.5, "declared")
    # a file that is not PDF/PNG/JPEG is refused
    r = client.post(
        "/tiers/declare",
        data={"item": "niche_years", "value": "3", "year": "2024", "csrf_token": token},
        files={"evidence": ("x.pdf", b"<html>not a pdf</html>", "application/pdf")},
    )
    assert r.status_code >= 400
    got = client.get(f"/tiers/evidence/{item.id}")
    assert got.content == PDF
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["content-type"] == "application/octet-stream"
    nx = fresh(client)
    login(nx, "ent_nx")
    assert nx.get(f"/tiers/evidence/{item.id}").status_code == 404
    # the agent of 湖州甲 sees the task; 南浔's officer does not
    agent = fresh(client)
    login(agent, "agent_wx")
    tasks = agent.get("/tiers/declarations").text
    assert f'data-item="{item.id}"' in tasks and "负债表.pdf" in tasks
    # … and on its desk (the tiers service's desk section), with the count and the link
    desk = agent.get("/agent").text
    section = re.search(
        r'<section class="card domain-section" id="desk-tiers">.*?</section>', desk, re.S
    )
    assert section is not None
    assert f'data-item="{item.id}"' in section.group(0) and "负债表.pdf" in section.group(0)
    assert "有 1 项申报数据待核实" in section.group(0)
    assert 'href="/tiers/declarations"' in section.group(0)
    nx = fresh(client)
    login(nx, "county_nx")
    assert 'id="tiers-no-pending"' in nx.get("/tiers/declarations").text
    wx = fresh(client)
    token = login(wx, "county_wx")
    page = wx.get("/tiers/declarations").text
    assert f'data-item="{item.id}"' in page
    r = wx.post(f"/tiers/declarations/{item.id}/reject", data={"csrf_token": token, "reason": " "})
    assert r.status_code >= 400
    r = wx.post(
        f"/tiers/declarations/{item.id}/verify", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    with Session(sqlite_engine) as s:
        item = s.get(TiersDeclarationItem, item.id)
        assert (item.status, item.verifier) == ("verified", "county_wx")


def test_profile_section_and_list_export(client: TestClient) -> None:
    login(client, "city")
    html = client.get(f"/enterprises/{USCC_WX}").text
    assert 'id="tiers-section"' in html and "创新评动力得分" in html
    r = client.get("/tiers/lists/pool.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert client.get(f"/enterprises/{USCC_NX}").status_code == 200
