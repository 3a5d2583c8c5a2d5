"""Diagnosis web pages through the app (SQLite): the enterprise starts the 工控安全 self-check,
cannot submit without the required evidence file, uploads it and submits; scopes — another
county's officer and an unassigned assessor get 404; the assigned assessor downloads the
evidence (audited); officers' page and the assessor's home."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.domains.diagnosis import questionnaire as qn
from industry_brain.domains.diagnosis.models import DiagnosisAssessment, DiagnosisEvidence
from industry_brain.store.models import AuditLog, Enterprise, User
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.web_fixtures import _HASH, login

USCC = "91330500MA2B3C4D5B"


@pytest.fixture
def client_for(sqlite_engine: Engine):
    with Session(sqlite_engine) as s:
        e = Enterprise(uscc=USCC, name="甲机械有限公司", county_code="330502", status="存续")
        s.add(e)
        s.flush()
        for username, role, extra in (
            ("ent", "enterprise", {"enterprise_id": e.id}),
            ("county_wx", "county_officer", {"county_code": "330502"}),
            ("county_nx", "county_officer", {"county_code": "330503"}),
            ("assessor_1", "assessor", {}),
            ("assessor_2", "assessor", {}),
        ):
            s.add(
                User(
                    username=username,
                    display_name=username,
                    role=role,
                    password_hash=_HASH,
                    **extra,
                )
            )
        s.commit()
    app = create_app(Settings(), sqlite_engine)

    def make(username: str) -> tuple[TestClient, str]:
        c = TestClient(app, base_url="https://testserver")
        return c, login(c, username)

    return make, sqlite_engine


def test_evidence_required_scopes_and_download(client_for) -> None:
    make, engine = client_for
    ent, tok = make("ent")
    r = ent.post(
        "/diagnosis/portal/start",
        data={"csrf_token": tok, "questionnaire": "ics_security", "year": "2025"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    url = r.headers["location"]
    aid = int(re.search(r"/(\d+)$", url).group(1))
    answers = {f"a:{code}": "yes" for code in qn.get("ics_security").requirements}
    r = ent.post(url + "/answers", data={"csrf_token": tok, **answers, "then": "submit"})
    assert r.status_code == 400 and "responsibility.owner" in r.text  # evidence missing
    page = ent.get(url).text
    assert 'id="diagnosis-progress"' in page and "13/13" in page
    r = ent.post(
        url + "/evidence",
        data={"csrf_token": tok, "requirement": "responsibility.owner"},
        files={"file": ("../../制度.pdf", b"%PDF-1.4 rules", "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = ent.post(
        url + "/answers", data={"csrf_token": tok, "then": "submit"}, follow_redirects=False
    )
    assert r.status_code == 303
    with Session(engine) as s:
        assert s.get(DiagnosisAssessment, aid).status == "submitted"
        ev = s.scalars(select(DiagnosisEvidence)).one()
        assert ev.filename == "制度.pdf" and ".." not in ev.path
    # another county's officer and an unassigned assessor see nothing
    nx, _ = make("county_nx")
    assert nx.get(url).status_code == 404
    a2, _ = make("assessor_2")
    assert a2.get(f"/diagnosis/evidence/{ev.id}").status_code == 404
    wx, wtok = make("county_wx")
    assert wx.get(url).status_code == 200
    r = wx.post(
        "/diagnosis/assign",
        data={"csrf_token": wtok, "assessor": "assessor_1", "uscc": USCC},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "甲机械有限公司" in wx.get("/diagnosis").text
    a1, _ = make("assessor_1")
    assert USCC in a1.get("/diagnosis/assessor").text
    r = a1.get(f"/diagnosis/evidence/{ev.id}")
    assert r.status_code == 200 and r.content == b"%PDF-1.4 rules"
    assert 'name="action"' in a1.get(url).text  # the review forms
    with Session(engine) as s:
        actions = set(s.scalars(select(AuditLog.action).where(AuditLog.object_id == str(aid))))
    assert {"diagnosis.evidence", "diagnosis.submit", "diagnosis.evidence_download"} <= actions
