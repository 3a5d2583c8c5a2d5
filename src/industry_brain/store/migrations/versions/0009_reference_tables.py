"""Complete national reference data: GB/T 2260 history, 统计用区划 units and towns, GB/T 4754
(2017 and 2011), the editions loaded; enterprises get a town (乡镇街道).

Creates ``region_history``, ``industries_2011`` and ``reference_editions``, widens region codes
to 12 characters (towns have 9 digits), adds ``regions.source`` and ``enterprises.town_code``,
then loads the shipped reference files (:func:`industry_brain.store.reference.load_packaged`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "region_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("province", sa.String(length=64), nullable=True),
        sa.Column("prefecture", sa.String(length=64), nullable=True),
        sa.Column("valid_from", sa.Integer(), nullable=False),
        sa.Column("valid_to", sa.Integer(), nullable=True),
        sa.Column("successors", sa.String(length=200), nullable=True),
        sa.Column("transfers", sa.String(length=300), nullable=True),
        sa.Column("edition", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_region_history")),
        sa.UniqueConstraint("code", "valid_from", name="uq_region_history_code_from"),
    )
    op.create_index(op.f("ix_region_history_code"), "region_history", ["code"], unique=False)
    op.create_table(
        "industries_2011",
        sa.Column("code", sa.String(length=4), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_code", sa.String(length=4), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_industries_2011")),
    )
    op.create_table(
        "reference_editions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("edition", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("ended", sa.Integer(), nullable=False),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_editions")),
        sa.UniqueConstraint("table_name", "sha256", name="uq_reference_editions_file"),
    )
    with op.batch_alter_table("regions") as batch:
        batch.alter_column("code", type_=sa.String(length=12), existing_nullable=False)
        batch.alter_column("parent_code", type_=sa.String(length=12), existing_nullable=True)
        batch.add_column(
            sa.Column("source", sa.String(length=16), server_default="gbt2260", nullable=False)
        )
        # towns of a county; also keeps deleting regions fast (self-reference checks)
        batch.create_index(batch.f("ix_regions_parent_code"), ["parent_code"], unique=False)
    for table in ("users", "projects"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("county_code", type_=sa.String(length=12), existing_nullable=True)
    # users by county (county officers, agents); also keeps deleting regions fast
    op.create_index(op.f("ix_users_county_code"), "users", ["county_code"], unique=False)
    with op.batch_alter_table("enterprises") as batch:
        batch.alter_column("county_code", type_=sa.String(length=12), existing_nullable=True)
        batch.add_column(sa.Column("town_code", sa.String(length=12), nullable=True))
        batch.create_index(batch.f("ix_enterprises_town_code"), ["town_code"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_enterprises_town_code_regions"), "regions", ["town_code"], ["code"]
        )

    from industry_brain.store import reference

    reference.load_packaged(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("enterprises") as batch:
        batch.drop_constraint(batch.f("fk_enterprises_town_code_regions"), type_="foreignkey")
        batch.drop_index(batch.f("ix_enterprises_town_code"))
        batch.drop_column("town_code")
        batch.alter_column("county_code", type_=sa.String(length=6), existing_nullable=True)
    # while the indexes of the references still exist (each deleted row is checked)
    op.execute(sa.text("DELETE FROM regions WHERE source = 'nbs'"))
    op.execute(sa.text("DELETE FROM region_history"))
    op.drop_index(op.f("ix_users_county_code"), table_name="users")
    for table in ("users", "projects"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("county_code", type_=sa.String(length=6), existing_nullable=True)
    with op.batch_alter_table("regions") as batch:
        batch.drop_index(batch.f("ix_regions_parent_code"))
        batch.drop_column("source")
        batch.alter_column("parent_code", type_=sa.String(length=6), existing_nullable=True)
        batch.alter_column("code", type_=sa.String(length=6), existing_nullable=False)
    op.drop_table("reference_editions")
    op.drop_table("industries_2011")
    op.drop_index(op.f("ix_region_history_code"), table_name="region_history")
    op.drop_table("region_history")
