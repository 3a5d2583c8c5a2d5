"""``industry-brain projects …`` with a frozen ``--today``: in process (tests/cli_inproc.py), the
concurrent-edit test through the real console script."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.core import uscc
from industry_brain.store.models import Project
from tests.cli_inproc import EXE, run_cli

NEW_CO = uscc.make("91330502MA2PJ0070")


def run(
    *args: str, env: dict[str, str], check: bool = True, real: bool = False
) -> subprocess.CompletedProcess:
    """``industry-brain ARGS`` in process, or through the real console script (``real``)."""
    if real:
        proc = subprocess.run(
            [str(EXE), *args],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "200", **env},
            timeout=300,
        )
    else:
        proc = run_cli(args, env)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    proc.stderr = " ".join(proc.stderr.split())  # one line, whatever the terminal width
    return proc


def _add(env: dict[str, str], code: str = "HZXM-CLI-001", signed: str = "2026-05-26") -> dict:
    out = run(
        "projects", "add", "--code", code, "--name", "年产5万台电机项目", "--uscc", NEW_CO,
        "--investor-name", "湖州新电机有限公司", "--county", "330502", "--investment", "52000",
        "--signed", signed, "--program", "攻关", "--plan", "开工=2026-08-01",
        "--plan", "completed=2027-12-31", "--today", "2026-11-27", "--json", env=env,
    )  # fmt: skip
    return json.loads(out.stdout)


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_concurrent_edit_is_refused(engine: Engine) -> None:
    env = {"IB_DATABASE_URL": _url(engine)}
    p = _add(env)
    assert (p["stage"], p["version"], p["new_company"], p["uscc"]) == ("signed", 1, True, NEW_CO)
    assert p["planned"]["started"] == "2026-08-01" and p["planned"]["completed"] == "2027-12-31"
    # two writers that both read version 1: the first lands, the second is refused (exit 2)
    first = run(
        "projects", "advance", "HZXM-CLI-001", "started", "--on", "2026-06-01",
        "--expected-version", "1", "--today", "2026-11-27", "--json", env=env, real=True,
    )  # fmt: skip
    assert json.loads(first.stdout)["version"] == 2
    second = run(
        "projects", "advance", "HZXM-CLI-001", "started", "--on", "2026-06-02",
        "--expected-version", "1", "--today", "2026-11-27", env=env, check=False, real=True,
    )  # fmt: skip
    assert second.returncode == 2
    assert "project.version_conflict" in second.stderr
    assert "已被他人修改" in second.stderr and "changed by someone else" in second.stderr
    with Session(engine) as s:
        project = s.scalars(select(Project).where(Project.code == "HZXM-CLI-001")).one()
        assert (project.actual_started, project.version) == (date(2026, 6, 1), 2)


def test_stage_commands(sqlite_engine: Engine) -> None:
    env = {"IB_DATABASE_URL": _url(sqlite_engine)}
    _add(env)
    run(
        "projects", "advance", "HZXM-CLI-001", "started", "--on", "2026-06-01",
        "--today", "2026-11-27", env=env,
    )  # fmt: skip
    shown = json.loads(
        run("projects", "show", "HZXM-CLI-001", "--today", "2026-11-27", "--json", env=env).stdout
    )
    assert (shown["actual"]["started"], shown["version"]) == ("2026-06-01", 2)
    # a future date is refused with a bilingual message
    future = run(
        "projects", "advance", "HZXM-CLI-001", "completed", "--on", "2026-11-28",
        "--today", "2026-11-27", env=env, check=False,
    )  # fmt: skip
    assert future.returncode == 2 and "project.date_future" in future.stderr
    bad_day = run("projects", "show", "HZXM-CLI-001", "--today", "27/11/2026", env=env, check=False)
    assert bad_day.returncode == 2 and "cli.date" in bad_day.stderr
    assert "不能在未来" in future.stderr and "cannot be in the future" in future.stderr
    # a correction needs a reason; then it is recorded in the history
    bad = run(
        "projects", "correct", "HZXM-CLI-001", "started", "--on", "2026-05-30", "--reason", " ",
        "--today", "2026-11-27", env=env, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "project.reason_required" in bad.stderr
    run(
        "projects", "correct", "HZXM-CLI-001", "开工", "--on", "2026-05-30",
        "--reason", "以施工许可证为准", "--today", "2026-11-27", env=env,
    )  # fmt: skip
    run(
        "projects", "correct", "HZXM-CLI-001", "started", "--undo", "--reason", "误录",
        "--today", "2026-11-27", env=env,
    )  # fmt: skip
    shown = json.loads(
        run("projects", "show", "HZXM-CLI-001", "--today", "2026-11-27", "--json", env=env).stdout
    )
    assert shown["stage"] == "signed" and shown["version"] == 4
    assert [h["action"] for h in shown["history"]] == ["create", "advance", "correct", "undo"]
    assert shown["history"][2]["reason"] == "以施工许可证为准"
    # signed 2026-05-26, 6 months → deadline 2026-11-26: red, 1 day overdue on 2026-11-27
    assert (shown["warning"]["kind"], shown["warning"]["colour"]) == ("签约未开工", "red")


def test_warnings_tickets_bulletin(sqlite_engine: Engine, tmp_path: Path) -> None:
    env = {"IB_DATABASE_URL": _url(sqlite_engine)}
    _add(env)
    table = run("projects", "warnings", "--today", "2026-11-27", "--refresh", env=env)
    assert "签约未开工" in table.stdout and "HZXM-CLI-001" in table.stdout
    assert "snapshot stored: 1 warnings" in table.stderr
    rows = json.loads(
        run("projects", "warnings", "--today", "2026-11-27", "--json", env=env).stdout
    )
    assert len(rows) == 1
    w = rows[0]
    assert (w["uscc"], w["kind"], w["colour"], w["days_overdue"]) == (
        NEW_CO,
        "签约未开工",
        "red",
        1,
    )
    assert isinstance(w["project_id"], int) and w["deadline"] == "2026-11-26"
    groups = json.loads(
        run(
            "projects", "warnings", "--today", "2026-11-27", "--group-by", "county", "--json",
            env=env,
        ).stdout
    )  # fmt: skip
    assert groups == [
        {"key": "330502", "name": "吴兴区", "yellow": 0, "red": 1, "black": 0, "total": 1}
    ]

    t = json.loads(
        run(
            "projects", "tickets", "raise", "HZXM-CLI-001", "--title", "土地未交付",
            "--department", "zrzy", "--category", "用地", "--today", "2026-11-01", "--json",
            env=env,
        ).stdout
    )  # fmt: skip
    assert (t["status"], t["due_date"]) == ("open", "2026-11-16")
    run("projects", "tickets", "act", str(t["id"]), "accept", "--today", "2026-11-02", env=env)
    listed = json.loads(
        run("projects", "tickets", "list", "--overdue", "--today", "2026-11-27", "--json", env=env)
        .stdout
    )  # fmt: skip
    assert [(x["id"], x["days_overdue"]) for x in listed] == [(t["id"], 11)]
    done = json.loads(
        run(
            "projects", "tickets", "act", str(t["id"]), "resolve", "--resolution", "已交地",
            "--today", "2026-11-20", "--json", env=env,
        ).stdout
    )  # fmt: skip
    assert done["status"] == "resolved" and [h["action"] for h in done["history"]] == [
        "raise",
        "accept",
        "resolve",
    ]
    st = json.loads(
        run("projects", "tickets", "stats", "--today", "2026-11-27", "--json", env=env).stdout
    )
    assert (st["raised"], st["resolved"], st["overdue"], st["resolved_late"]) == (1, 1, 0, 1)
    assert st["by_department"][0]["name"] == "自然资源和规划局"

    run("projects", "enrol", "HZXM-CLI-001", "攻关", "--on", "2026-06-01", "--today",
        "2026-11-27", env=env)  # fmt: skip
    out = tmp_path / "bulletin"
    b = json.loads(
        run(
            "projects", "bulletin", "--year", "2026", "--today", "2026-11-27", "--out", str(out),
            "--no-pdf", "--json", env=env,
        ).stdout
    )  # fmt: skip
    # 吴兴 攻关 1 enrolled of 5 × 331/365 (4.5342): ratio 0.2205; 推广 0, 上云 0 → score
    # (0.2205 + 0 + 0) / 3 = 0.0735; every county is on the black list
    wuxing = next(c for c in b["counties"] if c["county_code"] == "330502")
    assert (wuxing["rank"], wuxing["score"], wuxing["list"]) == (1, 0.0735, "black")
    assert len(b["lists"]["black"]) == 5
    assert all(Path(f).exists() for f in b["files"].values())
    assert set(b["files"]) == {"xlsx", "html"}  # the PDF is tested in test_projects_programs
    listing = json.loads(run("projects", "list", "--county", "330502", "--json", env=env).stdout)
    assert [x["code"] for x in listing] == ["HZXM-CLI-001"] and listing[0]["programs"] == ["攻关"]
    rep = json.loads(
        run(
            "projects", "report", "HZXM-CLI-001", "--on", "2026-11-20", "--investment", "800",
            "--headcount", "12", "--today", "2026-11-27", "--json", env=env,
        ).stdout
    )  # fmt: skip
    assert rep == [
        {
            "report_date": "2026-11-20",
            "investment_completed": 800.0,
            "output": None,
            "headcount": 12,
            "notes": "",
            "actor": "cli",
        }
    ]
