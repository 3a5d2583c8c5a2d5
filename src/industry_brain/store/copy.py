"""Copy a whole store to another database (``industry-brain store copy --to URL``).

SQLite → PostgreSQL (moving a pilot onto the bureau's server) and back (a laptop copy). The
target must be empty: it is migrated with Alembic to the source's revision (which must be the
code's head), then every table is copied in dependency order — on PostgreSQL one ``COPY … FROM
STDIN`` per table, streamed in chunks, with the foreign keys dropped for the copy and added
back after it (which checks every reference: enterprises, import batches and users reference
each other, so no table order satisfies them row by row); on SQLite chunked ``executemany``
with foreign keys checked once at the end (``PRAGMA foreign_key_check``) — then PostgreSQL's
sequences (serial/identity columns) are set past the copied ids and the row count of every
table is compared with the source's. Everything after the migration is one transaction: a
failed copy leaves a migrated, empty target.

JSON columns travel as their stored text (so JSON ``null`` and SQL ``NULL`` stay apart); other
values go through SQLAlchemy's types of each side (booleans, dates, times, decimals); times
reach a SQLite target as naive UTC, as the platform stores them there.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import JSON, DateTime, Engine, MetaData, Table, cast, func, inspect, select
from sqlalchemy import Text as SAText
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SAWarning
from sqlalchemy.schema import sort_tables

from industry_brain.core.errors import ConflictError, ValidationError
from industry_brain.store import migrate
from industry_brain.store.db import describe

Step = Callable[[str, int, int], None]
SKIP = {"alembic_version"}


@dataclass
class CopyResult:
    source: str
    target: str
    revision: str
    tables: dict[str, int] = field(default_factory=dict)  # table → rows copied
    seconds: float = 0.0
    sequences: int = 0  # PostgreSQL sequences set past the copied ids

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "revision": self.revision,
            "tables": self.tables,
            "rows": self.rows,
            "sequences": self.sequences,
            "seconds": round(self.seconds, 2),
        }


def _user_tables(engine: Engine) -> list[str]:
    return sorted(t for t in inspect(engine).get_table_names() if t not in SKIP)


def _non_empty(engine: Engine) -> list[str]:
    """Tables of ``engine`` that hold at least one row (alembic_version aside)."""
    names = _user_tables(engine)
    if not names:
        return []
    meta = MetaData()
    meta.reflect(engine, only=names)
    with engine.connect() as conn:
        return [
            n for n in names if conn.execute(select(1).select_from(meta.tables[n]).limit(1)).first()
        ]


def _check(source: Engine, target: Engine) -> str:
    """The source's revision (must be the code's head); refuse a non-empty target."""
    if str(source.url) == str(target.url):
        raise ValidationError(
            "store.copy_same",
            "源库与目标库相同",
            "the source and the target are the same database",
        )
    revision = migrate.current_revision(source)
    head = ",".join(migrate.code_heads())
    if revision != head:
        raise ValidationError(
            "store.copy_source_revision",
            f"源库的迁移版本为 {revision or '（空）'}，应为 {head}："
            "请先执行 industry-brain db upgrade",
            f"the source is at revision {revision or '(empty)'}, not {head}: "
            "run `industry-brain db upgrade` on it first",
            value=revision,
        )
    full = _non_empty(target)
    if full:
        shown = ", ".join(full[:5]) + (" …" if len(full) > 5 else "")
        raise ConflictError(
            "store.copy_target_not_empty",
            f"目标库不是空库（{len(full)} 个表有数据：{shown}），不会覆盖",
            f"the target is not empty ({len(full)} tables hold rows: {shown}); nothing copied",
            value=full,
        )
    return revision


def _chunks(conn: Connection, query: Any, size: int) -> Iterator[list[tuple[Any, ...]]]:
    result = conn.execution_options(stream_results=True, yield_per=size).execute(query)
    for part in result.partitions(size):
        yield [tuple(r) for r in part]


def _select(table: Table, target_table: Table) -> tuple[Any, list[str]]:
    """The source query (columns in the target's order; JSON as its stored text)."""
    cols = []
    names = [c.name for c in target_table.columns]
    for name in names:
        col = table.c[name]
        cols.append(cast(col, SAText).label(name) if isinstance(col.type, JSON) else col)
    pk = list(table.primary_key.columns) or [
        c for c in table.columns if not isinstance(c.type, JSON)
    ]
    return select(*cols).order_by(*pk), names


def _writer_pg(conn: Connection, table: Table, names: list[str]) -> Any:
    cursor = conn.connection.driver_connection.cursor()
    cols = ", ".join(f'"{n}"' for n in names)
    return cursor.copy(f'COPY "{table.name}" ({cols}) FROM STDIN')


def _utc_naive(process: Any) -> Any:
    """SQLite keeps times as naive UTC text (see ``models.UTCDateTime``)."""

    def convert(value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return process(value) if process else value

    return convert


def _converters(conn: Connection, table: Table, names: list[str]) -> list[Any]:
    """Per column of a SQLite target: the dialect's bind processor (None for JSON: the stored
    text as is; times in UTC)."""
    out = []
    for name in names:
        col_type = table.c[name].type
        if isinstance(col_type, JSON):
            out.append(None)
        elif isinstance(col_type, DateTime):
            out.append(_utc_naive(col_type.bind_processor(conn.dialect)))
        else:
            out.append(col_type.bind_processor(conn.dialect))
    return out


def _drop_foreign_keys(conn: Connection) -> list[tuple[str, str, str]]:
    """Drop the target's foreign keys (three tables reference each other, so no table order
    satisfies them row by row); :func:`_restore_foreign_keys` adds them back, which checks
    every copied reference. Returns (table, name, definition) of each."""
    keys = [
        (str(t), str(n), str(d))
        for t, n, d in conn.exec_driver_sql(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND connamespace = "
            "(SELECT oid FROM pg_namespace WHERE nspname = current_schema()) ORDER BY 1, 2"
        ).all()
    ]
    for table, name, _definition in keys:
        conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return keys


def _restore_foreign_keys(conn: Connection, keys: list[tuple[str, str, str]]) -> None:
    for table, name, definition in keys:
        conn.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def _converted(row: tuple[Any, ...], active: list[tuple[int, Any]]) -> list[Any]:
    out = list(row)
    for i, convert in active:
        if out[i] is not None:
            out[i] = convert(out[i])
    return out


def _reset_sequences(conn: Connection, meta: MetaData) -> int:
    n = 0
    for table in meta.tables.values():
        for col in table.primary_key.columns:
            seq = conn.exec_driver_sql(
                "SELECT pg_get_serial_sequence(%s, %s)", (f'"{table.name}"', col.name)
            ).scalar()
            if seq:
                conn.exec_driver_sql(
                    f'SELECT setval(%s, COALESCE(MAX("{col.name}"), 1), MAX("{col.name}") IS '
                    f'NOT NULL) FROM "{table.name}"',
                    (seq,),
                )
                n += 1
    return n


def copy_store(
    source: Engine, target: Engine, chunk: int = 5000, progress: Step | None = None
) -> CopyResult:
    """Copy every table of ``source`` into the empty database ``target`` (see the module)."""
    step = progress or (lambda *_: None)
    started = time.monotonic()
    revision = _check(source, target)
    command.upgrade(migrate.alembic_config(target), "heads")  # schema only: rows come from source
    src_meta, dst_meta = MetaData(), MetaData()
    src_meta.reflect(source, only=_user_tables(source))
    dst_meta.reflect(target, only=_user_tables(target))
    if set(src_meta.tables) != set(dst_meta.tables):
        raise ValidationError(
            "store.copy_schema",
            "源库与目标库的表不一致",
            "the source's and the target's tables differ",
            value=sorted(set(src_meta.tables) ^ set(dst_meta.tables)),
        )
    result = CopyResult(describe(str(source.url)), describe(str(target.url)), revision)
    with warnings.catch_warnings():  # the cycle enterprises → import_batches → users
        warnings.simplefilter("ignore", SAWarning)
        # references checked by triggers on PostgreSQL (migration 0024) are not foreign keys
        # there: the parents still go first
        extra = [
            (dst_meta.tables[parent], dst_meta.tables[child])
            for child, parent in migrate.TRIGGER_CHECKED
            if child in dst_meta.tables and parent in dst_meta.tables
        ]
        order = [t.name for t in sort_tables(dst_meta.tables.values(), extra_dependencies=extra)]
    counts: dict[str, int] = {}
    with source.connect() as src:
        for name in order:
            counts[name] = src.execute(
                select(func.count()).select_from(src_meta.tables[name])
            ).scalar_one()
    total = sum(counts.values())
    done = 0
    step("copy", 0, total)
    pg = target.dialect.name == "postgresql"
    with source.connect() as src, target.connect() as dst:
        if not pg:
            dst.exec_driver_sql("PRAGMA foreign_keys=OFF")  # outside a transaction
            dst.commit()
        with dst.begin():
            if pg:  # a SQLite source's times are naive UTC (see ``models.UTCDateTime``)
                dst.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
                foreign_keys = _drop_foreign_keys(dst)
            # rows a migration itself wrote (a role, say): the source has its own copy of them
            for name in reversed(order):
                dst.execute(dst_meta.tables[name].delete())
            for name in order:
                table, target_table = src_meta.tables[name], dst_meta.tables[name]
                query, names = _select(table, target_table)
                convert = [] if pg else _converters(dst, target_table, names)
                copied = 0
                if pg:
                    with _writer_pg(dst, target_table, names) as cp:
                        for rows in _chunks(src, query, chunk):
                            for row in rows:
                                cp.write_row(row)
                            copied += len(rows)
                            done += len(rows)
                            step("copy", done, total)
                else:
                    marks = ", ".join("?" for _ in names)
                    cols = ", ".join(f'"{n}"' for n in names)
                    sql = f'INSERT INTO "{name}" ({cols}) VALUES ({marks})'
                    cursor = dst.connection.driver_connection.cursor()
                    # only the columns whose type converts (times, dates, booleans) are touched
                    active = [(i, f) for i, f in enumerate(convert) if f is not None]
                    for rows in _chunks(src, query, chunk):
                        if active:
                            rows = [_converted(row, active) for row in rows]
                        cursor.executemany(sql, rows)
                        copied += len(rows)
                        done += len(rows)
                        step("copy", done, total)
                    cursor.close()
                result.tables[name] = copied
            if pg:
                _restore_foreign_keys(dst, foreign_keys)
                result.sequences = _reset_sequences(dst, dst_meta)
            else:
                broken = dst.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise ValidationError(
                        "store.copy_broken_references",
                        "复制后存在无效的外键引用",
                        f"the copy has broken references: {broken[:5]}",
                    )
            for name in order:
                got = dst.execute(
                    select(func.count()).select_from(dst_meta.tables[name])
                ).scalar_one()
                if got != counts[name]:
                    raise ValidationError(
                        "store.copy_count",
                        f"表 {name} 复制后行数不符：{got} ≠ {counts[name]}",
                        f"table {name} has {got} rows after the copy, not {counts[name]}",
                    )
        if not pg:
            dst.exec_driver_sql("PRAGMA foreign_keys=ON")
            dst.commit()
    step("copy", total, total)
    result.seconds = time.monotonic() - started
    return result
