"""Audit log (审计日志): who did or saw what, when."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from industry_brain.store.models import AuditLog


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
    """Add an audit entry to the session (committed with the caller's transaction)."""
    entry = AuditLog(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=detail or {},
        user_id=user_id,
        request_id=request_id,
    )
    session.add(entry)
    return entry
