"""OpenFisca-style test cases beside each policy (``<id>.tests.yaml``): a list of cases with
``name``, ``period`` (the data year), ``input`` (one enterprise: ``enterprise``, ``facts``,
``taxes``, ``mujun``, ``carbon``, ``tier``, ``maturity`` as mappings; ``projects`` and ``loans``
as lists) and ``output`` (``status`` and ``amount`` of the enterprise — the sum of what it is
paid — ``entities`` by entity key, ``conditions`` by id). A result table not given in the input
is not published, so references to it read as unknown. Run by pytest and by
``industry-brain policy test [ID]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd
import yaml

from industry_brain.domains.policy import compute
from industry_brain.domains.policy.definitions import Policy, PolicyError

EID = 1
TOLERANCE = 1e-6
EMPTY_PROJECTS = pd.DataFrame(
    {
        "year": pd.Series([], dtype="int64"),
        "project_id": pd.Series([], dtype="int64"),
        "enterprise_id": pd.Series([], dtype="int64"),
        "stage": pd.Series([], dtype="object"),
        "investment_to_date": pd.Series([], dtype="float64"),
        "industry_code": pd.Series([], dtype="object"),
        "county_code": pd.Series([], dtype="object"),
    }
)


@dataclass
class CaseResult:
    policy: str
    name: str
    ok: bool
    problems: list[str]
    got: dict[str, Any]


def frames(case_input: dict[str, Any], year: int) -> dict[str, pd.DataFrame]:
    """The warehouse tables of a one-enterprise case."""
    ent = {
        "enterprise_id": EID,
        "uscc": "91330500TEST00001X",
        "name": "测试企业",
        "county_code": "330502",
        "industry_code": "3811",
        "status": "active",
    }
    ent.update(
        {k: v for k, v in (case_input.get("enterprise") or {}).items() if k != "above_scale"}
    )
    ent["division"] = str(ent["industry_code"])[:2]
    out: dict[str, pd.DataFrame] = {"enterprises": pd.DataFrame([ent])}
    above = (case_input.get("enterprise") or {}).get("above_scale")
    out["scales"] = pd.DataFrame(
        [{"enterprise_id": EID, "year": year, "above_scale": bool(above)}]
        if above is not None
        else [],
        columns=["enterprise_id", "year", "above_scale"],
    ).astype({"enterprise_id": "int64", "year": "int64", "above_scale": "bool"})
    out["facts"] = pd.DataFrame(
        [
            {"enterprise_id": EID, "year": year, "item": k, "value": float(v)}
            for k, v in (case_input.get("facts") or {}).items()
        ],
        columns=["enterprise_id", "year", "item", "value"],
    ).astype({"enterprise_id": "int64", "year": "int64", "item": "object", "value": "float64"})
    from industry_brain.domains.policy.engine import TAX_TYPES

    out["tax_types"] = pd.DataFrame(
        [
            {"enterprise_id": EID, "year": year, "tax_type": TAX_TYPES[k], "value": float(v)}
            for k, v in (case_input.get("taxes") or {}).items()
        ]
    )
    for ns in ("mujun", "carbon", "tier", "maturity"):
        if ns in case_input:
            table = {
                "mujun": "result_mujun",
                "carbon": "result_carbon",
                "tier": "result_tiers",
                "maturity": "result_maturity",
            }[ns]
            out[table] = pd.DataFrame([{"year": year, "enterprise_id": EID, **case_input[ns]}])
    projects = [
        {
            "year": year,
            "enterprise_id": EID,
            "industry_code": ent["industry_code"],
            "county_code": ent["county_code"],
            **p,
        }
        for p in case_input.get("projects") or []
    ]
    if projects or "projects" in case_input:
        out["result_projects"] = pd.DataFrame(projects) if projects else EMPTY_PROJECTS.copy()
    out["loans"] = pd.DataFrame(
        [{"enterprise_id": EID, **loan} for loan in case_input.get("loans") or []]
    )
    return out


def run_case(policies: list[Policy], case: dict[str, Any], main: str) -> CaseResult:
    """Evaluate one case on DuckDB over in-memory tables and compare with its output."""
    year = int(case["period"])
    tables = compute.memtables(frames(case.get("input") or {}, year))
    if "result_projects" not in tables:
        tables["result_projects"] = compute.memtables({"p": EMPTY_PROJECTS.copy()})["p"]
    county = str((case.get("input") or {}).get("enterprise", {}).get("county_code", "330502"))
    ev = compute.evaluate(ibis.duckdb.connect(), policies, tables, year, [county], keep="all")
    rows = [r for r in ev.rows if r["policy"] == main]
    want = case.get("output") or {}
    problems: list[str] = []
    paid = sum(r["paid"] or 0.0 for r in rows)
    statuses = {r["status"] for r in rows}
    status = (
        "eligible"
        if "eligible" in statuses
        else "stacked"
        if "stacked" in statuses
        else "unknown"
        if "unknown" in statuses
        else "no"
    )
    got: dict[str, Any] = {
        "status": status,
        "amount": round(paid, 6),
        "entities": {r["entity"]: {"status": r["status"], "amount": r["paid"]} for r in rows},
    }
    if "status" in want and want["status"] != status:
        problems.append(f"status: expected {want['status']}, got {status}")
    if "amount" in want and not math.isclose(paid, float(want["amount"]), abs_tol=TOLERANCE):
        problems.append(f"amount: expected {want['amount']}, got {round(paid, 6)}")
    for entity, exp in (want.get("entities") or {}).items():
        match = [r for r in rows if r["entity"] == entity]
        if not match:
            problems.append(f"entity {entity}: no row")
            continue
        r = match[0]
        if "status" in exp and exp["status"] != r["status"]:
            problems.append(f"entity {entity} status: expected {exp['status']}, got {r['status']}")
        if "amount" in exp and not math.isclose(
            r["paid"] or 0.0, float(exp["amount"]), abs_tol=TOLERANCE
        ):
            problems.append(f"entity {entity} amount: expected {exp['amount']}, got {r['paid']}")
    for cid, exp in (want.get("conditions") or {}).items():
        seen = {c["id"]: c["result"] for r in rows[:1] for c in r["trace"]["conditions"]}
        if cid not in seen:
            problems.append(f"condition {cid}: unknown id")
        elif seen[cid] != exp:
            problems.append(f"condition {cid}: expected {exp}, got {seen[cid]}")
    return CaseResult(main, str(case.get("name")), not problems, problems, got)


def load_cases(policy: Policy) -> list[dict[str, Any]]:
    if policy.tests_file is None:
        return []
    data = yaml.safe_load(policy.tests_file.read_text("utf-8")) or []
    if not isinstance(data, list):
        raise PolicyError(
            "policy.tests",
            f"{policy.tests_file.name} 应为用例列表",
            f"{policy.tests_file.name} must be a list of cases",
        )
    for i, case in enumerate(data):
        if not isinstance(case, dict) or not {"name", "period", "output"} <= set(case):
            raise PolicyError(
                "policy.tests",
                f"{policy.tests_file.name} 第 {i + 1} 个用例缺少 name/period/output",
                f"{policy.tests_file.name} case {i + 1} needs name, period and output",
            )
    return data


def run_policy(policies: dict[str, Policy], pid: str) -> list[CaseResult]:
    """Every case of policy ``pid`` (evaluated with the policies it names in ``with``)."""
    policy = policies[pid]
    out = []
    for case in load_cases(policy):
        others = [policies[o] for o in case.get("with") or []]
        out.append(run_case([policy, *others], case, pid))
    return out
