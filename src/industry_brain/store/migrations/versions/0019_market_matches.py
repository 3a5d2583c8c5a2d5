"""market_matches: the market's batch matching published as runs (``market_match_runs``) with
their ranked rows (``market_matches``: the explanation parts of every rank), read by other
services as the result table ``result_market_matches``; programme assignments record the
provider's delivery of the diagnosis report (issues 18, 19).

Revision ID: 0019_market_matches
Revises: 0018_programmes
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_market_matches"
down_revision: str | None = "0018_programmes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "market_match_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("parameter_version", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_match_runs")),
    )
    op.create_table(
        "market_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("solution_id", sa.Integer(), nullable=False),
        sa.Column("solution_version", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("cover", sa.Float(), nullable=False),
        sa.Column("industry_fit", sa.Boolean(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("area", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.Float(), nullable=True),
        sa.Column("ratings", sa.Integer(), nullable=False),
        sa.Column("weak", sa.String(length=400), nullable=False),
        sa.Column("target_level", sa.Integer(), nullable=True),
        sa.Column("diagnosis_year", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["market_match_runs.id"],
            name=op.f("fk_market_matches_run_id_market_match_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_market_matches_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_matches")),
    )
    op.create_index(
        "ix_market_matches_run_enterprise", "market_matches", ["run_id", "enterprise_id"]
    )
    with op.batch_alter_table("programme_assignments") as batch:
        batch.add_column(sa.Column("delivered_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("delivered_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("programme_assignments") as batch:
        batch.drop_column("delivered_by")
        batch.drop_column("delivered_on")
    op.drop_index("ix_market_matches_run_enterprise", table_name="market_matches")
    op.drop_table("market_matches")
    op.drop_table("market_match_runs")
