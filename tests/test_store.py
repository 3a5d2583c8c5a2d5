"""Operational store on SQLite and PostgreSQL: enterprises, facts with lineage, locking, pragmas."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from industry_brain.core import uscc
from industry_brain.store import db
from industry_brain.store.models import (
    Enterprise,
    EnterpriseName,
    EnterpriseScale,
    Fact,
    ImportBatch,
    Project,
)
from tests import pgserver

USCC_A = "91330500MA2B3C4D1Y"
USCC_B = "913305001234567885"


def new_batch(session: Session, **kw: object) -> ImportBatch:
    values: dict[str, object] = {
        "kind": "tax",
        "department": "tax",
        "file_name": "税务_2024.xlsx",
        "file_hash": "0" * 64,
        "sheet": "Sheet1",
        "year": 2024,
        "status": "committed",
    }
    values.update(kw)
    batch = ImportBatch(**values)
    session.add(batch)
    session.flush()
    return batch


def new_enterprise(session: Session, code: str = USCC_A, name: str = "湖州示例纺织有限公司"):
    ent = Enterprise(uscc=code, name=name, county_code="330502", industry_code="17")
    session.add(ent)
    session.flush()
    return ent


def test_enterprise_with_names_and_scales(engine: Engine) -> None:
    assert uscc.is_valid(USCC_A)
    with Session(engine) as s:
        ent = Enterprise(
            uscc=USCC_A, name="湖州示例纺织有限公司", county_code="330502", industry_code="17"
        )
        ent.names = [
            EnterpriseName(name="湖州示例纺织有限公司", normalized="湖州示例纺织", kind="current"),
            EnterpriseName(name="吴兴示例织造厂", normalized="吴兴示例织造", kind="former"),
        ]
        ent.scales = [
            EnterpriseScale(year=2024, above_scale=True),
            EnterpriseScale(year=2023, above_scale=False),
        ]
        s.add(ent)
        s.commit()
        ent_id = ent.id

    with Session(engine) as s:
        ent = s.scalars(select(Enterprise).where(Enterprise.uscc == USCC_A)).one()
        assert ent.id == ent_id
        assert ent.status == "存续"  # column default
        assert ent.created_at is not None  # server default
        assert [n.name for n in ent.names] == ["湖州示例纺织有限公司", "吴兴示例织造厂"]
        assert ent.former_names == ["吴兴示例织造厂"]
        # ordered by year
        assert [(x.year, x.above_scale) for x in ent.scales] == [(2023, False), (2024, True)]

        # one scale row per enterprise and year
        s.add(EnterpriseScale(enterprise_id=ent.id, year=2024, above_scale=False))
        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()

        # deleting the enterprise deletes its names and scales (delete-orphan cascade)
        ent = s.get(Enterprise, ent_id)
        s.delete(ent)
        s.commit()
        assert s.scalars(select(EnterpriseName)).all() == []
        assert s.scalars(select(EnterpriseScale)).all() == []


def test_unique_uscc(engine: Engine) -> None:
    with Session(engine) as s:
        new_enterprise(s)
        s.commit()
    with Session(engine) as s:
        s.add(Enterprise(uscc=USCC_A, name="另一家公司"))
        with pytest.raises(IntegrityError):
            s.commit()
        s.rollback()
        # a different code is fine
        new_enterprise(s, USCC_B, "另一家公司")
        s.commit()
        assert len(s.scalars(select(Enterprise)).all()) == 2


def test_facts_lineage_and_supersession(engine: Engine) -> None:
    with Session(engine) as s:
        ent = new_enterprise(s)
        first = new_batch(s, file_name="税务_2024.xlsx")
        fix = new_batch(s, file_name="税务_2024_更正.xlsx", file_hash="1" * 64)
        late = new_batch(s, file_name="税务_2024_再更正.xlsx", file_hash="2" * 64)

        def fact(batch: ImportBatch, value: float, raw: str, row: int) -> Fact:
            f = Fact(
                enterprise_id=ent.id,
                year=2024,
                item="tax_paid",
                value=value,
                unit="万元",
                source_dept="tax",
                batch_id=batch.id,
                sheet="Sheet1",
                row=row,
                column="实缴税金(元)",
                raw_value=raw,
            )
            s.add(f)
            s.flush()
            return f

        f1 = fact(first, 12.5, "125000", 5)
        f2 = fact(fix, 13.0, "130000", 7)
        f3 = fact(late, 13.25, "132500", 7)
        f1.superseded_by, f1.reason = f2.id, "更正 / corrected"
        f2.superseded_by, f2.reason = f3.id, "再次更正 / corrected again"
        s.commit()
        ids = (f1.id, f2.id, f3.id)
        first_id = first.id

    with Session(engine) as s:
        current = s.scalars(
            select(Fact).where(
                Fact.item == "tax_paid", Fact.year == 2024, Fact.superseded_by.is_(None)
            )
        ).all()
        assert [(f.id, f.value) for f in current] == [(ids[2], 13.25)]
        # follow the chain from the first row to the current one
        chain = [s.get(Fact, ids[0])]
        while chain[-1].superseded_by is not None:
            chain.append(s.get(Fact, chain[-1].superseded_by))
        assert [f.id for f in chain] == list(ids)
        assert [f.value for f in chain] == [12.5, 13.0, 13.25]  # history kept
        old = chain[0]
        # lineage: batch, file, sheet, row, column, raw text
        # the batch names the file; the fact names sheet, row and column
        assert s.get(ImportBatch, old.batch_id).file_name == "税务_2024.xlsx"
        assert (old.batch_id, old.sheet, old.row, old.column, old.raw_value) == (
            first_id,
            "Sheet1",
            5,
            "实缴税金(元)",
            "125000",
        )
        assert (old.month, old.detail) == (0, "")  # defaults: yearly figure, no detail
        # superseded_by must point at an existing fact
        old.superseded_by = 999_999
        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()


def new_project(session: Session) -> Project:
    project = Project(
        code="HZ-2024-0001",
        name="年产10GWh锂电池项目",
        investor_uscc=USCC_A,
        county_code="330502",
        industry_code="38",
        planned_investment=150000.0,
        stage="signed",
    )
    session.add(project)
    session.commit()
    return project


def test_project_optimistic_locking(engine: Engine) -> None:
    with Session(engine) as s:
        pid = new_project(s).id
        assert s.get(Project, pid).version == 1

    first, second = Session(engine), Session(engine)
    try:
        p1 = first.get(Project, pid)
        p2 = second.get(Project, pid)
        assert p1.version == p2.version == 1

        p1.stage = "started"
        first.commit()  # UPDATE … WHERE id = ? AND version = 1 → version 2

        p2.stage = "completed"
        p2.planned_investment = 1.0
        with pytest.raises(StaleDataError):
            second.commit()  # UPDATE … WHERE version = 1 matches no row
        second.rollback()
    finally:
        first.close()
        second.close()

    with Session(engine) as s:
        p = s.get(Project, pid)
        # the first write survived, the second did not overwrite it (no lost update)
        assert (p.stage, p.planned_investment, p.version) == ("started", 150000.0, 2)


def test_project_version_increments(engine: Engine) -> None:
    with Session(engine) as s:
        p = new_project(s)
        for stage in ("started", "completed", "producing"):
            p.stage = stage
            s.commit()
        assert p.version == 4


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with Session(engine) as s:
        batch = new_batch(s)
        s.add(
            Fact(
                enterprise_id=424242,  # no such enterprise
                year=2024,
                item="tax_paid",
                value=1.0,
                unit="万元",
                source_dept="tax",
                batch_id=batch.id,
            )
        )
        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()
        # an unknown county code is refused as well
        s.add(Enterprise(uscc=USCC_B, name="某公司", county_code="999999"))
        with pytest.raises(IntegrityError):
            s.flush()


def test_session_scope_commits_or_rolls_back(engine: Engine) -> None:
    with db.session_scope(engine) as s:
        new_enterprise(s)
    with pytest.raises(RuntimeError), db.session_scope(engine) as s:
        new_enterprise(s, USCC_B, "回滚的公司")
        raise RuntimeError("boom")
    with Session(engine) as s:
        assert s.scalars(select(Enterprise.uscc)).all() == [USCC_A]


def test_sqlite_pragmas(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000


def test_describe_hides_password() -> None:
    shown = db.describe("postgresql+psycopg://app:secret@db.example:5432/ib")
    assert "secret" not in shown
    assert shown.startswith("postgresql+psycopg://app:")


def _admin(server: pgserver.PgServer) -> psycopg.Connection:
    return psycopg.connect(
        f"host=127.0.0.1 port={server.port} user=app dbname=postgres", autocommit=True
    )


@pytest.mark.postgres
def test_plain_postgresql_url_uses_psycopg(pg_server: pgserver.PgServer) -> None:
    name = f"t_plain_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name)
    assert url.startswith("postgresql+psycopg://")
    engine = db.make_engine("postgresql://" + url.split("://", 1)[1])
    try:
        assert engine.dialect.driver == "psycopg"
        with engine.connect() as conn:
            assert conn.execute(text("select current_database()")).scalar() == name
    finally:
        engine.dispose()
        with _admin(pg_server) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_timestamps_read_back_as_utc_on_both_stores(engine: Engine) -> None:
    """A server-default timestamp and one written by code read back aware and in UTC, whatever
    the store (SQLite returns naive text; PostgreSQL returns the session's zone)."""
    from datetime import UTC, datetime, timedelta, timezone

    from industry_brain.store.models import AuditLog
    from industry_brain.web.app import format_timestamp

    written = datetime(2026, 11, 27, 9, 30, tzinfo=timezone(timedelta(hours=8)))  # 01:30 UTC
    with Session(engine) as s:
        if engine.dialect.name == "postgresql":
            s.execute(text("SET TIME ZONE 'Asia/Shanghai'"))
        s.add(AuditLog(actor="t", action="x", object_type="y", at=written, detail={}))
        s.add(AuditLog(actor="t", action="default", object_type="y", detail={}))
        s.commit()
        by_action = {a.action: a.at for a in s.scalars(select(AuditLog))}
    assert by_action["x"] == datetime(2026, 11, 27, 1, 30, tzinfo=UTC)
    assert by_action["x"].tzinfo == UTC and by_action["default"].tzinfo == UTC
    assert abs(by_action["default"] - datetime.now(UTC)) < timedelta(minutes=5)
    # pages show it in the bureau's zone: 01:30 UTC = 09:30 Beijing
    assert format_timestamp(by_action["x"]) == "2026-11-27 09:30:00"
    assert format_timestamp(by_action["x"].isoformat(), "UTC") == "2026-11-27 01:30:00"
    assert format_timestamp(None) == "—"
