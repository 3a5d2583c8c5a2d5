"""The two servers besides the web platform — ``ids serve`` (the 标识解析 resolver alone) and
``carbon serve`` (the bank API) — answer a store that cannot be opened as the web platform does:
503 ``store.unavailable`` in Chinese and English with ``Retry-After``, instead of a bare 500 (or
a dropped connection from the resolver's pure-ASGI front), and answer normally once the store is
back. The store is made unreachable for real: its SQLite file is moved away and a folder put in
its place, so opening it fails ("unable to open database file")."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from industry_brain.web.errors import RETRY_AFTER_SECONDS


def _database(engine: Engine) -> Path:
    return Path(engine.url.database or "")


class _Down:
    """Moves the store's file away (and its WAL files) and puts a folder in its place."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.path = _database(engine)
        self.moved: list[tuple[Path, Path]] = []

    def __enter__(self) -> _Down:
        self.engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            f = Path(f"{self.path}{suffix}")
            if f.exists():
                f.rename(f.with_name(f.name + ".away"))
                self.moved.append((f.with_name(f.name + ".away"), f))
        self.path.mkdir()
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path)
        for away, back in self.moved:
            away.rename(back)
        self.engine.dispose()


def _unavailable(r) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["code"] == "store.unavailable"
    assert "数据库暂时不可用" in body["zh"] and "unavailable" in body["en"]
    assert r.headers["retry-after"] == str(RETRY_AFTER_SECONDS)


def test_the_resolver_answers_503_while_the_store_is_down(sqlite_engine: Engine) -> None:
    from industry_brain.domains.identifiers.node import resolver_asgi

    app = resolver_asgi(sqlite_engine)
    with TestClient(app) as client:
        with _Down(sqlite_engine):
            # the public read answered before FastAPI, a read naming a caller (FastAPI's
            # route), the front's own path again
            _unavailable(client.get("/api/v1/ids/resolve/88.118.8/P001"))
            _unavailable(
                client.get(
                    "/api/v1/ids/resolve/88.118.8/P001",
                    headers={"Authorization": "Bearer ibt_" + "a" * 40},
                )
            )
        r = client.get("/api/v1/ids/resolve/88.118.8/P001")
        assert r.status_code == 404  # back: not registered on this store


def test_the_carbon_api_answers_503_while_the_store_is_down(sqlite_engine: Engine) -> None:
    from industry_brain.domains.carbon.api import build_app

    with TestClient(build_app(sqlite_engine)) as client:
        headers = {"Authorization": "Bearer ib_not_a_key"}
        path = "/api/v1/carbon/bank/enterprises/91330502MA2B3C4D1U"
        with _Down(sqlite_engine):
            _unavailable(client.get(path, headers=headers))
        assert client.get(path, headers=headers).status_code == 401  # back: the key is unknown
