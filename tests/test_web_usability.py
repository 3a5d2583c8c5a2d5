"""Web usability (issue 14, "defects seen") on real SQLite and PostgreSQL: empty filters mean
"all", messages whole, the import flow's messages, readable bulletin parameters, numbers
formatted once, Swagger UI vendored, consents, names instead of codes, favicon.

The store is the web fixtures' (tests/web_fixtures.py) with the hand-made 亩均 and carbon
results (tests/domain_fixtures.py) and one 项目钉 project; the platform's day is the demo's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.domains.carbon import access
from industry_brain.domains.carbon.models import BankConsent
from industry_brain.domains.projects import stages
from industry_brain.store.models import ImportBatch
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.domain_fixtures import seed_domains
from tests.web_fixtures import USCC_WX, csrf_of, login, seed

TODAY = date(2026, 11, 27)
PROJECT = "P-WX-9"


@pytest.fixture
def app(engine: Engine):  # type: ignore[no-untyped-def]
    seed(engine)
    seed_domains(engine)
    with Session(engine) as s:
        stages.create_project(
            s,
            code=PROJECT,
            name="年产10万件零部件项目",
            investor_uscc=USCC_WX,
            county_code="330502",
            planned_investment=12000.0,
            signed_on=date(2026, 3, 1),
            today=TODAY,
            actor="seed",
            agent="agent_wx",
            industry_code="3411",
        )
        s.commit()
    return create_app(Settings(today=TODAY), engine)


def client_for(app, username: str | None = None) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app, base_url="https://testserver")
    if username:
        login(c, username)
    return c


@pytest.fixture
def admin(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with client_for(app, "admin") as c:
        yield c


def _text(html: str) -> str:
    """The visible text of a page: no tags, scripts or styles; whitespace folded."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


# -- 1. an empty filter value means "all" --------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "/carbon?county=330502&grade=",
        "/carbon?year=&county=&grade=&page=",
        "/mujun?year=&county=&class=&scope=&page=",
        "/mujun/lists?year=",
        "/enterprises?q=&county=&industry=&scale=&page=",
        "/projects?county=&stage=&warnings=&colour=&page=",
        "/bulletins?year=",
        "/admin/audit?actor=&action=&object_id=&page=",
    ],
)
def test_empty_filter_values_mean_all(admin, url):
    r = admin.get(url)
    assert r.status_code == 200, r.text[:300]


def test_carbon_grade_all_lists_every_grade_of_the_county(admin):
    page = admin.get("/carbon?county=330502&grade=").text
    # 吴兴区: 甲 graded 2 and the script-named firm not graded; 乙 (南浔区) not listed
    assert "湖州甲机械有限公司" in page and "湖州乙纺织有限公司" not in page
    assert admin.get("/carbon?county=330502&grade=9").status_code == 422  # bounds still hold


# -- 9. /docs from vendored Swagger UI; 10. the icon ---------------------------------------------
def test_docs_use_vendored_swagger_ui_without_inline_script(app, admin):
    r = admin.get("/docs")
    assert r.status_code == 200
    html = r.text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all(body.strip() == "" for _, body in scripts)  # CSP: no inline script
    assert "http://" not in html and "https://" not in html  # no CDN
    srcs = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert "/static/vendor/swagger-ui-bundle.js" in srcs and "/static/vendor/swagger-ui.css" in srcs
    for src in srcs:
        asset = admin.get(src)
        assert asset.status_code == 200 and len(asset.content) > 100, src
    assert admin.get("/openapi.json").json()["paths"]  # what the UI loads
    assert "script-src 'self'" in r.headers["content-security-policy"]


def test_favicon_is_served(app, admin):
    r = TestClient(app, base_url="https://testserver").get("/favicon.ico")  # signed out too
    assert r.status_code == 200 and r.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert 'rel="icon"' in admin.get("/cockpit").text


# -- 10. one live consent per bank ----------------------------------------------------------------
def test_same_bank_cannot_be_granted_twice_while_a_consent_waits_to_start(app, engine):
    """A consent that starts later (granted on a later day than the platform's, as the demo's
    were) is live too: a second one to the same bank is refused, nothing is stored."""
    with Session(engine) as s:
        access.grant(
            s, USCC_WX, "bank", ["grade"], TODAY + timedelta(days=90), today=TODAY + timedelta(3)
        )
        s.commit()
    with client_for(app, "ent_wx") as ent:
        page = ent.get("/portal").text
        r = ent.post(
            "/portal/consents",
            data={
                "csrf_token": csrf_of(page),
                "bank": "bank",
                "scopes": "grade",
                "expires_on": (TODAY + timedelta(days=60)).isoformat(),
            },
            follow_redirects=False,
        )
        assert r.status_code == 409 and "请先撤销" in r.text
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(BankConsent)) == 1


# -- 3. and 11. the import page ------------------------------------------------------------------
DATA = Path(__file__).parent / "data"


def _preview(client: TestClient, token: str, kind: str, name: str) -> str:
    files = {"file": (name, (DATA / name).read_bytes(), "application/octet-stream")}
    r = client.post(
        "/import/preview",
        data={"kind": kind, "csrf_token": token},
        files=files,
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200, r.text[-1500:]
    return r.text


def test_import_refused_without_valid_only_says_so_and_the_batch_list_refreshes(app, engine):
    with client_for(app) as client:
        token = login(client, "admin")
        html = _preview(client, token, "tax", "tax_gbk.csv")
        assert 'id="commit"' in html and 'name="accept_valid"' in html  # some rows are invalid
        upload = re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)
        r = client.post(
            "/import/commit",
            data={"csrf_token": token, "token": upload, "kind": "tax"},
            headers={"HX-Request": "true"},
        )
        text = _text(r.text)
        assert 'id="rejected"' in r.text and 'id="committed"' not in r.text
        assert "已导入，批次" not in text and "只导入有效行" in text
        r = client.post(
            "/import/commit",
            data={"csrf_token": token, "token": upload, "kind": "tax", "accept_valid": "1"},
            headers={"HX-Request": "true"},
        )
        assert 'id="committed"' in r.text and 'id="rejected"' not in r.text
        with Session(engine) as s:
            batch = s.scalars(select(ImportBatch).order_by(ImportBatch.id.desc())).first()
        # the batch list below the form comes with the answer, swapped in by htmx (out of band)
        oob = re.search(
            r'<section[^>]*id="recent-batches"[^>]*hx-swap-oob="true".*?</section>', r.text, re.S
        )
        assert oob and "tax_gbk.csv" in oob.group(0) and f"<td>{batch.id}</td>" in oob.group(0)


def test_wrong_kind_suggests_the_matching_one_names_web_controls_and_offers_no_commit(app):
    with client_for(app) as client:
        token = login(client, "admin")
        html = _preview(client, token, "tax", "power_utf8.csv")
        text = _text(html)
        assert "--year" not in text and "--" not in re.sub(r"—+", "", text)
        assert 'id="commit"' not in html and 'id="nothing-valid"' in html
        suggestion = re.search(r'id="kind-suggestion".*?</form>', html, re.S)
        assert suggestion and 'name="kind" value="power"' in suggestion.group(0)
        assert "电力" in _text(suggestion.group(0))
        upload = re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)
        again = client.post(
            "/import/preview/again",
            data={"csrf_token": token, "token": upload, "kind": "power"},
            headers={"HX-Request": "true"},
        )
        assert again.status_code == 200 and 'id="commit"' in again.text
        assert 'id="kind-suggestion"' not in again.text


# -- 8. the dual code: dark modules, the grade colour as a frame -----------------------------------
def test_code_modules_are_dark_and_the_grade_colour_frames_them(app, engine, tmp_path):
    from PIL import Image

    from industry_brain.domains.carbon import codes, views

    with Session(engine) as s:
        code = codes.issue_code(s, USCC_WX, actor="test", today=TODAY)
        s.commit()
    colour = views.grade_colours(2024)[code.grade - 1]
    with client_for(app, "admin") as admin:
        r = admin.get(f"/carbon/code/{USCC_WX}.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    svg = r.text
    frame = re.search(r'<rect width="(\d+)" height="\d+" fill="([^"]+)"/>', svg)
    assert frame and frame.group(2) == colour  # the frame in the grade colour
    modules = re.findall(r'stroke="(#[0-9a-fA-F]{3,6})"', svg)
    assert modules and {m.lower() for m in modules} <= {"#111", codes.MODULE_COLOUR}  # dark
    png = codes.save_png(code, tmp_path / "code.png")
    with Image.open(png) as img:
        rgb = img.convert("RGB")
        assert rgb.getpixel((1, 1)) == tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        side = img.size[0]
        inner = rgb.crop((side // 4, side // 4, 3 * side // 4, 3 * side // 4))
        assert {c for _, c in inner.getcolors(1 << 16)} <= {(255, 255, 255), (17, 17, 17)}
