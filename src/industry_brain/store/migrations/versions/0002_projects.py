"""项目钉 projects: investor name, stage history, progress reports, tickets, programme
enrolments, warning snapshots

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 15:01:14.518407
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "program_enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("program", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("enrolled_on", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_program_enrolments_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_enrolments")),
        sa.UniqueConstraint("project_id", "program", "year", name="uq_program_enrolments_project"),
    )
    with op.batch_alter_table("program_enrolments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_program_enrolments_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_program_enrolments_year"), ["year"], unique=False)

    op.create_table(
        "project_progress_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("investment_completed", sa.Float(), nullable=False),
        sa.Column("output", sa.Float(), nullable=True),
        sa.Column("headcount", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_progress_reports_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_project_progress_reports_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_progress_reports")),
        sa.UniqueConstraint("project_id", "report_date", name="uq_project_progress_reports_date"),
    )
    with op.batch_alter_table("project_progress_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_progress_reports_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "project_stage_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("old_date", sa.Date(), nullable=True),
        sa.Column("new_date", sa.Date(), nullable=True),
        sa.Column("stage_before", sa.String(length=16), nullable=True),
        sa.Column("stage_after", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("on_day", sa.Date(), nullable=False),
        sa.Column("version_after", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_stage_events_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_project_stage_events_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_stage_events")),
    )
    with op.batch_alter_table("project_stage_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_stage_events_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "project_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("raised_by_role", sa.String(length=16), nullable=False),
        sa.Column("raised_by", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("department", sa.String(length=16), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_tickets_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_project_tickets_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_tickets")),
    )
    with op.batch_alter_table("project_tickets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_tickets_department"), ["department"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_project_tickets_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_project_tickets_status"), ["status"], unique=False)

    op.create_table(
        "project_warning_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("snapshot_date", sa.Date(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("colour", sa.String(length=8), nullable=False),
        sa.Column("anchor", sa.String(length=16), nullable=False),
        sa.Column("anchor_date", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("days_overdue", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("params_version", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_project_warning_snapshots_agent_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_warning_snapshots_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_warning_snapshots")),
        sa.UniqueConstraint(
            "snapshot_date", "project_id", name="uq_project_warning_snapshots_project"
        ),
    )
    with op.batch_alter_table("project_warning_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_warning_snapshots_county_code"), ["county_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_project_warning_snapshots_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_project_warning_snapshots_snapshot_date"),
            ["snapshot_date"],
            unique=False,
        )

    op.create_table(
        "project_ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("on_day", sa.Date(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["project_tickets.id"],
            name=op.f("fk_project_ticket_events_ticket_id_project_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_project_ticket_events_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_ticket_events")),
    )
    with op.batch_alter_table("project_ticket_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_ticket_events_ticket_id"), ["ticket_id"], unique=False
        )

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("investor_name", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_projects_agent_id"), ["agent_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_agent_id"))
        batch_op.drop_column("investor_name")

    with op.batch_alter_table("project_ticket_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_ticket_events_ticket_id"))

    op.drop_table("project_ticket_events")
    with op.batch_alter_table("project_warning_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_warning_snapshots_snapshot_date"))
        batch_op.drop_index(batch_op.f("ix_project_warning_snapshots_project_id"))
        batch_op.drop_index(batch_op.f("ix_project_warning_snapshots_county_code"))

    op.drop_table("project_warning_snapshots")
    with op.batch_alter_table("project_tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_tickets_status"))
        batch_op.drop_index(batch_op.f("ix_project_tickets_project_id"))
        batch_op.drop_index(batch_op.f("ix_project_tickets_department"))

    op.drop_table("project_tickets")
    with op.batch_alter_table("project_stage_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_stage_events_project_id"))

    op.drop_table("project_stage_events")
    with op.batch_alter_table("project_progress_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_progress_reports_project_id"))

    op.drop_table("project_progress_reports")
    with op.batch_alter_table("program_enrolments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_program_enrolments_year"))
        batch_op.drop_index(batch_op.f("ix_program_enrolments_project_id"))

    op.drop_table("program_enrolments")
