"""The list component (web/lists.py, issue 14 point 12) and confirmations (web/flash.py, point
17) over the web fixtures' store on SQLite and PostgreSQL: the sort whitelist (an unknown key
answers 422), an empty filter means all, sorting and paging, the export of exactly the filtered
rows (CSV and XLSX, formula-safe, audited) and a confirmation shown once."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.store.models import AuditLog, Enterprise, EnterpriseName, Industry
from industry_brain.web import lists
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.domain_fixtures import seed_domains
from tests.web_fixtures import USCC_NX, USCC_WX, USCC_XSS, login, seed

FORMULA_USCC = "91330500MA2B3C4D9X"
FORMULA_NAME = '=HYPERLINK("http://evil.example","点击")'


@pytest.fixture
def app(engine: Engine):  # type: ignore[no-untyped-def]
    seed(engine)
    with Session(engine) as s:  # a fourth firm in 吴兴区 whose name looks like a formula
        e = Enterprise(
            uscc=FORMULA_USCC,
            name=FORMULA_NAME,
            county_code="330502",
            registration_date=date(2012, 1, 1),
            status="存续",
        )
        s.add(e)
        s.flush()
        s.add(EnterpriseName(enterprise_id=e.id, name=e.name, normalized=e.name, kind="current"))
        s.commit()
    seed_domains(engine)  # 亩均 and carbon results of 2024 for the fixtures' three firms
    return create_app(Settings(today=date(2026, 11, 27)), engine)


@pytest.fixture
def admin(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="https://testserver") as c:
        login(c, "admin")
        yield c


def _usccs(html: str) -> list[str]:
    return re.findall(r'<tr data-uscc="([0-9A-Z]{18})"', html)


# -- the sort whitelist and the other list parameters ---------------------------------------------
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort=password_hash", "sort"),
        ("sort=name;DROP TABLE enterprises", "sort"),
        ("sort=scale", "sort"),  # a column that does not sort
        ("dir=sideways", "dir"),
        ("size=7", "size"),
        ("page=0", "page"),
        ("export=pdf", "export"),
    ],
)
def test_unknown_list_parameters_answer_422(admin: TestClient, query: str, field: str) -> None:
    r = admin.get(f"/enterprises?{query}", headers={"accept": "application/json"})
    assert r.status_code == 422, r.text[:300]
    body = r.json()
    assert body["code"] == "request.invalid"
    assert body["errors"][0]["loc"] == ["query", field]


def test_empty_filters_mean_all(admin: TestClient) -> None:
    r = admin.get("/enterprises?q=&county=&industry=&scale=&sort=&dir=&size=&page=")
    assert r.status_code == 200
    assert sorted(_usccs(r.text)) == sorted([USCC_WX, USCC_NX, USCC_XSS, FORMULA_USCC])
    assert 'data-total="4"' in r.text


def test_sort_by_column_both_ways_and_pages(admin: TestClient) -> None:
    # the four USCCs by hand: 91330500MA2B3C4D1Y < …4D5B < …4D9X < 91330502MA28C0A01P
    ascending = [USCC_XSS, USCC_WX, FORMULA_USCC, USCC_NX]
    r = admin.get("/enterprises?sort=uscc&dir=asc")
    assert _usccs(r.text) == ascending
    assert 'aria-sort="ascending"' in r.text
    r = admin.get("/enterprises?sort=uscc&dir=desc")
    assert _usccs(r.text) == ascending[::-1]
    # the header link of the sorted column turns the order round, keeping the filters
    r = admin.get("/enterprises?county=330502&sort=uscc&dir=asc")
    assert "sort=uscc&amp;dir=desc" in r.text and "county=330502" in r.text
    assert _usccs(r.text) == [USCC_XSS, USCC_WX, FORMULA_USCC]


def test_page_size_and_pages_in_sql(admin: TestClient, engine: Engine) -> None:
    # 20 more firms in 南浔区: 24 in all, 20 on page 1, 4 on page 2, 24 with size 50
    with Session(engine) as s:
        for k in range(20):
            s.add(
                Enterprise(
                    uscc=f"91330503MA0000{k:02d}0X"[:18],
                    name=f"南浔测试企业{k:02d}",
                    county_code="330503",
                    status="存续",
                )
            )
        s.commit()
    r1 = admin.get("/enterprises?sort=uscc&dir=asc&size=20&page=1")
    r2 = admin.get("/enterprises?sort=uscc&dir=asc&size=20&page=2")
    p1, p2 = _usccs(r1.text), _usccs(r2.text)
    assert len(p1) == 20 and len(p2) == 4 and not set(p1) & set(p2)
    assert 'data-total="24"' in r1.text and "第 21–24 条，共 24 条" in r2.text
    assert p1 + p2 == sorted(p1 + p2)
    assert len(_usccs(admin.get("/enterprises?size=50").text)) == 24


# -- export -------------------------------------------------------------------------------------
def test_export_csv_and_xlsx_are_the_filtered_rows_formula_safe_and_audited(
    admin: TestClient, engine: Engine
) -> None:
    query = "county=330502&sort=uscc&dir=desc&size=20&page=1"
    r = admin.get(f"/enterprises?{query}&export=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["企业名称", "统一社会信用代码", "区县", "行业", "规模", "状态"]
    assert [row[1] for row in rows[1:]] == [FORMULA_USCC, USCC_WX, USCC_XSS]
    by_uscc = {row[1]: row for row in rows[1:]}
    assert by_uscc[FORMULA_USCC][0] == "'" + FORMULA_NAME  # inert in a spreadsheet
    assert by_uscc[USCC_WX][0] == "湖州甲机械有限公司"
    assert by_uscc[USCC_WX][2] == "吴兴区" and by_uscc[USCC_WX][4] == "规上"

    r = admin.get(f"/enterprises?{query}&export=xlsx")
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert len(values) == 4 and [v[1] for v in values[1:]] == [FORMULA_USCC, USCC_WX, USCC_XSS]
    name_cell = ws.cell(row=2, column=1)
    assert name_cell.value == FORMULA_NAME and name_cell.data_type == "s"  # text, not a formula

    with Session(engine) as s:
        entries = s.scalars(
            select(AuditLog)
            .where(AuditLog.action == "export.list.enterprises")
            .order_by(AuditLog.id)
        ).all()
    assert [e.detail["format"] for e in entries] == ["csv", "xlsx"]
    assert entries[0].actor == "admin" and entries[0].detail["rows"] == 3
    assert entries[0].detail["filters"] == {"county": "330502"}
    assert entries[0].detail["sort"] == "uscc desc"


def test_export_is_scoped_like_the_page(app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="https://testserver") as c:
        login(c, "county_nx")  # 南浔区 only
        r = c.get("/enterprises?export=csv")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert [row[1] for row in rows[1:]] == [USCC_NX]


@pytest.mark.parametrize(
    "order",
    [
        "sort=name&dir=asc",
        "sort=name&dir=desc",
        "sort=county&dir=desc",
        "sort=industry",
        "sort=status&dir=desc",
        "sort=uscc&dir=asc",
    ],
)
def test_export_rows_are_the_lists_rows_in_its_order(
    admin: TestClient, engine: Engine, order: str
) -> None:
    """The export reads every row in one query of its own: the same rows in the same order as
    the list's pages (equal names broken by id, missing values last), with the county's and
    the industry's names."""
    with Session(engine) as s:
        industry = s.execute(
            select(Industry.code, Industry.name).where(Industry.level == "class").limit(1)
        ).one()
        for k in range(20):
            s.add(
                Enterprise(
                    uscc=f"91330503MA0000{k:02d}0X"[:18],
                    name=f"南浔同名企业{k % 3}",  # equal names: the id orders them
                    county_code="330503" if k % 4 else None,
                    industry_code=industry.code if k % 2 else None,
                    status="存续" if k % 5 else "注销",
                )
            )
        s.commit()
    shown = _usccs(admin.get(f"/enterprises?{order}&size=50").text)
    r = admin.get(f"/enterprises?{order}&export=csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(shown) == 24 and [row[1] for row in rows[1:]] == shown
    by_uscc = {row[1]: row for row in rows[1:]}
    assert by_uscc["91330503MA0000010X"][2:4] == ["南浔区", f"{industry.code} {industry.name}"]
    assert by_uscc["91330503MA0000000X"][2:4] == ["", ""]  # no county, no industry
    assert by_uscc["91330503MA0000000X"][5] == "注销"


@pytest.mark.parametrize(("scale", "text"), [("above", "规上"), ("below", "规下")])
def test_export_filtered_by_scale_writes_the_filters_scale(
    admin: TestClient, scale: str, text: str
) -> None:
    shown = _usccs(admin.get(f"/enterprises?scale={scale}&size=50").text)
    r = admin.get(f"/enterprises?scale={scale}&export=csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert shown and [row[1] for row in rows[1:]] == shown
    assert {row[4] for row in rows[1:]} == {text}


# -- the component alone ------------------------------------------------------------------------
SPEC = lists.ListSpec(
    "demo",
    (lists.Column("name", "col.name"), lists.Column("score", "mujun.score")),
    default_sort="score",
    default_desc=True,
    sizes=(2, 5),
    default_size=2,
)


def _state(**kw: object) -> lists.ListState:
    base = {"spec": SPEC, "path": "/x", "filters": {"county": ""}, "sort": "score"}
    base |= {"desc": True, "page": 1, "size": 2}
    return lists.ListState(**(base | kw))  # type: ignore[arg-type]


def test_in_memory_sort_puts_missing_values_last_and_pages() -> None:
    rows = [{"name": "甲", "score": 3.0}, {"name": "乙", "score": None}, {"name": "丙", "score": 9}]
    state = _state(page=2)
    assert state.apply(rows) == [{"name": "乙", "score": None}]
    assert state.total == 3 and state.pages == 2 and (state.first, state.last) == (3, 3)
    asc = _state(desc=False)
    assert [r["name"] for r in asc.sorted(rows)] == ["甲", "丙", "乙"]
    assert [r["name"] for r in _state(export="csv").apply(rows)] == ["丙", "甲", "乙"]


def test_page_numbers_and_urls_keep_the_filters() -> None:
    state = _state(page=7, filters={"county": "330502", "class": ""})
    state.total = 40  # 20 pages of 2
    assert state.page_numbers() == [1, None, 5, 6, 7, 8, 9, None, 20]
    url = state.url(page=8)
    assert url.startswith("/x?") and "county=330502" in url and "class=&" in url
    assert "page=8" in url and "sort=score" in url and "dir=desc" in url
    assert "page=" not in state.export_url("xlsx") and "export=xlsx" in state.export_url("xlsx")
    assert "dir=asc" in state.sort_url("name") and "dir=asc" in state.sort_url("score")


# -- import batches -----------------------------------------------------------------------------
def test_batch_list_filters_sorts_and_exports(admin: TestClient, engine: Engine) -> None:
    from industry_brain.store.models import ImportBatch

    with Session(engine) as s:  # two more batches besides the fixtures' committed one
        for k, (status, year, rows) in enumerate((("rejected", 2023, 7), ("committed", 2023, 40))):
            s.add(
                ImportBatch(
                    kind="tax",
                    department="tax",
                    file_name=f"税务_{k}.xlsx",
                    file_hash=f"{k}" * 64,
                    year=year,
                    status=status,
                    rows_total=rows,
                    rows_loaded=0 if status == "rejected" else rows,
                    rows_rejected=rows if status == "rejected" else 0,
                    options={},
                    summary={},
                )
            )
        s.commit()
    r = admin.get("/import/batches?kind=&status=&year=&sort=rows_total&dir=desc")
    assert r.status_code == 200
    totals = re.findall(
        r'<tr data-batch="\d+"><td><a [^>]*>\d+</a></td>(?:<td>.*?</td>){4}<td>([\d,]+)</td>',
        r.text,
    )
    assert totals == ["40", "7", "3"]  # 3 is the fixtures' statistics batch
    r = admin.get("/import/batches?kind=tax&status=committed&export=csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][1] == "税务" and rows[1][2] == "税务_1.xlsx"
    assert rows[1][4:8] == ["2023", "40", "40", "0"]
    with Session(engine) as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "export.list.batches")).one()
    assert entry.detail["filters"] == {"kind": "tax", "status": "committed"}
    assert entry.detail["rows"] == 1


def test_agent_list_is_the_agents_own_firms_and_exports_them(app, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="https://testserver") as c:
        login(c, "agent_wx")  # assigned: 湖州甲机械有限公司 only
        html = c.get("/agent?county=&industry=").text
        assert _usccs(html) == [USCC_WX]
        assert _usccs(c.get("/agent?county=330503").text) == []
        r = c.get("/agent?county=330502&e_export=xlsx")
        ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
        assert [[c.value for c in row] for row in ws.iter_rows()][1][:3] == [
            "湖州甲机械有限公司",
            USCC_WX,
            "吴兴区",
        ]
        assert c.get("/agent?e_sort=password", headers={"accept": "application/json"}).json()[
            "errors"
        ][0]["loc"] == ["query", "e_sort"]
    with Session(engine) as s:
        entry = s.scalars(
            select(AuditLog).where(AuditLog.action == "export.list.agent_enterprises")
        ).one()
    assert entry.actor == "agent_wx" and entry.detail["rows"] == 1


# -- confirmations and field errors (point 17) ---------------------------------------------
def _flash(html: str) -> str | None:
    match = re.search(r'<div class="flash" id="flash" role="status">(.*?)</div>', html, re.S)
    return match.group(1).strip() if match else None


def test_a_confirmation_after_a_redirect_shows_once(admin: TestClient) -> None:
    page = admin.get("/admin/tokens").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = admin.post(
        "/admin/tokens", data={"csrf_token": token, "username": "bank", "name": "核心系统"}
    )
    assert r.status_code == 200 and _flash(r.text) == "已创建 API 令牌“核心系统”"
    token_id = re.search(r'<tr data-token-id="(\d+)">', r.text).group(1)
    r = admin.post(
        f"/admin/tokens/{token_id}/revoke", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and "ib_flash" in r.headers["set-cookie"]
    first = admin.get("/admin/tokens")
    assert _flash(first.text) == "已吊销 API 令牌"
    assert _flash(admin.get("/admin/tokens").text) is None  # shown once
    # in English on the language of the page
    r = admin.post(
        f"/admin/tokens/{token_id}/revoke", data={"csrf_token": token}, follow_redirects=False
    )
    assert _flash(admin.get("/admin/tokens?lang=en").text) == "API token revoked"


def test_a_forged_flash_cookie_shows_nothing() -> None:
    from starlette.requests import Request as StarletteRequest

    from industry_brain.web import flash

    def request(cookie: str) -> StarletteRequest:
        headers = [(b"cookie", f"{flash.COOKIE}={cookie}".encode())]
        return StarletteRequest({"type": "http", "headers": headers})

    import base64
    import json

    forged = base64.urlsafe_b64encode(json.dumps({"k": "app.name", "v": {}}).encode()).decode()
    assert flash.message(request(forged), "zh") is None  # not a flash.* key
    assert flash.message(request("%%%"), "zh") is None
    good = base64.urlsafe_b64encode(
        json.dumps({"k": "flash.code_issued", "v": {}}).encode()
    ).decode()
    assert flash.message(request(good), "en") == "Carbon code issued"


def test_a_form_error_is_shown_beside_its_field(admin: TestClient) -> None:
    page = admin.get("/admin/tokens").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = admin.post(
        "/admin/tokens", data={"csrf_token": token, "username": "nobody", "name": "测试"}
    )
    assert r.status_code == 404
    label = re.search(r'<label>用户名 <input name="username"[^>]*>(.*?)</label>', r.text, re.S)
    assert label and 'class="field-error" id="error-username"' in label.group(1)
    assert 'value="nobody"' in r.text and 'value="测试"' in r.text  # the form is kept
    assert 'aria-invalid="true"' in r.text


# -- 亩均 results in SQL, the veto badge -----------------------------------------------------
def test_mujun_results_sort_in_sql_and_a_veto_is_marked_in_every_list(
    admin: TestClient, engine: Engine
) -> None:
    from industry_brain.domains.mujun.models import MujunResult

    # scores by hand (tests/domain_fixtures.py): 甲 92.5, the script-named firm 70.0, 乙 41.0
    assert _usccs(admin.get("/mujun").text) == [USCC_WX, USCC_XSS, USCC_NX]  # best first
    assert _usccs(admin.get("/mujun?sort=score&dir=asc").text) == [USCC_NX, USCC_XSS, USCC_WX]
    assert _usccs(admin.get("/mujun?class=D&sort=name").text) == [USCC_NX]
    r = admin.get("/mujun?sort=veto", headers={"accept": "application/json"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "sort"]
    assert 'class="badge vetoed"' not in admin.get("/enterprises").text
    with Session(engine) as s:  # 乙 vetoed (一票否决) in the published run
        s.query(MujunResult).filter(MujunResult.uscc == USCC_NX).update({"veto": True})
        s.commit()
    for url in ("/enterprises", "/mujun", "/carbon"):
        html = admin.get(url).text
        row = re.search(rf'<tr data-uscc="{USCC_NX}">(.*?)</tr>', html, re.S).group(1)
        assert 'class="badge vetoed"' in row, url
        other = re.search(rf'<tr data-uscc="{USCC_WX}">(.*?)</tr>', html, re.S).group(1)
        assert "vetoed" not in other, url
    r = admin.get("/mujun?export=csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][-1] == "亩均否决"
    assert {row[1]: row[-1] for row in rows[1:]} == {USCC_WX: "", USCC_XSS: "", USCC_NX: "亩均否决"}
