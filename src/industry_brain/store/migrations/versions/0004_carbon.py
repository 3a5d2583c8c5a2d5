"""carbon: accounting runs and results, zero-carbon inputs, codes, consents, tokens, loans

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-27 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carbon_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("parameter_version", sa.String(length=32), nullable=False),
        sa.Column("snapshot_path", sa.String(length=500), nullable=False),
        sa.Column("snapshot_created_at", sa.String(length=40), nullable=False),
        sa.Column("batch_ids", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_runs")),
    )
    with op.batch_alter_table("carbon_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carbon_runs_year"), ["year"], unique=False)

    op.create_table(
        "carbon_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("entered_by", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_carbon_adjustments_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_adjustments")),
        sa.UniqueConstraint("enterprise_id", "year", "kind", name="uq_carbon_adjustments_kind"),
    )
    op.create_table(
        "carbon_result_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("fuel_group", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("factor", sa.Float(), nullable=False),
        sa.Column("co2", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_carbon_result_lines_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["carbon_runs.id"],
            name=op.f("fk_carbon_result_lines_run_id_carbon_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_result_lines")),
    )
    with op.batch_alter_table("carbon_result_lines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_carbon_result_lines_lookup", ["run_id", "enterprise_id"], unique=False
        )

    op.create_table(
        "carbon_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("above_scale", sa.Boolean(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=True),
        sa.Column("industry_key", sa.String(length=4), nullable=True),
        sa.Column("peer_region", sa.String(length=6), nullable=True),
        sa.Column("co2_coal", sa.Float(), nullable=False),
        sa.Column("co2_oil", sa.Float(), nullable=False),
        sa.Column("co2_gas", sa.Float(), nullable=False),
        sa.Column("co2_other_fuel", sa.Float(), nullable=False),
        sa.Column("heat_gj", sa.Float(), nullable=True),
        sa.Column("co2_heat", sa.Float(), nullable=False),
        sa.Column("electricity_item", sa.String(length=32), nullable=True),
        sa.Column("electricity_kwh", sa.Float(), nullable=True),
        sa.Column("onsite_pv_kwh", sa.Float(), nullable=False),
        sa.Column("green_power_kwh", sa.Float(), nullable=False),
        sa.Column("grid_factor", sa.Float(), nullable=True),
        sa.Column("co2_electricity", sa.Float(), nullable=False),
        sa.Column("e_energy", sa.Float(), nullable=True),
        sa.Column("e_zero_carbon", sa.Float(), nullable=False),
        sa.Column("e_sinks", sa.Float(), nullable=False),
        sa.Column("co2_net", sa.Float(), nullable=True),
        sa.Column("denominator_item", sa.String(length=32), nullable=False),
        sa.Column("denominator", sa.Float(), nullable=True),
        sa.Column("intensity", sa.Float(), nullable=True),
        sa.Column("industry_intensity", sa.Float(), nullable=True),
        sa.Column("industry_peers", sa.Integer(), nullable=True),
        sa.Column("industry_q25", sa.Float(), nullable=True),
        sa.Column("k_value", sa.Float(), nullable=True),
        sa.Column("level", sa.String(length=8), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=32), nullable=True),
        sa.Column("neutral_rate", sa.Float(), nullable=True),
        sa.Column("reduction_to_average", sa.Float(), nullable=True),
        sa.Column("reduction_to_q25", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_carbon_results_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["carbon_runs.id"],
            name=op.f("fk_carbon_results_run_id_carbon_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_results")),
        sa.UniqueConstraint("run_id", "enterprise_id", name="uq_carbon_results_enterprise"),
    )
    with op.batch_alter_table("carbon_results", schema=None) as batch_op:
        batch_op.create_index("ix_carbon_results_lookup", ["enterprise_id", "year"], unique=False)

    op.create_table(
        "carbon_bank_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_carbon_bank_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_bank_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_carbon_bank_tokens_token_hash")),
    )
    op.create_table(
        "carbon_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_carbon_codes_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["carbon_results.id"],
            name=op.f("fk_carbon_codes_result_id_carbon_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_codes")),
    )
    op.create_table(
        "carbon_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("bank_user_id", sa.Integer(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("granted_by", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["bank_user_id"],
            ["users.id"],
            name=op.f("fk_carbon_consents_bank_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_carbon_consents_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["granted_by"], ["users.id"], name=op.f("fk_carbon_consents_granted_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by"], ["users.id"], name=op.f("fk_carbon_consents_revoked_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_consents")),
    )
    with op.batch_alter_table("carbon_consents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_carbon_consents_pair", ["enterprise_id", "bank_user_id"], unique=False
        )

    op.create_table(
        "carbon_loans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank_user_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("product_code", sa.String(length=32), nullable=True),
        sa.Column("amount_wan", sa.Float(), nullable=False),
        sa.Column("rate_pct", sa.Float(), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("grade_year", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=True),
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column("reported_by", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["bank_user_id"], ["users.id"], name=op.f("fk_carbon_loans_bank_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["carbon_consents.id"],
            name=op.f("fk_carbon_loans_consent_id_carbon_consents"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_carbon_loans_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_loans")),
        sa.UniqueConstraint("bank_user_id", "reference", name="uq_carbon_loans_reference"),
    )


def downgrade() -> None:
    op.drop_table("carbon_loans")
    with op.batch_alter_table("carbon_consents", schema=None) as batch_op:
        batch_op.drop_index("ix_carbon_consents_pair")

    op.drop_table("carbon_consents")
    op.drop_table("carbon_codes")
    op.drop_table("carbon_bank_tokens")
    with op.batch_alter_table("carbon_results", schema=None) as batch_op:
        batch_op.drop_index("ix_carbon_results_lookup")

    op.drop_table("carbon_results")
    with op.batch_alter_table("carbon_result_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_carbon_result_lines_lookup")

    op.drop_table("carbon_result_lines")
    op.drop_table("carbon_adjustments")
    with op.batch_alter_table("carbon_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_runs_year"))

    op.drop_table("carbon_runs")
