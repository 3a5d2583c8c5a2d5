"""Alembic environment: the engine is passed in by ``industry_brain.store.migrate``.

On SQLite, tables are altered by copying them ("batch" mode); foreign keys are switched off for
the migration so that a referenced table (regions, enterprises) can be rebuilt with its rows,
and ``PRAGMA foreign_key_check`` verifies every reference before the change is committed.
"""

from alembic import context
from sqlalchemy import text

from industry_brain.store.db import get_engine
from industry_brain.store.models import Base

config = context.config
engine = config.attributes.get("engine") or get_engine()

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # outside any transaction (SQLite ignores this pragma inside one)
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    try:
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.execute(text("PRAGMA foreign_key_check")).fetchall()
                if broken:
                    raise RuntimeError(f"migration left broken references: {broken[:5]}")
        connection.commit()
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
