"""工业碳效码 on the service contract (:mod:`industry_brain.contract`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from industry_brain.contract import NavEntry, ResultTable, hookimpl

HERE = Path(__file__).parent


@hookimpl
def ib_navigation() -> list[NavEntry]:
    return [NavEntry("carbon", "nav.carbon", "/carbon", 6, "carbon.view", order=20)]


@hookimpl
def ib_cli_groups() -> dict[str, Any]:
    from industry_brain.domains.carbon import cli

    return {cli.NAME: cli.app, **cli.EXTRA_APPS}


@hookimpl
def ib_web_router() -> Any:
    from industry_brain.domains.carbon import web

    return web.router


@hookimpl
def ib_api_router() -> Any:
    from industry_brain.domains.carbon import api

    return api.router


@hookimpl
def ib_profile_section() -> Any:
    from industry_brain.domains.carbon import web

    return web.profile_section


@hookimpl
def ib_cockpit_section() -> Any:
    from industry_brain.domains.carbon import web

    return web.cockpit_section


@hookimpl
def ib_portal_section() -> Any:
    from industry_brain.domains.carbon import web

    return web.portal_section


@hookimpl
def ib_bank_section() -> Any:
    from industry_brain.domains.carbon import web

    return web.bank_section


@hookimpl
def ib_cockpit_stamp() -> Any:
    from industry_brain.domains.carbon import web

    return web.cockpit_stamp


@hookimpl
def ib_demo_hook() -> Any:
    from industry_brain.domains.carbon import demo_hook

    return demo_hook


@hookimpl
def ib_permissions() -> dict[str, frozenset[str]]:
    return {
        "carbon.view": frozenset({"admin", "city_officer", "county_officer"}),
        "consent.manage": frozenset({"enterprise"}),
        "consent.read": frozenset({"bank"}),
    }


@hookimpl
def ib_parameter_domain() -> tuple[str, Path]:
    return "carbon", HERE / "parameters"


@hookimpl
def ib_message_catalogs() -> Path:
    return HERE / "i18n"


@hookimpl
def ib_templates_dir() -> Path:
    return HERE / "web_templates"


@hookimpl
def ib_result_tables() -> list[ResultTable]:
    from industry_brain.domains.carbon import publish

    return [publish.RESULT_TABLE, publish.LINES_TABLE]
