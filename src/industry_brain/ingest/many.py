"""Importing many department files in one go (the main job; a month's intake): on PostgreSQL the
files of independent departments run at the same time in worker processes, each file still one
atomic batch through :func:`~industry_brain.ingest.pipeline.import_file`.

One import keeps about one core busy: its client reads and validates while the database server
waits, then the server writes while the client waits. Two imports side by side keep two cores
busy. What may run side by side is decided so that every file sees the store exactly as in a
one-by-one import in the given order:

- a file that creates or renames enterprises (``registration``: every other file's matching
  reads the enterprises) is a **barrier**: the files before it finish first, then it runs alone;
- the files of one department run in their given order (a later year supersedes an earlier
  figure, the year-on-year electricity check reads last year's);
- departments whose checks read each other's stored figures (:data:`validate.READS`: 统计's
  revenue against 税务's tax) form one chain, in the given order.

SQLite takes one writer at a time, so there the files are imported one by one in this process,
as is any single chain. ``IB_IMPORT_WORKERS`` (or ``workers``) sets the number of processes on
PostgreSQL (default 2; 1 imports one by one). Each worker process holds one file's memory at a
time: two workers can need the sum of the two largest files' peaks.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from industry_brain.core import env, memory
from industry_brain.core.errors import Location, ValidationError
from industry_brain.core.progress import Progress
from industry_brain.ingest import validate
from industry_brain.ingest.mapping import load_mapping
from industry_brain.ingest.pipeline import ImportResult, import_file
from industry_brain.store.db import engine_for

#: kinds that create or rename enterprises, which every other file's matching reads
BARRIER_KINDS = frozenset({"registration"})
#: worker processes on PostgreSQL when neither ``workers`` nor ``IB_IMPORT_WORKERS`` says
DEFAULT_WORKERS = 2


@dataclass(frozen=True)
class FileJob:
    """One department file to import (the arguments of ``import_file`` that vary by file)."""

    kind: str
    path: Path
    sheet: str | None = None
    year: int | None = None
    encoding: str | None = None


def plan(jobs: Sequence[FileJob]) -> list[list[list[int]]]:
    """Stages of chains of job indices: the stages run one after another, the chains of a
    stage side by side, a chain's jobs in order (the module docstring gives the rules).

    Example: registration, 统计 2024, 电力 2024, 税务 2024 → ``[[[0]], [[1, 3], [2]]]``."""
    stages: list[list[list[int]]] = []
    segment: list[int] = []

    def close() -> None:
        if segment:
            stages.append(_chains(jobs, segment))
            segment.clear()

    for i, job in enumerate(jobs):
        if job.kind in BARRIER_KINDS:
            close()
            stages.append([[i]])
        else:
            segment.append(i)
    close()
    return stages


def _chains(jobs: Sequence[FileJob], members: list[int]) -> list[list[int]]:
    """The jobs of one stage grouped into chains: one per department, joined where one's
    checks read another's figures; each chain in the jobs' order, chains by first job."""
    parent: dict[str, str] = {}

    def find(d: str) -> str:
        while parent.setdefault(d, d) != d:
            d = parent[d]
        return d

    for i in members:
        own = load_mapping(jobs[i].kind).department
        for other in validate.READS.get(jobs[i].kind, ()):
            parent[find(other)] = find(own)
    chains: dict[str, list[int]] = {}
    for i in members:
        chains.setdefault(find(load_mapping(jobs[i].kind).department), []).append(i)
    return sorted(chains.values(), key=lambda c: c[0])


def workers_for(engine: Engine, workers: int | None = None) -> int:
    """Worker processes for ``engine``: 1 on SQLite (one writer at a time), else ``workers``,
    ``IB_IMPORT_WORKERS`` or :data:`DEFAULT_WORKERS`."""
    if engine.dialect.name != "postgresql":
        return 1
    if workers is None:
        workers = import_workers()
    if workers < 1:
        raise ValidationError(
            "import.workers",
            f"导入进程数应至少为 1（当前为 {workers}）",
            f"import workers must be at least 1, not {workers}",
            Location(field="workers"),
            workers,
        )
    return workers


def import_workers() -> int:
    """``IB_IMPORT_WORKERS`` (at least 1), else :data:`DEFAULT_WORKERS`."""
    return env.integer("IB_IMPORT_WORKERS", DEFAULT_WORKERS, minimum=1)


def import_files(
    jobs: Sequence[FileJob],
    *,
    engine: Engine,
    workers: int | None = None,
    accept_valid: bool = False,
    report_dir: Path | None = None,
    on_day: date | None = None,
    progress: Progress | None = None,
) -> list[ImportResult]:
    """Import ``jobs`` (results in the same order), independent departments side by side on
    PostgreSQL (:func:`plan`, :func:`workers_for`). A file that raises stops the imports not yet
    started; the ones running finish (each is atomic), then the error is raised.

    Example: ``import_files([FileJob("registration", reg), FileJob("power", power)],
    engine=engine, accept_valid=True)``."""
    step = progress or (lambda *_: None)
    options = {"accept_valid": accept_valid, "report_dir": report_dir, "on_day": on_day}
    stages = plan(jobs)
    n = min(workers_for(engine, workers), max((len(s) for s in stages), default=1))
    results: list[ImportResult | None] = [None] * len(jobs)
    step("import", 0, len(jobs))
    if n <= 1:
        for i, job in enumerate(jobs):
            results[i] = _import(job, engine, options)
            step("import", i + 1, len(jobs))
        return [r for r in results if r is not None]
    url = engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")  # no forked connections or threads
    with ProcessPoolExecutor(max_workers=n, mp_context=context) as pool:
        done = 0
        for stage in stages:
            done = _run_stage(pool, n, stage, jobs, url, options, results, done, step)
    return [r for r in results if r is not None]


def _run_stage(
    pool: ProcessPoolExecutor,
    n: int,
    stage: list[list[int]],
    jobs: Sequence[FileJob],
    url: str,
    options: dict[str, Any],
    results: list[ImportResult | None],
    done: int,
    step: Progress,
) -> int:
    """Run one stage's chains on ``pool``, at most ``n`` files at once and one file per chain;
    the chain with the most bytes left goes first."""
    queues = [list(chain) for chain in stage]
    size = {i: _size(jobs[i].path) for chain in stage for i in chain}
    running: dict[Future[ImportResult], tuple[int, list[int]]] = {}
    failure: BaseException | None = None
    while True:
        idle = [q for q in queues if q and all(q is not c for _, c in running.values())]
        while failure is None and idle and len(running) < n:
            chain = max(idle, key=lambda q: sum(size[i] for i in q))
            idle.remove(chain)
            i = chain.pop(0)
            running[pool.submit(_worker, url, jobs[i], options)] = (i, chain)
        if not running:
            break
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in finished:
            i, _chain = running.pop(future)
            try:
                results[i] = future.result()
            except BaseException as exc:  # the file's own error, raised once the others end
                failure = failure or exc
                continue
            done += 1
            step("import", done, len(jobs))
    if failure is not None:
        raise failure
    return done


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _import(job: FileJob, engine: Engine, options: dict[str, Any]) -> ImportResult:
    try:
        return import_file(
            job.kind,
            job.path,
            engine=engine,
            sheet=job.sheet,
            year=job.year,
            encoding=job.encoding,
            **options,
        )
    finally:
        memory.release()  # this file's tables, before the next file in the same process


def _worker(url: str, job: FileJob, options: dict[str, Any]) -> ImportResult:
    """One file in a worker process (the process's shared engine of the store)."""
    return _import(job, engine_for(url), options)
