"""The store's connection pool holds as many connections as a web worker has request threads
(40), so a burst of requests that all hold a connection at once — e.g. waiting for one cold
cockpit section at province scale — never times out on the pool; the sizes are settings."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from industry_brain.core.errors import ValidationError
from industry_brain.store.db import make_engine, pool_settings


def test_forty_requests_hold_a_connection_at_once(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.sqlite'}")
    assert engine.pool.size() == 10 and engine.pool._max_overflow == 30
    together = threading.Barrier(40, timeout=15)
    errors: list[BaseException] = []

    def request() -> None:
        try:
            with engine.connect() as con:
                con.execute(text("SELECT 1"))
                together.wait()  # all 40 hold their connection here at the same time
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=request) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine.dispose()


def test_pool_sizes_are_settings(monkeypatch):
    monkeypatch.setenv("IB_DB_POOL_SIZE", "4")
    monkeypatch.setenv("IB_DB_MAX_OVERFLOW", "0")
    assert pool_settings() == {"pool_size": 4, "max_overflow": 0}
    monkeypatch.setenv("IB_DB_POOL_SIZE", "many")
    with pytest.raises(ValidationError) as info:
        pool_settings()
    assert "IB_DB_POOL_SIZE" in info.value.zh and "non-negative integer" in info.value.en


def test_an_in_memory_store_keeps_its_one_connection_per_thread():
    engine = make_engine("sqlite://")
    with engine.connect() as con:
        assert con.execute(text("SELECT 2")).scalar() == 2
    assert type(engine.pool).__name__ == "SingletonThreadPool"
