"""Merge the service branches (projects 0002, mujun 0003, carbon 0004, web 0005) into one head.

Revision ID: 0006
Revises: 0002, 0003, 0004, 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

revision: str = "0006"
down_revision: str | Sequence[str] | None = ("0002", "0003", "0004", "0005")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A merge point: the four branches touch separate tables, so there is nothing to do."""


def downgrade() -> None:
    """Downgrading below the merge point splits back into the four branches."""
