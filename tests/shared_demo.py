"""The small demo (the whole main job) built once per test run and copied for each module.

Several modules need a store with the demo loaded and every service run on it; building it takes
a minute or more as services join the main job. The first module to ask builds it under a file
lock in a folder shared by the xdist workers of this run; every module then gets its own copy of
the store and of the data folder (keys, snapshots), so tests that write (appeals, payouts) never
see each other. Paths recorded in the store (snapshots, the demo's files) point into the shared
build, which stays until the run ends; modules only read them.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
from pathlib import Path

import pytest

from industry_brain.core import parameters
from industry_brain.mainjob import DemoRun, run_demo
from industry_brain.store.db import make_engine


def _shared_root(factory: pytest.TempPathFactory) -> Path:
    base = factory.getbasetemp()
    # under xdist each worker has basetemp <run>/popen-gwN: the run's folder is shared by them
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared-small-demo"


def _build(root: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IB_DATA_DIR", str(root / "data"))
        mp.delenv("IB_DATABASE_URL", raising=False)
        mp.delenv("IB_PARAMETERS_DIR", raising=False)
        parameters._cached.cache_clear()
        engine = make_engine(f"sqlite:///{root / 'store.sqlite'}")
        try:
            run = run_demo(root / "demo", scale="small", engine=engine)
        finally:
            engine.dispose()
        parameters._cached.cache_clear()
    (root / "run.pkl").write_bytes(pickle.dumps(run))
    (root / "ready").touch()


def shared_demo_dir(factory: pytest.TempPathFactory) -> Path:
    """The demo's department files of the shared build (read only)."""
    return _shared_root(factory) / "demo"


def small_demo(factory: pytest.TempPathFactory, name: str) -> tuple[DemoRun, str, Path]:
    """A private copy of the shared small demo: (the main job's result, the copy's database URL,
    the copy's folder — ``store.sqlite`` and ``data/``, to use as ``IB_DATA_DIR``)."""
    root = _shared_root(factory)
    root.mkdir(parents=True, exist_ok=True)
    with (root.parent / "shared-small-demo.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (root / "ready").exists():
                _build(root)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    dest = factory.mktemp(name)
    for suffix in ("", "-wal", "-shm"):
        src = root / f"store.sqlite{suffix}"
        if src.exists():
            shutil.copy2(src, dest / src.name)
    shutil.copytree(root / "data", dest / "data")
    run: DemoRun = pickle.loads((root / "run.pkl").read_bytes())
    return run, f"sqlite:///{dest / 'store.sqlite'}", dest
