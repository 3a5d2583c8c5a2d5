"""Results as warehouse tables: every snapshot holds the services' published results
(``result_mujun``, ``result_carbon``, ``result_carbon_lines``, ``result_projects``) with run id
and parameter version, its manifest names the runs, the tables read the same on DuckDB and
PySpark, and a 亩均 run computed from the carbon results records them as inputs and explains the
carbon figure's own lineage — on SQLite and PostgreSQL.

Store: tests/web_fixtures.py (three enterprises, 2024) with the hand-made 亩均 and carbon runs of
tests/domain_fixtures.py, plus, written below: land, value added and 2023 revenue of each firm,
one fuel line of 甲's carbon result (raw coal 100 t × 1.9003 = 190.03 tCO2) and one project of
甲 with a red warning and a progress report.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.domains.carbon.models import CarbonResult, CarbonResultLine, CarbonRun
from industry_brain.domains.mujun import explain as mujun_explain
from industry_brain.domains.mujun import service as mujun_service
from industry_brain.domains.mujun.models import MujunResultItem, MujunRun
from industry_brain.domains.projects.models import ProgressReport, WarningSnapshot
from industry_brain.store.models import Enterprise, Fact, ImportBatch, Project
from industry_brain.warehouse import Snapshot, build_snapshot, connect
from tests.domain_fixtures import seed_domains
from tests.web_fixtures import USCC_NX, USCC_WX, USCC_XSS, seed

RESULT_TABLES = ("result_mujun", "result_carbon", "result_carbon_lines", "result_projects")
WARNING_DAY = date(2026, 11, 20)


def _store(engine: Engine) -> dict[str, int]:
    seed(engine)
    seed_domains(engine)
    with Session(engine) as s:
        ents = {e.uscc: e.id for e in s.scalars(select(Enterprise))}
        batch = s.scalars(select(ImportBatch)).first()
        assert batch is not None
        row = 100
        for uscc in (USCC_WX, USCC_NX, USCC_XSS):
            for year, item, value, unit in (
                (2024, "land_area", 10.0, "亩"),
                (2024, "value_added", 1000.0, "万元"),
                (2023, "revenue", 900.0, "万元"),
            ):
                row += 1
                s.add(
                    Fact(
                        enterprise_id=ents[uscc],
                        year=year,
                        month=0,
                        item=item,
                        detail="",
                        value=value,
                        unit=unit,
                        source_dept="statistics",
                        batch_id=batch.id,
                        sheet="Sheet1",
                        row=row,
                        column=item,
                        raw_value=str(value),
                    )
                )
        crun = s.scalars(select(CarbonRun)).one()
        wx = s.scalars(
            select(CarbonResult).where(CarbonResult.enterprise_id == ents[USCC_WX])
        ).one()
        wx.co2_coal, wx.e_energy, wx.electricity_kwh, wx.grid_factor = 190.03, 500.0, 564.1, 0.55
        wx.co2_electricity = 309.97
        s.add(
            CarbonResultLine(
                run_id=crun.id,
                enterprise_id=ents[USCC_WX],
                item="fuel.coal_raw",
                fuel_group="coal",
                quantity=100.0,
                unit="t",
                factor=1.9003,
                co2=190.03,
            )
        )
        project = Project(
            code="P-TEST-1",
            name="甲 新建智能车间",
            investor_uscc=USCC_WX,
            enterprise_id=ents[USCC_WX],
            county_code="330502",
            planned_investment=5000.0,
            stage="started",
        )
        s.add(project)
        s.flush()
        s.add(
            ProgressReport(
                project_id=project.id,
                report_date=date(2026, 10, 31),
                investment_completed=1200.0,
                actor="test",
            )
        )
        s.add(
            WarningSnapshot(
                snapshot_date=WARNING_DAY,
                project_id=project.id,
                kind="not_completed",
                colour="red",
                anchor="started",
                anchor_date=date(2025, 1, 1),
                deadline=date(2026, 6, 30),
                days_overdue=143,
                county_code="330502",
                params_version="p-test",
            )
        )
        s.commit()
        return {**ents, "carbon_run": crun.id, "project": project.id}


@pytest.fixture
def store(engine: Engine) -> dict[str, int]:
    return _store(engine)


def _read(snapshot: Path, engine: str, table: str) -> pd.DataFrame:
    con = connect(snapshot, engine, tables=(table,))
    frame = con.to_pyarrow(con.table(table)).to_pandas()
    keys = [c for c in ("year", "enterprise_id", "project_id", "item") if c in frame.columns]
    return frame.sort_values(keys).reset_index(drop=True)


def test_snapshot_publishes_the_results_with_their_runs(
    engine: Engine, store: dict[str, int], tmp_path: Path
) -> None:
    snap = build_snapshot(engine, tmp_path / "snap")
    for table in RESULT_TABLES:
        assert snap.table(table).exists(), table
    with Session(engine) as s:
        mujun_run = s.scalars(select(MujunRun)).one().id
    assert Snapshot.open(snap.path).runs == [
        {"service": "carbon", "run_id": store["carbon_run"], "year": 2024,
         "parameter_version": "test", "table": "result_carbon"},
        {"service": "mujun", "run_id": mujun_run, "year": 2024, "parameter_version": "test",
         "table": "result_mujun"},
        {"service": "projects", "run_id": 20261120, "year": 2026, "parameter_version": "p-test",
         "table": "result_projects"},
    ]  # fmt: skip
    mujun = _read(snap.path, "duckdb", "result_mujun").set_index("enterprise_id")
    assert mujun.loc[store[USCC_WX], ["class_code", "score", "rank_county"]].tolist() == [
        "A",
        92.5,
        1,
    ]
    assert set(mujun["run_id"]) == {mujun_run} and set(mujun["parameter_version"]) == {"test"}
    carbon = _read(snap.path, "duckdb", "result_carbon").set_index("enterprise_id")
    wx = carbon.loc[store[USCC_WX]]
    assert (wx["grade"], wx["level"], wx["k_value"], wx["co2_net"]) == (2, "低碳", 0.75, 500.0)
    assert pd.isna(carbon.loc[store[USCC_XSS], "grade"])  # not graded
    lines = _read(snap.path, "duckdb", "result_carbon_lines")
    assert lines[["item", "quantity", "factor", "co2"]].values.tolist() == [
        ["fuel.coal_raw", 100.0, 1.9003, 190.03]
    ]
    projects = _read(snap.path, "duckdb", "result_projects")
    cols = ["project_id", "enterprise_id", "stage", "warnings", "warning_colour"]
    assert projects[cols].values.tolist() == [
        [store["project"], store[USCC_WX], "started", 1, "red"]
    ]
    assert projects.loc[0, "investment_to_date"] == 1200.0
    assert snap.rows["result_mujun"] == 3 and snap.rows["result_projects"] == 1


@pytest.mark.slow
def test_result_tables_read_the_same_on_both_engines(
    engine: Engine, store: dict[str, int], tmp_path: Path
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the engines read the same Parquet whatever the store")
    snap = build_snapshot(engine, tmp_path / "snap")
    for table in RESULT_TABLES:
        duck, spark = _read(snap.path, "duckdb", table), _read(snap.path, "pyspark", table)
        assert len(duck) > 0, table
        pd.testing.assert_frame_equal(duck, spark, check_dtype=False, obj=table)


def test_mujun_run_reads_carbon_results_records_them_and_explains_their_lineage(
    engine: Engine, store: dict[str, int], tmp_path: Path
) -> None:
    outcome, ev = mujun_service.run(engine, 2024, snapshot_root=tmp_path / "snapshots")
    crun = store["carbon_run"]
    assert [r["run_id"] for r in ev.input_runs] == [crun]
    with Session(engine) as s:
        run = s.get(MujunRun, outcome.run_id)
        assert run is not None and run.status == "published"
        assert [(r["service"], r["run_id"]) for r in run.snapshot["input_runs"]] == [
            ("carbon", crun)
        ]
        co2 = s.scalars(
            select(MujunResultItem).where(
                MujunResultItem.run_id == run.id,
                MujunResultItem.enterprise_id == store[USCC_WX],
                MujunResultItem.indicator == "va_per_co2",
            )
        ).one()
        assert (co2.numerator, co2.denominator, co2.value) == (1000.0, 500.0, 2.0)
        zh = mujun_explain.explain(s, USCC_WX, 2024)
        en = mujun_explain.explain(s, USCC_WX, 2024, lang="en")
    text = zh["text"]
    assert "净碳排放量（碳效核算）: 500.0000 tCO2" in text
    assert f"碳效核算 批次 #{crun}" in text
    assert "fuel.coal_raw 100.0000 t × 1.9003 = 190.0300 tCO2" in text
    assert "电力 564.1000 kWh，电网排放因子 0.55 → 309.9700 tCO2" in text
    assert "净排放 500.0000 tCO2；碳效等级 2 级" in text
    assert f"碳效等级 2 级 +1（碳效批次 #{crun}）" in text
    assert "单位碳排放增加值" in text
    assert f"carbon accounting run #{crun}" in en["text"] and "grade 2" in en["text"]
    co2_input = next(i for i in zh["inputs"] if i["column"] == "co2_net")
    assert co2_input["result"]["lines"][0]["co2"] == 190.03


@pytest.mark.slow
def test_monitoring_figures_are_the_same_on_both_engines(tmp_path: Path) -> None:
    from industry_brain.domains.monitor.service import report
    from tests.test_monitor import YEAR, write_snapshot

    snap = write_snapshot(tmp_path / "snap")
    duck, spark = report(snap, YEAR, "duckdb"), report(snap, YEAR, "pyspark")
    for part in ("counties", "industries", "electricity", "electricity_city"):
        pd.testing.assert_frame_equal(
            pd.DataFrame(getattr(duck, part)),
            pd.DataFrame(getattr(spark, part)),
            check_dtype=False,
            obj=part,
        )
    assert duck.city.keys() == spark.city.keys()
    for key, value in duck.city.items():
        assert spark.city[key] == (None if value is None else pytest.approx(value)), key


def test_a_refresh_links_the_result_tables_whose_runs_did_not_change(
    engine: Engine, store: dict[str, int], tmp_path: Path
) -> None:
    """A snapshot beside another with no new run keeps the 亩均 and carbon tables' files (the
    same file on disk, not read again); ``result_projects`` is read again, since a project's
    live stage changes without a run. A new 亩均 run is published: the next refresh reads
    ``result_mujun`` again (its rows name the new run) and still links the carbon tables."""
    import os

    first = build_snapshot(engine, tmp_path / "snaps" / "one")
    second = build_snapshot(engine, tmp_path / "snaps" / "two")
    assert second.refreshed_from == str(first.path)
    fixed = ("result_mujun", "result_carbon", "result_carbon_lines")
    for table in fixed:
        assert os.path.samefile(second.table(table), first.table(table)), table
    assert not os.path.samefile(second.table("result_projects"), first.table("result_projects"))
    assert second.rows == first.rows and second.runs == first.runs
    assert second.result_keys == first.result_keys and set(first.result_keys) >= set(fixed)
    outcome, _ = mujun_service.run(engine, 2024, snapshot=second, actor="test")
    third = build_snapshot(engine, tmp_path / "snaps" / "three")
    assert third.refreshed_from == str(second.path)
    assert not os.path.samefile(third.table("result_mujun"), first.table("result_mujun"))
    assert set(_read(third.path, "duckdb", "result_mujun")["run_id"]) == {outcome.run_id}
    assert [r["run_id"] for r in third.runs_of("result_mujun")] == [outcome.run_id]
    for table in ("result_carbon", "result_carbon_lines"):
        assert os.path.samefile(third.table(table), first.table(table)), table
    full = build_snapshot(engine, tmp_path / "snaps" / "full", incremental=False)
    assert full.runs == third.runs and full.rows == third.rows
    for table in RESULT_TABLES:
        pd.testing.assert_frame_equal(
            _read(third.path, "duckdb", table), _read(full.path, "duckdb", table), obj=table
        )


def test_a_store_with_no_enterprise_yet_gives_an_empty_snapshot(
    engine: Engine, tmp_path: Path
) -> None:
    """A bureau's first snapshot may come before its first import: every table is there, empty,
    with its columns (it used to fail on the empty enterprises' industry codes)."""
    snap = build_snapshot(engine, tmp_path / "snap")
    assert snap.rows["enterprises"] == 0 and snap.rows["facts"] == 0
    ents = _read(snap.path, "duckdb", "enterprises")
    assert ents.empty and "division" in ents.columns
    facts = _read(snap.path, "duckdb", "facts")
    assert facts.empty and {"enterprise_id", "year", "item", "value"} <= set(facts.columns)


def test_a_result_column_of_text_objects_is_written_as_it_is(tmp_path: Path) -> None:
    """A result column of Python strings and missing values (``None``, NaN) is written as
    Parquet text without being normalised first; one holding anything else (an integer among
    the text) is not ready and would be normalised by ``_write_results``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from industry_brain.warehouse.snapshot import _arrow_ready, _write

    text = pd.Series(["2026-01-01", None, np.nan, "v1"], dtype=object)
    assert _arrow_ready(text, "string")
    assert _arrow_ready(pd.Series([None, None], dtype=object), "string")
    assert not _arrow_ready(pd.Series(["a", 1], dtype=object), "string")
    path = tmp_path / "t.parquet"
    _write(pd.DataFrame({"on_date": text}), path, pa.schema([("on_date", pa.string())]))
    assert pq.read_table(path)["on_date"].to_pylist() == ["2026-01-01", None, None, "v1"]
