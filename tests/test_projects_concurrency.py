"""Lost-update prevention with two real concurrent writers on SQLite and PostgreSQL.

Each writer is a thread with its own engine and session. Both read the project (version 1),
wait for each other at a barrier, then write. Exactly one write lands; the other gets
``ConflictError`` (``project.version_conflict``) and changes nothing; the winner's change is
intact. The same holds for tickets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.core import uscc
from industry_brain.core.errors import ConflictError
from industry_brain.domains.projects import stages, tickets
from industry_brain.domains.projects.models import StageEvent, Ticket, TicketEvent
from industry_brain.store.db import make_engine
from industry_brain.store.models import Project

TODAY = date(2026, 11, 27)


def _setup(engine: Engine) -> int:
    with Session(engine) as s:
        p = stages.create_project(
            s,
            code="HZXM-C-001",
            name="并发测试项目",
            investor_uscc=uscc.make("91330502MA2PJ0040"),
            investor_name="湖州并发有限公司",
            county_code="330502",
            planned_investment=30000,
            signed_on=date(2026, 1, 10),
            today=TODAY,
        )
        s.commit()
        return p.id


def _race(
    url: str, load: Callable[[Session], object], writers: dict[str, Callable[[Session], object]]
) -> dict[str, str]:
    """Run the writers in threads, each with its own engine and session; the barrier makes sure
    both have read before either writes. Returns writer name → "ok" or the error code."""
    barrier = threading.Barrier(len(writers))
    outcome: dict[str, str] = {}

    def work(name: str, write: Callable[[Session], object]) -> None:
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                # read version 1; keep a reference (the identity map holds objects weakly)
                held = load(session)
                assert held is not None
                session.commit()  # end the read transaction; the object stays loaded
                barrier.wait(timeout=30)
                try:
                    write(session)
                    session.commit()
                    outcome[name] = "ok"
                except ConflictError as exc:
                    session.rollback()
                    outcome[name] = exc.code
        except Exception as exc:  # surfaced by the assertion below
            outcome[name] = f"unexpected {type(exc).__name__}: {exc}"
        finally:
            engine.dispose()

    threads = [threading.Thread(target=work, args=item) for item in writers.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcome


def _keep_loaded(session: Session) -> None:
    session.expire_on_commit = False


def test_two_advances_one_conflicts(engine: Engine, db_url: str) -> None:
    pid = _setup(engine)

    def load(s: Session) -> object:
        _keep_loaded(s)
        return s.get(Project, pid)

    outcome = _race(
        db_url,
        load,
        {
            "a": lambda s: stages.advance(s, pid, "started", date(2026, 3, 1), TODAY, actor="a"),
            "b": lambda s: stages.advance(s, pid, "started", date(2026, 4, 1), TODAY, actor="b"),
        },
    )
    assert sorted(outcome.values()) == ["ok", "project.version_conflict"], outcome
    winner = next(k for k, v in outcome.items() if v == "ok")
    with Session(engine) as s:
        p = s.get(Project, pid)
        expected = date(2026, 3, 1) if winner == "a" else date(2026, 4, 1)
        assert (p.stage, p.actual_started, p.version) == ("started", expected, 2)
        events = s.scalars(
            select(StageEvent).where(StageEvent.project_id == pid, StageEvent.action == "advance")
        ).all()
        assert [(e.actor, e.new_date) for e in events] == [(winner, expected)]


def test_advance_against_correction_no_lost_update(engine: Engine, db_url: str) -> None:
    pid = _setup(engine)

    def load(s: Session) -> object:
        _keep_loaded(s)
        return s.get(Project, pid)

    outcome = _race(
        db_url,
        load,
        {
            "advance": lambda s: stages.advance(s, pid, "started", date(2026, 3, 1), TODAY),
            "correct": lambda s: stages.correct(
                s, pid, "signed", date(2026, 1, 12), "合同日期更正", TODAY
            ),
        },
    )
    assert sorted(outcome.values()) == ["ok", "project.version_conflict"], outcome
    with Session(engine) as s:
        p = s.get(Project, pid)
        assert p.version == 2
        if outcome["advance"] == "ok":
            # the advance landed; the correction was refused, not silently merged or lost
            assert (p.stage, p.actual_started, p.actual_signed) == (
                "started",
                date(2026, 3, 1),
                date(2026, 1, 10),
            )
        else:
            assert (p.stage, p.actual_started, p.actual_signed) == (
                "signed",
                None,
                date(2026, 1, 12),
            )
        assert s.scalar(select(func.count()).select_from(StageEvent)) == 2  # create + winner


def test_two_ticket_updates_one_conflicts(engine: Engine, db_url: str) -> None:
    pid = _setup(engine)
    with Session(engine) as s:
        tid = tickets.raise_ticket(s, pid, "用地指标未落实", "zrzy", TODAY, category="用地").id
        s.commit()

    def load(s: Session) -> object:
        _keep_loaded(s)
        return s.get(Ticket, tid)

    outcome = _race(
        db_url,
        load,
        {
            "accept": lambda s: tickets.transition(s, tid, "accept", TODAY, actor="x"),
            "resolve": lambda s: tickets.transition(
                s, tid, "resolve", TODAY, resolution="已解决", actor="y"
            ),
        },
    )
    assert sorted(outcome.values()) == ["ok", "ticket.version_conflict"], outcome
    with Session(engine) as s:
        t = s.get(Ticket, tid)
        winner = next(k for k, v in outcome.items() if v == "ok")
        assert t.status == {"accept": "in_progress", "resolve": "resolved"}[winner]
        assert t.version == 2
        actions = s.scalars(
            select(TicketEvent.action).where(TicketEvent.ticket_id == tid).order_by(TicketEvent.id)
        ).all()
        assert actions == ["raise", winner]


def test_a_report_of_the_same_date_committed_meanwhile_is_a_conflict(engine: Engine) -> None:
    """Writer B has checked that no report of the day exists when writer A commits one (A runs
    just before B's first write): B's report finds the project at a newer version and gets
    ``project.version_conflict`` (reports bump the version), and A's report is the one kept."""
    from sqlalchemy import event

    from industry_brain.domains.projects.models import ProgressReport

    pid = _setup(engine)
    day = date(2026, 6, 30)
    rival_ran = []

    def rival(_conn: object, _cur: object, statement: str, *_: object) -> None:
        if rival_ran or not statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            return
        rival_ran.append(True)
        with Session(engine) as a:
            stages.report_progress(a, pid, day, 100, TODAY, actor="a")
            a.commit()

    event.listen(engine, "before_cursor_execute", rival)
    try:
        with Session(engine) as b:
            try:
                stages.report_progress(b, pid, day, 200, TODAY, actor="b")
            except ConflictError as exc:
                code = exc.problem.code
            else:
                code = "ok"
    finally:
        event.remove(engine, "before_cursor_execute", rival)
    assert rival_ran and code == "project.version_conflict"
    with Session(engine) as s:
        rows = s.execute(select(ProgressReport.actor, ProgressReport.investment_completed)).all()
        assert rows == [("a", 100.0)]
        assert s.get(Project, pid).version == 2
