"""Shared pieces of every command group: JSON output, bilingual error exit, progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from industry_brain.core.errors import IBError

console = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]

Step = Callable[[str, int, int], None]


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "isoformat"):  # dates and times
        return value.isoformat()
    return str(value)


def print_json(data: Any) -> None:
    """Data as indented UTF-8 JSON on stdout (numpy scalars and dates converted)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default) + "\n")


@contextmanager
def errors() -> Iterator[None]:
    """Print a platform error as code + Chinese + English message and exit with status 2."""
    try:
        yield
    except IBError as exc:
        err.print(
            f"[bold red]错误 error[/] {escape(exc.problem.message())}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2) from exc


@contextmanager
def progress(enabled: bool = True, labels: dict[str, str] | None = None) -> Iterator[Step]:
    """A Rich progress bar per named step on stderr; callbacks are ``(step, done, total)``."""
    if not enabled:
        yield lambda *_: None
        return
    names = labels or {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(names.get(step, step), total=max(total, 1))
            bar.update(tasks[step], completed=done, total=max(total, 1))

        yield update
