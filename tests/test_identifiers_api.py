"""The identifier node over real HTTP on 127.0.0.1: node A is the platform (uvicorn, the whole
app), node B a second secondary node running the resolver alone (``ids serve``'s app) on its own
store. Each resolution status with its caching headers, restricted values for the owner's token
only, ownership refusals (403, audited), prefix application and officer approval, bulk upload,
and delegation: each node answers 303 for the other's prefix and the client lands on 200."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.domains.identifiers import batteries, node, service
from industry_brain.domains.identifiers import battery as bcode
from industry_brain.domains.identifiers.node import resolver_asgi
from industry_brain.store.db import make_engine
from industry_brain.store.models import AuditLog, Enterprise, User
from industry_brain.web.app import create_app
from industry_brain.web.auth import create_api_token
from industry_brain.web.settings import Settings
from tests.web_fixtures import USCC_NX, USCC_WX, seed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(app, port: int) -> tuple[uvicorn.Server, threading.Thread]:  # type: ignore[no-untyped-def]
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    return srv, thread


@pytest.fixture(scope="module")
def nodes(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("ids-nodes")
    engines: list[Engine] = []
    for name in ("a", "b"):
        shutil.copy(_sqlite_template, folder / f"{name}.sqlite")
        engines.append(make_engine(f"sqlite:///{folder / f'{name}.sqlite'}"))
    ea, eb = engines
    port_a, port_b = _free_port(), _free_port()
    url_a, url_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    cfg_a = service.NodeConfig("88.118", "甲节点", "node A", 600, {"88.120": url_b})
    cfg_b = service.NodeConfig("88.120", "乙节点", "node B", 600, {"88.118": url_a})

    ids = seed(ea).ids
    with Session(ea) as s:
        tokens = {u: create_api_token(s, ids[u], "ids") for u in ("admin", "ent_wx", "ent_nx")}
        s.commit()
        wx = s.scalar(select(Enterprise).where(Enterprise.uscc == USCC_WX))
        nx = s.scalar(select(Enterprise).where(Enterprise.uscc == USCC_NX))
        service.ensure_builtin_templates(s)
        officer = service.Actor("admin", "admin")
        for ent, prefix in ((wx, "88.118.8"), (nx, "88.118.9")):
            service.apply_prefix(s, service.Actor("x", "city_officer"), ent.uscc, prefix, cfg_a)
            service.decide_prefix(s, officer, prefix, True)
        owner = service.Actor("ent_wx", "enterprise", wx.id)
        service.register(
            s,
            owner,
            "88.118.8/P001",
            "product",
            {
                "name": "童装",
                "model": "T-1",
                "url": "https://example.org/p/T-1",
                "customer": "某商场",
            },
            cfg_a,
        )
        cell = bcode.generate("A1B", "C", "E", "02", "HZ00001", date(2026, 3, 15), 7)
        batteries.register(s, owner, "88.118.8", cell, date(2026, 3, 15), cfg_a)

    with Session(eb) as s:  # node B's own store: another enterprise, another prefix
        ent = Enterprise(uscc=USCC_WX, name="乙节点企业", county_code="330502")
        s.add(ent)
        s.commit()
        service.ensure_builtin_templates(s)
        service.apply_prefix(s, service.Actor("x", "city_officer"), USCC_WX, "88.120.7", cfg_b)
        service.decide_prefix(s, service.Actor("o", "admin"), "88.120.7", True)
        service.register(
            s,
            service.Actor("b", "enterprise", ent.id),
            "88.120.7/EQ-1",
            "equipment",
            {"name": "压铸机", "model": "DC-800", "location": "车间 3"},
            cfg_b,
        )

    app_a = create_app(Settings(), ea)
    app_a.state.ids_config = cfg_a
    servers = [_serve(app_a, port_a), _serve(resolver_asgi(eb, cfg_b), port_b)]
    try:
        yield {"a": url_a, "b": url_b, "tokens": tokens, "engine": ea, "cell": cell, "users": ids,
               "engine_b": eb, "cfg_b": cfg_b}  # fmt: skip
    finally:
        for srv, thread in servers:
            srv.should_exit = True
            thread.join(timeout=10)
        for e in engines:
            e.dispose()


def _auth(nodes: dict, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {nodes['tokens'][user]}"}


def test_resolution_statuses_and_caching(nodes: dict) -> None:
    a = nodes["a"]
    r = httpx.get(f"{a}/api/v1/ids/resolve/88.118.8/P001")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "public, max-age=86400"  # the product template's TTL
    assert r.headers["last-modified"].endswith(" GMT")
    body = r.json()
    assert [v["type"] for v in body["values"]] == ["name", "model", "url"]
    assert body["restricted_hidden"] == 1
    # the owner's token shows the restricted customer, privately cached; another firm's not
    r = httpx.get(f"{a}/api/v1/ids/resolve/88.118.8/P001", headers=_auth(nodes, "ent_wx"))
    assert [v["type"] for v in r.json()["values"]][-1] == "customer"
    assert r.headers["cache-control"] == "private, max-age=86400"
    r = httpx.get(f"{a}/api/v1/ids/resolve/88.118.8/P001", headers=_auth(nodes, "ent_nx"))
    assert r.json()["restricted_hidden"] == 1
    # optional redirect to the product page
    r = httpx.get(f"{a}/api/v1/ids/resolve/88.118.8/P001?redirect=url")
    assert (r.status_code, r.headers["location"]) == (303, "https://example.org/p/T-1")
    r = httpx.get(f"{a}/api/v1/ids/resolve/88.118.8/a%20b")
    assert (r.status_code, r.json()["code"]) == (400, "ids.bad_suffix")
    r = httpx.get(f"{a}/api/v1/ids/resolve/88.118.8")
    assert (r.status_code, r.json()["code"]) == (400, "ids.bad_syntax")
    r = httpx.get(f"{a}/api/v1/ids/resolve/88.118.8/P404")
    assert (r.status_code, r.json()["code"], r.headers["cache-control"]) == (
        404,
        "ids.unknown",
        "no-cache",
    )
    assert httpx.get(f"{a}/api/v1/ids/resolve/88.999.1/X").status_code == 404
    # the battery resolves through the node (battery template TTL 3600)
    r = httpx.get(f"{a}/api/v1/ids/resolve/88.118.8/{nodes['cell']}")
    assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=3600"
    assert {v["type"]: v["data"] for v in r.json()["values"]}["chemistry"] == "E"


def test_writes_check_ownership(nodes: dict) -> None:
    a = nodes["a"]
    body = {
        "identifier": "88.118.8/NX-1",
        "template": "product",
        "data": {"name": "x", "model": "y"},
    }
    r = httpx.post(f"{a}/api/v1/ids/identifiers", json=body, headers=_auth(nodes, "ent_nx"))
    assert (r.status_code, r.json()["code"]) == (403, "ids.not_owner")
    r = httpx.put(
        f"{a}/api/v1/ids/identifiers/88.118.8/P001",
        json={"data": {"name": "z", "model": "z"}},
        headers=_auth(nodes, "ent_nx"),
    )
    assert r.status_code == 403
    r = httpx.delete(f"{a}/api/v1/ids/identifiers/88.118.8/P001", headers=_auth(nodes, "ent_nx"))
    assert r.status_code == 403
    r = httpx.post(f"{a}/api/v1/ids/identifiers", json=body)  # nobody signed in, no CSRF token
    assert (r.status_code, r.json()["code"]) == (403, "auth.csrf")
    with Session(nodes["engine"]) as s:
        refused = s.scalars(
            select(AuditLog).where(AuditLog.action == "ids.refused", AuditLog.actor == "ent_nx")
        ).all()
        assert sorted(r.detail["attempt"] for r in refused) == ["register", "update", "withdraw"]
        assert all(r.object_id == "88.118.8" for r in refused)
    assert httpx.get(f"{a}/api/v1/ids/resolve/88.118.8/P001").json()["values"][0]["data"] == "童装"

    # the owner registers, updates and withdraws; a withdrawn identifier is 410 with history
    own = _auth(nodes, "ent_wx")
    body["identifier"] = "88.118.8/WX-1"
    assert httpx.post(f"{a}/api/v1/ids/identifiers", json=body, headers=own).status_code == 201
    r = httpx.post(f"{a}/api/v1/ids/identifiers", json=body, headers=own)
    assert (r.status_code, r.json()["code"]) == (409, "ids.duplicate")
    r = httpx.put(
        f"{a}/api/v1/ids/identifiers/88.118.8/WX-1",
        json={"data": {"name": "新", "model": "y"}},
        headers=own,
    )
    assert r.status_code == 200
    r = httpx.put(
        f"{a}/api/v1/ids/identifiers/88.118.8/WX-1", json={"data": {"name": "新"}}, headers=own
    )
    assert (r.status_code, r.json()["code"]) == (400, "ids.template_mismatch")
    r = httpx.delete(f"{a}/api/v1/ids/identifiers/88.118.8/WX-1?reason=recall", headers=own)
    assert r.status_code == 200
    r = httpx.get(f"{a}/api/v1/ids/resolve/88.118.8/WX-1")
    assert r.status_code == 410
    assert [(h["action"], h["actor"]) for h in r.json()["history"]] == [
        ("registered", "ent_wx"),
        ("updated", "ent_wx"),
        ("withdrawn", "ent_wx"),
    ]
    assert r.headers["cache-control"] == "public, max-age=600"


def test_prefix_application_and_approval(nodes: dict) -> None:
    a = nodes["a"]
    r = httpx.post(
        f"{a}/api/v1/ids/prefixes",
        json={"uscc": USCC_WX, "prefix": "88.118.81"},
        headers=_auth(nodes, "ent_wx"),
    )
    assert (r.status_code, r.json()["status"]) == (201, "pending")
    # an enterprise applying in another's name is refused
    r = httpx.post(
        f"{a}/api/v1/ids/prefixes",
        json={"uscc": USCC_NX, "prefix": "88.118.82"},
        headers=_auth(nodes, "ent_wx"),
    )
    assert r.status_code == 403
    r = httpx.post(
        f"{a}/api/v1/ids/prefixes/88.118.81/decision",
        json={"approve": True},
        headers=_auth(nodes, "ent_wx"),
    )
    assert (r.status_code, r.json()["code"]) == (403, "auth.forbidden")
    r = httpx.post(
        f"{a}/api/v1/ids/prefixes/88.118.81/decision",
        json={"approve": True},
        headers=_auth(nodes, "admin"),
    )
    assert (r.status_code, r.json()["status"]) == (200, "approved")


def test_bulk_upload(nodes: dict) -> None:
    a = nodes["a"]
    good = "suffix,product,batch,quantity\nL1,面料,A1,3\nL2,面料,A2,4\n".encode()
    r = httpx.post(
        f"{a}/api/v1/ids/bulk",
        headers=_auth(nodes, "ent_wx"),
        data={"prefix": "88.118.8", "template": "batch"},
        files={"file": ("l.csv", good)},
    )
    assert (r.status_code, r.json()["status"], r.json()["rows"]) == (201, "live", 2)
    bad = "suffix,product,batch,quantity\nL3,面料,A3,3\nL1,面料,A1,3\n".encode()
    r = httpx.post(
        f"{a}/api/v1/ids/bulk",
        headers=_auth(nodes, "ent_wx"),
        data={"prefix": "88.118.8", "template": "batch"},
        files={"file": ("l.csv", bad)},
    )
    assert r.status_code == 422
    assert [(p["row"], p["column"], p["code"]) for p in r.json()["problems"]] == [
        (3, "suffix", "ids.duplicate"),
    ]
    assert httpx.get(f"{a}/api/v1/ids/resolve/88.118.8/L3").status_code == 404  # none went live


def test_delegation_between_two_nodes(nodes: dict) -> None:
    a, b = nodes["a"], nodes["b"]
    r = httpx.get(f"{a}/api/v1/ids/resolve/88.120.7/EQ-1")
    assert r.status_code == 303
    assert r.headers["location"] == f"{b}/api/v1/ids/resolve/88.120.7/EQ-1"
    r = httpx.get(f"{a}/api/v1/ids/resolve/88.120.7/EQ-1", follow_redirects=True)
    assert r.status_code == 200 and str(r.url).startswith(b)
    assert [v["data"] for v in r.json()["values"]] == ["压铸机", "DC-800"]  # location restricted
    # and the other way round: node B sends node A's prefix back to A
    r = httpx.get(f"{b}/api/v1/ids/resolve/88.118.8/P001", follow_redirects=True)
    assert r.status_code == 200 and r.json()["values"][0]["data"] == "童装"
    assert httpx.get(f"{b}/api/v1/ids/resolve/88.120.7/NONE").status_code == 404
    assert httpx.get(f"{b}/healthz").json() == {"status": "ok", "node": "88.120"}


def test_serve_fast_path_answers_as_the_app(nodes: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ids serve`` answers a public read before FastAPI (node B runs exactly that app): the
    same status, headers and body as its FastAPI route (reached with a query string), for each
    status; a bulk-registered identifier withdrawn answers 410 with the upload as its
    "registered" entry (no history row per bulk identifier)."""
    b, eb = nodes["b"], nodes["engine_b"]
    with Session(eb) as s:
        ent = s.scalar(select(Enterprise).where(Enterprise.uscc == USCC_WX))
        owner = service.Actor("b-owner", "enterprise", ent.id)
        rows = "suffix,name,model\nFB-1,铣床,X-1\nFB-2,车床,L-2\n".encode()
        rep = service.bulk(s, owner, "88.120.7", "f.csv", service.read_rows("f.csv", rows),
                           "equipment", nodes["cfg_b"])  # fmt: skip
        assert rep.status == "live" and rep.rows == 2
        service.withdraw(s, owner, "88.120.7/FB-2", "scrapped")
    paths = {
        "88.120.7/FB-1": 200,
        "88.120.7/EQ-1": 200,
        "88.120.7/NONE": 404,
        "88.120.7/FB-2": 410,
        "88.120.7": 400,
        "88.120.7/a b": 400,
        "88.118.8/P001": 303,
        "88.999.1/X": 404,
    }
    fast_calls: list[str] = []
    real = node._public_answer

    def counted(resolver, db, identifier):  # type: ignore[no-untyped-def]
        fast_calls.append(identifier)
        return real(resolver, db, identifier)

    monkeypatch.setattr(node, "_public_answer", counted)
    for path, status in paths.items():
        fast = httpx.get(f"{b}/api/v1/ids/resolve/{path}")
        slow = httpx.get(f"{b}/api/v1/ids/resolve/{path}?via=app")
        assert fast.status_code == slow.status_code == status, path
        drop = {"date", "server"}
        assert {k: v for k, v in fast.headers.items() if k not in drop} == {
            k: v for k, v in slow.headers.items() if k not in drop
        }, path
        assert fast.content == slow.content, path
    assert fast_calls == list(paths)  # only the reads without a query string, before FastAPI
    body = httpx.get(f"{b}/api/v1/ids/resolve/88.120.7/FB-1").json()
    assert [(v["index"], v["type"], v["data"], v["permission"]) for v in body["values"]] == [
        (1, "name", "铣床", "public"),
        (2, "model", "X-1", "public"),
    ]
    assert body["values"][0]["timestamp"] == body["updated_at"]
    gone = httpx.get(f"{b}/api/v1/ids/resolve/88.120.7/FB-2").json()
    assert [(h["action"], h["actor"]) for h in gone["history"]] == [
        ("registered", "b-owner"),
        ("withdrawn", "b-owner"),
    ]
    assert gone["history"][0]["detail"] == {"upload": rep.upload_id}


def test_stats_for_officers_only(nodes: dict) -> None:
    a = nodes["a"]
    assert httpx.get(f"{a}/api/v1/ids/stats", headers=_auth(nodes, "ent_wx")).status_code == 403
    r = httpx.get(f"{a}/api/v1/ids/stats", headers=_auth(nodes, "admin"))
    assert r.status_code == 200
    body = r.json()
    assert body["prefixes_active"] >= 1 and body["live"] >= 2
    assert {t["template"] for t in body["registrations_by_template"]} >= {"product", "battery"}
    with Session(nodes["engine"]) as s:
        assert s.get(User, nodes["users"]["admin"]).role == "admin"


def test_provider_delegation_over_the_api(nodes: dict) -> None:
    """The owner grants a provider user writes on 88.118.8 until a date: the provider's token
    registers (201) only while the grant lives, is refused (403, audited) after revocation;
    another enterprise can neither grant nor list the grants."""
    a = nodes["a"]
    with Session(nodes["engine"]) as s:
        user = User(username="provider_api", display_name="服务商甲", role="provider")
        s.add(user)
        s.commit()
        token = create_api_token(s, user.id, "ids")
        s.commit()
    prov = {"Authorization": f"Bearer {token}"}
    own = _auth(nodes, "ent_wx")
    body = {
        "identifier": "88.118.8/PV-1",
        "template": "product",
        "data": {"name": "x", "model": "y"},
    }
    grants = f"{a}/api/v1/ids/prefixes/88.118.8/delegations"
    r = httpx.post(f"{a}/api/v1/ids/identifiers", json=body, headers=prov)
    assert (r.status_code, r.json()["code"]) == (403, "ids.not_owner")
    grant = {"provider": "provider_api", "expires_at": "2099-01-01T00:00:00+08:00"}
    assert httpx.post(grants, json=grant, headers=_auth(nodes, "ent_nx")).status_code == 403
    r = httpx.post(grants, json=grant, headers=own)
    assert r.status_code == 201, r.text
    assert r.json()["expires_at"] == "2098-12-31T16:00:00+00:00"
    assert httpx.post(f"{a}/api/v1/ids/identifiers", json=body, headers=prov).status_code == 201
    listed = httpx.get(grants, headers=own).json()["delegations"]
    assert [(g["provider"], g["state"]) for g in listed] == [("provider_api", "live")]
    assert httpx.get(grants, headers=_auth(nodes, "ent_nx")).status_code == 403
    r = httpx.delete(f"{grants}/provider_api", headers=own)
    assert (r.status_code, r.json()["revoked"]) == (200, 1)
    body["identifier"] = "88.118.8/PV-2"
    r = httpx.post(f"{a}/api/v1/ids/identifiers", json=body, headers=prov)
    assert (r.status_code, r.json()["code"]) == (403, "ids.not_owner")
    with Session(nodes["engine"]) as s:
        refused = s.scalars(
            select(AuditLog)
            .where(AuditLog.action == "ids.refused", AuditLog.actor == "provider_api")
            .order_by(AuditLog.id)
        ).all()
        assert [r.detail["refusal"] for r in refused] == ["no_delegation", "delegation_revoked"]
    r = httpx.get(f"{a}/api/v1/ids/resolve/88.118.8/PV-1")
    assert r.status_code == 200


def test_public_resolutions_arriving_together_share_one_read(engine: Engine) -> None:
    """``ids serve`` on PostgreSQL reads the rows of public resolutions that arrive together in
    one statement (one round trip); every answer is still its own: 200 with its values, 404,
    410, 400. On SQLite (in-process reads) each request reads alone."""
    import asyncio

    cfg = service.NodeConfig("88.118", "节点", "node", 600, {})
    with Session(engine) as s:
        ent = Enterprise(uscc=USCC_WX, name="甲企业", county_code="330502")
        s.add(ent)
        s.commit()
        service.ensure_builtin_templates(s)
        owner = service.Actor("ent", "enterprise", ent.id)
        service.apply_prefix(s, owner, USCC_WX, "88.118.8", cfg)
        service.decide_prefix(s, service.Actor("o", "admin"), "88.118.8", True)
        lines = ["suffix,product,batch,quantity"] + [f"L{i},产品,B{i},{i + 1}" for i in range(40)]
        rep = service.bulk_file(
            s, owner, "88.118.8", "l.csv", "\n".join(lines).encode(), "batch", cfg
        )
        assert rep.status == "live"
        service.withdraw(s, owner, "88.118.8/L39", "停产")
    front = resolver_asgi(engine, cfg)
    port = _free_port()
    srv, thread = _serve(front, port)
    paths = [f"88.118.8/L{i}" for i in range(39)] + ["88.118.8/L39", "88.118.8/NONE", "88.118.8/"]

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            return await asyncio.gather(*(client.get(f"/api/v1/ids/resolve/{p}") for p in paths))

    box: dict[str, list[httpx.Response]] = {}

    def client() -> None:  # a loop of its own: the calling thread may already run one
        box["answers"] = asyncio.run(fire())

    try:
        runner = threading.Thread(target=client)
        runner.start()
        runner.join(timeout=60)
        answers = box["answers"]
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
    assert [r.status_code for r in answers] == [200] * 39 + [410, 404, 400]
    for i, r in enumerate(answers[:39]):
        body = r.json()
        assert body["identifier"] == f"88.118.8/L{i}"
        assert [v["data"] for v in body["values"]] == ["产品", f"B{i}", i + 1]
    reader = front.resolve.reader
    if engine.dialect.name == "postgresql":
        assert reader.batched > 0  # some answers came from a shared read
    else:
        assert reader.batched == 0
