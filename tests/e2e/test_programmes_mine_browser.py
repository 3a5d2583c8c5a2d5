"""The participants' programme pages in a browser, over the demo site (SQLite; the pages' SQL
runs on PostgreSQL in tests/test_programmes_mine.py): the enterprise reaches its own 智能制造贷
loans from its navigation (a loan its consenting bank registered, the bank named, the banks
holding its consent linked to the consent page) and registers for a 智造荟 event and cancels; a
provider registers, and records the outcome of the match the officer made at the event (a
contract without its amount is refused beside the row)."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.demo.constants import DEMO_TODAY
from industry_brain.domains.carbon.models import BankConsent
from industry_brain.domains.market.models import MarketProvider, MarketProviderUser
from industry_brain.domains.programmes import events, loans
from industry_brain.store.db import make_engine
from industry_brain.store.models import Enterprise, User
from industry_brain.store.scope import Scope
from tests.e2e.conftest import Site
from tests.e2e.test_browser import shot, sign_in


def _setup(site: Site) -> dict:
    """A loan of the demo enterprise user's firm registered by the demo bank under a consent
    granted for it, and an upcoming event of the whole region."""
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            ent_user = s.scalar(select(User).where(User.username == site.users["enterprise"]))
            bank = s.scalar(select(User).where(User.username == site.users["bank"]))
            firm = s.get(Enterprise, ent_user.enterprise_id)
            s.add(
                BankConsent(
                    enterprise_id=firm.id,
                    bank_user_id=bank.id,
                    scopes=["grade"],
                    purpose="智能制造贷",
                    granted_on=DEMO_TODAY - timedelta(days=10),
                    expires_on=DEMO_TODAY + timedelta(days=365),
                    granted_by=ent_user.id,
                )
            )
            s.flush()
            loan = loans.register(
                s,
                Scope(user_id=bank.id, username=bank.username, role="bank"),
                firm.uscc,
                "E2E-MINE-0001",
                480.0,
                0.045,
                DEMO_TODAY - timedelta(days=30),
                DEMO_TODAY + timedelta(days=3 * 365),
                "znzz",
                "产线数字化改造",
                None,
                DEMO_TODAY,
            )
            ev = events.create(
                s,
                DEMO_TODAY + timedelta(days=20),
                "浏览器报名测试智造荟",
                None,
                None,
                "e2e",
                "会展中心",
                40,
            )
            provider = s.scalar(
                select(MarketProvider)
                .join(MarketProviderUser, MarketProviderUser.provider_id == MarketProvider.id)
                .join(User, User.id == MarketProviderUser.user_id)
                .where(User.username == "provider_01")
            )
            s.commit()
            return {
                "loan": loan.id,
                "bank": bank.organisation or bank.display_name,
                "event": ev.id,
                "firm": firm.uscc,
                "firm_name": firm.name,
                "provider": provider.uscc,
            }
    finally:
        engine.dispose()


def test_enterprise_loans_and_events_provider_outcome(page: Page, site: Site) -> None:
    data = _setup(site)
    sign_in(page, site, site.users["enterprise"])
    page.click("nav.main a[href='/programmes/loans/mine']")
    page.wait_for_load_state("networkidle")
    row = page.locator(f"#own-loan-{data['loan']}")
    expect(row).to_contain_text("E2E-MINE-0001")
    expect(row).to_contain_text(data["bank"])
    expect(row).to_contain_text("480.00")
    expect(row).to_contain_text("产线数字化改造")
    expect(row).to_contain_text("存续中")
    expect(page.locator("#table-consenting-banks")).to_contain_text(data["bank"])
    shot(page, site, "programmes-my-loans")
    page.click("#consent-page-link")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/portal#consents")

    # 智造荟: register, then cancel
    page.click("nav.main a[href='/programmes/events/mine']")
    page.wait_for_load_state("networkidle")
    ev = page.locator(f"#my-event-{data['event']}")
    expect(ev).to_contain_text("剩 40 / 40")
    ev.locator("form[id^='register-'] button").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#flash")).to_contain_text("已报名“浏览器报名测试智造荟”")
    expect(page.locator(f"#my-event-{data['event']}")).to_contain_text("剩 39 / 40")
    page.locator(f"#cancel-{data['event']} button").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#flash")).to_contain_text("已取消报名“浏览器报名测试智造荟”")
    page.locator(f"#register-{data['event']} button").click()  # registered again
    page.wait_for_load_state("networkidle")
    shot(page, site, "programmes-my-events")

    # the provider registers; the officer records a match at the event; the provider its outcome
    page.context.clear_cookies()
    sign_in(page, site, "provider_01")
    page.goto(f"{site.url}/programmes/events/mine")
    page.locator(f"#register-{data['event']} button").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#flash")).to_contain_text("浏览器报名测试智造荟")
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            m = events.match(s, data["event"], data["firm"], data["provider"], "设备联网", "e2e")
            s.commit()
            match_id = m.id
    finally:
        engine.dispose()
    page.reload()
    form = page.locator(f"#my-outcome-{match_id}")
    expect(page.locator(f"#my-match-{match_id}")).to_contain_text(data["firm_name"])
    form.locator("select[name=outcome]").select_option("contracted")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator(f"#error-outcome-{match_id}")).to_contain_text("签约须填写合同金额")
    form = page.locator(f"#my-outcome-{match_id}")
    form.locator("select[name=outcome]").select_option("contracted")
    form.locator("input[name=amount]").fill("66")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#flash")).to_contain_text("已更新对接结果")
    expect(page.locator(f"#my-match-{match_id}")).to_contain_text("已签约")
    expect(page.locator(f"#my-match-{match_id}")).to_contain_text("66.00")
