"""Explanations as documents (issue 14, point 13): one explanation template rendered as a
printable page (``explain_document.html``, print CSS in ``static/explain.css``) or as a PDF —
the same HTML with the stylesheet inline, printed by WeasyPrint through the helper the 百千万
bulletin uses (:func:`industry_brain.domains.projects.bulletin.write_pdf`; CJK text in Noto
Sans CJK)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response

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
