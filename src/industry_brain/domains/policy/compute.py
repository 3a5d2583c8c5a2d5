"""Evaluate policies on warehouse inputs: the batch (every enterprise × every policy in force),
one enterprise (qualifies / almost / cannot tell), the budget rationing rule and the totals."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from industry_brain.core import parameters as core_params
from industry_brain.domains.policy import engine as eng
from industry_brain.domains.policy.definitions import Policy, PolicyError
from industry_brain.warehouse.engines import fetch


def apply_date(year: int) -> date:
    """Policies and parameters for data ``year`` are those in force on 1 January of the
    application year (``policy.apply_year_offset`` later)."""
    offset = int(core_params.load().get("policy.apply_year_offset", on=date(year, 1, 1)))
    return date(year + offset, 1, 1)


def in_force(policies: dict[str, Policy], year: int) -> list[Policy]:
    on = apply_date(year)
    return [p for _, p in sorted(policies.items()) if p.in_force(on)]


@dataclass
class Evaluation:
    """The decoded rows of one evaluation and what it was computed with."""

    year: int
    on: date
    rows: list[dict[str, Any]]
    policies: list[Policy]
    rationing: dict[str, dict[str, Any]] = field(default_factory=dict)

    def totals(self) -> dict[str, Any]:
        paid = [r for r in self.rows if r["status"] == "eligible" and r["paid"]]
        by_policy: dict[str, dict[str, Any]] = {}
        for r in paid:
            t = by_policy.setdefault(r["policy"], {"enterprises": set(), "amount": 0.0})
            t["enterprises"].add(r["enterprise_id"])
            t["amount"] += r["paid"]
        benefits = [r for r in paid if r["paid"] > 0]
        return {
            "beneficiaries": len({r["enterprise_id"] for r in benefits}),
            "total": round(sum(r["paid"] for r in benefits), 4),
            "unknown": sum(1 for r in self.rows if r["status"] == "unknown"),
            "by_policy": {
                k: {"enterprises": len(v["enterprises"]), "amount": round(v["amount"], 4)}
                for k, v in sorted(by_policy.items())
            },
        }


def memtables(frames: dict[str, pd.DataFrame]) -> dict[str, ir.Table]:
    """Ibis in-memory tables of pandas frames (loans and tax types with their fixed schema)."""
    out = {}
    for name, frame in frames.items():
        schema = {"loans": eng.LOAN_SCHEMA, "tax_types": eng.TAX_SCHEMA}.get(name)
        if schema is not None:
            frame = frame.reindex(columns=list(schema))
            out[name] = ibis.memtable(frame, schema=schema)
        else:
            t = ibis.memtable(frame)
            nulls = {c: "string" for c, typ in t.schema().items() if typ.is_null()}
            out[name] = ibis.memtable(frame, schema={**dict(t.schema()), **nulls}) if nulls else t
    return out


def evaluate(
    con: Any,
    policies: list[Policy],
    inputs: dict[str, ir.Table],
    year: int,
    counties: list[str],
    keep: str = "candidates",
    enterprise_id: int | None = None,
    trace: bool = True,
) -> Evaluation:
    """Compile, execute once on ``con`` and decode; then ration each policy's budget.
    ``trace=False``: amounts and statuses only, no trace (rows carry ``trace: None``) — what a
    simulation over the whole base needs, in a smaller query."""
    on = apply_date(year)
    if not policies:
        return Evaluation(year, on, [], [])
    compiled = eng.compile_all(
        policies,
        inputs,
        year,
        on,
        counties,
        backend=con if enterprise_id is None else None,
        trace=trace,
    )
    expr = eng.evaluate_expr(compiled, keep, enterprise_id, numbered=True)
    # through Arrow (``execute()`` converts every column once more; Spark writes Parquet)
    frame = eng.order(eng.named(fetch(con, expr), compiled))
    rows = eng.decode(frame, compiled)
    ev = Evaluation(year, on, rows, policies)
    ration(ev)
    return ev


def _budget(policy: Policy, on: date) -> float | None:
    if policy.spec.budget is None:
        return None
    return float(policy.resolve(policy.spec.budget, policy.spec.region, on).value)


def ration(ev: Evaluation) -> None:
    """Pay each eligible row; when a policy's eligible amounts exceed its budget, apply its
    rationing rule (pro rata; by rank — highest ``by`` first; first come — lowest ``by``
    first) so the total paid never exceeds the budget, and say so in the trace."""
    by_policy: dict[str, list[dict[str, Any]]] = {}
    for r in ev.rows:
        r["paid"] = r["amount"] if r["status"] == "eligible" else None
        if r["status"] == "eligible":
            by_policy.setdefault(r["policy"], []).append(r)
    for p in ev.policies:
        rows = by_policy.get(p.id, [])
        budget = _budget(p, ev.on)
        total = sum(r["amount"] or 0.0 for r in rows)
        info: dict[str, Any] = {
            "budget": budget,
            "eligible_total": round(total, 6),
            "rule": p.spec.rationing.rule,
            "applied": False,
        }
        if budget is not None and total > budget + 1e-9 and p.spec.kind == "benefit":
            info["applied"] = True
            rule = p.spec.rationing.rule
            if rule == "pro_rata":
                factor = budget / total
                info["factor"] = factor
                for r in rows:
                    r["paid"] = math.floor((r["amount"] or 0.0) * factor * 10000) / 10000
            else:
                key = (
                    (lambda r: (-(r["rank_by"] or 0.0), r["enterprise_id"], r["entity"]))
                    if rule == "rank"
                    else (
                        lambda r: (
                            r["rank_by"] if r["rank_by"] is not None else math.inf,
                            r["enterprise_id"],
                            r["entity"],
                        )
                    )
                )
                left = budget
                for r in sorted(rows, key=key):
                    pay = min(r["amount"] or 0.0, max(left, 0.0))
                    r["paid"] = round(pay, 6)
                    left -= pay
        ev.rationing[p.id] = info
        for r in rows:
            if r["trace"] is not None:
                r["trace"]["rationing"] = {**info, "paid": r["paid"]}


def almost(
    ev: Evaluation, max_failing: int | None = None, relative_gap: float | None = None
) -> list[dict[str, Any]]:
    """Rows that fail only comparisons with a small gap: ``max_failing`` failing conditions at
    most, each with ``gap ÷ threshold ≤ relative_gap`` (parameters ``policy.almost.*``)."""
    params = core_params.load()
    max_failing = (
        max_failing
        if max_failing is not None
        else int(params.get("policy.almost.max_failing", on=ev.on))
    )
    relative_gap = (
        relative_gap
        if relative_gap is not None
        else float(params.get("policy.almost.relative_gap", on=ev.on))
    )
    out = []
    for r in ev.rows:
        if r["status"] != "no":
            continue
        failing = [c for c in r["trace"]["conditions"] if c["result"] is not True]
        if not failing or len(failing) > max_failing:
            continue
        if all(
            c["result"] is False
            and "gap" in c
            and c["sides"]["right"]
            and abs(c["gap"]) <= relative_gap * abs(c["sides"]["right"])
            for c in failing
        ):
            out.append({**r, "failing": failing})
    return out


def check_counties(counties: list[str]) -> list[str]:
    return sorted({c for c in counties if isinstance(c, str) and c})


def error(code: str, zh: str, en: str) -> PolicyError:
    return PolicyError(code, zh, en)
