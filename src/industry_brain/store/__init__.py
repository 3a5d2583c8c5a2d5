"""Operational store: SQLAlchemy models, Alembic migrations, sessions, repositories, audit."""
