"""工业运行监测 on the service contract (:mod:`industry_brain.contract`)."""

from __future__ import annotations

from pathlib import Path

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
