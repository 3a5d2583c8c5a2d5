"""Every date a command takes (``--today``, ``--on``, ``--expires``, ``--start``…) is read by
one parser (``cli_support.parse_day``): a date that does not exist is refused with the code
``cli.date``, the option's name and the value, in Chinese and English — exit 2, no traceback,
nothing written — through the console script's entry point (``industry_brain.cli.main``), as a
user typing the command sees it."""

from __future__ import annotations

import sys
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.cli_support import day_or_today, parse_day
from industry_brain.core.errors import ValidationError
from industry_brain.store.models import AuditLog

USCC = "91330502MA2B3C4D1U"

# (arguments, the option — or argument — whose date is bad): a command of each group taking a date
CASES = [
    (["params", "show", "mujun", "--on", "2026-02-30"], "--on"),
    (["reference", "regions", "--on", "2026-13-01"], "--on"),
    (["tiers", "warnings", "--today", "2026-13-01"], "--today"),
    (["projects", "warnings", "--today", "yesterday"], "--today"),
    (["programmes", "loans", "--today", "2026-00-10"], "--today"),
    (
        [
            "carbon",
            "consent",
            "grant",
            USCC,
            "--bank",
            "b",
            "--scope",
            "grade",
            "--expires",
            "2026-02-30",
        ],
        "--expires",
    ),
    (["carbon", "verify", "x", "--on", "31/12/2026"], "--on"),
    (["matches", "run", "--on", "2026-1-1x"], "--on"),
    (
        ["ids", "battery", "generate", "A1B", "P", "B", "01", "HZ00001", "2026-02-29", "42"],
        "PRODUCED",
    ),
]


def test_the_parser():
    assert parse_day(" 2026-02-28 ", "--on") == date(2026, 2, 28)
    with pytest.raises(ValidationError) as info:
        parse_day("2026-02-29", "--expires")  # 2026 is no leap year
    problem = info.value.problem
    assert problem.code == "cli.date" and problem.location.field == "--expires"
    assert "2026-02-29" in problem.zh and "YYYY-MM-DD" in problem.zh
    assert "--expires" in problem.en and "2026-02-29" in problem.en


def test_today_is_the_platforms_unless_given(monkeypatch):
    monkeypatch.setenv("IB_TODAY", "2026-03-15")
    assert day_or_today(None) == date(2026, 3, 15)
    assert day_or_today("2025-01-02") == date(2025, 1, 2)
    with pytest.raises(ValidationError):
        day_or_today("2025-02-30", "--on")


@pytest.mark.parametrize(("args", "option"), CASES, ids=[" ".join(c[0][:2]) for c in CASES])
def test_a_date_that_does_not_exist_is_refused_in_both_languages(
    args, option, sqlite_engine, monkeypatch, capsys
):
    from industry_brain.cli import main

    monkeypatch.setenv("IB_DATABASE_URL", sqlite_engine.url.render_as_string(False))
    monkeypatch.setenv("COLUMNS", "300")
    with Session(sqlite_engine) as s:
        audited = s.scalar(select(func.count()).select_from(AuditLog))
    monkeypatch.setattr(sys, "argv", ["industry-brain", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    out = capsys.readouterr()
    text = " ".join(out.err.split())
    assert "Traceback" not in out.err + out.out
    bad = args[args.index(option) + 1] if option.startswith("--") else "2026-02-29"
    assert "cli.date" in text and option in text and bad in text
    assert "无效" in text and "is not a date" in text
    with Session(sqlite_engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditLog)) == audited
