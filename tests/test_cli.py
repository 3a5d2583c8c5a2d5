"""The CLI: in process (tests/cli_inproc.py), and ``db upgrade`` through its real entry point (the
installed ``industry-brain`` console script) on both stores."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import typer.main

from industry_brain.cli import app
from tests.cli_inproc import EXE, invoke, run_cli

ROOT = Path(__file__).resolve().parent.parent
A = "91330502MA2B3C4D1U"
REG = f"统一社会信用代码,企业名称,所属区县,行业代码\n{A},湖州甲织造有限公司,吴兴区,1751\n"


def run(
    *args: str, env: dict[str, str] | None = None, check: bool = True, real: bool = False
) -> subprocess.CompletedProcess:
    if real:
        full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
        proc = subprocess.run(
            [str(EXE), *args], capture_output=True, text=True, env=full_env, timeout=300
        )
    else:
        proc = run_cli(args, env)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def _commands() -> list[list[str]]:
    """Every leaf command path, e.g. ['db', 'upgrade'], from the Click tree."""
    root = typer.main.get_command(app)
    out: list[list[str]] = []

    def walk(cmd, path):  # type: ignore[no-untyped-def]
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                if not sub.hidden:
                    walk(sub, [*path, name])
        else:
            out.append(path)

    walk(root, [])
    return out


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p))
def test_every_command_has_help_with_an_example_and_is_documented(path):
    # in process (the entry point itself is run by the other tests): 75 interpreters cost minutes
    result = invoke([*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    readme = (ROOT / "README.md").read_text("utf-8")
    assert f"industry-brain {' '.join(path)}" in readme, f"README does not document {path}"


def test_db_upgrade_on_both_databases(db_url):
    proc = run("db", "upgrade", "--json", env={"IB_DATABASE_URL": db_url}, real=True)
    data = json.loads(proc.stdout)
    from alembic.script import ScriptDirectory

    from industry_brain.store.migrate import MIGRATIONS

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()  # one head: linear history
    assert data["revision"] == head
    assert {"enterprises", "facts", "audit_log"} <= set(data["tables"])
    assert "password" not in data["database"]


def test_import_explain_show_and_errors(db_url, tmp_path):
    env = {"IB_DATABASE_URL": db_url}
    run("db", "upgrade", env=env)
    reg = tmp_path / "reg.csv"
    reg.write_text(REG, encoding="utf-8")
    out = json.loads(run("import", "registration", str(reg), "--json", env=env).stdout)
    assert out["status"] == "committed" and out["enterprises_created"] == 1
    tax = tmp_path / "tax.csv"
    # 2,500,000 元 = 250 万元
    tax.write_text(f"纳税人识别号,所属年度,实缴税金(元)\n{A},2025,2500000\n", encoding="gbk")
    out = json.loads(run("import", "tax", str(tax), "--json", env=env).stdout)
    assert out["status"] == "committed" and out["facts_inserted"] == 1
    again = json.loads(run("import", "tax", str(tax), "--json", env=env).stdout)
    assert again["status"] == "duplicate"
    ex = json.loads(
        run("facts", "explain", A, "--year", "2025", "--item", "tax", "--json", env=env).stdout
    )
    assert ex["value"] == pytest.approx(250.0) and ex["unit"] == "万元"
    assert ex["used"][0]["file"] == "tax.csv" and ex["used"][0]["row"] == 2
    text = run("facts", "explain", A, "--year", "2025", "--item", "tax", env=env).stdout
    assert "tax.csv" in text and "250" in text
    prof = json.loads(run("enterprises", "show", A.lower(), "--json", env=env).stdout)
    assert prof["county_name"] == "吴兴区" and prof["facts"]["tax_paid"]["2025"]["value"] == 250
    # a rejected import exits 1 and prints the summary
    bad = tmp_path / "bad.csv"
    bad.write_text(f"纳税人识别号,所属年度,实缴税金(元)\n{A},2025,-1\n", encoding="utf-8")
    proc = run("import", "tax", str(bad), env=env, check=False)
    assert proc.returncode == 1 and "value.negative" in proc.stdout
    # a bilingual error exits 2
    proc = run("enterprises", "show", A[:-1] + "X", env=env, check=False)
    assert proc.returncode == 2
    assert "校验码" in proc.stderr and "check character" in proc.stderr and "“U”" in proc.stderr


def test_params_show_json_and_unknown_domain():
    data = json.loads(
        run("params", "show", "ingest", "--region", "330502", "--year", "2025", "--json").stdout
    )
    by_key = {p["key"]: p for p in data["parameters"]}
    assert by_key["ingest.validation.tax_revenue_ratio_max"]["value"] == 0.5
    assert data["on"] == "2025-01-01"
    proc = run("params", "show", "nosuch", check=False)
    assert proc.returncode == 2 and "param.unknown_domain" in proc.stderr


def test_review_list_and_batches_json(tmp_path):
    run("db", "upgrade")
    f = tmp_path / "e.csv"
    f.write_text("企业名称,年份,化学需氧量(吨)\n无名作坊,2025,1\n", encoding="utf-8")
    assert run("import", "emissions", str(f), check=False).returncode == 1
    reviews = json.loads(run("review", "list", "--json").stdout)
    assert reviews[0]["raw_name"] == "无名作坊" and reviews[0]["reason"] == "unknown"
    batches = json.loads(run("batches", "list", "--json").stdout)
    assert batches[0]["status"] == "rejected" and batches[0]["kind"] == "emissions"
    assert re.search(
        r"dismissed review \d+", run("review", "dismiss", str(reviews[0]["id"])).stdout
    )
