"""20 concurrent real imports against ``industry-brain serve --workers 2`` on SQLite (issue 13
point 19): writers queue behind the store's import lock — no 500, every import done (or a clear
503 ``store.busy`` with ``Retry-After`` when the wait exceeds ``IB_IMPORT_WAIT_SECONDS``) — and
the reads made meanwhile never fail."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.store import db
from industry_brain.store.models import ImportBatch, User
from industry_brain.web import auth
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.reliability.webserver import serve
from tests.web_fixtures import USCC_NX, USCC_WX, seed

IMPORTS = 20


def _tax_file(n: int) -> bytes:
    """A small tax file; each one different (else the second is a duplicate)."""
    rows = [
        "纳税人识别号,纳税人名称,所属年度,实缴税金",
        f"{USCC_WX},湖州甲机械有限公司,2024,{1000 + n}",
        f"{USCC_NX},湖州乙纺织有限公司,2024,{2000 + n}",
    ]
    return ("\n".join(rows) + "\n").encode("utf-8")


def _run(base: str, token: str) -> tuple[list[httpx.Response], list[int]]:
    bearer = {"Authorization": f"Bearer {token}"}
    reads: list[int] = []
    stop = threading.Event()

    def read() -> None:
        with httpx.Client(base_url=base, timeout=60) as c:
            while not stop.is_set():
                reads.append(c.get("/api/v1/enterprises", headers=bearer).status_code)
                reads.append(c.get("/api/v1/me", headers=bearer).status_code)

    def post(n: int) -> httpx.Response:
        with httpx.Client(base_url=base, timeout=120) as c:
            return c.post(
                "/api/v1/imports",
                headers=bearer,
                data={"kind": "tax", "accept_valid": "true"},
                files={"file": (f"tax_{n}.csv", _tax_file(n), "text/csv")},
            )

    reader = threading.Thread(target=read)
    reader.start()
    try:
        with ThreadPoolExecutor(IMPORTS) as pool:
            answers = list(pool.map(post, range(IMPORTS)))
    finally:
        stop.set()
        reader.join(timeout=120)
    return answers, reads


def test_twenty_concurrent_imports_queue_without_500(sqlite_engine: Engine, tmp_path: Path) -> None:
    engine = sqlite_engine
    url = engine.url.render_as_string(hide_password=False)
    seed(engine)
    with Session(engine) as s:
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        token = auth.create_api_token(s, admin.id, "load")
        s.commit()
    data = tmp_path / "data"
    data.mkdir()
    with serve(url, data, workers=2, extra_env={"IB_IMPORT_WAIT_SECONDS": "120"}) as base:
        answers, reads = _run(base, token)
    statuses = [r.status_code for r in answers]
    assert 500 not in statuses and set(statuses) == {200}, [
        (r.status_code, r.text[:200]) for r in answers if r.status_code != 200
    ]
    assert reads and set(reads) == {200}, sorted(set(reads))
    with Session(engine) as s:
        batches = s.scalar(
            select(func.count()).select_from(ImportBatch).where(ImportBatch.kind == "tax")
        )
    assert batches == IMPORTS


def test_an_import_waiting_longer_than_the_setting_gets_503_store_busy(
    sqlite_engine: Engine,
) -> None:
    engine = sqlite_engine
    seed(engine)
    with Session(engine) as s:
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        token = auth.create_api_token(s, admin.id, "busy")
        s.commit()
    app = create_app(Settings(import_wait_seconds=0.5), engine)
    bearer = {"Authorization": f"Bearer {token}"}
    with (
        TestClient(app, base_url="https://testserver") as client,
        db.writer_lock(engine, wait_seconds=5),  # another import holds the store
    ):
        r = client.post(
            "/api/v1/imports",
            headers=bearer,
            data={"kind": "tax"},
            files={"file": ("tax.csv", _tax_file(0), "text/csv")},
        )
        assert r.status_code == 503 and r.json()["code"] == "store.busy", r.text
        assert r.headers["retry-after"] and r.json()["en"] and r.headers["x-request-id"]
        assert client.get("/api/v1/me", headers=bearer).status_code == 200  # reads go on
