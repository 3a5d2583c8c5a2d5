"""The day a store is replaying (the demo's ``DEMO_TODAY``): import batches made while it is set are
stamped on that day, whatever service makes them.

The ingest pipeline stamps its batches itself (``on_day``); the services' own list imports (tiers'
recognition lists, diagnosis certificates, programme recognitions…) create ``ImportBatch`` rows
directly. Rather than each of them taking a day, the main job runs the services' demo hooks inside
:func:`replaying` and a ``before_insert`` listener on ``ImportBatch`` stamps any batch without a
time of its own — so a demo store never shows an import after its own today.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_DAY: ContextVar[date | None] = ContextVar("ib_replay_day", default=None)


def stamp_on(day: date) -> datetime | None:
    """When something made on the platform's day ``day`` is stamped: ``None`` (the store's clock)
    when that day is the real date; else the real time of day on ``day`` in the platform's time
    zone (``IB_TIMEZONE``, default Asia/Shanghai), in UTC."""
    zone = ZoneInfo(os.environ.get("IB_TIMEZONE") or "Asia/Shanghai")
    now = datetime.now(zone)
    if day == now.date():
        return None
    return datetime.combine(day, now.time(), zone).astimezone(UTC)


def replay_day() -> date | None:
    """The day being replayed, if any."""
    return _DAY.get()


def now() -> datetime:
    """Now, on the replayed day when there is one (the real time of day), else the real now."""
    day = _DAY.get()
    return (stamp_on(day) if day else None) or datetime.now(UTC)


@contextmanager
def replaying(day: date) -> Iterator[None]:
    """Stamp import batches created inside the block on ``day`` (see the module's docstring)."""
    token = _DAY.set(day)
    try:
        yield
    finally:
        _DAY.reset(token)
