"""ids_compact: one row per identifier. The typed values of an identifier (Handle model: index,
type, data, TTL, permission) move from ``ids_records`` (one row per value, ≈ 4 per identifier)
into ``ids_identifiers.vals``, one compact JSON array ``[[type, data, ttl, restricted], …]`` in
index order (new writes use the shorter ``[ttl, [type, data], …]``, see service.values_of);
``ids_records`` is dropped, and so are the indexes on ``ids_identifiers.created_at`` and
``template_id`` (every bulk row paid for them; the statistics grouping by them read the whole
table anyway). Existing identifiers keep their values (issue 20).

Revision ID: 0021_ids_compact
Revises: 0022_programme_files (the head when this was written; ids after programmes)
Create Date: 2026-12-03
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_ids_compact"
down_revision: str | None = "0022_programme_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "ids_identifiers",
        sa.Column("vals", sa.Text(), server_default=sa.text("'[]'"), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE ids_identifiers i SET vals = COALESCE((SELECT json_agg(json_build_array("
            "r.type, r.data, r.ttl, CASE WHEN r.permission = 'restricted' THEN 1 ELSE 0 END)"
            " ORDER BY r.idx)::text FROM ids_records r WHERE r.identifier_id = i.id), '[]')"
        )
    else:
        op.execute(
            "UPDATE ids_identifiers SET vals = COALESCE((SELECT json_group_array(json_array("
            "r.type, json(r.data), r.ttl, r.permission = 'restricted')) FROM (SELECT * FROM"
            " ids_records r WHERE r.identifier_id = ids_identifiers.id ORDER BY r.idx) r),"
            " '[]')"
        )
    op.drop_table("ids_records")
    # every bulk row paid for these; the statistics grouping by them read the whole table
    op.drop_index("ix_ids_identifiers_created", table_name="ids_identifiers")
    op.drop_index("ix_ids_identifiers_template_id", table_name="ids_identifiers")


def _values(vals: str | None) -> list[tuple]:
    """(type, data, ttl, restricted) of both forms of ``vals`` (see service.values_of)."""
    items = json.loads(vals or "[]")
    common = None
    if items and not isinstance(items[0], list):
        common, items = items[0], items[1:]
    return [(v[0], v[1], common, 0) if len(v) == 2 else tuple(v) for v in items]


def downgrade() -> None:
    op.create_index("ix_ids_identifiers_template_id", "ids_identifiers", ["template_id"])
    op.create_index("ix_ids_identifiers_created", "ids_identifiers", ["created_at"])
    op.create_table(
        "ids_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier_id", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("ttl", sa.Integer(), nullable=False),
        sa.Column(
            "timestamp",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("permission", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["identifier_id"],
            ["ids_identifiers.id"],
            name=op.f("fk_ids_records_identifier_id_ids_identifiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ids_records")),
        sa.UniqueConstraint("identifier_id", "idx", name="uq_ids_records_index"),
    )
    conn = op.get_bind()
    records = sa.table(
        "ids_records",
        sa.column("identifier_id", sa.Integer()),
        sa.column("idx", sa.Integer()),
        sa.column("type", sa.String()),
        sa.column("data", sa.JSON()),
        sa.column("ttl", sa.Integer()),
        sa.column("timestamp"),  # as read from ids_identifiers.updated_at
        sa.column("permission", sa.String()),
    )
    batch: list[dict] = []
    rows = conn.execute(sa.text("SELECT id, updated_at, vals FROM ids_identifiers")).all()
    for ident_id, at, vals in rows:
        for i, (kind, data, ttl, restricted) in enumerate(_values(vals), start=1):
            batch.append(
                {"identifier_id": ident_id, "idx": i, "type": kind, "data": data, "ttl": ttl,
                 "timestamp": at, "permission": "restricted" if restricted else "public"}
            )  # fmt: skip
        if len(batch) >= 10_000:
            conn.execute(records.insert(), batch)
            batch = []
    if batch:
        conn.execute(records.insert(), batch)
    with op.batch_alter_table("ids_identifiers") as b:
        b.drop_column("vals")
