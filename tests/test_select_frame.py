"""``store.db.select_frame``: the rows of a SELECT as a pandas frame by the fastest path that
keeps the values' types — the DB-API cursor's tuples (SQLite's 0/1 booleans mapped to bool),
ADBC inside ``bulk_reads`` on PostgreSQL (committed rows only), SQLAlchemy's typed rows for any
other column type — on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import time
from datetime import datetime

import pandas as pd
import psycopg
import pytest
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    make_url,
    select,
)
from sqlalchemy.orm import Session

from industry_brain.store.db import bulk_reads, select_frame

PROBE = Table(
    "select_frame_probe",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("flag", Boolean),
    Column("level", Integer, nullable=True),
    Column("score", Float),
    Column("name", String(20)),
    Column("seen", DateTime, nullable=True),
)
ROWS = [
    {"id": 1, "flag": True, "level": 3, "score": 0.5, "name": "甲", "seen": datetime(2026, 1, 2)},
    {"id": 2, "flag": False, "level": None, "score": 1.25, "name": "乙", "seen": None},
]
COLS = ["id", "flag", "level", "score", "name"]


@pytest.fixture
def probe(engine):  # type: ignore[no-untyped-def]
    PROBE.create(engine)
    with engine.begin() as conn:
        conn.execute(insert(PROBE), ROWS)
    yield engine
    PROBE.drop(engine)


def _plain(frame: pd.DataFrame) -> list[list[object]]:
    return [[None if pd.isna(v) else v for v in row] for row in frame.astype(object).values]


@pytest.mark.parametrize("bulk", [False, True], ids=["session", "bulk"])
def test_values_and_types_are_those_of_the_store(probe, bulk):  # type: ignore[no-untyped-def]
    stmt = select(*(PROBE.c[c] for c in COLS)).order_by(PROBE.c.id)
    with Session(probe) as s:
        if bulk:
            with bulk_reads():
                frame = select_frame(s, stmt, COLS)
        else:
            frame = select_frame(s, stmt, COLS)
    assert _plain(frame) == [[1, True, 3, 0.5, "甲"], [2, False, None, 1.25, "乙"]]
    # booleans are booleans on every path (SQLite hands out 0 and 1)
    assert [type(v) for v in frame["flag"].tolist()] == [bool, bool]
    assert frame["id"].dtype == "int64" and frame["score"].dtype == "float64"


def test_other_column_types_keep_sqlalchemy_s_processing(probe):  # type: ignore[no-untyped-def]
    """A DateTime column: SQLite stores text; the frame holds datetimes as SQLAlchemy gives
    them, inside bulk_reads too."""
    stmt = select(PROBE.c.id, PROBE.c.seen).order_by(PROBE.c.id)
    with Session(probe) as s, bulk_reads():
        frame = select_frame(s, stmt, ["id", "seen"])
    assert frame["seen"].tolist()[0] == datetime(2026, 1, 2) and pd.isna(frame["seen"][1])


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_bulk_reads_see_committed_rows_only(probe):  # type: ignore[no-untyped-def]
    """The ADBC path reads on a connection of its own: a row the session has not committed is
    not in it, and is once committed."""
    stmt = select(*(PROBE.c[c] for c in COLS)).order_by(PROBE.c.id)
    with Session(probe) as s:
        s.execute(insert(PROBE), [{"id": 3, "flag": True, "level": 1, "score": 2.0, "name": "丙"}])
        with bulk_reads():
            assert select_frame(s, stmt, COLS)["id"].tolist() == [1, 2]
        assert select_frame(s, stmt, COLS)["id"].tolist() == [1, 2, 3]  # the session's own
        s.commit()
        with bulk_reads():
            assert select_frame(s, stmt, COLS)["id"].tolist() == [1, 2, 3]


@pytest.mark.parametrize("bulk", [False, True], ids=["session", "bulk"])
def test_a_null_boolean_is_none_on_every_path(probe, bulk):  # type: ignore[no-untyped-def]
    """SQLite hands out 0, 1 and NULL: the NULL stays unknown (None), as PostgreSQL's paths
    give it — not NaN, and not False."""
    with probe.begin() as conn:
        conn.execute(insert(PROBE), [{"id": 3, "flag": None, "score": 0.0, "name": "丙"}])
    stmt = select(PROBE.c.id, PROBE.c.flag).order_by(PROBE.c.id)
    with Session(probe) as s:
        if bulk:
            with bulk_reads():
                frame = select_frame(s, stmt, ["id", "flag"])
        else:
            frame = select_frame(s, stmt, ["id", "flag"])
    assert frame["flag"].tolist() == [True, False, None]
    assert [type(v) for v in frame["flag"].tolist()] == [bool, bool, type(None)]


@pytest.mark.postgres
def test_adbc_connections_of_a_process_share_one_database(pg_server):  # type: ignore[no-untyped-def]
    from industry_brain.store import db

    url = pg_server.create_database("adbc_shared")
    uri = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    db._ADBC.pop((os.getpid(), uri), None)
    with db.adbc_postgresql(uri) as first, first.cursor() as cur:
        cur.execute("SET enable_seqscan = off")
        cur.execute("SELECT current_setting('enable_seqscan')")
        assert cur.fetchone() == ("off",)
    holder = db._ADBC[(os.getpid(), uri)]
    with db.adbc_postgresql(uri) as second, second.cursor() as cur:
        assert second._db is holder._db  # the type catalogue read once, by the first
        cur.execute("SELECT current_setting('enable_seqscan')")
        assert cur.fetchone() == ("on",)  # a block's settings end with it
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = 'adbc_shared'")
        assert cur.fetchone() == (2,)  # the block's connection and the idle holder
    # the database dropped (its connections ended) and created again under the same name
    with psycopg.connect(
        f"host=127.0.0.1 port={pg_server.port} user=app dbname=postgres", autocommit=True
    ) as admin:
        admin.execute('DROP DATABASE "adbc_shared" WITH (FORCE)')
        admin.execute('CREATE DATABASE "adbc_shared"')
    with db.adbc_postgresql(uri) as third, third.cursor() as cur:
        cur.execute("SELECT 41 + 1")
        assert cur.fetchone() == (42,)
    # only the last URIs keep a holder; the others are closed
    for n in range(db.ADBC_DATABASES):
        other = pg_server.create_database(f"adbc_other_{n}")
        other_uri = (
            make_url(other).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        with db.adbc_postgresql(other_uri):
            pass
    assert (os.getpid(), uri) not in db._ADBC and len(db._ADBC) <= db.ADBC_DATABASES
    # disposing of a store's engine ends the idle ADBC connection its bulk reads left
    engine = db.make_engine(url)
    assert db.adbc_uri(engine.url) == uri
    with db.adbc_postgresql(uri):
        pass
    assert (os.getpid(), uri) in db._ADBC
    engine.dispose()
    assert (os.getpid(), uri) not in db._ADBC
    with psycopg.connect(
        f"host=127.0.0.1 port={pg_server.port} user=app dbname=postgres", autocommit=True
    ) as admin:
        for _ in range(100):  # a server process ends a moment after its client closed
            sessions = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = 'adbc_shared'"
            ).fetchone()
            if sessions == (0,):
                break
            time.sleep(0.05)
    assert sessions == (0,)
