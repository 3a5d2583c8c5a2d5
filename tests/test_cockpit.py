"""Cockpit filters and data completeness (issue 14, point 15) on a tiny hand-made store
(tests/web_fixtures.py: 甲 and the script-tag firm in 吴兴区 330502, 乙 in 南浔区 330503, each
with 2024 统计 output_value and tax_paid), plus, added here, 2024 税务 tax_paid of 甲 only and
电力 electricity of 乙 only.

By hand, 2024, city-wide (3 enterprises): 电力 用电量 1/3; 统计 工业总产值 3/3; 统计 实缴税金
3/3; 税务 实缴税金 1/3. Filtered to 吴兴区 (甲 and the script-tag firm): 0/2, 2/2, 2/2, 1/2.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.store import cockpit, scoped
from industry_brain.store.models import Enterprise, Fact, ImportBatch
from industry_brain.store.scope import Scope
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests import web_fixtures
from tests.web_fixtures import USCC_NX, USCC_WX, USCC_XSS, login

CITY = Scope(user_id=None, username="city", role="city_officer")
COUNTY_NX = Scope(user_id=None, username="nx", role="county_officer", county_code="330503")


def _seed(engine) -> None:  # type: ignore[no-untyped-def]
    web_fixtures.seed(engine)
    with Session(engine) as s:
        ids = dict(s.execute(select(Enterprise.uscc, Enterprise.id)).all())
        for dept, kind, uscc, item, unit in (
            ("tax", "tax", USCC_WX, "tax_paid", "万元"),
            ("power_grid", "power", USCC_NX, "electricity", "kWh"),
        ):
            batch = ImportBatch(
                kind=kind,
                department=dept,
                file_name=f"{dept}.xlsx",
                file_hash=dept[0] * 64,
                sheet="Sheet1",
                year=2024,
                status="committed",
                rows_total=1,
                rows_loaded=1,
                rows_rejected=0,
                options={},
                summary={},
            )
            s.add(batch)
            s.flush()
            s.add(
                Fact(
                    enterprise_id=ids[uscc],
                    year=2024,
                    month=0,
                    item=item,
                    detail="",
                    value=100.0,
                    unit=unit,
                    source_dept=dept,
                    batch_id=batch.id,
                )
            )
        s.commit()
    scoped._COCKPIT_CACHE.entries.clear()


def _shares(data: dict) -> dict[tuple[str, str], tuple[int, float]]:
    return {(r["dept"], r["item"]): (r["n"], round(r["share"], 4)) for r in data["rows"]}


def test_completeness_by_department_and_item_computed_by_hand(engine) -> None:  # type: ignore[no-untyped-def]
    _seed(engine)
    with Session(engine) as s:
        city = cockpit.completeness(s, CITY, 2024)
        wx = cockpit.completeness(s, cockpit.narrowed(CITY, cockpit.Filters(county="330502")), 2024)
        none = cockpit.completeness(s, CITY, 2023)
    assert city["enterprises"] == 3
    assert _shares(city) == {
        ("power_grid", "electricity"): (1, 0.3333),
        ("statistics", "output_value"): (3, 1.0),
        ("statistics", "tax_paid"): (3, 1.0),
        ("tax", "tax_paid"): (1, 0.3333),
    }
    # ordered by department, then the key items' order
    assert [(r["dept"], r["item"]) for r in city["rows"]] == [
        ("power_grid", "electricity"),
        ("statistics", "output_value"),
        ("statistics", "tax_paid"),
        ("tax", "tax_paid"),
    ]
    # a department with nothing in the filtered scope still shows, at 0 %
    assert wx["enterprises"] == 2
    assert _shares(wx) == {
        ("power_grid", "electricity"): (0, 0.0),
        ("statistics", "output_value"): (2, 1.0),
        ("statistics", "tax_paid"): (2, 1.0),
        ("tax", "tax_paid"): (1, 0.5),
    }
    assert none["rows"] == [] and none["enterprises"] == 3


def test_filters_never_widen_the_callers_scope(engine) -> None:  # type: ignore[no-untyped-def]
    _seed(engine)
    with Session(engine) as s:
        opts = cockpit.options(s, COUNTY_NX)
        # a county officer of 南浔区 asking for 吴兴区: the county filter is not theirs to set
        asked = cockpit.Filters(year=2024, county="330502", industry="99")
        cleaned = cockpit.clean(COUNTY_NX, asked, opts)
        view = cockpit.narrowed(COUNTY_NX, cleaned)
        data = cockpit.completeness(s, view, 2024)
        # the city officer's filter narrows
        city_wx = cockpit.narrowed(CITY, cockpit.Filters(county="330502"))
        names = sorted(s.scalars(select(Enterprise.uscc).where(city_wx.enterprise_clause())))
    assert cleaned == cockpit.Filters(year=2024)  # unknown industry and foreign county dropped
    assert view is COUNTY_NX
    assert data["enterprises"] == 1
    assert _shares(data)[("power_grid", "electricity")] == (1, 1.0)
    assert names == sorted([USCC_WX, USCC_XSS])
    assert city_wx.cache_key != CITY.cache_key  # cached aggregates kept apart


def test_drill_down_lists_the_enterprises_behind_a_figure(engine) -> None:  # type: ignore[no-untyped-def]
    _seed(engine)
    with Session(engine) as s:
        missing_tax = cockpit.drill_down(
            s, CITY, scale_year=2024, fact_year=2024, dept="tax", item="tax_paid", has=False
        )
        with_power = cockpit.drill_down(
            s,
            CITY,
            scale_year=2024,
            fact_year=2024,
            dept="power_grid",
            item="electricity",
            has=True,
        )
        above_wx = cockpit.drill_down(
            s,
            cockpit.narrowed(CITY, cockpit.Filters(county="330502")),
            scale_year=2024,
            scale="above",
        )
        below = cockpit.drill_down(s, CITY, scale_year=2024, scale="below")
        unknown = cockpit.drill_down(s, CITY, scale_year=2024, scale="unknown")
    assert missing_tax[0] == 2 and {r["uscc"] for r in missing_tax[1]} == {USCC_NX, USCC_XSS}
    assert with_power[0] == 1 and with_power[1][0]["uscc"] == USCC_NX
    assert above_wx[0] == 2 and {r["scale"] for r in above_wx[1]} == {"above"}
    assert below[0] == 1 and below[1][0]["uscc"] == USCC_NX
    assert unknown == (0, [])


@pytest.fixture
def city_client(engine):  # type: ignore[no-untyped-def]
    _seed(engine)
    app = create_app(Settings(), engine)
    with TestClient(app, base_url="https://testserver") as client:
        login(client, "city")
        yield client


def test_cockpit_page_filters_and_links(city_client) -> None:  # type: ignore[no-untyped-def]
    page = city_client.get("/cockpit?year=2024&county=330502&industry=").text
    # the completeness table: 税务 实缴税金 1 of 2 in 吴兴区, the missing one linked
    assert 'data-dept="tax" data-item="tax_paid"' in page
    row = page.split('data-dept="tax" data-item="tax_paid"')[1].split("</tr>")[0]
    assert "<td>1</td>" in row and "50.0" in row
    assert (
        "/cockpit/enterprises?year=2024&amp;county=330502&amp;dept=tax&amp;item=tax_paid&amp;has=0"
        in row
    )
    # the tile links carry the filters
    assert (
        'id="tile-above" href="/cockpit/enterprises?year=2024&amp;county=330502&amp;scale=above"'
        in page
    )
    # an empty filter means all; an unknown county is dropped, not an error
    assert city_client.get("/cockpit?year=&county=&town=&industry=").status_code == 200
    assert city_client.get("/cockpit?county=999999").status_code == 200
    listed = city_client.get(
        "/cockpit/enterprises?year=2024&county=330502&dept=tax&item=tax_paid&has=0"
    ).text
    assert USCC_XSS in listed and USCC_WX not in listed and USCC_NX not in listed
