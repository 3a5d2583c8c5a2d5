"""JSON API ``/api/v1``: the same scoped functions and permissions as the pages.

Authenticate with ``Authorization: Bearer ibt_…`` (API tokens) or the browser session (then
state-changing requests need the ``X-CSRF-Token`` header). Every error body is
``{code, zh, en, request_id}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict

from industry_brain.store import scoped
from industry_brain.web import imports
from industry_brain.web.deps import CsrfDep, DbDep, ScopeDep, SettingsDep, request_id
from industry_brain.web.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["api"], responses=ERROR_RESPONSES)


class Me(BaseModel):
    model_config = ConfigDict(strict=True)
    username: str
    role: str
    display_name: str
    county_code: str | None
    sees_sensitive: bool


class EnterpriseItem(BaseModel):
    uscc: str
    name: str
    county_code: str | None
    county_name: str | None
    industry_code: str | None
    industry_name: str | None
    status: str
    above_scale: bool | None
    scale_year: int | None


class EnterprisePage(BaseModel):
    items: list[EnterpriseItem]
    total: int
    page: int
    per_page: int
    pages: int


class AuditEntry(BaseModel):
    id: int
    at: str | None
    actor: str
    action: str
    object_type: str
    object_id: str | None
    detail: dict[str, Any]
    request_id: str | None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    total: int
    page: int
    per_page: int
    pages: int


class Batch(BaseModel):
    id: int
    kind: str
    department: str
    file_name: str
    status: str
    year: int | None
    rows_total: int
    rows_loaded: int
    rows_rejected: int
    created_at: str | None


@router.get("/me", response_model=Me, summary="The caller and its role")
def me(scope: ScopeDep) -> Me:
    return Me(
        username=scope.username,
        role=scope.role,
        display_name=scope.display_name,
        county_code=scope.county_code,
        sees_sensitive=scope.sees_sensitive,
    )


@router.get("/enterprises", response_model=EnterprisePage, summary="Search enterprises in scope")
def list_enterprises(
    db: DbDep,
    scope: ScopeDep,
    q: Annotated[str | None, Query(max_length=200, description="part of a name, or a USCC")] = None,
    county: Annotated[str | None, Query(max_length=6, description="GB/T 2260 county")] = None,
    industry: Annotated[str | None, Query(max_length=4, description="GB/T 4754 prefix")] = None,
    scale: Annotated[str | None, Query(pattern="^(above|below)$")] = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    scope.require("enterprise.search")
    result = scoped.search_enterprises(
        db,
        scope,
        q=q,
        county=county,
        industry=industry,
        scale=scale,
        page=page,
        per_page=per_page,
    )
    return result.to_dict()


@router.get(
    "/enterprises/{uscc}",
    summary="一企一档 profile of an enterprise in scope (audited; sensitive figures masked "
    "for roles without the right)",
)
def enterprise_detail(db: DbDep, scope: ScopeDep, uscc: str) -> dict[str, Any]:
    data = scoped.enterprise_profile(db, scope, uscc, request_id())
    db.commit()
    return data


@router.get(
    "/enterprises/{uscc}/facts/{item}",
    summary="A figure's value and lineage (batch, file, sheet, row), with superseded history",
)
def fact_explain(
    db: DbDep,
    scope: ScopeDep,
    uscc: str,
    item: str,
    year: Annotated[int, Query(ge=1949, le=2100)],
) -> dict[str, Any]:
    data = scoped.explain_fact(db, scope, uscc, year, item, request_id())
    db.commit()
    return data


@router.get("/cockpit", summary="Cockpit aggregates within the caller's scope")
def cockpit(db: DbDep, scope: ScopeDep) -> dict[str, Any]:
    return scoped.cockpit(db, scope)


@router.get("/imports", response_model=list[Batch], summary="Latest import batches")
def list_imports(
    db: DbDep, scope: ScopeDep, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[dict[str, Any]]:
    scope.require("import.run")
    return scoped.import_batches(db, scope, limit=limit)


def _staged(scope: Any, file: UploadFile, settings: Any) -> str:
    return imports.stage(scope, file.filename, file.file, settings.upload_max_mb << 20)


@router.post(
    "/imports/dry-run",
    summary="Validate a department file without changing the store (detected mapping + report)",
)
def import_dry_run(
    request: Request,
    scope: ScopeDep,
    settings: SettingsDep,
    _csrf: CsrfDep,
    kind: Annotated[str, Form(max_length=32)],
    file: Annotated[UploadFile, File()],
    sheet: Annotated[str | None, Form(max_length=100)] = None,
    year: Annotated[int | None, Form(ge=1949, le=2100)] = None,
) -> dict[str, Any]:
    scope.require("import.run")
    imports.check_kind(kind)
    token = _staged(scope, file, settings)
    return imports.preview(scope, token, kind, sheet or None, year, request.app.state.engine)


@router.post("/imports", summary="Import a department file (atomic batch)")
def import_commit(
    request: Request,
    scope: ScopeDep,
    settings: SettingsDep,
    _csrf: CsrfDep,
    kind: Annotated[str, Form(max_length=32)],
    file: Annotated[UploadFile, File()],
    sheet: Annotated[str | None, Form(max_length=100)] = None,
    year: Annotated[int | None, Form(ge=1949, le=2100)] = None,
    accept_valid: Annotated[bool, Form()] = False,
) -> dict[str, Any]:
    scope.require("import.run")
    imports.check_kind(kind)
    token = _staged(scope, file, settings)
    return imports.commit(
        scope,
        token,
        kind,
        sheet or None,
        year,
        accept_valid,
        request.app.state.engine,
        settings.import_wait_seconds,
    )


@router.get("/audit", response_model=AuditPage, summary="Search the audit log (admins)")
def audit(
    db: DbDep,
    scope: ScopeDep,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 50,
) -> dict[str, Any]:
    result = scoped.audit_search(
        db, scope, actor=actor, action=action, object_id=object_id, page=page, per_page=per_page
    )
    return result.to_dict()
