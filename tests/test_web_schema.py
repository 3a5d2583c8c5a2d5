"""Property-based API tests (schemathesis) against /openapi.json, as an admin with an API
token: no server errors, responses match the schema (error bodies included)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from sqlalchemy.orm import Session

from industry_brain.store.db import make_engine
from industry_brain.store.migrate import upgrade
from industry_brain.web.app import create_app
from industry_brain.web.auth import create_api_token
from industry_brain.web.settings import Settings
from tests.web_fixtures import seed

_STATE: dict = {}


def _app():  # type: ignore[no-untyped-def]
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="ib-schema-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # built at import time
    engine = make_engine(f"sqlite:///{folder / 'schema.sqlite'}")
    upgrade(engine)
    ids = seed(engine).ids
    with Session(engine) as s:
        _STATE["token"] = create_api_token(s, ids["admin"], "schemathesis")
        s.commit()
    _STATE["engine"] = engine
    return create_app(Settings(), engine)


# The platform's own endpoints; domain services' routers (found by discovery) bring their own
# schema tests while they are being built.
schema = schemathesis.openapi.from_asgi("/openapi.json", _app()).include(
    path_regex=r"^/(api/v1/(me|enterprises|cockpit|imports|audit)|healthz)"
)


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IB_DATA_DIR", str(tmp_path))


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_has_no_server_errors_and_matches_its_schema(case):  # type: ignore[no-untyped-def]
    case.call_and_validate(
        headers={"Authorization": f"Bearer {_STATE['token']}"},
        # Starlette lists only the first route's method in a 405 Allow header (STACK.md)
        excluded_checks=[
            schemathesis.checks.positive_data_acceptance,
            schemathesis.checks.allow_header_conformance,
        ],
    )
