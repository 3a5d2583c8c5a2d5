"""drop_facts_batch_brin: no BRIN index of ``facts.batch_id`` on PostgreSQL (issue 21 point 2).

0026 added it so that a snapshot refresh could find a new batch's enterprises without reading
every fact, on the belief that a BRIN index costs nothing per inserted row. Measured on this
machine it costs ≈ 9 % of a ``COPY`` into ``facts`` (1,000,000 power facts: 3.10–3.15 s of
server CPU with it, 2.80–2.86 s without): each inserted row looks up its page range's summary.
Every import batch (and, since 0029, an accepted appeal) records the id range of its facts in
its summary, so the refresh reads a new batch's facts by the primary key in that range instead
(``store.facts.batch_ranges``). Batches written before ranges were recorded (and appeals before
0029) get theirs here, from one pass over the facts, so that no later read has to scan.

Revision ID: 0029_drop_facts_batch_brin
Revises: 0028_facts_lookup_month
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_drop_facts_batch_brin"
down_revision: str | None = "0028_facts_lookup_month"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


BATCHES = sa.table(
    "import_batches",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("summary", sa.JSON),
)
FACTS = sa.table(
    "facts", sa.column("id", sa.Integer), sa.column("batch_id", sa.Integer), sa.column("year")
)


def _record_ranges(bind: sa.Connection) -> None:
    """Give every batch (a rejected one wrote nothing) without a recorded ``fact_id_range``
    its facts' range and years (an empty range, [1, 0], when it has none)."""
    batches = sa.select(BATCHES.c.id, BATCHES.c.summary).where(BATCHES.c.status != "rejected")
    missing = {
        int(batch_id): dict(summary or {})
        for batch_id, summary in bind.execute(batches)
        if not isinstance((summary or {}).get("fact_id_range"), list)
    }
    if not missing:
        return
    found: dict[int, tuple[int, int, set[int]]] = {}
    wanted = sorted(missing)
    rows = []
    for k in range(0, len(wanted), 1000):  # on PostgreSQL through the BRIN index, still here
        query = (
            sa.select(
                FACTS.c.batch_id, sa.func.min(FACTS.c.id), sa.func.max(FACTS.c.id), FACTS.c.year
            )
            .where(FACTS.c.batch_id.in_(wanted[k : k + 1000]))
            .group_by(FACTS.c.batch_id, FACTS.c.year)
        )
        rows.extend(bind.execute(query).all())
    for batch_id, low, high, year in rows:
        before = found.get(int(batch_id))
        if before is None:
            found[int(batch_id)] = (int(low), int(high), {int(year)})
        else:
            found[int(batch_id)] = (
                min(before[0], int(low)),
                max(before[1], int(high)),
                before[2] | {int(year)},
            )
    for batch_id, summary in missing.items():
        low, high, years = found.get(batch_id, (1, 0, set()))
        summary["fact_id_range"] = [low, high]
        summary["fact_years"] = sorted(years)
        bind.execute(BATCHES.update().where(BATCHES.c.id == batch_id).values(summary=summary))


def upgrade() -> None:
    bind = op.get_bind()
    _record_ranges(bind)
    if bind.dialect.name == "postgresql":
        op.drop_index("ix_facts_batch", table_name="facts")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_facts_batch", "facts", ["batch_id"], postgresql_using="brin")
