"""The province web bench's store (issue 21 point 6, ``bench/province_store.py``) on a reduced
size: a generated province snapshot of 2,000 firms loaded by COPY into a throwaway PostgreSQL
database, with its users and the carbon and 亩均 services run on it; the pages read it as the
city officer and as county officers (their scope: one county)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from bench import province_store
from bench.mujun import prepare
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from industry_brain.core import formatting
from industry_brain.demo.constants import DEMO_TODAY
from industry_brain.demo.operational import DEMO_PASSWORD
from industry_brain.store import db
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings

pytestmark = pytest.mark.postgres
FIRMS = 2000


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IB_DATA_DIR", str(tmp_path_factory.mktemp("province-web")))
        return prepare(FIRMS)


@pytest.fixture(scope="module")
def loaded(
    pg_server, snapshot: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, dict]]:
    name = f"t_province_{uuid.uuid4().hex[:8]}"
    url = pg_server.create_database(name)
    engine = db.make_engine(url)
    said: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IB_DATA_DIR", str(tmp_path_factory.mktemp("province-web-data")))
        result = province_store.load(engine, snapshot, said.append)
    try:
        yield engine, {"result": result, "said": said}
    finally:
        engine.dispose()
        db.engine_for.cache_clear()


def _scalar(engine: Engine, sql: str, **params: object) -> object:
    with engine.connect() as c:
        return c.execute(text(sql), params).scalar()


def test_the_store_holds_the_snapshot(loaded, snapshot: Path) -> None:
    engine, out = loaded
    ents = pd.read_parquet(snapshot / "enterprises.parquet")
    scales = pd.read_parquet(snapshot / "scales.parquet")
    facts = pd.read_parquet(snapshot / "facts.parquet")
    assert len(ents) > FIRMS  # the active firms of the latest year and those gone before
    assert _scalar(engine, "SELECT count(*) FROM enterprises") == len(ents)
    assert _scalar(engine, "SELECT count(*) FROM enterprise_names") == len(ents)
    assert _scalar(engine, "SELECT count(*) FROM enterprise_scales") == len(scales)
    assert _scalar(engine, "SELECT count(*) FROM facts") == len(facts)
    # the figures themselves: one item's sum per year, and one firm's name and county
    want = facts[facts["item"] == "output_value"].groupby("year")["value"].sum()
    with engine.connect() as c:
        got = dict(
            c.execute(
                text("SELECT year, sum(value) FROM facts WHERE item = 'output_value' GROUP BY year")
            ).all()
        )
    assert set(got) == set(want.index)
    for year, total in want.items():
        assert got[year] == pytest.approx(total, rel=1e-12)
    first = ents.iloc[len(ents) // 2]
    with engine.connect() as c:
        row = c.execute(
            text("SELECT uscc, name, county_code FROM enterprises WHERE id = :i"),
            {"i": int(first["enterprise_id"])},
        ).one()
    assert tuple(row) == (first["uscc"], first["name"], first["county_code"])
    # lineage: each fact points at its department's batch, which says it is a bench bulk load
    with engine.connect() as c:
        lineage = c.execute(
            text(
                "SELECT b.kind, b.department, f.source_dept, count(*) FROM facts f "
                "JOIN import_batches b ON b.id = f.batch_id "
                "WHERE f.item IN ('tax_paid', 'electricity', 'land_area') "
                "GROUP BY 1, 2, 3 ORDER BY 1"
            )
        ).all()
        options = c.execute(text("SELECT options, summary FROM import_batches")).all()
    per_item = facts["item"].value_counts()
    assert [tuple(r) for r in lineage] == [
        ("land", "natural_resources", "natural_resources", per_item["land_area"]),
        ("power", "power_grid", "power_grid", per_item["electricity"]),
        ("tax", "tax", "tax", per_item["tax_paid"]),
    ]
    assert all(o["bench_bulk_load"] and "not the ingest path" in s["note_en"] for o, s in options)
    # the facts' indexes and foreign keys are back after the COPY
    assert _scalar(engine, "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_facts_lookup'")
    assert (
        _scalar(
            engine,
            "SELECT count(*) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = 'facts'::regclass",
        )
        == 3
    )  # enterprise, batch, superseded_by
    # the services ran: carbon of the latest year, 亩均 of the two latest (published)
    latest = int(scales["year"].max())
    directory = int((scales["year"] == latest).sum())
    assert _scalar(engine, "SELECT count(*) FROM carbon_results") == directory
    published = _scalar(
        engine, "SELECT count(*) FROM mujun_runs WHERE status = 'published' AND year >= :y",
        y=latest - 1,
    )  # fmt: skip
    assert published == 2
    assert any(line.startswith("  copy facts") for line in out["said"])  # each step timed


def _client(engine: Engine, username: str) -> TestClient:
    client = TestClient(
        create_app(Settings(today=DEMO_TODAY), engine), base_url="https://testserver"
    )
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post(
        "/login",
        data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    return client


def _total(html: str) -> int:
    """The search page's number of matches."""
    found = re.search(r'data-total="(\d+)"', html)
    assert found, "no total on the page"
    return int(found.group(1))


def test_county_officers_see_their_county(loaded, snapshot: Path) -> None:
    engine, out = loaded
    ents = pd.read_parquet(snapshot / "enterprises.parquet")
    counties = sorted(ents["county_code"].unique())
    assert out["result"]["users"]["county"] == [f"county_{c}" for c in counties]
    term = "有限公司"
    named = ents[ents["name"].str.contains(term, regex=False)]
    mine, other = counties[0], counties[1]
    with _client(engine, "city_officer_01") as city:
        assert _total(city.get("/enterprises", params={"q": term}).text) == len(named)
    with _client(engine, f"county_{mine}") as county:
        page = county.get("/enterprises", params={"q": term, "size": 100})
        assert page.status_code == 200
        assert _total(page.text) == int((named["county_code"] == mine).sum())
        shown = set(re.findall(r'href="/enterprises/([0-9A-Z]{18})"', page.text))
        assert shown and shown <= set(ents.loc[ents["county_code"] == mine, "uscc"])
        # another county's firm is not found; the officer's own firm shows its figures
        theirs = ents.loc[ents["county_code"] == other, "uscc"].iloc[0]
        assert county.get(f"/enterprises/{theirs}").status_code == 404
        facts = pd.read_parquet(snapshot / "facts.parquet")
        fact = facts[
            facts["enterprise_id"].isin(ents.loc[ents["county_code"] == mine, "enterprise_id"])
            & (facts["item"] == "output_value")
        ].iloc[0]
        uscc = ents.loc[ents["enterprise_id"] == fact["enterprise_id"], "uscc"].iloc[0]
        profile = county.get(f"/enterprises/{uscc}")
        assert profile.status_code == 200
        cell = re.search(
            rf'hx-get="/enterprises/{uscc}/facts/output_value/{int(fact["year"])}"[^>]*>([^<]+)',
            profile.text,
        )
        assert cell and cell.group(1).strip() == formatting.number(fact["value"], unit="万元")


@pytest.mark.parametrize("kept", [30, 2000])
def test_search_pages_past_the_kept_ids(loaded, snapshot: Path, monkeypatch, kept: int) -> None:
    """PostgreSQL's search keeps the first ids of a search (scoped.KEPT_IDS); the pages past
    them walk the name index: both give the reference's order (name, then id) and total."""
    from sqlalchemy.orm import Session

    from industry_brain.store import scoped
    from industry_brain.store.scope import Scope

    engine, _ = loaded
    monkeypatch.setattr(scoped, "KEPT_IDS", kept)
    monkeypatch.setattr(scoped, "_SEARCH_CACHE", scoped._Cache())
    ents = pd.read_parquet(snapshot / "enterprises.parquet")
    county = sorted(ents["county_code"].unique())[0]
    term = "有限公司"
    mine = ents[(ents["county_code"] == county) & ents["name"].str.contains(term, regex=False)]
    want = list(mine.sort_values(["name", "enterprise_id"])["uscc"])
    assert len(want) > 3 * 20
    scope = Scope(user_id=None, username="t", role="county_officer", county_code=county)
    got: list[str] = []
    with Session(engine) as s:
        for page in (1, 2, 3, 4):
            result = scoped.search_enterprises(s, scope, q=term, page=page, per_page=20)
            assert result.total == len(want)
            got += [e["uscc"] for e in result.items]
    assert got == want[:80]
