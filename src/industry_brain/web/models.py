"""Tables of the web platform: server-side sessions, login attempts (throttling), API tokens.

Secrets are never stored: a session row is keyed by the SHA-256 of the cookie value and an API
token row by the SHA-256 of the token, so a copy of the database gives no way in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from industry_brain.store.models import Base, UTCDateTime


class WebSession(Base):
    """A browser session; ``user_id`` is empty before login (anonymous, carries the login CSRF).

    Login deletes the anonymous row and creates a new one (new cookie value: rotation)."""

    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str | None] = mapped_column(String(8), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class LoginAttempt(Base):
    """One login attempt by username and client address (failed ones throttle the next)."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_key", "username", "ip", "at"),
        Index("ix_login_attempts_ip", "ip", "at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    success: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiToken(Base):
    """A bearer token of a bank or machine client; only its SHA-256 and a display prefix kept.
    It answers until ``expires_at`` (at most ``web.tokens.max_days`` after issue)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
