"""智能制造诊断 in Chromium on the demo site (SQLite and PostgreSQL): the enterprise fills in the
两化融合 stage self-check on the portal (save and resume, progress bar, submit), an officer
assigns an assessor, the assessor adjusts one answer with a comment, accepts the rest and
finishes with an opinion, and the report (and its PDF) shows the level computed by hand."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.demo.operational import DEMO_PASSWORD
from industry_brain.store.db import make_engine
from industry_brain.store.models import User
from tests.e2e.conftest import Site
from tests.e2e.test_browser import shot, sign_in

ASSESSOR = "assessor_e2e"
YEAR = "2026"
ANSWERS = {  # stages 1–2 met, stage 3 half (management_control no), stage 4 not met
    "stage.network": "yes",
    "stage.basic_software": "yes",
    "stage.design_system": "yes",
    "stage.production_system": "yes",
    "stage.systems_integrated": "yes",
    "stage.management_control": "no",
    "stage.chain_collaboration": "no",
    "stage.new_models": "no",
}
OPINION = "管控一体化经现场核实已实现，建议推进产业链协同。"


def _assessor(site: Site) -> None:
    engine = make_engine(site.store_url)
    try:
        with Session(engine) as s:
            if s.scalar(select(User.id).where(User.username == ASSESSOR)) is None:
                s.add(
                    User(
                        username=ASSESSOR,
                        display_name="诊断服务商评估师",
                        role="assessor",
                        organisation="演示诊断服务商",
                        password_hash=PasswordHasher().hash(DEMO_PASSWORD),
                    )
                )
                s.commit()
    finally:
        engine.dispose()


def _answer(page: Page, code: str, value: str) -> None:
    page.check(f"input[name='a:{code}'][value='{value}']")


def test_portal_assessor_report(page: Page, site: Site) -> None:
    _assessor(site)
    own = site.usccs["own"]
    # the enterprise: portal → diagnosis → start the stage self-check
    sign_in(page, site, site.users["enterprise"])
    page.click("#diagnosis-portal-link")
    page.select_option("#diagnosis-start select[name=questionnaire]", "lianghua")
    page.fill("#diagnosis-start input[name=year]", YEAR)
    page.click("#diagnosis-start button[type=submit]")
    page.wait_for_url(re.compile(r"/diagnosis/assessments/\d+$"))
    url = page.url
    first = list(ANSWERS.items())[:3]
    for code, value in first:
        _answer(page, code, value)
    page.click("#diagnosis-save")
    expect(page.locator("#diagnosis-progress-text")).to_contain_text("已答 3/8")
    expect(page.locator("#diagnosis-missing")).to_contain_text("5")
    # resume: the saved answers are checked again
    page.goto(f"{site.url}/diagnosis/portal")
    page.goto(url)
    expect(page.locator("input[name='a:stage.network'][value='yes']")).to_be_checked()
    for code, value in ANSWERS.items():
        _answer(page, code, value)
    page.click("#diagnosis-submit")
    expect(page.locator("#diagnosis-status")).to_contain_text("已提交待评审")
    expect(page.locator("#diagnosis-answers")).to_have_count(0)  # frozen: no form
    shot(page, site, "diagnosis-submitted")
    # an officer assigns the assessor
    page.context.clear_cookies()
    sign_in(page, site, site.users["city_officer"])
    page.goto(f"{site.url}/diagnosis")
    page.fill("#diagnosis-assign input[name=assessor]", ASSESSOR)
    page.fill("#diagnosis-assign input[name=uscc]", own)
    page.click("#diagnosis-assign button[type=submit]")
    expect(page.locator("#table-diagnosis-indicators")).to_be_visible()
    # the assessor: adjust one answer with a comment, accept the rest, finish
    page.context.clear_cookies()
    sign_in(page, site, ASSESSOR)
    assert page.url.endswith("/diagnosis/assessor")
    expect(page.locator("#diagnosis-assigned")).to_contain_text(own)
    page.goto(url)
    row = page.locator("tr[data-code='stage.management_control']")
    row.locator("select[name=action]").select_option("adjust")
    row.locator("select[name=value]").select_option("yes")
    row.locator("input[name=comment]").fill("ERP 与 MES 已联动，现场核实")
    row.locator("button[type=submit]").click()
    expect(page.locator("tr[data-code='stage.management_control'] .review-state")).to_contain_text(
        "调整"
    )
    page.click("#diagnosis-accept-all button[type=submit]")
    page.fill("#diagnosis-finish textarea[name=opinion]", OPINION)
    page.click("#diagnosis-finish button[type=submit]")
    page.wait_for_url(re.compile(r"/report$"))
    # by hand: stages 1, 2 = 1; stage 3 = (1 + 1 adjusted) / 2 = 1; stage 4 = 0 → 3, 3.00 / 4
    expect(page.locator("#diagnosis-level")).to_contain_text(
        "成熟度等级 3 级（综合集成），连续得分 3.00 / 4"
    )
    expect(page.locator("#diagnosis-opinion")).to_have_text(OPINION)
    shot(page, site, "diagnosis-report")
    pdf = page.request.get(site.url + (page.locator("#diagnosis-pdf").get_attribute("href") or ""))
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF-")
    # the enterprise finds the report in its portal
    page.context.clear_cookies()
    sign_in(page, site, site.users["enterprise"])
    link = page.locator("#diagnosis-portal .diagnosis-report-link")
    expect(link.first).to_be_visible()
