"""Tables of the operational store (SQLite by default, PostgreSQL in production).

Every figure about an enterprise is a row of ``facts`` with its import batch and the file, sheet
and row it came from; a corrected re-import points the old row at the new one through
``superseded_by`` and keeps it as history.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from industry_brain.store import replay

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC ``datetime``.

    PostgreSQL returns ``timestamptz`` in the session's time zone and SQLite returns naive
    values (``CURRENT_TIMESTAMP`` is UTC); without this type the same row would read differently
    on the two stores. Naive values written by code are taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Region(Base):
    """行政区划: a GB/T 2260 division (province, city, county) or a 统计用区划 unit (a
    statistics-only county-level unit such as a development zone, or a 乡镇街道 town with a
    9-digit code).

    One row per code, describing its latest incarnation; ``valid_to`` is set when the code is
    retired. The dated history (names, successors) is in :class:`RegionHistory`.
    """

    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))  # province | city | county | town
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("regions.code"), nullable=True, index=True
    )
    valid_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    # gbt2260 (administrative division) | nbs (统计用区划代码 only: towns, development zones)
    source: Mapped[str] = mapped_column(String(16), default="gbt2260")


class RegionHistory(Base):
    """One incarnation of a GB/T 2260 code: its name and level from ``valid_from`` (year,
    inclusive) to ``valid_to`` (year, exclusive; NULL while in use) and the codes it passed to.

    ``successors`` lists the codes that took the unit over when it ended (``;``-separated);
    ``transfers`` lists partial hand-overs while it existed (``code[year]``). Rows are only ever
    added or given an end year by a newer edition, never rewritten.
    """

    __tablename__ = "region_history"
    __table_args__ = (UniqueConstraint("code", "valid_from", name="uq_region_history_code_from"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), index=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    province: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prefecture: Mapped[str | None] = mapped_column(String(64), nullable=True)
    valid_from: Mapped[int] = mapped_column(Integer)
    valid_to: Mapped[int | None] = mapped_column(Integer, nullable=True)
    successors: Mapped[str | None] = mapped_column(String(200), nullable=True)
    transfers: Mapped[str | None] = mapped_column(String(300), nullable=True)
    edition: Mapped[str] = mapped_column(String(64))


class Industry(Base):
    """国民经济行业分类 GB/T 4754-2017 code (section letter, division, group or class)."""

    __tablename__ = "industries"
    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(16))  # section | division | group | class
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("industries.code"), nullable=True)
    standard: Mapped[str] = mapped_column(String(32), default="GB/T 4754-2017")


class Industry2011(Base):
    """A GB/T 4754-2011 code, kept to read files of data years before 2018 (mapped to 2017)."""

    __tablename__ = "industries_2011"
    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(String(4), nullable=True)


class ReferenceEdition(Base):
    """A reference file loaded into the store: which table, which edition, its SHA-256."""

    __tablename__ = "reference_editions"
    __table_args__ = (UniqueConstraint("table_name", "sha256", name="uq_reference_editions_file"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(32))
    edition: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer, default=0)
    ended: Mapped[int] = mapped_column(Integer, default=0)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class Enterprise(Base):
    """一企一档: one enterprise, keyed by its unified social credit code (USCC)."""

    __tablename__ = "enterprises"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    address: Mapped[str | None] = mapped_column(String(300), nullable=True)
    county_code: Mapped[str | None] = mapped_column(
        ForeignKey("regions.code"), nullable=True, index=True
    )
    industry_code: Mapped[str | None] = mapped_column(
        ForeignKey("industries.code"), nullable=True, index=True
    )
    # 乡镇街道: the 9-digit 统计用区划代码 of the town or street, when the registration names it
    town_code: Mapped[str | None] = mapped_column(
        ForeignKey("regions.code"), nullable=True, index=True
    )
    registration_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(32), default="存续")
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_batches.id", use_alter=True), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), server_default=func.now(), onupdate=func.now()
    )

    names: Mapped[list[EnterpriseName]] = relationship(
        back_populates="enterprise", cascade="all, delete-orphan", order_by="EnterpriseName.id"
    )
    scales: Mapped[list[EnterpriseScale]] = relationship(
        back_populates="enterprise", cascade="all, delete-orphan", order_by="EnterpriseScale.year"
    )

    @property
    def former_names(self) -> list[str]:
        return [n.name for n in self.names if n.kind == "former"]


class EnterpriseName(Base):
    """Current and former names (曾用名) used for matching rows that lack a USCC."""

    __tablename__ = "enterprise_names"
    __table_args__ = (UniqueConstraint("enterprise_id", "name", name="uq_enterprise_names_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), index=True)
    normalized: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="current")  # current | former
    enterprise: Mapped[Enterprise] = relationship(back_populates="names")


class EnterpriseScale(Base):
    """规上/规下 flag of an enterprise for a year (规模以上工业企业 directory)."""

    __tablename__ = "enterprise_scales"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "year", name="uq_enterprise_scales_year"),
        # latest 规上 year and the 规上/规下 filter of the search and the cockpit
        Index("ix_enterprise_scales_year", "year", "above_scale", "enterprise_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    above_scale: Mapped[bool] = mapped_column(Boolean)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), nullable=True)
    enterprise: Mapped[Enterprise] = relationship(back_populates="scales")


class ImportBatch(Base):
    """One department file imported (or tried): the unit of atomicity and lineage."""

    __tablename__ = "import_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # registration, stats_annual, tax, power...
    department: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(String(300))
    file_hash: Mapped[str] = mapped_column(String(64), index=True)
    sheet: Mapped[str | None] = mapped_column(String(100), nullable=True)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # committed | partial | rejected
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_loaded: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", use_alter=True), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class ImportProblem(Base):
    """A problem found in a batch: severity, code, zh/en message, cell location, raw value."""

    __tablename__ = "import_problems"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"))
    severity: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(64))
    message_zh: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    sheet: Mapped[str | None] = mapped_column(String(100), nullable=True)
    row: Mapped[int | None] = mapped_column(Integer, nullable=True)
    column: Mapped[str | None] = mapped_column(String(100), nullable=True)
    value: Mapped[str | None] = mapped_column(Text, nullable=True)
    uscc: Mapped[str | None] = mapped_column(String(18), nullable=True)


class Fact(Base):
    """One figure: enterprise × period × item, in the store unit, with full lineage.

    ``month`` is 0 for a yearly figure. ``detail`` distinguishes several figures of one item
    in a period (power account number, land parcel, tax type, fuel...). A superseded row keeps
    its value and points at its successor.
    """

    __tablename__ = "facts"
    __table_args__ = (
        # the only B-tree index besides the primary key: every extra index costs bulk imports
        # time. On PostgreSQL it also carries what the profile's yearly figures read (migration
        # 0027), so one enterprise's figures come from a few adjacent index pages (an index-only
        # scan) instead of one heap page per figure, scattered in import order — and, with
        # ``month`` (0028), every column a warehouse snapshot reads, bucket by bucket of
        # enterprise ids
        Index(
            "ix_facts_lookup",
            "enterprise_id",
            "year",
            "item",
            postgresql_include=["source_dept", "value", "unit", "superseded_by", "month"],
        ),
        # no index of the batch (0029 dropped 0026's BRIN: it cost 9 % of every COPY into the
        # table): a batch's facts are read by the primary key in the id range the batch
        # records (``store.facts.batch_ranges``)
        # the period's domain, on PostgreSQL (0030): a snapshot's export packs enterprise,
        # year and month into one integer (``warehouse.snapshot.PACKED_KEY``)
        CheckConstraint(
            "year BETWEEN 1900 AND 9999 AND month BETWEEN 0 AND 12", name="period"
        ).ddl_if(dialect="postgresql"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer, default=0)
    item: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(64), default="")
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    unit: Mapped[str] = mapped_column(String(32))
    source_dept: Mapped[str] = mapped_column(String(32))
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"))
    # lineage: the batch names the file; sheet, row and column locate the cell
    sheet: Mapped[str | None] = mapped_column(String(100), nullable=True)
    row: Mapped[int | None] = mapped_column(Integer, nullable=True)
    column: Mapped[str | None] = mapped_column(String(100), nullable=True)
    raw_value: Mapped[str | None] = mapped_column(String(100), nullable=True)
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("facts.id"), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class LandParcel(Base):
    """宗地 from 自然资源: leased land counts for the lessee (the enterprise it is linked to)."""

    __tablename__ = "land_parcels"
    __table_args__ = (UniqueConstraint("parcel_no", "enterprise_id", name="uq_land_parcels_owner"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parcel_no: Mapped[str] = mapped_column(String(64), index=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    holder_name: Mapped[str] = mapped_column(String(200))
    area_mu: Mapped[float] = mapped_column(Float)
    land_use: Mapped[str | None] = mapped_column(String(64), nullable=True)
    tenure: Mapped[str] = mapped_column(String(16))  # 出让 | 租赁
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"))
    row: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PowerAccount(Base):
    """电力户号 linked to an enterprise (one enterprise may have several)."""

    __tablename__ = "power_accounts"
    account_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_name: Mapped[str] = mapped_column(String(200))
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class MatchAlias(Base):
    """A confirmed match (name spelling → enterprise), remembered for the next import."""

    __tablename__ = "match_aliases"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_match_aliases_value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # name | power_account
    value: Mapped[str] = mapped_column(String(200))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class MatchReview(Base):
    """Review queue: a row whose enterprise could not be determined, with candidates."""

    __tablename__ = "match_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"))
    sheet: Mapped[str | None] = mapped_column(String(100), nullable=True)
    row: Mapped[int | None] = mapped_column(Integer, nullable=True)
    raw_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    raw_uscc: Mapped[str | None] = mapped_column(String(40), nullable=True)
    raw_account: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reason: Mapped[str] = mapped_column(String(32))  # unknown | ambiguous
    candidates: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | confirmed | dismissed
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), nullable=True)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # kind:file hash:sheet:row — one entry per file content and row (migration 0011)
    identity: Mapped[str | None] = mapped_column(
        String(250), nullable=True, unique=True, index=True
    )


class Role(Base):
    """A role (admin, city_officer, county_officer, agent, enterprise, bank)."""

    __tablename__ = "roles"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    zh: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")


class User(Base):
    """A person or machine client; scope columns say what data the role reaches."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(ForeignKey("roles.name"))
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    county_code: Mapped[str | None] = mapped_column(
        ForeignKey("regions.code"), nullable=True, index=True
    )
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), nullable=True)
    organisation: Mapped[str | None] = mapped_column(String(100), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class AgentAssignment(Base):
    """服务专员 assignment: which enterprises an agent serves."""

    __tablename__ = "agent_assignments"
    __table_args__ = (UniqueConstraint("user_id", "enterprise_id", name="uq_agent_assignments"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))


class Project(Base):
    """项目钉 investment project with planned and actual dates of the six stages.

    ``stage`` is the last stage reached (签约 signed … 达产 at_capacity); its ``actual_*`` date and
    those of every earlier stage are set, later ones are empty. Changes go through
    ``industry_brain.domains.projects.stages`` (forward-only advance, audited corrections);
    ``version`` makes a concurrent edit fail instead of overwriting (optimistic locking).
    """

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    investor_uscc: Mapped[str] = mapped_column(String(18), index=True)
    # name of the investor when it is not (yet) in the enterprise registry (a new company)
    investor_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprises.id"), nullable=True, index=True
    )
    county_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    industry_code: Mapped[str | None] = mapped_column(ForeignKey("industries.code"), nullable=True)
    project_type: Mapped[str] = mapped_column(String(32), default="industrial")
    planned_investment: Mapped[float] = mapped_column(Float)  # 万元
    planned_land_mu: Mapped[float | None] = mapped_column(Float, nullable=True)
    programs: Mapped[list] = mapped_column(JSON, default=list)
    # last reached stage (signed … at_capacity)
    stage: Mapped[str] = mapped_column(String(16), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    land_transfer_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    planned_signed: Mapped[date | None] = mapped_column(Date, nullable=True)
    planned_started: Mapped[date | None] = mapped_column(Date, nullable=True)
    planned_completed: Mapped[date | None] = mapped_column(Date, nullable=True)
    planned_producing: Mapped[date | None] = mapped_column(Date, nullable=True)
    planned_above_scale: Mapped[date | None] = mapped_column(Date, nullable=True)
    planned_at_capacity: Mapped[date | None] = mapped_column(Date, nullable=True)
    actual_signed: Mapped[date | None] = mapped_column(Date, nullable=True)
    actual_started: Mapped[date | None] = mapped_column(Date, nullable=True)
    actual_completed: Mapped[date | None] = mapped_column(Date, nullable=True)
    actual_producing: Mapped[date | None] = mapped_column(Date, nullable=True)
    actual_above_scale: Mapped[date | None] = mapped_column(Date, nullable=True)
    actual_at_capacity: Mapped[date | None] = mapped_column(Date, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())

    __mapper_args__: ClassVar[dict] = {"version_id_col": version}


class AuditLog(Base):
    """Who did or saw what, when: every sensitive read and every write."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


def _load_domain_models() -> None:
    """Import every ``industry_brain.domains.<name>.models`` so that ``Base.metadata`` (used by
    Alembic and the tests) knows all tables. Domain model modules import ``Base`` from here."""
    import importlib
    import importlib.util
    import pkgutil

    import industry_brain.domains as domains

    for info in pkgutil.iter_modules(domains.__path__):
        name = f"industry_brain.domains.{info.name}.models"
        if info.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    importlib.import_module("industry_brain.web.models")


_load_domain_models()


@event.listens_for(ImportBatch, "before_insert")
def _stamp_replayed_batch(_mapper: object, _connection: object, batch: ImportBatch) -> None:
    """A batch made while a store replays another day (the demo) is stamped on that day."""
    day = replay.replay_day()
    if batch.created_at is None and day is not None:
        batch.created_at = replay.stamp_on(day)
