"""The cockpit and the role desks: ``/cockpit`` (filters year, county — a county officer: town —
and industry; every tile, chart segment and table cell links to the list behind it),
``/cockpit/enterprises`` (the enterprises behind a cockpit figure: a list with sort, pages and
export), and the desks of the agent (``/agent``), the enterprise (``/portal``) and the bank
(``/bank``).

Each route parses input, takes the caller's scope, calls scoped store or service functions and
renders; a filter only narrows the caller's scope (:func:`industry_brain.store.cockpit.narrowed`).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from industry_brain.core import parameters
from industry_brain.core.errors import IBError, Location, ValidationError
from industry_brain.store import cockpit, scoped
from industry_brain.store.models import Enterprise, Project, User
from industry_brain.store.scope import Scope
from industry_brain.web import flash, lists
from industry_brain.web.app_helpers import page_lang
from industry_brain.web.deps import CsrfDep, DbDep, ScopeDep, TodayDep, request_id
from industry_brain.web.domains import call_section
from industry_brain.web.errors import status_of
from industry_brain.web.i18n import Translator, catalog
from industry_brain.web.query import Year

router = APIRouter(include_in_schema=False)


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return request.app.state.render(request, name, context, status_code)


def _link(path: str, params: dict[str, str]) -> str:
    return f"{path}?{urlencode(params)}" if params else path


# -- cockpit -------------------------------------------------------------------------------------
def _cockpit_parts(
    state: Any, lang: str, db: Any, scope: Scope, asked: tuple[Any, ...]
) -> tuple[cockpit.Filters, dict[str, Any], dict[str, Any], list[dict]]:
    """The cockpit of ``scope`` for the ``asked`` filters (year, county, town, industry): the
    filters as applied, their options, the page's figures and the services' sections — each
    from the per-process cache when current."""
    stamp = scoped.data_stamp(db)  # one look at the import stamp for every cached part
    filters, options = _filters(db, scope, *asked, stamp)
    view = cockpit.narrowed(scope, filters)
    data = cockpit.page_data(db, view, filters, stamp)
    return filters, options, data, sections_for(state, lang, db, view, filters, stamp)


def warm_cockpit(state: Any, db: Any, scope: Scope, lang: str) -> None:
    """Compute the cockpit of ``scope`` with its default filters into the per-process cache a
    request of that scope reads (:mod:`industry_brain.web.warmup`)."""
    _cockpit_parts(state, lang, db, scope, (None, None, None, None))


def _filters(
    db: Any,
    scope: Scope,
    year: int | None,
    county: str | None,
    town: str | None,
    industry: str | None,
    stamp: tuple | None = None,
) -> tuple[cockpit.Filters, dict[str, Any]]:
    options = scoped.cached(
        db,
        (scope.cache_key, "cockpit_options"),
        stamp if stamp is not None else scoped.data_stamp(db),
        lambda: cockpit.options(db, scope),
    )
    asked = cockpit.Filters(year, county or None, town or None, industry or None)
    return cockpit.clean(scope, asked, options), options


def sections_for(
    state: Any, lang: str, db: Any, view: Scope, filters: cockpit.Filters, stamp: tuple
) -> list[dict]:
    """The services' cockpit sections for the filtered scope ``view``, each cached per scope,
    filters, language and day until its stamp, the import stamp or the parameters change.
    A section function gets ``year`` and ``filters`` when it accepts them. ``state``: the web
    application's state (settings, discovered services)."""
    today = state.settings.current_date()
    version = parameters.load().version()
    out = []
    for name, entry in state.domains.items():
        fn = entry.cockpit_section
        if fn is None:
            continue

        def compute(fn: Any = fn) -> dict | None:
            try:
                return call_section(
                    fn, db, view, today=today, lang=lang, year=filters.year, filters=filters
                )
            except IBError:
                return None

        if entry.cockpit_stamp is None:
            section = compute()
        else:
            section_stamp = (stamp, entry.cockpit_stamp(db), version)
            key = (
                view.cache_key,
                f"cockpit_section:{name}",
                filters.year,
                lang,
                today.isoformat(),
            )
            section = scoped.cached(db, key, section_stamp, compute)
        if section is not None:
            out.append(section)
    return out


def _cockpit_links(data: dict[str, Any], filters: cockpit.Filters, exact: bool) -> dict:
    """The URL behind every tile and chart segment (``exact``: the projects board shows the
    same selection — it filters by county only, so not with an industry or town filter)."""
    drill = "/cockpit/enterprises"
    level = data["area_level"]
    areas = data["by_town"] if level == "town" else data["by_county"]
    area_key = "town" if level == "town" else "county"

    def area_link(code: str | None, scale: str | None) -> str | None:
        if not code:
            return None
        return _link(drill, filters.query(**{area_key: code, "scale": scale}))

    links: dict[str, Any] = {
        "total": _link(drill, filters.query()),
        "above": _link(drill, filters.query(scale="above")),
        "below": _link(drill, filters.query(scale="below")),
        "areas": {
            k: [area_link(a["code"], k) for a in areas] for k in ("above", "below", "unknown")
        },
        "area_total": [area_link(a["code"], None) for a in areas],
        "completeness": [
            _link(
                drill,
                filters.query(
                    year=data["completeness"]["year"], dept=r["dept"], item=r["item"], has="0"
                ),
            )
            for r in data["completeness"]["rows"]
        ],
        "projects": None,
        "stages": [None for _ in data["projects_by_stage"]],
        # import batches are city-wide (not filtered): each status opens the batch list
        "batches": [_link("/import/batches", {"status": st}) for st in data["batch_status"]],
    }
    if exact:
        board = {"county": filters.county} if filters.county else {}
        links["projects"] = _link("/projects", board)
        links["stages"] = [
            _link("/projects", {**board, "stage": s["stage"]}) for s in data["projects_by_stage"]
        ]
    return links


@router.get("/cockpit")
def cockpit_page(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    year: Annotated[Year, Query()] = None,
    county: Annotated[str | None, Query(max_length=6)] = None,
    town: Annotated[str | None, Query(max_length=12)] = None,
    industry: Annotated[str | None, Query(max_length=4)] = None,
) -> Response:
    scope.require("cockpit.view")
    filters, options, data, sections = _cockpit_parts(
        request.app.state, page_lang(request), db, scope, (year, county, town, industry)
    )
    t = Translator(page_lang(request))
    labels = {
        "above": t("scale.above"),
        "below": t("scale.below"),
        "unknown": t("scale.unknown"),
        "completeness": [
            f"{t('dept.' + r['dept'])} · {t('item.' + r['item'])}"
            for r in data["completeness"]["rows"]
        ],
        "share": t("cockpit.completeness_share"),
        "stages": {s["stage"]: t(f"stage.{s['stage']}") for s in data["projects_by_stage"]},
        "status": {st: t(f"status.{st}") for st in data["batch_status"]},
    }
    exact = not (filters.industry or filters.town)
    links = _cockpit_links(data, filters, exact)
    chart = json.loads(json.dumps({"data": data, "labels": labels, "links": links}, default=str))
    return _render(
        request,
        "cockpit.html",
        data=data,
        chart=chart,
        links=links,
        sections=sections,
        filters=filters,
        options=options,
    )


def _area_text(row: Any, t: Translator) -> str:
    return " ".join(x for x in (row.get("county_name"), row.get("town_name")) if x) or ""


def _industry_text(row: Any, t: Translator) -> str:
    code, name = row.get("industry_code"), row.get("industry_name")
    return f"{code} {name}" if code and name else (code or "")


DRILL = lists.ListSpec(
    "cockpit_enterprises",
    (
        lists.Column("name", "col.name"),
        lists.Column("uscc", "col.uscc"),
        lists.Column("area", "col.area", value=_area_text),
        lists.Column("industry", "col.industry", value=_industry_text),
        lists.Column("scale", "col.scale", sortable=False, value=lists.coded("scale.", "scale")),
    ),
    default_sort="name",
)


@router.get("/cockpit/enterprises")
def cockpit_enterprises(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    year: Annotated[Year, Query()] = None,
    county: Annotated[str | None, Query(max_length=6)] = None,
    town: Annotated[str | None, Query(max_length=12)] = None,
    industry: Annotated[str | None, Query(max_length=4)] = None,
    scale: Annotated[str | None, Query(max_length=7)] = None,
    dept: Annotated[str | None, Query(max_length=32)] = None,
    item: Annotated[str | None, Query(max_length=64)] = None,
    has: Annotated[str | None, Query(max_length=1)] = None,
) -> Response:
    """The enterprises behind a cockpit figure (a tile, a bar segment, a completeness bar)."""
    scope.require("cockpit.view")
    filters, options = _filters(db, scope, year, county, town, industry)
    view = cockpit.narrowed(scope, filters)
    scale = scale if scale in cockpit.SCALES else None
    known = catalog("zh")  # only departments and items the page can name
    wants_item = (
        item in scoped.KEY_ITEMS and has in ("0", "1") and (not dept or f"dept.{dept}" in known)
    )
    asked = {
        "scale": scale or "",
        "dept": dept or "" if wants_item else "",
        "item": item or "" if wants_item else "",
        "has": has or "" if wants_item else "",
    }
    state = lists.read(request, DRILL, {**filters.query(), **asked})
    scale_year = cockpit.year_of_scale(db, filters.year)
    fact_year = filters.year or (options["years"][0] if options["years"] else None)
    total, rows = cockpit.drill_down(
        db,
        view,
        scale_year=scale_year,
        scale=scale,
        fact_year=fact_year,
        dept=dept if wants_item else None,
        item=item if wants_item else None,
        has=(has == "1") if wants_item else None,
        sort=state.sort,
        desc=state.desc,
        offset=0 if state.export else state.offset,
        limit=None if state.export else state.size,
    )
    state.paged(total)
    if state.export:
        return lists.export_response(db, scope, state, rows, page_lang(request))
    area_names = {a["code"]: a["name"] for a in options["areas"]}
    return _render(
        request,
        "cockpit_enterprises.html",
        rows=rows,
        state=state,
        filters=filters,
        asked=asked,
        scale_year=scale_year,
        fact_year=fact_year,
        area_name=area_names.get(filters.town or filters.county or ""),
        industry_name=cockpit.industry_name(db, filters.industry),
        back=_link("/cockpit", filters.query()),
    )


# -- the agent's desk ----------------------------------------------------------------------------
#: progress reports (进度填报) are filed quarterly, at each quarter end (as the demo files them)
REPORT_MONTHS = 3
#: a report due within this many days shows on the desk before it is late
DUE_SOON_DAYS = 45


def _quarter_end(day: date) -> date:
    """The last day of ``day``'s quarter."""
    month = ((day.month - 1) // REPORT_MONTHS + 1) * REPORT_MONTHS
    following = date(day.year + (month == 12), month % 12 + 1, 1)
    return following - timedelta(days=1)


def _matches(q: str, *texts: Any) -> bool:
    return not q or any(q in str(x).upper() for x in texts if x)


def agent_desk(db: Any, scope: Scope, today: date, q: str | None) -> dict[str, Any]:
    """The agent's desk on ``today``: the 破五未 warnings of the agent's projects (overdue =
    red or black, due = yellow: the deadline is near), their open service tickets (overdue
    first) and the quarterly progress reports late or due soon; ``q`` narrows all three and
    the assigned enterprises to a name, USCC or project code."""
    from industry_brain.domains.projects import tickets as ticket_service
    from industry_brain.domains.projects import views as project_views
    from industry_brain.domains.projects.models import ProgressReport

    scope.require("portal.agent")
    text = (q or "").strip().upper()
    board = project_views.board(db, scope, today, warnings_only=True)
    warnings = [
        w for w in board["warnings"] if _matches(text, w["code"], w["name"], w.get("investor"))
    ]
    projects = db.execute(
        select(Project.id, Project.code, Project.name, Project.stage, Project.actual_started)
        .where(scope.project_clause())
        .order_by(Project.code)
    ).all()
    names = {code: name for _, code, name, _, _ in projects}
    tickets = [
        {**t, "project_name": names[t["project"]]}
        for t in ticket_service.list_tickets(db, today)
        if t["project"] in names
        and t["status"] not in ticket_service.DONE
        and _matches(text, t["project"], names[t["project"]])
    ]
    tickets.sort(key=lambda t: (not t["overdue"], t["due_date"] or "", t["id"]))
    latest = dict(
        db.execute(
            select(ProgressReport.project_id, func.max(ProgressReport.report_date))
            .where(ProgressReport.project_id.in_([p[0] for p in projects] or [0]))
            .group_by(ProgressReport.project_id)
        ).all()
    )
    current_end = _quarter_end(today)
    last_end = _quarter_end(current_end.replace(day=1) - timedelta(days=REPORT_MONTHS * 28))
    reports = []
    for pid, code, name, stage, started in projects:
        if started is None or stage == "at_capacity" or not _matches(text, code, name):
            continue
        last = latest.get(pid)
        if started <= last_end and (last is None or last < last_end):
            due, late = last_end, True
        elif (last is None or last < current_end) and (current_end - today).days <= DUE_SOON_DAYS:
            due, late = current_end, False
        else:
            continue
        reports.append(
            {
                "code": code,
                "name": name,
                "stage": stage,
                "last": last.isoformat() if last else None,
                "due": due.isoformat(),
                "late": late,
                "days": abs((today - due).days),
            }
        )
    reports.sort(key=lambda r: (not r["late"], r["due"], r["code"]))
    return {
        "q": q or "",
        "as_of": today.isoformat(),
        "overdue": [w for w in warnings if w["colour"] in ("red", "black")],
        "due": [w for w in warnings if w["colour"] == "yellow"],
        "warnings_total": board["warnings_total"],
        # the board shows the worst warnings first, up to its limit: the rest are on the board
        "more": board["warnings_total"] - len(board["warnings"]),
        "tickets": tickets,
        "reports": reports,
        "project_names": names,
    }


# -- the enterprise portal: its codes and what it qualifies for -----------------------------------
def portal_desk(db: Any, scope: Scope, today: date) -> dict[str, Any]:
    """The enterprise's valid carbon code (downloads and print) and the green-loan products
    its current grade qualifies for (with the terms), for the portal page."""
    from industry_brain.domains.carbon import products, views

    scope.require("portal.enterprise")
    ent = db.get(Enterprise, scope.enterprise_id)
    code = views._latest_code(db, ent, today) if ent is not None else None
    try:
        qualified = products.qualifying(db, ent.uscc) if ent is not None else None
    except IBError:
        qualified = None  # no graded result yet
    return {
        "uscc": ent.uscc if ent else None,
        "code": None
        if code is None
        else {
            "year": code.year,
            "grade": code.grade,
            "issued_on": code.issued_on.isoformat(),
            "expires_on": code.expires_on.isoformat(),
        },
        "qualified": qualified,
        "bank_names": {b["username"]: b["name"] for b in views.banks(db)},
    }


#: the enterprise's own loans on the portal (read-only; a bank registers them)
PORTAL_LOANS = lists.ListSpec(
    "loans",
    (
        lists.Column("bank", "portal.bank"),
        lists.Column("reference", "list.col.reference"),
        lists.Column("amount_wan", "list.col.amount_wan"),
        lists.Column("rate_pct", "list.col.rate_pct"),
        lists.Column("granted_on", "list.col.loan_date"),
        lists.Column("term_months", "list.col.term_months"),
        lists.Column("grade", "carbon.grade", value=lists.coded("carbon.grade.", "grade")),
        lists.Column("grade_year", "portal.loan_grade_year"),
    ),
    default_sort="granted_on",
    default_desc=True,
    sizes=(10, 20, 50),
    default_size=10,
    prefix="l_",
)


def own_loans(db: Any, scope: Scope) -> list[dict[str, Any]]:
    """The loans registered to the caller's enterprise (碳效贷 the banks reported, from the
    loans table), each with its bank's name and the grade it relied on. Read-only, the
    enterprise's own only; the read is audited (``portal.loans``, with the row count)."""
    from industry_brain.domains.carbon.models import CarbonLoan
    from industry_brain.store import audit

    scope.require("portal.enterprise")
    ent = db.get(Enterprise, scope.enterprise_id)
    if ent is None:
        return []
    rows = db.execute(
        select(CarbonLoan, User.organisation, User.display_name, User.username)
        .join(User, User.id == CarbonLoan.bank_user_id)
        .where(CarbonLoan.enterprise_id == ent.id)
        .order_by(CarbonLoan.granted_on.desc(), CarbonLoan.id.desc())
    ).all()
    loans = [
        {
            "id": ln.id,
            "bank": org or name or username,
            "reference": ln.reference,
            "amount_wan": ln.amount_wan,
            "rate_pct": ln.rate_pct,
            "granted_on": ln.granted_on.isoformat(),
            "term_months": ln.term_months,
            "grade": ln.grade,
            "grade_year": ln.grade_year,
        }
        for ln, org, name, username in rows
    ]
    audit.record(
        db,
        scope.username,
        "portal.loans",
        "enterprise",
        ent.uscc,
        {"rows": len(loans)},
        user_id=scope.user_id,
        request_id=request_id(),
    )
    return loans


def _own_code(db: Any, scope: Scope, today: date) -> tuple[Any, Any, str]:
    """The caller's enterprise, its valid code and the code's frame colour (404 without)."""
    from industry_brain.domains.carbon import views

    scope.require("portal.enterprise")
    ent = db.get(Enterprise, scope.enterprise_id)
    code = views._latest_code(db, ent, today) if ent is not None else None
    if ent is None or code is None:
        raise scoped._not_found(ent.uscc if ent else str(scope.enterprise_id))
    colour = str(views.grade_colours(code.year, ent.county_code)[code.grade - 1])
    return ent, code, colour


@router.get("/portal/code.{fmt}")
def portal_code_file(db: DbDep, scope: ScopeDep, today: TodayDep, fmt: str) -> Response:
    """The enterprise's valid code as a file to download (``svg`` or ``png``), audited."""
    from industry_brain.domains.carbon import codes

    if fmt not in ("svg", "png"):
        raise scoped._not_found(fmt)
    ent, code, colour = _own_code(db, scope, today)
    if fmt == "svg":
        body, media = codes.svg_bytes(code.payload, colour), "image/svg+xml"
    else:
        body, media = codes.png_bytes(code.payload, colour), "image/png"
    scoped.record_export(
        db, scope, "carbon_code", ent.uscc, {"format": fmt, "year": code.year}, request_id()
    )
    db.commit()
    name = f"carbon-code-{ent.uscc}-{code.year}.{fmt}"
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/portal/code/print")
def portal_code_print(request: Request, db: DbDep, scope: ScopeDep, today: TodayDep) -> Response:
    """A page with the code to print (name, USCC, grade, validity)."""
    ent, code, _colour = _own_code(db, scope, today)
    return _render(
        request,
        "portal_code_print.html",
        ent={"uscc": ent.uscc, "name": ent.name},
        code={
            "year": code.year,
            "grade": code.grade,
            "level": code.level,
            "issued_on": code.issued_on.isoformat(),
            "expires_on": code.expires_on.isoformat(),
        },
    )


# -- the bank's desk: search its consented enterprises, grade history, register a loan ------------
def _bank(db: Any, scope: Scope) -> User:
    scope.require("consent.read")
    bank = db.get(User, scope.user_id)
    assert bank is not None
    return bank


def bank_enterprises(db: Any, scope: Scope, today: date, q: str | None) -> list[dict[str, Any]]:
    """The enterprises that consented to the caller's bank (any state), matching ``q`` (part
    of the name or the USCC), one row each: the best state of its consents (active first) and
    the scopes its active consents cover. No grade is read here (each read is audited)."""
    from industry_brain.domains.carbon import access

    _bank(db, scope)
    text = (q or "").strip().upper()
    rank = {"active": 0, "pending": 1, "expired": 2, "revoked": 3}
    out: dict[str, dict[str, Any]] = {}
    for c in access.list_consents(db, bank_username=scope.username, today=today):
        if text and text not in c["name"].upper() and text not in c["uscc"]:
            continue
        row = out.setdefault(
            c["uscc"],
            {"uscc": c["uscc"], "name": c["name"], "state": c["state"], "scopes": set()},
        )
        if rank.get(c["state"], 9) < rank.get(row["state"], 9):
            row["state"] = c["state"]
        if c["state"] == "active":
            row["scopes"].update(c["scopes"])
    rows = sorted(out.values(), key=lambda r: (rank.get(r["state"], 9), r["name"]))
    return [{**r, "scopes": sorted(r["scopes"])} for r in rows]


@router.get("/bank/search")
def bank_search(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    today: TodayDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    rows = bank_enterprises(db, scope, today, q)
    return _render(request, "bank_search.html", rows=rows, q=q or "")


def _bank_enterprise_page(
    request: Request,
    db: Any,
    scope: Scope,
    today: date,
    uscc: str,
    status_code: int = 200,
    error: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    """One consented enterprise for the bank: its current grade (consent scope ``grade``), its
    grade history (scope ``history``), the bank's loans to it and the loan form. Every grade
    read is checked against an active consent and audited by the carbon service."""
    from industry_brain.domains.carbon import access, loans

    bank = _bank(db, scope)
    consents = [
        c
        for c in access.list_consents(db, bank_username=scope.username, today=today)
        if c["uscc"] == uscc.strip().upper()
    ]
    if not consents:
        raise scoped._not_found(uscc)  # no consent: the bank may not even see the name
    active = {s for c in consents if c["state"] == "active" for s in c["scopes"]}
    grade = history = None
    if "grade" in active:
        try:
            grade = access.bank_grade(db, bank, uscc, today=today, request_id=request_id())
        except IBError:
            grade = None  # no graded result
    if "history" in active:
        try:
            history = access.bank_history(db, bank, uscc, today=today, request_id=request_id())
        except IBError:
            history = None
    db.commit()  # the audited reads
    mine = [x for x in loans.list_loans(db, bank.username) if x["uscc"] == consents[0]["uscc"]]
    return _render(
        request,
        "bank_enterprise.html",
        status_code,
        e={"uscc": consents[0]["uscc"], "name": consents[0]["name"]},
        consents=sorted(consents, key=lambda c: -c["id"]),
        scopes=sorted(active),
        grade=grade,
        history=history["history"] if history else None,
        loans=sorted(mine, key=lambda x: -x["id"]),
        may_lend="grade" in active and grade is not None,
        error=error,
        form=form or {"granted_on": today.isoformat()},
        today=today.isoformat(),
    )


@router.get("/bank/enterprises/{uscc}")
def bank_enterprise(
    request: Request, db: DbDep, scope: ScopeDep, today: TodayDep, uscc: str
) -> Response:
    return _bank_enterprise_page(request, db, scope, today, uscc)


def _number(text: str, field: str, zh: str, en: str, integer: bool = False) -> float | int:
    try:
        return int(text) if integer else float(text)
    except ValueError:
        raise ValidationError(
            f"bank.loan_{field}",
            f"{zh}应为数字（收到“{text}”）",
            f"{en} must be a number (got '{text}')",
            Location(field=field),
            text,
        ) from None


@router.post("/bank/enterprises/{uscc}/loans")
def bank_register_loan(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    today: TodayDep,
    _csrf: CsrfDep,
    uscc: str,
    reference: Annotated[str, Form(max_length=64)],
    amount_wan: Annotated[str, Form(max_length=20)],
    rate_pct: Annotated[str, Form(max_length=20)],
    granted_on: Annotated[str, Form(max_length=10)],
    term_months: Annotated[str, Form(max_length=6)] = "",
    product_code: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Register a loan from the page: the rules of the bank API (``loans.report_loan``:
    an active consent covering the grade, the grade of the current result, the product's
    grades and limit, a reference used once), audited; then back with a confirmation."""
    from industry_brain.domains.carbon import loans

    bank = _bank(db, scope)
    form = {
        "reference": reference,
        "amount_wan": amount_wan,
        "rate_pct": rate_pct,
        "granted_on": granted_on,
        "term_months": term_months,
        "product_code": product_code,
    }
    try:
        if not reference.strip():
            raise ValidationError(
                "bank.loan_reference",
                "请填写贷款编号",
                "the loan reference is required",
                Location(field="reference"),
            )
        try:
            granted = date.fromisoformat(granted_on)
        except ValueError:
            raise ValidationError(
                "bank.loan_granted_on",
                f"放款日期应为 YYYY-MM-DD 格式（收到“{granted_on}”）",
                f"the grant date must be YYYY-MM-DD (got '{granted_on}')",
                Location(field="granted_on"),
                granted_on,
            ) from None
        if granted > today:
            raise ValidationError(
                "bank.loan_future",
                f"放款日期 {granted} 晚于今天 {today}",
                f"the grant date {granted} is after today {today}",
                Location(field="granted_on"),
                granted_on,
            )
        loan = loans.report_loan(
            db,
            bank,
            uscc,
            reference.strip(),
            _number(amount_wan, "amount_wan", "金额", "the amount"),
            _number(rate_pct, "rate_pct", "年利率", "the rate"),
            granted,
            product_code=product_code.strip() or None,
            term_months=int(_number(term_months, "term_months", "期限", "the term", True))
            if term_months.strip()
            else None,
            today=today,
            request_id=request_id(),
        )
    except IBError as exc:
        db.rollback()
        return _bank_enterprise_page(
            request, db, scope, today, uscc, status_of(exc), error=exc.to_dict(), form=form
        )
    db.commit()
    response = RedirectResponse(f"/bank/enterprises/{loan_uscc(db, loan)}#loans", 303)
    return flash.flash(
        response,
        "flash.loan_registered",
        request.app.state.settings.cookie_secure,
        reference=loan.reference,
    )


def loan_uscc(db: Any, loan: Any) -> str:
    ent = db.get(Enterprise, loan.enterprise_id)
    return ent.uscc if ent is not None else ""
