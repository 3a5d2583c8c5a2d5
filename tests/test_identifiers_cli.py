"""``industry-brain ids`` end to end on a real store (in process, CliRunner), and the demo hook:
prefixes, a few thousand identifiers through bulk uploads, a battery chain, statistics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from industry_brain.core import uscc
from industry_brain.domains.identifiers import cli, demo_hook
from industry_brain.domains.identifiers.models import Battery, Identifier, IdPrefix
from industry_brain.store import db
from industry_brain.store.models import Enterprise

OWNER = uscc.make("91330522MA2B0C001")
OTHER = uscc.make("91330522MA2B0C002")


@pytest.fixture
def env(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("IB_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    db.engine_for.cache_clear()
    with Session(engine) as s:
        s.add_all(
            [
                Enterprise(uscc=OWNER, name="长兴甲电池", county_code="330522"),
                Enterprise(uscc=OTHER, name="长兴乙服务", county_code="330522"),
            ]
        )
        s.commit()
    yield engine
    db.engine_for.cache_clear()


def ids(*args: str, code: int = 0) -> str:
    r = CliRunner().invoke(cli.app, list(args), env={"COLUMNS": "200"})
    assert r.exit_code == code, (r.exit_code, r.output, r.exception)
    return r.output


def test_cli_flow(env: Engine, tmp_path: Path) -> None:
    assert json.loads(ids("prefix", "apply", OWNER, "88.118.8", "--json"))["status"] == "pending"
    assert json.loads(ids("prefix", "approve", "88.118.8", "--json"))["status"] == "approved"
    assert "ids.prefix_decided" in ids("prefix", "approve", "88.118.8", code=2)
    templates = json.loads(ids("template", "--json"))
    assert [(t["template"], t["version"]) for t in templates] == [
        ("batch", 1),
        ("battery", 1),
        ("equipment", 1),
        ("product", 1),
    ]
    data = json.dumps({"name": "电池包", "model": "P-60"}, ensure_ascii=False)
    ids("register", "88.118.8/P1", "--template", "product", "--data", data, "--as-uscc", OWNER)
    out = ids("register", "88.118.8/P2", "--template", "product", "--data", data,
              "--as-uscc", OTHER, code=2)  # fmt: skip
    assert "ids.not_owner" in out
    res = json.loads(ids("resolve", "88.118.8/P1", "--json"))
    assert (res["http_status"], [v["data"] for v in res["values"]]) == (200, ["电池包", "P-60"])

    csv = tmp_path / "lots.csv"
    csv.write_text("suffix,product,batch,quantity\nL1,电芯,B1,100\nL2,电芯,B2,x\n", "utf-8")
    rep = json.loads(ids("bulk", str(csv), "--prefix", "88.118.8", "--template", "batch",
                         "--as-uscc", OWNER, "--json", code=1))  # fmt: skip
    assert [(p["row"], p["column"]) for p in rep["problems"]] == [(3, "quantity")]
    csv.write_text("suffix,product,batch,quantity\nL1,电芯,B1,100\nL2,电芯,B2,50\n", "utf-8")
    rep = json.loads(ids("bulk", str(csv), "--prefix", "88.118.8", "--template", "batch",
                         "--as-uscc", OWNER, "--json"))  # fmt: skip
    assert (rep["status"], rep["rows"]) == ("live", 2)

    pack = ids("battery", "generate", "A1B", "P", "E", "01", "HZ00001", "2026-03-15", "1").strip()
    assert pack == "A1BPE01HZ00001T3F0000001"
    cell = ids("battery", "generate", "A1B", "C", "E", "02", "HZ00001", "2026-03-15", "1").strip()
    ids("battery", "register", pack, "--prefix", "88.118.8", "--on", "2026-03-15",
        "--as-uscc", OWNER)  # fmt: skip
    ids("battery", "register", cell, "--prefix", "88.118.8", "--on", "2026-03-15",
        "--parent", pack, "--as-uscc", OWNER)  # fmt: skip
    ids("battery", "event", pack, "installed", "--on", "2026-04-01", "--vin",
        "LSVAB2BR1NN000001", "--as-uscc", OWNER)  # fmt: skip
    trace = json.loads(ids("battery", "trace", pack, "--json"))
    assert (trace["cells"], trace["vins"], trace["status"]) == (
        [cell],
        ["LSVAB2BR1NN000001"],
        "installed",
    )
    parsed = json.loads(ids("battery", "parse", cell, "--json"))
    assert (parsed["product"], parsed["chemistry_name"], parsed["produced"]) == (
        "cell",
        "NCM/NCA",
        "2026-03-15",
    )

    ids("withdraw", "88.118.8/P1", "--reason", "停产", "--as-uscc", OWNER)
    gone = json.loads(ids("resolve", "88.118.8/P1", "--json", code=1))
    assert gone["http_status"] == 410 and gone["history"][-1]["detail"] == {"reason": "停产"}
    stats = json.loads(ids("stats", "--json"))
    assert (stats["identifiers"], stats["live"], stats["withdrawn"]) == (5, 4, 1)
    assert stats["batteries"] == {"installed": 1, "packed": 1}


def test_demo_hook(engine: Engine) -> None:
    with Session(engine) as s:
        s.add_all(
            Enterprise(uscc=uscc.make(f"91330522MA2D{i:05d}"), name=f"演示企业{i}")
            for i in range(demo_hook.ENTERPRISES)
        )
        s.commit()
    summary = demo_hook.run(engine, Path("."), lambda *a: None)
    # 6 enterprises in the store: 500 each (the least; 5 per firm of the store, at most 50,000)
    assert [demo_hook.per_enterprise(f) for f in (6, 1_550, 10_000, 500_000)] == [
        500, 7_750, 50_000, 50_000,
    ]  # fmt: skip
    n = demo_hook.ENTERPRISES * 500
    batteries = 1 + 2 + 8 + 1
    assert summary["identifiers"] == n + batteries
    assert (summary["withdrawn"], summary["prefixes_active"]) == (1, demo_hook.ENTERPRISES)
    # LOT-2 and the pack and the second-life cell 200, LOT-1 410, NOPE 404
    assert summary["resolutions_by_day"][0]["by_status"] == {"200": 3, "404": 1, "410": 1}
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Identifier)) == n + batteries
        assert s.scalar(select(func.count()).select_from(IdPrefix)) == demo_hook.ENTERPRISES
        statuses = dict(
            s.execute(select(Battery.status, func.count()).group_by(Battery.status)).all()
        )
    # pack installed; 2 modules and 7 cells packed; cell 1 retired then second life; the new
    # second-life cell produced
    assert statuses == {"installed": 1, "packed": 9, "second_life": 1, "produced": 1}
    assert summary["batteries"] == statuses
    assert summary["headline"][0].startswith(f"标识解析：标识 {n + batteries:,} 个")
    # a second run over the same store registers nothing twice
    again = demo_hook.run(engine, Path("."), lambda *a: None)
    assert again["identifiers"] == n + batteries


def test_cli_delegation(env: Engine) -> None:
    """``ids delegate grant|list|revoke``: only the owner grants; the grant ends after the
    given day (UTC); revoking ends it at once."""
    from industry_brain.store.models import User

    with Session(env) as s:
        s.add(User(username="provider_cli", display_name="服务商", role="provider"))
        s.commit()
    ids("prefix", "apply", OWNER, "88.118.8")
    ids("prefix", "approve", "88.118.8")
    out = ids("delegate", "grant", "88.118.8", "provider_cli", "--until", "2099-06-30",
              "--as-uscc", OTHER, code=2)  # fmt: skip
    assert "ids.not_owner" in out
    g = json.loads(ids("delegate", "grant", "88.118.8", "provider_cli", "--until", "2099-06-30",
                       "--as-uscc", OWNER, "--json"))  # fmt: skip
    assert g["expires_at"] == "2099-07-01T00:00:00+00:00"
    listed = json.loads(ids("delegate", "list", "88.118.8", "--as-uscc", OWNER, "--json"))
    assert [(r["provider"], r["state"]) for r in listed] == [("provider_cli", "live")]
    assert "provider_cli" in ids("delegate", "list", "88.118.8", "--as-uscc", OWNER)
    rev = json.loads(ids("delegate", "revoke", "88.118.8", "provider_cli", "--as-uscc", OWNER,
                         "--json"))  # fmt: skip
    assert rev["revoked"] == 1
    listed = json.loads(ids("delegate", "list", "88.118.8", "--as-uscc", OWNER, "--json"))
    assert [r["state"] for r in listed] == ["revoked"]
    assert "ids.delegation_unknown" in ids("delegate", "revoke", "88.118.8", "provider_cli",
                                           "--as-uscc", OWNER, code=2)  # fmt: skip
