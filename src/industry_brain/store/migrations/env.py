"""Alembic environment: the engine is passed in by ``industry_brain.store.migrate``."""

from alembic import context

from industry_brain.store.db import get_engine
from industry_brain.store.models import Base

config = context.config
engine = config.attributes.get("engine") or get_engine()

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
