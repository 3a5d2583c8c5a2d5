"""Tables of 项目钉 beside ``projects`` (store/models.py): stage history, progress reports,
problem tickets (破难题) with their status history, 百千万 programme enrolments and dated
破五未 warning snapshots.

Programme categories, yearly county targets, deadlines and thresholds are dated regional
parameters (``parameters/projects.yaml``), not tables: rules are data with a source and a
quality tag, resolved per county and date.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from industry_brain.store.models import Base, UTCDateTime


class StageEvent(Base):
    """阶段记录: one stage change of a project — ``advance`` (forward, next stage), ``correct``
    (a reached stage's date or the land handover date changed, with a reason) or ``undo`` (the
    last stage withdrawn, with a reason). ``on_day`` is the day the change was recorded."""

    __tablename__ = "project_stage_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(16))  # create | advance | correct | undo
    stage: Mapped[str] = mapped_column(String(16))  # a stage name or land_transfer
    old_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    new_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    stage_before: Mapped[str | None] = mapped_column(String(16), nullable=True)
    stage_after: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    on_day: Mapped[date] = mapped_column(Date)
    version_after: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class ProgressReport(Base):
    """进度填报: investment completed to date (累计完成投资, 万元), year-to-date output
    (本年累计产值, 万元), headcount (用工人数) and notes, as of ``report_date``."""

    __tablename__ = "project_progress_reports"
    __table_args__ = (
        UniqueConstraint("project_id", "report_date", name="uq_project_progress_reports_date"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    report_date: Mapped[date] = mapped_column(Date)
    investment_completed: Mapped[float] = mapped_column(Float)  # 万元, cumulative
    output: Mapped[float | None] = mapped_column(Float, nullable=True)  # 万元, year to date
    headcount: Mapped[int | None] = mapped_column(Integer, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class Ticket(Base):
    """破难题 problem ticket raised by an agent (代办员) or the enterprise against a project and
    routed to a department with a due date. ``version`` guards concurrent status changes."""

    __tablename__ = "project_tickets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16))
    raised_by_role: Mapped[str] = mapped_column(String(16))  # agent | enterprise
    raised_by: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    department: Mapped[str] = mapped_column(String(16), index=True)
    raised_on: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())

    __mapper_args__: ClassVar[dict] = {"version_id_col": version}


class TicketEvent(Base):
    """Status history of a ticket: raised, accepted, rerouted, resolved, reopened, closed."""

    __tablename__ = "project_ticket_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("project_tickets.id", ondelete="CASCADE"), index=True
    )
    on_day: Mapped[date] = mapped_column(Date)
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    department: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class ProgramEnrolment(Base):
    """百千万 enrolment: a project counted in a programme category (攻关/推广/上云) for a year."""

    __tablename__ = "program_enrolments"
    __table_args__ = (
        UniqueConstraint("project_id", "program", "year", name="uq_program_enrolments_project"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    program: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column(Integer, index=True)
    enrolled_on: Mapped[date] = mapped_column(Date)  # its year is ``year``
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class WarningSnapshot(Base):
    """破五未 warnings as computed on ``snapshot_date`` (``projects warnings --refresh``, daily)."""

    __tablename__ = "project_warning_snapshots"
    __table_args__ = (
        UniqueConstraint(
            "snapshot_date", "project_id", name="uq_project_warning_snapshots_project"
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_date: Mapped[date] = mapped_column(Date, index=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(24))  # not_started … not_at_capacity
    colour: Mapped[str] = mapped_column(String(8))  # yellow | red | black
    anchor: Mapped[str] = mapped_column(String(16))
    anchor_date: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    days_overdue: Mapped[int] = mapped_column(Integer)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    params_version: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
