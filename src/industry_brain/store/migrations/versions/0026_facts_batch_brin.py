"""facts_batch_brin: on PostgreSQL a BRIN index of ``facts.batch_id`` (issue 21 point 3).

A warehouse snapshot's refresh asks which enterprises and years a new import batch touched;
without an index of the batch that read every fact (85 million at province scale, seconds of a
sequential scan). Facts are appended batch after batch, so a BRIN index (a summary of the batch
ids per range of table pages: a few pages in all, nothing to maintain per inserted row) leads
the query to the new batch's pages. SQLite keeps no such index: a B-tree would cost every bulk
import, and a city-sized store scans in a second.

Revision ID: 0026_facts_batch_brin
Revises: 0025_report_file_scan
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026_facts_batch_brin"
down_revision: str | None = "0025_report_file_scan"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_facts_batch", "facts", ["batch_id"], postgresql_using="brin")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_facts_batch", table_name="facts")
