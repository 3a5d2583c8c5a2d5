"""Indexes for the web platform's reads: the profile's power accounts, land parcels and
projects by enterprise, the projects funnel by stage, and the latest 规上 year / scale filter of
the search and the cockpit (``enterprise_scales`` by year).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_power_accounts_enterprise_id", "power_accounts", ["enterprise_id"]),
    ("ix_land_parcels_enterprise_id", "land_parcels", ["enterprise_id"]),
    ("ix_projects_enterprise_id", "projects", ["enterprise_id"]),
    ("ix_projects_stage", "projects", ["stage"]),
    ("ix_enterprise_scales_year", "enterprise_scales", ["year", "above_scale", "enterprise_id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
