"""``python -m bench market``: the service market's matching and search.

1. Batch matching: 10,000 synthetic enterprises (GB/T 4754 classes, Huzhou counties, sizes, 70 %
   with a CMMM diagnosis of 20 sub-domain scores) against a 2,000-solution synthetic catalog
   in one batch with :func:`industry_brain.domains.market.matching.match` (NumPy, blocks of
   2,048 enterprises) — seconds (issue 19 target ≤ 10 s).
2. Catalog search on SQLite: a migrated store with 2,000 published solutions indexed by jieba
   (``market_search_tokens``); 300 queries of one or two words through
   :func:`industry_brain.domains.market.service.catalog` — p50 / p95 (target p95 < 100 ms).
3. One enterprise's matches in process (:func:`matching.for_enterprise` on that store with 500
   enterprises): p50 / p95 — the in-process cost of one page's computation. The issue's portal
   targets over HTTP at 50 clients (matches p95 < 150 ms, search p95 < 100 ms) are measured by
   ``IB_BENCH_PAGES=match,market_search python -m bench web`` (the city demo store with this
   module's 2,000-solution catalog added, see bench/web.py).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

N_ENTERPRISES = 10_000
N_SOLUTIONS = 2_000
COUNTIES = ("330502", "330503", "330521", "330522", "330523")
DIVISIONS = [str(d) for d in range(13, 44)]
WORDS = (
    "计划",
    "调度",
    "排产",
    "设备",
    "维护",
    "仓储",
    "能源",
    "质量",
    "检测",
    "数据",
    "平台",
    "安全",
    "采购",
    "协同",
    "工艺",
    "仿真",
    "物流",
    "客户",
    "服务",
    "数字孪生",
)


def _catalog(rng: random.Random, subs: list[str], n: int) -> pd.DataFrame:
    rows = []
    for i in range(n):
        lo = float(rng.choice((5, 10, 20, 30, 50, 80, 120, 200)))
        rows.append(
            {
                "id": i + 1,
                "code": f"S{i + 1:05d}",
                "provider_id": 1 + i % 300,
                "provider": f"P{1 + i % 300}",
                "regions": rng.choice(([], ["330500"], [rng.choice(COUNTIES)], ["330000"])),
                "title": f"方案{i}",
                "subdomains": rng.sample(subs, rng.randint(1, 4)),
                "industries": rng.sample(DIVISIONS, rng.choice((0, 0, 1, 2, 3))),
                "sizes": rng.choice(([], ["large", "medium"], ["small", "micro"], ["medium"])),
                "price_min": lo,
                "price_max": lo * 2,
                "cases": [
                    {"enterprise": "c", "industry": rng.choice(DIVISIONS), "result": "r"}
                    for _ in range(rng.randint(0, 5))
                ],
                "rating": rng.choice((np.nan, 3.5, 4.0, 4.6, 2.8)),
                "ratings": rng.randint(0, 9),
            }
        )
    return pd.DataFrame(rows)


def _enterprises(rng: random.Random, subs: list[str], n: int) -> pd.DataFrame:
    rows = []
    for i in range(n):
        diagnosed = rng.random() < 0.7
        rows.append(
            {
                "id": i + 1,
                "uscc": "",
                "name": f"企业{i}",
                "industry_code": rng.choice(DIVISIONS) + f"{rng.randint(10, 99)}",
                "county_code": rng.choice(COUNTIES),
                "size": rng.choice(("large", "medium", "small", "micro", None)),
                "level": rng.randint(0, 4) if diagnosed else None,
                "subdomains": {s: round(rng.uniform(0, 5), 2) for s in subs} if diagnosed else None,
                "diagnosis_year": 2025 if diagnosed else None,
            }
        )
    return pd.DataFrame(rows)


def batch() -> dict[str, Any]:
    from industry_brain.domains.market import codes, matching

    rng = random.Random(19)
    subs = list(codes.subdomains())
    ents = _enterprises(rng, subs, N_ENTERPRISES)
    sols = _catalog(rng, subs, N_SOLUTIONS)
    w = matching.Weights(1.0, 0.5, 0.2, 0.3, 0.3, 3, 3.0, 10)
    budget = np.array([rng.choice((np.nan, 30.0, 80.0, 200.0)) for _ in range(len(ents))])
    t0 = time.perf_counter()
    m = matching.match(ents, sols, w, budget=budget)
    seconds = time.perf_counter() - t0
    return {
        "enterprises": len(ents),
        "solutions": len(sols),
        "seconds": round(seconds, 3),
        "matched": int((m.index[:, 0] >= 0).sum()),
        "mean_eligible": round(float(m.eligible.mean()), 1),
        "target_seconds": 10,
        "target_met": seconds <= 10,
    }


def add_catalog(session: Any, n: int, seed: int = 7, providers: int = 100) -> int:
    """Register ``providers`` synthetic providers and ``n`` published synthetic solutions (titles
    and summaries from :data:`WORDS`, 1–3 sub-domains, 0–2 industries) in a migrated store
    (also used by ``bench web`` for its market pages). Returns the solutions added."""
    from industry_brain import contract
    from industry_brain.core import uscc
    from industry_brain.domains.market import codes, service
    from industry_brain.store.scope import Scope

    contract.services()
    rng = random.Random(seed)
    subs = list(codes.subdomains())
    officer = Scope(user_id=None, username="bench", role="admin")
    made = [
        service.register_provider(
            session,
            officer,
            uscc.make(f"91330502MA2BP{i:04d}"),
            f"基准服务商{i}",
            "engineering",
            [],
            10,
        )
        for i in range(providers)
    ]
    for i in range(n):
        words = rng.sample(WORDS, 4)
        fields = {
            "title": f"{words[0]}{words[1]}与{words[2]}优化方案{i}",
            "summary": f"面向{words[3]}的{words[0]}系统，提供{words[1]}能力。",
            "subdomains": rng.sample(subs, rng.randint(1, 3)),
            "industries": rng.sample(DIVISIONS, rng.choice((0, 1, 2))),
            "sizes": [],
            "price_min": 10,
            "price_max": 30,
            "delivery_days": 60,
            "cases": [],
        }
        sol = service.create_solution(
            session, officer, fields, provider_id=made[i % providers].id, source="bench"
        )
        service.review(session, officer, sol.id, 1, "approve")
    session.commit()
    return n


def _store(folder: Path) -> tuple[Any, float]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from industry_brain.core import uscc
    from industry_brain.store import migrate
    from industry_brain.store.db import make_engine
    from industry_brain.store.models import Enterprise, Industry

    engine = make_engine(f"sqlite:///{folder / 'market.sqlite'}")
    migrate.upgrade(engine)
    rng = random.Random(7)
    t0 = time.perf_counter()
    with Session(engine) as s:
        add_catalog(s, N_SOLUTIONS)
        classes = sorted(
            s.scalars(select(Industry.code).where(Industry.level == "class", Industry.code < "44"))
        )
        for i in range(500):
            s.add(
                Enterprise(
                    uscc=uscc.make(f"91330502MA2BE{i:04d}"),
                    name=f"基准企业{i}",
                    county_code=rng.choice(COUNTIES),
                    industry_code=rng.choice(classes) if classes else None,
                )
            )
        s.commit()
    return engine, time.perf_counter() - t0


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p * (len(xs) - 1)))]


def search_and_page() -> dict[str, Any]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from industry_brain.domains.market import matching, service
    from industry_brain.store.models import Enterprise

    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp:
        engine, build = _store(Path(tmp))
        try:
            with Session(engine) as s:
                service.catalog(s, "计划调度")  # jieba's dictionary loads once
                times, hits = [], []
                for _ in range(300):
                    q = "".join(rng.sample(WORDS, rng.choice((1, 2))))
                    t0 = time.perf_counter()
                    found = service.catalog(s, q)
                    times.append((time.perf_counter() - t0) * 1000)
                    hits.append(len(found))
                ids = list(s.scalars(select(Enterprise.id)))
                page = []
                for eid in rng.sample(ids, 100):
                    t0 = time.perf_counter()
                    matching.for_enterprise(s, eid)
                    page.append((time.perf_counter() - t0) * 1000)
        finally:
            engine.dispose()
    p95 = _pct(times, 0.95)
    return {
        "store_build_seconds": round(build, 1),
        "solutions": N_SOLUTIONS,
        "queries": len(times),
        "mean_hits": round(statistics.mean(hits), 1),
        "search_p50_ms": round(_pct(times, 0.5), 2),
        "search_p95_ms": round(p95, 2),
        "search_target_p95_ms": 100,
        "one_enterprise_p50_ms": round(_pct(page, 0.5), 1),
        "one_enterprise_p95_ms": round(_pct(page, 0.95), 1),
        "target_met": p95 < 100,
    }


def run(rows: int = 0) -> dict[str, Any]:
    b = batch()
    s = search_and_page()
    return {
        "batch": b,
        "search": s,
        "target_met": bool(b["target_met"] and s["target_met"]),
        "http": "portal p95 at 50 HTTP clients: IB_BENCH_PAGES=match,market_search bench web",
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2, ensure_ascii=False))
