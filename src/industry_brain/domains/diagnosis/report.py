"""The diagnosis report (诊断报告) of a final assessment: HTML and PDF (WeasyPrint, CJK font).

Contents: the bureau's header (``diagnosis.report.issuer``), level and score, a radar chart by
domain (inline SVG, so the PDF has it too), the weakest sub-domains with their unmet
requirements, the percentile among peers (final assessments of the same questionnaire version
and year, same GB/T 4754 division and same 规上/规下 status), the path to the next level (the
sub-domains below the pass threshold there and their requirements not fully satisfied), the
assessor's opinion, and the recommended solutions: when the market service (供需对接, its
solutions catalog) is registered on the contract, the enterprise's first ranks of the market's
newest published batch matching, read from its result table ``result_market_matches`` (declared
on the contract; never through the market's modules) — title, provider and why (the weak
sub-domains the solution covers with their scores, peer cases, rating, score), linked to the
solution's page when the reader may open the catalog — and links to the market's pages; without a
match run, or for an enterprise the run did not rank, the report says so; without the market
service, that no solutions catalog exists.

The result shown is the one stored when the assessment became final (frozen with its parameter
version); the answers shown are those in force (the assessor's adjustments replace answers).
"""

from __future__ import annotations

import inspect
import math
from datetime import date
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core import formatting
from industry_brain.core import parameters as core_params
from industry_brain.domains.diagnosis import questionnaire as qn
from industry_brain.domains.diagnosis import score as scoring
from industry_brain.domains.diagnosis import service
from industry_brain.domains.diagnosis.models import DiagnosisAssessment
from industry_brain.store.models import Enterprise, EnterpriseScale, Region
from industry_brain.store.scope import Scope
from industry_brain.store.scoped import display_names
from industry_brain.web.i18n import translate


def _satisfaction(r: qn.Requirement, value: str | None, rules: scoring.Rules) -> float:
    if value is None:
        return rules.missing_answer
    if r.answer == "satisfaction":
        return rules.satisfaction.get(value, rules.missing_answer)
    if r.answer == "yes_no":
        return rules.yes_no.get(value, rules.missing_answer)
    for o in r.options:
        if o["value"] == value:
            return float(o.get("satisfaction", rules.missing_answer))
    return rules.missing_answer


def _answer_label(r: qn.Requirement, value: str | None, lang: str) -> str:
    if not value:
        return "—"
    if r.answer == "choice":
        return next((o["label"][lang] for o in r.options if o["value"] == value), value)
    if r.answer in ("satisfaction", "yes_no"):
        return translate(lang, f"diagnosis.answer.{value}")
    return value


def radar_svg(axes: list[tuple[str, float]], top: float, size: int = 320) -> str:
    """An SVG radar chart of ``(label, value)`` on a 0..``top`` scale (labels escaped)."""
    from markupsafe import escape

    n = len(axes)
    c, r = size / 2, size / 2 - 60
    if n < 3:
        return ""

    def point(i: int, v: float) -> tuple[float, float]:
        ang = -math.pi / 2 + 2 * math.pi * i / n
        return c + r * v / top * math.cos(ang), c + r * v / top * math.sin(ang)

    parts = [f'<svg class="radar" viewBox="0 0 {size} {size}" width="{size}" height="{size}">']
    for ring in range(1, int(top) + 1):
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, ring) for i in range(n)))
        parts.append(f'<polygon points="{pts}" fill="none" stroke="#d1d5db" stroke-width="0.6"/>')
    for i, (label, _) in enumerate(axes):
        x, y = point(i, top)
        lx, ly = point(i, top * 1.18)
        parts.append(f'<line x1="{c}" y1="{c}" x2="{x:.1f}" y2="{y:.1f}" stroke="#d1d5db"/>')
        parts.append(
            f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="9" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, v) for i, (_, v) in enumerate(axes)))
    parts.append(
        f'<polygon points="{pts}" fill="rgba(37,99,235,0.25)" stroke="#2563eb" stroke-width="1.5"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _peers(session: Session, a: DiagnosisAssessment, ent: Enterprise) -> dict[str, Any]:
    division = (ent.industry_code or "")[:2] or None
    above = session.scalar(
        select(EnterpriseScale.above_scale).where(
            EnterpriseScale.enterprise_id == ent.id, EnterpriseScale.year == a.year
        )
    )
    rows = session.execute(
        select(DiagnosisAssessment.id, DiagnosisAssessment.result, Enterprise.industry_code)
        .join(Enterprise, Enterprise.id == DiagnosisAssessment.enterprise_id)
        .outerjoin(
            EnterpriseScale,
            (EnterpriseScale.enterprise_id == Enterprise.id)
            & (EnterpriseScale.year == DiagnosisAssessment.year),
        )
        .where(
            DiagnosisAssessment.questionnaire == a.questionnaire,
            DiagnosisAssessment.version == a.version,
            DiagnosisAssessment.year == a.year,
            DiagnosisAssessment.status == "final",
            DiagnosisAssessment.enterprise_id != ent.id,
            EnterpriseScale.above_scale.is_(above) if above is not None else True,
        )
    ).all()
    scores = [
        float(res["score"])
        for _, res, ind in rows
        if ((ind or "")[:2] or None) == division and res and res.get("score") is not None
    ]
    mine = float(a.result.get("score", 0.0))
    below = sum(1 for x in scores if x < mine)
    return {
        "division": division,
        "above_scale": above,
        "peers": len(scores),
        "below": below,
        "percentile": (below / len(scores)) if scores else None,
    }


def build(session: Session, scope: Scope, assessment_id: int, lang: str = "zh") -> dict[str, Any]:
    """The report's content (scoped: the caller must see the enterprise)."""
    d = service.detail(session, scope, assessment_id)
    a: DiagnosisAssessment = d["assessment"]
    if a.status != "final":
        raise service.DiagnosisError(
            "diagnosis.not_final",
            f"评估 {a.id} 尚未定稿，没有诊断报告",
            f"assessment {a.id} is not final: no report yet",
        )
    q: qn.Questionnaire = d["questionnaire"]
    ent: Enterprise = d["enterprise"]
    params = core_params.load()
    rules = scoring.Rules.load(params=params)
    values = service.effective_values(session, a.id)
    res = a.result
    threshold = rules.pass_threshold
    subnames = {s["code"]: s["name"][lang] for _, s in q.subdomains()}
    domnames = {dm["code"]: dm["name"][lang] for dm in q.domains}
    subs = res.get("subdomains", {})
    sub_levels = {
        k: {int(lv): sc for lv, sc in v.items()} for k, v in res.get("subdomain_levels", {}).items()
    }
    live = {r.code for r in service.applicable(q, a.industry_type, values)}

    def unmet(sub: str, level: int) -> list[dict[str, Any]]:
        out = []
        for r in q.requirements.values():
            if r.subdomain != sub or r.level != level or r.code not in live:
                continue
            s = _satisfaction(r, values.get(r.code), rules)
            if s < 1.0:
                v = values.get(r.code)
                out.append(
                    {
                        "code": r.code,
                        "text": r.text[lang],
                        "answer": _answer_label(r, v, lang),
                        "satisfaction": s,
                    }
                )
        return out

    n_weak = int(params.get("diagnosis.report.weakest", on=date(a.year, 12, 31)))
    weakest = sorted(subs.items(), key=lambda kv: (kv[1]["score"], kv[0]))[:n_weak]
    weak_rows = [
        {
            "code": code,
            "name": subnames.get(code, code),
            "level": v["level"],
            "score": v["score"],
            "unmet": unmet(code, min(v["level"] + 1, q.max_level)),
        }
        for code, v in weakest
    ]
    level = int(res.get("level", 0))
    path = None
    if q.scoring in ("levels", "checklist") and level < q.max_level:
        nxt = level + 1
        gaps = [
            {
                "code": code,
                "name": subnames.get(code, code),
                "score": lv.get(nxt, 0.0),
                "unmet": unmet(code, nxt),
            }
            for code, lv in sorted(sub_levels.items())
            if lv.get(nxt, 0.0) < threshold - scoring.TOLERANCE
        ]
        path = {
            "level": nxt,
            "name": q.level_name(nxt, lang),
            "score": float(res.get("levels", {}).get(str(nxt), res.get("levels", {}).get(nxt, 0))),
            "threshold": threshold,
            "subdomains": gaps,
        }
    scored = res.get("domains", {})
    domains = [
        (domnames[d["code"]], float(scored[d["code"]])) for d in q.domains if d["code"] in scored
    ]
    county = session.get(Region, ent.county_code) if ent.county_code else None
    return {
        "lang": lang,
        "issuer": params.get("diagnosis.report.issuer", on=date(a.year, 12, 31))[lang],
        "assessment": a,
        "enterprise": {
            "uscc": ent.uscc,
            "name": ent.name,
            "county": county.name if county else None,
        },
        "questionnaire": {
            "id": q.id,
            "version": q.version,
            "title": q.title[lang],
            "standard": q.standard[lang],
            "scoring": q.scoring,
            "max_level": q.max_level,
            "note": (q.note or {}).get(lang),
        },
        "level": level,
        "level_name": q.level_name(level, lang) if level else None,
        "score": float(res.get("score", 0.0)),
        "composite": res.get("composite"),
        "domains": domains,
        "radar": radar_svg(domains, float(q.max_level)),
        "weakest": weak_rows,
        "peers": _peers(session, a, ent),
        "path": path,
        "opinion": a.opinion,
        "reviewed_by": (
            display_names(session, [a.reviewed_by]).get(a.reviewed_by, a.reviewed_by)
            if a.reviewed_by
            else None
        ),
        "parameter_version": res.get("parameter_version"),
        "solutions": _market(scope),
        "recommended": recommended(session, ent.id, lang, scope),
    }


MATCHES = "result_market_matches"


def _matches_table() -> Any:
    from industry_brain import contract

    for svc in contract.services().values():
        for table in svc.result_tables:
            if table.name == MATCHES:
                return table
    return None


def _missing(x: Any) -> bool:
    return x is None or bool(pd.isna(x))


def _trim(x: float) -> str:
    """A figure with up to 2 decimals, trailing zeros dropped (1.5, 4.6, 2.38)."""
    text = formatting.number(x, 2)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _why(row: dict[str, Any], names: dict[str, str], lang: str) -> str:
    """The reason of one recommended solution, from the parts the market publishes."""
    zh = lang == "zh"
    parts: list[str] = []
    weak = [w.split(":", 1) for w in str(row.get("weak") or "").split(";") if ":" in w]
    target = row.get("target_level")
    if weak:
        subs = [(names.get(code, code), float(score)) for code, score in weak]
        joined = ("、" if zh else ", ").join(
            translate(lang, "diagnosis.report.rec_weak_item", name=n, score=_trim(v))
            for n, v in subs
        )
        parts.append(
            translate(
                lang,
                "diagnosis.report.rec_weak_one" if len(subs) == 1 else "diagnosis.report.rec_weak",
                subs=joined,
                target="—" if _missing(target) else int(target),
            )
        )
    elif _missing(row.get("diagnosis_year")):
        parts.append(translate(lang, "diagnosis.report.rec_undiagnosed"))
    if row.get("industry_fit"):
        parts.append(translate(lang, "diagnosis.report.rec_industry"))
    parts.append(translate(lang, "diagnosis.report.rec_cases", n=int(row.get("cases") or 0)))
    ratings = int(row.get("ratings") or 0)
    if ratings:
        parts.append(
            translate(
                lang,
                "diagnosis.report.rec_rating",
                rating=_trim(float(row["rating"])),
                n=ratings,
            )
        )
    if row.get("area"):
        parts.append(translate(lang, "diagnosis.report.rec_area"))
    parts.append(translate(lang, "diagnosis.report.rec_score", score=_trim(float(row["score"]))))
    return ("；" if zh else "; ").join(parts)


def recommended(session: Session, enterprise_id: int, lang: str, scope: Scope) -> dict[str, Any]:
    """The enterprise's recommended solutions from the market's newest published match run:
    ``status`` is ``absent`` (no market service), ``no_run`` (no published run), ``none`` (the
    run ranked nothing for the enterprise) or ``ok`` with ``items`` (rank, title, provider, why,
    link), the run id, its day and the diagnosis year it used."""
    table = _matches_table()
    if table is None:
        return {"status": "absent", "items": []}
    # one firm's rows when the table's read takes a filter (the market's does), else all
    if "enterprise_ids" in inspect.signature(table.read).parameters:
        frame, runs = table.read(session, enterprise_ids=[enterprise_id])
    else:
        frame, runs = table.read(session)
    if not runs:
        return {"status": "no_run", "items": []}
    year = max(int(r["year"]) for r in runs)
    run = next(r for r in runs if int(r["year"]) == year)
    rows = frame[(frame["year"] == year) & (frame["enterprise_id"] == enterprise_id)]
    on = str(rows["on_date"].iloc[0]) if len(rows) else None
    base = {"run_id": int(run["run_id"]), "on": on}
    if rows.empty:
        return {**base, "status": "none", "items": []}
    cmmm = qn.get("cmmm")
    names = {sub["code"]: sub["name"][lang] for _, sub in cmmm.subdomains()}
    svc = _market(scope) or {}
    link = bool(svc.get("catalog"))
    items = []
    for row in rows.sort_values("rank").to_dict("records"):
        items.append(
            {
                "rank": int(row["rank"]),
                "title": row["title"],
                "provider": row["provider"],
                "why": _why(row, names, lang),
                "link": f"/market/solutions/{int(row['solution_id'])}" if link else None,
            }
        )
    dyear = rows["diagnosis_year"].dropna()
    return {
        **base,
        "status": "ok",
        "items": items,
        "diagnosis_year": int(dyear.iloc[0]) if len(dyear) else None,
    }


def _market(scope: Scope) -> dict[str, str] | None:
    """The market service's pages the caller may open (its catalog; the enterprise's own
    matching), when that service is registered on the contract; None without it."""
    from industry_brain import contract

    svc = contract.services().get("market")
    if svc is None or svc.web_router is None:
        return None
    out: dict[str, str] = {}
    nav = next((e for e in svc.navigation if e.path == "/market"), None)
    if nav is not None and scope.can(nav.permission):
        out["catalog"] = nav.path
    if "market.request" in svc.permissions and scope.can("market.request"):
        out["find"] = "/market/find"
    return out


def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(qn.HERE / "web_templates")),
        autoescape=select_autoescape(["html"]),
    )


def html(data: dict[str, Any], today: date, standalone: bool = True) -> str:
    """The report as HTML (a whole page when ``standalone``, else the body fragment)."""
    return (
        _env()
        .get_template("diagnosis_report.html")
        .render(
            r=data,
            zh=data["lang"] == "zh",
            today=today.isoformat(),
            standalone=standalone,
            t=lambda key, **kw: translate(data["lang"], key, **kw),
            num=lambda x: formatting.number(x, 2),
            pct=formatting.percent,
        )
    )


def pdf(data: dict[str, Any], today: date) -> bytes:
    from weasyprint import HTML

    return HTML(string=html(data, today)).write_pdf()
