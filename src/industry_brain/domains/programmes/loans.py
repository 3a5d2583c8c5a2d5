"""智能制造贷 / 智改数转 loans registered by banks, with purpose and project.

**One loan register.** The policy service keeps the platform's loan register (``policy_loans``:
enterprise, bank, reference, amount, rate, period, purpose) and its interest-subsidy policy
(``zgsz_loan_interest``) reads loans of purpose ``zgsz`` from it. The carbon service's
``carbon_loans`` are 碳效贷 records tied to a carbon grade and a bank product, not a fit. So a
loan registered here is written once into ``policy_loans`` (purpose ``zgsz``, so the interest
subsidy sees it) and its programme details — product (``znzz`` 智能制造贷 / ``zgsz`` 智改数转贷),
the purpose in words, the project, the registering bank user and the county — go to
``programme_loans`` keyed by that loan's id. Both tables are written through SQLAlchemy Core
declarations of their columns; no other service's module is imported.

**Consent** (the carbon service's rule: no bank sees anything without consent). A bank user
registers a loan, and later sees it, only while the enterprise's consent to that bank user is
in force (``carbon_consents``: not revoked, granted on or before the day, expiring on or after
it). A refusal is audited. Statistics for a bank cover only its own loans under consent;
officers see all loans of their scope.
"""

from __future__ import annotations

import functools
from datetime import date
from importlib import resources
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core.errors import Location, NotFoundError
from industry_brain.domains.programmes.common import enterprise, err
from industry_brain.domains.programmes.models import ProgrammeLoan
from industry_brain.store import audit, scoped
from industry_brain.store.models import Enterprise, Project, User
from industry_brain.store.scope import PermissionDenied, Scope

PRODUCTS = ("znzz", "zgsz")
POLICY_PURPOSE = "zgsz"

# the policy service's loan register and the carbon service's consents (tables, not modules)
policy_loans = sa.table(
    "policy_loans",
    sa.column("id", sa.Integer),
    sa.column("enterprise_id", sa.Integer),
    sa.column("bank", sa.String),
    sa.column("reference", sa.String),
    sa.column("amount", sa.Float),
    sa.column("rate", sa.Float),
    sa.column("start_date", sa.Date),
    sa.column("end_date", sa.Date),
    sa.column("purpose", sa.String),
    sa.column("reported_by", sa.String),
)
consents = sa.table(
    "carbon_consents",
    sa.column("enterprise_id", sa.Integer),
    sa.column("bank_user_id", sa.Integer),
    sa.column("granted_on", sa.Date),
    sa.column("expires_on", sa.Date),
    sa.column("revoked_at", sa.DateTime),
)


def consented(bank_user_id: int | None, today: date) -> Any:
    """SQL: the enterprise ids that consent to ``bank_user_id`` on ``today``."""
    return select(consents.c.enterprise_id).where(
        consents.c.bank_user_id == bank_user_id,
        consents.c.revoked_at.is_(None),
        consents.c.granted_on <= today,
        consents.c.expires_on >= today,
    )


def _bank_name(user: User) -> str:
    return (user.organisation or user.display_name or user.username)[:100]


def _validate(amount_wan: float, rate: float, start_on: date, end_on: date, product: str) -> None:
    if product not in PRODUCTS:
        raise err(
            "product",
            f"贷款产品“{product}”无效",
            f"unknown loan product '{product}'",
            "product",
            product,
        )
    if not amount_wan > 0:
        raise err(
            "amount", "贷款金额必须大于 0（万元）", "the amount must be positive (万元)", "amount"
        )
    if not 0 < rate < 1:
        raise err(
            "rate",
            "年利率应在 0 与 1 之间（如 0.042）",
            "the rate is a ratio in (0, 1)",
            "rate",
            rate,
        )
    if end_on <= start_on:
        raise err(
            "loan_period", "到期日须晚于起息日", "the loan must end after it starts", "end_on"
        )


def _project(session: Session, ent: Enterprise, project_code: str | None) -> int | None:
    """The id of the enterprise's project ``project_code`` (its own or invested in), or None."""
    project_id = None
    if project_code:
        project_id = session.scalar(
            select(Project.id).where(
                Project.code == project_code,
                sa.or_(Project.enterprise_id == ent.id, Project.investor_uscc == ent.uscc),
            )
        )
        if project_id is None:
            raise NotFoundError(
                "programmes.project",
                f"企业没有项目 {project_code}",
                f"the enterprise has no project {project_code}",
                Location(field="project"),
                project_code,
            )
    return project_id


def _refuse(session: Session, scope: Scope, ent_uscc: str, reason: str) -> PermissionDenied:
    """Audit (committed) and return the refusal of a bank without the enterprise's consent."""
    audit.record(
        session,
        scope.username,
        "programmes.loan_refused",
        "enterprise",
        ent_uscc,
        {"reason": reason},
        user_id=scope.user_id,
    )
    session.commit()
    return PermissionDenied(
        "programmes.no_consent",
        f"企业 {ent_uscc} 未授权本银行，不能登记或查看其贷款",
        f"enterprise {ent_uscc} has not given this bank its consent: no loan can be "
        "registered or seen",
        Location(field="uscc"),
    )


def _consents(session: Session, scope: Scope, enterprise_id: int, today: date) -> bool:
    return bool(
        session.scalar(
            select(sa.func.count()).select_from(
                consented(scope.user_id, today)
                .where(consents.c.enterprise_id == enterprise_id)
                .subquery()
            )
        )
    )


def register(
    session: Session,
    scope: Scope,
    uscc: str,
    reference: str,
    amount_wan: float,
    rate: float,
    start_on: date,
    end_on: date,
    product: str,
    purpose: str,
    project_code: str | None,
    today: date,
) -> ProgrammeLoan:
    """A bank registers a loan (needs the enterprise's consent in force; see module doc)."""
    scope.require("programmes.loans.register")
    try:
        ent = enterprise(session, uscc)
    except NotFoundError:
        # an unknown USCC is refused like a firm without consent: a bank learns nothing
        raise _refuse(session, scope, uscc.strip()[:40], "no_consent") from None
    if not _consents(session, scope, ent.id, today):
        raise _refuse(session, scope, ent.uscc, "no_consent")
    if not reference.strip():
        raise err("reference", "请填写贷款编号", "the loan needs its reference", "reference")
    _validate(amount_wan, rate, start_on, end_on, product)
    project_id = _project(session, ent, project_code)
    user = session.get(User, scope.user_id)
    bank = _bank_name(user) if user else scope.username
    dup = session.scalar(
        select(policy_loans.c.id).where(
            policy_loans.c.bank == bank, policy_loans.c.reference == reference.strip()
        )
    )
    if dup is not None:
        raise err(
            "loan_known",
            f"贷款编号 {reference} 已登记",
            f"loan {reference} is known",
            "reference",
            reference,
        )
    loan_id = session.execute(
        policy_loans.insert()
        .values(
            enterprise_id=ent.id,
            bank=bank,
            reference=reference.strip()[:64],
            amount=float(amount_wan),
            rate=float(rate),
            start_date=start_on,
            end_date=end_on,
            purpose=POLICY_PURPOSE,
            reported_by=scope.username,
        )
        .returning(policy_loans.c.id)
    ).scalar_one()
    loan = ProgrammeLoan(
        policy_loan_id=loan_id,
        bank_user_id=scope.user_id,
        enterprise_id=ent.id,
        product=product,
        purpose=purpose.strip()[:500],
        project_id=project_id,
        county_code=ent.county_code,
    )
    session.add(loan)
    session.flush()
    audit.record(
        session,
        scope.username,
        "programmes.loan",
        "enterprise",
        ent.uscc,
        {"reference": reference, "amount_wan": amount_wan},
        user_id=scope.user_id,
    )
    return loan


def update(
    session: Session,
    scope: Scope,
    loan_id: int,
    amount_wan: float,
    rate: float,
    start_on: date,
    end_on: date,
    product: str,
    purpose: str,
    project_code: str | None,
    today: date,
) -> ProgrammeLoan:
    """A bank corrects one of its own loans (another bank's loan is not found; without the
    enterprise's consent in force the correction is refused and audited), in the policy
    register and in the programme details alike; audited with the values before."""
    scope.require("programmes.loans.register")
    loan = session.get(ProgrammeLoan, loan_id) if 0 < loan_id < 2**31 else None
    if loan is None or loan.bank_user_id != scope.user_id:
        raise NotFoundError(
            "programmes.loan",
            f"没有贷款记录 {loan_id}",
            f"no loan {loan_id}",
            Location(field="loan"),
            loan_id,
        )
    ent = session.get(Enterprise, loan.enterprise_id)
    if not _consents(session, scope, loan.enterprise_id, today):
        raise _refuse(session, scope, ent.uscc, "no_consent")
    _validate(amount_wan, rate, start_on, end_on, product)
    project_id = _project(session, ent, project_code)
    old = session.execute(
        select(
            policy_loans.c.reference,
            policy_loans.c.amount,
            policy_loans.c.rate,
            policy_loans.c.start_date,
            policy_loans.c.end_date,
        ).where(policy_loans.c.id == loan.policy_loan_id)
    ).one()
    before = {
        "amount_wan": old.amount,
        "rate": old.rate,
        "start_on": old.start_date.isoformat() if old.start_date else None,
        "end_on": old.end_date.isoformat() if old.end_date else None,
        "product": loan.product,
        "project_id": loan.project_id,
    }
    session.execute(
        policy_loans.update()
        .where(policy_loans.c.id == loan.policy_loan_id)
        .values(amount=float(amount_wan), rate=float(rate), start_date=start_on, end_date=end_on)
    )
    loan.product = product
    loan.purpose = purpose.strip()[:500]
    loan.project_id = project_id
    session.flush()
    audit.record(
        session,
        scope.username,
        "programmes.loan_update",
        "enterprise",
        ent.uscc,
        {"reference": old.reference, "amount_wan": amount_wan, "before": before},
        user_id=scope.user_id,
    )
    return loan


def _visible(scope: Scope, today: date) -> Any:
    """SQL condition on ``programme_loans`` × ``enterprises`` for the caller."""
    if scope.role == "bank":
        return sa.and_(
            ProgrammeLoan.bank_user_id == scope.user_id,
            ProgrammeLoan.enterprise_id.in_(consented(scope.user_id, today)),
        )
    if scope.can("programmes.view"):
        return scope.enterprise_clause()
    return sa.false()


def _rows(session: Session, scope: Scope, today: date) -> list[Any]:
    return session.execute(
        select(
            ProgrammeLoan,
            policy_loans.c.bank,
            policy_loans.c.reference,
            policy_loans.c.amount,
            policy_loans.c.rate,
            policy_loans.c.start_date,
            policy_loans.c.end_date,
            Enterprise.uscc,
            Enterprise.name,
            Project.code,
        )
        .join(policy_loans, policy_loans.c.id == ProgrammeLoan.policy_loan_id)
        .join(Enterprise, Enterprise.id == ProgrammeLoan.enterprise_id)
        .outerjoin(Project, Project.id == ProgrammeLoan.project_id)
        .where(_visible(scope, today))
        .order_by(policy_loans.c.start_date, ProgrammeLoan.id)
    ).all()


def listing(session: Session, scope: Scope, today: date) -> list[dict[str, Any]]:
    """The loans the caller may see (a bank: its own, under consent — audited)."""
    rows = _rows(session, scope, today)
    if scope.role == "bank" and rows:
        audit.record(
            session,
            scope.username,
            "programmes.loans_read",
            "loan_register",
            scope.username,
            {"loans_seen": len(rows)},
            user_id=scope.user_id,
        )
    return [
        {
            "id": loan.id,
            "bank": bank,
            "reference": ref,
            "uscc": uscc,
            "name": name,
            "county_code": loan.county_code,
            "product": loan.product,
            "purpose": loan.purpose,
            "project": code,
            "amount_wan": amount,
            "rate": rate,
            "start_on": start.isoformat() if start else None,
            "end_on": end.isoformat() if end else None,
        }
        for loan, bank, ref, amount, rate, start, end, uscc, name, code in rows
    ]


def statistics(
    session: Session, scope: Scope, today: date, items: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Loans, firms and amount (万元) by bank and by county, of the loans the caller may see
    (``items``: a :func:`listing` already read for the caller)."""
    if items is None:
        items = listing(session, scope, today)
    names = scoped.region_names(session, (it["county_code"] for it in items))

    def group(key: str) -> list[dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for it in items:
            k = it[key] or ""
            g = out.setdefault(k, {key: k, "loans": 0, "firms": set(), "amount_wan": 0.0})
            g["loans"] += 1
            g["firms"].add(it["uscc"])
            g["amount_wan"] += it["amount_wan"]
        rows = []
        for k in sorted(out):
            g = out[k]
            rows.append({**g, "firms": len(g["firms"]), "amount_wan": round(g["amount_wan"], 2)})
            if key == "county_code":
                rows[-1]["county"] = names.get(k, k)
        return rows

    return {
        "as_of": today.isoformat(),
        "loans": len(items),
        "firms": len({it["uscc"] for it in items}),
        "amount_wan": round(sum(it["amount_wan"] for it in items), 2),
        "by_bank": group("bank"),
        "by_county": group("county_code"),
    }


# -- the enterprise's own loans, their interest subsidy and the banks holding its consent ---------
# the policy service's runs, results (with their trace) and 政策直兑 ledger, read as tables
policy_runs = sa.table(
    "policy_runs",
    sa.column("id", sa.Integer),
    sa.column("year", sa.Integer),
    sa.column("kind", sa.String),
)
policy_results = sa.table(
    "policy_results",
    sa.column("id", sa.Integer),
    sa.column("run_id", sa.Integer),
    sa.column("policy", sa.String),
    sa.column("enterprise_id", sa.Integer),
    sa.column("entity", sa.String),
    sa.column("status", sa.String),
    sa.column("amount", sa.Float),
    sa.column("paid", sa.Float),
    sa.column("trace", sa.JSON),
)
policy_payouts = sa.table(
    "policy_payouts",
    sa.column("id", sa.Integer),
    sa.column("policy", sa.String),
    sa.column("period", sa.Integer),
    sa.column("enterprise_id", sa.Integer),
    sa.column("entity", sa.String),
    sa.column("kind", sa.String),
    sa.column("amount", sa.Float),
    sa.column("reason", sa.String),
)
_users = sa.table(
    "users",
    sa.column("id", sa.Integer),
    sa.column("username", sa.String),
    sa.column("display_name", sa.String),
    sa.column("organisation", sa.String),
)
_consent_rows = sa.table(
    "carbon_consents",
    sa.column("id", sa.Integer),
    sa.column("enterprise_id", sa.Integer),
    sa.column("bank_user_id", sa.Integer),
    sa.column("scopes", sa.JSON),
    sa.column("granted_on", sa.Date),
    sa.column("expires_on", sa.Date),
    sa.column("revoked_at", sa.DateTime),
)


def loan_state(start_on: date | None, end_on: date | None, today: date) -> str:
    """``pending`` before the start, ``active`` from the start to the end day, ``matured``
    after it."""
    if start_on is not None and today < start_on:
        return "pending"
    if end_on is not None and today > end_on:
        return "matured"
    return "active"


@functools.lru_cache(maxsize=64)
def _policy_title(pid: str) -> tuple[str, str]:
    f = resources.files("industry_brain.domains") / "policy" / "parameters" / "policies"
    try:
        title = (yaml.safe_load((f / f"{pid}.yaml").read_text("utf-8")) or {}).get("title") or {}
    except (OSError, yaml.YAMLError):
        title = {}
    return title.get("zh") or pid, title.get("en") or pid


def policy_titles(ids: Any) -> dict[str, dict[str, str]]:
    """The zh/en titles of policies, read from the policy service's YAML files (never its
    modules); a policy without a file keeps its id."""
    return {pid: dict(zip(("zh", "en"), _policy_title(pid), strict=True)) for pid in set(ids)}


def subsidies(
    session: Session, enterprise_id: int, policy_loan_ids: list[int]
) -> dict[int, dict[str, Any]]:
    """For each loan (policy register id): the policy service's results on it — of every
    year's newest batch run, as stored with their trace, not recomputed — and what the 政策直兑
    ledger paid on it (payouts less reversals)."""
    if not policy_loan_ids:
        return {}
    entities = {f"loan:{i}": i for i in policy_loan_ids}
    has = sa.inspect(session.connection()).has_table
    out: dict[int, dict[str, Any]] = {
        i: {"results": [], "payouts": [], "paid_wan": 0.0} for i in policy_loan_ids
    }
    if has("policy_results"):
        newest = (
            select(sa.func.max(policy_runs.c.id))
            .where(policy_runs.c.kind == "run")
            .group_by(policy_runs.c.year)
        )
        rows = session.execute(
            select(
                policy_results.c.id,
                policy_results.c.run_id,
                policy_runs.c.year,
                policy_results.c.policy,
                policy_results.c.entity,
                policy_results.c.status,
                policy_results.c.amount,
                policy_results.c.paid,
            )
            .join(policy_runs, policy_runs.c.id == policy_results.c.run_id)
            .where(
                policy_results.c.enterprise_id == enterprise_id,
                policy_results.c.entity.in_(list(entities)),
                policy_results.c.run_id.in_(newest),
            )
            .order_by(policy_runs.c.year.desc(), policy_results.c.policy)
        ).all()
        for rid, run_id, year, policy, entity, status, amount, paid in rows:
            out[entities[entity]]["results"].append(
                {
                    "id": rid,
                    "run_id": run_id,
                    "year": year,
                    "policy": policy,
                    "status": status,
                    "amount_wan": amount,
                    "paid_wan": paid,
                }
            )
    if has("policy_payouts"):
        rows = session.execute(
            select(
                policy_payouts.c.id,
                policy_payouts.c.policy,
                policy_payouts.c.period,
                policy_payouts.c.entity,
                policy_payouts.c.kind,
                policy_payouts.c.amount,
                policy_payouts.c.reason,
            )
            .where(
                policy_payouts.c.enterprise_id == enterprise_id,
                policy_payouts.c.entity.in_(list(entities)),
            )
            .order_by(policy_payouts.c.id)
        ).all()
        for pid, policy, period, entity, kind, amount, reason in rows:
            item = out[entities[entity]]
            item["payouts"].append(
                {
                    "id": pid,
                    "policy": policy,
                    "period": period,
                    "kind": kind,
                    "amount_wan": amount,
                    "reason": reason,
                }
            )
            item["paid_wan"] = round(item["paid_wan"] + (amount or 0.0), 4)
    return out


def consenting_banks(session: Session, enterprise_id: int, today: date) -> list[dict[str, Any]]:
    """The banks that hold the enterprise's consent on ``today`` (the carbon service's
    ``carbon_consents``, read as a table): name, scopes, granted and expiry days."""
    if not sa.inspect(session.connection()).has_table("carbon_consents"):
        return []
    rows = session.execute(
        select(
            _consent_rows.c.id,
            _users.c.organisation,
            _users.c.display_name,
            _users.c.username,
            _consent_rows.c.scopes,
            _consent_rows.c.granted_on,
            _consent_rows.c.expires_on,
        )
        .join(_users, _users.c.id == _consent_rows.c.bank_user_id)
        .where(
            _consent_rows.c.enterprise_id == enterprise_id,
            _consent_rows.c.revoked_at.is_(None),
            _consent_rows.c.granted_on <= today,
            _consent_rows.c.expires_on >= today,
        )
        .order_by(_consent_rows.c.expires_on, _consent_rows.c.id)
    ).all()
    return [
        {
            "id": cid,
            "bank": (org or shown or username)[:100],
            "scopes": list(scopes or []),
            "granted_on": granted.isoformat(),
            "expires_on": expires.isoformat(),
        }
        for cid, org, shown, username, scopes, granted, expires in rows
    ]


def own_loans(session: Session, scope: Scope, today: date) -> list[dict[str, Any]]:
    """The enterprise's own 智能制造贷 / 智改数转 loans (every bank's; another firm's are never
    read) with their state on ``today``, the project they finance and the interest subsidy the
    policy service computed or paid on each. The read is audited."""
    scope.require("programmes.loans.mine")
    if not scope.enterprise_id:
        return []
    rows = session.execute(
        select(
            ProgrammeLoan,
            policy_loans.c.bank,
            policy_loans.c.reference,
            policy_loans.c.amount,
            policy_loans.c.rate,
            policy_loans.c.start_date,
            policy_loans.c.end_date,
            Project.code,
            Project.name,
        )
        .join(policy_loans, policy_loans.c.id == ProgrammeLoan.policy_loan_id)
        .outerjoin(Project, Project.id == ProgrammeLoan.project_id)
        .where(ProgrammeLoan.enterprise_id == scope.enterprise_id)
        .order_by(policy_loans.c.start_date, ProgrammeLoan.id)
    ).all()
    subs = subsidies(session, scope.enterprise_id, [r[0].policy_loan_id for r in rows])
    own = session.get(Enterprise, scope.enterprise_id)
    audit.record(
        session,
        scope.username,
        "programmes.own_loans_read",
        "enterprise",
        own.uscc if own else str(scope.enterprise_id),
        {"loans_seen": len(rows)},
        user_id=scope.user_id,
    )
    return [
        {
            "id": loan.id,
            "policy_loan_id": loan.policy_loan_id,
            "bank": bank,
            "reference": ref,
            "product": loan.product,
            "purpose": loan.purpose,
            "project": code,
            "project_name": pname,
            "amount_wan": amount,
            "rate": rate,
            "start_on": start.isoformat() if start else None,
            "end_on": end.isoformat() if end else None,
            "state": loan_state(start, end, today),
            "subsidy": subs.get(loan.policy_loan_id, {"results": [], "payouts": [], "paid_wan": 0}),
        }
        for loan, bank, ref, amount, rate, start, end, code, pname in rows
    ]


def own_subsidy_trace(
    session: Session, scope: Scope, loan_id: int, result_id: int
) -> dict[str, Any]:
    """One stored policy result on one of the enterprise's own loans, with its trace (the
    conditions with the values seen, the formula, the parameters, stacking and rationing) as the
    policy service stored it. Another firm's loan or result is not found. Audited."""
    scope.require("programmes.loans.mine")
    loan = session.get(ProgrammeLoan, loan_id) if 0 < loan_id < 2**31 else None
    row = None
    if loan is not None and loan.enterprise_id == scope.enterprise_id:
        row = session.execute(
            select(
                policy_results.c.id,
                policy_results.c.run_id,
                policy_runs.c.year,
                policy_results.c.policy,
                policy_results.c.status,
                policy_results.c.amount,
                policy_results.c.paid,
                policy_results.c.trace,
            )
            .join(policy_runs, policy_runs.c.id == policy_results.c.run_id)
            .where(
                policy_results.c.id == result_id,
                policy_results.c.enterprise_id == scope.enterprise_id,
                policy_results.c.entity == f"loan:{loan.policy_loan_id}",
            )
        ).first()
    if row is None:
        raise NotFoundError(
            "programmes.subsidy",
            f"没有贷款 {loan_id} 的贴息测算 {result_id}",
            f"no subsidy result {result_id} of loan {loan_id}",
            Location(field="result"),
            result_id,
        )
    reference = session.scalar(
        select(policy_loans.c.reference).where(policy_loans.c.id == loan.policy_loan_id)
    )
    own = session.get(Enterprise, scope.enterprise_id)
    audit.record(
        session,
        scope.username,
        "programmes.subsidy_read",
        "enterprise",
        own.uscc if own else str(scope.enterprise_id),
        {"reference": reference, "result_id": result_id},
        user_id=scope.user_id,
    )
    rid, run_id, year, policy, status, amount, paid, trace = row
    return {
        "id": rid,
        "loan_id": loan.id,
        "reference": reference,
        "run_id": run_id,
        "year": year,
        "policy": policy,
        "status": status,
        "amount_wan": amount,
        "paid_wan": paid,
        "trace": trace or {},
    }
