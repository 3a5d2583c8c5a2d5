"""``core.memory.release``: memory freed by a big step goes back to the system."""

from __future__ import annotations

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.compute as pc

from industry_brain.core import memory


def test_release_returns_what_arrows_pool_keeps_after_a_step():
    process = psutil.Process()
    source = pa.array(np.arange(25_000, dtype=np.int64))
    memory.release()
    base = process.memory_info().rss
    # a step's tables: 1,000 arrays of 200 KB (200 MB) allocated by Arrow's own pool
    arrays = [pc.add(source, i) for i in range(1000)]
    assert pa.total_allocated_bytes() >= 200_000_000
    del arrays
    kept = process.memory_info().rss - base
    memory.release()
    after = process.memory_info().rss - base
    # freed by Python, still the process's: Arrow's allocator keeps the pages for reuse
    assert kept > 150 * 2**20
    # handed back: at most a quarter of it stays
    assert after < kept / 4, (kept, after)
