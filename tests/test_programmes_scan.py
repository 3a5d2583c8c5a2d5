"""Virus scan of the provider's diagnosis report before it is stored (issue 19, report files):
ClamAV with a signature database the test builds itself (freshclam has no network here): a body
signature of the standard EICAR anti-virus test file. The EICAR string inside an uploaded PDF is
refused — the error names the file and the signature, nothing is stored, the refusal is audited;
a clean PDF is stored as scanned clean with the engine and the signature version; with no scanner
configured, or one that does not answer, the file is stored marked "not virus-scanned" and every
page offering the download shows that mark. Both ClamAV ways: the ``clamscan`` command and the
clamd daemon (started here on a Unix socket with the same database)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.domains.programmes import diagnosis, virus_scan
from industry_brain.domains.programmes.models import ProgrammeAssignment, ProgrammeReportFile
from industry_brain.store.models import AuditLog, Enterprise
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.e2e.test_usability_crawl import Names, problems_of, visible_text
from tests.test_programmes_actions import PA, PB, _providers
from tests.web_fixtures import USCC_NX, USCC_WX, csrf_of, login, seed

TODAY = date(2026, 6, 1)
# the EICAR test file (eicar.org): harmless, detected by every anti-virus by convention
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CLEAN = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
INFECTED = (
    b"%PDF-1.4\n1 0 obj\n<< /Length 68 >>\nstream\n" + EICAR + b"\nendstream\nendobj\n%%EOF\n"
)


@pytest.fixture(scope="module")
def signatures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ClamAV database folder with one body signature (.ndb: name, any file type, anywhere,
    the hex of the EICAR string)."""
    assert shutil.which("clamscan"), "clamscan missing: make system-deps installs clamav"
    folder = tmp_path_factory.mktemp("clamav-db")
    (folder / "test.ndb").write_text(f"Eicar-Test-Signature:0:*:{EICAR.hex()}\n")
    return folder


@pytest.fixture(scope="module")
def clamd(signatures: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A clamd daemon on a Unix socket with the test database; yields its ``IB_CLAMAV``."""
    binary = shutil.which("clamd") or "/usr/sbin/clamd"
    assert Path(binary).exists(), "clamd missing: make system-deps installs clamav-daemon"
    run = tmp_path_factory.mktemp("clamd")
    sock = run / "clamd.sock"
    conf = run / "clamd.conf"
    conf.write_text(
        f"LocalSocket {sock}\nDatabaseDirectory {signatures}\nForeground yes\n"
        f"LogFile {run / 'clamd.log'}\nPidFile {run / 'clamd.pid'}\n"
    )
    proc = subprocess.Popen(
        [binary, f"--config-file={conf}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(300):
            if sock.exists():
                break
            time.sleep(0.1)
        assert sock.exists(), (
            (run / "clamd.log").read_text() if (run / "clamd.log").exists() else ""
        )
        yield f"clamd://{sock}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_scanner_answers(signatures: Path, clamd: str) -> None:
    """Both ways find EICAR inside a PDF, pass a clean PDF, and never claim a scan they did
    not make."""
    for config, engine in ((f"clamscan:{signatures}", "(clamscan)"), (clamd, "(clamd)")):
        bad = virus_scan.scan(INFECTED, config)
        assert (bad.status, bad.signature) == ("infected", "Eicar-Test-Signature.UNOFFICIAL")
        good = virus_scan.scan(CLEAN, config)
        assert good.status == "clean" and good.engine.startswith("ClamAV ")
        assert good.engine.endswith(engine) and good.scanned_at is not None
    digest = hashlib.sha256((signatures / "test.ndb").read_bytes()).hexdigest()[:12]
    assert virus_scan.scan(CLEAN, f"clamscan:{signatures}").signatures == f"test.ndb {digest}"
    for config in ("", "clamscan:/no/such/folder", "clamd:///no/such.sock", "ftp://x"):
        out = virus_scan.scan(CLEAN, config)
        assert (out.status, out.engine, out.scanned_at) == ("not_scanned", None, None), config
        assert out.note


def _client(app, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app, base_url="https://testserver")
    login(c, username)
    return c


def _upload(c: TestClient, assignment: int, name: str, body: bytes):  # type: ignore[no-untyped-def]
    token = csrf_of(c.get("/programmes/desk").text)
    return c.post(
        f"/programmes/desk/{assignment}/report",
        data={"csrf_token": token},
        files={"file": (name, body, "application/pdf")},
        follow_redirects=False,
    )


def test_report_uploads_are_scanned(
    sqlite_engine: Engine, signatures: Path, clamd: str, monkeypatch: pytest.MonkeyPatch
) -> None:
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
        a = {x.enterprise_id: (x.id, x.provider_id) for x in s.scalars(select(ProgrammeAssignment))}
        (wx_a, _), (nx_a, _) = a[ents[USCC_WX]], a[ents[USCC_NX]]
    app = create_app(Settings(today=TODAY), sqlite_engine)
    prov_a = _client(app, "prov_a")
    prov_b = _client(app, "prov_b")
    mine, other = (
        (wx_a, nx_a)
        if f'id="desk-{wx_a}"' in prov_a.get("/programmes/desk").text
        else (
            nx_a,
            wx_a,
        )
    )

    # clamscan with the test database: the EICAR string inside a PDF is refused
    monkeypatch.setenv("IB_CLAMAV", f"clamscan:{signatures}")
    r = _upload(prov_a, mine, "诊断报告.pdf", INFECTED)
    assert r.status_code == 400 and 'data-code="programmes.report_infected"' in r.text
    assert "诊断报告.pdf" in r.text and "Eicar-Test-Signature.UNOFFICIAL" in r.text
    with Session(sqlite_engine) as s:
        assert s.scalar(select(func.count()).select_from(ProgrammeReportFile)) == 0
        assert s.get(ProgrammeAssignment, mine).delivered_on is None  # nothing happened
        (rec,) = s.scalars(
            select(AuditLog).where(AuditLog.action == "programmes.report_infected")
        ).all()
        assert rec.actor == "prov_a" and rec.object_id == str(mine)
        assert rec.detail["signature"] == "Eicar-Test-Signature.UNOFFICIAL"
        assert rec.detail["sha256"] == hashlib.sha256(INFECTED).hexdigest()
    # a clean PDF is stored as scanned clean with the engine and the signature version
    assert _upload(prov_a, mine, "诊断报告.pdf", CLEAN).status_code == 303
    with Session(sqlite_engine) as s:
        f = s.scalars(select(ProgrammeReportFile)).one()
        digest = hashlib.sha256((signatures / "test.ndb").read_bytes()).hexdigest()[:12]
        assert (f.content, f.scan_status, f.scan_signatures) == (
            CLEAN,
            "clean",
            f"test.ndb {digest}",
        )
        assert f.scan_engine.startswith("ClamAV ") and f.scanned_at is not None and not f.scan_note
    desk = prov_a.get("/programmes/desk").text
    assert f'id="scan-desk-{mine}" data-scan="clean"' in desk and "已通过病毒扫描" in desk
    # the engine and signature version are shown verbatim (the web crawl's language checks pass)
    for lang in ("en", "zh"):
        prov_a.get(f"/lang/{lang}")
        text = visible_text(prov_a.get("/programmes/desk").text)
        assert not problems_of(text, lang, Names.of(sqlite_engine), {"prov_a"}), lang
    r = prov_a.get(f"/programmes/assignments/{mine}/report.pdf")
    assert r.status_code == 200 and r.headers["x-virus-scan"] == "clean"

    # clamd: the same refusal, nothing stored for the other provider's assignment
    monkeypatch.setenv("IB_CLAMAV", clamd)
    r = _upload(prov_b, other, "b.pdf", INFECTED)
    assert (
        r.status_code == 400 and "Eicar-Test-Signature.UNOFFICIAL" in r.text and "b.pdf" in r.text
    )
    # the scanner configured but not answering: stored, marked not scanned — never "clean"
    monkeypatch.setenv("IB_CLAMAV", "clamd:///nonexistent/clamd.ctl")
    assert _upload(prov_b, other, "b.pdf", CLEAN).status_code == 303
    with Session(sqlite_engine) as s:
        f = s.scalars(
            select(ProgrammeReportFile).where(ProgrammeReportFile.assignment_id == other)
        ).one()
        assert (f.scan_status, f.scan_engine, f.scanned_at) == ("not_scanned", None, None)
        assert "clamd unavailable" in f.scan_note
    # no scanner configured: the replacing upload of the first report is marked not scanned
    monkeypatch.delenv("IB_CLAMAV")
    assert _upload(prov_a, mine, "诊断报告（修订）.pdf", CLEAN + b"% v2\n").status_code == 303
    with Session(sqlite_engine) as s:
        f = s.scalars(
            select(ProgrammeReportFile).where(ProgrammeReportFile.assignment_id == mine)
        ).one()
        assert (f.scan_status, f.scan_note, f.scan_engine) == (
            "not_scanned",
            "not configured",
            None,
        )
        infected = s.scalar(
            select(func.count()).where(AuditLog.action == "programmes.report_infected")
        )
        assert infected == 2
    # every page offering the download shows the mark: the provider's desk, the officer's
    # assignments, the enterprise's portal; the download says so in a header
    firm = "ent_wx" if mine == wx_a else "ent_nx"
    pages = {
        "prov_a": ("/programmes/desk", f"scan-desk-{mine}"),
        "city": ("/programmes", f"scan-assignment-{mine}"),
        firm: ("/portal", f"scan-portal-{mine}"),
    }
    for who, (page, mark) in pages.items():
        c = prov_a if who == "prov_a" else _client(app, who)
        text = c.get(page).text
        assert f'id="{mark}" data-scan="not-scanned"' in text and "未经病毒扫描" in text, who
        c.get("/lang/en")
        assert "not virus-scanned" in c.get(page).text, who
        r = c.get(f"/programmes/assignments/{mine}/report.pdf")
        assert r.status_code == 200 and r.headers["x-virus-scan"] == "not-scanned", who
