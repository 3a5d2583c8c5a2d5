"""``industry-brain`` run in this process (Typer's ``CliRunner``), the result shaped like the
``subprocess.CompletedProcess`` of the console script.

A subprocess per command costs ~1.5 s of interpreter start and imports (pandas, DuckDB,
SQLAlchemy, every service); the CLI tests run hundreds of commands. They run in process;
each CLI module keeps one test through the real console script (``EXE``), and
tests/reliability/test_bad_files.py checks exit codes and the absence of tracebacks of the real
script. The process-wide caches that read the environment (parameters, engines per URL) are
cleared around every command, as a new process would start without them.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path

import click
import typer.main
from click.testing import CliRunner, Result

from industry_brain.cli import app
from industry_brain.core import parameters
from industry_brain.store import db

#: the real console script (for the one subprocess test per module)
EXE = Path(sys.executable).parent / "industry-brain"


@functools.cache
def command() -> click.Command:
    """The Click tree of the CLI, built once: Typer's own test runner rebuilds it on every
    ``invoke`` (~0.5 s each for the whole tree)."""
    return typer.main.get_command(app)


def invoke(args: list[str] | tuple[str, ...], env: Mapping[str, str] | None = None) -> Result:
    """Click's test runner on :func:`command` (``COLUMNS=200`` unless ``env`` says otherwise)."""
    return CliRunner().invoke(
        command(), [str(a) for a in args], env={"COLUMNS": "200", **(env or {})}
    )


def run_cli(
    args: list[str] | tuple[str, ...], env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``industry-brain ARGS`` with ``env`` added to the environment (``COLUMNS=200`` unless
    given); an exception that escapes the command is a non-zero exit with its traceback on
    stderr, as the console script would print it."""
    parameters._cached.cache_clear()
    db.engine_for.cache_clear()
    try:
        result = invoke(args, env)
    finally:
        parameters._cached.cache_clear()
        db.engine_for.cache_clear()
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, stderr)
