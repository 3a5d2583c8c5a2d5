"""Tables of the 亩均论英雄 service: evaluation runs, results per enterprise and per indicator,
bonus/penalty/veto records (加减分与一票否决) and appeals (异议).

A *run* is one evaluation of a data year: it records the parameter version, the resolved
parameters per county, the input batch ids and the snapshot it read. The published list of a
year is its latest ``published`` run; earlier runs become ``superseded`` and stay as history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from industry_brain.store.models import Base, UTCDateTime


class MujunRun(Base):
    """亩均评价批次: one evaluation of a data year (first evaluation or re-evaluation)."""

    __tablename__ = "mujun_runs"
    __table_args__ = (Index("ix_mujun_runs_year_status", "year", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # evaluation | appeal
    status: Mapped[str] = mapped_column(String(16))  # published | superseded | draft
    engine: Mapped[str] = mapped_column(String(16))  # duckdb | pyspark
    parameter_version: Mapped[str] = mapped_column(String(32))
    # resolved, per county (~50 KB): loaded when read, not with every row that joins its run
    parameters: Mapped[dict] = mapped_column(JSON, default=dict, deferred=True)
    input_batch_ids: Mapped[list] = mapped_column(JSON, default=list)
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    parent_run_id: Mapped[int | None] = mapped_column(ForeignKey("mujun_runs.id"), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class MujunResult(Base):
    """One enterprise's result in a run: inputs, total, ranks and class (A/B/C/D, T = 不参评)."""

    __tablename__ = "mujun_results"
    __table_args__ = (
        UniqueConstraint("run_id", "enterprise_id", name="uq_mujun_results_enterprise"),
        Index("ix_mujun_results_county", "run_id", "county_code", "scope"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("mujun_runs.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(200))
    county_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    industry_code: Mapped[str | None] = mapped_column(String(4), nullable=True)
    division: Mapped[str | None] = mapped_column(String(2), nullable=True)
    year: Mapped[int] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(String(8))  # above (规上) | below (规下)
    evaluated: Mapped[bool] = mapped_column(Boolean)
    exempt_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # inputs in store units (万元, 亩, 人, tce, t, kWh)
    land_mu: Mapped[float | None] = mapped_column(Float, nullable=True)
    tax: Mapped[float | None] = mapped_column(Float, nullable=True)
    value_added: Mapped[float | None] = mapped_column(Float, nullable=True)
    revenue: Mapped[float | None] = mapped_column(Float, nullable=True)
    rd_expense: Mapped[float | None] = mapped_column(Float, nullable=True)
    employees: Mapped[float | None] = mapped_column(Float, nullable=True)
    energy_tce: Mapped[float | None] = mapped_column(Float, nullable=True)
    emissions_t: Mapped[float | None] = mapped_column(Float, nullable=True)
    electricity_kwh: Mapped[float | None] = mapped_column(Float, nullable=True)
    land_use_tax: Mapped[float | None] = mapped_column(Float, nullable=True)
    # arithmetic
    base_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    bonus: Mapped[float] = mapped_column(Float, default=0.0)
    penalty: Mapped[float] = mapped_column(Float, default=0.0)
    veto: Mapped[bool] = mapped_column(Boolean, default=False)
    adjustment_codes: Mapped[list] = mapped_column(JSON, default=list)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    rank_county: Mapped[int | None] = mapped_column(Integer, nullable=True)
    n_county: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rank_industry: Mapped[int | None] = mapped_column(Integer, nullable=True)
    n_industry: Mapped[int | None] = mapped_column(Integer, nullable=True)
    class_code: Mapped[str] = mapped_column(String(2))
    class_rule: Mapped[str] = mapped_column(String(16))  # quota | threshold | veto | exempt


class MujunResultItem(Base):
    """One indicator of one enterprise in a run: value, benchmark, weight, score and how."""

    __tablename__ = "mujun_result_items"
    __table_args__ = (
        UniqueConstraint(
            "run_id", "enterprise_id", "indicator", name="uq_mujun_result_items_indicator"
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("mujun_runs.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    indicator: Mapped[str] = mapped_column(String(32))
    numerator: Mapped[float | None] = mapped_column(Float, nullable=True)
    denominator: Mapped[float | None] = mapped_column(Float, nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    benchmark: Mapped[float | None] = mapped_column(Float, nullable=True)
    benchmark_method: Mapped[str] = mapped_column(String(16))  # fixed | mean | median | aggregate
    benchmark_group: Mapped[str | None] = mapped_column(String(16), nullable=True)
    benchmark_period: Mapped[str | None] = mapped_column(String(16), nullable=True)
    benchmark_n: Mapped[int | None] = mapped_column(Integer, nullable=True)
    weight: Mapped[float] = mapped_column(Float)
    raw_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    cap: Mapped[float | None] = mapped_column(Float, nullable=True)
    capped: Mapped[bool] = mapped_column(Boolean, default=False)
    fill_rule: Mapped[str | None] = mapped_column(String(32), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)


class MujunAdjustment(Base):
    """A bonus, penalty or veto record (高新技术企业, 环保处罚, 重大事故…) for a data year."""

    __tablename__ = "mujun_adjustments"
    __table_args__ = (Index("ix_mujun_adjustments_year", "year", "enterprise_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    year: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[str | None] = mapped_column(String(200), nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class MujunAppeal(Base):
    """异议: an enterprise disputes a figure of a published run; an officer decides it."""

    __tablename__ = "mujun_appeals"
    __table_args__ = (
        Index("ix_mujun_appeals_year", "year", "status"),
        # one open appeal per figure (migration 0012)
        Index(
            "ux_mujun_appeals_open",
            "enterprise_id",
            "year",
            "item",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    year: Mapped[int] = mapped_column(Integer)
    item: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("mujun_runs.id"), nullable=True)
    disputed_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    claimed_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    statement: Mapped[str] = mapped_column(Text)
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|accepted|rejected
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    corrected_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    fact_id: Mapped[int | None] = mapped_column(ForeignKey("facts.id"), nullable=True)
    superseded_fact_ids: Mapped[list] = mapped_column(JSON, default=list)
    new_run_id: Mapped[int | None] = mapped_column(ForeignKey("mujun_runs.id"), nullable=True)
