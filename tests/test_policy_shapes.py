"""Policies that differ only in their parameter values share one compiled expression (what makes
the batch fast, issue 16's bench): their parameter-free subexpressions are computed once per
enterprise before the enterprises are crossed with the policies, and a list read by
``x in param.list`` becomes a bit mask. The results and traces must be those of each policy
compiled alone; amounts, "cannot tell" (a missing class, a missing 规上 flag) and "no" (a class
in no list) are computed here by hand."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from industry_brain.domains.policy import compute, definitions
from industry_brain.domains.policy import engine as eng
from industry_brain.warehouse import connect

YEAR = 2025
COUNTIES = ["330502"]
BANDS = [[0, 0.0], [1000, 2.0], [5000, 5.0]]


def _par(value: Any, typ: str) -> dict[str, Any]:
    return {
        "type": typ,
        "source": "test",
        "quality": "DEFAULT",
        "values": [{"since": "2020-01-01", "value": value}],
    }


def _doc(pid: str, conditions: list[dict[str, str]], amount: dict[str, str], params: dict) -> Any:
    return definitions.parse_policy(
        {
            "id": pid,
            "title": {"zh": pid, "en": pid},
            "document": {"zh": "测试", "en": "test"},
            "source": "test",
            "quality": "DEFAULT",
            "period": {"since": "2020-01-01"},
            "conditions": [{"zh": c["id"], "en": c["id"], **c} for c in conditions],
            "amount": amount,
            "parameters": params,
        },
        f"{pid}.yaml",
    )


def _rd(pid: str, classes: list[str], min_ratio: float, rate: float, cap: float) -> Any:
    return _doc(
        pid,
        [
            {"id": "class", "when": "mujun.class_code in param.classes"},
            {
                "id": "rd",
                "when": "coalesce(facts.rd_expense, 0) / facts.revenue >= param.min_ratio",
            },
        ],
        {
            "formula": "coalesce(facts.rd_expense, 0) * param.rate"
            " + band(param.bands, facts.revenue)",
            "cap": "param.cap",
        },
        {
            "classes": _par(classes, "list"),
            "min_ratio": _par(min_ratio, "number"),
            "rate": _par(rate, "number"),
            "cap": _par(cap, "number"),
            "bands": _par(BANDS, "list"),
        },
    )


def _award(pid: str, excluded: list[str], award: float) -> Any:
    return _doc(
        pid,
        [
            {"id": "class", "when": "mujun.class_code not in param.excluded"},
            {"id": "above", "when": "enterprise.above_scale == true"},
        ],
        {"formula": "param.award"},
        {"excluded": _par(excluded, "list"), "award": _par(award, "number")},
    )


POLICIES = [
    _rd("rd_a", ["A"], 0.02, 0.1, 50),
    _rd("rd_ab", ["A", "B"], 0.03, 0.2, 10),
    _rd("rd_bc", ["B", "C"], 0.01, 0.05, 100),
    _award("aw_d", ["D"], 10),
    _award("aw_cd", ["C", "D"], 20),
]

# enterprise: class, revenue, R&D, 规上 (None: no row — unknown)
FIRMS = {
    1: ("A", 1000.0, 50.0, True),
    2: ("B", 6000.0, 120.0, False),
    3: ("C", 200.0, 1.0, True),
    4: (None, 2000.0, 100.0, True),
    5: ("Z", None, 10.0, None),
}

# (policy, enterprise) → (status, amount), by hand
EXPECTED = {
    # class A, R&D ≥ 2 %; 50 × 0.1 + band(1000) = 2 → 7
    ("rd_a", 1): ("eligible", 7.0),
    ("rd_a", 2): ("no", None),
    ("rd_a", 3): ("no", None),
    ("rd_a", 4): ("unknown", None),  # no class: cannot tell
    ("rd_a", 5): ("no", None),  # class Z in no list: false whatever the unknown revenue
    # 50 × 0.2 + 2 = 12, capped at 10
    ("rd_ab", 1): ("eligible", 10.0),
    ("rd_ab", 2): ("no", None),  # 120 / 6000 = 2 % < 3 %
    ("rd_ab", 3): ("no", None),
    ("rd_ab", 4): ("unknown", None),
    ("rd_ab", 5): ("no", None),
    ("rd_bc", 1): ("no", None),
    # 120 × 0.05 + band(6000) = 5 → 11
    ("rd_bc", 2): ("eligible", 11.0),
    ("rd_bc", 3): ("no", None),  # 1 / 200 = 0.5 % < 1 %
    ("rd_bc", 4): ("unknown", None),
    ("rd_bc", 5): ("no", None),
    ("aw_d", 1): ("eligible", 10.0),
    ("aw_d", 2): ("no", None),  # not 规上
    ("aw_d", 3): ("eligible", 10.0),
    ("aw_d", 4): ("unknown", None),
    ("aw_d", 5): ("unknown", None),  # Z not excluded, 规上 unknown
    ("aw_cd", 1): ("eligible", 20.0),
    ("aw_cd", 2): ("no", None),
    ("aw_cd", 3): ("no", None),  # C excluded
    ("aw_cd", 4): ("unknown", None),
    ("aw_cd", 5): ("unknown", None),
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shapes")
    ids = list(FIRMS)
    pd.DataFrame(
        {
            "enterprise_id": ids,
            "uscc": [f"U{i}" for i in ids],
            "name": "x",
            "county_code": "330502",
            "industry_code": "3811",
            "status": "active",
            "division": "38",
        }
    ).to_parquet(root / "enterprises.parquet")
    pd.DataFrame(
        [
            {"enterprise_id": i, "year": YEAR, "above_scale": f[3]}
            for i, f in FIRMS.items()
            if f[3] is not None
        ]
    ).to_parquet(root / "scales.parquet")
    facts = [
        {"enterprise_id": i, "year": YEAR, "item": item, "value": v, "unit": "万元"}
        for i, f in FIRMS.items()
        for item, v in (("revenue", f[1]), ("rd_expense", f[2]))
        if v is not None
    ]
    pd.DataFrame(facts).assign(source_dept="stats").to_parquet(root / "facts.parquet")
    pd.DataFrame(
        [
            {"run_id": 1, "parameter_version": "v", "year": YEAR, "enterprise_id": i}
            | {"class_code": f[0]}
            for i, f in FIRMS.items()
            if f[0] is not None
        ]
    ).to_parquet(root / "result_mujun.parquet")
    return root


def _inputs(con: Any) -> dict[str, Any]:
    import ibis

    out = {t: con.table(t) for t in ("enterprises", "scales", "facts", "result_mujun")}
    out.update(
        compute.memtables(
            {
                "tax_types": pd.DataFrame(columns=list(eng.TAX_SCHEMA)),
                "loans": pd.DataFrame(columns=list(eng.LOAN_SCHEMA)),
            }
        )
    )
    out["result_projects"] = ibis.memtable(
        pd.DataFrame(
            {
                "enterprise_id": pd.Series([], dtype="int64"),
                "project_id": pd.Series([], dtype="int64"),
            }
        )
    )
    return out


def _con(warehouse: Path, engine: str) -> Any:
    return connect(warehouse, engine, tables=("enterprises", "scales", "facts", "result_mujun"))


@pytest.mark.parametrize("engine", ["duckdb", "pyspark"])
def test_shared_shapes_hand_computed(warehouse: Path, engine: str) -> None:
    # PySpark too: the masks are a bitwise AND there as well, the hoisted columns a persisted frame
    con = _con(warehouse, engine)
    ev = compute.evaluate(con, POLICIES, _inputs(con), YEAR, COUNTIES, keep="all")
    got = {(r["policy"], r["enterprise_id"]): (r["status"], r["amount"]) for r in ev.rows}
    assert got == EXPECTED
    # the trace keeps what the shared expression saw: the comparison's sides and the class
    row = next(r for r in ev.rows if (r["policy"], r["enterprise_id"]) == ("rd_ab", 2))
    rd = next(c for c in row["trace"]["conditions"] if c["id"] == "rd")
    assert rd["result"] is False
    assert rd["sides"] == {"op": ">=", "left": pytest.approx(0.02), "right": 0.03}
    assert rd["gap"] == pytest.approx(0.01)
    cls = next(c for c in row["trace"]["conditions"] if c["id"] == "class")
    assert cls == {**cls, "result": True, "values": {"mujun.class_code": "B"}}
    unknown = next(r for r in ev.rows if (r["policy"], r["enterprise_id"]) == ("aw_d", 5))
    assert [c["result"] for c in unknown["trace"]["conditions"]] == [True, None]


def test_shared_shapes_equal_each_policy_compiled_alone(warehouse: Path) -> None:
    con = _con(warehouse, "duckdb")
    inputs = _inputs(con)
    on = compute.apply_date(YEAR)
    shared = eng.compile_all(POLICIES, inputs, YEAR, on, COUNTIES, backend=con)
    # five policies, two shapes: two expressions, lists as masks, parameter-free parts hoisted
    assert len({id(c.table) for c in shared}) == 2
    sql = str(con.compile(eng.evaluate_expr(shared, keep="all")))
    assert "hoist__" in sql
    assert "contains" not in sql.lower()
    slots = eng.slot_counts(POLICIES)
    alone = [eng.policy_rows(p, inputs, YEAR, on, COUNTIES, slots) for p in POLICIES]
    assert len({id(c.table) for c in alone}) == len(POLICIES)
    keys = ["policy", "enterprise_id", "entity"]
    a = con.execute(eng.evaluate_expr(shared, keep="all")).drop(columns="policy_no")
    b = con.execute(eng.evaluate_expr(alone, keep="all")).drop(columns="policy_no")
    a = a.sort_values(keys).reset_index(drop=True)
    b = b.sort_values(keys).reset_index(drop=True)
    assert len(a) == len(POLICIES) * len(FIRMS)
    assert list(a.columns) == list(b.columns)
    for col in a.columns:
        for x, y in zip(a[col], b[col], strict=True):
            if isinstance(x, float) and isinstance(y, float):
                assert (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y), col
            else:
                assert (pd.isna(x) and pd.isna(y)) if pd.isna(x) or pd.isna(y) else x == y, col
