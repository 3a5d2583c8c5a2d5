"""``industry-brain tiers …`` in process (Typer's runner, SQLite): import a list, declare by the
XLSX template, verification refused without evidence, evaluate, explain with the gaps, funnel,
pool and plan with a frozen ``--today``, warnings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from openpyxl import load_workbook
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.domains.tiers.models import TiersDeclarationItem
from industry_brain.store.models import Enterprise, Fact, ImportBatch
from tests.cli_inproc import invoke as cli_invoke
from tests.web_fixtures import USCC_NX, USCC_WX, seed


def invoke(*args: str, ok: bool = True) -> Result:
    result = cli_invoke(["tiers", *args])
    assert (result.exit_code == 0) == ok, result.output
    return result


def run(*args: str, env: dict[str, str]) -> Result:
    return invoke(*args)


def test_cli_flow(sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(sqlite_engine)
    with Session(sqlite_engine) as s:
        batch = s.scalars(select(ImportBatch)).first()
        wx = s.scalars(select(Enterprise).where(Enterprise.uscc == USCC_WX)).one()
        for year, item, value in ((2023, "revenue", 3000.0), (2024, "revenue", 3000.0),
                                  (2023, "rd_expense", 80.0), (2024, "rd_expense", 81.0),
                                  (2024, "employees", 120.0)):  # fmt: skip
            s.add(Fact(enterprise_id=wx.id, year=year, month=0, item=item, detail="", value=value,
                       unit="万元", source_dept="statistics", batch_id=batch.id))  # fmt: skip
        s.commit()
    env = {
        "IB_DATABASE_URL": sqlite_engine.url.render_as_string(hide_password=False),
        "IB_DATA_DIR": str(tmp_path / "data"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    lst = tmp_path / "名单.csv"
    lst.write_text(
        f"统一社会信用代码,梯度,年度,批次\n{USCC_NX},高新技术企业,2024,2024年\n", "utf-8"
    )
    out = json.loads(run("import-list", str(lst), "--json", env=env).output)
    assert (out["titles"], out["problems"]) == (1, [])
    template = tmp_path / "模板.xlsx"
    run("declarations", "--template", str(template), env=env)
    wb = load_workbook(template)
    ws = wb.worksheets[0]
    ws.delete_rows(2)
    ws.append([USCC_WX, 2024, "niche_years", 4, ""])
    ws.append([USCC_WX, 2024, "zjtx_score", 72, ""])
    wb.save(template)
    out = json.loads(run("declarations", "--import", str(template), "--json", env=env).output)
    assert out["items"] == 2
    pending = json.loads(run("declarations", "--json", env=env).output)
    assert [p["item"] for p in pending] == ["niche_years", "zjtx_score"]
    # evidence arrives later through the portal; without it the CLI cannot verify
    refused = invoke("declarations", "--verify", str(pending[0]["id"]), ok=False)
    assert "tiers.evidence_required" in refused.output
    run("evaluate", "--year", "2024", "--json", env=env)
    ex = json.loads(run("explain", USCC_WX, "--scheme", "zhuanjingtexin", "--year", "2024",
                        "--json", env=env).output)  # fmt: skip
    (z,) = ex["schemes"]
    # declared (unverified) niche 4 years and score 72 leave R&D: 81 万元 < 100 万元 and
    # 81 / 3000 = 2.7 % < 3 % — fails, with both gaps
    assert z["status"] == "fails"
    gaps = {f["id"]: f["gap"] for f in z["trace"]["failing"]}
    assert gaps == {"rd_expense": 19.0, "rd_ratio": 0.003}
    funnel = json.loads(run("funnel", "--year", "2024", "--json", env=env).output)
    assert funnel["stages"][0] == {"stage": "below_scale", "at": 1, "reached": 1}
    run("pool", "--add", USCC_WX, "--target", "little_giant", "--today", "2024-09-01", env=env)
    pool = json.loads(run("pool", "--json", env=env).output)
    assert [p["uscc"] for p in pool] == [USCC_WX]
    plans = json.loads(run("plan", USCC_WX, "--today", "2024-09-01", "--json", env=env).output)
    assert plans == []
    warn = json.loads(run("warnings", "--today", "2027-06-01", "--json", env=env).output)
    assert [w["kind"] for w in warn["titles"]] == ["expired"]  # 高新 of 2024, 3 years
    with Session(sqlite_engine) as s:
        assert s.scalar(select(TiersDeclarationItem.status).limit(1)) == "declared"
