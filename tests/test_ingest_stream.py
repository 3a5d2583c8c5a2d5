"""A large sheet streamed into PostgreSQL (``ingest.stream``: its facts sent slice by slice while
the next slice is checked) leaves the store exactly as the whole-file import of the same file:
the same facts with their lineage, problems, review entries, power accounts and batch. The
slices are made tiny here (7 rows) so that every case crosses slice boundaries: duplicates of a
row in another slice, an account linked to its enterprise by a row of a later slice, a name sent
to the review queue from two slices, a rejected file, a file of two years, a department that has
the year already, a failing write."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.core import uscc as uscc_mod
from industry_brain.core.errors import ValidationError
from industry_brain.ingest import import_file, stream
from industry_brain.ingest import load as load_mod
from industry_brain.store import db
from industry_brain.store.models import (
    Enterprise,
    Fact,
    ImportBatch,
    ImportProblem,
    MatchReview,
    PowerAccount,
)
from tests.conftest import _create_database, _drop_database

N_FIRMS = 30


def _usccs(n: int) -> list[str]:
    rng = np.random.default_rng(5)
    out = []
    for i in range(n):
        body = "".join(uscc_mod.ALPHABET[b] for b in rng.integers(0, 31, size=7))
        out.append(uscc_mod.make(f"91330502{i:02d}{body}"))
    return out


USCC = _usccs(N_FIRMS)
NAMES = [f"湖州流式{i:02d}制造有限公司" for i in range(N_FIRMS)]
REGISTRATION = "统一社会信用代码,企业名称,所属区县,行业代码,成立日期,登记状态\n" + "".join(
    f"{u},{n},吴兴区,1751,2010-05-01,存续\n" for u, n in zip(USCC, NAMES, strict=True)
)
HEADER = "户号,户名,统一社会信用代码,月份,用电量(千瓦时)\n"


def _power(rows: list[tuple[str, str, str, str, str]]) -> str:
    return HEADER + "".join(",".join(r) + "\n" for r in rows)


def _clean(year: int = 2025, months: int = 3, factor: float = 1.0) -> list[tuple]:
    """Every firm's account for ``months`` months, all rows with their USCC."""
    return [
        (f"33{i:08d}", NAMES[i], USCC[i], f"{year}年{m}月", f"{(100 + 7 * i + m) * factor:g}")
        for m in range(1, months + 1)
        for i in range(N_FIRMS)
    ]


@pytest.fixture
def two_stores(pg_server, _pg_template, tmp_path) -> Iterator[tuple[Engine, Engine]]:
    """Two fresh stores with the same registered firms: one imports whole, one streams."""
    names = [f"t_stream_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    engines = []
    try:
        for name in names:
            engine = db.make_engine(_create_database(pg_server, name, _pg_template))
            path = tmp_path / "reg.csv"
            path.write_text(REGISTRATION, encoding="utf-8")
            assert import_file("registration", path, engine=engine).status == "committed"
            engines.append(engine)
        yield engines[0], engines[1]
    finally:
        for engine in engines:
            engine.dispose()
        db.engine_for.cache_clear()
        for name in names:
            _drop_database(pg_server, name)


class _Spy:
    """Counts the slices the writer thread wrote (so a test knows the file did stream) and
    records why a stream stopped."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.slices = 0
        real = load_mod.copy_facts

        def copy_facts(dbapi: Any, parts: list[Any], stats: Any) -> None:
            if threading.current_thread().name == "ib-stream-writer":
                self.slices += 1
            real(dbapi, parts, stats)

        monkeypatch.setattr(load_mod, "copy_facts", copy_facts)
        self.stops: list[str] = []
        stop = stream.Stream._stop

        def _stop(s: stream.Stream, why: str) -> None:
            self.stops.append(why)
            stop(s, why)

        monkeypatch.setattr(stream.Stream, "_stop", _stop)


def _import(engine: Engine, path: Path, streamed: bool, monkeypatch, **kw) -> Any:
    with monkeypatch.context() as m:
        m.setattr(stream, "CHUNK_ROWS", 7)
        m.setattr(stream, "STREAM_FROM_ROWS", 1 if streamed else 10**9)
        m.delenv("IB_IMPORT_STREAM_FROM", raising=False)  # the threshold just set
        return import_file("power", path, engine=engine, write_reports=False, **kw)


def _rows(s: Session, *columns: Any) -> list[tuple]:
    return sorted(tuple(r) for r in s.execute(select(*columns)))


def _store(engine: Engine) -> dict[str, Any]:
    """Everything an import writes, without ids and times."""
    with Session(engine) as s:
        facts = _rows(
            s,
            Fact.enterprise_id,
            Fact.year,
            Fact.month,
            Fact.item,
            Fact.detail,
            Fact.value,
            Fact.unit,
            Fact.source_dept,
            Fact.sheet,
            Fact.column,
            Fact.row,
            Fact.raw_value,
            Fact.superseded_by.is_(None),
        )
        problems = _rows(
            s,
            ImportProblem.severity,
            ImportProblem.code,
            ImportProblem.message_zh,
            ImportProblem.message_en,
            ImportProblem.row,
            ImportProblem.column,
            ImportProblem.value,
            ImportProblem.uscc,
        )
        reviews = sorted(
            (r.row, r.raw_name, r.raw_uscc, r.raw_account, r.reason, str(r.candidates))
            for r in s.scalars(select(MatchReview))
        )
        accounts = _rows(s, PowerAccount.account_no, PowerAccount.enterprise_id)
        batches = [
            (
                b.kind,
                b.status,
                b.rows_total,
                b.rows_rejected,
                b.rows_loaded,
                {
                    k: v
                    for k, v in (b.summary or {}).items()
                    if k not in ("batch_id", "fact_id_range")
                },
            )
            for b in s.scalars(select(ImportBatch).order_by(ImportBatch.id))
        ]
    return {
        "facts": facts,
        "problems": problems,
        "reviews": reviews,
        "accounts": accounts,
        "batches": batches,
    }


def _firm_id(s: Session, i: int) -> int:
    return s.scalars(select(Enterprise.id).where(Enterprise.uscc == USCC[i])).one()


def _result(r: Any) -> dict[str, Any]:
    d = r.to_dict()
    d.pop("batch_id")
    return d


def _both(two_stores, monkeypatch, tmp_path, files: list[tuple[str, dict]]) -> tuple[Any, _Spy]:
    """Import ``files`` (text, options) in order into both stores, whole and streamed; assert
    the results and the stores are equal; return the streamed results and the spy."""
    whole, streamed = two_stores
    spy = _Spy(monkeypatch)
    results = []
    for k, (text, options) in enumerate(files):
        path = tmp_path / f"power_{k}.csv"
        path.write_text(text, encoding="gbk")
        a = _import(whole, path, False, monkeypatch, **options)
        slices = spy.slices
        assert slices == 0 or k > 0  # the whole-file import never streams
        b = _import(streamed, path, True, monkeypatch, **options)
        assert _result(b) == _result(a)
        results.append(b)
    got, expected = _store(streamed), _store(whole)
    for key in expected:
        assert got[key] == expected[key], key
    return results, spy


@pytest.mark.postgres
def test_a_clean_file_streams_and_stores_what_the_whole_file_import_stores(
    two_stores, monkeypatch, tmp_path
):
    rows = _clean(2024)  # 90 rows: a first slice of 1, then 13 of 7 (the last of 5)
    with monkeypatch.context() as m:
        m.setattr(stream, "CHUNK_ROWS", 7)
        assert stream.slices(90) == [(0, 1), *((k, min(k + 7, 90)) for k in range(1, 90, 7))]
    # the next year, every figure of firms 3 and 17 twenty times last year's: the year-on-year
    # check against the store warns (it runs while the writer sends the last slices)
    jumped = [
        (*r[:4], f"{float(r[4]) * (20 if r[0] in ('3300000003', '3300000017') else 1):g}")
        for r in _clean(2025)
    ]
    (r, r2), spy = _both(
        two_stores, monkeypatch, tmp_path, [(_power(rows), {}), (_power(jumped), {})]
    )
    assert r.status == "committed" and r.facts_inserted == len(rows)
    assert spy.slices == 2 * 14
    assert r2.status == "committed" and r2.counts_by_code() == {"cross.electricity_jump": 6}
    with Session(two_stores[1]) as s:
        facts = list(s.scalars(select(Fact).where(Fact.year == 2024)))
        batch = s.scalars(select(ImportBatch).where(ImportBatch.kind == "power")).first()
        low, high = batch.summary["fact_id_range"]
        assert all(low <= f.id <= high and f.batch_id == batch.id for f in facts)
        assert sorted(f.row for f in facts) == list(range(2, len(rows) + 2))


@pytest.mark.postgres
def test_duplicates_across_slices_lose_their_facts_and_a_rejected_file_leaves_none(
    two_stores, monkeypatch, tmp_path
):
    rows = _clean()
    # row 20 (slice 3) repeats row 3 (slice 1); row 6 repeats row 5 within slice 1;
    # the last row repeats row 50
    dup = [*rows[:18], rows[1], *rows[18:], rows[48]]
    dup.insert(4, rows[3])
    text = _power(dup)
    results, spy = _both(
        two_stores, monkeypatch, tmp_path, [(text, {}), (text, {"accept_valid": True})]
    )
    rejected, partial = results
    assert rejected.status == "rejected" and rejected.facts_inserted == 0
    # the duplicates of another slice are only found at the end: the rejected file streamed
    assert spy.stops == []
    assert partial.status == "partial" and partial.rows_rejected == 3
    assert partial.counts_by_code()["row.duplicate"] == 3
    assert partial.facts_inserted == len(rows)
    assert spy.slices > 0
    with Session(two_stores[1]) as s:
        assert len(list(s.scalars(select(Fact)))) == len(rows)


@pytest.mark.postgres
def test_an_account_linked_in_a_later_slice_and_reviews_once_per_file(
    two_stores, monkeypatch, tmp_path
):
    rows = _clean(months=2)
    # a row without a USCC in the first slice: its account 3300000020 is linked to firm 20 by
    # a row of the fourth slice (in the file, not in the store); an unknown name twice, in two
    # slices
    early = [("3300000020", "甲老厂区", "", "2025年3月", "55")]
    # and one whose account name is another firm's: its slice matches it by that name, the
    # whole file by its account (linked to firm 21 in the fourth slice), which comes first
    early.append(("3300000021", NAMES[5], "", "2025年3月", "66"))
    unknown = [("3399999999", "无名作坊", "", "2025年3月", "10")]
    text = _power(
        [*early, *unknown, *rows, *unknown[:1], ("3399999999", "无名作坊", "", "2025年4月", "11")]
    )
    (r,), spy = _both(two_stores, monkeypatch, tmp_path, [(text, {"accept_valid": True})])
    assert r.status == "partial"
    assert r.reviews_opened == 1  # the same account and name: one entry for the file
    assert r.counts_by_code()["match.unknown"] == 3
    assert r.rows_loaded == len(rows) + 2  # the early rows load, matched through the account
    assert spy.slices > 0
    with Session(two_stores[1]) as s:
        moved = s.scalars(select(Fact).where(Fact.detail == "3300000021", Fact.month == 3)).one()
        assert moved.enterprise_id == _firm_id(s, 21) and moved.value == 66


@pytest.mark.postgres
def test_a_file_of_two_years_or_of_a_stored_year_loads_whole(two_stores, monkeypatch, tmp_path):
    two_years = _clean(2024, months=2) + _clean(2025, months=2)
    first = _clean(2023, months=2)
    corrected = _clean(2023, months=2, factor=1.5)
    results, spy = _both(
        two_stores,
        monkeypatch,
        tmp_path,
        [(_power(two_years), {}), (_power(first), {}), (_power(corrected), {})],
    )
    assert [r.status for r in results] == ["committed"] * 3
    # the first file's second year stops its stream at its first 2025 slice (the rest is
    # still checked slice by slice); the third file's year is in the store already
    assert spy.stops == ["years", "stored"]
    assert spy.slices > 0  # the second file streamed
    assert results[2].facts_superseded == len(corrected)  # the stored year was replaced
    with Session(two_stores[1]) as s:
        current = s.scalars(
            select(Fact.value).where(Fact.year == 2023, Fact.superseded_by.is_(None))
        ).all()
        assert sorted(current) == sorted(float(r[4]) for r in corrected)


@pytest.mark.postgres
def test_a_failing_write_fails_the_import_and_leaves_nothing(two_stores, monkeypatch, tmp_path):
    _, streamed = two_stores
    path = tmp_path / "p.csv"
    path.write_text(_power(_clean()), encoding="gbk")
    real = load_mod.copy_facts
    calls = []

    def failing(dbapi: Any, parts: list[Any], stats: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the server went away")
        real(dbapi, parts, stats)

    monkeypatch.setattr(load_mod, "copy_facts", failing)
    with pytest.raises(RuntimeError, match="went away"):
        _import(streamed, path, True, monkeypatch)
    with Session(streamed) as s:
        assert s.scalars(select(Fact)).first() is None
        assert s.scalars(select(ImportBatch).where(ImportBatch.kind == "power")).first() is None
    monkeypatch.setattr(load_mod, "copy_facts", real)
    r = _import(streamed, path, True, monkeypatch)  # the same connection pool works on
    assert r.status == "committed"


def test_only_postgresql_and_large_sheets_of_fact_kinds_stream(engine, tmp_path):
    from industry_brain.ingest import readers
    from industry_brain.ingest.mapping import load_mapping

    path = tmp_path / "p.csv"
    path.write_text(_power(_clean()), encoding="gbk")
    tables = readers.read_file(path)
    with Session(engine) as s:
        big = stream.eligible(s, load_mapping("power"), tables)
        assert not stream.eligible(s, load_mapping("registration"), tables)
        assert big is False  # 90 rows are fewer than STREAM_FROM_ROWS
        original = stream.STREAM_FROM_ROWS
        try:
            stream.STREAM_FROM_ROWS = 10
            expected = s.get_bind().dialect.name == "postgresql"
            assert stream.eligible(s, load_mapping("power"), tables) is expected
            assert not stream.eligible(s, load_mapping("land"), tables)
            os.environ["IB_IMPORT_STREAM_FROM"] = "off"
            assert not stream.eligible(s, load_mapping("power"), tables)
        finally:
            stream.STREAM_FROM_ROWS = original
            os.environ.pop("IB_IMPORT_STREAM_FROM", None)


def test_slices_cover_every_row_once_with_a_short_first_slice():
    assert stream.slices(1_000_000) == [
        (0, 50_000),
        (50_000, 300_000),
        (300_000, 550_000),
        (550_000, 800_000),
        (800_000, 1_000_000),
    ]
    assert stream.slices(3) == [(0, 3)]
    assert stream.slices(0) == []
    for n in (1, 49_999, 50_000, 50_001, 300_000, 777_777):
        bounds = stream.slices(n)
        assert bounds[0][0] == 0 and bounds[-1][1] == n
        assert all(a < b for a, b in bounds)
        assert all(b == c for (_, b), (c, _) in pairwise(bounds))


def test_the_stream_setting(monkeypatch):
    monkeypatch.delenv("IB_IMPORT_STREAM_FROM", raising=False)
    assert stream.stream_from() == stream.STREAM_FROM_ROWS == 500_000
    monkeypatch.setenv("IB_IMPORT_STREAM_FROM", "off")
    assert stream.stream_from() is None
    monkeypatch.setenv("IB_IMPORT_STREAM_FROM", "120000")
    assert stream.stream_from() == 120_000
    for bad in ("0", "-5", "many"):
        monkeypatch.setenv("IB_IMPORT_STREAM_FROM", bad)
        with pytest.raises(ValidationError) as info:
            stream.stream_from()
        assert info.value.location.field == "IB_IMPORT_STREAM_FROM"
        assert repr(bad) in info.value.en and "off" in info.value.en


@pytest.mark.postgres
def test_a_slice_with_an_error_stops_the_stream_of_a_file_that_will_be_rejected(
    two_stores, monkeypatch, tmp_path
):
    rows = _clean()
    bad = [*rows[:30], (rows[30][0], rows[30][1], rows[30][2], "2025年13月", "5"), *rows[31:]]
    text = _power(bad)
    results, spy = _both(
        two_stores, monkeypatch, tmp_path, [(text, {}), (text, {"accept_valid": True})]
    )
    rejected, partial = results
    assert rejected.status == "rejected" and partial.status == "partial"
    assert partial.counts_by_code() == {"value.bad_month": 1}
    # rows 2-31 sent in the first 5 slices; the slice of the bad row stops the rejected file's
    # stream; with --accept-valid the stream goes on
    assert spy.stops == ["rejected"]
    assert spy.slices == 5 + 14
