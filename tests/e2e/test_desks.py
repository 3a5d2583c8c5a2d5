"""Role desks (issue 14, point 16) in Chromium, on SQLite and PostgreSQL: the agent's due and
overdue 破五未 warnings, open tickets and progress reports due, with search; the enterprise's
code downloads (PNG, SVG), print page and the products it qualifies for; the bank's search of
its consented enterprises, grade history and a loan registered from the page (audited, the API's
rules: a second loan with the same reference is refused beside the field)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.demo.constants import DEMO_TODAY
from industry_brain.domains.carbon.models import BankConsent, CarbonLoan
from industry_brain.domains.projects.models import ProgressReport
from industry_brain.store.db import make_engine
from industry_brain.store.models import AuditLog, Enterprise, Project, User
from tests.e2e.conftest import Site
from tests.e2e.test_browser import shot, sign_in


def _store(site: Site) -> Session:
    return Session(make_engine(site.store_url))


def test_agent_desk_lists_warnings_tickets_and_reports_due(page: Page, site: Site) -> None:
    agent = site.users["agent"]
    sign_in(page, site, agent)
    page.goto(f"{site.url}/agent")
    warnings = page.locator("#desk-warnings tbody tr.warning")
    # every overdue warning is red or black and says how late; the near ones are yellow
    for row in warnings.all():
        colour = row.get_attribute("data-colour")
        assert colour in ("yellow", "red", "black")
        assert ("超期" in row.inner_text()) == (colour != "yellow")
    # the same warnings as the projects board shows for the agent's projects
    page.goto(f"{site.url}/projects?warnings=1")
    board_total = int(page.locator("#warnings-total").get_attribute("data-total"))
    page.goto(f"{site.url}/agent")
    more = page.locator("#desk-warnings-more")
    rest = int(more.get_attribute("data-more")) if more.count() else 0
    assert warnings.count() + rest == board_total
    # reports due, by hand: started projects not at capacity, quarterly, on the demo's day
    # (2026-11-27): last quarter ended 2026-09-30, this one ends 2026-12-31 (in 34 ≤ 45 days)
    last_end, this_end = date(2026, 9, 30), date(2026, 12, 31)
    assert date(2026, 11, 27) == DEMO_TODAY and (this_end - DEMO_TODAY) <= timedelta(days=45)
    with _store(site) as s:
        agent_id = s.scalar(select(User.id).where(User.username == agent))
        started = s.execute(
            select(Project.id, Project.code, Project.actual_started).where(
                Project.agent_id == agent_id,
                Project.actual_started.is_not(None),
                Project.stage != "at_capacity",
            )
        ).all()
        latest = dict(
            s.execute(
                select(ProgressReport.project_id, func.max(ProgressReport.report_date)).group_by(
                    ProgressReport.project_id
                )
            ).all()
        )
    late = {c for i, c, st in started if st <= last_end and (latest.get(i) or date.min) < last_end}
    due = {c for i, c, _ in started if c not in late and (latest.get(i) or date.min) < this_end}
    rows = page.locator("#desk-reports tbody tr[data-code]")
    assert {r.get_attribute("data-code") for r in rows.all()} == late | due
    assert {
        r.get_attribute("data-code") for r in page.locator("#desk-reports tr.overdue").all()
    } == late
    # open tickets only
    for row in page.locator("#desk-tickets tbody tr[data-ticket]").all():
        assert not re.search("已解决|已办结", row.inner_text())
    shot(page, site, "agent-desk")
    # search: one project code narrows the desk to that project
    if warnings.count():
        code = warnings.first.get_attribute("data-code")
        page.fill("#agent-search input[name=q]", code)
        page.click("#agent-search button[type=submit]")
        page.wait_for_url(re.compile(r"[?&]q="))
        codes = {r.get_attribute("data-code") for r in warnings.all()}
        assert codes == {code}
        for r in page.locator("#desk-reports tbody tr[data-code]").all():
            assert r.get_attribute("data-code") == code
    # an enterprise name narrows the assigned enterprises
    first = page.goto(f"{site.url}/agent") and page.locator("#agent-enterprises tbody tr").first
    name = first.locator("td").first.inner_text().split()[0]
    page.fill("#agent-search input[name=q]", name)
    page.click("#agent-search button[type=submit]")
    page.wait_for_url(re.compile(r"[?&]q="))
    for row in page.locator("#agent-enterprises tbody tr[data-uscc]").all():
        assert name in row.inner_text()


def test_enterprise_portal_codes_and_qualified_products(page: Page, site: Site) -> None:
    sign_in(page, site, site.users["enterprise"])
    expect(page.locator("#portal-desk")).to_be_visible()
    if page.locator("#code-png").count() == 0:  # no code yet: issue it from the carbon section
        page.click("#carbon-issue")
        page.wait_for_load_state("networkidle")
    with page.expect_download() as png:
        page.click("#code-png")
    assert png.value.suggested_filename.endswith(".png")
    assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as svg:
        page.click("#code-svg")
    assert Path(svg.value.path()).read_bytes()[:5] == b"<svg "
    with _store(site) as s:
        audited = s.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(
                AuditLog.action == "export.carbon_code",
                AuditLog.object_id == site.usccs["own"],
            )
        )
    assert audited >= 2
    page.click("#code-print")
    expect(page.locator("#code-print h1")).to_be_visible()
    expect(page.locator("#print-button")).to_be_visible()
    expect(page.locator("#print-code-img")).to_have_attribute("src", re.compile(site.usccs["own"]))
    page.go_back()
    # the products its grade qualifies for: each offers a discount and a limit
    products = page.locator("#qualified-products tbody tr")
    if products.count():
        grade = re.search(r"(\d) 级", page.locator("#qualified p").first.inner_text()).group(1)
        expect(page.locator("#carbon-grade")).to_contain_text(grade)
        for row in products.all():
            assert "基点" in row.inner_text() and "万元" in row.inner_text()
    shot(page, site, "portal-desk")


def _consented(site: Site) -> tuple[str, str, bool]:
    """An enterprise with an active consent to the site's bank covering the grade (today's
    demo day), its name, and whether the consent covers the history too."""
    bank = site.users["bank"]
    with _store(site) as s:
        bank_id = s.scalar(select(User.id).where(User.username == bank))
        rows = s.execute(
            select(Enterprise.uscc, Enterprise.name, BankConsent.scopes)
            .join(Enterprise, Enterprise.id == BankConsent.enterprise_id)
            .where(
                BankConsent.bank_user_id == bank_id,
                BankConsent.revoked_at.is_(None),
                BankConsent.granted_on <= DEMO_TODAY,
                BankConsent.expires_on >= DEMO_TODAY,
            )
            .order_by(BankConsent.id)
        ).all()
    for uscc, name, scopes in rows:
        if "grade" in scopes and uscc != site.usccs["own"]:  # another test revokes "own"
            return uscc, name, "history" in scopes
    raise AssertionError("the demo grants the bank no active grade consent")


def test_bank_searches_sees_history_and_registers_a_loan(page: Page, site: Site) -> None:
    uscc, name, history = _consented(site)
    sign_in(page, site, site.users["bank"])
    page.fill("#bank-search input[name=q]", name[2:6])
    page.click("#bank-search button[type=submit]")
    page.wait_for_url(re.compile(r"/bank/search\?q="))
    row = page.locator(f"#bank-search-results tr[data-uscc='{uscc}']")
    expect(row).to_have_count(1)
    for r in page.locator("#bank-search-results tbody tr[data-uscc]").all():
        assert name[2:6] in r.inner_text()
    row.locator("a").click()
    page.wait_for_url(re.compile(rf"/bank/enterprises/{uscc}"))
    if page.locator("#loan-form").count() == 0:
        expect(page.locator("#loan-not-allowed")).to_be_visible()  # consented, not graded
        return
    expect(page.locator("#current-grade")).to_be_visible()
    if history:
        expect(page.locator("#grade-history tbody tr[data-year]").first).to_be_visible()
    else:
        expect(page.locator("#history-not-consented")).to_be_visible()
    reference = f"E2E-{site.store.upper()}-{uscc[-6:]}"  # a contract number, one code
    page.fill("#loan-form input[name=reference]", reference)
    page.fill("#loan-form input[name=amount_wan]", "abc")
    page.fill("#loan-form input[name=rate_pct]", "3.45")
    page.click("#loan-submit")
    expect(page.locator("#error-amount_wan")).to_be_visible()  # beside the field
    expect(page.locator("#loan-form input[name=reference]")).to_have_value(reference)
    page.fill("#loan-form input[name=amount_wan]", "120")
    page.click("#loan-submit")
    expect(page.locator("#flash")).to_contain_text(reference)
    expect(page.locator(f"#enterprise-loans tr[data-reference='{reference}']")).to_have_count(1)
    shot(page, site, "bank-loan")
    # the same reference again: refused beside the reference field, nothing stored twice
    page.fill("#loan-form input[name=reference]", reference)
    page.fill("#loan-form input[name=amount_wan]", "50")
    page.fill("#loan-form input[name=rate_pct]", "3.2")
    page.click("#loan-submit")
    expect(page.locator("#error-reference")).to_be_visible()
    with _store(site) as s:
        loans = s.scalars(select(CarbonLoan).where(CarbonLoan.reference == reference)).all()
        audited = s.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "carbon.loan.report", AuditLog.object_id == uscc)
        )
    assert len(loans) == 1 and loans[0].amount_wan == 120.0 and loans[0].rate_pct == 3.45
    assert audited >= 1


def test_enterprise_portal_lists_its_own_loans(page: Page, site: Site) -> None:
    """The portal lists the loans banks registered to the enterprise (read-only, its own
    only, the read audited); a bank registering one more makes it appear."""
    own = site.usccs["own"]
    with _store(site) as s:
        ent = s.scalars(select(Enterprise).where(Enterprise.uscc == own)).one()
        refs = set(
            s.scalars(select(CarbonLoan.reference).where(CarbonLoan.enterprise_id == ent.id))
        )
        others = set(
            s.scalars(select(CarbonLoan.reference).where(CarbonLoan.enterprise_id != ent.id))
        )
        before = s.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "portal.loans")
        )
    sign_in(page, site, site.users["enterprise"])
    page.goto(f"{site.url}/portal?l_size=50")
    section = page.locator("#my-loans")
    expect(section.locator("h2")).to_have_text("我的碳效贷")
    shown = set(
        section.locator("#portal-loans tbody tr[data-loan] td:nth-child(2)").all_inner_texts()
    )
    assert shown == refs
    assert not shown & others
    expect(section.locator("form[method=post]")).to_have_count(0)  # read-only
    section.scroll_into_view_if_needed()
    shot(page, site, "portal-loans")
    with _store(site) as s:
        after = s.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "portal.loans")
        )
    assert after > before
