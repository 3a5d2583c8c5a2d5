"""The carbon service in the main job and through the real ``industry-brain`` entry point, on
the small demo city (built once for this module): the demo hook's accounting, consents, loans
and code images; DuckDB and PySpark agreeing on the whole city; the CLI commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.domains.carbon.accounting import adjustments_frame, compute
from industry_brain.domains.carbon.models import CarbonLoan, CarbonResult
from industry_brain.domains.carbon.rules import load_rules
from industry_brain.store.db import make_engine
from industry_brain.warehouse import connect
from tests.cli_inproc import run_cli
from tests.shared_demo import small_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    run, url, root = small_demo(tmp_path_factory, "carbon-demo")
    engine = make_engine(url)
    yield {
        "run": run,
        "engine": engine,
        "env": {"IB_DATA_DIR": str(root / "data"), "IB_DATABASE_URL": url},
        "summary": run.services["carbon"],
    }
    engine.dispose()


def cli(demo: dict[str, Any], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``industry-brain ARGS`` in process (tests/cli_inproc.py); ``keys_cli`` goes through the
    real console script."""
    proc = run_cli(args, demo["env"])
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def keys_cli(demo: dict[str, Any], *args: str) -> subprocess.CompletedProcess:
    """``industry-brain keys ...`` through the real entry point."""
    env = {**os.environ, **demo["env"]}
    exe = Path(sys.executable).parent / "industry-brain"
    return subprocess.run(
        [str(exe), "keys", *args], capture_output=True, text=True, env=env, check=True
    )


def test_demo_hook_grades_the_city_and_registers_loans(demo: dict[str, Any]) -> None:
    s = demo["summary"]
    run = demo["run"]
    latest = run.summary["latest_year"]
    by_county = run.summary["by_county"].values()
    assert s["year"] == latest
    above = sum(s["grades"]["huzhou_2021"].values())
    below = sum(s["grades"]["proxy_below_size"].values())
    # every 规上 and 规下 firm of the directory with value added / revenue and energy is graded
    assert above == sum(c["above"] for c in by_county) - s["status"].get("VA_NONPOSITIVE", 0)
    assert below > 0 and s["graded"] == above + below
    assert set(s["grades"]["huzhou_2021"]) == {"1", "2", "3", "4", "5"}
    assert s["consents"] > 0 and s["loans"]["loans"] >= 3
    with Session(demo["engine"]) as session:
        loans = list(session.scalars(select(CarbonLoan)))
        banks = {ln.bank_user_id for ln in loans}
        # each loan's grade is the enterprise's grade in the run
        for ln in loans:
            res = session.scalars(
                select(CarbonResult).where(
                    CarbonResult.run_id == s["run_id"],
                    CarbonResult.enterprise_id == ln.enterprise_id,
                )
            ).one()
            assert ln.grade == res.grade and ln.grade_year == s["year"]
    assert len(banks) == 3
    assert sum(r["amount_wan"] for r in s["loans_by_grade"]) == pytest.approx(
        s["loans"]["amount_wan"]
    )
    code = s["code"]
    svg = Path(code["svg"]).read_text("utf-8")
    assert "<svg" in svg
    import zxingcpp
    from PIL import Image

    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(code["png"]))]
    assert decoded == [code["payload"]]
    assert oct(Path(s["token_file"]).stat().st_mode & 0o777) == "0o600"
    lines = "\n".join(
        __import__("industry_brain.domains.carbon.demo_hook", fromlist=["x"]).headline(s)
    )
    assert "规上评级" in lines and code["png"] in lines


def test_duckdb_and_pyspark_agree_on_the_demo_city(demo: dict[str, Any]) -> None:
    snap = Path(demo["summary"]["snapshot"])
    counties = pd.read_parquet(snap / "enterprises.parquet")["county_code"].unique().tolist()
    rules = load_rules(demo["summary"]["year"], counties)
    out = {}
    for name in ("duckdb", "pyspark"):
        con = connect(snap, name, tables=("enterprises", "scales", "facts"))
        out[name] = compute(con, rules, adjustments_frame([]))
    (r1, l1), (r2, l2) = out["duckdb"], out["pyspark"]
    assert len(r1) == demo["summary"]["enterprises"] and len(l1) > 100
    pd.testing.assert_frame_equal(r1, r2, check_dtype=False, rtol=1e-9)
    pd.testing.assert_frame_equal(l1, l2, check_dtype=False, rtol=1e-9)


def test_cli_explain_code_verify(demo: dict[str, Any], tmp_path: Path) -> None:
    s = demo["summary"]
    uscc = s["code"]["uscc"]
    year = str(s["year"])
    data = json.loads(cli(demo, "carbon", "explain", uscc, "--year", year, "--json").stdout)
    assert data["uscc"] == uscc and data["result"]["status"] == "graded"
    assert any(step["step"] == "k" for step in data["steps"])
    text = cli(demo, "carbon", "explain", uscc, "--year", year).stdout
    assert "碳效值 K = L / 行业平均" in text and "tCO2/万元" in text
    svg, png = tmp_path / "c.svg", tmp_path / "c.png"
    out = cli(demo, "carbon", "code", uscc, "--svg", str(svg), "--png", str(png), "--payload")
    payload = out.stdout.strip().splitlines()[-1]
    assert payload.startswith(f"IBC1;uscc={uscc};year={year};") and svg.exists() and png.exists()
    ok = json.loads(cli(demo, "carbon", "verify", payload, "--json").stdout)
    assert ok["valid"] and ok["uscc"] == uscc
    bad = cli(demo, "carbon", "verify", payload.replace("year=", "year=1"), check=False)
    assert bad.returncode == 1 and "carbon.code_malformed" in bad.stderr
    grade = f"grade={ok['grade']}"
    forged = payload.replace(grade, f"grade={ok['grade'] % 5 + 1}")
    bad = cli(demo, "carbon", "verify", forged, check=False)
    assert bad.returncode == 1 and "carbon.code_bad_signature" in bad.stderr
    assert "篡改" in bad.stderr and "altered" in bad.stderr
    late = cli(demo, "carbon", "verify", payload, "--on", "2099-01-01", check=False)
    assert late.returncode == 1 and "carbon.code_expired" in late.stderr
    # offline, from the public key alone
    pub = tmp_path / "pub.pem"
    pub.write_text(keys_cli(demo, "public").stdout, "ascii")
    ok = cli(demo, "carbon", "verify", payload, "--public-key", str(pub))
    assert "有效 valid" in ok.stdout
    keys = json.loads(keys_cli(demo, "list", "--json").stdout)
    assert [k["active"] for k in keys] == [True]
    missing = cli(demo, "carbon", "explain", "91330502MA2CB9999P", check=False)
    assert missing.returncode == 2 and "enterprise.not_found" in missing.stderr


def test_cli_consents_loans_products_improve_and_run(demo: dict[str, Any]) -> None:
    s = demo["summary"]
    consents = json.loads(cli(demo, "carbon", "consent", "list", "--json").stdout)
    assert len(consents) == s["consents"] and {c["state"] for c in consents} == {"active"}
    stats = json.loads(cli(demo, "carbon", "loans", "stats", "--by", "bank", "--json").stdout)
    assert stats["total"]["loans"] == s["loans"]["loans"]
    assert {r["bank"] for r in stats["rows"]} == {"bank_huzhou", "bank_icbc", "bank_rcb"}
    by_county = json.loads(cli(demo, "carbon", "loans", "stats", "--by", "county", "--json").stdout)
    assert sum(r["loans"] for r in by_county["rows"]) == s["loans"]["loans"]
    uscc = s["code"]["uscc"]
    prods = json.loads(cli(demo, "carbon", "products", uscc, "--json").stdout)
    assert prods["uscc"] == uscc and all(p["rate_discount_bp"] >= 0 for p in prods["products"])
    imp = json.loads(cli(demo, "carbon", "improve", "--limit", "5", "--json").stdout)
    assert imp["rows"] and {r["grade"] for r in imp["rows"]} <= {4, 5}
    first = imp["rows"][0]
    assert first["reduction_to_average"] >= imp["rows"][-1]["reduction_to_average"]
    shares = sum(
        first[f"share_{c}"] for c in ("coal", "oil", "gas", "other_fuel", "heat", "electricity")
    )
    assert shares == pytest.approx(1.0, abs=1e-3)
    again = json.loads(cli(demo, "carbon", "run", "--json").stdout)
    assert again["run_id"] == s["run_id"] + 1 and again["counts"]["grades"] == s["grades"]
    listing = json.loads(cli(demo, "carbon", "list", "--grade", "5", "--json").stdout)
    assert listing and {r["grade"] for r in listing} == {5}
