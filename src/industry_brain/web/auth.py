"""Authentication: argon2 passwords, server-side sessions with rotation, CSRF tokens,
failed-login throttling (username + client address) and hashed API tokens.

Cookie values and API tokens are random (``secrets``); only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from industry_brain.core.errors import IBError, Location
from industry_brain.store.audit import record
from industry_brain.store.models import User
from industry_brain.web.models import ApiToken, LoginAttempt, WebSession
from industry_brain.web.settings import Settings

SESSION_COOKIE = "ib_session"
TOKEN_PREFIX = "ibt_"
_hasher = PasswordHasher()
# verified against when the username is unknown, so both cases take the same time
_DUMMY_HASH = _hasher.hash("industry-brain-no-such-user")


class AuthError(IBError):
    """Not signed in, bad credentials or bad token (HTTP 401)."""


class Throttled(IBError):
    """Too many failed logins for this username from this address (HTTP 429)."""


class CsrfError(IBError):
    """A form or request without the session's CSRF token (HTTP 403)."""


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SessionInfo:
    """The current browser session (cookie value is never stored)."""

    cookie: str
    row: WebSession


def create_session(
    db: Session,
    settings: Settings,
    user_id: int | None,
    lang: str | None = None,
    ip: str | None = None,
) -> SessionInfo:
    """A new session row with a fresh cookie value and CSRF token."""
    cookie = secrets.token_urlsafe(32)
    ttl = (
        timedelta(hours=settings.session_hours)
        if user_id is not None
        else timedelta(minutes=settings.anonymous_session_minutes)
    )
    row = WebSession(
        id_hash=digest(cookie),
        user_id=user_id,
        csrf_token=secrets.token_urlsafe(32),
        lang=lang,
        ip=ip,
        expires_at=now() + ttl,
    )
    db.add(row)
    db.flush()
    return SessionInfo(cookie=cookie, row=row)


def load_session(db: Session, cookie: str | None) -> SessionInfo | None:
    """The live session of a cookie value, or ``None``."""
    if not cookie or len(cookie) > 128:
        return None
    row = db.scalars(
        select(WebSession).where(
            WebSession.id_hash == digest(cookie), WebSession.expires_at > now()
        )
    ).first()
    return SessionInfo(cookie=cookie, row=row) if row is not None else None


def end_session(db: Session, cookie: str | None) -> None:
    if cookie:
        db.execute(
            delete(WebSession)
            .where(WebSession.id_hash == digest(cookie))
            .execution_options(synchronize_session=False)
        )


def purge_expired(db: Session) -> None:
    db.execute(
        delete(WebSession)
        .where(WebSession.expires_at <= now())
        .execution_options(synchronize_session=False)
    )


def _throttled(db: Session, settings: Settings, username: str, ip: str) -> bool:
    since = now() - timedelta(seconds=settings.login_window_seconds)
    failures = db.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.username == username,
            LoginAttempt.ip == ip,
            LoginAttempt.at > since,
            LoginAttempt.success.is_(False),
        )
    )
    return (failures or 0) >= settings.login_max_failures


def authenticate(
    db: Session,
    settings: Settings,
    username: str,
    password: str,
    ip: str,
    request_id: str | None = None,
) -> User:
    """The active user with these credentials; raises ``Throttled`` or ``AuthError``.

    Every attempt is recorded; after ``login_max_failures`` failures within the window for this
    username from this address, further attempts are refused without checking the password.
    """
    username = username.strip()[:64]
    if _throttled(db, settings, username, ip):
        minutes = max(1, settings.login_window_seconds // 60)
        raise Throttled(
            "auth.throttled",
            f"登录失败次数过多，请 {minutes} 分钟后再试",
            f"too many failed logins; try again in {minutes} minutes",
            Location(field="username"),
        )
    user = db.scalars(select(User).where(User.username == username)).first()
    ok = False
    try:
        ok = _hasher.verify(
            user.password_hash if user is not None and user.password_hash else _DUMMY_HASH,
            password,
        )
    except (VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None and user.active and bool(user.password_hash)
    db.add(LoginAttempt(username=username, ip=ip, at=now(), success=ok))
    record(
        db,
        username,
        "auth.login" if ok else "auth.login_failed",
        "user",
        username,
        {"ip": ip},
        user_id=user.id if ok and user is not None else None,
        request_id=request_id,
    )
    if not ok or user is None:
        db.commit()  # the failed attempt counts even though the request fails
        raise AuthError(
            "auth.invalid",
            "用户名或密码错误",
            "wrong username or password",
            Location(field="password"),
        )
    return user


def login(
    db: Session,
    settings: Settings,
    user: User,
    previous_cookie: str | None,
    lang: str | None,
    ip: str | None,
) -> SessionInfo:
    """Rotate: the pre-login session is deleted and a new one (new cookie, new CSRF token)
    is created for ``user``."""
    end_session(db, previous_cookie)
    return create_session(db, settings, user.id, lang=lang, ip=ip)


def check_csrf(info: SessionInfo | None, supplied: str | None) -> None:
    """Raise ``CsrfError`` unless ``supplied`` equals the session's token."""
    expected = info.row.csrf_token if info is not None else None
    if not expected or not supplied or not secrets.compare_digest(expected, supplied):
        raise CsrfError(
            "auth.csrf",
            "表单已失效或来源不明（CSRF 校验失败），请刷新页面后重试",
            "the form expired or came from elsewhere (CSRF check failed); reload and retry",
            Location(field="csrf_token"),
        )


# -- API tokens --------------------------------------------------------------------------------
def create_api_token(db: Session, user_id: int, name: str) -> str:
    """A new bearer token for ``user_id``; the plain value is returned once and never stored."""
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    db.add(ApiToken(user_id=user_id, name=name[:100], prefix=prefix, token_hash=digest(token)))
    db.flush()
    return token


def user_for_token(db: Session, token: str) -> User:
    """The active user of a bearer token; raises ``AuthError`` for unknown or revoked ones."""
    row = None
    if token.startswith(TOKEN_PREFIX) and len(token) < 200:
        row = db.scalars(select(ApiToken).where(ApiToken.token_hash == digest(token))).first()
    user = db.get(User, row.user_id) if row is not None and not row.revoked else None
    if row is None or user is None or not user.active:
        raise AuthError(
            "auth.token",
            "API 令牌无效或已吊销",
            "the API token is invalid or revoked",
            Location(field="Authorization"),
        )
    row.last_used_at = now()
    return user


def revoke_api_token(db: Session, token_id: int) -> None:
    row = db.get(ApiToken, token_id)
    if row is not None:
        row.revoked = True


def list_api_tokens(db: Session) -> list[dict]:
    rows = db.execute(
        select(ApiToken, User.username)
        .join(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.id.desc())
    ).all()
    return [
        {
            "id": t.id,
            "username": u,
            "name": t.name,
            "prefix": f"{TOKEN_PREFIX}{t.prefix}_…",
            "created_at": t.created_at.isoformat() if t.created_at else None,
            "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
            "revoked": t.revoked,
        }
        for t, u in rows
    ]
