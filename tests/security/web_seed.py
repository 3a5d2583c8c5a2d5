"""A store for the web security tests: the web fixtures' enterprises and users of every role,
the hand-made 亩均 and carbon results, an accepted 亩均 appeal's batch (the kind ``appeal`` that
once broke the cockpit), a bank consent covering only ``grade`` and a platform token of the
bank."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.domains.carbon import access
from industry_brain.store.models import ImportBatch, User
from industry_brain.web import auth
from tests.domain_fixtures import seed_domains
from tests.web_fixtures import USCC_WX, seed

TODAY = date(2026, 11, 27)


@dataclass
class Store:
    bank_token: str


def seed_security(engine: Engine) -> Store:
    seed(engine)
    seed_domains(engine)
    with Session(engine) as s:
        # the batch mujun.appeals.decide writes when an officer accepts an appeal
        s.add(
            ImportBatch(
                kind="appeal",
                department="appeal",
                file_name="异议#1",
                file_hash="b" * 64,
                year=2024,
                status="committed",
                rows_total=1,
                rows_loaded=1,
                rows_rejected=0,
                options={"appeal_id": 1},
                summary={},
            )
        )
        access.grant(
            s,
            USCC_WX,
            "bank",
            ["grade"],
            TODAY + timedelta(days=30),
            by_username="ent_wx",
            today=TODAY,
        )
        bank = s.scalars(select(User).where(User.username == "bank")).one()
        token = auth.create_api_token(s, bank.id, "matrix")
        s.commit()
    return Store(bank_token=token)
