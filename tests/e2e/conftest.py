"""Browser tests: a real uvicorn server on 127.0.0.1 (in a thread) over a small demo store,
driven by Playwright with Debian's Chromium. Screenshots go to ``test-artifacts/``.

``site`` (session) is parametrised over the store, ``sqlite`` and ``postgresql`` (a database on
the session's one throwaway server, ``pg_server``; the param carries the ``postgres`` marker), so
every test that takes it runs on SQLite; on PostgreSQL only the tests marked ``pg_browser`` (see
:func:`pytest_collection_modifyitems`; ``IB_TEST_PG_BROWSER=all`` runs every one on both).
The demo is the whole main job, every service's hook included, so domain pages have their data:
the run's shared small demo (``tests/shared_demo.py``, built once for all modules on SQLite),
privately copied for each store — on PostgreSQL copied onto a new database with
``industry_brain.store.copy`` (``industry-brain store copy``) in ~15 s instead of running the
main job again on it (~2 min; the main job on PostgreSQL is tested by tests/test_province.py).
Its files (the carbon signing key, uploads…) live in the site's own data dir, a copy of the
build's: ``IB_DATA_DIR`` points there during each test that uses ``site``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import uvicorn
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.demo.constants import DEMO_TODAY
from industry_brain.store.copy import copy_store
from industry_brain.store.db import make_engine
from industry_brain.store.models import AgentAssignment, Enterprise, User
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests import pgserver
from tests.shared_demo import shared_demo_dir, small_demo

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests run on PostgreSQL only when marked ``pg_browser``: a smoke set (each role's
    landing page, web imports, the project pages' writes and two language crawls). What the
    PostgreSQL store does behind every route is tested over HTTP on both stores
    (tests/test_web*.py, tests/security/test_web_matrix.py …); the pages a browser drives do not
    depend on the store, and running all ~90 of them twice cost about 6 minutes of the suite.
    The others are deselected (pytest's summary counts them); ``IB_TEST_PG_BROWSER=all`` keeps
    every one."""
    if os.environ.get("IB_TEST_PG_BROWSER") == "all":
        return
    here = Path(__file__).resolve().parent
    keep, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if (
            callspec is not None
            and callspec.params.get("site") == "postgresql"
            and here in Path(item.path).resolve().parents
            and item.get_closest_marker("pg_browser") is None
        ):
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is not installed (apt-get install chromium)", pytrace=False)
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args() -> dict:
    return {"viewport": {"width": 1400, "height": 1000}, "locale": "zh-CN"}


#: store → seconds the demo build took (printed at the end of the run)
BUILD_SECONDS: dict[str, float] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if BUILD_SECONDS:
        built = ", ".join(f"{store} {s:.1f} s" for store, s in BUILD_SECONDS.items())
        terminalreporter.write_line(f"e2e demo stores (copies of the shared small demo): {built}")


@dataclass
class Site:
    store: str  # "sqlite" or "postgresql"
    url: str
    demo_dir: Path
    data_dir: Path  # IB_DATA_DIR of the site (carbon keys, uploads)
    users: dict[str, str]  # role key → username
    usccs: dict[str, str]  # what → USCC
    setup_seconds: float  # getting the demo store (a copy of the shared build)
    store_url: str = ""  # the demo store (tests that read it directly)

    def artifact(self, name: str) -> Path:
        """Where the screenshot ``name`` of this store goes (both stores' shots are kept)."""
        return ARTIFACTS / f"{name}-{self.store}.png"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _store_url(request: pytest.FixtureRequest, store: str, root: Path) -> Iterator[str]:
    """A fresh, empty store: a SQLite file under ``root`` or a new database on ``pg_server``."""
    if store == "sqlite":
        yield f"sqlite:///{root / 'store.sqlite'}"
        return
    server: pgserver.PgServer = request.getfixturevalue("pg_server")
    name = f"e2e_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    try:
        yield url
    finally:
        with psycopg.connect(
            f"host=127.0.0.1 port={server.port} user=app dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _people(engine: Engine) -> tuple[dict[str, str], dict[str, str]]:
    """Usernames per role and USCCs the tests need, from the demo store."""
    with Session(engine) as s:
        county = s.scalars(
            select(User).where(User.role == "county_officer").order_by(User.id)
        ).first()
        agent = s.scalars(
            select(User)
            .where(
                User.role == "agent",
                User.id.in_(select(AgentAssignment.user_id)),
            )
            .order_by(User.id)
        ).first()
        ent_user = s.scalars(
            select(User).where(User.role == "enterprise").order_by(User.id)
        ).first()
        bank = s.scalars(select(User).where(User.role == "bank").order_by(User.id)).first()
        # the market's provider user (provider_01 of the demo), when that service is installed
        provider = s.scalars(
            select(User).where(User.role == "provider").order_by(User.username)
        ).first()
        own = s.get(Enterprise, ent_user.enterprise_id)
        other_county = s.scalars(
            select(Enterprise)
            .where(Enterprise.county_code != county.county_code)
            .order_by(Enterprise.id)
        ).first()
        same_county = s.scalars(
            select(Enterprise)
            .where(Enterprise.county_code == county.county_code)
            .order_by(Enterprise.id)
        ).first()
        other_ent = s.scalars(
            select(Enterprise).where(Enterprise.id != own.id).order_by(Enterprise.id)
        ).first()
        users = {
            "admin": "admin",
            "city_officer": "city_officer_01",
            "county_officer": county.username,
            "agent": agent.username,
            "enterprise": ent_user.username,
            "bank": bank.username,
        }
        if provider is not None:
            users["provider"] = provider.username
        usccs = {
            "own": own.uscc,
            "other": other_ent.uscc,
            "other_county": other_county.uscc,
            "same_county": same_county.uscc,
        }
    return users, usccs


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    ids=["sqlite", "postgresql"],
)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The demo site of one store (``sqlite`` / ``postgresql``), built once per session."""
    store: str = request.param
    started = time.monotonic()
    # the run's shared small demo (built once for every module): a private SQLite copy
    _run, url, folder = small_demo(tmp_path_factory, f"e2e-{store}")
    demo_dir = shared_demo_dir(tmp_path_factory)
    if store == "sqlite":
        BUILD_SECONDS[store] = time.monotonic() - started
        engine = make_engine(url)
        try:
            yield from _serve_built(store, engine, demo_dir, folder / "data")
        finally:
            engine.dispose()
        return
    # PostgreSQL: that store copied onto a new database (`industry-brain store copy`); the main
    # job itself on PostgreSQL is tested by tests/test_province.py and tests/test_contract.py
    with _store_url(request, store, folder) as pg_url:
        source, engine = make_engine(url), make_engine(pg_url)
        try:
            copy_store(source, engine)
            source.dispose()
            BUILD_SECONDS[store] = time.monotonic() - started
            yield from _serve_built(store, engine, demo_dir, folder / "data")
        finally:
            source.dispose()
            engine.dispose()


def _serve_built(store: str, engine: Engine, demo_dir: Path, data: Path) -> Iterator[Site]:
    """Serve a store with the demo built on it with uvicorn in a thread while the tests run."""
    seconds = BUILD_SECONDS[store]
    users, usccs = _people(engine)
    # plain HTTP on loopback in tests: Secure cookies would need TLS; the platform replays the
    # demo's day (IB_TODAY), whatever the real date, as a bureau replaying the demo would
    app = create_app(Settings(cookie_secure=False, today=DEMO_TODAY), engine)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("uvicorn did not start", pytrace=False)
            time.sleep(0.05)
        ARTIFACTS.mkdir(exist_ok=True)
        yield Site(
            store,
            f"http://127.0.0.1:{port}",
            demo_dir,
            data,
            users,
            usccs,
            seconds,
            engine.url.render_as_string(hide_password=False),
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(autouse=True)
def _site_data_dir(
    request: pytest.FixtureRequest, _isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test on ``site`` sees the site's data dir (the server reads ``IB_DATA_DIR`` per
    request: the carbon key that signed the demo's codes, uploads), not its own temp dir."""
    if "site" in request.fixturenames:
        site: Site = request.getfixturevalue("site")
        monkeypatch.setenv("IB_DATA_DIR", str(site.data_dir))
