"""政策计算器 · 一键减负 · 政策直兑 on the service contract (:mod:`industry_brain.contract`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from industry_brain.contract import NavEntry, ResultTable, hookimpl

HERE = Path(__file__).parent


@hookimpl
def ib_navigation() -> list[NavEntry]:
    return [NavEntry("policy", "nav.policy", "/policy", 16, "policy.view", order=45)]


@hookimpl
def ib_permissions() -> dict[str, frozenset[str]]:
    return {
        "policy.view": frozenset({"admin", "city_officer", "county_officer"}),
        "policy.review": frozenset({"admin", "city_officer"}),
        "policy.approve": frozenset({"admin", "city_officer"}),
    }


@hookimpl
def ib_message_catalogs() -> Path:
    return HERE / "i18n"


@hookimpl
def ib_templates_dir() -> Path:
    return HERE / "web_templates"


@hookimpl
def ib_cli_groups() -> dict[str, Any]:
    from industry_brain.domains.policy import cli

    return {cli.NAME: cli.app}


@hookimpl
def ib_web_router() -> Any:
    from industry_brain.domains.policy import web

    return web.router


@hookimpl
def ib_api_router() -> Any:
    from industry_brain.domains.policy import api

    return api.router


@hookimpl
def ib_portal_section() -> Any:
    from industry_brain.domains.policy import web

    return web.portal_section


@hookimpl
def ib_cockpit_section() -> Any:
    from industry_brain.domains.policy import web

    return web.cockpit_section


@hookimpl
def ib_cockpit_stamp() -> Any:
    from industry_brain.domains.policy import web

    return web.cockpit_stamp


@hookimpl
def ib_parameter_domain() -> tuple[str, Path]:
    return "policy", HERE / "parameters"


@hookimpl
def ib_demo_hook() -> Any:
    from industry_brain.domains.policy import demo_hook

    return demo_hook


@hookimpl
def ib_reads_results() -> list[str]:
    return ["result_mujun", "result_carbon", "result_projects", "result_tiers", "result_maturity"]


@hookimpl
def ib_result_tables() -> list[ResultTable]:
    from industry_brain.domains.policy import publish

    return [publish.RESULT_TABLE]
