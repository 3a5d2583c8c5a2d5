"""The node's pages (``/ids``) for an enterprise user, a provider user acting under a
delegation, and the officers approving prefixes:

- ``GET /ids`` — the caller's prefixes and their state (counts of live and withdrawn
  identifiers), the application form (enterprise), pending applications (officers), the
  delegations of each prefix with grant and revoke (owner), bulk upload and withdrawal forms;
- ``GET|POST /ids/register`` — one identifier against a template: the form is generated from
  the template's JSON Schema and every problem is shown next to its field;
- ``POST /ids/bulk`` → the staged upload's report (rows, problems by row and column) →
  ``POST /ids/uploads/{id}/live`` (all or nothing);
- ``POST /ids/prefixes``, ``/ids/prefixes/{prefix}/decision``, ``/ids/withdraw``,
  ``/ids/delegations``, ``/ids/delegations/revoke``.

Every write goes through :mod:`.service` (ownership or a live delegation checked, refusals
audited); errors come back on the page in the caller's language, never as codes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core.errors import IBError
from industry_brain.core.formatting import integer
from industry_brain.domains.identifiers import api, service
from industry_brain.domains.identifiers.models import IdTemplate
from industry_brain.store.models import Enterprise, User
from industry_brain.web.app_helpers import page_lang
from industry_brain.web.deps import CsrfDep, DbDep, PrincipalDep
from industry_brain.web.flash import redirect

router = APIRouter(include_in_schema=False)
Short = Annotated[str, Form(max_length=320)]


def _actor(principal: Any) -> service.Actor:
    principal.scope.require("ids.portal")
    return api.actor_of(principal)


def _message(request: Request, exc: IBError) -> str:
    return exc.zh if page_lang(request) == "zh" else exc.en


def _templates(db: Session) -> list[dict[str, Any]]:
    """The latest version of every template."""
    latest: dict[str, IdTemplate] = {}
    for t in db.scalars(select(IdTemplate).order_by(IdTemplate.code, IdTemplate.version)):
        latest[t.code] = t
    return [{"code": c, "version": t.version} for c, t in sorted(latest.items())]


def _page(
    request: Request,
    db: Session,
    principal: Any,
    errors: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    actor = _actor(principal)
    scope = principal.scope
    prefixes = service.writable_prefixes(db, actor)
    owned = [p for p in prefixes if p["delegated_until"] is None and p["status"] == "approved"]
    ctx = {
        "actor_role": actor.role,
        "is_owner": actor.enterprise_id is not None,
        "prefixes": prefixes,
        "writable": [p for p in prefixes if p["status"] == "approved"],
        "delegations": service.delegations(db, [p["id"] for p in owned]) if owned else [],
        "providers": list(
            db.execute(
                select(User.username, User.display_name)
                .where(User.role == "provider", User.active.is_(True))
                .order_by(User.username)
            ).all()
        ),
        "pending": service.pending_prefixes(db) if scope.can("ids.approve") else [],
        "can_approve": scope.can("ids.approve"),
        "templates": _templates(db),
        "node_prefix": api.config_of(request).prefix,
        "errors": errors or {},
        **extra,
    }
    status = 422 if errors else 200
    return request.app.state.render(request, "ids_portal.html", ctx, status)


def _done(request: Request, key: str, **values: Any) -> Response:
    return redirect(request, "/ids", key, **values)


@router.get("/ids")
def portal(request: Request, db: DbDep, principal: PrincipalDep) -> Response:
    return _page(request, db, principal)


@router.post("/ids/prefixes")
def apply(
    request: Request, db: DbDep, principal: PrincipalDep, _: CsrfDep, prefix: Short
) -> Response:
    actor = _actor(principal)
    try:
        if actor.enterprise_id is None:
            raise service.refuse(db, actor, "apply_prefix", prefix, "not_enterprise")
        uscc = db.get(Enterprise, actor.enterprise_id).uscc
        service.apply_prefix(db, actor, uscc, prefix.strip(), api.config_of(request))
    except IBError as exc:
        return _page(request, db, principal, {"apply": _message(request, exc)})
    return _done(request, "flash.ids.applied", prefix=prefix.strip())


@router.post("/ids/prefixes/{prefix}/decision")
def decide(
    request: Request,
    db: DbDep,
    principal: PrincipalDep,
    _: CsrfDep,
    prefix: str,
    approve: Annotated[str, Form(max_length=1)],
) -> Response:
    principal.scope.require("ids.approve")
    try:
        service.decide_prefix(db, api.actor_of(principal), prefix, approve == "1")
    except IBError as exc:
        return _page(request, db, principal, {"pending": _message(request, exc)})
    key = "flash.ids.approved" if approve == "1" else "flash.ids.rejected"
    return _done(request, key, prefix=prefix)


def _form_fields(schema: dict) -> list[dict[str, Any]]:
    """One input per template property: its kind (text, number, date, choice, yes/no) and
    whether it is required, as the JSON Schema says."""
    required = set(schema.get("required") or [])
    restricted = set(schema.get("x-restricted") or [])
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        prop = prop or {}
        kind = prop.get("type")
        if "enum" in prop:
            widget = "choice"
        elif kind == "boolean":
            widget = "yesno"
        elif kind in ("integer", "number"):
            widget = kind
        elif prop.get("format") == "date":
            widget = "date"
        else:
            widget = "text"
        out.append(
            {
                "name": name,
                "widget": widget,
                "choices": [str(c) for c in prop.get("enum") or []],
                "required": name in required,
                "restricted": name in restricted,
                "max_length": prop.get("maxLength"),
                "title": prop.get("title"),
            }
        )
    return out


def _register_page(
    request: Request,
    db: Session,
    principal: Any,
    prefix: str,
    code: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    actor = _actor(principal)
    prefixes = [p for p in service.writable_prefixes(db, actor) if p["status"] == "approved"]
    try:
        tpl = service.template(db, code)
    except IBError as exc:
        return _page(request, db, principal, {"register": _message(request, exc)})
    ctx = {
        "prefixes": prefixes,
        "prefix": prefix or (prefixes[0]["prefix"] if prefixes else ""),
        "template": {"code": tpl.code, "version": tpl.version},
        "templates": _templates(db),
        "fields": _form_fields(tpl.schema),
        "values": values or {},
        "errors": errors or {},
    }
    return request.app.state.render(request, "ids_register.html", ctx, 422 if errors else 200)


@router.get("/ids/register")
def register_form(
    request: Request,
    db: DbDep,
    principal: PrincipalDep,
    prefix: str = "",
    template: str = "product",
) -> Response:
    return _register_page(request, db, principal, prefix, template[:32])


@router.post("/ids/register")
async def register(request: Request, db: DbDep, principal: PrincipalDep, _: CsrfDep) -> Response:
    form = await request.form()
    prefix = str(form.get("prefix", ""))[:64]
    code = str(form.get("template", ""))[:32]
    suffix = str(form.get("suffix", "")).strip()[:255]
    actor = _actor(principal)
    try:
        tpl = service.template(db, code)
    except IBError as exc:
        return _page(request, db, principal, {"register": _message(request, exc)})
    fields = _form_fields(tpl.schema)
    values = {f["name"]: str(form.get(f"f_{f['name']}", "")).strip()[:1000] for f in fields}
    data = {}
    for f in fields:
        text = values[f["name"]]
        if text == "":
            continue
        if f["widget"] == "yesno":
            data[f["name"]] = text == "true"
        else:
            converter = service._CONVERT.get(f["widget"])
            data[f["name"]] = converter(text) if converter else text
    errors: dict[str, str] = {}
    lang = page_lang(request)
    for p in service.template_problems(tpl.schema, data):
        key = p["field"] if p["field"] in values else "data"
        errors.setdefault(key, _problem_text(lang, p))
    if not errors:
        try:
            service.register(db, actor, f"{prefix}/{suffix}", code, data, api.config_of(request))
        except IBError as exc:
            if exc.code in ("ids.not_owner", "ids.prefix_unknown", "ids.bad_prefix"):
                errors["prefix"] = _message(request, exc)
            elif exc.code in ("ids.duplicate", "ids.bad_suffix", "ids.bad_syntax"):
                errors["suffix"] = _message(request, exc)
            else:
                errors["form"] = _message(request, exc)
    if errors:
        return _register_page(
            request, db, principal, prefix, code, {**values, "suffix": suffix}, errors
        )
    return _done(request, "flash.ids.registered", identifier=f"{prefix}/{suffix}")


def _problem_text(lang: str, problem: dict[str, Any]) -> str:
    """A template problem in the page's language (jsonschema's messages are English): the kind
    of check that failed, named in the catalog."""
    from industry_brain.web.i18n import Translator

    t = Translator(lang)
    message = problem["message"]
    for check in (
        "is a required property",
        "is not of type",
        "is not a 'date'",
        "is not one of",
        "is too short",
        "is too long",
        "is less than",
        "does not match",
    ):
        if check in message:
            return t(f"ids.problem.{_CHECK_KEYS[check]}")
    return t("ids.problem.other")


_CHECK_KEYS = {
    "is a required property": "required",
    "is not of type": "type",
    "is not a 'date'": "date",
    "is not one of": "choice",
    "is too short": "required",
    "is too long": "too_long",
    "is less than": "minimum",
    "does not match": "pattern",
}


@router.post("/ids/bulk")
async def bulk(
    request: Request,
    db: DbDep,
    principal: PrincipalDep,
    _: CsrfDep,
    file: Annotated[UploadFile, File()],
    prefix: Annotated[str, Form(max_length=64)],
    template: Annotated[str, Form(max_length=32)],
) -> Response:
    actor = _actor(principal)
    name = file.filename or "upload.csv"
    if not name.lower().endswith((".csv", ".xlsx")):
        from industry_brain.core.errors import Location, ValidationError

        exc = ValidationError(
            "ids.bulk_format",
            "只接受 CSV 或 XLSX 文件",
            "only CSV or XLSX files are accepted",
            Location(file=name),
        )
        return _page(request, db, principal, {"bulk": _message(request, exc)})
    content = await file.read()
    try:
        rep = service.bulk_file(
            db,
            actor,
            prefix,
            name,
            content,
            template,
            api.config_of(request),
            live=False,
        )
    except (IBError, UnicodeDecodeError, ValueError) as exc:
        text = _message(request, exc) if isinstance(exc, IBError) else None
        return _page(request, db, principal, {"bulk": text or _bad_file(request)})
    return _report(request, rep, prefix, template, name)


def _bad_file(request: Request) -> str:
    from industry_brain.web.i18n import Translator

    return Translator(page_lang(request))("ids.bulk_unreadable")


def _report(
    request: Request, rep: service.BulkReport, prefix: str, template: str, name: str
) -> Response:
    lang = page_lang(request)
    problems = [
        {
            "row": p["row"],
            "column": p["column"],
            "text": p["zh"] if lang == "zh" else p["en"],
            "value": p.get("value"),
        }
        for p in rep.problems
    ]
    ctx = {
        "report": rep,
        "problems": problems,
        "prefix": prefix,
        "template": template,
        "filename": name,
    }
    return request.app.state.render(
        request, "ids_upload.html", ctx, 422 if rep.status == "failed" else 200
    )


@router.post("/ids/uploads/{upload_id}/live")
def go_live(
    request: Request, db: DbDep, principal: PrincipalDep, _: CsrfDep, upload_id: int
) -> Response:
    actor = _actor(principal)
    try:
        rep = service.publish_upload(db, actor, upload_id, api.config_of(request))
    except IBError as exc:
        return _page(request, db, principal, {"bulk": _message(request, exc)})
    if rep.status != "live":
        return _report(request, rep, "", "", "")
    return _done(request, "flash.ids.bulk_live", rows=integer(rep.rows))


@router.post("/ids/withdraw")
def withdraw(
    request: Request,
    db: DbDep,
    principal: PrincipalDep,
    _: CsrfDep,
    identifier: Short,
    reason: Short = "",
) -> Response:
    actor = _actor(principal)
    try:
        service.withdraw(db, actor, identifier.strip(), reason.strip())
    except IBError as exc:
        return _page(request, db, principal, {"withdraw": _message(request, exc)})
    return _done(request, "flash.ids.withdrawn", identifier=identifier.strip())


@router.post("/ids/delegations")
def delegate(
    request: Request,
    db: DbDep,
    principal: PrincipalDep,
    _: CsrfDep,
    prefix: Annotated[str, Form(max_length=64)],
    provider: Annotated[str, Form(max_length=64)],
    until: Annotated[date, Form()],
) -> Response:
    actor = _actor(principal)
    end = datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC)
    try:
        service.delegate(db, actor, prefix, provider, end)
    except IBError as exc:
        return _page(request, db, principal, {"delegate": _message(request, exc)})
    return _done(request, "flash.ids.delegated", prefix=prefix, provider=provider)


@router.post("/ids/delegations/revoke")
def revoke(
    request: Request,
    db: DbDep,
    principal: PrincipalDep,
    _: CsrfDep,
    prefix: Annotated[str, Form(max_length=64)],
    provider: Annotated[str, Form(max_length=64)],
) -> Response:
    actor = _actor(principal)
    try:
        service.revoke_delegation(db, actor, prefix, provider)
    except IBError as exc:
        return _page(request, db, principal, {"delegate": _message(request, exc)})
    return _done(request, "flash.ids.revoked", prefix=prefix, provider=provider)
