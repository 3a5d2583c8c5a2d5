"""Chinese full-text search over the published solutions (方案检索).

Text is segmented by jieba in its search mode (``lcut_for_search``: a long word also yields its
shorter dictionary words, so 智能排产 is found by 排产); tokens are lower-cased, punctuation and a
few function words (的, 与, 和 …) are dropped. The index (``market_search_tokens``) holds, per
published solution, each token of its title, summary, sub-domain names, reference cases and
provider name with its count — the same table on SQLite and PostgreSQL, queried by exact token
(an index lookup, never ``LIKE``).

A query matches a solution holding every query token; matches are ranked by the sum over the
query tokens of ``tf × idf`` with ``idf = ln(1 + N / df)`` (N published solutions, df those
holding the token), then by solution code.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from functools import cache
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from industry_brain.domains.market import codes
from industry_brain.domains.market.models import (
    MarketProvider,
    MarketSearchToken,
    MarketSolution,
    MarketSolutionVersion,
)

STOPWORDS = frozenset(
    {"的", "与", "和", "及", "或", "等", "在", "对", "为", "了", "是", "以", "中", "其", "并"}
    | {"之", "于", "及其", "以及", "a", "an", "the", "of", "and", "or", "for"}
)
_WORD = re.compile(r"\w", re.UNICODE)
MAX_TOKEN = 64


@cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def tokens(text: str) -> list[str]:
    """The index tokens of ``text`` (jieba search mode, lower-cased, no punctuation)."""
    out = []
    for t in _jieba().lcut_for_search(text or ""):
        t = t.strip().lower()
        if t and _WORD.search(t) and t not in STOPWORDS and len(t) <= MAX_TOKEN:
            out.append(t)
    return out


def document(v: MarketSolutionVersion, provider_name: str) -> str:
    """The text of a solution version that is indexed."""
    parts = [v.title, v.summary, provider_name]
    parts += [codes.subdomain_label(c, "zh") for c in v.subdomains]
    for case in v.cases or []:
        parts += [str(case.get("enterprise") or ""), str(case.get("result") or "")]
    return "\n".join(p for p in parts if p)


def index_solution(session: Session, solution: MarketSolution) -> int:
    """(Re)index the published version of ``solution``; returns the number of tokens."""
    session.execute(delete(MarketSearchToken).where(MarketSearchToken.solution_id == solution.id))
    if solution.published_version is None:
        return 0
    v = session.scalars(
        select(MarketSolutionVersion).where(
            MarketSolutionVersion.solution_id == solution.id,
            MarketSolutionVersion.version == solution.published_version,
        )
    ).one()
    provider = session.get(MarketProvider, solution.provider_id)
    counts = Counter(tokens(document(v, provider.name if provider else "")))
    if counts:
        session.execute(
            insert(MarketSearchToken),
            [{"token": t, "solution_id": solution.id, "tf": n} for t, n in counts.items()],
        )
    return len(counts)


def search(session: Session, query: str, limit: int = 50) -> list[tuple[int, float]]:
    """(solution id, relevance) of the published solutions matching every token of ``query``,
    best first (ties by solution code)."""
    wanted = sorted(set(tokens(query)))
    if not wanted:
        return []
    # the postings of the query's tokens in one indexed read; df, the AND and tf × idf here
    # (with each solution's code for the tie-break: no second read with a long IN list)
    rows = session.execute(
        select(
            MarketSearchToken.token,
            MarketSearchToken.solution_id,
            MarketSearchToken.tf,
            MarketSolution.code,
        )
        .join(MarketSolution, MarketSolution.id == MarketSearchToken.solution_id)
        .where(MarketSearchToken.token.in_(wanted))
    ).all()
    postings: dict[str, dict[int, int]] = {t: {} for t in wanted}
    code_of: dict[int, str] = {}
    for tok, sid, tf, code in rows:
        postings[tok][sid] = tf
        code_of[sid] = code
    if any(not p for p in postings.values()):
        return []  # a token no solution holds: nothing matches every token
    n_docs = (
        session.scalar(
            select(func.count(MarketSolution.id)).where(MarketSolution.status == "published")
        )
        or 0
    )
    ids = set.intersection(*(set(p) for p in postings.values()))
    score = {
        sid: sum(p[sid] * math.log(1 + n_docs / len(p)) for p in postings.values()) for sid in ids
    }
    if not score:
        return []
    ranked = sorted(score.items(), key=lambda kv: (-kv[1], code_of.get(kv[0], "")))
    return [(sid, round(v, 6)) for sid, v in ranked[:limit]]
