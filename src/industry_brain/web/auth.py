"""Authentication: argon2 passwords, server-side sessions with rotation, CSRF tokens,
failed-login throttling and hashed, expiring API tokens.

Cookie values and API tokens are random (``secrets``); only their SHA-256 is stored.

- **Passwords** are argon2id with the parameters ``web.password.argon2``; a stored hash with
  other parameters is rehashed at the next successful login, and an unknown username is
  verified against a dummy hash of the same parameters (no timing difference to tell them).
- **Login form**: its CSRF token is stateless — an ``itsdangerous`` signature (key
  ``IB_SECRET_KEY``) of a random nonce that also sits in the ``ib_login`` cookie — so an
  anonymous visit writes nothing to the store.
- **Throttling** (settings ``IB_LOGIN_*``): a username whose failures from all addresses reach
  ``login_user_max_failures`` in the window waits a doubling backoff before any further attempt;
  an address with ``login_max_failures`` failures for the username, or
  ``login_address_max_failures`` for all usernames, is locked, except that a correct password
  still passes while the username's own count is below ``login_user_max_failures``.
- **API tokens** (``ibt_``) expire after ``days`` (default ``web.tokens.default_days``, at most
  ``web.tokens.max_days``).
"""

from __future__ import annotations

import hashlib
import math
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Select, bindparam, delete, func, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core.errors import IBError, Location, ValidationError
from industry_brain.store.audit import record
from industry_brain.store.db import data_dir
from industry_brain.store.models import User
from industry_brain.web.models import ApiToken, LoginAttempt, WebSession
from industry_brain.web.settings import Settings

SESSION_COOKIE = "ib_session"
LOGIN_COOKIE = "ib_login"  # the nonce the login form's CSRF token signs
TOKEN_PREFIX = "ibt_"
_DUMMY_PASSWORD = "industry-brain-no-such-user"


class AuthError(IBError):
    """Not signed in, bad credentials or bad token (HTTP 401)."""


class Throttled(IBError):
    """Too many failed logins for this username or from this address (HTTP 429)."""


class CsrfError(IBError):
    """A form or request without the session's CSRF token (HTTP 403)."""


# -- passwords ---------------------------------------------------------------------------------
def argon2_parameters(on: date | None = None) -> dict[str, int]:
    """The argon2id parameters in force (``web.password.argon2``)."""
    value = parameters.load().get("web.password.argon2", None, on or date.today())
    return {k: int(v) for k, v in dict(value).items()}


@lru_cache(maxsize=4)
def _hasher_for(params: tuple[tuple[str, int], ...]) -> tuple[PasswordHasher, str]:
    hasher = PasswordHasher(**dict(params))
    return hasher, hasher.hash(_DUMMY_PASSWORD)


def password_hasher() -> tuple[PasswordHasher, str]:
    """The hasher of the parameters in force and a dummy hash made with it."""
    return _hasher_for(tuple(sorted(argon2_parameters().items())))


def hash_password(password: str) -> str:
    return password_hasher()[0].hash(password)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SessionInfo:
    """The current browser session (cookie value is never stored)."""

    cookie: str
    row: WebSession
    #: the session's user as read with it (None for an anonymous session)
    user: User | None = None


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
    # the session's user in the same read (one query per request instead of two)
    found = db.execute(_session_stmt(), {"id_hash": digest(cookie), "now": now()}).first()
    return SessionInfo(cookie=cookie, row=found[0], user=found[1]) if found is not None else None


@lru_cache(maxsize=1)
def _session_stmt() -> Select:
    """Built once: every request reads it (a select built per request cost more to build and
    key than to run)."""
    return (
        select(WebSession, User)
        .outerjoin(User, User.id == WebSession.user_id)
        .where(
            WebSession.id_hash == bindparam("id_hash", type_=WebSession.id_hash.type),
            WebSession.expires_at > bindparam("now", type_=WebSession.expires_at.type),
        )
    )


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


def _failures(db: Session, since: datetime, *where: Any) -> tuple[int, datetime | None]:
    """Failed attempts matching ``where`` since ``since``: (count, time of the latest)."""
    n, last = db.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            LoginAttempt.at > since, LoginAttempt.success.is_(False), *where
        )
    ).one()
    if isinstance(last, str):  # SQLite returns max() of a timestamp column as text
        last = datetime.fromisoformat(last)
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return int(n or 0), last


def _throttled(code_minutes: int) -> Throttled:
    return Throttled(
        "auth.throttled",
        f"登录失败次数过多，请 {code_minutes} 分钟后再试",
        f"too many failed logins; try again in {code_minutes} minutes",
        Location(field="username"),
    )


def _backoff(db: Session, settings: Settings, username: str) -> tuple[int, float]:
    """(failures of ``username`` from all addresses in the window, seconds still to wait)."""
    since = now() - timedelta(seconds=settings.login_window_seconds)
    n, last = _failures(db, since, LoginAttempt.username == username)
    if n < settings.login_user_max_failures or last is None:
        return n, 0.0
    step = n - settings.login_user_max_failures
    wait = min(settings.login_backoff_seconds * 2 ** min(step, 30), settings.login_window_seconds)
    return n, max(0.0, wait - (now() - last).total_seconds())


def _address_locked(db: Session, settings: Settings, username: str, ip: str) -> bool:
    since = now() - timedelta(seconds=settings.login_window_seconds)
    pair, _ = _failures(db, since, LoginAttempt.username == username, LoginAttempt.ip == ip)
    if pair >= settings.login_max_failures:
        return True
    address, _ = _failures(db, since, LoginAttempt.ip == ip)
    return address >= settings.login_address_max_failures


def authenticate(
    db: Session,
    settings: Settings,
    username: str,
    password: str,
    ip: str,
    request_id: str | None = None,
) -> User:
    """The active user with these credentials; raises ``Throttled`` or ``AuthError``.

    Every checked attempt is recorded (see the module docstring for the throttling rules). The
    password is verified with the same argon2 work whether or not the username exists, and a
    hash made with other parameters than those in force is replaced at a successful login.
    """
    username = username.strip()[:64]
    user_failures, wait = _backoff(db, settings, username)
    if wait > 0:
        raise _throttled(max(1, math.ceil(wait / 60)))
    locked = _address_locked(db, settings, username, ip)
    hasher, dummy = password_hasher()
    user = db.scalars(select(User).where(User.username == username)).first()
    stored = user.password_hash if user is not None and user.password_hash else None
    ok = False
    try:
        ok = hasher.verify(stored or dummy, password)
    except (VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None and user.active and stored is not None
    if ok and locked and user_failures >= settings.login_user_max_failures:
        ok = False  # a locked address lets a correct password through only for a calm username
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
        if locked:
            raise _throttled(max(1, settings.login_window_seconds // 60))
        raise AuthError(
            "auth.invalid",
            "用户名或密码错误",
            "wrong username or password",
            Location(field="password"),
        )
    if stored is not None and hasher.check_needs_rehash(stored):
        user.password_hash = hasher.hash(password)
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


# -- the login form's stateless CSRF token -----------------------------------------------------
def secret_key(settings: Settings) -> str:
    """``IB_SECRET_KEY``, else a random key kept in ``IB_DATA_DIR/secret_key`` (made once,
    mode 0600, published atomically so that worker processes starting together read the same
    key)."""
    if settings.secret_key:
        return settings.secret_key
    return _stored_key(data_dir() / "secret_key")


@lru_cache(maxsize=8)
def _stored_key(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)  # fails when another worker published its key first
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it or set IB_SECRET_KEY")
    return key


def _login_serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(settings), salt="industry-brain.login-csrf")


def login_nonce(cookie: str | None) -> str:
    """The visitor's login nonce (its ``ib_login`` cookie), or a new one."""
    if cookie and 16 <= len(cookie) <= 64 and cookie.replace("-", "").replace("_", "").isalnum():
        return cookie
    return secrets.token_urlsafe(24)


def login_csrf_token(settings: Settings, nonce: str) -> str:
    """The login form's CSRF token: a timed signature of the visitor's nonce."""
    return str(_login_serializer(settings).dumps(nonce))


def check_login_csrf(settings: Settings, nonce: str | None, supplied: str | None) -> None:
    """Raise ``CsrfError`` unless ``supplied`` signs ``nonce`` and is younger than the
    anonymous session lifetime."""
    try:
        signed = _login_serializer(settings).loads(
            supplied or "", max_age=settings.anonymous_session_minutes * 60
        )
    except BadSignature:
        signed = None
    if not nonce or not isinstance(signed, str) or not secrets.compare_digest(signed, nonce):
        check_csrf(None, None)


# -- API tokens --------------------------------------------------------------------------------
def token_days(days: int | None, on: date | None = None) -> int:
    """A token lifetime in days: ``days`` or ``web.tokens.default_days``; ``token.days`` when
    outside 1 … ``web.tokens.max_days``."""
    params = parameters.load()
    on = on or date.today()
    longest = int(params.get("web.tokens.max_days", None, on))
    days = int(params.get("web.tokens.default_days", None, on)) if days is None else days
    if not 1 <= days <= longest:
        raise ValidationError(
            "token.days",
            f"令牌有效天数应在 1–{longest} 之间（收到 {days}）",
            f"a token's lifetime must be 1–{longest} days (got {days})",
            Location(field="days"),
            days,
        )
    return days


def create_api_token(db: Session, user_id: int, name: str, days: int | None = None) -> str:
    """A new bearer token for ``user_id`` valid ``days`` (see :func:`token_days`); the plain
    value is returned once and never stored."""
    lifetime = token_days(days)
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    db.add(
        ApiToken(
            user_id=user_id,
            name=name[:100],
            prefix=prefix,
            token_hash=digest(token),
            expires_at=now() + timedelta(days=lifetime),
        )
    )
    db.flush()
    return token


def user_for_token(db: Session, token: str, touch: bool = True) -> User:
    """The active user of a bearer token; raises ``AuthError`` for unknown, revoked or expired
    ones. ``touch`` records the use (``last_used_at``)."""
    row = None
    if token.startswith(TOKEN_PREFIX) and len(token) < 200:
        row = db.scalars(select(ApiToken).where(ApiToken.token_hash == digest(token))).first()
    live = (
        row is not None
        and not row.revoked
        and row.expires_at is not None
        and row.expires_at > now()
    )
    user = db.get(User, row.user_id) if live and row is not None else None
    if row is None or user is None or not user.active:
        raise AuthError(
            "auth.token",
            "API 令牌无效、已吊销或已过期",
            "the API token is invalid, revoked or expired",
            Location(field="Authorization"),
        )
    if touch:
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
            "expires_at": t.expires_at.isoformat() if t.expires_at else None,
            "expired": t.expires_at is None or t.expires_at <= now(),
            "revoked": t.revoked,
        }
        for t, u in rows
    ]
