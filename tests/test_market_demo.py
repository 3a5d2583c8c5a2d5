"""The market on the small demo city through the main job: the demo hook's deterministic seed
(12 providers, 42 solutions, 38 published, 7 versions awaiting review, 3 provider users), leads
of diagnosed firms through every outcome with ratings only after delivery, the batch matching
and the headline figures."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.domains.market import demo_hook, matching
from industry_brain.domains.market.models import (
    MarketLead,
    MarketProvider,
    MarketProviderUser,
    MarketRating,
    MarketSolution,
    MarketSolutionVersion,
)
from industry_brain.store.db import make_engine
from industry_brain.store.models import User
from tests.shared_demo import small_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):  # type: ignore[no-untyped-def]
    run, url, _out = small_demo(tmp_path_factory, "market-demo")
    engine = make_engine(url)
    yield run, engine
    engine.dispose()


def test_demo_seed_leads_and_headline(demo) -> None:  # type: ignore[no-untyped-def]
    run, engine = demo
    summary = run.services["market"]
    seeded = summary["seeded"]
    # 42 solutions; j % 10 == 9 (4) stay unpublished; j % 13 == 4 among the rest (4, 17, 30)
    # get a second version awaiting review
    assert (seeded["providers"], seeded["solutions"], seeded["published"], seeded["pending"]) == (
        12,
        42,
        38,
        7,
    )
    with Session(engine) as s:
        assert s.scalar(select(func.count(MarketProvider.id))) == 12
        assert (
            s.scalar(
                select(func.count(MarketSolution.id)).where(
                    MarketSolution.published_version.is_not(None)
                )
            )
            == 38
        )
        pending = s.scalar(
            select(func.count(MarketSolutionVersion.id)).where(
                MarketSolutionVersion.review_status == "pending"
            )
        )
        assert pending == 7
        users = s.execute(
            select(User.username, MarketProviderUser.provider_id)
            .join(MarketProviderUser, MarketProviderUser.user_id == User.id)
            .order_by(User.username)
        ).all()
        assert [u for u, _ in users] == ["provider_01", "provider_02", "provider_03"]
        leads = s.scalars(select(MarketLead).order_by(MarketLead.id)).all()
        # each provider with a demo user has a requested, a contacted and a contracted lead
        for _, pid in users:
            own = sorted(lead.status for lead in leads if lead.provider_id == pid)
            assert own == ["contacted", "contracted", "requested"], (pid, own)
        assert len(leads) == seeded["leads"] > 0
        statuses = {lead.status for lead in leads}
        assert statuses <= {"requested", "contacted", "contracted", "delivered", "declined"}
        ratings = s.scalars(select(MarketRating)).all()
        delivered = {lead.id for lead in leads if lead.status == "delivered"}
        assert ratings and {r.lead_id for r in ratings} == delivered  # once, after delivery
        for lead in leads:
            # diagnosed firms only: their weak sub-domains, or none below the target level
            assert lead.reason.startswith(("弱项", "诊断无低于目标等级的子域"))
            if lead.status in ("contracted", "delivered"):
                assert lead.amount and lead.amount > 0
        contracted = sum(
            lead.amount for lead in leads if lead.status in ("contracted", "delivered")
        )
        assert summary["contracted_amount"] == pytest.approx(contracted)
        firms = len(matching.diagnoses(s))
    b = summary["batch"]
    assert b["catalog"] == 38 and b["diagnosed"] == firms and b["matched"] > 0
    # the batch is published as result_market_matches: up to 5 ranks per matched firm
    from industry_brain.domains.market import publish

    with Session(engine) as s:
        frame, runs = publish.read(s)
    assert [r["run_id"] for r in runs] == [b["run_id"]] and len(frame) == b["rows"]
    assert b["matched"] <= b["rows"] <= 5 * b["matched"]
    assert frame.groupby("enterprise_id")["rank"].max().max() <= 5
    assert frame["enterprise_id"].nunique() == b["matched"]
    lines = demo_hook.headline(summary)
    text = "\n".join(lines)
    for word in ("智改数转服务市场", "服务商 12 家", "方案 42 个", "已发布 38", "对接线索", "匹配"):
        assert word in text
