"""Scoped reads of 亩均论英雄 results for the web pages (data-access layer).

Every function takes the caller's :class:`~industry_brain.store.scope.Scope` and filters
enterprises with ``scope.enterprise_clause()``; results are those of the published run of a data
year (the final result; re-evaluations after appeals supersede earlier runs).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core.errors import IBError, Location, ValidationError
from industry_brain.domains.mujun import explain as explain_mod
from industry_brain.domains.mujun import lists, service
from industry_brain.domains.mujun.models import MujunResult, MujunRun
from industry_brain.store import scoped
from industry_brain.store.audit import record
from industry_brain.store.enterprises import ENTERPRISE_ID
from industry_brain.store.models import Enterprise, Region
from industry_brain.store.scope import Scope

CLASS_CODES = ("A", "B", "C", "D", "T")
SCOPES = ("above", "below")
#: sort keys of the results list → their column
RESULT_SORTS = {
    "name": MujunResult.name,
    "county": MujunResult.county_code,
    "scope": MujunResult.scope,
    "land_mu": MujunResult.land_mu,
    "tax": MujunResult.tax,
    "score": MujunResult.score,
    "rank_county": MujunResult.rank_county,
    "class_code": MujunResult.class_code,
}


def published_years(session: Session) -> list[int]:
    """Data years with a published evaluation, newest first."""
    return sorted(
        session.scalars(select(MujunRun.year).where(MujunRun.status == "published").distinct()),
        reverse=True,
    )


def _run(session: Session, year: int | None) -> MujunRun | None:
    years = published_years(session)
    if year is None:
        year = years[0] if years else None
    if year is None:
        return None
    return service.published_run(session, year, required=False)


def _check_choice(value: str | None, allowed: tuple[str, ...], field: str) -> None:
    if value and value not in allowed:
        raise ValidationError(
            f"query.{field}",
            f"{field} 只能是 {'、'.join(allowed)} 之一",
            f"{field} must be one of {', '.join(allowed)}",
            Location(field=field),
            value,
        )


def class_distribution(
    session: Session, scope: Scope, year: int | None = None, by: str | None = None
) -> dict[str, Any]:
    """Enterprises per county — or per town (乡镇街道) for a county officer, or ``by="town"`` —
    and class (A/B/C/D, T = not evaluated) in the caller's scope, split by 规上/规下, from the
    published run of ``year`` (default: the latest). ``level`` says which (county | town)."""
    run = _run(session, year)
    level = by or ("town" if scoped.towns_known(session, scope) else "county")
    if run is None:
        return {"year": year, "run_id": None, "counties": [], "totals": {}, "level": level}
    area = Enterprise.town_code if level == "town" else MujunResult.county_code
    # counted once per run and import (a group-by over every result of the run: ~17 ms on
    # the city demo, on every results page)
    rows = scoped.cached(
        session,
        (scope.cache_key, "mujun_distribution", run.id, level),
        (*lists_stamp(session), *scoped.data_stamp(session)),
        lambda: session.execute(
            select(area, Region.name, MujunResult.scope, MujunResult.class_code, func.count())
            .join(Enterprise, Enterprise.id == MujunResult.enterprise_id)
            .outerjoin(Region, Region.code == area)
            .where(MujunResult.run_id == run.id, scope.enterprise_clause())
            .group_by(area, Region.name, MujunResult.scope, MujunResult.class_code)
            .order_by(area)
        ).all(),
    )
    counties: dict[str, dict[str, Any]] = {}
    totals = {c: 0 for c in CLASS_CODES}
    for code, name, kind, cls, n in rows:
        entry = counties.setdefault(
            code or "",
            {
                "code": code,
                "name": name or code or "—",
                **{c: 0 for c in CLASS_CODES},
                "above": {c: 0 for c in CLASS_CODES},
                "below": {c: 0 for c in CLASS_CODES},
                "total": 0,
            },
        )
        entry[cls] += n
        entry[kind][cls] += n
        entry["total"] += n
        totals[cls] += n
    return {
        "year": run.year,
        "run_id": run.id,
        "counties": list(counties.values()),
        "totals": totals,
        "level": level,
    }


def results(
    session: Session,
    scope: Scope,
    year: int | None = None,
    *,
    county: str | None = None,
    class_code: str | None = None,
    kind: str | None = None,
    page: int = 1,
    per_page: int | None = 50,
    sort: str = "score",
    desc: bool = True,
) -> dict[str, Any]:
    """One page of results in scope, best score first (not evaluated last), or ordered by
    ``sort`` (a key of :data:`RESULT_SORTS`); ``per_page=None`` returns every match."""
    scope.require("mujun.view")
    _check_choice(class_code, CLASS_CODES, "class")
    _check_choice(kind, SCOPES, "scope")
    _check_choice(sort, tuple(RESULT_SORTS), "sort")
    everything = per_page is None
    page, per_page = scoped._page_args(1 if everything else page, 1 if everything else per_page)
    run = _run(session, year)
    if run is None:
        return {"year": year, "run": None, "page": scoped.Page([], 0, page, per_page)}
    conds = [MujunResult.run_id == run.id, scope.enterprise_clause()]
    if county:
        conds.append(MujunResult.county_code == county)
    if class_code:
        conds.append(MujunResult.class_code == class_code)
    if kind:
        conds.append(MujunResult.scope == kind)
    key = RESULT_SORTS[sort]
    order = (key.is_(None), key.desc() if desc else key.asc(), MujunResult.uscc)
    base = select(MujunResult).join(Enterprise, Enterprise.id == MujunResult.enterprise_id)
    if everything:  # an export: every row in one sorted read
        rows = session.scalars(base.where(*conds).order_by(*order)).all()
        total = len(rows)
    else:
        ids, total = scoped.ordered_page(
            session,
            (
                scope.cache_key,
                "mujun_results",
                run.id,
                county or "",
                class_code or "",
                kind or "",
                sort,
                desc,
            ),
            (*lists_stamp(session), *scoped.data_stamp(session)),
            base.where(*conds).with_only_columns(MujunResult.id).order_by(*order),
            page,
            per_page,
        )
        rows = scoped.in_order(
            session.scalars(select(MujunResult).where(MujunResult.id.in_(ids))).all(),
            ids,
            lambda r: r.id,
        )
    names = lists.county_names(session, (r.county_code for r in rows))
    items = [
        {
            "uscc": r.uscc,
            "name": r.name,
            "county": names.get(r.county_code or "", r.county_code),
            "scope": r.scope,
            "land_mu": r.land_mu,
            "tax": r.tax,
            "score": r.score,
            "rank_county": r.rank_county,
            "n_county": r.n_county,
            "class_code": r.class_code,
            "veto": bool(r.veto),
        }
        for r in rows
    ]
    return {
        "year": run.year,
        "run": {"id": run.id, "kind": run.kind, "parameter_version": run.parameter_version},
        "page": scoped.Page(items, int(total or 0), page, max(per_page, len(items))),
    }


@cache
def _published_result_stmt() -> Select:  # built once: the profile page reads it on every view
    return (
        select(MujunResult, MujunRun)
        .join(MujunRun, MujunRun.id == MujunResult.run_id)
        .where(MujunResult.enterprise_id == ENTERPRISE_ID, MujunRun.status == "published")
        .order_by(MujunRun.year.desc(), MujunRun.id.desc())
        .limit(1)
    )


def enterprise_result(
    session: Session, scope: Scope, uscc: str, lang: str, explain: bool = True
) -> dict[str, Any]:
    """The enterprise's latest published result, with its explanation when ``explain`` (which
    needs the right to see tax: it shows tax per mu; others get class, score and ranks only).
    Reading the explanation is audited."""
    ent = scoped.visible_enterprise(session, scope, uscc)
    row = session.execute(_published_result_stmt(), {"enterprise_id": ent.id}).first()
    if row is None:
        return {"uscc": ent.uscc, "result": None}
    res, run = row
    out: dict[str, Any] = {
        "uscc": ent.uscc,
        "year": run.year,
        "run_id": run.id,
        "result": {
            "class_code": res.class_code,
            "score": res.score,
            "rank_county": res.rank_county,
            "n_county": res.n_county,
            "rank_industry": res.rank_industry,
            "n_industry": res.n_industry,
            "scope": res.scope,
            "evaluated": res.evaluated,
        },
        "explanation": None,
        "masked": not scope.sees_sensitive,
    }
    if explain and scope.sees_sensitive:
        try:
            data = explain_mod.explain(session, ent.uscc, run.year, lang, lineage=True)
        except IBError:
            data = None
        if data is not None:
            out["explanation"] = data["text"]
            out["doc"] = data  # the structured explanation (the document template)
            out["class_label"] = data.get("class_label")
            record(
                session,
                scope.username,
                "mujun.explain",
                "enterprise",
                ent.uscc,
                {"year": run.year, "run_id": run.id},
                user_id=scope.user_id,
            )
    return out


def low_lists(
    session: Session, scope: Scope, year: int | None = None, county: str | None = None
) -> dict[str, Any]:
    """清三低 lists of ``year`` in scope: a county officer gets only the own county."""
    scope.require("mujun.view")
    run = _run(session, year)
    if run is None:
        return {"year": year, "frame": pd.DataFrame(columns=list(lists.LIST_COLUMNS))}
    if scope.role == "county_officer":  # the other holders of mujun.view are city-wide
        county = scope.county_code
    # the lists follow from the published runs and the parameters only: built once per
    # (year, county) until the next run or publication (a build reads every result of the
    # year and the years before it: ~0.9 s of CPU on the city demo, on every list page)
    stamp = (*lists_stamp(session), parameters.load().version())
    frame = scoped.cached(
        session,
        ("mujun_lists", run.year, county or ""),
        stamp,
        lambda: lists.build(session, run.year, county or None),
    )
    return {"year": run.year, "frame": frame.copy()}


def low_list_rows(session: Session, scope: Scope, year: int | None = None) -> dict[str, Any]:
    """The 清三低 lists of ``year`` in scope as the list page shows them: every listed firm as a
    row dict (shared: copy a row before changing it), the county names, the counts by county
    and the counties in code order — derived once per cached build of the lists (turning the
    frame into rows cost ~40 ms of CPU on every page of the city demo)."""
    scope.require("mujun.view")
    run = _run(session, year)
    if run is None:
        return {"year": year, "rows": [], "county_names": {}, "counts": {}, "county_order": []}
    county = scope.county_code if scope.role == "county_officer" else ""
    stamp = (*lists_stamp(session), parameters.load().version())

    def derive() -> dict[str, Any]:
        frame = low_lists(session, scope, run.year)["frame"]
        empty = not len(frame)
        return {
            "year": run.year,
            "rows": lists.to_records(frame),
            "county_names": {}
            if empty
            else dict(zip(frame["county_code"], frame["county_name"], strict=False)),
            "counts": {} if empty else lists.counts(frame),
            # counties in code order, as on every other page (the frame is sorted by county)
            "county_order": [] if empty else list(dict.fromkeys(frame["county_name"])),
        }

    return scoped.cached(session, ("mujun_list_rows", run.year, county or ""), stamp, derive)


def lists_stamp(session: Session) -> tuple:
    """Changes with every evaluation run and publication (cached lists and cockpit section)."""
    return tuple(
        session.execute(
            select(
                func.max(MujunRun.id),
                func.count().filter(MujunRun.status == "published"),
            )
        ).one()
    )
