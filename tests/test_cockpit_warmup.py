"""The cockpit warm-up of ``serve`` (``web.warmup``): a thread in the server process computes
the cockpit of the city scope and of each county's scope when the import stamp changes, so the
officers' next cockpit reads no facts; on the cockpit test store (tests/test_cockpit.py), on
SQLite and PostgreSQL."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from industry_brain.store.models import ImportBatch
from industry_brain.web import warmup
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.test_cockpit import _seed
from tests.web_fixtures import login


def _wait(cond, seconds: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, "the warm-up did not run"
        time.sleep(0.05)


def _facts_reads(engine, client, user: str) -> int:  # type: ignore[no-untyped-def]
    """The statements reading the facts table while ``user`` signs in (an officer lands on
    the cockpit) and opens the cockpit."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if " facts" in statement:
            seen.append(statement)

    client.cookies.clear()
    event.listen(engine, "before_cursor_execute", count)
    try:
        login(client, user)
        assert client.get("/cockpit").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_warm_up_fills_every_officer_scope_and_again_after_an_import(engine) -> None:  # type: ignore[no-untyped-def]
    _seed(engine)
    app = create_app(Settings(cockpit_warm_seconds=0.1), engine)
    warmer = warmup.start(app, 0.1)
    with Session(engine) as db:
        assert [s.cache_key for s in warmup.scopes(db)] == [
            "city",
            "county:330502",
            "county:330503",
        ]
    with TestClient(app, base_url="https://testserver") as client:
        _wait(lambda: warmer.rounds >= 1)
        assert _facts_reads(engine, client, "city") == 0
        # a new import batch changes the stamp: warmed again, still no facts read
        with Session(engine) as s:
            batch = s.scalars(select(ImportBatch)).first()
            assert batch is not None
            s.add(
                ImportBatch(
                    kind=batch.kind,
                    department=batch.department,
                    file_name="again.xlsx",
                    file_hash="f" * 64,
                    sheet="Sheet1",
                    year=2024,
                    status="committed",
                    rows_total=0,
                    rows_loaded=0,
                    rows_rejected=0,
                    options={},
                    summary={},
                )
            )
            s.commit()
        _wait(lambda: warmer.rounds >= 2)
        assert _facts_reads(engine, client, "city") == 0
        assert _facts_reads(engine, client, "county_nx") == 0
    assert not warmer.thread.is_alive()  # stopped with the application


def test_without_the_warm_up_a_cold_cockpit_reads_the_facts(engine) -> None:  # type: ignore[no-untyped-def]
    """The control: the same store and request with no warm-up read the facts (so the test
    above can fail)."""
    _seed(engine)
    app = create_app(Settings(), engine)
    with TestClient(app, base_url="https://testserver") as client:
        assert _facts_reads(engine, client, "county_wx") > 0
