"""A throwaway PostgreSQL server for tests: initdb + pg_ctl in a temp dir on 127.0.0.1.

As root the server runs as the ``postgres`` system user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


def _bindir() -> Path | None:
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        path = Path(out.stdout.strip())
        if (path / "initdb").exists():
            return path
    for cand in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (cand / "initdb").exists():
            return cand
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def available() -> bool:
    return _bindir() is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    root: Path
    port: int
    bindir: Path
    settings: dict[str, str] = field(default_factory=dict)  # extra server settings

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://app@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=True)

    def start(self) -> PgServer:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        data = self.root / "data"
        self._run(
            "initdb",
            "-D",
            str(data),
            "-U",
            "app",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        opts = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        ) + "".join(f" -c {k}={v}" for k, v in self.settings.items())
        self._run(
            "pg_ctl", "-D", str(data), "-l", str(self.root / "log"), "-w", "-o", opts, "start"
        )
        return self

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=app dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://app@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_command(bindir: Path, data: Path) -> list[str]:
    cmd = [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def reap_orphans(bindir: Path) -> list[Path]:
    """Stop and remove the throwaway servers whose owning process is gone (a test run that was
    killed before its clean-up). Returns their folders."""
    reaped = []
    for root in Path(tempfile.gettempdir()).glob("ib-pg-*"):
        owner = root / "owner"
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            continue
        if _alive(pid):
            continue
        if (root / "data" / "postmaster.pid").exists():
            subprocess.run(_stop_command(bindir, root / "data"), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        reaped.append(root)
    return reaped


def _watch(server: PgServer, owner: int) -> None:
    """A detached watcher that stops the server as soon as ``owner`` exits, however it exits
    (a killed run leaves no server behind)."""
    data = server.root / "data"
    stop = " ".join(_stop_command(server.bindir, data))
    script = (
        f"while kill -0 {owner} 2>/dev/null; do sleep 2; done; "
        f"if [ -f {data}/postmaster.pid ]; then {stop}; fi; rm -rf {server.root}"
    )
    subprocess.Popen(
        ["sh", "-c", script],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def start(**settings: str) -> PgServer:
    """A throwaway server; ``settings`` are extra server settings (``shared_buffers="4GB"``).
    It lives as long as the calling process: orphans of killed runs are reaped first, and a
    watcher stops this one when its owner exits."""
    bindir = _bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (make test installs Debian's postgresql)")
    reap_orphans(bindir)
    root = Path(tempfile.mkdtemp(prefix="ib-pg-"))
    os.chmod(root, 0o755)
    (root / "owner").write_text(str(os.getpid()))
    server = PgServer(root, _free_port(), bindir, settings).start()
    _watch(server, os.getpid())
    return server
