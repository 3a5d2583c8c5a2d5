"""Issuing and revoking API tokens (admins), audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core.errors import Location, NotFoundError
from industry_brain.store.audit import record
from industry_brain.store.models import User
from industry_brain.store.scope import Scope
from industry_brain.web import auth


def issue_token(
    db: Session,
    scope: Scope,
    username: str,
    name: str,
    request_id: str | None = None,
    days: int | None = None,
) -> str:
    """A new bearer token for ``username`` (shown once), valid ``days`` (default and maximum:
    parameters ``web.tokens.default_days`` / ``web.tokens.max_days``)."""
    scope.require("token.manage")
    user = db.scalars(select(User).where(User.username == username.strip())).first()
    if user is None:
        raise NotFoundError(
            "user.not_found",
            f"没有用户“{username}”",
            f"no user '{username}'",
            Location(field="username"),
            username,
        )
    token = auth.create_api_token(db, user.id, name or "api", days)
    record(
        db,
        scope.username,
        "token.issue",
        "user",
        user.username,
        {"name": name, "days": auth.token_days(days)},
        user_id=scope.user_id,
        request_id=request_id,
    )
    return token


def revoke_token(db: Session, scope: Scope, token_id: int, request_id: str | None = None) -> None:
    scope.require("token.manage")
    auth.revoke_api_token(db, token_id)
    record(
        db,
        scope.username,
        "token.revoke",
        "api_token",
        str(token_id),
        {},
        user_id=scope.user_id,
        request_id=request_id,
    )
