"""五企培育 ↔ 政策: a plan's support policies show the policy's title and what the firm qualifies
for in the policy service's published batch (result_policy, read through the contract), with a
link to the firm's policy calculator; the 创新评动力 score of result_tiers can be used in a
policy condition and formula (a tiny test policy YAML; golden by hand)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.domains.policy import compute, definitions
from industry_brain.domains.policy import service as policy_service
from industry_brain.domains.tiers import plans
from industry_brain.domains.tiers.publish import SCHEMA as TIERS_SCHEMA
from industry_brain.store.models import Enterprise, Fact, ImportBatch
from tests.test_policy_batch import YEAR as POLICY_YEAR
from tests.test_policy_batch import _extra, _snapshot
from tests.test_tiers import run as tiers_run
from tests.test_tiers import with_rd
from tests.web_fixtures import USCC_WX, seed


def test_plan_support_policies_read_result_policy(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    with Session(engine) as s:
        wx = s.scalars(select(Enterprise).where(Enterprise.uscc == USCC_WX)).one()
        batch = s.scalars(select(ImportBatch)).first()
        assert batch is not None
        # 甲: R&D 300 of revenue 4 000 万元 = 7.5 % ≥ 5 % → 研发投入奖励 300 × 5 % = 15 万元
        for row, (item, value) in enumerate((("rd_expense", 300.0), ("revenue", 4000.0)), 50):
            s.add(
                Fact(enterprise_id=wx.id, year=2024, month=0, item=item, detail="", value=value,
                     unit="万元", source_dept="statistics", batch_id=batch.id, sheet="Sheet1",
                     row=row, column=item, raw_value=str(value))
            )  # fmt: skip
        plan = plans.create_plan(
            s, wx, "冠军领航计划", date(2025, 1, 1), date(2026, 12, 31), "city", "little_giant",
            actions=[
                {"title": "研发投入", "owner_kind": "enterprise", "owner": "企业",
                 "due_date": date(2025, 6, 30), "policy_code": "rd_intensity_award"},
                {"title": "认定", "owner_kind": "department", "owner": "市经信局",
                 "due_date": date(2025, 6, 30), "policy_code": "hightech_zjtx_award"},
                {"title": "其他", "owner_kind": "department", "owner": "市经信局",
                 "due_date": date(2025, 6, 30), "policy_code": "no_such_policy"},
            ],
        )  # fmt: skip
        s.commit()
        before = plans.plan_view(s, plan, date(2025, 3, 1))["policies"]
        assert before["rd_intensity_award"]["status"] == "not_run"
        assert before["rd_intensity_award"]["title_zh"] == "研发投入奖励"
    policy_service.run(engine, year=2024, root=tmp_path / "snapshots", fresh=True)
    with Session(engine) as s:
        plan = s.merge(plan)
        got = plans.plan_view(s, plan, date(2025, 3, 1))["policies"]
    rd = got["rd_intensity_award"]
    assert (rd["status"], rd["amount"], rd["year"]) == ("eligible", pytest.approx(15.0), 2024)
    assert rd["link"] == f"/policy/calculator?uscc={USCC_WX}"
    # result_tiers is not published in this store: the tier award cannot be told
    assert got["hightech_zjtx_award"]["status"] == "unknown"
    assert got["hightech_zjtx_award"]["amount"] is None
    # an unknown code keeps its code as the title and is not eligible in the run
    assert (got["no_such_policy"]["title_zh"], got["no_such_policy"]["status"]) == (
        "no_such_policy",
        "no",
    )


INNOVATION_POLICY = """
id: innovation_award_test
title: {zh: 创新评动力奖励（测试）, en: innovation score award (test)}
document: {zh: 测试用政策, en: a test policy}
source: test [DEFAULT]
quality: DEFAULT
region: null
target: enterprise
kind: benefit
period: {since: 2021-01-01}
conditions:
  - id: score
    zh: 创新评动力得分不低于 15
    en: innovation score at least 15
    when: tier.innovation_score >= 15
amount:
  zh: 得分 × 0.5 万元
  en: score × 0.5 (10k yuan)
  formula: tier.innovation_score * 0.5
"""


def test_a_policy_condition_reads_the_innovation_score(tmp_path: Path) -> None:
    # the tiers evaluation of test_tiers.test_innovation_score_percentiles_by_hand: scores
    # 0, 15, 40 and 0 for firms 1–4 (R&D 1 %, 2 %, 3 % + 高新, unknown)
    firms = [
        with_rd(10),
        with_rd(20),
        {**with_rd(30), "titles": [("high_tech", 2023, date(2026, 12, 31))]},
        {"county": "330503", "facts": {"employees": {2024: 10}}},
    ]
    levels = tiers_run(firms).levels.sort_values("enterprise_id")
    assert list(levels["innovation_score"]) == [0, 15, 40, 0]
    snap = _snapshot(tmp_path / "snap")  # enterprises 1–4 of the policy batch test
    rows = [
        {
            "run_id": 5,
            "parameter_version": "v",
            "year": POLICY_YEAR,
            "enterprise_id": int(r["enterprise_id"]),
            "status": r["status"],
            "innovation_score": r["innovation_score"],
        }
        for r in levels.to_dict(orient="records")
    ]
    kinds = {"int64": "Int64", "float64": "float64", "string": "object"}
    frame = pd.DataFrame([{c: r.get(c) for c, _ in TIERS_SCHEMA} for r in rows])
    frame.astype({c: kinds[k] for c, k in TIERS_SCHEMA}).to_parquet(
        snap.path / "result_tiers.parquet"
    )
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "innovation_award_test.yaml").write_text(INNOVATION_POLICY, "utf-8")
    policies = compute.in_force(definitions.load_dir(folder), POLICY_YEAR)
    con = policy_service.snapshot_con(snap, "duckdb")
    ins = policy_service.inputs(con, snap, _extra())
    ev = compute.evaluate(con, policies, ins, POLICY_YEAR, policy_service.counties_of(snap))
    got = {r["enterprise_id"]: (r["status"], r["amount"]) for r in ev.rows}
    # 15 ≥ 15 (the edge) → 7.5; 40 → 20; 0 → no (not kept as a candidate)
    assert got == {2: ("eligible", pytest.approx(7.5)), 3: ("eligible", pytest.approx(20.0))}
