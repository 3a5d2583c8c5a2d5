"""政策计算器 and 政策直兑 in Chromium against the demo site, on SQLite and PostgreSQL: the
calculator for one enterprise (qualifies, almost with the gap, what-if), and a payout list
excluded, submitted by one officer and approved by another (four eyes), seen in the ledger."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.domains.policy.models import PolicyPayout, PolicyRun
from industry_brain.store.db import make_engine
from industry_brain.store.models import Enterprise, EnterpriseScale
from tests.e2e.conftest import Site
from tests.e2e.test_browser import shot, sign_in


def _above_scale_uscc(site: Site) -> str:
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            year = s.scalar(select(func.max(EnterpriseScale.year)))
            return s.scalar(
                select(Enterprise.uscc)
                .join(EnterpriseScale, EnterpriseScale.enterprise_id == Enterprise.id)
                .where(EnterpriseScale.year == year, EnterpriseScale.above_scale.is_(True))
                .order_by(Enterprise.id)
                .limit(1)
            )
    finally:
        engine.dispose()


def test_calculator_qualifies_almost_and_what_if(page: Page, site: Site) -> None:
    uscc = _above_scale_uscc(site)
    sign_in(page, site, site.users["city_officer"])
    page.goto(f"{site.url}/policy/calculator")
    page.fill("input[name=uscc]", uscc)
    # what-if: revenue 24,000 and R&D 624 (2.6 % < 3 %) → the R&D award is "almost", short by
    # 0.4 point ≈ 96 万元 of R&D
    page.fill("input[name=revenue]", "24000")
    page.fill("input[name=rd_expense]", "624")
    page.click("#policy-calc-form button[type=submit]")
    almost = page.locator("#policy-almost tr[data-policy=rd_intensity_award]")
    expect(almost).to_have_count(1)
    expect(almost).to_contain_text("差")
    expect(almost).to_contain_text("96")
    expect(page.locator("#policy-qualifies tbody tr").first).to_be_visible()
    # the demo's tiers service publishes result_tiers before the policy run: the tier award is
    # known for this firm (qualifies or not), no longer "cannot tell"
    expect(page.locator("#policy-unknown tr[data-policy=hightech_zjtx_award]")).to_have_count(0)
    shot(page, site, "policy-calculator-almost")
    # what-if R&D 1,200 (5 %): qualifies, 1,200 × 5 % = 60 capped at 50
    page.fill("input[name=rd_expense]", "1200")
    page.click("#policy-calc-form button[type=submit]")
    row = page.locator("#policy-qualifies tr[data-policy=rd_intensity_award]")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(2)).to_have_text("50")
    expect(page.locator("#policy-total")).to_contain_text("假设")


def test_payout_list_four_eyes_approval(page: Page, site: Site) -> None:
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            run_id = s.scalar(select(func.max(PolicyRun.id)).where(PolicyRun.kind == "run"))
            before = s.scalar(select(func.count()).select_from(PolicyPayout))
    finally:
        engine.dispose()
    policy = "effective_investment_hightech"
    sign_in(page, site, site.users["city_officer"])
    page.goto(f"{site.url}/policy/runs/{run_id}/{policy}")
    rows = page.locator("#table-policy-list tbody tr")
    n = rows.count()
    assert n >= 2
    first = rows.first
    first.locator("input[name=reason]").fill("项目已享受省级同类补助")
    first.locator("button[type=submit]").click()
    expect(page.locator("#table-policy-list tbody tr").first).to_contain_text("已排除")
    page.click("#policy-submit button[type=submit]")
    expect(page).to_have_url(re.compile(r"/policy/approvals/\d+$"))
    expect(page.locator("#policy-four-eyes")).to_be_visible()  # the submitter cannot approve
    expect(page.locator("#policy-approve")).to_have_count(0)
    approval_url = page.url
    page.context.clear_cookies()
    sign_in(page, site, site.users["admin"])
    page.goto(approval_url)
    page.click("#policy-approve button[type=submit]")
    expect(page.locator("#policy-approval-status")).to_contain_text("已审批兑现")
    shot(page, site, "policy-approval")
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            after = s.scalar(select(func.count()).select_from(PolicyPayout))
    finally:
        engine.dispose()
    assert after - before == n - 1  # every row but the excluded one, once
