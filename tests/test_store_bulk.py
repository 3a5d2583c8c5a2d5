"""``store.bulk.insert_frame`` (COPY on PostgreSQL, multi-row INSERTs on SQLite) writes exactly
what SQLAlchemy's own ``insert(table), [dict, …]`` writes: the same rows are inserted both ways
into twin tables and read back."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from industry_brain.store.bulk import insert_frame


def _twin(metadata: sa.MetaData, name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("label", sa.String(200)),
        sa.Column("n", sa.Integer),
        sa.Column("score", sa.Float),
        sa.Column("flag", sa.Boolean),
        sa.Column("extra", sa.JSON, default=dict),
        sa.Column("bonus", sa.Float, default=0.0),
        sa.Column("codes", sa.JSON, default=list),
        sa.Column("stamp", sa.String(20), server_default="server"),
    )


def _frame() -> pd.DataFrame:
    # text that a CSV or SQL literal could break: quotes, separators, a line break, a formula,
    # NUL-free control characters, Chinese; nullable integers; NaN; nested JSON with NumPy
    return pd.DataFrame(
        {
            "label": ['a "quoted", text', "line\nbreak", "=1+2", "", None, "湖州·南浔\t区"],
            "n": pd.Series([1, None, 3, 0, -7, 2**31 - 1], dtype="Int64"),
            "score": [1.5, float("nan"), 0.1 + 0.2, -0.0, 1e-300, 12345.678],
            "flag": [True, False, True, False, True, False],
            "extra": [{"k": [1, 2]}, None, {"z": "中"}, {}, {"n": np.int64(4)}, {"a": None}],
        }
    )


def test_insert_frame_writes_what_sqlalchemy_writes(session: Session) -> None:
    metadata = sa.MetaData()
    bulk, orm = _twin(metadata, "t_bulk_frame"), _twin(metadata, "t_orm_frame")
    metadata.create_all(session.connection())
    frame = _frame()
    assert insert_frame(session, bulk, frame, {"run_id": 7}) == 6
    records = [
        {
            k: (None if v is None or (isinstance(v, float) and math.isnan(v)) else v)
            for k, v in row.items()
        }
        for row in frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    ]
    for r in records:
        r["n"] = None if r["n"] is None else int(r["n"])
        if isinstance(r["extra"], dict) and "n" in r["extra"]:
            r["extra"] = {"n": int(r["extra"]["n"])}
    session.execute(orm.insert(), [{**r, "run_id": 7} for r in records])
    cols = ["run_id", "label", "n", "score", "flag", "extra", "bonus", "codes", "stamp"]
    got = session.execute(sa.select(*[bulk.c[c] for c in cols]).order_by(bulk.c.id)).all()
    want = session.execute(sa.select(*[orm.c[c] for c in cols]).order_by(orm.c.id)).all()
    assert [tuple(r) for r in got] == [tuple(r) for r in want]
    # and the values are the frame's: NULL for NaN/NA/None, defaults filled, JSON round trip
    assert got[1].n is None and got[1].score is None and got[4].label is None
    assert got[2].label == "=1+2" and got[0].label == 'a "quoted", text'
    assert got[2].score == 0.1 + 0.2 and got[5].n == 2**31 - 1
    assert (got[0].bonus, got[0].codes, got[0].stamp) == (0.0, [], "server")
    assert got[4].extra == {"n": 4} and got[0].extra == {"k": [1, 2]}


def test_insert_frame_refuses_unknown_columns_and_skips_empty(session: Session) -> None:
    metadata = sa.MetaData()
    table = _twin(metadata, "t_bulk_refuse")
    metadata.create_all(session.connection())
    with pytest.raises(ValueError, match="no column nope"):
        insert_frame(session, table, pd.DataFrame({"nope": [1]}), {"run_id": 1})
    assert insert_frame(session, table, _frame().iloc[:0], {"run_id": 1}) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(table)) == 0


def test_json_values_read_back_as_python_values(session: Session) -> None:
    """JSON columns are written by orjson (compact, UTF-8): integer dict keys read back as
    strings (as ``json.dumps`` writes them), NumPy arrays and scalars as plain values, Chinese
    unescaped in the stored text, and a NaN or infinity inside a value as null — PostgreSQL's
    ``json`` type refuses the ``NaN`` that ``json.dumps`` writes."""
    metadata = sa.MetaData()
    table = _twin(metadata, "t_bulk_json")
    metadata.create_all(session.connection())
    extra = [
        {1: "a", "b": np.array([1, 2])},
        {"中": np.float64(0.5), "x": float("nan"), "y": [float("inf")]},
    ]
    frame = pd.DataFrame({"label": ["p", "q"], "extra": extra})
    assert insert_frame(session, table, frame, {"run_id": 1}) == 2
    got = session.scalars(sa.select(table.c.extra).order_by(table.c.id)).all()
    assert got == [{"1": "a", "b": [1, 2]}, {"中": 0.5, "x": None, "y": [None]}]
    text = session.scalar(sa.select(sa.cast(table.c.extra, sa.Text)).where(table.c.label == "q"))
    assert "中" in text and "\\u" not in text
