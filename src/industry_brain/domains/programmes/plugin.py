"""智改数转 programmes (diagnosis programmes, benchmarks, 智造荟 events, 智能制造贷 loans,
重硬轻软 investment structure) on the service contract (:mod:`industry_brain.contract`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from industry_brain.contract import NavEntry, hookimpl

HERE = Path(__file__).parent


@hookimpl
def ib_permissions() -> dict[str, frozenset[str]]:
    return {
        "programmes.view": frozenset({"admin", "city_officer", "county_officer"}),
        "programmes.manage": frozenset({"admin", "city_officer"}),
        "programmes.loans.register": frozenset({"bank"}),
        "programmes.provider_desk": frozenset({"provider"}),
        "programmes.investment.edit": frozenset(
            {"admin", "city_officer", "county_officer", "enterprise"}
        ),
        # the enterprise's own loans, subsidies and consenting banks
        "programmes.loans.mine": frozenset({"enterprise"}),
        # 智造荟 for the participants: register / cancel themselves, their matches
        "programmes.events.join": frozenset({"enterprise", "provider"}),
    }


@hookimpl
def ib_message_catalogs() -> Path:
    return HERE / "i18n"


@hookimpl
def ib_parameter_domain() -> tuple[str, Path]:
    return "programmes", HERE / "parameters"


@hookimpl
def ib_cli_groups() -> dict[str, Any]:
    from industry_brain.domains.programmes import cli

    return {
        "programmes": cli.programmes_app,
        "benchmarks": cli.benchmarks_app,
        "events": cli.events_app,
    }


@hookimpl
def ib_settings_check() -> Any:
    from industry_brain.domains.programmes.virus_scan import check_setting

    return check_setting


@hookimpl
def ib_demo_hook() -> Any:
    from industry_brain.domains.programmes import demo_hook

    return demo_hook


@hookimpl
def ib_navigation() -> list[NavEntry]:
    return [
        NavEntry("programmes", "nav.programmes", "/programmes", 19, "programmes.view", order=57),
        NavEntry(
            "programmes_my_loans",
            "nav.programmes_my_loans",
            "/programmes/loans/mine",
            19,
            "programmes.loans.mine",
            order=57,
        ),
        NavEntry(
            "programmes_my_events",
            "nav.programmes_my_events",
            "/programmes/events/mine",
            19,
            "programmes.events.join",
            order=57,
        ),
    ]


@hookimpl
def ib_templates_dir() -> Path:
    return HERE / "web_templates"


@hookimpl
def ib_web_router() -> Any:
    from fastapi import APIRouter

    from industry_brain.domains.programmes import web, web_actions, web_mine

    router = APIRouter(include_in_schema=False)
    router.include_router(web_mine.router)
    router.include_router(web_actions.router)
    router.include_router(web.router)
    return router


@hookimpl
def ib_cockpit_section() -> Any:
    from industry_brain.domains.programmes import web

    return web.cockpit_section


@hookimpl
def ib_cockpit_stamp() -> Any:
    from industry_brain.domains.programmes import web

    return web.cockpit_stamp


@hookimpl
def ib_portal_section() -> Any:
    from industry_brain.domains.programmes import web

    return web.portal_section


@hookimpl
def ib_bank_section() -> Any:
    from industry_brain.domains.programmes import web

    return web.bank_section
