"""破五未 warnings with a frozen clock: for each of the five kinds, the exact first day of yellow,
the deadline (last yellow day), the first red day, the last red day and the first black day.

Every expected date is worked out by hand in the comments from the shipped parameters
(projects.yaml): yellow_at 0.8; black after 10 months (签约未开工) or 6 months (others);
deadlines 签约未开工 2 months after land handover (industrial) or 6/3 months after signing,
开工未竣工 24/12, 竣工未投产 3, 投产未上规 24 after land handover or 24/12 after 投产,
上规未达产 36/24 months after 投产 (industrial / tech_upgrade).
"""

from __future__ import annotations

import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters, uscc
from industry_brain.domains.projects import stages, wuwei
from industry_brain.domains.projects.models import WarningSnapshot
from industry_brain.store.models import Project, User

D = date


def _project(stage: str, project_type: str = "industrial", **dates: date) -> Project:
    p = Project(
        id=1,
        code="HZXM-W-1",
        name="测试项目",
        investor_uscc=uscc.make("91330502MA2PJ0030"),
        county_code="330502",
        project_type=project_type,
        planned_investment=10000.0,
        stage=stage,
    )
    for key, value in dates.items():
        setattr(p, key, value)
    return p


def _colour(p: Project, day: date) -> str | None:
    w = wuwei.evaluate(p, day)
    return None if w is None else w.colour


# (case id, project, deadline, first yellow day, first black day, kind, anchor)
CASES = [
    # 签约未开工, land handed over 2026-01-31: deadline +2 months = 2026-03-31 (T = 59 days:
    # 28 in Feb + 31 in Mar); yellow from +ceil(0.8 × 59 = 47.2) = 48 days = 2026-03-20;
    # black after 2026-03-31 + 10 months = 2027-01-31, i.e. from 2027-02-01
    (
        "not_started/land",
        _project("signed", actual_signed=D(2026, 1, 5), land_transfer_date=D(2026, 1, 31)),
        D(2026, 3, 31),
        D(2026, 3, 20),
        D(2027, 2, 1),
        "签约未开工",
        "land_transfer",
    ),
    # 签约未开工 without land handover: 6 months after signing 2025-08-31 → 2026-02-28
    # (clamped); T = 181 days (Sep 30 + Oct 31 + Nov 30 + Dec 31 + Jan 31 + Feb 28);
    # yellow from +ceil(144.8) = 145 days = 2026-01-23; black from 2026-12-29 (Dec 28 + 1)
    (
        "not_started/signed",
        _project("signed", actual_signed=D(2025, 8, 31)),
        D(2026, 2, 28),
        D(2026, 1, 23),
        D(2026, 12, 29),
        "签约未开工",
        "signed",
    ),
    # 签约未开工, technical upgrade: land handover does not apply (null), 3 months after signing
    # 2026-01-15 → 2026-04-15; T = 90; yellow from +72 days = 2026-03-28; black from 2027-02-16
    (
        "not_started/upgrade",
        _project(
            "signed",
            "tech_upgrade",
            actual_signed=D(2026, 1, 15),
            land_transfer_date=D(2026, 1, 20),
        ),
        D(2026, 4, 15),
        D(2026, 3, 28),
        D(2027, 2, 16),
        "签约未开工",
        "signed",
    ),
    # 开工未竣工, started on the leap day 2024-02-29: +24 months = 2026-02-28; T = 730;
    # yellow from +584 days = 2025-10-05; black after 2026-08-28, i.e. from 2026-08-29
    (
        "not_completed",
        _project("started", actual_signed=D(2023, 12, 1), actual_started=D(2024, 2, 29)),
        D(2026, 2, 28),
        D(2025, 10, 5),
        D(2026, 8, 29),
        "开工未竣工",
        "started",
    ),
    # 竣工未投产, technical upgrade completed 2025-11-30: +3 months = 2026-02-28; T = 90;
    # yellow from +72 days = 2026-02-10; black from 2026-08-29
    (
        "not_producing",
        _project(
            "completed",
            "tech_upgrade",
            actual_signed=D(2025, 1, 2),
            actual_started=D(2025, 3, 1),
            actual_completed=D(2025, 11, 30),
        ),
        D(2026, 2, 28),
        D(2026, 2, 10),
        D(2026, 8, 29),
        "竣工未投产",
        "completed",
    ),
    # 投产未上规, land handed over 2023-05-15: +24 months = 2025-05-15; T = 731 (2024 is a leap
    # year); yellow from +ceil(584.8) = 585 days = 2024-12-20; black from 2025-11-16
    (
        "not_above_scale/land",
        _project(
            "producing",
            actual_signed=D(2023, 4, 1),
            land_transfer_date=D(2023, 5, 15),
            actual_started=D(2023, 6, 1),
            actual_completed=D(2024, 6, 1),
            actual_producing=D(2024, 9, 1),
        ),
        D(2025, 5, 15),
        D(2024, 12, 20),
        D(2025, 11, 16),
        "投产未上规",
        "land_transfer",
    ),
    # 投产未上规, technical upgrade producing 2025-03-31: +12 months = 2026-03-31; T = 365;
    # yellow from +292 days = 2026-01-17; black after 2026-09-30, i.e. from 2026-10-01
    (
        "not_above_scale/producing",
        _project(
            "producing",
            "tech_upgrade",
            actual_signed=D(2024, 6, 1),
            actual_started=D(2024, 7, 1),
            actual_completed=D(2025, 1, 1),
            actual_producing=D(2025, 3, 31),
        ),
        D(2026, 3, 31),
        D(2026, 1, 17),
        D(2026, 10, 1),
        "投产未上规",
        "producing",
    ),
    # 上规未达产, producing 2023-01-10: +36 months = 2026-01-10; T = 1096; yellow from
    # +ceil(876.8) = 877 days = 2025-06-05; black after 2026-07-10, i.e. from 2026-07-11
    (
        "not_at_capacity",
        _project(
            "above_scale",
            actual_signed=D(2020, 1, 1),
            actual_started=D(2020, 6, 1),
            actual_completed=D(2022, 1, 1),
            actual_producing=D(2023, 1, 10),
            actual_above_scale=D(2024, 3, 1),
        ),
        D(2026, 1, 10),
        D(2025, 6, 5),
        D(2026, 7, 11),
        "上规未达产",
        "producing",
    ),
]


@pytest.mark.parametrize(
    ("project", "deadline", "yellow", "black", "kind", "anchor"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_colour_boundaries(project, deadline, yellow, black, kind, anchor) -> None:
    one = timedelta(days=1)
    assert _colour(project, yellow - one) is None  # the day before yellow: no warning
    assert _colour(project, yellow) == "yellow"  # first yellow day
    assert _colour(project, deadline) == "yellow"  # the deadline itself is still yellow
    assert _colour(project, deadline + one) == "red"  # first overdue day
    assert _colour(project, black - one) == "red"  # last red day
    assert _colour(project, black) == "black"  # first black day
    w = wuwei.evaluate(project, deadline + one)
    data = w.to_dict()
    assert (data["kind"], data["anchor"], data["deadline"]) == (kind, anchor, deadline.isoformat())
    assert (data["days_overdue"], data["days_left"]) == (1, 0)
    assert wuwei.evaluate(project, yellow).days_left == (deadline - yellow).days
    assert wuwei.evaluate(project, black).days_overdue == (black - deadline).days
    assert data["explain"]["parameters"][0]["key"].endswith(".anchors")


def test_days_overdue_hand_checked() -> None:
    # 签约未开工 of the first case on its first black day 2027-02-01: 2026-03-31 → 2027-02-01
    # = 275 days to the end of 2026 + 31 + 1 = 307 days overdue
    project = CASES[0][1]
    assert wuwei.evaluate(project, D(2027, 2, 1)).days_overdue == 307


def test_reaching_the_milestone_clears_and_at_capacity_has_none() -> None:
    p = _project("signed", actual_signed=D(2025, 8, 31))
    assert _colour(p, D(2026, 6, 1)) == "red"
    p.stage, p.actual_started = "started", D(2026, 6, 1)
    # now 开工未竣工 counts from 开工: 24 months, nowhere near
    assert _colour(p, D(2026, 6, 1)) is None
    done = _project("at_capacity", actual_signed=D(2000, 1, 1))
    assert wuwei.evaluate(done, D(2030, 1, 1)) is None


def _override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str) -> None:
    (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.setenv("IB_PARAMETERS_DIR", str(tmp_path))
    parameters.load(reload=True)


def test_regional_and_dated_deadlines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 南浔区 (330503) shortens 开工未竣工 to 12 months for projects started from 2026-01-01;
    # the months in force on the anchor date (开工) apply.
    _override(
        tmp_path,
        monkeypatch,
        "projects.330503.yaml",
        """
        deadlines:
          not_completed:
            started:
              source: test override
              values:
                - since: 2026-01-01
                  value: {industrial: 12, tech_upgrade: 6}
        """,
    )
    early = _project("started", actual_signed=D(2025, 1, 1), actual_started=D(2025, 12, 31))
    late = _project("started", actual_signed=D(2025, 1, 1), actual_started=D(2026, 1, 1))
    for p in (early, late):
        p.county_code = "330503"
    assert wuwei.deadline_of(early, D(2026, 6, 1)).deadline == D(2027, 12, 31)  # base 24
    rule = wuwei.deadline_of(late, D(2026, 6, 1))
    assert rule.deadline == D(2027, 1, 1)  # 12 months (regional, dated)
    assert rule.params[1]["region"] == "330503" and rule.params[1]["source"] == "test override"
    elsewhere = _project("started", actual_signed=D(2025, 1, 1), actual_started=D(2026, 1, 1))
    assert wuwei.deadline_of(elsewhere, D(2026, 6, 1)).deadline == D(2028, 1, 1)


# -- on the store: lists per county and per agent, daily snapshot -----------------------------
def _store_project(s: Session, code: str, county: str, agent: User | None, **kw) -> Project:
    p = stages.create_project(
        s,
        code=code,
        name=f"项目{code}",
        investor_uscc=uscc.make("91330502MA2PJ" + code[-3:] + "0"),
        investor_name=f"新公司{code}",
        county_code=county,
        planned_investment=8000,
        signed_on=kw.pop("signed_on"),
        today=D(2026, 11, 27),
        agent=agent.username if agent else None,
        **kw,
    )
    return p


def test_lists_per_county_and_agent_and_snapshot(engine: Engine) -> None:
    today = D(2026, 11, 27)
    with Session(engine) as s:
        a1 = User(username="agent_a", display_name="甲", role="agent", county_code="330502")
        a2 = User(username="agent_b", display_name="乙", role="agent", county_code="330503")
        s.add_all([a1, a2])
        s.flush()
        # signed 2026-05-27, 6 months → deadline 2026-11-27 (today): yellow
        _store_project(s, "P-001", "330502", a1, signed_on=D(2026, 5, 27))
        # signed 2026-05-26 → deadline 2026-11-26: red, 1 day overdue
        _store_project(s, "P-002", "330502", a2, signed_on=D(2026, 5, 26))
        # signed 2025-01-01 → deadline 2025-07-01, black after 2026-05-01: black
        _store_project(s, "P-003", "330503", a2, signed_on=D(2025, 1, 1))
        # signed 2026-10-01: nothing yet
        _store_project(s, "P-004", "330503", None, signed_on=D(2026, 10, 1))
        # 开工未竣工 on time, then nothing
        p5 = _store_project(s, "P-005", "330503", a1, signed_on=D(2026, 1, 1))
        stages.advance(s, p5.id, "started", D(2026, 3, 1), today)
        s.commit()

        found = wuwei.compute(s, today)
        assert [(w.code, w.colour, w.days_overdue) for w in found] == [
            ("P-003", "black", 514),  # 2025-07-01 → 2026-11-27: 184 + 330 days
            ("P-002", "red", 1),
            ("P-001", "yellow", 0),
        ]
        assert [w.code for w in wuwei.compute(s, today, county="330502")] == ["P-002", "P-001"]
        assert [w.code for w in wuwei.compute(s, today, agent="agent_b")] == ["P-003", "P-002"]
        assert [w.code for w in wuwei.compute(s, today, colour="红")] == ["P-002"]
        assert [w.code for w in wuwei.compute(s, today, kind="开工未竣工")] == []
        by_county = wuwei.grouped(s, found, "county")
        assert [(g["name"], g["yellow"], g["red"], g["black"]) for g in by_county] == [
            ("南浔区", 0, 0, 1),
            ("吴兴区", 1, 1, 0),
        ]
        by_agent = wuwei.grouped(s, found, "agent")
        assert [(g["name"], g["total"]) for g in by_agent] == [("agent_b", 2), ("agent_a", 1)]
        assert wuwei.counts(found)["签约未开工"] == {"yellow": 1, "red": 1, "black": 1}

        snap = wuwei.refresh(s, today)
        s.commit()
        assert snap["warnings"] == 3
        # the next day: P-001 turns red; a second refresh of one day replaces, never duplicates
        wuwei.refresh(s, today + timedelta(days=1))
        wuwei.refresh(s, today + timedelta(days=1))
        s.commit()
        rows = s.scalars(select(WarningSnapshot).order_by(WarningSnapshot.id)).all()
        assert len(rows) == 6
        first = {r["project_id"]: r["colour"] for r in wuwei.snapshot(s, today)}
        second = {r["project_id"]: r["colour"] for r in wuwei.snapshot(s, D(2026, 11, 28))}
        ids = {c: s.scalar(select(Project.id).where(Project.code == c)) for c in ("P-001",)}
        assert first[ids["P-001"]] == "yellow" and second[ids["P-001"]] == "red"
