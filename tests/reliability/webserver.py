"""A real ``industry-brain serve`` on 127.0.0.1 for the web reliability and security tests.

``serve(env, workers)`` starts the command in a subprocess on a free port with its own data dir
and store, waits until it answers ``/healthz`` (any status: a store fault is a valid state to
start in) and stops it at the end. ``without_root_override()`` is the command prefix that makes
file permissions bind even when the tests run as root (drops ``CAP_DAC_OVERRIDE``), so a
read-only store is read-only for the server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / ".venv" / "bin" / "industry-brain"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def without_root_override() -> list[str]:
    """``setpriv`` dropping the capabilities that let root ignore file modes (as root only)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to test a read-only store as root"
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


@contextmanager
def serve(
    database_url: str,
    data_dir: Path,
    workers: int = 1,
    prefix: list[str] | None = None,
    extra_env: dict[str, str] | None = None,
    ready_timeout: float = 90.0,
) -> Iterator[str]:
    """Base URL of a running ``industry-brain serve`` on ``database_url``."""
    port = free_port()
    env = {
        **os.environ,
        "IB_DATABASE_URL": database_url,
        "IB_DATA_DIR": str(data_dir),
        "IB_COOKIE_SECURE": "0",
        "IB_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    log = (data_dir.parent / f"serve-{port}.log").open("wb")
    proc = subprocess.Popen(
        [*(prefix or []), str(CLI), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            assert proc.poll() is None, f"serve exited with {proc.returncode}"
            try:
                httpx.get(f"{base}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not answer in time"
                time.sleep(0.3)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
