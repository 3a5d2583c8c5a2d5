"""亩均 and carbon in the browser: explanations opened in the profile, the dual code issued from
the portal and painted, a bank consent granted and revoked through the forms and seen (then
not) from the bank's page, domain charts on the cockpit — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from industry_brain.demo.constants import DEMO_TODAY
from tests.e2e.conftest import Site
from tests.e2e.test_browser import shot, sign_in


def test_profile_opens_mujun_and_carbon_explanations(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["admin"])
    page.goto(f"{site.url}/enterprises/{site.usccs['own']}")
    mujun = page.locator("#mujun-section")
    expect(mujun.locator("#mujun-class")).to_be_visible()
    mujun.locator("details.explain summary").click()
    expect(mujun.locator("#mujun-explanation")).to_contain_text(site.usccs["own"])
    carbon = page.locator("#carbon-section")
    expect(carbon.locator("#carbon-grade")).to_be_visible()
    carbon.locator("details.explain summary").click()
    expect(carbon.locator("#carbon-explanation")).to_contain_text("tCO2")
    shot(page, site, "profile-domains")
    # an agent sees the class but not the tax-based computation
    page.click("#logout")
    sign_in(page, site, site.users["agent"])
    page.goto(f"{site.url}/agent")
    first = page.locator("table.assigned tbody a").first
    first.click()
    expect(page.locator("#mujun-section")).to_be_visible()
    expect(page.locator("#mujun-section details.explain")).to_have_count(0)


def test_cockpit_paints_the_domain_charts(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["city_officer"])
    page.wait_for_selector("body[data-charts-ready='1']", state="attached", timeout=15000)
    for section in ("#mujun-cockpit", "#carbon-cockpit"):
        canvas = page.locator(f"{section} canvas")
        expect(canvas.first).to_be_attached()
        box = canvas.first.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100
        expect(page.locator(f"{section} table tbody tr").first).to_be_visible()


def test_enterprise_issues_code_and_manages_a_bank_consent(page: Page, site: Site) -> None:
    bank = site.users["bank"]
    sign_in(page, site, site.users["enterprise"])
    assert page.url.endswith("/portal")
    # the dual code: issue it when none is valid yet, then the QR image is painted
    if page.locator("#carbon-issue").count():
        page.click("#carbon-issue")
        page.wait_for_load_state("networkidle")
    if page.locator("#carbon-grade.badge").count():  # graded firms get a code
        img = page.locator("#carbon-code")
        expect(img).to_be_visible()
        assert img.evaluate("i => i.complete && i.naturalWidth > 0")
    # a consent to the bank: revoke an active one left by the demo, then grant through the form
    row = page.locator(f"#consent-list tr[data-bank='{bank}']").filter(has_text="有效")
    if row.count():
        row.first.locator("button.revoke").click()
        page.wait_for_load_state("networkidle")
    page.select_option("#consent-form select[name=bank]", bank)
    expires = (DEMO_TODAY + timedelta(days=60)).isoformat()  # the site runs on the demo's day
    page.fill("#consent-form input[name=expires_on]", expires)
    page.fill("#consent-form input[name=purpose]", "浏览器测试授信")
    page.click("#consent-grant")
    page.wait_for_load_state("networkidle")
    granted = page.locator(f"#consent-list tr[data-bank='{bank}']").filter(
        has_text="浏览器测试授信"
    )
    expect(granted.first).to_contain_text("有效")
    shot(page, site, "portal-consent")
    page.click("#logout")
    # the bank sees the enterprise with its consented grade
    sign_in(page, site, bank)
    own = page.locator(f"#bank-consents tr[data-uscc='{site.usccs['own']}']").first
    expect(own).to_contain_text("有效")
    shot(page, site, "bank-consents")
    page.click("#logout")
    # the enterprise revokes; the bank's row turns revoked and shows no grade
    sign_in(page, site, site.users["enterprise"])
    page.locator(f"#consent-list tr[data-bank='{bank}']").filter(has_text="有效").first.locator(
        "button.revoke"
    ).click()
    page.wait_for_load_state("networkidle")
    page.click("#logout")
    sign_in(page, site, bank)
    rows = page.locator(f"#bank-consents tr[data-uscc='{site.usccs['own']}']")
    expect(rows.filter(has_text="有效")).to_have_count(0)
    expect(rows.first).to_contain_text("已撤销")
