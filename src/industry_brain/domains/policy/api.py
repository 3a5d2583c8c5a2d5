"""JSON API of the 政策计算器 (``/api/v1/policy``), on the platform's API (same tokens, same
error shape ``{code, zh, en, request_id}``, same scope as the web calculator):

- ``GET /api/v1/policy/enterprises/{uscc}`` — what the enterprise qualifies for and how much,
  what it *almost* qualifies for (the failing conditions with their gap), what cannot be told
  yet (an input nobody publishes), stacked and not eligible; ``?year=`` of another data year.
- ``POST /api/v1/policy/enterprises/{uscc}/what-if`` — the same answer with inputs changed in the
  request body (figures of the year, loans); nothing is stored.

An enterprise user sees only its own USCC, a bank none (404 ``enterprise.not_found``, as for any
enterprise outside the caller's scope); officers their county or city. Every call is audited
(``policy.calculate``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from industry_brain.core.errors import Location, ValidationError
from industry_brain.domains.policy import definitions, service
from industry_brain.store import audit, scoped
from industry_brain.web.deps import CsrfDep, DbDep, ScopeDep
from industry_brain.web.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/policy", tags=["policy 政策计算器"], responses=ERROR_RESPONSES)


def what_if_facts() -> list[str]:
    """The figures a what-if may change: the ``facts.*`` the policies in the catalogue read."""
    return sorted(
        {
            r.split(".", 1)[1]
            for p in definitions.load().values()
            for e in p.exprs.values()
            for r in e.refs
            if r.startswith("facts.")
        }
    )


USCC = Annotated[str, Path(min_length=18, max_length=18, pattern="^[0-9A-Z]{18}$")]


class Condition(BaseModel):
    id: str
    zh: str
    en: str
    when: str
    result: bool | None
    values: dict[str, Any]
    sides: dict[str, Any] | None = None
    gap: float | None = Field(None, description="how far the figure is from the threshold")
    gap_amount: float | None = Field(None, description="the gap in money (万元), when known")
    unpublished: list[str] | None = None


class Item(BaseModel):
    policy: str
    title_zh: str
    title_en: str
    entity: str = Field(description="'' for the enterprise, 'project:N' or 'loan:N'")
    status: str = Field(description="eligible | almost | unknown | stacked | no")
    amount: float | None = Field(description="万元; negative for a charge")
    paid: float | None = Field(description="after the budget's rationing rule (万元)")
    conditions: list[Condition]
    failing: list[Condition] = Field(description="the conditions not met (almost, no)")
    trace: dict[str, Any] = Field(description="formula with numbers, parameters, stacking")


class Answer(BaseModel):
    uscc: str
    name: str
    year: int
    on: date = Field(description="policies and parameters in force on this date")
    what_if: bool
    total: float = Field(description="万元 the enterprise qualifies for")
    qualifies: list[Item]
    almost: list[Item]
    unknown: list[Item]
    stacked: list[Item]
    no: list[Item]


class Loan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: float = Field(gt=0, le=1e7, description="万元")
    rate: float = Field(ge=0, le=1, description="annual rate, 0.045 = 4.5 %")
    start_date: date
    end_date: date
    purpose: str = Field("zgsz", max_length=16, pattern="^[a-z_]+$")


class WhatIf(BaseModel):
    model_config = ConfigDict(extra="forbid")
    facts: dict[str, float] = Field(
        default_factory=dict,
        description="figures of the year replaced (万元), those the policies read "
        "(facts.rd_expense, facts.revenue, …)",
    )
    loans: list[Loan] | None = Field(
        None, max_length=20, description="loans added to the enterprise's own"
    )


def _item(row: dict[str, Any], status: str) -> Item:
    trace = dict(row.get("trace") or {})
    conditions = [Condition(**c) for c in trace.pop("conditions", [])]
    return Item(
        policy=row["policy"],
        title_zh=row["title_zh"],
        title_en=row["title_en"],
        entity=row["entity"],
        status=status,
        amount=row["amount"],
        paid=row.get("paid"),
        conditions=conditions,
        failing=[c for c in conditions if c.result is not True]
        if status in ("almost", "no")
        else [],
        trace=trace,
    )


def _answer(
    request: Request, db: Any, scope: Any, uscc: str, year: int | None, what_if: dict[str, Any]
) -> Answer:
    ent = scoped.visible_enterprise(db, scope, uscc)
    raw = service.explain(
        request.app.state.engine, ent.uscc, year, what_if=what_if or None, session=db
    )
    audit.record(
        db,
        scope.username,
        "policy.calculate",
        "enterprise",
        ent.uscc,
        {"what_if": bool(what_if), "api": True},
        user_id=scope.user_id,
    )
    db.commit()
    return Answer(
        uscc=ent.uscc,
        name=ent.name,
        year=raw["year"],
        on=date.fromisoformat(raw["on"]),
        what_if=bool(what_if),
        total=raw["total"],
        **{
            k: [_item(r, "eligible" if k == "qualifies" else k) for r in raw[k]]
            for k in ("qualifies", "almost", "unknown", "stacked", "no")
        },
    )


@router.get(
    "/enterprises/{uscc}",
    response_model=Answer,
    summary="政策计算器: what an enterprise qualifies for, almost, cannot tell",
)
def calculate(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    uscc: USCC,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="data year")] = None,
) -> Answer:
    return _answer(request, db, scope, uscc, year, {})


@router.post(
    "/enterprises/{uscc}/what-if",
    response_model=Answer,
    summary="政策计算器 with changed inputs (nothing stored)",
)
def what_if(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    _csrf: CsrfDep,
    uscc: USCC,
    body: WhatIf,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="data year")] = None,
) -> Answer:
    allowed = what_if_facts()
    unknown = sorted(set(body.facts) - set(allowed))
    if unknown:
        raise ValidationError(
            "policy.what_if",
            f"不能修改的数据项：{unknown[0]}（可改：{'、'.join(allowed)}）",
            f"not a figure a what-if may change: {unknown[0]} (one of {', '.join(allowed)})",
            Location(field=f"facts.{unknown[0]}"),
        )
    for ln in body.loans or []:
        if ln.end_date <= ln.start_date:
            raise ValidationError(
                "policy.what_if",
                "贷款到期日应晚于起始日",
                "a loan must end after it starts",
                Location(field="loans"),
            )
    change: dict[str, Any] = {}
    if body.facts:
        change["facts"] = dict(body.facts)
    if body.loans is not None:
        change["loans"] = [ln.model_dump() for ln in body.loans]
    return _answer(request, db, scope, uscc, year, change)
