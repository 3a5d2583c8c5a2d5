"""The programmes pages over the demo site, on SQLite and PostgreSQL: a city officer sees the demo
programme's progress by county (targets 814 from the Huzhou parameters, assignments as stored)
and downloads its export; the benchmark, event, loan and investment pages and the cockpit section
show the store's own figures; a county officer sees its county only; an enterprise is refused."""

from __future__ import annotations

import hashlib
from io import BytesIO
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.domains.programmes.models import (
    Programme,
    ProgrammeAssignment,
    ProgrammeEvent,
    ProgrammeRecognition,
    ProgrammeTarget,
)
from industry_brain.store.db import make_engine
from tests.e2e.conftest import Site
from tests.e2e.test_browser import shot, sign_in


def _store(site: Site) -> dict:
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            p = s.scalars(select(Programme).order_by(Programme.id)).first()
            return {
                "id": p.id,
                "name": p.name,
                "targets": dict(
                    s.execute(
                        select(ProgrammeTarget.county_code, ProgrammeTarget.target).where(
                            ProgrammeTarget.programme_id == p.id
                        )
                    ).all()
                ),
                "assigned": s.scalar(
                    select(func.count(ProgrammeAssignment.id)).where(
                        ProgrammeAssignment.programme_id == p.id
                    )
                ),
                "recognitions": s.scalar(select(func.count(ProgrammeRecognition.id))),
                "events": s.scalar(
                    select(func.count(ProgrammeEvent.id)).where(ProgrammeEvent.kind == "zhizaohui")
                ),
            }
    finally:
        engine.dispose()


def test_programme_pages_for_officers(page: Page, site: Site) -> None:
    store = _store(site)
    assert sum(store["targets"].values()) == 814 and store["assigned"] > 0
    sign_in(page, site, site.users["city_officer"])
    page.goto(f"{site.url}/programmes")
    expect(page.locator("#programme-progress h2")).to_have_text(store["name"])
    rows = page.locator("#table-programme-progress tbody tr")
    expect(rows).to_have_count(len(store["targets"]))
    targets = sorted(int(t) for t in rows.locator("td:nth-child(2)").all_inner_texts())
    assert targets == sorted(store["targets"].values())
    assigned = sum(int(t) for t in rows.locator("td:nth-child(4)").all_inner_texts())
    assert assigned == store["assigned"]
    shot(page, site, "programmes")
    with page.expect_download() as dl:
        page.click("#programme-export")
    wb = load_workbook(BytesIO(Path(dl.value.path()).read_bytes()))
    assert wb["进度 progress"]["A1"].value.startswith(store["name"])

    page.goto(f"{site.url}/programmes/benchmarks")
    assert page.locator("#table-recognitions tbody tr").count() == min(50, store["recognitions"])
    page.goto(f"{site.url}/programmes/events")
    expect(page.locator("#table-events tbody tr")).to_have_count(store["events"])
    page.goto(f"{site.url}/programmes/investment")
    expect(page.locator("#table-investment-type tbody tr")).to_have_count(1)  # technical upgrade
    page.goto(f"{site.url}/programmes/loans")
    expect(page.locator("#table-loans-bank")).to_be_visible()
    page.goto(f"{site.url}/cockpit")
    expect(page.locator("#programmes-investment")).to_be_visible()

    page.context.clear_cookies()
    sign_in(page, site, site.users["county_officer"])
    page.goto(f"{site.url}/programmes")
    expect(page.locator("#table-programme-progress tbody tr")).to_have_count(1)

    page.context.clear_cookies()
    sign_in(page, site, site.users["enterprise"])
    response = page.goto(f"{site.url}/programmes")
    assert response is not None and response.status == 403


def _desk_rows(site: Site, username: str) -> dict[int, str]:
    """Assignment id → enterprise USCC of the programme providers with the USCC of the market
    provider ``username`` acts for (the demo tenders the registry's first three providers)."""
    from industry_brain.domains.market.models import MarketProvider, MarketProviderUser
    from industry_brain.domains.programmes.models import ProgrammeProvider
    from industry_brain.store.models import Enterprise, User

    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            uscc = s.scalar(
                select(MarketProvider.uscc)
                .join(MarketProviderUser, MarketProviderUser.provider_id == MarketProvider.id)
                .join(User, User.id == MarketProviderUser.user_id)
                .where(User.username == username)
            )
            return dict(
                s.execute(
                    select(ProgrammeAssignment.id, Enterprise.uscc)
                    .join(
                        ProgrammeProvider, ProgrammeProvider.id == ProgrammeAssignment.provider_id
                    )
                    .join(Enterprise, Enterprise.id == ProgrammeAssignment.enterprise_id)
                    .where(ProgrammeProvider.uscc == uscc)
                ).all()
            )
    finally:
        engine.dispose()


def test_provider_programme_desk(page: Page, site: Site) -> None:
    """provider_03 (the registry's third provider, tendered as the generalist) reaches its
    diagnosis tasks from its market desk, sees exactly its assignments (none of provider_01's)
    and marks a report delivered."""
    mine = _desk_rows(site, "provider_03")
    other = _desk_rows(site, "provider_01")
    assert mine and not set(mine) & set(other)
    sign_in(page, site, "provider_03")
    page.goto(f"{site.url}/market/desk")
    page.click("#market-programme-desk")
    page.wait_for_load_state("networkidle")
    rows = page.locator("#table-programmes-desk tbody tr")
    expect(rows).to_have_count(len(mine))
    ids = {int(x.split("-")[1]) for x in rows.evaluate_all("rs => rs.map(r => r.id)")}
    assert ids == set(mine)
    shown = set(rows.locator("td:nth-child(2)").all_inner_texts())
    assert shown == set(mine.values()) and not shown & set(other.values())
    delivered = "form[action$='/delivered']"
    first = rows.filter(has=page.locator(delivered)).first
    row_id = first.get_attribute("id")
    first.locator(f"{delivered} button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#flash")).to_contain_text("已标记诊断报告交付")
    expect(page.locator(f"#{row_id} {delivered}")).to_have_count(0)
    # the report file: a text file is refused beside the desk, a PDF is kept with its hash
    upload = page.locator(f"#{row_id} form[action$='/report']")
    upload.locator("input[type=file]").set_input_files(
        files=[{"name": "report.txt", "mimeType": "text/plain", "buffer": b"not a pdf"}]
    )
    upload.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#desk-error")).to_contain_text("请上传 PDF 文件")
    pdf = b"%PDF-1.4\n%%EOF\n"
    upload = page.locator(f"#{row_id} form[action$='/report']")
    upload.locator("input[type=file]").set_input_files(
        files=[{"name": "诊断报告.pdf", "mimeType": "application/pdf", "buffer": pdf}]
    )
    upload.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    digest = hashlib.sha256(pdf).hexdigest()
    expect(page.locator("#flash")).to_contain_text(digest[:12])
    expect(page.locator(f"#{row_id}")).to_contain_text("诊断报告.pdf")
    shot(page, site, "programmes-desk")


def test_officer_creates_an_event_and_registers_a_firm(page: Page, site: Site) -> None:
    """智造荟 on the web: a wrong capacity is shown beside its field with what was typed; the
    event is created; typing part of a firm's name offers the scoped firms (HTMX) and the chosen
    firm is registered."""
    from industry_brain.store.models import Enterprise

    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            firm = s.scalars(select(Enterprise).order_by(Enterprise.id)).first()
            name, code = firm.name, firm.uscc
    finally:
        engine.dispose()
    sign_in(page, site, site.users["city_officer"])
    page.goto(f"{site.url}/programmes/events")
    page.click("#event-new-box summary")
    form = page.locator("#event-new")
    form.locator("input[name=theme]").fill("浏览器测试智造荟")
    form.locator("input[name=capacity]").fill("x")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#error-capacity")).to_be_visible()
    expect(page.locator("#event-new input[name=theme]")).to_have_value("浏览器测试智造荟")
    page.locator("#event-new input[name=capacity]").fill("30")
    page.locator("#event-new button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#flash")).to_contain_text("已新建活动“浏览器测试智造荟”")
    expect(page.locator("#event-detail h2")).to_contain_text("浏览器测试智造荟")
    box = page.locator("#event-register input[name=uscc]")
    box.press_sequentially(name[:4], delay=50)
    expect(page.locator(f"#event-firms option[value='{code}']")).to_have_count(1)
    box.fill(code)
    page.locator("#event-register button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#flash")).to_contain_text(name)
    expect(page.locator("#table-registrations")).to_contain_text(code)
    shot(page, site, "programmes-event")
