"""Services plugged into the web platform through the service contract.

Every service registered in the entry-point group ``industry_brain.services`` (see
:mod:`industry_brain.contract`, where each hook is documented) joins the web with what it
declares: its pages in the navigation, its page and API routers, its profile, cockpit, portal,
bank and agent-desk sections and its cockpit stamp, its templates and its message catalogs.

Pages in the navigation that no router serves say plainly that the service is not built yet.
A service whose hook fails is logged as an error and its pages show as not available.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from industry_brain import contract

#: The navigation of the loaded services: page name → (catalog key of its label, path, issue
#: number, permission to see it). Refreshed in place by :func:`discover`.
KNOWN: dict[str, tuple[str, str, int, str]] = {}


@dataclass
class DomainWeb:
    name: str
    router: Any = None
    api_router: Any = None
    profile_section: Callable[..., dict | None] | None = None
    cockpit_section: Callable[..., dict | None] | None = None
    portal_section: Callable[..., dict | None] | None = None
    bank_section: Callable[..., dict | None] | None = None
    desk_section: Callable[..., dict | None] | None = None
    cockpit_stamp: Callable[..., tuple] | None = None
    errors: list[str] = field(default_factory=list)


@cache
def _accepted(fn: Callable[..., Any]) -> frozenset[str]:
    """The parameter names of a section function (read once: every page calls each section)."""
    return frozenset(inspect.signature(fn).parameters)


def call_section(fn: Callable[..., dict | None], *args: Any, **optional: Any) -> dict | None:
    """Call a section function with the optional keywords (``today``, ``lang``) it accepts."""
    accepted = _accepted(fn)
    return fn(*args, **{k: v for k, v in optional.items() if k in accepted})


def navigation() -> dict[str, tuple[str, str, int, str]]:
    """Every service's navigation entries in navigation order."""
    entries = sorted(
        (e for _, nav in contract.each("navigation") for e in nav), key=lambda e: (e.order, e.name)
    )
    return {e.name: (e.key, e.path, e.issue, e.permission) for e in entries}


def discover() -> dict[str, DomainWeb]:
    """The web parts of every registered service, by service name."""
    found: dict[str, DomainWeb] = {}
    for name, svc in contract.services().items():
        entry = DomainWeb(
            name=name,
            router=svc.web_router,
            api_router=svc.api_router,
            profile_section=svc.profile_section,
            cockpit_section=svc.cockpit_section,
            portal_section=svc.portal_section,
            bank_section=svc.bank_section,
            desk_section=svc.desk_section,
            cockpit_stamp=svc.cockpit_stamp,
            errors=list(svc.errors),
        )
        has_web = any(
            getattr(entry, f) is not None
            for f in ("router", "api_router", "profile_section", "cockpit_section")
        )
        if (
            has_web
            or entry.portal_section
            or entry.bank_section
            or entry.desk_section
            or entry.errors
        ):
            found[name] = entry
    KNOWN.clear()
    KNOWN.update(navigation())
    return found


KNOWN.update(navigation())
