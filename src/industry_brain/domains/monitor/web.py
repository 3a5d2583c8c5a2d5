"""Web page of 工业运行监测: ``GET /monitor`` (figures of a year by county and industry, charts,
monthly electricity; officers) and ``GET /monitor/{year}.xlsx`` (the same tables, audited
export). A county officer sees only the county of the scope."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from industry_brain.core import exports
from industry_brain.domains.monitor.service import MonitorError, Report, for_store
from industry_brain.store import scoped
from industry_brain.store.scope import Scope
from industry_brain.web.deps import DbDep, ScopeDep, request_id
from industry_brain.web.downloads import file_download, scratch
from industry_brain.web.i18n import LANGUAGES, Translator
from industry_brain.web.query import Year

router = APIRouter(include_in_schema=False)
FIGURES = ("value_added", "va_growth", "output_value", "revenue", "profit", "tax")


def _county(scope: Scope, county: str | None) -> str | None:
    """The county the caller asks for, limited to the scope's county for a county officer."""
    if scope.role == "county_officer":
        return scope.county_code
    return county or None


def _report(request: Request, scope: Scope, year: int | None, county: str | None) -> Report:
    scope.require("monitor.view")
    return for_store(request.app.state.engine, year, _county(scope, county))


def charts(rep: Report) -> dict[str, dict[str, Any]]:
    """Chart specs (``static/cockpit.js``) in every UI language: value added by county and
    monthly electricity of the year against the previous year."""
    out: dict[str, dict[str, Any]] = {}
    for lang in LANGUAGES:
        t = Translator(lang)
        out[lang] = {
            "va": {
                "kind": "grouped",
                "categories": [c["county_name"] for c in rep.counties],
                "series": [
                    {
                        "name": t("monitor.value_added"),
                        "data": [round(c["value_added"] or 0, 1) for c in rep.counties],
                    }
                ],
            },
            "power": {
                "kind": "grouped",
                "categories": [str(r["month"]) for r in rep.electricity_city],
                "series": [
                    {
                        "name": t("monitor.kwh_year", year=rep.year),
                        "data": [r["kwh"] for r in rep.electricity_city],
                    },
                    {
                        "name": t("monitor.kwh_year", year=rep.year - 1),
                        "data": [r["kwh_prev"] for r in rep.electricity_city],
                    },
                ],
            },
        }
    return out


@router.get("/monitor")
def monitor_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    year: Annotated[Year, Query()] = None,
    county: Annotated[str | None, Query(max_length=6)] = None,
) -> Response:
    try:
        rep = _report(request, scope, year, county)
    except MonitorError as exc:
        if exc.problem.code != "monitor.no_data":
            raise
        rep = None
    return request.app.state.render(
        request,
        "monitor.html",
        {
            "rep": rep,
            "year": year,
            "chart": charts(rep) if rep is not None else {},
            "counties": scoped.counties(db, scope),
            "filters": {"county": _county(scope, county) or ""},
        },
    )


def export(rep: Report, path: Path) -> Path:
    """The report's tables as a workbook (text cells written as strings by core.exports)."""
    t = Translator("zh")
    wb = exports.workbook()
    ws = wb.active
    ws.title = exports.sheet_title("区县")
    groups = [f"{g['zh']}占比" for g in rep.groups.values()]
    head = ["区县代码", "区县", "规上企业数", "规上工业增加值(万元)", "增加值名义增速"]
    head += ["工业总产值(万元)", "营业收入(万元)", "利润总额(万元)", "税金(万元)", "新产品产值率"]
    exports.append(ws, [t("monitor.title", year=rep.year)])
    exports.append(ws, [*head, *groups])
    for c in rep.counties:
        exports.append(
            ws,
            [
                c["county_code"],
                c["county_name"],
                c["enterprises"],
                *[c[k] for k in FIGURES],
                c["new_product_rate"],
                *[c[f"share_{k}"] for k in rep.groups],
            ],
        )
    ws = wb.create_sheet(exports.sheet_title("行业"))
    exports.append(ws, ["区县代码", "区县", "行业大类", *head[2:]])
    for r in rep.industries:
        exports.append(
            ws,
            [
                r["county_code"],
                r["county_name"],
                r["division"],
                r["enterprises"],
                *[r[k] for k in FIGURES],
                r["new_product_rate"],
            ],
        )
    ws = wb.create_sheet(exports.sheet_title("用电"))
    exports.append(
        ws, ["区县代码", "区县", "月份", "当月(kWh)", "上年同月(kWh)", "同比", "累计", "累计同比"]
    )
    for r in rep.electricity:
        exports.append(
            ws,
            [
                r["county_code"],
                r["county_name"],
                r["month"],
                r["kwh"],
                r["kwh_prev"],
                r["growth"],
                r["ytd"],
                r["ytd_growth"],
            ],
        )
    return exports.save(wb, path)


@router.get("/monitor/{year}.xlsx")
def monitor_export(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    year: int,
    county: Annotated[str | None, Query(max_length=6)] = None,
) -> Response:
    rep = _report(request, scope, year, county)
    with scratch("monitor-") as folder:
        path = export(rep, folder / f"工业运行监测_{rep.year}.xlsx")
        scoped.record_export(
            db, scope, "monitor", str(rep.year), {"county": rep.county}, request_id()
        )
        db.commit()
    return file_download(path, folder)
