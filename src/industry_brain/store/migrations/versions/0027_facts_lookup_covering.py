"""facts_lookup_covering: on PostgreSQL ``ix_facts_lookup`` carries the profile's columns
(issue 21 point 6).

An enterprise's profile sums its current facts per (item, year, department). At province
scale (85 million facts) those ≈ 170 rows lie on ≈ 60 heap pages, one per import batch and
month, written in import order: under load each profile read those pages at random. With the
read columns in the index (``INCLUDE``), PostgreSQL answers from the enterprise's few adjacent
leaf pages (an index-only scan, where vacuum has marked the heap pages all-visible). SQLite
keeps the narrow index: a city-sized store is read from cache.

Autovacuum visits an insert-only table after new rows reach 20 % of it by default: 17 million
facts at province scale, months of imports whose pages would each be fetched from the heap
again. The facts table gets its own threshold (1 %, ``autovacuum_vacuum_insert_scale_factor``);
such a vacuum reads only the pages not yet all-visible.

The index is rebuilt inside the migration's transaction: the facts table is locked while it is
built (minutes at province scale; run the upgrade in a maintenance window).

Revision ID: 0027_facts_lookup_covering
Revises: 0026_facts_batch_brin
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027_facts_lookup_covering"
down_revision: str | None = "0026_facts_batch_brin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ["enterprise_id", "year", "item"]
INCLUDED = ["source_dept", "value", "unit", "superseded_by"]
INSERT_SCALE = 0.01  # autovacuum after new facts reach 1 % of the table


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_facts_lookup", table_name="facts")
        op.create_index("ix_facts_lookup", "facts", KEY, postgresql_include=INCLUDED)
        op.execute(
            f"ALTER TABLE facts SET (autovacuum_vacuum_insert_scale_factor = {INSERT_SCALE})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE facts RESET (autovacuum_vacuum_insert_scale_factor)")
        op.drop_index("ix_facts_lookup", table_name="facts")
        op.create_index("ix_facts_lookup", "facts", KEY)
