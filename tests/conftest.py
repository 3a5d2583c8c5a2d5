"""Shared fixtures.

- ``pg_server`` (session): one throwaway PostgreSQL server for the whole run (fails, never skips,
  when PostgreSQL is not installed: ``make test`` installs it).
- ``db_url``: a fresh, empty database per test, parametrised ``sqlite`` / ``postgresql``
  (the PostgreSQL param carries the ``postgres`` marker, so ``-m "not postgres"`` runs SQLite only).
- ``engine``: an engine on ``db_url`` with the migrations and reference data applied.
- ``sqlite_engine``: the same on SQLite only, for tests that need one backend.
- ``session``: an ORM session on ``engine``, closed at teardown.
- ``_isolated_env`` (autouse): ``IB_DATA_DIR`` points to a temp dir, ``IB_DATABASE_URL`` and
  ``IB_PARAMETERS_DIR`` are unset and the parameter and engine caches are cleared around each test.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.store import db, migrate
from tests import asgi_portal, pgserver, testjvm

testjvm.use()  # the tests' Spark JVMs: C1 and the serial collector (tests/testjvm.py)
asgi_portal.use()  # one event loop for the in-process requests (tests/asgi_portal.py)


def _clear_caches() -> None:
    parameters._cached.cache_clear()
    db.engine_for.cache_clear()


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Every test sees its own data dir, the default database and freshly loaded parameters."""
    data = tmp_path_factory.mktemp("ib-data")
    monkeypatch.setenv("IB_DATA_DIR", str(data))
    monkeypatch.delenv("IB_DATABASE_URL", raising=False)
    monkeypatch.delenv("IB_PARAMETERS_DIR", raising=False)
    monkeypatch.delenv("IB_JURISDICTION", raising=False)
    _clear_caches()
    yield data
    _clear_caches()


def _start_pg_server() -> pgserver.PgServer:
    """Start the server with its data directory in RAM (/dev/shm) when there is room.

    On a disk, each CREATE DATABASE costs 150-300 ms; on tmpfs about 12 ms.
    """
    saved = tempfile.tempdir
    shm = Path("/dev/shm")
    try:
        if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 2**30:
            tempfile.tempdir = str(shm)
        return pgserver.start()
    finally:
        tempfile.tempdir = saved


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgserver.PgServer]:
    """One throwaway PostgreSQL server (fsync off) for the session."""
    if not pgserver.available():
        pytest.fail(
            "PostgreSQL is not installed: tests run on SQLite and PostgreSQL. "
            "Install it with `make system-deps` (Debian package `postgresql`) or run `make test`.",
            pytrace=False,
        )
    server = _start_pg_server()
    try:
        yield server
    finally:
        server.stop()


def _admin(server: pgserver.PgServer):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(
        f"host=127.0.0.1 port={server.port} user=app dbname=postgres", autocommit=True
    )


def _create_database(server: pgserver.PgServer, name: str, template: str | None = None) -> str:
    # STRATEGY FILE_COPY: ~15 ms instead of ~230 ms for the default WAL_LOG (fsync is off).
    source = f' TEMPLATE "{template}"' if template else ""
    with _admin(server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{source} STRATEGY FILE_COPY')
    return f"postgresql+psycopg://app@127.0.0.1:{server.port}/{name}"


def _drop_database(server: pgserver.PgServer, name: str) -> None:
    with _admin(server) as conn:
        # FORCE ends connections a test may have left open (engines not disposed).
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    ids=["sqlite", "postgresql"],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, empty database (SQLite file in tmp_path, or a new PostgreSQL database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite'}"
        return
    server: pgserver.PgServer = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = _create_database(server, name)
    try:
        yield url
    finally:
        db.engine_for.cache_clear()
        _drop_database(server, name)


def _migrated(url: str) -> Iterator[Engine]:
    engine = db.make_engine(url)
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each ``engine`` (a copy takes ~1 ms, a migration ~100)."""
    path = tmp_path_factory.mktemp("ib-template") / "template.sqlite"
    for _ in _migrated(f"sqlite:///{path}"):
        pass
    return path


@pytest.fixture(scope="session")
def _pg_template(pg_server: pgserver.PgServer) -> str:
    """A migrated PostgreSQL database used as the TEMPLATE of each ``engine``'s database."""
    name = f"ib_template_{uuid.uuid4().hex[:8]}"
    for _ in _migrated(_create_database(pg_server, name)):
        pass
    return name


def _fill_from_template(request: pytest.FixtureRequest, url: str) -> None:
    """Replace the empty database at ``url`` by a copy of the migrated template (same URL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        template = request.getfixturevalue("_sqlite_template")
        with (
            closing(sqlite3.connect(template)) as src,
            closing(sqlite3.connect(parsed.database)) as dst,
        ):
            src.backup(dst)
        return
    server: pgserver.PgServer = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("_pg_template")
    _drop_database(server, parsed.database)
    _create_database(server, parsed.database, template)


def _filled(request: pytest.FixtureRequest, url: str) -> Iterator[Engine]:
    """An engine on ``url`` filled from the migrated template: a byte copy (SQLite backup,
    PostgreSQL ``TEMPLATE``) of the state ``migrate.upgrade`` leaves — head revision, reference
    data — without running ``migrate.upgrade`` again, a no-op that still loads every migration
    script (median 0.12 s measured, on ~600 tests)."""
    _fill_from_template(request, url)
    engine = db.make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def engine(request: pytest.FixtureRequest, db_url: str) -> Iterator[Engine]:
    """Engine on ``db_url`` with migrations and reference data applied (a copy of the migrated
    template, see :func:`_filled`); disposed at teardown."""
    yield from _filled(request, db_url)


@pytest.fixture
def sqlite_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite engine (for tests that need only one backend)."""
    yield from _filled(request, f"sqlite:///{tmp_path / 'sqlite_only.sqlite'}")


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """An ORM session on ``engine`` (rolled back and closed at teardown)."""
    with Session(engine) as s:
        yield s
        s.rollback()


_SPARK_MODULES: dict[Path, bool] = {}
OWN_GROUP = "worker group: own"


def _uses_spark(path: Path) -> bool:
    if path not in _SPARK_MODULES:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        # a module whose Spark driver runs in a subprocess says so and keeps its own group
        _SPARK_MODULES[path] = "pyspark" in text and OWN_GROUP not in text
    return _SPARK_MODULES[path]


def worker_group(rootpath: Path, nodeid: str) -> str:
    """The worker group of a test under ``make test`` (two xdist workers): a module's tests stay
    together (its module fixtures are built once), all browser tests share one worker (one demo
    site per store) and all PySpark tests another (one JVM)."""
    module = nodeid.split("::", 1)[0]
    path = rootpath / module
    if "e2e" in path.parts:
        return "e2e"
    if _uses_spark(path):
        return "spark"
    return module


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """With ``--dist loadscope``, schedule by :func:`worker_group` instead of by module (xdist's
    ``xdist_group`` marks do not reach the node ids under pytest 9)."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(config.rootpath, nodeid)

    return GroupScheduling(config, log)
