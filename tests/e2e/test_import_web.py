"""Import in the browser end to end (issue 14, point 14) in Chromium over the demo, on SQLite and
PostgreSQL: every batch row links to the batch's page (file, counts, problems by code, error
workbook, the facts it loaded, what superseded what); a corrected upload supersedes the earlier
figures and names them; the same content uploaded again says so and links to its batch; the
matching review queue confirms and dismisses entries (audited, with a confirmation); and the
demo's batches are stamped on the demo's day (point 4)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.demo.constants import DEMO_TODAY
from industry_brain.store.db import make_engine
from industry_brain.store.models import AuditLog, Fact, ImportBatch, MatchReview
from tests.e2e.conftest import Site
from tests.e2e.test_browser import shot, sign_in

pytestmark = pytest.mark.pg_browser  # also on PostgreSQL (tests/e2e/conftest.py)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _store(site: Site):
    return make_engine(site.store_url)


def test_demo_batches_are_stamped_on_the_demo_day(site: Site) -> None:
    engine = _store(site)
    try:
        with Session(engine) as s:
            stamps = s.scalars(select(ImportBatch.created_at).where(ImportBatch.user_id.is_(None)))
            days = {at.astimezone(SHANGHAI).date() for at in stamps}
    finally:
        engine.dispose()
    assert days == {DEMO_TODAY}, days  # the demo runs entirely on its own day


def test_batch_page_from_the_import_page(page: Page, site: Site, tmp_path: Path) -> None:
    engine = _store(site)
    try:
        with Session(engine) as s:
            # the demo's latest statistics batch: partial, with rows in the review queue
            batch = s.scalars(
                select(ImportBatch)
                .where(
                    ImportBatch.kind == "stats_annual",
                    ImportBatch.status == "partial",
                    ImportBatch.user_id.is_(None),  # the demo's, not one another test uploaded
                )
                .order_by(ImportBatch.id.desc())
            ).first()
            facts = s.scalar(
                select(func.count()).select_from(Fact).where(Fact.batch_id == batch.id)
            )
            reviews = s.scalar(
                select(func.count())
                .select_from(MatchReview)
                .where(MatchReview.batch_id == batch.id, MatchReview.status == "open")
            )
            first = s.scalars(
                select(Fact).where(Fact.batch_id == batch.id).order_by(Fact.row, Fact.id)
            ).first()
    finally:
        engine.dispose()
    sign_in(page, site, site.users["admin"])
    page.goto(f"{site.url}/import/batches")
    page.locator(f"#batches tr[data-batch='{batch.id}'] a.batch-link").click()
    page.wait_for_url(f"**/import/batches/{batch.id}")
    expect(page.locator("#batch-summary")).to_have_attribute("data-status", "partial")
    expect(page.locator("#batch-rows")).to_contain_text(
        f"共 {batch.rows_total:,} 行，入库 {batch.rows_loaded:,} 行，"
        f"拒绝 {batch.rows_rejected:,} 行"
    )
    expect(page.locator("#facts-total")).to_have_attribute("data-total", str(facts))
    expect(page.locator("#batch-facts tbody tr")).to_have_count(min(facts, 50))
    # problems by code with their labels, never their codes
    codes = page.locator("#batch-problem-codes tbody tr")
    assert codes.count() >= 1
    text = page.locator("#batch-problem-codes").inner_text()
    assert "match.unknown" not in text and "找不到对应企业" in text
    shot(page, site, "import-batch")
    # one enterprise's figures of the batch (the explanation's lineage links here)
    page.fill("#facts input[name=uscc]", _uscc_of(site, first.enterprise_id))
    page.click("#facts button[type=submit]")
    rows = page.locator("#batch-facts tbody tr")
    expect(rows.first).to_have_attribute("data-uscc", _uscc_of(site, first.enterprise_id))
    assert rows.count() == _facts_of(site, batch.id, first.enterprise_id)
    # the error workbook: the problems of the batch
    with page.expect_download() as dl:
        page.click("#batch-workbook")
    path = tmp_path / "batch.xlsx"
    dl.value.save_as(path)
    wb = openpyxl.load_workbook(path, read_only=True)
    assert any(ws.max_row > 1 for ws in wb.worksheets)
    # the review entries of the batch are one click away
    page.locator("#batch-reviews a").click()
    page.wait_for_url(f"**/import/reviews?status=open&batch={batch.id}")
    expect(page.locator("#reviews tbody tr[data-review]")).to_have_count(reviews)


def _uscc_of(site: Site, enterprise_id: int) -> str:
    from industry_brain.store.models import Enterprise

    engine = _store(site)
    try:
        with Session(engine) as s:
            return s.get(Enterprise, enterprise_id).uscc
    finally:
        engine.dispose()


def _facts_of(site: Site, batch_id: int, enterprise_id: int) -> int:
    engine = _store(site)
    try:
        with Session(engine) as s:
            return s.scalar(
                select(func.count())
                .select_from(Fact)
                .where(Fact.batch_id == batch_id, Fact.enterprise_id == enterprise_id)
            )
    finally:
        engine.dispose()


def _read(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def test_corrected_upload_supersedes_and_a_repeat_links_its_batch(
    page: Page, site: Site, tmp_path: Path
) -> None:
    lines = _read(site.demo_dir / "inbox" / "tax" / "2025年度企业税收明细.csv").splitlines()
    header, row = lines[0], lines[1].split(",")
    # the first firm's 增值税 of 2025 corrected: 实缴税金 and 入库税收 both + 10,000 元
    row[4], row[5] = str(int(row[4]) + 10000), str(int(row[5]) + 10000)
    upload = tmp_path / "税收更正_2025.csv"
    upload.write_text(f"{header}\n{','.join(row)}\n", encoding="utf-8-sig")
    sign_in(page, site, site.users["admin"])
    page.goto(f"{site.url}/import")
    page.select_option("#kind", "tax")
    page.set_input_files("#file", str(upload))
    page.click("#preview")
    expect(page.locator("#commit")).to_be_visible(timeout=60000)
    expect(page.locator("#already-imported")).to_have_count(0)
    page.click("#commit")
    expect(page.locator("#committed")).to_be_visible(timeout=60000)
    page.click("#committed-link")
    page.wait_for_url("**/import/batches/*")
    new_batch = int(page.url.rsplit("/", 1)[1])
    engine = _store(site)
    try:
        with Session(engine) as s:
            old = s.scalars(
                select(Fact)
                .where(Fact.superseded_by.in_(select(Fact.id).where(Fact.batch_id == new_batch)))
                .order_by(Fact.item)
            ).all()
            stamp = s.get(ImportBatch, new_batch).created_at
    finally:
        engine.dispose()
    # 实缴税金 and 入库税收 of 增值税: two earlier figures superseded, by hand 10,000 元 = 1 万元
    assert [(f.item, f.detail) for f in old] == [("tax_paid", "增值税"), ("tax_revenue", "增值税")]
    expect(page.locator("#batch-supersedes")).to_contain_text("更正了此前批次的 2 条数据")
    table = page.locator("#batch-supersedes-table tbody tr")
    expect(table).to_have_count(2)
    first = table.first.locator("td")
    assert first.nth(3).inner_text() == f"{old[0].value:,.2f}"
    assert first.nth(4).inner_text() == f"{old[0].value + 1:,.2f}"
    expect(table.first.locator("a").last).to_have_attribute(
        "href", f"/import/batches/{old[0].batch_id}"
    )
    # stamped on the platform's day (the site replays DEMO_TODAY), never after it
    assert stamp.astimezone(SHANGHAI).date() <= DEMO_TODAY
    if datetime.now(SHANGHAI).date() != DEMO_TODAY:
        assert stamp.astimezone(SHANGHAI).date() == DEMO_TODAY
    shot(page, site, "import-batch-corrections")
    # the earlier batch names the correction too
    page.goto(f"{site.url}/import/batches/{old[0].batch_id}")
    later = sum(1 for f in old if f.batch_id == old[0].batch_id)
    expect(page.locator("#batch-superseded-later")).to_contain_text(f"本批次的 {later} 条数据已被")
    # the same content again: the preview says so, links to the batch, offers no commit
    page.goto(f"{site.url}/import")
    page.select_option("#kind", "tax")
    page.set_input_files("#file", str(upload))
    page.click("#preview")
    notice = page.locator("#already-imported")
    expect(notice).to_be_visible(timeout=60000)
    expect(notice).to_contain_text(f"批次 #{new_batch}")
    expect(page.locator("#commit")).to_have_count(0)
    page.click("#already-link")
    page.wait_for_url(f"**/import/batches/{new_batch}")


def test_review_queue_confirms_and_dismisses(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["admin"])
    page.goto(f"{site.url}/import")
    page.click("#review-queue")
    page.wait_for_url("**/import/reviews")
    ambiguous = page.locator("#reviews tr[data-reason='ambiguous']").first
    review_id = int(ambiguous.get_attribute("data-review"))
    chosen = ambiguous.locator("ul.candidates li").last.get_attribute("data-uscc")
    ambiguous.locator(f"input[type=radio][value='{chosen}']").check()
    ambiguous.locator("button.confirm").click()
    page.wait_for_url("**/import/reviews?status=open")
    expect(page.locator("#flash")).to_contain_text(f"已确认待核对记录 #{review_id}")
    expect(page.locator(f"#reviews tr[data-review='{review_id}']")).to_have_count(0)
    # an entry with no candidate and no USCC typed: refused beside its form
    unknown = page.locator("#reviews tr[data-reason='unknown']").first
    unknown_id = int(unknown.get_attribute("data-review"))
    unknown.locator("input[name=uscc_other]").evaluate("e => e.removeAttribute('required')")
    unknown.locator("button.confirm").click()
    expect(page.locator("#review-error")).to_be_visible()
    row = page.locator(f"#reviews tr[data-review='{unknown_id}']")
    expect(row.locator("#review-error")).to_contain_text("请选择候选企业或填写统一社会信用代码")
    row.locator("button.dismiss").click()
    page.wait_for_url("**/import/reviews?status=open")
    expect(page.locator("#flash")).to_contain_text(f"已驳回待核对记录 #{unknown_id}")
    page.goto(f"{site.url}/import/reviews?status=confirmed")
    done = page.locator(f"#reviews tr[data-review='{review_id}']")
    expect(done).to_contain_text("已确认")
    shot(page, site, "import-reviews")
    engine = _store(site)
    try:
        with Session(engine) as s:
            confirmed = s.get(MatchReview, review_id)
            dismissed = s.get(MatchReview, unknown_id)
            assert confirmed.status == "confirmed" and dismissed.status == "dismissed"
            audits = {
                (a.action, a.object_id, a.actor)
                for a in s.scalars(
                    select(AuditLog).where(
                        AuditLog.action.in_(("review.confirm", "review.dismiss"))
                    )
                )
            }
    finally:
        engine.dispose()
    assert ("review.confirm", str(review_id), "admin") in audits
    assert ("review.dismiss", str(unknown_id), "admin") in audits


def test_batch_pages_need_the_import_permission(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["county_officer"])
    for path in ("/import/batches/1", "/import/reviews"):
        response = page.goto(f"{site.url}{path}")
        assert response is not None and response.status == 403, path
