"""智能制造诊断 in the main job: a few hundred demo assessments with synthetic answers (a fixed
seed; every row says ``demo``), demo 两化融合贯标 certificates, the maturity run published as
``result_maturity`` and the county digital indicators printed as headline figures.

The answers are drawn from a per-firm "capability" so that levels spread; they are not data
about any real firm. The demo assessments are stored as final with the assessor opinion
"演示数据（合成答案）" — they did not go through a portal or an assessor.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

ORDER = 30  # before the policy run, whose snapshot then holds result_maturity
SEED = 20261203
N_FIRMS = 300
DEMO = "demo"
OPINION = "演示数据（合成答案）"


def _satisfaction(rng: random.Random, capability: float, level: int, levels: int) -> str:
    p = capability * levels - (level - 1) + rng.uniform(-0.35, 0.35)
    if p >= 1.0:
        return "full"
    if p >= 0.6:
        return "largely"
    if p >= 0.25:
        return "partly"
    return "none"


def _answers(q: Any, kind: str, rng: random.Random, c: float) -> dict[str, str]:
    from industry_brain.domains.diagnosis import service

    out: dict[str, str] = {}
    if q.id == "census":
        kp = rng.randint(3, 20)
        out["nc.key_processes"] = str(kp)
        nc = round(kp * min(1.0, max(0.0, c + rng.uniform(-0.2, 0.2))))
        out["nc.cnc_processes" if kind == "discrete" else "nc.pcs_processes"] = str(nc)
        out["design.digital_tools"] = "yes" if rng.random() < 0.45 + 0.45 * c else "no"
        out["chain.collaboration"] = "yes" if rng.random() < 0.05 + 0.3 * c else "no"
        cloud = rng.random() < 0.35 + 0.55 * c
        out["cloud.uses_cloud"] = "yes" if cloud else "no"
        if cloud:
            out["cloud.scope"] = rng.choice(["resources", "management", "business"])
        return out
    for r in service.applicable(q, kind, {}):
        if r.answer == "yes_no":
            s = _satisfaction(rng, c, r.level, q.max_level)
            out[r.code] = "yes" if s in ("full", "largely") else "no"
        else:
            out[r.code] = _satisfaction(rng, c, r.level, q.max_level)
    return out


def seed(engine: Engine, year: int, n: int = N_FIRMS) -> dict[str, int]:
    """Demo assessments for the first ``n`` above-scale enterprises of ``year`` (idempotent):
    a census for each, CMMM for every 2nd, 两化融合 for every 3rd, DCMM for every 10th, and a
    demo 贯标 certificate for the more capable 两化融合 firms."""
    from industry_brain.domains.diagnosis import questionnaire as qn
    from industry_brain.domains.diagnosis import service
    from industry_brain.domains.diagnosis.models import (
        DiagnosisAnswer,
        DiagnosisAssessment,
        DiagnosisCertification,
    )
    from industry_brain.store import replay
    from industry_brain.store.models import Enterprise, EnterpriseScale

    counts = {"assessments": 0, "answers": 0, "certificates": 0}
    with Session(engine) as s:
        if s.scalar(
            select(DiagnosisAssessment.id).where(DiagnosisAssessment.created_by == DEMO).limit(1)
        ):
            return counts
        firms = s.execute(
            select(Enterprise.id, Enterprise.uscc, Enterprise.industry_code)
            .join(EnterpriseScale, EnterpriseScale.enterprise_id == Enterprise.id)
            .where(EnterpriseScale.year == year, EnterpriseScale.above_scale.is_(True))
            .order_by(Enterprise.id)
            .limit(n)
        ).all()
        rng = random.Random(SEED)
        created: list[DiagnosisAssessment] = []
        now = replay.now()  # the demo's day when the main job replays it, else the real clock
        plans = [("census", 1), ("cmmm", 2), ("lianghua", 3), ("dcmm", 10)]
        for i, (eid, uscc, industry) in enumerate(firms):
            c = rng.random()
            kind = service.industry_type_of(industry)
            for qid, every in plans:
                if i % every:
                    continue
                q = qn.get(qid)
                a = DiagnosisAssessment(
                    enterprise_id=eid,
                    questionnaire=q.id,
                    version=q.version,
                    year=year,
                    industry_type=kind,
                    status="final",
                    created_by=DEMO,
                    submitted_by=DEMO,
                    submitted_at=now,
                    reviewed_at=now,  # no assessor reviewed demo answers: reviewed_by stays empty
                    finalised_at=now,
                    opinion=OPINION,
                    result={},
                )
                s.add(a)
                s.flush()
                created.append(a)
                values = _answers(q, kind, rng, c)
                live = {r.code for r in service.applicable(q, kind, values)}
                rows = [
                    {
                        "assessment_id": a.id,
                        "requirement": code,
                        "value": v,
                        "skipped": code not in live,
                        "answered_by": DEMO,
                        "updated_at": now,
                    }
                    for code, v in values.items()
                ]
                s.execute(insert(DiagnosisAnswer), rows)
                counts["assessments"] += 1
                counts["answers"] += len(rows)
                if qid == "lianghua" and c > 0.7:
                    s.add(
                        DiagnosisCertification(
                            enterprise_id=eid,
                            uscc=uscc,
                            kind="lianghua_guanbiao",
                            certificate_no=f"DEMO-GB-{year}-{i:04d}",
                            issuer="演示（demo-only）",
                            issued_on=date(year - 1, 6, 1),
                            expires_on=date(year + 2, 5, 31),
                            source_file="demo",
                            source_row=i + 1,
                            actor=DEMO,
                        )
                    )
                    counts["certificates"] += 1
        # each final assessment keeps its own result (the report shows it), scored in one pass
        s.flush()
        results = service.score_assessments(s, created)
        for a in created:
            a.result = results[a.id]
        s.commit()
    return counts


def run(engine: Engine, out_dir: Path, progress: Callable[[str, int, int], None]) -> dict[str, Any]:
    from industry_brain.domains.diagnosis import indicators, publish
    from industry_brain.store.models import EnterpriseScale

    with Session(engine) as s:
        year = s.scalar(select(EnterpriseScale.year).order_by(EnterpriseScale.year.desc()).limit(1))
    if year is None:
        return {"year": None, "headline": ["智能制造诊断：没有数据 / diagnosis: no data"]}
    progress("diagnosis", 0, 2)
    counts = seed(engine, int(year))
    progress("diagnosis", 1, 2)
    with Session(engine) as s:
        r = publish.run(s, int(year), DEMO)
        summary = dict(r.summary)
        ind = indicators.indicators(s, int(year))
    progress("diagnosis", 2, 2)
    return {
        "year": int(year),
        "seeded": counts,
        "run": summary,
        "indicators": ind["rows"],
        "nation": ind["published"]["nation"]["value"],
        "headline": headline_lines(int(year), summary, ind),
    }


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def headline_lines(year: int, summary: dict[str, Any], ind: dict[str, Any]) -> list[str]:
    nation = ind["published"]["nation"]["value"]
    lines = [
        f"智能制造诊断 {year}：评估 {summary.get('assessments', 0)} 份，企业 "
        f"{summary.get('enterprises', 0)} 家，贯标 {summary.get('guanbiao_certified', 0)} 家"
        f"（演示合成答案）/ diagnosis: {summary.get('assessments', 0)} assessments (demo answers)",
        "  区县 county: 普查企业 firms · 数控化率 NC · 研发设计工具 design · 产业链协同 chain · "
        f"上云 cloud (全国 nation: {_pct(nation.get('nc_rate'))} · "
        f"{_pct(nation.get('design_tools'))} · {_pct(nation.get('chain_collaboration'))})",
    ]
    for r in ind["rows"]:
        name = r["county_name"] or (
            "合计 total" if r["county_code"] == "total" else r["county_code"]
        )
        lines.append(
            f"  {name}: {r['evaluated']} · {_pct(r['nc_rate']['value'])} · "
            f"{_pct(r['design_tools']['value'])} · {_pct(r['chain_collaboration']['value'])} · "
            f"{_pct(r['cloud']['value'])}"
        )
    return lines


def headline(summary: dict[str, Any]) -> list[str]:
    return list(summary["headline"])
