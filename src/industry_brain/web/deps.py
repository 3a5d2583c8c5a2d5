"""Annotated dependencies: ``DbDep`` (a session), ``PrincipalDep`` (the signed-in caller or
none), ``ScopeDep`` (the caller's data scope — every scoped query takes it), ``CsrfDep``,
``TodayDep`` (the platform's today)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from industry_brain.core.errors import Location
from industry_brain.store.models import User
from industry_brain.store.scope import Scope, scope_for
from industry_brain.web import auth
from industry_brain.web.i18n import LANGUAGES, Translator
from industry_brain.web.logs import request_id_var
from industry_brain.web.settings import Settings

LANG_COOKIE = "ib_lang"


def get_db(request: Request) -> Iterator[Session]:
    """A session per request; routes commit what they write (audit entries included)."""
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        # close() ends the transaction without expiring loaded objects (an error page rendered
        # after the route still reads the caller's user and session rows)
        session.close()


DbDep = Annotated[Session, Depends(get_db)]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_today(request: Request) -> date:
    """The platform's today (``IB_TODAY`` when set; see :class:`Settings`)."""
    return request.app.state.settings.current_date()


TodayDep = Annotated[date, Depends(get_today)]


def client_ip(request: Request) -> str:
    """The client's address, normalised (``ipaddress``); ``unknown`` when it is not one.

    ``X-Forwarded-For`` counts only from the proxies of ``IB_TRUSTED_PROXIES`` (the app then
    runs uvicorn's ``ProxyHeadersMiddleware`` for them; ``serve`` itself trusts no header), so a
    client cannot pick the address its login attempts are throttled under."""
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        return "unknown"


@dataclass
class Principal:
    """The caller: a user signed in with a session cookie or an API token, or nobody."""

    user: User | None
    session: auth.SessionInfo | None
    via: str  # session | token | none

    @property
    def scope(self) -> Scope:
        if self.user is None:
            raise auth.AuthError(
                "auth.required", "请先登录", "please sign in", Location(field="session")
            )
        return scope_for(self.user)


def get_principal(request: Request, db: DbDep) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        user = auth.user_for_token(db, header[7:].strip())
        db.commit()
        principal = Principal(user=user, session=None, via="token")
    else:
        info = auth.load_session(db, request.cookies.get(auth.SESSION_COOKIE))
        user = info.user if info is not None else None
        if user is not None and not user.active:
            user = None
        principal = Principal(user=user, session=info, via="session" if user else "none")
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_scope(principal: PrincipalDep) -> Scope:
    """The caller's data scope (401 when not signed in)."""
    return principal.scope


ScopeDep = Annotated[Scope, Depends(get_scope)]


async def require_csrf(request: Request, principal: PrincipalDep) -> None:
    """POST/PUT/PATCH/DELETE with a session cookie must carry the session's CSRF token (form
    field ``csrf_token`` or header ``X-CSRF-Token``); bearer-token clients need none."""
    if principal.via == "token":
        return
    supplied = request.headers.get("x-csrf-token")
    if supplied is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            form = await request.form()
            value = form.get("csrf_token")
            supplied = value if isinstance(value, str) else None
    auth.check_csrf(principal.session, supplied)


CsrfDep = Annotated[None, Depends(require_csrf)]


def get_lang(request: Request, principal: PrincipalDep) -> str:
    """``?lang=`` > the ``ib_lang`` cookie > the session's choice > the default (zh)."""
    for value in (
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        principal.session.row.lang if principal.session else None,
    ):
        if value in LANGUAGES:
            return value
    return request.app.state.settings.default_lang


LangDep = Annotated[str, Depends(get_lang)]


def get_translator(lang: LangDep) -> Translator:
    return Translator(lang)


TDep = Annotated[Translator, Depends(get_translator)]


def request_id() -> str | None:
    return request_id_var.get()
