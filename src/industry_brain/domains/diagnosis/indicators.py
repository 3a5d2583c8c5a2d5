"""Digital indicators per county and year from the census and the assessments, in Ibis.

Definitions are parameters (``diagnosis.indicators.definitions``): ``share_of_firms`` counts the
evaluated firms whose answer to a requirement is one of some values, ÷ evaluated firms;
``ratio_of_sums`` divides the sum of numerator answers by the sum of the denominator answer over
evaluated firms. Evaluated firms: enterprises whose census of the year is in
``diagnosis.indicators.evaluated_statuses`` (the newest such census per enterprise). The raw
answers stay in the store, so a changed definition recomputes from them. Each indicator is
compared with the nation's and the province's published values (parameters with source).

The 两化融合 stage and DCMM level distributions come from the year's published maturity results.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters as core_params
from industry_brain.domains.diagnosis.models import (
    DiagnosisAnswer,
    DiagnosisAssessment,
    DiagnosisResult,
    DiagnosisRun,
)
from industry_brain.store import scoped
from industry_brain.store.models import Enterprise

ANSWERS_SCHEMA = {
    "enterprise_id": "int64",
    "county_code": "string",
    "requirement": "string",
    "value": "string",
}
TOTAL = "total"


def census_answers(session: Session, year: int, statuses: list[str]) -> pd.DataFrame:
    """The raw census answers of ``year`` (newest evaluated census per enterprise)."""
    newest = (
        select(func.max(DiagnosisAssessment.id))
        .where(
            DiagnosisAssessment.questionnaire == "census",
            DiagnosisAssessment.year == year,
            DiagnosisAssessment.status.in_(statuses),
        )
        .group_by(DiagnosisAssessment.enterprise_id)
    )
    rows = session.execute(
        select(
            DiagnosisAssessment.enterprise_id,
            Enterprise.county_code,
            DiagnosisAnswer.requirement,
            DiagnosisAnswer.value,
        )
        .join(Enterprise, Enterprise.id == DiagnosisAssessment.enterprise_id)
        .join(DiagnosisAnswer, DiagnosisAnswer.assessment_id == DiagnosisAssessment.id)
        .where(DiagnosisAssessment.id.in_(newest), DiagnosisAnswer.skipped.is_(False))
    ).all()
    return pd.DataFrame(rows, columns=list(ANSWERS_SCHEMA))


def compute(con: Any, answers: pd.DataFrame, definitions: dict[str, dict]) -> pd.DataFrame:
    """One row per county (and ``total``): evaluated firms and every indicator's numerator,
    denominator and value."""
    from industry_brain.warehouse.engines import fetch

    t = ibis.memtable(answers[list(ANSWERS_SCHEMA)], schema=ANSWERS_SCHEMA)
    t = t.mutate(county_code=t.county_code.fill_null("unknown"))
    both = t.union(t.mutate(county_code=ibis.literal(TOTAL)))
    firms = both.group_by("county_code").aggregate(evaluated=both.enterprise_id.nunique())
    out = firms
    for name, d in sorted(definitions.items()):
        if d["kind"] == "share_of_firms":
            hit = both.requirement == d["requirement"]
            num = both.enterprise_id.nunique(where=hit & both.value.isin(list(d["values"])))
            agg = both.group_by("county_code").aggregate(**{f"{name}_num": num.cast("float64")})
            agg = agg.join(firms, "county_code").select(
                "county_code",
                f"{name}_num",
                **{f"{name}_den": firms.evaluated.cast("float64")},
            )
        else:
            value = both.value.try_cast("float64")
            num = value.sum(where=both.requirement.isin(list(d["numerator"])))
            den = value.sum(where=both.requirement == d["denominator"])
            agg = both.group_by("county_code").aggregate(
                **{f"{name}_num": num.fill_null(0.0), f"{name}_den": den}
            )
        out = out.left_join(agg, "county_code").drop("county_code_right")
        out = out.mutate(
            **{
                name: ibis.cases(
                    (out[f"{name}_den"] > 0, out[f"{name}_num"] / out[f"{name}_den"]),
                    else_=ibis.null("float64"),
                )
            }
        )
    return fetch(con, out.order_by("county_code"))


def distributions(session: Session, year: int) -> dict[str, dict[str, dict[int, int]]]:
    """Per county (and ``total``): firms by 两化融合 stage and by DCMM level, from the newest
    published run of ``year``."""
    run_id = session.scalar(
        select(DiagnosisRun.id)
        .where(DiagnosisRun.year == year, DiagnosisRun.status == "published")
        .order_by(DiagnosisRun.id.desc())
        .limit(1)
    )
    out: dict[str, dict[str, dict[int, int]]] = {}
    if run_id is None:
        return out
    for column, key in (
        (DiagnosisResult.lianghua_stage, "lianghua_stage"),
        (DiagnosisResult.dcmm_level, "dcmm_level"),
    ):
        rows = session.execute(
            select(DiagnosisResult.county_code, column, func.count())
            .where(DiagnosisResult.run_id == run_id, column.is_not(None))
            .group_by(DiagnosisResult.county_code, column)
        ).all()
        for county, level, n in rows:
            for c in (county or "unknown", TOTAL):
                d = out.setdefault(c, {}).setdefault(key, {})
                d[int(level)] = d.get(int(level), 0) + int(n)
    return out


def indicators(
    session: Session, year: int, county: str | None = None, con: Any = None
) -> dict[str, Any]:
    """The indicators of ``year`` per county with the published comparisons."""
    params = core_params.load()
    on = date(year, 12, 31)
    definitions = params.get("diagnosis.indicators.definitions", on=on)
    statuses = list(params.get("diagnosis.indicators.evaluated_statuses", on=on))
    answers = census_answers(session, year, statuses)
    frame = (
        compute(con or ibis.duckdb.connect(), answers, definitions)
        if len(answers)
        else pd.DataFrame(columns=["county_code", "evaluated"])
    )
    dist = distributions(session, year)
    names = scoped.region_names(session, frame["county_code"]) if len(frame) else {}
    rows = []
    for r in frame.to_dict("records"):
        code = r["county_code"]
        if county and code not in (county, TOTAL):
            continue
        rows.append(
            {
                "county_code": code,
                "county_name": names.get(code),
                "evaluated": int(r["evaluated"]),
                **{
                    name: {
                        "value": None if pd.isna(r[name]) else float(r[name]),
                        "numerator": float(r[f"{name}_num"] or 0.0),
                        "denominator": None
                        if pd.isna(r[f"{name}_den"])
                        else float(r[f"{name}_den"]),
                    }
                    for name in sorted(definitions)
                },
                **dist.get(code, {}),
            }
        )
    published = {
        scope: params.resolve(f"diagnosis.indicators.published.{scope}", on=on).to_dict()
        for scope in ("nation", "province")
    }
    return {
        "year": year,
        "definitions": definitions,
        "evaluated_statuses": statuses,
        "rows": rows,
        "published": published,
        "parameter_version": params.version("diagnosis"),
    }
