"""The resolver alone as its own process (``industry-brain ids serve``): only
``GET /api/v1/ids/resolve/…`` and ``/healthz``, on the store of ``IB_DATABASE_URL`` and the node
table of ``IB_IDS_NODE_CONFIG`` (or this package's ``node.yaml``)."""

from __future__ import annotations

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
    app = FastAPI(title="Industry Brain identifier resolver 标识解析", docs_url=None)
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker(bind=engine, expire_on_commit=False)
    app.state.ids_config = config or service.load_config()

    @app.exception_handler(IBError)
    async def _ib_error(request: Request, exc: IBError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=status_of(exc))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "node": app.state.ids_config.prefix}

    app.include_router(api.resolver)
    return app


def app_factory() -> FastAPI:
    """For ``uvicorn --factory`` (several workers)."""
    return create_resolver_app()
