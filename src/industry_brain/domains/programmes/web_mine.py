"""The participants' own pages of the programmes service (issue 19, points 6 and 7):

- ``/programmes/loans/mine`` (role enterprise, ``programmes.loans.mine``): the enterprise's own
  智能制造贷 / 智改数转 loans — bank, reference, product, purpose, amount, rate, period, state, the
  project financed (linked) — with the interest subsidy the policy service computed (its stored
  results, linked to their trace) or paid (its 政策直兑 ledger) on each, and the banks that hold
  its consent today (linked to the consent page); the read is audited;
- ``/programmes/loans/mine/{loan}/subsidy/{result}``: one stored result's trace;
- ``/programmes/events/mine`` (enterprise and provider, ``programmes.events.join``): upcoming and
  past 智造荟 events with the places left; register or cancel its own registration until the
  registration closes (within the capacity; audited, a confirmation after each), the matches
  that involve it and their outcome; a provider records the outcome of its own matches with
  the officers' rules (:func:`.events.set_outcome`).
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core.errors import ConflictError, IBError, Location, NotFoundError
from industry_brain.domains.programmes import diagnosis, events, loans
from industry_brain.domains.programmes.common import err
from industry_brain.domains.programmes.web import _done, _render, _today
from industry_brain.store import codes as store_codes
from industry_brain.store import scoped
from industry_brain.store.models import Enterprise
from industry_brain.store.scope import PermissionDenied, Scope
from industry_brain.web.deps import CsrfDep, DbDep, ScopeDep

router = APIRouter(include_in_schema=False)

Id = Annotated[int, PathParam(ge=1, lt=2**31)]

_market_providers = sa.table(
    "market_providers", sa.column("uscc", sa.String), sa.column("name", sa.String)
)


# -- the enterprise's loans ----------------------------------------------------------------------
@router.get("/programmes/loans/mine")
def my_loans(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    scope.require("programmes.loans.mine")
    today = _today(request)
    items = loans.own_loans(db, scope, today)
    banks = loans.consenting_banks(db, scope.enterprise_id, today) if scope.enterprise_id else []
    db.commit()  # the read is audited
    policies = {r["policy"] for it in items for r in it["subsidy"]["results"]}
    policies |= {p["policy"] for it in items for p in it["subsidy"]["payouts"]}
    return _render(
        request,
        "programmes_my_loans.html",
        {
            "loan_items": items,
            "banks": banks,
            "titles": loans.policy_titles(policies),
            "today": today.isoformat(),
            "total_wan": round(sum(it["amount_wan"] or 0.0 for it in items), 2),
            "paid_wan": round(sum(it["subsidy"]["paid_wan"] for it in items), 4),
        },
    )


@router.get("/programmes/loans/mine/{loan_id}/subsidy/{result_id}")
def my_subsidy(
    request: Request, db: DbDep, scope: ScopeDep, loan_id: Id, result_id: Id
) -> Response:
    scope.require("programmes.loans.mine")
    data = loans.own_subsidy_trace(db, scope, loan_id, result_id)
    db.commit()  # the read is audited
    return _render(
        request,
        "programmes_my_subsidy.html",
        {"r": data, "title": loans.policy_titles([data["policy"]])[data["policy"]]},
    )


# -- 智造荟 for the participants ------------------------------------------------------------
def _participant(db: Session, scope: Scope) -> dict[str, Any] | None:
    """Who the caller registers as: an enterprise its own firm, a provider its registry entry
    (None for a provider user not linked to the registry)."""
    scope.require("programmes.events.join")
    if scope.role == "enterprise":
        ent = db.get(Enterprise, scope.enterprise_id) if scope.enterprise_id else None
        if ent is None:
            return None
        return {
            "side": "enterprise",
            "uscc": ent.uscc,
            "name": ent.name,
            "county_code": ent.county_code,
            "clause": Enterprise.id == ent.id,
        }
    code = diagnosis.provider_uscc(db, scope)
    if code is None:
        return None
    name = db.scalar(select(_market_providers.c.name).where(_market_providers.c.uscc == code))
    return {"side": "provider", "uscc": code, "name": name, "county_code": None, "clause": None}


def _events_page(
    request: Request,
    db: Session,
    scope: Scope,
    status: int = 200,
    form_error: dict[str, Any] | None = None,
    form_name: str | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    who = _participant(db, scope)
    today = _today(request)
    view = (
        events.participant_view(
            db, who["uscc"], who["side"], who["county_code"], store_codes.jurisdiction(), today
        )
        if who
        else {"upcoming": [], "past": []}
    )
    shown = view["upcoming"] + view["past"]
    return _render(
        request,
        "programmes_my_events.html",
        {
            "who": who,
            "view": view,
            "county_names": scoped.region_names(db, (e["county_code"] for e in shown)),
            "industry_names": scoped.industry_names(db, (e["industry_code"] for e in shown)),
            "outcomes": events.OUTCOMES,
            "today": today.isoformat(),
            "form_error": form_error,
            "form_name": form_name,
            "form": form or {},
        },
        status,
    )


def _events_failed(
    request: Request,
    db: Session,
    scope: Scope,
    exc: IBError,
    which: str,
    form: dict[str, Any] | None = None,
) -> Response:
    db.rollback()
    if isinstance(exc, PermissionDenied) or (
        isinstance(exc, NotFoundError) and exc.code in ("programmes.event", "programmes.match")
    ):
        raise exc
    status = 409 if isinstance(exc, ConflictError) else 400
    return _events_page(request, db, scope, status, exc.to_dict(), which, form)


def _unlinked() -> NotFoundError:
    return NotFoundError(
        "programmes.participant",
        "当前账号未关联企业或服务商",
        "this account acts for no enterprise or provider",
        Location(field="event"),
    )


@router.get("/programmes/events/mine")
def my_events(request: Request, db: DbDep, scope: ScopeDep) -> Response:
    return _events_page(request, db, scope)


@router.post("/programmes/events/mine/{event_id}/register")
def my_register(
    request: Request, db: DbDep, scope: ScopeDep, _csrf: CsrfDep, event_id: Id
) -> Response:
    who = _participant(db, scope)
    if who is None:
        raise _unlinked()
    try:
        events.join(
            db,
            event_id,
            who["side"],
            who["uscc"],
            who["name"],
            store_codes.jurisdiction(),
            _today(request),
            scope.username,
            clause=who["clause"],
            county_code=who["county_code"],
        )
        theme = events.event_theme(db, event_id)
    except IBError as exc:
        return _events_failed(request, db, scope, exc, f"event-{event_id}")
    db.commit()
    return _done(request, "/programmes/events/mine", "flash.programme_event_joined", name=theme)


@router.post("/programmes/events/mine/{event_id}/cancel")
def my_cancel(
    request: Request, db: DbDep, scope: ScopeDep, _csrf: CsrfDep, event_id: Id
) -> Response:
    who = _participant(db, scope)
    if who is None:
        raise _unlinked()
    try:
        events.cancel(
            db, event_id, who["uscc"], store_codes.jurisdiction(), _today(request), scope.username
        )
        theme = events.event_theme(db, event_id)
    except IBError as exc:
        return _events_failed(request, db, scope, exc, f"event-{event_id}")
    db.commit()
    return _done(request, "/programmes/events/mine", "flash.programme_event_cancelled", name=theme)


@router.post("/programmes/events/mine/matches/{match_id}/outcome")
def my_outcome(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    match_id: Id,
    outcome: Annotated[str, Form(max_length=16)] = "",
    amount: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """A provider records the outcome of one of its own matches (the officers' rules)."""
    who = _participant(db, scope)
    if who is None or who["side"] != "provider":
        raise PermissionDenied(
            "programmes.provider_only",
            "只有对接的服务商可以登记对接结果",
            "only the match's provider records its outcome",
            Location(field="match"),
        )
    form = {"outcome": outcome, "amount": amount}
    try:
        value = None
        if amount.strip():
            try:
                value = float(amount.replace(",", "").strip())
            except ValueError as exc:
                raise err(
                    "number", f"“{amount}”不是数字", f"'{amount}' is not a number", "amount", amount
                ) from exc
        events.provider_outcome(db, match_id, who["uscc"], outcome, value, scope.username)
    except IBError as exc:
        return _events_failed(request, db, scope, exc, f"outcome-{match_id}", form)
    db.commit()
    return _done(request, "/programmes/events/mine", "flash.programme_event_outcome")
