"""亩均论英雄: evaluation runs, results, result items, adjustments and appeals

Revision ID: 0003
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mujun_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("parameter_version", sa.String(length=32), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("input_batch_ids", sa.JSON(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("parent_run_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["parent_run_id"],
            ["mujun_runs.id"],
            name=op.f("fk_mujun_runs_parent_run_id_mujun_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mujun_runs")),
    )
    with op.batch_alter_table("mujun_runs", schema=None) as batch_op:
        batch_op.create_index("ix_mujun_runs_year_status", ["year", "status"], unique=False)

    op.create_table(
        "mujun_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_mujun_adjustments_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mujun_adjustments")),
    )
    with op.batch_alter_table("mujun_adjustments", schema=None) as batch_op:
        batch_op.create_index("ix_mujun_adjustments_year", ["year", "enterprise_id"], unique=False)

    op.create_table(
        "mujun_result_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(length=32), nullable=False),
        sa.Column("numerator", sa.Float(), nullable=True),
        sa.Column("denominator", sa.Float(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("benchmark", sa.Float(), nullable=True),
        sa.Column("benchmark_method", sa.String(length=16), nullable=False),
        sa.Column("benchmark_group", sa.String(length=16), nullable=True),
        sa.Column("benchmark_period", sa.String(length=16), nullable=True),
        sa.Column("benchmark_n", sa.Integer(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("raw_score", sa.Float(), nullable=True),
        sa.Column("cap", sa.Float(), nullable=True),
        sa.Column("capped", sa.Boolean(), nullable=False),
        sa.Column("fill_rule", sa.String(length=32), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_mujun_result_items_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["mujun_runs.id"],
            name=op.f("fk_mujun_result_items_run_id_mujun_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mujun_result_items")),
        sa.UniqueConstraint(
            "run_id", "enterprise_id", "indicator", name="uq_mujun_result_items_indicator"
        ),
    )
    op.create_table(
        "mujun_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=True),
        sa.Column("industry_code", sa.String(length=4), nullable=True),
        sa.Column("division", sa.String(length=2), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("evaluated", sa.Boolean(), nullable=False),
        sa.Column("exempt_reason", sa.String(length=32), nullable=True),
        sa.Column("land_mu", sa.Float(), nullable=True),
        sa.Column("tax", sa.Float(), nullable=True),
        sa.Column("value_added", sa.Float(), nullable=True),
        sa.Column("revenue", sa.Float(), nullable=True),
        sa.Column("rd_expense", sa.Float(), nullable=True),
        sa.Column("employees", sa.Float(), nullable=True),
        sa.Column("energy_tce", sa.Float(), nullable=True),
        sa.Column("emissions_t", sa.Float(), nullable=True),
        sa.Column("electricity_kwh", sa.Float(), nullable=True),
        sa.Column("land_use_tax", sa.Float(), nullable=True),
        sa.Column("base_score", sa.Float(), nullable=True),
        sa.Column("bonus", sa.Float(), nullable=False),
        sa.Column("penalty", sa.Float(), nullable=False),
        sa.Column("veto", sa.Boolean(), nullable=False),
        sa.Column("adjustment_codes", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("rank_county", sa.Integer(), nullable=True),
        sa.Column("n_county", sa.Integer(), nullable=True),
        sa.Column("rank_industry", sa.Integer(), nullable=True),
        sa.Column("n_industry", sa.Integer(), nullable=True),
        sa.Column("class_code", sa.String(length=2), nullable=False),
        sa.Column("class_rule", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_mujun_results_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["mujun_runs.id"],
            name=op.f("fk_mujun_results_run_id_mujun_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mujun_results")),
        sa.UniqueConstraint("run_id", "enterprise_id", name="uq_mujun_results_enterprise"),
    )
    with op.batch_alter_table("mujun_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mujun_results_county", ["run_id", "county_code", "scope"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mujun_results_enterprise_id"), ["enterprise_id"], unique=False
        )

    op.create_table(
        "mujun_appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("disputed_value", sa.Float(), nullable=True),
        sa.Column("claimed_value", sa.Float(), nullable=True),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        sa.Column(
            "filed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("corrected_value", sa.Float(), nullable=True),
        sa.Column("fact_id", sa.Integer(), nullable=True),
        sa.Column("superseded_fact_ids", sa.JSON(), nullable=False),
        sa.Column("new_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_mujun_appeals_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["fact_id"], ["facts.id"], name=op.f("fk_mujun_appeals_fact_id_facts")
        ),
        sa.ForeignKeyConstraint(
            ["new_run_id"], ["mujun_runs.id"], name=op.f("fk_mujun_appeals_new_run_id_mujun_runs")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["mujun_runs.id"], name=op.f("fk_mujun_appeals_run_id_mujun_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mujun_appeals")),
    )
    with op.batch_alter_table("mujun_appeals", schema=None) as batch_op:
        batch_op.create_index("ix_mujun_appeals_year", ["year", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mujun_appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_mujun_appeals_year")

    op.drop_table("mujun_appeals")
    with op.batch_alter_table("mujun_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mujun_results_enterprise_id"))
        batch_op.drop_index("ix_mujun_results_county")

    op.drop_table("mujun_results")
    op.drop_table("mujun_result_items")
    with op.batch_alter_table("mujun_adjustments", schema=None) as batch_op:
        batch_op.drop_index("ix_mujun_adjustments_year")

    op.drop_table("mujun_adjustments")
    with op.batch_alter_table("mujun_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_mujun_runs_year_status")

    op.drop_table("mujun_runs")
