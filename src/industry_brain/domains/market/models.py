"""Tables of the market service (智改数转服务市场, migration 0017_market).

- providers: the registry (USCC checked, type, service areas as region codes, staff), their
  recognitions (领军服务机构, 优秀服务商 … with year, issuer and expiry) and the provider users
  (a user of role ``provider`` belongs to one provider);
- solutions: one row per solution (its provider, the published version, the newest version) and
  one immutable row per version (title, CMMM sub-domains it improves, GB/T 4754 industries, firm
  sizes, price range in 万元, delivery days, reference cases). An edit adds a version; an officer
  approves (publishes) or rejects it; older versions stay readable;
- the search index: the published version's text segmented by jieba, one row per (token,
  solution) with the token's count;
- leads: an enterprise's request to contact a provider (about a solution), its outcome
  (requested → contacted → contracted with the amount → delivered, or declined) and the rating
  the contracting enterprise gives once after delivery;
- match runs (migration 0019_market_matches): the batch matching of every enterprise published
  as a run (date, year, parameter version, the diagnosis inputs it read) with one row per rank
  (solution and version, provider, score and the explanation's parts), the rows of the result
  table ``result_market_matches``.
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


class MarketProvider(Base):
    """A 智改数转 service provider (服务商)."""

    __tablename__ = "market_providers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    regions: Mapped[list] = mapped_column(JSON, default=list)
    staff: Mapped[int] = mapped_column(Integer, default=0)
    contact: Mapped[str | None] = mapped_column(String(100), nullable=True)
    intro: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class MarketRecognition(Base):
    """A recognition of a provider (e.g. 智能制造领军服务机构 2024, issued by a bureau)."""

    __tablename__ = "market_recognitions"
    __table_args__ = (Index("ix_market_recognitions_provider", "provider_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("market_providers.id"))
    kind: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    issuer: Mapped[str] = mapped_column(String(100))
    expires: Mapped[date | None] = mapped_column(Date, nullable=True)


class MarketProviderUser(Base):
    """Which provider a user of role ``provider`` acts for."""

    __tablename__ = "market_provider_users"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("market_providers.id"))


class MarketSolution(Base):
    """A solution: its provider, its newest version and the version in the public catalog."""

    __tablename__ = "market_solutions"
    __table_args__ = (
        Index("ix_market_solutions_provider", "provider_id"),
        Index("ix_market_solutions_status", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("market_providers.id"))
    status: Mapped[str] = mapped_column(String(16))  # pending | published | rejected
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    published_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class MarketSolutionVersion(Base):
    """One immutable version of a solution, with the officer's review."""

    __tablename__ = "market_solution_versions"
    __table_args__ = (
        UniqueConstraint("solution_id", "version", name="uq_market_solution_versions_solution_id"),
        Index("ix_market_solution_versions_review", "review_status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    solution_id: Mapped[int] = mapped_column(ForeignKey("market_solutions.id"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    subdomains: Mapped[list] = mapped_column(JSON, default=list)
    industries: Mapped[list] = mapped_column(JSON, default=list)
    sizes: Mapped[list] = mapped_column(JSON, default=list)
    price_min: Mapped[float] = mapped_column(Float)
    price_max: Mapped[float] = mapped_column(Float)
    delivery_days: Mapped[int] = mapped_column(Integer)
    cases: Mapped[list] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(200))
    review_status: Mapped[str] = mapped_column(String(16))  # pending | approved | rejected
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class MarketSearchToken(Base):
    """The search index: a jieba token of a published solution and its count."""

    __tablename__ = "market_search_tokens"
    __table_args__ = (Index("ix_market_search_tokens_solution", "solution_id"),)
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    solution_id: Mapped[int] = mapped_column(ForeignKey("market_solutions.id"), primary_key=True)
    tf: Mapped[int] = mapped_column(Integer)


class MarketLead(Base):
    """An enterprise's request to contact a provider, and its outcome."""

    __tablename__ = "market_leads"
    __table_args__ = (
        Index("ix_market_leads_provider", "provider_id", "status"),
        Index("ix_market_leads_enterprise", "enterprise_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("market_providers.id"))
    solution_id: Mapped[int | None] = mapped_column(
        ForeignKey("market_solutions.id"), nullable=True
    )
    solution_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # requested | contacted | contracted | delivered | declined
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    amount: Mapped[float | None] = mapped_column(Float, nullable=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    contacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    contracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class MarketRating(Base):
    """The contracting enterprise's rating of a delivered contract (once per lead)."""

    __tablename__ = "market_ratings"
    __table_args__ = (
        UniqueConstraint("lead_id", name="uq_market_ratings_lead_id"),
        Index("ix_market_ratings_provider", "provider_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("market_leads.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("market_providers.id"))
    enterprise_id: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    rated_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class MarketMatchRun(Base):
    """One published batch matching of every enterprise against the published catalog."""

    __tablename__ = "market_match_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    on_date: Mapped[date] = mapped_column(Date)
    year: Mapped[int] = mapped_column(Integer)
    parameter_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="published")
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    inputs: Mapped[dict] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class MarketMatch(Base):
    """One ranked solution of one enterprise in a match run, with the explanation's parts:
    ``weak`` lists the weak sub-domains the solution covers as ``code:score`` joined by ``;``."""

    __tablename__ = "market_matches"
    __table_args__ = (Index("ix_market_matches_run_enterprise", "run_id", "enterprise_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("market_match_runs.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)
    solution_id: Mapped[int] = mapped_column(Integer)
    solution_version: Mapped[int] = mapped_column(Integer)
    provider_id: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    cover: Mapped[float] = mapped_column(Float)
    industry_fit: Mapped[bool] = mapped_column(Boolean)
    cases: Mapped[int] = mapped_column(Integer)
    area: Mapped[bool] = mapped_column(Boolean)
    rating: Mapped[float | None] = mapped_column(Float, nullable=True)
    ratings: Mapped[int] = mapped_column(Integer, default=0)
    weak: Mapped[str] = mapped_column(String(400), default="")
    target_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    diagnosis_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
