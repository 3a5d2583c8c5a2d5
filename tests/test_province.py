"""Province into the store (issue 21 point 1) at a reduced size: ``demo --scale province
--firms N`` writes department files, imports them through the real ingest path (COPY on
PostgreSQL) and runs the whole main job; the bench measures each phase's time and peak memory.

The full size (500,000 firms) is ``IB_BENCH_FIRMS=500000 python -m bench province``.
"""

from __future__ import annotations

import os

import pytest

from industry_brain.demo import SCALES, scale_of, use_firms
from industry_brain.mainjob import service_hooks

FIRMS = int(os.environ.get("IB_TEST_PROVINCE_FIRMS", "300"))


def test_firms_size_the_province_and_leave_other_scales_alone():
    # province proportions: 190,000 规上 of 500,000 active, 15,000 closed, 15,000 projects,
    # 200 enterprise users → at 1,000 firms: 380 规上, 620 规下, 30 closed, 30 projects, 5 users
    with use_firms(1000):
        sc = scale_of("province")
        assert (sc.above, sc.below, sc.closed, sc.projects, sc.enterprise_users, sc.files) == (
            380,
            620,
            30,
            30,
            5,
            True,
        )
        assert scale_of("city") == SCALES["city"] and scale_of("small").files
    assert scale_of("province") == SCALES["province"] and not SCALES["province"].files
    with use_firms(None):
        assert scale_of("province") == SCALES["province"]
    with pytest.raises(ValueError), use_firms(10):
        pass


@pytest.mark.postgres
def test_province_main_job_on_postgresql(pg_server, tmp_path):
    from bench.province import province

    url = pg_server.create_database(f"province_{os.getpid()}")
    out = province(FIRMS, url, tmp_path / "demo")
    run = out["run"]
    above = round(190_000 * FIRMS / 500_000)
    counts = run.manifest["counts"]
    assert (counts["above_scale"], counts["below_scale"]) == (above, FIRMS - above)
    # every department file went through the ingest path; the planted defects make some files
    # partial, none is rejected as a whole
    assert out["files"] == len(run.manifest["files"]) > 10
    assert set(out["statuses"]) <= {"committed", "partial"}
    assert 0 < out["import_rows"] - out["import_rows_loaded"] < out["import_rows"] // 20
    # the store holds the active and closed enterprises the registration file listed
    registration = [r for r in run.imports if r.kind == "registration"]
    assert out["enterprises"] == sum(r.enterprises_created for r in registration)
    assert out["enterprises"] >= FIRMS
    assert out["facts"] > 10 * FIRMS
    # the whole main job: every service's hook ran
    assert out["services"] == sorted(name for name, _ in service_hooks())
    names = [p["phase"] for p in out["phases"]]
    assert names[:3] == [
        "write department files",
        "import (ingest path)",
        "projects, users, summary",
    ]
    assert names[3:] == [f"service {name}" for name, _ in service_hooks()]
    assert all(p["peak_mb"] > 50 for p in out["phases"])  # measured: a Python process is > 50 MB

    # the snapshot bench on that store: a full build, then a correction of one enterprise's
    # tax (two tax types) refreshed: one enterprise re-read, one file of one year
    # written per table, the result tables fixed by their runs linked, not read again
    import pandas as pd
    from bench.snapshot import measure

    from industry_brain.store.db import make_engine

    engine = make_engine(url)
    try:
        snap = measure(engine, tmp_path / "snapshots")
    finally:
        engine.dispose()
    year = snap["correction"]["year"]
    assert snap["refreshed_enterprises"] == 1 and snap["rewritten_years"] == [year]
    assert snap["written_files"]["facts"] == [f"{year}-0000.parquet"]
    assert snap["written_files"]["electricity_monthly"] in ([], [f"{year}-0000.parquet"])
    fixed = {"result_mujun", "result_carbon", "result_carbon_lines", "result_tiers"}
    assert fixed <= set(snap["linked_results"]) and "result_projects" not in snap["linked_results"]
    assert snap["raw_facts"] >= snap["facts"] > 0 and snap["full"]["seconds"] > 0
    # the refresh equals a full build taken now, and the corrected figure changed
    from industry_brain.warehouse.snapshot import BY_YEAR, build_snapshot

    engine = make_engine(url)
    try:
        now = build_snapshot(engine, tmp_path / "snapshots" / "now", incremental=False)
    finally:
        engine.dispose()
    for table in BY_YEAR:
        pd.testing.assert_frame_equal(
            pd.read_parquet(f"{snap['paths']['refresh']}/{table}"),
            pd.read_parquet(now.table(table)),
        )
    ents = pd.read_parquet(now.table("enterprises")).set_index("uscc")["enterprise_id"]
    eid = ents[snap["correction"]["uscc"]]

    def tax(folder: str) -> float:
        facts = pd.read_parquet(f"{folder}/facts")
        row = facts[(facts["enterprise_id"] == eid) & (facts["year"] == year)]
        return float(row.set_index("item").loc["tax_paid", "value"])

    assert tax(str(now.path)) != tax(snap["paths"]["full"])


def test_cli_firms_only_for_a_province_of_at_least_100():
    from typer.testing import CliRunner

    from industry_brain.cli import app

    runner = CliRunner()
    city = runner.invoke(app, ["demo", "--scale", "city", "--firms", "500"])
    assert city.exit_code == 2 and "--scale province" in city.output
    tiny = runner.invoke(app, ["demo", "--scale", "province", "--firms", "50"])
    assert tiny.exit_code == 2 and "at least 100" in tiny.output
