"""Alembic migrations run programmatically (``industry-brain db upgrade``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

from industry_brain.store.db import get_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
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
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        # several heads exist while branches (one per service) are not merged yet
        heads = MigrationContext.configure(conn).get_current_heads()
    return ",".join(sorted(heads)) if heads else None


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
