"""Two agents posting progress reports of one project at once (issue 13, point 15).

Agent A reports 100 万元 completed on 11-25 and agent B 50 万元 on 11-27 — each valid against
the series it read, together a decrease. Each agent is a thread with its own engine and
session; an engine hook holds each one at its first write statement until both have read the
series and checked their figure (the worst interleaving, every time). Exactly one report is
stored, the other agent gets ``project.version_conflict``, and the stored series never
decreases. Repeated over several projects, alternating who writes first, on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from industry_brain.core import uscc
from industry_brain.core.errors import ConflictError, IBError
from industry_brain.domains.projects import stages
from industry_brain.domains.projects.models import ProgressReport
from industry_brain.store.db import make_engine
from industry_brain.store.models import Project

TODAY = date(2026, 11, 28)
ROUNDS = 3
WRITES = ("INSERT", "UPDATE", "DELETE")


def _project(engine: Engine, n: int) -> int:
    with Session(engine) as s:
        p = stages.create_project(
            s,
            code=f"HZXM-R-{n:03d}",
            name=f"并发填报项目{n}",
            investor_uscc=uscc.make(f"91330502MA2PJ{n:04d}"),
            investor_name=f"湖州并发{n}有限公司",
            county_code="330502",
            planned_investment=30000,
            signed_on=date(2026, 1, 10),
            today=TODAY,
        )
        stages.report_progress(s, p.id, date(2026, 10, 31), 20, TODAY, actor="setup")
        s.commit()
        return p.id


def _agents(url: str, pid: int, reports: dict[str, tuple[date, float]], first: str) -> dict:
    """Both agents read and check, then write; ``first`` is let through to the database first.
    Returns agent → "ok" or the error code."""
    both_checked = threading.Barrier(len(reports))
    first_wrote = threading.Event()
    outcome: dict[str, str] = {}

    def agent(name: str, day: date, amount: float) -> None:
        engine = make_engine(url)
        held = {"done": False}

        @event.listens_for(engine, "before_cursor_execute")
        def hold(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
            if held["done"] or not statement.lstrip().upper().startswith(WRITES):
                return
            held["done"] = True
            both_checked.wait(timeout=20)  # the other agent has read and checked its figure
            if name != first:
                first_wrote.wait(timeout=15)  # let the first agent's write reach the database

        try:
            with Session(engine) as session:
                try:
                    stages.report_progress(session, pid, day, amount, TODAY, actor=name)
                    if name == first:
                        first_wrote.set()
                    session.commit()
                    outcome[name] = "ok"
                except ConflictError as exc:
                    session.rollback()
                    outcome[name] = exc.code
        except Exception as exc:  # surfaced by the assertion in the test
            outcome[name] = f"unexpected {type(exc).__name__}: {exc}"
        finally:
            first_wrote.set()
            engine.dispose()

    threads = [
        threading.Thread(target=agent, args=(name, day, amount))
        for name, (day, amount) in reports.items()
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcome


def _series(engine: Engine, pid: int) -> list[tuple[date, float, str]]:
    with Session(engine) as s:
        rows = s.execute(
            select(
                ProgressReport.report_date,
                ProgressReport.investment_completed,
                ProgressReport.actor,
            )
            .where(ProgressReport.project_id == pid)
            .order_by(ProgressReport.report_date)
        ).all()
    return [tuple(r) for r in rows]


def test_concurrent_reports_never_make_the_series_decrease(engine: Engine, db_url: str) -> None:
    reports = {"a": (date(2026, 11, 25), 100.0), "b": (date(2026, 11, 27), 50.0)}
    for n in range(ROUNDS):
        pid = _project(engine, n)
        first = "ab"[n % 2]
        outcome = _agents(db_url, pid, reports, first)
        assert sorted(outcome.values()) == ["ok", "project.version_conflict"], (n, outcome)
        assert outcome[first] == "ok", (n, outcome)
        series = _series(engine, pid)
        amounts = [amount for _, amount, _ in series]
        assert amounts == sorted(amounts), (n, series)
        day, amount = reports[first]
        assert series == [(date(2026, 10, 31), 20.0, "setup"), (day, amount, first)]
        with Session(engine) as s:
            assert s.get(Project, pid).version == 3  # created 1, setup report 2, winner 3


def test_a_refused_report_can_be_posted_again(engine: Engine, db_url: str) -> None:
    """The loser reloads (new version) and posts again: its figure is now checked against the
    winner's and refused as a decrease, or stored when consistent."""
    pid = _project(engine, 90)
    outcome = _agents(
        db_url,
        pid,
        {"a": (date(2026, 11, 25), 100.0), "b": (date(2026, 11, 27), 50.0)},
        first="a",
    )
    assert outcome == {"a": "ok", "b": "project.version_conflict"}
    with Session(engine) as s:
        version = s.get(Project, pid).version
        with pytest.raises(IBError) as refused:
            stages.report_progress(
                s, pid, date(2026, 11, 27), 50.0, TODAY, expected_version=version
            )
        s.rollback()
        assert refused.value.code == "report.investment_decreasing"
        stages.report_progress(s, pid, date(2026, 11, 27), 130.0, TODAY, expected_version=version)
        s.commit()
    assert [a for _, a, _ in _series(engine, pid)] == [20.0, 100.0, 130.0]
