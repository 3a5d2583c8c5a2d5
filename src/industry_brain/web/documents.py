"""Explanations as documents (issue 14, point 13): one explanation template rendered as a
printable page (``explain_document.html``, print CSS in ``static/explain.css``) or as a PDF —
the same HTML with the stylesheet inline, printed by WeasyPrint through the helper the 百千万
bulletin uses (:func:`industry_brain.domains.projects.bulletin.write_pdf`; CJK text in Noto
Sans CJK)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from industry_brain.store.scope import Scope
from industry_brain.web.app_helpers import page_lang
from industry_brain.web.deps import DbDep, ScopeDep
from industry_brain.web.i18n import Translator

STATIC = Path(__file__).resolve().parent / "static"


def _context(request: Request, body: str, title: str, context: dict[str, Any]) -> dict[str, Any]:
    return {
        "body": body,
        "title": title,
        "today": request.app.state.settings.current_date().isoformat(),
        **context,
    }


def page(
    request: Request,
    body: str,
    title: str,
    context: dict[str, Any],
    pdf_url: str,
    back_url: str,
) -> Response:
    """The printable page of an explanation (``body`` is the document template)."""
    ctx = _context(request, body, title, context)
    ctx.update(pdf=False, pdf_url=pdf_url, back_url=back_url)
    return request.app.state.render(request, "explain_document.html", ctx)


def pdf_bytes(request: Request, body: str, title: str, context: dict[str, Any]) -> bytes:
    """The explanation as PDF bytes (WeasyPrint)."""
    from industry_brain.domains.projects.bulletin import write_pdf

    ctx = _context(request, body, title, context)
    ctx.update(pdf=True, css=(STATIC / "explain.css").read_text("utf-8"))
    html = bytes(request.app.state.render(request, "explain_document.html", ctx).body)
    folder = Path(tempfile.mkdtemp(prefix="ib-explain-"))
    try:
        return write_pdf(html.decode("utf-8"), folder / "explanation.pdf").read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def pdf(
    request: Request, body: str, title: str, context: dict[str, Any], filename: str
) -> Response:
    """The explanation as a PDF download named ``filename``."""
    return Response(
        pdf_bytes(request, body, title, context),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "private, no-store",
        },
    )


def explanation_routes(
    router: APIRouter,
    service: str,
    load: Callable[[Request, Session, Scope, str], dict[str, Any]],
) -> None:
    """The two routes of a service's explanation document: ``/{service}/explanation/{uscc}``
    (printable page with its PDF link) and ``….pdf``. ``load`` returns the template context
    (``d``: the document, with ``year`` and ``uscc``) or raises not-found; the template is
    ``{service}_explain_doc.html``, the title the catalog's ``{service}.doc.title``."""
    template = f"{service}_explain_doc.html"

    def title(request: Request, d: dict[str, Any]) -> str:
        return Translator(page_lang(request))(f"{service}.doc.title", year=d["year"])

    @router.get(f"/{service}/explanation/{{uscc}}.pdf")
    def explanation_pdf(request: Request, db: DbDep, scope: ScopeDep, uscc: str) -> Response:
        ctx = load(request, db, scope, uscc)
        name = title(request, ctx["d"])
        return pdf(request, template, name, ctx, f"{name}_{ctx['d']['uscc']}.pdf")

    @router.get(f"/{service}/explanation/{{uscc}}")
    def explanation_page(request: Request, db: DbDep, scope: ScopeDep, uscc: str) -> Response:
        """The explanation as a printable document, with its PDF download."""
        ctx = load(request, db, scope, uscc)
        return page(
            request,
            template,
            title(request, ctx["d"]),
            ctx,
            f"/{service}/explanation/{uscc}.pdf",
            f"/enterprises/{uscc}#{service}-section",
        )
