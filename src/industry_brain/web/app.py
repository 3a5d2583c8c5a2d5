"""The FastAPI application: ``create_app()`` (served by ``industry-brain serve``).

Pages (Jinja2 + HTMX + ECharts, Chinese by default with an English switch), the JSON API under
``/api/v1`` (OpenAPI at ``/openapi.json``, docs at ``/docs``), ``/healthz``, and the web
modules of the domain services found by discovery (:mod:`industry_brain.web.domains`).
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from industry_brain.core import formatting
from industry_brain.core.errors import Location
from industry_brain.store import migrate
from industry_brain.store.db import check_writable, get_engine
from industry_brain.store.models import User
from industry_brain.web import auth, domains, flash
from industry_brain.web import errors as web_errors
from industry_brain.web.app_helpers import page_lang
from industry_brain.web.auth import AuthError
from industry_brain.web.i18n import Translator, catalog
from industry_brain.web.logs import LOGGER, configure, request_id_var
from industry_brain.web.settings import Settings

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
VENDOR_FILES = ("echarts.min.js", "htmx.min.js")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


def format_number(value: Any) -> str:
    """A figure for display (:func:`industry_brain.core.formatting.number`)."""
    return formatting.number(value)


def template_dirs() -> list[Path]:
    """The platform's templates, then each domain's ``domains/<name>/web_templates`` and those
    of the services on the contract (``ib_templates_dir``)."""
    import industry_brain.domains as pkg
    from industry_brain import contract

    dirs = [HERE / "templates"]
    for root in pkg.__path__:
        dirs += sorted(p for p in Path(root).glob("*/web_templates") if p.is_dir())
    dirs += [Path(d) for _, d in contract.each("templates_dir") if Path(d) not in dirs]
    return dirs


def template_loader() -> FileSystemLoader:
    return FileSystemLoader([str(d) for d in template_dirs()])


def format_timestamp(value: Any, zone: str = "Asia/Shanghai") -> str:
    """A stored timestamp (UTC ``datetime`` or ISO text) shown in ``zone``, to the second;
    ``—`` when missing. Naive values are UTC (what the store writes)."""
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return str(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")


class MissingAssets(RuntimeError):
    """The vendored ECharts/htmx files are not built."""


def check_assets() -> None:
    missing = [f for f in VENDOR_FILES if not (STATIC / "vendor" / f).is_file()]
    if missing:
        raise MissingAssets(
            f"web assets missing in {STATIC / 'vendor'}: {', '.join(missing)}. "
            "Build them with `.venv/bin/python -m industry_brain.web.build_assets` "
            "(runs `npm ci` on the repository's package.json and copies the dist files)."
        )


class RequestContext:
    """Pure ASGI middleware around everything else: request id (``X-Request-ID`` in and out),
    security headers and one JSON access-log line per request.

    Whatever escapes the application is answered here in the one error shape (503 for a store
    fault, 404 for an out-of-range number, else 500) and not re-raised, so error responses carry
    the headers too and the server keeps the connection alive."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger(LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                headers.extend(SECURITY_HEADERS)
                message["headers"] = headers
            await send(message)

        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send_wrapper(message)

        try:
            try:
                await self.app(scope, receive, send_tracked)
            except Exception as exc:
                if started:  # too late for an error page: the client sees a cut response
                    self.log.error("error after the response started", exc_info=exc)
                    raise
                request = Request(scope, receive)
                response = await run_in_threadpool(web_errors.response_for, request, exc)
                await response(scope, receive, send_tracked)
        finally:
            self.log.info(
                "request",
                extra={
                    "request_id": rid,
                    "fields": {
                        "method": scope.get("method"),
                        "path": scope.get("path"),
                        "status": status,
                        "ms": round((time.perf_counter() - start) * 1000, 1),
                    },
                },
            )
            request_id_var.reset(token)


class UploadGate:
    """Pure ASGI middleware in front of the body: a request whose ``Content-Length`` exceeds
    ``IB_UPLOAD_MAX_MB`` is refused (413) unread, and a multipart upload from a caller who is
    not signed in (no live session, no valid ``ibt_`` token) is refused (401) before a byte of
    it is read or spooled. Bodies without a length are counted while they stream by
    Starlette's ``RequestBodyLimitMiddleware`` (inside this one)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            exc = StarletteHTTPException(413 if length.isdigit() else 400)
            response = await run_in_threadpool(web_errors.http_error_response, request, exc)
            response.headers["Connection"] = "close"  # the unread body is not drained
            await response(scope, receive, send)
            return
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("multipart/") and request.method not in ("GET", "HEAD"):
            signed_in = await run_in_threadpool(self._signed_in, request)
            if not signed_in:
                exc = AuthError(
                    "auth.required", "请先登录", "please sign in", Location(field="session")
                )
                response = await run_in_threadpool(web_errors.ib_error_response, request, exc)
                response.headers["Connection"] = "close"
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _signed_in(request: Request) -> bool:
        """A live session of an active user, or a valid platform token (nothing written)."""
        with request.app.state.sessionmaker() as db:
            header = request.headers.get("authorization", "")
            if header.lower().startswith("bearer "):
                try:
                    auth.user_for_token(db, header[7:].strip(), touch=False)
                except AuthError:
                    return False
                return True
            info = auth.load_session(db, request.cookies.get(auth.SESSION_COOKIE))
            if info is None or info.row.user_id is None:
                return False
            user = db.get(User, info.row.user_id)
            return user is not None and user.active


def serve_app() -> FastAPI:
    """What ``industry-brain serve`` runs in each worker process: :func:`create_app`, then the
    worker's start-up objects (the platform's modules, catalogs, templates, parameters) frozen
    out of the cyclic garbage collector and its youngest generation collected every 10,000
    allocations instead of 700. A download of 3,800 rows holds some 15,000 containers until it
    is written; the full collections they triggered walked the whole start-up heap each time —
    9–15 ms of CPU per export on the city store, 0.5–1 ms now. (Only for the server: an app
    built in tests stays collectable.) And the cockpit warm-up thread
    (``IB_COCKPIT_WARM_SECONDS``, :mod:`industry_brain.web.warmup`). A worker started on a
    store whose schema is not this code's (``db upgrade`` not run) does not boot — also when
    the factory is run by another process manager than ``serve``, which checks it first; a
    store that cannot be reached yet is no reason not to boot (pages answer 503 meanwhile)."""
    import gc

    from sqlalchemy.exc import DBAPIError

    from industry_brain.web import warmup

    app = create_app()
    try:
        problem = migrate.schema_state(app.state.engine).problem()
    except DBAPIError:
        problem = None  # unreachable for now: /healthz and the pages say so
    if problem is not None:
        raise RuntimeError(problem.message())
    if app.state.settings.cockpit_warm_seconds > 0:
        warmup.start(app, app.state.settings.cockpit_warm_seconds)
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000)
    return app


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The web application on ``engine`` (default: the store of ``IB_DATABASE_URL``)."""
    check_assets()
    settings = settings or Settings.from_env()
    configure(settings.log_level)
    engine = engine or get_engine(settings.database_url)
    app = FastAPI(
        title="Industry Brain 产业大脑 API",
        version="1",
        description=(
            "JSON API of the Industry Brain platform. Authenticate with a session cookie "
            "(browser) or `Authorization: Bearer ibt_…` (banks and machine clients). Errors "
            "always have the body `{code, zh, en}`."
        ),
        docs_url=None,  # /docs: vendored Swagger UI (routes/pages.py)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.today = settings.current_date  # the clock the carbon API reads too
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker(bind=engine, expire_on_commit=False)
    # templates are part of the installed package: no stat() of every template per render
    # (set IB_TEMPLATE_RELOAD=1 while editing them)
    reload = os.environ.get("IB_TEMPLATE_RELOAD", "") == "1"
    templates = Jinja2Templates(
        env=Environment(loader=template_loader(), autoescape=True, auto_reload=reload)
    )
    templates.env.filters["num"] = formatting.number
    templates.env.filters["count"] = formatting.integer
    templates.env.filters["pct"] = formatting.percent
    templates.env.filters["rank"] = formatting.rank
    templates.env.filters["dt"] = lambda v: format_timestamp(v, settings.timezone)
    app.state.templates = templates
    app.state.domains = domains.discover()

    def render(
        request: Request, name: str, context: dict[str, Any], status_code: int = 200
    ) -> HTMLResponse:
        lang = page_lang(request)
        principal = getattr(request.state, "principal", None)
        user = principal.user if principal is not None else None
        session = principal.session if principal is not None else None
        ctx = {
            "t": Translator(lang),
            "catalog_keys": catalog(lang),
            "lang": lang,
            "user": user,
            "scope": principal.scope if user is not None else None,
            "csrf_token": session.row.csrf_token if session is not None else "",
            "request_id": request_id_var.get(),
            "path": request.url.path,
            "known_domains": domains.KNOWN,
            "domain_web": app.state.domains,
            **context,
        }
        pending, consumed = flash.take(request, lang)  # a confirmation, shown once
        if pending and not ctx.get("flash"):
            ctx["flash"] = pending
        response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
        if consumed:
            flash.clear(response, settings.cookie_secure)
        return response

    def render_error(request: Request, status: int, body: dict[str, Any]) -> Response:
        return render(request, "error.html", {"error": body, "status": status}, status)

    app.state.render = render
    app.state.render_error = render_error
    web_errors.install(app)
    # outermost last: request id and headers around everything, then the upload gate, then the
    # streaming byte count, then (optionally) the trusted proxies' forwarded headers
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=settings.upload_max_mb << 20)
    app.add_middleware(UploadGate, max_bytes=settings.upload_max_mb << 20)
    app.add_middleware(RequestContext)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    code_heads = migrate.code_heads()

    @app.get(
        "/healthz",
        tags=["operations"],
        summary="Liveness and database check (the store answers, accepts a write and has this "
        "code's schema)",
        responses={503: web_errors.ERROR_RESPONSES[503]},
    )
    def healthz(request: Request) -> Response:
        try:
            check_writable(engine)
            stored = migrate.store_heads(engine)
        except Exception as exc:
            fault = web_errors.store_error(exc)
            if isinstance(fault, web_errors.StoreBusy):  # another writer: up, just busy
                return JSONResponse({"status": "ok", "database": "busy"})
            logging.getLogger(LOGGER).error("health check failed", exc_info=exc)
            engine.dispose()  # reconnect on the next request
            return web_errors.ib_error_response(request, web_errors.store_unavailable())
        if stored != code_heads:
            # another node upgraded the store past this code (or it was put back): this worker
            # should take no more traffic — 503 with the reason, for the load balancer
            problem = migrate.state_of(stored).problem()
            if problem is not None:
                error = web_errors.StoreUnavailable(
                    problem.code, problem.zh, problem.en, problem.location
                )
                return web_errors.ib_error_response(request, error)
        return JSONResponse({"status": "ok", "database": "ok"})

    from industry_brain.web.routes import api, desks, import_pages, pages

    # Routes are matched in order, each a regular expression (~3 µs a route under FastAPI's
    # included routers): the platform's own pages first — the profile and search, the busiest,
    # matched ~0.5 ms sooner than behind the services' ~135 routes —, then the JSON API and the
    # services. No path of one group can match a route of another (tests/test_web_routes.py).
    app.include_router(desks.router)  # cockpit and role desks (before the older pages)
    app.include_router(import_pages.router)  # batch pages, review queue
    app.include_router(pages.router)
    app.include_router(api.router)
    for entry in app.state.domains.values():
        if entry.router is not None:
            app.include_router(entry.router)
        if entry.api_router is not None:
            app.include_router(entry.api_router)
    pages.add_placeholders(app)
    return app
