"""The market's rules: providers, solutions with versions and review, leads and ratings.

Who may do what (permissions from the plugin, checked here, not only in the pages):

- officers (``market.manage``: admin, city officer) register providers and their
  recognitions, link and unlink provider users (one provider per user), import the
  bureau's XLSX collection and review versions (``market.review``); a version is published
  only by an officer's approval; the administrator (``market.provider_accounts``) also
  creates a provider's accounts;
- a provider user (role ``provider``, linked to one provider) adds solutions and edits them —
  its own only: an attempt on another provider's solution or lead is refused
  (``market.not_owner``) and the refusal audited (committed at once);
- an enterprise user requests a contact about a published solution (a lead of the solution's
  provider), sees its own leads and rates a delivered contract once;
- a provider sees only its own leads and records their outcome: requested → contacted →
  contracted (amount in 万元) → delivered, or declined before a contract.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from industry_brain.core.errors import (
    ConflictError,
    IBError,
    Location,
    NotFoundError,
    ValidationError,
)
from industry_brain.core.uscc import normalize as normalize_uscc
from industry_brain.domains.market import codes, search
from industry_brain.domains.market.models import (
    MarketLead,
    MarketProvider,
    MarketProviderUser,
    MarketRating,
    MarketRecognition,
    MarketSolution,
    MarketSolutionVersion,
)
from industry_brain.store import audit
from industry_brain.store.models import Enterprise, Region, User
from industry_brain.store.scope import PermissionDenied, Scope

FIELDS = (
    "title",
    "summary",
    "subdomains",
    "industries",
    "sizes",
    "price_min",
    "price_max",
    "delivery_days",
    "cases",
)
TRANSITIONS = {
    "requested": ("contacted", "declined"),
    "contacted": ("contracted", "declined"),
    "contracted": ("delivered",),
}


def _now() -> datetime:
    return datetime.now(UTC)


def _invalid(code: str, zh: str, en: str, field: str | None = None, value: Any = None) -> Exception:
    return ValidationError(f"market.{code}", zh, en, Location(field=field), value)


def _not_found(what: str, ident: Any) -> Exception:
    return NotFoundError(
        "market.not_found", f"未找到{what}：{ident}", f"not found: {ident}", value=str(ident)
    )


def refuse(
    session: Session, scope: Scope, attempt: str, object_type: str, target: str
) -> Exception:
    """Audit a refused attempt on another provider's object (committed at once)."""
    session.rollback()
    audit.record(
        session,
        scope.username,
        "market.refused",
        object_type,
        target,
        {"attempt": attempt, "actor_role": scope.role},
        user_id=scope.user_id,
    )
    session.commit()
    return PermissionDenied(
        "market.not_owner",
        "无权操作：该对象属于其他服务商",
        "refused: this belongs to another provider",
        Location(field=object_type),
        value=target,
    )


# -- providers ---------------------------------------------------------------------------------
def provider_of(session: Session, scope: Scope) -> MarketProvider | None:
    """The provider a ``provider`` user acts for (None for other roles or an unlinked user)."""
    if scope.role != "provider" or scope.user_id is None:
        return None
    pid = session.scalar(
        select(MarketProviderUser.provider_id).where(MarketProviderUser.user_id == scope.user_id)
    )
    return session.get(MarketProvider, pid) if pid else None


def _regions(session: Session, values: list[str]) -> list[str]:
    out = []
    for v in values:
        v = str(v).strip()
        if not v:
            continue
        if session.get(Region, v) is None:
            raise _invalid(
                "region", f"行政区划代码“{v}”不存在", f"unknown region code '{v}'", "regions", v
            )
        out.append(v)
    return sorted(set(out))


def register_provider(
    session: Session,
    scope: Scope,
    uscc: str,
    name: str,
    kind: str,
    regions: list[str],
    staff: int,
    contact: str | None = None,
    intro: str | None = None,
) -> MarketProvider:
    """Register (or update) a provider by USCC (check character verified)."""
    scope.require("market.manage")
    code = normalize_uscc(uscc, Location(field="uscc"))
    if kind not in codes.PROVIDER_KINDS:
        raise _invalid(
            "kind", f"服务商类型“{kind}”无效", f"invalid provider type '{kind}'", "kind", kind
        )
    if not name.strip():
        raise _invalid("name", "服务商名称不能为空", "the provider's name is empty", "name")
    if staff < 0:
        raise _invalid("staff", "人员数不能为负", "staff cannot be negative", "staff", staff)
    p = session.scalar(select(MarketProvider).where(MarketProvider.uscc == code))
    new = p is None
    if p is None:
        p = MarketProvider(uscc=code, created_by=scope.username, status="active")
        session.add(p)
    p.name, p.kind, p.staff = name.strip(), kind, int(staff)
    p.regions = _regions(session, regions)
    p.contact, p.intro = contact, intro
    session.flush()
    audit.record(
        session,
        scope.username,
        "market.provider" if new else "market.provider_update",
        "market_provider",
        str(p.id),
        {"uscc": code, "kind": kind},
        user_id=scope.user_id,
    )
    return p


def add_recognition(
    session: Session,
    scope: Scope,
    provider_id: int,
    kind: str,
    year: int,
    issuer: str,
    expires: date | None,
) -> MarketRecognition:
    scope.require("market.manage")
    if session.get(MarketProvider, provider_id) is None:
        raise _not_found("服务商", provider_id)
    if kind not in codes.RECOGNITIONS:
        raise _invalid(
            "recognition", f"认定类型“{kind}”无效", f"invalid recognition '{kind}'", "kind", kind
        )
    if expires is not None and expires.year < year:
        raise _invalid(
            "expiry",
            "有效期早于认定年度",
            "the expiry is before the year of recognition",
            "expires",
        )
    r = MarketRecognition(
        provider_id=provider_id, kind=kind, year=int(year), issuer=issuer.strip(), expires=expires
    )
    session.add(r)
    session.flush()
    audit.record(
        session,
        scope.username,
        "market.recognition",
        "market_provider",
        str(provider_id),
        {"kind": kind, "year": year},
        user_id=scope.user_id,
    )
    return r


#: a provider account's username: a lower-case letter, then letters, digits, ``_ . -`` (3–64)
USERNAME = re.compile(r"[a-z][a-z0-9_.-]{2,63}")
#: the shortest initial password an officer may give a provider account
PASSWORD_MIN = 10


def _user_field(code: str, zh: str, en: str, value: Any, kind: type[IBError] = ValidationError):
    return kind(f"market.{code}", zh, en, Location(field="username"), value)


def link_user(session: Session, scope: Scope, username: str, provider_id: int) -> User:
    """Make ``username`` (role ``provider``, active) act for the provider.

    A user acts for one provider at most: a user linked to another provider is refused
    (``market.user_linked``, unlink it there first), as is a second link to the same one
    (``market.already_linked``). Every refusal names the ``username`` field."""
    scope.require("market.manage")
    name = username.strip()
    if session.get(MarketProvider, provider_id) is None:
        raise _not_found("服务商", provider_id)
    if not name:
        raise _user_field("username_empty", "请填写用户名", "enter a username", name)
    user = session.scalar(select(User).where(User.username == name))
    if user is None:
        raise _user_field(
            "user_not_found",
            f"用户“{name}”不存在",
            f"no user '{name}'",
            name,
            NotFoundError,
        )
    if user.role != "provider":
        raise _user_field(
            "user_role",
            f"用户“{name}”不是服务商角色，不能关联服务商",
            f"the user '{name}' does not have the provider role and cannot act for a provider",
            name,
        )
    if not user.active:
        raise _user_field(
            "user_inactive",
            f"用户“{name}”已停用",
            f"the user '{name}' is deactivated",
            name,
        )
    link = session.get(MarketProviderUser, user.id)
    if link is not None:
        if link.provider_id == provider_id:
            raise _user_field(
                "already_linked",
                f"用户“{name}”已关联本服务商",
                f"the user '{name}' already acts for this provider",
                name,
                ConflictError,
            )
        other = session.get(MarketProvider, link.provider_id)
        other_name = other.name if other is not None else str(link.provider_id)
        raise _user_field(
            "user_linked",
            f"用户“{name}”已关联服务商“{other_name}”；一个账号只能关联一个服务商，请先在该服务商页面解除关联",
            f"the user '{name}' already acts for the provider '{other_name}'; an account acts "
            "for one provider only: unlink it on that provider's page first",
            name,
            ConflictError,
        )
    session.add(MarketProviderUser(user_id=user.id, provider_id=provider_id))
    session.flush()
    audit.record(
        session,
        scope.username,
        "market.link_user",
        "market_provider",
        str(provider_id),
        {"username": name},
        user_id=scope.user_id,
    )
    return user


def unlink_user(session: Session, scope: Scope, provider_id: int, user_id: int) -> User:
    """End the link of a user with the provider (the account stays; it sees an empty desk)."""
    scope.require("market.manage")
    if session.get(MarketProvider, provider_id) is None:
        raise _not_found("服务商", provider_id)
    link = session.get(MarketProviderUser, user_id)
    user = session.get(User, user_id)
    if link is None or user is None or link.provider_id != provider_id:
        raise NotFoundError(
            "market.not_linked",
            "该用户未关联本服务商",
            "the user does not act for this provider",
            Location(field="user_id"),
            value=str(user_id),
        )
    session.delete(link)
    session.flush()
    audit.record(
        session,
        scope.username,
        "market.unlink_user",
        "market_provider",
        str(provider_id),
        {"username": user.username},
        user_id=scope.user_id,
    )
    return user


def create_provider_user(
    session: Session,
    scope: Scope,
    provider_id: int,
    username: str,
    display_name: str,
    password: str,
    hash_password: Callable[[str], str],
) -> User:
    """A new account of role ``provider`` acting for the provider (``market.provider_accounts``:
    the administrator). The password is hashed by ``hash_password`` (the platform's argon2id)
    and never audited."""
    scope.require("market.provider_accounts")
    p = session.get(MarketProvider, provider_id)
    if p is None:
        raise _not_found("服务商", provider_id)
    name = username.strip()
    if not USERNAME.fullmatch(name):
        raise _user_field(
            "username_format",
            "用户名须为 3–64 个字符：小写字母开头，仅含小写字母、数字和 _ . -",
            "a username has 3–64 characters: a lower-case letter first, then lower-case "
            "letters, digits and _ . - only",
            name,
        )
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise _user_field(
            "username_taken",
            f"用户名“{name}”已被使用",
            f"the username '{name}' is taken",
            name,
            ConflictError,
        )
    shown = display_name.strip()
    if not shown:
        raise _invalid(
            "display_name", "请填写姓名或名称", "enter the account's name", "display_name"
        )
    if len(password) < PASSWORD_MIN:
        raise _invalid(
            "password_short",
            f"初始密码至少 {PASSWORD_MIN} 个字符",
            f"the initial password needs at least {PASSWORD_MIN} characters",
            "password",
        )
    user = User(
        username=name,
        display_name=shown,
        role="provider",
        organisation=p.name,
        password_hash=hash_password(password),
        active=True,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        scope.username,
        "market.provider_user",
        "market_provider",
        str(provider_id),
        {"username": name},
        user_id=scope.user_id,
    )
    link_user(session, scope, name, provider_id)
    return user


def provider_users(session: Session, provider_id: int) -> list[User]:
    """The accounts acting for the provider, by username."""
    return list(
        session.scalars(
            select(User)
            .join(MarketProviderUser, MarketProviderUser.user_id == User.id)
            .where(MarketProviderUser.provider_id == provider_id)
            .order_by(User.username)
        )
    )


def find_provider_users(session: Session, text_: str, limit: int = 20) -> list[dict[str, Any]]:
    """Accounts of role ``provider`` whose username or name contains ``text_`` (at least 2
    characters), each with the provider it acts for (``None`` when free)."""
    q = text_.strip()
    if len(q) < 2:
        return []
    rows = session.execute(
        select(User, MarketProvider.name)
        .outerjoin(MarketProviderUser, MarketProviderUser.user_id == User.id)
        .outerjoin(MarketProvider, MarketProvider.id == MarketProviderUser.provider_id)
        .where(
            User.role == "provider",
            User.active.is_(True),
            or_(
                User.username.contains(q.lower(), autoescape=True),
                User.display_name.contains(q, autoescape=True),
            ),
        )
        .order_by(User.username)
        .limit(limit)
    ).all()
    return [{"user": u, "provider": pname} for u, pname in rows]


def ratings(
    session: Session, provider_ids: list[int] | None = None
) -> dict[int, tuple[float, int]]:
    """Provider id → (mean rating, number of ratings)."""
    q = select(MarketRating.provider_id, func.avg(MarketRating.score), func.count()).group_by(
        MarketRating.provider_id
    )
    if provider_ids is not None:
        q = q.where(MarketRating.provider_id.in_(provider_ids))
    return {pid: (round(float(avg), 4), int(n)) for pid, avg, n in session.execute(q).all()}


def provider_detail(session: Session, provider_id: int, today: date) -> dict[str, Any]:
    p = session.get(MarketProvider, provider_id)
    if p is None:
        raise _not_found("服务商", provider_id)
    recs = session.scalars(
        select(MarketRecognition)
        .where(MarketRecognition.provider_id == p.id)
        .order_by(MarketRecognition.year.desc(), MarketRecognition.id)
    ).all()
    names = dict(
        session.execute(select(Region.code, Region.name).where(Region.code.in_(p.regions))).all()
    )
    rating = ratings(session, [p.id]).get(p.id)
    sols = session.scalars(
        select(MarketSolution)
        .where(MarketSolution.provider_id == p.id, MarketSolution.published_version.is_not(None))
        .order_by(MarketSolution.code)
    ).all()
    return {
        "provider": p,
        "recognitions": [
            {
                "kind": r.kind,
                "year": r.year,
                "issuer": r.issuer,
                "expires": r.expires,
                "valid": r.expires is None or r.expires >= today,
            }
            for r in recs
        ],
        "regions": [(c, names.get(c, c)) for c in p.regions],
        "rating": rating,
        "solutions": [(s, version(session, s.id, s.published_version)) for s in sols],
    }


def providers(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(MarketProvider).order_by(MarketProvider.name)).all()
    rated = ratings(session)
    n_sol = dict(
        session.execute(
            select(MarketSolution.provider_id, func.count())
            .where(MarketSolution.published_version.is_not(None))
            .group_by(MarketSolution.provider_id)
        ).all()
    )
    return [
        {"provider": p, "rating": rated.get(p.id), "solutions": int(n_sol.get(p.id, 0))}
        for p in rows
    ]


# -- solutions ---------------------------------------------------------------------------------
def clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Check a solution's fields (raises ``ValidationError`` naming the field)."""
    out = {k: fields.get(k) for k in FIELDS}
    out["title"] = str(out["title"] or "").strip()
    out["summary"] = str(out["summary"] or "").strip()
    if not out["title"]:
        raise _invalid("title", "方案名称不能为空", "the title is empty", "title")
    if len(out["title"]) > 200:
        raise _invalid("title", "方案名称超过 200 字", "the title is longer than 200", "title")
    subs = [str(s).strip() for s in (out["subdomains"] or []) if str(s).strip()]
    known = codes.subdomains()
    for s in subs:
        if s not in known:
            raise _invalid(
                "subdomain",
                f"能力子域“{s}”不在 GB/T 39116 的子域中",
                f"'{s}' is not a GB/T 39116 sub-domain",
                "subdomains",
                s,
            )
    if not subs:
        raise _invalid(
            "subdomain", "至少选择一个能力子域", "choose at least one sub-domain", "subdomains"
        )
    out["subdomains"] = sorted(set(subs), key=list(known).index)
    inds = [str(i).strip() for i in (out["industries"] or []) if str(i).strip()]
    for i in inds:
        if not (i.isdigit() and len(i) in (2, 3, 4)):
            raise _invalid(
                "industry",
                f"行业代码“{i}”不是 GB/T 4754 的大类、中类或小类代码",
                f"'{i}' is not a GB/T 4754 division, group or class code",
                "industries",
                i,
            )
    out["industries"] = sorted(set(inds))
    sizes = [str(s).strip() for s in (out["sizes"] or []) if str(s).strip()]
    for s in sizes:
        if s not in codes.SIZES:
            raise _invalid("size", f"企业规模“{s}”无效", f"invalid firm size '{s}'", "sizes", s)
    out["sizes"] = [s for s in codes.SIZES if s in sizes]
    try:
        lo, hi = float(out["price_min"]), float(out["price_max"])
        days = int(out["delivery_days"])
    except (TypeError, ValueError) as exc:
        raise _invalid(
            "number",
            "价格或交付周期不是数字",
            "price or delivery time is not a number",
            "price_min",
        ) from exc
    if lo < 0 or hi < lo:
        raise _invalid(
            "price",
            "价格区间无效（下限 ≥ 0 且不高于上限）",
            "invalid price range (0 ≤ min ≤ max)",
            "price_min",
        )
    if days <= 0:
        raise _invalid(
            "delivery",
            "交付周期须为正的天数",
            "the delivery time must be positive days",
            "delivery_days",
        )
    out["price_min"], out["price_max"], out["delivery_days"] = lo, hi, days
    cases = []
    for c in out["cases"] or []:
        ind = str(c.get("industry") or "").strip()
        if ind and not (ind.isdigit() and len(ind) in (2, 3, 4)):
            raise _invalid(
                "case_industry",
                f"案例行业代码“{ind}”无效",
                f"invalid case industry '{ind}'",
                "cases",
                ind,
            )
        cases.append(
            {
                "enterprise": str(c.get("enterprise") or "").strip(),
                "industry": ind,
                "result": str(c.get("result") or "").strip(),
            }
        )
    out["cases"] = cases
    return out


def _owned_solution(
    session: Session, scope: Scope, solution_id: int, attempt: str
) -> MarketSolution:
    s = session.get(MarketSolution, solution_id)
    if s is None:
        raise _not_found("方案", solution_id)
    if scope.role == "provider":
        own = provider_of(session, scope)
        if own is None or own.id != s.provider_id:
            raise refuse(session, scope, attempt, "market_solution", str(solution_id))
    else:
        scope.require("market.manage")
    return s


def _next_code(session: Session) -> str:
    n = session.scalar(select(func.count()).select_from(MarketSolution)) or 0
    while True:
        n += 1
        code = f"S{n:05d}"
        if session.scalar(select(MarketSolution.id).where(MarketSolution.code == code)) is None:
            return code


def create_solution(
    session: Session,
    scope: Scope,
    fields: dict[str, Any],
    provider_id: int | None = None,
    source: str = "web",
    code: str | None = None,
) -> MarketSolution:
    """A new solution (version 1, awaiting review). A provider user adds to its own provider
    only; an officer names the provider."""
    if scope.role == "provider":
        own = provider_of(session, scope)
        if own is None:
            raise PermissionDenied(
                "market.no_provider",
                "该用户尚未关联服务商",
                "this user is not linked to a provider",
                Location(field="provider"),
            )
        if provider_id is not None and provider_id != own.id:
            raise refuse(session, scope, "create_solution", "market_provider", str(provider_id))
        provider_id = own.id
    else:
        scope.require("market.manage")
    if provider_id is None or session.get(MarketProvider, provider_id) is None:
        raise _not_found("服务商", provider_id)
    data = clean_fields(fields)
    s = MarketSolution(
        code=code or _next_code(session),
        provider_id=provider_id,
        status="pending",
        latest_version=1,
        created_by=scope.username,
    )
    session.add(s)
    session.flush()
    session.add(
        MarketSolutionVersion(
            solution_id=s.id,
            version=1,
            source=source,
            review_status="pending",
            created_by=scope.username,
            **data,
        )
    )
    audit.record(
        session,
        scope.username,
        "market.solution",
        "market_solution",
        str(s.id),
        {"code": s.code, "version": 1, "source": source},
        user_id=scope.user_id,
    )
    session.flush()
    return s


def edit_solution(
    session: Session, scope: Scope, solution_id: int, fields: dict[str, Any]
) -> MarketSolutionVersion:
    """A new version (awaiting review); the published version stays in the catalog until the
    new one is approved, and every older version stays readable."""
    s = _owned_solution(session, scope, solution_id, "edit_solution")
    data = clean_fields(fields)
    s.latest_version += 1
    v = MarketSolutionVersion(
        solution_id=s.id,
        version=s.latest_version,
        source="web",
        review_status="pending",
        created_by=scope.username,
        **data,
    )
    session.add(v)
    audit.record(
        session,
        scope.username,
        "market.solution_version",
        "market_solution",
        str(s.id),
        {"version": s.latest_version},
        user_id=scope.user_id,
    )
    session.flush()
    return v


def version(session: Session, solution_id: int, number: int | None) -> MarketSolutionVersion | None:
    if number is None:
        return None
    return session.scalars(
        select(MarketSolutionVersion).where(
            MarketSolutionVersion.solution_id == solution_id,
            MarketSolutionVersion.version == number,
        )
    ).first()


def review(
    session: Session,
    scope: Scope,
    solution_id: int,
    number: int,
    decision: str,
    note: str | None = None,
) -> MarketSolutionVersion:
    """An officer approves (publishes) or rejects (with a note) a pending version."""
    scope.require("market.review")
    s = session.get(MarketSolution, solution_id)
    v = version(session, solution_id, number) if s else None
    if s is None or v is None:
        raise _not_found("方案版本", f"{solution_id}/{number}")
    if v.review_status != "pending":
        raise ConflictError(
            "market.reviewed", "该版本已审核", "this version was reviewed already", value=number
        )
    if decision not in ("approve", "reject"):
        raise _invalid("decision", "审核结论无效", "invalid decision", "decision", decision)
    if decision == "reject" and not (note or "").strip():
        raise _invalid("note", "退回须填写意见", "a rejection needs a note", "note")
    if decision == "approve" and s.published_version is not None and number < s.published_version:
        raise ConflictError(
            "market.stale_version",
            "已发布更新的版本，不能发布旧版本",
            "a newer version is published: an older one cannot be",
            value=number,
        )
    v.review_status = "approved" if decision == "approve" else "rejected"
    v.reviewed_by, v.reviewed_at, v.review_note = (
        scope.username,
        _now(),
        (note or "").strip() or None,
    )
    if decision == "approve":
        s.published_version, s.status = number, "published"
        session.flush()
        search.index_solution(session, s)
    elif s.published_version is None:
        s.status = "rejected"
    audit.record(
        session,
        scope.username,
        f"market.{decision}",
        "market_solution",
        str(s.id),
        {"version": number, "note": v.review_note},
        user_id=scope.user_id,
    )
    session.flush()
    return v


def queue(session: Session) -> list[dict[str, Any]]:
    """Versions awaiting review, oldest first."""
    rows = session.execute(
        select(MarketSolutionVersion, MarketSolution, MarketProvider)
        .join(MarketSolution, MarketSolution.id == MarketSolutionVersion.solution_id)
        .join(MarketProvider, MarketProvider.id == MarketSolution.provider_id)
        .where(MarketSolutionVersion.review_status == "pending")
        .order_by(MarketSolutionVersion.id)
    ).all()
    return [{"version": v, "solution": s, "provider": p} for v, s, p in rows]


def may_see_unpublished(session: Session, scope: Scope, s: MarketSolution) -> bool:
    if scope.can("market.review"):
        return True
    own = provider_of(session, scope)
    return own is not None and own.id == s.provider_id


def solution_detail(
    session: Session, scope: Scope, solution_id: int, number: int | None = None
) -> dict[str, Any]:
    """A solution and one of its versions (the published one by default). Unpublished versions
    are shown to the owning provider and the reviewers only."""
    scope.require("market.view")
    s = session.get(MarketSolution, solution_id)
    if s is None:
        raise _not_found("方案", solution_id)
    insider = may_see_unpublished(session, scope, s)
    if s.published_version is None and not insider:
        raise _not_found("方案", solution_id)
    wanted = number or (s.published_version if not insider else s.latest_version)
    if (
        not insider
        and wanted != s.published_version
        and (s.published_version is None or wanted > s.published_version)
    ):
        raise _not_found("方案版本", f"{solution_id}/{wanted}")
    v = version(session, s.id, wanted)
    if v is None or (not insider and v.review_status != "approved"):
        raise _not_found("方案版本", f"{solution_id}/{wanted}")
    versions = session.scalars(
        select(MarketSolutionVersion)
        .where(MarketSolutionVersion.solution_id == s.id)
        .order_by(MarketSolutionVersion.version.desc())
    ).all()
    if not insider:
        versions = [x for x in versions if x.review_status == "approved"]
    p = session.get(MarketProvider, s.provider_id)
    return {
        "solution": s,
        "version": v,
        "versions": versions,
        "provider": p,
        "rating": ratings(session, [p.id]).get(p.id),
        "insider": insider,
        "can_edit": scope.role == "provider" and insider,
    }


def provider_solutions(session: Session, provider_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(MarketSolution, MarketSolutionVersion)
        .join(
            MarketSolutionVersion,
            (MarketSolutionVersion.solution_id == MarketSolution.id)
            & (MarketSolutionVersion.version == MarketSolution.latest_version),
        )
        .where(MarketSolution.provider_id == provider_id)
        .order_by(MarketSolution.code)
    ).all()
    return [{"solution": s, "latest": v} for s, v in rows]


# the catalog page's rows per (store, query, limit), reused while the catalog's stamp holds
# (the match service's: published versions, ratings, providers) and at most CATALOG_SECONDS
CATALOG_SECONDS = 60.0
_CATALOG_PAGES: dict[tuple[str, str, int], tuple[tuple, float, list[dict[str, Any]]]] = {}
_CATALOG_PAGES_MAX = 512


def catalog(session: Session, query: str = "", limit: int = 50) -> list[dict[str, Any]]:
    """Published solutions: the search hits for ``query`` (best first) or all, by code. Each row
    has ``solution`` (id, code), ``version`` (version, title, subdomains, price_min, price_max,
    delivery_days), ``provider`` (id, name) — read-only records of the shown columns, not ORM
    objects — and ``relevance``. The rows are cached per query while the catalog's stamp holds
    (a publication, a rating or a new provider changes it)."""
    from industry_brain.domains.market.matching import _stamp

    key = (str(session.get_bind().url), " ".join(query.split()), limit)
    stamp = _stamp(session)
    now = time.monotonic()
    hit = _CATALOG_PAGES.get(key)
    if hit is not None and hit[0] == stamp and now - hit[1] < CATALOG_SECONDS:
        return hit[2]
    rows = _catalog_rows(session, query, limit)
    if len(_CATALOG_PAGES) >= _CATALOG_PAGES_MAX:
        _CATALOG_PAGES.clear()
    _CATALOG_PAGES[key] = (stamp, now, rows)
    return rows


def _catalog_rows(session: Session, query: str, limit: int) -> list[dict[str, Any]]:
    if query.strip():
        hits = search.search(session, query, limit)
        order = {sid: i for i, (sid, _) in enumerate(hits)}
        rel = dict(hits)
        ids = list(order)
    else:
        ids = list(
            session.scalars(
                select(MarketSolution.id)
                .where(MarketSolution.published_version.is_not(None))
                .order_by(MarketSolution.code)
                .limit(limit)
            )
        )
        order = {sid: i for i, sid in enumerate(ids)}
        rel = {}
    if not ids:
        return []
    rows = session.execute(
        select(
            MarketSolution.id,
            MarketSolution.code,
            MarketSolutionVersion.version,
            MarketSolutionVersion.title,
            MarketSolutionVersion.subdomains,
            MarketSolutionVersion.price_min,
            MarketSolutionVersion.price_max,
            MarketSolutionVersion.delivery_days,
            MarketProvider.id,
            MarketProvider.name,
        )
        .join(
            MarketSolutionVersion,
            (MarketSolutionVersion.solution_id == MarketSolution.id)
            & (MarketSolutionVersion.version == MarketSolution.published_version),
        )
        .join(MarketProvider, MarketProvider.id == MarketSolution.provider_id)
        .where(MarketSolution.id.in_(ids))
    ).all()
    out = [
        {
            "solution": SimpleNamespace(id=sid, code=code),
            "version": SimpleNamespace(
                version=version,
                title=title,
                subdomains=tuple(subs or ()),
                price_min=pmin,
                price_max=pmax,
                delivery_days=days,
            ),
            "provider": SimpleNamespace(id=pid, name=pname),
            "relevance": rel.get(sid),
        }
        for sid, code, version, title, subs, pmin, pmax, days, pid, pname in rows
    ]
    out.sort(key=lambda r: order[r["solution"].id])
    return out


# -- leads and ratings -------------------------------------------------------------------------
def request_contact(
    session: Session,
    scope: Scope,
    solution_id: int,
    message: str | None = None,
    reason: str | None = None,
) -> MarketLead:
    """The enterprise asks the solution's provider to contact it (one open lead per solution)."""
    scope.require("market.request")
    if not scope.enterprise_id:
        raise _not_found("企业", scope.username)
    s = session.get(MarketSolution, solution_id)
    if s is None or s.published_version is None:
        raise _not_found("方案", solution_id)
    open_lead = session.scalar(
        select(MarketLead).where(
            MarketLead.enterprise_id == scope.enterprise_id,
            MarketLead.solution_id == s.id,
            MarketLead.status.in_(("requested", "contacted", "contracted")),
        )
    )
    if open_lead is not None:
        return open_lead
    lead = MarketLead(
        enterprise_id=scope.enterprise_id,
        provider_id=s.provider_id,
        solution_id=s.id,
        solution_version=s.published_version,
        status="requested",
        message=(message or "").strip()[:2000] or None,
        reason=(reason or "").strip()[:2000] or None,
        requested_by=scope.username,
    )
    session.add(lead)
    session.flush()
    audit.record(
        session,
        scope.username,
        "market.lead",
        "market_lead",
        str(lead.id),
        {"solution": s.code, "provider_id": s.provider_id},
        user_id=scope.user_id,
    )
    return lead


def _lead_query(scope: Scope) -> Any:
    q = (
        select(MarketLead, Enterprise, MarketProvider, MarketSolution)
        .join(Enterprise, Enterprise.id == MarketLead.enterprise_id)
        .join(MarketProvider, MarketProvider.id == MarketLead.provider_id)
        .outerjoin(MarketSolution, MarketSolution.id == MarketLead.solution_id)
        .order_by(MarketLead.id.desc())
    )
    return q


def leads_for(session: Session, scope: Scope, limit: int = 200) -> list[dict[str, Any]]:
    """The caller's leads: a provider its own, an enterprise its own, an officer those of the
    enterprises in scope. Every read by a provider is audited (it names enterprises)."""
    q = _lead_query(scope)
    if scope.role == "provider":
        own = provider_of(session, scope)
        if own is None:
            return []
        q = q.where(MarketLead.provider_id == own.id)
    elif scope.role == "enterprise":
        q = q.where(MarketLead.enterprise_id == (scope.enterprise_id or -1))
    else:
        scope.require("market.leads")
        q = q.where(scope.enterprise_clause())
    rows = session.execute(q.limit(limit)).all()
    rated = set(
        session.scalars(
            select(MarketRating.lead_id).where(MarketRating.lead_id.in_([r[0].id for r in rows]))
        )
    )
    if scope.role == "provider" and rows:
        audit.record(
            session,
            scope.username,
            "market.leads_read",
            "market_provider",
            str(rows[0][2].id),
            {"leads": len(rows)},
            user_id=scope.user_id,
        )
        session.commit()
    return [
        {
            "lead": lead,
            "enterprise": ent,
            "provider": p,
            "solution": s,
            "rated": lead.id in rated,
            "next": TRANSITIONS.get(lead.status, ()),
        }
        for lead, ent, p, s in rows
    ]


def update_lead(
    session: Session, scope: Scope, lead_id: int, status: str, amount: float | None = None
) -> MarketLead:
    """The provider records a lead's outcome (its own leads only; others refused and audited)."""
    lead = session.get(MarketLead, lead_id)
    if lead is None:
        raise _not_found("对接线索", lead_id)
    own = provider_of(session, scope)
    if own is None or own.id != lead.provider_id:
        if scope.role == "provider":
            raise refuse(session, scope, f"lead:{status}", "market_lead", str(lead_id))
        scope.require("market.provider_desk")
    if status not in TRANSITIONS.get(lead.status, ()):
        raise ConflictError(
            "market.lead_transition",
            f"线索当前状态为“{codes.label(codes.LEAD_STATUSES, lead.status)}”，不能改为"
            f"“{codes.label(codes.LEAD_STATUSES, status)}”",
            f"a lead in state '{lead.status}' cannot become '{status}'",
            value=status,
        )
    now = _now()
    if status == "contacted":
        lead.contacted_at = now
    elif status == "contracted":
        if amount is None or amount <= 0:
            raise _invalid(
                "amount",
                "签约须填写合同金额（万元，大于 0）",
                "a contract needs its amount (万元, > 0)",
                "amount",
            )
        lead.contracted_at, lead.amount = now, float(amount)
    elif status == "delivered":
        lead.delivered_at = now
    lead.status, lead.updated_by = status, scope.username
    audit.record(
        session,
        scope.username,
        "market.lead_update",
        "market_lead",
        str(lead.id),
        {"status": status, "amount": lead.amount},
        user_id=scope.user_id,
    )
    session.flush()
    return lead


def rate(
    session: Session, scope: Scope, lead_id: int, score: int, comment: str | None = None
) -> MarketRating:
    """The contracting enterprise rates a delivered contract (1–5), once."""
    scope.require("market.request")
    lead = session.get(MarketLead, lead_id)
    if lead is None or lead.enterprise_id != scope.enterprise_id:
        raise _not_found("对接线索", lead_id)
    if lead.status != "delivered":
        raise ConflictError(
            "market.not_delivered",
            "合同交付后才能评价",
            "a contract can be rated after delivery only",
            value=lead.status,
        )
    if not 1 <= int(score) <= 5:
        raise _invalid("score", "评分须为 1 到 5", "the rating must be 1 to 5", "score", score)
    if session.scalar(select(MarketRating.id).where(MarketRating.lead_id == lead.id)):
        raise ConflictError(
            "market.rated", "该合同已评价过", "this contract was rated already", value=lead_id
        )
    r = MarketRating(
        lead_id=lead.id,
        provider_id=lead.provider_id,
        enterprise_id=lead.enterprise_id,
        score=int(score),
        comment=(comment or "").strip()[:2000] or None,
        rated_by=scope.username,
    )
    session.add(r)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent second rating
        session.rollback()
        raise ConflictError(
            "market.rated", "该合同已评价过", "this contract was rated already", value=lead_id
        ) from exc
    audit.record(
        session,
        scope.username,
        "market.rate",
        "market_lead",
        str(lead.id),
        {"score": int(score)},
        user_id=scope.user_id,
    )
    return r
