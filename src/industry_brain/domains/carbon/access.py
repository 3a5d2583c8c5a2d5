"""Bank access with the enterprise's consent (企业授权): API tokens, consents, guarded reads.

Rules:

- Only the enterprise's own user (role ``enterprise`` with its ``enterprise_id``) grants a
  consent, to one named bank user (role ``bank``), with scopes (``grade``: the current grade;
  ``history``: the grade of every year) and an expiry date at most ``carbon.consent.max_days``
  ahead. One active consent per enterprise and bank; change it by revoking and granting again.
- The enterprise's user (or an ``admin``) revokes it; the bank loses access at once.
- A consent holds from its grant date through ``expires_on`` unless revoked.
- A bank calls the API with a token; only the token's SHA-256 hash is stored. Every read of an
  enterprise's grade — allowed or refused — writes an audit entry (``carbon.bank.*``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core import env, parameters
from industry_brain.core import uscc as uscc_mod
from industry_brain.core.errors import ConflictError, IBError, Location, NotFoundError
from industry_brain.domains.carbon.errors import AccessDenied, CarbonError, Unauthorized
from industry_brain.domains.carbon.models import BankConsent, BankToken
from industry_brain.domains.carbon.service import history, result_dict, result_for
from industry_brain.store.audit import record
from industry_brain.store.enterprises import get_by_uscc
from industry_brain.store.models import Enterprise, User

SCOPES = {"grade": "当前碳效等级 current grade", "history": "历年碳效等级 grade history"}
TOKEN_PREFIX = "ibk_"


def _now() -> datetime:
    return datetime.now(UTC)


def get_user(session: Session, username: str, role: str | None = None) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        raise NotFoundError(
            "user.not_found",
            f"没有有效用户“{username}”",
            f"no active user '{username}'",
            Location(field="username"),
            username,
        )
    if role is not None and user.role != role:
        raise CarbonError(
            "carbon.wrong_role",
            f"用户“{username}”的角色是 {user.role}，此处需要 {role}",
            f"user '{username}' has role {user.role}; {role} is needed here",
            Location(field="username"),
            username,
        )
    return user


def enterprise_user(session: Session, ent: Enterprise) -> User:
    """The enterprise's own user account (role ``enterprise``)."""
    user = session.scalars(
        select(User)
        .where(User.role == "enterprise", User.enterprise_id == ent.id, User.active.is_(True))
        .order_by(User.id)
    ).first()
    if user is None:
        raise NotFoundError(
            "carbon.no_enterprise_user",
            f"企业 {ent.uscc} 没有企业用户账号，无法授权",
            f"enterprise {ent.uscc} has no enterprise user account to grant consent",
            Location(field="uscc"),
            ent.uscc,
        )
    return user


# -- tokens -----------------------------------------------------------------------------------
def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session,
    bank_username: str,
    name: str = "",
    days: int | None = None,
    actor: str = "admin",
    today: date | None = None,
) -> tuple[str, BankToken]:
    """A new API token for a bank user: (token shown once, stored row with its hash only)."""
    bank = get_user(session, bank_username, "bank")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    today = today or env.today()
    row = BankToken(
        user_id=bank.id,
        name=name,
        prefix=token[:12],
        token_hash=token_hash(token),
        expires_on=today + timedelta(days=days) if days else None,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "carbon.token.create",
        "user",
        bank.username,
        {"token_id": row.id, "prefix": row.prefix, "expires_on": str(row.expires_on or "")},
    )
    return token, row


def revoke_token(session: Session, token_id: int, actor: str = "admin") -> BankToken:
    row = session.get(BankToken, token_id)
    if row is None:
        raise NotFoundError(
            "carbon.token_not_found",
            f"没有编号为 {token_id} 的令牌",
            f"no token with id {token_id}",
            Location(field="token_id"),
            token_id,
        )
    if row.revoked_at is None:
        row.revoked_at = _now()
    record(session, actor, "carbon.token.revoke", "carbon_token", str(row.id), {})
    session.flush()
    return row


def list_tokens(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(BankToken, User.username).join(User, User.id == BankToken.user_id)
    ).all()
    return [
        {
            "id": t.id,
            "bank": username,
            "name": t.name,
            "prefix": t.prefix,
            "expires_on": t.expires_on.isoformat() if t.expires_on else None,
            "revoked": t.revoked_at is not None,
            "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
        }
        for t, username in rows
    ]


def authenticate(session: Session, token: str | None, today: date | None = None) -> User:
    """The bank user of a bearer token, or ``Unauthorized`` (missing, unknown, revoked,
    expired token, or a user that is no longer an active bank)."""
    if not token:
        raise Unauthorized(
            "auth.token_missing",
            "缺少 API 令牌（Authorization: Bearer …）",
            "API token missing (Authorization: Bearer ...)",
            Location(field="Authorization"),
        )
    row = session.scalars(
        select(BankToken).where(BankToken.token_hash == token_hash(token))
    ).first()
    today = today or env.today()
    user = session.get(User, row.user_id) if row else None
    if (
        row is None
        or row.revoked_at is not None
        or (row.expires_on is not None and today > row.expires_on)
        or user is None
        or not user.active
        or user.role != "bank"
    ):
        raise Unauthorized(
            "auth.token_invalid",
            "API 令牌无效、已撤销或已过期",
            "API token is invalid, revoked or expired",
            Location(field="Authorization"),
        )
    row.last_used_at = _now()
    return user


# -- consents ---------------------------------------------------------------------------------
def consent_state(c: BankConsent, today: date) -> str:
    if c.revoked_at is not None:
        return "revoked"
    if today > c.expires_on:
        return "expired"
    if today < c.granted_on:
        return "pending"
    return "active"


def grant(
    session: Session,
    uscc: str,
    bank_username: str,
    scopes: list[str],
    expires_on: date,
    by_username: str | None = None,
    purpose: str = "",
    today: date | None = None,
) -> BankConsent:
    """The enterprise grants ``bank_username`` access to ``scopes`` until ``expires_on``."""
    today = today or env.today()
    ent = get_by_uscc(session, uscc_mod.normalize(uscc))
    by = get_user(session, by_username) if by_username else enterprise_user(session, ent)
    if by.role != "enterprise" or by.enterprise_id != ent.id:
        raise AccessDenied(
            "carbon.consent_not_owner",
            f"只有企业 {ent.uscc} 本企业用户可以授权（{by.username} 不是）",
            f"only the user of enterprise {ent.uscc} may grant consent ({by.username} is not)",
            Location(field="by"),
            by.username,
        )
    bank = get_user(session, bank_username, "bank")
    bad = sorted(set(scopes) - set(SCOPES))
    if not scopes or bad:
        raise CarbonError(
            "carbon.consent_scope",
            f"授权范围应为 {sorted(SCOPES)} 中的一项或多项（收到 {bad or '空'}）",
            f"scopes must be one or more of {sorted(SCOPES)} (got {bad or 'none'})",
            Location(field="scope"),
        )
    max_days = int(parameters.load().get("carbon.consent.max_days", ent.county_code, today))
    if not today < expires_on <= today + timedelta(days=max_days):
        raise CarbonError(
            "carbon.consent_expiry",
            f"授权截止日应在今天之后、{max_days} 天以内（收到 {expires_on}）",
            f"the expiry must be after today and within {max_days} days (got {expires_on})",
            Location(field="expires"),
            expires_on.isoformat(),
        )
    existing = [
        c
        for c in session.scalars(
            select(BankConsent).where(
                BankConsent.enterprise_id == ent.id, BankConsent.bank_user_id == bank.id
            )
        )
        if consent_state(c, today) in ("active", "pending")  # one live consent per bank
    ]
    if existing:
        raise ConflictError(
            "carbon.consent_exists",
            f"企业已授权该银行（授权编号 {existing[0].id}），如需变更请先撤销",
            f"the enterprise already consented to this bank (consent {existing[0].id}); "
            "revoke it first to change it",
            Location(field="bank"),
            existing[0].id,
        )
    consent = BankConsent(
        enterprise_id=ent.id,
        bank_user_id=bank.id,
        scopes=sorted(set(scopes)),
        purpose=purpose,
        granted_on=today,
        expires_on=expires_on,
        granted_by=by.id,
    )
    session.add(consent)
    session.flush()
    record(
        session,
        by.username,
        "carbon.consent.grant",
        "enterprise",
        ent.uscc,
        {
            "consent_id": consent.id,
            "bank": bank.username,
            "scopes": consent.scopes,
            "expires_on": expires_on.isoformat(),
        },
        user_id=by.id,
    )
    return consent


def consent_not_found(consent_id: int) -> NotFoundError:
    return NotFoundError(
        "carbon.consent_not_found",
        f"没有编号为 {consent_id} 的授权",
        f"no consent with id {consent_id}",
        Location(field="consent_id"),
        consent_id,
    )


def revoke(session: Session, consent_id: int, by_username: str | None = None) -> BankConsent:
    """Revoke a consent (by the enterprise's user, or an admin); access ends at once."""
    consent = session.get(BankConsent, consent_id)
    if consent is None:
        raise consent_not_found(consent_id)
    ent = session.get(Enterprise, consent.enterprise_id)
    assert ent is not None
    by = get_user(session, by_username) if by_username else enterprise_user(session, ent)
    if not (by.role == "admin" or (by.role == "enterprise" and by.enterprise_id == ent.id)):
        raise AccessDenied(
            "carbon.consent_not_owner",
            f"只有企业 {ent.uscc} 本企业用户或管理员可以撤销授权",
            f"only the user of enterprise {ent.uscc} or an admin may revoke the consent",
            Location(field="by"),
            by.username,
        )
    if consent.revoked_at is None:
        consent.revoked_at = _now()
        consent.revoked_by = by.id
    record(
        session,
        by.username,
        "carbon.consent.revoke",
        "enterprise",
        ent.uscc,
        {"consent_id": consent.id},
        user_id=by.id,
    )
    session.flush()
    return consent


def consent_dict(c: BankConsent, ent: Enterprise, bank: User, today: date) -> dict[str, Any]:
    return {
        "id": c.id,
        "uscc": ent.uscc,
        "name": ent.name,
        "bank": bank.username,
        "bank_name": bank.organisation or bank.display_name,
        "scopes": c.scopes,
        "purpose": c.purpose,
        "granted_on": c.granted_on.isoformat(),
        "expires_on": c.expires_on.isoformat(),
        "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None,
        "state": consent_state(c, today),
    }


def list_consents(
    session: Session,
    uscc: str | None = None,
    bank_username: str | None = None,
    today: date | None = None,
) -> list[dict[str, Any]]:
    today = today or env.today()
    stmt = (
        select(BankConsent, Enterprise, User)
        .join(Enterprise, Enterprise.id == BankConsent.enterprise_id)
        .join(User, User.id == BankConsent.bank_user_id)
        .order_by(BankConsent.id)
    )
    if uscc:
        stmt = stmt.where(Enterprise.uscc == uscc_mod.normalize(uscc))
    if bank_username:
        stmt = stmt.where(User.username == bank_username)
    return [consent_dict(c, e, b, today) for c, e, b in session.execute(stmt).all()]


@dataclass
class Access:
    """A bank's read of one enterprise, allowed by ``consent``."""

    bank: User
    enterprise: Enterprise
    consent: BankConsent


def require_consent(
    session: Session,
    bank: User,
    uscc: str,
    scope: str,
    action: str,
    today: date | None = None,
    request_id: str | None = None,
) -> Access:
    """The active consent letting ``bank`` read ``scope`` of ``uscc``; otherwise the refusal
    is audited and committed, and ``AccessDenied`` is raised (revoked / expired / missing /
    scope). An unknown USCC is refused like a missing consent (no existence oracle)."""
    today = today or env.today()
    try:
        ent: Enterprise | None = get_by_uscc(session, uscc_mod.normalize(uscc))
    except IBError:
        ent = None
    consents = (
        list(
            session.scalars(
                select(BankConsent)
                .where(BankConsent.enterprise_id == ent.id, BankConsent.bank_user_id == bank.id)
                .order_by(BankConsent.id.desc())
            )
        )
        if ent is not None
        else []
    )
    active = [c for c in consents if consent_state(c, today) == "active"]
    covering = [c for c in active if scope in (c.scopes or [])]
    if covering:
        record(
            session,
            bank.username,
            action,
            "enterprise",
            ent.uscc if ent else uscc,
            {"allowed": True, "consent_id": covering[0].id, "scope": scope},
            user_id=bank.id,
            request_id=request_id,
        )
        assert ent is not None
        return Access(bank, ent, covering[0])
    if active:
        code, zh, en = (
            "carbon.consent_scope_denied",
            f"企业的授权不包含“{scope}”范围",
            f"the enterprise's consent does not cover scope '{scope}'",
        )
    elif consents and consents[0].revoked_at is not None:
        code, zh, en = (
            "carbon.consent_revoked",
            "企业已撤销对本银行的授权",
            "the enterprise revoked its consent for this bank",
        )
    elif consents and consent_state(consents[0], today) == "expired":
        code, zh, en = (
            "carbon.consent_expired",
            f"企业的授权已于 {consents[0].expires_on} 到期",
            f"the enterprise's consent expired on {consents[0].expires_on}",
        )
    else:
        code, zh, en = (
            "carbon.consent_missing",
            "该企业未授权本银行查询",
            "the enterprise has not granted this bank access",
        )
    record(
        session,
        bank.username,
        action,
        "enterprise",
        ent.uscc if ent else uscc,
        {"allowed": False, "reason": code, "scope": scope},
        user_id=bank.id,
        request_id=request_id,
    )
    session.commit()
    raise AccessDenied(code, zh, en, Location(field="uscc"), uscc)


def bank_grade(
    session: Session,
    bank: User,
    uscc: str,
    year: int | None = None,
    today: date | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The enterprise's current grade for a consenting bank (audited). ``year``, when it is
    not the year of the current grade, is history: the consent must cover ``history``."""
    needed = "grade" if year is None or year == _current_year(session, uscc) else "history"
    acc = require_consent(session, bank, uscc, needed, "carbon.bank.grade", today, request_id)
    res = result_for(session, acc.enterprise, year, graded_only=True)
    return _public(result_dict(res, acc.enterprise)) | {
        "consent_expires_on": str(acc.consent.expires_on)
    }


def _current_year(session: Session, uscc: str) -> int | None:
    """The year of the enterprise's current graded result (``None`` when none or unknown)."""
    try:
        ent = get_by_uscc(session, uscc_mod.normalize(uscc))
        return result_for(session, ent, None, graded_only=True).year
    except IBError:
        return None


def bank_history(
    session: Session,
    bank: User,
    uscc: str,
    today: date | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Every year's grade of the enterprise for a consenting bank (audited)."""
    acc = require_consent(session, bank, uscc, "history", "carbon.bank.history", today, request_id)
    rows = [_public(result_dict(r)) for r in history(session, acc.enterprise)]
    return {
        "uscc": acc.enterprise.uscc,
        "name": acc.enterprise.name,
        "history": rows,
        "consent_expires_on": str(acc.consent.expires_on),
    }


PUBLIC_FIELDS = (
    "uscc",
    "name",
    "year",
    "method",
    "status",
    "level",
    "grade",
    "label",
    "industry_intensity",
    "k_value",
    "neutral_rate",
    "run_id",
)


def _public(d: dict[str, Any]) -> dict[str, Any]:
    """What a bank sees of a result: the grade, K and the industry benchmark, not the inputs —
    nor ``co2_net`` and ``intensity``, whose quotient is the masked denominator (value added,
    or tax), the same masking as the pages' (``views.SENSITIVE_FIELDS``)."""
    return {k: d[k] for k in PUBLIC_FIELDS if k in d}
