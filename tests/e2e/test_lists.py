"""Lists (issue 14, point 12) and feedback (point 17) in Chromium over the demo, on SQLite and
PostgreSQL: sort a column both ways, change the page size, go to page 2 with the filter kept in
the URL, export XLSX and CSV of exactly the filtered rows (compared with the store: the count and
hand-picked rows; a formula-looking name stays text); the 清三低 lists filter by county and
category; three actions each confirm once; a refused form shows its error beside the field."""

from __future__ import annotations

import csv
import re
from datetime import timedelta
from pathlib import Path

import openpyxl
from playwright.sync_api import Page, expect
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from industry_brain.demo.constants import DEMO_TODAY
from industry_brain.store.db import make_engine
from industry_brain.store.models import Enterprise, Region
from tests.e2e.conftest import Site
from tests.e2e.test_browser import shot, sign_in

FORMULA_USCC = "91330599FORMULA01X"
FORMULA_NAME = '=HYPERLINK("http://evil.example","点击领取")'


def _usccs(page: Page, table: str) -> list[str]:
    return page.locator(f"#{table} tbody tr[data-uscc]").evaluate_all(
        "rows => rows.map(r => r.dataset.uscc)"
    )


def _download(page: Page, button: str, target: Path) -> Path:
    with page.expect_download() as info:
        page.click(button)
    info.value.save_as(target)
    return target


def test_enterprise_list_sorts_pages_filters_and_exports(
    page: Page, site: Site, tmp_path: Path
) -> None:
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            county = s.scalar(
                select(Enterprise.county_code)
                .group_by(Enterprise.county_code)
                .order_by(func.count().desc())
                .limit(1)
            )
            county_name = s.get(Region, county).name
            s.add(  # a firm whose name a spreadsheet would run as a formula
                Enterprise(uscc=FORMULA_USCC, name=FORMULA_NAME, county_code=county, status="存续")
            )
            s.commit()
            expected = dict(
                s.execute(
                    select(Enterprise.uscc, Enterprise.name).where(Enterprise.county_code == county)
                ).all()
            )
        ordered = sorted(expected)
        assert len(ordered) > 50, "the busiest county has more than one page of 50"
        sign_in(page, site, site.users["city_officer"])
        page.goto(f"{site.url}/enterprises?county={county}&industry=&scale=&q=")
        total = page.locator("#enterprises-total")
        assert total.get_attribute("data-total") == str(len(expected))
        # sort by USCC: ascending, then descending; the filter stays in the URL
        with page.expect_navigation():
            page.click("#enterprises thead a[data-sort=uscc]")
        assert "sort=uscc" in page.url and "dir=asc" in page.url and f"county={county}" in page.url
        expect(page.locator("#enterprises thead th[aria-sort=ascending]")).to_have_attribute(
            "data-col", "uscc"
        )
        assert _usccs(page, "enterprises") == ordered[:20]
        with page.expect_navigation():
            page.click("#enterprises thead a[data-sort=uscc]")
        assert "dir=desc" in page.url
        assert _usccs(page, "enterprises") == ordered[::-1][:20]
        # 50 a page (the choice applies at once), then page 2
        page.select_option("#enterprises-pager select[name=size]", "50")
        page.wait_for_url(re.compile(r"[?&]size=50(&|$)"))
        assert f"county={county}" in page.url
        assert _usccs(page, "enterprises") == ordered[::-1][:50]
        with page.expect_navigation():
            page.click("#enterprises-pager a.page[data-page='2']")
        assert "page=2" in page.url and "size=50" in page.url and f"county={county}" in page.url
        assert _usccs(page, "enterprises") == ordered[::-1][50:100]
        expect(page.locator("#enterprises-pager b.page.on")).to_have_text("2")
        shot(page, site, "list-enterprises-page2")

        # the exports: every filtered row (all pages), in the list's order
        xlsx = _download(page, "#enterprises-xlsx", tmp_path / "list.xlsx")
        ws = openpyxl.load_workbook(xlsx).active
        rows = list(ws.iter_rows())
        assert rows[0][0].value == "企业名称" and rows[0][1].value == "统一社会信用代码"
        assert [r[1].value for r in rows[1:]] == ordered[::-1]
        by_uscc = {r[1].value: r for r in rows[1:]}
        formula = by_uscc[FORMULA_USCC][0]
        assert formula.value == FORMULA_NAME and formula.data_type == "s"  # text, not a formula
        picked = ordered[len(ordered) // 2]
        assert by_uscc[picked][0].value == expected[picked]
        assert by_uscc[picked][2].value == county_name

        with (_download(page, "#enterprises-csv", tmp_path / "list.csv")).open(
            encoding="utf-8-sig", newline=""
        ) as fh:
            table = list(csv.reader(fh))
        assert len(table) - 1 == len(expected)
        by_uscc_csv = {r[1]: r for r in table[1:]}
        assert by_uscc_csv[FORMULA_USCC][0] == "'" + FORMULA_NAME  # inert in a spreadsheet
        assert by_uscc_csv[picked][0] == expected[picked]
    finally:
        with Session(engine) as s:
            s.execute(delete(Enterprise).where(Enterprise.uscc == FORMULA_USCC))
            s.commit()
        engine.dispose()


def test_low_lists_filter_by_county_and_category_and_export_them(
    page: Page, site: Site, tmp_path: Path
) -> None:
    sign_in(page, site, site.users["city_officer"])
    page.goto(f"{site.url}/mujun/lists")
    total = int(page.locator("#mujun_lists-total").get_attribute("data-total"))
    assert total > 0
    if total > 50:  # more than one page of the default 50
        expect(page.locator("#mujun_lists-pager a.next")).to_be_visible()
    # the busiest county and category of the count table
    heads = page.locator("#table-mujun-lists-count thead th").all_inner_texts()
    counts = page.locator("#table-mujun-lists-count tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText))"
    )
    categories = heads[1:-1]  # 区县, the four categories, 涉及企业
    expected, county_name, category = max(
        (int(row[1 + k].replace(",", "")), row[0], cat)
        for row in counts
        for k, cat in enumerate(categories)
    )
    assert expected > 0
    form = page.locator("form.filters")
    form.locator("select[name=county]").select_option(label=county_name)
    form.locator("select[name=category]").select_option(label=category)
    county = form.locator("select[name=county]").input_value()
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert f"county={county}" in page.url and "category=" in page.url
    shown = int(page.locator("#mujun_lists-total").get_attribute("data-total"))
    assert shown == expected
    for cat, county_cell in page.locator("#mujun-lists tbody tr").evaluate_all(
        "rows => rows.map(r => [r.cells[0].innerText, r.cells[1].innerText])"
    ):
        assert cat == category and county_cell == county_name
    shot(page, site, "list-mujun-lists-filtered")
    with (_download(page, "#mujun_lists-csv", tmp_path / "low.csv")).open(
        encoding="utf-8-sig", newline=""
    ) as fh:
        table = list(csv.reader(fh))
    assert len(table) - 1 == expected
    assert {r[0] for r in table[1:]} == {category}
    assert {r[1] for r in table[1:]} == {county_name}


def _flash(page: Page) -> str | None:
    box = page.locator("#flash")
    return box.inner_text() if box.count() else None


def test_actions_confirm_once_and_errors_sit_beside_their_field(page: Page, site: Site) -> None:
    # 1. an API token created (the page is the answer), 2. revoked (after a redirect)
    sign_in(page, site, site.users["admin"])
    page.goto(f"{site.url}/admin/tokens")
    page.fill("#token-form input[name=username]", site.users["bank"])
    page.fill("#token-form input[name=name]", "反馈测试令牌")
    with page.expect_navigation():
        page.click("#token-form button[type=submit]")
    assert _flash(page) == "已创建 API 令牌“反馈测试令牌”"
    row = page.locator("table.data tr").filter(has_text="反馈测试令牌").first
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    assert _flash(page) == "已吊销 API 令牌"
    page.reload()
    assert _flash(page) is None  # shown once
    # a refused form: the error beside its field, what was typed kept
    page.fill("#token-form input[name=username]", "no_such_user")
    page.fill("#token-form input[name=name]", "不会创建")
    with page.expect_navigation():
        page.click("#token-form button[type=submit]")
    error = page.locator("#token-form label:has(input[name=username]) .field-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("no_such_user")
    expect(page.locator("#token-form input[name=name]")).to_have_value("不会创建")
    assert page.locator("#token-form input[name=username]").get_attribute("aria-invalid")
    shot(page, site, "feedback-field-error")
    page.click("#logout")
    # 3. a bank consent granted by the enterprise (redirect to the portal)
    sign_in(page, site, site.users["enterprise"])
    bank = site.users["bank"]
    # one consent per bank: a consent to it still in force is revoked first (confirmed too)
    for _ in range(3):
        live = page.locator(f"#consent-list tr[data-bank='{bank}'] button.revoke")
        if not live.count():
            break
        with page.expect_navigation():
            live.first.click()
        assert _flash(page) == "已撤销授权"
    page.select_option("#consent-form select[name=bank]", bank)
    expires = (DEMO_TODAY + timedelta(days=30)).isoformat()
    page.fill("#consent-form input[name=expires_on]", expires)
    page.fill("#consent-form input[name=purpose]", "反馈测试")
    with page.expect_navigation():
        page.click("#consent-grant")
    message = _flash(page)
    assert page.locator("#consent-form .field-error").count() == 0, page.content()[:3000]
    assert message is not None and message.startswith("已授权") and "查看碳效信息" in message
    shot(page, site, "feedback-consent-granted")
    page.reload()
    assert _flash(page) is None
    granted = page.locator("#consent-list tr").filter(has_text="反馈测试").first
    with page.expect_navigation():
        granted.locator("button.revoke").click()
    assert _flash(page) == "已撤销授权"
