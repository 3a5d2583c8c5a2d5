"""碳效贷 loan register: banks report loans with the grade they relied on; statistics by grade,
bank and county (the seeds count loans and amounts: 206 loans, 1.58 bn CNY in Huzhou 2021)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from industry_brain.core.errors import ConflictError, Location
from industry_brain.domains.carbon.access import require_consent
from industry_brain.domains.carbon.errors import CarbonError
from industry_brain.domains.carbon.models import CarbonLoan
from industry_brain.domains.carbon.products import find_product
from industry_brain.domains.carbon.rules import on_date
from industry_brain.domains.carbon.service import result_for
from industry_brain.store.audit import record
from industry_brain.store.models import Enterprise, Region, User

GROUPS = ("grade", "bank", "county")


def report_loan(
    session: Session,
    bank: User,
    uscc: str,
    reference: str,
    amount_wan: float,
    rate_pct: float,
    granted_on: date,
    grade: int | None = None,
    grade_year: int | None = None,
    product_code: str | None = None,
    term_months: int | None = None,
    today: date | None = None,
    request_id: str | None = None,
) -> CarbonLoan:
    """Register a loan. Needs the enterprise's active consent (scope ``grade``); the reported
    grade must equal the grade of the enterprise's current result for ``grade_year`` (default:
    its latest graded year); a product must be the bank's own and allow that grade and amount."""
    acc = require_consent(session, bank, uscc, "grade", "carbon.bank.loan", today, request_id)
    ent = acc.enterprise
    if not amount_wan > 0:
        raise CarbonError(
            "carbon.loan_amount",
            "贷款金额必须大于 0（万元）",
            "the loan amount must be positive (万元)",
            Location(field="amount_wan"),
            amount_wan,
        )
    if not 0 < rate_pct < 100:
        raise CarbonError(
            "carbon.loan_rate",
            "年利率应在 0 到 100（%）之间",
            "the annual rate must be between 0 and 100 (%)",
            Location(field="rate_pct"),
            rate_pct,
        )
    res = result_for(session, ent, grade_year, graded_only=True)
    if grade is not None and int(grade) != res.grade:
        raise CarbonError(
            "carbon.loan_grade_mismatch",
            f"申报的等级 {grade} 与企业 {res.year} 年碳效等级 {res.grade} 不符",
            f"reported grade {grade} differs from the enterprise's {res.year} grade {res.grade}",
            Location(field="grade"),
            grade,
        )
    if product_code:
        product = find_product(bank.username, product_code, ent.county_code, on_date(res.year))
        terms = product["rules"].get(int(res.grade))  # type: ignore[arg-type]
        if terms is None:
            raise CarbonError(
                "carbon.loan_product_grade",
                f"产品 {product_code} 不适用于 {res.grade} 级企业",
                f"product {product_code} is not open to grade {res.grade}",
                Location(field="product_code"),
                product_code,
            )
        if amount_wan > terms["limit_wan"]:
            raise CarbonError(
                "carbon.loan_over_limit",
                f"金额 {amount_wan} 万元超过产品 {product_code} 对 {res.grade} 级的额度 "
                f"{terms['limit_wan']} 万元",
                f"amount {amount_wan} 万元 exceeds product {product_code}'s limit "
                f"{terms['limit_wan']} 万元 for grade {res.grade}",
                Location(field="amount_wan"),
                amount_wan,
            )
    dup = session.scalars(
        select(CarbonLoan).where(
            CarbonLoan.bank_user_id == bank.id, CarbonLoan.reference == reference
        )
    ).first()
    if dup is not None:
        raise ConflictError(
            "carbon.loan_duplicate",
            f"贷款编号 {reference} 已登记",
            f"loan reference {reference} is already registered",
            Location(field="reference"),
            reference,
        )
    loan = CarbonLoan(
        bank_user_id=bank.id,
        enterprise_id=ent.id,
        reference=reference,
        product_code=product_code,
        amount_wan=float(amount_wan),
        rate_pct=float(rate_pct),
        granted_on=granted_on,
        term_months=term_months,
        grade=int(res.grade),  # type: ignore[arg-type]
        grade_year=res.year,
        level=res.level or "",
        county_code=ent.county_code,
        consent_id=acc.consent.id,
        reported_by=bank.username,
    )
    session.add(loan)
    session.flush()
    record(
        session,
        bank.username,
        "carbon.loan.report",
        "enterprise",
        ent.uscc,
        {"loan_id": loan.id, "reference": reference, "amount_wan": float(amount_wan)},
        user_id=bank.id,
        request_id=request_id,
    )
    return loan


def loan_dict(loan: CarbonLoan, uscc: str, name: str, bank: str) -> dict[str, Any]:
    return {
        "id": loan.id,
        "bank": bank,
        "uscc": uscc,
        "name": name,
        "reference": loan.reference,
        "product_code": loan.product_code,
        "amount_wan": loan.amount_wan,
        "rate_pct": loan.rate_pct,
        "granted_on": loan.granted_on.isoformat(),
        "term_months": loan.term_months,
        "grade": loan.grade,
        "grade_year": loan.grade_year,
        "level": loan.level,
        "county_code": loan.county_code,
    }


def list_loans(session: Session, bank_username: str | None = None) -> list[dict[str, Any]]:
    stmt = (
        select(CarbonLoan, Enterprise.uscc, Enterprise.name, User.username)
        .join(Enterprise, Enterprise.id == CarbonLoan.enterprise_id)
        .join(User, User.id == CarbonLoan.bank_user_id)
        .order_by(CarbonLoan.id)
    )
    if bank_username:
        stmt = stmt.where(User.username == bank_username)
    return [loan_dict(ln, u, n, b) for ln, u, n, b in session.execute(stmt).all()]


def loan_stats(session: Session, by: str = "grade") -> dict[str, Any]:
    """Loans, amount (万元) and amount-weighted mean rate (%) grouped by grade, bank or county."""
    if by not in GROUPS:
        raise CarbonError(
            "carbon.stats_group",
            f"分组应为 {GROUPS} 之一",
            f"group by one of {GROUPS}",
            Location(field="by"),
            by,
        )
    weighted = func.sum(CarbonLoan.amount_wan * CarbonLoan.rate_pct)
    amount = func.sum(CarbonLoan.amount_wan)
    key: Any
    label: Any
    if by == "grade":
        key, label = CarbonLoan.grade, CarbonLoan.grade
    elif by == "bank":
        key, label = User.username, func.coalesce(User.organisation, User.display_name)
    else:
        key, label = CarbonLoan.county_code, Region.name
    stmt = select(key, label, func.count(CarbonLoan.id), amount, weighted).select_from(CarbonLoan)
    if by == "bank":
        stmt = stmt.join(User, User.id == CarbonLoan.bank_user_id)
    elif by == "county":
        stmt = stmt.outerjoin(Region, Region.code == CarbonLoan.county_code)
    stmt = stmt.group_by(key, label).order_by(key)
    rows = []
    for k, name, n, amt, w in session.execute(stmt).all():
        rows.append(
            {
                by: k,
                "name": str(name) if name is not None else None,
                "loans": int(n),
                "amount_wan": float(amt or 0.0),
                "mean_rate_pct": round(float(w) / float(amt), 4) if amt else None,
            }
        )
    n_total, amt_total = session.execute(
        select(func.count(CarbonLoan.id), func.coalesce(func.sum(CarbonLoan.amount_wan), 0.0))
    ).one()
    low = session.scalar(
        select(func.sum(case((CarbonLoan.grade <= 2, 1), else_=0))).select_from(CarbonLoan)
    )
    return {
        "by": by,
        "rows": rows,
        "total": {
            "loans": int(n_total),
            "amount_wan": float(amt_total),
            "grade_1_2_loans": int(low or 0),
        },
    }
