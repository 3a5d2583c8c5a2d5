"""The assessment flow: fill in (save and resume, progress, required answers, skip logic) →
submit (frozen) → assessor review of each answer (accept / adjust with a comment / request
evidence) → final result. Every change is audited; every read goes through the caller's scope.

Who may do what (permissions of :mod:`.plugin`):

- ``diagnosis.fill``: the enterprise, on its own enterprise only (``scope.enterprise_clause()``);
- ``diagnosis.assess``: an assessor, on the enterprises assigned to it;
- ``diagnosis.assign``: officers assign enterprises to assessors;
- ``diagnosis.view``: officers read assessments and results in their scope.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters as core_params
from industry_brain.core.errors import IBError, Location, NotFoundError, ValidationError
from industry_brain.domains.diagnosis import questionnaire as qn
from industry_brain.domains.diagnosis import score as scoring
from industry_brain.domains.diagnosis.models import (
    DiagnosisAnswer,
    DiagnosisAssessment,
    DiagnosisAssignment,
    DiagnosisEvidence,
    DiagnosisReview,
)
from industry_brain.store import audit
from industry_brain.store.db import data_dir
from industry_brain.store.models import Enterprise, User
from industry_brain.store.scope import Scope
from industry_brain.store.scoped import visible_enterprise

STATUSES = ("draft", "submitted", "reviewed", "final")
REVIEW_ACTIONS = ("accept", "adjust", "request_evidence")
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024


class DiagnosisError(IBError):
    """A step of the assessment flow that is not allowed now."""


def _err(code: str, zh: str, en: str, field: str | None = None, value: Any = None) -> Exception:
    return DiagnosisError(f"diagnosis.{code}", zh, en, Location(field=field), value)


# -- questionnaire logic ------------------------------------------------------------------------
def industry_type_of(industry_code: str | None, on: date | None = None) -> str:
    """``process`` when the enterprise's GB/T 4754 division is in
    ``diagnosis.industry_type.process_divisions`` (a default the enterprise may change when it
    starts an assessment), else ``discrete``."""
    divisions = core_params.load().get("diagnosis.industry_type.process_divisions", on=on)
    return "process" if (industry_code or "")[:2] in set(divisions) else "discrete"


def applicable(q: qn.Questionnaire, industry_type: str, values: dict[str, str | None]) -> list:
    """The requirements that apply: by industry type and skip logic (``when``), in order."""
    out = []
    for r in q.requirements.values():
        if not r.applies_to(industry_type):
            continue
        if r.when is not None and _decode(q, r.when["requirement"], values) not in r.when["in"]:
            continue
        out.append(r)
    return out


def _decode(q: qn.Questionnaire, code: str, values: dict[str, str | None]) -> Any:
    v = values.get(code)
    if v is not None and q.requirements[code].answer == "yes_no":
        return v == "yes"
    return v


def check_value(r: qn.Requirement, value: str) -> str:
    """The stored text of an answer, or a validation error naming the requirement."""
    value = str(value).strip()
    ok: bool
    if r.answer == "satisfaction":
        ok = value in ("full", "largely", "partly", "none")
    elif r.answer == "yes_no":
        ok = value in ("yes", "no")
    elif r.answer == "choice":
        ok = value in {o["value"] for o in r.options}
    else:
        ok = bool(re.fullmatch(r"\d+(\.\d+)?", value))
    if not ok:
        raise ValidationError(
            "diagnosis.answer_value",
            f"要求 {r.code} 的答案“{value}”无效",
            f"'{value}' is not a valid answer to requirement {r.code}",
            Location(field=r.code),
            value,
        )
    return value


def progress(q: qn.Questionnaire, a: DiagnosisAssessment, values: dict[str, str | None]) -> dict:
    """Answered / applicable requirements, the required ones still missing and the evidence
    still missing."""
    reqs = applicable(q, a.industry_type, values)
    answered = [r for r in reqs if values.get(r.code) not in (None, "")]
    missing = [r.code for r in reqs if r.required and values.get(r.code) in (None, "")]
    return {
        "applicable": len(reqs),
        "answered": len(answered),
        "percent": round(100 * len(answered) / len(reqs)) if reqs else 100,
        "missing_required": missing,
    }


# -- reading ------------------------------------------------------------------------------------
def _visible(session: Session, scope: Scope, assessment_id: int) -> DiagnosisAssessment:
    a = session.scalars(
        select(DiagnosisAssessment)
        .join(Enterprise, Enterprise.id == DiagnosisAssessment.enterprise_id)
        .where(DiagnosisAssessment.id == assessment_id, scope.enterprise_clause())
    ).first()
    if a is None:
        raise NotFoundError(
            "diagnosis.not_found",
            f"没有可查看的评估 {assessment_id}",
            f"no assessment {assessment_id} you may see",
            Location(field="assessment_id"),
            assessment_id,
        )
    return a


def answers_of(session: Session, assessment_id: int) -> dict[str, DiagnosisAnswer]:
    rows = session.scalars(
        select(DiagnosisAnswer).where(DiagnosisAnswer.assessment_id == assessment_id)
    )
    return {r.requirement: r for r in rows}


def latest_reviews(session: Session, assessment_id: int) -> dict[str, DiagnosisReview]:
    rows = session.scalars(
        select(DiagnosisReview)
        .where(DiagnosisReview.assessment_id == assessment_id)
        .order_by(DiagnosisReview.id)
    )
    return {r.requirement: r for r in rows}  # the newest wins


def effective_values(session: Session, assessment_id: int) -> dict[str, str | None]:
    """The answers in force: the enterprise's, replaced by the assessor's adjustment."""
    values = {k: v.value for k, v in answers_of(session, assessment_id).items()}
    for code, rv in latest_reviews(session, assessment_id).items():
        if rv.action == "adjust":
            values[code] = rv.adjusted_value
    return values


def detail(session: Session, scope: Scope, assessment_id: int) -> dict[str, Any]:
    """An assessment with its questionnaire, answers, reviews, evidence and progress."""
    a = _visible(session, scope, assessment_id)
    q = qn.get(a.questionnaire, a.version)
    answers = answers_of(session, a.id)
    values = {k: v.value for k, v in answers.items()}
    evidence: dict[str, list[dict[str, Any]]] = {}
    for e in session.scalars(
        select(DiagnosisEvidence).where(DiagnosisEvidence.assessment_id == a.id)
    ):
        evidence.setdefault(e.requirement, []).append(
            {"id": e.id, "filename": e.filename, "size": e.size, "sha256": e.sha256}
        )
    ent = session.get(Enterprise, a.enterprise_id)
    return {
        "assessment": a,
        "enterprise": ent,
        "questionnaire": q,
        "answers": answers,
        "values": values,
        "reviews": latest_reviews(session, a.id),
        "evidence": evidence,
        "progress": progress(q, a, values),
        "applicable": {r.code for r in applicable(q, a.industry_type, values)},
    }


def list_for(session: Session, scope: Scope, uscc: str | None = None) -> list[dict[str, Any]]:
    """Assessments the caller may see (of one enterprise when ``uscc`` is given), newest first."""
    stmt = (
        select(DiagnosisAssessment, Enterprise.uscc, Enterprise.name)
        .join(Enterprise, Enterprise.id == DiagnosisAssessment.enterprise_id)
        .where(scope.enterprise_clause())
        .order_by(DiagnosisAssessment.id.desc())
    )
    if uscc:
        stmt = stmt.where(Enterprise.uscc == uscc.strip().upper())
    return [{"assessment": a, "uscc": u, "name": n} for a, u, n in session.execute(stmt).all()]


# -- the enterprise -----------------------------------------------------------------------------
def start(
    session: Session,
    scope: Scope,
    uscc: str,
    questionnaire_id: str,
    year: int,
    industry_type: str | None = None,
) -> DiagnosisAssessment:
    """A new draft on the latest version of the questionnaire (id and version frozen), or the
    open draft of the same enterprise, questionnaire and year (resume)."""
    scope.require("diagnosis.fill")
    ent = visible_enterprise(session, scope, uscc)
    q = qn.get(questionnaire_id)
    open_draft = session.scalars(
        select(DiagnosisAssessment).where(
            DiagnosisAssessment.enterprise_id == ent.id,
            DiagnosisAssessment.questionnaire == q.id,
            DiagnosisAssessment.year == year,
            DiagnosisAssessment.status == "draft",
        )
    ).first()
    if open_draft is not None:
        return open_draft
    kind = industry_type or industry_type_of(ent.industry_code)
    if kind not in qn.INDUSTRY_TYPES:
        raise _err(
            "industry_type",
            f"行业类型“{kind}”无效（离散型 discrete / 流程型 process）",
            f"industry type '{kind}' is invalid (discrete or process)",
            "industry_type",
            kind,
        )
    a = DiagnosisAssessment(
        enterprise_id=ent.id,
        questionnaire=q.id,
        version=q.version,
        year=year,
        industry_type=kind,
        status="draft",
        created_by=scope.username,
        result={},
    )
    session.add(a)
    session.flush()
    audit.record(
        session,
        scope.username,
        "diagnosis.start",
        "diagnosis_assessment",
        str(a.id),
        {"uscc": ent.uscc, "questionnaire": q.key, "year": year},
        user_id=scope.user_id,
    )
    session.commit()
    return a


def _own_draft(session: Session, scope: Scope, assessment_id: int) -> DiagnosisAssessment:
    scope.require("diagnosis.fill")
    a = _visible(session, scope, assessment_id)
    if a.status != "draft":
        raise _err(
            "frozen",
            f"评估 {a.id} 已提交，答案不能再修改",
            f"assessment {a.id} has been submitted; its answers are frozen",
            "status",
            a.status,
        )
    return a


def save_answers(
    session: Session, scope: Scope, assessment_id: int, answers: dict[str, str | None]
) -> dict[str, Any]:
    """Save (some) answers of a draft; an empty value clears an answer. Requirements that skip
    logic or the industry type rule out are marked skipped. Returns the progress."""
    a = _own_draft(session, scope, assessment_id)
    q = qn.get(a.questionnaire, a.version)
    stored = answers_of(session, a.id)
    changed: dict[str, str | None] = {}
    for code, raw in answers.items():
        r = q.requirements.get(code)
        if r is None:
            raise ValidationError(
                "diagnosis.unknown_requirement",
                f"问卷 {q.key} 没有要求 {code}",
                f"questionnaire {q.key} has no requirement {code}",
                Location(field=code),
            )
        value = None if raw is None or str(raw).strip() == "" else check_value(r, str(raw))
        row = stored.get(code)
        if row is None:
            row = DiagnosisAnswer(assessment_id=a.id, requirement=code, answered_by=scope.username)
            session.add(row)
            stored[code] = row
        if row.value != value:
            changed[code] = value
        row.value, row.answered_by = value, scope.username
        row.updated_at = datetime.now(UTC)
    values = {k: v.value for k, v in stored.items()}
    live = {r.code for r in applicable(q, a.industry_type, values)}
    for code, row in stored.items():
        row.skipped = code not in live
    if changed:
        audit.record(
            session,
            scope.username,
            "diagnosis.answer",
            "diagnosis_assessment",
            str(a.id),
            {"answers": changed},
            user_id=scope.user_id,
        )
    session.commit()
    return progress(q, a, values)


def add_evidence(
    session: Session,
    scope: Scope,
    assessment_id: int,
    requirement: str,
    filename: str,
    content: bytes,
    content_type: str | None = None,
) -> DiagnosisEvidence:
    """Store an evidence file for a requirement: while the draft is open, or after submission
    when the assessor requested evidence for that requirement."""
    scope.require("diagnosis.fill")
    a = _visible(session, scope, assessment_id)
    q = qn.get(a.questionnaire, a.version)
    if requirement not in q.requirements:
        raise ValidationError(
            "diagnosis.unknown_requirement",
            f"问卷 {q.key} 没有要求 {requirement}",
            f"questionnaire {q.key} has no requirement {requirement}",
            Location(field=requirement),
        )
    requested = latest_reviews(session, a.id).get(requirement)
    if a.status != "draft" and not (
        a.status == "submitted" and requested and requested.action == "request_evidence"
    ):
        raise _err(
            "frozen",
            f"评估 {a.id} 已提交；只有评估师要求补充材料的条目可以上传",
            f"assessment {a.id} is submitted; evidence only where the assessor requested it",
            "status",
            a.status,
        )
    if not content or len(content) > MAX_EVIDENCE_BYTES:
        raise ValidationError(
            "diagnosis.evidence_size",
            "证明材料为空或超过 10 MB",
            "the evidence file is empty or larger than 10 MB",
            Location(field="file"),
        )
    digest = hashlib.sha256(content).hexdigest()
    safe = re.sub(r"[^\w.\-]+", "_", Path(filename).name)[:120] or "evidence"
    folder = data_dir() / "diagnosis_evidence" / str(a.id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest[:16]}_{safe}"
    path.write_bytes(content)
    ev = DiagnosisEvidence(
        assessment_id=a.id,
        requirement=requirement,
        filename=safe,
        content_type=content_type,
        size=len(content),
        sha256=digest,
        path=str(path),
        uploaded_by=scope.username,
    )
    session.add(ev)
    audit.record(
        session,
        scope.username,
        "diagnosis.evidence",
        "diagnosis_assessment",
        str(a.id),
        {"requirement": requirement, "filename": safe, "sha256": digest},
        user_id=scope.user_id,
    )
    session.commit()
    return ev


def submit(session: Session, scope: Scope, assessment_id: int) -> DiagnosisAssessment:
    """Submit a complete draft: every applicable required requirement answered and every
    evidence-required one with a file; the answers are then frozen."""
    a = _own_draft(session, scope, assessment_id)
    q = qn.get(a.questionnaire, a.version)
    values = {k: v.value for k, v in answers_of(session, a.id).items()}
    missing = progress(q, a, values)["missing_required"]
    if missing:
        raise _err(
            "incomplete",
            f"还有 {len(missing)} 个必答项未作答：{', '.join(missing[:5])}",
            f"{len(missing)} required answers are missing: {', '.join(missing[:5])}",
            "answers",
            missing,
        )
    with_files = set(
        session.scalars(
            select(DiagnosisEvidence.requirement).where(DiagnosisEvidence.assessment_id == a.id)
        )
    )
    no_file = [
        r.code
        for r in applicable(q, a.industry_type, values)
        if r.evidence
        and values.get(r.code) not in (None, "no", "none")
        and r.code not in with_files
    ]
    if no_file:
        raise _err(
            "evidence_missing",
            f"以下条目需要上传证明材料：{', '.join(no_file[:5])}",
            f"evidence files are required for: {', '.join(no_file[:5])}",
            "evidence",
            no_file,
        )
    a.status, a.submitted_by, a.submitted_at = "submitted", scope.username, datetime.now(UTC)
    audit.record(
        session,
        scope.username,
        "diagnosis.submit",
        "diagnosis_assessment",
        str(a.id),
        {"questionnaire": q.key},
        user_id=scope.user_id,
    )
    session.commit()
    return a


# -- officers and assessors ---------------------------------------------------------------------
def assign(session: Session, scope: Scope, assessor: str, uscc: str) -> DiagnosisAssignment:
    """Assign an enterprise (in the officer's scope) to an assessor."""
    scope.require("diagnosis.assign")
    ent = visible_enterprise(session, scope, uscc)
    user = session.scalars(select(User).where(User.username == assessor)).first()
    if user is None or user.role != "assessor":
        raise _err(
            "not_assessor",
            f"用户 {assessor} 不是诊断评估师",
            f"user {assessor} is not an assessor",
            "assessor",
            assessor,
        )
    found = session.scalars(
        select(DiagnosisAssignment).where(
            DiagnosisAssignment.user_id == user.id, DiagnosisAssignment.enterprise_id == ent.id
        )
    ).first()
    if found is not None:
        return found
    row = DiagnosisAssignment(user_id=user.id, enterprise_id=ent.id, assigned_by=scope.username)
    session.add(row)
    audit.record(
        session,
        scope.username,
        "diagnosis.assign",
        "enterprise",
        ent.uscc,
        {"assessor": assessor},
        user_id=scope.user_id,
    )
    session.commit()
    return row


def _under_review(session: Session, scope: Scope, assessment_id: int) -> DiagnosisAssessment:
    scope.require("diagnosis.assess")
    a = _visible(session, scope, assessment_id)
    if a.status != "submitted":
        raise _err(
            "not_submitted",
            f"评估 {a.id} 当前状态不能评审（{a.status}）",
            f"assessment {a.id} cannot be reviewed in status {a.status}",
            "status",
            a.status,
        )
    return a


def review(
    session: Session,
    scope: Scope,
    assessment_id: int,
    requirement: str,
    action: str,
    value: str | None = None,
    comment: str | None = None,
) -> DiagnosisReview:
    """The assessor's decision on one answer."""
    a = _under_review(session, scope, assessment_id)
    q = qn.get(a.questionnaire, a.version)
    r = q.requirements.get(requirement)
    if r is None:
        raise ValidationError(
            "diagnosis.unknown_requirement",
            f"问卷 {q.key} 没有要求 {requirement}",
            f"questionnaire {q.key} has no requirement {requirement}",
            Location(field=requirement),
        )
    if action not in REVIEW_ACTIONS:
        raise ValidationError(
            "diagnosis.review_action",
            f"评审动作“{action}”无效",
            f"review action '{action}' is invalid",
            Location(field="action"),
            action,
        )
    comment = (comment or "").strip() or None
    if action in ("adjust", "request_evidence") and not comment:
        raise ValidationError(
            "diagnosis.comment_required",
            "调整答案或要求补充材料时必须填写说明",
            "a comment is required to adjust an answer or request evidence",
            Location(field="comment"),
        )
    adjusted = check_value(r, value or "") if action == "adjust" else None
    original = answers_of(session, a.id).get(requirement)
    row = DiagnosisReview(
        assessment_id=a.id,
        requirement=requirement,
        action=action,
        original_value=original.value if original else None,
        adjusted_value=adjusted,
        comment=comment,
        actor=scope.username,
    )
    session.add(row)
    audit.record(
        session,
        scope.username,
        "diagnosis.review",
        "diagnosis_assessment",
        str(a.id),
        {"requirement": requirement, "action": action, "value": adjusted, "comment": comment},
        user_id=scope.user_id,
    )
    session.commit()
    return row


def finish_review(
    session: Session, scope: Scope, assessment_id: int, opinion: str
) -> DiagnosisAssessment:
    """Close the review: every answered applicable requirement accepted or adjusted (no open
    request for evidence), with the assessor's opinion; the result is computed and stored and
    the assessment becomes final."""
    a = _under_review(session, scope, assessment_id)
    q = qn.get(a.questionnaire, a.version)
    opinion = (opinion or "").strip()
    if not opinion:
        raise ValidationError(
            "diagnosis.opinion_required",
            "请填写评估意见",
            "the assessor's opinion is required",
            Location(field="opinion"),
        )
    values = {k: v.value for k, v in answers_of(session, a.id).items()}
    reviews = latest_reviews(session, a.id)
    open_items = [
        r.code
        for r in applicable(q, a.industry_type, values)
        if values.get(r.code) is not None
        and (r.code not in reviews or reviews[r.code].action == "request_evidence")
    ]
    if open_items:
        raise _err(
            "review_open",
            f"还有 {len(open_items)} 个答案未评审或在等待补充材料：{', '.join(open_items[:5])}",
            f"{len(open_items)} answers are not reviewed or await evidence: "
            f"{', '.join(open_items[:5])}",
            "reviews",
            open_items,
        )
    now = datetime.now(UTC)
    a.status, a.reviewed_by, a.reviewed_at, a.opinion = "reviewed", scope.username, now, opinion
    audit.record(
        session,
        scope.username,
        "diagnosis.reviewed",
        "diagnosis_assessment",
        str(a.id),
        {"opinion": opinion},
        user_id=scope.user_id,
    )
    result = score_assessments(session, [a])[a.id]
    a.result = result
    a.status, a.finalised_by, a.finalised_at = "final", scope.username, now
    audit.record(
        session,
        scope.username,
        "diagnosis.final",
        "diagnosis_assessment",
        str(a.id),
        {"level": result.get("level"), "score": result.get("score")},
        user_id=scope.user_id,
    )
    session.commit()
    return a


# -- scoring ------------------------------------------------------------------------------------
def frames(
    session: Session, assessments: list[DiagnosisAssessment]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The scoring inputs of some assessments: their keys and their answers in force."""
    a = pd.DataFrame(
        [
            {
                "assessment_id": x.id,
                "questionnaire": x.questionnaire,
                "version": x.version,
                "industry_type": x.industry_type,
            }
            for x in assessments
        ],
        columns=["assessment_id", "questionnaire", "version", "industry_type"],
    )
    ids = [x.id for x in assessments]
    answers = session.execute(
        select(
            DiagnosisAnswer.assessment_id,
            DiagnosisAnswer.requirement,
            DiagnosisAnswer.value,
            DiagnosisAnswer.skipped,
        ).where(DiagnosisAnswer.assessment_id.in_(ids))
    ).all()
    frame = pd.DataFrame(answers, columns=["assessment_id", "requirement", "value", "skipped"])
    # the assessor's adjustment replaces the answer (newest review per requirement)
    newest = (
        select(
            DiagnosisReview.assessment_id,
            DiagnosisReview.requirement,
            func.max(DiagnosisReview.id).label("id"),
        )
        .where(DiagnosisReview.assessment_id.in_(ids))
        .group_by(DiagnosisReview.assessment_id, DiagnosisReview.requirement)
        .subquery()
    )
    adjusted = session.execute(
        select(
            DiagnosisReview.assessment_id,
            DiagnosisReview.requirement,
            DiagnosisReview.adjusted_value,
        )
        .join(newest, newest.c.id == DiagnosisReview.id)
        .where(DiagnosisReview.action == "adjust")
    ).all()
    if adjusted and not frame.empty:
        adj = pd.DataFrame(adjusted, columns=["assessment_id", "requirement", "adjusted"])
        frame = frame.merge(adj, on=["assessment_id", "requirement"], how="left")
        frame["value"] = frame["adjusted"].where(frame["adjusted"].notna(), frame["value"])
        frame = frame.drop(columns="adjusted")
    frame["skipped"] = frame["skipped"].astype(bool)
    return a, frame


def score_assessments(
    session: Session,
    assessments: list[DiagnosisAssessment],
    con: Any = None,
) -> dict[int, dict[str, Any]]:
    """Score assessments (DuckDB unless ``con`` is given): per assessment its level, score,
    composite, per-domain and per-sub-domain results and the parameter version."""
    if not assessments:
        return {}
    keys = {(x.questionnaire, x.version) for x in assessments}
    qs = [qn.get(i, v) for i, v in sorted(keys)]
    a, answers = frames(session, assessments)
    params = core_params.load()
    rules = scoring.Rules.load(params=params)
    s = scoring.score(con or ibis.duckdb.connect(), qs, a, answers, rules)
    version = params.version("diagnosis")
    out: dict[int, dict[str, Any]] = {}
    for x in assessments:
        q = qn.get(x.questionnaire, x.version)
        out[x.id] = (
            {"scoring": "survey", "parameter_version": version}
            if q.scoring == "survey"
            else {
                "scoring": q.scoring,
                "level": 0,
                "score": 0.0,
                "composite": None,
                "levels": {},
                "domains": {},
                "subdomains": {},
                "subdomain_levels": {},
                "parameter_version": version,
            }
        )

    # decoded in one pass over each result frame's records (surveys are not scored)
    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return [r for r in frame.to_dict("records") if "levels" in out[int(r["assessment_id"])]]

    for r in records(s.overall):
        o = out[int(r["assessment_id"])]
        o["level"], o["score"] = int(r["level"]), round(float(r["score"]), 6)
        o["composite"] = None if pd.isna(r["composite"]) else round(float(r["composite"]), 6)
    for r in records(s.levels):
        out[int(r["assessment_id"])]["levels"][int(r["level"])] = round(float(r["score"]), 6)
    for r in records(s.domains):
        out[int(r["assessment_id"])]["domains"][r["domain"]] = round(float(r["score"]), 6)
    for r in records(s.subdomains):
        out[int(r["assessment_id"])]["subdomains"][r["subdomain"]] = {
            "level": int(r["level"]),
            "score": round(float(r["score"]), 6),
        }
    for r in records(s.subdomain_levels):
        sub = out[int(r["assessment_id"])]["subdomain_levels"].setdefault(r["subdomain"], {})
        sub[int(r["level"])] = round(float(r["score"]), 6)
    return out
