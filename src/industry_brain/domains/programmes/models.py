"""Tables of the programmes service (migration 0018_programmes).

- programmes / programme_targets: a government-bought diagnosis programme (name, region, year,
  budget, period, report deadline) and its target number per county, frozen at creation from the
  dated parameter ``programmes.diagnosis.county_targets`` (or given);
- programme_providers: the programme's tendered providers, keyed by USCC (industries served,
  capacity) — the programme's own list (the ``market`` service's registry is another service's
  table and is not read here);
- programme_assignments: an enterprise assigned to a provider (with the explanation of the
  choice), its report deadline and the diagnosis assessment that completes it;
- programme_report_files: the provider's diagnosis report file (PDF) of an assignment (0022), with
  its virus scan (0025);
- programme_recognitions: imported benchmark recognitions (未来工厂, 智能工厂, …) with lineage;
- programme_events: 智造荟 supply–demand events, benchmark-factory visits and learning events;
- programme_event_registrations / programme_event_matches: who registered, matches and outcome;
- programme_loans: 智能制造贷 / 智改数转 details of a loan held in the policy service's loan
  register (``policy_loans``, the interest subsidy's input), keyed by that loan's id;
- programme_investment: the planned split of a project's investment into hardware, software and
  services (重硬轻软), keyed by project id (the projects table is not altered).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from industry_brain.store.models import Base, UTCDateTime


class Programme(Base):
    """A government-bought diagnosis programme."""

    __tablename__ = "programmes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(12))
    year: Mapped[int] = mapped_column(Integer)
    budget_wan: Mapped[float] = mapped_column(Float)
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date] = mapped_column(Date)
    report_days: Mapped[int] = mapped_column(Integer)
    parameters: Mapped[list] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class ProgrammeTarget(Base):
    """The number of diagnoses a programme targets in one county."""

    __tablename__ = "programme_targets"
    __table_args__ = (
        UniqueConstraint("programme_id", "county_code", name="uq_programme_targets_county"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    county_code: Mapped[str] = mapped_column(String(12))
    target: Mapped[int] = mapped_column(Integer)


class ProgrammeProvider(Base):
    """A tendered diagnosis provider of a programme (by USCC)."""

    __tablename__ = "programme_providers"
    __table_args__ = (UniqueConstraint("programme_id", "uscc", name="uq_programme_providers_uscc"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    uscc: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(200))
    industries: Mapped[list] = mapped_column(JSON, default=list)  # GB/T 4754 divisions; [] = any
    capacity: Mapped[int] = mapped_column(Integer)


class ProgrammeAssignment(Base):
    """An enterprise assigned to a provider of a programme, with its report deadline."""

    __tablename__ = "programme_assignments"
    __table_args__ = (
        UniqueConstraint("programme_id", "enterprise_id", name="uq_programme_assignments_firm"),
        Index("ix_programme_assignments_provider", "provider_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("programme_providers.id", ondelete="CASCADE")
    )
    assigned_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[dict] = mapped_column(JSON, default=dict)
    assessment_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    done_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    # the provider marks the report delivered (0019); the officer then records it received
    delivered_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    delivered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ProgrammeReportFile(Base):
    """The diagnosis report file (PDF) of an assignment, uploaded by its provider (0022): kept in
    the store as a blob (backed up and scoped with the rest, no path on disk to traverse), one
    current file per assignment (a new upload replaces it)."""

    __tablename__ = "programme_report_files"
    __table_args__ = (
        UniqueConstraint("assignment_id", name="uq_programme_report_files_assignment"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("programme_assignments.id", ondelete="CASCADE")
    )
    file_name: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    # the virus scan before storing (0025): clean, or not_scanned (no scanner configured or it
    # did not answer) — an infected file is refused, never stored
    scan_status: Mapped[str] = mapped_column(String(16), server_default="not_scanned")
    scan_engine: Mapped[str | None] = mapped_column(String(100), nullable=True)
    scan_signatures: Mapped[str | None] = mapped_column(String(200), nullable=True)
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    scan_note: Mapped[str | None] = mapped_column(String(200), nullable=True)


class ProgrammeRecognition(Base):
    """A benchmark recognition (未来工厂, 智能工厂, …) imported from an official list."""

    __tablename__ = "programme_recognitions"
    __table_args__ = (
        UniqueConstraint("uscc", "kind", "year", name="uq_programme_recognitions_entry"),
        Index("ix_programme_recognitions_kind", "kind", "year"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprises.id", ondelete="SET NULL"), nullable=True
    )
    uscc: Mapped[str] = mapped_column(String(18))
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(32), nullable=True)
    year: Mapped[int] = mapped_column(Integer)
    issuer: Mapped[str | None] = mapped_column(String(100), nullable=True)
    source_file: Mapped[str] = mapped_column(String(255))
    source_sheet: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source_row: Mapped[int] = mapped_column(Integer)
    import_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_batches.id", ondelete="SET NULL"), nullable=True
    )
    actor: Mapped[str] = mapped_column(String(64))


class ProgrammeEvent(Base):
    """A 智造荟 supply–demand event (``zhizaohui``), a visit to a benchmark factory (``visit``)
    or a learning event at one (``learning``)."""

    __tablename__ = "programme_events"
    __table_args__ = (Index("ix_programme_events_held", "held_on"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    held_on: Mapped[date] = mapped_column(Date)
    theme: Mapped[str] = mapped_column(String(200))
    industry_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    county_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    host_enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprises.id", ondelete="SET NULL"), nullable=True
    )
    visitors: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    # a 智造荟 event's place and capacity (places for registrations), 0022
    place: Mapped[str | None] = mapped_column(String(200), nullable=True)
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ProgrammeRegistration(Base):
    """An enterprise (demand side) or provider (supply side) registered for an event."""

    __tablename__ = "programme_event_registrations"
    __table_args__ = (
        UniqueConstraint("event_id", "uscc", name="uq_programme_event_registrations_uscc"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("programme_events.id", ondelete="CASCADE"))
    side: Mapped[str] = mapped_column(String(16))  # enterprise | provider
    uscc: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(200))
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprises.id", ondelete="SET NULL"), nullable=True
    )


class ProgrammeMatch(Base):
    """A match made at an event between a registered enterprise and provider, and its outcome."""

    __tablename__ = "programme_event_matches"
    __table_args__ = (
        UniqueConstraint("event_id", "demand_id", "supply_id", name="uq_programme_matches_pair"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("programme_events.id", ondelete="CASCADE"))
    demand_id: Mapped[int] = mapped_column(
        ForeignKey("programme_event_registrations.id", ondelete="CASCADE")
    )
    supply_id: Mapped[int] = mapped_column(
        ForeignKey("programme_event_registrations.id", ondelete="CASCADE")
    )
    topic: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))  # matched | contacted | contracted | dropped
    amount_wan: Mapped[float | None] = mapped_column(Float, nullable=True)
    actor: Mapped[str] = mapped_column(String(64))


class ProgrammeLoan(Base):
    """智能制造贷 / 智改数转 details of a loan in the policy service's loan register."""

    __tablename__ = "programme_loans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_loan_id: Mapped[int] = mapped_column(
        ForeignKey("policy_loans.id", ondelete="CASCADE"), unique=True
    )
    bank_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    product: Mapped[str] = mapped_column(String(16))  # znzz (智能制造贷) | zgsz (智改数转贷)
    purpose: Mapped[str] = mapped_column(Text)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), nullable=True
    )
    county_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class ProgrammeInvestment(Base):
    """The planned split of one project's investment (万元) into hardware, software, services."""

    __tablename__ = "programme_investment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), unique=True
    )
    hardware_wan: Mapped[float] = mapped_column(Float)
    software_wan: Mapped[float] = mapped_column(Float)
    services_wan: Mapped[float] = mapped_column(Float)
    source_file: Mapped[str | None] = mapped_column(String(255), nullable=True)
    source_row: Mapped[int | None] = mapped_column(Integer, nullable=True)
    import_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_batches.id", ondelete="SET NULL"), nullable=True
    )
    actor: Mapped[str] = mapped_column(String(64))
