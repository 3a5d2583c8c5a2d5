"""Tables of the carbon service (工业碳效码): accounting runs and results, zero-carbon inputs,
issued codes, bank consents and API tokens, and the 碳效贷 loan register.

Signing keys are not stored here: the private key lives only in ``$IB_DATA_DIR/keys`` (mode
0600) and codes are verified offline from the public key file.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
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


class CarbonRun(Base):
    """One accounting run (核算批次): year, engine, parameter version and the snapshot's batches."""

    __tablename__ = "carbon_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    engine: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(32))
    parameter_version: Mapped[str] = mapped_column(String(32))
    snapshot_path: Mapped[str] = mapped_column(String(500))
    snapshot_created_at: Mapped[str] = mapped_column(String(40))
    batch_ids: Mapped[list] = mapped_column(JSON, default=list)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class CarbonResult(Base):
    """碳效评价结果: one enterprise × year of a run, with every intermediate figure.

    ``method`` is ``huzhou_2021`` (规上, over value added) or ``proxy_below_size`` (规下, over
    revenue or tax). ``status`` is ``graded`` or the reason it is not (``VA_NONPOSITIVE``,
    ``BASE_NONPOSITIVE``, ``NO_ENERGY_DATA``, ``INDUSTRY_AVG_NONPOSITIVE``, ``NO_INDUSTRY``).
    """

    __tablename__ = "carbon_results"
    __table_args__ = (
        UniqueConstraint("run_id", "enterprise_id", name="uq_carbon_results_enterprise"),
        Index("ix_carbon_results_lookup", "enterprise_id", "year"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("carbon_runs.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(32))
    above_scale: Mapped[bool] = mapped_column(Boolean)
    county_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    industry_key: Mapped[str | None] = mapped_column(String(4), nullable=True)
    peer_region: Mapped[str | None] = mapped_column(String(6), nullable=True)
    co2_coal: Mapped[float] = mapped_column(Float, default=0.0)
    co2_oil: Mapped[float] = mapped_column(Float, default=0.0)
    co2_gas: Mapped[float] = mapped_column(Float, default=0.0)
    co2_other_fuel: Mapped[float] = mapped_column(Float, default=0.0)
    heat_gj: Mapped[float | None] = mapped_column(Float, nullable=True)
    co2_heat: Mapped[float] = mapped_column(Float, default=0.0)
    electricity_item: Mapped[str | None] = mapped_column(String(32), nullable=True)
    electricity_kwh: Mapped[float | None] = mapped_column(Float, nullable=True)
    onsite_pv_kwh: Mapped[float] = mapped_column(Float, default=0.0)
    green_power_kwh: Mapped[float] = mapped_column(Float, default=0.0)
    grid_factor: Mapped[float | None] = mapped_column(Float, nullable=True)
    co2_electricity: Mapped[float] = mapped_column(Float, default=0.0)
    e_energy: Mapped[float | None] = mapped_column(Float, nullable=True)
    e_zero_carbon: Mapped[float] = mapped_column(Float, default=0.0)
    e_sinks: Mapped[float] = mapped_column(Float, default=0.0)
    co2_net: Mapped[float | None] = mapped_column(Float, nullable=True)
    denominator_item: Mapped[str] = mapped_column(String(32))
    denominator: Mapped[float | None] = mapped_column(Float, nullable=True)
    intensity: Mapped[float | None] = mapped_column(Float, nullable=True)
    industry_intensity: Mapped[float | None] = mapped_column(Float, nullable=True)
    industry_peers: Mapped[int | None] = mapped_column(Integer, nullable=True)
    industry_q25: Mapped[float | None] = mapped_column(Float, nullable=True)
    k_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    level: Mapped[str | None] = mapped_column(String(8), nullable=True)
    grade: Mapped[int | None] = mapped_column(Integer, nullable=True)
    label: Mapped[str | None] = mapped_column(String(32), nullable=True)
    neutral_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    reduction_to_average: Mapped[float | None] = mapped_column(Float, nullable=True)
    reduction_to_q25: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(32))


class CarbonResultLine(Base):
    """One fuel or heat line of a result: quantity × factor = CO2 (the explanation's arithmetic)."""

    __tablename__ = "carbon_result_lines"
    __table_args__ = (Index("ix_carbon_result_lines_lookup", "run_id", "enterprise_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("carbon_runs.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(String(64))
    fuel_group: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    factor: Mapped[float] = mapped_column(Float)
    co2: Mapped[float] = mapped_column(Float)


class CarbonAdjustment(Base):
    """Zero-carbon electricity (绿电交易 ``green_power``, 自发自用光伏 ``onsite_pv``, kWh) and
    carbon sinks (碳汇/碳封存 ``sink``, tCO2) of an enterprise and year, entered with a source."""

    __tablename__ = "carbon_adjustments"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "year", "kind", name="uq_carbon_adjustments_kind"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(200))
    entered_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class CarbonCode(Base):
    """An issued 碳效码 (the signed payload), for the issuance register."""

    __tablename__ = "carbon_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    result_id: Mapped[int] = mapped_column(ForeignKey("carbon_results.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(8))
    grade: Mapped[int] = mapped_column(Integer)
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    key_id: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    issued_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class BankConsent(Base):
    """企业授权: an enterprise lets a named bank read its grade (scopes) until ``expires_on``."""

    __tablename__ = "carbon_consents"
    __table_args__ = (Index("ix_carbon_consents_pair", "enterprise_id", "bank_user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    bank_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(String(200), default="")
    granted_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    granted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class BankToken(Base):
    """A bank's API token: only its SHA-256 hash is stored; the token is shown once."""

    __tablename__ = "carbon_bank_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class CarbonLoan(Base):
    """碳效贷 register: a loan a bank reports, with the grade it relied on (checked)."""

    __tablename__ = "carbon_loans"
    __table_args__ = (
        UniqueConstraint("bank_user_id", "reference", name="uq_carbon_loans_reference"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    reference: Mapped[str] = mapped_column(String(64))
    product_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    amount_wan: Mapped[float] = mapped_column(Float)
    rate_pct: Mapped[float] = mapped_column(Float)
    granted_on: Mapped[date] = mapped_column(Date)
    term_months: Mapped[int | None] = mapped_column(Integer, nullable=True)
    grade: Mapped[int] = mapped_column(Integer)
    grade_year: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(8))
    county_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("carbon_consents.id"))
    reported_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
