"""Draft-policy simulation (政策模拟): evaluate a draft (a new policy, or a shipped one with
changed conditions or parameters) over the whole base before publishing — beneficiaries, cost
against the budget, distribution by county, industry and size, and the enterprises that gain or
lose against the policies in force. Nothing is stored; the comparison is exportable."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from industry_brain.core import exports
from industry_brain.domains.policy import compute, definitions, service


def load_draft(path: Path) -> definitions.Policy:
    """A draft policy file (same format as ``parameters/policies/<id>.yaml``)."""
    try:
        raw = yaml.safe_load(Path(path).read_text("utf-8"))
    except yaml.YAMLError as exc:
        raise definitions.PolicyError(
            "policy.invalid", f"草案不是合法 YAML：{exc}", f"the draft is not valid YAML: {exc}"
        ) from exc
    return definitions.parse_policy(raw, Path(path).name)


def _per_enterprise(ev: compute.Evaluation, pid: str) -> dict[int, float]:
    out: dict[int, float] = defaultdict(float)
    for r in ev.rows:
        if r["policy"] == pid and r["status"] == "eligible":
            out[r["enterprise_id"]] += r["paid"] or 0.0
    return dict(out)


def simulate(
    engine: Engine, draft: definitions.Policy, year: int | None = None, root: Path | None = None
) -> dict[str, Any]:
    """The draft against the policy in force with the same id (or nothing, for a new one)."""
    snap = service.current_snapshot(engine, root)
    year = year if year is not None else service.latest_year(snap)
    shipped = compute.in_force(definitions.load(), year)
    base_policy = next((p for p in shipped if p.id == draft.id), None)
    others = [
        p
        for p in shipped
        if p.id != draft.id
        and p.spec.stacking
        and draft.spec.stacking
        and p.spec.stacking.group == draft.spec.stacking.group
    ]
    with Session(engine) as session:
        # amounts and statuses only: a simulation shows no trace
        reform = service.evaluate_snapshot(
            snap, session, year, policies=[draft, *others], trace=False
        )
        base = (
            service.evaluate_snapshot(
                snap, session, year, policies=[base_policy, *others], trace=False
            )
            if base_policy
            else None
        )
    after = _per_enterprise(reform, draft.id)
    before = _per_enterprise(base, draft.id) if base else {}
    ents = pd.read_parquet(snap.table("enterprises"))
    scales = pd.read_parquet(snap.table("scales"))
    above = set(scales[(scales["year"] == year) & scales["above_scale"]]["enterprise_id"])
    info = ents.set_index("enterprise_id")
    rows = []
    for eid in sorted(set(after) | set(before)):
        a, b = after.get(eid, 0.0), before.get(eid, 0.0)
        rows.append(
            {
                "enterprise_id": eid,
                "uscc": info.at[eid, "uscc"],
                "name": info.at[eid, "name"],
                "county_code": info.at[eid, "county_code"],
                "division": info.at[eid, "division"],
                "size": "above" if eid in above else "below",
                "before": round(b, 4),
                "after": round(a, 4),
                "change": round(a - b, 4),
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "enterprise_id",
            "uscc",
            "name",
            "county_code",
            "division",
            "size",
            "before",
            "after",
            "change",
        ],
    )
    budget = reform.rationing.get(draft.id, {}).get("budget")

    def dist(col: str) -> list[dict[str, Any]]:
        if frame.empty:
            return []
        g = frame[frame["after"] > 0].groupby(col)
        return [
            {col: str(k), "enterprises": len(v), "amount": round(float(v["after"].sum()), 4)}
            for k, v in g
        ]

    return {
        "policy": draft.id,
        "year": year,
        "in_force_policy": base_policy is not None,
        "beneficiaries": int((frame["after"] > 0).sum()) if not frame.empty else 0,
        "cost": round(float(frame["after"].sum()), 4) if not frame.empty else 0.0,
        "eligible_total": reform.rationing.get(draft.id, {}).get("eligible_total"),
        "budget": budget,
        "rationing": reform.rationing.get(draft.id),
        "baseline_beneficiaries": int((frame["before"] > 0).sum()) if not frame.empty else 0,
        "baseline_cost": round(float(frame["before"].sum()), 4) if not frame.empty else 0.0,
        "gainers": int((frame["change"] > 1e-9).sum()) if not frame.empty else 0,
        "losers": int((frame["change"] < -1e-9).sum()) if not frame.empty else 0,
        "by_county": dist("county_code"),
        "by_industry": dist("division"),
        "by_size": dist("size"),
        "unknown": sum(
            1 for r in reform.rows if r["policy"] == draft.id and r["status"] == "unknown"
        ),
        "enterprises": frame.to_dict("records"),
    }


def export(result: dict[str, Any], path: Path) -> Path:
    """The simulation as XLSX: summary, distributions, gainers and losers."""
    wb = exports.workbook()
    ws = wb.active
    ws.title = exports.sheet_title("模拟汇总")
    for key in (
        "policy",
        "year",
        "beneficiaries",
        "cost",
        "budget",
        "baseline_beneficiaries",
        "baseline_cost",
        "gainers",
        "losers",
        "unknown",
    ):
        exports.append(ws, [key, result.get(key)])
    for name, key in (("按区县", "by_county"), ("按行业", "by_industry"), ("按规模", "by_size")):
        w = wb.create_sheet(exports.sheet_title(name))
        rows = result[key]
        if rows:
            exports.append(w, list(rows[0]))
            for r in rows:
                exports.append(w, list(r.values()))
    w = wb.create_sheet(exports.sheet_title("企业增减"))
    cols = ["uscc", "name", "county_code", "division", "size", "before", "after", "change"]
    exports.append(w, cols)
    for r in result["enterprises"]:
        if abs(r["change"]) > 1e-9:
            exports.append(w, [r[c] for c in cols])
    return exports.save(wb, path)
