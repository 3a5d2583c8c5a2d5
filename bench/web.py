"""Web benchmark: a real ``industry-brain serve`` on 127.0.0.1 over the city-scale demo store,
driven by 50 concurrent signed-in clients sending a fixed number of requests per page; prints
p50/p95 latency of the enterprise profile page, search and the cockpit under two load models.

The clients are ``wrk`` (C, one thread, one keep-alive connection per client; ``make
bench-deps`` installs it; a Lua script gives each request its client's session cookie and
path, the pause, and counts any answer but 200 as a failure) when it is on PATH, else — or
with ``IB_BENCH_WEB_CLIENT=httpx`` — httpx clients in this process, each with its own session.
The load client shares the 2 cores with the server, and what it spends the server lacks: each
row says which client measured it and its CPU per request (``client_cpu_ms``).

- **saturation** (closed loop, no pause): each client sends its next request as soon as the
  previous one is answered. This measures throughput (requests/s); with 50 clients and zero
  think time on 2 cores the latency is dominated by queueing (≈ 50 ÷ throughput), so its
  percentiles are reported but not judged.
- **think time** (judged): each client pauses a random think time, uniform 0.5–1.5 s
  (``IB_BENCH_THINK``), before every request — people clicking through pages. Each client also
  starts after such a pause, so the 50 clients do not fire in lockstep.

Targets (issue 8), judged on the think-time model: p95 < 150 ms for profile and search,
< 400 ms for the cockpit; every response must be HTTP 200 and the server must log no error
(e.g. SQLite's "database is locked"). The request mix: profiles of enterprises spread over the
whole store (every n-th by id), searches cycling through ten name terms, pages 1–5 and every
third one filtered to 规上, and the city-wide cockpit. The cockpit's aggregates are cached per
scope (and per worker process) until the next import batch, so warm-up requests precede the
measurement (the cold figure is reported too).

The store is the city demo built by the whole main job (services' hooks included, so the pages'
domain sections have their results to show). Environment: ``IB_BENCH_STORE`` reuses an existing
city store (SQLite file) instead of building one (~130 s); it is upgraded to the current
migration first. ``IB_BENCH_WORKERS`` sets uvicorn workers (default 2: one per core of the
benchmark machine), ``IB_BENCH_CONCURRENCY`` the clients (50), ``IB_BENCH_REQUESTS`` the
requests per page (1000; the cockpit gets a fifth), ``IB_BENCH_THINK`` the think-time range in
seconds (``0.5,1.5``), ``IB_BENCH_MODELS`` the load models to run (``saturation,think``),
``IB_BENCH_PAGES`` the pages (``profile,search,cockpit``; also ``lists`` — sorted and paged
lists: enterprises by USCC, 亩均 results, 清三低 lists, carbon results — ``export``, the CSV
export of the 规上 enterprises, ``xlsx``, the XLSX export of a filtered list (one county's 规上
enterprises, the county changing with each request), ``explain``, the explanation documents as
printable pages (亩均 and carbon, alternately, of enterprises spread over the published results),
and ``batch``, the import batch pages (each batch of the demo in turn)), ``match``, the
enterprise portal's "find a solution" page (供需对接: one enterprise's ranked, explained matches),
requested by signed-in enterprise users of ``IB_BENCH_FIRMS`` (20) firms, the 50 clients spread
over them, and ``market_search``, the solutions catalog's token search (ten one- or two-word
terms, as the city officer). For these two the store gets ``IB_BENCH_CATALOG`` (2,000) synthetic
published solutions of 100 providers (bench/market.py ``add_catalog``; the demo's own catalog has
38) — a kept store (``IB_BENCH_STORE``) is copied first, never changed. Targets (issue 19): p95 <
150 ms for ``match``, < 100 ms for ``market_search``.

**Province scale on PostgreSQL** (issue 21 point 6): ``IB_BENCH_SCALE=province`` builds or
reuses the 500,000-firm store of ``bench/province_store.py`` (``IB_BENCH_PROVINCE_FIRMS``
firms; a kept PostgreSQL cluster under ``DATA_DIR/bench``, started for the run and stopped
after it), or ``IB_BENCH_STORE=postgresql://…`` names a store. On PostgreSQL the pages profile,
search and cockpit are measured as the city officer and as county officers
(``IB_BENCH_ROLES``, default ``city,county``; rows ``profile/county`` …): the county clients
cycle through every county's officer, each requesting its own county's enterprises. Each
query's first search in each scope is timed alone first (``cold_search``: a search's count is
cached per scope and query until the next import), then warmed. The rows add the database
server's CPU per request (``db_cpu_ms``, the postmaster and its backends) when the bench
started the cluster.

Beside the latencies each row reports the server's CPU time per request (``cpu_ms``: user +
system time of the serving processes, read from ``/proc``, divided by the requests): on a
shared machine the latencies move with the other load, the CPU cost of a page much less.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain import mainjob
from industry_brain.demo.operational import DEMO_PASSWORD
from industry_brain.store import migrate
from industry_brain.store.db import make_engine
from industry_brain.store.models import Enterprise, ImportBatch, User

TARGETS_MS = {
    "profile": 150.0,
    "search": 150.0,
    "cockpit": 400.0,
    "lists": 400.0,
    "export": 1000.0,
    "xlsx": 1000.0,
    "explain": 400.0,
    "batch": 1000.0,
    "match": 150.0,
    "market_search": 100.0,
}
MARKET_PAGES = ("match", "market_search")
MARKET_TERMS = (
    "计划调度",
    "设备",
    "能源",
    "质量检测",
    "数据平台",
    "仓储",
    "工艺",
    "安全",
    "协同",
    "数字孪生",
)
JUDGED_MODEL = "think"
#: the pages measured for the county officers too (their scope: one county)
ROLE_PAGES = ("profile", "search", "cockpit")
USER = "city_officer_01"
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


def _explained(s: Session) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """Pairs of (service, USCC): an enterprise of the latest published 亩均 run and one of the
    latest carbon run, in enterprise order."""
    from industry_brain.domains.carbon.models import CarbonResult, CarbonRun
    from industry_brain.domains.mujun.models import MujunResult, MujunRun

    mujun_run = s.scalar(
        select(MujunRun.id)
        .where(MujunRun.status == "published")
        .order_by(MujunRun.year.desc(), MujunRun.id.desc())
        .limit(1)
    )
    carbon_run = s.scalar(select(CarbonRun.id).order_by(CarbonRun.year.desc(), CarbonRun.id.desc()))
    mujun = list(
        s.scalars(
            select(MujunResult.uscc)
            .where(MujunResult.run_id == mujun_run)
            .order_by(MujunResult.enterprise_id)
        )
    )
    carbon = list(
        s.scalars(
            select(Enterprise.uscc)
            .join(CarbonResult, CarbonResult.enterprise_id == Enterprise.id)
            .where(CarbonResult.run_id == carbon_run)
            .order_by(CarbonResult.enterprise_id)
        )
    )
    return [(("mujun", m), ("carbon", c)) for m, c in zip(mujun, carbon, strict=False)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _build_store(folder: Path) -> Path:
    store = folder / "city.sqlite"
    engine = make_engine(f"sqlite:///{store}")
    t0 = time.perf_counter()
    # the whole main job, services' hooks included: the profile and the cockpit show the
    # services' sections (亩均, carbon, projects), which read their results
    mainjob.run_demo(folder / "demo", scale="city", engine=engine)
    engine.dispose()
    print(f"built the city demo store in {time.perf_counter() - t0:.0f}s")
    return store


def _start(database: str, data: Path, workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {
        **os.environ,
        "IB_DATABASE_URL": database,
        "IB_DATA_DIR": str(data),
        "IB_COOKIE_SECURE": "0",
        "IB_LOG_LEVEL": "WARNING",
        # the bench warms the cockpit itself and times the cold one; the server's own warm-up
        # thread (web/warmup.py) would compete with the measured requests for the 2 cores
        "IB_COCKPIT_WARM_SECONDS": "0",
    }
    cli = Path(sys.executable).with_name("industry-brain")
    proc = subprocess.Popen(
        [str(cli), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
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


async def _load(
    url: str,
    cookies: list[str],
    paths: list[str] | list[list[str]],
    think: tuple[float, float] | None,
    seed: int,
) -> tuple[list[float], list[str]]:
    """Send every path once from ``len(cookies)`` clients (each its own session and
    connection); with ``think`` each client pauses uniform(*think) seconds before each
    request. ``paths`` is one queue shared by the clients, or one list per client (scoped
    users: each client requests what its own scope holds). Returns latencies in ms and the
    failures."""
    own = bool(paths) and isinstance(paths[0], list)
    queues: list[asyncio.Queue[str]] = []
    for lst in paths if own else [paths]:
        queues.append(asyncio.Queue())
        for p in lst:
            queues[-1].put_nowait(p)
    out: list[float] = []
    failures: list[str] = []
    rng = random.Random(seed)

    async def client(cookie: str, queue: asyncio.Queue[str]) -> None:
        async with httpx.AsyncClient(
            base_url=url, headers={"Cookie": f"ib_session={cookie}"}, timeout=60
        ) as c:
            while True:
                if think is not None:
                    await asyncio.sleep(rng.uniform(*think))
                try:
                    path = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                try:
                    r = await c.get(path)
                except httpx.HTTPError as exc:
                    failures.append(f"{path}: {type(exc).__name__}")
                    continue
                out.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    failures.append(f"{path}: HTTP {r.status_code}")

    await asyncio.gather(
        *(client(c, queues[i % len(queues)] if own else queues[0]) for i, c in enumerate(cookies))
    )
    return out, failures


WEB_WRK_LUA = r"""
-- each request: the next (cookie, path) pair of the listing, in turn; any answer but 200
-- counts as a failure (THINK_DELAY is appended for the think-time model)
local pairs_ = {}
local next_ = 0
local think_lo, think_hi = 0, 0
bad = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    pairs_[#pairs_ + 1] = {line:sub(1, tab - 1), line:sub(tab + 1)}
  end
  math.randomseed(tonumber(args[2]))
  think_lo, think_hi = tonumber(args[3]), tonumber(args[4])
end
function request()
  next_ = next_ % #pairs_ + 1
  local pair = pairs_[next_]
  return wrk.format("GET", pair[2], {["Cookie"] = "ib_session=" .. pair[1]})
end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + t:get("bad") end
  local e = summary.errors
  io.write(string.format("IBWRK %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency.max, failed,
    e.connect + e.read + e.write + e.timeout))
end
"""


#: wrk pauses before a connection's request (its first included) when the script defines
#: ``delay()``, decided when the script loads: so it is appended only for the think-time model
THINK_DELAY = r"""
function delay() return math.random(think_lo, think_hi) end
"""


def wrk_client(setting: str) -> str | None:
    """The load client of a bench: ``wrk`` (C, one thread, epoll; ``make bench-deps`` installs
    it) when on PATH, unless the environment variable ``setting`` names another client; None:
    the bench's Python clients in its own process, which cost the shared 2 cores far more CPU
    per request."""
    if os.environ.get(setting, "wrk") != "wrk":
        return None
    return shutil.which("wrk")


def _load_wrk(
    wrk: str,
    url: str,
    cookies: list[str],
    paths: list[str] | list[list[str]],
    think: tuple[float, float] | None,
    seed: int,
) -> dict[str, Any]:
    """The same load as :func:`_load` from ``wrk`` (``-t1``, one keep-alive connection per
    client): requests take the listing's (cookie, path) pairs in turn — the clients' own
    lists interleaved, each path with its client's cookie — for as long as sending every path
    once takes (with ``think``: paths ÷ clients × the mean pause; closed loop: 20 s). Returns
    requests, p50/p95/max in ms (wrk's latency distribution, the pause excluded), failures
    and the wall seconds."""
    own = bool(paths) and isinstance(paths[0], list)
    lists = paths if own else [paths]
    listing: list[str] = []
    queues = [list(lst) for lst in lists]  # type: ignore[arg-type]
    k = 0
    while any(queues):
        for i, queue in enumerate(queues):
            if queue:
                # a client of this list: the i-th, the (i + n)-th, … (as _load assigns them)
                mine = cookies[i :: len(queues)] or cookies
                # percent-encoded as httpx sends it (wrk refuses a raw non-ASCII path)
                path = quote(queue.pop(0), safe="/?&=%:+")
                listing.append(f"{mine[k % len(mine)]}\t{path}")
        k += 1
    clients = len(cookies)
    seconds = len(listing) / clients * (sum(think) / 2) if think else 20.0
    lo, hi = (round(t * 1000) for t in think) if think else (0, 0)
    with tempfile.TemporaryDirectory(prefix="ib-wrk-") as tmp:
        script, listed = Path(tmp) / "web.lua", Path(tmp) / "pairs.txt"
        script.write_text(WEB_WRK_LUA + (THINK_DELAY if think else ""), encoding="utf-8")
        listed.write_text("\n".join(listing) + "\n", encoding="utf-8")
        cmd = [wrk, "-t1", f"-c{clients}", f"-d{max(2, round(seconds))}s", "--timeout", "60s",
               "-s", str(script), url, "--", str(listed), str(seed), str(lo), str(hi)]  # fmt: skip
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 180)
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-1000:]}")
        out = done.stdout
        wall = time.perf_counter() - t0
    line = next(x for x in out.splitlines() if x.startswith("IBWRK "))
    n, duration_us, p50, p95, top, bad, errors = (int(v) for v in line.split()[1:])
    return {
        "requests": n,
        "failed": bad + errors,
        "p50_ms": round(p50 / 1000, 1),
        "p95_ms": round(p95 / 1000, 1),
        "max_ms": round(top / 1000, 1),
        "seconds": duration_us / 1e6,
        "wall": wall,
    }


def _client_cpu() -> float:
    """CPU seconds of the load client so far: this process (httpx) and its ended children
    (wrk)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + ended.ru_utime + ended.ru_stime


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its descendants (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        stats[int(entry.name)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        if p in stats:
            total += (int(stats[p][11]) + int(stats[p][12])) / tick
        todo.extend(children.get(p, []))
    return total


def _db_cpu_seconds(pid: int) -> float:
    """CPU seconds of the database server ``pid`` (the postmaster): its live processes (the
    backends of the pooled connections) plus the children it has reaped (``cutime``,
    ``cstime``: backends that ended)."""
    tick = os.sysconf("SC_CLK_TCK")
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return _cpu_seconds(pid) + (int(fields[13]) + int(fields[14])) / tick


def _pct(values: list[float], q: float) -> float:
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 1)


def _server_errors(log: Path) -> list[str]:
    lines = log.read_text("utf-8", errors="replace").splitlines()
    return [
        line
        for line in lines
        if '"level": "error"' in line.lower() or "Traceback" in line or "locked" in line
    ]


def run(rows: int = 0) -> dict[str, Any]:
    """Benchmark the web pages (``rows`` is unused: the city demo fixes the data size)."""
    concurrency = int(os.environ.get("IB_BENCH_CONCURRENCY", "50"))
    requests = int(os.environ.get("IB_BENCH_REQUESTS", "1000"))
    workers = int(os.environ.get("IB_BENCH_WORKERS", "2"))
    lo, hi = (float(x) for x in os.environ.get("IB_BENCH_THINK", "0.5,1.5").split(","))
    models = os.environ.get("IB_BENCH_MODELS", "saturation,think").split(",")
    wanted = os.environ.get("IB_BENCH_PAGES", "profile,search,cockpit").split(",")
    with tempfile.TemporaryDirectory(prefix="ib-bench-web-") as tmpdir:
        tmp = Path(tmpdir)
        scale = os.environ.get("IB_BENCH_SCALE", "city")
        kept = os.environ.get("IB_BENCH_STORE", "")
        market = [p for p in MARKET_PAGES if p in wanted]
        cluster = None
        if scale == "province" or kept.startswith("postgresql"):
            if market:
                raise ValueError("the market pages run on the city store (SQLite) only")
            if scale == "province":
                from bench.province_store import ensure

                cluster = ensure(int(os.environ.get("IB_BENCH_PROVINCE_FIRMS", "500000")))
                database = cluster.url
            else:
                database = kept
        else:
            store = Path(kept) if kept else _build_store(tmp)
            if market and kept:
                copy = tmp / "city.sqlite"  # the kept store is not changed
                shutil.copyfile(store, copy)
                store = copy
            database = f"sqlite:///{store}"
        roles = os.environ.get(
            "IB_BENCH_ROLES", "city" if database.startswith("sqlite") else "city,county"
        ).split(",")
        catalog_size = int(os.environ.get("IB_BENCH_CATALOG", "2000"))
        engine = make_engine(database)
        migrate.upgrade(engine)  # a kept store may predate the latest migration
        catalog_added = 0
        if market and catalog_size > 0:
            from bench.market import add_catalog

            t0 = time.perf_counter()
            with Session(engine) as s:
                catalog_added = add_catalog(s, catalog_size)
            print(f"added {catalog_added} solutions in {time.perf_counter() - t0:.0f}s")
        with Session(engine) as s:
            firms = list(
                s.scalars(
                    select(User.username)
                    .where(User.role == "enterprise", User.enterprise_id.is_not(None))
                    .order_by(User.id)
                    .limit(int(os.environ.get("IB_BENCH_FIRMS", "20")))
                )
            )
            by_county: dict[str, list[str]] = {}
            usccs = []
            for uscc, county in s.execute(
                select(Enterprise.uscc, Enterprise.county_code).order_by(Enterprise.id)
            ):
                usccs.append(uscc)
                by_county.setdefault(county, []).append(uscc)
            explained = _explained(s) if "explain" in wanted else []
            batches = list(s.scalars(select(ImportBatch.id).order_by(ImportBatch.id)))
            counties = sorted(c for c in by_county if c)
            officers = list(
                s.execute(
                    select(User.username, User.county_code)
                    .where(User.role == "county_officer", User.county_code.is_not(None))
                    .order_by(User.username)
                )
            )
        engine.dispose()
        log = tmp / "server.log"
        proc, url = _start(database, tmp, workers, log)
        db_pid = cluster.pid() if cluster is not None else None
        try:
            cookies = [_login(url, USER) for _ in range(concurrency)]
            # county officers: the clients spread over every county's officer (scoped pages)
            county_of = (
                [officers[i % len(officers)] for i in range(concurrency)] if officers else []
            )
            role_cookies = {
                "city": cookies,
                "county": [_login(url, name) for name, _ in county_of] if "county" in roles else [],
            }
            # the portal's pages: enterprise users of several firms, the clients spread over them
            firm_cookies = (
                [_login(url, firms[i % len(firms)]) for i in range(concurrency)]
                if "match" in wanted and firms
                else []
            )
            page_cookies = {"match": firm_cookies}
            t0 = time.perf_counter()
            httpx.get(f"{url}/cockpit", headers={"Cookie": f"ib_session={cookies[0]}"}, timeout=120)
            cold_cockpit = round((time.perf_counter() - t0) * 1000, 1)
            # every worker process fills its own cockpit cache (per scope: the city's and each
            # county's): send bursts of one request per client (spread over the workers) until a
            # burst finds every worker warm
            for role in roles:
                for burst in range(10):
                    lat, _failures = asyncio.run(
                        _load(url, role_cookies[role], ["/cockpit"] * concurrency, None, 0)
                    )
                    if burst >= 2 and max(lat) < cold_cockpit / 2:  # (a burst may miss a worker)
                        break
            # a search's count (and its first ids) is cached per scope and query until the next
            # import; the first search of each query in each scope is timed alone (one request
            # at a time: no queueing), then every client sends every query (each scope's query
            # reaches both workers) before the measurement
            cold_search: dict[str, dict[str, float]] = {}
            if "search" in wanted:
                queries = [
                    f"/enterprises?q={term}" + ("&scale=above" if above else "")
                    for term in SEARCH_TERMS
                    for above in (False, True)
                ]
                for role in roles:
                    # one client per scope (the county clients cycle through the officers)
                    scopes = role_cookies[role][: len(officers) if role == "county" else 1]
                    lat = []
                    for cookie in scopes:
                        for path in queries:
                            t0 = time.perf_counter()
                            httpx.get(
                                f"{url}{path}",
                                headers={"Cookie": f"ib_session={cookie}"},
                                timeout=120,
                            )
                            lat.append((time.perf_counter() - t0) * 1000)
                    cold_search[role] = {
                        "queries": len(lat),
                        "p50_ms": _pct(lat, 50),
                        "p95_ms": _pct(lat, 95),
                        "max_ms": round(max(lat), 1),
                    }
                    print(f"cold search ({role}): {cold_search[role]}")
                    who = role_cookies[role]
                    asyncio.run(_load(url, who, [list(queries) for _ in who], None, 0))
            step = max(1, len(usccs) // requests)
            pages = {
                "profile": [f"/enterprises/{u}" for u in usccs[::step][:requests]],
                "search": [
                    f"/enterprises?q={SEARCH_TERMS[i % len(SEARCH_TERMS)]}&page={1 + i % 5}"
                    + ("&scale=above" if i % 3 == 0 else "")
                    for i in range(requests)
                ],
                "cockpit": ["/cockpit"] * max(requests // 5, concurrency),
                "lists": [
                    (
                        f"/enterprises?sort=uscc&dir=desc&size=50&page={1 + i % 20}",
                        f"/mujun?sort=tax&dir=desc&page={1 + i % 10}",
                        f"/mujun/lists?sort=tax_per_mu&page={1 + i % 10}",
                        f"/carbon?sort=intensity&page={1 + i % 10}",
                    )[i % 4]
                    for i in range(requests // 2)
                ],
                "export": ["/enterprises?scale=above&export=csv"] * max(requests // 20, 10),
                "xlsx": [
                    f"/enterprises?county={counties[i % len(counties)]}&scale=above&export=xlsx"
                    for i in range(max(requests // 20, 10))
                ],
                "explain": [
                    f"/{service}/explanation/{uscc}"
                    for pair in explained[:: max(1, len(explained) // (requests // 4))][
                        : requests // 4
                    ]
                    for service, uscc in pair
                ],
                "batch": [
                    f"/import/batches/{batches[i % len(batches)]}"
                    for i in range(max(requests // 20, 10))
                ],
            }
            pages["match"] = ["/market/find"] * requests
            pages["market_search"] = [
                f"/market?q={MARKET_TERMS[i % len(MARKET_TERMS)]}" for i in range(requests)
            ]
            if market:  # warm-up: jieba's dictionary and the prepared catalog in each worker
                for name in market:
                    warm = page_cookies.get(name) or cookies
                    asyncio.run(_load(url, warm, pages[name][: 2 * concurrency], None, 0))
            # every other page is warmed too (one burst of one request per client, no pause):
            # each worker's lazy loads — parameters, questionnaires, templates, the services'
            # caches — happen before the measurement, whichever model runs first (the judged
            # think-time model alone used to measure them); the profiles warm on enterprises
            # outside the measured set
            warm_paths = {
                "profile": [f"/enterprises/{u}" for u in usccs[step // 2 :: step][:concurrency]],
            }
            for name in wanted:
                if name in pages and name not in market and name != "cockpit":
                    warm = warm_paths.get(name) or pages[name][:concurrency]
                    asyncio.run(_load(url, page_cookies.get(name) or cookies, warm, None, 0))
            pages = {name: paths for name, paths in pages.items() if name in wanted}
            # the county officers' requests: one list per client, from its own county (the
            # profiles of its county's enterprises, spread over them; the same searches and
            # cockpit, which the server scopes)
            scoped_pages: dict[str, list[list[str]]] = {}
            if "county" in roles:
                clients_of: dict[str, list[int]] = {}
                for i, (_name, code) in enumerate(county_of):
                    clients_of.setdefault(code, []).append(i)
                profiles: list[list[str]] = [[] for _ in county_of]
                warm_profiles: list[list[str]] = [[] for _ in county_of]
                for code, clients in clients_of.items():
                    mine = by_county.get(code, [])
                    share = requests * len(clients) // len(county_of)
                    k = max(1, len(mine) // max(1, share))
                    for j, u in enumerate(mine[::k][:share]):
                        profiles[clients[j % len(clients)]].append(f"/enterprises/{u}")
                    for j, u in enumerate(mine[k // 2 :: k][: len(clients)]):
                        warm_profiles[clients[j % len(clients)]].append(f"/enterprises/{u}")
                # the county clients' share of each measured page (IB_BENCH_PAGES may name
                # only some of them)
                scoped_pages = {"profile": profiles} if "profile" in pages else {}
                for name in ("search", "cockpit"):
                    if name in pages:
                        n = len(county_of)
                        scoped_pages[name] = [pages[name][i::n] for i in range(n)]
                for name in ROLE_PAGES:
                    if name in pages and name != "cockpit":
                        warm = (
                            warm_profiles
                            if name == "profile"
                            else [lst[:1] for lst in scoped_pages[name]]
                        )
                        asyncio.run(_load(url, role_cookies["county"], warm, None, 0))
            runs: list[tuple[str, str, list[str] | list[list[str]], list[str]]] = []
            for name, paths in pages.items():
                runs.append((name, name, paths, page_cookies.get(name) or cookies))
                if name in scoped_pages:
                    runs.append(
                        (f"{name}/county", name, scoped_pages[name], role_cookies["county"])
                    )
            results: dict[str, dict[str, Any]] = {}
            wrk = wrk_client("IB_BENCH_WEB_CLIENT")  # or httpx
            for model in models:
                think = (lo, hi) if model == "think" else None
                results[model] = {}
                for n, (key, name, paths, who) in enumerate(runs):
                    t0, cpu0 = time.perf_counter(), _cpu_seconds(proc.pid)
                    db0 = _db_cpu_seconds(db_pid) if db_pid else 0.0
                    client0 = _client_cpu()
                    if wrk:
                        got = _load_wrk(wrk, url, who, paths, think, seed=8 + n)
                        cpu = _cpu_seconds(proc.pid) - cpu0
                        count = got["requests"]
                        failures = [f"{got['failed']} answers not 200"] if got["failed"] else []
                        row = {
                            "client": "wrk",
                            "requests": count,
                            "failed": got["failed"],
                            "p50_ms": got["p50_ms"],
                            "p95_ms": got["p95_ms"],
                            "max_ms": got["max_ms"],
                            "throughput_rps": round(count / got["seconds"], 1),
                        }
                    else:
                        lat, failures = asyncio.run(_load(url, who, paths, think, seed=8 + n))
                        wall = time.perf_counter() - t0
                        cpu = _cpu_seconds(proc.pid) - cpu0
                        count = len(lat) + sum(1 for f in failures if "HTTP" not in f)
                        row = {
                            "client": "httpx",
                            "requests": count,
                            "failed": len(failures),
                            "p50_ms": _pct(lat, 50),
                            "p95_ms": _pct(lat, 95),
                            "max_ms": round(max(lat), 1),
                            "throughput_rps": round(len(lat) / wall, 1),
                        }
                    row["cpu_ms"] = round(cpu * 1000 / max(count, 1), 1)
                    row["client_cpu_ms"] = round(
                        (_client_cpu() - client0) * 1000 / max(count, 1), 2
                    )
                    row["load_avg"] = round(os.getloadavg()[0], 2)
                    if db_pid:
                        row["db_cpu_ms"] = round((_db_cpu_seconds(db_pid) - db0) * 1000 / count, 1)
                    if model == JUDGED_MODEL:
                        row["target_p95_ms"] = TARGETS_MS[name]
                        row["target_met"] = row["p95_ms"] < TARGETS_MS[name] and not failures
                    results[model][key] = row
                    print(
                        f"{model:10s} {key:15s} {row}"
                        + (f" first failure: {failures[0]}" if failures else "")
                    )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            if cluster is not None:
                cluster.stop()
        server_errors = _server_errors(log)
    for line in server_errors[:5]:  # the start and the end (the exception) of each
        print(f"server error: {line[:200]} … {line[-400:]}")
    judged = results.get(JUDGED_MODEL, {})
    return {
        "store": "postgresql" if database.startswith("postgresql") else "sqlite",
        "roles": roles,
        "county_officers": sorted({name for name, _ in county_of}),
        "enterprises": len(usccs),
        "concurrency": concurrency,
        "workers": workers,
        "think_time_s": [lo, hi],
        "cold_cockpit_ms": cold_cockpit,
        "cold_search": cold_search,
        "catalog_added": catalog_added,
        "firms": len(firms),
        "server_errors": len(server_errors),
        "models": results,
        "target_met": bool(judged)
        and all(r["target_met"] for r in judged.values())
        and not server_errors,
    }
