"""JSON API of the identifier node (``/api/v1/ids``), on the platform's API (same tokens, same
error shape ``{code, zh, en, request_id}``):

- ``GET /api/v1/ids/resolve/{prefix/suffix}`` — no sign-in needed: 200 with the public values
  (restricted types need a bearer token of the owning enterprise or a role holding
  ``ids.restricted``), 400 bad syntax, 404 unknown, 410 withdrawn with its history, 303 to the
  node serving another prefix (node table). ``Cache-Control: max-age`` is the smallest TTL of
  the values shown (``private`` when restricted values are in the answer); ``?redirect=url``
  sends a 303 to the identifier's ``url`` value (product page) when it has one.
- ``POST /prefixes`` (an enterprise applies), ``POST /prefixes/{prefix}/decision`` (officer),
  ``POST|GET /prefixes/{prefix}/delegations``, ``DELETE /prefixes/{prefix}/delegations/{user}``
  (the owner lets a provider user write under its prefix until a date; revocable),
  ``POST /identifiers``, ``PUT /identifiers/{id}``, ``DELETE /identifiers/{id}`` (withdraw),
  ``POST /bulk`` (CSV/XLSX), ``GET /batteries/{code}`` (traceability), ``GET /stats``.

Writes are allowed only to the enterprise owning the prefix or a provider user it delegated to
(while the delegation lives); refusals are 403 and audited.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core.errors import Location, ValidationError
from industry_brain.domains.identifiers import batteries, service, stats, syntax
from industry_brain.domains.identifiers.models import IdPrefix
from industry_brain.store import audit
from industry_brain.web.deps import CsrfDep, DbDep, PrincipalDep, ScopeDep
from industry_brain.web.errors import ERROR_RESPONSES
from industry_brain.web.logs import request_id_var

# the resolver alone (``ids serve``) and the writes, joined in ``router`` at the end
resolver = APIRouter(prefix="/api/v1/ids", tags=["ids 标识解析"])
writes = APIRouter(prefix="/api/v1/ids", tags=["ids 标识解析"], responses=ERROR_RESPONSES)

_CONFIG: dict[str, service.NodeConfig] = {}


def config_of(request: Request) -> service.NodeConfig:
    cfg = getattr(request.app.state, "ids_config", None)
    if cfg is None:
        if "default" not in _CONFIG:
            _CONFIG["default"] = service.load_config()
        cfg = _CONFIG["default"]
    return cfg


def _restricted_ok(db: Session, principal: Any, text: str) -> bool:
    if principal is None or principal.user is None:
        return False
    user = principal.user
    if principal.scope.can("ids.restricted"):
        return True
    if user.enterprise_id is None or not syntax.is_valid(text):
        return False
    owner = db.scalar(
        select(IdPrefix.enterprise_id).where(IdPrefix.prefix == text.split("/", 1)[0])
    )
    return owner == user.enterprise_id


def _principal_if_any(request: Request, db: Session) -> Any:
    """The caller only when it names itself (bearer token or session cookie): a public read
    costs no session or token lookup."""
    from industry_brain.web import auth
    from industry_brain.web.deps import get_principal

    if request.headers.get("authorization") or request.cookies.get(auth.SESSION_COOKIE):
        return get_principal(request, db)
    return None


def _log_of(request: Request) -> service.ResolutionLog:
    log = getattr(request.app.state, "ids_log", None)
    if log is None:  # one per app (and store): resolutions written in batches
        log = request.app.state.ids_log = service.ResolutionLog()
    return log


def answer(request: Request, db: Session, identifier: str, redirect: str | None) -> Response:
    """The resolver's HTTP answer (the platform's route and ``ids serve`` share it): status,
    caching headers from the TTL, an orjson body; a read showing restricted values is audited."""
    cfg = config_of(request)
    principal = _principal_if_any(request, db)
    ok = _restricted_ok(db, principal, identifier)
    res = service.resolve(
        db,
        identifier,
        cfg,
        restricted_ok=ok,
        log=_log_of(request),
        cache=getattr(request.app.state, "ids_cache", None),
        reader=getattr(request.app.state, "ids_reader", None),
    )
    if res.status == 303:
        return RedirectResponse(
            res.location,
            status_code=303,
            headers={"Cache-Control": f"public, max-age={cfg.default_ttl}"},
        )
    if res.restricted_shown:
        scope = principal.scope
        audit.record(
            db,
            scope.username,
            "ids.restricted_read",
            "identifier",
            identifier,
            {"restricted": sum(v["permission"] == "restricted" for v in res.body["values"])},
            user_id=scope.user_id,
        )
        db.commit()
    if res.status == 200 and redirect == "url":
        urls = [v["data"] for v in res.body["values"] if v["type"] == "url"]
        if urls and isinstance(urls[0], str) and urls[0].startswith(("https://", "http://")):
            return RedirectResponse(urls[0], status_code=303)
    headers: dict[str, str] = {}
    if res.status == 200:
        private = res.restricted_shown
        headers["Cache-Control"] = f"{'private' if private else 'public'}, max-age={res.ttl}"
        headers["Last-Modified"] = _http_date(res.body["updated_at"])
    elif res.status == 410:
        headers["Cache-Control"] = f"public, max-age={cfg.default_ttl}"
    else:
        headers["Cache-Control"] = "no-cache"
    body = res.body
    if res.status >= 400:  # the platform's one error shape carries the request id
        body = {**body, "request_id": request_id_var.get()}
    return Response(
        orjson.dumps(body), status_code=res.status, headers=headers, media_type="application/json"
    )


@resolver.get("/resolve/{identifier:path}", summary="resolve an identifier")
def resolve(
    identifier: str,
    request: Request,
    db: DbDep,
    redirect: str | None = None,
) -> Response:
    return answer(request, db, identifier, redirect)


@lru_cache(maxsize=4096)
def _http_date(iso: str) -> str:
    from datetime import datetime
    from email.utils import format_datetime

    return format_datetime(datetime.fromisoformat(iso), usegmt=True)


def actor_of(principal: Any) -> service.Actor:
    scope = principal.scope  # 401 when not signed in
    user = principal.user
    return service.Actor(scope.username, scope.role, user.enterprise_id, user.id)


class PrefixApplication(BaseModel):
    uscc: str = Field(min_length=18, max_length=18)
    prefix: str = Field(max_length=64, examples=["88.118.8"])


class Decision(BaseModel):
    approve: bool


class Registration(BaseModel):
    identifier: str = Field(max_length=320, examples=["88.118.8/P001"])
    template: str = Field(max_length=32, examples=["product"])
    data: dict[str, Any]


class Update(BaseModel):
    data: dict[str, Any]


@writes.post("/prefixes", status_code=201, summary="apply for an enterprise prefix")
def apply_prefix(
    body: PrefixApplication, request: Request, db: DbDep, principal: PrincipalDep, _: CsrfDep
) -> dict[str, Any]:
    row = service.apply_prefix(db, actor_of(principal), body.uscc, body.prefix, config_of(request))
    return {"prefix": row.prefix, "status": row.status}


@writes.post("/prefixes/{prefix}/decision", summary="approve or reject a prefix (officer)")
def decide(
    prefix: str, body: Decision, db: DbDep, scope: ScopeDep, principal: PrincipalDep, _: CsrfDep
) -> dict[str, Any]:
    scope.require("ids.approve")
    row = service.decide_prefix(db, actor_of(principal), prefix, body.approve)
    return {"prefix": row.prefix, "status": row.status, "approved_by": row.approved_by}


class Delegation(BaseModel):
    provider: str = Field(max_length=64, examples=["provider_01"])
    expires_at: datetime = Field(examples=["2027-06-30T00:00:00+08:00"])


@writes.post(
    "/prefixes/{prefix}/delegations",
    status_code=201,
    summary="delegate writes under the prefix to a provider user (owner only)",
)
def delegate(
    prefix: str, body: Delegation, db: DbDep, principal: PrincipalDep, _: CsrfDep
) -> dict[str, Any]:
    grant = service.delegate(db, actor_of(principal), prefix, body.provider, body.expires_at)
    return {"id": grant.id, "prefix": prefix, "provider": body.provider,
            "expires_at": service._aware(grant.expires_at).isoformat()}  # fmt: skip


@writes.delete(
    "/prefixes/{prefix}/delegations/{provider}",
    summary="revoke a provider's delegation on the prefix (owner only)",
)
def revoke_delegation(
    prefix: str, provider: str, db: DbDep, principal: PrincipalDep, _: CsrfDep
) -> dict[str, Any]:
    n = service.revoke_delegation(db, actor_of(principal), prefix, provider)
    return {"prefix": prefix, "provider": provider, "revoked": n}


@writes.get("/prefixes/{prefix}/delegations", summary="the prefix's delegations (owner only)")
def list_delegations(prefix: str, db: DbDep, principal: PrincipalDep) -> dict[str, Any]:
    row = service._owner_only(db, actor_of(principal), prefix, "list_delegations")
    return {"prefix": prefix, "delegations": service.delegations(db, [row.id])}


@writes.post("/identifiers", status_code=201, summary="register one identifier")
def register(
    body: Registration, request: Request, db: DbDep, principal: PrincipalDep, _: CsrfDep
) -> dict[str, Any]:
    ident = service.register(
        db, actor_of(principal), body.identifier, body.template, body.data, config_of(request)
    )
    return {"identifier": f"{ident.prefix}/{ident.suffix}", "status": ident.status}


@writes.put("/identifiers/{identifier:path}", summary="replace an identifier's values")
def update(
    identifier: str,
    body: Update,
    request: Request,
    db: DbDep,
    principal: PrincipalDep,
    _: CsrfDep,
) -> dict[str, Any]:
    ident = service.update(db, actor_of(principal), identifier, body.data, config_of(request))
    return {"identifier": identifier, "status": ident.status}


@writes.delete("/identifiers/{identifier:path}", summary="withdraw an identifier")
def withdraw(
    identifier: str, db: DbDep, principal: PrincipalDep, _: CsrfDep, reason: str = ""
) -> dict[str, Any]:
    ident = service.withdraw(db, actor_of(principal), identifier, reason)
    return {"identifier": identifier, "status": ident.status}


@writes.post("/bulk", summary="bulk registration from CSV or XLSX (all or nothing)")
async def bulk(
    request: Request,
    db: DbDep,
    principal: PrincipalDep,
    _: CsrfDep,
    file: Annotated[UploadFile, File()],
    prefix: Annotated[str, Form()],
    template: Annotated[str, Form()],
) -> JSONResponse:
    name = file.filename or "upload.csv"
    if not name.lower().endswith((".csv", ".xlsx")):
        raise ValidationError(
            "ids.bulk_format",
            "只接受 CSV 或 XLSX 文件",
            "only CSV or XLSX files are accepted",
            Location(file=name),
        )
    content = await file.read()
    rep = service.bulk_file(
        db,
        actor_of(principal),
        prefix,
        name,
        content,
        template,
        config_of(request),
    )
    return JSONResponse(rep.to_dict(), status_code=201 if rep.status == "live" else 422)


@writes.get("/batteries/{code}", summary="battery traceability (GB/T 34014)")
def battery_trace(code: str, db: DbDep, scope: ScopeDep) -> dict[str, Any]:
    scope.require("ids.view")
    out = batteries.trace(db, code)
    audit.record(
        db, scope.username, "ids.battery_trace", "battery", out["code"], {}, user_id=scope.user_id
    )
    db.commit()
    return out


@writes.get("/stats", summary="registrations and resolutions (cockpit)")
def statistics(db: DbDep, scope: ScopeDep) -> dict[str, Any]:
    scope.require("ids.view")
    return stats.summary(db)


router = APIRouter()
router.include_router(resolver)
router.include_router(writes)
