"""Matching (供需对接): published solutions ranked for enterprises, vectorised with NumPy so that
one enterprise (the portal) and every enterprise in one batch (the benchmark) run the same code.

For an enterprise with a CMMM diagnosis (its newest final ``cmmm`` assessment), the **target
level** is its level + 1 (capped at the top level, 5) and a sub-domain is **weak** when its
continuous score is below the target; its **gap** is ``target − score`` (levels). Without a
diagnosis there are no weak sub-domains and the explanation says so.

Per (enterprise, solution), parameters ``market.matching.*`` (weights ``w``):

- ``cover`` = sum of the gaps of the weak sub-domains the solution improves;
- ``industry`` = 1 when the solution lists GB/T 4754 codes and one is a prefix of the
  enterprise's industry code (a solution listing codes none of which fits is **excluded**; a
  solution listing none suits every industry and gets 0);
- ``cases`` = reference cases in the enterprise's division (first two digits), counted up to
  ``cases_cap``;
- ``rating`` = the provider's mean rating − ``rating_neutral`` (0 when unrated);
- ``area`` = 1 when the provider's service areas name the enterprise's county, its city or its
  province (an empty list — nationwide — gives 0).

``score = w.gap·cover + w.industry·industry + w.cases·min(cases, cap) + w.rating·rating +
w.area·area``, rounded to 6 decimals. Filters: the firm size (when known) must be among the
solution's sizes (none listed = every size); with a budget (万元), the solution's lowest price
must not exceed it; with a diagnosis that has weak sub-domains, the solution must cover at least
one. Ties are broken by the provider's mean rating (higher first), then the lowest price (lower
first), then the solution code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters as core_params
from industry_brain.domains.market import codes
from industry_brain.domains.market.models import (
    MarketProvider,
    MarketRating,
    MarketSolution,
    MarketSolutionVersion,
)
from industry_brain.store.db import read_frame
from industry_brain.store.models import Enterprise, Fact

# the diagnosis service's assessments (its data, read through a lightweight description; the
# market never imports the diagnosis modules)
_assessments = sa.table(
    "diagnosis_assessments",
    sa.column("id"),
    sa.column("enterprise_id"),
    sa.column("questionnaire"),
    sa.column("status"),
    sa.column("year"),
    sa.column("result", sa.JSON()),
)


@dataclass(frozen=True)
class Weights:
    gap: float
    industry: float
    cases: float
    rating: float
    area: float
    cases_cap: int
    rating_neutral: float
    top: int

    @classmethod
    def load(cls, on: date | None = None) -> Weights:
        p = core_params.load()
        on = on or date.today()
        w = p.get("market.matching.weights", on=on)
        return cls(
            gap=float(w["gap"]),
            industry=float(w["industry"]),
            cases=float(w["cases"]),
            rating=float(w["rating"]),
            area=float(w["area"]),
            cases_cap=int(p.get("market.matching.cases_cap", on=on)),
            rating_neutral=float(p.get("market.matching.rating_neutral", on=on)),
            top=int(p.get("market.matching.top", on=on)),
        )


# -- inputs ------------------------------------------------------------------------------------
def size_class(employees: float | None, revenue: float | None, t: dict[str, float]) -> str | None:
    """工业企业划型 (both figures reached); None when a figure is missing."""
    if employees is None or revenue is None or pd.isna(employees) or pd.isna(revenue):
        return None
    for size in ("large", "medium", "small"):
        if employees >= t[f"{size}_employees"] and revenue >= t[f"{size}_revenue"]:
            return size
    return "micro"


def diagnoses(session: Session, enterprise_ids: list[int] | None = None) -> dict[int, dict]:
    """Enterprise id → the newest final CMMM assessment's result (level, sub-domain scores)."""
    newest = (
        select(func.max(_assessments.c.id))
        .where(_assessments.c.questionnaire == "cmmm", _assessments.c.status == "final")
        .group_by(_assessments.c.enterprise_id)
    )
    if enterprise_ids is not None:
        newest = newest.where(_assessments.c.enterprise_id.in_(enterprise_ids))
    rows = session.execute(
        select(_assessments.c.enterprise_id, _assessments.c.year, _assessments.c.result).where(
            _assessments.c.id.in_(newest)
        )
    ).all()
    out = {}
    for eid, year, result in rows:
        res = result or {}
        subs = {
            k: float(v["score"]) for k, v in (res.get("subdomains") or {}).items() if "score" in v
        }
        out[int(eid)] = {"year": int(year), "level": int(res.get("level") or 0), "subdomains": subs}
    return out


COLUMNS = (
    "id",
    "uscc",
    "name",
    "industry_code",
    "county_code",
    "employees",
    "revenue",
    "size",
    "level",
    "subdomains",
    "diagnosis_year",
)
FEW = 50  # up to this many enterprises, the inputs are gathered without pandas
#: the figures of the size class (工业企业划型)
SIZE_ITEMS = ("employees", "revenue")


class _Rows:
    """A few enterprises' inputs as the column access :func:`match` uses (``len``, ``[col]``),
    without a pandas frame (building one cost ~2 ms of the portal's ~10 ms)."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, col: str) -> list[Any]:
        return [r[col] for r in self.records]


def _few(session: Session, enterprise_ids: list[int], on: date | None) -> pd.DataFrame:
    """:func:`enterprises` for a few enterprises as a frame (see :func:`_few_records`)."""
    return pd.DataFrame(_few_records(session, enterprise_ids, on), columns=list(COLUMNS))


def _few_records(
    session: Session, enterprise_ids: list[int], on: date | None
) -> list[dict[str, Any]]:
    """:func:`enterprises` for a few enterprises (the portal's one), in plain Python: the same
    columns and values, without the frame operations that cost ~15 ms for one row."""
    rows = session.execute(
        select(
            Enterprise.id,
            Enterprise.uscc,
            Enterprise.name,
            Enterprise.industry_code,
            Enterprise.county_code,
        ).where(Enterprise.id.in_(enterprise_ids))
    ).all()
    latest: dict[tuple[int, str], tuple[int, float]] = {}
    for eid, item, year, value in session.execute(
        select(Fact.enterprise_id, Fact.item, Fact.year, Fact.value).where(
            Fact.item.in_(SIZE_ITEMS),
            Fact.month == 0,
            Fact.detail == "",
            Fact.superseded_by.is_(None),  # a corrected figure no longer counts
            Fact.enterprise_id.in_(enterprise_ids),
        )
    ).all():
        known = latest.get((eid, item))
        if known is None or year >= known[0]:  # the newest year (the frame path's last())
            latest[(eid, item)] = (year, value)
    thresholds = core_params.load().get("market.size.thresholds", on=on or date.today())
    diag = diagnoses(session, enterprise_ids)
    out = []
    for eid, uscc, name, industry, county in rows:
        emp = latest.get((eid, "employees"), (0, np.nan))[1]
        rev = latest.get((eid, "revenue"), (0, np.nan))[1]
        emp = np.nan if emp is None else float(emp)
        rev = np.nan if rev is None else float(rev)
        d = diag.get(int(eid))
        out.append(
            {
                "id": eid,
                "uscc": uscc,
                "name": name,
                "industry_code": industry,
                "county_code": county,
                "employees": emp,
                "revenue": rev,
                "size": size_class(emp, rev, thresholds),
                "level": d["level"] if d else None,
                "subdomains": d["subdomains"] if d else None,
                "diagnosis_year": d["year"] if d else None,
            }
        )
    return out


def enterprises(
    session: Session, enterprise_ids: list[int] | None = None, on: date | None = None
) -> pd.DataFrame:
    """The enterprises' matching inputs: id, uscc, name, industry, county, size, level,
    sub-domain scores (dict or None)."""
    if enterprise_ids is not None and len(enterprise_ids) <= FEW:
        return _few(session, list(enterprise_ids), on)
    q = select(
        Enterprise.id,
        Enterprise.uscc,
        Enterprise.name,
        Enterprise.industry_code,
        Enterprise.county_code,
    )
    if enterprise_ids is not None:
        q = q.where(Enterprise.id.in_(enterprise_ids))
    ents = pd.DataFrame(
        session.execute(q).all(), columns=["id", "uscc", "name", "industry_code", "county_code"]
    )
    # each firm's newest current figure of each item (one per year: the key is unique among
    # current facts), found by the database: not every year's rows through Python
    current = (
        Fact.item.in_(SIZE_ITEMS),
        Fact.month == 0,
        Fact.detail == "",
        Fact.superseded_by.is_(None),
    )
    newest = select(Fact.enterprise_id, Fact.item, func.max(Fact.year).label("year")).where(
        *current
    )
    if enterprise_ids is not None:
        newest = newest.where(Fact.enterprise_id.in_(enterprise_ids))
    newest = newest.group_by(Fact.enterprise_id, Fact.item).subquery()
    facts = (
        select(Fact.enterprise_id, Fact.item, Fact.value)
        .join(
            newest,
            (Fact.enterprise_id == newest.c.enterprise_id)
            & (Fact.item == newest.c.item)
            & (Fact.year == newest.c.year),
        )
        .where(*current)
    )
    f = read_frame(session, facts, ["id", "item", "value"])
    thresholds = core_params.load().get("market.size.thresholds", on=on or date.today())
    if not f.empty:
        f = f.astype({"value": "float64"}).pivot(index="id", columns="item", values="value")
        ents = ents.merge(f, left_on="id", right_index=True, how="left")
    for col in ("employees", "revenue"):
        if col not in ents:
            ents[col] = np.nan
    ents["size"] = [
        size_class(e, r, thresholds)
        for e, r in zip(ents["employees"], ents["revenue"], strict=True)
    ]
    diag = diagnoses(session, enterprise_ids)
    ents["level"] = [diag[i]["level"] if i in diag else None for i in ents["id"]]
    ents["subdomains"] = [diag[i]["subdomains"] if i in diag else None for i in ents["id"]]
    ents["diagnosis_year"] = [diag[i]["year"] if i in diag else None for i in ents["id"]]
    return ents


def solutions(session: Session) -> pd.DataFrame:
    """The published catalog with the providers' regions and ratings."""
    rows = session.execute(
        select(
            MarketSolution.id,
            MarketSolution.code,
            MarketSolution.published_version,
            MarketSolution.provider_id,
            MarketProvider.name,
            MarketProvider.regions,
            MarketSolutionVersion.title,
            MarketSolutionVersion.subdomains,
            MarketSolutionVersion.industries,
            MarketSolutionVersion.sizes,
            MarketSolutionVersion.price_min,
            MarketSolutionVersion.price_max,
            MarketSolutionVersion.cases,
        )
        .join(
            MarketSolutionVersion,
            (MarketSolutionVersion.solution_id == MarketSolution.id)
            & (MarketSolutionVersion.version == MarketSolution.published_version),
        )
        .join(MarketProvider, MarketProvider.id == MarketSolution.provider_id)
        .where(MarketProvider.status == "active")
    ).all()
    cols = [
        "id",
        "code",
        "version",
        "provider_id",
        "provider",
        "regions",
        "title",
        "subdomains",
        "industries",
        "sizes",
        "price_min",
        "price_max",
        "cases",
    ]
    sols = pd.DataFrame(rows, columns=cols)
    rated = dict(
        (pid, (float(avg), int(n)))
        for pid, avg, n in session.execute(
            select(MarketRating.provider_id, func.avg(MarketRating.score), func.count()).group_by(
                MarketRating.provider_id
            )
        ).all()
    )
    sols["rating"] = [rated.get(p, (np.nan, 0))[0] for p in sols["provider_id"]]
    sols["ratings"] = [rated.get(p, (np.nan, 0))[1] for p in sols["provider_id"]]
    return sols


# -- the vectorised core -----------------------------------------------------------------------
def _vocab_matrix(lists: list[list[str]], vocab: dict[str, int]) -> np.ndarray:
    m = np.zeros((len(lists), max(len(vocab), 1)), dtype=np.float32)
    for i, items in enumerate(lists):
        for x in items:
            j = vocab.get(x)
            if j is not None:
                m[i, j] += 1
    return m


def _ancestors(county: str | None) -> list[str]:
    if not county or len(county) != 6:
        return []
    return [county, county[:4] + "00", county[:2] + "0000"]


def _prefixes(code: str | None) -> list[str]:
    c = str(code or "")
    return [c[:n] for n in (2, 3, 4) if len(c) >= n]


@dataclass
class Matches:
    """Per enterprise row: the chosen solution rows (``-1`` padding) and the components."""

    index: np.ndarray  # (n_e, k) solution row numbers
    score: np.ndarray
    cover: np.ndarray
    industry: np.ndarray
    cases: np.ndarray
    area: np.ndarray
    eligible: np.ndarray  # (n_e,) number of eligible solutions


@dataclass
class Prepared:
    """The catalog's static vectors, in tie-break order (rating desc, price asc, code asc)."""

    order: np.ndarray  # prepared row → the catalog frame's row
    n: int
    s_sub: np.ndarray
    ind_vocab: dict[str, int]
    s_ind: np.ndarray
    s_general: np.ndarray
    div_vocab: dict[str, int]
    s_cases: np.ndarray
    reg_vocab: dict[str, int]
    s_reg: np.ndarray
    size_vocab: dict[str, int]
    s_size: np.ndarray
    s_any_size: np.ndarray
    price_min: np.ndarray
    static: np.ndarray  # w.rating × (rating − neutral), 0 when unrated
    floor: float  # the lowest possible score (the rating term is the only negative one)


def prepare(sols: pd.DataFrame, w: Weights) -> Prepared:
    sub_ix = {c: i for i, c in enumerate(codes.subdomains())}
    rating = sols["rating"].to_numpy(dtype=float)
    order = np.lexsort(
        (
            sols["code"].to_numpy(),
            sols["price_min"].to_numpy(dtype=float),
            -np.nan_to_num(rating, nan=-1e9),
        )
    )
    s = sols.iloc[order].reset_index(drop=True)
    rating = s["rating"].to_numpy(dtype=float)
    ind_vocab = {c: i for i, c in enumerate(sorted({c for xs in s["industries"] for c in xs}))}
    divs = sorted({str(c.get("industry") or "")[:2] for xs in s["cases"] for c in xs} - {""})
    div_vocab = {d: i for i, d in enumerate(divs)}
    reg_vocab = {c: i for i, c in enumerate(sorted({c for xs in s["regions"] for c in xs}))}
    size_vocab = {c: i for i, c in enumerate(codes.SIZES)}
    rating_term = np.where(np.isnan(rating), 0.0, rating - w.rating_neutral)
    return Prepared(
        order=order,
        n=len(s),
        s_sub=_vocab_matrix(list(s["subdomains"]), sub_ix),
        ind_vocab=ind_vocab,
        s_ind=_vocab_matrix(list(s["industries"]), ind_vocab),
        s_general=np.array([len(x) == 0 for x in s["industries"]], dtype=bool),
        div_vocab=div_vocab,
        s_cases=_vocab_matrix(
            [[str(c.get("industry") or "")[:2] for c in xs] for xs in s["cases"]], div_vocab
        ),
        reg_vocab=reg_vocab,
        s_reg=_vocab_matrix(list(s["regions"]), reg_vocab),
        size_vocab=size_vocab,
        s_size=_vocab_matrix(list(s["sizes"]), size_vocab),
        s_any_size=np.array([len(x) == 0 for x in s["sizes"]], dtype=bool),
        price_min=s["price_min"].to_numpy(dtype=np.float64),
        static=w.rating * rating_term,
        floor=min(0.0, float(w.rating * np.min(rating_term, initial=0.0))),
    )


def match(
    ents: pd.DataFrame | _Rows,
    sols: pd.DataFrame | Prepared,
    w: Weights,
    budget: np.ndarray | None = None,
    k: int | None = None,
    block: int = 2048,
) -> Matches:
    """Rank the catalog ``sols`` (the frame of :func:`solutions`, or the vectors :func:`prepare`
    made of it) for every row of ``ents`` (the frame of :func:`enterprises`); ``budget`` (万元,
    NaN = none) per enterprise. Row numbers in the result are the catalog frame's."""
    p = sols if isinstance(sols, Prepared) else prepare(sols, w)
    k = k or w.top
    n_e, n_s = len(ents), p.n
    k = min(k, n_s)
    sub_codes = list(codes.subdomains())
    sub_ix = {c: i for i, c in enumerate(sub_codes)}
    top_level = codes.max_level()

    # enterprises: gaps per sub-domain
    gaps = np.zeros((n_e, len(sub_codes)), dtype=np.float32)
    has_weak = np.zeros(n_e, dtype=bool)
    for r, (level, subs) in enumerate(zip(ents["level"], ents["subdomains"], strict=True)):
        if subs is None or (isinstance(subs, float) and np.isnan(subs)):
            continue
        target = min(int(level or 0) + 1, top_level)
        for code, score in subs.items():
            j = sub_ix.get(code)
            if j is not None and score < target:
                gaps[r, j] = target - score
        has_weak[r] = bool((gaps[r] > 0).any())
    order, s_sub, s_ind, s_general = p.order, p.s_sub, p.s_ind, p.s_general
    ind_vocab, div_vocab, reg_vocab, size_vocab = (
        p.ind_vocab,
        p.div_vocab,
        p.reg_vocab,
        p.size_vocab,
    )
    s_cases, s_reg, s_size, s_any_size = p.s_cases, p.s_reg, p.s_size, p.s_any_size
    price_min, static, floor = p.price_min, p.static, p.floor

    # enterprises: one-hot vectors
    e_ind = _vocab_matrix([_prefixes(c) for c in ents["industry_code"]], ind_vocab)
    e_div = _vocab_matrix(
        [[str(c or "")[:2]] if c else [] for c in ents["industry_code"]], div_vocab
    )
    e_reg = _vocab_matrix([_ancestors(c) for c in ents["county_code"]], reg_vocab)
    e_size = _vocab_matrix([[x] if x else [] for x in ents["size"]], size_vocab)
    e_size_known = np.array([bool(x) for x in ents["size"]])
    budgets = np.full(n_e, np.nan) if budget is None else np.asarray(budget, dtype=float)

    out_ix = np.full((n_e, k), -1, dtype=np.int64)
    out = {
        n: np.zeros((n_e, k), dtype=np.float64) for n in ("score", "cover", "ind", "cases", "area")
    }
    eligible = np.zeros(n_e, dtype=np.int64)
    cols = np.arange(n_s)
    for a in range(0, n_e, block):
        b = min(a + block, n_e)
        cover = gaps[a:b] @ s_sub.T
        ind_hit = (e_ind[a:b] @ s_ind.T) > 0
        ind_ok = ind_hit | s_general[None, :]
        cases = np.minimum(e_div[a:b] @ s_cases.T, w.cases_cap)
        area = (e_reg[a:b] @ s_reg.T) > 0
        size_ok = ((e_size[a:b] @ s_size.T) > 0) | s_any_size[None, :] | ~e_size_known[a:b, None]
        bud = budgets[a:b, None]
        budget_ok = np.isnan(bud) | (price_min[None, :] <= bud)
        cover_ok = (cover > 0) | ~has_weak[a:b, None]
        ok = ind_ok & size_ok & budget_ok & cover_ok
        # the score, built in place (2,048 × catalog doubles per block)
        score = cover.astype(np.float64)
        score *= w.gap
        score += static[None, :]
        score += w.industry * ind_hit
        score += w.cases * cases
        score += w.area * area
        # one integer key per pair: the score in millionths (rounded, shifted to be
        # non-negative) and, for equal scores, the column's place in the tie-break order
        # (earlier = larger key); ineligible pairs get -1. The top k by key are picked by
        # partition, then sorted.
        key = np.rint((score - floor) * 1e6).astype(np.int64)
        key *= n_s
        key += (n_s - 1 - cols)[None, :]
        key[~ok] = -1
        if k < n_s:
            part = np.argpartition(-key, k - 1, axis=1)[:, :k]
        else:
            part = np.broadcast_to(cols, key.shape)
        rows = np.arange(b - a)[:, None]
        top = np.take_along_axis(part, np.argsort(-key[rows, part], axis=1), axis=1)
        chosen_ok = ok[rows, top]
        out_ix[a:b] = np.where(chosen_ok, top, -1)
        out["score"][a:b] = np.where(chosen_ok, np.round(score[rows, top], 6), np.nan)
        out["cover"][a:b] = cover[rows, top]
        out["ind"][a:b] = ind_hit[rows, top]
        out["cases"][a:b] = cases[rows, top]
        out["area"][a:b] = area[rows, top]
        eligible[a:b] = ok.sum(axis=1)
    # back to the caller's solution row numbers
    mapped = np.where(out_ix >= 0, order[np.clip(out_ix, 0, None)], -1)
    return Matches(
        index=mapped,
        score=out["score"],
        cover=out["cover"],
        industry=out["ind"],
        cases=out["cases"],
        area=out["area"],
        eligible=eligible,
    )


# -- the catalog, cached per process ----------------------------------------------------------
CACHE_SECONDS = 60.0
_CATALOG: dict[tuple, tuple[tuple, float, pd.DataFrame, Prepared]] = {}


def _stamp(session: Session) -> tuple:
    """Changes when a version is published, a rating given or a provider added (one query)."""
    published = MarketSolution.published_version.is_not(None)
    row = session.execute(
        select(
            select(func.count(MarketSolution.id)).where(published).scalar_subquery(),
            select(func.coalesce(func.sum(MarketSolution.published_version), 0))
            .where(published)
            .scalar_subquery(),
            select(func.count(MarketRating.id)).scalar_subquery(),
            select(func.max(MarketRating.id)).scalar_subquery(),
            select(func.count(MarketProvider.id)).scalar_subquery(),
            select(func.max(MarketProvider.id)).scalar_subquery(),
        )
    ).one()
    return tuple(row)


def catalog(session: Session, w: Weights) -> tuple[pd.DataFrame, Prepared]:
    """The published catalog and its prepared vectors, reused while the stamp holds (and at
    most ``CACHE_SECONDS``, so that a provider's edited service areas show within a minute in
    every worker process)."""
    key = (str(session.get_bind().url), w)
    stamp = _stamp(session)
    hit = _CATALOG.get(key)
    now = time.monotonic()
    if hit is not None and hit[0] == stamp and now - hit[1] < CACHE_SECONDS:
        return hit[2], hit[3]
    sols = solutions(session)
    prepared = prepare(sols, w)
    sols.attrs["records"] = sols.to_dict("records")  # the rows as dicts, made once
    _CATALOG[key] = (stamp, now, sols, prepared)
    return sols, prepared


def _record(sols: pd.DataFrame, i: int) -> dict[str, Any]:
    records = sols.attrs.get("records")
    return dict(records[i]) if records is not None else sols.iloc[i].to_dict()


# -- one enterprise, explained -----------------------------------------------------------------
def _fmt(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x == x else "—"


def explain(
    ent: dict[str, Any], sol: dict[str, Any], comp: dict[str, float], w: Weights, lang: str
) -> str:
    """The reason of one rank in ``lang`` (zh/en), with the score's computation."""
    zh = lang == "zh"
    parts: list[str] = []
    subs = ent.get("subdomains")
    if subs is None:
        parts.append(
            "尚无诊断结果，按行业、案例与评分排序"
            if zh
            else "no diagnosis yet: ranked by industry, cases and rating"
        )
    else:
        target = min(int(ent.get("level") or 0) + 1, codes.max_level())
        weak = [
            (c, subs[c])
            for c in codes.subdomains()
            if c in subs and subs[c] < target and c in sol["subdomains"]
        ]
        gap = _fmt(comp["cover"])
        if weak:
            names = (
                "、".join(f"{codes.subdomain_label(c, 'zh')} {_fmt(v)} 级" for c, v in weak)
                if zh
                else ", ".join(f"{codes.subdomain_label(c, 'en')} at {_fmt(v)}" for c, v in weak)
            )
            parts.append(
                f"弱项 {names} → 方案覆盖{'该' if len(weak) == 1 else '这些'}子域"
                f"（目标 {target} 级，差距合计 {gap} 级）"
                if zh
                else f"weak {names} → the solution covers {'it' if len(weak) == 1 else 'them'} "
                f"(target level {target}, gap {gap})"
            )
        else:
            parts.append(
                "诊断无低于目标等级的子域" if zh else "no sub-domain below the target level"
            )
    if comp["industry"]:
        parts.append("适用本行业" if zh else "fits the industry")
    n_cases = int(comp["cases"])
    parts.append(f"同行业案例 {n_cases} 个" if zh else f"{n_cases} case(s) in the same industry")
    if sol.get("ratings"):
        parts.append(
            f"评分 {_fmt(sol['rating'])}（{sol['ratings']} 条）"
            if zh
            else f"rating {_fmt(sol['rating'])} ({sol['ratings']})"
        )
    else:
        parts.append("暂无评分" if zh else "not rated yet")
    if comp["area"]:
        parts.append("服务区域覆盖本地" if zh else "serves the enterprise's area")
    rating_term = 0.0 if not sol.get("ratings") else sol["rating"] - w.rating_neutral
    formula = (
        f"{_fmt(w.gap)}×{_fmt(comp['cover'])} + {_fmt(w.industry)}×{int(comp['industry'])} + "
        f"{_fmt(w.cases)}×{n_cases} + {_fmt(w.rating)}×{_fmt(rating_term)} + "
        f"{_fmt(w.area)}×{int(comp['area'])} = {_fmt(comp['score'])}"
    )
    sep = "；" if zh else "; "
    return sep.join(parts) + (f"{sep}得分 {formula}" if zh else f"{sep}score {formula}")


def for_enterprise(
    session: Session,
    enterprise_id: int,
    budget: float | None = None,
    lang: str = "zh",
    on: date | None = None,
) -> dict[str, Any]:
    """Ranked solutions and providers for one enterprise, each explained."""
    w = Weights.load(on)
    records = _few_records(session, [enterprise_id], on)
    if not records:
        return {"enterprise": None, "solutions": [], "providers": []}
    ents = _Rows(records)
    e = records[0]
    sols, prepared = catalog(session, w)
    base = {
        "enterprise": e,
        "diagnosed": e["subdomains"] is not None,
        "budget": budget,
        "weights": w,
        "catalog": len(sols),
    }
    if sols.empty:
        return {**base, "solutions": [], "providers": [], "eligible": 0}
    m = match(ents, prepared, w, np.array([np.nan if budget is None else budget]), k=w.top)
    ranked = []
    for j in range(m.index.shape[1]):
        i = int(m.index[0, j])
        if i < 0:
            break
        sol = _record(sols, i)
        comp = {
            "score": float(m.score[0, j]),
            "cover": float(m.cover[0, j]),
            "industry": float(m.industry[0, j]),
            "cases": float(m.cases[0, j]),
            "area": float(m.area[0, j]),
        }
        reason_zh = explain(e, sol, comp, w, "zh")
        ranked.append(
            {
                "rank": j + 1,
                "solution": sol,
                "components": comp,
                "reason": reason_zh if lang == "zh" else explain(e, sol, comp, w, lang),
                "reason_zh": reason_zh,
            }
        )
    providers: dict[int, dict[str, Any]] = {}
    for r in ranked:
        pid = int(r["solution"]["provider_id"])
        if pid not in providers:
            providers[pid] = {
                "provider_id": pid,
                "name": r["solution"]["provider"],
                "score": r["components"]["score"],
                "best": r["solution"]["title"],
                "solutions": 0,
                "rating": r["solution"]["rating"],
                "ratings": r["solution"]["ratings"],
            }
        providers[pid]["solutions"] += 1
    return {
        **base,
        "solutions": ranked,
        "providers": list(providers.values()),
        "eligible": int(m.eligible[0]),
    }
