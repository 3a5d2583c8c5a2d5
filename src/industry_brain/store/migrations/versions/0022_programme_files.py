"""programme_files: a diagnosis report file (PDF) uploaded by the assigned provider, kept as a
blob with its name, size and SHA-256 (``programme_report_files``, one current file per
assignment); 智造荟 events get a place and a capacity (issue 19).

Revision ID: 0022_programme_files
Revises: 0020_ids_delegation
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_programme_files"
down_revision: str | None = "0020_ids_delegation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "programme_report_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column(
            "uploaded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["programme_assignments.id"],
            name=op.f("fk_programme_report_files_assignment_id_programme_assignments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_report_files")),
        sa.UniqueConstraint("assignment_id", name="uq_programme_report_files_assignment"),
    )
    with op.batch_alter_table("programme_events") as batch:
        batch.add_column(sa.Column("place", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("capacity", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("programme_events") as batch:
        batch.drop_column("capacity")
        batch.drop_column("place")
    op.drop_table("programme_report_files")
