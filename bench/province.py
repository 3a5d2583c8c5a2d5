"""Province into the store (issue 21 point 1): ``demo --scale province --firms N`` end to end.

Writes the province's department files for ``N`` active enterprises (the demo generator at the
province's 规上/规下 proportion, with its deliberate defects), imports every file through the
real ingest path (COPY on PostgreSQL), seeds projects and users, and runs the whole main job
(every service's hook) — the same :func:`industry_brain.mainjob.run_demo` the CLI runs — and
prints each phase's wall time and peak memory: the resident set of this process and its child
processes (Spark, the SQLite snapshot exporter), sampled every 0.1 s (the database server's
own memory is not counted).

Then the warehouse snapshot of that store is measured (``bench/snapshot.py``: a full build
and an appeal's correction refreshed, against the store's own export).

    IB_BENCH_FIRMS=20000 python -m bench province      # default 500,000
    IB_BENCH_STORE=postgresql://… python -m bench province

Without ``IB_BENCH_STORE`` a throwaway PostgreSQL server is started (as in the tests) when
PostgreSQL is installed, else a SQLite file in a temporary folder is used.
"""

from __future__ import annotations

import contextlib
import os
import resource
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from industry_brain.demo import DEFAULT_SEED, use_firms
from industry_brain.ingest.many import workers_for
from industry_brain.mainjob import run_demo, service_hooks
from industry_brain.store.db import make_engine

DEFAULT_FIRMS = 500_000


class _Meter:
    """Peak resident memory of this process and its children since the last :meth:`take`."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def rss(self) -> int:
        total = self.proc.memory_info().rss
        for child in self.proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, self.rss())

    def take(self) -> int:
        peak = max(self.peak, self.rss())
        self.peak = 0
        return peak

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class _Phases:
    """Turns the main job's progress calls into timed phases: building the files, importing
    them, seeding projects and users (and the summary), then one phase per service."""

    def __init__(self, meter: _Meter, echo: Callable[[str], None] = print) -> None:
        self.meter = meter
        self.echo = echo
        self.services = {name for name, _ in service_hooks()}
        self.phases: list[dict[str, Any]] = []
        self.current: str | None = None
        self.started = time.perf_counter()

    def _switch(self, name: str) -> None:
        if name == self.current:
            return
        self.close()
        self.current = name
        self.started = time.perf_counter()
        self.meter.take()

    def close(self) -> None:
        if self.current is None:
            return
        seconds = time.perf_counter() - self.started
        peak = self.meter.take() / 2**20
        self.phases.append({"phase": self.current, "seconds": round(seconds, 2), "peak_mb": peak})
        self.echo(f"  {self.current:<28} {seconds:9.1f} s   peak RSS {peak:8,.0f} MB")
        self.current = None

    def __call__(self, step: str, done: int, total: int) -> None:
        if step == "import":
            self._switch("import (ingest path)")
            if done == total:
                self._switch("projects, users, summary")
        elif step in self.services and done == 0:
            self._switch(f"service {step}")
        elif self.current is None:
            self._switch("write department files")


def province(firms: int, url: str, out_dir: Path, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Run the province main job for ``firms`` on the store at ``url`` into ``out_dir``."""
    engine = make_engine(url)
    workers = workers_for(engine)  # files of independent departments side by side (PostgreSQL)
    meter = _Meter()
    phases = _Phases(meter)
    start = time.perf_counter()
    try:
        with use_firms(firms):
            run = run_demo(out_dir, scale="province", seed=seed, engine=engine, progress=phases)
        phases.close()
    finally:
        meter.close()
        engine.dispose()
    total = time.perf_counter() - start
    rows = sum(r.rows_total for r in run.imports)
    loaded = sum(r.rows_loaded for r in run.imports)
    import_s = next((p["seconds"] for p in phases.phases if p["phase"].startswith("import")), 0)
    return {
        "firms": firms,
        "store": "postgresql" if url.startswith("postgresql") else "sqlite",
        "seconds": round(total, 1),
        "phases": phases.phases,
        "peak_mb": round(max((p["peak_mb"] for p in phases.phases), default=0)),
        "maxrss_self_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "maxrss_children_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "files": len(run.imports),
        "import_workers": workers,
        "import_rows": rows,
        "import_rows_loaded": loaded,
        "import_rows_per_s": round(rows / import_s) if import_s else None,
        "statuses": sorted({r.status for r in run.imports}),
        "enterprises": run.summary.get("enterprises"),
        "facts": run.summary.get("facts"),
        "services": sorted(run.services),
        "run": run,
    }


def run(rows: int = 0) -> dict[str, Any]:
    del rows  # the power CSV size of ``python -m bench``; the province is sized by firms
    firms = int(os.environ.get("IB_BENCH_FIRMS", DEFAULT_FIRMS))
    url = os.environ.get("IB_BENCH_STORE")
    server = None
    with tempfile.TemporaryDirectory(prefix="ib-province-") as tmpdir:
        tmp = Path(tmpdir)
        if not url:
            try:
                from tests import pgserver
            except ImportError:
                pgserver = None  # type: ignore[assignment]
            if pgserver is not None and pgserver.available():
                server = pgserver.start()
                url = server.create_database("province")
            else:
                url = f"sqlite:///{tmp / 'province.sqlite'}"
        load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"province main job: {firms:,} firms into {url.split('@')[-1]} (load {load})")
        try:
            out = province(firms, url, tmp / "demo")
            # the warehouse snapshot of the store the job loaded: full build and a correction
            from bench import snapshot

            engine = make_engine(url)
            try:
                out["snapshot"] = snapshot.measure(engine, tmp / "snapshots")
            finally:
                engine.dispose()
        finally:
            if server is not None:
                server.stop()
    out.pop("run")
    print(
        f"total {out['seconds']:,.1f} s; {out['files']} files, {out['import_rows']:,} rows "
        f"imported at {out['import_rows_per_s'] or 0:,} rows/s "
        f"({out['import_workers']} import process(es)); {out['enterprises']:,} "
        f"enterprises, {out['facts']:,} facts; peak RSS {out['peak_mb']:,} MB"
    )
    return out
