"""diagnosis: 智能制造诊断 — assessments (questionnaire id and version frozen; draft → submitted →
reviewed → final), raw answers, assessor reviews (accept / adjust / request evidence), evidence
files, assessor assignments, imported 两化融合贯标 / DCMM certificates with lineage and expiry, and
the runs and results published as ``result_maturity`` (issue 18).

Revision ID: 0015_diagnosis
Revises: 0014_tiers
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_diagnosis"
down_revision: str | None = "0014_tiers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "diagnosis_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("parameter_version", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnosis_runs")),
    )
    with op.batch_alter_table("diagnosis_runs", schema=None) as batch_op:
        batch_op.create_index("ix_diagnosis_runs_year", ["year", "status"], unique=False)

    op.create_table(
        "diagnosis_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("industry_type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finalised_by", sa.String(length=64), nullable=True),
        sa.Column("finalised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opinion", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_diagnosis_assessments_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnosis_assessments")),
    )
    with op.batch_alter_table("diagnosis_assessments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_diagnosis_assessments_enterprise",
            ["enterprise_id", "questionnaire", "year"],
            unique=False,
        )
        batch_op.create_index("ix_diagnosis_assessments_status", ["status"], unique=False)

    op.create_table(
        "diagnosis_certifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("certificate_no", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=100), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
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
            name=op.f("fk_diagnosis_certifications_enterprise_id_enterprises"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batches.id"],
            name=op.f("fk_diagnosis_certifications_import_batch_id_import_batches"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnosis_certifications")),
        sa.UniqueConstraint("kind", "certificate_no", name="uq_diagnosis_certifications_number"),
    )
    with op.batch_alter_table("diagnosis_certifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_diagnosis_certifications_enterprise", ["enterprise_id", "kind"], unique=False
        )

    op.create_table(
        "diagnosis_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=True),
        sa.Column("cmmm_level", sa.Integer(), nullable=True),
        sa.Column("cmmm_score", sa.Float(), nullable=True),
        sa.Column("dcmm_level", sa.Integer(), nullable=True),
        sa.Column("dcmm_score", sa.Float(), nullable=True),
        sa.Column("lianghua_stage", sa.Integer(), nullable=True),
        sa.Column("guanbiao_certified", sa.Boolean(), nullable=False),
        sa.Column("dcmm_certified_level", sa.String(length=16), nullable=True),
        sa.Column("assessments", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_diagnosis_results_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["diagnosis_runs.id"],
            name=op.f("fk_diagnosis_results_run_id_diagnosis_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnosis_results")),
        sa.UniqueConstraint("run_id", "enterprise_id", name="uq_diagnosis_results_enterprise"),
    )
    op.create_table(
        "diagnosis_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("requirement", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=True),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["diagnosis_assessments.id"],
            name=op.f("fk_diagnosis_answers_assessment_id_diagnosis_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnosis_answers")),
        sa.UniqueConstraint(
            "assessment_id", "requirement", name="uq_diagnosis_answers_requirement"
        ),
    )
    op.create_table(
        "diagnosis_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_diagnosis_assignments_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_diagnosis_assignments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnosis_assignments")),
        sa.UniqueConstraint("user_id", "enterprise_id", name="uq_diagnosis_assignments_pair"),
    )
    with op.batch_alter_table("diagnosis_assignments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_diagnosis_assignments_enterprise", ["enterprise_id"], unique=False
        )

    op.create_table(
        "diagnosis_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("requirement", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["diagnosis_assessments.id"],
            name=op.f("fk_diagnosis_evidence_assessment_id_diagnosis_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnosis_evidence")),
    )
    with op.batch_alter_table("diagnosis_evidence", schema=None) as batch_op:
        batch_op.create_index(
            "ix_diagnosis_evidence_assessment", ["assessment_id", "requirement"], unique=False
        )

    op.create_table(
        "diagnosis_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("requirement", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("original_value", sa.String(length=64), nullable=True),
        sa.Column("adjusted_value", sa.String(length=64), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["diagnosis_assessments.id"],
            name=op.f("fk_diagnosis_reviews_assessment_id_diagnosis_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnosis_reviews")),
    )
    with op.batch_alter_table("diagnosis_reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_diagnosis_reviews_assessment", ["assessment_id", "requirement"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("diagnosis_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_diagnosis_reviews_assessment")

    op.drop_table("diagnosis_reviews")
    with op.batch_alter_table("diagnosis_evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_diagnosis_evidence_assessment")

    op.drop_table("diagnosis_evidence")
    with op.batch_alter_table("diagnosis_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_diagnosis_assignments_enterprise")

    op.drop_table("diagnosis_assignments")
    op.drop_table("diagnosis_answers")
    op.drop_table("diagnosis_results")
    with op.batch_alter_table("diagnosis_certifications", schema=None) as batch_op:
        batch_op.drop_index("ix_diagnosis_certifications_enterprise")

    op.drop_table("diagnosis_certifications")
    with op.batch_alter_table("diagnosis_assessments", schema=None) as batch_op:
        batch_op.drop_index("ix_diagnosis_assessments_status")
        batch_op.drop_index("ix_diagnosis_assessments_enterprise")

    op.drop_table("diagnosis_assessments")
    with op.batch_alter_table("diagnosis_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_diagnosis_runs_year")

    op.drop_table("diagnosis_runs")
