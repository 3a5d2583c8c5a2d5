"""Platform API tokens (``ibt_``) expire: ``api_tokens.expires_at`` (existing tokens get the
default lifetime from their creation, ``web.tokens.default_days``), and login throttling per
client address over all usernames reads ``login_attempts`` by address.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from industry_brain.core import parameters
from industry_brain.store.models import UTCDateTime

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    days = int(parameters.load().get("web.tokens.default_days", None, date.today()))
    conn = op.get_bind()
    tokens = sa.table(
        "api_tokens",
        sa.column("id", sa.Integer),
        sa.column("created_at", UTCDateTime()),
        sa.column("expires_at", UTCDateTime()),
    )
    for token_id, created in conn.execute(sa.select(tokens.c.id, tokens.c.created_at)).all():
        start = created or datetime.now(UTC)
        conn.execute(
            tokens.update()
            .where(tokens.c.id == token_id)
            .values(expires_at=start + timedelta(days=days))
        )
    op.create_index("ix_login_attempts_ip", "login_attempts", ["ip", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_login_attempts_ip", table_name="login_attempts")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
