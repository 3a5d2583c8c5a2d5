"""The service contract (服务接入契约): what a service may provide to the platform, declared once.

A service (亩均, 碳效, 项目钉, 工业运行监测, …) is a package with a plugin module registered under
the Python entry-point group ``industry_brain.services``; the entry point's name is the service's
name. A separate distribution adds a service the same way, e.g. in its ``pyproject.toml``::

    [project.entry-points."industry_brain.services"]
    policy = "ib_policy.plugin"

The plugin module implements any of the hooks below with :data:`hookimpl` (after datasette's
``hookspecs.py``, with pluggy). Every hook takes no argument and describes the service: the
platform asks each service once, when the CLI, the web application or the main job is built, and
keeps the answer per service name. A hook a service does not implement means it provides nothing
of that kind.

The platform reads the answers through :func:`services` (one :class:`Service` per name, in
entry-point name order); :func:`plugin_manager` is the pluggy manager itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pluggy

PROJECT = "industry_brain"
GROUP = "industry_brain.services"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class NavEntry:
    """A page in the web navigation: its name, the catalog key of its label, its path, the issue
    that specifies it (shown while the page is not built), the permission to see it and its
    place in the navigation (lower first)."""

    name: str
    key: str
    path: str
    issue: int
    permission: str
    order: int = 100


@dataclass(frozen=True)
class ResultTable:
    """A result table a service publishes to the warehouse (产业数据仓).

    ``name`` is the table (``result_<service>``), ``schema`` its columns as
    ``(name, arrow type name)`` pairs (``int64``, ``float64``, ``string``, ``bool``), ``key`` the
    columns that identify a row. ``read(session)`` returns the rows of the service's published
    runs as a pandas frame with exactly the schema's columns (always including ``run_id`` and
    ``parameter_version``) and the list of those runs as dicts (``service``, ``run_id``, ``year``,
    ``parameter_version``) for the snapshot manifest. A table may also accept the keyword
    ``enterprise_ids`` (a list of enterprise ids) to read only those enterprises' rows — a page
    showing one firm then avoids reading the whole run; a reader checks the function's
    signature before passing it (``result_market_matches`` does).

    ``runs(session)`` (optional) returns the same list of runs as ``read`` without reading any
    row: whoever only asks which runs are published (is a snapshot still current?) calls
    :meth:`published_runs`, which falls back to ``read`` for a table without it. At province
    scale ``read`` returns millions of rows.

    ``fixed_by(session)`` (optional) returns a JSON value that names the rows' content: as long
    as it returns the same value, ``read`` returns the same rows. A table whose published runs'
    rows are never changed afterwards (a new evaluation is a new run) passes its runs function.
    A snapshot refresh then keeps the base snapshot's file of the table when the value is
    unchanged, instead of reading millions of rows again. A table whose rows change without a
    new run (``result_projects``: a project's live stage and reports) leaves it None and is
    read every time."""

    name: str
    schema: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    read: Callable[[Any], tuple[Any, list[dict[str, Any]]]]
    runs: Callable[[Any], list[dict[str, Any]]] | None = None
    fixed_by: Callable[[Any], Any] | None = None

    def published_runs(self, session: Any) -> list[dict[str, Any]]:
        """The runs whose rows :attr:`read` returns (``runs`` when given, else ``read``'s)."""
        return self.runs(session) if self.runs is not None else self.read(session)[1]


def newest_runs(session: Any, run: Any, service: str, *where: Any) -> list[dict[str, Any]]:
    """The newest run (highest id) of every year of the run model ``run`` (columns ``id``,
    ``year``, ``parameter_version``) among those matching ``where``, by year, as a result
    table's runs: ``{"service", "run_id", "year", "parameter_version"}``."""
    from sqlalchemy import select

    found = session.execute(
        select(run.id, run.year, run.parameter_version).where(*where).order_by(run.year, run.id)
    ).all()
    latest = {int(y): (int(i), str(v)) for i, y, v in found}  # the newest of the year wins
    return [
        {"service": service, "run_id": i, "year": y, "parameter_version": v}
        for y, (i, v) in sorted(latest.items())
    ]


def rows_of_runs(
    session: Any, result: Any, columns: list[str], manifest: list[dict[str, Any]]
) -> Any:
    """The rows of the runs in ``manifest`` (as :func:`newest_runs` gives them) from the result
    model ``result`` (columns ``run_id``, ``enterprise_id`` and ``columns``), by run and
    enterprise, as a pandas frame: ``run_id``, the run's ``parameter_version``, then
    ``columns``."""
    from sqlalchemy import select

    from industry_brain.store.db import select_frame

    frame = select_frame(
        session,
        select(result.run_id, *[getattr(result, c) for c in columns])
        .where(result.run_id.in_([r["run_id"] for r in manifest]))
        .order_by(result.run_id, result.enterprise_id),
        ["run_id", *columns],
    )
    versions = {r["run_id"]: r["parameter_version"] for r in manifest}
    frame.insert(1, "parameter_version", frame["run_id"].map(versions))
    return frame


class Hooks:
    """The hook specifications. Each is documented here and nowhere else."""

    @hookspec
    def ib_navigation(self) -> list[NavEntry]:
        """Pages of the service in the web navigation (:class:`NavEntry`), in display order.
        A page whose path no router serves says plainly that it is not built yet."""

    @hookspec
    def ib_cli_groups(self) -> dict[str, Any]:
        """Typer apps to add to ``industry-brain`` as command groups, by group name
        (usually one, named after the service; a service may own further groups)."""

    @hookspec
    def ib_web_router(self) -> Any:
        """A FastAPI ``APIRouter`` of the service's HTML pages, included as-is."""

    @hookspec
    def ib_api_router(self) -> Any:
        """A FastAPI ``APIRouter`` of the service's JSON endpoints (with their own prefix)."""

    @hookspec
    def ib_profile_section(self) -> Callable[..., dict | None]:
        """``fn(session, scope, uscc) -> dict | None``: the service's section of the enterprise
        profile, ``{"title_zh", "title_en", "rows": [[label_zh, label_en, value], ...],
        "note_zh", "note_en"}`` (rendered escaped); it may name ``"template"`` (a file in its
        templates folder, rendered with the section as ``s``) and ``"id"`` (the card's HTML id).
        The function applies the caller's scope itself (``scope.enterprise_clause()`` and
        friends). Every section function may also take the keywords ``today`` (the platform's
        date) and ``lang`` (``zh``/``en``): they are passed when its signature names them."""

    @hookspec
    def ib_cockpit_section(self) -> Callable[..., dict | None]:
        """``fn(session, scope) -> dict | None``: the service's section of the cockpit, in the
        shape of a profile section."""

    @hookspec
    def ib_portal_section(self) -> Callable[..., dict | None]:
        """``fn(session, scope) -> dict | None``: the service's section of the enterprise
        portal, in the shape of a profile section."""

    @hookspec
    def ib_bank_section(self) -> Callable[..., dict | None]:
        """``fn(session, scope) -> dict | None``: the service's section of the bank's page, in
        the shape of a profile section (every consented read audited by the service)."""

    @hookspec
    def ib_desk_section(self) -> Callable[..., dict | None]:
        """``fn(session, scope) -> dict | None``: the service's section of the agent's desk
        (``/agent``) — the work waiting for the agent on the enterprises assigned to it (e.g.
        declarations to verify, reports to read) — in the shape of a profile section; ``None``
        when there is nothing for this caller. The function applies the caller's scope itself."""

    @hookspec
    def ib_cockpit_stamp(self) -> Callable[..., tuple]:
        """``fn(session) -> tuple``: a cheap value that changes whenever the service's cockpit
        section may change; the section is then cached per scope, language and day until the
        stamp (or the platform's import stamp, or the parameters) changes."""

    @hookspec
    def ib_demo_hook(self) -> Any:
        """The service's part of the main job (``make demo``): an object with ``ORDER`` (int,
        lower runs first), ``run(engine, out_dir, progress) -> dict`` (a JSON-serialisable
        summary) and ``headline(summary) -> list[str]`` (the headline figures the demo prints)."""

    @hookspec
    def ib_permissions(self) -> dict[str, frozenset[str]]:
        """Permissions the service defines: permission → roles holding it. They join the
        platform's table (``store.scope.PERMISSIONS``) when the services are loaded; a service
        cannot change the roles of a permission already defined (the clash is an error)."""

    @hookspec
    def ib_parameter_domain(self) -> tuple[str, Path]:
        """The service's parameter domain (the prefix of its keys, e.g. ``mujun``) and the
        folder of its dated regional YAML parameters (``<domain>.yaml`` and
        ``<domain>.<region>.yaml`` overrides)."""

    @hookspec
    def ib_message_catalogs(self) -> Path:
        """The folder of the service's message catalogs, ``<lang>.yaml`` for every language
        (``zh``, ``en``); its keys may not redefine the platform's or another service's."""

    @hookspec
    def ib_templates_dir(self) -> Path:
        """The folder of the service's page templates (searched after the platform's)."""

    @hookspec
    def ib_result_tables(self) -> list[ResultTable]:
        """The result tables the service publishes to the warehouse (:class:`ResultTable`):
        each snapshot holds the rows of the service's published runs, with run id and
        parameter version, and its manifest names the runs."""

    @hookspec
    def ib_settings_check(self) -> Callable[[], Any]:
        """A function of no argument that reads the service's own ``IB_*`` settings and raises
        the platform's error (``settings.invalid``, :mod:`industry_brain.core.env`) on a bad
        value; ``industry-brain check`` and ``serve`` run it with the platform's checks."""

    @hookspec
    def ib_reads_results(self) -> list[str]:
        """Names of the result tables of other services this service reads (as Ibis tables of
        a snapshot, never through the other service's modules); a run computed from them records
        the runs it read as its inputs."""


HOOKS: tuple[str, ...] = tuple(n[3:] for n in vars(Hooks) if n.startswith("ib_"))
_DEFAULTS: dict[str, Callable[[], Any]] = {
    "navigation": list,
    "cli_groups": dict,
    "permissions": dict,
    "result_tables": list,
    "reads_results": list,
}


class Service:
    """What one service declared: ``svc.<hook name without ib_>`` (e.g. ``svc.web_router``),
    asked of the service on first use (so the CLI never imports a service's web modules).
    A failing hook is logged, counts as not implemented and its error is kept in ``errors``."""

    def __init__(self, name: str, plugin: Any, pm: pluggy.PluginManager) -> None:
        self.name = name
        self.plugin = plugin
        self._pm = pm
        self._answers: dict[str, Any] = {}
        self.errors: list[str] = []

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_") or attr not in HOOKS:
            raise AttributeError(attr)
        if attr not in self._answers:
            value = _call(self._pm, self.plugin, f"ib_{attr}", self.errors)
            if value is None and attr in _DEFAULTS:
                value = _DEFAULTS[attr]()
            self._answers[attr] = value
        return self._answers[attr]


@cache
def plugin_manager() -> pluggy.PluginManager:
    """The plugin manager with every service of the entry-point group registered."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(Hooks)
    pm.load_setuptools_entrypoints(GROUP)
    return pm


def _call(pm: pluggy.PluginManager, plugin: Any, hook: str, errors: list[str]) -> Any:
    """The answer of one plugin to one hook (None when it does not implement it)."""
    for impl in getattr(pm.hook, hook).get_hookimpls():
        if impl.plugin is plugin:
            try:
                return impl.function()
            except Exception as exc:  # a half-built service must not take the platform down
                logging.getLogger("industry_brain").error(
                    "service hook failed", extra={"fields": {"hook": hook}}, exc_info=exc
                )
                errors.append(f"{hook}: {exc}")
                return None
    return None


@cache
def services() -> dict[str, Service]:
    """Every registered service, by service (entry-point) name in name order; the permissions
    they define join the platform's table."""
    pm = plugin_manager()
    found = {
        name: Service(name, plugin, pm)
        for name, plugin in sorted(pm.list_name_plugin(), key=lambda p: p[0])
    }
    _register_permissions(found)
    return found


def _register_permissions(found: dict[str, Service]) -> None:
    """Add the services' permissions to the platform's table; a permission already defined
    for other roles keeps its definition and the clash is logged and kept in the service's
    ``errors`` (tests require none)."""
    from industry_brain.store.scope import PERMISSIONS

    for svc in found.values():
        for permission, roles in svc.permissions.items():
            known = PERMISSIONS.get(permission)
            if known is not None and known != frozenset(roles):
                message = (
                    f"permission {permission} is already defined for roles {sorted(known)}, "
                    f"not {sorted(roles)}"
                )
                logging.getLogger("industry_brain").error(
                    "service permission clash", extra={"fields": {"service": svc.name}}
                )
                svc.errors.append(message)
                continue
            PERMISSIONS[permission] = frozenset(roles)


def reset() -> None:
    """Forget the loaded services (after installing or removing one in this process)."""
    services.cache_clear()
    plugin_manager.cache_clear()


def each(attr: str) -> Iterator[tuple[str, Any]]:
    """``(service name, declaration)`` for every service that declares ``attr``."""
    for name, svc in services().items():
        value = getattr(svc, attr)
        if value:
            yield name, value


def result_table_names() -> dict[str, str]:
    """Every published result table → the service publishing it."""
    return {t.name: name for name, tables in each("result_tables") for t in tables}
