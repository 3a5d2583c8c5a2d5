"""The progress callback that long work reports through (the CLI draws it as a Rich bar)."""

from __future__ import annotations

from collections.abc import Callable

#: ``progress(step, done, total)``: ``done`` of ``total`` units of ``step`` finished
Progress = Callable[[str, int, int], None]
