"""A large sheet imported into PostgreSQL as a stream: its facts are sent while the next rows
are still being checked (流式导入).

A whole-file import reads and validates every row on the client and only then sends the facts
with one ``COPY``: the client works while the server waits, then the server works while the
client waits (1,000,000 power rows: ≈ 3.3 s of client work, then ≈ 2.8 s of the server's
``COPY``). Here the sheet (read whole, as before) is normalised, checked and matched a slice of
:data:`CHUNK_ROWS` rows at a time (a shorter first one), and each slice's valid rows are written
by a thread of their own — the ``COPY`` of one slice runs on the server while the client checks
the next (on the same connection, inside the import's transaction, after a savepoint). It pays
for a file imported alone; files imported side by side (:mod:`industry_brain.ingest.many`)
already keep the cores busy.

The result is the whole-file import's, exactly. What needs the whole sheet runs on the whole
sheet after the last slice: the columns are mapped once before the slices (a column's emptiness
is a property of the sheet); duplicates in the file and the checks against the store run on
all rows while the writer sends the last slices (the checks on a connection of their own,
reading what is committed — what the whole-file import's checks see); matching runs again on all
rows when a slice's result could depend on another slice (a row sent to the review queue — its
entry is opened once per file —, or a power account linked to its enterprise by a row of the
file rather than by the store). What was sent is then compared with what the whole sheet
decided: the facts of a row found in error after all (a duplicate of a row in an earlier slice)
are deleted, a row that turned valid is written; a rejected file rolls back to the savepoint,
so nothing of it stays.

A slice's facts are only written when no figure can be replaced: when the department has no
import in the sheet's one data year (:func:`~industry_brain.store.facts.department_ranges`
empty). A sheet whose rows turn out to span several years, or a department that has figures
of that year already, stops the stream; the sheet is still checked slice by slice, and its
rows are loaded as a whole-file import loads them (the figures they replace superseded).

Only PostgreSQL streams: SQLite writes in the importing process itself, so there is nothing
to overlap. The kinds whose load writes facts alone (and power accounts) stream
(:data:`KINDS`); registration, land and the statistics sheet write other tables row by row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from itertools import pairwise
from queue import Queue
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete
from sqlalchemy.orm import Session, SessionTransaction

from industry_brain.core import env
from industry_brain.core.errors import Problem, ValidationError
from industry_brain.ingest import load as loader
from industry_brain.ingest import matching, readers, validate
from industry_brain.ingest.mapping import Mapping
from industry_brain.store import facts as fact_store
from industry_brain.store.db import chunks
from industry_brain.store.models import Fact, ImportBatch

#: rows normalised, checked and sent at a time
CHUNK_ROWS = 250_000
#: the first slice is this share of :data:`CHUNK_ROWS`: the server starts writing sooner
FIRST_SHARE = 0.2
#: a sheet of fewer rows is imported whole (a stream of one or two slices overlaps little);
#: the setting ``IB_IMPORT_STREAM_FROM`` overrides it (a number of rows, or ``off``)
STREAM_FROM_ROWS = 2 * CHUNK_ROWS
#: the kinds whose rows stream: their load writes facts (and, for power, the accounts)
KINDS = frozenset({"power", "tax", "energy", "emissions"})


def slices(n: int) -> list[tuple[int, int]]:
    """The slices of ``n`` rows as (start, stop): a short first slice (:data:`FIRST_SHARE`),
    then :data:`CHUNK_ROWS` rows each."""
    first = min(n, max(1, int(CHUNK_ROWS * FIRST_SHARE)))
    bounds = [0, *range(first, n, CHUNK_ROWS), n]
    return [(a, b) for a, b in pairwise(bounds) if b > a]


def stream_from() -> int | None:
    """The rows from which a sheet streams: ``IB_IMPORT_STREAM_FROM`` (rows, or ``off``: never),
    else :data:`STREAM_FROM_ROWS`."""
    value = env.raw("IB_IMPORT_STREAM_FROM")
    if value is not None and value.lower() == "off":
        return None
    try:
        return env.integer("IB_IMPORT_STREAM_FROM", STREAM_FROM_ROWS, minimum=1)
    except ValidationError:
        raise env.invalid(
            "IB_IMPORT_STREAM_FROM",
            value or "",
            "不小于 1 的行数，或 off",
            "a number of rows (at least 1) or 'off'",
        ) from None


def eligible(session: Session, mapping: Mapping, tables: list[readers.RawTable]) -> bool:
    """Whether the import of ``tables`` streams: PostgreSQL, one sheet of at least
    :func:`stream_from` rows without cells the reader flagged, a kind of :data:`KINDS`."""
    least = stream_from()
    return (
        least is not None
        and session.get_bind().dialect.name == "postgresql"
        and mapping.kind in KINDS
        and len(tables) == 1
        and tables[0].num_rows >= least
        and not tables[0].cell_flags
    )


@dataclass
class _Slice:
    """One slice after its own checks and matching: ``before_match`` is the slice's error
    mask and problem count before matching (matching runs again on the whole sheet when a
    slice's could depend on another's); ``sent`` the rows whose facts were written."""

    part: Any  # pipeline.Normalised; None once the slices are merged
    reviews: list[dict[str, Any]]
    before_match: tuple[np.ndarray, int]
    sent: np.ndarray
    #: the enterprise each row was matched to in its slice (NaN: none)
    ids: np.ndarray


@dataclass
class Stream:
    """The streamed import of one sheet into ``batch`` (flushed, so its id exists): the
    writer thread, what it sent and the savepoint before it."""

    session: Session
    batch: ImportBatch
    mapping: Mapping
    lookup: matching.Lookup
    first_fact_id: int
    savepoint: SessionTransaction
    stats: loader.LoadStats = field(default_factory=loader.LoadStats)
    #: None while the stream may write; else why it stopped (then the sheet loads whole)
    stopped: str | None = None
    year: int | None = None
    slices: list[_Slice] = field(default_factory=list)
    #: whether the writer recorded the power accounts of the valid rows
    accounts_written: bool = False
    #: one error rejects the file (no ``accept_valid``)
    all_or_nothing: bool = True
    _writer: _Writer | None = None

    @classmethod
    def begin(
        cls,
        session: Session,
        batch: ImportBatch,
        mapping: Mapping,
        lookup: matching.Lookup,
        accept_valid: bool = False,
    ) -> Stream:
        """Start after ``batch`` is flushed: the savepoint and the writer thread. Without
        ``accept_valid`` a slice with an error stops the stream (the file will be rejected:
        nothing more is sent for nothing)."""
        first = loader.next_fact_id(session)
        savepoint = session.begin_nested()
        stream = cls(session, batch, mapping, lookup, first, savepoint)
        stream.all_or_nothing = not accept_valid
        dbapi = session.connection().connection.driver_connection
        stream._writer = _Writer(dbapi, stream.stats)
        lookup.guard = stream._writer.lock
        stream._writer.start()
        return stream

    # -- the slices ------------------------------------------------------------------------
    def prepare(
        self,
        table: readers.RawTable,
        year: int | None,
        thresholds: dict[str, Any],
        progress: Any = None,
    ) -> Any:
        """The sheet as :func:`~industry_brain.ingest.pipeline.prepare` makes it, each slice's
        valid rows written while the next is checked."""
        from industry_brain.ingest import pipeline

        step = progress or (lambda *_: None)
        columns, problems = pipeline.map_columns(table, self.mapping)
        if any(p.severity == "error" for p in problems):
            self._stop("columns")
            return pipeline.refused(table, columns, problems)
        n = table.num_rows
        for start, stop in slices(n):
            step("validate", start, n)
            rows = replace(
                table,
                data=table.data.slice(start, stop - start),
                row_numbers=table.row_numbers.slice(start, stop - start),
            )
            part = pipeline.normalise(rows, self.mapping, columns, year, thresholds)
            before = (part.sheet.error.copy(), len(part.sheet.problems))
            reviews = matching.match_rows(
                part.frame, part.sheet, self.mapping, columns, self.lookup
            )
            sent = self._send(part)
            ids = part.frame["enterprise_id"].to_numpy(dtype=float, na_value=np.nan)
            self.slices.append(_Slice(part, reviews, before, sent, ids))
        step("validate", n, n)
        whole, reviews = self._merged(table, columns, problems)
        # the checks of the whole sheet while the writer sends the last slices: the checks
        # against the store read what is committed on a connection of their own (the
        # whole-file import runs them before it writes anything: they see the same)
        validate.duplicates(whole.frame, whole.sheet, self.mapping, columns)
        with Session(self.session.get_bind()) as reader:
            validate.store_rules(
                whole.frame, whole.sheet, self.mapping, columns, reader, thresholds
            )
        ok = ~whole.sheet.error
        if self.mapping.kind == "power" and self.stopped is None and ok.any():
            # the accounts the valid rows bring, written by the writer after the last slice
            accounts = loader.new_accounts(whole.frame.loc[ok], self.lookup)
            assert self._writer is not None
            self._writer.put(lambda: loader.write_accounts(self.session, accounts, self.lookup))
            self.accounts_written = True
        self._writer_done()
        return pipeline.prepared(whole, reviews)

    def _send(self, part: Any) -> np.ndarray:
        """Queue the slice's valid rows for the writer (the mask of those sent; none once the
        stream stopped)."""
        ok = ~part.sheet.error
        if self.all_or_nothing and not ok.all():
            self._stop("rejected")
        if self.stopped is None:
            self._check_years(part.frame, ok)
        if self.stopped is not None or not ok.any():
            return np.zeros(len(ok), dtype=bool)
        frame = part.frame if ok.all() else part.frame.loc[ok]
        prep = _Rows(part.sheet.table, part.columns)
        facts = loader.long_facts(prep, frame, self.mapping, self.batch)
        assert self._writer is not None
        self._writer.put(facts)
        return ok

    def _check_years(self, frame: pd.DataFrame, ok: np.ndarray) -> None:
        """Stop the stream at a second data year (or a valid row without one), or when the
        department has figures of the sheet's year that the rows would replace."""
        years = frame["year"].to_numpy(dtype=float, na_value=np.nan)[ok]
        if np.isnan(years).any():
            self._stop("years")
            return
        found = sorted({int(y) for y in pd.unique(years)})
        if not found:
            return  # no valid row in this slice
        if self.year is None and len(found) == 1:
            with self.lookup.guard:  # nothing is sent before the year is known
                ranges = fact_store.department_ranges(self.session, self.mapping.department, found)
            if ranges == []:
                self.year = found[0]
            else:
                self._stop("stored")
            return
        if found != [self.year]:
            self._stop("years")

    def _stop(self, why: str) -> None:
        if self.stopped is None:
            self.stopped = why

    def _writer_done(self) -> None:
        """Wait for the writer's last slice; its error, if any, is raised here."""
        writer = self._writer
        self.close()
        if writer is not None and writer.error is not None:
            raise writer.error

    # -- the whole sheet -------------------------------------------------------------------
    def _merged(
        self,
        table: readers.RawTable,
        columns: dict[str, readers.RawColumn],
        problems: list[Problem],
    ) -> tuple[Any, list[dict[str, Any]]]:
        """The slices as one sheet, matched as a whole where a slice's matching could depend
        on another slice."""
        from industry_brain.ingest import pipeline

        parts = [s.part for s in self.slices]
        frame = pd.concat([p.frame for p in parts], ignore_index=True)
        sheet = pipeline._Sheet(table, self.mapping)
        again = any(s.reviews for s in self.slices) or (
            self.mapping.kind == "power"
            and any(np.isin(p.frame["_match"].to_numpy(), ["account", "name"]).any() for p in parts)
        )
        found: list[Problem] = list(problems)
        for k, s in enumerate(self.slices):
            mine = s.part.sheet.problems[: s.before_match[1]] if again else s.part.sheet.problems
            # a problem of the sheet (no row), such as a missing year, once
            found.extend(p for p in mine if k == 0 or p.location.row is not None)
        sheet.problems = found
        sheet.error = np.concatenate(
            [s.before_match[0] if again else s.part.sheet.error for s in self.slices]
        )
        sheet.orphan_errors = any(p.sheet.orphan_errors for p in parts)
        whole = pipeline.Normalised(sheet, frame, columns, parts[0].units, parts[0].factors)
        for s in self.slices:
            s.part = None  # the whole sheet's frame holds the rows now
        del parts
        # the look-ups take the writer's lock themselves (the writer may still be sending)
        reviews = (
            matching.match_rows(frame, sheet, self.mapping, columns, self.lookup) if again else []
        )
        return whole, reviews

    # -- the end ---------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the writer after its current slice, whatever it raised (the import failed)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.put(None)
            writer.join()
            self.lookup.guard = nullcontext()

    def discard(self) -> None:
        """Nothing of the stream stays (a rejected file, or a stream that stopped)."""
        self._writer_done()
        self.savepoint.rollback()

    def load(self, prep: Any) -> loader.LoadStats:
        """Make the store hold what a whole-file load of ``prep`` writes: the rows sent that
        the whole sheet found in error (or matched to another enterprise) lose their facts,
        the valid rows not sent are written, the power accounts recorded."""
        self.savepoint.commit()
        stats = self.stats
        frame = prep.frame
        ok = ~frame["_error"].to_numpy()
        stats.rows_loaded = int(ok.sum())
        sent = np.concatenate([s.sent for s in self.slices])
        sent_ids = np.concatenate([s.ids for s in self.slices])
        ids = frame["enterprise_id"].to_numpy(dtype=float, na_value=np.nan)
        moved = sent & ok & (ids != sent_ids)
        wrong = (sent & ~ok) | moved
        rows = frame["_row"].to_numpy()
        if wrong.any():
            for part in chunks([int(r) for r in rows[wrong]]):
                gone = self.session.execute(
                    delete(Fact).where(
                        Fact.id >= self.first_fact_id,
                        Fact.batch_id == self.batch.id,
                        Fact.row.in_(part),
                    )
                )
                stats.facts_inserted -= gone.rowcount
        if self.mapping.kind == "power" and ok.any() and not self.accounts_written:
            loader.power_accounts(self.session, frame.loc[ok], self.lookup)
        missing = ok & (~sent | moved)
        if missing.any():
            parts = loader.long_facts(prep, frame.loc[missing], self.mapping, self.batch)
            loader.write_facts(self.session, self.batch, parts, stats, self.first_fact_id)
        return stats


@dataclass
class _Rows:
    """What :func:`~industry_brain.ingest.load.long_facts` reads of a prepared sheet."""

    table: readers.RawTable
    columns: dict[str, readers.RawColumn]


class _Writer(threading.Thread):
    """Writes the queued slices' facts (:func:`~industry_brain.ingest.load.copy_facts`)
    while the importing thread checks the next slice, then the power accounts; holds
    :attr:`lock` while it uses the connection (the importing thread's look-ups wait for it).
    The first error stops it; the rest of the queue is drained unwritten."""

    def __init__(self, dbapi: Any, stats: loader.LoadStats) -> None:
        super().__init__(name="ib-stream-writer", daemon=True)
        self.dbapi = dbapi
        self.stats = stats
        self.lock = threading.RLock()
        self.queue: Queue[list[Any] | Callable[[], None] | None] = Queue(maxsize=2)
        self.error: BaseException | None = None

    def put(self, job: list[Any] | Callable[[], None] | None) -> None:
        """Queue a slice's facts, or another write to make in turn (None: no more)."""
        self.queue.put(job)

    def run(self) -> None:
        while (job := self.queue.get()) is not None:
            if self.error is not None:
                continue
            try:
                with self.lock:
                    if callable(job):
                        job()
                    else:
                        loader.copy_facts(self.dbapi, job, self.stats)
            except BaseException as exc:  # raised again in the importing thread
                self.error = exc
