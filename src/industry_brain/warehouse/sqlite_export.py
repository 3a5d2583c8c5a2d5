"""Stream one SQLite query to Parquet through the ADBC SQLite driver, in a process of its own.

``python -m industry_brain.warehouse.sqlite_export DATABASE FOLDER BUCKET_FIRMS`` reads the
query from stdin and writes its rows, Arrow batch by Arrow batch, to one Parquet file per bucket
of ``BUCKET_FIRMS`` enterprise ids under ``FOLDER`` (``raw-0003.parquet`` holds the rows with
``enterprise_id // BUCKET_FIRMS`` = 3; no Python object per value; memory bounded by one batch
per bucket), so that a snapshot reduces each bucket from its own file.

Why a separate process: the ADBC driver links its own copy of SQLite. Two copies of SQLite in
one process share the process's POSIX file locks, so when one copy closes the database file the
other copy's locks are silently dropped (SQLite's "multiple copies of SQLite in the same
program" warning) — another process could then write under a reader or a writer — and, as seen
here, the ADBC copy went on reading an old state after Python's ``sqlite3`` had committed a new
import. In a child process each copy has its own locks.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def write_buckets(cursor: Any, sql: str, folder: Path, bucket_firms: int) -> int:
    """Run ``sql`` (with an ``enterprise_id`` column) on the ADBC ``cursor`` and append its
    Arrow batches, split by bucket of ``bucket_firms`` enterprise ids, to one Parquet file per
    bucket under ``folder``; returns the rows."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rows = 0
    writers: dict[int, pq.ParquetWriter] = {}
    cursor.execute(sql)
    reader = cursor.fetch_record_batch()
    try:
        for batch in reader:
            # integer division of the (non-negative) ids
            buckets = pc.divide(batch.column("enterprise_id"), bucket_firms)
            for bucket in pc.unique(buckets).to_pylist():
                part = batch.filter(pc.equal(buckets, bucket))
                if bucket not in writers:
                    writers[bucket] = pq.ParquetWriter(
                        folder / f"raw-{bucket:04d}.parquet", reader.schema, compression="lz4"
                    )
                writers[bucket].write_batch(part)
            rows += batch.num_rows
    finally:
        for writer in writers.values():
            writer.close()
    return rows


def export(database: str, sql: str, folder: str, bucket_firms: int) -> int:
    """Write the rows of ``sql`` on ``database`` to ``folder``, one file per bucket; returns
    the rows."""
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    with adbc_sqlite.connect(database) as conn, conn.cursor() as cursor:
        return write_buckets(cursor, sql, Path(folder), bucket_firms)


if __name__ == "__main__":
    print(export(sys.argv[1], sys.stdin.read(), sys.argv[2], int(sys.argv[3])))
