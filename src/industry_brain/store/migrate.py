"""Alembic migrations run programmatically (``industry-brain db upgrade``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

from industry_brain.core.errors import Location, Problem, ValidationError
from industry_brain.store.db import get_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    """Alembic's configuration of this code's migrations, run on ``engine`` when given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine | None = None, revision: str = "heads") -> str:
    """Apply migrations up to ``revision`` and load reference data; return the revision."""
    from industry_brain.store import reference

    engine = engine or get_engine()
    command.upgrade(alembic_config(engine), revision)
    reference.seed(engine)
    return current_revision(engine) or ""


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    return ",".join(store_heads(engine)) or None


def store_heads(engine: Engine) -> tuple[str, ...]:
    """The revisions the store's schema is at, sorted (one small read; the driver's error when
    the store cannot be reached)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        # several heads exist while branches (one per service) are not merged yet
        return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


@dataclass(frozen=True)
class SchemaState:
    """Where the store's schema stands against this code's migrations: ``status`` is
    ``current``, ``empty`` (never upgraded), ``outdated`` (older: ``db upgrade`` brings it
    up) or ``newer`` (written by a newer version of the platform than this code)."""

    status: str
    store: tuple[str, ...]
    code: tuple[str, ...]

    def problem(self) -> Problem | None:
        """The error to show when the platform cannot work on this store (None: it can)."""
        store, code = ", ".join(self.store) or "—", ", ".join(self.code)
        upgrade_zh, upgrade_en = (
            "请先运行 industry-brain db upgrade",
            "run `industry-brain db upgrade` first",
        )
        messages = {
            "empty": (
                "store.not_migrated",
                f"数据库尚未初始化（没有表结构）：{upgrade_zh}",
                f"the store has no schema yet: {upgrade_en}",
            ),
            "outdated": (
                "store.outdated",
                f"数据库结构版本（{store}）落后于本程序所需版本（{code}）：{upgrade_zh}",
                f"the store's schema ({store}) is older than this version of the platform "
                f"needs ({code}): {upgrade_en}",
            ),
            "newer": (
                "store.newer",
                f"数据库结构版本（{store}）来自更新版本的平台，本程序（{code}）无法使用它：请升级程序",
                f"the store's schema ({store}) was written by a newer version of the platform "
                f"than this one ({code}): upgrade the platform",
            ),
        }
        if self.status not in messages:
            return None
        return Problem(*messages[self.status], Location(field="IB_DATABASE_URL"))


@cache
def _scripts() -> Any:
    """This code's migration scripts (parsed once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def code_heads() -> tuple[str, ...]:
    """The head revisions of this code's migrations."""
    return tuple(sorted(_scripts().get_heads()))


def schema_state(engine: Engine) -> SchemaState:
    """The store's schema revisions against the heads of this code's migrations (reads the
    store's ``alembic_version``; raises the driver's error when the store cannot be reached)."""
    return state_of(store_heads(engine))


def state_of(store: tuple[str, ...]) -> SchemaState:
    """The schema state of a store at the revisions ``store`` (:func:`store_heads`)."""
    scripts = _scripts()
    code = code_heads()
    if not store:
        status = "empty"
    elif set(store) == set(code):
        status = "current"
    elif any(_unknown(scripts, rev) for rev in store):
        status = "newer"
    else:
        status = "outdated"
    return SchemaState(status, store, code)


def _unknown(scripts: Any, revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return scripts.get_revision(revision) is None
    except CommandError:
        return True


def require_current(engine: Engine) -> None:
    """Raise ``store.not_migrated`` / ``store.outdated`` / ``store.newer`` (a
    :class:`ValidationError`, Chinese and English) unless the store's schema is this code's."""
    problem = schema_state(engine).problem()
    if problem is not None:
        raise ValidationError(problem.code, problem.zh, problem.en, problem.location, problem.value)


#: foreign keys enforced on PostgreSQL by statement-level triggers instead (migration 0024)
TRIGGER_CHECKED = frozenset(
    {("ids_identifiers", "ids_prefixes"), ("ids_identifiers", "ids_templates")}
)


def include_object_for(dialect: str) -> Callable[..., bool]:
    """An ``include_object`` for autogenerate comparisons on ``dialect``: on PostgreSQL the
    foreign keys of :data:`TRIGGER_CHECKED` are left out (triggers check them there)."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
        if dialect != "postgresql" or type_ != "foreign_key_constraint":
            return True
        return (obj.table.name, obj.referred_table.name) not in TRIGGER_CHECKED

    return include


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())
