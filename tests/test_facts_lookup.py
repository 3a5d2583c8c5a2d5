"""The profile's yearly figures (``store.enterprises.yearly_figures``) and the index that serves
them (``ix_facts_lookup``, migration 0027): on PostgreSQL it carries every column the read
needs, so an enterprise's figures come from its adjacent index entries (an index-only scan, no
heap page per figure), and the facts table is vacuumed after 1 % new rows; on SQLite the narrow
index finds the rows. Both stores give the same figures, computed by hand below."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from industry_brain.store import facts as fact_store
from industry_brain.store.enterprises import yearly_figures, yearly_figures_stmt
from industry_brain.store.models import Enterprise, Fact, ImportBatch

YEAR = 2025
ACCOUNTS = ("A1", "A2")


def _seed(engine: Engine) -> tuple[int, int]:
    """Two enterprises whose facts are interleaved as an import writes them (month by month,
    one batch per department): 24 monthly electricity figures each, and one revenue figure
    that a correction supersedes."""
    with Session(engine) as s:
        ents = [
            Enterprise(uscc="91330500000000001A", name="甲厂", county_code="330502"),
            Enterprise(uscc="91330500000000002B", name="乙厂", county_code="330502"),
        ]
        s.add_all(ents)
        batches = {
            dept: ImportBatch(
                kind=kind,
                department=dept,
                file_name=f"{dept}.csv",
                file_hash=dept[0] * 64,
                status="committed",
                year=YEAR,
            )
            for dept, kind in (("power", "power"), ("statistics", "stats_annual"))
        }
        s.add_all(batches.values())
        s.flush()
        row = 2
        for month in range(1, 13):
            for n, ent in enumerate(ents, start=1):
                for k, account in enumerate(ACCOUNTS, start=1):
                    # kWh: enterprise n, account k, month m → 1000·n + 10·m + k
                    value = 1000.0 * n + 10 * month + k
                    s.add(
                        Fact(
                            enterprise_id=ent.id,
                            year=YEAR,
                            month=month,
                            item="electricity",
                            detail=account,
                            value=value,
                            unit="kWh",
                            source_dept="power",
                            batch_id=batches["power"].id,
                            row=row,
                        )
                    )
                    row += 1

        def revenue(value: float, row: int) -> Fact:
            return Fact(
                enterprise_id=ents[0].id,
                year=YEAR,
                month=0,
                item="revenue",
                detail="",
                value=value,
                unit="万元",
                source_dept="statistics",
                batch_id=batches["statistics"].id,
                row=row,
            )

        first, corrected = revenue(900.0, 2), revenue(1200.0, 3)
        s.add_all([first, corrected])
        s.flush()
        s.execute(update(Fact).where(Fact.id == first.id).values(superseded_by=corrected.id))
        s.commit()
        return ents[0].id, ents[1].id


def test_yearly_figures_sum_the_current_facts(engine: Engine) -> None:
    first, second = _seed(engine)
    with Session(engine) as s:
        figures = yearly_figures(s, first, "330502")
        other = yearly_figures(s, second, "330502")
    # enterprise 1: Σ over 12 months and accounts 1, 2 of (1000 + 10·m + k)
    #   = 24·1000 + 2·10·(1+…+12) + 12·(1+2) = 24,000 + 1,560 + 36 = 25,596 kWh
    assert figures["electricity"][YEAR] == {
        "value": 25_596.0,
        "unit": "kWh",
        "source_dept": "power",
    }
    # the superseded 900 is not counted: the corrected 1,200 alone
    assert figures["revenue"][YEAR] == {
        "value": 1200.0,
        "unit": "万元",
        "source_dept": "statistics",
    }
    # enterprise 2: 24·2000 + 1,560 + 36 = 49,596 kWh, and no revenue
    assert other == {
        "electricity": {YEAR: {"value": 49_596.0, "unit": "kWh", "source_dept": "power"}}
    }


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_postgresql_reads_the_figures_from_the_index_alone(engine: Engine) -> None:
    first, _ = _seed(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # marks the pages all-visible, as autovacuum does; on a busy machine a page may be
        # skipped (another backend — autovacuum's own pass — holding it), so until every page
        # is marked, a bounded number of times
        for _ in range(20):
            conn.execute(text("VACUUM facts"))
            pages, visible = conn.execute(
                text("SELECT relpages, relallvisible FROM pg_class WHERE relname = 'facts'")
            ).one()
            if visible >= pages:
                break
            time.sleep(0.25)
        options = conn.scalar(text("SELECT reloptions FROM pg_class WHERE relname = 'facts'"))
        assert "autovacuum_vacuum_insert_scale_factor=0.01" in options
        # a 50-row table is cheapest to read whole: the planner is asked for index paths, and
        # chooses the index-only one only if the index holds every column the read needs
        conn.execute(text("SET enable_seqscan = off"))
        conn.execute(text("SET enable_bitmapscan = off"))
        sql = (
            yearly_figures_stmt()
            .params(enterprise_id=first)
            .compile(engine, compile_kwargs={"literal_binds": True})
        )
        plan = "\n".join(
            conn.scalars(text(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {sql}"))
        )
    assert "Index Only Scan using ix_facts_lookup on facts" in plan, plan
    assert "Heap Fetches: 0" in plan, plan


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_finds_the_rows_by_the_index(engine: Engine) -> None:
    first, _ = _seed(engine)
    sql = (
        yearly_figures_stmt()
        .params(enterprise_id=first)
        .compile(engine, compile_kwargs={"literal_binds": True})
    )
    with engine.connect() as conn:
        plan = " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "USING INDEX ix_facts_lookup" in plan, plan


def _bucket(engine: Engine, low: int, high: int | None) -> list[dict]:
    """A snapshot's read of the ids [``low``, ``high``), as the reduction gets it: split and
    coded by ``_coded`` (on PostgreSQL from the packed key), each code named again."""
    from industry_brain.warehouse.snapshot import PACKED_KEY, _coded, _raw_facts_sql

    with engine.connect() as conn:
        result = conn.execute(text(_raw_facts_sql(conn, None, (low, high))))
        rows = [dict(r._mapping) for r in result]
    assert (PACKED_KEY in rows[0]) == (engine.dialect.name == "postgresql")
    coded, texts = _coded(pa.Table.from_pylist(rows), low, high)
    named = coded.to_pylist()
    for row in named:
        for column, values in texts.items():
            row[column] = values[row[column]].as_py()
    return named


def test_a_snapshot_bucket_reads_the_current_facts_of_its_ids(engine: Engine) -> None:
    """A warehouse snapshot reads the facts bucket by bucket of enterprise ids
    (``warehouse.snapshot._raw_facts_sql`` with an id range [low, high)): the range holding
    enterprise 1 alone gives its 24 monthly electricity figures and the current revenue
    (the superseded 900 is not read), 25 rows; an open range from enterprise 1 gives both
    enterprises' 48 + 1 = 49. On PostgreSQL the enterprise, year and month come packed into one
    integer (``PACKED_KEY``), which ``_coded`` splits again."""
    first, second = _seed(engine)
    alone, both = _bucket(engine, first, second), _bucket(engine, first, None)
    assert len(alone) == 25 and {r["enterprise_id"] for r in alone} == {first}
    assert {(r["year"], r["month"]) for r in alone if r["item"] == "electricity"} == {
        (YEAR, m) for m in range(1, 13)
    }
    assert [(r["value"], r["month"]) for r in alone if r["item"] == "revenue"] == [(1200.0, 0)]
    # Σ of enterprise 1's electricity, as above: 25,596 kWh
    assert sum(r["value"] for r in alone if r["item"] == "electricity") == 25_596.0
    assert len(both) == 49 and {r["enterprise_id"] for r in both} == {first, second}


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
@pytest.mark.parametrize(("year", "month"), [(2025, 13), (2025, -1), (1899, 0), (10_000, 0)])
def test_postgresql_refuses_a_fact_outside_the_periods_domain(
    engine: Engine, year: int, month: int
) -> None:
    """Migration 0030's ``ck_facts_period``: a month is 0 (yearly) or 1–12 and a year 1900–9999
    — what the snapshot's packed key (4 bits of month, 14 of year) holds exactly."""
    first, _second = _seed(engine)
    with Session(engine) as s:
        batch = s.scalar(select(ImportBatch.id).limit(1))
        s.add(
            Fact(
                enterprise_id=first,
                year=year,
                month=month,
                item="revenue",
                detail="",
                value=1.0,
                unit="万元",
                source_dept="statistics",
                batch_id=batch,
            )
        )
        with pytest.raises(IntegrityError, match="ck_facts_period"):
            s.flush()


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_postgresql_hands_a_snapshot_bucket_out_of_the_index_alone(engine: Engine) -> None:
    """Each bucket of a snapshot is an index-only scan of its id range (migration 0028 put
    ``month`` in the index): without it PostgreSQL would read the whole heap once per
    bucket, since import batches lie in it in import order."""
    from industry_brain.warehouse.snapshot import _raw_facts_sql

    first, second = _seed(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM facts"))
        conn.execute(text("SET enable_seqscan = off"))
        conn.execute(text("SET enable_bitmapscan = off"))
        sql = _raw_facts_sql(conn, None, (first, second))
        plan = "\n".join(
            conn.scalars(text(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {sql}"))
        )
    assert "Index Only Scan using ix_facts_lookup on facts" in plan, plan
    assert "Heap Fetches: 0" in plan, plan


def test_the_packed_key_holds_the_periods_edges(engine: Engine) -> None:
    """The largest enterprise id PostgreSQL's ``integer`` holds and the domain's first and last
    periods come back from a snapshot's read exactly (on SQLite the columns come as they are)."""
    top = 2**31 - 1
    with Session(engine) as s:
        s.add(Enterprise(id=top, uscc="91330500000000003C", name="丙厂", county_code="330502"))
        batch = ImportBatch(
            kind="stats_annual",
            department="statistics",
            file_name="edges.csv",
            file_hash="e" * 64,
            status="committed",
        )
        s.add(batch)
        s.flush()
        for year, month in ((1900, 0), (9999, 12), (2025, 7)):
            s.add(
                Fact(
                    enterprise_id=top,
                    year=year,
                    month=month,
                    item="electricity",
                    detail="",
                    value=float(year + month),
                    unit="kWh",
                    source_dept="power",
                    batch_id=batch.id,
                )
            )
        s.commit()
    got = sorted(
        (r["enterprise_id"], r["year"], r["month"], r["value"]) for r in _bucket(engine, top, None)
    )
    assert got == [(top, 1900, 0, 1900.0), (top, 2025, 7, 2032.0), (top, 9999, 12, 10011.0)]


@pytest.mark.parametrize("by", ["enterprise", "range"])
def test_current_values_keeps_to_the_enterprises_asked(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, by: str
) -> None:
    """A read for a few enterprises (a correction's cross-check) goes by enterprise through
    ``ix_facts_lookup``; for many, it reads the year and keeps their rows: the same figures."""
    first, second = _seed(engine)
    if by == "range":
        monkeypatch.setattr(fact_store, "BY_KEY_MAX", 0)
    cols = ("enterprise_id", "item", "value")
    with Session(engine) as s:
        two = fact_store.current_values(
            s, ["electricity", "revenue"], [YEAR], columns=cols, enterprise_ids=[second, None]
        )
        one = fact_store.current_values(
            s, ["electricity", "revenue"], [YEAR], columns=cols, enterprise_ids=[first, first]
        )
        none = fact_store.current_values(
            s, ["electricity"], [YEAR], columns=cols, enterprise_ids=[]
        )
        with pytest.raises(ValueError, match="enterprise_id"):
            fact_store.current_values(
                s, ["revenue"], [YEAR], columns=("value",), enterprise_ids=[1]
            )
    # enterprise 2: its 24 monthly figures, Σ = 49,596 kWh (as above), no revenue
    assert set(two["enterprise_id"]) == {second}
    assert (len(two), two["value"].sum()) == (24, 49_596.0)
    # enterprise 1: 24 figures (25,596 kWh) and the corrected revenue 1,200 alone (not 900)
    power = one.loc[one["item"] == "electricity", "value"]
    assert (len(power), power.sum()) == (24, 25_596.0)
    assert one.loc[one["item"] == "revenue", "value"].tolist() == [1200.0]
    assert none.empty


def test_few_enterprises(monkeypatch: pytest.MonkeyPatch) -> None:
    assert fact_store.few_enterprises(None) is None
    assert fact_store.few_enterprises(np.array([3.0, 1.0, 3.0, np.nan])) == [1, 3]
    assert fact_store.few_enterprises([]) == []
    monkeypatch.setattr(fact_store, "BY_KEY_MAX", 1)
    assert fact_store.few_enterprises([1, 1]) == [1]
    assert fact_store.few_enterprises([1, 2]) is None


def test_a_read_by_key_fits_one_in_list() -> None:
    # the loader's read of the figures a file replaces binds its enterprises in one IN list
    from industry_brain.store.db import IN_CHUNK

    assert fact_store.BY_KEY_MAX <= IN_CHUNK
