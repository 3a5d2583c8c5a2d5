"""The identifiers service: prefixes, templates, registration (single and bulk), update,
withdrawal, resolution, GB/T 34014 batteries and statistics. Web, API and CLI call these.

Every write names an :class:`Actor`; a write under a prefix is allowed only to a user of the
enterprise owning the approved prefix — anyone else (another enterprise, a provider acting for it
without delegation, an officer) is refused with ``ids.not_owner`` and the refusal is audited.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError
from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from industry_brain.core import env
from industry_brain.core import uscc as uscc_mod
from industry_brain.core.errors import ConflictError, Location, NotFoundError, ValidationError
from industry_brain.domains.identifiers import syntax
from industry_brain.domains.identifiers.models import (
    IdDelegation,
    Identifier,
    IdHistory,
    IdPrefix,
    IdResolution,
    IdTemplate,
    IdUpload,
    IdUploadRow,
)
from industry_brain.store import audit
from industry_brain.store.models import Enterprise, User, UTCDateTime
from industry_brain.store.scope import PermissionDenied

HERE = Path(__file__).parent
BUILTIN_TEMPLATES = ("product", "batch", "equipment", "battery")


# ---------------------------------------------------------------- node configuration


@dataclass(frozen=True)
class NodeConfig:
    prefix: str
    name_zh: str
    name_en: str
    default_ttl: int
    nodes: dict[str, str] = field(default_factory=dict)

    def serves(self, prefix: str) -> bool:
        return prefix == self.prefix or prefix.startswith(self.prefix + ".")

    def delegate(self, prefix: str) -> str | None:
        """Base URL of the node serving ``prefix`` (longest matching node prefix), or None."""
        best = None
        for node, url in self.nodes.items():
            if (prefix == node or prefix.startswith(node + ".")) and (
                best is None or len(node) > len(best[0])
            ):
                best = (node, url)
        return best[1] if best else None


def ids_cache_seconds() -> float:
    """How long a resolution answer is kept (``IB_IDS_CACHE_SECONDS``, default 2; 0: off)."""
    return env.number("IB_IDS_CACHE_SECONDS", 2.0, minimum=0)


def load_config(path: str | Path | None = None) -> NodeConfig:
    """``node.yaml`` of this package, or ``IB_IDS_NODE_CONFIG``, or ``path``."""
    path = Path(path or os.environ.get("IB_IDS_NODE_CONFIG") or HERE / "node.yaml")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    node = raw.get("node") or {}
    return NodeConfig(
        prefix=syntax.check_prefix(str(node["prefix"]), enterprise=False),
        name_zh=str(node.get("name_zh", "")),
        name_en=str(node.get("name_en", "")),
        default_ttl=int(raw.get("default_ttl", 86400)),
        nodes={str(k): str(v).rstrip("/") for k, v in (raw.get("nodes") or {}).items()},
    )


# ---------------------------------------------------------------- actors and ownership


@dataclass(frozen=True)
class Actor:
    """Who writes: a username, its role and, for an enterprise user, its enterprise."""

    name: str
    role: str
    enterprise_id: int | None = None
    user_id: int | None = None


def refuse(session: Session, actor: Actor, action: str, target: str, why: str) -> PermissionDenied:
    """Audit a refused write (committed at once, whatever the caller does next)."""
    audit.record(
        session,
        actor.name,
        "ids.refused",
        "identifier",
        target,
        {
            "attempt": action,
            "refusal": why,
            "actor_role": actor.role,
            "actor_enterprise": actor.enterprise_id,
        },
        user_id=actor.user_id,
    )
    session.commit()
    return PermissionDenied(
        "ids.not_owner",
        "无权操作：该标识前缀属于其他企业（未获授权）",
        "refused: the prefix belongs to another enterprise (no delegation)",
        Location(field="prefix"),
        value=target,
    )


def owned_prefix(session: Session, actor: Actor, prefix: str, action: str) -> IdPrefix:
    """The approved prefix when ``actor`` belongs to the enterprise owning it, or is a provider
    user holding a live delegation on it; anyone else is refused (and audited)."""
    syntax.check_prefix(prefix)
    row = session.scalar(select(IdPrefix).where(IdPrefix.prefix == prefix))
    if row is None or row.status != "approved":
        raise NotFoundError(
            "ids.prefix_unknown",
            "标识前缀不存在或未获批准",
            "the prefix does not exist or is not approved",
            Location(field="prefix"),
            value=prefix,
        )
    if actor.enterprise_id is not None and actor.enterprise_id == row.enterprise_id:
        return row
    if actor.role == "provider" and actor.user_id is not None:
        why = delegation_state(session, row.id, actor.user_id)
        if why == "delegated":
            return row
        raise refuse(session, actor, action, prefix, why)
    raise refuse(session, actor, action, prefix, "not_owner")


# ---------------------------------------------------------------- delegation


def delegation_state(session: Session, prefix_id: int, user_id: int) -> str:
    """``delegated`` while a grant is live; else ``no_delegation``, ``delegation_expired`` or
    ``delegation_revoked`` (the latest grant's end)."""
    now = datetime.now(UTC)
    grants = list(
        session.scalars(
            select(IdDelegation)
            .where(IdDelegation.prefix_id == prefix_id, IdDelegation.provider_user_id == user_id)
            .order_by(IdDelegation.id.desc())
        )
    )
    if any(g.revoked_at is None and _aware(g.expires_at) > now for g in grants):
        return "delegated"
    if not grants:
        return "no_delegation"
    return "delegation_revoked" if grants[0].revoked_at is not None else "delegation_expired"


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _owner_only(session: Session, actor: Actor, prefix: str, action: str) -> IdPrefix:
    """Only a user of the owning enterprise manages delegations (a provider cannot pass its
    rights on)."""
    row = owned_prefix(session, actor, prefix, action)
    if actor.enterprise_id != row.enterprise_id:
        raise refuse(session, actor, action, prefix, "not_owner")
    return row


def _provider(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.role != "provider" or not user.active:
        raise NotFoundError(
            "ids.provider_unknown",
            "服务商用户不存在或已停用",
            "no such active provider user",
            Location(field="provider"),
            value=username,
        )
    return user


def delegate(
    session: Session, actor: Actor, prefix: str, provider: str, expires_at: datetime
) -> IdDelegation:
    """The owner lets provider user ``provider`` write under ``prefix`` until ``expires_at``."""
    row = _owner_only(session, actor, prefix, "delegate")
    user = _provider(session, provider)
    expires_at = _aware(expires_at).astimezone(UTC)
    if expires_at <= datetime.now(UTC):
        raise ValidationError(
            "ids.delegation_past",
            "授权截止时间应晚于现在",
            "the delegation must end in the future",
            Location(field="expires_at"),
            value=expires_at.isoformat(),
        )
    grant = IdDelegation(
        prefix_id=row.id,
        provider_user_id=user.id,
        granted_by=actor.name,
        expires_at=expires_at,
    )
    session.add(grant)
    audit.record(
        session,
        actor.name,
        "ids.delegate",
        "ids_prefix",
        prefix,
        {"provider": user.username, "expires_at": expires_at.isoformat()},
        user_id=actor.user_id,
    )
    session.commit()
    return grant


def revoke_delegation(session: Session, actor: Actor, prefix: str, provider: str) -> int:
    """Revoke every live grant of ``provider`` on ``prefix``; how many were live."""
    row = _owner_only(session, actor, prefix, "revoke_delegation")
    user = _provider(session, provider)
    now = datetime.now(UTC)
    live = [
        g
        for g in session.scalars(
            select(IdDelegation).where(
                IdDelegation.prefix_id == row.id,
                IdDelegation.provider_user_id == user.id,
                IdDelegation.revoked_at.is_(None),
            )
        )
        if _aware(g.expires_at) > now
    ]
    if not live:
        raise NotFoundError(
            "ids.delegation_unknown",
            "该服务商在此前缀上没有有效授权",
            "the provider holds no live delegation on this prefix",
            Location(field="provider"),
            value=provider,
        )
    for g in live:
        g.revoked_at = now
        g.revoked_by = actor.name
    audit.record(
        session,
        actor.name,
        "ids.delegation_revoked",
        "ids_prefix",
        prefix,
        {"provider": user.username},
        user_id=actor.user_id,
    )
    session.commit()
    return len(live)


def delegations(session: Session, prefix_ids: list[int]) -> list[dict[str, Any]]:
    """Grants on these prefixes, newest first, with their state."""
    now = datetime.now(UTC)
    rows = session.execute(
        select(IdDelegation, IdPrefix.prefix, User.username, User.display_name)
        .join(IdPrefix, IdPrefix.id == IdDelegation.prefix_id)
        .join(User, User.id == IdDelegation.provider_user_id)
        .where(IdDelegation.prefix_id.in_(prefix_ids))
        .order_by(IdDelegation.id.desc())
    ).all()
    out = []
    for g, prefix, username, display in rows:
        state = (
            "revoked"
            if g.revoked_at is not None
            else ("live" if _aware(g.expires_at) > now else "expired")
        )
        out.append(
            {
                "id": g.id,
                "prefix": prefix,
                "provider": username,
                "provider_name": display,
                "granted_by": g.granted_by,
                "granted_at": _aware(g.granted_at).isoformat(),
                "expires_at": _aware(g.expires_at).isoformat(),
                "revoked_at": _aware(g.revoked_at).isoformat() if g.revoked_at else None,
                "state": state,
            }
        )
    return out


# ---------------------------------------------------------------- prefixes


def apply_prefix(
    session: Session, actor: Actor, uscc: str, prefix: str, config: NodeConfig
) -> IdPrefix:
    """An enterprise applies for ``prefix`` under this node; the USCC must be in the registry
    (real-name check against ``enterprises``) and an enterprise user may apply only for itself."""
    code = uscc_mod.normalize(uscc)
    syntax.check_prefix(prefix)
    if not config.serves(prefix) or prefix == config.prefix:
        raise ValidationError(
            "ids.prefix_other_node",
            f"前缀应在本节点 {config.prefix} 之下",
            f"the prefix must be under this node {config.prefix}",
            Location(field="prefix"),
            value=prefix,
        )
    ent = session.scalar(select(Enterprise).where(Enterprise.uscc == code))
    if ent is None:
        raise NotFoundError(
            "ids.uscc_unknown",
            "实名核验未通过：统一社会信用代码不在企业库中",
            "real-name check failed: the USCC is not in the enterprise registry",
            Location(field="uscc"),
            value=code,
        )
    if actor.role == "enterprise" and actor.enterprise_id != ent.id:
        raise refuse(session, actor, "apply_prefix", prefix, "other_enterprise")
    if session.scalar(select(IdPrefix.id).where(IdPrefix.prefix == prefix)) is not None:
        raise ConflictError(
            "ids.prefix_taken",
            "该标识前缀已被申请",
            "this prefix has already been applied for",
            Location(field="prefix"),
            value=prefix,
        )
    row = IdPrefix(prefix=prefix, enterprise_id=ent.id, status="pending", applied_by=actor.name)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise ConflictError(
            "ids.prefix_taken", "该标识前缀已被申请", "this prefix has already been applied for"
        ) from exc
    audit.record(
        session,
        actor.name,
        "ids.prefix_apply",
        "ids_prefix",
        prefix,
        {"uscc": code},
        user_id=actor.user_id,
    )
    session.commit()
    return row


def decide_prefix(session: Session, actor: Actor, prefix: str, approve: bool) -> IdPrefix:
    """An officer approves or rejects a pending application (callers check the permission)."""
    row = session.scalar(select(IdPrefix).where(IdPrefix.prefix == prefix))
    if row is None:
        raise NotFoundError(
            "ids.prefix_unknown",
            "标识前缀不存在",
            "no such prefix",
            Location(field="prefix"),
            value=prefix,
        )
    if row.status != "pending":
        raise ConflictError(
            "ids.prefix_decided",
            "该申请已处理",
            "this application was already decided",
            Location(field="prefix"),
            value=prefix,
        )
    row.status = "approved" if approve else "rejected"
    row.approved_by = actor.name
    row.approved_at = datetime.now(UTC)
    audit.record(
        session,
        actor.name,
        "ids.prefix_approved" if approve else "ids.prefix_rejected",
        "ids_prefix",
        prefix,
        {},
        user_id=actor.user_id,
    )
    session.commit()
    return row


# ---------------------------------------------------------------- templates


def builtin_schema(code: str) -> dict:
    return json.loads((HERE / "templates" / f"{code}.json").read_text(encoding="utf-8"))


def put_template(session: Session, actor: str, code: str, schema: dict) -> IdTemplate:
    """A new version of template ``code`` (version 1 when new); the schema must be valid JSON
    Schema (draft 2020-12). Older versions stay: records registered under them keep them."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ValidationError(
            "ids.template_invalid",
            f"模板不是有效的 JSON Schema：{exc.message}",
            f"the template is not valid JSON Schema: {exc.message}",
            Location(field="schema"),
        ) from exc
    if schema.get("type") != "object":
        raise ValidationError(
            "ids.template_invalid",
            "模板的顶层类型应为 object",
            "a template's top-level type must be object",
            Location(field="schema"),
        )
    latest = session.scalar(select(func.max(IdTemplate.version)).where(IdTemplate.code == code))
    row = IdTemplate(
        code=code,
        industry=str(schema.get("x-industry", "C")),
        version=(latest or 0) + 1,
        schema=schema,
        created_by=actor,
    )
    session.add(row)
    audit.record(session, actor, "ids.template", "ids_template", f"{code}@{row.version}", {})
    session.commit()
    return row


def ensure_builtin_templates(session: Session, actor: str = "system") -> None:
    for code in BUILTIN_TEMPLATES:
        if session.scalar(select(IdTemplate.id).where(IdTemplate.code == code)) is None:
            put_template(session, actor, code, builtin_schema(code))


def template(session: Session, code: str, version: int | None = None) -> IdTemplate:
    q = select(IdTemplate).where(IdTemplate.code == code)
    q = q.where(IdTemplate.version == version) if version else q
    row = session.scalar(q.order_by(IdTemplate.version.desc()).limit(1))
    if row is None:
        raise NotFoundError(
            "ids.template_unknown",
            "元数据模板不存在",
            "no such metadata template",
            Location(field="template"),
            value=code,
        )
    return row


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json), format_checker=FormatChecker())


def validator(schema: dict) -> Draft202012Validator:
    return _validator(json.dumps(schema, sort_keys=True))


def template_problems(
    schema: dict, data: Any, checker: Draft202012Validator | None = None
) -> list[dict[str, Any]]:
    """Each violation as ``{field, message}`` (the field is the top-level property)."""
    out = []
    checker = checker or validator(schema)
    for err in sorted(checker.iter_errors(data), key=lambda e: list(e.path)):
        path = list(err.path)
        name = str(path[0]) if path else ""
        if not name and err.validator == "required":
            name = err.message.split("'")[1] if "'" in err.message else ""
        if not name and err.validator == "additionalProperties":
            name = err.message.split("'")[1] if "'" in err.message else ""
        out.append({"field": name, "message": err.message})
    return out


def check_data(schema: dict, data: Any, code: str) -> None:
    problems = template_problems(schema, data)
    if problems:
        p = problems[0]
        raise ValidationError(
            "ids.template_mismatch",
            f"数据不符合模板 {code}：{p['field']} — {p['message']}",
            f"the data does not match template {code}: {p['field']} — {p['message']}",
            Location(field=p["field"] or "data"),
        )


def make_records(schema: dict, data: dict, default_ttl: int) -> list[dict[str, Any]]:
    """Typed records: one per property in the template's order, index 1…n (Handle model)."""
    restricted = set(schema.get("x-restricted") or [])
    ttl = int(schema.get("x-ttl", default_ttl))
    order = list(schema.get("properties", {}))
    keys = [k for k in order if k in data] + sorted(k for k in data if k not in order)
    return [
        {
            "idx": i,
            "type": key,
            "data": data[key],
            "ttl": ttl,
            "permission": "restricted" if key in restricted else "public",
        }
        for i, key in enumerate(keys, start=1)
    ]


def encode_values(schema: dict, data: dict, default_ttl: int) -> str:
    """The identifier's values as stored (``ids_identifiers.vals``): the records of
    :func:`make_records` as one compact JSON array in index order — ``[ttl, [type, data], …]``
    (the TTL common to the public values first, then a public value as ``[type, data]`` and a
    restricted one, or one with another TTL, as ``[type, data, ttl, 1|0]``)."""
    return _encoder(schema, default_ttl)(data)


def _encoder(schema: dict, default_ttl: int) -> Any:
    """:func:`encode_values` for one template, its order, TTL and restricted set resolved once
    (the bulk path: one call per row)."""
    restricted = set(schema.get("x-restricted") or [])
    ttl = int(schema.get("x-ttl", default_ttl))
    order = list(schema.get("properties", {}))
    pos = {k: i for i, k in enumerate(order)}
    last = len(order)
    dumps = orjson.dumps
    plans: dict[tuple, list[tuple[str, bool]]] = {}  # the rows of a file share their keys

    def encode(data: dict) -> str:
        plan = plans.get(tuple(data))
        if plan is None:
            keys = sorted(data, key=lambda k: (pos.get(k, last), k))
            plan = plans[tuple(data)] = [(k, k in restricted) for k in keys]
            if len(plans) > 1024:
                plans.clear()
        out: list[Any] = [ttl]
        for k, r in plan:
            out.append([k, data[k], ttl, 1] if r else [k, data[k]])
        return dumps(out).decode()

    return encode


def values_of(vals: str | None, timestamp: str | None) -> tuple[dict[str, Any], ...]:
    """The stored values as Handle records: index, type, data, ttl, timestamp (the identifier's
    last write: every write replaces all values), permission. Reads both forms of ``vals``:
    ``[ttl, [type, data], [type, data, ttl, restricted], …]`` and, as migration 0021 wrote
    them, ``[[type, data, ttl, restricted], …]``."""
    items = orjson.loads(vals or "[]")
    common = None
    if items and not isinstance(items[0], list):
        common, items = items[0], items[1:]
    out = []
    for i, v in enumerate(items, start=1):
        if len(v) == 2:
            kind, data, ttl, restricted = v[0], v[1], common, 0
        else:
            kind, data, ttl, restricted = v
        out.append(
            {
                "index": i,
                "type": kind,
                "data": data,
                "ttl": ttl,
                "timestamp": timestamp,
                "permission": "restricted" if restricted else "public",
            }
        )
    return tuple(out)


# ---------------------------------------------------------------- registration


def _history(session: Session, ident_id: int, action: str, actor: str, detail: dict) -> None:
    session.add(IdHistory(identifier_id=ident_id, action=action, actor=actor, detail=detail))


def register(
    session: Session,
    actor: Actor,
    text: str,
    template_code: str,
    data: dict,
    config: NodeConfig,
) -> Identifier:
    """Register one identifier: syntax, ownership, template; of two concurrent registrations of
    one suffix the UNIQUE(prefix, suffix) constraint lets one win (``ids.duplicate`` 409)."""
    handle = syntax.parse(text)
    owner = owned_prefix(session, actor, handle.prefix, "register")
    tpl = template(session, template_code)
    check_data(tpl.schema, data, template_code)
    now = datetime.now(UTC)
    ident = Identifier(
        prefix=handle.prefix,
        suffix=handle.suffix,
        prefix_id=owner.id,
        template_id=tpl.id,
        status="live",
        created_by=actor.name,
        created_at=now,
        updated_at=now,
        vals=encode_values(tpl.schema, data, config.default_ttl),
    )
    session.add(ident)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise duplicate(str(handle)) from exc
    _history(session, ident.id, "registered", actor.name, {"template": tpl.code, "v": tpl.version})
    audit.record(
        session,
        actor.name,
        "ids.register",
        "identifier",
        str(handle),
        {},
        user_id=actor.user_id,
    )
    try:
        session.commit()
        invalidate()
    except IntegrityError as exc:
        session.rollback()
        raise duplicate(str(handle)) from exc
    return ident


def duplicate(text: str) -> ConflictError:
    return ConflictError(
        "ids.duplicate",
        "该标识已注册",
        "this identifier is already registered",
        Location(field="identifier"),
        value=text,
    )


def find(session: Session, text: str) -> Identifier | None:
    handle = syntax.parse(text)
    return session.scalar(
        select(Identifier).where(
            Identifier.prefix == handle.prefix, Identifier.suffix == handle.suffix
        )
    )


def _writable(session: Session, actor: Actor, text: str, action: str) -> Identifier:
    handle = syntax.parse(text)
    owned_prefix(session, actor, handle.prefix, action)
    ident = find(session, text)
    if ident is None:
        raise NotFoundError(
            "ids.unknown",
            "标识不存在",
            "no such identifier",
            Location(field="identifier"),
            value=text,
        )
    if ident.status == "withdrawn":
        raise ConflictError(
            "ids.withdrawn",
            "标识已注销",
            "the identifier has been withdrawn",
            Location(field="identifier"),
            value=text,
        )
    return ident


def update(session: Session, actor: Actor, text: str, data: dict, config: NodeConfig) -> Identifier:
    """Replace the records; validated against the template version the identifier pins."""
    ident = _writable(session, actor, text, "update")
    tpl = session.get(IdTemplate, ident.template_id)
    check_data(tpl.schema, data, tpl.code)
    now = datetime.now(UTC)
    ident.vals = encode_values(tpl.schema, data, config.default_ttl)
    ident.updated_at = now
    _history(session, ident.id, "updated", actor.name, {"types": sorted(data)})
    audit.record(session, actor.name, "ids.update", "identifier", text, {}, user_id=actor.user_id)
    session.commit()
    invalidate()
    return ident


def withdraw(session: Session, actor: Actor, text: str, reason: str = "") -> Identifier:
    ident = _writable(session, actor, text, "withdraw")
    now = datetime.now(UTC)
    ident.status = "withdrawn"
    ident.withdrawn_at = now
    ident.updated_at = now
    _history(session, ident.id, "withdrawn", actor.name, {"reason": reason})
    audit.record(
        session,
        actor.name,
        "ids.withdraw",
        "identifier",
        text,
        {"reason": reason},
        user_id=actor.user_id,
    )
    session.commit()
    invalidate()
    return ident


# ---------------------------------------------------------------- resolution


@dataclass
class Resolution:
    status: int  # 200 | 303 | 400 | 404 | 410
    body: dict[str, Any]
    ttl: int | None = None
    location: str | None = None
    restricted_shown: bool = False  # restricted values are in the body (audited by callers)


def history(session: Session, ident_id: int) -> list[dict[str, Any]]:
    """The lifecycle entries of an identifier, oldest first. A bulk registration made live by
    its uploader writes no row per identifier (one row per identifier would double the bulk
    path's writes): its "registered" entry is read from the upload."""
    rows = [
        {"action": h.action, "actor": h.actor, "at": h.at.isoformat(), "detail": h.detail}
        for h in session.scalars(
            select(IdHistory).where(IdHistory.identifier_id == ident_id).order_by(IdHistory.id)
        )
    ]
    if not any(h["action"] == "registered" for h in rows):
        got = session.execute(
            select(Identifier.upload_id, Identifier.created_at, IdUpload.created_by)
            .join(IdUpload, IdUpload.id == Identifier.upload_id)
            .where(Identifier.id == ident_id)
        ).first()
        if got is not None:
            upload_id, at, by = got
            rows.insert(
                0,
                {"action": "registered", "actor": by, "at": _aware(at).isoformat(),
                 "detail": {"upload": upload_id}},
            )  # fmt: skip
    return rows


# One indexed lookup: UNIQUE(prefix, suffix) on the identifier (one row: its values are the
# compact ``vals``) and its template by primary key — a single statement, a single round trip.
_LOOKUP = (
    select(
        Identifier.id,
        Identifier.status,
        Identifier.created_at,
        Identifier.updated_at,
        Identifier.withdrawn_at,
        IdTemplate.code,
        IdTemplate.version,
        IdTemplate.industry,
        Identifier.vals,
    )
    .select_from(Identifier)
    .join(IdTemplate, IdTemplate.id == Identifier.template_id)
    .where(Identifier.prefix == bindparam("p"), Identifier.suffix == bindparam("s"))
)


@dataclass(frozen=True)
class _Found:
    """What the store holds for one identifier (all values, restricted included)."""

    id: int
    status: str
    template: dict[str, Any]
    registered_at: str
    updated_at: str
    withdrawn_at: str | None
    values: tuple[dict[str, Any], ...]
    history: tuple[dict[str, Any], ...]  # only for a withdrawn identifier (410)
    # worked out once per lookup (a cached entry is answered many times)
    public: tuple[dict[str, Any], ...] = ()  # the values anyone sees
    ttl_all: int | None = None  # smallest TTL of all values / of the public ones (None: none)
    ttl_public: int | None = None


class ResolutionCache:
    """An LRU of found identifiers for the resolver alone (``ids serve``; the platform's own
    route reads the store every time). An entry lives at most the smallest TTL of its values
    and at most ``max_age`` seconds; every write of this process (register, update, withdraw,
    bulk, battery) outdates all entries (:func:`invalidate`). A write by ANOTHER process (the
    platform while ``ids serve`` runs apart) is seen after at most ``max_age`` seconds
    (``IB_IDS_CACHE_SECONDS``, default 2; 0 turns the cache off)."""

    def __init__(self, size: int = 20_000, max_age: float | None = None) -> None:
        import threading
        from collections import OrderedDict

        if max_age is None:
            max_age = ids_cache_seconds()
        self.size = size
        self.max_age = max_age
        self.entries: OrderedDict[tuple[str, str, str], tuple[float, int, _Found]] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple[str, str, str]) -> _Found | None:
        if self.max_age <= 0:
            return None
        with self.lock:
            hit = self.entries.get(key)
            if hit is None or hit[0] < time.monotonic() or hit[1] != _VERSION[0]:
                self.misses += 1
                return None
            self.entries.move_to_end(key)
            self.hits += 1
            return hit[2]

    def put(self, key: tuple[str, str, str], found: _Found, version: int) -> None:
        if self.max_age <= 0:
            return
        ttl = self.max_age if found.ttl_all is None else found.ttl_all
        with self.lock:
            self.entries[key] = (time.monotonic() + min(ttl, self.max_age), version, found)
            if len(self.entries) > self.size:
                self.entries.popitem(last=False)


_VERSION = [0]  # bumped by every write of this process: older cache entries are not used


def invalidate() -> None:
    """A write of this process: cached resolutions are stale."""
    _VERSION[0] += 1


def _iso(at: Any) -> str | None:
    """A stored timestamp as the ORM reads it (aware UTC) in ISO form: SQLite keeps naive UTC
    text, PostgreSQL returns an aware ``datetime``."""
    if at is None:
        return None
    if isinstance(at, str):
        return _iso_text(at)
    return (at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)).isoformat()


@lru_cache(maxsize=8192)
def _iso_text(at: str) -> str:  # the records of one registration share their timestamp
    value = datetime.fromisoformat(at)
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).isoformat()


class FastReader:
    """The resolver's lookup on one DBAPI connection kept by the worker (autocommit, so every
    statement sees the latest commit): the same statement as :data:`_LOOKUP` without the
    Session/Result machinery — a third of a resolution's CPU on SQLite. ``ids serve`` only.
    The template (code, version, industry) is kept per id: a template version is never changed
    (a change is a new version, a new id), so the lookup reads the identifier's row alone."""

    def __init__(self, engine: Any) -> None:
        import threading

        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        p = "?" if self.sqlite else "%s"
        self.sql = (
            "SELECT id, status, created_at, updated_at, withdrawn_at, template_id, vals"
            f" FROM ids_identifiers WHERE prefix = {p} AND suffix = {p}"
        )
        self.template_sql = f"SELECT code, version, industry FROM ids_templates WHERE id = {p}"
        self.batch_sql = (
            "SELECT i.prefix, i.suffix, i.id, i.status, i.created_at, i.updated_at,"
            " i.withdrawn_at, i.template_id, i.vals"
            " FROM unnest(%s::text[], %s::text[]) AS k(p, s)"
            " JOIN ids_identifiers i ON i.prefix = k.p AND i.suffix = k.s"
        )  # PostgreSQL only (the batcher of ids serve)
        self.templates: dict[int, tuple] = {}
        self.local = threading.local()
        self.batched = 0  # lookups answered from a prefetch (PostgreSQL's batcher)

    def _conn(self) -> Any:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            # the worker's own connection, detached from the pool: its settings below must
            # never reach a session that checks a pooled connection out
            fairy = self.engine.raw_connection()
            fairy.detach()
            self.local.fairy = fairy
            conn = fairy.dbapi_connection
            if self.sqlite:
                conn.isolation_level = None  # autocommit: no transaction left open
                # reads only; the file's pages mapped instead of copied per read (as far as
                # this SQLite build allows)
                conn.execute("PRAGMA query_only=1")
                conn.execute("PRAGMA mmap_size=8589934592")
            else:
                conn.autocommit = True
            self.local.conn = conn
        return conn

    def prefetch(self, pairs: list[tuple[str, str]]) -> None:
        """Read the rows of several identifiers in ONE statement (PostgreSQL: one round trip
        and one plan for the requests that arrived together); :meth:`row` answers them from
        memory once, the others as usual."""
        pre = self._prefetched()
        if len(pre) > 50_000:  # answers nobody asked for (a parse that differed): let go
            pre.clear()
        cur = self._cursor()
        cur.execute(self.batch_sql, ([p for p, _ in pairs], [s for _, s in pairs]))
        for p, s in pairs:
            pre[(p, s)] = None
        for r in cur.fetchall():
            pre[(r[0], r[1])] = r[2:]

    def _cursor(self) -> Any:
        cur = getattr(self.local, "cur", None)
        if cur is None:
            cur = self.local.cur = self._conn().cursor()
        return cur

    def _prefetched(self) -> dict[tuple[str, str], tuple | None]:
        pre = getattr(self.local, "pre", None)
        if pre is None:
            pre = self.local.pre = {}
        return pre

    def row(self, prefix: str, suffix: str) -> tuple | None:
        """(id, status, registered, updated, withdrawn (ISO), template code, version, industry,
        vals) or None."""
        cur = self._cursor()
        pre = self._prefetched()
        if (prefix, suffix) in pre:
            r = pre.pop((prefix, suffix))
            self.batched += 1
        else:
            cur.execute(self.sql, (prefix, suffix))
            r = cur.fetchone()
        if r is None:
            return None
        tpl = self.templates.get(r[5])
        if tpl is None:
            cur.execute(self.template_sql, (r[5],))
            tpl = self.templates[r[5]] = tuple(cur.fetchone())
        return (*r[:2], _iso(r[2]), _iso(r[3]), _iso(r[4]), *tpl, r[6])


def _lookup(
    session: Session,
    config: NodeConfig,
    prefix: str,
    suffix: str,
    cache: ResolutionCache | None = None,
    reader: FastReader | None = None,
) -> _Found | None:
    key = (config.prefix, prefix, suffix)
    found = cache.get(key) if cache is not None else None
    if found is not None:
        return found
    version = _VERSION[0]
    if reader is not None:
        first = reader.row(prefix, suffix)
    else:
        r = session.connection().execute(_LOOKUP, {"p": prefix, "s": suffix}).first()
        first = None if r is None else (*r[:2], _iso(r[2]), _iso(r[3]), _iso(r[4]), *r[5:])
    if first is None:
        return None
    hist: tuple[dict[str, Any], ...] = ()
    if first[1] == "withdrawn":
        hist = tuple(history(session, first[0]))
    values = values_of(first[8], first[3])
    public = tuple(v for v in values if v["permission"] == "public")
    found = _Found(
        id=first[0],
        status=first[1],
        template={"code": first[5], "version": first[6], "industry": first[7]},
        registered_at=first[2],
        updated_at=first[3],
        withdrawn_at=first[4],
        values=values,
        history=hist,
        public=public,
        ttl_all=min((v["ttl"] for v in values), default=None),
        ttl_public=min((v["ttl"] for v in public), default=None),
    )
    if cache is not None:
        cache.put(key, found, version)
    return found


def resolve(
    session: Session,
    text: str,
    config: NodeConfig,
    restricted_ok: bool = False,
    log: bool | ResolutionLog = True,
    cache: ResolutionCache | None = None,
    reader: FastReader | None = None,
) -> Resolution:
    """Resolve ``prefix/suffix``: 200 with the records (restricted types only with
    ``restricted_ok``), 400 bad syntax, 404 unknown, 410 withdrawn with its history, 303 to the
    node serving a prefix this node does not. One indexed statement (or ``cache``, which only
    ``ids serve`` uses); no ORM or audit machinery — callers audit restricted reads."""
    try:
        handle = syntax.parse(text)
    except ValidationError as exc:
        return Resolution(400, {"code": exc.code, "zh": exc.zh, "en": exc.en, "identifier": text})
    if not config.serves(handle.prefix):
        url = config.delegate(handle.prefix)
        _log(session, log, handle.prefix, None, 303 if url else 404)
        if url:
            return Resolution(
                303,
                {"identifier": text, "node": url},
                location=f"{url}/api/v1/ids/resolve/{text}",
            )
        return Resolution(
            404,
            {
                "code": "ids.prefix_not_served",
                "zh": "本节点不服务该前缀，节点表中也无对应节点",
                "en": "this node does not serve the prefix and knows no node that does",
                "identifier": text,
            },
        )
    found = _lookup(session, config, handle.prefix, handle.suffix, cache, reader)
    if found is None:
        _log(session, log, handle.prefix, None, 404)
        return Resolution(
            404,
            {
                "code": "ids.unknown",
                "zh": "标识不存在",
                "en": "no such identifier",
                "identifier": text,
            },
        )
    if found.status == "withdrawn":
        _log(session, log, handle.prefix, found.template["code"], 410)
        return Resolution(
            410,
            {
                "code": "ids.withdrawn",
                "zh": "标识已注销",
                "en": "the identifier has been withdrawn",
                "identifier": text,
                "withdrawn_at": found.withdrawn_at,
                "history": list(found.history),
            },
        )
    if restricted_ok:
        shown, ttl = list(found.values), found.ttl_all
        restricted_shown = len(found.public) < len(found.values)
    else:
        shown, ttl, restricted_shown = list(found.public), found.ttl_public, False
    _log(session, log, handle.prefix, found.template["code"], 200)
    return Resolution(
        200,
        {
            "identifier": text,
            "template": found.template,
            "status": found.status,
            "registered_at": found.registered_at,
            "updated_at": found.updated_at,
            "values": shown,
            "restricted_hidden": len(found.values) - len(shown),
        },
        ttl=config.default_ttl if ttl is None else ttl,
        restricted_shown=restricted_shown,
    )


def _log(
    session: Session, log: bool | ResolutionLog, prefix: str, tpl: str | None, status: int
) -> None:
    if isinstance(log, ResolutionLog):
        log.add(session, prefix, tpl, status)
        return
    if not log:
        return
    session.add(
        IdResolution(day=datetime.now(UTC).date(), prefix=prefix, template_code=tpl, status=status)
    )
    session.commit()


class ResolutionLog:
    """Resolutions counted in the process — one counter per (day, prefix, template, status) —
    and written as one row per counter (``hits``) when ``max_pending`` answers are waiting or
    ``max_age`` seconds have passed, and at shutdown (:meth:`flush`): one commit per answer
    would make every resolution a write. At most ``max_age`` seconds of counts may be lost if
    the process dies."""

    def __init__(self, max_pending: int = 5000, max_age: float = 2.0) -> None:
        import threading

        self.max_pending = max_pending
        self.max_age = max_age
        self.pending: dict[tuple, int] = {}
        self.waiting = 0
        self.since = time.monotonic()
        self.lock = threading.Lock()

    def add(self, session: Session, prefix: str, tpl: str | None, status: int) -> None:
        key = (datetime.now(UTC).date(), prefix, tpl, status)
        with self.lock:
            self.pending[key] = self.pending.get(key, 0) + 1
            self.waiting += 1
            due = self.waiting >= self.max_pending or time.monotonic() - self.since >= self.max_age
            if not due:
                return
            rows = self._take()
        self._write(session, rows)

    def _take(self) -> list[dict[str, Any]]:
        rows = [
            {"day": d, "prefix": p, "template_code": t, "status": st, "hits": n}
            for (d, p, t, st), n in self.pending.items()
        ]
        self.pending, self.waiting, self.since = {}, 0, time.monotonic()
        return rows

    @staticmethod
    def _write(session: Session, rows: list[dict[str, Any]]) -> None:
        if rows:
            session.connection().execute(IdResolution.__table__.insert(), rows)
            session.commit()

    def flush(self, session: Session) -> None:
        """Write what is waiting (at shutdown)."""
        with self.lock:
            rows = self._take()
        self._write(session, rows)


# ---------------------------------------------------------------- bulk registration


COLUMN_SUFFIX = "suffix"


def read_rows(name: str, content: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as shown in the file, {column: text}) from CSV (UTF-8) or XLSX."""
    if name.lower().endswith(".xlsx"):
        import openpyxl

        wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        for n, values in enumerate(rows, start=2):
            if all(v is None or str(v).strip() == "" for v in values):
                continue
            yield (
                n,
                {
                    h: ("" if v is None else str(v).strip())
                    for h, v in zip(header, values, strict=False)
                    if h
                },
            )
        wb.close()
        return
    # csv.DictReader's rows (empty lines skipped, a short row's missing cells empty, extra
    # cells dropped) without its per-row dict machinery
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig")))
    header = next(reader, [])
    keep = [(i, h.strip()) for i, h in enumerate(header) if h]
    width = len(header)
    n = 1
    for rec in reader:
        if not rec:
            continue
        n += 1
        if len(rec) >= width:
            yield n, {h: rec[i].strip() for i, h in keep}
        else:
            yield n, {h: rec[i].strip() if i < len(rec) else "" for i, h in keep}


def _typed(schema: dict, key: str, text: str) -> Any:
    """A cell's text as the template's property type (integer, number, boolean), else text."""
    kind = (schema.get("properties", {}).get(key) or {}).get("type")
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
        if kind == "boolean":
            return {"true": True, "1": True, "false": False, "0": False}[text.lower()]
    except (ValueError, KeyError):
        return text
    return text


@dataclass
class BulkReport:
    upload_id: int
    status: str  # live | failed
    rows: int
    problems: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "upload_id": self.upload_id,
            "status": self.status,
            "rows": self.rows,
            "problems": self.problems,
        }


# 2019-09 / 2020-12 keywords fastjsonschema (drafts 4–7) would ignore: such a template is checked
# by jsonschema alone
_NEW_KEYWORDS = frozenset(
    {
        "prefixItems",
        "dependentRequired",
        "dependentSchemas",
        "unevaluatedProperties",
        "unevaluatedItems",
        "minContains",
        "maxContains",
        "$dynamicRef",
        "$dynamicAnchor",
        "$recursiveRef",
        "$anchor",
    }
)


def _keywords(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield k
            yield from _keywords(v)
    elif isinstance(node, list):
        for v in node:
            yield from _keywords(v)


@lru_cache(maxsize=256)
def _fast(schema_json: str) -> Any:
    """The template compiled once by fastjsonschema (a pre-check: a row it passes is valid; a
    row it fails is re-checked by jsonschema for the messages), with jsonschema's own format
    checks so both agree; None when the template uses keywords it does not know."""
    import fastjsonschema

    schema = json.loads(schema_json)
    if _NEW_KEYWORDS & set(_keywords(schema)):
        return None

    def conform(func: Any, raises: Any) -> Any:  # FormatChecker.conforms without its layers
        def check(value: Any) -> bool:
            try:
                return bool(func(value))
            except raises:
                return False

        return check

    checker = FormatChecker()
    formats = {name: conform(*pair) for name, pair in checker.checkers.items()}
    schema = {k: v for k, v in schema.items() if k != "$schema"}
    try:
        return fastjsonschema.compile(schema, formats=formats)
    except fastjsonschema.JsonSchemaDefinitionException:
        return None


def bulk(
    session: Session,
    actor: Actor,
    prefix: str,
    filename: str,
    rows: Iterable[tuple[int, dict[str, str]]],
    template_code: str,
    config: NodeConfig,
    max_problems: int = 1000,
    live: bool = True,
    columnar: Callable[[dict], Any] | None = None,
) -> BulkReport:
    """Stage, validate (syntax, template, duplicates in the file and in the store, ownership)
    and — only when no row has a problem — make every identifier live in one transaction.
    Problems are reported with their row and column, like an import.

    Speed: the template is compiled once (fastjsonschema, jsonschema only for a failing row's
    messages); with ``live`` the valid rows go straight into ``ids_identifiers`` (one row per
    identifier, :class:`_Direct`: ``executemany`` on SQLite, ``COPY`` on PostgreSQL, in a
    savepoint rolled back on any problem) and UNIQUE(prefix, suffix) finds duplicates against
    the store — looked up row by row only when the file fails. Without ``live`` (the portal
    shows the report first) rows are staged and :func:`go_live` is set-based SQL. ``columnar``
    (from :func:`bulk_file`) gives, for the template's schema, the file checked and encoded
    column by column (:class:`columnar.Clean`) — its rows are written as they are, ``rows``
    left unread — or None (``rows`` are read)."""
    import fastjsonschema

    owner = owned_prefix(session, actor, prefix, "bulk")
    tpl = template(session, template_code)
    upload = IdUpload(
        prefix_id=owner.id,
        filename=filename,
        status="staged",
        rows=0,
        problems=[],
        created_by=actor.name,
    )
    session.add(upload)
    session.flush()
    upload_id, tpl_id = upload.id, tpl.id
    problems: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    staged: list[tuple[int, int, str, int, str]] = []

    def problem(row: int, column: str, code: str, zh: str, en: str, value: Any = None) -> None:
        if len(problems) < max_problems:
            problems.append(
                {"row": row, "column": column, "code": code, "zh": zh, "en": en, "value": value}
            )

    count = 0
    checker = validator(tpl.schema)
    fast = _fast(json.dumps(tpl.schema, sort_keys=True))
    kinds = {k: (v or {}).get("type") for k, v in tpl.schema.get("properties", {}).items()}
    converters = {k: _CONVERT[t] for k, t in kinds.items() if t in _CONVERT}
    suffix_ok = syntax.SUFFIX_RE.match
    encode = _encoder(tpl.schema, config.default_ttl)
    # live: straight into ids_identifiers inside a savepoint (UNIQUE(prefix, suffix) finds a
    # suffix already in the store; any problem rolls every row back); else staged rows
    writer = _Direct(session, owner, tpl_id, upload_id, actor.name) if live else None
    clashed = False  # the store already holds one of the file's suffixes
    clean = columnar(tpl.schema) if columnar is not None else None
    if clean is not None:
        rows = ()
        count = len(clean.rows)
        step = 100_000
        for i in range(0, count, step):
            if clashed:
                break
            if writer is not None:
                clashed = not writer.write_clean(
                    clean.suffixes[i : i + step], clean.vals[i : i + step]
                )
            else:
                _stage(
                    session,
                    [
                        (upload_id, n, sfx, tpl_id, v)
                        for n, sfx, v in zip(
                            clean.rows[i : i + step],
                            clean.suffixes[i : i + step],
                            clean.vals[i : i + step],
                            strict=True,
                        )
                    ],
                )
    for n, cells in rows:
        count += 1
        suffix = cells.get(COLUMN_SUFFIX, "")
        if not suffix_ok(suffix):
            try:
                syntax.check_suffix(suffix)
            except ValidationError as exc:
                problem(n, COLUMN_SUFFIX, exc.code, exc.zh, exc.en, suffix)
            continue
        if suffix in seen:
            problem(
                n,
                COLUMN_SUFFIX,
                "ids.duplicate_in_file",
                f"与第 {seen[suffix]} 行重复",
                f"duplicates row {seen[suffix]}",
                suffix,
            )
            continue
        seen[suffix] = n
        data = {}
        for k, v in cells.items():
            if k != COLUMN_SUFFIX and v != "":
                conv = converters.get(k)
                data[k] = conv(v) if conv else v
        ok = True
        if fast is not None:
            try:
                fast(data)
            except fastjsonschema.JsonSchemaValueException:
                ok = False
        if fast is None or not ok:
            for p in template_problems(tpl.schema, data, checker):
                ok = False
                problem(
                    n,
                    p["field"] or "data",
                    "ids.template_mismatch",
                    f"不符合模板 {tpl.code}：{p['message']}",
                    f"does not match template {tpl.code}: {p['message']}",
                    data.get(p["field"]),
                )
        if problems or clashed:
            staged.clear()
            continue
        staged.append((upload_id, n, suffix, tpl_id, encode(data)))
        if len(staged) >= 20_000:
            if writer is not None:
                clashed = not writer.write(staged)
            else:
                _stage(session, staged)
            staged.clear()
    if staged and not problems and not clashed:
        if writer is not None:
            clashed = not writer.write(staged)
        else:
            _stage(session, staged)
    staged.clear()
    if writer is not None:
        clashed = not writer.flush() or clashed
        if problems or clashed:
            writer.undo()
    if clean is not None and clashed:  # the rows to name in the store's duplicates
        seen = dict(zip(clean.suffixes, clean.rows, strict=True))
    if not problems and not clashed and writer is None:
        # staged: duplicates against the store by one join of the staged rows
        dups = session.execute(
            text(
                "SELECT u.row, u.suffix FROM ids_upload_rows u JOIN ids_identifiers i"
                " ON i.prefix = :p AND i.suffix = u.suffix WHERE u.upload_id = :u"
                " ORDER BY u.row LIMIT :n"
            ),
            {"p": prefix, "u": upload_id, "n": max_problems},
        ).all()
    elif problems or clashed:  # nothing kept: look the file's suffixes up in chunks
        dups = []
        suffixes = list(seen)
        for i in range(0, len(suffixes), 5000):
            chunk = suffixes[i : i + 5000]
            dups += [
                (seen[s], s)
                for (s,) in session.execute(
                    select(Identifier.suffix).where(
                        Identifier.prefix == prefix, Identifier.suffix.in_(chunk)
                    )
                )
            ]
        dups.sort()
        if clashed and not dups and not problems:  # a concurrent registration since rolled back
            problem(
                0,
                COLUMN_SUFFIX,
                "ids.duplicate",
                "上线时发现已注册的标识（并发注册），全部未上线",
                "an identifier was registered meanwhile; nothing went live",
            )
    else:
        dups = []
    for row, s in dups:
        problem(
            row,
            COLUMN_SUFFIX,
            "ids.duplicate",
            "该标识已注册",
            "this identifier is already registered",
            s,
        )
    upload.rows = count
    if count == 0:
        problem(0, "", "ids.empty_file", "文件中没有数据行", "the file has no data rows")
        if writer is not None:
            writer.undo()
    if problems:
        if writer is None:
            session.execute(delete(IdUploadRow).where(IdUploadRow.upload_id == upload.id))
        upload.status = "failed"
        upload.problems = sorted(problems, key=lambda p: (p["row"], p["column"]))
        upload.finished_at = datetime.now(UTC)
        audit.record(
            session,
            actor.name,
            "ids.bulk_failed",
            "ids_upload",
            str(upload.id),
            {"rows": count, "problems": len(problems)},
            user_id=actor.user_id,
        )
        session.commit()
        return BulkReport(upload.id, "failed", count, upload.problems)
    if writer is None:  # the portal shows the report first; publish_upload makes it live
        session.commit()  # staged: rows validated and stored
        return BulkReport(upload.id, "staged", count, [])
    writer.done()
    upload.status = "live"
    upload.finished_at = writer.now
    audit.record(
        session,
        actor.name,
        "ids.bulk_live",
        "ids_upload",
        str(upload_id),
        {"rows": count},
        user_id=actor.user_id,
    )
    session.commit()
    invalidate()
    _analyze(session, count)
    return BulkReport(upload_id, "live", count, [])


def bulk_file(
    session: Session,
    actor: Actor,
    prefix: str,
    filename: str,
    content: bytes,
    template_code: str,
    config: NodeConfig,
    max_problems: int = 1000,
    live: bool = True,
) -> BulkReport:
    """:func:`bulk` of an uploaded file: a plain CSV whose every row :mod:`columnar` proves
    valid is checked and encoded column by column; any other file (XLSX, quotes, a row that
    may be invalid…) takes the row path, which reports each problem. Same outcome either way."""
    from industry_brain.domains.identifiers import columnar

    def prepare(schema: dict) -> columnar.Clean | None:
        return columnar.prepare(content, schema, config.default_ttl, validator)

    return bulk(
        session,
        actor,
        prefix,
        filename,
        read_rows(filename, content),  # a generator: not read when the columnar path holds
        template_code,
        config,
        max_problems=max_problems,
        live=live,
        columnar=None if filename.lower().endswith(".xlsx") else prepare,
    )


def _copy_field(value: Any) -> str:
    """One value in PostgreSQL ``COPY``'s text format (backslash, tab, newline, CR escaped)."""
    return (
        str(value)
        .replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def _copy_text(values: tuple) -> str:
    return "\t".join(_copy_field(v) for v in values)


class _Direct:
    """The live bulk path's writer: validated rows straight into ``ids_identifiers`` (one row
    per identifier, values encoded) inside a SAVEPOINT of the upload's transaction —
    ``executemany`` on SQLite, ``COPY`` on PostgreSQL. A suffix already in the store (or
    registered concurrently) violates UNIQUE(prefix, suffix): :meth:`write` answers False and
    the caller rolls every row back (:meth:`undo`); nothing is live until the commit.

    A batch is written by one helper thread while the caller parses and validates the next
    (both drivers release the GIL inside the database call; at most one batch is in flight
    and the connection is never used by both threads at once)."""

    COLUMNS = (
        "prefix, suffix, prefix_id, template_id, status, upload_id, created_by, created_at,"
        " updated_at, vals"
    )

    def __init__(
        self, session: Session, owner: IdPrefix, tpl_id: int, upload_id: int, actor: str
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        conn = session.connection()
        self.pg = conn.dialect.name == "postgresql"
        self.raw = conn.connection.dbapi_connection
        self.now = datetime.now(UTC)
        # as UTCDateTime stores it: aware on PostgreSQL, naive UTC text on SQLite
        at: Any = self.now if self.pg else self.now.replace(tzinfo=None).isoformat(" ")
        if not self.pg and "." not in at:
            at += ".000000"
        self.head = (owner.prefix,)
        self.tail = (owner.id, tpl_id, "live", upload_id, actor, at, at)
        self.open = False
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ids-bulk")
        self.pending: Any = None
        self.clashed = False
        self._exec("SAVEPOINT ids_bulk")
        self.open = True

    def _exec(self, sql: str) -> None:
        cur = self.raw.cursor()
        try:
            cur.execute(sql)
        finally:
            cur.close()

    def _insert(self, rows: list[tuple] | bytes) -> bool:
        try:
            if self.pg:
                with (
                    self.raw.cursor() as cur,
                    cur.copy(f"COPY ids_identifiers ({self.COLUMNS}) FROM STDIN") as cp,
                ):
                    cp.write(rows)  # COPY's text format, made by write_clean
            else:
                cur = self.raw.cursor()
                try:
                    cur.executemany(
                        f"INSERT INTO ids_identifiers ({self.COLUMNS})"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        rows,
                    )
                finally:
                    cur.close()
        except Exception as exc:
            if "IntegrityError" not in {c.__name__ for c in type(exc).__mro__}:
                raise
            return False
        return True

    def _wait(self) -> bool:
        """The batch in flight is written; False when the store clashed (so far)."""
        if self.pending is not None:
            pending, self.pending = self.pending, None
            if not pending.result():
                self.clashed = True
                self.undo()
        return not self.clashed

    def write_clean(self, suffixes: list[str], vals: list[str]) -> bool:
        """Queue a batch of suffixes and their encoded values (after the one in flight); False
        once any batch clashed."""
        if not self._wait():
            return False
        head, tail = self.head, self.tail
        rows: list[tuple] | bytes
        if self.pg:  # one block of COPY text (suffixes are plain; values escaped)
            lead = _copy_text(head)
            mid = _copy_text(tail)
            slash = "\\"
            rows = "".join(
                f"{lead}\t{s}\t{mid}\t{_copy_field(v) if slash in v else v}\n"
                for s, v in zip(suffixes, vals, strict=True)
            ).encode()
        else:
            rows = [(*head, s, *tail, v) for s, v in zip(suffixes, vals, strict=True)]
        self.pending = self.pool.submit(self._insert, rows)
        return True

    def write(self, staged: list[tuple[int, int, str, int, str]]) -> bool:
        """:meth:`write_clean` of the row path's staged rows."""
        return self.write_clean([r[2] for r in staged], [r[4] for r in staged])

    def flush(self) -> bool:
        """Every batch written; False when one clashed with the store."""
        ok = self._wait()
        self.pool.shutdown(wait=True)
        return ok

    def undo(self) -> None:
        self._wait_quietly()
        if self.open:
            self._exec("ROLLBACK TO SAVEPOINT ids_bulk")
            self._exec("RELEASE SAVEPOINT ids_bulk")
            self.open = False

    def _wait_quietly(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            with contextlib.suppress(Exception):  # rolled back just after
                pending.result()

    def done(self) -> None:
        if self.open:
            self._exec("RELEASE SAVEPOINT ids_bulk")
            self.open = False


ANALYZE_AFTER = 10_000  # rows of a bulk upload after which PostgreSQL's statistics are renewed


def _analyze(session: Session, rows: int) -> None:
    if session.get_bind().dialect.name == "postgresql" and rows >= ANALYZE_AFTER:
        # fresh planner statistics: a bulk load can multiply a table, and until autovacuum
        # catches up PostgreSQL may plan a lookup as a scan
        session.execute(text("ANALYZE ids_identifiers"))
        session.commit()


def publish_upload(
    session: Session, actor: Actor, upload_id: int, config: NodeConfig
) -> BulkReport:
    """A staged upload goes live (all or nothing), by a writer of its prefix — checked again,
    since a delegation may have ended since the upload was staged."""
    upload = session.get(IdUpload, upload_id)
    if upload is None:
        raise NotFoundError(
            "ids.upload_unknown", "批量注册文件不存在", "no such bulk upload", value=str(upload_id)
        )
    prefix = session.get(IdPrefix, upload.prefix_id)
    owned_prefix(session, actor, prefix.prefix, "bulk_live")
    if upload.status != "staged":
        raise ConflictError(
            "ids.upload_not_staged",
            "该文件不在待上线状态",
            "this upload is not waiting to go live",
            value=str(upload_id),
        )
    return go_live(session, actor, upload_id, config)


def writable_prefixes(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The prefixes ``actor`` may see in the portal: its enterprise's (any status), or for a
    provider user those delegated to it now; with live and withdrawn identifier counts."""
    now = datetime.now(UTC)
    if actor.enterprise_id is not None:
        rows = list(
            session.scalars(
                select(IdPrefix)
                .where(IdPrefix.enterprise_id == actor.enterprise_id)
                .order_by(IdPrefix.prefix)
            )
        )
        via = {r.id: None for r in rows}
    elif actor.role == "provider" and actor.user_id is not None:
        grants = session.execute(
            select(IdPrefix, IdDelegation.expires_at)
            .join(IdDelegation, IdDelegation.prefix_id == IdPrefix.id)
            .where(
                IdDelegation.provider_user_id == actor.user_id,
                IdDelegation.revoked_at.is_(None),
                IdPrefix.status == "approved",
            )
            .order_by(IdPrefix.prefix)
        ).all()
        rows, via = [], {}
        for p, until in grants:
            if _aware(until) > now and p.id not in via:
                rows.append(p)
                via[p.id] = _aware(until)
    else:
        return []
    counts: dict[tuple[int, str], int] = {
        (pid, st): n
        for pid, st, n in session.execute(
            select(Identifier.prefix_id, Identifier.status, func.count())
            .where(Identifier.prefix_id.in_([r.id for r in rows]))
            .group_by(Identifier.prefix_id, Identifier.status)
        )
    }
    owners = dict(
        session.execute(
            select(Enterprise.id, Enterprise.name).where(
                Enterprise.id.in_({r.enterprise_id for r in rows})
            )
        ).all()
    )
    return [
        {
            "id": r.id,
            "prefix": r.prefix,
            "status": r.status,
            "enterprise": owners.get(r.enterprise_id, ""),
            "applied_at": r.applied_at,
            "live": counts.get((r.id, "live"), 0),
            "withdrawn": counts.get((r.id, "withdrawn"), 0),
            "delegated_until": via.get(r.id),
        }
        for r in rows
    ]


def pending_prefixes(session: Session) -> list[dict[str, Any]]:
    """Applications waiting for an officer, oldest first."""
    rows = session.execute(
        select(IdPrefix, Enterprise.name, Enterprise.uscc)
        .join(Enterprise, Enterprise.id == IdPrefix.enterprise_id)
        .where(IdPrefix.status == "pending")
        .order_by(IdPrefix.id)
    ).all()
    return [
        {
            "prefix": p.prefix,
            "enterprise": name,
            "uscc": uscc,
            "applied_at": p.applied_at,
            "applied_by": p.applied_by,
        }
        for p, name, uscc in rows
    ]


def _bool(text: str) -> Any:
    return {"true": True, "1": True, "false": False, "0": False}.get(text.lower(), text)


def _int(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text


def _float(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


_CONVERT = {"integer": _int, "number": _float, "boolean": _bool}


def _stage(session: Session, rows: list[tuple[int, int, str, int, str]]) -> None:
    """Staged rows in the session's transaction: ``COPY`` on PostgreSQL, one ``executemany``
    on SQLite."""
    conn = session.connection()
    raw = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        with (
            raw.cursor() as cur,
            cur.copy(
                "COPY ids_upload_rows (upload_id, row, suffix, template_id, data) FROM STDIN"
            ) as cp,
        ):
            for r in rows:
                cp.write_row(r)
        return
    cur = raw.cursor()
    try:
        cur.executemany(
            "INSERT INTO ids_upload_rows (upload_id, row, suffix, template_id, data)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )
    finally:
        cur.close()


def go_live(session: Session, actor: Actor, upload_id: int, config: NodeConfig) -> BulkReport:
    """Every staged row becomes a live identifier in ONE transaction, or none does: one
    ``INSERT … SELECT`` makes the identifiers (the staged rows carry the encoded values), one
    the history (naming the publisher)."""
    upload = session.get(IdUpload, upload_id)
    owner = session.get(IdPrefix, upload.prefix_id)
    now = datetime.now(UTC)
    pg = session.get_bind().dialect.name == "postgresql"
    at = bindparam("now", now, type_=UTCDateTime())
    try:
        session.execute(
            text(
                "INSERT INTO ids_identifiers (prefix, suffix, prefix_id, template_id, status,"
                " upload_id, created_by, created_at, updated_at, vals)"
                " SELECT :prefix, u.suffix, :pid, u.template_id, 'live', :u, :actor, :now, :now,"
                + (" CAST(u.data AS TEXT)" if pg else " u.data")
                + " FROM ids_upload_rows u WHERE u.upload_id = :u ORDER BY u.id"
            ).bindparams(at),
            {"prefix": owner.prefix, "pid": owner.id, "u": upload_id, "actor": actor.name},
        )
        # the publisher may not be the uploader: one history row per identifier names it
        session.execute(
            text(
                "INSERT INTO ids_history (identifier_id, action, actor, at, detail)"
                " SELECT i.id, 'registered', :actor, :now,"
                + (" CAST(:detail AS JSON)" if pg else " :detail")
                + " FROM ids_upload_rows u"
                " JOIN ids_identifiers i ON i.prefix = :prefix AND i.suffix = u.suffix"
                " WHERE u.upload_id = :u"
            ).bindparams(at),
            {
                "actor": actor.name,
                "detail": json.dumps({"upload": upload_id}),
                "prefix": owner.prefix,
                "u": upload_id,
            },
        )
        session.execute(delete(IdUploadRow).where(IdUploadRow.upload_id == upload_id))
        upload.status = "live"
        upload.finished_at = now
        audit.record(
            session,
            actor.name,
            "ids.bulk_live",
            "ids_upload",
            str(upload_id),
            {"rows": upload.rows},
            user_id=actor.user_id,
        )
        session.commit()
        invalidate()
        _analyze(session, upload.rows or 0)
    except IntegrityError:
        session.rollback()
        upload = session.get(IdUpload, upload_id)
        upload.status = "failed"
        upload.problems = [
            {
                "row": 0,
                "column": COLUMN_SUFFIX,
                "code": "ids.duplicate",
                "zh": "上线时发现已注册的标识（并发注册），全部未上线",
                "en": "an identifier was registered meanwhile; nothing went live",
                "value": None,
            }
        ]
        upload.finished_at = datetime.now(UTC)
        session.execute(delete(IdUploadRow).where(IdUploadRow.upload_id == upload_id))
        session.commit()
        return BulkReport(upload_id, "failed", upload.rows, upload.problems)
    return BulkReport(upload_id, "live", upload.rows, [])
