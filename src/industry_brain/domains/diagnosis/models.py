"""Tables of the diagnosis service (智能制造诊断, migration 0015_diagnosis).

- assessments: one enterprise's answers to one questionnaire, the questionnaire's id and version
  frozen at creation, status ``draft`` → ``submitted`` (frozen for the enterprise) →
  ``reviewed`` (every answer reviewed by the assessor) → ``final`` (result stored);
- answers: the raw answer per requirement (kept as given; a skipped requirement is marked);
- reviews: the assessor's decision per answer — ``accept``, ``adjust`` (new value, comment
  required) or ``request_evidence`` (comment);
- evidence files: uploaded documents for a requirement (stored outside the web root);
- assignments: which enterprises an assessor (a diagnosis provider's user) may see;
- certifications: imported 两化融合贯标 and DCMM certificates with lineage and expiry;
- runs and results: the published maturity results per enterprise and year (``result_maturity``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from industry_brain.store.models import Base, UTCDateTime


class DiagnosisAssessment(Base):
    """One enterprise's assessment on one questionnaire version."""

    __tablename__ = "diagnosis_assessments"
    __table_args__ = (
        Index("ix_diagnosis_assessments_enterprise", "enterprise_id", "questionnaire", "year"),
        Index("ix_diagnosis_assessments_status", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    questionnaire: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column(Integer)
    industry_type: Mapped[str] = mapped_column(String(16))  # discrete | process
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_by: Mapped[str] = mapped_column(String(64))
    submitted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finalised_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    finalised_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    opinion: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class DiagnosisAnswer(Base):
    """The raw answer to one requirement (value as text; ``skipped`` by skip logic)."""

    __tablename__ = "diagnosis_answers"
    __table_args__ = (
        UniqueConstraint("assessment_id", "requirement", name="uq_diagnosis_answers_requirement"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("diagnosis_assessments.id", ondelete="CASCADE")
    )
    requirement: Mapped[str] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(String(64), nullable=True)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class DiagnosisReview(Base):
    """An assessor's decision on one answer: accept, adjust (value and comment) or request
    evidence (comment). The newest review of a requirement is the one in force."""

    __tablename__ = "diagnosis_reviews"
    __table_args__ = (Index("ix_diagnosis_reviews_assessment", "assessment_id", "requirement"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("diagnosis_assessments.id", ondelete="CASCADE")
    )
    requirement: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(24))  # accept | adjust | request_evidence
    original_value: Mapped[str | None] = mapped_column(String(64), nullable=True)
    adjusted_value: Mapped[str | None] = mapped_column(String(64), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class DiagnosisEvidence(Base):
    """An evidence file uploaded for a requirement (the file lives under the data folder)."""

    __tablename__ = "diagnosis_evidence"
    __table_args__ = (Index("ix_diagnosis_evidence_assessment", "assessment_id", "requirement"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("diagnosis_assessments.id", ondelete="CASCADE")
    )
    requirement: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class DiagnosisAssignment(Base):
    """An enterprise assigned to an assessor (role ``assessor``) of a diagnosis provider."""

    __tablename__ = "diagnosis_assignments"
    __table_args__ = (
        UniqueConstraint("user_id", "enterprise_id", name="uq_diagnosis_assignments_pair"),
        Index("ix_diagnosis_assignments_enterprise", "enterprise_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    assigned_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class DiagnosisCertification(Base):
    """An imported certificate (两化融合管理体系贯标 ``lianghua_guanbiao`` or ``dcmm``), its
    lineage (file, sheet, row, import batch) and expiry."""

    __tablename__ = "diagnosis_certifications"
    __table_args__ = (
        UniqueConstraint("kind", "certificate_no", name="uq_diagnosis_certifications_number"),
        Index("ix_diagnosis_certifications_enterprise", "enterprise_id", "kind"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprises.id", ondelete="SET NULL"), nullable=True
    )
    uscc: Mapped[str] = mapped_column(String(18))
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(16), nullable=True)
    certificate_no: Mapped[str] = mapped_column(String(64))
    issuer: Mapped[str | None] = mapped_column(String(100), nullable=True)
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    source_file: Mapped[str] = mapped_column(String(255))
    source_sheet: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source_row: Mapped[int] = mapped_column(Integer)
    import_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_batches.id", ondelete="SET NULL"), nullable=True
    )
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class DiagnosisRun(Base):
    """A scoring of every final assessment of a year, published as ``result_maturity``."""

    __tablename__ = "diagnosis_runs"
    __table_args__ = (Index("ix_diagnosis_runs_year", "year", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    engine: Mapped[str] = mapped_column(String(16))
    parameter_version: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # computed | published
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class DiagnosisResult(Base):
    """One enterprise's maturity in a run (the row of ``result_maturity``)."""

    __tablename__ = "diagnosis_results"
    __table_args__ = (
        UniqueConstraint("run_id", "enterprise_id", name="uq_diagnosis_results_enterprise"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("diagnosis_runs.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    county_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    cmmm_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cmmm_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    dcmm_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dcmm_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    lianghua_stage: Mapped[int | None] = mapped_column(Integer, nullable=True)
    guanbiao_certified: Mapped[bool] = mapped_column(Boolean, default=False)
    dcmm_certified_level: Mapped[str | None] = mapped_column(String(16), nullable=True)
    assessments: Mapped[list] = mapped_column(JSON, default=list)
