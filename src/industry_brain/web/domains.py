"""Domain services plugged into the web platform by discovery.

A service package ``industry_brain.domains.<name>`` joins the web by providing, optionally:

- ``web.py`` with ``router`` (a FastAPI ``APIRouter`` of pages, included as-is) and/or
  ``profile_section(session, scope, uscc) -> dict | None`` — a section of the enterprise
  profile: ``{"title_zh", "title_en", "rows": [[label_zh, label_en, value], ...],
  "note_zh", "note_en"}`` (rendered escaped by the platform);
  and/or ``cockpit_section(session, scope) -> dict | None`` in the same shape for the cockpit,
  and/or ``portal_section(session, scope) -> dict | None`` for the enterprise portal,
  and/or ``bank_section(session, scope) -> dict | None`` for the bank's page.
  A service may add ``cockpit_stamp(session) -> tuple``: a cheap value that changes whenever
  its cockpit section may change; the section is then cached per scope, language and day until
  the stamp (or the platform's import stamp, or the parameters) changes.
  Each may also take keyword arguments ``today`` (the platform's date) and ``lang``
  (``zh``/``en``): they are passed when the function's signature names them.
  A section may also name ``"template"`` (a file in the domain's ``web_templates/``, rendered
  with the section as ``s``, autoescaped) and ``"id"`` (the HTML id of its card); a section's
  function applies the caller's scope itself (``scope.enterprise_clause()`` and friends).
  Catalog keys of a domain live in ``domains/<name>/i18n/<lang>.yaml``.
- ``api.py`` with ``router`` (JSON endpoints, included as-is with their own prefix).

Pages of the known services that are missing say plainly that the service is not built yet.
A module that fails to import is logged as an error and its pages show as not available.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from industry_brain.web.logs import LOGGER

# service → (catalog key of its name, page path, issue number, permission to see the page)
KNOWN: dict[str, tuple[str, str, int, str]] = {
    "mujun": ("nav.mujun", "/mujun", 5, "mujun.view"),
    "carbon": ("nav.carbon", "/carbon", 6, "carbon.view"),
    "projects": ("nav.projects", "/projects", 7, "projects.view"),
    "bulletins": ("nav.bulletins", "/bulletins", 7, "bulletins.view"),
}


@dataclass
class DomainWeb:
    name: str
    router: Any = None
    api_router: Any = None
    profile_section: Callable[..., dict | None] | None = None
    cockpit_section: Callable[..., dict | None] | None = None
    portal_section: Callable[..., dict | None] | None = None
    bank_section: Callable[..., dict | None] | None = None
    cockpit_stamp: Callable[..., tuple] | None = None
    errors: list[str] = field(default_factory=list)


def call_section(fn: Callable[..., dict | None], *args: Any, **optional: Any) -> dict | None:
    """Call a section function with the optional keywords (``today``, ``lang``) it accepts."""
    accepted = inspect.signature(fn).parameters
    return fn(*args, **{k: v for k, v in optional.items() if k in accepted})


def _load(module: str, errors: list[str]) -> Any:
    try:
        if importlib.util.find_spec(module) is None:
            return None
        return importlib.import_module(module)
    except Exception as exc:  # a half-built service must not take the platform down
        logging.getLogger(LOGGER).error(
            "domain web module failed to import", extra={"fields": {"module": module}}, exc_info=exc
        )
        errors.append(f"{module}: {exc}")
        return None


def discover() -> dict[str, DomainWeb]:
    """Every domain package's web and API modules, by package name."""
    import industry_brain.domains as domains

    found: dict[str, DomainWeb] = {}
    for info in sorted(pkgutil.iter_modules(domains.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        entry = DomainWeb(name=info.name)
        web = _load(f"industry_brain.domains.{info.name}.web", entry.errors)
        api = _load(f"industry_brain.domains.{info.name}.api", entry.errors)
        if web is not None:
            entry.router = getattr(web, "router", None)
            entry.profile_section = getattr(web, "profile_section", None)
            entry.cockpit_section = getattr(web, "cockpit_section", None)
            entry.portal_section = getattr(web, "portal_section", None)
            entry.bank_section = getattr(web, "bank_section", None)
            entry.cockpit_stamp = getattr(web, "cockpit_stamp", None)
        if api is not None:
            entry.api_router = getattr(api, "router", None)
        if web is not None or api is not None or entry.errors:
            found[info.name] = entry
    return found
