"""ids_delegation: an enterprise delegates write rights on its identifier prefix to a provider
user, with expiry and revocation; ``ids_resolutions.hits``: resolutions counted in memory and
written as one row per day, prefix, template and status per batch (issue 20).

Revision ID: 0020_ids_delegation
Revises: 0019_market_matches
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_ids_delegation"
down_revision: str | None = "0019_market_matches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ids_delegations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix_id", sa.Integer(), nullable=False),
        sa.Column("provider_user_id", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.Column(
            "granted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["prefix_id"],
            ["ids_prefixes.id"],
            name=op.f("fk_ids_delegations_prefix_id_ids_prefixes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_user_id"],
            ["users.id"],
            name=op.f("fk_ids_delegations_provider_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ids_delegations")),
    )
    op.create_index(
        "ix_ids_delegations_prefix_user", "ids_delegations", ["prefix_id", "provider_user_id"]
    )
    # a resolver process counts its answers in memory and writes one row per kind per batch
    with op.batch_alter_table("ids_resolutions") as batch:
        batch.add_column(
            sa.Column("hits", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("ids_resolutions") as batch:
        batch.drop_column("hits")
    op.drop_index("ix_ids_delegations_prefix_user", table_name="ids_delegations")
    op.drop_table("ids_delegations")
