"""The server's worker app (``industry-brain serve`` → ``web.app:serve_app``): the app of
:func:`create_app` with the worker's start-up objects frozen out of the cyclic garbage collector
and a larger first-generation threshold (issue 14: exports and explanations under their
targets). Checked in a fresh interpreter, since freezing is process-wide."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine

CODE = """
import gc
from industry_brain.web.app import create_app, serve_app
create_app()
before = gc.get_freeze_count(), gc.get_threshold()[0]
app = serve_app()
print(*before, gc.get_freeze_count(), gc.get_threshold()[0], type(app).__name__)
"""


def test_serve_app_freezes_the_start_up_heap(sqlite_engine: Engine, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "IB_DATABASE_URL": sqlite_engine.url.render_as_string(hide_password=False),
        "IB_DATA_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", CODE], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    frozen_before, threshold_before, frozen, threshold, kind = done.stdout.split()
    # an app built alone (as the tests build theirs) leaves the collector as it is
    assert (int(frozen_before), int(threshold_before)) == (0, 700)
    # the worker's app: tens of thousands of start-up objects frozen, collections every 10,000
    assert int(frozen) > 10_000 and (int(threshold), kind) == (10_000, "FastAPI")
