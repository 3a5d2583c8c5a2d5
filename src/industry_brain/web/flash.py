"""Confirmations after an action (flash messages), shown once on the next page.

An action that redirects (POST → 303 → GET) calls :func:`flash` on its redirect response: a
short-lived cookie carries a catalog key (``flash.*``) and its placeholder values, never text.
The next full page rendered (:func:`take`, called by the app's ``render``) shows the message in
the UI language in ``#flash`` (``base.html``) and deletes the cookie, so a reload does not show
it again. A page rendered directly (no redirect) passes ``flash=`` in its context instead.
htmx fragments leave the cookie for the next full page.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from industry_brain.web.i18n import Translator, catalog

COOKIE = "ib_flash"
PREFIX = "flash."
MAX_AGE = 120  # seconds: the redirect follows at once
MAX_VALUE = 200  # characters of one placeholder value


def flash(response: Response, key: str, secure: bool = True, **values: Any) -> Response:
    """Show the message ``key`` (a ``flash.*`` catalog key) once on the next page."""
    if not key.startswith(PREFIX) or key not in catalog("zh"):
        raise KeyError(f"not a flash message: {key}")
    data = {"k": key, "v": {k: str(v)[:MAX_VALUE] for k, v in values.items()}}
    raw = base64.urlsafe_b64encode(json.dumps(data, ensure_ascii=False).encode()).decode()
    response.set_cookie(
        COOKIE, raw, max_age=MAX_AGE, path="/", secure=secure, httponly=True, samesite="lax"
    )
    return response


def redirect(request: Request, url: str, key: str, **values: Any) -> Response:
    """303 to ``url`` with the one-time confirmation ``key`` (the site's cookie settings)."""
    response = RedirectResponse(url, status_code=303)
    return flash(response, key, request.app.state.settings.cookie_secure, **values)


def message(request: Request, lang: str) -> str | None:
    """The pending message of the request in ``lang`` (``None`` when there is none or the
    cookie is not one this module wrote)."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
        key, values = data["k"], data["v"]
        if not isinstance(key, str) or not key.startswith(PREFIX) or not isinstance(values, dict):
            return None
        return Translator(lang)(key, **{str(k): str(v) for k, v in values.items()})
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def take(request: Request, lang: str) -> tuple[str | None, bool]:
    """``(message, consumed)``: the pending message for a full page; ``consumed`` tells the
    caller to delete the cookie on its response. An htmx fragment consumes nothing."""
    if COOKIE not in request.cookies or request.headers.get("hx-request"):
        return None, False
    return message(request, lang), True


def clear(response: Response, secure: bool = True) -> None:
    response.delete_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="lax")


def text(lang: str, key: str, **values: Any) -> str:
    """A flash message rendered directly into a page (no redirect)."""
    return Translator(lang)(key, **values)
