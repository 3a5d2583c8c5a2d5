"""Tables of the tiers service (五企培育, migration 0014_tiers).

- runs and results: an evaluation of every enterprise against every tier scheme of a data year
  (``tiers_runs``; one row per enterprise and scheme in ``tiers_results`` with status, points and
  trace; one row per enterprise in ``tiers_levels`` with the highest tier met or recognised and
  the tier newly recognised that year);
- declarations (企业申报): figures the departments do not send, each item with its evidence file
  (stored outside the web root), verified or rejected by an officer with a reason;
- recognised titles (认定名单): the official lists imported with their lineage (file, sheet, row,
  import batch) and validity (3 years by default);
- the cultivation pool (冠军企业培育库) and 一企一策 plans with targets, actions (owner, due date)
  and progress records.
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
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from industry_brain.store.models import Base, UTCDateTime


class TiersRun(Base):
    """梯度评价批次: every enterprise against every scheme in force for a data year."""

    __tablename__ = "tiers_runs"
    __table_args__ = (Index("ix_tiers_runs_year_status", "year", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # published | superseded | draft
    engine: Mapped[str] = mapped_column(String(16))
    parameter_version: Mapped[str] = mapped_column(String(32))
    schemes: Mapped[list] = mapped_column(JSON, default=list)
    input_batch_ids: Mapped[list] = mapped_column(JSON, default=list)
    input_runs: Mapped[list] = mapped_column(JSON, default=list)
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class TiersResult(Base):
    """One (enterprise, scheme) of a run: meets | fails | unknown | candidate, points, trace
    (points per indicator, failing conditions with the gap, missing data and its provider)."""

    __tablename__ = "tiers_results"
    __table_args__ = (
        UniqueConstraint("run_id", "enterprise_id", "scheme", name="uq_tiers_results_row"),
        Index("ix_tiers_results_run_scheme", "run_id", "scheme", "status"),
        Index("ix_tiers_results_enterprise", "enterprise_id", "run_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("tiers_runs.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    scheme: Mapped[str] = mapped_column(String(48))
    tier: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    points: Mapped[float | None] = mapped_column(Float, nullable=True)
    closeness: Mapped[float | None] = mapped_column(Float, nullable=True)
    trace: Mapped[dict] = mapped_column(JSON, default=dict)


class TiersLevel(Base):
    """An enterprise's place in the pipeline for a run's year: the highest tier met (verified
    figures) or recognised, the tier newly recognised that year, and the 创新评动力 score."""

    __tablename__ = "tiers_levels"
    __table_args__ = (
        UniqueConstraint("run_id", "enterprise_id", name="uq_tiers_levels_row"),
        Index("ix_tiers_levels_enterprise", "enterprise_id", "run_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("tiers_runs.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    county_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    industry_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    tier: Mapped[str | None] = mapped_column(String(32), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # recognised | meets | candidate | none
    new_tier: Mapped[str | None] = mapped_column(String(32), nullable=True)
    next_tier: Mapped[str | None] = mapped_column(String(32), nullable=True)
    innovation_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    innovation_rank_industry: Mapped[float | None] = mapped_column(Float, nullable=True)
    innovation_rank_county: Mapped[float | None] = mapped_column(Float, nullable=True)
    trace: Mapped[dict] = mapped_column(JSON, default=dict)


class TiersDeclaration(Base):
    """企业申报: one enterprise's declaration of figures for a data year."""

    __tablename__ = "tiers_declarations"
    __table_args__ = (Index("ix_tiers_declarations_enterprise", "enterprise_id", "year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))  # portal | xlsx
    source_file: Mapped[str | None] = mapped_column(String(255), nullable=True)
    submitted_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class TiersDeclarationItem(Base):
    """One declared figure with its evidence file; ``declared`` until an officer ``verified`` or
    ``rejected`` it (with a reason). Only verified figures count toward a recognised tier."""

    __tablename__ = "tiers_declaration_items"
    __table_args__ = (
        Index("ix_tiers_declaration_items_status", "status"),
        Index("ix_tiers_declaration_items_enterprise", "enterprise_id", "year", "item"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    declaration_id: Mapped[int] = mapped_column(
        ForeignKey("tiers_declarations.id", ondelete="CASCADE")
    )
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    item: Mapped[str] = mapped_column(String(48))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    value_text: Mapped[str | None] = mapped_column(String(255), nullable=True)
    source_row: Mapped[int | None] = mapped_column(Integer, nullable=True)
    evidence_path: Mapped[str | None] = mapped_column(String(255), nullable=True)
    evidence_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    evidence_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    evidence_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="declared")
    verifier: Mapped[str | None] = mapped_column(String(64), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class TiersTitle(Base):
    """A recognised title from an official list (工信部/省 认定名单), its lineage and validity."""

    __tablename__ = "tiers_titles"
    __table_args__ = (
        UniqueConstraint("uscc", "tier", "year", "batch", name="uq_tiers_titles_title"),
        Index("ix_tiers_titles_enterprise", "enterprise_id", "tier"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprises.id", ondelete="SET NULL"), nullable=True
    )
    uscc: Mapped[str] = mapped_column(String(18))
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    tier: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    batch: Mapped[str] = mapped_column(String(32))
    issuer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    valid_until: Mapped[date] = mapped_column(Date)
    source_file: Mapped[str] = mapped_column(String(255))
    source_sheet: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source_row: Mapped[int] = mapped_column(Integer)
    import_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_batches.id", ondelete="SET NULL"), nullable=True
    )
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class TiersPoolEntry(Base):
    """冠军企业培育库: an enterprise put into the cultivation pool by an officer (and removed)."""

    __tablename__ = "tiers_pool"
    __table_args__ = (Index("ix_tiers_pool_enterprise", "enterprise_id", "pool"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    pool: Mapped[str] = mapped_column(String(32))  # champion | ...
    target_tier: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    added_by: Mapped[str] = mapped_column(String(64))
    added_on: Mapped[date] = mapped_column(Date)
    removed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    removed_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class TiersPlan(Base):
    """一企一策 plan (冠军领航计划书) of one enterprise."""

    __tablename__ = "tiers_plans"
    __table_args__ = (Index("ix_tiers_plans_enterprise", "enterprise_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    target_tier: Mapped[str | None] = mapped_column(String(32), nullable=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | signed | closed
    signed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    signed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class TiersPlanTarget(Base):
    """目标: an indicator of the plan with its baseline, target value and date."""

    __tablename__ = "tiers_plan_targets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("tiers_plans.id", ondelete="CASCADE"))
    indicator: Mapped[str] = mapped_column(String(48))
    baseline: Mapped[float | None] = mapped_column(Float, nullable=True)
    baseline_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    target: Mapped[float] = mapped_column(Float)
    due_date: Mapped[date] = mapped_column(Date)


class TiersPlanAction(Base):
    """举措: an action with its owner (agent or department), due date and completion."""

    __tablename__ = "tiers_plan_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("tiers_plans.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    owner_kind: Mapped[str] = mapped_column(String(16))  # agent | department | enterprise
    owner: Mapped[str] = mapped_column(String(100))
    due_date: Mapped[date] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    policy_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class TiersPlanProgress(Base):
    """进展: a value recorded against a target (from the facts as they arrive, or by hand) or a
    note on an action."""

    __tablename__ = "tiers_plan_progress"
    __table_args__ = (Index("ix_tiers_plan_progress_plan", "plan_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("tiers_plans.id", ondelete="CASCADE"))
    target_id: Mapped[int | None] = mapped_column(
        ForeignKey("tiers_plan_targets.id", ondelete="CASCADE"), nullable=True
    )
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("tiers_plan_actions.id", ondelete="CASCADE"), nullable=True
    )
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    source: Mapped[str] = mapped_column(String(16))  # fact | manual
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(64))
