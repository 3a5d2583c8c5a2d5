"""report_file_scan: the virus scan of a diagnosis report file before it is stored (issue 19) —
``programme_report_files`` gets the scan's status (``clean`` or ``not_scanned``; an infected file
is refused, never stored), engine, signature version, time and, when no scan happened, why. Files
stored before this revision were never scanned: they are ``not_scanned``.

Revision ID: 0025_report_file_scan
Revises: 0024_ids_refs_per_statement
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_report_file_scan"
down_revision: str | None = "0024_ids_refs_per_statement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("programme_report_files") as batch:
        batch.add_column(
            sa.Column(
                "scan_status", sa.String(length=16), server_default="not_scanned", nullable=False
            )
        )
        batch.add_column(sa.Column("scan_engine", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("scan_signatures", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("scan_note", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("programme_report_files") as batch:
        batch.drop_column("scan_note")
        batch.drop_column("scanned_at")
        batch.drop_column("scan_signatures")
        batch.drop_column("scan_engine")
        batch.drop_column("scan_status")
