"""The 项目钉 demo hook on a small store: reports, enrolments, warnings, tickets and bulletin
files as of ``DEMO_TODAY``, a JSON-serialisable summary and the lines the demo prints."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.core import uscc
from industry_brain.demo.constants import DEMO_TODAY
from industry_brain.domains.projects import demo_hook, stages
from industry_brain.domains.projects.models import ProgramEnrolment, WarningSnapshot
from industry_brain.store.models import User


def test_demo_hook(sqlite_engine: Engine, tmp_path: Path) -> None:
    with Session(sqlite_engine) as s:
        s.add(User(username="agent_330502_01", display_name="甲", role="agent"))
        s.flush()
        # (code, tags, signed, started): P1 signed 2025-01-02 and never started (black
        # 签约未开工), P2 started 2026-03-01 with tag 机器换人 (enrolled in 推广 on its start day),
        # P3 started in 2025 (tagged 攻关, not enrolled for 2026)
        plans = [
            ("P1", [], date(2025, 1, 2), None),
            ("P2", ["机器换人"], date(2026, 1, 5), date(2026, 3, 1)),
            ("P3", ["攻关"], date(2025, 2, 1), date(2025, 6, 1)),
        ]
        for i, (code, tags, signed, started) in enumerate(plans):
            p = stages.create_project(
                s,
                code=code,
                name=f"演示{code}",
                investor_uscc=uscc.make(f"91330502MA2PJ01{i}0"),
                investor_name=f"演示公司{code}",
                county_code="330502",
                planned_investment=12000,
                signed_on=signed,
                today=DEMO_TODAY,
                agent="agent_330502_01",
                programs=tags,
            )
            if started:
                stages.advance(s, p.id, "started", started, DEMO_TODAY)
        s.commit()
    summary = demo_hook.run(sqlite_engine, tmp_path)
    json.dumps(summary)  # JSON-serialisable
    assert summary["as_of"] == "2026-11-27"
    assert summary["projects_by_stage"]["signed"] == 1
    assert summary["warnings"]["签约未开工"] == {"yellow": 0, "red": 0, "black": 1}
    # quarterly reports of 2026 at the quarter ends on or after the start: P2 (started 03-01)
    # 03-31, 06-30, 09-30; P3 (started 2025) the same three; P1 none
    assert summary["progress_reports"] == 6
    assert summary["enrolments"] == 1
    assert summary["tickets_raised"] == 1  # one red/black project
    with Session(sqlite_engine) as s:
        assert s.scalar(select(ProgramEnrolment.program)) == "推广"
        assert s.scalar(select(func.count()).select_from(WarningSnapshot)) == 1
    files = summary["bulletin"]["files"]
    assert set(files) == {"xlsx", "html", "pdf"} and all(Path(f).exists() for f in files.values())
    lines = demo_hook.headline(summary)
    assert lines[0].startswith("项目 projects by stage: 签约 1  开工 2")
    assert any("签约未开工: 0 / 0 / 1" in line for line in lines)
    assert any(line.strip().startswith("bulletin xlsx:") for line in lines)
