"""The service contract: the built services join through the entry-point group, a separately
installed distribution adds a service the same way (CLI, web navigation and page, main job),
and no service imports another's modules."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from industry_brain import contract, mainjob
from industry_brain.store import scope as scope_mod
from industry_brain.web import domains as web_domains
from industry_brain.web.app import create_app
from industry_brain.web.i18n import catalog
from industry_brain.web.settings import Settings
from tests.web_fixtures import login, seed

SRC = Path(__file__).resolve().parent.parent / "src" / "industry_brain"
EXE = Path(sys.executable).parent / "industry-brain"
BUILT = {
    "carbon",
    "diagnosis",
    "identifiers",
    "market",
    "monitor",
    "mujun",
    "policy",
    "programmes",
    "projects",
    "tiers",
}

EXAMPLE = '''
"""An example service installed as its own distribution."""
from pathlib import Path
import sys

import typer
from fastapi import APIRouter, Request

from industry_brain.contract import NavEntry, hookimpl
from industry_brain.web.deps import ScopeDep

HERE = Path(__file__).parent
app = typer.Typer(help="Example service.", no_args_is_help=True)
router = APIRouter(include_in_schema=False)
ORDER = 99


@app.command(epilog="Example: industry-brain example hello")
def hello() -> None:
    """Say hello."""
    print("hello from the example service")


@router.get("/example")
def page(request: Request, scope: ScopeDep):
    scope.require("example.view")
    return request.app.state.render(request, "example.html", {})


def run(engine, out_dir, progress):
    return {"greeting": "hello", "database": engine.url.drivername}


def headline(summary):
    return [f"example says {summary['greeting']}"]


@hookimpl
def ib_navigation():
    return [NavEntry("example", "nav.example", "/example", 0, "example.view", order=90)]


@hookimpl
def ib_permissions():
    return {"example.view": frozenset({"admin"})}


@hookimpl
def ib_cli_groups():
    return {"example": app}


@hookimpl
def ib_web_router():
    return router


@hookimpl
def ib_demo_hook():
    return sys.modules[__name__]


@hookimpl
def ib_message_catalogs():
    return HERE / "i18n"


@hookimpl
def ib_templates_dir():
    return HERE / "templates"
'''


def _write_distribution(root: Path) -> Path:
    """``ib_example_service`` with a dist-info declaring its entry point, as pip installs it."""
    pkg = root / "ib_example_service"
    (pkg / "i18n").mkdir(parents=True)
    (pkg / "templates").mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent(EXAMPLE), "utf-8")
    (pkg / "i18n" / "zh.yaml").write_text("nav.example: 示例服务\n", "utf-8")
    (pkg / "i18n" / "en.yaml").write_text("nav.example: Example service\n", "utf-8")
    (pkg / "templates" / "example.html").write_text(
        '{% extends "base.html" %}{% block content %}<p id="example">{{ t("nav.example") }}</p>'
        "{% endblock %}",
        "utf-8",
    )
    info = root / "ib_example_service-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ib-example-service\nVersion: 0.1\n", "utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[industry_brain.services]\nexample = ib_example_service\n", "utf-8"
    )
    (info / "RECORD").write_text("", "utf-8")
    return root


def _forget() -> None:
    contract.reset()
    catalog.cache_clear()
    sys.modules.pop("ib_example_service", None)


@pytest.fixture
def example(tmp_path: Path) -> Iterator[Path]:
    """The example distribution on sys.path (installed) for this test only."""
    root = _write_distribution(tmp_path / "site")
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(root))
    _forget()
    yield root
    mp.undo()
    scope_mod.PERMISSIONS.pop("example.view", None)
    _forget()
    web_domains.discover()  # the navigation of the built services again


def test_built_services_are_registered_through_the_entry_point_group() -> None:
    services = contract.services()
    assert set(services) == BUILT
    names = {ep.name for ep in entry_points(group=contract.GROUP)}
    assert names >= BUILT
    assert [t.name for t in services["mujun"].result_tables] == ["result_mujun"]
    carbon_tables = [t.name for t in services["carbon"].result_tables]
    assert carbon_tables == ["result_carbon", "result_carbon_lines"]
    assert [t.name for t in services["projects"].result_tables] == ["result_projects"]
    assert [t.name for t in services["diagnosis"].result_tables] == ["result_maturity"]
    assert services["mujun"].reads_results == ["result_carbon", "result_carbon_lines"]
    assert list(web_domains.KNOWN) == [
        "mujun",
        "carbon",
        "projects",
        "bulletins",
        "monitor",
        "policy",
        "tiers",
        "diagnosis",
        "market",
        "programmes",
        "programmes_my_events",  # the enterprise's and provider's 智造荟 page
        "programmes_my_loans",  # the enterprise's own loans
        "ids",  # the identifiers node's portal pages (/ids)
    ]
    for name, svc in services.items():
        assert svc.errors == [], name
        assert svc.demo_hook is not None and svc.cli_groups, name


def test_every_hook_is_documented_once_in_the_contract() -> None:
    specs = [n for n in vars(contract.Hooks) if n.startswith("ib_")]
    assert len(specs) == len(set(specs)) >= 16
    for name in specs:
        assert (getattr(contract.Hooks, name).__doc__ or "").strip(), name
    # plugins implement only declared hooks (pluggy checks the signatures)
    pm = contract.plugin_manager()
    pm.check_pending()


def test_an_installed_distribution_joins_cli_web_and_main_job(
    example: Path, engine: Engine, tmp_path: Path
) -> None:
    assert "example" in contract.services()
    # CLI: the console script of another process sees the group
    env = {**os.environ, "PYTHONPATH": str(example), "COLUMNS": "200"}
    help_text = subprocess.run(
        [str(EXE), "--help"], capture_output=True, text=True, env=env, timeout=300, check=True
    ).stdout
    assert "example" in help_text and "Example service." in help_text
    hello = subprocess.run(
        [str(EXE), "example", "hello"], capture_output=True, text=True, env=env, timeout=300
    )
    assert hello.returncode == 0 and "hello from the example service" in hello.stdout
    # web: its page in the navigation (for the role holding its permission) and served
    seed(engine)
    app = create_app(Settings(), engine)
    with TestClient(app, base_url="https://testserver") as c:
        login(c, "admin")
        page = c.get("/example")
        assert page.status_code == 200 and '<p id="example">示例服务</p>' in page.text
        assert 'href="/example"' in page.text
    with TestClient(app, base_url="https://testserver") as c:
        login(c, "city")
        assert 'href="/example"' not in c.get("/cockpit").text  # city officers lack the right
        assert c.get("/example").status_code == 403
    # main job: ordered after the built services and run like them
    hooks = [name for name, _ in mainjob.service_hooks()]
    assert hooks[-1] == "example" and set(hooks) == BUILT | {"example"}
    out = mainjob.run_services(engine, tmp_path, names=["example"])
    assert out == {"example": {"greeting": "hello", "database": engine.url.drivername}}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_no_service_imports_another_service() -> None:
    """A service reads another's results only through the warehouse (result tables) and the
    contract; importing ``industry_brain.domains.<other>`` fails this test."""
    services = sorted(p.name for p in (SRC / "domains").iterdir() if (p / "__init__.py").exists())
    offenders = []
    for name in services:
        for path in sorted((SRC / "domains" / name).rglob("*.py")):
            for module in _imports(path):
                parts = module.split(".")
                inside = parts[:2] == ["industry_brain", "domains"] and len(parts) > 2
                if inside and parts[2] != name:
                    offenders.append(f"{path.relative_to(SRC)} imports {module}")
    assert offenders == []


def test_the_architecture_test_sees_a_cross_import(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("from industry_brain.domains.carbon.models import CarbonResult\n", "utf-8")
    assert "industry_brain.domains.carbon.models" in _imports(bad)
