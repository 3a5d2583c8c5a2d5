"""亩均论英雄 on the small demo city: the main job's hook, DuckDB–PySpark parity, explanations,
the ranking workbook, 清三低 lists, measures and the CLI through its real entry point."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.domains.mujun import demo_hook, lists, measures, report, service
from industry_brain.domains.mujun.explain import explain
from industry_brain.domains.mujun.models import MujunRun
from industry_brain.store.db import make_engine
from industry_brain.store.models import EnterpriseScale
from tests.cli_inproc import run_cli
from tests.shared_demo import small_demo

COUNTY_NAMES = ["吴兴区", "南浔区", "德清县", "长兴县", "安吉县"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    run, url, out = small_demo(tmp_path_factory, "mujun-demo")
    engine = make_engine(url)
    yield run, engine, url, out
    engine.dispose()


def _published(engine, year):
    with Session(engine) as s:
        run = service.published_run(s, year)
        return run.id, run.snapshot["path"], service.results_frame(s, run.id)


def test_demo_hook_summary_and_headline(demo):
    run, engine, _, _ = demo
    summary = run.services["mujun"]
    year = summary["year"]
    assert year == 2025 and set(summary["classes_by_county"]) == set(COUNTY_NAMES)
    with Session(engine) as s:
        runs = s.scalars(select(MujunRun).order_by(MujunRun.id)).all()
    assert [(r.year, r.status) for r in runs] == [(2024, "published"), (2025, "published")]
    counts = {
        cls: sum(c[scope][cls] for c in summary["classes_by_county"].values() for scope in c)
        for cls in "ABCDT"
    }
    assert sum(counts.values()) == summary["enterprises"]
    assert counts["T"] == summary["enterprises"] - summary["evaluated"]
    # quota classes: A ≈ 20 %, D ≈ 5 % plus one veto per county (demo records)
    assert 0.17 < counts["A"] / summary["evaluated"] < 0.23
    assert summary["adjustments_seeded"] > 0 and summary["qingsandi_total"] > 0
    assert Path(summary["workbook"]).exists() and Path(summary["lists_file"]).exists()
    lines = demo_hook.headline(summary)
    text = "\n".join(lines)
    for word in ("亩均评价 2025", "吴兴区", "清三低", "差别化政策", "万元", "workbook"):
        assert word in text
    assert json.dumps(summary)  # JSON-serialisable


def test_engines_give_identical_results_on_the_demo_city(demo):
    _, engine, _, _ = demo
    _run_id, snap, stored = _published(engine, 2025)
    with Session(engine) as s:
        adj = service.load_adjustments(s, [2025])
    duck = service.evaluate_snapshot(Path(snap), 2025, "duckdb", adj).results
    spark = service.evaluate_snapshot(Path(snap), 2025, "pyspark", adj).results
    assert len(duck) == len(spark) == len(stored) > 900
    pd.testing.assert_index_equal(duck.columns, spark.columns)
    for col in duck.columns:
        a, b = duck[col], spark[col]
        if a.dtype == "float64":
            np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-9, err_msg=col)
        else:
            assert (
                a.astype(object).where(a.notna(), None).tolist()
                == b.astype(object).where(b.notna(), None).tolist()
            ), col
    # and the stored run is this evaluation
    assert duck["class_code"].tolist() == stored["class_code"].tolist()
    assert (duck["class_code"] == "D").sum() > (duck["veto"]).sum() > 0


def test_explanation_in_chinese_and_english(demo):
    _, engine, _, _ = demo
    _, _, res = _published(engine, 2025)
    above = res[(res["scope"] == "above") & res["evaluated"] & ~res["veto"]]
    firm = above.sort_values("rank_county").iloc[0]
    with Session(engine) as s:
        zh = explain(s, firm["uscc"], 2025)
        en = explain(s, firm["uscc"], 2025, lang="en")
        vetoed = res[res["veto"]].iloc[0]["uscc"]
        veto = explain(s, vetoed, 2025)
        exempt = res[res["exempt_reason"] == "small_land"].iloc[0]["uscc"]
        small = explain(s, exempt, 2025, lang="en")
    tax = next(i for i in zh["items"] if i["indicator"] == "tax_per_mu")
    # the arithmetic the text shows is the arithmetic of the stored numbers
    assert tax["value"] == pytest.approx(firm["tax"] / firm["land_mu"])
    assert tax["raw_score"] == pytest.approx(tax["value"] / tax["benchmark"] * 30)
    assert tax["benchmark_rule"].startswith("上年本县") and tax["benchmark_n"] > 10
    assert zh["score"] == pytest.approx(firm["score"]) and zh["class_code"] == firm["class_code"]
    text = zh["text"]
    for part in ("一、输入数据", "亩均税收", "× 30 =", "基准值", "按名额分类", "第 1 名", "税务局"):
        assert part in text, part
    assert ".csv" in text or ".xlsx" in text  # lineage names the department files
    land = next(i for i in zh["inputs"] if i["column"] == "land_mu")
    assert land["lineage"][0]["used"][0]["source_dept"] == "natural_resources"
    assert "tax per mu" in en["text"] and "by quota" in en["text"] and "benchmark" in en["text"]
    assert "一票否决" in veto["text"] and veto["class_code"] == "D"
    assert "not evaluated" in small["text"] and small["class_code"] == "T"


def test_workbook_layout_and_content(demo):
    run, engine, _, _ = demo
    _, _, res = _published(engine, 2025)
    wb = load_workbook(run.services["mujun"]["workbook"])
    # one sheet per county (by GB/T 2260 code), then the summaries and the notes
    assert wb.sheetnames == [*COUNTY_NAMES, "汇总(区县)", "汇总(行业)", "说明"]
    ws = wb["吴兴区"]
    assert ws["A1"].value == "吴兴区 2025 年度工业企业亩均效益综合评价结果"
    header = [c.value for c in ws[5]]
    assert header[:6] == [
        "序号",
        "企业名称",
        "统一社会信用代码",
        "行业代码",
        "用地面积(亩)",
        "税收(万元)",
    ]
    assert "亩均税收(万元/亩)" in header and "综合得分" in header and "分类" in header
    first = dict(zip(header, [c.value for c in ws[6]], strict=True))
    county = res[(res["county_code"] == "330502") & (res["scope"] == "above") & res["evaluated"]]
    best = county.sort_values(["rank_county", "uscc"]).iloc[0]
    assert first["统一社会信用代码"] == best["uscc"] and first["县内排名"] == 1
    assert first["综合得分"] == pytest.approx(best["score"]) and first["分类"] == best["class_code"]
    assert first["亩均税收(万元/亩)"] == pytest.approx(best["tax"] / best["land_mu"])
    rows = [r for r in ws.iter_rows(min_row=6, values_only=True) if isinstance(r[0], int)]
    wuxing = res[res["county_code"] == "330502"]
    assert len(rows) == len(wuxing)
    # the note column names a capped item exactly for the evaluated firms with one capped
    run_id = _published(engine, 2025)[0]
    with Session(engine) as s:
        items = service.items_of(s, run_id, [int(e) for e in wuxing["enterprise_id"]])
    capped = items[items["capped"].astype(bool)]["enterprise_id"]
    evaluated = set(wuxing[wuxing["evaluated"]]["uscc"])
    capped_usccs = set(wuxing[wuxing["enterprise_id"].isin(capped)]["uscc"]) & evaluated
    noted = {r[2] for r in rows if r[-1] and "封顶" in r[-1]}
    assert noted == capped_usccs
    # and a filled missing item exactly for the evaluated firms with one
    filled = items[items["fill_rule"].notna()]["enterprise_id"]
    filled_usccs = set(wuxing[wuxing["enterprise_id"].isin(filled)]["uscc"]) & evaluated
    assert filled_usccs == {r[2] for r in rows if r[-1] and "缺失按" in r[-1]} != set()
    summary = wb["汇总(区县)"]
    table = {(r[0], r[1]): r for r in summary.iter_rows(min_row=3, values_only=True)}
    a_count = int(((wuxing["scope"] == "above") & (wuxing["class_code"] == "A")).sum())
    assert table[("吴兴区", "规上")][2] == a_count


def test_lists_follow_their_rules_and_export(demo, tmp_path):
    _, engine, _, _ = demo
    with Session(engine) as s:
        frame = lists.build(s, 2025)
        prev = service.results_frame(s, service.published_run(s, 2024).id)
    assert set(frame["category"]) == set(lists.CATEGORIES)
    by = frame.groupby("category")
    assert (by.get_group("low_contribution")["tax_per_mu"] < 6).all()
    assert (by.get_group("low_contribution")["scope"] == "above").all()
    assert (by.get_group("low_benefit")["tax_per_mu"] < 3).all()
    low_land = by.get_group("low_output_land")
    assert ((low_land["land_mu"] >= 10) & (low_land["scope"] == "below")).all()
    eff = by.get_group("low_efficiency")
    prev_class = prev.set_index("uscc")["class_code"]
    assert (eff["class_code"] == "D").all() and (eff["uscc"].map(prev_class) == "D").all()
    path = lists.export(frame, tmp_path / "lists.xlsx", 2025)
    wb = load_workbook(path)
    assert wb.sheetnames[0] == "汇总" and set(wb.sheetnames[1:]) <= set(COUNTY_NAMES)
    sheet = wb[wb.sheetnames[1]]
    assert [c.value for c in sheet[2]][-1] == "处置方式"
    assert sheet.data_validations.dataValidation[0].formula1.startswith('"追加投资')
    # every listed row on its county's sheet, the disposal list on each of them
    assert sum(wb[n].max_row - 2 for n in wb.sheetnames[1:]) == len(frame)
    col = sheet.cell(row=2, column=sheet.max_column).column_letter
    assert str(sheet.data_validations.dataValidation[0].sqref) == f"{col}3:{col}{sheet.max_row}"
    assert sheet.freeze_panes == "A3" and sheet["A1"].font.b and sheet["A2"].font.b
    csv = lists.export(frame, tmp_path / "lists.csv", 2025)
    assert len(pd.read_csv(csv, encoding="utf-8-sig")) == len(frame)


def test_measures_money(demo):
    _, engine, _, _ = demo
    with Session(engine) as s:
        frame = measures.compute(s, 2025)
        _, _, res = _published(engine, 2025)
    res = res.set_index("uscc")
    surcharge = frame[frame["lever"] == "electricity_surcharge"]
    assert set(surcharge["class_code"]) == {"D"} and (surcharge["apply_year"] == 2026).all()
    kwh = surcharge["uscc"].map(res["electricity_kwh"])
    # 苏府〔2018〕103号: +0.30 元/kWh from 2021 → money (万元) = 0.30 × kWh / 10000
    np.testing.assert_allclose(surcharge["money"], 0.30 * kwh / 10000)
    relief = frame[frame["lever"] == "land_use_tax_relief"]
    share = relief["class_code"].map({"A": 1.0, "B": 0.8})
    np.testing.assert_allclose(
        relief["money"], share * relief["uscc"].map(res["land_use_tax"]).fillna(0)
    )
    tot = measures.totals(frame)
    # totals are rounded to 4 decimals of 万元 (1 元)
    assert tot["total"]["electricity_surcharge"]["money_wan_yuan"] == pytest.approx(
        surcharge["money"].sum(), abs=5e-5
    )
    assert set(tot["priority"]["energy_quota_priority"]) == {
        "优先保障",
        "正常保障",
        "从严控制",
        "限制新增",
    }


def test_year_on_year_changes(demo):
    _, engine, _, _ = demo
    with Session(engine) as s:
        ch = report.changes(s, 2025)
    both = ch.dropna(subset=["score", "score_prev"])
    assert len(both) > 500
    np.testing.assert_allclose(both["score_change"], both["score"] - both["score_prev"])
    assert set(ch["movement"]) <= {"up", "down", "same", "new"} and (ch["movement"] == "up").any()


def _cli(url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``industry-brain mujun ARGS`` in process (tests/cli_inproc.py)."""
    proc = run_cli(["mujun", *args], {"IB_DATABASE_URL": url})
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_cli_evaluate_explain_report_lists(demo, tmp_path):
    _, _engine, url, _ = demo
    data = json.loads(_cli(url, "evaluate", "--year", "2025", "--json").stdout)
    assert isinstance(data, list) and len(data) > 900 and all("uscc" in r for r in data)
    firm = next(r for r in data if r["scope"] == "above" and r["evaluated"])
    assert set(firm["items"]) == {
        "tax_per_mu",
        "va_per_mu",
        "va_per_tce",
        "va_per_co2",  # 碳效 in 亩均: the Huzhou scheme (mujun.330500.yaml)
        "va_per_emission",
        "labour_productivity",
        "rd_ratio",
    }
    assert firm["class_code"] in "ABCD" and firm["previous"]["class_code"] is not None
    text = _cli(url, "explain", firm["uscc"], "--year", "2025", "--lang", "en").stdout
    assert "tax per mu" in text and firm["uscc"] in text
    out = tmp_path / "rank.xlsx"
    rep = json.loads(_cli(url, "report", "--year", "2025", "--out", str(out), "--json").stdout)
    assert rep["path"] == str(out) and out.exists() and "说明" in rep["sheets"]
    listed = json.loads(
        _cli(url, "lists", "--year", "2025", "--out", str(tmp_path / "l.xlsx"), "--json").stdout
    )
    assert listed["counts"] and listed["rows"] and (tmp_path / "l.xlsx").exists()
    money = json.loads(_cli(url, "measures", "--year", "2025", "--json").stdout)
    assert money["totals"]["total"]["electricity_surcharge"]["enterprises"] > 0
    only_a = json.loads(_cli(url, "results", "--year", "2025", "--class", "A", "--json").stdout)
    assert only_a and {r["class_code"] for r in only_a} == {"A"}


def test_cli_appeal_makes_a_new_published_run(demo):
    _, engine, url, _ = demo
    _, _, res = _published(engine, 2025)
    firm = res[(res["scope"] == "below") & res["evaluated"]].iloc[0]
    filed = json.loads(
        _cli(
            url,
            "appeal",
            "file",
            firm["uscc"],
            "--year",
            "2025",
            "--item",
            "tax_paid",
            "--claimed",
            str(round(firm["tax"] * 2, 4)),
            "--statement",
            "漏计 2025 年第四季度增值税",
            "--json",
        ).stdout
    )
    assert filed["disputed_value"] == pytest.approx(firm["tax"])
    decided = json.loads(
        _cli(
            url,
            "appeal",
            "decide",
            str(filed["id"]),
            "--reason",
            "核实完税凭证",
            "--by",
            "officer_wx",
            "--json",
        ).stdout
    )
    assert decided["status"] == "accepted" and decided["new_run_id"]
    runs = json.loads(_cli(url, "runs", "--year", "2025", "--json").stdout)
    assert runs[-1]["id"] == decided["new_run_id"] and runs[-1]["kind"] == "appeal"
    assert runs[-1]["status"] == "published" and runs[-2]["status"] == "superseded"
    _, _, after = _published(engine, 2025)
    row = after.set_index("uscc").loc[firm["uscc"]]
    assert row["tax"] == pytest.approx(round(firm["tax"] * 2, 4))
    assert row["score"] > firm["score"]
    listing = json.loads(_cli(url, "appeal", "list", "--year", "2025", "--json").stdout)
    assert listing[-1]["new_run_id"] == decided["new_run_id"]


def test_cli_errors_are_bilingual(demo):
    _, _, url, _ = demo
    proc = _cli(url, "explain", "91330502MA2B3C4D1X", "--year", "2025", check=False)
    assert proc.returncode == 2 and "校验码" in proc.stderr and "check character" in proc.stderr
    proc = _cli(url, "results", "--year", "2030", check=False)
    assert proc.returncode == 2 and "mujun.no_run" in proc.stderr
    assert "尚无" in proc.stderr and "no published" in proc.stderr


def test_demo_hook_holds_no_year_evaluation_while_it_evaluates_the_next(
    engine, tmp_path, monkeypatch
):
    """The main job's 亩均 step evaluates two years; the first year's evaluation (its frames:
    gigabytes at province scale) must be gone before the second starts, and the second's
    before the reports are written."""
    import gc
    import weakref

    from industry_brain.domains.mujun import demo_hook
    from industry_brain.domains.mujun import report as mujun_report
    from tests.web_fixtures import seed

    monkeypatch.setenv("IB_DATA_DIR", str(tmp_path / "data"))
    seed(engine)
    with Session(engine) as s:  # the year before too (an empty year is not evaluated at all)
        for row in s.scalars(select(EnterpriseScale).where(EnterpriseScale.year == 2024)).all():
            s.add(EnterpriseScale(enterprise_id=row.enterprise_id, year=2023, above_scale=True))
        s.commit()
    real = service.run
    evaluations: list[weakref.ref] = []
    alive: list[int] = []

    def watch() -> None:
        gc.collect()
        alive.append(sum(ref() is not None for ref in evaluations))

    def run(*args, **kwargs):  # service.run, watched
        watch()
        outcome, ev = real(*args, **kwargs)
        evaluations.append(weakref.ref(ev))
        return outcome, ev

    real_workbook = mujun_report.write_workbook

    def write_workbook(*args, **kwargs):  # the reports' first step, watched
        watch()
        return real_workbook(*args, **kwargs)

    monkeypatch.setattr(service, "run", run)
    monkeypatch.setattr(mujun_report, "write_workbook", write_workbook)
    summary = demo_hook.run(engine, tmp_path / "out", progress=lambda *_: None)
    assert "skipped" not in summary
    assert len(evaluations) == 2 and alive == [0, 0, 0]


def test_demo_hook_on_a_first_data_year_publishes_that_year_alone(engine, tmp_path, monkeypatch):
    """A store whose first data year is its latest (the web fixtures' 2024): the year before
    has no enterprise, so it is not evaluated (no empty run); the latest year is published
    and the summary says there is no previous run."""
    from tests.web_fixtures import seed

    monkeypatch.setenv("IB_DATA_DIR", str(tmp_path / "data"))
    seed(engine)
    summary = demo_hook.run(engine, tmp_path / "out", progress=lambda *_: None)
    assert summary["year"] == 2024 and summary["previous_run_id"] is None
    with Session(engine) as s:
        assert [r.year for r in s.scalars(select(MujunRun))] == [2024]
    assert set(summary["movements"]) == {"new"}  # nothing to compare with
