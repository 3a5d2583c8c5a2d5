"""项目钉 web pages on real SQLite and PostgreSQL: the board per role, project pages in and out
of scope, the progress form (CSRF, optimistic lock, errors in the UI language), tickets, the
百千万 bulletin and its audited XLSX download, the profile, cockpit and portal sections, both
languages. The platform clock is frozen at the demo's day (``Settings.today``)."""

from __future__ import annotations

import io
import json
import re
import textwrap
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.domains.projects import programs, stages, tickets
from industry_brain.domains.projects import web as projects_web
from industry_brain.domains.projects.models import ProgressReport, StageEvent, Ticket
from industry_brain.store.models import AuditLog, Project, User
from industry_brain.store.scope import scope_for
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.web_fixtures import USCC_NX, USCC_WX, USCC_XSS, login, seed

TODAY = date(2026, 11, 27)  # the demo's day

# Projects (all 新建工业项目, signed in 2026):
#   P-WX-1 吴兴 330502, investor USCC_WX, agent agent_wx, signed 2026-03-01, land handed over
#          2026-04-01. 签约未开工: anchors [land_transfer, signed] → land_transfer, 2 months
#          (projects.deadlines.not_started.land_transfer, industrial) → deadline 2026-06-01.
#          On 2026-11-27 that is past: red from 2026-06-02; black from add_months(2026-06-01,
#          black_after_months.not_started = 10) + 1 day = 2027-04-02 → still red.
#          Days overdue = 2026-06-01 → 2026-11-27 = 29 (rest of June) + 31 + 31 + 30 + 31
#          + 27 = 179 (June 1 → July 1 is 30 days, then Jul 31, Aug 31, Sep 30, Oct 31, Nov 26:
#          30 + 31 + 31 + 30 + 31 + 26 = 179).
#   P-WX-2 吴兴 330502, investor USCC_WX, no agent, signed 2026-11-01, no land: deadline
#          signed + 6 months = 2027-05-01, T = 181 days, yellow from 2026-11-01 + ceil(0.8 × 181)
#          = +145 days = 2027-03-26 → no warning today.
#   P-NX-1 南浔 330503, investor USCC_NX, no agent, signed 2026-10-01 → deadline 2027-04-01,
#          no warning today.
WX1, WX2, NX1 = "P-WX-1", "P-WX-2", "P-NX-1"


def _create(s: Session, code: str, uscc: str, county: str, signed: date, **kw) -> Project:
    return stages.create_project(
        s,
        code=code,
        name=f"{code} 年产10万件零部件项目",
        investor_uscc=uscc,
        county_code=county,
        planned_investment=12000.0,
        signed_on=signed,
        today=TODAY,
        actor="seed",
        **kw,
    )


@pytest.fixture
def app(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    # 百千万 targets for the bulletin: 吴兴 330502 攻关 1 (others 0) — see the bulletin test
    folder = tmp_path / "params"
    folder.mkdir()
    (folder / "projects.330502.yaml").write_text(
        textwrap.dedent(
            """
            programs:
              county_targets:
                source: test fixture
                values:
                  - since: 2019-01-01
                    value: {攻关: 1, 推广: 0, 上云: 0}
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("IB_PARAMETERS_DIR", str(folder))
    parameters.load(reload=True)
    seed(engine)
    with Session(engine) as s:
        _create(
            s, WX1, USCC_WX, "330502", date(2026, 3, 1),
            agent="agent_wx", land_transfer_date=date(2026, 4, 1),
        )  # fmt: skip
        _create(s, WX2, USCC_WX, "330502", date(2026, 11, 1))
        _create(s, NX1, USCC_NX, "330503", date(2026, 10, 1))
        s.commit()
    return create_app(Settings(today=TODAY), engine)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def _as(app, username: str) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    c = TestClient(app, base_url="https://testserver")
    return c, login(c, username)


def _codes(html: str) -> set[str]:
    return set(re.findall(r'class="pcard[^"]*" data-code="([^"]+)"', html))


def _project(engine: Engine, code: str) -> Project:
    with Session(engine) as s:
        return s.scalars(select(Project).where(Project.code == code)).one()


def _count(engine: Engine, model, *where) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


# -- board -------------------------------------------------------------------------------------
def test_board_is_scoped_per_role(app):
    expected = {
        "admin": {WX1, WX2, NX1},
        "city": {WX1, WX2, NX1},
        "county_wx": {WX1, WX2},
        "county_nx": {NX1},
        "agent_wx": {WX1},
        "ent_wx": {WX1, WX2},
        "ent_nx": {NX1},
    }
    for username, codes in expected.items():
        c, _ = _as(app, username)
        r = c.get("/projects")
        assert r.status_code == 200, (username, r.text[-1500:])
        assert _codes(r.text) == codes, username
    c, _ = _as(app, "bank")
    r = c.get("/projects")
    assert r.status_code == 403 and "auth.forbidden" in r.text and "projects.view" in r.text
    assert c.get(f"/projects/{WX1}").status_code == 403


def test_board_shows_warning_badges_counts_and_filters(app):
    c, _ = _as(app, "county_wx")
    html = c.get("/projects").text
    # the one warning of 吴兴: P-WX-1 签约未开工, red, 179 days overdue (see the module comment)
    card = re.search(r'data-code="P-WX-1">(.*?)</article>', html, re.S).group(1)
    assert 'data-kind="not_started" data-colour="red"' in card and "逾期 179 天" in card
    assert "wuwei" not in re.search(r'data-code="P-WX-2">(.*?)</article>', html, re.S).group(1)
    counts = dict(re.findall(r'data-stage="(\w+)" href="[^"]*"><b>(\d+)</b>', html))
    assert counts == {
        "signed": "2",
        "started": "0",
        "completed": "0",
        "producing": "0",
        "above_scale": "0",
        "at_capacity": "0",
    }
    table = re.search(r'id="table-warnings">(.*?)</table>', html, re.S).group(1)
    assert "P-WX-1" in table and "P-WX-2" not in table and "2026-06-01" in table
    assert _codes(c.get("/projects?warnings=1").text) == {WX1}
    assert _codes(c.get("/projects?colour=black").text) == set()
    # the 破五未 kind filter (code or Chinese name), kept in the list's links and its export
    assert _codes(c.get("/projects?kind=not_started").text) == {WX1}
    assert _codes(c.get("/projects?kind=签约未开工&colour=red").text) == {WX1}
    assert _codes(c.get("/projects?kind=not_completed").text) == set()
    kinded = c.get("/projects?kind=not_started").text
    assert '<option value="not_started" selected>' in kinded
    export_form = re.search(r'id="warnings-export">(.*?)</form>', kinded, re.S).group(1)
    assert '<input type="hidden" name="kind" value="not_started">' in export_form
    r = c.get("/projects?kind=not_started&w_export=csv")
    assert r.status_code == 200 and "P-WX-1" in r.text
    assert "P-WX-1" not in c.get("/projects?kind=not_completed&w_export=csv").text
    bad = c.get("/projects?kind=nope")
    assert bad.status_code == 400 and "warning.kind_unknown" in bad.text
    assert _codes(c.get("/projects?stage=signed&county=330502").text) == {WX1, WX2}
    assert _codes(c.get("/projects?stage=started").text) == set()
    # a county filter cannot widen the scope
    assert _codes(c.get("/projects?county=330503").text) == set()


def test_project_of_another_county_is_404_like_a_missing_one(app):
    c, token = _as(app, "county_wx")
    assert c.get(f"/projects/{WX1}").status_code == 200
    other = c.get(f"/projects/{NX1}")
    missing = c.get("/projects/NOPE-1")
    assert other.status_code == missing.status_code == 404
    assert "project.not_found" in other.text and "project.not_found" in missing.text
    r = c.post(f"/projects/{NX1}/tickets", data={"csrf_token": token, "title": "x"})
    assert r.status_code == 404
    a, _ = _as(app, "agent_wx")
    assert a.get(f"/projects/{WX2}").status_code == 404  # not the agent's project
    e, _ = _as(app, "ent_nx")
    assert e.get(f"/projects/{WX1}").status_code == 404


# -- progress form -----------------------------------------------------------------------------
def _progress(version: int, token: str | None, **extra: str) -> dict[str, str]:
    data = {
        "version": str(version),
        "report_date": "2026-11-25",
        "investment_completed": "1500.5",
        "output": "0",
        "headcount": "12",
        "notes": "场地平整完成",
    }
    if token is not None:
        data["csrf_token"] = token
    data.update(extra)
    return data


def test_agent_reports_progress_and_advances_the_stage(app, engine):
    c, token = _as(app, "agent_wx")
    page = c.get(f"/projects/{WX1}").text
    assert 'id="progress-form"' in page and 'name="version" value="1"' in page
    r = c.post(
        f"/projects/{WX1}/progress",
        data=_progress(1, token, advance_to="started", advance_on="2026-11-20"),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[-2000:]
    assert r.headers["location"] == f"/projects/{WX1}#progress"  # no ?saved= in the URL
    shown = c.get(r.headers["location"]).text
    # the one-time confirmation (web/flash.py), gone on a reload
    assert '<div class="flash" id="flash" role="status">已保存项目进度</div>' in shown
    assert "1,500.50" in shown and "场地平整完成" in shown
    assert 'id="flash"' not in c.get(r.headers["location"]).text
    assert 'name="version" value="2"' in shown
    assert 'class="warning-now"' not in shown  # 签约未开工 cleared by 开工
    p = _project(engine, WX1)
    assert (p.stage, p.actual_started, p.version) == ("started", date(2026, 11, 20), 2)
    with Session(engine) as s:
        report = s.scalars(select(ProgressReport).where(ProgressReport.project_id == p.id)).one()
        assert (report.report_date, report.investment_completed, report.output) == (
            date(2026, 11, 25),
            1500.5,
            0.0,
        )
        assert (report.headcount, report.actor) == (12, "agent_wx")
        events = s.scalars(select(StageEvent).where(StageEvent.project_id == p.id)).all()
        assert [(e.action, e.stage, e.actor) for e in events][-1] == (
            "advance",
            "started",
            "agent_wx",
        )
        audit = s.scalars(
            select(AuditLog).where(AuditLog.object_id == WX1, AuditLog.actor == "agent_wx")
        ).all()
        assert {a.action for a in audit} == {"project.advance", "project.report"}
        assert all(a.request_id for a in audit), [(a.action, a.request_id) for a in audit]
    # the history table shows the advance
    assert 'data-action="advance"' in shown


def test_progress_without_csrf_is_rejected_and_changes_nothing(app, engine):
    c, _ = _as(app, "agent_wx")
    r = c.post(f"/projects/{WX1}/progress", data=_progress(1, None))
    assert r.status_code == 403 and "auth.csrf" in r.text
    r = c.post(f"/projects/{WX1}/progress", data=_progress(1, "forged"))
    assert r.status_code == 403
    assert _count(engine, ProgressReport) == 0 and _project(engine, WX1).version == 1


def test_stale_version_shows_the_conflict_and_saves_nothing(app, engine):
    c, token = _as(app, "agent_wx")
    assert 'name="version" value="1"' in c.get(f"/projects/{WX1}").text
    with Session(engine) as s:  # someone else records 开工 meanwhile
        stages.advance(s, WX1, "started", date(2026, 11, 10), TODAY, expected_version=1)
        s.commit()
    r = c.post(
        f"/projects/{WX1}/progress",
        data=_progress(1, token, advance_to="started", advance_on="2026-11-20"),
    )
    assert r.status_code == 409
    assert 'data-code="project.version_conflict"' in r.text and "已被他人修改" in r.text
    assert 'name="version" value="2"' in r.text  # the form now carries the current version
    assert 'value="1500.5"' in r.text  # and keeps what was typed
    r = c.post(f"/projects/{WX1}/progress", data=_progress(1, token))  # a report alone, too
    assert r.status_code == 409
    p = _project(engine, WX1)
    assert (p.stage, p.actual_started, p.version) == ("started", date(2026, 11, 10), 2)
    assert _count(engine, ProgressReport) == 0
    assert _count(engine, AuditLog, AuditLog.action == "project.advance") == 1  # the other's
    assert _count(engine, AuditLog, AuditLog.action == "project.report") == 0
    # in English
    r = c.post(f"/projects/{WX1}/progress?lang=en", data=_progress(1, token))
    assert r.status_code == 409 and "changed by someone else" in r.text


def test_progress_errors_are_shown_in_the_ui_language(app, engine):
    c, token = _as(app, "agent_wx")
    r = c.post(f"/projects/{WX1}/progress", data=_progress(1, token, investment_completed="abc"))
    assert r.status_code == 400 and 'data-code="form.not_number"' in r.text
    assert "累计完成投资“abc”不是数字" in r.text and 'value="abc"' in r.text
    c.get("/lang/en")
    r = c.post(f"/projects/{WX1}/progress", data=_progress(1, token, headcount="-3"))
    assert r.status_code == 400 and 'data-code="report.negative"' in r.text
    assert "cannot be negative" in r.text and "不能为负" not in r.text
    r = c.post(f"/projects/{WX1}/progress", data=_progress(1, token, report_date="2026-12-01"))
    assert r.status_code == 400 and 'data-code="project.date_future"' in r.text
    r = c.post(
        f"/projects/{WX1}/progress",
        data=_progress(1, token, advance_to="completed", advance_on="2026-11-20"),
    )
    assert r.status_code == 400 and 'data-code="project.stage_skip"' in r.text
    assert _count(engine, ProgressReport) == 0 and _project(engine, WX1).version == 1


def test_only_the_projects_agent_or_an_admin_reports_progress(app, engine):
    for username in ("county_wx", "ent_wx", "city"):
        c, token = _as(app, username)
        page = c.get(f"/projects/{WX1}").text
        assert 'id="progress-form"' not in page
        r = c.post(f"/projects/{WX1}/progress", data=_progress(1, token))
        assert r.status_code == 403, username
    c, token = _as(app, "admin")
    r = c.post(f"/projects/{WX1}/progress", data=_progress(1, token), follow_redirects=False)
    assert r.status_code == 303
    assert _count(engine, ProgressReport) == 1


# -- tickets -----------------------------------------------------------------------------------
def test_agent_and_enterprise_raise_tickets_with_state_and_history(app, engine):
    c, token = _as(app, "agent_wx")
    r = c.post(
        f"/projects/{WX1}/tickets",
        data={
            "csrf_token": token,
            "title": "土地交付后场地平整未完成",
            "category": "用地",
            "department": "zrzy",
            "description": "<b>急</b>",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[-1500:]
    assert r.headers["location"] == f"/projects/{WX1}#tickets"
    page = c.get(r.headers["location"]).text
    assert '<div class="flash" id="flash" role="status">已提交工单</div>' in page
    row = re.search(r'<tr data-ticket="\d+" data-status="open">(.*?)</tr>', page, re.S).group(1)
    assert "土地交付后场地平整未完成" in row and "自然资源和规划局" in row and "待办" in row
    assert "2026-12-12" in row  # due: 2026-11-27 + projects.tickets.due_days (15)
    assert "提出" in row  # the history
    with Session(engine) as s:
        t = s.scalars(select(Ticket)).one()
        assert (t.raised_by, t.raised_by_role, t.status, t.department) == (
            "agent_wx",
            "agent",
            "open",
            "zrzy",
        )
        tickets.transition(s, t.id, "accept", TODAY, actor="county_wx")
        s.commit()
        assert s.scalar(
            select(AuditLog.request_id).where(AuditLog.action == "ticket.raise")
        )  # the web request's id
    assert "办理中" in c.get(f"/projects/{WX1}").text
    # text typed by users renders inert
    r = c.post(
        f"/projects/{WX1}/tickets",
        data={"csrf_token": token, "title": "<script>alert(1)</script>", "department": "gdj"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = c.get(f"/projects/{WX1}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    e, etoken = _as(app, "ent_wx")
    r = e.post(
        f"/projects/{WX2}/tickets",
        data={"csrf_token": etoken, "title": "用电增容", "category": "用能", "department": "gdj"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    # errors: unknown department (shown in the page), no title, wrong role
    r = e.post(
        f"/projects/{WX2}/tickets",
        data={"csrf_token": etoken, "title": "x", "category": "用能", "department": "nope"},
    )
    assert r.status_code == 400 and 'data-code="ticket.department_unknown"' in r.text
    r = e.post(f"/projects/{WX2}/tickets", data={"csrf_token": etoken, "department": "gdj"})
    assert r.status_code == 400 and 'data-code="ticket.title"' in r.text
    # the error beside its field (the title input's label), no page-level alert, no confirmation
    label = re.search(r'<label>[^<]*<input name="title".*?</label>', r.text, re.S).group(0)
    assert 'data-code="ticket.title"' in label
    assert 'id="ticket-error"' not in r.text and 'id="flash"' not in r.text
    o, otoken = _as(app, "county_wx")
    assert 'id="ticket-form"' not in o.get(f"/projects/{WX1}").text
    r = o.post(
        f"/projects/{WX1}/tickets",
        data={"csrf_token": otoken, "title": "x", "category": "用能", "department": "gdj"},
    )
    assert r.status_code == 403
    assert e.post(f"/projects/{WX2}/tickets", data={"title": "x"}).status_code == 403  # CSRF
    assert _count(engine, Ticket) == 3


# -- bulletin ----------------------------------------------------------------------------------
def test_bulletin_page_and_audited_xlsx_download(app, engine):
    with Session(engine) as s:
        programs.enrol(s, WX1, "攻关", date(2026, 6, 1), TODAY)
        s.commit()
    # 2026-11-27 is day 331 of 365: time progress f = 331/365.
    # 吴兴 330502 (fixture targets 攻关 1, 推广 0, 上云 0): ratio 1 / (1 × 331/365) = 365/331
    #   ≈ 1.1027 ≥ red_at 1.0 → 红榜, rank 1.
    # Every other county (shipped targets 攻关 5, 推广 15, 上云 6, nothing enrolled): score 0 <
    #   yellow_at 0.6 → 黑榜, rank 2 (equal scores share the rank).
    c, _ = _as(app, "county_nx")
    html = c.get("/bulletins").text
    assert "百千万工程进度通报" in html
    lists = dict(re.findall(r'data-county="(\d+)" data-list="(\w*)"', html))
    assert lists["330502"] == "red" and lists["330503"] == "black"
    ranking = re.search(r'data-county="330502"[^>]*><td>(\d+)</td>', html).group(1)
    assert ranking == "1"
    enrolled = re.search(r'id="table-enrolled">(.*?)</table>', html, re.S).group(1)
    assert WX1 not in enrolled  # a 吴兴 project: outside 南浔's scope
    a, _ = _as(app, "admin")
    assert WX1 in re.search(
        r'id="table-enrolled">(.*?)</table>', a.get("/bulletins").text, re.S
    ).group(1)
    r = a.get("/bulletins/2026.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert (
        r.headers["content-disposition"] == 'attachment; filename="bulletin_2026_2026-11-27.xlsx"'
    )
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    ranking_sheet = book["排名 ranking"]
    rows = {row[1]: row for row in ranking_sheet.iter_rows(min_row=4, values_only=True)}
    assert rows["330502"][-1] == "红榜" and rows["330503"][-1] == "黑榜"
    with Session(engine) as s:
        audit = s.scalars(
            select(AuditLog).where(AuditLog.action == "export.projects_bulletin")
        ).one()
        assert (audit.actor, audit.object_id) == ("admin", "2026") and audit.request_id
        assert audit.detail["file"] == "bulletin_2026_2026-11-27.xlsx"
    assert a.get("/bulletins?year=2025").status_code == 200
    assert a.get("/bulletins/2027.xlsx").status_code == 400  # a year that has not begun
    for username in ("agent_wx", "ent_wx", "bank"):
        o, _ = _as(app, username)
        assert o.get("/bulletins").status_code == 403, username
        assert o.get("/bulletins/2026.xlsx").status_code == 403, username
    with Session(engine) as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.action == "export.projects_bulletin")
            )
            == 1
        )


# -- sections ----------------------------------------------------------------------------------
def test_profile_section_shows_the_overdue_warning_and_tickets(app, engine):
    with Session(engine) as s:
        tickets.raise_ticket(
            s, WX1, "排污许可证尚未核发", "sthj", TODAY, category="环评", actor="agent_wx"
        )
        s.commit()
    c, _ = _as(app, "county_wx")
    html = c.get(f"/enterprises/{USCC_WX}").text
    section = re.search(r'id="projects-section">(.*?)</section>', html, re.S).group(1)
    # P-WX-1: land handed over 2026-04-01 + 2 months = 2026-06-01; 179 days overdue on
    # 2026-11-27, red (black only from 2027-04-02) — the computation is in the module comment.
    row = re.search(r'<tr data-code="P-WX-1">(.*?)</tr>', section, re.S).group(1)
    assert 'data-colour="red"' in row and "签约未开工" in row and "逾期 179 天" in row
    assert 'title="期限 2026-06-01"' in row
    assert '<tr data-code="P-WX-2">' in section and NX1 not in section
    assert "排污许可证尚未核发" in section and "待办" in section
    # the section lists the projects: the profile's plain project list is not shown beside it
    assert "<h2>项目</h2>" not in html
    # an enterprise without projects has no section, and the plain list says so
    other = c.get(f"/enterprises/{USCC_XSS}").text
    assert 'id="projects-section"' not in other
    plain = re.search(r"<h2>项目</h2>(.*?)</section>", other, re.S).group(1)
    assert '<td colspan="3">—</td>' in plain
    # the agent sees its own project only
    a, _ = _as(app, "agent_wx")
    agent_view = a.get(f"/enterprises/{USCC_WX}").text
    section = re.search(r'id="projects-section">(.*?)</section>', agent_view, re.S).group(1)
    assert WX1 in section and WX2 not in section
    # the enterprise in English
    e, _ = _as(app, "ent_wx")
    en = e.get(f"/enterprises/{USCC_WX}?lang=en").text
    assert "signed, not started" in en and "179 days overdue" in en


def test_cockpit_section_counts_warnings_by_kind_and_colour(app):
    c, _ = _as(app, "city")
    html = c.get("/cockpit").text
    table = re.search(r'id="table-wuwei">(.*?)</table>', html, re.S).group(1)
    row = re.search(r'data-kind="not_started">(.*?)</tr>', table, re.S).group(1)
    cells = re.findall(r"<td>(?:<a [^>]*>)?(\d+)(?:</a>)?</td>", row)
    assert cells == ["0", "1", "0", "1"]  # yellow, red, black, total
    # the kind and each non-zero cell open the board's warnings of that kind (and colour)
    assert '<a href="/projects?kind=not_started">' in row
    assert '<a data-colour="red" href="/projects?kind=not_started&amp;colour=red">1</a>' in row
    assert 'data-chart-json="projects-wuwei-chart"' in html
    # the chart's segments (series = colour, category = kind) carry the same links
    spec = json.loads(re.search(r'id="projects-wuwei-chart">(.*?)</script>', html, re.S).group(1))
    assert spec["links"][1][0] == "/projects?kind=not_started&colour=red"
    assert spec["links"][0][4] == "/projects?kind=not_at_capacity&colour=yellow"
    assert _codes(c.get(spec["links"][1][0]).text) == {WX1}
    n, _ = _as(app, "county_nx")
    table = re.search(r'id="table-wuwei">(.*?)</table>', n.get("/cockpit").text, re.S).group(1)
    foot = re.search(r"<tfoot>.*?</tfoot>", table, re.S).group(0)
    # the colour totals link to the board filtered by colour; the last is the overall total
    cells = re.findall(r"<td>(?:<a [^>]*>)?(\d+)(?:</a>)?</td>", foot)
    assert cells == ["0", "0", "0", "0"]


def test_portal_section_is_for_enterprise_users(app, engine):
    with Session(engine) as s:
        tickets.raise_ticket(
            s, WX2, "用工缺口", "rsj", TODAY, category="用工", raised_by_role="enterprise",
            user="ent_wx",
        )  # fmt: skip
        s.commit()
        ent = scope_for(s.scalars(select(User).where(User.username == "ent_wx")).one())
        city = scope_for(s.scalars(select(User).where(User.username == "city")).one())
        bank = scope_for(s.scalars(select(User).where(User.username == "bank")).one())
        section = projects_web.portal_section(s, ent, today=TODAY)
        assert section["template"] == "projects_section.html"
        assert [p["code"] for p in section["projects"]] == [WX1, WX2]  # warned first
        assert section["projects"][0]["warning"]["days_overdue"] == 179
        assert [t["title"] for t in section["tickets"]] == ["用工缺口"]
        assert projects_web.portal_section(s, city, today=TODAY) is None
        assert projects_web.profile_section(s, bank, USCC_WX, today=TODAY) is None
        assert projects_web.cockpit_section(s, bank, today=TODAY) is None
    c, _ = _as(app, "ent_wx")
    portal = c.get("/portal").text
    section = re.search(r'id="projects-portal">(.*?)</section>', portal, re.S).group(1)
    assert "用工缺口" in section and 'data-colour="red"' in section and NX1 not in section


def test_agent_desk_links_each_project(app):
    c, _ = _as(app, "agent_wx")
    html = c.get("/agent").text
    assert f'href="/projects/{WX1}#progress"' in html and "尚未上线" not in html


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pages_render_in_both_languages(app, engine, lang):
    with Session(engine) as s:
        programs.enrol(s, WX1, "攻关", date(2026, 6, 1), TODAY)
        tickets.raise_ticket(s, WX1, "难题", "gdj", TODAY, category="用能", actor="agent_wx")
        stages.correct(s, WX1, "signed", date(2026, 3, 2), "以合同为准", TODAY)
        s.commit()
    c, _ = _as(app, "admin")
    c.get(f"/lang/{lang}")
    pages = {
        "/projects": ("项目看板", "Projects board"),
        "/projects?stage=signed": ("项目看板", "Projects board"),
        f"/projects/{WX1}": ("六环节点", "The six milestones"),
        "/bulletins": ("百千万工程进度通报", "Programme progress bulletin (百千万)"),
        f"/enterprises/{USCC_WX}": ("项目钉：项目预警与诉求工单", "Projects: warnings and"),
        "/cockpit": ("破五未预警（按类别和颜色）", "Project warnings (破五未) by kind and colour"),
    }
    for path, (zh, en) in pages.items():
        r = c.get(path)
        assert r.status_code == 200, (path, r.text[-1500:])
        assert (zh if lang == "zh" else en) in r.text, path
        if lang == "en":
            assert zh not in r.text, path
    detail = c.get(f"/projects/{WX1}").text
    assert 'data-action="correct"' in detail and "以合同为准" in detail


def test_pages_follow_the_platform_clock(engine, monkeypatch):
    seed(engine)
    with Session(engine) as s:
        _create(
            s, WX1, USCC_WX, "330502", date(2026, 3, 1),
            agent="agent_wx", land_transfer_date=date(2026, 4, 1),
        )  # fmt: skip
        s.commit()
    # on 2026-06-01 the project is on its deadline: yellow since 2026-04-01 + ceil(0.8 × 61)
    # = 49 days = 2026-05-20, 0 days left
    monkeypatch.setenv("IB_TODAY", "2026-06-01")
    app = create_app(Settings.from_env(), engine)
    c, _ = _as(app, "county_wx")
    html = c.get(f"/projects/{WX1}").text
    assert 'data-colour="yellow"' in html and "剩 0 天" in html
    profile = c.get(f"/enterprises/{USCC_WX}").text
    assert "剩 0 天" in profile and "预警按 2026-06-01 计算" in profile
