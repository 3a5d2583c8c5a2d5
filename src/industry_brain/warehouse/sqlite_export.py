"""Stream one SQLite query to Parquet through the ADBC SQLite driver, in a process of its own.

``python -m industry_brain.warehouse.sqlite_export DATABASE OUT.parquet`` reads the query from
stdin and writes its rows, Arrow batch by Arrow batch, to ``OUT.parquet`` (no Python object per
value; memory bounded by one batch).

Why a separate process: the ADBC driver links its own copy of SQLite. Two copies of SQLite in
one process share the process's POSIX file locks, so when one copy closes the database file the
other copy's locks are silently dropped (SQLite's "multiple copies of SQLite in the same
program" warning) — another process could then write under a reader or a writer — and, as seen
here, the ADBC copy went on reading an old state after Python's ``sqlite3`` had committed a new
import. In a child process each copy has its own locks.
"""

from __future__ import annotations

import sys
from typing import Any


def write_parquet(cursor: Any, sql: str, out: str) -> int:
    """Run ``sql`` on the ADBC ``cursor`` and append its Arrow batches to the Parquet file
    ``out`` one at a time; returns the rows (the PostgreSQL snapshot reads through it too)."""
    import pyarrow.parquet as pq

    rows = 0
    cursor.execute(sql)
    reader = cursor.fetch_record_batch()
    with pq.ParquetWriter(out, reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def export(database: str, sql: str, out: str) -> int:
    """Write the rows of ``sql`` on ``database`` to the Parquet file ``out``; returns the rows."""
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    with adbc_sqlite.connect(database) as conn, conn.cursor() as cursor:
        return write_parquet(cursor, sql, out)


if __name__ == "__main__":
    print(export(sys.argv[1], sys.stdin.read(), sys.argv[2]))
