"""Settings and store checked before anything runs (``core.env``, ``checkup``, ``store.migrate``):
a bad ``IB_*`` value, a store never upgraded, one older or newer than the code, or one that
cannot be reached is refused in Chinese and English naming what is wrong — never a traceback,
never a silent default — by ``industry-brain check``, by ``serve`` before it starts, and by any
command that failed on the store."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from industry_brain import checkup
from industry_brain.core import env
from industry_brain.core.errors import ValidationError
from industry_brain.store import migrate
from industry_brain.store.db import make_engine
from industry_brain.web.settings import Settings
from tests.cli_inproc import EXE, run_cli

SETTINGS = (
    "IB_COOKIE_SECURE", "IB_SESSION_HOURS", "IB_LOGIN_MAX_FAILURES", "IB_TRUSTED_PROXIES",
    "IB_IMPORT_WAIT_SECONDS", "IB_DEFAULT_LANG", "IB_LOG_LEVEL", "IB_UPLOAD_MAX_MB",
    "IB_TIMEZONE", "IB_COCKPIT_WARM_SECONDS", "IB_TODAY", "IB_IMPORT_WORKERS",
    "IB_IMPORT_STREAM_FROM", "IB_WEB_CACHE_ENTRIES", "IB_IDS_CACHE_SECONDS", "IB_DB_POOL_SIZE",
    "IB_JURISDICTION", "IB_SNAPSHOT_URI", "IB_CLAMAV",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _clean_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


def _refused(read, name: str, value: str) -> ValidationError:  # type: ignore[no-untyped-def]
    os.environ[name] = value
    try:
        with pytest.raises(ValidationError) as info:
            read()
    finally:
        del os.environ[name]
    problem = info.value.problem
    assert (problem.code, problem.location.field) == ("settings.invalid", name)
    assert value in problem.zh and "无效" in problem.zh
    assert repr(value) in problem.en and "expected" in problem.en
    return info.value


def test_each_reader_takes_its_values_and_refuses_the_rest(monkeypatch) -> None:
    monkeypatch.setenv("IB_X", " 12 ")
    assert env.integer("IB_X", 3, minimum=1) == 12 and env.number("IB_X", 1.0) == 12.0
    monkeypatch.setenv("IB_X", "")
    assert env.integer("IB_X", 3) == 3 and env.flag("IB_X", True) is True  # empty: default
    for value, meant in (("1", True), ("Yes", True), ("on", True), ("0", False), ("OFF", False)):
        monkeypatch.setenv("IB_X", value)
        assert env.flag("IB_X", not meant) is meant
    monkeypatch.delenv("IB_X")
    assert (
        "whole number of at least 1"
        in _refused(lambda: env.integer("IB_X", 3, minimum=1), "IB_X", "0").en
    )
    _refused(lambda: env.integer("IB_X", 3), "IB_X", "3.5")
    for bad in ("nan", "inf", "-1", "soon"):
        _refused(lambda: env.number("IB_X", 1.0, minimum=0), "IB_X", bad)
    # a typo is not "no": IB_COOKIE_SECURE=ture must not turn the Secure flag off
    _refused(lambda: env.flag("IB_X", True), "IB_X", "ture")
    _refused(lambda: env.choice("IB_X", "zh", ("zh", "en")), "IB_X", "fr")
    _refused(lambda: env.iso_date("IB_X"), "IB_X", "2026-13-01")
    _refused(lambda: env.zone("IB_X", "Asia/Shanghai"), "IB_X", "Mars/Base")
    monkeypatch.setenv("IB_X", "debug")
    assert env.choice("IB_X", "INFO", env.LOG_LEVELS, upper=True) == "DEBUG"
    monkeypatch.setenv("IB_TODAY", "2026-11-27")
    assert env.today() == date(2026, 11, 27)


def test_the_web_settings_report_every_bad_value_at_once(monkeypatch) -> None:
    bad = {
        "IB_COOKIE_SECURE": "ture",
        "IB_SESSION_HOURS": "0",
        "IB_TRUSTED_PROXIES": "127.0.0.1,proxy",
        "IB_DEFAULT_LANG": "fr",  # was silently replaced by zh
        "IB_TIMEZONE": "Asia/Beijing",  # no such zone
        "IB_TODAY": "27/11/2026",
    }
    for name, value in bad.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(env.SettingsError) as info:
        Settings.from_env()
    assert [p.location.field for p in info.value.problems] == list(bad)
    for name in bad:
        monkeypatch.delenv(name)
    monkeypatch.setenv("IB_COOKIE_SECURE", "off")
    monkeypatch.setenv("IB_LOG_LEVEL", "warning")
    monkeypatch.setenv("IB_TODAY", "2026-11-27")
    settings = Settings.from_env()
    assert (settings.cookie_secure, settings.log_level) == (False, "WARNING")
    assert settings.today == date(2026, 11, 27)


def test_settings_problems_cover_the_settings_read_outside_the_web(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert checkup.settings_problems() == []
    bad = {
        "IB_IMPORT_WORKERS": "two",
        "IB_IMPORT_STREAM_FROM": "-5",
        "IB_WEB_CACHE_ENTRIES": "0",
        "IB_IDS_CACHE_SECONDS": "soon",
        "IB_DB_POOL_SIZE": "many",
        "IB_JURISDICTION": "33",
        "IB_SNAPSHOT_URI": "ftp://host/snapshots",
        "IB_UPLOAD_MAX_MB": "0",
        "IB_CLAMAV": "clamd:/run/clamav/clamd.ctl",  # one slash: would scan nothing, silently
    }
    for name, value in bad.items():
        monkeypatch.setenv(name, value)
    found = {p.location.field: p for p in checkup.settings_problems()}
    assert set(found) == set(bad)
    assert "off" in found["IB_IMPORT_STREAM_FROM"].en  # the other accepted value is named
    assert all(p.zh and p.en for p in found.values())
    # the services' own settings (contract hook ib_settings_check): a database folder that
    # does not exist, and the accepted forms
    monkeypatch.setenv("IB_CLAMAV", f"clamscan:{tmp_path / 'nowhere'}")
    assert "existing database folder" in checkup.settings_problems()[-1].en
    for name in bad:
        monkeypatch.delenv(name)
    for good in ("clamd:///run/clamav/clamd.ctl", "clamd://127.0.0.1:3310", "clamscan:"):
        monkeypatch.setenv("IB_CLAMAV", good)
        assert checkup.settings_problems() == []


def _at(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_the_schema_state_of_a_store(db_url: str) -> None:
    """Empty, current, outdated (an older revision of this code's history), newer (a revision
    this code does not know); on SQLite and PostgreSQL."""
    engine = make_engine(db_url)
    try:
        state = migrate.schema_state(engine)
        assert (state.status, state.store) == ("empty", ())
        head = state.code
        with pytest.raises(ValidationError) as info:
            migrate.require_current(engine)
        assert info.value.code == "store.not_migrated" and "db upgrade" in info.value.en
        migrate.upgrade(engine)
        assert migrate.schema_state(engine).status == "current"
        migrate.require_current(engine)  # nothing to say
        _at(engine, "0030_facts_period_check")
        state = migrate.schema_state(engine)
        assert (state.status, state.store, state.code) == (
            "outdated",
            ("0030_facts_period_check",),
            head,
        )
        with pytest.raises(ValidationError) as info:
            migrate.require_current(engine)
        assert info.value.code == "store.outdated"
        assert "0030_facts_period_check" in info.value.zh and "db upgrade" in info.value.en
        _at(engine, "0999_from_a_later_release")
        assert migrate.schema_state(engine).status == "newer"
        assert migrate.schema_state(engine).problem().code == "store.newer"
    finally:
        engine.dispose()


def _script(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(EXE), *args],
        env={**os.environ, "COLUMNS": "200", **env_extra},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_command_on_a_store_never_upgraded_says_so(tmp_path: Path) -> None:
    """The real console script: the import's failed statement ("no such table") is explained
    by the store's state, exit 2, no traceback."""
    csv = tmp_path / "power.csv"
    csv.write_text(
        "户号,户名,统一社会信用代码,月份,用电量(千瓦时)\n"
        "3300000001,测试有限公司,91330502MA2B3C4D5E,2025年1月,100\n",
        encoding="utf-8",
    )
    empty = {"IB_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite'}"}
    done = _script(["import", "power", str(csv)], {**empty, "IB_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "[store.not_migrated]" in done.stderr and "industry-brain db upgrade" in done.stderr
    assert "数据库尚未初始化" in done.stderr


def test_check_and_serve_refuse_bad_settings_and_an_outdated_store(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    base = {"IB_DATABASE_URL": url, "IB_DATA_DIR": str(tmp_path)}
    ready = run_cli(["check", "--json"], base)
    assert ready.returncode == 0, ready.stderr
    report = json.loads(ready.stdout)
    assert report["ok"] is True and report["problems"] == []
    assert report["schema"]["status"] == "current"
    _at(sqlite_engine, "0030_facts_period_check")
    outdated = run_cli(["check", "--json"], base)
    assert outdated.returncode == 2
    assert [p["code"] for p in json.loads(outdated.stdout)["problems"]] == ["store.outdated"]
    # the servers: refused before uvicorn starts (the real script; it would otherwise listen)
    bad = {**base, "IB_COOKIE_SECURE": "ture", "IB_SESSION_HOURS": "eight"}
    for server in (["serve"], ["ids", "serve"], ["carbon", "serve"]):
        done = _script([*server, "--port", "9"], bad)
        assert done.returncode == 2 and "Traceback" not in done.stderr, server
        for needle in ("IB_COOKIE_SECURE", "IB_SESSION_HOURS", "store.outdated", "ture"):
            assert needle in done.stderr, (server, needle)
        assert "http://" not in done.stdout + done.stderr  # never announced an address


def test_an_unreachable_store_is_named_without_its_password(tmp_path: Path) -> None:
    closed = "postgresql://app:s3cret@127.0.0.1:9/none"  # port 9 (discard): nothing listens
    done = run_cli(["check", "--json"], {"IB_DATABASE_URL": closed, "IB_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2
    report = json.loads(done.stdout)
    (problem,) = report["problems"]
    assert problem["code"] == checkup.UNAVAILABLE and "127.0.0.1:9" in problem["en"]
    assert "s3cret" not in done.stdout + done.stderr and "***" in report["store"]


def test_the_command_line_keeps_the_platforms_today(tmp_path: Path) -> None:
    """``IB_TODAY`` is the platform's today for the commands' defaults too (the web's day),
    and a bad one is refused, not replaced by the real date."""
    base = {"IB_DATA_DIR": str(tmp_path), "IB_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    done = run_cli(["params", "show", "ingest", "--json"], {**base, "IB_TODAY": "2019-06-01"})
    assert done.returncode == 0 and json.loads(done.stdout)["on"] == "2019-06-01"
    bad = run_cli(["params", "show", "ingest", "--json"], {**base, "IB_TODAY": "June 1st"})
    assert bad.returncode != 0 and "IB_TODAY" in bad.stderr and "June 1st" in bad.stderr


def test_an_evaluation_without_enterprises_publishes_nothing(sqlite_engine: Engine, tmp_path):
    """亩均 and 五企培育 of a year the store holds no enterprise of: refused in Chinese and
    English (was a KeyError traceback after an empty run had been stored)."""
    from sqlalchemy import func, select

    from industry_brain.domains.mujun.models import MujunRun
    from industry_brain.domains.tiers.models import TiersRun

    url = sqlite_engine.url.render_as_string(hide_password=False)
    base = {"IB_DATABASE_URL": url, "IB_DATA_DIR": str(tmp_path)}
    for service, code in (("mujun", "mujun.no_enterprises"), ("tiers", "tiers.no_enterprises")):
        done = run_cli([service, "evaluate", "--year", "2025"], base)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-1500:]
        assert f"[{code}]" in done.stderr and "2025 年没有可评价的企业" in done.stderr
    with sqlite_engine.connect() as conn:
        for model in (MujunRun, TiersRun):
            assert conn.scalar(select(func.count()).select_from(model)) == 0


def test_a_server_worker_does_not_boot_on_a_store_never_upgraded(tmp_path, monkeypatch):
    """The worker factory (``web.app:serve_app``) checks the schema itself: a process manager
    other than ``serve`` cannot start the platform on a store without it."""
    from industry_brain.store import db
    from industry_brain.web.app import serve_app

    monkeypatch.setenv("IB_DATABASE_URL", f"sqlite:///{tmp_path / 'never.sqlite'}")
    monkeypatch.setenv("IB_DATA_DIR", str(tmp_path))
    db.engine_for.cache_clear()
    try:
        with pytest.raises(RuntimeError, match=r"store\.not_migrated"):
            serve_app()
    finally:
        db.engine_for.cache_clear()


def test_a_store_url_of_another_database_is_refused_before_use(tmp_path: Path) -> None:
    """``IB_DATABASE_URL`` must be SQLite or PostgreSQL: refused by ``check`` and by any
    command (was an ``ArgumentError`` or ``ModuleNotFoundError`` traceback), the password
    hidden."""
    for url in ("garbage", "mysql://app:s3cret@db.internal/ib"):
        settings = {"IB_DATABASE_URL": url, "IB_DATA_DIR": str(tmp_path)}
        for args in (["check", "--json"], ["enterprises", "list"]):
            done = run_cli(args, settings)
            assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-800:]
            out = done.stdout + done.stderr
            assert "IB_DATABASE_URL" in out and "s3cret" not in out
            assert "SQLite or PostgreSQL" in out


def test_healthz_takes_a_worker_out_when_the_schema_is_not_its_own(sqlite_engine: Engine):
    """After another node upgraded the store (``newer``) — or it was put back (``outdated``) —
    ``/healthz`` answers 503 with the reason, so a load balancer stops sending it traffic."""
    from fastapi.testclient import TestClient

    from industry_brain.web.app import create_app

    client = TestClient(create_app(Settings(cookie_secure=False), sqlite_engine))
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    for revision, code in (
        ("0999_from_a_later_release", "store.newer"),
        ("0030_facts_period_check", "store.outdated"),
    ):
        _at(sqlite_engine, revision)
        answer = client.get("/healthz")
        assert answer.status_code == 503 and answer.json()["code"] == code
        assert answer.headers["retry-after"] and answer.json()["zh"] and answer.json()["en"]
    _at(sqlite_engine, migrate.code_heads()[0])
    assert client.get("/healthz").status_code == 200
