"""The matching review queue (待核对队列): confirm or dismiss rows no enterprise could be found for.

Confirming remembers the match (a name alias, or the power account) so the next import of the
same department file matches it without asking again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core import uscc as uscc_mod
from industry_brain.core.errors import ConflictError, Location, NotFoundError
from industry_brain.ingest import normalize
from industry_brain.store.audit import record
from industry_brain.store.enterprises import get_by_uscc
from industry_brain.store.models import MatchAlias, MatchReview, PowerAccount


def open_reviews(session: Session, batch_id: int | None = None) -> list[dict[str, Any]]:
    stmt = select(MatchReview).where(MatchReview.status == "open").order_by(MatchReview.id)
    if batch_id is not None:
        stmt = stmt.where(MatchReview.batch_id == batch_id)
    return [_as_dict(r) for r in session.scalars(stmt)]


def _as_dict(r: MatchReview) -> dict[str, Any]:
    return {
        "id": r.id,
        "batch_id": r.batch_id,
        "sheet": r.sheet,
        "row": r.row,
        "raw_name": r.raw_name,
        "raw_uscc": r.raw_uscc,
        "raw_account": r.raw_account,
        "reason": r.reason,
        "candidates": r.candidates,
        "status": r.status,
    }


def _open_review(session: Session, review_id: int) -> MatchReview:
    review = session.get(MatchReview, review_id)
    if review is None:
        raise NotFoundError(
            "review.not_found",
            f"待核对记录 {review_id} 不存在",
            f"review {review_id} does not exist",
            Location(field="review_id"),
        )
    return review


def confirm(
    session: Session, review_id: int, uscc: str, user_id: int | None = None, actor: str = "cli"
) -> dict[str, Any]:
    """Confirm that review ``review_id`` is enterprise ``uscc``; remember the match."""
    review = _open_review(session, review_id)
    if review.status != "open":
        raise ConflictError(
            "review.closed",
            f"待核对记录 {review_id} 已处理（{review.status}）",
            f"review {review_id} is already {review.status}",
            Location(field="review_id"),
        )
    code = uscc_mod.normalize(uscc)
    ent = get_by_uscc(session, code)
    if review.raw_account:
        if session.get(PowerAccount, review.raw_account) is None:
            session.add(
                PowerAccount(
                    account_no=review.raw_account,
                    account_name=review.raw_name or "",
                    enterprise_id=ent.id,
                    confirmed_by=user_id,
                )
            )
    elif review.raw_name:
        norm = normalize.normalize_name([review.raw_name]).to_pylist()[0]
        exists = session.scalars(
            select(MatchAlias).where(MatchAlias.kind == "name", MatchAlias.value == norm)
        ).first()
        if exists is None:
            session.add(
                MatchAlias(kind="name", value=norm, enterprise_id=ent.id, confirmed_by=user_id)
            )
    review.status = "confirmed"
    review.enterprise_id = ent.id
    review.resolved_by = user_id
    review.resolved_at = datetime.now(UTC)
    record(
        session,
        actor,
        "review.confirm",
        "match_review",
        str(review_id),
        {"uscc": code},
        user_id=user_id,
    )
    session.flush()
    return _as_dict(review)


def dismiss(
    session: Session, review_id: int, user_id: int | None = None, actor: str = "cli"
) -> dict[str, Any]:
    review = _open_review(session, review_id)
    review.status = "dismissed"
    review.resolved_by = user_id
    review.resolved_at = datetime.now(UTC)
    record(session, actor, "review.dismiss", "match_review", str(review_id), {}, user_id=user_id)
    return _as_dict(review)
