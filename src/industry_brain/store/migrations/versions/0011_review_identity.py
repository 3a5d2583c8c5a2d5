"""Review entries (待核对) are unique per file content and row: ``match_reviews.identity``
(kind, file hash, sheet, row) with a unique index, so re-importing the same file (e.g. with
``--accept-valid`` after a rejection) never opens the same review twice (issue 13 point 10).
Existing entries get their identity from their batch; of existing duplicates the first keeps it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("match_reviews") as batch:
        batch.add_column(sa.Column("identity", sa.String(250), nullable=True))
    conn = op.get_bind()
    reviews = sa.table(
        "match_reviews",
        sa.column("id", sa.Integer),
        sa.column("batch_id", sa.Integer),
        sa.column("sheet", sa.String),
        sa.column("row", sa.Integer),
        sa.column("identity", sa.String),
    )
    batches = sa.table(
        "import_batches",
        sa.column("id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("file_hash", sa.String),
    )
    rows = conn.execute(
        sa.select(reviews.c.id, reviews.c.sheet, reviews.c.row, batches.c.kind, batches.c.file_hash)
        .join(batches, batches.c.id == reviews.c.batch_id)
        .order_by(reviews.c.id)
    ).all()
    seen: set[str] = set()
    for rid, sheet, row, kind, digest in rows:
        identity = f"{kind}:{digest}:{sheet or ''}:{row if row is not None else ''}"
        if identity in seen:
            continue  # a duplicate of an earlier entry keeps no identity
        seen.add(identity)
        conn.execute(reviews.update().where(reviews.c.id == rid).values(identity=identity))
    op.create_index("ix_match_reviews_identity", "match_reviews", ["identity"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_match_reviews_identity", table_name="match_reviews")
    with op.batch_alter_table("match_reviews") as batch:
        batch.drop_column("identity")
