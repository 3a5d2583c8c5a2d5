"""智改数转 programmes in the main job (demo data, every name says 演示): one diagnosis programme of
the demo year for the jurisdiction (targets from the parameters: Huzhou's 814 split over its
counties), three demo providers, the enterprises with a demo diagnosis assessment (and a few more)
assigned; a recognition list written as XLSX and imported through the real import path; visits
at the demo lighthouse factory; two 智造荟 events with registrations, matches and outcomes; the
hardware / software / services split of the first technical-upgrade projects (shares DEFAULT);
up to six demo 智能制造贷 loans registered by the demo banks for enterprises that consented to them.

Figures are as of the demo's day (``DEMO_TODAY``). A programme diagnosis counts as done only when
the enterprise's assessment was submitted by that day: the diagnosis demo stamps its assessments
with the real clock, so after 27 November 2026 (the demo's day) none counts as done yet.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

# after diagnosis (30), policy (35) and the market (38), whose registry names the tendered providers
ORDER = 39
DEMO = "demo"
PROVIDERS = (
    ("91330500MA2PRG001", "演示纺织智造服务商", 40, ["17", "18", "28"]),
    ("91330500MA2PRG002", "演示装备智造服务商", 60, ["34", "35", "38"]),
    ("91330500MA2PRG003", "演示综合诊断服务商", 100, []),
)
KIND_PLAN = (
    ("未来工厂", "省级", 1),
    ("智能工厂", "省级", 3),
    ("数字化车间", "省级", 6),
    ("灯塔工厂", "国家级", 1),
    ("5G全连接工厂", "省级", 2),
    ("上云标杆", "市级", 4),
    ("绿色工厂", "三星级", 3),
)


def _write_list(path: Path, rows: list[list[Any]]) -> Path:
    from industry_brain.core import exports

    wb = exports.workbook()
    ws = wb.active
    ws.title = "认定名单"
    exports.append(ws, ["统一社会信用代码", "企业名称", "类别", "等级", "年度", "发布单位"])
    for r in rows:
        exports.append(ws, r)
    return exports.save(wb, path)


def _tendered(s: Session) -> list[tuple[str, str, int, list[str]]]:
    """The demo's tendered providers: capacities and industries of :data:`PROVIDERS`, with the
    USCC and name of the market registry's first three providers when the market service has
    seeded them (their provider users then see the assignments on their desk), else the
    synthetic ones. The registry is read as a table (the market's modules are not imported)."""
    import sqlalchemy as sa

    from industry_brain.core.uscc import make

    registry = sa.table(
        "market_providers",
        sa.column("id"),
        sa.column("uscc"),
        sa.column("name"),
        sa.column("status"),
    )
    found = []
    if sa.inspect(s.connection()).has_table("market_providers"):  # the market service's table
        found = s.execute(
            select(registry.c.uscc, registry.c.name)
            .where(registry.c.status == "active")
            .order_by(registry.c.id)
            .limit(len(PROVIDERS))
        ).all()
    if len(found) < len(PROVIDERS):
        return [(make(base), name, cap, inds) for base, name, cap, inds in PROVIDERS]
    return [
        (str(code), str(name), cap, inds)
        for (code, name), (_, _, cap, inds) in zip(found, PROVIDERS, strict=True)
    ]


def run(engine: Engine, out_dir: Path, progress: Callable[[str, int, int], None]) -> dict[str, Any]:
    from industry_brain.demo.constants import DEMO_TODAY
    from industry_brain.domains.programmes import (
        benchmarks,
        diagnosis,
        events,
        investment,
        loans,
    )
    from industry_brain.domains.programmes.models import Programme
    from industry_brain.store import codes
    from industry_brain.store.models import Enterprise, EnterpriseScale, Project, User
    from industry_brain.store.scope import Scope, scope_for

    with Session(engine) as s:
        year = s.scalar(select(EnterpriseScale.year).order_by(EnterpriseScale.year.desc()).limit(1))
        if year is None:
            return {"year": None}
        seeded = s.scalar(select(Programme.id).where(Programme.created_by == DEMO).limit(1))
        if seeded is not None:  # a second run on the same store seeds nothing twice
            return {"year": year, "already_seeded": seeded}
        progress("programmes", 0, 4)
        region = codes.jurisdiction_prefix().ljust(6, "0")
        today = DEMO_TODAY
        p = diagnosis.create(
            s,
            f"{today.year}年新智造诊断（演示）",
            region,
            today.year,
            1221.0,
            today.replace(month=1, day=1),
            today.replace(month=12, day=31),
            actor=DEMO,
        )
        pid = p.id
        tendered = _tendered(s)
        for code, name, cap, inds in tendered:
            diagnosis.add_provider(s, pid, code, name, cap, inds, DEMO)
        assessed = (
            s.execute(
                select(Enterprise.uscc)
                .where(Enterprise.id.in_(select(diagnosis._assessments.c.enterprise_id)))
                .order_by(Enterprise.id)
            )
            .scalars()
            .all()
        )
        above = s.execute(
            select(Enterprise.uscc, Enterprise.name)
            .join(EnterpriseScale, EnterpriseScale.enterprise_id == Enterprise.id)
            .where(EnterpriseScale.year == year, EnterpriseScale.above_scale.is_(True))
            .order_by(Enterprise.id)
        ).all()
        others = [u for u, _ in above if u not in set(assessed)][:40]
        assigned = diagnosis.assign(
            s, p.id, [*assessed[:160], *others], today.replace(month=3, day=1), DEMO
        )
        s.commit()
        progress("programmes", 1, 4)
        # recognitions: every 7th above-scale firm by id, so every county has some (a spread,
        # not a ranking of anything)
        pool = list(above[3::7])
        rows, i = [], 0
        for kind, level, n in KIND_PLAN:
            for _ in range(n):
                if i >= len(pool):
                    break
                uscc, name = pool[i]
                rows.append([uscc, name, kind, level, year - (i % 3), "演示发布单位"])
                i += 1
        rows.append(["91330500XXXXXXXXXX", "演示错误行", "未来工厂", "省级", year, "演示发布单位"])
        path = _write_list(out_dir / "programmes" / "标杆认定名单（演示数据）.xlsx", rows)
        imported = benchmarks.import_list(s, path, DEMO)
        lighthouse = next((r for r in rows if r[2] == "灯塔工厂"), None)
        if lighthouse:
            benchmarks.add_visit(
                s,
                lighthouse[0],
                today - timedelta(days=40),
                "灯塔工厂开放日（演示）",
                60,
                "visit",
                DEMO,
            )
            benchmarks.add_visit(
                s,
                lighthouse[0],
                today - timedelta(days=20),
                "数字化转型现场学习（演示）",
                35,
                "learning",
                DEMO,
            )
        s.commit()
        progress("programmes", 2, 4)
        # 智造荟: two events; enterprises from the assessed firms, the demo providers as supply
        made_events = []
        for k, (theme, division) in enumerate(
            (("纺织行业智改数转对接会（演示）", "17"), ("装备制造数字化供需对接会（演示）", "34"))
        ):
            ev = events.create(s, today - timedelta(days=60 - 20 * k), theme, division, None, DEMO)
            firms = above[k * 6 : k * 6 + 6]
            for uscc, _ in firms:
                events.register(s, ev.id, "enterprise", uscc, None, DEMO)
            for code, name, _, _ in tendered:
                events.register(s, ev.id, "provider", code, name, DEMO)
            for j, (uscc, _) in enumerate(firms[:4]):
                m = events.match(s, ev.id, uscc, tendered[j % 3][0], "MES 与设备联网（演示）", DEMO)
                outcome = ("contracted", "contacted", "matched", "dropped")[j]
                events.set_outcome(
                    s, m.id, outcome, 80.0 + 20 * j if outcome == "contracted" else None, DEMO
                )
            made_events.append(ev.id)
        s.commit()
        progress("programmes", 3, 4)
        # 重硬轻软: DEFAULT shares of the planned investment by project id (demo only)
        projects = s.scalars(
            select(Project)
            .where(Project.project_type == "tech_upgrade")
            .order_by(Project.id)
            .limit(80)
        ).all()
        for pr in projects:
            hw = 0.70 + (pr.id % 7) * 0.02
            sw = 0.08 + (pr.id % 5) * 0.01
            total = float(pr.planned_investment)
            investment.set_split(
                s,
                pr.code,
                round(total * hw, 1),
                round(total * sw, 1),
                round(total * (1 - hw - sw), 1),
                actor=DEMO,
            )
        s.commit()
        # 智能制造贷: demo loans registered by the demo banks for enterprises that consented to
        # them (the real path: consent checked, written to the policy loan register)
        pairs = s.execute(
            select(loans.consents.c.enterprise_id, loans.consents.c.bank_user_id)
            .where(
                loans.consents.c.revoked_at.is_(None),
                loans.consents.c.granted_on <= today,
                loans.consents.c.expires_on >= today,
            )
            .order_by(loans.consents.c.bank_user_id, loans.consents.c.enterprise_id)
        ).all()
        n_loans = 0
        for k, (eid, bank_id) in enumerate(pairs[:6]):
            bank = s.get(User, bank_id)
            firm = s.get(Enterprise, eid)
            if bank is None or firm is None or bank.role != "bank":
                continue
            loans.register(
                s,
                scope_for(bank),
                firm.uscc,
                f"DEMO-ZN-{k + 1:03d}",
                300.0 + 100 * (k % 4),
                0.039,
                today - timedelta(days=120 - 10 * k),
                today + timedelta(days=600),
                "znzz" if k % 2 == 0 else "zgsz",
                "设备数字化改造（演示）",
                None,
                today,
            )
            n_loans += 1
        s.commit()
        scope = Scope(user_id=None, username=DEMO, role="admin")
        loan_stats = loans.statistics(s, scope, today)
        prog = diagnosis.progress(s, scope, p.id, today)
        counts = benchmarks.counts(s, scope, year)
        ev_sum = events.summary(s, scope)
        inv = investment.structure(s, scope)
        s.commit()
        progress("programmes", 4, 4)
    return {
        "year": year,
        "programme": pid,
        "as_of": today.isoformat(),
        "target": prog["totals"]["target"],
        "assigned": len(assigned["assigned"]),
        "unassigned": len(assigned["unassigned"]),
        "done": prog["totals"]["done"],
        "lists": prog["lists"],
        "recognitions": imported["recognitions"],
        "recognition_problems": len(imported["problems"]),
        "by_kind": counts["totals"],
        "events": len(ev_sum),
        "matches": sum(e["matches"] for e in ev_sum),
        "contracted_wan": round(sum(e["contracted_wan"] for e in ev_sum), 1),
        "investment": inv["overall"],
        "loans": n_loans,
        "loan_amount_wan": loan_stats["amount_wan"],
        "loan_banks": len(loan_stats["by_bank"]),
    }


def headline(summary: dict[str, Any]) -> list[str]:
    if not summary.get("year"):
        return ["智改数转项目：没有数据 / programmes: no data"]
    if summary.get("already_seeded"):
        return ["智改数转项目：演示数据已存在 / programmes: demo data already seeded"]
    inv = summary["investment"]
    lines = [
        f"诊断服务项目（演示）目标 {summary['target']} 家，已分配 {summary['assigned']} 家，"
        f"截至 {summary['as_of']} 完成 {summary['done']} 家 / diagnosis programme: target "
        f"{summary['target']}, assigned {summary['assigned']}, done {summary['done']}",
        f"  红榜 {len(summary['lists']['red'])}、黄榜 {len(summary['lists']['yellow'])}、"
        f"黑榜 {len(summary['lists']['black'])} 个区县",
        f"标杆认定 recognitions: {summary['recognitions']}"
        f"（名单问题行 {summary['recognition_problems']}）",
        f"智造荟 events: {summary['events']}，对接 {summary['matches']}，"
        f"签约 {summary['contracted_wan']} 万元",
    ]
    if summary.get("loans"):
        lines.append(
            f"智能制造贷（演示）{summary['loans']} 笔，{summary['loan_banks']} 家银行，"
            f"{summary['loan_amount_wan']} 万元（均经企业授权）"
        )
    if inv["projects"]:
        lines.append(
            f"重硬轻软 {inv['projects']} 个技改项目：硬件 {inv['hardware_share']:.1%}、"
            f"软件 {inv['software_share']:.1%}、服务 {inv['services_share']:.1%}"
        )
    return lines
