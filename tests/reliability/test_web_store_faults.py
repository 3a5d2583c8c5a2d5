"""Store faults under a real ``industry-brain serve`` (issue 13 point 7): while the store cannot
be written the platform answers 503 ``store.unavailable`` (zh/en) and ``/healthz`` says 503;
once the fault is gone it recovers without a restart. SQLite: a read-only data directory;
PostgreSQL: the database server stopped and started under load."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from industry_brain.store import db, migrate
from industry_brain.store.models import User
from industry_brain.web import auth
from tests import pgserver
from tests.reliability.webserver import serve, without_root_override
from tests.web_fixtures import PASSWORD, csrf_of, seed


def _prepare(url: str, migrated: bool = False) -> str:
    """Migrate (unless ``migrated``) and seed the store at ``url``; returns an admin's platform
    token."""
    engine = db.make_engine(url)
    try:
        if not migrated:
            migrate.upgrade(engine)
        seed(engine)
        with Session(engine) as s:
            admin = s.query(User).filter_by(username="admin").one()
            token = auth.create_api_token(s, admin.id, "fault test")
            s.commit()
        return token
    finally:
        engine.dispose()


def _chmod_tree(folder: Path, writable: bool) -> None:
    for path in [folder, *folder.iterdir()]:
        if path.is_dir():
            path.chmod(0o755 if writable else 0o555)
        else:
            path.chmod(0o644 if writable else 0o444)


def _login(client: httpx.Client) -> httpx.Response:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login", data={"username": "city", "password": PASSWORD, "csrf_token": token}
    )


def test_read_only_sqlite_store_answers_503_then_recovers_without_restart(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    target = store / "industry_brain.sqlite"
    with (  # a copy of the migrated test store, in a directory of its own
        closing(sqlite3.connect(sqlite_engine.url.database)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)
    url = f"sqlite:///{target}"
    token = _prepare(url, migrated=True)
    data = tmp_path / "data"
    data.mkdir()
    bearer = {"Authorization": f"Bearer {token}"}
    _chmod_tree(store, writable=False)  # the fault: files and directory read-only
    try:
        with serve(url, data, prefix=without_root_override()) as base:
            c = httpx.Client(base_url=base, timeout=30)
            for _ in range(2):
                r = c.get("/healthz")
                assert r.status_code == 503 and r.json()["code"] == "store.unavailable", r.text
                assert r.json()["zh"] and r.json()["en"] and r.headers["retry-after"]
                r = c.get("/api/v1/me", headers=bearer)
                assert r.status_code == 503 and r.json()["code"] == "store.unavailable"
                r = _login(c)
                assert r.status_code == 503 and 'data-status="503"' in r.text
                assert r.headers["x-request-id"]
            _chmod_tree(store, writable=True)  # the fault ends: no restart
            deadline = time.monotonic() + 20
            while c.get("/healthz").status_code != 200:
                assert time.monotonic() < deadline, "no recovery"
                time.sleep(0.5)
            assert c.get("/api/v1/me", headers=bearer).json()["username"] == "admin"
            assert _login(c).status_code == 303  # signed in
            assert c.get("/api/v1/me").json()["username"] == "city"
    finally:
        _chmod_tree(store, writable=True)


@pytest.mark.postgres
def test_postgresql_restart_under_load_answers_503_then_recovers(tmp_path: Path) -> None:
    if not pgserver.available():
        pytest.fail("PostgreSQL is not installed (make system-deps)", pytrace=False)
    server = pgserver.start()  # our own server: this test stops and starts it
    data_dir = server.root / "data"
    opts = (
        f"-c listen_addresses=127.0.0.1 -p {server.port} "
        f"-c unix_socket_directories={server.root} -c fsync=off"
    )
    try:
        url = server.create_database("faults")
        token = _prepare(url)
        data = tmp_path / "data"
        data.mkdir()
        statuses: Counter[int] = Counter()
        stop = threading.Event()

        def load(base: str) -> None:
            with httpx.Client(base_url=base, timeout=30) as c:
                while not stop.is_set():
                    for path in ("/api/v1/me", "/healthz"):
                        try:
                            r = c.get(path, headers={"Authorization": f"Bearer {token}"})
                            statuses[r.status_code] += 1
                            if r.status_code == 503:
                                assert r.json()["code"] == "store.unavailable"
                        except httpx.TransportError:
                            statuses[0] += 1
                    time.sleep(0.02)

        with serve(url, data, workers=2) as base:
            threads = [threading.Thread(target=load, args=(base,)) for _ in range(4)]
            for t in threads:
                t.start()
            time.sleep(2)
            server._run("pg_ctl", "-D", str(data_dir), "-m", "fast", "-w", "stop")
            time.sleep(3)
            server._run(
                "pg_ctl",
                "-D",
                str(data_dir),
                "-l",
                str(server.root / "log"),
                "-w",
                "-o",
                opts,
                "start",
            )
            deadline = time.monotonic() + 30
            c = httpx.Client(base_url=base, timeout=30)
            while c.get("/healthz").status_code != 200:
                assert time.monotonic() < deadline, "no recovery after the restart"
                time.sleep(0.5)
            time.sleep(1)
            stop.set()
            for t in threads:
                t.join(timeout=60)
            ok = [
                c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}) for _ in range(10)
            ]
        assert all(r.status_code == 200 for r in ok), [r.status_code for r in ok]
        assert statuses[500] == 0 and statuses[0] == 0, statuses
        assert statuses[503] > 0 and statuses[200] > 0, statuses
    finally:
        server.stop()
