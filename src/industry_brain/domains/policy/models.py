"""Tables of the policy service (migration 0013): runs and their results with traces, loans
reported for interest subsidies, and the 政策直兑 ledger — officer reviews (exclusions with a
reason), four-eyes approvals and the append-only payouts.

A payout is written once per (policy, period, enterprise, entity) — the entity is the project or
loan (``project:12``, ``loan:3``) or empty for the enterprise itself — by a database constraint,
so approving twice, concurrently or after a re-run never pays twice. A reversal is a new row of
kind ``reversal`` (negative amount, with a reason) that names the payout it reverses.
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


class PolicyRun(Base):
    """政策测算批次: every enterprise × every policy in force for a data year, or a simulation."""

    __tablename__ = "policy_runs"
    __table_args__ = (Index("ix_policy_runs_year_kind", "year", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # run | simulation
    engine: Mapped[str] = mapped_column(String(16))
    parameter_version: Mapped[str] = mapped_column(String(32))
    policies: Mapped[list] = mapped_column(JSON, default=list)
    input_batch_ids: Mapped[list] = mapped_column(JSON, default=list)
    input_runs: Mapped[list] = mapped_column(JSON, default=list)
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class PolicyResult(Base):
    """One (policy, enterprise, entity) of a run: status, amount, paid after rationing, trace."""

    __tablename__ = "policy_results"
    __table_args__ = (
        Index("ix_policy_results_run_policy", "run_id", "policy"),
        Index("ix_policy_results_enterprise", "enterprise_id", "run_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("policy_runs.id", ondelete="CASCADE"))
    policy: Mapped[str] = mapped_column(String(64))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(String(32))
    county_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # eligible | stacked | unknown
    amount: Mapped[float | None] = mapped_column(Float, nullable=True)
    paid: Mapped[float | None] = mapped_column(Float, nullable=True)
    trace: Mapped[dict] = mapped_column(JSON, default=dict)


class PolicyLoan(Base):
    """A loan reported for an interest subsidy or a 碳效贷 discount (amounts in 万元)."""

    __tablename__ = "policy_loans"
    __table_args__ = (UniqueConstraint("bank", "reference", name="uq_policy_loans_reference"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    bank: Mapped[str] = mapped_column(String(100))
    reference: Mapped[str] = mapped_column(String(64))
    amount: Mapped[float] = mapped_column(Float)
    rate: Mapped[float] = mapped_column(Float)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(String(32))
    reported_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class PolicyReview(Base):
    """An officer's exclusion (or re-inclusion) of one result from a payout list, with a reason."""

    __tablename__ = "policy_reviews"
    __table_args__ = (Index("ix_policy_reviews_run_policy", "run_id", "policy"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("policy_runs.id", ondelete="CASCADE"))
    policy: Mapped[str] = mapped_column(String(64))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))  # exclude | include
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class PolicyApproval(Base):
    """A payout list submitted by one officer and approved by another (four eyes)."""

    __tablename__ = "policy_approvals"
    __table_args__ = (UniqueConstraint("run_id", "policy", name="uq_policy_approvals_list"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("policy_runs.id", ondelete="CASCADE"))
    policy: Mapped[str] = mapped_column(String(64))
    period: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # submitted | approved
    total: Mapped[float] = mapped_column(Float)
    submitted_by: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class PolicyPayout(Base):
    """The append-only 政策直兑 ledger: one payout per (policy, period, enterprise, entity);
    a reversal is a second row of kind ``reversal`` naming the payout it reverses."""

    __tablename__ = "policy_payouts"
    __table_args__ = (
        UniqueConstraint(
            "policy", "period", "enterprise_id", "entity", "kind", name="uq_policy_payouts_once"
        ),
        Index("ix_policy_payouts_enterprise", "enterprise_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy: Mapped[str] = mapped_column(String(64))
    period: Mapped[int] = mapped_column(Integer)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # payout | reversal
    amount: Mapped[float] = mapped_column(Float)
    run_id: Mapped[int] = mapped_column(ForeignKey("policy_runs.id"))
    approval_id: Mapped[int | None] = mapped_column(
        ForeignKey("policy_approvals.id"), nullable=True
    )
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("policy_payouts.id"), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    trace: Mapped[dict] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
