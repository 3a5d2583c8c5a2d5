"""工业运行监测 on a hand-made warehouse snapshot: every figure equals the computation written out
below (DuckDB here; the PySpark parity is in tests/test_results_warehouse.py).

Five enterprises (万元; kWh):

| id | county | industry | 规上 25 | VA 25 | VA 24 | output | revenue | profit | tax | 新产品产值 |
|---|---|---|---|---|---|---|---|---|---|---|
| 1 | 330502 | 3411 (34 equipment) | yes | 100 | 80 | 400 | 380 | 20 | 10 | 120 |
| 2 | 330502 | 2710 (27 high-tech, strategic) | yes | 200 | 160 | 600 | 610 | 50 | 30 | — |
| 3 | 330503 | 1711 (17 textiles) | yes | 50 | 55 | 300 | 290 | −5 | 4 | — |
| 4 | 330503 | 3825 (38 equipment, strategic 3825) | yes | 150 | — | 500 | 480 | 25 | 12 | 100 |
| 5 | 330503 | 1711 | no (规下) | 10 | 8 | 40 | — | — | — | — |

City (enterprises 1–4): VA 500, output 1800, revenue 1760, profit 90, tax 56.
Growth, same sample (1, 2, 3 reported VA in both years): 350 / 295 − 1 = 0.186440…
Shares of VA: equipment (1, 4) 250/500 = 0.5; high-tech (2) 200/500 = 0.4; strategic (2, 4)
350/500 = 0.7. 新产品产值率 over the reporters (1, 4): 220 / 900 = 0.2444…
330502: VA 300, growth 300/240 − 1 = 0.25, equipment 100/300, high-tech and strategic 200/300,
new-product rate 120/400 = 0.3. 330503: VA 200, growth 50/55 − 1 = −0.0909…, equipment and
strategic 150/200 = 0.75, high-tech 0, new-product rate 100/500 = 0.2.

Electricity (every enterprise with an account, 规下 included): 330502 (firm 1) 2024: Jan 1000,
Feb 1000, Mar 1200; 2025: Jan 1100, Feb 900 → Jan +10 %, Feb −10 %, YTD Feb 2000/2000 = 0 (March
is not reported in 2025, so it is no row). 330503 (firms 3 and 5) 2024: Jan 500 + 100, Feb 500;
2025: Jan 600 + 100, Feb 400 → Jan 700/600 − 1 = 1/6, Feb 400/500 − 1 = −0.2, YTD Feb
1100/1100 = 0. City Jan 1800/1600 − 1 = 0.125, Feb 1300/1500 − 1 = −2/15.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from industry_brain.domains.monitor import service
from industry_brain.domains.monitor.service import report
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.web_fixtures import login, seed

YEAR = 2025
APPROX = {"rel": 1e-12}


def write_snapshot(path: Path) -> Path:
    """The five enterprises above as a warehouse snapshot (Parquet + manifest)."""
    path.mkdir(parents=True, exist_ok=True)
    ents = pd.DataFrame(
        {
            "enterprise_id": [1, 2, 3, 4, 5],
            "uscc": [f"U{i}" for i in range(1, 6)],
            "name": [f"企业{i}" for i in range(1, 6)],
            "county_code": ["330502", "330502", "330503", "330503", "330503"],
            "industry_code": ["3411", "2710", "1711", "3825", "1711"],
            "status": ["active"] * 5,
        }
    )
    ents["division"] = ents["industry_code"].str.slice(0, 2)
    scales = pd.DataFrame(
        {
            "enterprise_id": [1, 2, 3, 4, 5, 1, 2, 3, 4, 5],
            "year": [2025] * 5 + [2024] * 5,
            "above_scale": [True, True, True, True, False, True, True, True, False, False],
        }
    )
    rows = []
    figures_2025 = {
        1: {"value_added": 100, "output_value": 400, "revenue": 380, "profit": 20, "tax_paid": 10},
        2: {"value_added": 200, "output_value": 600, "revenue": 610, "profit": 50, "tax_paid": 30},
        3: {"value_added": 50, "output_value": 300, "revenue": 290, "profit": -5, "tax_paid": 4},
        4: {"value_added": 150, "output_value": 500, "revenue": 480, "profit": 25, "tax_paid": 12},
        5: {"value_added": 10, "output_value": 40},
    }
    for eid, items in figures_2025.items():
        rows += [(eid, 2025, item, float(v)) for item, v in items.items()]
    rows += [(1, 2025, "new_product_output", 120.0), (4, 2025, "new_product_output", 100.0)]
    rows += [(1, 2024, "value_added", 80.0), (2, 2024, "value_added", 160.0)]
    rows += [(3, 2024, "value_added", 55.0), (5, 2024, "value_added", 8.0)]
    facts = pd.DataFrame(rows, columns=["enterprise_id", "year", "item", "value"])
    facts["unit"] = "万元"
    facts["source_dept"] = "statistics"
    power = pd.DataFrame(
        [
            (1, 2024, 1, 1000.0),
            (1, 2024, 2, 1000.0),
            (1, 2024, 3, 1200.0),
            (1, 2025, 1, 1100.0),
            (1, 2025, 2, 900.0),
            (3, 2024, 1, 500.0),
            (3, 2024, 2, 500.0),
            (3, 2025, 1, 600.0),
            (3, 2025, 2, 400.0),
            (5, 2024, 1, 100.0),
            (5, 2025, 1, 100.0),
        ],
        columns=["enterprise_id", "year", "month", "value"],
    )
    for name, frame in (
        ("enterprises", ents),
        ("scales", scales),
        ("facts", facts),
        ("electricity_monthly", power),
    ):
        frame.to_parquet(path / f"{name}.parquet", index=False)
    manifest = {"path": str(path), "rows": {}, "batch_ids": [], "created_at": "2026-01-05"}
    (path / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    return path


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_snapshot(tmp_path_factory.mktemp("monitor") / "snap")


def test_city_figures_equal_the_hand_computation(snapshot: Path) -> None:
    rep = report(snapshot, YEAR)
    c = rep.city
    assert c["enterprises"] == 4
    assert (c["value_added"], c["output_value"], c["revenue"]) == (500, 1800, 1760)
    assert (c["profit"], c["tax"]) == (90, 56)
    assert c["va_growth"] == pytest.approx(350 / 295 - 1, **APPROX)
    assert c["share_equipment"] == pytest.approx(0.5, **APPROX)
    assert c["share_high_tech"] == pytest.approx(0.4, **APPROX)
    assert c["share_strategic_emerging"] == pytest.approx(0.7, **APPROX)
    assert c["new_product_rate"] == pytest.approx(220 / 900, **APPROX)
    assert rep.to_dict()["growth_basis"] == "nominal"


def test_county_and_industry_figures(snapshot: Path) -> None:
    rep = report(snapshot, YEAR)
    wx, nx = rep.counties
    assert (wx["county_code"], wx["value_added"], wx["enterprises"]) == ("330502", 300, 2)
    assert wx["va_growth"] == pytest.approx(0.25, **APPROX)
    assert wx["share_equipment"] == pytest.approx(1 / 3, **APPROX)
    assert wx["share_high_tech"] == pytest.approx(2 / 3, **APPROX)
    assert wx["share_strategic_emerging"] == pytest.approx(2 / 3, **APPROX)
    assert wx["new_product_rate"] == pytest.approx(0.3, **APPROX)
    assert (nx["county_code"], nx["value_added"]) == ("330503", 200)
    assert nx["va_growth"] == pytest.approx(50 / 55 - 1, **APPROX)
    assert nx["share_equipment"] == pytest.approx(0.75, **APPROX)
    assert nx["share_high_tech"] == 0
    assert nx["new_product_rate"] == pytest.approx(0.2, **APPROX)
    by_key = {(r["county_code"], r["division"]): r for r in rep.industries}
    assert set(by_key) == {("330502", "34"), ("330502", "27"), ("330503", "17"), ("330503", "38")}
    assert by_key[("330503", "17")]["va_growth"] == pytest.approx(50 / 55 - 1, **APPROX)
    assert by_key[("330503", "38")]["va_growth"] is None  # no 2024 value added
    assert by_key[("330503", "17")]["new_product_rate"] is None  # not reported


def test_monthly_electricity_and_year_to_date(snapshot: Path) -> None:
    rep = report(snapshot, YEAR)
    rows = {(r["county_code"], r["month"]): r for r in rep.electricity}
    assert set(rows) == {("330502", 1), ("330502", 2), ("330503", 1), ("330503", 2)}
    assert rows[("330502", 1)]["growth"] == pytest.approx(0.1, **APPROX)
    assert rows[("330502", 2)]["growth"] == pytest.approx(-0.1, **APPROX)
    assert rows[("330502", 2)]["ytd"] == 2000 and rows[("330502", 2)]["ytd_growth"] == 0
    assert rows[("330503", 1)]["kwh"] == 700
    assert rows[("330503", 1)]["growth"] == pytest.approx(1 / 6, **APPROX)
    assert rows[("330503", 2)]["growth"] == pytest.approx(-0.2, **APPROX)
    assert rows[("330503", 2)]["ytd_growth"] == 0
    city = rep.electricity_city
    assert [r["month"] for r in city] == [1, 2]
    assert city[0]["growth"] == pytest.approx(0.125, **APPROX)
    assert city[1]["growth"] == pytest.approx(-2 / 15, **APPROX)


def test_one_county(snapshot: Path) -> None:
    rep = report(snapshot, YEAR, county="330503")
    assert [c["county_code"] for c in rep.counties] == ["330503"]
    assert rep.city["value_added"] == 200
    assert {r["county_code"] for r in rep.electricity} == {"330503"}


def test_headline_names_the_figures(snapshot: Path) -> None:
    lines = "\n".join(service.headline(report(snapshot, YEAR)))
    assert "规上工业增加值 500 万元" in lines and "+18.6%" in lines and "nominal" in lines
    assert "装备制造业 50.0%" in lines and "高新技术产业 40.0%" in lines
    assert "1–2 月累计" in lines and "新产品产值率 new-product output rate: 24.4%" in lines


def test_a_year_without_data_is_an_error(snapshot: Path) -> None:
    with pytest.raises(service.MonitorError) as exc:
        report(snapshot, 2019)
    assert exc.value.problem.code == "monitor.no_data"


# -- on a store: the page, its export and the CLI ------------------------------------------------
WEB_YEAR = 2024  # tests/web_fixtures.py: 2024 figures; 330502 has the two 规上 firms


@pytest.fixture
def app(engine: Engine):  # type: ignore[no-untyped-def]
    seed(engine)
    return create_app(Settings(), engine)


def _client(app, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app, base_url="https://testserver")
    login(c, username)
    return c


def _rows(html: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, table_id
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    ]


def test_page_shows_the_county_figures_in_both_languages(app) -> None:  # type: ignore[no-untyped-def]
    with _client(app, "admin") as c:
        page = c.get(f"/monitor?year={WEB_YEAR}")
        assert page.status_code == 200, page.text
        rows = _rows(page.text, "table-monitor-county")
        assert [r[:2] for r in rows] == [["吴兴区", "2"]]
        assert rows[0][4] == "24,691.20" and rows[0][7] == "643"  # 2 × 12,345.6 and 2 × 321.5
        assert "名义" in page.text and 'data-chart-json="chart-monitor-va"' in page.text
        assert 'href="/monitor"' in page.text  # the navigation names the service
        en = c.get(f"/monitor?year={WEB_YEAR}&lang=en")
        assert "Value added growth (nominal)" in en.text


def test_county_officer_sees_only_the_scope_county(app) -> None:  # type: ignore[no-untyped-def]
    with _client(app, "county_nx") as c:  # 南浔区 has no 规上 firm in the fixtures
        page = c.get(f"/monitor?year={WEB_YEAR}&county=330502")
        assert page.status_code == 200
        assert "没有规上企业数据" in page.text and "table-monitor-county" not in page.text
    with _client(app, "agent_wx") as c:
        assert c.get(f"/monitor?year={WEB_YEAR}").status_code == 403


def test_export_is_a_workbook_of_the_page_and_audited(app, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from industry_brain.store.models import AuditLog

    with _client(app, "county_wx") as c:
        resp = c.get(f"/monitor/{WEB_YEAR}.xlsx")
        assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.content))
    assert wb.sheetnames == ["区县", "行业", "用电"]
    ws = wb["区县"]
    assert [ws.cell(3, i).value for i in (1, 2, 3)] == ["330502", "吴兴区", 2]
    assert ws.cell(3, 6).value == pytest.approx(24691.2)
    with Session(engine) as s:
        actions = s.scalars(select(AuditLog.action)).all()
    assert any("export" in a for a in actions)


def test_cli_json_and_table(sqlite_engine: Engine, tmp_path: Path) -> None:
    seed(sqlite_engine)
    env = {**os.environ, "IB_DATABASE_URL": str(sqlite_engine.url), "COLUMNS": "200"}
    exe = Path(sys.executable).parent / "industry-brain"
    proc = subprocess.run(
        [str(exe), "monitor", "--year", str(WEB_YEAR), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["growth_basis"] == "nominal" and data["city"]["enterprises"] == 2
    assert data["counties"][0]["county_name"] == "吴兴区"
    assert data["city"]["output_value"] == pytest.approx(24691.2)
    bad = subprocess.run(
        [str(exe), "monitor", "--year", str(WEB_YEAR), "--county", "999999"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert bad.returncode == 2 and "monitor.county" in bad.stderr


def test_demo_hook_prints_the_headline_figures(sqlite_engine: Engine, tmp_path: Path) -> None:
    from industry_brain.domains.monitor import demo_hook

    seed(sqlite_engine)
    summary = demo_hook.run(sqlite_engine, tmp_path, lambda *_: None)
    lines = demo_hook.headline(summary)
    assert summary["year"] == WEB_YEAR and json.dumps(summary)
    assert lines[0].startswith("2024 年规上工业增加值") and "nominal growth" in lines[0]
    assert "工业总产值 output 24,691" in lines[1] and "税金 tax 643" in lines[1]


def test_the_report_is_computed_once_per_snapshot(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(engine)
    calls: list[tuple] = []
    real = service.report

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "report", counted)
    root = tmp_path / "snapshots"
    first = service.for_store(engine, WEB_YEAR, root=root)
    first.counties[0]["output_value"] = -1.0  # a caller's change stays its own
    again = service.for_store(engine, WEB_YEAR, root=root)
    assert len(calls) == 1
    assert again.counties[0]["output_value"] == pytest.approx(24691.2)  # 2 × 12,345.6
    assert again.names == {"330502": "吴兴区"}  # the shown counties' names only
    # another county, another entry (南浔区 has no 规上 firm: an error, not kept); a new
    # snapshot of the same store, computed again
    for _ in range(2):
        with pytest.raises(service.MonitorError):
            service.for_store(engine, WEB_YEAR, county="330503", root=root)
    assert len(calls) == 3
    fresh = service.for_store(engine, WEB_YEAR, root=root, fresh=True)
    assert len(calls) == 4 and fresh.snapshot["path"] != again.snapshot["path"]
    assert fresh.city == again.city
