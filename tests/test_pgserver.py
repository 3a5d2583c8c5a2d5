"""The tests' throwaway PostgreSQL server does not outlive its owner: a run killed with SIGKILL
(no clean-up runs) leaves no server behind — the watcher stops it within seconds — and an
orphan left by an older run (its owner gone, no watcher) is reaped by the next start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import pgserver

pytestmark = pytest.mark.skipif(not pgserver.available(), reason="PostgreSQL is not installed")

OWNER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from tests import pgserver
server = pgserver.start()
print(server.root, server.port, flush=True)
time.sleep(600)
"""


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def _owned_server() -> tuple[subprocess.Popen, Path, int]:
    root_dir = str(Path(__file__).resolve().parent.parent)
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, root_dir], stdout=subprocess.PIPE, text=True
    )
    line = owner.stdout.readline().split()  # type: ignore[union-attr]
    root, port = Path(line[0]), int(line[1])
    assert _accepts(port) and (root / "owner").read_text() == str(owner.pid)
    return owner, root, port


def test_a_killed_owner_leaves_no_server():
    owner, root, port = _owned_server()
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    assert _wait(lambda: not _accepts(port) and not root.exists(), 30)


def test_an_orphan_is_reaped_by_the_next_start():
    owner, root, port = _owned_server()
    # the watcher gone too (as for a server of a run before watchers existed)
    watchers = subprocess.run(
        ["pgrep", "-f", f"kill -0 {owner.pid} "], capture_output=True, text=True
    ).stdout.split()
    for pid in watchers:
        os.kill(int(pid), signal.SIGKILL)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    time.sleep(2.5)
    assert _accepts(port) and root.exists()  # an orphan, still running
    reaped = pgserver.reap_orphans(pgserver._bindir())
    assert root in reaped and not root.exists()
    assert _wait(lambda: not _accepts(port), 10)
