"""The identifier node in the demo site, on SQLite and PostgreSQL: the city officer's cockpit
shows the node's section with the store's own counts, an enterprise user's does not; the demo's
battery pack and a withdrawn lot resolve over HTTP (200 with the chain, 410 with history)."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.domains.identifiers.models import Battery, Identifier, IdPrefix
from industry_brain.store.db import make_engine
from tests.e2e.conftest import Site
from tests.e2e.test_browser import shot, sign_in


def _store(site: Site) -> dict:
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            live = s.scalar(
                select(func.count()).select_from(Identifier).where(Identifier.status == "live")
            )
            pack = s.scalars(select(Battery).where(Battery.product_type == "P")).one()
            ident = s.get(Identifier, pack.identifier_id)
            withdrawn = s.scalars(select(Identifier).where(Identifier.status == "withdrawn")).one()
            prefixes = s.scalar(select(func.count()).select_from(IdPrefix))
            return {
                "live": live,
                "pack": f"{ident.prefix}/{ident.suffix}",
                "withdrawn": f"{withdrawn.prefix}/{withdrawn.suffix}",
                "prefixes": prefixes,
            }
    finally:
        engine.dispose()


def test_cockpit_section_and_resolution(page: Page, site: Site) -> None:
    store = _store(site)
    assert store["live"] > 1000 and store["prefixes"] >= 1
    sign_in(page, site, site.users["city_officer"])
    page.goto(f"{site.url}/cockpit")
    section = page.locator("#ids-node")
    expect(section).to_be_visible()
    expect(section.locator("tr").first.locator("td")).to_have_text(f"{store['live']:,}")
    shot(page, site, "ids-cockpit")

    r = httpx.get(f"{site.url}/api/v1/ids/resolve/{store['pack']}")
    assert r.status_code == 200, r.text
    values = {v["type"]: v["data"] for v in r.json()["values"]}
    assert values["product_type"] == "P" and values["code"] == store["pack"].split("/", 1)[1]
    r = httpx.get(f"{site.url}/api/v1/ids/resolve/{store['withdrawn']}")
    assert r.status_code == 410
    assert [h["action"] for h in r.json()["history"]] == ["registered", "withdrawn"]


def test_no_section_for_an_enterprise_user(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["enterprise"])
    page.goto(f"{site.url}/cockpit")
    expect(page.locator("#ids-node")).to_have_count(0)


def test_portal_apply_approve_register(page: Page, site: Site) -> None:
    """The enterprise applies for a prefix in the portal, the city officer approves it, the
    enterprise registers an identifier through the form generated from the template — a
    problem shown next to its field first — and the identifier resolves over HTTP."""
    prefix = "88.118.7701"
    sign_in(page, site, site.users["enterprise"])
    page.goto(f"{site.url}/ids")
    page.fill("#ids-apply input[name=prefix]", prefix)
    page.click("#ids-apply button[type=submit]")
    expect(page.locator(f'#table-ids-prefixes tr[data-prefix="{prefix}"]')).to_contain_text(
        "待审批"
    )
    page.context.clear_cookies()
    sign_in(page, site, site.users["city_officer"])
    page.goto(f"{site.url}/ids")
    page.click(f'#table-ids-pending tr[data-prefix="{prefix}"] button[value="1"]')
    expect(page.locator("#flash")).to_contain_text(prefix)
    page.context.clear_cookies()
    sign_in(page, site, site.users["enterprise"])
    page.goto(f"{site.url}/ids/register?prefix={prefix}&template=product")
    page.fill("input[name=suffix]", "WEB-1")
    page.fill("input[name=f_name]", "童装")
    page.click("#ids-register-form button[type=submit]")
    expect(page.locator("#error-model")).to_have_text("必填")
    expect(page.locator("input[name=f_name]")).to_have_value("童装")
    page.fill("input[name=f_model]", "T-1")
    page.click("#ids-register-form button[type=submit]")
    expect(page.locator("#flash")).to_contain_text(f"{prefix}/WEB-1")
    shot(page, site, "ids-portal")
    r = httpx.get(f"{site.url}/api/v1/ids/resolve/{prefix}/WEB-1")
    assert r.status_code == 200
    assert [(v["type"], v["data"]) for v in r.json()["values"]] == [
        ("name", "童装"),
        ("model", "T-1"),
    ]
