"""Shared pieces of every command group: JSON output, bilingual error exit, progress bars."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable
from rich.text import Text

from industry_brain.core.errors import IBError, Location, Problem, ValidationError

console = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]

Step = Callable[[str, int, int], None]

# A cell is a code when it is one token of digits, capitals and separators with at least one
# digit: a USCC, a region or industry code, a project code (HZXM-2020-00032), a batch id.
_CODE = re.compile(r"^(?=.*\d)[0-9A-Z][0-9A-Z._/-]{3,39}$")


def _plain(cell: object) -> str:
    if isinstance(cell, Text):
        return cell.plain
    return cell if isinstance(cell, str) else ""


class Table(RichTable):
    """A Rich table that stays readable in a narrow terminal (80 columns): columns of codes
    (USCC, region, industry and project codes, numbers) are never wrapped or cut, every other
    column folds onto more lines instead of ending in "…" (between words where it can); when
    even that does not fit, each row is printed as a block of "column  value" lines."""

    def _fit(self) -> int:
        """Set each column's wrapping; return the narrowest width the table can take."""
        width = len(self.columns) + 1  # borders
        for column in self.columns:
            texts = [_plain(c) for c in column._cells]
            filled = [t for t in texts if t and t not in ("-", "—")]
            column.overflow = "fold"
            if filled and all(_CODE.match(t) for t in filled):
                column.no_wrap = True
                column.min_width = max(len(t) for t in filled)
            else:
                # never inside a Latin word or number shorter than 16
                words = [w for t in [*texts, _plain(column.header)] for w in t.split()]
                latin = [len(w) for w in words if w.isascii() and len(w) <= 16]
                column.no_wrap = False
                column.min_width = max(latin, default=None)
            width += (column.min_width or 4) + 2  # padding
        return width

    def _records(self) -> RichTable:
        """The rows as blocks of (column, value) lines, for terminals too narrow for columns."""
        out = RichTable(title=self.title, show_header=False, show_lines=False)
        out.add_column(style="bold", no_wrap=True)
        out.add_column(overflow="fold")
        headers = [_plain(c.header) for c in self.columns]
        cells = [c._cells for c in self.columns]
        for i in range(self.row_count):
            for j, header in enumerate(headers):
                out.add_row(header, cells[j][i], end_section=j == len(headers) - 1)
        return out

    def __rich_console__(self, console: Console, options: Any) -> Any:
        if self._fit() > options.max_width and self.show_header:
            return self._records().__rich_console__(console, options)
        return super().__rich_console__(console, options)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "isoformat"):  # dates and times
        return value.isoformat()
    return str(value)


def print_json(data: Any) -> None:
    """Data as indented UTF-8 JSON on stdout (numpy scalars and dates converted)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default) + "\n")


def print_problem(problem: Problem) -> None:
    """A problem on stderr: its code, Chinese and English message and location."""
    text = f"[bold red]错误 error[/] {escape(problem.message())}"
    err.print(text, highlight=False, soft_wrap=True)


def parse_day(text: str, option: str) -> date:
    """The date given to ``option`` (``YYYY-MM-DD``); else the error ``cli.date`` naming the
    option, in Chinese and English (exit 2 through :func:`errors` or the console script).

    Example: ``parse_day("2026-02-30", "--expires")`` raises ``cli.date``."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            "cli.date",
            f"{option} 的日期“{text}”无效：应为 YYYY-MM-DD 格式的实际日期",
            f"{option}: '{text}' is not a date written YYYY-MM-DD",
            Location(field=option),
            text,
        ) from None


def day_or_today(text: str | None, option: str = "--today") -> date:
    """The date given to ``option``, else the platform's today (``IB_TODAY`` when set, else
    the real date: the web platform's day too)."""
    from industry_brain.core import env

    return env.today() if text is None else parse_day(text, option)


def refuse_unless_ready(assets: bool = False) -> None:
    """The start-up check of a server command (``serve``, ``ids serve``, ``carbon serve``):
    the settings and the store's schema (with ``assets``, the web platform's front-end files)
    as ``industry-brain check`` finds them. A problem is printed in Chinese and English and the
    command exits 2 — rather than a traceback in each worker or HTTP 500 on the first request;
    a store that cannot be reached yet is only a warning (every server answers 503
    ``store.unavailable`` until it can)."""
    from industry_brain import checkup

    report = checkup.run(assets=assets)
    for p in report.problems:
        if p.code == checkup.UNAVAILABLE:
            err.print(f"[yellow]警告 warning[/] {escape(p.message())}", highlight=False)
        else:
            print_problem(p)
    if any(p.code != checkup.UNAVAILABLE for p in report.problems):
        raise typer.Exit(2)


@contextmanager
def errors() -> Iterator[None]:
    """Print a platform error as code + Chinese + English message and exit with status 2."""
    try:
        yield
    except IBError as exc:
        print_problem(exc.problem)
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
