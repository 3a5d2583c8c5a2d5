"""Is this installation ready to run? (体检: settings, store, schema, web assets.)

``industry-brain check`` prints what :func:`run` finds; ``industry-brain serve`` refuses to start
on the same findings (a bad setting would otherwise surface as a traceback in a worker, an
un-upgraded store as HTTP 500 on the first page); a command that fails on the store is
explained by :func:`explain_store_error` instead of a driver traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from industry_brain.core import env
from industry_brain.core.errors import IBError, Location, Problem

#: the problem of a store that cannot be reached (``serve`` starts anyway: pages answer 503
#: ``store.unavailable`` until it can, and recover by themselves)
UNAVAILABLE = "store.unavailable"


def _setting_readers() -> list[Callable[[], Any]]:
    """Every reader of an ``IB_*`` setting (each checks its value where it is used): the
    platform's, then each service's (contract hook ``ib_settings_check``)."""
    from industry_brain import contract
    from industry_brain.ingest.many import import_workers
    from industry_brain.ingest.stream import stream_from
    from industry_brain.store import codes, db
    from industry_brain.store.scoped import cache_entries
    from industry_brain.warehouse.engines import spark_settings
    from industry_brain.warehouse.shared import root_uri
    from industry_brain.web.settings import Settings

    return [
        Settings.from_env,
        db.database_url,
        db.pool_settings,
        codes.jurisdiction,
        import_workers,
        stream_from,
        cache_entries,
        spark_settings,
        root_uri,
        *(check for _name, check in contract.each("settings_check")),
    ]


def settings_problems() -> list[Problem]:
    """What is wrong with the platform's settings (empty: nothing): every reader runs (the web
    settings report all their bad values, the other readers one each)."""
    found: list[Problem] = []
    for read in _setting_readers():
        try:
            read()
        except IBError as exc:
            found.extend(p for p in env.problems_of(exc) if p not in found)
    return found


def _unreachable(engine: Engine, exc: Exception) -> Problem:
    from industry_brain.store.db import describe

    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
    where = describe(engine.url.render_as_string(hide_password=False))
    return Problem(
        UNAVAILABLE,
        f"无法连接数据库 {where}：{reason}",
        f"cannot reach the store {where}: {reason}",
        Location(field="IB_DATABASE_URL"),
    )


@dataclass
class Report:
    """What :func:`run` found: the store's URL (password hidden), its schema state and every
    problem (settings first)."""

    store: str
    schema: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "store": self.store,
            "schema": self.schema,
            "problems": [p.to_dict() for p in self.problems],
        }


def run(engine: Engine | None = None, assets: bool = False) -> Report:
    """Check the settings, then (when they allow it) the store: reachable, and its schema this
    code's; with ``assets`` the web platform's vendored front-end files too."""
    from industry_brain.store import migrate
    from industry_brain.store.db import database_url, describe, make_engine

    problems = settings_problems()
    if assets:
        from industry_brain.web.app import MissingAssets, check_assets

        try:
            check_assets()
        except MissingAssets as exc:
            problems.append(
                Problem(
                    "web.assets_missing",
                    f"网页前端文件缺失：{exc}",
                    f"the web platform's front-end files are missing: {exc}",
                )
            )
    fields = {p.location.field for p in problems}
    if "IB_DATABASE_URL" in fields:
        return Report(store="", problems=problems)  # no store to look at
    url = database_url()
    report = Report(store=describe(url), problems=problems)
    if fields & {"IB_DB_POOL_SIZE", "IB_DB_MAX_OVERFLOW"}:
        return report  # no engine can be made with these settings
    own = engine is None
    engine = engine or make_engine(url)
    try:
        state = migrate.schema_state(engine)
    except DBAPIError as exc:
        report.problems.append(_unreachable(engine, exc))
        return report
    finally:
        if own:
            engine.dispose()
    report.schema = {"status": state.status, "store": list(state.store), "code": list(state.code)}
    problem = state.problem()
    if problem is not None:
        report.problems.append(problem)
    return report


def explain_store_error(exc: DBAPIError, engine: Engine | None = None) -> Problem | None:
    """Why a command failed on the store, when the reason is the store itself: it cannot be
    reached, or its schema is not this code's (then the real cause is ``db upgrade`` not run,
    not the statement that failed). None: the store is fine — the error is something else."""
    from industry_brain.store import migrate
    from industry_brain.store.db import get_engine

    engine = engine or get_engine()
    try:
        state = migrate.schema_state(engine)
    except DBAPIError as again:
        return _unreachable(engine, again)
    return state.problem()
