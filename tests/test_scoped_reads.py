"""The web's hot reads on SQLite and PostgreSQL: search (count and page in one pass), the
profile (per-year sums in SQL, department precedence, masking, scoped projects) and its audit
entry, also with views from several connections at once (as from several worker processes),
the cockpit cache filled once by a burst of cold requests, and ``serve --workers 2``."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.core.errors import NotFoundError
from industry_brain.store import scoped
from industry_brain.store.db import make_engine
from industry_brain.store.models import (
    AuditLog,
    Enterprise,
    EnterpriseName,
    EnterpriseScale,
    Fact,
    ImportBatch,
    LandParcel,
    PowerAccount,
    Project,
)
from industry_brain.store.scope import Scope
from tests.web_fixtures import PASSWORD, USCC_NX, USCC_WX
from tests.web_fixtures import seed as seed_web

CITY = Scope(user_id=None, username="city", role="city_officer")
COUNTY_WX = Scope(user_id=None, username="county_wx", role="county_officer", county_code="330502")
N = 30


def _uscc(n: int) -> str:
    return f"9133050{n:02d}ABCDEFGH"[:18]


def _name(n: int) -> str:
    return f"湖州{n:02d}号{'科技' if n % 3 == 0 else '机械'}有限公司"


def _seed(engine: Engine) -> dict[str, int]:
    """N enterprises in two counties; former names for every 7th, a stale 'current' names row
    for no. 5; 规上 in 2024 for the even ones; figures of several departments for no. 1."""
    with Session(engine) as s:
        batch = ImportBatch(
            kind="stats_annual",
            department="statistics",
            file_name="f.xlsx",
            file_hash="b" * 64,
            status="committed",
        )
        s.add(batch)
        s.flush()
        ids = {}
        for n in range(1, N + 1):
            e = Enterprise(
                uscc=_uscc(n),
                name=_name(n),
                county_code="330502" if n % 2 else "330503",
                registration_date=date(2015, 1, 1),
            )
            s.add(e)
            s.flush()
            ids[_uscc(n)] = e.id
            s.add(EnterpriseName(enterprise_id=e.id, name=e.name, normalized=e.name))
            if n % 7 == 0:
                s.add(
                    EnterpriseName(
                        enterprise_id=e.id, name=f"老{n}纺织厂", normalized="x", kind="former"
                    )
                )
            if n == 5:  # renamed without listing the old name as former: still searchable
                s.add(EnterpriseName(enterprise_id=e.id, name="旧称五金厂", normalized="y"))
            s.add(EnterpriseScale(enterprise_id=e.id, year=2024, above_scale=n % 2 == 0))
        one = ids[_uscc(1)]

        def fact(item, value, dept, year=2024, month=0, detail="", superseded_by=None):  # type: ignore[no-untyped-def]
            f = Fact(
                enterprise_id=one,
                year=year,
                month=month,
                item=item,
                detail=detail,
                value=value,
                unit="kWh" if item == "electricity" else "万元",
                source_dept=dept,
                batch_id=batch.id,
                superseded_by=superseded_by,
            )
            s.add(f)
            s.flush()
            return f

        for m in range(1, 13):  # monthly meter readings of two accounts: summed to the year
            fact("electricity", 1000.0 * m, "power_grid", month=m, detail="A1")
            fact("electricity", 10.0, "power_grid", month=m, detail="A2")
        fact("electricity", 5.0, "statistics")  # loses to the grid (precedence)
        fact("tax_paid", 80.0, "statistics")
        fact("tax_paid", 90.5, "tax")  # the tax bureau wins for tax
        newer = fact("output_value", 700.0, "statistics")
        fact("output_value", 650.0, "statistics", superseded_by=newer.id)  # history, not summed
        fact("output_value", 300.0, "statistics", detail="branch")  # per-detail: summed
        fact("revenue", None, "statistics")  # reported empty: no value, not 0
        fact("revenue", 1200.0, "statistics", year=2023)
        s.add(PowerAccount(account_no="A2", account_name="x", enterprise_id=one))
        s.add(PowerAccount(account_no="A1", account_name="x", enterprise_id=one))
        s.add(
            LandParcel(
                parcel_no="P1",
                enterprise_id=one,
                holder_name="h",
                area_mu=12.5,
                tenure="出让",
                batch_id=batch.id,
            )
        )
        for code, county in (("XM1", "330502"), ("XM2", "330503")):
            s.add(
                Project(
                    code=code,
                    name=f"项目{code}",
                    investor_uscc=_uscc(1),
                    enterprise_id=one,
                    county_code=county,
                    planned_investment=100.0,
                    stage="signed",
                )
            )
        s.commit()
    return ids


def _expected(engine: Engine, scope: Scope, q: str = "", scale: str | None = None) -> list[str]:
    """Reference answer computed in Python: USCCs in name order."""
    with Session(engine) as s:
        ents = s.scalars(select(Enterprise).where(scope.enterprise_clause())).all()
        names: dict[int, list[str]] = {}
        for eid, name in s.execute(select(EnterpriseName.enterprise_id, EnterpriseName.name)):
            names.setdefault(eid, []).append(name)
        scales = select(EnterpriseScale.enterprise_id, EnterpriseScale.above_scale)
        above = {eid: flag for eid, flag in s.execute(scales)}
    hits = [
        e
        for e in ents
        if (not q or q in e.name or any(q in n for n in names.get(e.id, [])) or e.uscc == q.upper())
        and (scale is None or above.get(e.id) is (scale == "above"))
    ]
    return [e.uscc for e in sorted(hits, key=lambda e: (e.name, e.id))]


@pytest.mark.parametrize(
    ("scope", "q", "scale"),
    [
        (CITY, "科技", None),
        (CITY, "科技", "above"),
        (CITY, "机械", "below"),
        (CITY, "有限公司", None),
        (CITY, "纺织厂", None),  # former names only
        (CITY, "旧称", None),  # a names row that is not the current name
        (CITY, _uscc(12).lower(), None),  # the whole USCC, any case
        (CITY, "", None),
        (CITY, "", "above"),
        (COUNTY_WX, "机械", None),
        (COUNTY_WX, "", None),
        (CITY, "zzz", None),
        (CITY, "%", None),  # matched literally: nothing
        (CITY, "_", None),  # matched literally: nothing
        (CITY, "02号", None),  # digits and Chinese (SQLite: the instr path)
        (COUNTY_WX, "老7", None),  # a former name's part, in a county's scope
    ],
)
def test_search_pages_and_totals_match_a_reference(engine, scope, q, scale):
    _seed(engine)
    expected = _expected(engine, scope, q, scale)
    per_page = 4
    with Session(engine) as s:
        pages = max(1, -(-len(expected) // per_page))
        got: list[str] = []
        for page in range(1, pages + 2):  # one page past the last one too
            result = scoped.search_enterprises(
                s, scope, q=q or None, scale=scale, page=page, per_page=per_page
            )
            assert result.total == len(expected), (q, page)
            got += [i["uscc"] for i in result.items]
            if result.items:
                assert {i["scale_year"] for i in result.items} == {2024}
        assert got == expected


def test_search_rows_carry_county_industry_and_scale(engine):
    _seed(engine)
    with Session(engine) as s:
        item = scoped.search_enterprises(s, CITY, q=_uscc(2)).items[0]
    assert item == {
        "uscc": _uscc(2),
        "name": _name(2),
        "county_code": "330503",
        "county_name": "南浔区",
        "industry_code": None,
        "industry_name": None,
        "status": "存续",
        "above_scale": True,
        "scale_year": 2024,
    }


def test_profile_sums_figures_in_sql_with_precedence_and_is_audited_once(engine):
    ids = _seed(engine)
    with Session(engine) as s:
        p = scoped.enterprise_profile(s, CITY, _uscc(1).lower(), request_id="req-1")
        s.commit()
        views = s.scalars(select(AuditLog).where(AuditLog.action == "enterprise.view")).all()
    assert [(a.actor, a.object_id, a.request_id) for a in views] == [("city", _uscc(1), "req-1")]
    f = p["facts"]
    # 1000 × (1 + … + 12) + 12 × 10 from the grid; the statistics figure loses
    assert f["electricity"][2024] == {"value": 78120.0, "unit": "kWh", "source_dept": "power_grid"}
    assert f["tax_paid"][2024] == {"value": 90.5, "unit": "万元", "source_dept": "tax"}
    # 700 + 300 (per detail); the superseded 650 is history
    assert f["output_value"][2024]["value"] == 1000.0
    assert f["revenue"] == {
        2023: {"value": 1200.0, "unit": "万元", "source_dept": "statistics"},
        2024: {"value": None, "unit": "万元", "source_dept": "statistics"},
    }
    assert p["scale"] == {2024: False}
    assert p["power_accounts"] == ["A1", "A2"]
    assert p["land_parcels"] == [
        {"parcel_no": "P1", "area_mu": 12.5, "tenure": "出让", "land_use": None, "holder_name": "h"}
    ]
    assert p["names"] == [{"name": _name(1), "kind": "current"}]
    assert p["former_names"] == []
    assert [(x["code"], x["name"]) for x in p["projects"]] == [
        ("XM1", "项目XM1"),
        ("XM2", "项目XM2"),
    ]
    assert p["county_name"] == "吴兴区" and p["sensitive_masked"] is False
    with Session(engine) as s:  # a county officer sees only the projects of the county
        p = scoped.enterprise_profile(s, COUNTY_WX, _uscc(1))
        assert [x["code"] for x in p["projects"]] == ["XM1"]
        agent = Scope(user_id=None, username="agent", role="agent")
        with pytest.raises(NotFoundError):  # outside the scope: as if it did not exist
            scoped.enterprise_profile(s, agent, _uscc(1))
    with Session(engine) as s:  # firm 14: a current and a former name, 规上 in 2024 (even)
        p = scoped.enterprise_profile(s, CITY, _uscc(14))
    assert p["names"] == [
        {"name": _name(14), "kind": "current"},
        {"name": "老14纺织厂", "kind": "former"},
    ]
    assert p["former_names"] == ["老14纺织厂"]
    assert p["scale"] == {2024: True} and p["power_accounts"] == [] and p["land_parcels"] == []
    assert p["county_name"] == "南浔区" and p["projects"] == []
    assert ids


def test_profile_of_an_agent_masks_tax(engine):
    ids = _seed(engine)
    from industry_brain.store.models import User

    with Session(engine) as s:
        u = User(username="ag", display_name="ag", role="agent", county_code="330502")
        s.add(u)
        s.flush()
        s.add(
            Project(
                code="XM9",
                name="p",
                investor_uscc=_uscc(1),
                enterprise_id=ids[_uscc(1)],
                county_code="330502",
                planned_investment=1.0,
                stage="signed",
                agent_id=u.id,
            )
        )
        s.commit()
        scope = Scope(user_id=u.id, username="ag", role="agent")
        p = scoped.enterprise_profile(s, scope, _uscc(1))
    assert p["facts"]["tax_paid"][2024] == {
        "value": None,
        "unit": "万元",
        "source_dept": None,
        "masked": True,
    }
    assert p["facts"]["electricity"][2024]["value"] == 78120.0
    assert [x["code"] for x in p["projects"]] == ["XM9"]


def test_concurrent_profile_views_from_several_connections_are_all_audited(sqlite_engine, tmp_path):
    """Two engines on one SQLite file stand for two worker processes; eight threads view
    profiles at once. Every view commits its audit row: no 'database is locked', none lost."""
    _seed(sqlite_engine)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    engines = [make_engine(url), make_engine(url)]
    errors: list[BaseException] = []
    views_per_thread = 15

    def viewer(k: int) -> None:
        try:
            for i in range(views_per_thread):
                with Session(engines[k % 2]) as s:
                    scoped.enterprise_profile(s, CITY, _uscc(1 + (k + i) % N), f"t{k}-{i}")
                    s.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=viewer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    assert errors == []
    with Session(sqlite_engine) as s:
        n = s.scalar(
            select(func.count(func.distinct(AuditLog.request_id))).where(
                AuditLog.action == "enterprise.view"
            )
        )
    assert n == 8 * views_per_thread


def test_a_burst_of_cold_cockpit_requests_computes_the_aggregates_once(engine, monkeypatch):
    """Threads asking for the same scope's cockpit while its cache is cold wait for one
    computation; a new import batch makes the next request compute it again, once."""
    _seed(engine)
    scoped._COCKPIT_CACHE.entries.clear()
    calls: list[str] = []
    real = scoped._aggregates

    def counting(session, scope):  # type: ignore[no-untyped-def]
        calls.append(scope.cache_key)
        return real(session, scope)

    monkeypatch.setattr(scoped, "_aggregates", counting)
    results: list[dict] = []
    errors: list[BaseException] = []

    def view() -> None:
        try:
            with Session(engine) as s:
                results.append(scoped.cockpit(s, CITY))
        except BaseException as exc:  # reported below
            errors.append(exc)

    with scoped._COCKPIT_CACHE.lock:  # hold the cache so that all threads arrive cold
        threads = [threading.Thread(target=view) for _ in range(6)]
        for t in threads:
            t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 6
    assert calls == ["city"]
    assert all(r["total"] == N for r in results)
    with Session(engine) as s:
        s.add(
            ImportBatch(
                kind="registration",
                department="market",
                file_name="g",
                file_hash="c" * 64,
                status="committed",
            )
        )
        s.commit()
        scoped.cockpit(s, CITY)
        scoped.cockpit(s, CITY)
    assert calls == ["city", "city"]
    scoped._COCKPIT_CACHE.entries.clear()


def test_serve_with_two_workers_answers_and_audits_every_view(sqlite_engine, tmp_path):
    """``industry-brain serve --workers 2`` (the app factory by import string) over a SQLite
    store: concurrent signed-in profile views all answer 200 and each leaves its audit row."""
    seed_web(sqlite_engine)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "IB_DATABASE_URL": sqlite_engine.url.render_as_string(hide_password=False),
        "IB_DATA_DIR": str(tmp_path),
        "IB_COOKIE_SECURE": "0",
        "IB_LOG_LEVEL": "WARNING",
    }
    cli = Path(sys.executable).with_name("industry-brain")
    log = tmp_path / "server.log"
    proc = subprocess.Popen(
        [str(cli), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        with httpx.Client(base_url=url) as c:
            token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
            r = c.post(
                "/login",
                data={"username": "city", "password": PASSWORD, "csrf_token": token.group(1)},
            )
            assert r.status_code == 303
            cookie = r.cookies["ib_session"]

        def view(i: int) -> int:
            with httpx.Client(base_url=url, cookies={"ib_session": cookie}, timeout=30) as c:
                return c.get(f"/enterprises/{(USCC_WX, USCC_NX)[i % 2]}").status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(view, range(40)))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert statuses == [200] * 40, log.read_text()[-2000:]
    with Session(sqlite_engine) as s:
        views = s.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "enterprise.view", AuditLog.actor == "city")
        )
    assert views == 40
    assert "locked" not in log.read_text()
