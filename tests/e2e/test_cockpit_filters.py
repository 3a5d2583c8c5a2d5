"""Cockpit filters and click-through (issue 14, point 15) in Chromium, on SQLite and PostgreSQL:
the year, county (a county officer: town) and industry filters narrow every figure; a click on
a chart segment, a tile or a table cell opens the list behind it, and that list counts exactly
the figure clicked; the data-completeness chart shows percentages per department and item."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Site
from tests.e2e.test_browser import shot, sign_in


def _int(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def _list_total(page: Page, name: str) -> int:
    return int(page.locator(f"#{name}-total").get_attribute("data-total"))


def _ready(page: Page) -> None:
    page.wait_for_selector("body[data-charts-ready='1']", state="attached", timeout=20000)


def _click_segment(page: Page, chart: str, series: int, index: int, value: float) -> None:
    """Click the middle of a stacked bar segment (series ``series`` of category ``index``,
    whose value is ``value`` and which sits on the segments of the series before it)."""
    point = page.evaluate(
        """([name, series, index, value]) => {
          const el = document.querySelector(`[data-chart="${name}"]`);
          const c = echarts.getInstanceByDom(el);
          const opt = c.getOption();
          let below = 0;
          for (let s = 0; s < series; s++) below += opt.series[s].data[index] || 0;
          const [x, y] = c.convertToPixel({seriesIndex: series}, [index, below + value / 2]);
          const box = el.getBoundingClientRect();
          return [box.left + x, box.top + y];
        }""",
        [chart, series, index, value],
    )
    page.mouse.click(point[0], point[1])


def test_filters_and_a_chart_click_open_the_list_behind_the_figure(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["city_officer"])
    page.goto(f"{site.url}/cockpit")
    _ready(page)
    total_all = _int(page.locator("#kpi-total").inner_text())
    # choose a county: the select submits itself, the filter is kept in the URL
    county = page.locator("#cockpit-filters select[name=county] option").nth(1)
    code, name = county.get_attribute("value"), county.inner_text()
    page.select_option("#cockpit-filters select[name=county]", code)
    page.wait_for_url(re.compile(rf"county={code}"))
    _ready(page)
    rows = page.locator("#table-county tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(name)
    above = _int(rows.first.locator("td").nth(1).inner_text())
    total = _int(page.locator("#kpi-total").inner_text())
    assert 0 < total < total_all and above > 0
    shot(page, site, "cockpit-filtered")
    # a click on the 规上 segment of the county's bar opens the enterprises behind it
    _click_segment(page, "county", 0, 0, above)
    page.wait_for_url(re.compile(r"/cockpit/enterprises\?"))
    query = parse_qs(urlsplit(page.url).query)
    assert query["county"] == [code] and query["scale"] == ["above"]
    assert _list_total(page, "cockpit_enterprises") == above
    expect(page.locator("#drill-selection")).to_contain_text(name)
    # back, then the 规下 tile
    page.goto(f"{site.url}/cockpit?county={code}")
    below = _int(rows.first.locator("td").nth(2).inner_text())
    page.click("#tile-below")
    page.wait_for_url(re.compile(r"scale=below"))
    assert _list_total(page, "cockpit_enterprises") == below


def test_completeness_is_a_percentage_and_lists_the_missing(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["city_officer"])
    page.goto(f"{site.url}/cockpit")
    _ready(page)
    year = page.locator("#cockpit-filters select[name=year] option").nth(1).get_attribute("value")
    page.select_option("#cockpit-filters select[name=year]", year)
    page.wait_for_url(re.compile(rf"year={year}"))
    _ready(page)
    expect(page.locator("#completeness h2")).to_contain_text(year)
    enterprises = _int(page.locator("#kpi-total").inner_text())
    table = page.locator("#table-completeness tbody tr")
    assert table.count() >= 4  # 统计, 税务, 电力, 自然资源 at least
    depts = set(table.evaluate_all("rows => rows.map(r => r.dataset.dept)"))
    assert {"statistics", "tax"} <= depts
    # the chart's values are percentages (0–100), one bar per table row
    values = page.evaluate(
        """() => echarts.getInstanceByDom(document.querySelector('[data-chart="completeness"]'))
                  .getOption().series[0].data"""
    )
    assert len(values) == table.count() and all(0 <= v <= 100 for v in values)
    # the row with the most missing: its share by hand, and its list counts the missing
    counts = [
        (enterprises - _int(r.locator("td").nth(2).inner_text()), i)
        for i, r in enumerate(table.all())
    ]
    missing, i = max(counts)
    row = table.nth(i)
    n = _int(row.locator("td").nth(2).inner_text())
    shown = row.locator("td").nth(3).inner_text()
    assert shown.replace(" ", "") == f"{100 * n / enterprises:.1f}%"
    assert values[i] == round(1000 * n / enterprises) / 10
    row.locator("a.missing").click()
    page.wait_for_url(re.compile(r"has=0"))
    assert _list_total(page, "cockpit_enterprises") == missing
    shot(page, site, "cockpit-completeness-missing")


def test_service_segments_link_to_their_lists(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["city_officer"])
    page.goto(f"{site.url}/cockpit")
    _ready(page)
    link = page.locator("#table-mujun a[data-class='A']").first
    expected = _int(link.inner_text())
    link.click()
    page.wait_for_url(re.compile(r"/mujun\?"))
    assert parse_qs(urlsplit(page.url).query)["class"] == ["A"]
    assert _list_total(page, "mujun_results") == expected
    page.goto(f"{site.url}/cockpit")
    link = page.locator("#table-carbon a[data-grade='1']").first
    expected = _int(link.inner_text())
    link.click()
    page.wait_for_url(re.compile(r"/carbon\?"))
    assert _list_total(page, "carbon_results") == expected
    # an import status opens the batch list of that status
    page.goto(f"{site.url}/cockpit")
    link = page.locator("#table-batches tbody tr a").first
    expected = _int(link.inner_text())
    link.click()
    page.wait_for_url(re.compile(r"/import/batches\?status="))
    assert _list_total(page, "batches") == expected
    # with an industry filter the services' lists (by county only) are not linked
    page.goto(f"{site.url}/cockpit")
    industry = page.locator("#cockpit-filters select[name=industry] option").nth(1)
    page.select_option("#cockpit-filters select[name=industry]", industry.get_attribute("value"))
    page.wait_for_url(re.compile(r"industry="))
    expect(page.locator("#table-mujun a")).to_have_count(0)
    expect(page.locator("#tile-projects")).not_to_have_attribute("href", re.compile("."))


def test_county_officer_filters_by_town(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["county_officer"])
    page.goto(f"{site.url}/cockpit")
    _ready(page)
    expect(page.locator("#cockpit-filters select[name=county]")).to_have_count(0)
    town = page.locator("#cockpit-filters select[name=town] option").nth(1)
    code, name = town.get_attribute("value"), town.inner_text()
    page.select_option("#cockpit-filters select[name=town]", code)
    page.wait_for_url(re.compile(rf"town={code}"))
    _ready(page)
    rows = page.locator("#table-county tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(name)
    total = _int(rows.first.locator("td").nth(4).inner_text())
    assert total == _int(page.locator("#kpi-total").inner_text())
    rows.first.locator("td").nth(4).locator("a").click()
    page.wait_for_url(re.compile(r"/cockpit/enterprises\?"))
    assert _list_total(page, "cockpit_enterprises") == total
    # a county the officer does not serve is ignored, not shown
    page.goto(f"{site.url}/cockpit/enterprises?county=330503&town=")
    own = _list_total(page, "cockpit_enterprises")
    page.goto(f"{site.url}/cockpit")
    assert own == _int(page.locator("#kpi-total").inner_text())
