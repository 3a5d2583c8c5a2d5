"""What each role sees and is refused, the import page end to end, cockpit charts in both
languages, lineage on hover — in Chromium against a real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from industry_brain.demo.operational import DEMO_PASSWORD
from tests.e2e.conftest import Site


def sign_in(page: Page, site: Site, username: str) -> None:
    page.goto(f"{site.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/login" not in page.url, page.content()[:2000]


def shot(page: Page, site: Site, name: str) -> None:
    """A full-page screenshot ``test-artifacts/<name>-<store>.png``."""
    page.screenshot(path=str(site.artifact(name)), full_page=True)


START = {
    "admin": r"/cockpit$",
    "city_officer": r"/cockpit$",
    "county_officer": r"/cockpit$",
    "agent": r"/agent$",
    "enterprise": r"/portal$",
    "bank": r"/bank$",
}


@pytest.mark.parametrize("role", list(START))
@pytest.mark.pg_browser
def test_each_role_lands_on_its_page(page: Page, site: Site, role: str) -> None:
    sign_in(page, site, site.users[role])
    assert re.search(START[role], page.url), page.url
    nav = page.locator("nav.main")
    if role in ("admin",):
        expect(nav.locator("a[href='/admin/audit']")).to_be_visible()
        expect(nav.locator("a[href='/import']")).to_be_visible()
    else:
        expect(nav.locator("a[href='/admin/audit']")).to_have_count(0)
    if role == "county_officer":
        # a county officer's cockpit counts the county's towns (乡镇街道), not the counties
        expect(page.locator("#table-county thead")).to_contain_text("乡镇街道")
        towns = page.locator("#table-county tbody tr")
        expect(towns.first).to_be_visible()
        assert towns.count() > 1
        assert all(("区" not in t or "街道" in t) for t in towns.all_inner_texts())
    if role == "enterprise":
        expect(page.locator(".sub")).to_contain_text(site.usccs["own"])
    if role == "bank":
        expect(page.locator("#bank-consents")).to_be_visible()  # consents granted to it
    shot(page, site, f"role-{role}")
    # signing out ends the session
    page.click("#logout")
    page.goto(f"{site.url}/cockpit")
    assert "/login" in page.url


def test_county_officer_cannot_open_another_county_by_url(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["county_officer"])
    ok = page.goto(f"{site.url}/enterprises/{site.usccs['same_county']}")
    assert ok is not None and ok.status == 200
    refused = page.goto(f"{site.url}/enterprises/{site.usccs['other_county']}")
    assert refused is not None and refused.status == 404
    expect(page.locator("section.error")).to_contain_text("enterprise.not_found")
    shot(page, site, "county-refused")
    assert page.goto(f"{site.url}/admin/audit").status == 403


def test_enterprise_cannot_read_another_enterprise(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["enterprise"])
    other = page.goto(f"{site.url}/enterprises/{site.usccs['other']}")
    assert other is not None and other.status == 404
    assert page.goto(f"{site.url}/cockpit").status == 403
    assert page.goto(f"{site.url}/api/v1/enterprises/{site.usccs['other']}").status == 404


def test_agent_sees_tax_masked(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["agent"])
    first = page.locator("table.assigned tbody a").first
    first.click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("h1.ent-name")).to_be_visible()
    assert page.locator("td.fact[data-item='tax_paid']").count() == 0
    shot(page, site, "agent-profile")


def _canvas_painted(page: Page, chart: str) -> bool:
    return page.evaluate(
        """(name) => {
          const c = document.querySelector(`[data-chart="${name}"] canvas`);
          if (!c || !c.width || !c.height) return false;
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          for (let i = 3; i < d.length; i += 4) { if (d[i] !== 0) return true; }
          return false;
        }""",
        chart,
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_cockpit_charts_render_in_both_languages(page: Page, site: Site, lang: str) -> None:
    sign_in(page, site, site.users["city_officer"])
    page.goto(f"{site.url}/lang/{lang}?next=/cockpit")
    page.wait_for_selector("body[data-charts-ready='1']", state="attached", timeout=15000)
    title = "产业驾驶舱" if lang == "zh" else "Industry cockpit"
    expect(page.locator("h1")).to_contain_text(title)
    for chart in ("county", "completeness", "stages", "batches"):
        assert _canvas_painted(page, chart), f"{chart} chart is blank"
        expect(page.locator(f"#table-{chart} tbody tr").first).to_be_visible()
    shot(page, site, f"cockpit-{lang}")


def test_profile_shows_lineage_on_hover(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["city_officer"])
    page.goto(f"{site.url}/enterprises?scale=above")
    page.locator("table.results tbody a").first.click()
    page.wait_for_load_state("networkidle")
    cell = page.locator("td.fact").first
    cell.hover()
    lineage = cell.locator(".lineage")
    expect(lineage).to_contain_text("批次", timeout=10000)
    expect(lineage).to_be_visible()
    shot(page, site, "profile-lineage")


def _corrected_copy(site: Site, tmp_path: Path) -> Path:
    """The 2024 statistics workbook as a department re-sends it: one figure re-typed as text
    (a new file, so not a duplicate of the imported one, with a ``value.not_number`` error)."""
    source = next((site.demo_dir / "inbox" / "stats_annual").glob("2024*.xlsx"))
    book = openpyxl.load_workbook(source)
    sheet = book["规上工业企业"]
    for row in sheet.iter_rows(min_row=4, max_row=12):
        numbers = [c for c in row if isinstance(c.value, int | float)]
        if numbers:
            numbers[0].value = "一百二十"
            break
    target = tmp_path / source.name
    book.save(target)
    return target


def test_upload_department_workbook_and_see_its_report(
    page: Page, site: Site, tmp_path: Path
) -> None:
    workbook = _corrected_copy(site, tmp_path)
    sign_in(page, site, site.users["admin"])
    page.goto(f"{site.url}/import")
    page.select_option("#kind", "stats_annual")
    page.set_input_files("#file", str(workbook))
    page.fill("input[name=year]", "2024")
    page.fill("input[name=sheet]", "规上工业企业")
    page.click("#preview")
    report = page.locator("#import-report")
    expect(report).to_be_visible(timeout=60000)
    expect(report).to_have_attribute("data-status", "dry_run")
    expect(page.locator("table.mapping").first).to_contain_text("工业总产值")
    expect(page.locator("table.problems tr[data-code='value.not_number']").first).to_contain_text(
        "不是数字"
    )
    shot(page, site, "import-report")
    with page.expect_download() as download:
        page.click("#download-workbook")
    assert download.value.suggested_filename.endswith(".xlsx")
    page.check("input[name=accept_valid]")
    page.click("#commit")
    expect(page.locator("#committed")).to_be_visible(timeout=60000)
    shot(page, site, "import-committed")
