"""The resolver alone as its own process (``industry-brain ids serve``): only
``GET /api/v1/ids/resolve/…`` and ``/healthz``, on the store of ``IB_DATABASE_URL`` and the node
table of ``IB_IDS_NODE_CONFIG`` (or this package's ``node.yaml``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from industry_brain.core.errors import IBError
from industry_brain.domains.identifiers import api, service, syntax
from industry_brain.web.errors import DRIVER_ERRORS
from industry_brain.web.logs import request_id_var


def create_resolver_app(
    engine: Engine | None = None, config: service.NodeConfig | None = None
) -> FastAPI:
    from industry_brain.store.db import get_engine
    from industry_brain.web.errors import status_of

    engine = engine or get_engine()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        log = getattr(app.state, "ids_log", None)
        if log is not None:  # resolutions still buffered in this worker
            with app.state.sessionmaker() as db:
                log.flush(db)

    app = FastAPI(
        title="Industry Brain identifier resolver 标识解析", docs_url=None, lifespan=lifespan
    )
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker(bind=engine, expire_on_commit=False)
    app.state.ids_config = config or service.load_config()
    app.state.ids_cache = service.ResolutionCache()
    app.state.ids_reader = service.FastReader(engine)

    @app.exception_handler(IBError)
    async def _ib_error(request: Request, exc: IBError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=status_of(exc))

    @app.exception_handler(SQLAlchemyError)
    async def _store_fault(request: Request, exc: SQLAlchemyError) -> Response:
        from industry_brain.web.errors import response_for

        return response_for(request, exc)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "node": app.state.ids_config.prefix}

    app.add_middleware(_Resolve, owner=app)
    return app


PATH = "/api/v1/ids/resolve/"


class _LazySession:
    """A session opened only when the answer needs one (a token to check, a batch of the
    resolution log to write, a withdrawn identifier's history, an audit entry)."""

    def __init__(self, factory: Any) -> None:
        self._factory = factory
        self._session: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._session is None:
            self._session = self._factory()
        return getattr(self._session, name)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


class _Resolve:
    """``GET /api/v1/ids/resolve/…`` answered before FastAPI's routing and dependency
    machinery (pure ASGI, on the worker's event loop: the lookup is one indexed statement or
    the cache); every other path goes on to the app.

    A public read (no query string, no token, no cookie) — what a scanner or another system
    sends — is answered here without a Request or Response object: the body by orjson, the
    headers as bytes (:func:`_public_answer`, the same statuses and headers as
    :func:`api.answer`, which answers everything else)."""

    def __init__(self, app: Any, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner
        state = owner.state
        self.config = state.ids_config
        self.cache = state.ids_cache
        self.reader = state.ids_reader
        self.factory = state.sessionmaker

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith(PATH)
        ):
            await self.app(scope, receive, send)
            return
        if not scope["query_string"] and not any(
            k == b"authorization" or k == b"cookie" for k, _ in scope["headers"]
        ):
            db = _LazySession(self.factory)
            try:
                status, headers, body = _public_answer(self, db, scope["path"][len(PATH) :])
            except _STORE_ERRORS as exc:
                status, headers, body = _store_fault(self.owner.state.engine, exc)
            finally:
                db.close()
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        from industry_brain.web.errors import response_for, status_of

        scope["app"] = self.owner  # request.app.state as under FastAPI
        request = Request(scope, receive)
        db = _LazySession(self.factory)
        try:
            response = api.answer(
                request, db, scope["path"][len(PATH) :], request.query_params.get("redirect")
            )
        except IBError as exc:
            response = JSONResponse(exc.to_dict(), status_code=status_of(exc))
        except _STORE_ERRORS as exc:  # as the web platform answers it (a Request exists here)
            response = response_for(request, exc)
        finally:
            db.close()
        await response(scope, receive, send)


#: what a failing store raises here: SQLAlchemy's errors, and the drivers' own (the fast
#: reader's raw connections raise those unwrapped)
_STORE_ERRORS = (SQLAlchemyError, *DRIVER_ERRORS)


def _store_fault(engine: Engine, exc: Exception) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """An unreachable or busy store as the web platform answers it: 503 ``store.unavailable``
    or ``store.busy`` with ``Retry-After`` (the engine's connections dropped when unavailable,
    so the next request reconnects); any other database error is raised again (a 500)."""
    from industry_brain.web.errors import RETRY_AFTER_SECONDS, StoreUnavailable, store_error

    fault = store_error(exc)
    if fault is None:
        raise exc
    if isinstance(fault, StoreUnavailable):
        engine.dispose()
    headers = [_JSON, (b"retry-after", str(RETRY_AFTER_SECONDS).encode())]
    return 503, headers, orjson.dumps(fault.to_dict())


_JSON = (b"content-type", b"application/json")
_NO_CACHE = (b"cache-control", b"no-cache")


@lru_cache(maxsize=256)
def _cache_control(max_age: int) -> tuple[bytes, bytes]:
    return (b"cache-control", f"public, max-age={max_age}".encode())


@lru_cache(maxsize=8192)
def _last_modified(iso: str) -> tuple[bytes, bytes]:
    return (b"last-modified", api._http_date(iso).encode())


def _public_answer(resolver: _Resolve, db: Any, identifier: str) -> tuple[int, list, bytes]:
    """Status, headers and body of a public resolution (no restricted values can be shown)."""
    cfg = resolver.config
    log = getattr(resolver.owner.state, "ids_log", None)
    if log is None:
        log = resolver.owner.state.ids_log = service.ResolutionLog()
    res = service.resolve(
        db, identifier, cfg, restricted_ok=False, log=log, cache=resolver.cache,
        reader=resolver.reader,
    )  # fmt: skip
    if res.status == 303:
        headers = [
            (b"content-length", b"0"),
            (b"location", quote(res.location, safe=":/%#?=@[]!$&'()*+,;").encode()),
            _cache_control(cfg.default_ttl),
        ]
        return 303, headers, b""
    body = res.body
    if res.status == 200:
        extra = [_cache_control(res.ttl), _last_modified(body["updated_at"])]
    elif res.status == 410:
        extra = [_cache_control(cfg.default_ttl)]
    else:
        extra = [_NO_CACHE]
    if res.status >= 400:  # the platform's one error shape carries the request id
        body = {**body, "request_id": request_id_var.get()}
    raw = orjson.dumps(body)
    return res.status, [(b"content-length", str(len(raw)).encode()), _JSON, *extra], raw


class _Batcher:
    """Public resolutions that arrive together share one statement (PostgreSQL): each request
    queues its identifier and waits; the first schedules a flush after the requests already
    read from the sockets in this turn of the event loop, which reads all their rows in one
    round trip (:meth:`service.FastReader.prefetch`); each request then answers from them.
    SQLite reads in process, one statement per request costs no round trip: not used there."""

    def __init__(self, reader: service.FastReader) -> None:
        self.reader = reader
        self.pending: list[tuple[tuple[str, str] | None, asyncio.Future]] = []
        self.scheduled = False

    async def wait(self, identifier: str) -> None:
        try:
            h = syntax.parse(identifier)
            pair: tuple[str, str] | None = (h.prefix, h.suffix)
        except IBError:
            return  # answered by resolve (400) without a read
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self.pending.append((pair, fut))
        if not self.scheduled:
            self.scheduled = True
            loop.call_soon(self._flush)
        await fut

    def _flush(self) -> None:
        batch, self.pending, self.scheduled = self.pending, [], False
        pairs = list(dict.fromkeys(p for p, _ in batch if p is not None))
        try:
            if len(pairs) > 1:
                self.reader.prefetch(pairs)
        finally:  # on an error each request reads alone (and reports the error itself)
            for _, fut in batch:
                if not fut.done():
                    fut.set_result(None)


class _Front:
    """``ids serve``'s outermost ASGI app: a public resolution is answered by
    :func:`_public_answer` before FastAPI (its middleware stack costs as much CPU as the
    lookup itself); everything else — lifespan, /healthz, reads naming a caller, ``?redirect``
    — goes to the FastAPI app (whose :class:`_Resolve` answers those resolutions)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.resolve = _Resolve(app, owner=app)
        reader = self.resolve.reader
        self.batcher = None if reader.sqlite else _Batcher(reader)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"].startswith(PATH)
            and not scope["query_string"]
            and not any(k == b"authorization" or k == b"cookie" for k, _ in scope["headers"])
        ):
            identifier = scope["path"][len(PATH) :]
            db = _LazySession(self.resolve.factory)
            try:
                if self.batcher is not None:
                    await self.batcher.wait(identifier)
                status, headers, body = _public_answer(self.resolve, db, identifier)
            except _STORE_ERRORS as exc:
                status, headers, body = _store_fault(self.app.state.engine, exc)
            finally:
                db.close()
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def resolver_asgi(engine: Engine | None = None, config: service.NodeConfig | None = None) -> _Front:
    """What ``ids serve`` runs: :func:`create_resolver_app` behind :class:`_Front`."""
    return _Front(create_resolver_app(engine, config))


def app_factory() -> _Front:
    """For ``uvicorn --factory`` (several workers). The worker's start-up objects are frozen
    out of the cyclic collector and its first generation collected every 50,000 allocations
    rather than 700: a resolution allocates a few dozen short-lived objects and no cycles, and
    the collections cost ≈ 15 % of a lookup's CPU in process."""
    import gc

    app = resolver_asgi()
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    return app
