"""智改数转服务市场 (market) on the service contract (:mod:`industry_brain.contract`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from industry_brain.contract import NavEntry, hookimpl

HERE = Path(__file__).parent
OFFICERS = frozenset({"admin", "city_officer"})


@hookimpl
def ib_permissions() -> dict[str, frozenset[str]]:
    return {
        "market.view": frozenset(
            {"admin", "city_officer", "county_officer", "agent", "enterprise", "provider"}
        ),
        "market.manage": OFFICERS,
        # new provider accounts (users of role provider) are the administrator's
        "market.provider_accounts": frozenset({"admin"}),
        "market.review": OFFICERS,
        "market.leads": frozenset({"admin", "city_officer", "county_officer"}),
        "market.request": frozenset({"enterprise"}),
        "market.provider_desk": frozenset({"provider"}),
    }


@hookimpl
def ib_message_catalogs() -> Path:
    return HERE / "i18n"


@hookimpl
def ib_parameter_domain() -> tuple[str, Path]:
    return "market", HERE / "parameters"


@hookimpl
def ib_cli_groups() -> dict[str, Any]:
    from industry_brain.domains.market import cli

    return {
        "solutions": cli.solutions_app,
        "providers": cli.providers_app,
        "match": cli.match_app,
        "matches": cli.matches_app,
    }


@hookimpl
def ib_result_tables() -> list[Any]:
    from industry_brain.domains.market import publish

    return [publish.RESULT_TABLE]


@hookimpl
def ib_demo_hook() -> Any:
    from industry_brain.domains.market import demo_hook

    return demo_hook


@hookimpl
def ib_navigation() -> list[NavEntry]:
    return [NavEntry("market", "nav.market", "/market", 19, "market.view", order=57)]


@hookimpl
def ib_templates_dir() -> Path:
    return HERE / "web_templates"


@hookimpl
def ib_web_router() -> Any:
    from industry_brain.domains.market import web

    return web.router


@hookimpl
def ib_portal_section() -> Any:
    from industry_brain.domains.market import web

    return web.portal_section
