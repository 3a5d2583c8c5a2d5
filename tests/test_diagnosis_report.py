"""The diagnosis report of a final CMMM assessment, by hand: level and score, domains, the
weakest sub-domains with their unmet requirements, the peer percentile, the path to the next
level, the assessor's opinion — in HTML (both languages) and in the PDF (text by pdftotext)."""

from __future__ import annotations

import html as html_mod
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.domains.diagnosis import questionnaire as qn
from industry_brain.domains.diagnosis import report, service
from industry_brain.store.models import Enterprise, User
from industry_brain.store.scope import scope_for

USCC_A = "91330500MA2B3C4D5B"
USCC_B = "91330502MA28C0A01P"
OPINION = "生产环节集成不足，建议优先打通计划与生产作业数据。"
PRODUCTION = [
    "energy",
    "maintenance",
    "operations",
    "planning",
    "procurement",
    "safety_environment",
    "warehousing",
]


def _answers(kind: str) -> dict[str, str]:
    """A: levels 1–2 fully met, level 3 fully met except the 7 production sub-domains,
    levels 4–5 not met. B: nothing met."""
    q = qn.get("cmmm")
    out = {}
    for r in q.requirements.values():
        if kind == "B":
            out[r.code] = "none"
        elif r.level <= 2 or (r.level == 3 and r.domain != "production"):
            out[r.code] = "full"
        else:
            out[r.code] = "none"
    return out


@pytest.fixture
def final(sqlite_engine: Engine) -> tuple[Engine, int]:
    with Session(sqlite_engine) as s:
        ids = {}
        for uscc, name in ((USCC_A, "甲机械有限公司"), (USCC_B, "乙机械有限公司")):
            e = Enterprise(uscc=uscc, name=name, county_code="330502", status="存续")
            s.add(e)
            s.flush()
            ids[uscc] = e.id
            s.add(
                User(
                    username=f"ent_{uscc[-1]}",
                    display_name=name,
                    role="enterprise",
                    enterprise_id=e.id,
                )
            )
        s.add(User(username="assessor", display_name="评估师甲", role="assessor"))
        s.add(User(username="city", display_name="市级", role="city_officer"))
        s.commit()
        city = scope_for(s.scalars(select(User).where(User.username == "city")).one())
        rev = scope_for(s.scalars(select(User).where(User.username == "assessor")).one())
        out = {}
        for uscc, kind in ((USCC_A, "A"), (USCC_B, "B")):
            ent = scope_for(s.scalars(select(User).where(User.username == f"ent_{uscc[-1]}")).one())
            a = service.start(s, ent, uscc, "cmmm", 2025, "discrete")
            service.save_answers(s, ent, a.id, _answers(kind))
            service.submit(s, ent, a.id)
            service.assign(s, city, "assessor", uscc)
            for code in qn.get("cmmm").requirements:
                service.review(s, rev, a.id, code, "accept")
            service.finish_review(s, rev, a.id, OPINION if kind == "A" else "无")
            out[kind] = a.id
    return sqlite_engine, out["A"]


def _build(engine: Engine, assessment_id: int, lang: str = "zh") -> dict:
    with Session(engine) as s:
        city = scope_for(s.scalars(select(User).where(User.username == "city")).one())
        return report.build(s, city, assessment_id, lang)


def test_report_content_by_hand(final) -> None:
    engine, aid = final
    r = _build(engine, aid)
    # level scores 1, 1, 13/20 = 0.65, 0, 0 → level 2, score 2 + 0.65
    assert (r["level"], r["level_name"]) == (2, "规范级")
    assert r["score"] == pytest.approx(2.65, abs=1e-9)
    domains = dict(r["domains"])
    assert domains["生产"] == pytest.approx(2.0) and domains["设计"] == pytest.approx(3.0)
    assert len(domains) == 12 and sum(v == pytest.approx(3.0) for v in domains.values()) == 11
    # weakest: the production sub-domains (level 2, score 2.0), first three by code
    weak = [(w["code"], w["level"], w["score"]) for w in r["weakest"]]
    assert weak == [("energy", 2, 2.0), ("maintenance", 2, 2.0), ("operations", 2, 2.0)]
    assert [u["code"] for u in r["weakest"][0]["unmet"]] == ["energy.l3"]
    assert r["weakest"][0]["unmet"][0]["answer"] == "不满足"
    # next level 3: score 0.65 < 0.8, the 7 production sub-domains below the threshold
    assert r["path"]["level"] == 3 and r["path"]["score"] == pytest.approx(0.65)
    assert sorted(g["code"] for g in r["path"]["subdomains"]) == PRODUCTION
    # one peer (same division: none given, same size: none given), scoring 0 < 2.65
    assert (r["peers"]["peers"], r["peers"]["below"], r["peers"]["percentile"]) == (1, 1, 1.0)
    assert r["opinion"] == OPINION and r["issuer"] == "市经济和信息化局"
    assert r["radar"].startswith("<svg") and r["radar"].count("<line") == 12


def test_report_html_in_both_languages(final) -> None:
    engine, aid = final
    zh = report.html(_build(engine, aid, "zh"), date(2026, 3, 1))
    assert "成熟度等级 2 级（规范级），连续得分 2.65 / 5" in zh
    assert "百分位 100.0%" in zh and OPINION in zh
    # the market service is registered: the report links to its catalog (the officer may open
    # it) and, for the enterprise itself, to the solutions matched for it
    assert '<a href="/market">浏览解决方案目录</a>' in zh and "/market/find" not in zh
    with Session(engine) as s:
        ent = scope_for(s.scalars(select(User).where(User.username == f"ent_{USCC_A[-1]}")).one())
        own = report.html(report.build(s, ent, aid, "zh"), date(2026, 3, 1))
    assert '<a href="/market/find">为本企业匹配方案</a>' in own
    en = report.html(_build(engine, aid, "en"), date(2026, 3, 1))
    assert "Maturity level 2 (Standardised), continuous score 2.65 / 5" in en
    assert "percentile 100.0%" in en and "规范级" not in en and "不满足" not in en


def test_report_pdf_text(final, tmp_path: Path) -> None:
    engine, aid = final
    assert shutil.which("pdftotext"), "pdftotext missing: make system-deps installs poppler-utils"
    pdf = report.pdf(_build(engine, aid), date(2026, 3, 1))
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = "".join(text.split())
    for words in (
        "市经济和信息化局",
        "智能制造诊断报告",
        "甲机械有限公司",
        "成熟度等级2级（规范级），连续得分2.65/5",
        "最薄弱的能力子域",
        "能源管理",
        "百分位100.0%",
        "下一等级为3级（集成级）",
        "生产环节集成不足",
    ):
        assert words in flat, words


# -- recommended solutions from the market's published batch matching -------------------------
def _market_run(engine: Engine) -> dict[str, int]:
    """Three published solutions of one provider serving the city (330500), and a match run.

    A (level 2, target 3): the 7 production sub-domains score 2.0 (gap 1 each), the rest 3.0.
    With the market's default weights (gap 1, industry 0.5, cases 0.2, rating 0.3, area 0.3):
    计划排程 (planning + operations) = 1×2 + 0.3 = 2.3; 能源监测 (energy) = 1×1 + 0.3 = 1.3;
    数据治理 (data: 3.0, not weak) is not eligible for A."""
    from industry_brain import contract
    from industry_brain.core import uscc
    from industry_brain.domains.market import publish
    from industry_brain.domains.market import service as market
    from industry_brain.store.scope import Scope

    contract.services()
    officer = Scope(user_id=None, username="officer", role="city_officer")
    ids = {}
    with Session(engine) as s:
        p = market.register_provider(
            s,
            officer,
            uscc.make("91330502MA2B0M009"),
            "丙数字工程公司",
            "engineering",
            ["330500"],
            30,
        )
        for key, title, subs in (
            ("plan", "计划排程与生产执行", ["planning", "operations"]),
            ("energy", "能源在线监测", ["energy"]),
            ("data", "数据治理", ["data"]),
        ):
            fields = {
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
            sol = market.create_solution(s, officer, fields, provider_id=p.id)
            market.review(s, officer, sol.id, 1, "approve")
            ids[key] = sol.id
        s.commit()
        ids["run"] = publish.run(s, "tester", date(2026, 3, 1)).id
    return ids


def test_report_lists_recommended_solutions(final, tmp_path: Path) -> None:
    engine, aid = final
    # no match run yet: said plainly, the links to the market stay
    zh = report.html(_build(engine, aid, "zh"), date(2026, 3, 1))
    assert "供需对接平台尚未运行批量匹配，报告暂无推荐方案清单。" in zh
    en = report.html(_build(engine, aid, "en"), date(2026, 3, 1))
    assert "has not run a batch matching yet" in en
    ids = _market_run(engine)
    r = _build(engine, aid)
    rec = r["recommended"]
    assert (rec["status"], rec["run_id"], rec["on"], rec["diagnosis_year"]) == (
        "ok",
        ids["run"],
        "2026-03-01",
        2025,
    )
    assert [(x["rank"], x["title"], x["provider"], x["link"]) for x in rec["items"]] == [
        (1, "计划排程与生产执行", "丙数字工程公司", f"/market/solutions/{ids['plan']}"),
        (2, "能源在线监测", "丙数字工程公司", f"/market/solutions/{ids['energy']}"),
    ]
    assert rec["items"][0]["why"] == (
        "弱项 计划与调度 2 级、生产作业 2 级 → 方案覆盖这些子域（目标 3 级）；同行业案例 0 个；"
        "服务区域覆盖本地；得分 2.3"
    )
    assert rec["items"][1]["why"] == (
        "弱项 能源管理 2 级 → 方案覆盖该子域（目标 3 级）；同行业案例 0 个；"
        "服务区域覆盖本地；得分 1.3"
    )
    zh = report.html(r, date(2026, 3, 1))
    assert f'<a href="/market/solutions/{ids["plan"]}">计划排程与生产执行</a>' in zh
    assert f"供需对接平台最新一次批量匹配（批次 {ids['run']}，2026-03-01）" in zh
    assert "数据治理" not in zh
    en = html_mod.unescape(report.html(_build(engine, aid, "en"), date(2026, 3, 1)))
    assert (
        "weak Planning and scheduling at 2, Production operations at 2 → the solution covers them "
        "(target level 3); 0 case(s) in the same industry; serves the enterprise's area; score 2.3"
    ) in en
    pdf = report.pdf(r, date(2026, 3, 1))
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = "".join(text.split())
    for words in (
        "计划排程与生产执行—丙数字工程公司",
        "弱项计划与调度2级、生产作业2级→方案覆盖这些子域（目标3级）",
        "能源在线监测",
        "得分1.3",
    ):
        assert words in flat, words
    # enterprise B (nothing met, level 0 → target 1, every sub-domain weak): all three, the
    # tie of 能源在线监测 and 数据治理 at 1.3 (same price, unrated) broken by the code
    with Session(engine) as s:
        b = s.scalar(select(Enterprise.id).where(Enterprise.uscc == USCC_B))
        city = scope_for(s.scalars(select(User).where(User.username == "city")).one())
        rec_b = report.recommended(s, b, "zh", city)
        # a firm the run did not rank (registered after it): said so
        c = Enterprise(uscc="91330502MA2B0E0C9X", name="丙公司", county_code="330502")
        s.add(c)
        s.flush()
        rec_c = report.recommended(s, c.id, "zh", city)
    assert (rec_c["status"], rec_c["run_id"], rec_c["items"]) == ("none", ids["run"], [])
    codes = {x["title"]: x["link"] for x in rec_b["items"]}
    assert [x["title"] for x in rec_b["items"]] == [
        "计划排程与生产执行",
        "能源在线监测",
        "数据治理",
    ]
    assert codes["能源在线监测"] < codes["数据治理"]  # created first: the lower code


def test_report_without_the_market_service(final, monkeypatch: pytest.MonkeyPatch) -> None:
    from industry_brain import contract

    engine, aid = final
    others = {k: v for k, v in contract.services().items() if k != "market"}
    monkeypatch.setattr(contract, "services", lambda: others)
    r = _build(engine, aid)
    assert r["recommended"] == {"status": "absent", "items": []} and r["solutions"] is None
    zh = report.html(r, date(2026, 3, 1))
    assert "解决方案目录尚未建立，暂无推荐。" in zh and "批量匹配" not in zh
