"""项目钉 in the browser: an agent opens a project from the agent desk and files a progress
report through the form; officers see the 破五未 badges on the board and the warnings chart on
the cockpit; the bulletin — in Chromium against a real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from industry_brain.web.app import format_number
from tests.e2e.conftest import Site
from tests.e2e.test_browser import shot, sign_in

pytestmark = pytest.mark.pg_browser  # also on PostgreSQL (tests/e2e/conftest.py)


def _number(text: str) -> float:
    return float(text.replace(",", "").strip() or 0)


def test_agent_reports_progress_from_the_agent_desk(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["agent"])
    assert page.url.endswith("/agent")
    expect(page.locator("main")).not_to_contain_text("尚未上线")
    link = page.locator("a[href^='/projects/']").first
    code = link.inner_text().strip()
    link.click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("h1.project-name")).to_have_attribute("data-code", code)
    form = page.locator("#progress-form")
    expect(form).to_be_visible()
    version = form.locator("input[name=version]").input_value()
    # investment completed to date never decreases: report a little more than the latest one
    rows = page.locator("#table-reports tbody tr td:nth-child(2)")
    latest = _number(rows.first.inner_text()) if rows.count() else 0.0
    note = f"浏览器测试填报（{'甲' if site.store == 'sqlite' else '乙'}）"  # one language
    value = round(latest + 100, 1)
    form.locator("input[name=investment_completed]").fill(f"{value:.1f}")
    form.locator("input[name=headcount]").fill("42")
    form.locator("textarea[name=notes]").fill(note)
    shot(page, site, "projects-progress-form")
    page.click("#progress-submit")
    page.wait_for_load_state("networkidle")
    # the one-time confirmation (web/flash.py), not a ?saved= notice in the URL
    expect(page.locator("#flash")).to_have_text("已保存项目进度")
    assert "saved=" not in page.url
    first = page.locator("#table-reports tbody tr").first
    expect(first).to_contain_text(note)
    expect(first).to_contain_text(format_number(value))
    # a report bumps the project version (reports of a project are serialised, issue 13): the
    # reloaded form carries the next one
    new_version = page.locator("#progress-form input[name=version]").input_value()
    assert int(new_version) == int(version) + 1
    shot(page, site, "projects-progress-saved")


def test_agent_raises_a_ticket_error_beside_the_field_then_a_confirmation(
    page: Page, site: Site
) -> None:
    sign_in(page, site, site.users["agent"])
    page.locator("a[href^='/projects/']").first.click()
    page.wait_for_load_state("networkidle")
    form = page.locator("#ticket-form")
    expect(form).to_be_visible()
    before = page.locator("tr[data-ticket]").count()
    # a title left empty (the browser's own check switched off): the server's error stands
    # beside the title field, the form keeps what was typed, nothing is saved
    form.locator("input[name=title]").evaluate("e => e.removeAttribute('required')")
    note = f"浏览器测试诉求（{'甲' if site.store == 'sqlite' else '乙'}）"
    form.locator("textarea[name=description]").fill(note)
    page.click("#ticket-submit")
    page.wait_for_load_state("networkidle")
    error = page.locator("#ticket-form label:has(input[name=title]) .field-error")
    expect(error).to_have_attribute("data-code", "ticket.title")
    expect(page.locator("#ticket-form textarea[name=description]")).to_have_value(note)
    expect(page.locator("#flash")).to_have_count(0)
    assert page.locator("tr[data-ticket]").count() == before
    shot(page, site, "projects-ticket-error")
    page.locator("#ticket-form input[name=title]").fill(note)
    page.click("#ticket-submit")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#flash")).to_have_text("已提交工单")
    assert "saved=" not in page.url
    expect(page.locator("tr[data-ticket]")).to_have_count(before + 1)
    expect(page.locator("tr[data-ticket]", has_text=note)).to_have_count(1)
    shot(page, site, "projects-ticket-saved")
    page.reload()
    expect(page.locator("#flash")).to_have_count(0)  # shown once


def test_warning_chart_segment_opens_the_warnings_of_its_kind(page: Page, site: Site) -> None:
    """A segment of the cockpit's 破五未 chart (kind × colour) opens the board's warnings of
    that kind and colour — as many as the table beside the chart counts; the kind filter stays
    in the URL and in the export."""
    sign_in(page, site, site.users["city_officer"])
    page.wait_for_selector("body[data-charts-ready='1']", state="attached", timeout=20000)
    kinds = ["not_started", "not_completed", "not_producing", "not_above_scale", "not_at_capacity"]
    colours = ["yellow", "red", "black"]
    counts = {
        (k, c): _number(
            page.locator(f"#table-wuwei tr[data-kind='{k}'] td")
            .nth(1 + colours.index(c))
            .inner_text()
        )
        for k in kinds
        for c in colours
    }
    (kind, colour), n = max(counts.items(), key=lambda kv: kv[1])
    assert n > 0
    point = page.evaluate(
        """([series, index, value]) => {
          const el = document.querySelector('[data-chart-json="projects-wuwei-chart"]');
          const c = echarts.getInstanceByDom(el);
          const opt = c.getOption();
          let below = 0;
          for (let s = 0; s < series; s++) below += opt.series[s].data[index] || 0;
          el.scrollIntoView();
          const [x, y] = c.convertToPixel({seriesIndex: series}, [index, below + value / 2]);
          const box = el.getBoundingClientRect();
          return [box.left + x, box.top + y];
        }""",
        [colours.index(colour), kinds.index(kind), n],
    )
    page.mouse.click(point[0], point[1])
    page.wait_for_url(re.compile(r"/projects\?.*kind="))
    assert f"kind={kind}" in page.url and f"colour={colour}" in page.url
    assert int(page.locator("#warnings-total").get_attribute("data-total")) == int(n)
    expect(page.locator("#board-filters select[name=kind]")).to_have_value(kind)
    kinds_shown = page.locator("#board .wuwei").evaluate_all(
        "els => [...new Set(els.map(e => e.getAttribute('data-kind')))]"
    )
    assert kinds_shown == [kind]
    expect(page.locator("#warnings-export input[name=kind]")).to_have_value(kind)
    shot(page, site, "projects-board-kind")


def test_officer_sees_warning_badges_on_the_board(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["county_officer"])
    page.goto(f"{site.url}/projects")
    expect(page.locator("h1")).to_contain_text("项目看板")
    badges = page.locator("#board .wuwei")
    expect(badges.first).to_be_visible()
    colour = badges.first.get_attribute("data-colour")
    assert colour in ("yellow", "red", "black")
    assert re.search(r"(逾期|剩) \d+ 天", badges.first.inner_text())
    expect(page.locator("#table-warnings tbody tr").first).to_be_visible()
    shot(page, site, "projects-board")
    # only warned projects, then one project's page explains its warning
    page.check("input[name=warnings]")
    page.click("#board-filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    cards = page.locator("#board .pcard")
    assert cards.count() == page.locator("#board .pcard.warned").count() > 0
    cards.first.locator("a.pcode").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#warning .wuwei")).to_be_visible()
    page.locator("#warning details.explain summary").click()
    # the parameters used, as a readable table
    expect(page.locator("#warning details.explain")).to_contain_text("交地后应开工的月数")
    # an officer reads but does not file progress
    expect(page.locator("#progress-form")).to_have_count(0)
    shot(page, site, "projects-detail")


def test_cockpit_warning_chart_and_the_bulletin(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["city_officer"])
    page.wait_for_selector("body[data-charts-ready='1']", state="attached", timeout=15000)
    section = page.locator("#projects-warnings")
    canvas = section.locator("canvas")
    expect(canvas.first).to_be_attached()
    box = canvas.first.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100
    expect(section.locator("#table-wuwei tbody tr")).to_have_count(5)
    page.goto(f"{site.url}/bulletins")
    expect(page.locator("#table-ranking tbody tr")).to_have_count(5)
    expect(page.locator("#table-lists")).to_contain_text("红榜")
    with page.expect_download() as download:
        page.click("#bulletin-download")
    assert download.value.suggested_filename.startswith("bulletin_")
    page.goto(f"{site.url}/lang/en?next=/bulletins")
    expect(page.locator("h1")).to_contain_text("bulletin")
    shot(page, site, "projects-bulletin-en")
