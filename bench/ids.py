"""``python -m bench ids``: the identifier node (issue 20) on SQLite and PostgreSQL.

1. **Store and bulk registration**: ``IB_BENCH_IDS_ROWS`` identifiers (default 10,000,000) of
   the batch template registered through the real bulk path — one CSV per chunk of
   ``IB_BENCH_IDS_CHUNK`` rows (default 1,000,000; memory stays bounded to one chunk), each
   parsed, validated (syntax, template, duplicates in the file and in the store, ownership)
   and made live in one transaction. Identifiers/s over all chunks (target ≥ 50,000/s), and the
   store's bytes per identifier.
2. **Resolution over HTTP**: ``industry-brain ids serve --workers 2`` on 127.0.0.1, 50 clients
   on keep-alive connections resolving random identifiers for ``IB_BENCH_IDS_SECONDS`` (default
   10) after a warm-up: resolutions/s and p95 (targets ≥ 5,000/s, p95 < 20 ms). The client is
   ``wrk`` (C; ``apt-get install wrk``) with a Lua script drawing paths from a file and printing
   p50/p95/p99 from its latency distribution in ``done()``, when ``wrk`` is on PATH; else (or
   with ``IB_BENCH_IDS_CLIENT=python``) an asyncio HTTP/1.1 client in this process, which costs
   the shared cores far more CPU per request. The output says which. Every resolution is counted
   in ``ids_resolutions`` (batched). The server processes' CPU milliseconds per resolution are
   read from ``/proc``: the machine is shared, so wall-clock rates depend on the load, CPU per
   request much less.
3. **References, measured in the same run**: (a) the engine's own limit — the resolver's read
   (:class:`service.FastReader`) in a bare loop on one connection (lookups/s, one core); (b)
   the HTTP stack's limit — a minimal uvicorn app (same 2 workers, same client) returning a
   constant JSON body. The resolver's rate is shown as a share of (b).

    IB_BENCH_IDS_ROWS=200000 IB_BENCH_IDS_STORES=sqlite python -m bench ids

``IB_BENCH_IDS_STORES`` (default ``sqlite,postgresql``): PostgreSQL is ``IB_BENCH_STORE`` when it
names one, else a throwaway server (as in the tests) when PostgreSQL is installed, else skipped.
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CLIENTS = int(os.environ.get("IB_BENCH_IDS_CLIENTS", "50"))
SECONDS = float(os.environ.get("IB_BENCH_IDS_SECONDS", "10"))
WARMUP = 2.0
WORKERS = 2
TARGETS = {"bulk_per_s": 50_000, "resolutions_per_s": 5_000, "p95_ms": 20.0}
PREFIX_TAIL = "1"  # the bench enterprise's prefix: <node>.1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _load() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- store


def _csv_chunk(start: int, stop: int) -> bytes:
    lines = ["suffix,product,batch,quantity,produced"]
    lines += [f"B{i:09d},基准产品,L{i},{i % 97 + 1},2026-11-01" for i in range(start, stop)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def build_store(url: str, rows: int, chunk: int) -> dict[str, Any]:
    """Migrate ``url``, register one enterprise and its prefix, then ``rows`` identifiers by
    the bulk path in chunks; seconds of the bulk calls only (CSV generation excluded)."""
    from sqlalchemy.orm import Session

    from industry_brain.core import uscc
    from industry_brain.domains.identifiers import service
    from industry_brain.store import migrate
    from industry_brain.store.db import make_engine
    from industry_brain.store.models import Enterprise

    engine = make_engine(url)
    migrate.upgrade(engine)
    config = service.load_config()
    prefix = f"{config.prefix}.{PREFIX_TAIL}"
    seconds, chunks = 0.0, []
    with Session(engine) as s:
        ent = Enterprise(uscc=uscc.make("91330522MA2BENCH1"), name="基准企业")
        s.add(ent)
        s.commit()
        service.ensure_builtin_templates(s)
        actor = service.Actor("bench", "enterprise", ent.id)
        service.apply_prefix(s, actor, ent.uscc, prefix, config)
        service.decide_prefix(s, service.Actor("bench-officer", "admin"), prefix, True)
        for start in range(0, rows, chunk):
            stop = min(rows, start + chunk)
            content = _csv_chunk(start, stop)
            t0 = time.perf_counter()
            rep = service.bulk_file(
                s, actor, prefix, "bench.csv", content, "batch", config, max_problems=10
            )
            dt = time.perf_counter() - t0
            assert rep.status == "live", rep.problems[:3]
            seconds += dt
            chunks.append(round((stop - start) / dt))
            _say(
                f"  bulk {stop:,}/{rows:,} identifiers: this chunk {(stop - start) / dt:,.0f}/s "
                f"(load {_load()})"
            )
            del content
    engine.dispose()
    return {"bulk_seconds": round(seconds, 1), "bulk_per_s": round(rows / seconds),
            "chunk_rates": chunks, "prefix": prefix}  # fmt: skip


def store_bytes(url: str) -> int:
    """Bytes the store takes: the SQLite file (and its WAL), or PostgreSQL's database size."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    from sqlalchemy import text

    from industry_brain.store.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        size = conn.scalar(text("SELECT pg_database_size(current_database())"))
    engine.dispose()
    return int(size)


def bare_lookups(url: str, rows: int, prefix: str, seconds: float = 3.0) -> int:
    """Reference (a): the resolver's read (:class:`service.FastReader`, the statement the
    server runs) in a bare loop on one connection, no HTTP — lookups/s on one core."""
    from industry_brain.domains.identifiers import service
    from industry_brain.store.db import make_engine

    engine = make_engine(url)
    reader = service.FastReader(engine)
    rnd = random.Random(7)
    n = 0
    deadline = time.perf_counter() + seconds
    t0 = time.perf_counter()
    while time.perf_counter() < deadline:
        for _ in range(100):
            assert reader.row(prefix, f"B{rnd.randrange(rows):09d}")
        n += 100
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return round(n / elapsed)


# ---------------------------------------------------------------- HTTP


def const_app() -> Any:
    """Reference (b): the least a Python HTTP server on this machine can do per request —
    uvicorn (same parser and loop as ``ids serve``) answering a constant JSON body."""
    body = b'{"identifier":"88.118.1/B000000001","status":"live","values":[]}'

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def _start(cmd: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, **env},
        cwd=Path(__file__).parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"server did not start: {cmd}")
        time.sleep(0.2)
    time.sleep(1.0)  # the second worker
    return proc


async def _drive(port: int, paths: Iterator[str] | Any, seconds: float) -> dict[str, Any]:
    """``CLIENTS`` keep-alive HTTP/1.1 connections, each sending its next GET when the previous
    answer is read; latencies and statuses after ``WARMUP`` seconds."""
    lat: list[float] = []
    statuses: dict[int, int] = {}
    t_start = time.perf_counter()
    t_measure = t_start + WARMUP
    t_end = t_measure + seconds

    async def client(k: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        rnd = random.Random(k)
        try:
            while True:
                t0 = time.perf_counter()
                if t0 >= t_end:
                    break
                writer.write(
                    b"GET " + paths(rnd).encode() + b" HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"
                )
                head = await reader.readuntil(b"\r\n\r\n")
                low = head.lower()
                i = low.index(b"content-length:") + 15
                length = int(low[i : low.index(b"\r\n", i)])
                await reader.readexactly(length)
                t1 = time.perf_counter()
                if t0 >= t_measure:
                    lat.append(t1 - t0)
                    status = int(head[9:12])
                    statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(client(k) for k in range(CLIENTS)))
    return {"latencies": lat, "statuses": statuses, "seconds": seconds}


def _measure(proc: subprocess.Popen, port: int, paths: Any) -> dict[str, Any]:
    from bench.web import _cpu_seconds

    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    box: dict[str, float] = {}

    async def timed() -> dict[str, Any]:
        async def mark() -> None:
            await asyncio.sleep(WARMUP)
            box["cpu0"] = _cpu_seconds(proc.pid)

        marker = asyncio.ensure_future(mark())
        out = await _drive(port, paths, SECONDS)
        await marker
        box["cpu1"] = _cpu_seconds(proc.pid)
        return out

    out = runner(timed())
    lat = out["latencies"]
    n = len(lat)
    p95 = statistics.quantiles(lat, n=20)[18] * 1000 if n >= 20 else float("nan")
    return {
        "requests": n,
        "per_s": round(n / out["seconds"]),
        "p50_ms": round(statistics.median(lat) * 1000, 2) if lat else None,
        "p95_ms": round(p95, 2),
        "statuses": out["statuses"],
        "server_cpu_ms_per_request": round((box["cpu1"] - box["cpu0"]) * 1000 / max(n, 1), 3),
    }


WRK_LUA = r"""
local paths = {}
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  math.randomseed(tonumber(args[2]))
end
function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "IBWRK %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


def _measure_wrk(proc: subprocess.Popen, port: int, paths: list[str], wrk: str) -> dict[str, Any]:
    """``wrk -t1 -c CLIENTS --latency`` on keep-alive connections, each request a random path
    of ``paths`` (a Lua script); a WARMUP-second run first, then the measured run with the
    server's CPU read around it. p50/p95 from wrk's latency distribution (``done()``)."""
    from bench.web import _cpu_seconds

    with tempfile.TemporaryDirectory(prefix="ib-wrk-") as tmp:
        script, listing = Path(tmp) / "paths.lua", Path(tmp) / "paths.txt"
        script.write_text(WRK_LUA, encoding="utf-8")
        listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
        base = [wrk, "-t1", f"-c{CLIENTS}", "--latency", "-s", str(script),
                f"http://127.0.0.1:{port}"]  # fmt: skip

        def run(seconds: float, seed: int) -> str:
            cmd = [*base[:-1], f"-d{max(1, round(seconds))}s", base[-1], "--", str(listing)]
            return subprocess.run(
                [*cmd, str(seed)], capture_output=True, text=True, check=True, timeout=120
            ).stdout

        run(WARMUP, 1)
        cpu0 = _cpu_seconds(proc.pid)
        out = run(SECONDS, 2)
        cpu1 = _cpu_seconds(proc.pid)
    line = next(x for x in out.splitlines() if x.startswith("IBWRK "))
    n, duration_us, p50, p95, p99, bad_status, errors = (int(v) for v in line.split()[1:])
    return {
        "client": "wrk",
        "requests": n,
        "per_s": round(n / (duration_us / 1e6)),
        "p50_ms": round(p50 / 1000, 2),
        "p95_ms": round(p95 / 1000, 2),
        "p99_ms": round(p99 / 1000, 2),
        "statuses": {"2xx_3xx": n - bad_status, "other": bad_status, "socket_errors": errors},
        "server_cpu_ms_per_request": round((cpu1 - cpu0) * 1000 / max(n, 1), 3),
    }


def _ok(res: dict[str, Any]) -> bool:
    st = res["statuses"]
    if res.get("client") == "wrk":
        return st["other"] == 0 and st["socket_errors"] == 0
    return st.keys() == {200}


def http_runs(url: str, rows: int, prefix: str) -> dict[str, Any]:
    from bench.web import wrk_client

    wrk = wrk_client("IB_BENCH_IDS_CLIENT")  # or the asyncio client
    rnd = random.Random(11)
    listing = [f"/api/v1/ids/resolve/{prefix}/B{rnd.randrange(rows):09d}" for _ in range(100_000)]

    def measure(proc: subprocess.Popen, port: int, paths: list[str]) -> dict[str, Any]:
        if wrk:
            return _measure_wrk(proc, port, paths, wrk)
        return {"client": "python asyncio", **_measure(proc, port, lambda r: r.choice(paths))}

    exe = Path(sys.executable).parent / "industry-brain"
    port = _free_port()
    proc = _start(
        [str(exe), "ids", "serve", "--port", str(port), "--workers", str(WORKERS)],
        {"IB_DATABASE_URL": url},
        port,
    )
    try:
        resolver = measure(proc, port, listing)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    port = _free_port()
    cmd = [sys.executable, "-m", "uvicorn", "bench.ids:const_app", "--factory",
           "--port", str(port), "--workers", str(WORKERS), "--log-level", "warning",
           "--no-access-log"]  # fmt: skip
    proc = _start(cmd, {}, port)
    try:
        const = measure(proc, port, ["/api/v1/ids/resolve/88.118.1/B000000001"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"resolver": resolver, "constant_app": const}


# ---------------------------------------------------------------- run


def _pg_url(stack: list[Any]) -> str | None:
    url = os.environ.get("IB_BENCH_STORE")
    if url and url.startswith("postgresql"):
        return url
    try:
        from tests import pgserver
    except ImportError:
        return None
    if not pgserver.available():
        return None
    # tuned as a node's database server would be, not left at the tests' defaults (128 MB of
    # buffers, a checkpoint every 1 GB of WAL): 4 GB of buffers (of 24 GiB), WAL room for a
    # 1,000,000-row COPY between checkpoints
    server = pgserver.start(shared_buffers="4GB", max_wal_size="8GB", checkpoint_timeout="30min")
    stack.append(server)
    return server.create_database("bench_ids")


def one_store(store: str, url: str, rows: int, chunk: int) -> dict[str, Any]:
    _say(f"ids bench on {store}: {rows:,} identifiers (load {_load()})")
    built = build_store(url, rows, chunk)
    size = store_bytes(url)
    _say(f"  store: {size / 1e9:.2f} GB, {size / rows:,.0f} bytes per identifier")
    bare = bare_lookups(url, rows, built["prefix"])
    _say(f"  bare indexed lookups: {bare:,}/s on one connection")
    http = http_runs(url, rows, built["prefix"])
    res, const = http["resolver"], http["constant_app"]
    _say(
        f"  resolver ({res['client']} client): {res['per_s']:,}/s, p95 {res['p95_ms']} ms, "
        f"{res['server_cpu_ms_per_request']} CPU ms/resolution; constant app {const['per_s']:,}/s "
        f"({const['server_cpu_ms_per_request']} CPU ms/request) (load {_load()})"
    )
    met = (
        built["bulk_per_s"] >= TARGETS["bulk_per_s"]
        and res["per_s"] >= TARGETS["resolutions_per_s"]
        and res["p95_ms"] < TARGETS["p95_ms"]
        and _ok(res)
    )
    return {
        "store": store,
        "identifiers": rows,
        **{k: v for k, v in built.items() if k != "prefix"},
        "store_bytes": size,
        "bytes_per_identifier": round(size / rows),
        "bare_lookups_per_s": bare,
        "client": res["client"],
        "resolutions_per_s": res["per_s"],
        "p50_ms": res["p50_ms"],
        "p95_ms": res["p95_ms"],
        "statuses": res["statuses"],
        "server_cpu_ms_per_resolution": res["server_cpu_ms_per_request"],
        "constant_app_per_s": const["per_s"],
        "constant_app_p95_ms": const["p95_ms"],
        "constant_app_cpu_ms_per_request": const["server_cpu_ms_per_request"],
        "share_of_constant_app": round(res["per_s"] / max(const["per_s"], 1), 2),
        "target_met": met,
    }


def run(rows: int = 0, **_: Any) -> dict[str, Any]:
    del rows  # ``python -m bench``'s power CSV size; this bench is sized by IB_BENCH_IDS_ROWS
    n = int(os.environ.get("IB_BENCH_IDS_ROWS", "10000000"))
    chunk = int(os.environ.get("IB_BENCH_IDS_CHUNK", "1000000"))
    stores = os.environ.get("IB_BENCH_IDS_STORES", "sqlite,postgresql").split(",")
    out: dict[str, Any] = {
        "clients": CLIENTS,
        "workers": WORKERS,
        "seconds": SECONDS,
        "cpus": os.cpu_count(),
        "load_before": _load(),
        "targets": TARGETS,
        "stores": [],
    }
    servers: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="ib-bench-ids-") as tmp:
        try:
            for store in stores:
                if store == "sqlite":
                    url = f"sqlite:///{Path(tmp) / 'ids.sqlite'}"
                else:
                    url = _pg_url(servers)
                    if url is None:
                        out["stores"].append({"store": store, "skipped": "no PostgreSQL"})
                        continue
                out["stores"].append(one_store(store, url, n, chunk))
        finally:
            for server in servers:
                server.stop()
    out["load_after"] = _load()
    out["target_met"] = all(s.get("target_met", False) for s in out["stores"])
    return out
