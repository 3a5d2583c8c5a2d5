"""Web benchmark: a real ``industry-brain serve`` on 127.0.0.1 over the city-scale demo store,
driven by a bounded load (50 concurrent signed-in clients, a fixed number of requests per page)
with httpx; prints p50/p95 latency of the enterprise profile page, search and the cockpit.

Targets (issue 8): p95 < 150 ms for profile and search, < 400 ms for the cockpit. The cockpit's
aggregates are cached per scope until the next import batch, so one warm-up request per scope
precedes the measurement (the cold figure is reported too).

Environment: ``IB_BENCH_STORE`` reuses an existing city store (SQLite file) instead of building
one (~80 s); ``IB_BENCH_WORKERS`` sets uvicorn workers (default 1); ``IB_BENCH_CONCURRENCY``
and ``IB_BENCH_REQUESTS`` change the load.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain import mainjob
from industry_brain.demo.operational import DEMO_PASSWORD
from industry_brain.store.db import make_engine
from industry_brain.store.models import Enterprise

TARGETS_MS = {"profile": 150.0, "search": 150.0, "cockpit": 400.0}
SEARCH_TERMS = (
    "科技",
    "机械",
    "纺织",
    "湖州",
    "新材料",
    "电子",
    "家具",
    "有限公司",
    "智能",
    "环保",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _build_store(folder: Path) -> Path:
    store = folder / "city.sqlite"
    engine = make_engine(f"sqlite:///{store}")
    t0 = time.perf_counter()
    # the platform's data only; domain services' main-job hooks are benchmarked by their owners
    mainjob.service_hooks, saved = list, mainjob.service_hooks  # type: ignore[assignment]
    try:
        mainjob.run_demo(folder / "demo", scale="city", engine=engine)
    finally:
        mainjob.service_hooks = saved  # type: ignore[assignment]
    engine.dispose()
    print(f"built the city demo store in {time.perf_counter() - t0:.0f}s")
    return store


def _start(store: Path, data: Path, workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {
        **os.environ,
        "IB_DATABASE_URL": f"sqlite:///{store}",
        "IB_DATA_DIR": str(data),
        "IB_COOKIE_SECURE": "0",
        "IB_LOG_LEVEL": "WARNING",
    }
    cli = Path(sys.executable).with_name("industry-brain")
    proc = subprocess.Popen(
        [str(cli), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


def _login(url: str, username: str) -> str:
    with httpx.Client(base_url=url) as c:
        page = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = c.post(
            "/login",
            data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token},
        )
        assert r.status_code == 303, r.text[:300]
        return r.cookies["ib_session"]


async def _load(url: str, cookie: str, paths: list[str], concurrency: int) -> list[float]:
    """Send every path once with at most ``concurrency`` in flight; latencies in ms."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for p in paths:
        queue.put_nowait(p)
    out: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, headers={"Cookie": f"ib_session={cookie}"}, limits=limits, timeout=60
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                path = queue.get_nowait()
                t0 = time.perf_counter()
                r = await client.get(path)
                out.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    raise RuntimeError(f"{path}: HTTP {r.status_code}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return out


def _pct(values: list[float], q: float) -> float:
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 1)


def run(rows: int = 0) -> dict[str, Any]:
    """Benchmark the web pages (``rows`` is unused: the city demo fixes the data size)."""
    concurrency = int(os.environ.get("IB_BENCH_CONCURRENCY", "50"))
    requests = int(os.environ.get("IB_BENCH_REQUESTS", "1000"))
    workers = int(os.environ.get("IB_BENCH_WORKERS", "1"))
    with tempfile.TemporaryDirectory(prefix="ib-bench-web-") as tmpdir:
        tmp = Path(tmpdir)
        store = Path(os.environ["IB_BENCH_STORE"]) if os.environ.get("IB_BENCH_STORE") else None
        store = store or _build_store(tmp)
        engine = make_engine(f"sqlite:///{store}")
        with Session(engine) as s:
            usccs = list(s.scalars(select(Enterprise.uscc).order_by(Enterprise.id)))
        engine.dispose()
        proc, url = _start(store, tmp, workers)
        try:
            cookie = _login(url, "city_officer_01")
            t0 = time.perf_counter()
            httpx.get(f"{url}/cockpit", headers={"Cookie": f"ib_session={cookie}"}, timeout=120)
            cold_cockpit = round((time.perf_counter() - t0) * 1000, 1)
            step = max(1, len(usccs) // requests)
            pages = {
                "profile": [f"/enterprises/{u}" for u in usccs[::step][:requests]],
                "search": [
                    f"/enterprises?q={SEARCH_TERMS[i % len(SEARCH_TERMS)]}&page={1 + i % 5}"
                    + ("&scale=above" if i % 3 == 0 else "")
                    for i in range(requests)
                ],
                "cockpit": ["/cockpit"] * max(requests // 5, concurrency),
            }
            results: dict[str, Any] = {}
            for name, paths in pages.items():
                t0 = time.perf_counter()
                lat = asyncio.run(_load(url, cookie, paths, concurrency))
                wall = time.perf_counter() - t0
                results[name] = {
                    "requests": len(lat),
                    "p50_ms": _pct(lat, 50),
                    "p95_ms": _pct(lat, 95),
                    "throughput_rps": round(len(lat) / wall, 1),
                    "target_p95_ms": TARGETS_MS[name],
                    "target_met": _pct(lat, 95) < TARGETS_MS[name],
                }
                print(f"{name:8s} {results[name]}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return {
        "enterprises": len(usccs),
        "concurrency": concurrency,
        "workers": workers,
        "cold_cockpit_ms": cold_cockpit,
        "pages": results,
        "target_met": all(r["target_met"] for r in results.values()),
    }
