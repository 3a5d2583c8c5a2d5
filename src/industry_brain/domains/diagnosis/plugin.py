"""智能制造诊断 (diagnosis) on the service contract (:mod:`industry_brain.contract`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from industry_brain.contract import NavEntry, hookimpl

HERE = Path(__file__).parent


@hookimpl
def ib_permissions() -> dict[str, frozenset[str]]:
    return {
        "diagnosis.view": frozenset({"admin", "city_officer", "county_officer"}),
        "diagnosis.assign": frozenset({"admin", "city_officer", "county_officer"}),
        "diagnosis.fill": frozenset({"enterprise"}),
        "diagnosis.assess": frozenset({"assessor"}),
    }


@hookimpl
def ib_message_catalogs() -> Path:
    return HERE / "i18n"


@hookimpl
def ib_parameter_domain() -> tuple[str, Path]:
    return "diagnosis", HERE / "parameters"


@hookimpl
def ib_cli_groups() -> dict[str, Any]:
    from industry_brain.domains.diagnosis import cli

    return {cli.NAME: cli.app}


@hookimpl
def ib_result_tables() -> list[Any]:
    from industry_brain.domains.diagnosis import publish

    return [publish.RESULT_TABLE]


@hookimpl
def ib_reads_results() -> list[str]:
    return ["result_market_matches"]


@hookimpl
def ib_demo_hook() -> Any:
    from industry_brain.domains.diagnosis import demo_hook

    return demo_hook


@hookimpl
def ib_navigation() -> list[NavEntry]:
    return [NavEntry("diagnosis", "nav.diagnosis", "/diagnosis", 18, "diagnosis.view", order=55)]


@hookimpl
def ib_templates_dir() -> Path:
    return HERE / "web_templates"


@hookimpl
def ib_web_router() -> Any:
    from industry_brain.domains.diagnosis import web

    return web.router


@hookimpl
def ib_portal_section() -> Any:
    from industry_brain.domains.diagnosis import web

    return web.portal_section


@hookimpl
def ib_profile_section() -> Any:
    from industry_brain.domains.diagnosis import web

    return web.profile_section


@hookimpl
def ib_cockpit_section() -> Any:
    from industry_brain.domains.diagnosis import web

    return web.cockpit_section


@hookimpl
def ib_cockpit_stamp() -> Any:
    from industry_brain.domains.diagnosis import web

    return web.cockpit_stamp


@hookimpl
def ib_desk_section() -> Any:
    from industry_brain.domains.diagnosis import web

    return web.desk_section
