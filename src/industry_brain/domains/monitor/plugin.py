"""工业运行监测 on the service contract (:mod:`industry_brain.contract`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from industry_brain.contract import NavEntry, hookimpl

HERE = Path(__file__).parent


@hookimpl
def ib_navigation() -> list[NavEntry]:
    return [NavEntry("monitor", "nav.monitor", "/monitor", 15, "monitor.view", order=40)]


@hookimpl
def ib_permissions() -> dict[str, frozenset[str]]:
    return {"monitor.view": frozenset({"admin", "city_officer", "county_officer"})}


@hookimpl
def ib_message_catalogs() -> Path:
    return HERE / "i18n"


@hookimpl
def ib_cli_groups() -> dict[str, Any]:
    from industry_brain.domains.monitor import cli

    return {cli.NAME: cli.app}


@hookimpl
def ib_parameter_domain() -> tuple[str, Path]:
    return "monitor", HERE / "parameters"


@hookimpl
def ib_demo_hook() -> Any:
    from industry_brain.domains.monitor import demo_hook

    return demo_hook


@hookimpl
def ib_web_router() -> Any:
    from industry_brain.domains.monitor import web

    return web.router


@hookimpl
def ib_templates_dir() -> Path:
    return HERE / "web_templates"
