"""异议 (appeals): one open appeal per figure, one decision per appeal (issue 13, point 16).

Before: two open appeals on the same figure could both be accepted, so the corrected value
recorded on the first differed from the effective value; two officers deciding one appeal at
once could both accept it, leaving two current facts. Checked sequentially and with two real
concurrent writers (threads, each with its own engine and session, held at their first write
until both have read), on SQLite and PostgreSQL. The store is the web fixtures' enterprises with
a published 2024 亩均 run (tests/domain_fixtures.py); the disputed figure is the 2024 tax of
USCC_WX, 321.5 万元.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from industry_brain.core.errors import IBError
from industry_brain.domains.mujun import appeals
from industry_brain.domains.mujun.models import MujunAppeal
from industry_brain.store import facts as store_facts
from industry_brain.store.db import make_engine
from industry_brain.store.models import Enterprise, Fact
from tests.domain_fixtures import seed_domains
from tests.web_fixtures import USCC_WX, seed

WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    seed_domains(engine)
    return engine


def _file(s: Session, claimed: float, by: str = "ent_wx") -> MujunAppeal:
    return appeals.file(s, USCC_WX, 2024, "tax", "含补缴税款", by, claimed)


def _current_tax(engine: Engine) -> list[float]:
    """Values of the current (not superseded) 2024 tax facts of USCC_WX."""
    with Session(engine) as s:
        eid = s.scalar(select(Enterprise.id).where(Enterprise.uscc == USCC_WX))
        return sorted(
            s.scalars(
                select(Fact.value).where(
                    Fact.enterprise_id == eid,
                    Fact.year == 2024,
                    Fact.item == "tax_paid",
                    Fact.superseded_by.is_(None),
                )
            )
        )


def _accepted_agree_with_store(engine: Engine) -> None:
    """The last accepted appeal's corrected value is the effective figure, the only current one."""
    with Session(engine) as s:
        accepted = s.scalars(
            select(MujunAppeal).where(MujunAppeal.status == "accepted").order_by(MujunAppeal.id)
        ).all()
        effective = store_facts.explain(s, USCC_WX, 2024, "tax_paid")["value"]
    assert accepted, "no appeal was accepted"
    assert _current_tax(engine) == [accepted[-1].corrected_value]
    assert effective == pytest.approx(accepted[-1].corrected_value)


def test_a_second_open_appeal_on_the_same_figure_is_refused(store: Engine) -> None:
    with Session(store) as s:
        first = _file(s, 500.0)
        s.commit()
        with pytest.raises(IBError) as refused:
            _file(s, 600.0, by="ent_wx_again")
        assert refused.value.code == "mujun.appeal_open"
        assert refused.value.problem.value == first.id
        s.rollback()
        appeals.decide(s, first.id, True, "核实完税证明", "officer_wx")
        s.commit()
        # once decided, the figure can be disputed again, against the corrected value
        second = _file(s, 650.0)
        assert second.disputed_value == pytest.approx(500.0)
        appeals.decide(s, second.id, True, "再次核实", "officer_wx")
        s.commit()
    _accepted_agree_with_store(store)
    assert _current_tax(store) == [650.0]


def _race(url: str, writers: dict[str, Callable[[Session], object]]) -> dict[str, str]:
    """Run the writers in threads; each is held at its first write statement until every
    writer has done its reads. Returns writer → "ok" or the error code."""
    barrier = threading.Barrier(len(writers))
    outcome: dict[str, str] = {}

    def work(name: str, write: Callable[[Session], object]) -> None:
        engine = make_engine(url)
        held = {"done": False}

        @event.listens_for(engine, "before_cursor_execute")
        def hold(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
            if not held["done"] and statement.lstrip().upper().startswith(WRITES):
                held["done"] = True
                barrier.wait(timeout=20)

        try:
            with Session(engine) as session:
                try:
                    write(session)
                    session.commit()
                    outcome[name] = "ok"
                except IBError as exc:
                    session.rollback()
                    outcome[name] = exc.code
        except Exception as exc:  # surfaced by the assertions
            outcome[name] = f"unexpected {type(exc).__name__}: {exc}"
        finally:
            engine.dispose()

    threads = [threading.Thread(target=work, args=item) for item in writers.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcome


def test_two_appeals_filed_at_once_leave_one_open(store: Engine, db_url: str) -> None:
    outcome = _race(
        db_url,
        {
            "a": lambda s: _file(s, 500.0, by="a"),
            "b": lambda s: _file(s, 600.0, by="b"),
        },
    )
    assert sorted(outcome.values()) == ["mujun.appeal_open", "ok"], outcome
    winner = next(k for k, v in outcome.items() if v == "ok")
    with Session(store) as s:
        open_ = s.scalars(select(MujunAppeal).where(MujunAppeal.status == "open")).all()
        assert [a.filed_by for a in open_] == [winner]
        appeals.decide(s, open_[0].id, True, "核实", "officer_wx")
        s.commit()
    _accepted_agree_with_store(store)


def test_two_officers_deciding_one_appeal_at_once(store: Engine, db_url: str) -> None:
    with Session(store) as s:
        appeal_id = _file(s, 500.0).id
        s.commit()
    for _ in range(2):  # bounded repetition: a second appeal after the first is decided
        outcome = _race(
            db_url,
            {
                "x": lambda s, i=appeal_id: appeals.decide(s, i, True, "核实", "x", 510.0),
                "y": lambda s, i=appeal_id: appeals.decide(s, i, True, "核实", "y", 520.0),
            },
        )
        assert sorted(outcome.values()) == ["mujun.appeal_decided", "ok"], outcome
        winner = next(k for k, v in outcome.items() if v == "ok")
        with Session(store) as s:
            appeal = s.get(MujunAppeal, appeal_id)
            assert (appeal.status, appeal.decided_by) == ("accepted", winner)
            assert appeal.corrected_value == {"x": 510.0, "y": 520.0}[winner]
            appeal_id = _file(s, 530.0).id
            s.commit()
        _accepted_agree_with_store(store)


def test_a_reject_and_an_accept_at_once(store: Engine, db_url: str) -> None:
    with Session(store) as s:
        appeal_id = _file(s, 500.0).id
        s.commit()
    outcome = _race(
        db_url,
        {
            "accept": lambda s: appeals.decide(s, appeal_id, True, "核实", "x", 500.0),
            "reject": lambda s: appeals.decide(s, appeal_id, False, "证据不足", "y"),
        },
    )
    assert sorted(outcome.values()) == ["mujun.appeal_decided", "ok"], outcome
    with Session(store) as s:
        appeal = s.get(MujunAppeal, appeal_id)
    if outcome["accept"] == "ok":
        assert appeal.status == "accepted"
        assert _current_tax(store) == [500.0]
    else:
        assert (appeal.status, appeal.fact_id) == ("rejected", None)
        assert _current_tax(store) == [321.5]
