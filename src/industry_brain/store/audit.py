"""Audit log (审计日志): who did or saw what, when.

``request_id_var`` holds the id of the web request being served (set by the web platform's
middleware); an entry recorded without an explicit ``request_id`` takes it, so every service's
audit entries carry the request that caused them.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from sqlalchemy.orm import Session

from industry_brain.store.models import AuditLog

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def record(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None,
    detail: dict[str, Any] | None = None,
    user_id: int | None = None,
    request_id: str | None = None,
) -> AuditLog:
    """Add an audit entry to the session (committed with the caller's transaction); without
    ``request_id`` it takes the current request's (``request_id_var``), if any."""
    entry = AuditLog(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=detail or {},
        user_id=user_id,
        request_id=request_id or request_id_var.get(),
    )
    session.add(entry)
    return entry
