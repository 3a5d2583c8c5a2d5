"""Import in the browser beyond the upload (issue 14, point 14): one batch's page and the
matching review queue, for holders of ``import.run`` (admins and city officers).

Routes: ``GET /import/batches/{id}`` (file, kind, year, counts, problems by code, the facts it
loaded — paged, optionally one enterprise's — and what superseded what),
``GET /import/batches/{id}/workbook.xlsx`` (its error workbook; audited export),
``GET /import/reviews`` (the review queue: open, confirmed or dismissed entries, of one batch or
all) and ``POST /import/reviews/{id}/confirm`` / ``…/dismiss`` (CSRF-checked, audited as the
signed-in user, confirmed by a flash message).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from industry_brain.core.errors import IBError
from industry_brain.store import scoped
from industry_brain.web import flash, imports
from industry_brain.web.deps import CsrfDep, DbDep, ScopeDep, request_id
from industry_brain.web.downloads import file_download, scratch
from industry_brain.web.errors import status_of
from industry_brain.web.query import OptionalInt, Page

router = APIRouter(include_in_schema=False)


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return request.app.state.render(request, name, context, status_code)


@router.get("/import/batches/{batch_id:int}")
def batch_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    batch_id: int,
    uscc: Annotated[str | None, Query(max_length=18)] = None,
    page: Annotated[Page, Query()] = 1,
) -> Response:
    detail = imports.batch_detail(db, scope, batch_id, uscc=(uscc or "").strip() or None, page=page)
    return _render(request, "batch_detail.html", b=detail)


@router.get("/import/batches/{batch_id:int}/workbook.xlsx")
def batch_workbook(db: DbDep, scope: ScopeDep, batch_id: int) -> Response:
    with scratch("ib-batch-") as folder:
        path = imports.batch_workbook(db, scope, batch_id, folder)
        scoped.record_export(
            db, scope, "import_batch_workbook", str(batch_id), {"file": path.name}, request_id()
        )
        db.commit()
    return file_download(path, folder)


def _queue_url(status: str, batch: int | None, page: int = 1) -> str:
    query = {
        "status": status,
        **({"batch": batch} if batch else {}),
        **({"page": page} if page > 1 else {}),
    }
    return f"/import/reviews?{urlencode(query)}"


@router.get("/import/reviews")
def review_queue(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    batch: Annotated[OptionalInt(1, 2**31 - 1), Query()] = None,
    page: Annotated[Page, Query()] = 1,
) -> Response:
    data = imports.reviews(db, scope, status=status or "open", batch_id=batch, page=page)
    return _render(request, "reviews.html", q=data, error=None, error_for=None)


def _decided(request: Request, status: str, batch: int | None, key: str, **values: Any) -> Response:
    return flash.redirect(request, _queue_url(status, batch), key, **values)


def _refused(
    request: Request, db: Any, scope: Any, exc: IBError, review_id: int, batch: int | None
) -> Response:
    """The queue again with the refusal beside the entry's form (in the UI language)."""
    db.rollback()
    data = imports.reviews(db, scope, status="open", batch_id=batch)
    return _render(
        request,
        "reviews.html",
        status_of(exc),
        q=data,
        error=exc.to_dict(),
        error_for=review_id,
    )


@router.post("/import/reviews/{review_id:int}/confirm")
def review_confirm(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    review_id: int,
    uscc: Annotated[str | None, Form(max_length=40)] = None,
    uscc_other: Annotated[str | None, Form(max_length=40)] = None,
    batch: Annotated[str | None, Form(max_length=12)] = None,
) -> Response:
    """Confirm the entry as the chosen candidate, or as the USCC typed in (which wins)."""
    back = int(batch) if batch and batch.isdigit() else None
    chosen = (uscc_other or "").strip() or (uscc or "")
    try:
        done = imports.confirm_review(db, scope, review_id, chosen)
    except IBError as exc:
        return _refused(request, db, scope, exc, review_id, back)
    db.commit()
    return _decided(
        request, "open", back, "flash.review_confirmed", review=review_id, name=done["name"]
    )


@router.post("/import/reviews/{review_id:int}/dismiss")
def review_dismiss(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    review_id: int,
    batch: Annotated[str | None, Form(max_length=12)] = None,
) -> Response:
    back = int(batch) if batch and batch.isdigit() else None
    try:
        imports.dismiss_review(db, scope, review_id)
    except IBError as exc:
        return _refused(request, db, scope, exc, review_id, back)
    db.commit()
    return _decided(request, "open", back, "flash.review_dismissed", review=review_id)
