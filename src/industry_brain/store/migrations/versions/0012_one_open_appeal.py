"""One open 异议 (appeal) per figure: a partial unique index on ``mujun_appeals`` over
(enterprise, year, item) where the status is ``open``, on SQLite and PostgreSQL.

Two open appeals on the same figure could both be accepted, leaving the recorded corrected
value of one different from the effective value. Stores that already hold such duplicates keep
the earliest open appeal of each figure; the later ones are closed as ``rejected`` with a reason
naming the appeal they duplicate (and are still listed), so the index can be built.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ux_mujun_appeals_open"
OPEN = sa.text("status = 'open'")


def _close_duplicates() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, enterprise_id, year, item FROM mujun_appeals "
            "WHERE status = 'open' ORDER BY enterprise_id, year, item, id"
        )
    ).all()
    kept: dict[tuple, int] = {}
    for appeal_id, enterprise_id, year, item in rows:
        key = (enterprise_id, year, item)
        if key not in kept:
            kept[key] = appeal_id
            continue
        first = kept[key]
        conn.execute(
            sa.text(
                "UPDATE mujun_appeals SET status = 'rejected', decided_by = 'migration 0012', "
                "decided_at = CURRENT_TIMESTAMP, decision_reason = :reason WHERE id = :id"
            ),
            {
                "id": appeal_id,
                "reason": f"重复异议：同一数据已有未决异议 #{first} / "
                f"duplicate of the open appeal #{first} on the same figure",
            },
        )


def upgrade() -> None:
    _close_duplicates()
    op.create_index(
        INDEX,
        "mujun_appeals",
        ["enterprise_id", "year", "item"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="mujun_appeals")
