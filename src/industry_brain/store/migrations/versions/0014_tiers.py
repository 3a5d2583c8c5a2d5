"""tiers: 五企培育 — evaluation runs with per-scheme results and per-enterprise levels,
declarations with evidence files and officer verification, recognised titles imported from the
official lists (lineage, validity), the cultivation pool and 一企一策 plans with targets, actions
and progress (issue 17).

Revision ID: 0014_tiers
Revises: 0013 (the policy migration, file 0013_policy.py)
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_tiers"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tiers_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("parameter_version", sa.String(length=32), nullable=False),
        sa.Column("schemes", sa.JSON(), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiers_runs")),
    )
    with op.batch_alter_table("tiers_runs", schema=None) as batch_op:
        batch_op.create_index("ix_tiers_runs_year_status", ["year", "status"], unique=False)

    op.create_table(
        "tiers_declarations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("source_file", sa.String(length=255), nullable=True),
        sa.Column("submitted_by", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_tiers_declarations_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiers_declarations")),
    )
    with op.batch_alter_table("tiers_declarations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tiers_declarations_enterprise", ["enterprise_id", "year"], unique=False
        )

    op.create_table(
        "tiers_levels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=True),
        sa.Column("industry_code", sa.String(length=8), nullable=True),
        sa.Column("tier", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("new_tier", sa.String(length=32), nullable=True),
        sa.Column("next_tier", sa.String(length=32), nullable=True),
        sa.Column("innovation_score", sa.Float(), nullable=True),
        sa.Column("innovation_rank_industry", sa.Float(), nullable=True),
        sa.Column("innovation_rank_county", sa.Float(), nullable=True),
        sa.Column("trace", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_tiers_levels_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["tiers_runs.id"],
            name=op.f("fk_tiers_levels_run_id_tiers_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiers_levels")),
        sa.UniqueConstraint("run_id", "enterprise_id", name="uq_tiers_levels_row"),
    )
    with op.batch_alter_table("tiers_levels", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tiers_levels_enterprise", ["enterprise_id", "run_id"], unique=False
        )

    op.create_table(
        "tiers_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("target_tier", sa.String(length=32), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("signed_by", sa.String(length=100), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_tiers_plans_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiers_plans")),
    )
    with op.batch_alter_table("tiers_plans", schema=None) as batch_op:
        batch_op.create_index("ix_tiers_plans_enterprise", ["enterprise_id"], unique=False)

    op.create_table(
        "tiers_pool",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("pool", sa.String(length=32), nullable=False),
        sa.Column("target_tier", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_on", sa.Date(), nullable=False),
        sa.Column("removed_by", sa.String(length=64), nullable=True),
        sa.Column("removed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_tiers_pool_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiers_pool")),
    )
    with op.batch_alter_table("tiers_pool", schema=None) as batch_op:
        batch_op.create_index("ix_tiers_pool_enterprise", ["enterprise_id", "pool"], unique=False)

    op.create_table(
        "tiers_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=48), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("points", sa.Float(), nullable=True),
        sa.Column("closeness", sa.Float(), nullable=True),
        sa.Column("trace", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_tiers_results_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["tiers_runs.id"],
            name=op.f("fk_tiers_results_run_id_tiers_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiers_results")),
        sa.UniqueConstraint("run_id", "enterprise_id", "scheme", name="uq_tiers_results_row"),
    )
    with op.batch_alter_table("tiers_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tiers_results_enterprise", ["enterprise_id", "run_id"], unique=False
        )
        batch_op.create_index(
            "ix_tiers_results_run_scheme", ["run_id", "scheme", "status"], unique=False
        )

    op.create_table(
        "tiers_titles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("tier", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("batch", sa.String(length=32), nullable=False),
        sa.Column("issuer", sa.String(length=64), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("source_file", sa.String(length=255), nullable=False),
        sa.Column("source_sheet", sa.String(length=64), nullable=True),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
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
            name=op.f("fk_tiers_titles_enterprise_id_enterprises"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batches.id"],
            name=op.f("fk_tiers_titles_import_batch_id_import_batches"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiers_titles")),
        sa.UniqueConstraint("uscc", "tier", "year", "batch", name="uq_tiers_titles_title"),
    )
    with op.batch_alter_table("tiers_titles", schema=None) as batch_op:
        batch_op.create_index("ix_tiers_titles_enterprise", ["enterprise_id", "tier"], unique=False)

    op.create_table(
        "tiers_declaration_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("declaration_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=48), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("value_text", sa.String(length=255), nullable=True),
        sa.Column("source_row", sa.Integer(), nullable=True),
        sa.Column("evidence_path", sa.String(length=255), nullable=True),
        sa.Column("evidence_name", sa.String(length=255), nullable=True),
        sa.Column("evidence_type", sa.String(length=64), nullable=True),
        sa.Column("evidence_size", sa.Integer(), nullable=True),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("verifier", sa.String(length=64), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["declaration_id"],
            ["tiers_declarations.id"],
            name=op.f("fk_tiers_declaration_items_declaration_id_tiers_declarations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_tiers_declaration_items_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiers_declaration_items")),
    )
    with op.batch_alter_table("tiers_declaration_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tiers_declaration_items_enterprise", ["enterprise_id", "year", "item"], unique=False
        )
        batch_op.create_index("ix_tiers_declaration_items_status", ["status"], unique=False)

    op.create_table(
        "tiers_plan_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("policy_code", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["tiers_plans.id"],
            name=op.f("fk_tiers_plan_actions_plan_id_tiers_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiers_plan_actions")),
    )
    op.create_table(
        "tiers_plan_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(length=48), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("baseline_year", sa.Integer(), nullable=True),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["tiers_plans.id"],
            name=op.f("fk_tiers_plan_targets_plan_id_tiers_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiers_plan_targets")),
    )
    op.create_table(
        "tiers_plan_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["tiers_plan_actions.id"],
            name=op.f("fk_tiers_plan_progress_action_id_tiers_plan_actions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["tiers_plans.id"],
            name=op.f("fk_tiers_plan_progress_plan_id_tiers_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["tiers_plan_targets.id"],
            name=op.f("fk_tiers_plan_progress_target_id_tiers_plan_targets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiers_plan_progress")),
    )
    with op.batch_alter_table("tiers_plan_progress", schema=None) as batch_op:
        batch_op.create_index("ix_tiers_plan_progress_plan", ["plan_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tiers_plan_progress", schema=None) as batch_op:
        batch_op.drop_index("ix_tiers_plan_progress_plan")

    op.drop_table("tiers_plan_progress")
    op.drop_table("tiers_plan_targets")
    op.drop_table("tiers_plan_actions")
    with op.batch_alter_table("tiers_declaration_items", schema=None) as batch_op:
        batch_op.drop_index("ix_tiers_declaration_items_status")
        batch_op.drop_index("ix_tiers_declaration_items_enterprise")

    op.drop_table("tiers_declaration_items")
    with op.batch_alter_table("tiers_titles", schema=None) as batch_op:
        batch_op.drop_index("ix_tiers_titles_enterprise")

    op.drop_table("tiers_titles")
    with op.batch_alter_table("tiers_results", schema=None) as batch_op:
        batch_op.drop_index("ix_tiers_results_run_scheme")
        batch_op.drop_index("ix_tiers_results_enterprise")

    op.drop_table("tiers_results")
    with op.batch_alter_table("tiers_pool", schema=None) as batch_op:
        batch_op.drop_index("ix_tiers_pool_enterprise")

    op.drop_table("tiers_pool")
    with op.batch_alter_table("tiers_plans", schema=None) as batch_op:
        batch_op.drop_index("ix_tiers_plans_enterprise")

    op.drop_table("tiers_plans")
    with op.batch_alter_table("tiers_levels", schema=None) as batch_op:
        batch_op.drop_index("ix_tiers_levels_enterprise")

    op.drop_table("tiers_levels")
    with op.batch_alter_table("tiers_declarations", schema=None) as batch_op:
        batch_op.drop_index("ix_tiers_declarations_enterprise")

    op.drop_table("tiers_declarations")
    with op.batch_alter_table("tiers_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_tiers_runs_year_status")

    op.drop_table("tiers_runs")
