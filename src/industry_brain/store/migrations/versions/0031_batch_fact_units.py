"""batch_fact_units: every batch records the unit of each item among its facts (issue 21 point 3).

A fact's unit is its item's store unit (``core.units.store_unit`` of the item's dimension) in
every path that writes facts: the import and an accepted appeal. Since this revision both
record that pair per item in the batch's summary (``fact_units``), and the services whose
batches write no facts (certificates, titles, recognitions, investment splits) record an empty
id range and no units (``store.facts.NO_FACTS``). A warehouse snapshot then names each fact's
unit from its item (``store.facts.batch_units``) instead of reading the unit with each of 85
million facts — PostgreSQL's output and the client's decoding of one text column fewer. Here
the batches written before get their record from one pass over the facts (a minute at province
scale): ``fact_units``, and the id range and years where a batch had none (a service's batch
written after 0029).

Revision ID: 0031_batch_fact_units
Revises: 0030_facts_period_check
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031_batch_fact_units"
down_revision: str | None = "0030_facts_period_check"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCHES = sa.table(
    "import_batches",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("summary", sa.JSON),
)
FACTS = sa.table(
    "facts",
    sa.column("id", sa.Integer),
    sa.column("batch_id", sa.Integer),
    sa.column("year", sa.Integer),
    sa.column("item", sa.String),
    sa.column("unit", sa.String),
)


def upgrade() -> None:
    bind = op.get_bind()
    batches = sa.select(BATCHES.c.id, BATCHES.c.summary).where(BATCHES.c.status != "rejected")
    missing = {
        int(batch_id): dict(summary or {})
        for batch_id, summary in bind.execute(batches)
        if not isinstance((summary or {}).get("fact_units"), dict)
        or not isinstance((summary or {}).get("fact_id_range"), list)
    }
    found: dict[int, dict] = {}
    wanted = sorted(missing)
    for k in range(0, len(wanted), 1000):
        query = (
            sa.select(
                FACTS.c.batch_id,
                FACTS.c.year,
                FACTS.c.item,
                FACTS.c.unit,
                sa.func.min(FACTS.c.id),
                sa.func.max(FACTS.c.id),
            )
            .where(FACTS.c.batch_id.in_(wanted[k : k + 1000]))
            .group_by(FACTS.c.batch_id, FACTS.c.year, FACTS.c.item, FACTS.c.unit)
        )
        for batch_id, year, item, unit, low, high in bind.execute(query):
            seen = found.setdefault(int(batch_id), {"low": int(low), "high": int(high)})
            seen["low"], seen["high"] = min(seen["low"], int(low)), max(seen["high"], int(high))
            seen.setdefault("years", set()).add(int(year))
            # an item stored with two units in one batch stays unrecorded: no snapshot then
            # names units from items (store.facts.batch_units reads None)
            units = seen.setdefault("units", {})
            seen["mixed"] = seen.get("mixed", False) or units.setdefault(item, unit) != unit
    for batch_id, summary in missing.items():
        seen = found.get(batch_id, {"low": 1, "high": 0})
        if not isinstance(summary.get("fact_id_range"), list):
            summary["fact_id_range"] = [seen["low"], seen["high"]]
            summary["fact_years"] = sorted(seen.get("years", ()))
        if not seen.get("mixed"):
            summary["fact_units"] = dict(sorted(seen.get("units", {}).items()))
        bind.execute(BATCHES.update().where(BATCHES.c.id == batch_id).values(summary=summary))


def downgrade() -> None:
    """The records stay: older code ignores ``fact_units``."""
