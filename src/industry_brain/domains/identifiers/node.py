"""The resolver alone as its own process (``industry-brain ids serve``): only
``GET /api/v1/ids/resolve/…`` and ``/healthz``, on the store of ``IB_DATABASE_URL`` and the node
table of ``IB_IDS_NODE_CONFIG`` (or this package's ``node.yaml``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from industry_brain.core.errors import IBError
from industry_brain.domains.identifiers import api, service


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
    the cache); every other path goes on to the app."""

    def __init__(self, app: Any, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith(PATH)
        ):
            await self.app(scope, receive, send)
            return
        from industry_brain.web.errors import status_of

        scope["app"] = self.owner  # request.app.state as under FastAPI
        request = Request(scope, receive)
        db = _LazySession(self.owner.state.sessionmaker)
        try:
            response = api.answer(
                request, db, scope["path"][len(PATH) :], request.query_params.get("redirect")
            )
        except IBError as exc:
            response = JSONResponse(exc.to_dict(), status_code=status_of(exc))
        finally:
            db.close()
        await response(scope, receive, send)


def app_factory() -> FastAPI:
    """For ``uvicorn --factory`` (several workers)."""
    return create_resolver_app()
