"""Towns (乡镇街道): a county officer's 亩均 and carbon summaries are broken down by town, a
city officer's by county (issue 12 point 5). Store: tests/web_fixtures.py with the hand-made
results of tests/domain_fixtures.py; 甲 is placed in 织里镇 (330502100) and the XSS firm in
月河街道 (330502001), both of 吴兴区.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from industry_brain.domains.carbon import views as carbon_views
from industry_brain.domains.mujun import views as mujun_views
from industry_brain.store.models import Enterprise
from industry_brain.store.scope import Scope
from tests import web_fixtures
from tests.domain_fixtures import seed_domains
from tests.web_fixtures import USCC_WX, USCC_XSS

CITY = Scope(user_id=None, username="city", role="city_officer")
COUNTY_WX = Scope(user_id=None, username="wx", role="county_officer", county_code="330502")


def _seed(engine) -> None:  # type: ignore[no-untyped-def]
    web_fixtures.seed(engine)
    seed_domains(engine)
    with Session(engine) as s:
        for uscc, town in ((USCC_WX, "330502100"), (USCC_XSS, "330502001")):
            s.execute(update(Enterprise).where(Enterprise.uscc == uscc).values(town_code=town))
        s.commit()


def _areas(dist: dict, keys: tuple[str, ...]) -> dict[str, tuple]:
    return {a["name"]: tuple(a[k] for k in keys) for a in dist["counties"]}


def test_county_officer_sees_towns_city_officer_counties(engine) -> None:  # type: ignore[no-untyped-def]
    _seed(engine)
    with Session(engine) as s:
        town = mujun_views.class_distribution(s, COUNTY_WX, 2024)
        county = mujun_views.class_distribution(s, CITY, 2024)
        grades_town = carbon_views.grade_distribution(s, COUNTY_WX, 2024)
        grades_county = carbon_views.grade_distribution(s, CITY, 2024)
    assert town["level"] == "town"
    assert _areas(town, ("code", "A", "B", "D")) == {
        "月河街道": ("330502001", 0, 1, 0),
        "织里镇": ("330502100", 1, 0, 0),
    }
    assert county["level"] == "county"
    assert _areas(county, ("code", "A", "B", "D")) == {
        "吴兴区": ("330502", 1, 1, 0),
        "南浔区": ("330503", 0, 0, 1),
    }
    assert grades_town["level"] == "town"
    assert _areas(grades_town, ("2", "ungraded")) == {"月河街道": (0, 1), "织里镇": (1, 0)}
    assert _areas(grades_county, ("2", "5", "ungraded")) == {
        "吴兴区": (1, 0, 1),
        "南浔区": (0, 1, 0),
    }


def test_cockpit_of_a_county_officer_lists_towns(engine) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from industry_brain.web.app import create_app
    from industry_brain.web.settings import Settings
    from tests.web_fixtures import login

    _seed(engine)
    app = create_app(Settings(), engine)
    with TestClient(app, base_url="https://testserver") as client:
        login(client, "county_wx")
        page = client.get("/cockpit").text
        assert "各乡镇街道规上/规下企业数" in page
        assert "织里镇" in page and "月河街道" in page
        assert "吴兴区" in page  # the officer's county in the title
    with TestClient(app, base_url="https://testserver") as client:
        login(client, "city")
        page = client.get("/cockpit").text
        assert "各区县规上/规下企业数" in page and "织里镇" not in page
