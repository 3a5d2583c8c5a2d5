"""facts_lookup_month: on PostgreSQL ``ix_facts_lookup`` also carries ``month`` (issue 21
point 3).

A warehouse snapshot reads the current facts bucket by bucket of enterprise ids (50,000 at a
time), so that DuckDB reduces one bucket while the store hands out the next. With every column
the snapshot reads in the index (0027 left out only ``month``), each bucket is an index-only
scan of its range of adjacent leaf pages; without it PostgreSQL would scan the whole table once
per bucket (import batches lie in the heap in import order, every bucket on every page). The
index grows by ≈ 7 % (2.05 → 2.20 GB at 27 million facts).

The index is rebuilt inside the migration's transaction: the facts table is locked while it is
built (a minute or two at province scale; run the upgrade in a maintenance window).

Revision ID: 0028_facts_lookup_month
Revises: 0027_facts_lookup_covering
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0028_facts_lookup_month"
down_revision: str | None = "0027_facts_lookup_covering"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ["enterprise_id", "year", "item"]
BEFORE = ["source_dept", "value", "unit", "superseded_by"]
INCLUDED = [*BEFORE, "month"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_facts_lookup", table_name="facts")
        op.create_index("ix_facts_lookup", "facts", KEY, postgresql_include=INCLUDED)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_facts_lookup", table_name="facts")
        op.create_index("ix_facts_lookup", "facts", KEY, postgresql_include=BEFORE)
