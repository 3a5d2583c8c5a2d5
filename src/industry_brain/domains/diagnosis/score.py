"""Scoring per GB/T 39117, vectorised over all assessments in Ibis (DuckDB and PySpark alike).

Rules (parameters ``diagnosis.scoring.*`` and ``diagnosis.dcmm.*``; their quality tags say which
parts are the standard and which are our defaults):

1. Each applicable requirement scores its answer's satisfaction (satisfaction scale
   1 / 0.8 / 0.5 / 0, yes = 1 / no = 0, a choice its option's satisfaction); an unanswered
   applicable requirement scores ``missing_answer``. A requirement applies when the enterprise's
   industry type (discrete / process) is in its applicability and it was not skipped by skip
   logic; a sub-domain with no applicable requirement is left out everywhere.
2. A sub-domain's score at a level = weighted mean of its requirements at that level.
3. The assessment's score at a level = weighted mean (sub-domain weights) of the sub-domain
   scores at that level.
4. A level is met when its score ≥ ``pass_threshold`` (compared with a 1e-9 tolerance so that
   a score that is 0.8 in exact arithmetic is met) and every lower level is met; the level
   reached is the highest such level (0 when level 1 is not met).
5. Continuous score = level reached n + score at level n+1 (n alone at the top level), in
   [0, number of levels]. Sub-domains get a level and continuous score by the same rule on their
   own level scores; a domain's score is the weighted mean of its sub-domains' continuous scores.
6. DCMM: an area (domain) = mean of its items' (sub-domains') continuous scores, composite = mean
   of the areas, level = floor(composite). Checklists (one level): the score is the level-1
   score (weighted share satisfied). Surveys are not scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from industry_brain.core import env
from industry_brain.core import parameters as core_params
from industry_brain.domains.diagnosis.questionnaire import Questionnaire

TOLERANCE = 1e-9
CATALOG_SCHEMA = {
    "questionnaire": "string",
    "version": "string",
    "domain": "string",
    "subdomain": "string",
    "subdomain_weight": "float64",
    "level": "int64",
    "requirement": "string",
    "weight": "float64",
    "answer_type": "string",
    "discrete": "boolean",
    "process": "boolean",
}
ASSESSMENT_SCHEMA = {
    "assessment_id": "int64",
    "questionnaire": "string",
    "version": "string",
    "industry_type": "string",
    "scoring": "string",
}
ANSWER_SCHEMA = {
    "assessment_id": "int64",
    "requirement": "string",
    "value": "string",
    "skipped": "boolean",
}
SCORE_MAP_SCHEMA = {"requirement": "string", "value": "string", "satisfaction": "float64"}


@dataclass(frozen=True)
class Rules:
    satisfaction: dict[str, float]
    yes_no: dict[str, float]
    pass_threshold: float
    missing_answer: float

    @classmethod
    def load(cls, on: date | None = None, params: core_params.Parameters | None = None) -> Rules:
        p = params or core_params.load()
        on = on or env.today()
        return cls(
            satisfaction={
                k: float(v) for k, v in p.get("diagnosis.scoring.satisfaction", on=on).items()
            },
            yes_no={k: float(v) for k, v in p.get("diagnosis.scoring.yes_no", on=on).items()},
            pass_threshold=float(p.get("diagnosis.scoring.pass_threshold", on=on)),
            missing_answer=float(p.get("diagnosis.scoring.missing_answer", on=on)),
        )


@dataclass
class Scores:
    """Decoded results: one row per assessment (``overall``), per (assessment, level),
    per (assessment, sub-domain) and per (assessment, domain)."""

    overall: pd.DataFrame
    levels: pd.DataFrame
    subdomains: pd.DataFrame
    subdomain_levels: pd.DataFrame
    domains: pd.DataFrame


def score_map(questionnaires: list[Questionnaire], rules: Rules) -> pd.DataFrame:
    """(requirement, answer value) → satisfaction, for every scored requirement."""
    rows = []
    for q in questionnaires:
        for r in q.requirements.values():
            if r.answer == "satisfaction":
                pairs = rules.satisfaction.items()
            elif r.answer == "yes_no":
                pairs = rules.yes_no.items()
            elif r.answer == "choice":
                pairs = [(o["value"], o.get("satisfaction")) for o in r.options]
            else:
                continue
            rows += [
                {"requirement": f"{q.key}:{r.code}", "value": v, "satisfaction": float(s)}
                for v, s in pairs
                if s is not None
            ]
    return pd.DataFrame(rows, columns=list(SCORE_MAP_SCHEMA))


def catalog(questionnaires: list[Questionnaire]) -> pd.DataFrame:
    frames = []
    for q in questionnaires:
        c = q.catalog()
        c = c[c["answer_type"] != "number"]
        c = c.assign(requirement=q.key + ":" + c["requirement"])
        frames.append(c)
    return pd.concat(frames, ignore_index=True)[list(CATALOG_SCHEMA)]


def tables(
    questionnaires: list[Questionnaire],
    assessments: pd.DataFrame,
    answers: pd.DataFrame,
    rules: Rules,
) -> dict[str, ir.Table]:
    """Ibis in-memory tables of the inputs. ``answers.requirement`` is the requirement's code
    within its questionnaire; it is qualified here with the assessment's questionnaire key."""
    kinds = {q.key: q.scoring for q in questionnaires}
    assessments = assessments.assign(
        scoring=(assessments["questionnaire"] + "@" + assessments["version"]).map(kinds)
    )
    keys = assessments.set_index("assessment_id")
    qual = answers.assign(
        requirement=answers["assessment_id"].map(keys["questionnaire"] + "@" + keys["version"])
        + ":"
        + answers["requirement"]
    )
    return {
        "catalog": ibis.memtable(catalog(questionnaires), schema=CATALOG_SCHEMA),
        "assessments": ibis.memtable(
            assessments[list(ASSESSMENT_SCHEMA)], schema=ASSESSMENT_SCHEMA
        ),
        "answers": ibis.memtable(qual[list(ANSWER_SCHEMA)], schema=ANSWER_SCHEMA),
        "score_map": ibis.memtable(score_map(questionnaires, rules), schema=SCORE_MAP_SCHEMA),
    }


def _reached(level_scores: ir.Table, keys: list[str], threshold: float) -> ir.Table:
    """Per ``keys``: the level reached (all levels up to it met) and the continuous score.
    ``level_scores`` has ``keys + [level, score]``."""
    met = level_scores.mutate(met=level_scores.score >= threshold - TOLERANCE)
    agg = met.group_by(keys).aggregate(
        first_unmet=met.level.min(where=~met.met), top_level=met.level.max()
    )
    agg = agg.mutate(reached=ibis.coalesce(agg.first_unmet - 1, agg.top_level))
    j = met.join(agg, keys)
    out = j.group_by(keys).aggregate(
        level=j.reached.max(), next_score=j.score.max(where=j.level == j.reached + 1)
    )
    return out.select(
        *keys,
        level=out.level,
        score=out.level.cast("float64") + ibis.coalesce(out.next_score, 0.0),
    )


def expressions(t: dict[str, ir.Table], threshold: float, missing: float) -> dict[str, ir.Table]:
    """The scoring as Ibis expressions over the tables of :func:`tables`."""
    a, c, ans, smap = t["assessments"], t["catalog"], t["answers"], t["score_map"]
    req = a.join(c, [a.questionnaire == c.questionnaire, a.version == c.version])
    req = req.filter(
        ((req.industry_type == "discrete") & req.discrete)
        | ((req.industry_type == "process") & req.process)
    )
    req = req.left_join(
        ans, [req.assessment_id == ans.assessment_id, req.requirement == ans.requirement]
    ).select(
        req.assessment_id,
        req.domain,
        req.subdomain,
        req.subdomain_weight,
        req.level,
        req.requirement,
        req.weight,
        value=ans.value,
        skipped=ibis.coalesce(ans.skipped, False),
    )
    req = req.filter(~req.skipped)
    req = req.left_join(
        smap, [req.requirement == smap.requirement, req.value == smap.value]
    ).select(
        req.assessment_id,
        req.domain,
        req.subdomain,
        req.subdomain_weight,
        req.level,
        req.weight,
        s=ibis.coalesce(smap.satisfaction, missing),
    )
    sub_level = req.group_by(
        ["assessment_id", "domain", "subdomain", "subdomain_weight", "level"]
    ).aggregate(score=(req.weight * req.s).sum() / req.weight.sum())
    level = sub_level.group_by(["assessment_id", "level"]).aggregate(
        score=(sub_level.subdomain_weight * sub_level.score).sum()
        / sub_level.subdomain_weight.sum()
    )
    overall = _reached(level, ["assessment_id"], threshold)
    sub_keys = ["assessment_id", "domain", "subdomain", "subdomain_weight"]
    sub = _reached(sub_level.select(*sub_keys, "level", "score"), sub_keys, threshold)
    dom = sub.group_by(["assessment_id", "domain"]).aggregate(
        score=(sub.subdomain_weight * sub.score).sum() / sub.subdomain_weight.sum(),
        mean_score=sub.score.mean(),
        subdomains=sub.count(),
    )
    areas = dom.group_by("assessment_id").aggregate(
        composite=dom.mean_score.mean(), domains=dom.count()
    )
    overall = overall.left_join(areas, "assessment_id")
    overall = overall.join(a, overall.assessment_id == a.assessment_id).select(
        overall.assessment_id,
        a.questionnaire,
        a.version,
        a.scoring,
        level=ibis.cases(
            (a.scoring == "dcmm", overall.composite.floor().cast("int64")),
            else_=overall.level.cast("int64"),
        ),
        score=ibis.cases((a.scoring == "dcmm", overall.composite), else_=overall.score),
        composite=overall.composite,
        domains=overall.domains,
    )
    overall = overall.filter(overall.scoring != "survey")
    level = level.mutate(met=level.score >= threshold - TOLERANCE)
    return {
        "overall": overall.order_by("assessment_id"),
        "levels": level.order_by(["assessment_id", "level"]),
        "subdomains": sub.order_by(["assessment_id", "domain", "subdomain"]),
        "subdomain_levels": sub_level.order_by(["assessment_id", "subdomain", "level"]),
        "domains": dom.order_by(["assessment_id", "domain"]),
    }


def score(
    con: Any,
    questionnaires: list[Questionnaire],
    assessments: pd.DataFrame,
    answers: pd.DataFrame,
    rules: Rules | None = None,
) -> Scores:
    """Score every assessment of ``assessments`` (columns of ``ASSESSMENT_SCHEMA``) with its
    ``answers`` (``ANSWER_SCHEMA``; raw answer values as text) on the Ibis backend ``con``."""
    from industry_brain.warehouse.engines import fetch

    rules = rules or Rules.load()
    t = tables(questionnaires, assessments, answers, rules)
    exprs = expressions(t, rules.pass_threshold, rules.missing_answer)
    out = {name: fetch(con, e) for name, e in exprs.items()}
    return Scores(
        overall=out["overall"],
        levels=out["levels"],
        subdomains=out["subdomains"],
        subdomain_levels=out["subdomain_levels"],
        domains=out["domains"],
    )
