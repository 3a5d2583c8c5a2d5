"""Data scope (数据权限): what a signed-in user may read, as a filter every query applies.

The web layer resolves the caller once (``scope_for(user)``) and passes the ``Scope`` to the
scoped repository functions in :mod:`industry_brain.store.scoped`; those add
``scope.enterprise_clause()`` to every enterprise query, so a route or template can never show
data outside the caller's scope by forgetting a check.

| role | enterprises visible | sensitive figures (tax, profit) |
|---|---|---|
| ``admin``, ``city_officer`` | all | yes |
| ``county_officer`` | those registered in the officer's county | yes |
| ``agent`` | assigned (``agent_assignments``) and those of the agent's projects | masked |
| ``enterprise`` | its own (``users.enterprise_id``) | yes (its own) |
| ``bank`` | none through the platform's enterprise reads | masked |
| ``assessor`` | assigned for diagnosis (``diagnosis_assignments``) | masked |
| ``provider`` | none (a service provider reads its own leads in the market service) | masked |

A bank reads only what an enterprise consented to (授权): its carbon grade (scopes ``grade``,
``history``) through the carbon service's bank API and the bank page, each read checked against
an active consent and audited (:mod:`industry_brain.domains.carbon.access`). A consent covers
that grade, not the enterprise's file, so ``enterprise_clause()`` selects nothing for a bank.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import ColumnElement, false, or_, select, true

from industry_brain.core.errors import IBError, Location
from industry_brain.store.models import AgentAssignment, Enterprise, Project, User

ROLES = (
    "admin",
    "city_officer",
    "county_officer",
    "agent",
    "enterprise",
    "bank",
    "assessor",
    "provider",
)

# the diagnosis service's assignments of enterprises to assessors (a lightweight description, so
# the store does not import the service's models)
_diagnosis_assignments = sa.table(
    "diagnosis_assignments", sa.column("user_id"), sa.column("enterprise_id")
)

# Fact items only roles with ``sees_sensitive`` may read (others see them masked).
SENSITIVE_ITEMS = frozenset({"tax_paid", "tax_revenue", "profit"})

# permission → roles holding it
PERMISSIONS: dict[str, frozenset[str]] = {
    "cockpit.view": frozenset({"admin", "city_officer", "county_officer"}),
    "enterprise.search": frozenset({"admin", "city_officer", "county_officer", "agent"}),
    "enterprise.view": frozenset(ROLES),
    "import.run": frozenset({"admin", "city_officer"}),
    "audit.search": frozenset({"admin"}),
    "token.manage": frozenset({"admin"}),
    "portal.enterprise": frozenset({"enterprise"}),
    "portal.agent": frozenset({"agent"}),
    "mujun.view": frozenset({"admin", "city_officer", "county_officer"}),
    "carbon.view": frozenset({"admin", "city_officer", "county_officer"}),
    "consent.manage": frozenset({"enterprise"}),
    "consent.read": frozenset({"bank"}),
    "projects.view": frozenset({"admin", "city_officer", "county_officer", "agent", "enterprise"}),
    "bulletins.view": frozenset({"admin", "city_officer", "county_officer"}),
}


class PermissionDenied(IBError):
    """The caller's role may not do this (HTTP 403)."""


@dataclass(frozen=True)
class Scope:
    """The caller and the slice of the data the caller may read."""

    user_id: int | None
    username: str
    role: str
    county_code: str | None = None
    enterprise_id: int | None = None
    display_name: str = ""
    organisation: str | None = None

    @property
    def sees_sensitive(self) -> bool:
        return self.role in ("admin", "city_officer", "county_officer", "enterprise")

    @property
    def city_wide(self) -> bool:
        return self.role in ("admin", "city_officer")

    @property
    def cache_key(self) -> str:
        """Callers with the same key see the same enterprises (used to cache aggregates)."""
        if self.city_wide:
            return "city"
        if self.role == "county_officer":
            return f"county:{self.county_code}"
        return f"user:{self.user_id}"

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS.get(permission, frozenset())

    def require(self, permission: str) -> None:
        """Raise ``PermissionDenied`` unless the role holds ``permission``."""
        if not self.can(permission):
            raise PermissionDenied(
                "auth.forbidden",
                f"当前角色（{self.role}）无权执行此操作（{permission}）",
                f"the role {self.role} may not do this ({permission})",
                Location(field=permission),
            )

    def enterprise_clause(self) -> ColumnElement[bool]:
        """SQL condition on ``Enterprise`` selecting the enterprises this caller may read."""
        if self.city_wide:
            return true()
        if self.role == "county_officer":
            return Enterprise.county_code == self.county_code if self.county_code else false()
        if self.role == "enterprise":
            return Enterprise.id == self.enterprise_id if self.enterprise_id else false()
        if self.role == "agent" and self.user_id is not None:
            assigned = select(AgentAssignment.enterprise_id).where(
                AgentAssignment.user_id == self.user_id
            )
            projects = select(Project.enterprise_id).where(
                Project.agent_id == self.user_id, Project.enterprise_id.is_not(None)
            )
            return or_(Enterprise.id.in_(assigned), Enterprise.id.in_(projects))
        if self.role == "assessor" and self.user_id is not None:
            return Enterprise.id.in_(
                select(_diagnosis_assignments.c.enterprise_id).where(
                    _diagnosis_assignments.c.user_id == self.user_id
                )
            )
        # bank: consents cover the carbon grade only (carbon bank API), not the file
        return false()

    def project_clause(self) -> ColumnElement[bool]:
        """SQL condition on ``Project`` selecting the projects this caller may read."""
        if self.city_wide:
            return true()
        if self.role == "county_officer":
            return Project.county_code == self.county_code if self.county_code else false()
        if self.role == "agent" and self.user_id is not None:
            return Project.agent_id == self.user_id
        if self.role == "enterprise" and self.enterprise_id:
            return Project.enterprise_id == self.enterprise_id
        return false()


def scope_for(user: User) -> Scope:
    """The scope of a stored user (unknown roles see nothing)."""
    return Scope(
        user_id=user.id,
        username=user.username,
        role=user.role if user.role in ROLES else "none",
        county_code=user.county_code,
        enterprise_id=user.enterprise_id,
        display_name=user.display_name,
        organisation=user.organisation,
    )
