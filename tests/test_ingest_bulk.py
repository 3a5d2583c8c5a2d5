"""The bulk paths of the ingest (issue 21 point 2): GB18030 CSV read as bytes and transcoded cell
by cell, facts and power accounts into PostgreSQL through COPY (Arrow columns in PostgreSQL's
binary form, each type checked against its column's), the foreign-key checks done once per set
on PostgreSQL.

The reader's results are compared with the same content read as UTF-8 (the path that decodes
the whole file first), value by value, row number by row number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from industry_brain.core.errors import ValidationError
from industry_brain.ingest import import_file, readers
from industry_brain.store import bulk
from industry_brain.store.bulk import arrow_table as _arrow
from industry_brain.store.bulk import pg_copy as _pg_copy
from industry_brain.store.models import Enterprise, Fact, ImportBatch, PowerAccount

HINTS = ["户号", "户名", "统一社会信用代码", "月份", "用电量"]


def _both(tmp_path: Path, body: str) -> tuple[readers.RawTable, readers.RawTable]:
    gbk = tmp_path / "g.csv"
    utf8 = tmp_path / "u.csv"
    gbk.write_bytes(body.encode("gb18030"))
    utf8.write_bytes(body.encode("utf-8"))
    (g,) = readers.read_file(gbk, header_hints=HINTS)
    (u,) = readers.read_file(utf8, header_hints=HINTS)
    return g, u


def _same(g: readers.RawTable, u: readers.RawTable) -> None:
    assert g.encoding == "gb18030" and u.encoding == "utf-8"
    assert g.data.to_pydict() == u.data.to_pydict()
    assert g.row_numbers.to_pylist() == u.row_numbers.to_pylist()
    assert g.skipped == u.skipped
    assert [(c.name, c.label, c.letter) for c in g.columns] == [
        (c.name, c.label, c.letter) for c in u.columns
    ]
    assert (g.header_rows, g.unit_note) == (u.header_rows, u.unit_note)


def test_gbk_bytes_path_reads_like_the_decoded_path(tmp_path):
    # a title row, a unit note, 6,000 rows (names repeat: decoded once per distinct value; a
    # column of unique Chinese text: decoded value by value), a blank line, a 合计 row
    lines = ["电力用户月度用电量", "单位：千瓦时", "户号,户名,统一社会信用代码,月份,用电量,备注"]
    for i in range(6000):
        lines.append(f"33{i:08d},湖州第{i % 40}号公司,,2025年{i % 12 + 1}月,{i}.5,说明{i}")
        if i == 2999:
            lines.append("")
    lines.append("合计,,,,,")
    g, u = _both(tmp_path, "\n".join(lines) + "\n")
    _same(g, u)
    assert g.data.num_rows == 6000
    assert g.data.column(1)[41].as_py() == "湖州第1号公司"
    assert g.data.column(5)[5999].as_py() == "说明5999"
    # line 3 is the header: the first data row is line 4, the row after the blank line 3,005
    assert g.row_numbers[0].as_py() == 4 and g.row_numbers[3000].as_py() == 3005


@pytest.mark.parametrize(
    "body",
    [
        # a row with an extra field (pyarrow hands such rows over as UTF-8: decoded path)
        "户号,户名,月份,用电量\n1,甲公司,2025年1月,10\n2,乙公司,2025年2月,20,多余\n",
        # a pipe is a valid GBK trail byte: such files are decoded first
        "户号|户名|月份|用电量\n1|甲公司|2025年1月|10\n2|乙·公司|2025年2月|20\n",
        # a quoted line break and tabs
        '户号\t户名\t月份\t用电量\n1\t"甲\n公司"\t2025年1月\t10\n2\t乙\t2025年2月\t20\n',
    ],
    ids=["odd_row", "pipe", "quoted_newline_tab"],
)
def test_gbk_quirks_read_like_the_decoded_path(tmp_path, body):
    _same(*_both(tmp_path, body))


def test_gbk_bad_bytes_name_their_line(tmp_path):
    path = tmp_path / "bad.csv"
    head = "户号,户名,月份,用电量\n1,甲公司,2025年1月,10\n2,乙".encode("gb18030")
    path.write_bytes(head + b"\x81\x20" + "公司,2025年2月,20\n".encode("gb18030"))
    with pytest.raises(ValidationError) as err:
        readers.read_file(path, encoding="gbk")
    assert err.value.code == "read.encoding"
    assert err.value.location.row == 3


A = "91330502MA2B3C4D1U"
B = "91330503MA2B3C4E2E"


def test_power_import_lineage_exact_through_the_bulk_path(engine, tmp_path):
    """Both stores: GBK power file, 2 enterprises × 3 accounts × 12 months (72 rows, values
    with a decimal that does not round-trip through 6 digits), every cell stored as read."""
    with Session(engine) as s:
        s.add_all([Enterprise(uscc=A, name="甲", status="存续"), Enterprise(uscc=B, name="乙")])
        s.commit()
    rows = ["户号,户名,统一社会信用代码,月份,用电量(千瓦时)"]
    expected = {}
    for k in range(6):
        uscc = (A, B)[k % 2]
        for m in range(1, 13):
            raw = f"{k * 1000 + m}.{k}{m}7" if m != 5 else f"{k + 1},234.5"
            rows.append(f'33{k:08d},户{k},{uscc},2025年{m}月,"{raw}"')
            value = float(raw.replace(",", ""))
            expected[(f"33{k:08d}", m)] = (uscc, value, raw, len(rows))
    path = tmp_path / "power.csv"
    path.write_bytes(("\n".join(rows) + "\n").encode("gbk"))
    r = import_file("power", path, engine=engine, write_reports=False)
    assert r.status == "committed", r.problems[:3]
    assert (r.rows_loaded, r.facts_inserted) == (72, 72)
    with Session(engine) as s:
        got = s.execute(
            select(
                Fact.detail,
                Fact.month,
                Enterprise.uscc,
                Fact.value,
                Fact.raw_value,
                Fact.row,
                Fact.column,
                Fact.sheet,
                Fact.unit,
                Fact.batch_id,
                Fact.superseded_by,
            ).join(Enterprise, Enterprise.id == Fact.enterprise_id)
        ).all()
        accounts = dict(
            s.execute(
                select(PowerAccount.account_no, Enterprise.uscc).join(
                    Enterprise, Enterprise.id == PowerAccount.enterprise_id
                )
            ).all()
        )
        # the batch records its facts' id range (the batch page reads them by primary key):
        # exactly the 72 ids this import inserted, into an empty facts table
        ids = s.scalars(select(Fact.id).where(Fact.batch_id == r.batch_id)).all()
        batch = s.get(ImportBatch, r.batch_id)
        assert batch.summary["fact_id_range"] == [min(ids), max(ids)]
        assert max(ids) - min(ids) + 1 == 72
        if engine.dialect.name == "postgresql":  # the role is back to normal after the COPY
            role = s.execute(text("SHOW session_replication_role")).scalar()
            assert role == "origin"
    assert len(got) == 72
    for detail, month, uscc, value, raw, row, column, sheet, unit, batch, sup in got:
        assert (uscc, value, raw, row) == expected[(detail, month)]
        assert (column, sheet, unit, batch, sup) == (
            "E（用电量(千瓦时)）",
            None,
            "千瓦时",
            r.batch_id,
            None,
        )
    assert accounts == {f"33{k:08d}": (A, B)[k % 2] for k in range(6)}


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgres_copy_still_refuses_a_missing_enterprise(engine):
    """The set-based reference check: an enterprise id that does not exist leaves the
    foreign-key triggers on, which refuse the COPY; a present one passes without them."""
    import psycopg

    assert engine.dialect.name == "postgresql"

    with Session(engine) as s:
        s.add(Enterprise(uscc=A, name="甲", status="存续"))
        s.commit()
        eid = s.scalar(select(Enterprise.id))
        batch = s.execute(
            text(
                "INSERT INTO import_batches (kind, department, file_name, file_hash, status, "
                "rows_total, rows_rejected, rows_loaded, options, summary) VALUES "
                "('power', 'power_grid', 'x.csv', 'h', 'committed', 1, 0, 1, '{}', '{}') "
                "RETURNING id"
            )
        ).scalar()
        s.commit()
    constants = {
        "item": "electricity",
        "unit": "千瓦时",
        "source_dept": "power_grid",
        "batch_id": batch,
        "sheet": None,
        "column": "E",
    }

    def frame(ids: list[int]) -> pd.DataFrame:
        n = len(ids)
        return pd.DataFrame(
            {
                "enterprise_id": np.array(ids, np.int64),
                "year": np.full(n, 2025),
                "month": np.arange(1, n + 1),
                "detail": np.array([""] * n, dtype=object),
                "value": np.array([1.5] * n),
                "row": np.arange(2, n + 2),
                "raw_value": np.array([None] * n, dtype=object),
            }
        )

    for ids, ok in (([eid, eid + 999], False), ([eid, eid], True)):
        with Session(engine) as s:
            dbapi = s.connection().connection.driver_connection
            rows = frame(ids)
            copy_columns = ["enterprise_id", "year", "month", "detail", "value", "row"]
            copy_columns.append("raw_value")
            # the facts' foreign keys from the model: enterprises.id, import_batches.id
            references = bulk.foreign_references(Fact.__table__, rows, constants)
            assert set(references) == {("enterprises", "id"), ("import_batches", "id")}
            if ok:
                with bulk.pg_references_checked(dbapi, "facts", references):
                    _pg_copy(dbapi, Fact.__table__, _arrow(rows, copy_columns), constants)
                s.commit()
            else:
                checked = bulk.pg_references_checked(dbapi, "facts", references)
                with pytest.raises(psycopg.errors.ForeignKeyViolation), checked:
                    _pg_copy(dbapi, Fact.__table__, _arrow(rows, copy_columns), constants)
                s.rollback()
    with Session(engine) as s:
        stored = s.execute(select(Fact.month, Fact.detail, Fact.raw_value)).all()
    assert sorted(stored) == [(1, "", None), (2, "", None)]

    # an error inside the block (an account number twice) surfaces as itself
    import pyarrow as pa

    accounts = pa.table(
        {
            "account_no": ["3301", "3301"],
            "account_name": ["甲", "甲"],
            "enterprise_id": pa.array([eid, eid], pa.int64()),
        }
    )
    with Session(engine) as s:
        dbapi = s.connection().connection.driver_connection
        checked = bulk.pg_references_checked(
            dbapi, "power_accounts", {("enterprises", "id"): np.array([eid])}
        )
        with pytest.raises(psycopg.errors.UniqueViolation), checked:
            _pg_copy(dbapi, PowerAccount.__table__, accounts, {})
        s.rollback()
        assert s.execute(text("SHOW session_replication_role")).scalar() == "origin"


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_insert_frame_checks_every_foreign_key_of_a_large_copy_setwise(engine):
    """``bulk.insert_frame`` of ≥ ``SETWISE_REFERENCES_FROM`` rows on PostgreSQL: the table's
    foreign keys (found from the model) are checked once for the set and the per-row triggers
    skipped; a missing reference in any key still raises the foreign-key error; a table with a
    trigger of its own keeps it running (the set-wise path is not taken)."""
    import psycopg

    from industry_brain.store.models import EnterpriseName

    n = bulk.SETWISE_REFERENCES_FROM
    with Session(engine) as s:
        s.add(Enterprise(uscc=A, name="甲", status="存续"))
        s.commit()
        eid = s.scalar(select(Enterprise.id))
        names = pd.DataFrame(
            {
                "enterprise_id": np.full(n, eid, np.int64),
                "name": [f"甲{k}" for k in range(n)],
                "normalized": [f"甲{k}" for k in range(n)],
                "kind": ["former"] * n,
            }
        )
        # the one foreign key, enterprises.id, from the model
        references = bulk.foreign_references(EnterpriseName.__table__, names, {})
        assert list(references) == [("enterprises", "id")]
        assert references[("enterprises", "id")].tolist() == names["enterprise_id"].tolist()
        assert bulk.insert_frame(s, EnterpriseName, names) == n
        assert s.execute(text("SHOW session_replication_role")).scalar() == "origin"
        s.commit()
        assert s.scalar(text("SELECT count(*) FROM enterprise_names")) == n

        # one row of 1,000 names an enterprise that does not exist: refused as before
        bad = names.assign(name=[f"乙{k}" for k in range(n)])
        bad.loc[n - 1, "enterprise_id"] = eid + 999
        with pytest.raises(Exception) as refused:
            bulk.insert_frame(s, EnterpriseName, bad)
        assert isinstance(
            refused.value.__cause__ or refused.value, psycopg.errors.ForeignKeyViolation
        )
        s.rollback()
        assert s.scalar(text("SELECT count(*) FROM enterprise_names")) == n

        # a trigger of the table's own runs for every row: the set-wise path is not taken
        s.execute(text("CREATE TABLE seen (name text)"))
        s.execute(
            text(
                "CREATE FUNCTION note_name() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN INSERT INTO seen VALUES (NEW.name); RETURN NEW; END $$"
            )
        )
        s.execute(
            text(
                "CREATE TRIGGER note_name AFTER INSERT ON enterprise_names "
                "FOR EACH ROW EXECUTE FUNCTION note_name()"
            )
        )
        s.commit()
        more = names.assign(name=[f"丙{k}" for k in range(n)])
        bulk.insert_frame(s, EnterpriseName, more)
        s.commit()
        assert s.scalar(text("SELECT count(*) FROM seen")) == n


def test_uscc_statuses_by_matrix_equal_the_check_code_by_code():
    import random

    from industry_brain.core.uscc import ALPHABET, check_character
    from industry_brain.ingest.normalize import _uscc_status, _uscc_statuses

    rng = random.Random(21)
    codes = []
    for k in range(3000):
        body = "".join(rng.choice(ALPHABET) for _ in range(17))
        code = body + (check_character(body) if k % 3 else rng.choice(ALPHABET))
        kind = k % 10
        if kind == 1:
            code = code[:17]  # length
        elif kind == 2:
            code = code[:4] + "I" + code[5:]  # a letter GB 32100 does not use
        elif kind == 3:
            code = code[:4] + "中" + code[5:]  # 18 characters, not ASCII
        elif kind == 4:
            code = code[:4] + "中" + code[6:]  # 17 characters, 19 bytes
        codes.append(code)
    got = _uscc_statuses(codes)
    assert got == [_uscc_status(c) for c in codes]
    assert {s for s, _ in got} == {"ok", "length", "charset", "checksum"}
    assert _uscc_statuses(["91330502MA2B3C4D1U", "91330502MA2B3C4D1A"]) == [
        ("ok", None),
        ("checksum", "U"),
    ]


def test_every_model_column_travels_in_the_binary_copy_form():
    """Every column of every store table has an Arrow type whose PostgreSQL binary COPY form
    its type reads, so no store table falls back to the CSV text form unnoticed."""
    from industry_brain.store.models import Base

    unmapped = [
        f"{table.name}.{column.name} ({column.type})"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if bulk._arrow_type(column) is None
    ]
    assert unmapped == []


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_binary_copy_round_trips_each_type_and_refuses_what_a_column_cannot_hold(engine):
    """``pg_copy`` in PostgreSQL's binary form: each column is cast to its table column's Arrow
    type (checked), values read back as written; a value the column cannot hold raises before
    a row is written; a table with a type the binary form does not map here (``numeric``)
    goes as CSV text, an empty text still '' and a missing value NULL."""
    from datetime import UTC, date, datetime
    from decimal import Decimal

    import pyarrow as pa
    import sqlalchemy as sa

    from industry_brain.store.models import UTCDateTime

    meta = sa.MetaData()
    kinds = sa.Table(
        "copy_kinds",
        meta,
        sa.Column("i", sa.Integer),
        sa.Column("big", sa.BigInteger),
        sa.Column("small", sa.SmallInteger),
        sa.Column("f", sa.Float),
        sa.Column("b", sa.Boolean),
        sa.Column("at", UTCDateTime()),
        sa.Column("naive", sa.DateTime()),
        sa.Column("d", sa.Date),
        sa.Column("s", sa.String(20)),
        sa.Column("t", sa.Text),
        sa.Column("j", sa.JSON),
        sa.Column("raw", sa.LargeBinary),
    )
    decimal = sa.Table(
        "copy_decimal", meta, sa.Column("n", sa.Numeric(10, 2)), sa.Column("s", sa.Text)
    )
    meta.create_all(engine)
    frame = pd.DataFrame(
        {
            # integers from floats (a NaN is NULL, 3.0 is 3), from int64 and from text
            "i": [3.0, np.nan],
            "big": np.array([2**40, -1], np.int64),
            "small": ["7", "-7"],
            "f": [0.1, np.nan],
            "b": [True, None],
            # nanoseconds are cut to microseconds, as PostgreSQL keeps them
            "at": pd.to_datetime(["2025-03-01 08:00:00.123456789", None]).tz_localize("UTC"),
            "naive": [datetime(2025, 3, 1, 8, 0, 0, 5), None],
            "d": [date(2025, 2, 28), None],
            "s": ["", None],
            "t": ['甲,"乙"\n丙', "=1+1"],
            "j": ['{"a": [1, 2]}', None],
            "raw": [b"\x00\x01", None],
        }
    )
    with Session(engine) as s:
        dbapi = s.connection().connection.driver_connection
        _pg_copy(dbapi, kinds, _arrow(frame, list(frame.columns)), {})
        s.commit()
        got = s.execute(sa.select(kinds)).all()
    assert got[0] == (
        3,
        2**40,
        7,
        0.1,
        True,
        datetime(2025, 3, 1, 8, 0, 0, 123456, tzinfo=UTC),
        datetime(2025, 3, 1, 8, 0, 0, 5),
        date(2025, 2, 28),
        "",
        '甲,"乙"\n丙',
        {"a": [1, 2]},
        b"\x00\x01",
    )
    assert got[1] == (None, -1, -7, None, None, None, None, None, None, "=1+1", None, None)

    # a value the column cannot hold: refused, nothing written
    for column, bad in (("i", [2.0**31]), ("i", [1.5]), ("small", [40000])):
        with Session(engine) as s:
            dbapi = s.connection().connection.driver_connection
            with pytest.raises(pa.ArrowInvalid):
                _pg_copy(dbapi, kinds, _arrow(pd.DataFrame({column: bad}), [column]), {})
            s.rollback()
    with Session(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(kinds)) == 2

    # numeric is not mapped: the CSV text form, with a constant column
    with Session(engine) as s:
        dbapi = s.connection().connection.driver_connection
        rows = pd.DataFrame({"n": ["1.25", None]})
        _pg_copy(dbapi, decimal, _arrow(rows, ["n"]), {"s": ""})
        s.commit()
        assert sorted(s.execute(sa.select(decimal)).all(), key=str) == [
            (Decimal("1.25"), ""),
            (None, ""),
        ]
