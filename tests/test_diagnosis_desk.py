"""Diagnosis on the web beyond the assessment flow (SQLite and PostgreSQL, the web fixtures'
store): the certificate list import page (the platform's upload staging, the CLI's import
function; a list with any unusable row imports nothing and names file, sheet, row and column in
both languages; both outcomes audited) and the reports of the agent's enterprises on its desk."""

from __future__ import annotations

import re
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.domains.diagnosis import service
from industry_brain.domains.diagnosis.models import DiagnosisCertification
from industry_brain.store.models import AuditLog, User
from industry_brain.store.scope import scope_for
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.web_fixtures import USCC_NX, USCC_WX, login, seed

HEADER = "统一社会信用代码,证书编号,发证日期,有效期至,发证机构\n"


@pytest.fixture
def app(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("IB_DATA_DIR", str(tmp_path / "data"))
    seed(engine)
    return create_app(Settings(today=date(2025, 6, 1)), engine), engine


def _client(app, username: str) -> tuple[TestClient, str]:
    c = TestClient(app, base_url="https://testserver")
    return c, login(c, username)


def _count(engine: Engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count(DiagnosisCertification.id))) or 0


def test_certificate_import_page_all_or_nothing(app) -> None:
    app, engine = app
    county, _ = _client(app, "county_wx")
    assert county.get("/diagnosis/certificates").status_code == 403  # may not import files
    city, token = _client(app, "city")
    assert 'id="diagnosis-certificates-link"' in city.get("/diagnosis").text
    assert 'id="certificates-form"' in city.get("/diagnosis/certificates").text
    # row 3: the date issued is not a date (column C); row 4: expires before it is issued (D)
    bad = (
        HEADER
        + f"{USCC_WX},GB-2024-001,2024-03-01,2027-02-28,认证中心\n"
        + f"{USCC_NX},GB-2024-002,2024-13-45,2027-02-28,认证中心\n"
        + f"{USCC_NX},GB-2024-003,2024-03-01,2023-02-28,认证中心\n"
    )
    r = city.post(
        "/diagnosis/certificates",
        data={"csrf_token": token, "kind": "lianghua_guanbiao"},
        files={"file": ("贯标名单.csv", bad.encode("utf-8"), "text/csv")},
    )
    assert r.status_code == 422
    rows = re.findall(
        r'<tr data-row="(\d+)" data-column="(\w+)"><td>([^<]*)</td><td>([^<]*)</td>'
        r"<td>\d+</td><td>([^<]*)</td><td>([^<]*)</td></tr>",
        r.text,
    )
    assert [(int(a), b, c, d, e) for a, b, c, d, e, _ in rows] == [
        (3, "C", "贯标名单.csv", "—", "C (发证日期)"),
        (4, "D", "贯标名单.csv", "—", "D (有效期至)"),
    ]
    assert "2024-13-45" in rows[0][5] and rows[1][5] == "有效期早于发证日期"
    assert _count(engine) == 0  # the good first row was not committed either
    # the same in English
    r = city.post(
        "/diagnosis/certificates?lang=en",
        data={"csrf_token": token, "kind": "lianghua_guanbiao"},
        files={"file": ("list.csv", bad.encode("utf-8"), "text/csv")},
    )
    assert r.status_code == 422 and "expires before it is issued" in r.text
    assert "nothing was imported" in r.text
    # a list without the required columns: one error naming file, sheet and row
    wb = Workbook()
    ws = wb.active
    ws.title = "名单"
    ws.append(["统一社会信用代码", "证书编号"])
    buf = BytesIO()
    wb.save(buf)
    r = city.post(
        "/diagnosis/certificates",
        data={"csrf_token": token, "kind": "dcmm"},
        files={"file": ("dcmm.xlsx", buf.getvalue(), "application/octet-stream")},
    )
    err = re.search(r'id="certificates-error".*?<tbody><tr>(.*?)</tr>', r.text, re.S)
    assert r.status_code == 422 and err is not None
    assert re.findall(r"<td>([^<]*)</td>", err.group(1))[:3] == ["dcmm.xlsx", "名单", "1"]
    assert "发证日期" in err.group(1)
    # a good XLSX: imported with its lineage (sheet, row)
    wb = Workbook()
    ws = wb.active
    ws.title = "2024年"
    ws.append(["统一社会信用代码", "证书编号", "发证日期", "有效期至", "等级"])
    ws.append([USCC_WX, "DCMM-1", date(2024, 3, 1), date(2027, 2, 28), "3"])
    ws.append([USCC_NX, "DCMM-2", date(2022, 3, 1), date(2025, 2, 28), "2"])
    buf = BytesIO()
    wb.save(buf)
    r = city.post(
        "/diagnosis/certificates",
        data={"csrf_token": token, "kind": "dcmm"},
        files={"file": ("dcmm.xlsx", buf.getvalue(), "application/octet-stream")},
    )
    assert r.status_code == 200 and 'id="certificates-done"' in r.text
    assert "导入证书 2 张" in r.text
    # valid on the platform's day 2025-06-01: DCMM-1 only (DCMM-2 expired 2025-02-28)
    counts = re.search(r'<tr data-kind="dcmm">.*?</tr>', r.text, re.S).group(0)
    assert re.findall(r"<td>([^<]*)</td>", counts)[1:] == ["2", "1"]
    with Session(engine) as s:
        got = s.scalars(select(DiagnosisCertification).order_by(DiagnosisCertification.id)).all()
        assert [(c.certificate_no, c.source_sheet, c.source_row, c.level) for c in got] == [
            ("DCMM-1", "2024年", 2, "3"),
            ("DCMM-2", "2024年", 3, "2"),
        ]
        actions = [a for (a,) in s.execute(select(AuditLog.action).order_by(AuditLog.id))]
        assert actions.count("diagnosis.certifications_rejected") == 3
        assert actions.count("diagnosis.certifications") == 1


def _final_lianghua(s: Session, uscc: str, ent_user: str) -> int:
    """A final 两化融合 self-check: stages 1–2 yes, 3–4 no → stage 2, score 2."""
    ent = scope_for(s.scalars(select(User).where(User.username == ent_user)).one())
    city = scope_for(s.scalars(select(User).where(User.username == "city")).one())
    rev = scope_for(s.scalars(select(User).where(User.username == "assessor")).one())
    a = service.start(s, ent, uscc, "lianghua", 2025, "discrete")
    answers = {
        "stage.network": "yes", "stage.basic_software": "yes",
        "stage.design_system": "yes", "stage.production_system": "yes",
        "stage.systems_integrated": "no", "stage.management_control": "no",
        "stage.chain_collaboration": "no", "stage.new_models": "no",
    }  # fmt: skip
    service.save_answers(s, ent, a.id, answers)
    service.submit(s, ent, a.id)
    service.assign(s, city, "assessor", uscc)
    for code in answers:
        service.review(s, rev, a.id, code, "accept")
    service.finish_review(s, rev, a.id, "测试意见")
    s.commit()
    return a.id


def test_agent_desk_lists_the_reports_of_its_enterprises(app) -> None:
    app, engine = app
    with Session(engine) as s:
        s.add(User(username="assessor", display_name="评估师", role="assessor"))
        s.commit()
        mine = _final_lianghua(s, USCC_WX, "ent_wx")
        other = _final_lianghua(s, USCC_NX, "ent_nx")  # not the agent's enterprise
    agent, _ = _client(app, "agent_wx")
    desk = agent.get("/agent").text
    section = re.search(
        r'<section class="card domain-section" id="desk-diagnosis">.*?</section>', desk, re.S
    )
    assert section is not None
    rows = re.findall(r'<tr data-assessment="(\d+)" data-uscc="(\w+)">(.*?)</tr>', section.group(0))
    assert [(int(a), u) for a, u, _ in rows] == [(mine, USCC_WX)]
    cells = re.findall(r"<td>([^<]*)</td>", rows[0][2])
    assert cells[1:4] == ["2025", "2", "2.00"]  # stage 2, score 2 + 0
    assert f'href="/diagnosis/assessments/{mine}/report"' in rows[0][2]
    assert "共有 1 份已定稿的诊断报告" in section.group(0)
    # the link opens the report (its read audited); the other firm's report stays hidden
    assert agent.get(f"/diagnosis/assessments/{mine}/report").status_code == 200
    assert agent.get(f"/diagnosis/assessments/{other}/report").status_code == 404
    with Session(engine) as s:
        assert s.scalar(
            select(AuditLog.id).where(
                AuditLog.action == "diagnosis.report", AuditLog.object_id == str(mine)
            )
        )
    # the enterprise's own portal has no desk section
    ent, _ = _client(app, "ent_wx")
    assert 'id="desk-diagnosis"' not in ent.get("/portal").text
