"""标识解析 secondary node and GB/T 34014 battery traceability on the service contract
(:mod:`industry_brain.contract`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from industry_brain.contract import NavEntry, hookimpl

HERE = Path(__file__).parent


@hookimpl
def ib_message_catalogs() -> Path:
    return HERE / "i18n"


@hookimpl
def ib_permissions() -> dict[str, frozenset[str]]:
    return {
        "ids.view": frozenset({"admin", "city_officer", "county_officer"}),
        "ids.approve": frozenset({"admin", "city_officer"}),
        # restricted record types (e.g. a battery's VIN) beyond the owning enterprise
        "ids.restricted": frozenset({"admin", "city_officer"}),
        # the node's pages: an enterprise's prefixes, a provider's delegated ones, approvals
        "ids.portal": frozenset({"admin", "city_officer", "enterprise", "provider"}),
    }


@hookimpl
def ib_navigation() -> list[NavEntry]:
    return [NavEntry("ids", "nav.ids", "/ids", 20, "ids.portal", order=58)]


@hookimpl
def ib_templates_dir() -> Path:
    return HERE / "web_templates"


@hookimpl
def ib_web_router() -> Any:
    from industry_brain.domains.identifiers import portal

    return portal.router


@hookimpl
def ib_cli_groups() -> dict[str, Any]:
    from industry_brain.domains.identifiers import cli

    return {cli.NAME: cli.app}


@hookimpl
def ib_api_router() -> Any:
    from industry_brain.domains.identifiers import api

    return api.router


@hookimpl
def ib_cockpit_section() -> Any:
    from industry_brain.domains.identifiers import web

    return web.cockpit_section


@hookimpl
def ib_cockpit_stamp() -> Any:
    from industry_brain.domains.identifiers import web

    return web.cockpit_stamp


@hookimpl
def ib_settings_check() -> Any:
    from industry_brain.domains.identifiers.service import ids_cache_seconds

    return ids_cache_seconds


@hookimpl
def ib_demo_hook() -> Any:
    from industry_brain.domains.identifiers import demo_hook

    return demo_hook
