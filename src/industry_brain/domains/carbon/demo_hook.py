"""The carbon service in the main job (`make demo`): account the latest year, let a few demo
enterprises consent to the demo banks, register their 碳效贷 loans, issue one code as SVG and
PNG, and create an API token for ``bank_huzhou`` (written to a 0600 file for trying the API)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.demo.constants import DEMO_TODAY
from industry_brain.domains.carbon import access, codes, loans, products
from industry_brain.domains.carbon.errors import CarbonError
from industry_brain.domains.carbon.models import CarbonResult
from industry_brain.domains.carbon.service import current_runs, run_accounting
from industry_brain.store.models import Enterprise, User
from industry_brain.warehouse import build_snapshot

ORDER = 20
BANKS = ("bank_huzhou", "bank_icbc", "bank_rcb")


def _loan_plan(ents: list[tuple[Enterprise, CarbonResult]], today: date) -> list[dict[str, Any]]:
    """Deterministic loans: each consenting firm borrows from the banks whose product fits."""
    plan = []
    offered = products.all_products()
    for i, (ent, res) in enumerate(ents):
        for bank in BANKS:
            fitting = [
                p for p in offered if p["bank"] == bank and int(res.grade or 0) in p["rules"]
            ]
            if not fitting:
                continue
            product = fitting[0]
            terms = product["rules"][int(res.grade or 0)]
            amount = float(min(terms["limit_wan"], 200 + 150 * (i % 4)))
            plan.append(
                {
                    "ent": ent,
                    "bank": bank,
                    "product": product["code"],
                    "amount": amount,
                    "rate": round(3.85 - terms["rate_discount_bp"] / 100, 2),
                    "granted_on": today - timedelta(days=30 + 7 * i),
                    # the bank's own contract number, e.g. ICBC-2026-001
                    "reference": f"{bank.removeprefix('bank_').upper()}-{today.year}-{i + 1:03d}",
                }
            )
    return plan


def run(engine: Engine, out_dir: Path, progress: Callable[[str, int, int], None]) -> dict[str, Any]:
    """Accounting, consents, loans, one code and a bank token on the demo store."""
    out = Path(out_dir) / "carbon"
    out.mkdir(parents=True, exist_ok=True)
    progress("carbon", 0, 4)
    snap = build_snapshot(engine, out / "snapshot")
    summary = run_accounting(engine, None, "duckdb", snapshot_dir=snap.path, actor="demo")
    progress("carbon", 1, 4)
    today = DEMO_TODAY  # the demo runs on its own day, never after the platform's
    try:
        codes.signing_key()
    except CarbonError:
        codes.generate_key()
    with Session(engine) as session:
        runs = current_runs(session)
        run_id = runs[summary["year"]]
        # demo enterprises with their own user account and a grade
        rows = session.execute(
            select(Enterprise, CarbonResult)
            .join(User, (User.enterprise_id == Enterprise.id) & (User.role == "enterprise"))
            .join(
                CarbonResult,
                (CarbonResult.enterprise_id == Enterprise.id) & (CarbonResult.run_id == run_id),
            )
            .where(CarbonResult.status == "graded")
            .order_by(CarbonResult.grade, Enterprise.uscc)
        ).all()
        # one firm per grade first, then the next ones, up to six
        firsts = {int(r.grade): (e, r) for e, r in reversed(rows)}
        chosen = [firsts[g] for g in sorted(firsts)]
        chosen += [(e, r) for e, r in rows if (e, r) not in chosen]
        chosen = chosen[:6]
        consents = 0
        for ent, _res in chosen:
            for bank in BANKS:
                access.grant(
                    session,
                    ent.uscc,
                    bank,
                    ["grade", "history"],
                    today + timedelta(days=180),
                    purpose="碳效贷申请（演示）",
                    today=today,
                )
                consents += 1
        progress("carbon", 2, 4)
        registered = []
        for item in _loan_plan(chosen, today):
            bank_user = access.get_user(session, item["bank"], "bank")
            loan = loans.report_loan(
                session,
                bank_user,
                item["ent"].uscc,
                item["reference"],
                item["amount"],
                item["rate"],
                item["granted_on"],
                product_code=item["product"],
                term_months=12,
                today=today,
            )
            registered.append(loan.id)
        stats = loans.loan_stats(session, "grade")
        progress("carbon", 3, 4)
        code_info: dict[str, Any] = {}
        if chosen:
            code = codes.issue_code(session, chosen[0][0].uscc, actor="demo", today=today)
            svg = codes.save_svg(code, out / f"carbon_code_{code.uscc}.svg")
            png = codes.save_png(code, out / f"carbon_code_{code.uscc}.png")
            code_info = {
                "uscc": code.uscc,
                "name": code.name,
                "label": code.label,
                "svg": str(svg),
                "png": str(png),
                "payload": code.payload,
                "expires": code.expires.isoformat(),
            }
        token, _row = access.create_token(
            session, "bank_huzhou", "demo", 30, actor="demo", today=today
        )
        token_file = out / "bank_huzhou.token"
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(token + "\n")
        session.commit()
    progress("carbon", 4, 4)
    counts = summary["counts"]
    return {
        "run_id": summary["run_id"],
        "year": summary["year"],
        "parameter_version": summary["parameter_version"],
        "snapshot": summary["snapshot"],
        "seconds": summary["seconds"],
        "enterprises": counts["enterprises"],
        "graded": counts["graded"],
        "status": counts["status"],
        "grades": counts["grades"],
        "levels": counts["levels"],
        "consents": consents,
        "loans": stats["total"],
        "loans_by_grade": stats["rows"],
        "code": code_info,
        "token_file": str(token_file),
        "keys_dir": str(codes.keys_dir()),
    }


def headline(summary: dict[str, Any]) -> list[str]:
    """Lines the demo prints."""
    g = summary["grades"]
    above = g.get("huzhou_2021", {})
    below = g.get("proxy_below_size", {})

    def dist(d: dict[str, int]) -> str:
        return " ".join(f"{k}级 {d.get(k, 0)}" for k in ("1", "2", "3", "4", "5"))

    lines = [
        f"碳效码 {summary['year']}：规上评级 {sum(above.values())} 家（{dist(above)}）；"
        f"规下代理评级 {sum(below.values())} 家（{dist(below)}）",
        f"carbon codes {summary['year']}: {sum(above.values())} above-size and "
        f"{sum(below.values())} below-size enterprises graded (run {summary['run_id']}, "
        f"{summary['seconds']} s)",
        f"授权 consents {summary['consents']}；碳效贷 loans {summary['loans']['loans']} 笔 "
        f"{summary['loans']['amount_wan']:,.0f} 万元",
    ]
    code = summary.get("code") or {}
    if code:
        lines.append(f"碳效码图片 code image: {code['svg']}  {code['png']}  ({code['label']})")
        lines.append(
            f"  .venv/bin/industry-brain carbon explain {code['uscc']} --year {summary['year']}"
        )
    lines.append(f"银行 API 令牌 bank API token: {summary['token_file']}")
    return lines
