"""Scoped repository: every read the web pages and the JSON API make, filtered by a ``Scope``.

Each function takes the caller's :class:`~industry_brain.store.scope.Scope` and applies
``scope.enterprise_clause()`` (or ``project_clause()``) itself; an enterprise outside the scope is
reported exactly like one that does not exist (``enterprise.not_found``), so a URL reveals
nothing. Reads of an enterprise's file, of a figure's lineage and every export are audited.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, distinct, false, func, literal, null, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from industry_brain.core import env
from industry_brain.core.errors import Location, NotFoundError, ValidationError
from industry_brain.store import enterprises as enterprise_repo
from industry_brain.store import facts as facts_repo
from industry_brain.store.audit import record
from industry_brain.store.models import (
    AgentAssignment,
    AuditLog,
    Enterprise,
    EnterpriseName,
    EnterpriseScale,
    Fact,
    ImportBatch,
    Industry,
    Project,
    Region,
    User,
)
from industry_brain.store.scope import SENSITIVE_ITEMS, Scope

# Items shown by the cockpit's coverage chart and the profile's figure table, in this order.
KEY_ITEMS = (
    "output_value",
    "value_added",
    "revenue",
    "profit",
    "tax_paid",
    "tax_revenue",
    "employees",
    "rd_expense",
    "energy_total",
    "electricity",
    "land_area",
)
# aliases of the search, built once (a fresh alias per request costs SQLAlchemy ~1 ms)
_BY_USCC = aliased(Enterprise, name="by_uscc")
_BY_NAME = aliased(Enterprise, name="by_name")


def _contains(session: Session, column: Any, text: str) -> Any:
    """``column`` contains ``text``. On SQLite, text without Latin letters (Chinese names,
    digits) is found with ``instr`` — a byte search, about 40 % cheaper than LIKE's
    character-by-character match; with Latin letters LIKE keeps its case-insensitive match
    (SQLite's LIKE folds ASCII case)."""
    if session.get_bind().dialect.name == "sqlite" and not any(
        c.isascii() and c.isalpha() for c in text
    ):
        return func.instr(column, text) > 0
    return column.contains(text, autoescape=True)


_PAGE_ENT = aliased(Enterprise, name="ent")
STAGES = ("signed", "started", "completed", "producing", "above_scale", "at_capacity")
MAX_PER_PAGE = 100
#: sort keys of the enterprise search (the list's sortable columns) → their column
SEARCH_SORTS = {
    "name": Enterprise.name,
    "uscc": Enterprise.uscc,
    "county": Enterprise.county_code,
    "industry": Enterprise.industry_code,
    "status": Enterprise.status,
}
#: sort keys of the audit log search → their column
AUDIT_SORTS = {
    "id": AuditLog.id,
    "at": AuditLog.at,
    "actor": AuditLog.actor,
    "action": AuditLog.action,
    "object_id": AuditLog.object_id,
}


@dataclass
class Page:
    """One page of results."""

    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "pages": self.pages,
        }


def _not_found(uscc: str) -> NotFoundError:
    return NotFoundError(
        "enterprise.not_found",
        f"没有统一社会信用代码为 {uscc} 的企业，或您无权查看",
        f"no enterprise with USCC {uscc}, or it is outside your scope",
        Location(field="uscc"),
        uscc,
    )


def _page_args(page: int, per_page: int) -> tuple[int, int]:
    if page < 1 or per_page < 1 or per_page > MAX_PER_PAGE:
        raise ValidationError(
            "query.page",
            f"页码须 ≥ 1，每页条数须在 1–{MAX_PER_PAGE} 之间",
            f"page must be ≥ 1 and per_page between 1 and {MAX_PER_PAGE}",
            Location(field="page"),
        )
    return page, per_page


def _sort_key(sort: str, sorts: dict[str, Any]) -> Any:
    """The column of a whitelisted sort key (never SQL from the URL), else a 422."""
    if sort not in sorts:
        raise ValidationError(
            "query.sort",
            f"排序列只能是 {'、'.join(sorts)} 之一",
            f"sort must be one of {', '.join(sorts)}",
            Location(field="sort"),
            sort,
        )
    return sorts[sort]


def _sorted_page(
    session: Session,
    model: Any,
    conds: list[Any],
    key: Any,
    *,
    by_id: bool,
    desc: bool,
    page: int,
    per_page: int | None,
    item: Callable[[Any], dict[str, Any]],
) -> Page:
    """Rows of ``model`` matching ``conds`` ordered by ``key`` (missing values last, then the
    newest id), one page of them or all when ``per_page`` is None (an export)."""
    everything = per_page is None
    page, per_page = _page_args(1 if everything else page, 1 if everything else per_page)
    if by_id:  # the primary key: no missing values, the index gives the order
        order = [key.desc() if desc else key]
    else:
        order = [key.is_(None), key.desc() if desc else key, model.id.desc()]
    query = select(model).where(*conds).order_by(*order)
    if not everything:
        query = query.limit(per_page).offset((page - 1) * per_page)
    items = [item(row) for row in session.scalars(query)]
    if everything:
        return Page(items=items, total=len(items), page=1, per_page=max(1, len(items)))
    total = session.scalar(select(func.count()).select_from(model).where(*conds)) or 0
    return Page(items=items, total=total, page=page, per_page=per_page)


def latest_scale_year(session: Session) -> int | None:
    return session.scalar(select(func.max(EnterpriseScale.year)))


def counties(session: Session, scope: Scope) -> list[dict[str, str]]:
    """Counties that have enterprises the caller can see (for filters)."""

    # the distinct county codes of the visible enterprises (a walk of the covering index
    # ix_enterprises_county_code), then their names: an EXISTS probe per region cost one index
    # seek for each of the ~48,000 regions (provinces to towns) — 14 ms on every search page.
    # The walk reads every visible enterprise's entry (PostgreSQL has no skip scan: 35 ms at
    # 500,000 firms), so the list is cached per scope until the data stamp changes.
    def compute() -> tuple[tuple[str, str], ...]:
        in_scope = select(Enterprise.county_code).where(scope.enterprise_clause()).distinct()
        return tuple(
            (c, n)
            for c, n in session.execute(
                select(Region.code, Region.name)
                .where(Region.code.in_(in_scope))
                .order_by(Region.code)
            )
        )

    rows = cached(session, ("counties", scope.cache_key), data_stamp(session), compute)
    return [{"code": c, "name": n} for c, n in rows]


def industry_divisions(session: Session) -> list[dict[str, str]]:
    rows = session.execute(
        select(Industry.code, Industry.name)
        .where(Industry.level == "division")
        .order_by(Industry.code)
    ).all()
    return [{"code": c, "name": n} for c, n in rows]


def search_enterprises(
    session: Session,
    scope: Scope,
    *,
    q: str | None = None,
    county: str | None = None,
    industry: str | None = None,
    scale: str | None = None,
    page: int = 1,
    per_page: int | None = 20,
    sort: str = "name",
    desc: bool = False,
) -> Page:
    """Enterprises in scope matching the filters, by name (or by ``sort``, one of
    :data:`SEARCH_SORTS`, descending with ``desc``; missing values last).

    ``q`` matches part of the current or a former name, or the whole USCC; ``industry`` is a
    GB/T 4754 code prefix (``26`` = division 26); ``scale`` is ``above`` (规上) or ``below``
    (规下) in the latest year with a 规上 directory. ``per_page=None`` returns every match
    (an export).
    """
    everything = per_page is None
    page, per_page = _page_args(1 if everything else page, 1 if everything else per_page)
    key = _sort_key(sort, SEARCH_SORTS)
    year = latest_scale_year(session)
    conds = [scope.enterprise_clause()]
    postgres = session.get_bind().dialect.name == "postgresql"
    if q and q.strip() and postgres:
        pass  # the text condition: _pg_search_page
    elif q and q.strip():
        text = q.strip()
        # One list of matching ids: the names read from ix_enterprises_name, the former names
        # (enterprise_names) and the USCC looked up once, as a UNION ALL — half the time of an
        # OR of the three, which SQLite tests row by row.
        conds.append(
            Enterprise.id.in_(
                union_all(
                    select(_BY_NAME.id).where(_contains(session, _BY_NAME.name, text)),
                    select(EnterpriseName.enterprise_id).where(
                        _contains(session, EnterpriseName.name, text)
                    ),
                    select(_BY_USCC.id).where(_BY_USCC.uscc == text.upper()),
                )
            )
        )
    if county:
        conds.append(Enterprise.county_code == county)
    if industry:
        conds.append(Enterprise.industry_code.startswith(industry, autoescape=True))
    if scale in ("above", "below") and year is not None:
        flagged = select(EnterpriseScale.enterprise_id).where(
            EnterpriseScale.year == year, EnterpriseScale.above_scale.is_(scale == "above")
        )
        conds.append(Enterprise.id.in_(flagged))
    elif scale not in (None, "", "above", "below"):
        raise ValidationError(
            "query.scale",
            "规模只能是 above（规上）或 below（规下）",
            "scale must be above or below",
            Location(field="scale"),
            scale,
        )
    if everything:
        # filtered by scale, every row's flag is the filter's
        known = (scale == "above") if scale in ("above", "below") and year is not None else None
        items = _every_enterprise(session, conds, key, sort, desc, year, known)
        return Page(items=items, total=len(items), page=1, per_page=max(1, len(items)))
    # The page's ids first, then its rows joined to their county, industry and scale. With a
    # text filter the total comes with the page as a window count, so the name scans run once
    # instead of once for a count and again for the page; without one the page walks the name
    # index and stops, and the count is an index count.
    one_pass = bool(q and q.strip()) or everything
    order = (
        *([key.is_(None), key.desc() if desc else key] if sort != "name" else []),
        Enterprise.name.desc() if desc and sort == "name" else Enterprise.name,
        Enterprise.id,
    )
    if postgres and not everything:
        filters = (q.strip() if q else None, county, industry, scale, year, sort, desc)
        total, hits_q = _pg_search_page(
            session, scope, filters, conds, order, key, sort, page, per_page
        )
        one_pass = False
    else:
        total = None
        hits_q = (
            select(
                Enterprise.id.label("id"),
                Enterprise.name.label("name"),
                (key if sort != "name" else null()).label("sortkey"),
                (func.count().over() if one_pass else null()).label("total"),
            )
            .where(*conds)
            .order_by(*order)
        )
        if not everything:
            hits_q = hits_q.limit(per_page).offset((page - 1) * per_page)
    hits = hits_q.subquery("hits")
    sortkey = hits.c.sortkey
    ent = _PAGE_ENT
    scale_col = (
        select(EnterpriseScale.above_scale)
        .where(EnterpriseScale.enterprise_id == ent.id, EnterpriseScale.year == year)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            ent.uscc,
            ent.name,
            ent.county_code,
            Region.name,
            ent.industry_code,
            Industry.name,
            ent.status,
            scale_col,
            hits.c.total,
        )
        .select_from(hits)
        .join(ent, ent.id == hits.c.id)
        .outerjoin(Region, Region.code == ent.county_code)
        .outerjoin(Industry, Industry.code == ent.industry_code)
        .order_by(
            *([sortkey.is_(None), sortkey.desc() if desc else sortkey] if sort != "name" else []),
            hits.c.name.desc() if desc and sort == "name" else hits.c.name,
            hits.c.id,
        )
    ).all()
    if total is not None:
        pass  # PostgreSQL: the cached total of the search
    elif one_pass and rows:
        total = rows[0][8]
    elif one_pass and page == 1:
        total = 0  # nothing matches
    else:  # no text filter, or a page past the last one
        total = session.scalar(select(func.count()).select_from(Enterprise).where(*conds)) or 0
    items = [
        {
            "uscc": r[0],
            "name": r[1],
            "county_code": r[2],
            "county_name": r[3],
            "industry_code": r[4],
            "industry_name": r[5],
            "status": r[6],
            "above_scale": r[7],
            "scale_year": year,
        }
        for r in rows
    ]
    if everything:
        return Page(items=items, total=len(items), page=1, per_page=max(1, len(items)))
    return Page(items=items, total=total, page=page, per_page=per_page)


#: a PostgreSQL search keeps the ids of its first matches in order (100 pages of 20; see below)
KEPT_IDS = 2000


def _pg_search_page(
    session: Session,
    scope: Scope,
    filters: tuple,
    conds: list[Any],
    order: tuple[Any, ...],
    key: Any,
    sort: str,
    page: int,
    per_page: int,
) -> tuple[int, Select]:
    """``(total, the page's hits query)`` of an enterprise search on PostgreSQL (``filters``
    begins with the search text).

    The number of matches needs every match, and at province scale (500,000 firms) a name
    search is a scan of every name; it is counted once per scope, filters and sort and cached
    until the data stamp changes (the next import), with the ids of the first
    :data:`KEPT_IDS` matches in order — the pages people read are then read by id — and the
    enterprises found by a name row that is not their current name (a former name; every
    current name is in ``enterprise_names`` too; few). A page past the kept ids walks the
    sort's index (the name's by default), each row tested on its name, those enterprises and
    the USCC. (Walking the name index for every page was not enough: matches cluster in name
    order — 湖州… firms sit together —, so a page could read most of the index first.)
    """
    text = filters[0]
    hits = select(
        Enterprise.id.label("id"),
        Enterprise.name.label("name"),
        (key if sort != "name" else null()).label("sortkey"),
        null().label("total"),
    )

    def matching(others: tuple[int, ...]) -> list[Any]:
        if not text:
            return conds
        return [
            *conds,
            or_(
                Enterprise.name.contains(text, autoescape=True),
                Enterprise.id.in_(others) if others else false(),
                Enterprise.uscc == text.upper(),
            ),
        ]

    def first() -> tuple[int, array, tuple[int, ...]]:
        others: tuple[int, ...] = ()
        if text:
            current = aliased(Enterprise)
            others = tuple(
                session.scalars(
                    select(EnterpriseName.enterprise_id)
                    .join(current, current.id == EnterpriseName.enterprise_id)
                    .where(
                        EnterpriseName.name.contains(text, autoescape=True),
                        EnterpriseName.name != current.name,
                    )
                    .distinct()
                )
            )
        rows = session.execute(
            select(Enterprise.id, func.count().over())
            .where(*matching(others))
            .order_by(*order)
            .limit(KEPT_IDS)
        ).all()
        return (int(rows[0][1]) if rows else 0), array("q", (r[0] for r in rows)), others

    stamp = data_stamp(session)
    total, ids, others = cached(
        session, ("search", scope.cache_key, *filters), stamp, first, cache=_SEARCH_CACHE
    )
    start = (page - 1) * per_page
    if start + per_page <= len(ids) or len(ids) == total:
        return total, hits.where(Enterprise.id.in_(ids[start : start + per_page].tolist()))
    return total, hits.where(*matching(others)).order_by(*order).limit(per_page).offset(start)


def _every_enterprise(
    session: Session,
    conds: list[Any],
    key: Any,
    sort: str,
    desc: bool,
    year: int | None,
    scale: bool | None = None,
) -> list[dict[str, Any]]:
    """Every enterprise matching ``conds`` as search items, in the list's order (an export):
    one Core query of the enterprises' own columns and scale flag of ``year`` (``scale`` when
    the filter already fixes it), the county and industry names looked up once per distinct
    code. Joining the names per row and reading the rows through the ORM cost ~60 % of an
    export of the 3,800 规上 firms of the city demo."""
    scale_col = (
        literal(scale)
        if scale is not None
        else select(EnterpriseScale.above_scale)
        .where(EnterpriseScale.enterprise_id == Enterprise.id, EnterpriseScale.year == year)
        .scalar_subquery()
    )
    order = [key.is_(None), key.desc() if desc else key] if sort != "name" else []
    rows = (
        session.connection()
        .execute(
            select(
                Enterprise.uscc,
                Enterprise.name,
                Enterprise.county_code,
                Enterprise.industry_code,
                Enterprise.status,
                scale_col,
            )
            .where(*conds)
            .order_by(
                *order,
                Enterprise.name.desc() if desc and sort == "name" else Enterprise.name,
                Enterprise.id,
            )
        )
        .all()
    )
    counties = region_names(session, {r[2] for r in rows})
    industries = industry_names(session, {r[3] for r in rows})
    return [
        {
            "uscc": uscc,
            "name": name,
            "county_code": county,
            "county_name": counties.get(county),
            "industry_code": industry,
            "industry_name": industries.get(industry),
            "status": status,
            "above_scale": above,
            "scale_year": year,
        }
        for uscc, name, county, industry, status, above in rows
    ]


def visible_enterprise(session: Session, scope: Scope, uscc: str) -> Enterprise:
    """The enterprise with ``uscc`` if the caller may see it, else ``enterprise.not_found``.

    Remembered for the session (a web request's): the profile page and each service's section
    of it ask for the same enterprise (five scoped queries a page before)."""
    key = (scope.cache_key, uscc.strip().upper())
    seen: dict[tuple[str, str], Enterprise] = session.info.setdefault("visible_enterprises", {})
    ent = seen.get(key)
    if ent is not None and ent in session:
        return ent
    ent = session.scalars(
        select(Enterprise).where(Enterprise.uscc == key[1], scope.enterprise_clause())
    ).first()
    if ent is None:
        raise _not_found(uscc)
    seen[key] = ent
    return ent


def mask_facts(facts: dict[str, dict], scope: Scope) -> dict[str, dict]:
    """Sensitive items' values replaced by ``None`` with ``masked: true`` for roles without
    the right."""
    if scope.sees_sensitive:
        return facts
    out: dict[str, dict] = {}
    for item, by_year in facts.items():
        if item in SENSITIVE_ITEMS:
            out[item] = {
                y: {**v, "value": None, "source_dept": None, "masked": True}
                for y, v in by_year.items()
            }
        else:
            out[item] = by_year
    return out


def enterprise_profile(
    session: Session, scope: Scope, uscc: str, request_id: str | None = None
) -> dict[str, Any]:
    """一企一档 of an enterprise in scope (audited read), sensitive figures masked as needed.

    The audit entry is added after the reads: the write transaction it opens lasts only until
    the caller commits (the page and the API commit before responding), so concurrent views
    do not queue behind one another's reads on SQLite.
    """
    ent = visible_enterprise(session, scope, uscc)
    data = enterprise_repo.profile_data(session, ent, scope.project_clause())
    data["facts"] = mask_facts(data["facts"], scope)
    data["sensitive_masked"] = not scope.sees_sensitive
    record(
        session,
        scope.username,
        "enterprise.view",
        "enterprise",
        ent.uscc,
        {},
        user_id=scope.user_id,
        request_id=request_id,
    )
    return data


def explain_fact(
    session: Session,
    scope: Scope,
    uscc: str,
    year: int,
    item: str,
    request_id: str | None = None,
) -> dict[str, Any]:
    """A figure's value and lineage (``facts.explain``) for an enterprise in scope; sensitive
    items need the right; the read is audited."""
    ent = visible_enterprise(session, scope, uscc)
    canonical = facts_repo.ITEM_ALIASES.get(item, item)
    if canonical in SENSITIVE_ITEMS and not scope.sees_sensitive:
        from industry_brain.store.scope import PermissionDenied

        raise PermissionDenied(
            "fact.masked",
            f"“{canonical}”属于敏感数据，当前角色无权查看",
            f"'{canonical}' is sensitive; your role may not read it",
            Location(field="item"),
            canonical,
        )
    out = facts_repo.explain(session, ent.uscc, year, canonical)
    record(
        session,
        scope.username,
        "fact.explain",
        "enterprise",
        ent.uscc,
        {"year": year, "item": canonical},
        user_id=scope.user_id,
        request_id=request_id,
    )
    return out


# -- cockpit and list caches -------------------------------------------------------------------
#: entries kept per worker process (least recently used dropped first): cockpit sections,
#: filter options, distributions and the sorted id lists of list pages — unless
#: ``IB_WEB_CACHE_ENTRIES`` says otherwise (:func:`cache_entries`)
CACHE_ENTRIES = 512


def cache_entries() -> int:
    """Entries each cache keeps: ``IB_WEB_CACHE_ENTRIES`` (at least 1), else
    :data:`CACHE_ENTRIES`."""
    return env.integer("IB_WEB_CACHE_ENTRIES", CACHE_ENTRIES, minimum=1)


@dataclass
class _CacheEntry:
    stamp: tuple
    value: Any


@dataclass
class _Cache:
    lock: threading.Lock = field(default_factory=threading.Lock)
    entries: OrderedDict[tuple, _CacheEntry] = field(default_factory=OrderedDict)
    # one lock per key: when an entry is missing or stale, one thread computes it and the
    # others asking for the same key wait for that result instead of computing it too
    filling: dict[tuple, threading.Lock] = field(default_factory=dict)
    #: entries kept (:func:`cache_entries`, read at the first store)
    limit: int | None = None

    def get(self, key: tuple) -> _CacheEntry | None:
        with self.lock:
            hit = self.entries.get(key)
            if hit is not None:
                self.entries.move_to_end(key)
            return hit

    def put(self, key: tuple, entry: _CacheEntry) -> None:
        with self.lock:
            self.entries[key] = entry
            self.entries.move_to_end(key)
            if self.limit is None:
                self.limit = cache_entries()
            while len(self.entries) > self.limit:
                old, _ = self.entries.popitem(last=False)
                self.filling.pop(old, None)


_COCKPIT_CACHE = _Cache()
#: the enterprise searches' counts (their own entries: many searches evict no cockpit section)
_SEARCH_CACHE = _Cache()
#: answers computed for one enterprise (the policy calculator's): their own entries too, so
#: views of many enterprises evict no cockpit section
ENTERPRISE_CACHE = _Cache()


def cached(
    session: Session,
    key: tuple,
    stamp: tuple,
    compute: Callable[[], Any],
    cache: _Cache | None = None,
) -> Any:
    """The cached value of ``key`` (per store) if it was computed at ``stamp``, else
    ``compute()`` stored under ``key``. A burst of cold requests for one key computes it once
    (the others wait). At most :func:`cache_entries` entries are kept."""
    key = (str(session.get_bind().url), *key)
    cache = cache or _COCKPIT_CACHE
    hit = cache.get(key)
    if hit is not None and hit.stamp == stamp:
        return hit.value
    with cache.lock:
        filling = cache.filling.setdefault(key, threading.Lock())
    with filling:
        hit = cache.get(key)
        if hit is not None and hit.stamp == stamp:
            return hit.value
        value = compute()
        cache.put(key, _CacheEntry(stamp, value))
        return value


def ordered_page(
    session: Session,
    key: tuple,
    stamp: tuple,
    ids_query: Select,
    page: int,
    per_page: int,
) -> tuple[list[int], int]:
    """One page of a sorted list as ``(ids, total)``: ``ids_query`` selects the ids of every
    row in list order; that order is computed once per ``stamp`` (the runs and imports the
    list depends on) and cached under ``key`` — which must name the scope, the filters and the
    sort —, so paging and re-sorting back cost one primary-key read of the shown rows instead of
    a join, filter and sort of every row (exports read every row directly instead)."""
    ids: tuple[int, ...] = cached(
        session, ("ordered_ids", *key), stamp, lambda: tuple(session.scalars(ids_query))
    )
    start = (page - 1) * per_page
    return list(ids[start : start + per_page]), len(ids)


def in_order(rows: Iterable[Any], ids: list[int], id_of: Callable[[Any], int]) -> list[Any]:
    """``rows`` read by ``id IN ids`` put back in the order of ``ids``."""
    by_id = {id_of(r): r for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def data_stamp(session: Session) -> tuple:
    """Changes whenever enterprises or figures may have changed: every load is an import batch;
    an enterprise added outside one raises the highest id (the platform deletes none). Both are
    primary-key lookups (a count of the enterprises took 33 ms at 500,000 firms on PostgreSQL,
    on every cockpit section and search)."""
    return (
        session.scalar(select(func.max(ImportBatch.id))),
        session.scalar(select(func.max(Enterprise.id))),
    )


def towns_known(session: Session, scope: Scope) -> bool:
    """Whether a county-scoped caller's enterprises carry towns (乡镇街道): then the services'
    summaries break down by town instead of by county."""
    if not scope.county_code:
        return False
    found = session.scalar(
        select(Enterprise.id)
        .where(scope.enterprise_clause(), Enterprise.town_code.is_not(None))
        .limit(1)
    )
    return found is not None


def _counts_by_area(
    session: Session, clause: Any, year: int | None, area: Any
) -> list[dict[str, Any]]:
    """Enterprises in scope per area (county or town) and 规上/规下 of ``year``."""
    rows = session.execute(
        select(area, Region.name, EnterpriseScale.above_scale, func.count(Enterprise.id))
        .outerjoin(Region, Region.code == area)
        .outerjoin(
            EnterpriseScale,
            (EnterpriseScale.enterprise_id == Enterprise.id) & (EnterpriseScale.year == year),
        )
        .where(clause)
        .group_by(area, Region.name, EnterpriseScale.above_scale)
        .order_by(area)
    ).all()
    out: dict[str, dict[str, Any]] = {}
    for code, name, above, n in rows:
        c = out.setdefault(
            code or "",
            {"code": code, "name": name, "above": 0, "below": 0, "unknown": 0, "total": 0},
        )
        key = "unknown" if above is None else ("above" if above else "below")
        c[key] += n
        c["total"] += n
    return list(out.values())


def _aggregates(session: Session, scope: Scope) -> dict[str, Any]:
    clause = scope.enterprise_clause()
    year = latest_scale_year(session)
    in_scope = select(Enterprise.id).where(clause)
    # counties; for a county officer also the county's towns (乡镇街道)
    town_level = scope.role == "county_officer" and towns_known(session, scope)
    by_county = _counts_by_area(session, clause, year, Enterprise.county_code)
    by_town = _counts_by_area(session, clause, year, Enterprise.town_code) if town_level else None
    years = sorted(
        session.scalars(select(Fact.year).where(Fact.item.in_(KEY_ITEMS)).distinct()).all()
    )[-5:]
    coverage_rows = session.execute(
        select(Fact.item, Fact.year, func.count(distinct(Fact.enterprise_id)))
        .where(
            Fact.item.in_(KEY_ITEMS),
            Fact.year.in_(years),
            Fact.superseded_by.is_(None),
            Fact.enterprise_id.in_(in_scope),
        )
        .group_by(Fact.item, Fact.year)
    ).all()
    coverage = {item: {y: 0 for y in years} for item in KEY_ITEMS}
    for item, y, n in coverage_rows:
        coverage[item][y] = n
    total = sum(c["total"] for c in by_county)
    county_name = (
        session.scalar(select(Region.name).where(Region.code == scope.county_code))
        if scope.county_code
        else None
    )
    return {
        "scale_year": year,
        "area_level": "town" if town_level else "county",
        "county_name": county_name,
        "by_county": by_county,
        "by_town": by_town,
        "total": total,
        "coverage": {"years": years, "items": coverage},
    }


def cockpit(session: Session, scope: Scope) -> dict[str, Any]:
    """Counts by county and 规上/规下, figure coverage by item and year, projects by stage,
    recent import batches — all within the caller's scope.

    The enterprise and figure aggregates are cached per scope until the next import batch.
    """
    scope.require("cockpit.view")
    aggregates = cached(
        session,
        (scope.cache_key, "aggregates"),
        data_stamp(session),
        lambda: _aggregates(session, scope),
    )
    stage_rows = dict(
        session.execute(
            select(Project.stage, func.count())
            .where(scope.project_clause())
            .group_by(Project.stage)
        ).all()
    )
    return {
        **aggregates,
        "projects_by_stage": [{"stage": s, "count": stage_rows.get(s, 0)} for s in STAGES],
        "batches": import_batches(session, scope, limit=10) if scope.city_wide else [],
        "batch_status": _batch_status(session) if scope.city_wide else {},
    }


def _batch_status(session: Session) -> dict[str, int]:
    return dict(
        session.execute(
            select(ImportBatch.status, func.count())
            .group_by(ImportBatch.status)
            .order_by(ImportBatch.status)
        ).all()
    )


def import_batches(session: Session, scope: Scope, limit: int = 20) -> list[dict[str, Any]]:
    """Latest import batches (city-wide data: admins and city officers only)."""
    if not scope.city_wide:
        scope.require("import.run")
    rows = session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit))
    return [
        {
            "id": b.id,
            "kind": b.kind,
            "department": b.department,
            "file_name": b.file_name,
            "status": b.status,
            "year": b.year,
            "rows_total": b.rows_total,
            "rows_loaded": b.rows_loaded,
            "rows_rejected": b.rows_rejected,
            "created_at": b.created_at.isoformat() if b.created_at else None,
        }
        for b in rows
    ]


#: sort keys of the import batch list → their column
BATCH_SORTS = {
    "id": ImportBatch.id,
    "kind": ImportBatch.kind,
    "file_name": ImportBatch.file_name,
    "status": ImportBatch.status,
    "year": ImportBatch.year,
    "rows_total": ImportBatch.rows_total,
    "rows_loaded": ImportBatch.rows_loaded,
    "rows_rejected": ImportBatch.rows_rejected,
    "created_at": ImportBatch.created_at,
}


def batch_search(
    session: Session,
    scope: Scope,
    *,
    kind: str | None = None,
    status: str | None = None,
    year: int | None = None,
    page: int = 1,
    per_page: int | None = 50,
    sort: str = "id",
    desc: bool = True,
) -> Page:
    """Import batches (city-wide data, like :func:`import_batches`) matching the filters,
    ordered by ``sort`` (a key of :data:`BATCH_SORTS`); ``per_page=None`` returns all."""
    if not scope.city_wide:
        scope.require("import.run")
    key = _sort_key(sort, BATCH_SORTS)
    conds = []
    if kind:
        conds.append(ImportBatch.kind == kind)
    if status:
        conds.append(ImportBatch.status == status)
    if year:
        conds.append(ImportBatch.year == year)
    return _sorted_page(
        session,
        ImportBatch,
        conds,
        key,
        by_id=sort == "id",
        desc=desc,
        page=page,
        per_page=per_page,
        item=lambda b: {
            "id": b.id,
            "kind": b.kind,
            "department": b.department,
            "file_name": b.file_name,
            "status": b.status,
            "year": b.year,
            "rows_total": b.rows_total,
            "rows_loaded": b.rows_loaded,
            "rows_rejected": b.rows_rejected,
            "created_at": b.created_at,
        },
    )


def batch_choices(session: Session) -> dict[str, list[Any]]:
    """Kinds, statuses and years the batches have (the list's filters)."""

    def values(col: Any, newest_first: bool = False) -> list[Any]:
        query = select(col).distinct().where(col.is_not(None))
        return list(session.scalars(query.order_by(col.desc() if newest_first else col)))

    return {
        "kinds": values(ImportBatch.kind),
        "statuses": values(ImportBatch.status),
        "years": values(ImportBatch.year, newest_first=True),
    }


# -- audit -------------------------------------------------------------------------------------
def audit_search(
    session: Session,
    scope: Scope,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    per_page: int | None = 50,
    sort: str = "id",
    desc: bool = True,
) -> Page:
    """Audit log entries, newest first (admins only); ``sort`` is one of :data:`AUDIT_SORTS`,
    ``per_page=None`` returns every match (an export)."""
    scope.require("audit.search")
    key = _sort_key(sort, AUDIT_SORTS)
    conds = []
    if actor:
        conds.append(AuditLog.actor == actor)
    if action:
        conds.append(AuditLog.action == action)
    if object_id:
        conds.append(AuditLog.object_id == object_id.strip().upper())
    if since:
        conds.append(AuditLog.at >= since)
    if until:
        conds.append(AuditLog.at <= until)
    return _sorted_page(
        session,
        AuditLog,
        conds,
        key,
        by_id=sort == "id",
        desc=desc,
        page=page,
        per_page=per_page,
        item=lambda a: {
            "id": a.id,
            "at": a.at.isoformat() if a.at else None,
            "actor": a.actor,
            "action": a.action,
            "object_type": a.object_type,
            "object_id": a.object_id,
            "detail": a.detail,
            "request_id": a.request_id,
        },
    )


def display_names(session: Session, usernames: Any) -> dict[str, str]:
    """``username → display name`` of the given users (pages show people by name; a name
    that is not a user's, e.g. ``demo`` or ``system``, is left out)."""
    wanted = sorted({u for u in usernames if u})
    if not wanted:
        return {}
    rows = session.execute(
        select(User.username, User.display_name).where(User.username.in_(wanted))
    ).all()
    return {u: n for u, n in rows if n}


def industry_names(session: Session, codes: Any) -> dict[str, str]:
    """``GB/T 4754 code → name`` of the given industry codes (pages show names with codes)."""
    return _code_names(session, Industry, codes)


def region_names(session: Session, codes: Any) -> dict[str, str]:
    """``region code → name`` of the given codes only (the regions table holds ~48,000 rows
    with the towns: loading all of them cost a list page 0.3 s)."""
    return _code_names(session, Region, codes)


def _code_names(session: Session, model: Any, codes: Any) -> dict[str, str]:
    """``code → name`` of the ``model`` rows (regions, industries) with one of ``codes``, read
    500 codes a query (a bound on the SQL parameters)."""
    wanted = sorted({str(c) for c in codes if c})
    out: dict[str, str] = {}
    for i in range(0, len(wanted), 500):
        rows = session.execute(
            select(model.code, model.name).where(model.code.in_(wanted[i : i + 500]))
        )
        out.update({c: n for c, n in rows.all()})
    return out


def record_export(
    session: Session,
    scope: Scope,
    what: str,
    object_id: str | None,
    detail: dict[str, Any],
    request_id: str | None = None,
) -> None:
    """Audit an export (download) the caller makes (``list.enterprises`` is a list: the
    action is ``export.list.enterprises``, the object type ``list``)."""
    record(
        session,
        scope.username,
        f"export.{what}",
        what.split(".", 1)[0],
        object_id,
        detail,
        user_id=scope.user_id,
        request_id=request_id,
    )


# -- portals -----------------------------------------------------------------------------------
def agent_enterprises(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Enterprises assigned to the agent (服务专员)."""
    scope.require("portal.agent")
    rows = session.execute(
        select(
            Enterprise.uscc,
            Enterprise.name,
            Region.name,
            Enterprise.industry_code,
            Enterprise.county_code,
            Industry.name,
        )
        .join(AgentAssignment, AgentAssignment.enterprise_id == Enterprise.id)
        .outerjoin(Region, Region.code == Enterprise.county_code)
        .outerjoin(Industry, Industry.code == Enterprise.industry_code)
        .where(AgentAssignment.user_id == scope.user_id, scope.enterprise_clause())
        .order_by(Enterprise.name)
    ).all()
    return [
        {
            "uscc": u,
            "name": n,
            "county_name": c,
            "industry_code": i,
            "county_code": cc,
            "industry_name": iname,
        }
        for u, n, c, i, cc, iname in rows
    ]


def agent_projects(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Projects the agent follows (read-only until the projects service is built)."""
    scope.require("portal.agent")
    rows = session.scalars(select(Project).where(scope.project_clause()).order_by(Project.code))
    return [
        {
            "code": p.code,
            "name": p.name,
            "stage": p.stage,
            "planned_investment": p.planned_investment,
            "county_code": p.county_code,
        }
        for p in rows
    ]


def own_enterprise(session: Session, scope: Scope) -> dict[str, Any]:
    """An enterprise user's own enterprise: USCC, name and county name."""
    scope.require("portal.enterprise")
    row = session.execute(
        select(Enterprise.uscc, Enterprise.name, Region.name)
        .outerjoin(Region, Region.code == Enterprise.county_code)
        .where(Enterprise.id == scope.enterprise_id)
    ).first()
    if row is None:
        raise _not_found(str(scope.enterprise_id))
    return {"uscc": row[0], "name": row[1], "county_name": row[2]}


def own_enterprise_uscc(session: Session, scope: Scope) -> str:
    """The USCC of an enterprise user's own enterprise."""
    return own_enterprise(session, scope)["uscc"]
