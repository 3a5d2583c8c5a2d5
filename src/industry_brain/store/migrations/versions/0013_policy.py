"""policy: 政策计算器 runs and results with traces, loans for interest subsidies, and the
政策直兑 ledger — reviews, four-eyes approvals and append-only payouts, one per
(policy, period, enterprise, entity) by a unique constraint (issue 16).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("parameter_version", sa.String(length=32), nullable=False),
        sa.Column("policies", sa.JSON(), nullable=False),
        sa.Column("input_batch_ids", sa.JSON(), nullable=False),
        sa.Column("input_runs", sa.JSON(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_runs")),
    )
    op.create_index("ix_policy_runs_year_kind", "policy_runs", ["year", "kind"], unique=False)
    op.create_table(
        "policy_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=False),
        sa.Column(
            "submitted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["policy_runs.id"],
            name=op.f("fk_policy_approvals_run_id_policy_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_approvals")),
        sa.UniqueConstraint("run_id", "policy", name="uq_policy_approvals_list"),
    )
    op.create_table(
        "policy_loans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("bank", sa.String(length=100), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("reported_by", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_policy_loans_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_loans")),
        sa.UniqueConstraint("bank", "reference", name="uq_policy_loans_reference"),
    )
    op.create_table(
        "policy_payouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("trace", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["policy_approvals.id"],
            name=op.f("fk_policy_payouts_approval_id_policy_approvals"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_policy_payouts_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["policy_payouts.id"],
            name=op.f("fk_policy_payouts_reverses_id_policy_payouts"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["policy_runs.id"], name=op.f("fk_policy_payouts_run_id_policy_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_payouts")),
        sa.UniqueConstraint(
            "policy", "period", "enterprise_id", "entity", "kind", name="uq_policy_payouts_once"
        ),
    )
    op.create_index(
        "ix_policy_payouts_enterprise", "policy_payouts", ["enterprise_id"], unique=False
    )
    op.create_table(
        "policy_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("paid", sa.Float(), nullable=True),
        sa.Column("trace", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_policy_results_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["policy_runs.id"],
            name=op.f("fk_policy_results_run_id_policy_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_results")),
    )
    op.create_index(
        "ix_policy_results_enterprise", "policy_results", ["enterprise_id", "run_id"], unique=False
    )
    op.create_index(
        "ix_policy_results_run_policy", "policy_results", ["run_id", "policy"], unique=False
    )
    op.create_table(
        "policy_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_policy_reviews_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["policy_runs.id"],
            name=op.f("fk_policy_reviews_run_id_policy_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_reviews")),
    )
    op.create_index(
        "ix_policy_reviews_run_policy", "policy_reviews", ["run_id", "policy"], unique=False
    )


def downgrade() -> None:

    op.drop_index("ix_policy_reviews_run_policy", table_name="policy_reviews")
    op.drop_table("policy_reviews")
    op.drop_index("ix_policy_results_run_policy", table_name="policy_results")
    op.drop_index("ix_policy_results_enterprise", table_name="policy_results")
    op.drop_table("policy_results")
    op.drop_index("ix_policy_payouts_enterprise", table_name="policy_payouts")
    op.drop_table("policy_payouts")
    op.drop_table("policy_loans")
    op.drop_table("policy_approvals")
    op.drop_index("ix_policy_runs_year_kind", table_name="policy_runs")
    op.drop_table("policy_runs")
