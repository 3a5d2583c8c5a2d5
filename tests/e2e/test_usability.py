"""Usability defects of issue 14 in Chromium over the demo, on SQLite and PostgreSQL: an empty
filter means "all" (form and pager), the demo runs on its own day, readable bulletin parameters,
the import page's wrong-kind flow, Swagger UI under the CSP, the icon — and a screenshot of each
main page in ``test-artifacts/``."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.demo.constants import DEMO_TODAY
from industry_brain.domains.carbon.models import BankConsent, CarbonCode, CarbonLoan
from industry_brain.store.db import make_engine
from tests.e2e.conftest import Site
from tests.e2e.test_browser import shot, sign_in


def test_empty_grade_and_pager_links_list_every_grade(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["city_officer"])
    page.goto(f"{site.url}/carbon")
    form = page.locator("form.filters")
    county = form.locator("select[name=county] option").nth(1).get_attribute("value")
    form.locator("select[name=county]").select_option(county)
    form.locator("select[name=grade]").select_option("")  # 全部
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "grade=" in page.url and f"county={county}" in page.url
    expect(page.locator("#carbon-results tbody tr").first).to_be_visible()
    grades = set(page.locator("#carbon-results tbody .badge").all_inner_texts())
    assert len(grades) > 1, grades  # every grade, not one
    shot(page, site, "carbon-filtered")
    nxt = page.locator("nav.pager a.next")
    if nxt.count():
        response = None
        with page.expect_navigation() as nav:
            nxt.click()
        response = nav.value
        assert response is not None and response.status == 200
        expect(page.locator("#carbon-results tbody tr").first).to_be_visible()


def test_the_demo_runs_on_its_own_day(page: Page, site: Site) -> None:
    """Consents, loans and codes of the demo are dated on DEMO_TODAY at the latest, so a
    platform replaying that day (IB_TODAY) shows them in force."""
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(BankConsent)) > 0
            assert s.scalar(select(func.max(BankConsent.granted_on))) <= DEMO_TODAY
            assert s.scalar(select(func.max(CarbonLoan.granted_on))) <= DEMO_TODAY
            assert s.scalar(select(func.max(CarbonCode.issued_on))) <= DEMO_TODAY
    finally:
        engine.dispose()
    sign_in(page, site, site.users["bank"])
    rows = page.locator("#bank-consents tbody tr")
    expect(rows.first).to_be_visible()
    assert page.locator("#bank-consents .state-pending").count() == 0  # none "未生效"
    shot(page, site, "bank")


def test_bulletin_parameters_are_a_readable_table(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["city_officer"])
    page.goto(f"{site.url}/bulletins")
    table = page.locator("#table-parameters")
    expect(table).to_be_visible()
    text = table.inner_text()
    for raw in ("{", "}", "[", "shipped default", "NOT FOUND", "DEFAULT", "projects.md", ".yaml"):
        assert raw not in text, raw
    badge = table.locator(".badge.quality").first
    expect(badge).to_be_visible()
    assert badge.get_attribute("title")  # what the quality means, as a tooltip
    headers = table.locator("thead th").all_inner_texts()
    assert headers[:4] == ["参数", "取值", "单位", "生效日期"]
    shot(page, site, "bulletin")


def _resent_land_file(site: Site, tmp_path: Path) -> Path:
    """The demo's 2025 land workbook as the department re-sends it: one area re-typed as text
    (a new file with one invalid row, so not a duplicate of the imported one)."""
    source = next((site.demo_dir / "inbox" / "land").glob("2025*.xlsx"))
    book = openpyxl.load_workbook(source)
    sheet = book.worksheets[0]
    for row in sheet.iter_rows(min_row=3, max_row=20):
        numbers = [c for c in row if isinstance(c.value, int | float)]
        if numbers:
            numbers[0].value = "三百"
            break
    target = tmp_path / f"resent-{source.name}"
    book.save(target)
    return target


def test_import_of_the_wrong_kind_suggests_the_right_one(
    page: Page, site: Site, tmp_path: Path
) -> None:
    sign_in(page, site, site.users["admin"])
    page.goto(f"{site.url}/import")
    page.select_option("#kind", "tax")  # a land file sent as tax
    page.set_input_files("#file", str(_resent_land_file(site, tmp_path)))
    page.fill("input[name=year]", "2025")
    page.click("#preview")
    suggestion = page.locator("#kind-suggestion")
    expect(suggestion).to_be_visible(timeout=60000)
    expect(suggestion).to_contain_text("自然资源用地")
    expect(page.locator("#commit")).to_have_count(0)  # nothing valid: nothing to commit
    assert "--" not in page.locator("#import-report").inner_text()
    shot(page, site, "import-wrong-kind")
    page.click("#use-suggested-kind")
    expect(page.locator("#commit")).to_be_visible(timeout=60000)
    expect(page.locator("#kind-suggestion")).to_have_count(0)
    # committing without "only the valid rows" is refused, and says only that
    page.click("#commit")
    expect(page.locator("#rejected")).to_be_visible(timeout=60000)
    expect(page.locator("#committed")).to_have_count(0)
    # the batch list below the form shows the refused batch without a reload
    expect(page.locator("#recent-batches")).to_contain_text("resent-")
    shot(page, site, "import-refused")


def test_docs_render_swagger_ui_under_the_csp(page: Page, site: Site) -> None:
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    sign_in(page, site, site.users["admin"])
    page.goto(f"{site.url}/docs")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=15000)
    assert page.locator(".swagger-ui .opblock").count() > 5
    assert blocked == []
    shot(page, site, "docs")
    icon = page.request.get(f"{site.url}/favicon.ico")
    assert icon.status == 200 and icon.body()[:4] == b"\x00\x00\x01\x00"


MAIN_PAGES = [
    ("city_officer", "/cockpit", "cockpit"),
    ("city_officer", "/enterprises", "enterprises"),
    ("city_officer", "/mujun", "mujun"),
    ("city_officer", "/mujun/lists", "mujun-lists"),
    ("city_officer", "/carbon", "carbon"),
    ("city_officer", "/projects", "projects"),
    ("county_officer", "/cockpit", "cockpit-county"),
    ("admin", "/admin/audit", "audit"),
    ("agent", "/agent", "agent"),
    ("enterprise", "/portal", "portal"),
    ("city_officer", "/cockpit/enterprises?scale=above", "cockpit-enterprises"),
    ("city_officer", "/import", "import"),
    ("city_officer", "/import/batches", "batches"),
    ("city_officer", "/tickets", "tickets"),
    ("city_officer", "/bulletins", "bulletins"),
    ("city_officer", "/monitor", "monitor"),
    ("city_officer", "/policy", "policy"),
    ("admin", "/admin/tokens", "tokens"),
    ("bank", "/bank", "bank"),
]


@pytest.mark.parametrize(("role", "path", "name"), MAIN_PAGES, ids=[m[2] for m in MAIN_PAGES])
def test_main_pages_in_both_languages(
    page: Page, site: Site, role: str, path: str, name: str
) -> None:
    """Each main page answers in both languages; its screenshots go to test-artifacts/."""
    sign_in(page, site, site.users[role])
    for lang in ("zh", "en"):
        page.goto(f"{site.url}/lang/{lang}?next={path}")
        assert page.locator("html").get_attribute("lang") == ("zh-CN" if lang == "zh" else "en")
        expect(page.locator("main h1").first).to_be_visible()
        shot(page, site, f"page-{name}-{lang}")


def test_cockpit_charts_show_every_legend_entry_and_axis_label(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["city_officer"])
    page.wait_for_selector("body[data-charts-ready='1']", state="attached", timeout=15000)
    options = page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-chart-json]')).map((el) => {
             const o = echarts.getInstanceByDom(el).getOption();
             return {legend: o.legend[0].type, interval: o.xAxis[0].axisLabel.interval,
                     categories: o.xAxis[0].data.length};
           })"""
    )
    assert len(options) >= 3  # 亩均, carbon, 破五未
    for o in options:
        assert o["legend"] == "plain" and o["interval"] == 0, o  # nothing paged, cut or hidden
    shot(page, site, "cockpit-charts")
