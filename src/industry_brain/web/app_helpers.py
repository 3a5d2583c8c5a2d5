"""Helpers shared by the app factory and the page routes."""

from __future__ import annotations

from fastapi import Request

from industry_brain.web.deps import LANG_COOKIE
from industry_brain.web.i18n import LANGUAGES


def page_lang(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    for value in (
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        principal.session.row.lang if principal is not None and principal.session else None,
    ):
        if value in LANGUAGES:
            return value
    return request.app.state.settings.default_lang
