"""One error shape everywhere: ``{code, zh, en}`` (+ location fields and ``request_id``).

JSON for ``/api/`` paths and clients asking for JSON; an HTML page with the same code and
messages otherwise. Not signed in on a page → redirect to the login page.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from industry_brain.core.errors import ConflictError, IBError, NotFoundError, ValidationError
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
    )
}

HTTP_MESSAGES = {
    400: ("请求无效", "bad request"),
    401: ("请先登录", "please sign in"),
    403: ("无权访问", "forbidden"),
    404: ("页面或资源不存在", "not found"),
    405: ("不支持的请求方法", "method not allowed"),
    413: ("上传文件过大", "upload too large"),
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
    return render(request, status, body)


def install(app: FastAPI) -> None:
    log = logging.getLogger(LOGGER)

    @app.exception_handler(IBError)
    async def _ib_error(request: Request, exc: IBError) -> Response:
        status = status_of(exc)
        if status == 401 and not wants_json(request) and request.method == "GET":
            target = quote(
                request.url.path + (f"?{request.url.query}" if request.url.query else "")
            )
            return RedirectResponse(f"/login?next={target}", status_code=303)
        return error_response(request, status, exc.to_dict())

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        zh, en = HTTP_MESSAGES.get(exc.status_code, ("请求失败", "request failed"))
        body = {"code": f"http.{exc.status_code}", "zh": zh, "en": en}
        response = error_response(request, exc.status_code, body)
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        return response

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
        log.error("unhandled error", exc_info=exc)
        body = {"code": "server.error", "zh": "服务器内部错误", "en": "internal server error"}
        return error_response(request, 500, body)
