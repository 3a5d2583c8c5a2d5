"""项目钉 stage machine on SQLite and PostgreSQL: registration, every transition rule of
advance / correct / undo, progress reports, audit and history. The clock is frozen: every
call gets ``today`` explicitly."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.core import uscc
from industry_brain.core.errors import ConflictError, NotFoundError, ValidationError
from industry_brain.domains.projects import stages
from industry_brain.domains.projects.models import ProgressReport, StageEvent
from industry_brain.store.models import AuditLog, Enterprise, Project, User

TODAY = date(2026, 11, 27)
NEW_CO = uscc.make("91330502MA2PJ0010")  # not in the registry: a company set up for the project


def _agent(session: Session, name: str = "agent_330502_01") -> User:
    user = User(username=name, display_name="代办员", role="agent", county_code="330502")
    session.add(user)
    session.flush()
    return user


def _project(session: Session, code: str = "HZXM-T-001", **kw) -> Project:
    args = {
        "code": code,
        "name": "年产5万台电机项目",
        "investor_uscc": NEW_CO,
        "investor_name": "湖州新电机有限公司",
        "county_code": "330502",
        "planned_investment": 52000.0,
        "signed_on": date(2026, 1, 10),
        "today": TODAY,
        "industry_code": "3811",
        "actor": "tester",
    }
    args.update(kw)
    return stages.create_project(session, **args)


def _code(fn, *args, **kw) -> str:
    with pytest.raises((ValidationError, ConflictError)) as exc:
        fn(*args, **kw)
    return exc.value.code


def test_create_new_company_and_existing_enterprise(engine: Engine) -> None:
    with Session(engine) as s:
        agent = _agent(s)
        p = _project(s, agent="agent_330502_01", land_transfer_date=date(2026, 2, 1))
        assert (p.stage, p.actual_signed, p.version) == ("signed", date(2026, 1, 10), 1)
        assert p.enterprise_id is None and p.investor_name == "湖州新电机有限公司"
        assert p.agent_id == agent.id
        # lower-case, full-width USCC input is normalised
        ent = Enterprise(uscc=uscc.make("91330502MA2PJ0020"), name="湖州老厂有限公司")
        s.add(ent)
        s.flush()
        q = _project(s, "HZXM-T-002", investor_uscc=" " + ent.uscc.lower(), investor_name=None)
        assert q.enterprise_id == ent.id and q.investor_uscc == ent.uscc
        s.commit()
        events = s.scalars(select(StageEvent).where(StageEvent.project_id == p.id)).all()
        assert [(e.action, e.stage, e.new_date) for e in events] == [
            ("create", "signed", date(2026, 1, 10))
        ]


def test_create_rejects_bad_input(engine: Engine) -> None:
    with Session(engine) as s:
        _project(s)
        assert _code(_project, s, "HZXM-T-001") == "project.duplicate_code"
        assert _code(_project, s, "X2", investor_name=None) == "project.investor_name_required"
        assert _code(_project, s, "X3", county_code="330500") == "project.county_unknown"
        assert _code(_project, s, "X4", industry_code="9999") == "project.industry_unknown"
        assert _code(_project, s, "X5", project_type="mining") == "project.type_unknown"
        assert _code(_project, s, "X6", planned_investment=0) == "project.investment"
        assert _code(_project, s, "X7", signed_on=date(2026, 11, 28)) == "project.date_future"
        assert _code(_project, s, "X8", investor_uscc=NEW_CO[:-1] + "0") == "uscc.checksum"
        s.add(User(username="bank_x", display_name="银行", role="bank"))
        s.flush()
        assert _code(_project, s, "X9", agent="bank_x") == "project.agent_role"


def test_advance_forward_one_stage_at_a_time(engine: Engine) -> None:
    with Session(engine) as s:
        pid = _project(s).id
        s.commit()
        plan = [
            ("started", date(2026, 3, 1)),
            ("竣工", date(2026, 6, 30)),  # Chinese stage names are accepted
            ("producing", date(2026, 6, 30)),  # the same day as the previous stage is allowed
            ("above_scale", date(2026, 9, 1)),
            ("at_capacity", TODAY),  # today itself is allowed
        ]
        for n, (stage, day) in enumerate(plan, start=2):
            p = stages.advance(s, pid, stage, day, TODAY, actor="tester")
            s.commit()
            assert p.version == n
        p = s.get(Project, pid)
        assert p.stage == "at_capacity"
        assert [getattr(p, f"actual_{x}") for x in stages.STAGES] == [
            date(2026, 1, 10),
            date(2026, 3, 1),
            date(2026, 6, 30),
            date(2026, 6, 30),
            date(2026, 9, 1),
            TODAY,
        ]
        history = stages.history(s, pid)
        assert [h["action"] for h in history] == ["create"] + ["advance"] * 5
        assert [h["version_after"] for h in history] == [1, 2, 3, 4, 5, 6]
        audit = s.scalars(
            select(AuditLog.action).where(AuditLog.object_id == "HZXM-T-001").order_by(AuditLog.id)
        ).all()
        assert audit == ["project.create"] + ["project.advance"] * 5
        # past the last stage
        assert _code(stages.advance, s, pid, "at_capacity", TODAY, TODAY) == "project.stage_final"


def test_advance_refusals(engine: Engine) -> None:
    with Session(engine) as s:
        pid = _project(s).id
        stages.advance(s, pid, "started", date(2026, 3, 1), TODAY)
        s.commit()
        # backward or the same stage: use correct
        assert _code(stages.advance, s, pid, "signed", TODAY, TODAY) == "project.stage_backward"
        assert _code(stages.advance, s, pid, "started", TODAY, TODAY) == "project.stage_backward"
        # skipping a stage
        assert _code(stages.advance, s, pid, "producing", TODAY, TODAY) == "project.stage_skip"
        assert _code(stages.advance, s, pid, "达产", TODAY, TODAY) == "project.stage_skip"
        # a date in the future (tomorrow) and a date before the previous stage (a day before)
        tomorrow = date(2026, 11, 28)
        assert _code(stages.advance, s, pid, "completed", tomorrow, TODAY) == "project.date_future"
        before = date(2026, 2, 28)
        assert (
            _code(stages.advance, s, pid, "completed", before, TODAY)
            == "project.date_before_previous"
        )
        assert _code(stages.advance, s, pid, "finished", TODAY, TODAY) == "project.stage_unknown"
        # a stale version read by the caller
        assert (
            _code(stages.advance, s, pid, "completed", TODAY, TODAY, expected_version=1)
            == "project.version_conflict"
        )
        p = s.get(Project, pid)
        assert (p.stage, p.version, p.actual_completed) == ("started", 2, None)


def test_correct_rules_and_audit(engine: Engine) -> None:
    with Session(engine) as s:
        pid = _project(s).id
        stages.advance(s, pid, "started", date(2026, 3, 1), TODAY)
        stages.advance(s, pid, "completed", date(2026, 8, 1), TODAY)
        s.commit()
        fix = stages.correct
        assert _code(fix, s, pid, "started", date(2026, 3, 2), "  ", TODAY) == (
            "project.reason_required"
        )
        assert _code(fix, s, pid, "producing", date(2026, 9, 1), "x", TODAY) == (
            "project.correct_unreached"
        )
        # not before the previous stage (签约 2026-01-10) nor after the next (竣工 2026-08-01)
        assert _code(fix, s, pid, "started", date(2026, 1, 9), "x", TODAY) == (
            "project.date_before_previous"
        )
        assert _code(fix, s, pid, "started", date(2026, 8, 2), "x", TODAY) == (
            "project.date_after_next"
        )
        assert _code(fix, s, pid, "completed", date(2026, 11, 28), "x", TODAY) == (
            "project.date_future"
        )
        assert _code(fix, s, pid, "signed", date(2026, 3, 2), "x", TODAY) == (
            "project.date_after_next"
        )
        assert _code(fix, s, pid, "started", date(2026, 3, 1), "x", TODAY) == (
            "project.correct_no_change"
        )
        # boundaries are allowed: equal to the neighbours' dates
        p = fix(s, pid, "started", date(2026, 1, 10), "许可证日期录入错误", TODAY, actor="officer")
        p = fix(s, pid, "started", date(2026, 8, 1), "以施工许可证为准", TODAY, actor="officer")
        p = fix(s, pid, "land_transfer", date(2025, 12, 20), "补录交地日期", TODAY, actor="officer")
        s.commit()
        assert (p.actual_started, p.land_transfer_date, p.stage, p.version) == (
            date(2026, 8, 1),
            date(2025, 12, 20),
            "completed",
            6,
        )
        corrections = [h for h in stages.history(s, pid) if h["action"] == "correct"]
        assert [(h["stage"], h["old_date"], h["new_date"], h["reason"]) for h in corrections] == [
            ("started", "2026-03-01", "2026-01-10", "许可证日期录入错误"),
            ("started", "2026-01-10", "2026-08-01", "以施工许可证为准"),
            ("land_transfer", None, "2025-12-20", "补录交地日期"),
        ]
        audit = s.scalars(
            select(AuditLog).where(AuditLog.action == "project.correct").order_by(AuditLog.id)
        ).all()
        assert [a.actor for a in audit] == ["officer"] * 3
        assert audit[0].detail["reason"] == "许可证日期录入错误"
        assert audit[0].detail["old"] == "2026-03-01"


def test_undo_last_stage(engine: Engine) -> None:
    with Session(engine) as s:
        pid = _project(s).id
        assert _code(stages.undo, s, pid, "误录", TODAY) == "project.undo_signed"
        stages.advance(s, pid, "started", date(2026, 3, 1), TODAY)
        assert _code(stages.undo, s, pid, "", TODAY) == "project.reason_required"
        p = stages.undo(s, pid, "开工误录", TODAY, actor="officer")
        s.commit()
        assert (p.stage, p.actual_started, p.version) == ("signed", None, 3)
        last = stages.history(s, pid)[-1]
        assert (last["action"], last["stage"], last["old_date"], last["stage_after"]) == (
            "undo",
            "started",
            "2026-03-01",
            "signed",
        )


def test_progress_reports(engine: Engine) -> None:
    with Session(engine) as s:
        pid = _project(s).id
        rep = stages.report_progress
        rep(s, pid, date(2026, 3, 31), 5000, TODAY, headcount=20, notes="桩基施工")
        rep(s, pid, date(2026, 9, 30), 21000, TODAY, output=0, headcount=60)
        rep(s, pid, date(2026, 6, 30), 12000, TODAY)  # between two reports, in order
        s.commit()
        assert [r["investment_completed"] for r in stages.reports(s, pid)] == [5000, 12000, 21000]
        assert _code(rep, s, pid, date(2026, 9, 30), 22000, TODAY) == "report.duplicate"
        assert _code(rep, s, pid, date(2026, 10, 31), 20000, TODAY) == (
            "report.investment_decreasing"
        )
        assert _code(rep, s, pid, date(2026, 8, 31), 25000, TODAY) == (
            "report.investment_decreasing"
        )
        assert _code(rep, s, pid, date(2026, 11, 28), 30000, TODAY) == "project.date_future"
        assert _code(rep, s, pid, date(2026, 1, 9), 0, TODAY) == "report.before_signed"
        assert _code(rep, s, pid, date(2026, 10, 31), 30000, TODAY, headcount=-1) == (
            "report.negative"
        )
        assert s.scalar(select(ProgressReport.notes).where(ProgressReport.headcount == 20)) == (
            "桩基施工"
        )


def test_list_and_lookup(engine: Engine) -> None:
    with Session(engine) as s:
        _agent(s)
        _project(s, agent="agent_330502_01")
        _project(s, "HZXM-T-002", county_code="330503")
        s.commit()
        assert [p["code"] for p in stages.list_projects(s, county="330503")] == ["HZXM-T-002"]
        rows = stages.list_projects(s, agent="agent_330502_01")
        assert [(p["code"], p["agent"], p["county"]) for p in rows] == [
            ("HZXM-T-001", "agent_330502_01", "吴兴区")
        ]
        assert stages.list_projects(s, stage="开工") == []
        assert stages.get_project(s, "HZXM-T-002").county_code == "330503"
        with pytest.raises(NotFoundError, match=r"project\.not_found"):
            stages.get_project(s, "HZXM-NONE")


def test_add_months_clamps_to_month_end() -> None:
    assert stages.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert stages.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert stages.add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert stages.add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert stages.add_months(date(2026, 3, 31), 10) == date(2027, 1, 31)
