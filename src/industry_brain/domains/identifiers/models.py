"""Tables of the identifiers service (migration 0016): a 工业互联网标识解析 secondary node.

- ``ids_prefixes`` — enterprise prefixes (``88.118.8``): applied for by an enterprise (USCC
  checked against ``enterprises``), approved by an officer; the owner is the only writer.
- ``ids_templates`` — metadata templates per industry, versioned JSON Schema; an identifier pins
  the version it was registered under, so a new version never invalidates old records.
- ``ids_identifiers`` — ``prefix/suffix``, UNIQUE(prefix, suffix): of two concurrent
  registrations of one suffix the database lets exactly one win. ONE row per identifier: its
  typed values after the Handle model (RFC 3651: index, type, data, TTL, timestamp, permission
  public / restricted) are the compact JSON array ``vals`` (migration 0021; see :func:`service.
  values_of`).
- ``ids_history`` — lifecycle of an identifier (registered, updated, withdrawn), append-only; a
  bulk registration writes no row per identifier: its "registered" entry is the upload's
  (``ids_identifiers.upload_id`` → ``ids_uploads``).
- ``ids_uploads`` / ``ids_upload_rows`` — staged bulk registrations, live all at once or not at all.
- ``ids_batteries`` / ``ids_battery_events`` — GB/T 34014 codes, pack ↔ module ↔ cell links,
  second-life codes keeping the original, lifecycle events.
- ``ids_resolutions`` — resolutions answered, counted per day, prefix, template and status
  (``hits``: a process writes its counts in batches; statistics sum them).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
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


class IdPrefix(Base):
    """An enterprise prefix: country . node . enterprise; pending → approved | rejected."""

    __tablename__ = "ids_prefixes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(64), unique=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))  # pending | approved | rejected
    applied_by: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class IdTemplate(Base):
    """A metadata template of an industry (product, batch, equipment, battery), one version."""

    __tablename__ = "ids_templates"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_ids_templates_code_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    industry: Mapped[str] = mapped_column(String(16))  # GB/T 4754 code, e.g. 38
    version: Mapped[int] = mapped_column(Integer)
    schema: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class Identifier(Base):
    """One identifier ``prefix/suffix`` and its template version; live or withdrawn."""

    __tablename__ = "ids_identifiers"
    __table_args__ = (
        UniqueConstraint("prefix", "suffix", name="uq_ids_identifiers_prefix_suffix"),
        # no index on created_at or template_id (0021): every bulk row paid for them, and the
        # statistics that group by them read the whole table anyway
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(64))
    suffix: Mapped[str] = mapped_column(String(255))
    prefix_id: Mapped[int] = mapped_column(
        ForeignKey("ids_prefixes.id", ondelete="CASCADE"), index=True
    )
    template_id: Mapped[int] = mapped_column(ForeignKey("ids_templates.id"))
    status: Mapped[str] = mapped_column(String(16))  # live | withdrawn
    upload_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # the typed values (Handle model, RFC 3651) in index order as one compact JSON array
    # (service.encode_values / values_of): ``[ttl, [type, data], …]`` where a value has the
    # common TTL and is public, ``[type, data, ttl, restricted 0|1]`` otherwise; index =
    # position, timestamp = updated_at (every write replaces all values); migration 0021
    # folded the former ids_records rows in (long form)
    vals: Mapped[str] = mapped_column(Text, server_default="[]")


class IdHistory(Base):
    """Lifecycle of an identifier: registered, updated, withdrawn (who, when, what)."""

    __tablename__ = "ids_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identifier_id: Mapped[int] = mapped_column(
        ForeignKey("ids_identifiers.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class IdUpload(Base):
    """A staged bulk registration: staged → live, or failed with its problems."""

    __tablename__ = "ids_uploads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix_id: Mapped[int] = mapped_column(ForeignKey("ids_prefixes.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # staged | live | failed
    rows: Mapped[int] = mapped_column(Integer)
    problems: Mapped[list] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class IdUploadRow(Base):
    """One staged row of a bulk upload (deleted when the upload goes live or fails)."""

    __tablename__ = "ids_upload_rows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    upload_id: Mapped[int] = mapped_column(
        ForeignKey("ids_uploads.id", ondelete="CASCADE"), index=True
    )
    row: Mapped[int] = mapped_column(Integer)
    suffix: Mapped[str] = mapped_column(String(255))
    template_id: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSON)


class Battery(Base):
    """A GB/T 34014 coded pack, module or cell; ``parent_code`` links cell → module → pack;
    a second-life product has its own code and keeps ``original_code``."""

    __tablename__ = "ids_batteries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    product_type: Mapped[str] = mapped_column(String(1))  # P | M | C
    chemistry: Mapped[str] = mapped_column(String(1))
    manufacturer: Mapped[str] = mapped_column(String(3))
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    parent_code: Mapped[str | None] = mapped_column(String(24), nullable=True, index=True)
    original_code: Mapped[str | None] = mapped_column(String(24), nullable=True, index=True)
    identifier_id: Mapped[int | None] = mapped_column(
        ForeignKey("ids_identifiers.id", ondelete="SET NULL"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(16))  # last lifecycle event
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class BatteryEvent(Base):
    """produced → packed → installed (VIN) → retired → second_life → recycled; actor and date."""

    __tablename__ = "ids_battery_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    battery_id: Mapped[int] = mapped_column(
        ForeignKey("ids_batteries.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(16))
    on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(100))
    vin: Mapped[str | None] = mapped_column(String(17), nullable=True, index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class IdResolution(Base):
    """A resolution answered by this node (status 200/303/400/404/410)."""

    __tablename__ = "ids_resolutions"
    __table_args__ = (Index("ix_ids_resolutions_day", "day", "prefix"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    prefix: Mapped[str] = mapped_column(String(64))
    template_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    status: Mapped[int] = mapped_column(Integer)
    # answers of this kind counted in one process before the row was written (migration 0020)
    hits: Mapped[int] = mapped_column(Integer, server_default="1", default=1)


class IdDelegation(Base):
    """The owner of a prefix lets a provider user (role ``provider``) write under it until
    ``expires_at`` or revocation (migration 0020); refusals outside it are audited."""

    __tablename__ = "ids_delegations"
    __table_args__ = (Index("ix_ids_delegations_prefix_user", "prefix_id", "provider_user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix_id: Mapped[int] = mapped_column(ForeignKey("ids_prefixes.id", ondelete="CASCADE"))
    provider_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
