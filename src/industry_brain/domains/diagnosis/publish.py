"""Maturity results published to the warehouse: ``result_maturity``, one row per enterprise and
year of the newest published diagnosis run of each year (CMMM level and score, DCMM level and
composite, 两化融合 stage, whether a 两化融合贯标 certificate is valid in the year, the DCMM
certificate level). Other services (policies, tiers) read it as an Ibis table of a snapshot.

A run scores every final assessment of the year — the newest final one per enterprise and
questionnaire — vectorised on DuckDB or PySpark with the parameters in force, and records the
parameter version. A certificate counts for a year when its validity (issued … expires)
overlaps that year.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.contract import ResultTable, newest_runs, rows_of_runs
from industry_brain.core import parameters as core_params
from industry_brain.domains.diagnosis import service
from industry_brain.domains.diagnosis.models import (
    DiagnosisAssessment,
    DiagnosisCertification,
    DiagnosisResult,
    DiagnosisRun,
)
from industry_brain.store import audit
from industry_brain.store.models import Enterprise

SCHEMA: tuple[tuple[str, str], ...] = (
    ("run_id", "int64"),
    ("parameter_version", "string"),
    ("year", "int64"),
    ("enterprise_id", "int64"),
    ("county_code", "string"),
    ("cmmm_level", "int64"),
    ("cmmm_score", "float64"),
    ("dcmm_level", "int64"),
    ("dcmm_score", "float64"),
    ("lianghua_stage", "int64"),
    ("guanbiao_certified", "bool"),
    ("dcmm_certified_level", "string"),
)
COLUMNS = {"cmmm": ("cmmm_level", "cmmm_score"), "dcmm": ("dcmm_level", "dcmm_score")}


def final_assessments(session: Session, year: int) -> list[DiagnosisAssessment]:
    """The newest final assessment per enterprise and questionnaire of ``year``."""
    newest = (
        select(func.max(DiagnosisAssessment.id))
        .where(DiagnosisAssessment.year == year, DiagnosisAssessment.status == "final")
        .group_by(DiagnosisAssessment.enterprise_id, DiagnosisAssessment.questionnaire)
    )
    return list(
        session.scalars(
            select(DiagnosisAssessment)
            .where(DiagnosisAssessment.id.in_(newest))
            .order_by(DiagnosisAssessment.id)
        )
    )


def certificates(session: Session, year: int) -> dict[int, dict[str, Any]]:
    """Per enterprise: a valid 贯标 certificate in ``year`` and the highest valid DCMM level."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    rows = session.execute(
        select(
            DiagnosisCertification.enterprise_id,
            DiagnosisCertification.kind,
            DiagnosisCertification.level,
        ).where(
            DiagnosisCertification.enterprise_id.is_not(None),
            DiagnosisCertification.issued_on <= end,
            DiagnosisCertification.expires_on >= start,
        )
    ).all()
    out: dict[int, dict[str, Any]] = {}
    for eid, kind, level in rows:
        d = out.setdefault(int(eid), {"guanbiao": False, "dcmm": None})
        if kind == "lianghua_guanbiao":
            d["guanbiao"] = True
        elif kind == "dcmm" and level and (d["dcmm"] is None or str(level) > d["dcmm"]):
            d["dcmm"] = str(level)
    return out


def run(
    session: Session, year: int, actor: str, engine: str = "duckdb", con: Any = None
) -> DiagnosisRun:
    """Score and publish the maturity results of ``year``."""
    assessments = final_assessments(session, year)
    if con is None:
        import ibis

        if engine == "pyspark":
            from industry_brain.warehouse.engines import spark_session

            con = ibis.pyspark.connect(spark_session())
        else:
            con = ibis.duckdb.connect()
    results = service.score_assessments(session, assessments, con)
    certs = certificates(session, year)
    per: dict[int, dict[str, Any]] = {}
    for a in assessments:
        row = per.setdefault(a.enterprise_id, {"assessments": []})
        row["assessments"].append(a.id)
        res = results[a.id]
        if a.questionnaire in COLUMNS:
            lvl, sc = COLUMNS[a.questionnaire]
            row[lvl], row[sc] = res["level"], res["score"]
        elif a.questionnaire == "lianghua":
            row["lianghua_stage"] = res["level"]
    for eid in certs:
        per.setdefault(eid, {"assessments": []})
    counties = dict(
        session.execute(
            select(Enterprise.id, Enterprise.county_code).where(Enterprise.id.in_(list(per)))
        ).all()
    )
    version = core_params.load().version("diagnosis")
    r = DiagnosisRun(
        year=year,
        engine=engine,
        parameter_version=version,
        status="published",
        summary={},
        actor=actor,
    )
    session.add(r)
    session.flush()
    for eid, row in sorted(per.items()):
        c = certs.get(eid, {"guanbiao": False, "dcmm": None})
        session.add(
            DiagnosisResult(
                run_id=r.id,
                enterprise_id=eid,
                year=year,
                county_code=counties.get(eid),
                cmmm_level=row.get("cmmm_level"),
                cmmm_score=row.get("cmmm_score"),
                dcmm_level=row.get("dcmm_level"),
                dcmm_score=row.get("dcmm_score"),
                lianghua_stage=row.get("lianghua_stage"),
                guanbiao_certified=bool(c["guanbiao"]),
                dcmm_certified_level=c["dcmm"],
                assessments=row["assessments"],
            )
        )
    r.summary = {
        "enterprises": len(per),
        "assessments": len(assessments),
        "guanbiao_certified": sum(1 for e in per if certs.get(e, {}).get("guanbiao")),
    }
    audit.record(
        session,
        actor,
        "diagnosis.run",
        "diagnosis_run",
        str(r.id),
        {"year": year, "engine": engine, "parameter_version": version},
    )
    session.commit()
    return r


def runs(session: Session) -> list[dict[str, Any]]:
    """The newest published run of every year."""
    return newest_runs(session, DiagnosisRun, "diagnosis", DiagnosisRun.status == "published")


def read(session: Session) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Rows of the newest published run of every year and those runs."""
    manifest = runs(session)
    cols = [c for c, _ in SCHEMA if c not in ("run_id", "parameter_version")]
    frame = rows_of_runs(session, DiagnosisResult, cols, manifest)
    for c in ("cmmm_level", "dcmm_level", "lianghua_stage"):
        frame[c] = frame[c].astype("Int64")
    frame["guanbiao_certified"] = frame["guanbiao_certified"].astype(bool)
    return frame, manifest


RESULT_TABLE = ResultTable(
    "result_maturity", SCHEMA, ("year", "enterprise_id"), read, runs, fixed_by=runs
)
