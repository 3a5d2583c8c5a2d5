"""The resolver alone as its own process (``industry-brain ids serve``): only
``GET /api/v1/ids/resolve/…`` and ``/healthz``, on the store of ``IB_DATABASE_URL`` and the node
table of ``IB_IDS_NODE_CONFIG`` (or this package's ``node.yaml``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
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

    @app.exception_handler(IBError)
    async def _ib_error(request: Request, exc: IBError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=status_of(exc))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "node": app.state.ids_config.prefix}

    async def resolve(request: Request) -> Response:
        # a plain route, no dependency injection or thread hop: the lookup is one indexed
        # statement (or the process's cache), run on the event loop of this worker
        db = app.state.sessionmaker()
        try:
            return api.answer(
                request,
                db,
                request.path_params["identifier"],
                request.query_params.get("redirect"),
            )
        finally:
            db.close()

    app.add_route("/api/v1/ids/resolve/{identifier:path}", resolve, methods=["GET"])

    return app


def app_factory() -> FastAPI:
    """For ``uvicorn --factory`` (several workers)."""
    return create_resolver_app()
