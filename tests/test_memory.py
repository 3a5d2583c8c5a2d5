"""``core.memory.release``: memory freed by a big step goes back to the system; after a small
step it does nothing (a full garbage collection costs 0.2 s in a process with the services
imported)."""

from __future__ import annotations

import gc

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.compute as pc

from industry_brain.core import memory


def test_release_returns_what_arrows_pool_keeps_after_a_step():
    process = psutil.Process()
    source = pa.array(np.arange(25_000, dtype=np.int64))
    assert memory.release(force=True)
    base = process.memory_info().rss
    # a step's tables: 2,000 arrays of 200 KB (400 MB, above memory.GROWTH) allocated by
    # Arrow's own pool
    arrays = [pc.add(source, i) for i in range(2000)]
    assert pa.total_allocated_bytes() >= 400_000_000 > memory.GROWTH
    del arrays
    kept = process.memory_info().rss - base
    assert memory.release()
    after = process.memory_info().rss - base
    # freed by Python, still the process's: Arrow's allocator keeps the pages for reuse
    assert kept > 300 * 2**20
    # handed back: at most a quarter of it stays
    assert after < kept / 4, (kept, after)


def test_release_after_a_small_step_collects_nothing():
    collections: list[str] = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            collections.append(phase)

    memory.release(force=True)
    small = [np.ones(100_000) for _ in range(10)]  # 8 MB
    del small
    gc.callbacks.append(seen)
    try:
        assert not memory.release()  # nothing worth handing back: no full collection
        assert collections == []
        assert memory.release(force=True)
        assert collections == ["start"]
    finally:
        gc.callbacks.remove(seen)
