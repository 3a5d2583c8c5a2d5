"""五企培育 in Chromium against the demo site, on SQLite and PostgreSQL: the funnel chart and its
table on /tiers (the same numbers as the store's published run), a 一企一策 plan opened from the
pool with its PDF, and a figure declared on the portal with its evidence, then verified by an
officer on the declarations page."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.domains.tiers import pipeline
from industry_brain.domains.tiers.models import TiersDeclarationItem, TiersRun
from industry_brain.store.db import make_engine
from tests.e2e.conftest import Site
from tests.e2e.test_browser import shot, sign_in

PDF = b"%PDF-1.4\n% browser test evidence\n"


def _funnel(site: Site) -> dict:
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            year = s.scalar(
                select(TiersRun.year)
                .where(TiersRun.status == "published")
                .order_by(TiersRun.year.desc())
            )
            return pipeline.funnel(s, year)
    finally:
        engine.dispose()


def test_funnel_chart_and_plan(page: Page, site: Site) -> None:
    expected = _funnel(site)
    sign_in(page, site, site.users["city_officer"])
    page.goto(f"{site.url}/tiers")
    chart = page.locator("#tiers-funnel .chart")
    expect(chart.locator("canvas")).to_have_count(1)  # ECharts drew the funnel
    drawn = page.evaluate(
        "() => { const o = echarts.getInstanceByDom(document.querySelector('#tiers-funnel .chart'))"
        ".getOption().series[0]; return {type: o.type, data: o.data.map(d => d.value)}; }"
    )
    assert drawn == {"type": "funnel", "data": [st["reached"] for st in expected["stages"]]}
    rows = page.locator("#table-tiers-funnel tbody tr")
    expect(rows).to_have_count(len(expected["stages"]))
    for i, st in enumerate(expected["stages"]):
        expect(rows.nth(i).locator("td").nth(2)).to_have_text(f"{st['reached']:,}")
    expect(page.locator("#table-tiers-candidates tbody tr").first).to_be_visible()
    shot(page, site, "tiers-funnel")
    page.locator("a.tiers-plan-link").first.click()
    expect(page.locator("#table-tiers-targets tbody tr")).to_have_count(2)
    expect(page.locator("#table-tiers-actions tr[data-state=overdue]")).to_have_count(1)
    shot(page, site, "tiers-plan")
    with page.expect_download() as dl:
        page.click("#tiers-plan-pdf")
    path = dl.value.path()
    assert path is not None and Path(path).read_bytes()[:5] == b"%PDF-"


def test_declare_on_the_portal_then_verify(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["enterprise"])
    page.goto(f"{site.url}/portal")
    form = page.locator("#tiers-declare-form")
    form.locator("select[name=item]").select_option("niche_years")
    form.locator("input[name=value]").fill("6")
    form.locator("input[name=evidence]").set_input_files(
        {"name": "ZM-BROWSER.PDF", "mimeType": "application/pdf", "buffer": PDF}
    )
    form.locator("button[type=submit]").click()
    mine = page.locator("#table-tiers-my-declarations tbody tr", has_text="ZM-BROWSER.PDF")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("待审核")
    item_id = mine.get_attribute("data-item")
    assert item_id and re.fullmatch(r"\d+", item_id)
    shot(page, site, "tiers-portal-declared")
    page.context.clear_cookies()
    sign_in(page, site, site.users["city_officer"])
    page.goto(f"{site.url}/tiers/declarations")
    row = page.locator(f"#table-tiers-declarations tr[data-item='{item_id}']")
    expect(row).to_have_count(1)
    row.locator("button.tiers-verify").click()
    expect(page.locator(f"#table-tiers-declarations tr[data-item='{item_id}']")).to_have_count(0)
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            item = s.get(TiersDeclarationItem, int(item_id))
            assert (item.status, item.value, item.evidence_name) == (
                "verified",
                6.0,
                "ZM-BROWSER.PDF",
            )
    finally:
        engine.dispose()
