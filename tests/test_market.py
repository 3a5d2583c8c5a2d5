"""The service market (issue 19 points 1–3): ranking by hand on a small catalog (ties, budget
filter, no diagnosis yet), the lead → contract → rating flow with its permissions, the jieba
token search, versions and review, provider registry checks and the XLSX import's errors."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from industry_brain import contract
from industry_brain.core import uscc
from industry_brain.core.errors import ConflictError, NotFoundError, ValidationError
from industry_brain.domains.market import importer, matching, search, service
from industry_brain.domains.market.models import (
    MarketLead,
    MarketSearchToken,
    MarketSolution,
)
from industry_brain.store.models import AuditLog, Enterprise, User
from industry_brain.store.scope import PermissionDenied, Scope

P1 = uscc.make("91330502MA2B0M001")
P2 = uscc.make("91330502MA2B0M002")
ENT = uscc.make("91330502MA2B0E001")
ENT2 = uscc.make("91330503MA2B0E002")
OFFICER = Scope(user_id=None, username="officer", role="city_officer")
W = matching.Weights(
    gap=1.0, industry=0.5, cases=0.2, rating=0.3, area=0.3, cases_cap=3, rating_neutral=3, top=10
)


@pytest.fixture(autouse=True, scope="module")
def _services() -> None:
    contract.services()  # the market's permissions join the platform's table


def fields(title: str, subs: list[str], **kw: object) -> dict:
    base = {
        "title": title,
        "summary": "",
        "subdomains": subs,
        "industries": [],
        "sizes": [],
        "price_min": 10,
        "price_max": 20,
        "delivery_days": 60,
        "cases": [],
    }
    return {**base, **kw}


# -- ranking by hand ---------------------------------------------------------------------------
def _solution(
    sid: int,
    code: str,
    subs: list[str],
    industries: list[str] = (),  # type: ignore[assignment]
    sizes: list[str] = (),  # type: ignore[assignment]
    price: float = 10,
    cases: list[str] = (),  # type: ignore[assignment]
    provider: int = 1,
    rating: float = math.nan,
    ratings: int = 0,
    regions: list[str] = (),  # type: ignore[assignment]
) -> dict:
    return {
        "id": sid,
        "code": code,
        "provider_id": provider,
        "provider": f"P{provider}",
        "regions": list(regions),
        "title": code,
        "subdomains": list(subs),
        "industries": list(industries),
        "sizes": list(sizes),
        "price_min": float(price),
        "price_max": float(price) * 2,
        "cases": [{"enterprise": "x", "industry": i, "result": "y"} for i in cases],
        "rating": rating,
        "ratings": ratings,
    }


CATALOG = pd.DataFrame(
    [
        # A: planning (weak, gap 0.5); industry 36 fits; 3 peer cases (+1 in 38); P1 4.6; city
        _solution(
            1,
            "A",
            ["planning"],
            ["36"],
            price=10,
            cases=["36", "36", "36", "38"],
            provider=1,
            rating=4.6,
            ratings=5,
            regions=["330500"],
        ),
        # B: for large firms only — the enterprise is medium: filtered out
        _solution(2, "B", ["maintenance", "planning"], sizes=["large"], price=5, provider=2),
        # C: maintenance (weak, gap 1.0), any industry, unrated, price 50
        _solution(3, "C", ["maintenance"], price=50, provider=2),
        # D: maintenance, industry 36, P3 rated exactly neutral (3.0), another county
        _solution(
            4,
            "D",
            ["maintenance"],
            ["36"],
            price=30,
            provider=3,
            rating=3.0,
            ratings=2,
            regions=["330503"],
        ),
        # E: energy only — not weak: filtered out when diagnosed
        _solution(5, "E", ["energy"], price=5, provider=2),
        # F: textile only (17): filtered out by industry
        _solution(6, "F", ["maintenance"], ["17"], price=1, provider=2),
        # G: same as C but cheaper (40): ties with C at 1.0 and goes first
        _solution(7, "G", ["maintenance"], price=40, provider=2),
    ]
)


def _enterprise(subdomains: dict | None, level: int | None = 1) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": 1,
                "uscc": ENT,
                "name": "甲",
                "industry_code": "3670",
                "county_code": "330502",
                "size": "medium",
                "level": level if subdomains is not None else None,
                "subdomains": subdomains,
                "diagnosis_year": 2025 if subdomains is not None else None,
            }
        ]
    )


DIAGNOSED = {"planning": 1.5, "maintenance": 1.0, "warehousing": 2.0, "energy": 2.5}


def _ranked(m: matching.Matches) -> list[tuple[str, float]]:
    return [
        (CATALOG.iloc[int(i)]["code"], float(s))
        for i, s in zip(m.index[0], m.score[0], strict=True)
        if i >= 0
    ]


def test_ranking_by_hand_with_ties() -> None:
    """Level 1 → target 2: weak planning (1.5, gap 0.5) and maintenance (1.0, gap 1.0);
    warehousing (2.0) and energy (2.5) are not weak.

    A = 1×0.5 + 0.5×1 + 0.2×3 + 0.3×(4.6−3) + 0.3×1 = 0.5+0.5+0.6+0.48+0.3 = 2.38
    D = 1×1.0 + 0.5×1 + 0 + 0.3×(3.0−3) + 0 = 1.5
    C = G = 1×1.0 = 1.0 (no industry list, no cases, unrated, nationwide): tie → cheaper G first
    B (large only), E (energy not weak), F (industry 17) are not eligible."""
    m = matching.match(_enterprise(DIAGNOSED), CATALOG, W)
    assert _ranked(m) == [("A", 2.38), ("D", 1.5), ("G", 1.0), ("C", 1.0)]
    assert int(m.eligible[0]) == 4
    assert m.cover[0, :4].tolist() == [0.5, 1.0, 1.0, 1.0]
    assert m.cases[0, 0] == 3 and m.area[0, 0] == 1 and m.area[0, 1] == 0


def test_budget_filter() -> None:
    """Budget 45 万元: C (from 50) drops out, G (40) and D (30) stay."""
    m = matching.match(_enterprise(DIAGNOSED), CATALOG, W, budget=np.array([45.0]))
    assert _ranked(m) == [("A", 2.38), ("D", 1.5), ("G", 1.0)]
    m = matching.match(_enterprise(DIAGNOSED), CATALOG, W, budget=np.array([9.0]))
    assert _ranked(m) == []


def test_no_diagnosis_yet() -> None:
    """Without a diagnosis nothing is weak and nothing is filtered for coverage:
    A = 0 + 0.5 + 0.6 + 0.48 + 0.3 = 1.88; D = 0.5; C, E, G = 0 (tie: E 5 < G 40 < C 50);
    B (size) and F (industry) still out."""
    m = matching.match(_enterprise(None), CATALOG, W)
    assert _ranked(m) == [("A", 1.88), ("D", 0.5), ("E", 0.0), ("G", 0.0), ("C", 0.0)]
    e = _enterprise(None).iloc[0].to_dict()
    sol = CATALOG.iloc[0].to_dict()
    comp = {"score": 1.88, "cover": 0.0, "industry": 1.0, "cases": 3.0, "area": 1.0}
    zh = matching.explain(e, sol, comp, W, "zh")
    assert zh.startswith("尚无诊断结果")
    assert "得分 1×0 + 0.5×1 + 0.2×3 + 0.3×1.6 + 0.3×1 = 1.88" in zh


def test_rank_explained_in_both_languages() -> None:
    e = _enterprise(DIAGNOSED).iloc[0].to_dict()
    sol = CATALOG.iloc[0].to_dict()
    comp = {"score": 2.38, "cover": 0.5, "industry": 1.0, "cases": 3.0, "area": 1.0}
    assert matching.explain(e, sol, comp, W, "zh") == (
        "弱项 计划与调度 1.5 级 → 方案覆盖该子域（目标 2 级，差距合计 0.5 级）；适用本行业；"
        "同行业案例 3 个；评分 4.6（5 条）；服务区域覆盖本地；"
        "得分 1×0.5 + 0.5×1 + 0.2×3 + 0.3×1.6 + 0.3×1 = 2.38"
    )
    en = matching.explain(e, sol, comp, W, "en")
    assert en.startswith("weak Planning and scheduling at 1.5 → the solution covers it")
    assert "3 case(s) in the same industry; rating 4.6 (5)" in en


def test_size_classes() -> None:
    t = {
        "large_employees": 1000,
        "large_revenue": 40000,
        "medium_employees": 300,
        "medium_revenue": 2000,
        "small_employees": 20,
        "small_revenue": 300,
    }
    assert matching.size_class(1000, 40000, t) == "large"
    assert matching.size_class(1000, 39999, t) == "medium"  # both figures must reach
    assert matching.size_class(300, 2000, t) == "medium"
    assert matching.size_class(19, 5000, t) == "micro"
    assert matching.size_class(None, 5000, t) is None


# -- the store ---------------------------------------------------------------------------------
def _store(s: Session) -> dict[str, int]:
    e1 = Enterprise(uscc=ENT, name="湖州甲汽配有限公司", county_code="330502", industry_code="3670")
    e2 = Enterprise(
        uscc=ENT2, name="湖州乙纺织有限公司", county_code="330503", industry_code="1711"
    )
    s.add_all([e1, e2])
    s.flush()
    users = {}
    for name, role, extra in (
        ("ent1", "enterprise", {"enterprise_id": e1.id}),
        ("ent2", "enterprise", {"enterprise_id": e2.id}),
        ("prov1", "provider", {}),
        ("prov2", "provider", {}),
    ):
        u = User(username=name, display_name=name, role=role, **extra)
        s.add(u)
        s.flush()
        users[name] = u.id
    p1 = service.register_provider(s, OFFICER, P1, "甲数字工程公司", "engineering", ["330500"], 50)
    p2 = service.register_provider(s, OFFICER, P2, "乙平台公司", "platform", [], 20)
    service.link_user(s, OFFICER, "prov1", p1.id)
    service.link_user(s, OFFICER, "prov2", p2.id)
    s.commit()
    return {"e1": e1.id, "e2": e2.id, "p1": p1.id, "p2": p2.id, **users}


def _scope(ids: dict[str, int], name: str) -> Scope:
    role = "provider" if name.startswith("prov") else "enterprise"
    eid = ids.get("e" + name[-1]) if role == "enterprise" else None
    return Scope(user_id=ids[name], username=name, role=role, enterprise_id=eid)


def _published(s: Session, scope: Scope, title: str, subs: list[str], **kw: object) -> int:
    sol = service.create_solution(s, scope, fields(title, subs, **kw))
    service.review(s, OFFICER, sol.id, 1, "approve")
    s.commit()
    return sol.id


def test_token_search(engine: Engine) -> None:
    with Session(engine) as s:
        ids = _store(s)
        prov1 = _scope(ids, "prov1")
        plan = _published(s, prov1, "生产计划与调度优化", ["planning"], summary="高级排程系统")
        _published(s, prov1, "设备联网与预测性维护", ["maintenance"])
        pending = service.create_solution(s, prov1, fields("计划调度看板", ["planning"]))
        s.commit()
        # 计划调度 → the tokens 计划 + 调度, both in 生产计划与调度优化
        assert search.tokens("计划调度") == ["计划", "调度"]
        assert [sid for sid, _ in search.search(s, "计划调度")] == [plan]
        assert [sid for sid, _ in search.search(s, "调度")] == [plan]
        # the sub-domain's name is indexed: 设备管理 (maintenance)
        hits = service.catalog(s, "设备管理")
        assert [h["version"].title for h in hits] == ["设备联网与预测性维护"]
        # a substring that is no token finds nothing (tokens, not LIKE)
        assert search.search(s, "划与调") == []
        assert search.search(s, "区块链") == []
        # an unpublished solution is not in the index
        assert pending.id not in {sid for sid, _ in search.search(s, "看板")}
        # a new version replaces the indexed text once approved; version 1 stays readable
        service.edit_solution(s, prov1, plan, fields("智能排产与车间派工", ["operations"]))
        s.commit()
        assert [sid for sid, _ in search.search(s, "计划调度")] == [plan]  # v1 still published
        service.review(s, OFFICER, plan, 2, "approve")
        s.commit()
        assert search.search(s, "计划调度") == []
        assert [sid for sid, _ in search.search(s, "排产")] == [plan]
        v1 = service.solution_detail(s, Scope(None, "x", "enterprise", enterprise_id=1), plan, 1)
        assert v1["version"].title == "生产计划与调度优化"
        assert s.scalar(select(func.count()).select_from(MarketSearchToken)) > 0
        # the catalog page's rows are reused while the catalog is unchanged (same list), and a
        # publication (the catalog's stamp) shows at once: v2's title, a new solution
        first = service.catalog(s, "排产")
        assert [h["version"].title for h in first] == ["智能排产与车间派工"]
        assert service.catalog(s, " 排产 ") is first
        _published(s, _scope(ids, "prov2"), "车间排产平台", ["planning"])
        again = service.catalog(s, "排产")
        assert again is not first
        assert sorted(h["version"].title for h in again) == ["智能排产与车间派工", "车间排产平台"]
        assert {h["provider"].name for h in again} == {"甲数字工程公司", "乙平台公司"}


def test_versions_and_review(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as s:
        ids = _store(s)
        prov1, prov2 = _scope(ids, "prov1"), _scope(ids, "prov2")
        sol = service.create_solution(s, prov1, fields("仓储配送优化", ["warehousing"]))
        s.commit()
        reader = Scope(user_id=ids["ent1"], username="ent1", role="enterprise", enterprise_id=1)
        with pytest.raises(NotFoundError):  # not published yet: only insiders see it
            service.solution_detail(s, reader, sol.id)
        assert service.solution_detail(s, prov1, sol.id)["version"].version == 1
        with pytest.raises(ValidationError):
            service.review(s, OFFICER, sol.id, 1, "reject", "")  # a rejection needs a note
        with pytest.raises(PermissionDenied):
            service.review(s, prov1, sol.id, 1, "approve")  # providers do not review
        service.review(s, OFFICER, sol.id, 1, "approve")
        with pytest.raises(ConflictError):
            service.review(s, OFFICER, sol.id, 1, "approve")
        v2 = service.edit_solution(s, prov1, sol.id, fields("仓储配送优化 2.0", ["warehousing"]))
        s.commit()
        assert (v2.version, v2.review_status) == (2, "pending")
        d = service.solution_detail(s, reader, sol.id)
        assert (d["version"].version, [v.version for v in d["versions"]]) == (1, [1])
        service.review(s, OFFICER, sol.id, 2, "reject", "价格区间需说明")
        s.commit()
        assert s.get(MarketSolution, sol.id).published_version == 1
        # another provider may not edit it: refused and audited
        with pytest.raises(PermissionDenied) as exc:
            service.edit_solution(s, prov2, sol.id, fields("冒名修改", ["warehousing"]))
        assert exc.value.problem.code == "market.not_owner"
        refused = s.scalars(select(AuditLog).where(AuditLog.action == "market.refused")).all()
        assert [(a.actor, a.object_id) for a in refused] == [("prov2", str(sol.id))]
        with pytest.raises(PermissionDenied):
            service.create_solution(s, prov2, fields("x", ["planning"]), provider_id=ids["p1"])
        with pytest.raises(ValidationError) as bad:
            service.create_solution(s, prov1, fields("x", ["no_such_subdomain"]))
        assert bad.value.problem.code == "market.subdomain"


def test_provider_registry_checks_uscc(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as s:
        with pytest.raises(ValidationError) as exc:
            service.register_provider(
                s, OFFICER, P1[:-1] + ("0" if P1[-1] != "0" else "1"), "甲", "engineering", [], 1
            )
        assert exc.value.problem.code == "uscc.checksum"
        with pytest.raises(ValidationError):
            service.register_provider(s, OFFICER, P1, "甲", "no_kind", [], 1)
        with pytest.raises(ValidationError):
            service.register_provider(s, OFFICER, P1, "甲", "engineering", ["999999"], 1)
        p = service.register_provider(s, OFFICER, P1, "甲", "leading", ["330502"], 9)
        service.add_recognition(
            s, OFFICER, p.id, "leading", 2024, "湖州市经信局", date(2026, 12, 31)
        )
        with pytest.raises(ValidationError):
            service.add_recognition(s, OFFICER, p.id, "excellent", 2024, "x", date(2023, 1, 1))
        ent = Scope(user_id=None, username="e", role="enterprise")
        with pytest.raises(PermissionDenied):
            service.register_provider(s, ent, P2, "乙", "platform", [], 1)
        d = service.provider_detail(s, p.id, date(2027, 1, 5))
        assert [(r["kind"], r["valid"]) for r in d["recognitions"]] == [("leading", False)]


def test_lead_contract_rating_flow(engine: Engine) -> None:
    with Session(engine) as s:
        ids = _store(s)
        prov1, prov2 = _scope(ids, "prov1"), _scope(ids, "prov2")
        ent1, ent2 = _scope(ids, "ent1"), _scope(ids, "ent2")
        sid = _published(s, prov1, "生产计划与调度优化", ["planning"], price_min=30, price_max=60)
        with pytest.raises(PermissionDenied):
            service.request_contact(s, prov2, sid)  # only an enterprise requests
        lead = service.request_contact(s, ent1, sid, "请联系", "弱项 计划与调度")
        s.commit()
        assert service.request_contact(s, ent1, sid).id == lead.id  # one open lead per solution
        # the provider sees it; the other provider sees nothing and cannot touch it
        assert [x["lead"].id for x in service.leads_for(s, prov1)] == [lead.id]
        assert service.leads_for(s, prov2) == []
        with pytest.raises(PermissionDenied) as exc:
            service.update_lead(s, prov2, lead.id, "contacted")
        assert exc.value.problem.code == "market.not_owner"
        audited = s.scalars(
            select(AuditLog).where(AuditLog.action == "market.refused", AuditLog.actor == "prov2")
        ).all()
        assert [a.object_type for a in audited] == ["market_lead"]
        # the enterprise sees its own lead; the other enterprise does not
        assert [x["lead"].id for x in service.leads_for(s, ent1)] == [lead.id]
        assert service.leads_for(s, ent2) == []
        with pytest.raises(ConflictError):
            service.update_lead(s, prov1, lead.id, "delivered")  # requested → delivered: no
        service.update_lead(s, prov1, lead.id, "contacted")
        with pytest.raises(ValidationError):
            service.update_lead(s, prov1, lead.id, "contracted")  # the amount is required
        service.update_lead(s, prov1, lead.id, "contracted", 45.5)
        s.commit()
        with pytest.raises(ConflictError) as early:
            service.rate(s, ent1, lead.id, 5)  # before delivery
        assert early.value.problem.code == "market.not_delivered"
        service.update_lead(s, prov1, lead.id, "delivered")
        s.commit()
        with pytest.raises(NotFoundError):
            service.rate(s, ent2, lead.id, 1)  # not its contract
        with pytest.raises(ValidationError):
            service.rate(s, ent1, lead.id, 6)
        service.rate(s, ent1, lead.id, 4, "按期交付")
        s.commit()
        with pytest.raises(ConflictError) as twice:
            service.rate(s, ent1, lead.id, 5)
        assert twice.value.problem.code == "market.rated"
        stored = s.get(MarketLead, lead.id)
        assert (stored.status, stored.amount) == ("delivered", 45.5)
        assert service.ratings(s) == {ids["p1"]: (4.0, 1)}
        # after delivery a new request about the same solution opens a new lead
        assert service.request_contact(s, ent1, sid).id != lead.id


def _diagnosis(s: Session, enterprise_id: int, level: int, subs: dict[str, float]) -> None:
    """A final CMMM assessment as the diagnosis service stores it (its table, written here
    through a lightweight description: the market reads the diagnosis service's data only)."""
    import sqlalchemy as sa

    t = sa.table(
        "diagnosis_assessments",
        *(sa.column(c) for c in ("enterprise_id", "questionnaire", "version", "year")),
        *(sa.column(c) for c in ("industry_type", "status", "created_by")),
        sa.column("result", sa.JSON()),
    )
    s.execute(
        insert(t).values(
            enterprise_id=enterprise_id,
            questionnaire="cmmm",
            version="2020.1",
            year=2025,
            industry_type="discrete",
            status="final",
            created_by="test",
            result={
                "level": level,
                "subdomains": {k: {"level": int(v), "score": v} for k, v in subs.items()},
            },
        )
    )


def test_for_enterprise_reads_the_diagnosis(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as s:
        ids = _store(s)
        prov1 = _scope(ids, "prov1")
        plan = _published(s, prov1, "生产计划与调度优化", ["planning"], industries=["36"])
        _published(s, prov1, "能源管理", ["energy"])
        m = matching.for_enterprise(s, ids["e1"])
        assert not m["diagnosed"]
        assert m["solutions"][0]["solution"]["id"] == plan
        _diagnosis(s, ids["e1"], 1, {"planning": 1.5, "energy": 2.5})
        s.commit()
        m = matching.for_enterprise(s, ids["e1"], lang="zh")
        assert m["diagnosed"] and m["enterprise"]["level"] == 1
        # energy (2.5) is not weak at target 2: only the planning solution remains
        assert [r["solution"]["id"] for r in m["solutions"]] == [plan]
        assert m["solutions"][0]["reason"].startswith("弱项 计划与调度 1.5 级 → 方案覆盖该子域")
        assert m["providers"][0]["name"] == "甲数字工程公司"
        # the textile firm (17) gets no 36-only solution
        m2 = matching.for_enterprise(s, ids["e2"])
        assert [r["solution"]["title"] for r in m2["solutions"]] == ["能源管理"]


# -- import ------------------------------------------------------------------------------------
HEAD = [
    "服务商统一社会信用代码",
    "方案名称",
    "能力子域",
    "适用行业",
    "企业规模",
    "价格下限（万元）",
    "价格上限（万元）",
    "交付周期（天）",
    "案例企业",
    "案例行业",
    "案例成效",
]


def _xlsx(path: Path, rows: list[list[object]], head: list[str] = HEAD) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "方案征集"
    ws.append(head)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_import_errors_name_the_cell_and_nothing_is_written(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    with Session(sqlite_engine) as s:
        _store(s)
        bad = _xlsx(
            tmp_path / "征集表.xlsx",
            [
                [
                    P1,
                    "生产计划与调度优化",
                    "计划与调度、生产作业",
                    "36",
                    "中型",
                    10,
                    20,
                    60,
                    "甲汽配",
                    "36",
                    "交期缩短 18%",
                ],
                [P2, "设备管理", "设备运维", "", "", 5, 8, 30, "", "", ""],
                [
                    uscc.make("91330502MA2B0M009"),
                    "仓储",
                    "仓储配送",
                    "",
                    "巨型",
                    "十",
                    8,
                    30,
                    "",
                    "",
                    "",
                ],
            ],
        )
        with pytest.raises(importer.ImportRejected) as exc:
            importer.import_solutions(s, OFFICER, bad)
        got = [(p["row"], p["column"], p["field"]) for p in exc.value.problems]
        assert got == [
            (3, "C", "subdomains"),  # 设备运维 is no sub-domain
            (4, "A", "provider_uscc"),  # not registered
            (4, "E", "sizes"),  # 巨型
            (4, "F", "price_min"),  # 十 is not a number
        ]
        first = exc.value.problem
        assert (first.location.file, first.location.sheet, first.location.row) == (
            "征集表.xlsx",
            "方案征集",
            3,
        )
        assert "设备运维" in first.zh and "设备运维" in first.en and "nothing imported" in first.en
        assert s.scalar(select(func.count()).select_from(MarketSolution)) == 0
        # the header: a required column missing
        no_title = _xlsx(
            tmp_path / "缺列.xlsx",
            [[P1, "计划与调度", 1, 2, 3]],
            ["服务商统一社会信用代码", "能力子域", "价格下限", "价格上限", "交付周期"],
        )
        with pytest.raises(ValidationError) as head:
            importer.import_solutions(s, OFFICER, no_title)
        assert (
            head.value.problem.code == "market.import_header"
            and "方案名称" in head.value.problem.zh
        )
        # a clean file: solutions await review, with the case kept
        good = _xlsx(
            tmp_path / "征集表2.xlsx",
            [
                [
                    P1,
                    "生产计划与调度优化",
                    "计划与调度、生产作业",
                    "36",
                    "中型、小型",
                    10,
                    20,
                    60,
                    "甲汽配",
                    "36",
                    "交期缩短 18%",
                ],
                [P2, "设备管理", "设备管理", "", "", 5, 8, 30, "", "", ""],
            ],
        )
        out = importer.import_solutions(s, OFFICER, good)
        s.commit()
        assert (out["created"], out["versions"]) == (2, 0)
        q = service.queue(s)
        assert [(x["version"].title, x["version"].subdomains, x["version"].sizes) for x in q] == [
            ("生产计划与调度优化", ["planning", "operations"], ["medium", "small"]),
            ("设备管理", ["maintenance"], []),
        ]
        assert q[0]["version"].cases == [
            {"enterprise": "甲汽配", "industry": "36", "result": "交期缩短 18%"}
        ]
        assert q[0]["version"].source == "xlsx:征集表2.xlsx"


# -- CLI ---------------------------------------------------------------------------------------
def test_cli_providers_solutions_match(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from industry_brain.cli import app
    from industry_brain.store import db

    monkeypatch.setenv("IB_DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    db.engine_for.cache_clear()
    with Session(sqlite_engine) as s:
        ids = _store(s)
        s.add(User(username="admin", display_name="admin", role="admin"))
        s.commit()

    def cli(*args: str, code: int = 0) -> str:
        r = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
        assert r.exit_code == code, (r.output, r.exception)
        return r.output

    try:
        providers = json.loads(cli("providers", "list", "--json"))
        assert sorted(p["uscc"] for p in providers) == [P1, P2]
        cli(
            "providers",
            "recognize",
            P1,
            "--kind",
            "leading",
            "--year",
            "2024",
            "--issuer",
            "湖州市经信局",
            "--expires",
            "2026-12-31",
        )
        good = _xlsx(
            tmp_path / "征集表.xlsx",
            [[P1, "生产计划与调度优化", "计划与调度", "36", "", 10, 20, 60, "", "", ""]],
        )
        assert json.loads(cli("solutions", "import", str(good), "--json"))["created"] == 1
        code = json.loads(cli("solutions", "queue", "--json"))[0]["code"]
        cli("solutions", "review", code, "1", "--decision", "approve")
        hits = json.loads(cli("solutions", "list", "--query", "计划调度", "--json"))
        assert [h["code"] for h in hits] == [code]
        shown = json.loads(cli("solutions", "show", code, "--json"))
        assert shown["published_version"] == 1 and shown["versions"][0]["subdomains"] == [
            "planning"
        ]
        m = json.loads(cli("match", ENT, "--lang", "en", "--json"))
        assert not m["diagnosed"] and [r["code"] for r in m["solutions"]] == [code]
        assert m["solutions"][0]["reason"].startswith("no diagnosis yet")
        assert json.loads(cli("match", ENT, "--budget", "5", "--json"))["solutions"] == []
        bad = _xlsx(tmp_path / "坏.xlsx", [[P1, "x", "不存在的子域", "", "", 1, 2, 3, "", "", ""]])
        out = cli("solutions", "import", str(bad), code=2)
        assert "market.import_rejected" in out and "不存在的子域" in out
        assert ids["p1"]
    finally:
        db.engine_for.cache_clear()
