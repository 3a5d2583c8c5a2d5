"""The policy service on the small demo city through the main job: the demo hook's headline,
the 亩均 land-use tax relief policy equal to `mujun measures` per enterprise, the stored run with
its inputs, the calculator (qualifies / what-if), a draft simulation and the CLI entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.domains.mujun import measures
from industry_brain.domains.policy import demo_hook, service
from industry_brain.domains.policy import simulate as sim
from industry_brain.domains.policy.models import PolicyLoan, PolicyPayout, PolicyResult, PolicyRun
from industry_brain.store.db import make_engine
from industry_brain.store.models import Enterprise, EnterpriseScale
from tests.shared_demo import small_demo

EXE = Path(sys.executable).parent / "industry-brain"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    run, url, out = small_demo(tmp_path_factory, "policy-demo")
    engine = make_engine(url)
    yield run, engine, url, out
    engine.dispose()


def test_demo_hook_headline_and_stored_run(demo) -> None:
    run, engine, _, _ = demo
    summary = run.services["policy"]
    assert summary["beneficiaries"] > 100 and summary["total"] > 0
    text = "\n".join(demo_hook.headline(summary))
    for word in ("政策计算器", "受益企业", "万元", "政策直兑", "mujun_land_use_tax_relief"):
        assert word in text
    assert json.dumps(summary)
    with Session(engine) as s:
        stored = s.get(PolicyRun, summary["run_id"])
        assert stored.kind == "run" and stored.input_batch_ids
        assert {r["table"] for r in stored.input_runs} >= {
            "result_mujun",
            "result_carbon",
            "result_tiers",
            "result_maturity",
        }
        n = s.query(PolicyResult).filter(PolicyResult.run_id == stored.id).count()
        paid = s.query(PolicyPayout).count()
        snap, year = Path(stored.snapshot["path"]), stored.year
    assert n >= summary["beneficiaries"] and paid == summary["redeemed"]["written"] > 0
    # the tiers and diagnosis services publish before the policy run (demo hook order): the
    # tier award is 20 / 30 / 100 per new 高新 / 专精特新 / 小巨人 of result_tiers, the 贯标
    # award 20 per certified (result_maturity) 规上 firm — recomputed from the snapshot
    tiers = pd.read_parquet(snap / "result_tiers.parquet")
    award = {"high_tech": 20.0, "zhuanjingtexin": 30.0, "little_giant": 100.0}
    new = tiers[(tiers["year"] == year) & tiers["new_tier"].isin(list(award))]
    assert summary["by_policy"]["hightech_zjtx_award"] == {
        "enterprises": len(new),
        "amount": pytest.approx(new["new_tier"].map(award).sum()),
    }
    assert len(new) > 0
    maturity = pd.read_parquet(snap / "result_maturity.parquet")
    scales = pd.read_parquet(snap / "scales.parquet")
    certified = set(
        maturity.loc[
            (maturity["year"] == year) & maturity["guanbiao_certified"].eq(True), "enterprise_id"
        ]
    ) & set(scales.loc[(scales["year"] == year) & scales["above_scale"], "enterprise_id"])
    assert summary["by_policy"]["lianghua_guanbiao_award"] == {
        "enterprises": len(certified),
        "amount": pytest.approx(20.0 * len(certified)),
    }


def test_land_use_tax_relief_equals_mujun_measures(demo) -> None:
    run, engine, _, _ = demo
    year = run.services["policy"]["year"]
    with Session(engine) as s:
        m = measures.compute(s, year)
        m = m[m["lever"] == "land_use_tax_relief"]
        want = dict(zip(m["uscc"], m["money"].round(6), strict=True))
        rows = s.execute(
            select(Enterprise.uscc, PolicyResult.paid)
            .join(Enterprise, Enterprise.id == PolicyResult.enterprise_id)
            .where(
                PolicyResult.run_id == run.services["policy"]["run_id"],
                PolicyResult.policy == "mujun_land_use_tax_relief",
                PolicyResult.status == "eligible",
            )
        ).all()
    got = {u: round(p, 6) for u, p in rows}
    assert len(want) > 100 and got == pytest.approx(want)


def test_calculator_what_if_and_simulation(demo, tmp_path: Path) -> None:
    run, engine, _, out = demo
    root = out / "data" / "snapshots"  # this module's copy of the store snapshots here
    year = run.services["policy"]["year"]
    with Session(engine) as s:  # an above-scale firm with the relief and no (demo) loan
        uscc = s.scalar(
            select(Enterprise.uscc)
            .join(PolicyResult, PolicyResult.enterprise_id == Enterprise.id)
            .join(EnterpriseScale, EnterpriseScale.enterprise_id == Enterprise.id)
            .where(
                PolicyResult.policy == "mujun_land_use_tax_relief",
                PolicyResult.paid > 1,
                EnterpriseScale.year == year,
                EnterpriseScale.above_scale.is_(True),
                Enterprise.id.not_in(select(PolicyLoan.enterprise_id)),
            )
            .limit(1)
        )
    base = service.explain(engine, uscc, root=root)
    assert any(r["policy"] == "mujun_land_use_tax_relief" for r in base["qualifies"])
    # the tiers service published result_tiers before the run: the tier award is known
    assert "hightech_zjtx_award" not in {r["policy"] for r in base["unknown"]}
    assert any(r["policy"] == "hightech_zjtx_award" for k in ("qualifies", "no") for r in base[k])
    assert not any(r["policy"] == "zgsz_loan_interest" for r in base["qualifies"])
    loan = {
        "amount": 1000.0,
        "rate": 0.045,
        "start_date": date(year, 1, 1),
        "end_date": date(year + 1, 1, 1),
        "purpose": "zgsz",
    }
    what = service.explain(engine, uscc, root=root, what_if={"loans": [loan]})
    added = [
        (r["entity"], r["paid"]) for r in what["qualifies"] if r["policy"] == "zgsz_loan_interest"
    ]
    assert added == [("loan:-1", pytest.approx(20.0))]  # 1000 × 2 % × 365 / 365
    assert what["total"] == pytest.approx(base["total"] + 20.0)
    with Session(engine) as s:  # nothing stored
        assert s.query(PolicyResult).filter(PolicyResult.entity == "loan:-1").count() == 0
    draft = Path(__file__).parents[1] / "src/industry_brain/domains/policy/parameters/policies"
    text = (
        (draft / "effective_investment_other.yaml")
        .read_text("utf-8")
        .replace("value: 500\n", "value: 1000000000\n")
    )
    path = tmp_path / "effective_investment_other.yaml"
    path.write_text(text, "utf-8")
    result = sim.simulate(engine, sim.load_draft(path), root=root)
    assert result["in_force_policy"] and result["beneficiaries"] == 0
    assert result["losers"] == result["baseline_beneficiaries"] > 0 and result["gainers"] == 0
    assert sim.export(result, tmp_path / "sim.xlsx").exists()


def test_cli_test_and_explain_json(demo) -> None:
    _, _, url, out = demo
    env = {**os.environ, "IB_DATABASE_URL": url, "IB_DATA_DIR": str(out / "data")}
    done = subprocess.run(
        [str(EXE), "policy", "test", "mujun_land_use_tax_relief", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["failed"] == 0 and data["passed"] == 5
    done = subprocess.run(
        [str(EXE), "policy", "list", "--json"], capture_output=True, text=True, env=env, timeout=120
    )
    assert len(json.loads(done.stdout)) == 9
