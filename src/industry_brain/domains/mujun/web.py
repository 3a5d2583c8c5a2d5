"""Web pages of 亩均论英雄 (per-mu evaluation): results by class, 清三低 lists, the profile
section with the explanation, and the cockpit's class distribution by county.

Routes: ``GET /mujun`` (results of a published year, filters, pagination; officers),
``GET /mujun/lists`` (清三低 lists) and ``GET /mujun/lists/{year}.xlsx`` (audited export),
``GET /mujun/explain/{uscc}`` (the explanation, loaded into the profile by htmx),
``GET /mujun/explanation/{uscc}`` (the same as a printable document) and ``….pdf`` (its PDF).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from industry_brain.domains.mujun import lists, views
from industry_brain.store import scoped
from industry_brain.store.scope import Scope
from industry_brain.web import documents
from industry_brain.web import lists as weblists
from industry_brain.web.app_helpers import page_lang
from industry_brain.web.charts import area_links, stacked_by_county
from industry_brain.web.deps import DbDep, ScopeDep, request_id
from industry_brain.web.downloads import file_download, scratch
from industry_brain.web.query import Year

router = APIRouter(include_in_schema=False)
# chart colours of classes A, B, C, D and T (not evaluated), as the badges in app.css
CLASS_COLOURS = ["#1b5e20", "#8bc34a", "#ffd54f", "#fb8c00", "#9e9e9e"]


def _render(request: Request, name: str, **context: Any) -> Response:
    return request.app.state.render(request, name, context)


RESULTS = weblists.ListSpec(
    "mujun_results",
    (
        weblists.Column("name", "col.name"),
        weblists.Column("uscc", "col.uscc", sortable=False, show=False),
        weblists.Column("county", "col.county"),
        weblists.Column("scope", "col.scale", value=weblists.coded("scale.", "scope")),
        weblists.Column("land_mu", "mujun.land"),
        weblists.Column("tax", "mujun.tax"),
        weblists.Column("score", "mujun.score"),
        weblists.Column("rank_county", "mujun.rank_county"),
        weblists.Column("class_code", "mujun.class"),
        weblists.Column(
            "veto",
            "list.vetoed",
            sortable=False,
            show=False,
            value=weblists.flag("veto", "list.vetoed"),
        ),
    ),
    default_sort="score",
    default_desc=True,
    sizes=(20, 50, 100),
    default_size=50,
)


@router.get("/mujun")
def results_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    year: Annotated[Year, Query()] = None,
    county: Annotated[str | None, Query(max_length=6)] = None,
    cls: Annotated[str | None, Query(alias="class", max_length=1)] = None,
    kind: Annotated[str | None, Query(alias="scope", max_length=5)] = None,
) -> Response:
    filters = {"county": county or "", "class": cls or "", "scope": kind or ""}
    state = weblists.read(request, RESULTS, filters, extra={"year": year or ""})
    data = views.results(
        db,
        scope,
        year,
        county=county or None,
        class_code=cls or None,
        kind=kind or None,
        page=state.page,
        per_page=None if state.export else state.size,
        sort=state.sort,
        desc=state.desc,
    )
    state.paged(data["page"].total)
    state.extra["year"] = str(data["year"] or "")
    if state.export:
        return weblists.export_response(
            db, scope, state, data["page"].items, page_lang(request), str(data["year"] or "")
        )
    return _render(
        request,
        "mujun.html",
        data=data,
        state=state,
        dist=views.class_distribution(db, scope, data["year"]),
        years=views.published_years(db),
        counties=scoped.counties(db, scope),
        classes=views.CLASS_CODES,
        filters=filters,
    )


LOW_LISTS = weblists.ListSpec(
    "mujun_lists",
    (
        weblists.Column(
            "category", "mujun.category", value=weblists.coded("mujun.cat.", "category")
        ),
        weblists.Column("county_code", "col.county", value=lambda r, t: r.get("county_name")),
        weblists.Column("name", "col.name"),
        weblists.Column("uscc", "col.uscc", sortable=False, show=False),
        weblists.Column("land_mu", "mujun.land"),
        weblists.Column("tax_per_mu", "mujun.tax_per_mu"),
        weblists.Column("classes", "mujun.class"),
        weblists.Column("rule", "mujun.rule", sortable=False),
        weblists.Column(
            "veto",
            "list.vetoed",
            sortable=False,
            show=False,
            value=weblists.flag("veto", "list.vetoed"),
        ),
    ),
    default_sort="county_code",
    sizes=(20, 50, 100, 200),
    default_size=50,
)


@router.get("/mujun/lists")
def lists_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    year: Annotated[Year, Query()] = None,
    county: Annotated[str | None, Query(max_length=6)] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    cls: Annotated[str | None, Query(alias="class", max_length=1)] = None,
) -> Response:
    """清三低 lists of a year: the counts by county, then every listed firm — filtered by
    county, category and current class, sorted, paged and exported by the list component."""
    filters = {"county": county or "", "category": category or "", "class": cls or ""}
    state = weblists.read(request, LOW_LISTS, filters, extra={"year": year or ""})
    data = views.low_list_rows(db, scope, year)
    state.extra["year"] = str(data["year"] or "")
    county_names = data["county_names"]
    shown = [
        r
        for r in data["rows"]
        if (not county or r["county_code"] == county)
        and (not category or r["category"] == category)
        and (not cls or r["class_code"] == cls)
    ]
    page_rows = [dict(r) for r in state.apply(shown)]  # the cached rows stay as they are
    # the veto badge is not a sort key: looked up for the rows shown (or exported) only
    vetoed = weblists.vetoed(db, (r["uscc"] for r in page_rows))
    for r in page_rows:
        r["veto"] = r["uscc"] in vetoed
    if state.export:
        return weblists.export_response(
            db, scope, state, page_rows, page_lang(request), str(data["year"] or "")
        )
    return _render(
        request,
        "mujun_lists.html",
        year=data["year"],
        years=views.published_years(db),
        rows=page_rows,
        state=state,
        filters=filters,
        list_counties=sorted(county_names.items()),
        classes=views.CLASS_CODES,
        counts=data["counts"],
        county_order=data["county_order"],
        categories=lists.CATEGORIES,
    )


@router.get("/mujun/lists/{year}.xlsx")
def lists_export(db: DbDep, scope: ScopeDep, year: int) -> Response:
    data = views.low_lists(db, scope, year)
    with scratch("mujun-lists-") as folder:
        path = lists.export(data["frame"], folder / f"清三低名单_{data['year']}.xlsx", data["year"])
        scoped.record_export(
            db, scope, "mujun_lists", str(data["year"]), {"rows": len(data["frame"])}, request_id()
        )
        db.commit()
    return file_download(path, folder)


@router.get("/mujun/explain/{uscc}")
def explanation(request: Request, db: DbDep, scope: ScopeDep, uscc: str) -> Response:
    data = views.enterprise_result(db, scope, uscc, page_lang(request), explain=True)
    db.commit()
    return _render(request, "mujun_explain.html", r=data)


def _document(request: Request, db: Session, scope: Scope, uscc: str) -> dict[str, Any]:
    data = views.enterprise_result(db, scope, uscc, page_lang(request), explain=True)
    db.commit()
    if data.get("doc") is None:  # masked for the role, or no published result
        raise scoped._not_found(uscc)
    return {"d": data["doc"], "links": scope.can("import.run")}


documents.explanation_routes(router, "mujun", _document)


def profile_section(session: Session, scope: Scope, uscc: str) -> dict[str, Any] | None:
    data = views.enterprise_result(session, scope, uscc, "zh", explain=False)
    return {
        "id": "mujun-section",
        "title_zh": "亩均论英雄",
        "title_en": "Per-mu evaluation",
        "template": "mujun_profile.html",
        "r": data,
    }


def cockpit_stamp(session: Session) -> tuple:
    """Changes with every evaluation run and publication (cached cockpit section)."""
    return views.lists_stamp(session)


def cockpit_section(
    session: Session, scope: Scope, year: int | None = None, filters: Any = None
) -> dict[str, Any] | None:
    """Classes by county (or town) of the published run of ``year`` (default: the latest);
    each segment links to the results list of that county and class (:func:`area_links`)."""
    if not scope.can("mujun.view"):
        return None
    dist = views.class_distribution(session, scope, year)
    links = area_links(
        "/mujun",
        dist["counties"],
        list(views.CLASS_CODES),
        "class",
        filters,
        level=dist["level"],
        year=dist["year"],
    )
    return {
        "id": "mujun-cockpit",
        "title_zh": f"亩均评价分类（{dist['year'] or '—'} 年度）",
        "title_en": f"Per-mu classes ({dist['year'] or '—'})",
        "template": "mujun_cockpit.html",
        "dist": dist,
        "links": links,
        "chart": stacked_by_county(
            dist["counties"], list(views.CLASS_CODES), "mujun.class.{}", CLASS_COLOURS, links
        ),
    }
