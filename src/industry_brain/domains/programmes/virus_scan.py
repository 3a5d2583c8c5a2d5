"""Virus scan of uploaded files with ClamAV (the provider's diagnosis report, before it is stored).

Configuration ``IB_CLAMAV`` (read when a file is scanned):

- ``clamd:///run/clamav/clamd.ctl`` — the clamd daemon on a Unix socket, or
  ``clamd://127.0.0.1:3310`` on TCP: the file is streamed with the clamd protocol's ``INSTREAM``
  (the :mod:`clamav_client` package), the engine and signature version come from ``VERSION``;
- ``clamscan:/path/to/db-dir`` — the ``clamscan`` command with that signature database
  (``clamscan:`` alone: its default database), the file on its standard input, with a timeout;
- empty or unset — not configured.

A scan ends ``clean`` (with the engine, the signature version and the time), ``infected`` (with the
signature's name) or ``not_scanned`` — not configured, or the scanner did not answer (socket
closed, command missing, database missing, timeout, an error reply): the caller stores the file
marked "not virus-scanned" and never claims a scan that did not happen.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from clamav_client.clamd import ClamdError, ClamdNetworkSocket, ClamdUnixSocket

from industry_brain.core import env

ENV = "IB_CLAMAV"
CLAMD_TIMEOUT_S = 60
CLAMSCAN_TIMEOUT_S = 180  # clamscan loads the whole database for each file (clamd keeps it)
DEFAULT_DATABASE = "/var/lib/clamav"
_FOUND = re.compile(r"^stdin: (?P<name>.+) FOUND$", re.M)


@dataclass(frozen=True)
class ScanOutcome:
    """What a scan found: ``status`` is ``clean``, ``infected`` or ``not_scanned``."""

    status: str
    engine: str | None = None
    signatures: str | None = None
    signature: str | None = None
    scanned_at: datetime | None = None
    note: str | None = None

    @property
    def scanned(self) -> bool:
        return self.status in ("clean", "infected")


def _not_scanned(note: str) -> ScanOutcome:
    return ScanOutcome("not_scanned", note=note[:200])


def _clamd_client(url: str) -> ClamdUnixSocket | ClamdNetworkSocket:
    parts = urlsplit(url)
    if parts.hostname:
        return ClamdNetworkSocket(parts.hostname, parts.port or 3310, timeout=CLAMD_TIMEOUT_S)
    return ClamdUnixSocket(parts.path, timeout=CLAMD_TIMEOUT_S)


def _scan_clamd(url: str, content: bytes) -> ScanOutcome:
    client = _clamd_client(url)
    try:
        version = client.version()  # "ClamAV 1.4.6/27000/Thu Dec  3 08:00:00 2026"
        reply = client.instream(io.BytesIO(content))
    except (ClamdError, OSError) as exc:
        return _not_scanned(f"clamd unavailable: {exc}")
    engine, _, signatures = version.partition("/")
    state, detail = reply.get("stream", (None, None))
    at = datetime.now(UTC)
    if state == "OK":
        return ScanOutcome("clean", f"{engine} (clamd)", signatures or None, None, at)
    if state == "FOUND":
        return ScanOutcome("infected", f"{engine} (clamd)", signatures or None, detail, at)
    return _not_scanned(f"clamd error: {detail or reply}")


def database_version(folder: Path) -> str:
    """The signature version of a ClamAV database folder: each official database (``.cvd`` /
    ``.cld``) by name and version from its header, any other signature file by name and the
    first 12 hex digits of its SHA-256 (a bureau's or a test's own signatures)."""
    parts = []
    for f in sorted(folder.iterdir()):
        if not f.is_file():
            continue
        if f.suffix in (".cvd", ".cld"):
            with f.open("rb") as fh:
                header = fh.read(512).decode("ascii", "replace").split(":")
            version = header[2] if len(header) > 2 and header[0] == "ClamAV-VDB" else "?"
            parts.append(f"{f.stem} {version}")
        elif f.suffix in (".hdb", ".hsb", ".ndb", ".ldb", ".mdb", ".msb", ".cdb", ".yar", ".yara"):
            digest = hashlib.sha256(f.read_bytes()).hexdigest()[:12]
            parts.append(f"{f.name} {digest}")
    return ", ".join(parts)[:200]


def _scan_clamscan(database: str, content: bytes) -> ScanOutcome:
    folder = Path(database or DEFAULT_DATABASE)
    if not folder.is_dir():
        return _not_scanned(f"clamscan database not found: {folder}")
    command = ["clamscan", f"--database={folder}", "--no-summary", "--stdout", "-"]
    try:
        version = subprocess.run(
            ["clamscan", "-V"], capture_output=True, timeout=30, check=False, text=True
        ).stdout.strip()
        done = subprocess.run(
            command, input=content, capture_output=True, timeout=CLAMSCAN_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return _not_scanned(f"clamscan unavailable: {exc}")
    engine = f"{version.split('/')[0] or 'ClamAV'} (clamscan)"
    at = datetime.now(UTC)
    out = done.stdout.decode("utf-8", "replace")
    if done.returncode == 0:
        return ScanOutcome("clean", engine, database_version(folder) or None, None, at)
    found = _FOUND.search(out)
    if done.returncode == 1 and found:
        name = found.group("name")
        return ScanOutcome("infected", engine, database_version(folder) or None, name, at)
    error = (done.stderr.decode("utf-8", "replace") or out).strip().splitlines()
    return _not_scanned(f"clamscan error {done.returncode}: {error[0] if error else ''}")


def check_setting() -> str:
    """``IB_CLAMAV`` checked (``industry-brain check`` and ``serve``, contract hook
    ``ib_settings_check``): empty, ``clamd://`` with a socket path or a host, or ``clamscan:``
    with an existing database folder — a typo would otherwise leave every upload stored as
    not virus-scanned. Whether the scanner answers is the scan's business (it may start later)."""
    value = env.raw(ENV)
    if value is None:
        return ""
    expected_zh = "clamd:///套接字路径、clamd://主机:端口 或 clamscan:/病毒库目录"
    expected_en = "clamd:///socket/path, clamd://host:port or clamscan:/database/folder"
    if value.startswith("clamd://"):
        parts = urlsplit(value)
        if parts.hostname or (parts.path and parts.path != "/"):
            return value
    elif value.startswith("clamscan:"):
        folder = value[len("clamscan:") :]
        if not folder or Path(folder).is_dir():
            return value
        expected_zh, expected_en = "存在的病毒库目录", "an existing database folder"
    raise env.invalid(ENV, value, expected_zh, expected_en)


def scan(content: bytes, config: str | None = None) -> ScanOutcome:
    """Scan ``content`` with the scanner of ``config`` (default: the ``IB_CLAMAV`` variable)."""
    config = (os.environ.get(ENV, "") if config is None else config).strip()
    if not config:
        return _not_scanned("not configured")
    if config.startswith("clamd://"):
        return _scan_clamd(config, content)
    if config.startswith("clamscan:"):
        return _scan_clamscan(config[len("clamscan:") :], content)
    return _not_scanned(f"unknown {ENV} setting")
