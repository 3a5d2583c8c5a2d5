"""Engine and sessions. ``IB_DATABASE_URL`` selects the database; the default is a SQLite file
``data/industry_brain.sqlite`` (WAL journal, foreign keys on) under ``IB_DATA_DIR`` (``./data``).
"""

from __future__ import annotations

import atexit
import fcntl
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from industry_brain.core import env
from industry_brain.core.errors import Location, ValidationError


def data_dir() -> Path:
    """Where files of this installation live (SQLite store, demo inbox, reports, snapshots)."""
    return Path(os.environ.get("IB_DATA_DIR", "data")).resolve()


#: the stores the platform runs on
BACKENDS = ("sqlite", "postgresql")


def database_url() -> str:
    """The store: ``IB_DATABASE_URL`` (checked: a SQLite or PostgreSQL URL), else the SQLite
    file under :func:`data_dir`."""
    url = os.environ.get("IB_DATABASE_URL", "").strip()
    if url:
        check_url(url)
        return url
    return f"sqlite:///{data_dir() / 'industry_brain.sqlite'}"


def check_url(url: str) -> None:
    """Refuse a store URL that does not parse or names another database than SQLite or
    PostgreSQL (``settings.invalid``; a password in it is not repeated)."""
    from sqlalchemy.exc import ArgumentError

    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        backend = None
    if backend not in BACKENDS:
        raise env.invalid(
            "IB_DATABASE_URL",
            re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url),
            "SQLite 或 PostgreSQL 的地址（sqlite:///路径 或 postgresql://用户@主机/库名）",
            "a SQLite or PostgreSQL URL (sqlite:///path or postgresql://user@host/database)",
        )


def describe(url: str) -> str:
    """The URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    # several web worker processes share the store: a writer waits up to 10 s for another's
    # (short) write transaction instead of failing with "database is locked"
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA cache_size=-131072")  # 128 MiB page cache: bulk imports touch indexes
    cur.execute("PRAGMA temp_store=MEMORY")
    # reads through a shared memory map instead of a read() per page: the web workers' many
    # small lookups (a profile touches ~200 fact rows spread over the file) cost about half
    # the CPU; writes still go through the WAL
    cur.execute("PRAGMA mmap_size=1073741824")
    cur.close()


#: connections each engine may hold: as many as a web worker's request threads (AnyIO's 40),
#: so a request never times out waiting for one while others hold theirs — e.g. a burst of
#: cold cockpits at province scale, each waiting for the one request computing its section
#: (SQLAlchemy's default of 5 + 10 ran out there: HTTP 500 after 30 s)
POOL_SIZE_DEFAULT, MAX_OVERFLOW_DEFAULT = 10, 30


def _pool_setting(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ValidationError(
            "store.pool_setting",
            f"{name} 应为非负整数（当前为“{raw}”）",
            f"{name} must be a non-negative integer (got '{raw}')",
            Location(field=name),
            raw,
        )
    return int(raw)


def pool_settings() -> dict[str, int]:
    """``pool_size`` and ``max_overflow`` of the store's engines (``IB_DB_POOL_SIZE``,
    ``IB_DB_MAX_OVERFLOW``)."""
    return {
        "pool_size": _pool_setting("IB_DB_POOL_SIZE", POOL_SIZE_DEFAULT),
        "max_overflow": _pool_setting("IB_DB_MAX_OVERFLOW", MAX_OVERFLOW_DEFAULT),
    }


def make_engine(url: str | None = None) -> Engine:
    """A new engine for ``url`` (default: ``database_url()``), SQLite tuned for WAL."""
    url = url or database_url()
    pool = pool_settings()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # an in-memory database has one connection per thread (SingletonThreadPool): no sizes
        memory = make_url(url).database in (None, "", ":memory:")
        engine = create_engine(url, connect_args={"timeout": 30}, **({} if memory else pool))
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = create_engine(url, pool_pre_ping=True, **pool)
    if engine.dialect.name == "postgresql":
        # disposing of the engine ends the ADBC connection its bulk reads left open too
        event.listen(engine, "engine_disposed", lambda e: close_adbc(adbc_uri(e.url)))
    return engine


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine(url: str | None = None) -> Engine:
    """Shared engine per URL."""
    return engine_for(url or database_url())


def check_writable(engine: Engine, wait_ms: int = 2000) -> None:
    """Prove the store answers and accepts a write: a no-op ``UPDATE`` of the migration table,
    rolled back. Raises the driver's error (read-only file or transaction, unreachable server;
    on SQLite ``database is locked`` when another writer holds it longer than ``wait_ms``)."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(wait_ms)}")
        try:
            conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
        finally:
            conn.rollback()
            if sqlite:
                conn.exec_driver_sql("PRAGMA busy_timeout=10000")


class WriterBusy(TimeoutError):
    """Another import holds the store's writer lock longer than the wait."""


@contextmanager
def writer_lock(engine: Engine, wait_seconds: float) -> Iterator[None]:
    """One import at a time per SQLite store, across threads and worker processes: an exclusive
    ``flock`` on ``<database>.import.lock`` beside the file, waited for at most
    ``wait_seconds`` (then :class:`WriterBusy`). PostgreSQL stores need none (row locks)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield
        return
    path = Path(url.database).with_name(Path(url.database).name + ".import.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WriterBusy(f"import lock {path} held over {wait_seconds} s") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session committed on success and rolled back on any error."""
    factory = sessionmaker(bind=engine or get_engine(), expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def read_frame(bind: Session | Engine, stmt, columns: list[str]):  # type: ignore[no-untyped-def]
    """Run a SELECT and return a pandas DataFrame, fetching plain tuples through the DB-API
    cursor and building the frame column-wise (much faster than a frame of ORM rows)."""
    return frame_of(fetch_tuples(bind, stmt), columns)


def fetch_tuples(bind: Session | Engine, stmt: Any) -> list[tuple[Any, ...]]:
    """The rows of the SELECT ``stmt`` as the DB-API cursor's plain tuples: no SQLAlchemy row
    or result processing per row (for plain integer, float and text columns, whose values the
    driver already gives as Python's own)."""
    conn = bind.connection() if isinstance(bind, Session) else None
    owned = None
    if conn is None:
        owned = bind.connect()
        conn = owned
    try:
        compiled = stmt.compile(conn, compile_kwargs={"render_postcompile": True})
        params = compiled.construct_params()
        positional = compiled.positiontup
        args = tuple(params[k] for k in positional) if positional else params
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.execute(str(compiled), args)
            rows = cursor.fetchall()
        finally:
            cursor.close()
    finally:
        if owned is not None:
            owned.close()
    return rows


def frame_of(rows: Sequence[Any], columns: list[str]) -> Any:
    """A pandas DataFrame of ``rows`` (tuples, or SQLAlchemy rows with their typed values),
    built column by column: ``pd.DataFrame(rows)`` walks every row as a nested sequence, several
    times slower on a few hundred thousand rows."""
    import pandas as pd

    if not rows:
        return pd.DataFrame({c: [] for c in columns})
    if isinstance(rows[0], tuple):
        # the DB-API's tuples: pandas lays them out as one object table in C, then infers each
        # column's type (about 3x faster than transposing them in Python, same dtypes)
        return pd.DataFrame.from_records(rows, columns=columns)
    return pd.DataFrame(dict(zip(columns, zip(*rows, strict=True), strict=True)))


#: inside :func:`bulk_reads` (the warehouse snapshot), :func:`select_frame` on PostgreSQL reads
#: through the ADBC driver on a connection of its own
_BULK: ContextVar[bool] = ContextVar("ib_bulk_reads", default=False)


@contextmanager
def bulk_reads() -> Iterator[None]:
    """Within: :func:`select_frame` on PostgreSQL fetches through the ADBC PostgreSQL driver
    (binary ``COPY`` decoded into Arrow in C: no Python object per value) on a connection of
    its own — it sees what is committed, not the session's own pending writes. For readers of
    committed data only: the warehouse snapshot, which reads millions of result rows."""
    token = _BULK.set(True)
    try:
        yield
    finally:
        _BULK.reset(token)


#: ADBC databases kept per process: (process id, URI) → an idle connection holding the database
_ADBC: OrderedDict[tuple[int, str], Any] = OrderedDict()
_ADBC_LOCK = threading.Lock()
ADBC_DATABASES = 4


def adbc_uri(url: Any) -> str:
    """The ``postgresql://`` URI of a SQLAlchemy PostgreSQL URL, for ADBC."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def close_adbc(uri: str | None = None) -> None:
    """Close this process's idle ADBC connection to ``uri`` (every URI when None) and let its
    ADBC database go once the connections made from it are closed. ``Engine.dispose()`` of a
    store's engine calls it for the store's URI."""
    with _ADBC_LOCK:
        for key in [k for k in _ADBC if uri is None or k[1] == uri]:
            _close_holder(key, _ADBC.pop(key))


def _close_holder(key: tuple[int, str], holder: Any) -> None:
    """Close a holder of this process; never a parent's, inherited by fork (its socket is
    shared with the parent)."""
    if key[0] == os.getpid():
        holder.close()


@contextmanager
def adbc_postgresql(url: Any) -> Iterator[Any]:
    """An ADBC DB-API connection to the PostgreSQL store at ``url`` (a SQLAlchemy URL or its
    text), closed at the end of the block (its transaction, if any, rolled back; its session
    settings gone with it).

    A new ADBC database reads the server's type catalogue before its first connection (60 ms,
    40 ms of CPU; the connection itself 4 ms), so the connections of one process to one URI share
    a database (``adbc_clone``), held by an idle autocommit connection for each of the last
    :data:`ADBC_DATABASES` URIs. The store declares no types of its own, so the catalogue read
    once stays right."""
    import adbc_driver_postgresql.dbapi as adbc_pg

    key = (os.getpid(), adbc_uri(url))
    with _ADBC_LOCK:
        holder = _ADBC.get(key)
        if holder is None:
            holder = _ADBC[key] = adbc_pg.connect(key[1], autocommit=True)
            while len(_ADBC) > ADBC_DATABASES:
                _close_holder(*_ADBC.popitem(last=False))
        _ADBC.move_to_end(key)
        conn = holder.adbc_clone()
    try:
        yield conn
    finally:
        conn.close()


# closed before the interpreter tears its modules down (ADBC's finaliser then finds none)
atexit.register(close_adbc)


def select_frame(session: Session, stmt: Any, columns: list[str]) -> Any:
    """The rows of the SELECT ``stmt`` as a pandas frame with ``columns``, by the fastest path
    that keeps the values' types:

    - inside :func:`bulk_reads` on PostgreSQL: ADBC into Arrow, then pandas (integer columns
      with NULLs as pandas' nullable ``Int64``);
    - else, when every column is a plain integer, float, string or boolean: the DB-API cursor's
      tuples, column-wise (:func:`read_frame`), booleans mapped from SQLite's 0/1;
    - else: SQLAlchemy's typed rows (:func:`frame_of`)."""
    from sqlalchemy import Boolean, Float, Integer, Numeric, String

    kinds = [c.type for c in stmt.selected_columns]
    plain = all(isinstance(t, (Integer, Float, Numeric, String, Boolean)) for t in kinds)
    conn = session.connection()
    if plain and _BULK.get() and conn.dialect.name == "postgresql":
        import pandas as pd
        import pyarrow as pa

        sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
        with adbc_postgresql(conn.engine.url) as raw, raw.cursor() as cursor:
            cursor.execute(sql)
            table = cursor.fetch_arrow_table()
        frame = table.rename_columns(columns).to_pandas(
            types_mapper={pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int64Dtype()}.get
        )
        for col, kind in zip(columns, kinds, strict=True):
            if isinstance(kind, Integer) and not frame[col].hasnans:
                frame[col] = frame[col].astype("int64")
        return frame
    if plain:
        return _booleans(read_frame(session, stmt, columns), columns, kinds)
    return frame_of(session.execute(stmt).all(), columns)


def select_frames(session: Session, stmts: Sequence[Any], columns: list[str]) -> Any:
    """The rows of several SELECTs of the same plain columns (integer, float, string, boolean)
    as one pandas frame, their rows in turn: the driver's tuples, column-wise, each column's
    type inferred once over all the rows (a frame per statement, concatenated, would type a
    column by what each part happens to hold), booleans mapped from SQLite's 0/1."""
    rows = [row for stmt in stmts for row in fetch_tuples(session, stmt)]
    kinds = [c.type for c in stmts[0].selected_columns] if stmts else []
    return _booleans(frame_of(rows, columns), columns, kinds)


def _booleans(frame: Any, columns: list[str], kinds: list[Any]) -> Any:
    """Boolean columns of a frame of the driver's tuples as booleans (SQLite gives 0/1)."""
    from sqlalchemy import Boolean

    for col, kind in zip(columns, kinds, strict=False):
        if isinstance(kind, Boolean) and len(frame) and frame[col].dtype != bool:
            values = frame[col]
            # True == 1, False == 0; a NULL stays None (as on the ADBC path), not NaN
            mapped = values.map({0: False, 1: True})
            frame[col] = (
                mapped if not values.hasnans else mapped.astype(object).where(values.notna(), None)
            )
    return frame


T = TypeVar("T")

#: values bound in one ``IN (…)`` list: PostgreSQL's protocol takes at most 65,535 parameters a
#: statement and SQLite 32,766 — a province's 100,000 enterprises in one list fail on both
IN_CHUNK = 10_000


def chunks(values: Sequence[T], size: int | None = None) -> Iterator[Sequence[T]]:
    """``values`` in slices of at most ``size`` (default :data:`IN_CHUNK`), for
    ``column.in_(slice)``; none when empty."""
    size = size or IN_CHUNK
    for start in range(0, len(values), size):
        yield values[start : start + size]
