"""facts_period_check: on PostgreSQL a fact's year and month are checked to lie in their domain
(issue 21 point 3).

A warehouse snapshot reads every current fact of the store (85 million at province scale),
bucket by bucket of enterprise ids. PostgreSQL's work and the client's decoding grow with the
number of columns sent per row, so the export sends ``enterprise_id``, ``year`` and ``month``
packed into one ``bigint`` (``enterprise_id · 2¹⁸ + year · 2⁴ + month``) and the client splits
it again: measured on a bucket of 8.3 million facts, 0.4–0.5 s less of the server's CPU and
0.4–0.5 s less of the client's. The packing is exact only while ``0 ≤ month ≤ 15`` and
``0 ≤ year < 16384``; this constraint states the store's domain (a month 0 for a yearly figure
or 1–12, a year 1900–9999), which every import and appeal already keeps, so that no row can
break it. Adding it reads the whole table once, under its lock (half a minute at province
scale). SQLite stores are not exported this way and keep their table as it is (rebuilding it
would copy every fact).

Revision ID: 0030_facts_period_check
Revises: 0029_drop_facts_batch_brin
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030_facts_period_check"
down_revision: str | None = "0029_drop_facts_batch_brin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ck_facts_period"
CONDITION = "year BETWEEN 1900 AND 9999 AND month BETWEEN 0 AND 12"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_check_constraint(op.f(NAME), "facts", CONDITION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f(NAME), "facts", type_="check")
