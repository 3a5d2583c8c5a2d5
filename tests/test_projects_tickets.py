"""破难题 ticket lifecycle and statistics on SQLite and PostgreSQL, with a frozen clock."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.core import uscc
from industry_brain.core.errors import IBError
from industry_brain.domains.projects import stages, tickets
from industry_brain.store.models import AuditLog, Enterprise, User

D = date


def _setup(s: Session) -> tuple[int, int]:
    ent = Enterprise(uscc=uscc.make("91330502MA2PJ0050"), name="湖州甲机械有限公司")
    other = Enterprise(uscc=uscc.make("91330502MA2PJ0060"), name="湖州乙机械有限公司")
    s.add_all([ent, other])
    s.flush()
    s.add_all(
        [
            User(username="agent_a", display_name="甲", role="agent", county_code="330502"),
            User(username="agent_b", display_name="乙", role="agent", county_code="330502"),
            User(username="ent_a", display_name="甲企业", role="enterprise", enterprise_id=ent.id),
            User(
                username="ent_b", display_name="乙企业", role="enterprise", enterprise_id=other.id
            ),
        ]
    )
    s.flush()
    p1 = stages.create_project(
        s,
        code="HZXM-K-001",
        name="甲项目",
        investor_uscc=ent.uscc,
        county_code="330502",
        planned_investment=9000,
        signed_on=D(2026, 1, 5),
        today=D(2026, 1, 5),
        agent="agent_a",
    )
    p2 = stages.create_project(
        s,
        code="HZXM-K-002",
        name="乙项目",
        investor_uscc=other.uscc,
        county_code="330502",
        planned_investment=6000,
        signed_on=D(2026, 1, 5),
        today=D(2026, 1, 5),
    )
    s.commit()
    return p1.id, p2.id


def _code(fn, *args, **kw) -> str:
    with pytest.raises(IBError) as exc:
        fn(*args, **kw)
    return exc.value.code


def test_lifecycle_and_history(engine: Engine) -> None:
    with Session(engine) as s:
        pid, _ = _setup(s)
        t = tickets.raise_ticket(
            s, pid, "用电增容未批复", "gdj", D(2026, 3, 2), category="用能", user="agent_a"
        )
        # default due date: 2026-03-02 + 15 days (projects.tickets.due_days)
        assert (t.status, t.due_date, t.raised_by_role, t.raised_by) == (
            "open",
            D(2026, 3, 17),
            "agent",
            "agent_a",
        )
        move = tickets.transition
        assert _code(move, s, t.id, "close", D(2026, 3, 3)) == "ticket.transition"
        assert _code(move, s, t.id, "reopen", D(2026, 3, 3), note="x") == "ticket.transition"
        move(s, t.id, "accept", D(2026, 3, 3), actor="供电公司")
        assert _code(move, s, t.id, "accept", D(2026, 3, 4)) == "ticket.transition"
        assert _code(move, s, t.id, "reroute", D(2026, 3, 4)) == "ticket.department_required"
        assert _code(move, s, t.id, "reroute", D(2026, 3, 4), department="gdj") == (
            "ticket.same_department"
        )
        assert _code(move, s, t.id, "reroute", D(2026, 3, 4), department="xx") == (
            "ticket.department_unknown"
        )
        # by name works as well as by code
        move(s, t.id, "reroute", D(2026, 3, 4), department="发展和改革委员会", note="需发改协调")
        assert t.status == "open" and t.department == "fgw"
        assert _code(move, s, t.id, "resolve", D(2026, 3, 4)) == "ticket.resolution_required"
        assert _code(move, s, t.id, "accept", D(2026, 3, 3)) == "ticket.date_order"
        move(s, t.id, "resolve", D(2026, 3, 10), resolution="已协调供电增容")
        assert (t.status, t.resolved_on) == ("resolved", D(2026, 3, 10))
        assert _code(move, s, t.id, "reopen", D(2026, 3, 12)) == "ticket.note_required"
        move(s, t.id, "reopen", D(2026, 3, 12), note="企业反映未落实")
        assert (t.status, t.resolved_on) == ("in_progress", None)
        move(s, t.id, "resolve", D(2026, 3, 20), resolution="增容已送电")
        move(s, t.id, "close", D(2026, 3, 21))
        assert _code(move, s, t.id, "resolve", D(2026, 3, 22), resolution="x") == (
            "ticket.transition"
        )
        assert _code(move, s, t.id, "fly", D(2026, 3, 22)) == "ticket.action_unknown"
        s.commit()
        (data,) = tickets.list_tickets(s, D(2026, 3, 31), with_history=True)
        assert [(h["action"], h["from"], h["to"], h["department"]) for h in data["history"]] == [
            ("raise", None, "open", "gdj"),
            ("accept", "open", "in_progress", "gdj"),
            ("reroute", "in_progress", "open", "fgw"),
            ("resolve", "open", "resolved", "fgw"),
            ("reopen", "resolved", "in_progress", "fgw"),
            ("resolve", "in_progress", "resolved", "fgw"),
            ("close", "resolved", "closed", "fgw"),
        ]
        assert (data["status"], data["resolution"], data["resolved_on"]) == (
            "closed",
            "增容已送电",
            "2026-03-20",
        )
        # as of an earlier day the history gives the state of that day
        (before,) = tickets.list_tickets(s, D(2026, 3, 11))
        assert (before["status"], before["resolved_on"], before["department"]) == (
            "resolved",
            "2026-03-10",
            "fgw",
        )
        actions = s.scalars(
            select(AuditLog.action).where(AuditLog.object_type == "ticket").order_by(AuditLog.id)
        ).all()
        assert actions[0] == "ticket.raise" and actions[-1] == "ticket.close" and len(actions) == 7


def test_raise_refusals_and_scope(engine: Engine) -> None:
    with Session(engine) as s:
        pid, other = _setup(s)
        day = D(2026, 3, 2)
        raise_ = tickets.raise_ticket
        assert _code(raise_, s, pid, "x", "nobody", day) == "ticket.department_unknown"
        assert _code(raise_, s, pid, "x", "zrzy", day, category="天气") == (
            "ticket.category_unknown"
        )
        assert _code(raise_, s, pid, " ", "zrzy", day) == "ticket.title"
        assert _code(raise_, s, pid, "x", "zrzy", day, raised_by_role="bank") == (
            "ticket.raised_by"
        )
        assert _code(raise_, s, pid, "x", "zrzy", day, due_date=D(2026, 3, 1)) == (
            "ticket.due_past"
        )
        assert _code(raise_, s, pid, "x", "zrzy", D(2026, 1, 4)) == "ticket.before_signed"
        # an agent not responsible for the project, an enterprise user of another firm
        assert _code(raise_, s, pid, "x", "zrzy", day, user="agent_b") == "ticket.scope"
        assert _code(
            raise_, s, pid, "x", "zrzy", day, user="ent_b", raised_by_role="enterprise"
        ) == ("ticket.scope")
        assert _code(raise_, s, pid, "x", "zrzy", day, user="ent_a") == "ticket.role"
        t = raise_(s, pid, "厂房验收慢", "zjj", day, user="ent_a", raised_by_role="enterprise")
        assert t.raised_by == "ent_a"
        assert _code(raise_, s, other, "x", "zrzy", day, user="agent_a") == "ticket.scope"


def test_statistics_hand_checked(engine: Engine) -> None:
    with Session(engine) as s:
        pid, other = _setup(s)
        r = tickets.raise_ticket
        move = tickets.transition
        # #1 zrzy, raised 03-01 due 03-16, resolved 03-10: on time
        t1 = r(s, pid, "用地", "zrzy", D(2026, 3, 1), category="用地")
        move(s, t1.id, "resolve", D(2026, 3, 10), resolution="ok")
        # #2 zrzy, raised 03-01 due 03-05, resolved 03-20: late (19 days to resolve)
        t2 = r(s, pid, "规划", "zrzy", D(2026, 3, 1), due_date=D(2026, 3, 5))
        move(s, t2.id, "resolve", D(2026, 3, 20), resolution="ok")
        # #3 zjj, raised 03-02 due 03-31, accepted, still open: overdue from 04-01
        t3 = r(s, other, "验收", "zjj", D(2026, 3, 2), due_date=D(2026, 3, 31))
        move(s, t3.id, "accept", D(2026, 3, 3))
        # #4 sthj → rerouted to fgw, raised 03-05 due 03-20, open: overdue from 03-21
        t4 = r(s, other, "环评", "sthj", D(2026, 3, 5), due_date=D(2026, 3, 20))
        move(s, t4.id, "reroute", D(2026, 3, 6), department="fgw")
        # #5 raised after the statistics day: not counted
        r(s, pid, "后来的", "zjj", D(2026, 4, 2))
        s.commit()

        st = tickets.stats(s, D(2026, 4, 1))
        # raised 4; resolved 2 (#1, #2); open 2; overdue 2 (#3 due 03-31, #4 due 03-20);
        # resolved late 1 (#2); mean days to resolve (9 + 19) / 2 = 14.0
        assert {k: st[k] for k in ("raised", "resolved", "open", "overdue", "resolved_late")} == {
            "raised": 4,
            "resolved": 2,
            "open": 2,
            "overdue": 2,
            "resolved_late": 1,
        }
        assert st["mean_days_to_resolve"] == 14.0
        by = {d["department"]: d for d in st["by_department"]}
        assert sorted(by) == ["fgw", "zjj", "zrzy"]  # #4 counts where it is now (fgw)
        assert (by["zrzy"]["raised"], by["zrzy"]["resolved"], by["zrzy"]["resolved_late"]) == (
            2,
            2,
            1,
        )
        assert (by["zjj"]["open"], by["zjj"]["overdue"]) == (1, 1)
        assert (by["fgw"]["name"], by["fgw"]["overdue"]) == ("发展和改革委员会", 1)

        # one day earlier, 03-31: #3 is due that day, not yet overdue
        assert tickets.stats(s, D(2026, 3, 31))["overdue"] == 1
        # on 03-15 #2 was overdue (due 03-05, unresolved); #1 was resolved
        mid = tickets.stats(s, D(2026, 3, 15))
        assert (mid["resolved"], mid["overdue"], mid["raised"]) == (1, 1, 4)
        assert tickets.stats(s, D(2026, 4, 1), since=D(2026, 3, 2))["raised"] == 2
        overdue = tickets.list_tickets(s, D(2026, 4, 1), overdue=True)
        assert [(t["id"], t["days_overdue"]) for t in overdue] == [(t3.id, 1), (t4.id, 12)]
        assert [t["id"] for t in tickets.list_tickets(s, D(2026, 4, 1), department="fgw")] == [
            t4.id
        ]
