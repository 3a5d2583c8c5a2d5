"""Provider accounts in Chromium on the demo site: the administrator creates a provider account on
one provider's page (a taken username refused beside the field first), unlinks it there, finds it
by part of its name on another provider's page (HTMX search-as-you-type), is refused linking
provider_01 (it acts for another provider) beside the field, links the new account; the account
then signs in and sees that provider's desk with its leads and its programme desk."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.domains.market.models import MarketLead, MarketProvider, MarketProviderUser
from industry_brain.store.db import make_engine
from industry_brain.store.models import User
from tests.e2e.conftest import Site
from tests.e2e.test_browser import shot, sign_in

USERNAME = "e2e_linked"
NAME = "云链对接人 演示"
PASSWORD = "Link-Test-2026!"  # the test account's initial password


def _providers(site: Site) -> tuple[dict, dict, str]:
    """(P, Q, provider_01's provider name): P the provider with the most leads acting for no
    demo user (provider_0N), Q another such provider; each as id, name, USCC and lead count."""
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            demo_linked = set(
                s.scalars(
                    select(MarketProviderUser.provider_id)
                    .join(User, User.id == MarketProviderUser.user_id)
                    .where(User.username.like("provider\\_0%", escape="\\"))
                )
            )
            leads = dict(
                s.execute(
                    select(MarketLead.provider_id, func.count()).group_by(MarketLead.provider_id)
                ).all()
            )
            rows = [
                {"id": p.id, "name": p.name, "uscc": p.uscc, "leads": leads.get(p.id, 0)}
                for p in s.scalars(select(MarketProvider).order_by(MarketProvider.id))
                if p.id not in demo_linked
            ]
            first = s.scalar(
                select(MarketProvider.name)
                .join(MarketProviderUser, MarketProviderUser.provider_id == MarketProvider.id)
                .join(User, User.id == MarketProviderUser.user_id)
                .where(User.username == "provider_01")
            )
    finally:
        engine.dispose()
    p = max(rows, key=lambda r: (r["leads"], -r["id"]))
    q = next(r for r in rows if r["id"] != p["id"])
    return p, q, str(first)


def test_admin_links_a_provider_account_and_it_sees_the_desk(
    page: Page, site: Site, browser: Browser
) -> None:
    p, q, first_name = _providers(site)
    assert p["leads"] > 0  # the demo gives leads to providers without a demo user
    sign_in(page, site, site.users["admin"])

    # on Q's page: a taken username is refused beside its field, the typed name kept
    page.goto(f"{site.url}/market/providers/{q['id']}")
    form = page.locator("#market-new-account")
    form.locator("input[name=username]").fill("provider_01")
    form.locator("input[name=display_name]").fill(NAME)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    error = page.locator("#market-new-account .field-error")
    expect(error).to_contain_text("用户名“provider_01”已被使用")
    expect(page.locator("#market-new-account input[name=display_name]")).to_have_value(NAME)
    # created with a free username: linked to Q at once
    form = page.locator("#market-new-account")
    form.locator("input[name=username]").fill(USERNAME)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#flash")).to_contain_text(f"已新建服务商账号 {USERNAME}")
    row = page.locator("#table-market-accounts tbody tr", has_text=USERNAME)
    expect(row).to_contain_text(NAME)
    # unlinked from Q
    row.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#flash")).to_contain_text(f"已解除账号 {USERNAME} 的关联")
    expect(page.locator("#table-market-accounts")).not_to_contain_text(USERNAME)

    # on P's page: part of the name offers the account (HTMX fills the datalist)
    page.goto(f"{site.url}/market/providers/{p['id']}")
    field = page.locator("#market-link-user input[name=username]")
    field.press_sequentially("云链对接", delay=30)
    expect(page.locator(f"#market-user-options option[value={USERNAME}]")).to_have_count(1)
    # provider_01 acts for another provider: refused beside the field
    field.fill("provider_01")
    page.locator("#market-link-user button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#market-link-user .field-error")).to_contain_text(
        f"已关联服务商“{first_name}”"
    )
    expect(page.locator("#market-link-user input[name=username]")).to_have_value("provider_01")
    # linked
    page.locator("#market-link-user input[name=username]").fill(USERNAME)
    page.locator("#market-link-user button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#flash")).to_contain_text(f"已关联账号 {USERNAME}")
    expect(page.locator("#table-market-accounts tbody tr", has_text=USERNAME)).to_have_count(1)
    shot(page, site, "market-accounts")

    # the account signs in (its own browser session) and sees P's desk
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    try:
        mine = context.new_page()
        mine.goto(f"{site.url}/login")
        mine.fill("input[name=username]", USERNAME)
        mine.fill("input[name=password]", PASSWORD)
        mine.click("form[action='/login'] button[type=submit]")
        mine.wait_for_load_state("networkidle")
        expect(mine).to_have_url(re.compile(r"/market/desk$"))
        expect(mine.locator("main")).to_contain_text(p["name"])
        expect(mine.locator("#table-market-leads tbody tr[id^=market-lead-]")).to_have_count(
            p["leads"]
        )
        mine.click("#market-programme-desk")
        mine.wait_for_load_state("networkidle")
        expect(mine).to_have_url(re.compile(r"/programmes/desk$"))
        expect(mine.locator("main")).to_contain_text(f"本服务商（{p['uscc']}）")
        shot(mine, site, "market-accounts-desk")
    finally:
        context.close()
