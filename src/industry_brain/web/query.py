"""Query-parameter types of the pages: an empty filter value means "all".

A filter form sends every field, the empty option (全部 / All) as ``name=``; pager links repeat
the filters the same way. ``OptionalInt`` reads an empty or blank value as ``None`` and
``PageNumber`` as page 1, then applies the bounds, so ``/carbon?county=330502&grade=`` lists
every grade instead of answering 422.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _blank_is_first(value: Any) -> Any:
    return 1 if isinstance(value, str) and not value.strip() else value


def OptionalInt(lo: int, hi: int) -> Any:
    """An integer filter in ``[lo, hi]``; empty means none (all)."""
    return Annotated[Annotated[int, Field(ge=lo, le=hi)] | None, BeforeValidator(_blank_is_none)]


def PageNumber(hi: int = 100000) -> Any:
    """A page number in ``[1, hi]``; empty means the first page."""
    return Annotated[Annotated[int, Field(ge=1, le=hi)], BeforeValidator(_blank_is_first)]


Year = OptionalInt(2000, 2100)
Page = PageNumber()
