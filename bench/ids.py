"""``python -m bench ids``: the identifier node on SQLite.

1. Bulk registration: ``rows`` identifiers of the batch template from one CSV, validated (syntax,
   template, duplicates, ownership) and made live in one transaction — identifiers/s
   (issue 20 target ≥ 50,000/s).
2. Resolution over HTTP: the resolver alone (``industry-brain ids serve --workers 2``) on
   127.0.0.1, 50 concurrent clients resolving random identifiers for a few seconds —
   resolutions/s and p95 latency (targets ≥ 5,000/s, p95 < 20 ms). Every resolution is logged
   (``ids_resolutions``), so each one is also a write.

The issue's 10,000,000 stored identifiers and the PostgreSQL run are NOT measured here (the
shared 2-core machine): ``--rows`` scales the store up to ``MAX_ROWS``.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CLIENTS = 50
SECONDS = 5.0
MAX_ROWS = 200_000  # ``make bench`` passes --rows 1,000,000 to every bench: capped here (shown)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _store(folder: Path, rows: int) -> tuple[str, float]:
    from sqlalchemy.orm import Session

    from industry_brain.core import uscc
    from industry_brain.domains.identifiers import service
    from industry_brain.store import migrate
    from industry_brain.store.db import make_engine
    from industry_brain.store.models import Enterprise

    url = f"sqlite:///{folder / 'ids.sqlite'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    config = service.load_config()
    with Session(engine) as s:
        ent = Enterprise(uscc=uscc.make("91330522MA2BENCH1"), name="基准企业")
        s.add(ent)
        s.commit()
        service.ensure_builtin_templates(s)
        actor = service.Actor("bench", "enterprise", ent.id)
        prefix = f"{config.prefix}.1"
        service.apply_prefix(s, actor, ent.uscc, prefix, config)
        service.decide_prefix(s, service.Actor("bench-officer", "admin"), prefix, True)
        lines = ["suffix,product,batch,quantity,produced"]
        lines += [f"B{i:09d},基准产品,L{i},{i % 97 + 1},2026-11-01" for i in range(rows)]
        content = ("\n".join(lines) + "\n").encode("utf-8")
        t0 = time.perf_counter()
        rep = service.bulk(s, actor, prefix, "bench.csv", service.read_rows("bench.csv", content),
                           "batch", config, max_problems=10)  # fmt: skip
        seconds = time.perf_counter() - t0
        assert rep.status == "live", rep.problems[:3]
    engine.dispose()
    return url, seconds


async def _clients(base: str, rows: int, prefix: str) -> list[float]:
    import httpx

    latencies: list[float] = []
    deadline = time.perf_counter() + SECONDS
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:

        async def worker() -> None:
            rnd = random.Random()
            while time.perf_counter() < deadline:
                path = f"/api/v1/ids/resolve/{prefix}/B{rnd.randrange(rows):09d}"
                t0 = time.perf_counter()
                r = await client.get(path)
                latencies.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text

        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return latencies


def run(rows: int = 100_000, **_: Any) -> dict[str, Any]:
    rows = min(rows, MAX_ROWS)
    folder = Path(tempfile.mkdtemp(prefix="ib-bench-ids-"))
    url, bulk_seconds = _store(folder, rows)
    port = _free_port()
    exe = Path(sys.executable).parent / "industry-brain"
    proc = subprocess.Popen(
        [str(exe), "ids", "serve", "--port", str(port), "--workers", "2"],
        env={**os.environ, "IB_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import httpx

        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "ids serve did not start"
            time.sleep(0.2)
        from industry_brain.domains.identifiers import service

        prefix = f"{service.load_config().prefix}.1"
        t0 = time.perf_counter()
        lat = asyncio.run(_clients(base, rows, prefix))
        elapsed = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    p95 = statistics.quantiles(lat, n=20)[18] * 1000 if len(lat) >= 20 else float("nan")
    per_s = len(lat) / elapsed
    bulk_rate = rows / bulk_seconds
    return {
        "store": "sqlite",
        "identifiers": rows,
        "bulk_seconds": round(bulk_seconds, 2),
        "bulk_per_s": round(bulk_rate),
        "resolutions": len(lat),
        "resolutions_per_s": round(per_s),
        "p95_ms": round(p95, 1),
        "clients": CLIENTS,
        "workers": 2,
        "targets": {"bulk_per_s": 50_000, "resolutions_per_s": 5_000, "p95_ms": 20},
        "target_met": bulk_rate >= 50_000 and per_s >= 5_000 and p95 < 20,
    }
