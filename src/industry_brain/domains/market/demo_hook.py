"""The service market in the main job: demo providers (synthetic names, valid USCCs), their
recognitions, solutions for the CMMM sub-domains (most approved, some awaiting review, a few
with a newer version pending), three provider users, leads of diagnosed enterprises through
every outcome with ratings after delivery, and the batch matching of every enterprise — all
from a fixed seed and labelled 演示 (demo) where a person reads them."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

ORDER = 38  # after diagnosis (30), whose final CMMM assessments the matching reads
SEED = 20261219
DEMO = "demo"
PROVIDER_USERS = 3
#: the outcomes of the leads each provider with a demo user gets (its desk shows their forms)
OWN_LEADS = ("requested", "contacted", "contracted")

NAMES = (
    "湖州智造数字科技有限公司",
    "浙北工业互联网平台有限公司",
    "太湖数采物联技术有限公司",
    "南太湖智能制造咨询有限公司",
    "吴兴精益数字工程有限公司",
    "长兴云链软件有限公司",
    "安吉绿色能源数字科技有限公司",
    "德清视觉智能装备有限公司",
    "南浔数智仓储物流有限公司",
    "湖州工控安全技术有限公司",
    "浙江数字孪生工程有限公司",
    "湖州质量大数据服务有限公司",
)
KINDS = ("engineering", "platform", "data_collection", "consulting", "leading", "excellent")
# (title, sub-domains, summary)
TEMPLATES = (
    (
        "生产计划与调度优化（高级计划排程）",
        ["planning", "operations"],
        "以高级计划排程为核心，打通订单、物料与产能，缩短交期。",
    ),
    (
        "制造执行系统实施",
        ["operations", "planning", "integration"],
        "车间制造执行系统，工单、报工、质量追溯一体化。",
    ),
    (
        "设备联网与预测性维护",
        ["maintenance", "equipment", "network"],
        "设备数据采集、状态监测与故障预测。",
    ),
    (
        "智能仓储与配送优化",
        ["warehousing", "logistics"],
        "立体库、条码与仓储管理系统，配送路径优化。",
    ),
    (
        "能源在线监测与能效管理",
        ["energy", "safety_environment"],
        "分项计量、能耗分析与碳排放核算。",
    ),
    (
        "产品数字化设计与仿真",
        ["product_design", "process_design"],
        "三维设计、仿真验证与设计数据管理。",
    ),
    ("数据治理与数据中台", ["data", "integration"], "主数据、数据标准与数据资产目录建设。"),
    ("工业控制系统安全防护", ["security", "network"], "工控安全评估、边界防护与安全运维。"),
    ("供应链协同采购平台", ["procurement", "sales"], "供应商协同、电子招采与订单协同。"),
    (
        "客户服务与远程运维平台",
        ["customer_service", "product_service"],
        "售后服务工单、远程诊断与备件管理。",
    ),
    ("安全环保智能监控", ["safety_environment"], "危险源监控、环保排放在线监测与预警。"),
    ("数字化转型规划咨询", ["strategy", "skills"], "成熟度诊断、转型路线图与人才培养方案。"),
    ("机器视觉质量检测", ["operations", "equipment"], "视觉检测替代人工目检，缺陷数据闭环。"),
    (
        "工艺参数优化与数字孪生",
        ["process_design", "operations"],
        "工艺数据建模、参数寻优与产线数字孪生。",
    ),
)
INDUSTRY_SETS = ([], ["36"], ["38", "39"], ["29", "30"], ["17", "18"], ["33", "34", "35"], [])
SIZE_SETS = ([], ["medium", "small"], ["large", "medium"], ["small", "micro"], [])
RESULTS = (
    "交期缩短 18%",
    "设备综合效率提升 12%",
    "库存周转提高 25%",
    "单位产品能耗下降 9%",
    "不良率下降 30%",
)


def _uscc(rng: np.random.Generator, county: str) -> str:
    from industry_brain.demo.identifiers import random_uscc

    return random_uscc(rng, county)


def seed(engine: Engine) -> dict[str, Any]:
    from industry_brain.demo.operational import password_hash
    from industry_brain.domains.market import matching, service
    from industry_brain.domains.market.models import MarketProvider
    from industry_brain.store.models import Enterprise, User
    from industry_brain.store.scope import Scope

    rnd = random.Random(SEED)
    nrng = np.random.Generator(np.random.PCG64(SEED))
    officer = Scope(user_id=None, username=DEMO, role="admin")
    counts = {"providers": 0, "solutions": 0, "published": 0, "pending": 0, "leads": 0}
    with Session(engine) as s:
        if s.scalar(select(MarketProvider.id).limit(1)) is not None:
            raise ValueError("the market's demo data exist already")
        counties = [c for c in s.scalars(select(Enterprise.county_code).distinct()) if c]
        counties.sort()
        city = counties[0][:4] + "00" if counties else "330500"
        providers = []
        for i, name in enumerate(NAMES):
            county = counties[i % len(counties)] if counties else "330502"
            regions = [] if i % 4 == 3 else ([city] if i % 2 == 0 else [county])
            p = service.register_provider(
                s,
                officer,
                _uscc(nrng, county),
                name,
                KINDS[i % len(KINDS)],
                regions,
                staff=20 + 15 * ((i * 7) % 11),
                contact="演示联系人",
                intro="演示数据（合成服务商）",
            )
            providers.append(p)
            if i % 3 == 0:
                service.add_recognition(
                    s, officer, p.id, "leading", 2024, "演示经信局", date(2026, 12, 31)
                )
            if i % 4 == 1:
                service.add_recognition(
                    s, officer, p.id, "excellent", 2022, "演示经信局", date(2024, 12, 31)
                )
        counts["providers"] = len(providers)
        sols = []
        for j in range(42):
            title, subs, summary = TEMPLATES[j % len(TEMPLATES)]
            p = providers[(j * 5) % len(providers)]
            lo = float(rnd.choice((5, 10, 20, 30, 50, 80, 120)))
            cases = [
                {
                    "enterprise": f"演示案例企业{j:02d}{k}",
                    "industry": rnd.choice(("36", "38", "39", "29", "33", "34", "17")),
                    "result": rnd.choice(RESULTS),
                }
                for k in range(rnd.randint(0, 4))
            ]
            fields = {
                "title": title if j < len(TEMPLATES) else f"{title}（{p.name[:4]}版）",
                "summary": summary + "（演示数据）",
                "subdomains": subs,
                "industries": INDUSTRY_SETS[j % len(INDUSTRY_SETS)],
                "sizes": SIZE_SETS[j % len(SIZE_SETS)],
                "price_min": lo,
                "price_max": lo * rnd.choice((1.5, 2, 3)),
                "delivery_days": rnd.choice((30, 60, 90, 120, 180)),
                "cases": cases,
            }
            sol = service.create_solution(s, officer, fields, provider_id=p.id, source=DEMO)
            sols.append((sol, fields))
            if j % 10 == 9:
                counts["pending"] += 1
                continue
            service.review(s, officer, sol.id, 1, "approve")
            counts["published"] += 1
            if j % 13 == 4:  # a newer version awaits review; version 1 stays in the catalog
                service.edit_solution(
                    s, officer, sol.id, {**fields, "price_max": fields["price_max"] + 10}
                )
                counts["pending"] += 1
        counts["solutions"] = len(sols)
        for k in range(PROVIDER_USERS):
            username = f"provider_{k + 1:02d}"
            user = User(
                username=username,
                display_name=f"{providers[k].name} 演示账号",
                role="provider",
                organisation=providers[k].name,
                password_hash=password_hash(username),
                active=True,
            )
            s.add(user)
            s.flush()
            service.link_user(s, officer, username, providers[k].id)
        s.commit()

        # leads: diagnosed enterprises ask about their best match; outcomes cycle
        diag = matching.diagnoses(s)
        firms = sorted(diag)[:24]
        outcomes = ("requested", "contacted", "contracted", "delivered", "delivered", "declined")
        for n, eid in enumerate(firms):
            m = matching.for_enterprise(s, eid)
            if not m["solutions"]:
                continue
            target = outcomes[n % len(outcomes)]
            lead, ent_scope = _demo_lead(s, eid, m["solutions"][0], target)
            counts["leads"] += 1
            if target == "delivered":
                service.rate(s, ent_scope, lead.id, 3 + (n % 3), "演示评价")
        # the providers with a demo user get leads of their own from the next diagnosed firms
        # (one requested, one contacted, one contracted), so their desks show the lead forms
        wanted = {providers[k].id: list(OWN_LEADS) for k in range(PROVIDER_USERS)}
        for eid in sorted(diag)[24:]:
            if not any(wanted.values()):
                break
            m = matching.for_enterprise(s, eid)
            mine = next(
                (x for x in m["solutions"] if wanted.get(int(x["solution"]["provider_id"]))),
                None,
            )
            if mine is None:
                continue
            target = wanted[int(mine["solution"]["provider_id"])].pop(0)
            _demo_lead(s, eid, mine, target)
            counts["leads"] += 1
        s.commit()
    return counts


#: the provider's recorded steps that bring a requested lead to each outcome
LEAD_STEPS = {
    "requested": (),
    "contacted": ("contacted",),
    "contracted": ("contacted", "contracted"),
    "delivered": ("contacted", "contracted", "delivered"),
    "declined": ("contacted", "declined"),
}


def _demo_lead(s: Session, eid: int, match: dict[str, Any], target: str) -> tuple[Any, Any]:
    """The enterprise asks about the matched solution (its explanation as the reason) and the
    lead is taken to ``target`` (a contract at the solution's lowest price)."""
    from industry_brain.domains.market import service
    from industry_brain.store.scope import Scope

    ent_scope = Scope(user_id=None, username=DEMO, role="enterprise", enterprise_id=eid)
    lead = service.request_contact(
        s, ent_scope, int(match["solution"]["id"]), "演示对接申请", match["reason_zh"]
    )
    for step in LEAD_STEPS[target]:
        amount = float(match["solution"]["price_min"]) if step == "contracted" else None
        _advance(s, lead, step, amount)
    return lead, ent_scope


def _advance(s: Session, lead: Any, status: str, amount: float | None) -> None:
    """The demo records a provider's outcome (the desk's transitions, written here and audited
    as ``demo``: most demo providers have no user)."""

    from industry_brain.domains.market import service
    from industry_brain.store import audit, replay

    if status not in service.TRANSITIONS.get(lead.status, ()):
        raise ValueError(f"demo: {lead.status} → {status}")
    now = replay.now()  # the demo's day when the main job replays it
    if status == "contacted":
        lead.contacted_at = now
    elif status == "contracted":
        lead.contracted_at, lead.amount = now, amount
    elif status == "delivered":
        lead.delivered_at = now
    lead.status, lead.updated_by = status, DEMO
    audit.record(s, DEMO, "market.lead_update", "market_lead", str(lead.id), {"status": status})
    s.flush()


def batch(engine: Engine) -> dict[str, Any]:
    """Match every enterprise against the published catalog in one batch and publish the run
    (``result_market_matches``) on the demo's day."""
    from industry_brain.domains.market import publish
    from industry_brain.store import replay

    with Session(engine) as s:
        r = publish.run(s, DEMO, replay.replay_day() or date.today())
        return {"run_id": r.id, **r.summary}


def run(engine: Engine, out_dir: Path, progress: Callable[[str, int, int], None]) -> dict[str, Any]:
    from sqlalchemy import func

    from industry_brain.domains.market.models import MarketLead, MarketRating
    from industry_brain.store.models import Enterprise

    with Session(engine) as s:
        if not s.scalar(select(func.count(Enterprise.id))):
            return {"headline": ["服务市场：没有企业 / market: no enterprises"]}
    progress("market", 0, 2)
    counts = seed(engine)
    progress("market", 1, 2)
    b = batch(engine)
    with Session(engine) as s:
        contracted = s.scalar(
            select(func.coalesce(func.sum(MarketLead.amount), 0)).where(
                MarketLead.status.in_(("contracted", "delivered"))
            )
        )
        rating = s.scalar(select(func.avg(MarketRating.score)))
        n_ratings = s.scalar(select(func.count(MarketRating.id)))
    progress("market", 2, 2)
    summary = {
        "seeded": counts,
        "batch": b,
        "contracted_amount": float(contracted or 0),
        "mean_rating": None if rating is None else round(float(rating), 2),
        "ratings": int(n_ratings or 0),
    }
    summary["headline"] = headline_lines(summary)
    return summary


def headline_lines(x: dict[str, Any]) -> list[str]:
    c, b = x["seeded"], x["batch"]
    rating = "—" if x["mean_rating"] is None else f"{x['mean_rating']:.2f}"
    return [
        f"智改数转服务市场：服务商 {c['providers']} 家，方案 {c['solutions']} 个（已发布 "
        f"{c['published']}，待审核版本 {c['pending']}），对接线索 {c['leads']} 条，签约 "
        f"{x['contracted_amount']:.1f} 万元，评分 {rating}（{x['ratings']} 条）（演示数据）"
        f" / market: "
        f"{c['providers']} providers, {c['solutions']} solutions, {c['leads']} leads (demo)",
        f"  匹配 matching: 企业 {b['enterprises']} 家（已诊断 {b['diagnosed']}）× 方案 "
        f"{b['catalog']} 个 → 有推荐 {b['matched']} 家，平均符合 {b['mean_eligible']} 个，"
        f"计算 {b['match_seconds']:.3f} s / {b['matched']} firms matched in "
        f"{b['match_seconds']:.3f} s",
    ]


def headline(summary: dict[str, Any]) -> list[str]:
    return list(summary["headline"])
