"""Browser tests: a real uvicorn server on 127.0.0.1 (in a thread) over a small demo store built
once per session, driven by Playwright with Debian's Chromium. Screenshots go to
``test-artifacts/``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain import mainjob
from industry_brain.store.db import make_engine
from industry_brain.store.models import AgentAssignment, Enterprise, User
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is not installed (apt-get install chromium)", pytrace=False)
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args() -> dict:
    return {"viewport": {"width": 1400, "height": 1000}, "locale": "zh-CN"}


@dataclass
class Site:
    url: str
    demo_dir: Path
    users: dict[str, str]  # role key → username
    usccs: dict[str, str]  # what → USCC


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("e2e")
    engine = make_engine(f"sqlite:///{root / 'store.sqlite'}")
    # The platform's store only: the domain services' main-job hooks are tested by their own
    # suites (and may be mid-build); their web pages join by discovery either way.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mainjob, "service_hooks", list)
        mainjob.run_demo(root / "demo", scale="small", engine=engine)
    with Session(engine) as s:
        county = s.scalars(select(User).where(User.role == "county_officer")).first()
        agent = s.scalars(
            select(User).where(
                User.role == "agent",
                User.id.in_(select(AgentAssignment.user_id)),
            )
        ).first()
        ent_user = s.scalars(select(User).where(User.role == "enterprise")).first()
        bank = s.scalars(select(User).where(User.role == "bank")).first()
        own = s.get(Enterprise, ent_user.enterprise_id)
        other_county = s.scalars(
            select(Enterprise).where(Enterprise.county_code != county.county_code)
        ).first()
        same_county = s.scalars(
            select(Enterprise).where(Enterprise.county_code == county.county_code)
        ).first()
        other_ent = s.scalars(select(Enterprise).where(Enterprise.id != own.id)).first()
        users = {
            "admin": "admin",
            "city_officer": "city_officer_01",
            "county_officer": county.username,
            "agent": agent.username,
            "enterprise": ent_user.username,
            "bank": bank.username,
        }
        usccs = {
            "own": own.uscc,
            "other": other_ent.uscc,
            "other_county": other_county.uscc,
            "same_county": same_county.uscc,
        }
    # plain HTTP on loopback in tests: Secure cookies would need TLS
    app = create_app(Settings(cookie_secure=False), engine)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start", pytrace=False)
        time.sleep(0.05)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield Site(f"http://127.0.0.1:{port}", root / "demo", users, usccs)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
