"""政策计算器 rules-as-code (issue 16): the grammar and its load errors, the shipped policies'
OpenFisca-style cases, regional parameters, banded formulas, stacking, rationing and "almost"."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import ibis
import pandas as pd
import pytest

from industry_brain.domains.policy import compute, definitions, testcases
from industry_brain.domains.policy.definitions import PolicyError
from industry_brain.domains.policy.grammar import GrammarError, parse

SHIPPED = definitions.load(reload=True)


@pytest.mark.parametrize("pid", sorted(SHIPPED))
def test_shipped_policy_cases(pid: str) -> None:
    results = testcases.run_policy(SHIPPED, pid)
    assert len(results) >= 3, f"{pid} needs its own cases"
    bad = [(r.name, r.problems) for r in results if not r.ok]
    assert bad == []


def test_a_wrong_expected_amount_fails_the_case() -> None:
    case = copy.deepcopy(testcases.load_cases(SHIPPED["zgsz_loan_interest"])[0])
    case["output"]["amount"] = 21
    result = testcases.run_case([SHIPPED["zgsz_loan_interest"]], case, "zgsz_loan_interest")
    assert not result.ok and result.problems == ["amount: expected 21, got 20.0"]


def test_shipped_values_carry_source_and_quality() -> None:
    for p in SHIPPED.values():
        assert p.spec.source and p.spec.quality
        for name, spec in p.params.items():
            if isinstance(spec, definitions.ParamRef):
                continue
            assert spec.source and spec.quality, (p.id, name)
    budget = SHIPPED["zgsz_loan_interest"].params["budget"]
    assert budget.quality == "DEFAULT"


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("facts.revenue >= ", 1, 15),
        ('__import__("os").system("x")', 1, 17),  # a call, then no attribute access
        ("facts.revenue > 1 and\n   bogus.x > 2", 2, 4),
        ("min(facts.revenue)", 1, 1),
    ],
)
def test_grammar_rejects_with_the_position(text: str, line: int, column: int) -> None:
    with pytest.raises(GrammarError) as err:
        parse(text)
    assert (err.value.line, err.value.column) == (line, column)


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(textwrap.dedent(text), "utf-8")


POLICY = """\
    id: demo_award
    title: {zh: 示例奖励, en: demo award}
    document: {zh: 示例文件, en: demo document}
    source: test
    quality: DEFAULT
    period: {since: 2020-01-01}
    conditions:
      - id: rd
        zh: 研发投入占比
        en: R&D ratio
        when: facts.rd_expense / facts.revenue >= param.min_rd
    amount:
      formula: band(param.bands, facts.revenue) + facts.rd_expense * param.rate
      cap: param.cap
    budget: budget
    rationing: {rule: RULE, by: facts.revenue}
    parameters:
      min_rd:
        {type: number, unit: ratio, source: t, quality: DEFAULT,
         values: [{since: 2020-01-01, value: 0.03}]}
      rate:
        {type: number, unit: ratio, source: t, quality: DEFAULT,
         values: [{since: 2020-01-01, value: 0.1}]}
      cap:
        {type: number, unit: 万元, source: t, quality: DEFAULT,
         values: [{since: 2020-01-01, value: 50}]}
      bands:
        {type: list, source: t, quality: DEFAULT,
         values: [{since: 2020-01-01, value: [[0, 0], [1000, 5], [5000, 10]]}]}
      budget:
        {type: number, unit: 万元, source: t, quality: DEFAULT,
         values: [{since: 2020-01-01, value: 1000}]}
"""


def test_a_malformed_condition_is_a_load_error_naming_file_key_and_position(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "demo_award.yaml",
        POLICY.replace("RULE", "pro_rata").replace(
            "when: facts.rd_expense / facts.revenue >= param.min_rd",
            "when: facts.rd_expense >= >= 1",
        ),
    )
    with pytest.raises(PolicyError) as err:
        definitions.load_dir(tmp_path)
    loc = err.value.location
    assert (loc.file, loc.field, loc.row, loc.column) == (
        "demo_award.yaml",
        "conditions[0].when",
        1,
        "21",
    )


def test_an_undeclared_parameter_and_an_override_of_an_unknown_one_are_load_errors(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        "demo_award.yaml",
        POLICY.replace("RULE", "pro_rata").replace("param.cap", "param.ceiling"),
    )
    with pytest.raises(PolicyError) as err:
        definitions.load_dir(tmp_path)
    assert err.value.location.field == "amount.cap" and "ceiling" in err.value.en
    _write(tmp_path, "demo_award.yaml", POLICY.replace("RULE", "pro_rata"))
    _write(
        tmp_path,
        "demo_award.330503.yaml",
        "parameters:\n  nope: {values: [{since: 2020-01-01, value: 1}]}\n",
    )
    with pytest.raises(PolicyError) as err:
        definitions.load_dir(tmp_path)
    assert (err.value.location.file, err.value.location.field) == (
        "demo_award.330503.yaml",
        "parameters.nope",
    )


def _inputs(revenue: list[float], rd: list[float], counties: list[str]) -> dict:
    n = len(revenue)
    ents = pd.DataFrame(
        {
            "enterprise_id": range(1, n + 1),
            "uscc": [f"U{i}" for i in range(n)],
            "name": [f"E{i}" for i in range(n)],
            "county_code": counties,
            "industry_code": ["3811"] * n,
            "division": ["38"] * n,
            "status": ["active"] * n,
        }
    )
    facts = pd.DataFrame(
        [
            {"enterprise_id": i + 1, "year": 2024, "item": "revenue", "value": float(r)}
            for i, r in enumerate(revenue)
        ]
        + [
            {"enterprise_id": i + 1, "year": 2024, "item": "rd_expense", "value": float(x)}
            for i, x in enumerate(rd)
        ]
    )
    scales = pd.DataFrame(
        {"enterprise_id": range(1, n + 1), "year": [2024] * n, "above_scale": [True] * n}
    )
    return compute.memtables({"enterprises": ents, "facts": facts, "scales": scales})


def _run(
    tmp_path: Path,
    rule: str,
    revenue: list[float],
    rd: list[float],
    counties: list[str] | None = None,
):
    _write(tmp_path, "demo_award.yaml", POLICY.replace("RULE", rule))
    policies = definitions.load_dir(tmp_path)
    counties = counties or ["330502"] * len(revenue)
    return compute.evaluate(
        ibis.duckdb.connect(),
        list(policies.values()),
        _inputs(revenue, rd, counties),
        2024,
        sorted(set(counties)),
        keep="all",
    )


def test_banded_amount_with_cap_and_the_trace(tmp_path: Path) -> None:
    # revenue 6000 → band 10; R&D 300 (5 %) × 10 % = 30 → 40.
    # revenue 2000 → band 5; 100 × 10 % → 15.
    # revenue 20000 → band 10; 1000 × 10 % = 100 → 110, capped at 50.
    # R&D 2.6 % fails (gap 0.4 point, 13 % of 3 %).
    ev = _run(tmp_path, "pro_rata", [6000, 2000, 20000, 10000], [300, 100, 1000, 260])
    got = {r["enterprise_id"]: (r["status"], r["paid"]) for r in ev.rows}
    assert got == {
        1: ("eligible", 40.0),
        2: ("eligible", 15.0),
        3: ("eligible", 50.0),
        4: ("no", None),
    }
    trace = next(r for r in ev.rows if r["enterprise_id"] == 3)["trace"]
    assert trace["amount"]["formula_value"] == pytest.approx(110.0)
    assert trace["amount"]["cap"] == 50.0
    cond = trace["conditions"][0]
    assert cond["result"] is True and cond["values"] == {
        "facts.rd_expense": 1000.0,
        "facts.revenue": 20000.0,
    }
    assert {p["name"]: p["value"] for p in trace["parameters"]}["min_rd"] == 0.03
    near = compute.almost(ev)
    assert [r["enterprise_id"] for r in near] == [4]
    assert near[0]["failing"][0]["gap"] == pytest.approx(0.004)  # 2.6 % vs 3 %


def test_a_regional_override_changes_the_amount_in_its_county_only(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "demo_award.330503.yaml",
        "parameters:\n  rate:\n    source: override\n    quality: DEFAULT\n"
        "    values: [{since: 2020-01-01, value: 0.2}]\n",
    )
    ev = _run(tmp_path, "pro_rata", [2000, 2000], [100, 100], ["330502", "330503"])
    assert {r["enterprise_id"]: r["paid"] for r in ev.rows} == {1: 15.0, 2: 25.0}
    region = {
        r["enterprise_id"]: {p["name"]: p["region"] for p in r["trace"]["parameters"]}["rate"]
        for r in ev.rows
    }
    assert region == {1: "base", 2: "330503"}


@pytest.mark.parametrize(
    ("rule", "paid"),
    [
        # eligible 40 + 15 + 50 = 105 against a budget of 70
        ("pro_rata", {1: 26.6666, 2: 10.0, 3: 33.3333}),  # × 70/105, rounded down to 1 元
        ("rank", {3: 50.0, 1: 20.0, 2: 0.0}),  # highest revenue first: 20000, 6000, 2000
        ("first_come", {2: 15.0, 1: 40.0, 3: 15.0}),  # lowest first
    ],
)
def test_the_budget_is_never_exceeded(tmp_path: Path, rule: str, paid: dict[int, float]) -> None:
    text = POLICY.replace("RULE", rule).replace("value: 1000}]}", "value: 70}]}")
    _write(tmp_path, "demo_award.yaml", text)
    policies = definitions.load_dir(tmp_path)
    ev = compute.evaluate(
        ibis.duckdb.connect(),
        list(policies.values()),
        _inputs([6000, 2000, 20000], [300, 100, 1000], ["330502"] * 3),
        2024,
        ["330502"],
    )
    assert {r["enterprise_id"]: r["paid"] for r in ev.rows} == pytest.approx(paid)
    assert sum(r["paid"] for r in ev.rows) <= 70.0
    info = ev.rationing["demo_award"]
    assert (
        info["applied"] and info["eligible_total"] == pytest.approx(105.0) and info["rule"] == rule
    )
    assert all(r["trace"]["rationing"]["applied"] for r in ev.rows)


def test_almost_names_the_gap_and_what_it_is_worth() -> None:
    # revenue 24,000 (band ≥ 20,000: 3 %), R&D 624 = 2.6 %: short by 0.4 point ≈ 96 万元 of R&D
    case_input = {
        "enterprise": {"above_scale": True},
        "facts": {"revenue": 24000, "rd_expense": 624},
    }
    tables = compute.memtables(testcases.frames(case_input, 2025))
    tables["result_projects"] = compute.memtables({"p": testcases.EMPTY_PROJECTS.copy()})["p"]
    policy = SHIPPED["rd_intensity_award"]
    ev = compute.evaluate(ibis.duckdb.connect(), [policy], tables, 2025, ["330502"], keep="all")
    near = compute.almost(ev)
    assert len(near) == 1
    failing = near[0]["failing"]
    assert [c["id"] for c in failing] == ["rd_ratio"]
    assert failing[0]["sides"] == {"op": ">=", "left": pytest.approx(0.026), "right": 0.03}
    assert failing[0]["gap"] == pytest.approx(0.004)
    assert failing[0]["gap_amount"] == pytest.approx(96.0)
