"""Every pooled connection in use for longer than the pool's timeout: the request is answered
503 ``store.busy`` with ``Retry-After`` in the one error shape, not 500 (e.g. a deployment whose
``IB_DB_POOL_SIZE`` + ``IB_DB_MAX_OVERFLOW`` is below a worker's request threads, during a burst
of slow pages)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.pool import QueuePool

from industry_brain.store.migrate import upgrade
from industry_brain.web.app import create_app
from industry_brain.web.auth import TOKEN_PREFIX
from industry_brain.web.settings import Settings
from tests.web_fixtures import seed


def test_an_exhausted_pool_answers_503_store_busy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(
        f"sqlite:///{tmp_path / 'store.sqlite'}",
        poolclass=QueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=0.2,
    )
    upgrade(engine)
    seed(engine)
    client = TestClient(create_app(Settings(), engine), raise_server_exceptions=False)
    assert client.get("/api/v1/me").status_code == 401  # the store answers
    held = engine.connect()  # the pool's only connection
    held.execute(text("SELECT 1"))
    try:
        # a token of the right shape is looked up in the store
        r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {TOKEN_PREFIX}x"})
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "store.busy" and r.headers["Retry-After"]
    finally:
        held.close()
    assert client.get("/api/v1/me").status_code == 401  # and again once a connection is free
