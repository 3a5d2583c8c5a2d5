"""Explanations as documents (issue 14, point 13) in Chromium over the demo, on SQLite and
PostgreSQL: the 亩均 and carbon explanations open in the profile as structured HTML with a
one-line verdict, inputs with their lineage linked to the batch, the benchmark and its
population, the arithmetic as a table with vetoes highlighted; a printable page and a PDF
(WeasyPrint, Noto Sans CJK). One firm's numbers are checked by hand from the store's figures."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.domains.carbon.models import CarbonResult
from industry_brain.domains.mujun.models import MujunResult, MujunResultItem, MujunRun
from industry_brain.store.db import make_engine
from industry_brain.store.models import AgentAssignment, Enterprise, Fact, User
from tests.e2e.conftest import Site
from tests.e2e.test_browser import shot, sign_in


def _latest_run(s: Session) -> MujunRun:
    return s.scalars(
        select(MujunRun)
        .where(MujunRun.status == "published")
        .order_by(MujunRun.year.desc(), MujunRun.id.desc())
    ).first()


def _figure(s: Session, enterprise_id: int, year: int, item: str) -> float:
    """The current figure of an item: the sum of its facts not superseded (months, details)."""
    return s.scalar(
        select(func.sum(Fact.value)).where(
            Fact.enterprise_id == enterprise_id,
            Fact.year == year,
            Fact.item == item,
            Fact.superseded_by.is_(None),
        )
    )


def _open_mujun(page: Page, site: Site, uscc: str) -> None:
    page.goto(f"{site.url}/enterprises/{uscc}")
    page.locator("#mujun-section details.explain summary").click()
    expect(page.locator("#mujun-explanation")).to_be_visible(timeout=30000)


def _pdf_fonts(data: bytes) -> set[bytes]:
    """The fonts a PDF embeds (their names sit in compressed object streams)."""
    names: set[bytes] = set()
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            names |= set(re.findall(rb"/BaseFont\s*/([^\s/<>]+)", zlib.decompress(m.group(1))))
        except zlib.error:
            continue
    return names


def test_vetoed_firm_explanation_checked_by_hand(page: Page, site: Site, tmp_path: Path) -> None:
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            run = _latest_run(s)
            vetoed = s.scalars(
                select(MujunResult)
                .where(MujunResult.run_id == run.id, MujunResult.class_rule == "veto")
                .order_by(MujunResult.uscc)
            ).all()
            # a vetoed firm with value added and energy (单位能耗增加值 computed, not filled)
            res, item = next(
                (r, it)
                for r in vetoed
                for it in s.scalars(
                    select(MujunResultItem).where(
                        MujunResultItem.run_id == run.id,
                        MujunResultItem.enterprise_id == r.enterprise_id,
                        MujunResultItem.indicator == "va_per_tce",
                        MujunResultItem.fill_rule.is_(None),
                    )
                )
            )
            va = _figure(s, res.enterprise_id, run.year, "value_added")
            energy = _figure(s, res.enterprise_id, run.year, "energy_total")
            scores = s.scalars(
                select(MujunResultItem.score).where(
                    MujunResultItem.run_id == run.id,
                    MujunResultItem.enterprise_id == res.enterprise_id,
                )
            ).all()
    finally:
        engine.dispose()
    sign_in(page, site, site.users["city_officer"])
    _open_mujun(page, site, res.uscc)
    doc = page.locator("#mujun-explanation")
    verdict = doc.locator("#mujun-verdict")
    expect(verdict).to_have_class(re.compile(r"\bveto\b"))
    assert verdict.inner_text().startswith("D 类：一票否决（"), verdict.inner_text()
    veto_row = doc.locator("#mujun-total tr.veto")
    expect(veto_row.locator(".flag.veto")).to_have_text("一票否决")
    assert veto_row.locator("th").inner_text() in verdict.inner_text()
    # inputs as the departments sent them, by hand: value added and energy from the facts
    va_row = doc.locator("#mujun-inputs tr[data-column='value_added']")
    expect(va_row.locator("td.num")).to_have_text(f"{va:,.2f} 万元")
    expect(doc.locator("#mujun-inputs tr[data-column='energy_tce'] td.num")).to_have_text(
        f"{energy:,.2f} tce"
    )
    # the lineage links to the batch page, filtered on the firm
    link = va_row.locator("a.batch-link").first
    assert re.search(rf"/import/batches/\d+\?uscc={res.uscc}#facts$", link.get_attribute("href"))
    # 单位能耗增加值 = value added ÷ energy; score = value ÷ benchmark × weight (capped)
    row = doc.locator("#mujun-arithmetic tr[data-indicator='va_per_tce'] td")
    value = va / energy
    assert row.nth(2).inner_text() == f"{value:,.4f}"
    raw = value / item.benchmark * item.weight
    expected = max(0.0, min(raw, item.cap) if item.cap is not None else raw)
    assert row.nth(6).inner_text() == f"{expected:,.2f}"
    assert str(item.benchmark_n) in row.nth(3).inner_text()  # the benchmark's population
    # the indicator scores add up to the total of the table
    expect(doc.locator("#mujun-base-score")).to_have_text(f"{sum(scores):,.2f}")
    shot(page, site, "mujun-explanation")
    # printable: the page without navigation when printed
    page.goto(f"{site.url}/mujun/explanation/{res.uscc}")
    expect(page.locator("#mujun-verdict")).to_have_text(verdict.inner_text())
    page.emulate_media(media="print")
    expect(page.locator("#doc-pdf")).to_be_hidden()
    page.emulate_media(media="screen")
    # the PDF: WeasyPrint with the CJK font
    with page.expect_download() as dl:
        page.click("#doc-pdf")
    path = tmp_path / "mujun.pdf"
    dl.value.save_as(path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 20_000
    assert any(b"Noto-Sans-CJK" in name for name in _pdf_fonts(data)), _pdf_fonts(data)


def test_quota_firm_verdict_rank_by_hand(page: Page, site: Site) -> None:
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            run = _latest_run(s)
            rows = s.scalars(
                select(MujunResult).where(MujunResult.run_id == run.id, MujunResult.evaluated)
            ).all()
            res = next(
                r
                for r in sorted(rows, key=lambda r: r.uscc)
                if r.class_rule == "quota"
                and sum(1 for o in rows if o.score == r.score and o.county_code == r.county_code)
                == 1
            )
            peers = [o for o in rows if o.county_code == res.county_code and o.scope == res.scope]
    finally:
        engine.dispose()
    # the rule by hand: vetoed firms go last, the others by score, best first
    rank = 1 + sum(1 for o in peers if not o.veto and o.score is not None and o.score > res.score)
    sign_in(page, site, site.users["admin"])
    _open_mujun(page, site, res.uscc)
    verdict = page.locator("#mujun-verdict").inner_text()
    assert f"得分 {res.score:,.2f}，县内第 {rank}/{len(peers)}" in verdict, verdict
    expect(page.locator("#mujun-verdict")).not_to_have_class(re.compile(r"\bveto\b"))


def test_carbon_explanation_benchmark_by_hand(page: Page, site: Site, tmp_path: Path) -> None:
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            res = s.scalars(
                select(CarbonResult)
                .where(CarbonResult.status == "graded", CarbonResult.method == "huzhou_2021")
                .order_by(CarbonResult.run_id.desc(), CarbonResult.id)
            ).first()
            uscc = s.get(Enterprise, res.enterprise_id).uscc
            peers = s.execute(
                select(
                    func.sum(CarbonResult.co2_net), func.sum(CarbonResult.denominator), func.count()
                ).where(
                    CarbonResult.run_id == res.run_id,
                    CarbonResult.method == res.method,
                    CarbonResult.peer_region == res.peer_region,
                    CarbonResult.industry_key == res.industry_key,
                    CarbonResult.status.in_(("graded", "INDUSTRY_AVG_NONPOSITIVE")),
                )
            ).one()
    finally:
        engine.dispose()
    co2, base, n = peers
    sign_in(page, site, site.users["admin"])
    page.goto(f"{site.url}/enterprises/{uscc}")
    page.locator("#carbon-section details.explain summary").click()
    doc = page.locator("#carbon-explanation")
    expect(doc).to_be_visible(timeout=30000)
    # the verdict: grade, K and the peers behind the industry average
    verdict = doc.locator("#carbon-verdict").inner_text()
    assert f"{res.grade} 级" in verdict and f"{res.k_value:.4f}" in verdict, verdict
    assert f"同行业参比企业 {n} 家" in verdict
    bench = doc.locator("#carbon-benchmark")
    # industry average = Σ net CO2 ÷ Σ value added over the peers, by hand
    expect(bench).to_contain_text(f"{co2 / base:,.8f}")
    expect(bench).to_contain_text(f"{n:,}")
    # K = L ÷ industry average (the stored intensity's unrounded value)
    k = (res.co2_net / res.denominator) / (co2 / base)
    expect(doc.locator("#carbon-arithmetic tr[data-step='k']")).to_contain_text(f"{k:.8f}")
    text = doc.inner_text()
    assert "[V]" not in text and "外购[" not in text  # no raw quality tags or item codes
    shot(page, site, "carbon-explanation")
    with page.expect_download() as dl:
        page.click("#carbon-explain-pdf")
    path = tmp_path / "carbon.pdf"
    dl.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF-")


def test_explanation_documents_are_for_those_who_may_read_them(page: Page, site: Site) -> None:
    """An agent sees class and score, never the tax-based explanation, nor its document."""
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            agent = s.scalars(select(User).where(User.username == site.users["agent"])).one()
            assigned = s.scalars(
                select(Enterprise.uscc)
                .join(AgentAssignment, AgentAssignment.enterprise_id == Enterprise.id)
                .where(AgentAssignment.user_id == agent.id)
                .order_by(Enterprise.uscc)
            ).first()
    finally:
        engine.dispose()
    sign_in(page, site, site.users["agent"])
    page.goto(f"{site.url}/enterprises/{assigned}")
    expect(page.locator("#mujun-explain-page")).to_have_count(0)
    for kind in ("mujun", "carbon"):
        response = page.goto(f"{site.url}/{kind}/explanation/{assigned}.pdf")
        assert response is not None and response.status == 404, kind
