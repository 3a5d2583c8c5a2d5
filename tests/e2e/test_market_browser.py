"""智改数转服务市场 in Chromium on the demo site (SQLite and PostgreSQL): the enterprise goes from
its portal to "find a solution", sees ranked solutions each with its reason, requests a contact;
the provider of that solution sees the lead on its desk and marks it contacted; a provider of
another firm does not see it."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.demo.operational import DEMO_PASSWORD
from industry_brain.domains.market.models import MarketLead, MarketProvider, MarketProviderUser
from industry_brain.store.db import make_engine
from industry_brain.store.models import User
from tests.e2e.conftest import Site
from tests.e2e.test_browser import shot, sign_in


def _provider_user(site: Site, username: str, provider_id: int) -> None:
    """A provider user for ``provider_id`` (created once per store)."""
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            user = s.scalar(select(User).where(User.username == username))
            if user is None:
                user = User(
                    username=username,
                    display_name="服务商演示用户",
                    role="provider",
                    password_hash=PasswordHasher().hash(DEMO_PASSWORD),
                )
                s.add(user)
                s.flush()
            link = s.get(MarketProviderUser, user.id) or MarketProviderUser(user_id=user.id)
            link.provider_id = provider_id
            s.add(link)
            s.commit()
    finally:
        engine.dispose()


def _other_provider(site: Site, provider_id: int) -> int:
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            return int(
                s.scalar(
                    select(MarketProvider.id)
                    .where(MarketProvider.id != provider_id)
                    .order_by(MarketProvider.id)
                )
            )
    finally:
        engine.dispose()


def _lead(site: Site, lead_id: int) -> MarketLead:
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            lead = s.get(MarketLead, lead_id)
            s.expunge(lead)
            return lead
    finally:
        engine.dispose()


def test_find_a_solution_and_request_contact(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["enterprise"])
    page.click("#market-find-portal-link")
    page.wait_for_url(re.compile(r"/market/find$"))
    rows = page.locator("#table-market-matches tbody tr")
    expect(rows.first).to_be_visible()
    first_reason = rows.first.locator(".market-reason")
    expect(first_reason).to_contain_text("同行业案例")
    expect(first_reason).to_contain_text("得分")
    shot(page, site, "market-find")
    rows.first.locator("form.market-contact-form button").click()
    page.wait_for_url(re.compile(r"/market/leads\?requested=\d+$"))
    expect(page.locator("#market-requested")).to_be_visible()
    lead_id = int(page.url.rsplit("=", 1)[1])
    row = page.locator(f"#market-lead-{lead_id}")
    expect(row.locator(".market-lead-status")).to_have_text("已申请对接")
    lead = _lead(site, lead_id)
    assert lead.status == "requested" and lead.reason  # the rank's reason travels with it

    # the provider of that solution: the lead on its desk, marked contacted
    _provider_user(site, "provider_e2e", lead.provider_id)
    page.context.clear_cookies()
    sign_in(page, site, "provider_e2e")
    page.wait_for_url(re.compile(r"/market/desk$"))
    desk_row = page.locator(f"#market-lead-{lead_id}")
    expect(desk_row.locator(".market-lead-status")).to_have_text("已申请对接")
    desk_row.locator("button[value=contacted]").click()
    page.wait_for_url(re.compile(r"/market/desk$"))
    expect(page.locator(f"#market-lead-{lead_id} .market-lead-status")).to_have_text("已联系")
    shot(page, site, "market-desk")

    # a provider user of another firm does not see the lead
    _provider_user(site, "provider_e2e_other", _other_provider(site, lead.provider_id))
    page.context.clear_cookies()
    sign_in(page, site, "provider_e2e_other")
    page.wait_for_url(re.compile(r"/market/desk$"))
    expect(page.locator(f"#market-lead-{lead_id}")).to_have_count(0)
