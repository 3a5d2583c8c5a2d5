"""One error shape everywhere: ``{code, zh, en}`` (+ location fields and ``request_id``).

JSON for ``/api/`` paths and clients asking for JSON; an HTML page with the same code and
messages otherwise. Not signed in on a page → redirect to the login page.

Store faults are not server errors: a store that cannot be reached or written (read-only file,
database down) answers 503 ``store.unavailable`` and the connection pool is replaced, so the
platform recovers by itself once the fault is gone; a store held by another writer for longer
than the wait answers 503 ``store.busy`` with ``Retry-After``. :func:`response_for` maps any
exception to the one shape; the request middleware uses it for whatever escapes the routes, so
every response carries the security headers and the request id.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any
from urllib.parse import quote

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from industry_brain.core.errors import (
    ConflictError,
    IBError,
    Location,
    NotFoundError,
    ValidationError,
)
from industry_brain.store.scope import PermissionDenied
from industry_brain.web.auth import AuthError, CsrfError, Throttled
from industry_brain.web.logs import LOGGER, request_id_var


class ErrorBody(BaseModel):
    """Every error response of the API."""

    model_config = ConfigDict(extra="allow")
    code: str
    zh: str
    en: str
    request_id: str | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Bad input"),
        (401, "Not signed in or bad token"),
        (403, "Not allowed for this role, or CSRF check failed"),
        (404, "Not found or outside the caller's scope"),
        (409, "Conflict"),
        (413, "Upload too large"),
        (422, "Request parameters invalid"),
        (429, "Too many failed logins"),
        (503, "Store unavailable or busy; retry later"),
    )
}

RETRY_AFTER_SECONDS = 5  # Retry-After of a 503 (busy or unavailable store)


class StoreUnavailable(IBError):
    """The store cannot be reached or written (HTTP 503 ``store.unavailable``)."""


class StoreBusy(IBError):
    """Another writer holds the store longer than the wait allows (HTTP 503 ``store.busy``)."""


def store_unavailable() -> StoreUnavailable:
    return StoreUnavailable(
        "store.unavailable",
        "数据库暂时不可用（无法连接或不可写），请稍后再试",
        "the database is unavailable (unreachable or not writable); try again later",
        Location(field="database"),
    )


def store_busy() -> StoreBusy:
    return StoreBusy(
        "store.busy",
        "数据库正忙（另一项导入或写入正在进行），请稍后再试",
        "the database is busy (another import or write is running); try again later",
        Location(field="database"),
    )


_BUSY = ("database is locked", "database table is locked", "database is busy")
_STORE_FAULT = (
    "readonly database",
    "read-only transaction",
    "disk i/o error",
    "unable to open database",
    "database or disk is full",
    "connection",
    "server closed",
    "terminating",
    "shutting down",
    "starting up",
    "the database system",
)


# driver errors that are bugs (a query the schema does not fit), never a store fault
_NOT_A_FAULT = ("no such table", "no such column", "syntax error")


#: the drivers' own error classes: what a raw DB-API connection raises unwrapped
DRIVER_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)


def store_error(exc: BaseException) -> IBError | None:
    """``store.busy`` / ``store.unavailable`` for a database fault — raised through SQLAlchemy
    or by a driver's raw connection (:data:`DRIVER_ERRORS`) —, else ``None``. A request that
    waited longer than the pool's timeout for a connection (every one in use) finds the store
    busy."""
    if isinstance(exc, sa_exc.TimeoutError):
        return store_busy()
    driver = next((b for b in DRIVER_ERRORS if isinstance(exc, b)), None)
    if driver is not None:  # a driver's own error (a raw connection): as SQLAlchemy wraps it
        exc = sa_exc.DBAPIError.instance(None, None, exc, driver)
    if not isinstance(exc, sa_exc.DBAPIError | sa_exc.DisconnectionError):
        return None
    text = str(getattr(exc, "orig", None) or exc).lower()
    if any(m in text for m in _NOT_A_FAULT):
        return None
    if any(m in text for m in _BUSY):
        return store_busy()
    if (
        isinstance(exc, sa_exc.DisconnectionError)
        or getattr(exc, "connection_invalidated", False)
        or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
        or any(m in text for m in _STORE_FAULT)
    ):
        return store_unavailable()
    return None


HTTP_MESSAGES = {
    400: ("请求无效", "bad request"),
    401: ("请先登录", "please sign in"),
    403: ("无权访问", "forbidden"),
    404: ("页面或资源不存在", "not found"),
    405: ("不支持的请求方法", "method not allowed"),
    413: ("上传文件或请求体过大", "upload or request body too large"),
    415: ("不支持的内容类型", "unsupported media type"),
}


def status_of(exc: IBError) -> int:
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, PermissionDenied | CsrfError):
        return 403
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, Throttled):
        return 429
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, StoreUnavailable | StoreBusy):
        return 503
    if exc.code == "upload.too_large":
        return 413
    if isinstance(exc, ValidationError):
        return 400
    return 400


def wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api/") or path in ("/healthz", "/openapi.json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(request: Request, status: int, body: dict[str, Any]) -> Response:
    body = {**body, "request_id": request_id_var.get()}
    if wants_json(request):
        return JSONResponse(body, status_code=status)
    render = request.app.state.render_error
    try:
        return render(request, status, body)
    except Exception as exc:  # the error page itself failed: the same body as JSON
        logging.getLogger(LOGGER).error("error page failed", exc_info=exc)
        return JSONResponse(body, status_code=status)


def ib_error_response(request: Request, exc: IBError) -> Response:
    status = status_of(exc)
    if status == 401 and not wants_json(request) and request.method == "GET":
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/login?next={target}", status_code=303)
    response = error_response(request, status, exc.to_dict())
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _store_fault(request: Request, exc: BaseException) -> Response | None:
    mapped = store_error(exc)
    if mapped is None:
        return None
    log = logging.getLogger(LOGGER)
    log.warning("store fault: %s", mapped.code, extra={"fields": {"error": str(exc)[:300]}})
    if isinstance(mapped, StoreUnavailable):
        # connections opened during the fault (a read-only SQLite handle, dead PostgreSQL
        # sockets) are dropped: the next request opens fresh ones, so no restart is needed
        engine = getattr(request.app.state, "engine", None)
        if engine is not None:
            engine.dispose()
    return ib_error_response(request, mapped)


def _out_of_range() -> IBError:
    return NotFoundError(
        "request.out_of_range",
        "请求中的数字超出范围，没有对应的资源",
        "a number in the request is out of range; no such resource",
        Location(field="path"),
    )


def _out_of_range_error(exc: BaseException) -> bool:
    """A number from the request beyond what the store or the calendar can hold: SQLite's
    ``OverflowError`` for a 64-bit overflow, PostgreSQL's out-of-range ``DataError``, and
    ``date(year, …)``'s ``year … is out of range`` for a year outside 1–9999."""
    text = str(exc).lower()
    if isinstance(exc, OverflowError):
        return True
    if isinstance(exc, sa_exc.DataError):
        return "out of range" in text
    return isinstance(exc, ValueError) and text.startswith("year ") and "out of range" in text


def response_for(request: Request, exc: BaseException) -> Response:
    """The one-shape response of any exception that escaped the routes (logged when
    unexpected)."""
    if isinstance(exc, IBError):
        return ib_error_response(request, exc)
    fault = _store_fault(request, exc)
    if fault is not None:
        return fault
    if _out_of_range_error(exc):
        return ib_error_response(request, _out_of_range())
    logging.getLogger(LOGGER).error("unhandled error", exc_info=exc)
    body = {"code": "server.error", "zh": "服务器内部错误", "en": "internal server error"}
    return error_response(request, 500, body)


def http_error_response(request: Request, exc: StarletteHTTPException) -> Response:
    zh, en = HTTP_MESSAGES.get(exc.status_code, ("请求失败", "request failed"))
    body = {"code": f"http.{exc.status_code}", "zh": zh, "en": en}
    response = error_response(request, exc.status_code, body)
    for k, v in (exc.headers or {}).items():
        response.headers[k] = v
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(IBError)
    async def _ib_error(request: Request, exc: IBError) -> Response:
        return ib_error_response(request, exc)

    @app.exception_handler(sa_exc.SQLAlchemyError)
    async def _db_error(request: Request, exc: sa_exc.SQLAlchemyError) -> Response:
        return response_for(request, exc)

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> Response:
        return response_for(request, exc)

    @app.exception_handler(ValueError)
    async def _value(request: Request, exc: ValueError) -> Response:
        return response_for(request, exc)  # out of range → 404; any other → logged 500

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return http_error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type"), "msg": e.get("msg")}
            for e in exc.errors()
        ]
        fields = ", ".join(".".join(e["loc"][1:]) or e["loc"][0] for e in errors if e["loc"])
        body = {
            "code": "request.invalid",
            "zh": f"请求参数无效：{fields}",
            "en": f"invalid request parameters: {fields}",
            "errors": errors,
        }
        return error_response(request, 422, body)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # normally unreached: the request middleware answers first (with the headers)
        return response_for(request, exc)
