"""Warehouse snapshot (产业数据仓) and the two Ibis engines over it."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from ibis import _
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.ingest import import_file
from industry_brain.store.models import Fact, ImportBatch
from industry_brain.warehouse import Snapshot, build_snapshot, connect
from industry_brain.warehouse.snapshot import BY_YEAR

A = "91330502MA2B3C4D1U"
B = "91330503MA2B3C4E2E"


@pytest.fixture
def snapshot(engine, tmp_path):
    def put(name: str, text: str, kind: str, **kw) -> None:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        r = import_file(kind, path, engine=engine, **kw)
        assert r.status == "committed", [p.message() for p in r.problems]

    put(
        "reg.csv",
        f"统一社会信用代码,企业名称,所属区县,行业代码\n{A},甲,吴兴区,1751\n{B},乙,南浔区,3841\n",
        "registration",
    )
    put(
        "stats.csv",
        "统一社会信用代码,企业名称,年份,工业增加值(万元),应交税金(万元),规上标志\n"
        f"{A},甲,2025,300,90,是\n{B},乙,2025,50,5,否\n",
        "stats_annual",
    )
    put("tax.csv", f"纳税人识别号,所属年度,实缴税金(元)\n{A},2025,1000000\n", "tax")
    put(
        "power.csv",
        "户号,户名,统一社会信用代码,月份,用电量(千瓦时)\n"
        f"1,甲,{A},2025年1月,100\n2,甲二厂,{A},2025年1月,50\n1,甲,{A},2025年2月,120\n",
        "power",
    )
    return build_snapshot(engine, tmp_path / "snap")


def test_snapshot_tables_and_precedence(snapshot):
    facts = pd.read_parquet(snapshot.table("facts"))
    value = facts.set_index(["enterprise_id", "year", "item"])["value"]
    dept = facts.set_index(["enterprise_id", "year", "item"])["source_dept"]
    ents = pd.read_parquet(snapshot.table("enterprises")).set_index("uscc")
    a, b = ents.loc[A, "enterprise_id"], ents.loc[B, "enterprise_id"]
    # tax bureau 1,000,000 元 = 100 万元 wins over statistics' 90 万元 (ingest.precedence)
    assert (
        value[(a, 2025, "tax_paid")] == pytest.approx(100) and dept[(a, 2025, "tax_paid")] == "tax"
    )
    # B has only the statistics figure: it is used
    assert value[(b, 2025, "tax_paid")] == pytest.approx(5)
    # electricity: 100 + 50 (two accounts, January) + 120 (February) = 270 kWh
    assert value[(a, 2025, "electricity")] == pytest.approx(270)
    monthly = pd.read_parquet(snapshot.table("electricity_monthly"))
    assert sorted(monthly[["month", "value"]].itertuples(index=False)) == [(1, 150.0), (2, 120.0)]
    assert ents.loc[A, "division"] == "17" and ents.loc[B, "county_code"] == "330503"
    scales = pd.read_parquet(snapshot.table("scales")).set_index("enterprise_id")["above_scale"]
    assert bool(scales[a]) is True and bool(scales[b]) is False
    manifest = json.loads((snapshot.path / "manifest.json").read_text())
    assert manifest["rows"]["enterprises"] == 2 and len(manifest["batch_ids"]) == 4
    assert Snapshot.open(snapshot.path).rows == snapshot.rows


def test_monthly_electricity_follows_the_department_chosen_for_the_year(snapshot, engine, tmp_path):
    """The yearly figure is summed per department first and the departments ranked after; the
    monthly electricity keeps the months of the department chosen for the year. Statistics
    figures for electricity are added to the store beside the power grid's (the imports do not
    produce them today; an old batch or a region's own mapping could): A — power grid 270 kWh
    (100 + 50 + 120, January and February) against statistics' yearly 999 and January 5 —
    keeps the power grid (``ingest.precedence``: power_grid before statistics), its months
    only; B, reported by statistics alone — yearly 40 and March 7, summed to 47 — keeps
    statistics' figure and its one month."""

    ents = pd.read_parquet(snapshot.table("enterprises")).set_index("uscc")["enterprise_id"]
    a, b = int(ents[A]), int(ents[B])
    with Session(engine) as s:
        batch = ImportBatch(
            kind="stats_annual",
            department="statistics",
            file_name="old_energy.csv",
            file_hash="0" * 64,
            year=2025,
            status="committed",
            rows_total=4,
            rows_loaded=4,
            rows_rejected=0,
        )
        s.add(batch)
        s.flush()
        for enterprise, month, value in ((a, 0, 999), (a, 1, 5), (b, 0, 40), (b, 3, 7)):
            s.add(
                Fact(
                    enterprise_id=enterprise,
                    year=2025,
                    month=month,
                    item="electricity",
                    detail="",
                    value=float(value),
                    unit="kWh",
                    source_dept="statistics",
                    batch_id=batch.id,
                )
            )
        s.commit()
    snap = build_snapshot(engine, tmp_path / "contested", incremental=False)
    facts = pd.read_parquet(snap.table("facts"))
    power = facts[(facts["item"] == "electricity") & (facts["year"] == 2025)]
    assert sorted(power[["enterprise_id", "value", "source_dept"]].itertuples(index=False)) == [
        (a, 270.0, "power_grid"),
        (b, 47.0, "statistics"),
    ]
    monthly = pd.read_parquet(snap.table("electricity_monthly"))
    assert sorted(monthly[["enterprise_id", "month", "value"]].itertuples(index=False)) == [
        (a, 1, 150.0),
        (a, 2, 120.0),
        (b, 3, 7.0),
    ]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_duckdb_and_pyspark_agree(snapshot):
    results = {}
    for name in ("duckdb", "pyspark"):
        con = connect(snapshot.path, name)
        f = con.table("facts")
        e = con.table("enterprises")
        expr = (
            f.join(e, "enterprise_id")
            .group_by(["county_code", "item"])
            .aggregate(total=_.value.sum(), n=_.count())
            .order_by(["county_code", "item"])
        )
        results[name] = expr.to_pandas()
    pd.testing.assert_frame_equal(
        results["duckdb"], results["pyspark"], check_dtype=False, rtol=1e-9
    )
    assert len(results["duckdb"]) > 3


def test_unknown_engine_is_a_bilingual_error(tmp_path):
    from industry_brain.core.errors import ValidationError

    with pytest.raises(ValidationError) as info:
        connect(tmp_path, "polars")
    assert (
        info.value.code == "engine.unknown"
        and "duckdb" in info.value.en
        and "引擎" in info.value.zh
    )


def test_yearly_sums_are_correctly_rounded_and_nothing_is_left_staged(engine, tmp_path):
    """Three tax types of 1,000, 2,000 and 3,000 元 are 0.1, 0.2 and 0.3 万元. Added left to right
    in binary floating point, 0.1 + 0.2 = 0.30000000000000004 and + 0.3 = 0.6000000000000001;
    the exact sum of the three stored doubles is 0.600000000000000005551…, whose nearest double
    is 0.6 — what the snapshot must hold (compensated summation, on SQLite and PostgreSQL)."""
    reg = tmp_path / "reg.csv"
    reg.write_text(f"统一社会信用代码,企业名称,所属区县,行业代码\n{A},甲,吴兴区,1751\n", "utf-8")
    assert import_file("registration", reg, engine=engine).status == "committed"
    tax = tmp_path / "tax.csv"
    tax.write_text(
        "纳税人识别号,所属年度,税种,实缴税金(元)\n"
        f"{A},2025,增值税,1000\n{A},2025,企业所得税,2000\n{A},2025,房产税,3000\n",
        "utf-8",
    )
    r = import_file("tax", tax, engine=engine)
    assert r.status == "committed", [p.message() for p in r.problems]
    assert 0.1 + 0.2 + 0.3 == 0.6000000000000001  # the naive order, for the record
    snap = build_snapshot(engine, tmp_path / "snap")
    facts = pd.read_parquet(snap.table("facts"))
    assert facts.loc[facts["item"] == "tax_paid", "value"].tolist() == [0.6]
    assert snap.rows["facts"] == len(facts) == 1
    # the staged raw facts (Parquet on SQLite, CSV from COPY on PostgreSQL) are gone
    assert sorted(p.name for p in snap.path.iterdir()) == sorted(
        [t if t in BY_YEAR else f"{t}.parquet" for t in snap.rows] + ["manifest.json"]
    )
    assert [p.name for p in snap.table("facts").iterdir()] == ["2025-0000.parquet"]


def _tax_file(tmp_path, name: str, rows: str):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text("纳税人识别号,所属年度,税种,实缴税金(元)\n" + rows, "utf-8")
    return path


def _import_tax(engine, tmp_path, name: str, rows: str) -> None:  # type: ignore[no-untyped-def]
    r = import_file("tax", _tax_file(tmp_path, name, rows), engine=engine)
    assert r.status == "committed", [p.message() for p in r.problems]


def _equal_by_year(one: Snapshot, other: Snapshot) -> None:
    for table in BY_YEAR:
        pd.testing.assert_frame_equal(
            pd.read_parquet(one.table(table)), pd.read_parquet(other.table(table))
        )


def test_a_refresh_reads_only_the_enterprises_a_new_batch_touched(snapshot, engine, tmp_path):
    """The snapshot fixture holds A and B. A tax batch for B only (two tax types, 20,000 + 5,000
    元 = 2.5 万元, which wins over statistics' 5 万元 by precedence): the next snapshot beside the
    first starts from it and re-reads one enterprise; it equals a full build, and B's 2025
    tax_paid is 2.5 in both. Taken in the same process right after the import (the SQLite
    reader runs in a child process and sees the new commit)."""
    first = snapshot
    assert first.refreshed_from == "" and first.batches_fingerprint
    _import_tax(engine, tmp_path, "t2.csv", f"{B},2025,增值税,20000\n{B},2025,房产税,5000\n")
    refreshed = build_snapshot(engine, first.path.parent / "second")
    full = build_snapshot(engine, first.path.parent / "third", incremental=False)
    assert refreshed.refreshed_from == str(first.path) and refreshed.refreshed_enterprises == 1
    assert full.refreshed_from == "" and full.refreshed_enterprises is None
    for table in ("facts", "electricity_monthly", "enterprises", "scales"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(refreshed.table(table)), pd.read_parquet(full.table(table))
        )
    facts = pd.read_parquet(refreshed.table("facts"))
    ents = pd.read_parquet(refreshed.table("enterprises")).set_index("uscc")["enterprise_id"]
    tax = facts[(facts["item"] == "tax_paid") & (facts["year"] == 2025)].set_index("enterprise_id")
    assert (
        tax.loc[ents[B], "value"] == pytest.approx(2.5) and tax.loc[ents[B], "source_dept"] == "tax"
    )
    assert tax.loc[ents[A], "value"] == pytest.approx(100)  # copied from the first snapshot
    # nothing new since: a refresh re-reads no enterprise and changes nothing
    again = build_snapshot(engine, first.path.parent / "fourth")
    assert again.refreshed_enterprises == 0
    pd.testing.assert_frame_equal(
        pd.read_parquet(again.table("facts")), pd.read_parquet(full.table("facts"))
    )


def test_a_refresh_reads_a_new_batch_by_its_recorded_id_range(snapshot, engine, tmp_path):
    """The facts have no index of the batch: a refresh reads a new batch's facts by the primary
    key in the id range the batch recorded. Shown by a range that misses them (the refresh then
    finds no enterprise), and by a batch without a range, whose facts a scan still finds."""
    from industry_brain.store import facts as fact_store

    first = snapshot
    _import_tax(engine, tmp_path, "t2.csv", f"{B},2025,增值税,20000\n{B},2025,房产税,5000\n")
    with Session(engine) as s:
        batch = s.scalars(select(ImportBatch).order_by(ImportBatch.id.desc())).first()
        ids = s.scalars(select(Fact.id).where(Fact.batch_id == batch.id)).all()
        assert len(ids) == 2 and batch.summary["fact_id_range"] == [min(ids), max(ids)]
        assert fact_store.batch_ranges(s, [batch.id]) == [(min(ids), max(ids))]
        summary, batch_id = dict(batch.summary), batch.id
        batch.summary = {**summary, "fact_id_range": [max(ids) + 1, max(ids) + 1]}
        s.commit()
    missed = build_snapshot(engine, first.path.parent / "missed")
    assert missed.refreshed_enterprises == 0  # read by the (wrong) range: nothing found
    shutil.rmtree(missed.path)  # the next refresh starts from the first snapshot again
    with Session(engine) as s:
        batch = s.get(ImportBatch, batch_id)
        batch.summary = {k: v for k, v in summary.items() if k != "fact_id_range"}
        s.commit()
        assert fact_store.batch_ranges(s, [batch_id]) is None
    scanned = build_snapshot(engine, first.path.parent / "scanned")
    full = build_snapshot(engine, first.path.parent / "full", incremental=False)
    assert scanned.refreshed_from == str(first.path) and scanned.refreshed_enterprises == 1
    _equal_by_year(scanned, full)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_snapshot_of_another_store_is_never_a_refresh_base(snapshot, tmp_path):
    """A store recreated at the same path with the same batch ids is another store: its batches'
    files and times differ, so the fingerprint does and the next snapshot is a full build."""
    from industry_brain.store import migrate
    from industry_brain.store.db import make_engine

    db = tmp_path / "other.sqlite"
    other = make_engine(f"sqlite:///{db}")
    migrate.upgrade(other)
    reg = tmp_path / "r.csv"
    reg.write_text(f"统一社会信用代码,企业名称,所属区县,行业代码\n{A},甲,吴兴区,1751\n", "utf-8")
    import_file("registration", reg, engine=other)
    first = build_snapshot(other, tmp_path / "snaps" / "one")
    other.dispose()
    db.unlink()
    other = make_engine(f"sqlite:///{db}")
    migrate.upgrade(other)
    reg.write_text(f"统一社会信用代码,企业名称,所属区县,行业代码\n{B},乙,南浔区,3841\n", "utf-8")
    import_file("registration", reg, engine=other)
    second = build_snapshot(other, tmp_path / "snaps" / "two")
    assert first.batch_ids == second.batch_ids
    assert second.refreshed_from == ""
    assert pd.read_parquet(second.table("enterprises"))["uscc"].tolist() == [B]


def test_facts_are_kept_one_file_per_year_and_a_refresh_rewrites_only_touched_years(
    snapshot, engine, tmp_path
):
    """The fixture's snapshot holds 2025 only. Statistics for 2024 arrive (A: value added 280,
    B: 40): the refresh writes ``facts/2024-0000.parquet`` and links the 2025 files of the first
    snapshot (the same file on disk). Then the tax bureau's 2025 figures for B arrive (20,000 +
    5,000 元 = 2.5 万元, over statistics' 5 by precedence): the next refresh rewrites 2025 only
    and links the second snapshot's 2024 files. Each refresh equals a full build, read as one
    table by DuckDB."""
    import os

    first = snapshot
    stats = tmp_path / "stats24.csv"
    stats.write_text(
        "统一社会信用代码,企业名称,年份,工业增加值(万元),应交税金(万元),规上标志\n"
        f"{A},甲,2024,280,80,是\n{B},乙,2024,40,4,否\n",
        "utf-8",
    )
    assert import_file("stats_annual", stats, engine=engine).status == "committed"
    second = build_snapshot(engine, first.path.parent / "second")
    assert second.refreshed_from == str(first.path) and second.rewritten_years == [2024]
    for table in BY_YEAR:
        assert (
            sorted(p.name for p in second.table(table).iterdir())
            == [
                "2024-0000.parquet",
                "2025-0000.parquet",
            ]
            or table == "electricity_monthly"
        )  # no 2024 electricity: 2025 only
        assert os.path.samefile(
            second.table(table) / "2025-0000.parquet", first.table(table) / "2025-0000.parquet"
        )
    year_2024 = pd.read_parquet(second.table("facts") / "2024-0000.parquet")
    # 2 firms × (value added, tax paid); 规上 goes to scales
    assert set(year_2024["year"]) == {2024} and len(year_2024) == 4
    _import_tax(engine, tmp_path, "t25.csv", f"{B},2025,增值税,20000\n{B},2025,房产税,5000\n")
    third = build_snapshot(engine, first.path.parent / "third")
    assert third.refreshed_from == str(second.path) and third.rewritten_years == [2025]
    assert os.path.samefile(
        third.table("facts") / "2024-0000.parquet",
        year_2024_path := second.table("facts") / "2024-0000.parquet",
    )
    assert not os.path.samefile(
        third.table("facts") / "2025-0000.parquet", first.table("facts") / "2025-0000.parquet"
    )
    full = build_snapshot(engine, first.path.parent / "full", incremental=False)
    assert full.rewritten_years is None and full.rows == third.rows
    _equal_by_year(third, full)
    con = connect(third.path, tables=("enterprises", "facts"))
    counts = con.table("facts").group_by("year").aggregate(n=_.count()).to_pandas()
    assert dict(zip(counts["year"], counts["n"], strict=True)) == {
        2024: len(year_2024),
        2025: len(pd.read_parquet(third.table("facts") / "2025-0000.parquet")),
    }
    assert year_2024_path.exists()


def test_an_enterprise_moved_to_another_county_rewrites_its_parts_of_every_year(
    snapshot, engine, tmp_path, monkeypatch
):
    """Department precedence is per county: when B moves (南浔区 → 吴兴区) every year of B may
    differ, so the refresh rewrites B's part of every year and still equals a full build. With
    one enterprise per bucket (``BUCKET_FIRMS`` 1), A's part is the first snapshot's file."""
    import os

    from industry_brain.warehouse import snapshot as snapshot_module

    monkeypatch.setattr(snapshot_module, "BUCKET_FIRMS", 1)
    ents = pd.read_parquet(snapshot.table("enterprises")).set_index("uscc")["enterprise_id"]
    a, b = int(ents[A]), int(ents[B])
    first = build_snapshot(engine, snapshot.path.parent / "by_firm", incremental=False)
    assert sorted(p.name for p in first.table("facts").iterdir()) == [
        f"2025-{a:04d}.parquet",
        f"2025-{b:04d}.parquet",
    ]
    reg = tmp_path / "reg2.csv"
    reg.write_text(f"统一社会信用代码,企业名称,所属区县,行业代码\n{B},乙,吴兴区,3841\n", "utf-8")
    r = import_file("registration", reg, engine=engine)
    assert r.status == "committed", [p.message() for p in r.problems]
    refreshed = build_snapshot(engine, snapshot.path.parent / "moved")
    full = build_snapshot(engine, snapshot.path.parent / "moved_full", incremental=False)
    assert refreshed.refreshed_from == str(first.path) and refreshed.rewritten_years == [2025]
    assert refreshed.refreshed_enterprises == 1
    a_part = f"2025-{a:04d}.parquet"
    assert os.path.samefile(refreshed.table("facts") / a_part, first.table("facts") / a_part)
    b_part = f"2025-{b:04d}.parquet"
    assert not os.path.samefile(refreshed.table("facts") / b_part, first.table("facts") / b_part)
    _equal_by_year(refreshed, full)


def test_a_correction_rewrites_one_part_and_links_the_rest(snapshot, engine, tmp_path, monkeypatch):
    """One enterprise per bucket: B's 2025 tax correction (20,000 + 5,000 元 = 2.5 万元) writes
    B's 2025 part only. A's facts and electricity parts are the base's files on disk, the
    refresh equals a full build, and B's tax_paid is 2.5 from the tax bureau."""
    import os

    from industry_brain.warehouse import snapshot as snapshot_module

    monkeypatch.setattr(snapshot_module, "BUCKET_FIRMS", 1)
    first = build_snapshot(engine, snapshot.path.parent / "parts")
    # the fixture's snapshot has one bucket per year: the layout changed, a full build
    assert first.refreshed_from == str(snapshot.path) and first.refreshed_enterprises == 0
    ents = pd.read_parquet(first.table("enterprises")).set_index("uscc")["enterprise_id"]
    a, b = int(ents[A]), int(ents[B])
    _import_tax(engine, tmp_path, "t3.csv", f"{B},2025,增值税,20000\n{B},2025,房产税,5000\n")
    second = build_snapshot(engine, snapshot.path.parent / "parts2")
    assert second.refreshed_from == str(first.path) and second.refreshed_enterprises == 1
    for table in BY_YEAR:
        for part in first.table(table).glob(f"2025-{a:04d}.parquet"):
            assert os.path.samefile(second.table(table) / part.name, part), (table, part.name)
    b_part = f"2025-{b:04d}.parquet"
    assert not os.path.samefile(second.table("facts") / b_part, first.table("facts") / b_part)
    tax = pd.read_parquet(second.table("facts") / b_part).set_index("item")
    assert tax.loc["tax_paid", "value"] == pytest.approx(2.5)
    assert tax.loc["tax_paid", "source_dept"] == "tax"
    full = build_snapshot(engine, snapshot.path.parent / "parts_full", incremental=False)
    _equal_by_year(second, full)


def test_a_base_without_buckets_is_rewritten_whole(snapshot, engine, tmp_path):
    """A snapshot written before the buckets names its year files ``2025.parquet``: a refresh
    from it reads those files whole and writes every part, and equals a full build."""
    for table in BY_YEAR:
        for part in snapshot.table(table).glob("*.parquet"):
            part.rename(part.with_name(part.name.split("-")[0] + ".parquet"))
    assert (snapshot.table("facts") / "2025.parquet").exists()
    _import_tax(engine, tmp_path, "t4.csv", f"{B},2025,增值税,20000\n")
    refreshed = build_snapshot(engine, snapshot.path.parent / "from_old")
    full = build_snapshot(engine, snapshot.path.parent / "from_old_full", incremental=False)
    assert refreshed.refreshed_from == str(snapshot.path)
    assert [p.name for p in refreshed.table("facts").iterdir()] == ["2025-0000.parquet"]
    _equal_by_year(refreshed, full)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_stages_the_raw_facts_one_file_per_bucket(snapshot, engine, tmp_path):
    """The SQLite export (ADBC, in a child process for a snapshot) splits the raw facts by
    bucket of enterprise ids as it reads them, so each bucket is reduced from its own file:
    with one enterprise per bucket, A's and B's facts are two files whose rows are those the
    store gives each enterprise through ``sqlite3``."""
    from collections import Counter

    import pyarrow.parquet as pq
    from sqlalchemy import text

    from industry_brain.warehouse import sqlite_export
    from industry_brain.warehouse.snapshot import _raw_facts_sql

    with engine.connect() as conn:
        sql = _raw_facts_sql(conn)
        expected = Counter(int(r.enterprise_id) for r in conn.execute(text(sql)))
    ents = pd.read_parquet(snapshot.table("enterprises")).set_index("uscc")["enterprise_id"]
    assert set(expected) == {int(ents[A]), int(ents[B])}
    rows = sqlite_export.export(engine.url.database, sql, str(tmp_path / "raw"), 1)
    staged = {
        int(f.stem.split("-")[1]): pq.ParquetFile(f).metadata.num_rows
        for f in (tmp_path / "raw").glob("raw-*.parquet")
    }
    assert staged == dict(expected) and rows == sum(expected.values())


def test_postgresql_reads_every_bucket_along_the_index(snapshot, engine, tmp_path, monkeypatch):
    """On PostgreSQL each bucket's facts are read along ``ix_facts_lookup`` (which carries every
    column read), never by a sequential scan of the whole table per bucket. The planner
    prefers that scan for this small table — and at province scale once part of the table is
    not all-visible: 8.0 s a bucket instead of 1.5 s, measured on 85 million facts. One
    enterprise per bucket here: two buckets, two index scans, no sequential scan (the
    server's own counters, ``pg_stat_user_tables``)."""
    import time

    from sqlalchemy import text

    from industry_brain.warehouse import snapshot as snapshot_module

    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's facts are read in one pass by a child process")
    monkeypatch.setattr(snapshot_module, "BUCKET_FIRMS", 1)
    ents = pd.read_parquet(snapshot.table("enterprises"))["enterprise_id"]
    buckets = sorted(int(e) for e in ents)

    def counters() -> tuple[int, int]:
        """The table's scan counters once every other session of the database has ended (a
        server process reports its counters when it ends: the fixture's imports', the
        export's)."""
        engine.dispose()
        deadline = time.monotonic() + 20
        others = text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        while True:
            # a transaction of its own each time: PostgreSQL shows a transaction one
            # pg_stat_activity, taken when the transaction first reads it
            with engine.connect() as c:
                if not c.scalar(others):
                    break
            assert time.monotonic() < deadline, "other sessions did not end"
            time.sleep(0.05)
        with engine.connect() as c:  # a new transaction: the counters as they are now
            seq, idx = c.execute(
                text(
                    "SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_user_tables "
                    "WHERE relname = 'facts'"
                )
            ).one()
        return int(seq), int(idx)

    before = counters()
    with engine.connect() as conn:
        raw = snapshot_module._RawFacts(conn, tmp_path, None, buckets)
        with raw.parts() as parts:
            rows = sum(source.num_rows for _bucket, source, _high in parts)
    # A: 2 statistics figures (工业增加值, 应交税金) + 1 tax + 3 power rows; B: 2 statistics
    assert rows == 8
    after = counters()
    assert (after[0] - before[0], after[1] - before[1]) == (0, len(buckets))


def test_units_come_from_the_batches_records_or_else_from_each_fact(snapshot, engine, tmp_path):
    """Every import records the unit of each item it wrote (``fact_units``); the snapshot names
    each fact's unit from its item then (on PostgreSQL the export leaves the unit out). The
    records agree with the stored facts, read here independently; a batch holding facts but no
    record (written outside the import) makes the units unknown, and the next snapshot reads
    each fact's own unit again — the new fact's 件 included."""
    from industry_brain.store import facts as fact_store
    from industry_brain.warehouse.snapshot import _input_batches

    with Session(engine) as s:
        stored = dict(s.execute(select(Fact.item, Fact.unit).distinct()).all())
        assert (
            fact_store.batch_units(s, _input_batches(s))
            == stored
            == {
                "value_added": "万元",
                "tax_paid": "万元",
                "electricity": "千瓦时",
            }
        )
    facts = pd.read_parquet(snapshot.table("facts"))
    assert dict(zip(facts["item"], facts["unit"], strict=True)) == stored
    with Session(engine) as s:
        batch = ImportBatch(
            kind="manual", department="statistics", file_name="手工.csv", file_hash="m" * 64,
            status="committed", summary={},
        )  # fmt: skip
        s.add(batch)
        s.flush()
        a = int(facts["enterprise_id"].min())
        s.add(
            Fact(
                enterprise_id=a, year=2025, month=0, item="products", detail="", value=12.0,
                unit="件", source_dept="statistics", batch_id=batch.id,
            )
        )  # fmt: skip
        s.commit()
        assert fact_store.batch_units(s, _input_batches(s)) is None
    again = build_snapshot(engine, tmp_path / "units-read", incremental=False)
    named = pd.read_parquet(again.table("facts"))
    assert dict(zip(named["item"], named["unit"], strict=True)) == {**stored, "products": "件"}


def test_batch_units_are_unknown_when_an_item_has_two_units(engine):
    """Two batches recording one item in two units: the units are not a function of the item,
    so none is named from it; a batch recording no facts (an empty range) counts for nothing."""
    from industry_brain.store import facts as fact_store

    with Session(engine) as s:
        batches = [
            ImportBatch(
                kind="manual",
                department="statistics",
                file_name=f"{n}.csv",
                file_hash=n * 64,
                status="committed",
                summary=summary,
            )
            for n, summary in (
                ("a", {"fact_id_range": [1, 2], "fact_units": {"coal": "吨"}}),
                ("b", {"fact_id_range": [3, 3], "fact_units": {"coal": "千克"}}),
                ("c", dict(fact_store.NO_FACTS)),
                ("d", {"fact_id_range": [4, 4], "fact_units": {"gas": "万立方米"}}),
            )
        ]
        s.add_all(batches)
        s.flush()
        ids = [b.id for b in batches]
        assert fact_store.batch_units(s, ids) is None
        assert fact_store.batch_units(s, ids[2:]) == {"gas": "万立方米"}
        assert fact_store.batch_units(s, ids[:1] + ids[2:]) == {"coal": "吨", "gas": "万立方米"}


def test_an_item_without_a_recorded_unit_stops_the_reduction():
    """Raw facts handed out without units whose item has no recorded unit (an import of a new
    item committed while the snapshot ran) are refused, not given a guessed unit."""
    import pyarrow as pa

    from industry_brain.core.errors import ValidationError
    from industry_brain.warehouse.snapshot import _coded

    raw = pa.table(
        {
            "enterprise_id": [1, 1],
            "year": [2025, 2025],
            "month": [0, 0],
            "item": ["revenue", "products"],
            "value": [1.0, 2.0],
            "source_dept": ["statistics", "statistics"],
        }
    )
    coded, texts = _coded(raw, 0, None, {"revenue": "万元", "products": "件"})
    assert texts["unit"].to_pylist() == sorted(["万元", "件"])  # code order is text order
    units = [texts["unit"][c].as_py() for c in coded["unit"].to_pylist()]
    assert units == ["万元", "件"]
    with pytest.raises(ValidationError) as error:
        _coded(raw, 0, None, {"revenue": "万元"})
    assert error.value.code == "snapshot.unit_unknown" and "products" in error.value.en
