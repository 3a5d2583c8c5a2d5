"""``industry-brain store copy --to URL``: the small demo store (SQLite, the whole main job)
copied to PostgreSQL and back answers the same queries, row for row; a non-empty target is
refused; PostgreSQL's sequences continue after the copied ids."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import JSON, Engine, MetaData, cast, func, select
from sqlalchemy import Text as SAText
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from industry_brain.cli import app
from industry_brain.mainjob import summarise
from industry_brain.store import migrate
from industry_brain.store.copy import copy_store
from industry_brain.store.db import make_engine
from industry_brain.store.models import User
from tests.shared_demo import small_demo

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    _run, url, _folder = small_demo(tmp_path_factory, "store-copy")
    return url


def _value(v: Any) -> Any:
    if isinstance(v, datetime) and v.tzinfo is not None:  # SQLite keeps naive UTC
        return v.astimezone(UTC).replace(tzinfo=None)
    if isinstance(v, float):
        return round(v, 9)
    return v


def _rows(engine: Engine) -> dict[str, list[tuple]]:
    """Every table's rows in primary-key order (JSON columns as parsed values)."""
    meta = MetaData()
    meta.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for table in sorted(meta.tables.values(), key=lambda t: t.name):
            if table.name == "alembic_version":
                continue
            cols = [
                cast(c, SAText).label(c.name) if isinstance(c.type, JSON) else c
                for c in table.columns
            ]
            json_cols = {i for i, c in enumerate(table.columns) if isinstance(c.type, JSON)}
            rows = conn.execute(
                select(*cols).order_by(*(table.primary_key.columns or table.columns))
            ).all()
            out[table.name] = [
                tuple(
                    json.loads(v) if i in json_cols and v is not None else _value(v)
                    for i, v in enumerate(r)
                )
                for r in rows
            ]
    return out


def test_copy_to_postgresql_and_back_answers_the_same(demo_store, pg_server, tmp_path):
    source = make_engine(demo_store)
    pg_url = pg_server.create_database(f"copy_{uuid.uuid4().hex[:10]}")
    runner = CliRunner()
    try:
        out = runner.invoke(app, ["store", "copy", "--from", demo_store, "--to", pg_url, "--json"])
        assert out.exit_code == 0, out.output
        report = json.loads(out.stdout)
        pg = make_engine(pg_url)
        with source.connect() as conn:
            enterprises = conn.exec_driver_sql("SELECT count(*) FROM enterprises").scalar()
            facts = conn.exec_driver_sql("SELECT count(*) FROM facts").scalar()
        assert report["tables"]["enterprises"] == enterprises > 1000
        assert report["tables"]["facts"] == facts > 10 * enterprises
        assert report["rows"] == sum(report["tables"].values())
        assert (
            report["revision"] == migrate.current_revision(source) == migrate.current_revision(pg)
        )
        assert report["sequences"] > 50  # one per serial primary key (measured: 90 of 98 tables)

        assert summarise(pg) == summarise(source)
        with pg.connect() as conn:  # a few rows read straight from PostgreSQL
            top = conn.exec_driver_sql(
                "SELECT uscc, name FROM enterprises ORDER BY id DESC LIMIT 1"
            ).one()
            sums = conn.exec_driver_sql("SELECT count(*), sum(value) FROM facts").one()
        with source.connect() as conn:
            assert tuple(
                conn.exec_driver_sql(
                    "SELECT uscc, name FROM enterprises ORDER BY id DESC LIMIT 1"
                ).one()
            ) == tuple(top)
            count, total = conn.exec_driver_sql("SELECT count(*), sum(value) FROM facts").one()
        assert sums[0] == count and float(sums[1]) == pytest.approx(total, rel=1e-12)

        # PostgreSQL's sequences continue after the copied ids: a new row takes max + 1
        with Session(pg) as s:
            users = s.scalar(select(func.max(User.id)))
            s.add(User(username="copied_new", role="admin", display_name="新", password_hash="x"))
            s.flush()
            assert s.scalar(select(func.max(User.id))) == users + 1
            s.rollback()

        # a non-empty target is refused and left as it was
        again = runner.invoke(app, ["store", "copy", "--from", demo_store, "--to", pg_url])
        assert again.exit_code == 2
        assert "store.copy_target_not_empty" in again.output and "目标库不是空库" in again.output
        with pg.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM enterprises").scalar() == enterprises

        # and back: PostgreSQL → a new SQLite file
        back_url = f"sqlite:///{tmp_path / 'back.sqlite'}"
        result = copy_store(pg, make_engine(back_url), chunk=997)
        assert result.tables == report["tables"]
        back = make_engine(back_url)
        # the round trip keeps every table, row and column (so PostgreSQL held them all)
        assert _rows(back) == _rows(source)
        assert summarise(back) == summarise(source)
        back.dispose()
        pg.dispose()
    finally:
        source.dispose()


def test_copy_help_and_refusals(tmp_path, pg_server):
    runner = CliRunner()
    shown = runner.invoke(app, ["store", "copy", "--help"])
    assert shown.exit_code == 0 and "store copy --to postgresql://" in shown.output
    # a source that is not migrated to the head revision is refused before the target is touched
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    target = f"sqlite:///{tmp_path / 'target.sqlite'}"
    out = runner.invoke(app, ["store", "copy", "--from", empty, "--to", target])
    assert out.exit_code == 2 and "store.copy_source_revision" in out.output
    assert migrate.table_names(make_engine(target)) == []
    same = runner.invoke(app, ["store", "copy", "--from", target, "--to", target])
    assert same.exit_code == 2 and "store.copy_same" in same.output
