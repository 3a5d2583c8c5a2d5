"""Cockpit warm-up (驾驶舱预热) in each server process.

The cockpit's aggregates and the services' cockpit sections are cached per scope and process
until the next import batch (``scoped.cached``). The first cockpit of a scope after an import
recomputes them: full scans of the facts for the completeness counts, 38.6 s for the city
scope on the 500,000-firm store. With ``IB_COCKPIT_WARM_SECONDS`` > 0 (default 60; 0 turns it
off), ``industry-brain serve`` starts a thread in each worker process that looks at the import
stamp that often and, when it changed (and once at start), computes the cockpit of the city
scope and of every county's scope with the default filters and language into that cache, so
the officers' first request after an import finds it ready. A request that arrives while its
scope is being computed waits for that computation (the cache fills each key once) instead of
starting its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from industry_brain.store import scoped
from industry_brain.store.scope import Scope

log = logging.getLogger("industry_brain.web")

#: the scopes a warm-up computes: the city (every city-wide role shares its cache) and each
#: county's officers
CITY = Scope(user_id=None, username="cockpit-warm-up", role="city_officer")


def scopes(db: Any) -> list[Scope]:
    """The city scope, then one county officer's scope per county that has enterprises (the
    county filter's own list, cached until the next import)."""
    return [CITY] + [
        Scope(
            user_id=None, username="cockpit-warm-up", role="county_officer", county_code=c["code"]
        )
        for c in scoped.counties(db, CITY)
    ]


def warm(app: FastAPI) -> list[str]:
    """Compute the cockpit of every scope of :func:`scopes` now; returns their cache keys."""
    from industry_brain.web.routes.desks import warm_cockpit

    state = app.state
    done = []
    with state.sessionmaker() as db:
        for scope in scopes(db):
            warm_cockpit(state, db, scope, state.settings.default_lang)
            done.append(scope.cache_key)
    return done


class Warmer:
    """The warm-up thread of one server process: :meth:`start`, :meth:`stop`."""

    def __init__(self, app: FastAPI, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self.stopping = threading.Event()
        self.warmed_stamp: tuple | None = None
        self.rounds = 0
        self.thread = threading.Thread(target=self._run, name="ib-cockpit-warm-up", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                with self.app.state.sessionmaker() as db:
                    stamp = scoped.data_stamp(db)
                if stamp != self.warmed_stamp:
                    keys = warm(self.app)
                    self.warmed_stamp = stamp
                    self.rounds += 1
                    log.info("cockpit warm-up", extra={"scopes": len(keys), "stamp": str(stamp)})
            except Exception:  # a failed warm-up leaves the cache to the requests
                log.exception("cockpit warm-up failed")
            self.stopping.wait(self.seconds)


def start(app: FastAPI, seconds: float) -> Warmer:
    """Start the warm-up thread of this process; it stops with the application."""
    warmer = Warmer(app, seconds)
    app.state.cockpit_warmer = warmer
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        warmer.start()
        try:
            async with inner(application) as state:
                yield state
        finally:
            warmer.stop()

    app.router.lifespan_context = lifespan
    return warmer
