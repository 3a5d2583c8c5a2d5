"""Fast bulk writes of whole frames into a store table: ``COPY … FROM STDIN`` on PostgreSQL
(Arrow columns in PostgreSQL's binary form, no Python object per value) and multi-row ``INSERT``
statements through the DB-API on SQLite. SQLAlchemy's ``insert(Model), [dict, …]`` (or
``session.add_all``) builds a dict or an object per row and binds every value in Python: for
the hundreds of thousands of result rows of a province's evaluation that is most of the
service's time.

:func:`insert_frame` writes a frame into a mapped table, filling the columns' Python-side
defaults once and serialising JSON columns; the ingest path uses the lower-level writers for
facts and power accounts.

On PostgreSQL a large COPY's foreign keys are checked once for the whole set
(:func:`pg_references_checked`) instead of by one trigger call per row and key."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.orm import Session

#: bound parameters per INSERT statement on SQLite: one statement with many VALUES tuples costs
#: SQLite and the driver much less per row than one statement per row (999 is the limit of the
#: oldest SQLite versions)
SQLITE_MAX_PARAMS = 999
#: rows from which :func:`insert_frame` checks a COPY's foreign keys set-wise on PostgreSQL
#: (below, the per-row triggers cost less than the extra statements)
SETWISE_REFERENCES_FROM = 1000


def arrow_table(rows: pd.DataFrame, cols: list[str]) -> pa.Table:
    """The columns as an Arrow table (NaN, None and pandas' NA as null). Object columns of text
    become strings; other object columns (nullable integers, booleans, dates) keep the type
    Arrow infers."""
    arrays = []
    for c in cols:
        if isinstance(rows[c].dtype, pd.api.extensions.ExtensionDtype):
            # nullable integers and booleans: Arrow reads pandas' masks (to_numpy would give
            # floats for an Int64 column with NA, which an integer column refuses)
            arrays.append(pa.array(rows[c], from_pandas=True))
            continue
        values = rows[c].to_numpy()
        if values.dtype == object:
            try:
                arrays.append(pa.array(values, pa.string(), from_pandas=True))
            except (pa.ArrowTypeError, pa.ArrowInvalid):
                arrays.append(pa.array(values, from_pandas=True))
        else:
            arrays.append(pa.array(values, from_pandas=True))
    return pa.table(arrays, names=cols)


def _arrow_type(column: sa.Column[Any]) -> pa.DataType | None:
    """The Arrow type whose PostgreSQL binary COPY form is what ``column``'s type reads
    (``integer`` takes exactly 4 bytes, ``bigint`` 8…); None for a type not mapped here."""
    kind = column.type
    if isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, sa.BigInteger):
        return pa.int64()
    if isinstance(kind, sa.SmallInteger):
        return pa.int16()
    if isinstance(kind, sa.Integer):
        return pa.int32()
    if isinstance(kind, sa.Float):  # before Numeric, its base: FLOAT is double precision
        return pa.float64()
    if isinstance(kind, sa.Boolean):
        return pa.bool_()
    if isinstance(kind, sa.DateTime):
        return pa.timestamp("us", tz="UTC" if kind.timezone else None)
    if isinstance(kind, sa.Date):
        return pa.date32()
    if isinstance(kind, sa.JSON | sa.String) and not isinstance(kind, sa.Enum):
        return pa.string()  # json and varchar read the binary form as the text itself
    if isinstance(kind, sa.LargeBinary):
        return pa.binary()
    return None


def _as_type(values: pa.ChunkedArray | pa.Array, kind: pa.DataType) -> pa.ChunkedArray | pa.Array:
    """``values`` as ``kind`` by Arrow's checked cast: an integer out of range or a fraction
    for an integer column raises instead of being wrapped or cut (finer timestamps are
    rounded down to microseconds, as PostgreSQL keeps them)."""
    if values.type == kind:
        return values
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if pa.types.is_null(values.type):
        return pa.nulls(len(values), kind)
    options = pc.CastOptions(kind, allow_time_truncate=pa.types.is_timestamp(kind))
    return pc.cast(values, options=options)


def _copy_schema(table: sa.Table, data: pa.Table) -> pa.Table | None:
    """``data`` with each column in the Arrow type of its column of ``table`` (the binary COPY
    form); None when a column's type is not mapped (the text form is used)."""
    arrays, fields = [], []
    for name in data.column_names:
        kind = _arrow_type(table.columns[name])
        if kind is None:
            return None
        arrays.append(_as_type(data.column(name), kind))
        fields.append(pa.field(name, kind))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def pg_copy(dbapi: Any, table: sa.Table, data: pa.Table, constants: dict[str, Any]) -> None:
    """``COPY … FROM STDIN`` of Arrow columns, no Python object per value (``write_row`` per
    row was most of a PostgreSQL import's time); ``constants`` become columns of one repeated
    value. The rows travel in PostgreSQL's binary form, encoded from Arrow by pgpq (Rust):
    the server parses no numbers or timestamps from text (14–16 % less of its time for
    1,000,000 facts) and the client formats none; each column is first cast to the Arrow
    type of the table's column (a checked cast). A table with a column type not mapped to
    Arrow here is sent as CSV text written by Arrow (every present value quoted, so an empty
    text stays ''; a missing one NULL). (psycopg's queued writer thread, which would encode
    the next block while the server reads the last, was measured no faster — the server is the
    bound — and queues up to 128 MB.)"""
    import pgpq

    n = data.num_rows
    for name, value in constants.items():
        if value is None:
            data = data.append_column(name, pa.nulls(n, pa.string()))
        else:
            dictionary = pa.DictionaryArray.from_arrays(np.zeros(n, np.int8), [value])
            data = data.append_column(name, dictionary.cast(dictionary.type.value_type))
    quoted = ", ".join(f'"{c}"' for c in data.column_names)
    typed = _copy_schema(table, data)
    with dbapi.cursor() as cur:
        if typed is not None:
            encoder = pgpq.ArrowToPostgresBinaryEncoder(typed.schema)
            sql = f"COPY {table.name} ({quoted}) FROM STDIN (FORMAT binary)"
            with cur.copy(sql) as copy:
                copy.write(encoder.write_header())
                for batch in typed.to_batches(max_chunksize=65536):
                    copy.write(encoder.write_batch(batch))
                copy.write(encoder.finish())
            return
        sql = f"COPY {table.name} ({quoted}) FROM STDIN (FORMAT csv)"
        options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
        with cur.copy(sql) as copy:
            for batch in data.to_batches(max_chunksize=65536):
                sink = io.BytesIO()
                pacsv.write_csv(batch, sink, options)
                copy.write(sink.getvalue())


@contextmanager
def pg_references_checked(
    dbapi: Any, table: str, references: dict[tuple[str, str], Iterable[Any]]
) -> Iterator[None]:
    """Bulk rows of ``table`` whose foreign keys point at ``references`` — ``{(table, column):
    values}``, which must name **every** foreign key of the rows written in the block: when the
    role may set ``session_replication_role`` (a superuser, or granted ``SET`` on it,
    PostgreSQL 15+) and ``table`` has no trigger of its own (only the foreign keys' internal
    ones), the references are checked once for the whole set — the distinct referenced rows
    are locked ``FOR KEY SHARE`` and counted, which is what the per-row foreign-key triggers
    do, a row and a key at a time (3–4× the cost of the COPY itself) — and the triggers are
    skipped for the block (``SET LOCAL``, inside the caller's transaction). Otherwise, or when
    a reference is missing (the triggers then raise the usual foreign-key error), the triggers
    run as always. Only inserts into ``table`` belong in the block: it skips every trigger of
    the session."""
    import psycopg
    from psycopg import sql

    with dbapi.cursor() as cur:
        granted = (  # has_parameter_privilege exists from PostgreSQL 15 on
            "OR has_parameter_privilege('session_replication_role', 'SET')"
            if dbapi.info.server_version >= 150000
            else ""
        )
        allowed = cur.execute(
            f"SELECT rolsuper {granted} FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        ok = bool(allowed and allowed[0])
        if ok:  # a trigger of the table's own (not a foreign key's) must keep running
            own = cur.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass(%s) "
                "AND NOT tgisinternal",
                (table,),
            ).fetchone()[0]
            ok = own == 0
        for (target, column), values in references.items():
            if not ok:
                break
            wanted = pd.Series(np.asarray(values)).dropna().drop_duplicates().tolist()
            if not wanted:
                continue
            query = sql.SQL(
                "SELECT count(*) FROM (SELECT 1 FROM {t} WHERE {c} = ANY(%s) FOR KEY SHARE) AS r"
            ).format(t=sql.Identifier(target), c=sql.Identifier(column))
            ok = cur.execute(query, (wanted,)).fetchone()[0] == len(wanted)
        if not ok:
            yield
            return
        cur.execute("SET LOCAL session_replication_role = replica")
        try:
            yield
        finally:
            # after a failed COPY the transaction is aborted and its rollback undoes SET LOCAL
            if dbapi.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
                cur.execute("SET LOCAL session_replication_role = origin")


def foreign_references(
    table: sa.Table, frame: pd.DataFrame, constants: dict[str, Any]
) -> dict[tuple[str, str], np.ndarray] | None:
    """The values each foreign key of ``table`` takes in rows of ``frame`` and ``constants``,
    by referenced (table, column), for :func:`pg_references_checked`; None when a key spans
    several columns (left to the triggers)."""
    found: dict[tuple[str, str], list[np.ndarray]] = {}
    for constraint in table.foreign_key_constraints:
        if len(constraint.elements) != 1:
            return None
        element = constraint.elements[0]
        name = element.parent.name
        if name in frame:
            values = frame[name].to_numpy()
        elif name in constants:
            values = np.asarray([constants[name]])
        else:
            continue  # the column is not written: NULL or its default
        found.setdefault((element.column.table.name, element.column.name), []).append(values)
    return {key: np.concatenate(parts) for key, parts in found.items()}


def pg_copy_checked(
    dbapi: Any, table: sa.Table, frame: pd.DataFrame, data: pa.Table, constants: dict[str, Any]
) -> None:
    """:func:`pg_copy` of ``data`` (the Arrow columns of ``frame``) into ``table``, its foreign
    keys — every one of the model's (:func:`foreign_references`) — checked once for the set
    (:func:`pg_references_checked`)."""
    references = foreign_references(table, frame, constants)
    if not references:
        pg_copy(dbapi, table, data, constants)
        return
    with pg_references_checked(dbapi, table.name, references):
        pg_copy(dbapi, table, data, constants)


def sqlite_insert(
    dbapi: Any,
    table: str,
    columns: list[str],
    values: np.ndarray,
    literals: dict[str, Any] | None = None,
) -> None:
    """Insert the rows of an n × len(columns) object array through the DB-API, many rows per
    statement; ``literals`` are the same in every row and written into the SQL."""
    literals = literals or {}
    names = ", ".join(f'"{c}"' for c in [*columns, *literals])
    one = "(" + ", ".join(["?"] * len(columns) + [_literal(v) for v in literals.values()]) + ")"
    k = max(1, SQLITE_MAX_PARAMS // max(1, len(columns)))
    full = len(values) // k * k
    cur = dbapi.cursor()
    try:
        if full:
            cur.executemany(
                f"INSERT INTO {table} ({names}) VALUES " + ", ".join([one] * k),
                _lists(values[:full].reshape(-1, k * len(columns))),
            )
        if full < len(values):
            cur.executemany(f"INSERT INTO {table} ({names}) VALUES {one}", values[full:].tolist())
    finally:
        cur.close()


def _lists(table: np.ndarray, block: int = 100) -> Iterator[list[Any]]:
    """The rows of an object array as lists, made a block at a time: the driver consumes them
    one by one, and few lists alive at once keep Python's garbage collector passes short."""
    for start in range(0, len(table), block):
        yield from table[start : start + block].tolist()


def value_table(rows: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """The columns as one n × len(cols) object array of Python values (None for missing)."""
    out = np.empty((len(rows), len(cols)), dtype=object)
    for j, c in enumerate(cols):
        column = rows[c]
        if isinstance(column.dtype, pd.api.extensions.ExtensionDtype):  # Int64, boolean, string
            out[:, j] = column.to_numpy(dtype=object, na_value=None)
            continue
        values = column.to_numpy()
        if values.dtype.kind == "f":
            missing = np.isnan(values)
            out[:, j] = values
            if missing.any():
                out[missing, j] = None
        elif values.dtype == object:
            out[:, j] = values
            missing = pd.isna(values)
            if missing.any():
                out[missing, j] = None
        else:
            out[:, j] = values
    return out


def _literal(value: Any) -> str:
    """A SQLite literal for a constant (numbers, or text quoted with '' escaping)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "NULL"
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return "'" + str(value).replace("'", "''") + "'"


def _column_defaults(table: sa.Table, given: set[str]) -> dict[str, Any]:
    """One value for each column not given that has a Python-side default (``default=0.0``,
    ``default=list``); columns with a server default or none are left to the database."""
    out: dict[str, Any] = {}
    for column in table.columns:
        if column.name in given or column.primary_key or column.default is None:
            continue
        default = column.default
        if default.is_scalar:
            out[column.name] = default.arg
        elif default.is_callable:
            out[column.name] = default.arg(None)  # SQLAlchemy wraps it to take a context
        else:
            raise ValueError(f"{table.name}.{column.name}: a SQL default is not filled in bulk")
    return out


def _plain(value: Any) -> Any:
    """NumPy values inside a JSON value as plain Python ones."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_ORJSON = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _json_text(value: Any) -> str | None:
    """A JSON column's value as JSON text, by orjson (in C: ``json.dumps`` cost ≈ 7 µs a value,
    most of 五企培育's result writes at province scale), read back by SQLAlchemy as the same
    value as its own ``json.dumps`` text — compact and in UTF-8 instead of ``\\u`` escapes,
    non-string dict keys as strings, NumPy values as plain ones; a float NaN or infinity becomes
    null (PostgreSQL's ``json`` refuses ``json.dumps``' ``NaN``). None stays NULL."""
    if value is None:
        return None
    return orjson.dumps(value, default=_plain, option=_ORJSON).decode()


def insert_frame(
    session: Session,
    model: Any,
    frame: pd.DataFrame,
    constants: dict[str, Any] | None = None,
) -> int:
    """Insert every row of ``frame`` (columns named as the table's) into ``model``'s table in
    the session's transaction, with ``constants`` (e.g. the run id) in every row; returns the
    number of rows. Columns the frame does not give get their Python-side default; JSON columns
    hold Python values (dicts, lists) and are serialised as SQLAlchemy would."""
    table: sa.Table = getattr(model, "__table__", model)
    if frame.empty:
        return 0
    constants = dict(constants or {})
    cols = [c for c in frame.columns if c not in constants]
    unknown = [c for c in [*cols, *constants] if c not in table.columns]
    if unknown:
        raise ValueError(f"{table.name} has no column {', '.join(unknown)}")
    constants.update(_column_defaults(table, {*cols, *constants}))
    json_cols = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
    if json_cols & set(cols):
        frame = frame.assign(
            **{c: frame[c].map(_json_text, na_action="ignore") for c in cols if c in json_cols}
        )
    for name in json_cols & set(constants):
        constants[name] = _json_text(constants[name])
    conn = session.connection()
    dbapi = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        data = arrow_table(frame, cols)
        if len(frame) >= SETWISE_REFERENCES_FROM:
            pg_copy_checked(dbapi, table, frame, data, constants)
        else:
            pg_copy(dbapi, table, data, constants)
    elif conn.dialect.name == "sqlite":
        sqlite_insert(dbapi, table.name, cols, value_table(frame, cols), constants)
    else:  # any other database: SQLAlchemy's executemany
        records = frame[cols].astype(object).where(frame[cols].notna(), None)
        rows = [{**dict(zip(cols, r, strict=True)), **constants} for r in records.to_numpy()]
        session.execute(table.insert(), rows)
    return len(frame)
