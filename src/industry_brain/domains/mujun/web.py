"""Web pages of 亩均论英雄 (per-mu evaluation): results by class, 清三低 lists, the profile
section with the explanation, and the cockpit's class distribution by county.

Routes: ``GET /mujun`` (results of a published year, filters, pagination; officers),
``GET /mujun/lists`` (清三低 lists) and ``GET /mujun/lists/{year}.xlsx`` (audited export),
``GET /mujun/explain/{uscc}`` (the explanation, loaded into the profile by htmx).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from industry_brain.domains.mujun import lists, views
from industry_brain.domains.mujun.models import MujunRun
from industry_brain.store import scoped
from industry_brain.store.scope import Scope
from industry_brain.web.app_helpers import page_lang
from industry_brain.web.charts import stacked_by_county
from industry_brain.web.deps import DbDep, ScopeDep, request_id
from industry_brain.web.query import Page, Year

router = APIRouter(include_in_schema=False)
# chart colours of classes A, B, C, D and T (not evaluated), as the badges in app.css
CLASS_COLOURS = ["#1b5e20", "#8bc34a", "#ffd54f", "#fb8c00", "#9e9e9e"]


def _render(request: Request, name: str, **context: Any) -> Response:
    return request.app.state.render(request, name, context)


@router.get("/mujun")
def results_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    year: Annotated[Year, Query()] = None,
    county: Annotated[str | None, Query(max_length=6)] = None,
    cls: Annotated[str | None, Query(alias="class", max_length=1)] = None,
    kind: Annotated[str | None, Query(alias="scope", max_length=5)] = None,
    page: Annotated[Page, Query()] = 1,
) -> Response:
    data = views.results(
        db,
        scope,
        year,
        county=county or None,
        class_code=cls or None,
        kind=kind or None,
        page=page,
    )
    return _render(
        request,
        "mujun.html",
        data=data,
        dist=views.class_distribution(db, scope, data["year"]),
        years=views.published_years(db),
        counties=scoped.counties(db, scope),
        classes=views.CLASS_CODES,
        filters={"county": county or "", "class": cls or "", "scope": kind or ""},
    )


@router.get("/mujun/lists")
def lists_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    year: Annotated[Year, Query()] = None,
) -> Response:
    data = views.low_lists(db, scope, year)
    frame = data["frame"]
    return _render(
        request,
        "mujun_lists.html",
        year=data["year"],
        years=views.published_years(db),
        rows=lists.to_records(frame),
        counts=lists.counts(frame) if len(frame) else {},
        # counties in code order, as on every other page (the frame is sorted by county code)
        county_order=list(dict.fromkeys(frame["county_name"])) if len(frame) else [],
        categories=lists.CATEGORIES,
    )


@router.get("/mujun/lists/{year}.xlsx")
def lists_export(db: DbDep, scope: ScopeDep, year: int) -> Response:
    data = views.low_lists(db, scope, year)
    folder = Path(tempfile.mkdtemp(prefix="mujun-lists-"))
    path = lists.export(data["frame"], folder / f"清三低名单_{data['year']}.xlsx", data["year"])
    scoped.record_export(
        db, scope, "mujun_lists", str(data["year"]), {"rows": len(data["frame"])}, request_id()
    )
    db.commit()
    return FileResponse(
        path,
        filename=path.name,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        background=BackgroundTask(_cleanup, folder),
    )


def _cleanup(folder: Path) -> None:
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()


@router.get("/mujun/explain/{uscc}")
def explanation(request: Request, db: DbDep, scope: ScopeDep, uscc: str) -> Response:
    data = views.enterprise_result(db, scope, uscc, page_lang(request), explain=True)
    db.commit()
    return _render(request, "mujun_explain.html", r=data)


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
    return tuple(
        session.execute(
            select(
                func.max(MujunRun.id),
                func.count().filter(MujunRun.status == "published"),
            )
        ).one()
    )


def cockpit_section(session: Session, scope: Scope) -> dict[str, Any] | None:
    if not scope.can("mujun.view"):
        return None
    dist = views.class_distribution(session, scope)
    return {
        "id": "mujun-cockpit",
        "title_zh": f"亩均评价分类（{dist['year'] or '—'} 年度）",
        "title_en": f"Per-mu classes ({dist['year'] or '—'})",
        "template": "mujun_cockpit.html",
        "dist": dist,
        "chart": stacked_by_county(
            dist["counties"], list(views.CLASS_CODES), "mujun.class.{}", CLASS_COLOURS
        ),
    }
