"""Formula injection and unwritable characters in every export (issue 13, point 11).

An enterprise renamed ``=HYPERLINK("http://evil.example/x","click")`` and one whose name holds a
control character flow through the real store into each export: the ingest error report, the
亩均 ranking workbook, the 清三低 lists (XLSX and CSV, also downloaded from the web) and the 百千万
bulletin. Each produced XLSX is opened with openpyxl: the name is a string cell, no cell of the
workbook is a formula, and the raw sheet XML holds no ``<f>`` element. CSV cells that could start
a formula carry the OWASP ``'`` prefix. No writer fails on the control character; it shows
escaped. The department file of the ingest report carries a NUL byte; names stored directly use
U+0001 instead, because PostgreSQL text cannot hold NUL (XLSX can hold neither).
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from industry_brain.core import exports, uscc
from industry_brain.domains.mujun import lists
from industry_brain.domains.mujun import report as mujun_report
from industry_brain.domains.mujun.models import MujunResult
from industry_brain.domains.projects import bulletin, programs, stages
from industry_brain.ingest import import_file
from industry_brain.store.models import Enterprise
from tests.domain_fixtures import seed_domains
from tests.web_fixtures import USCC_NX, USCC_WX, seed

EVIL = '=HYPERLINK("http://evil.example/x","click")'
NUL_NAME = "湖州\x00空字符有限公司"
NUL_SHOWN = "湖州\\x00空字符有限公司"
#: A name with a control character the store keeps on both backends (PostgreSQL refuses NUL).
CTRL_NAME = "湖州\x01空字符有限公司"
CTRL_SHOWN = "湖州\\x01空字符有限公司"


def _formula_cells(path: Path) -> list[str]:
    wb = load_workbook(path)
    return [
        f"{ws.title}!{cell.coordinate}"
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


def _cells_with(path: Path, text: str) -> list[tuple[object, str]]:
    wb = load_workbook(path)
    return [
        (cell.value, cell.data_type)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and text in cell.value
    ]


def _assert_inert(path: Path) -> None:
    """The evil name is a string cell, the NUL name is shown escaped, no formula anywhere."""
    assert _cells_with(path, "HYPERLINK"), "the renamed enterprise is missing from the export"
    assert all(v == EVIL and t == "s" for v, t in _cells_with(path, "HYPERLINK"))
    assert _formula_cells(path) == []
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name), name


# -- the helper itself --------------------------------------------------------------------------
@pytest.mark.parametrize("text", [EVIL, "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=1"])
def test_csv_text_prefixes_formula_triggers(text: str) -> None:
    assert exports.csv_text(text) == "'" + text


@pytest.mark.parametrize("text", ["湖州甲", "1-2", "a=b", "", "'quoted"])
def test_csv_text_leaves_other_text(text: str) -> None:
    assert exports.csv_text(text) == text


def test_xlsx_cells_are_strings_and_control_characters_escaped(tmp_path: Path) -> None:
    wb = exports.workbook()
    ws = wb.active
    ws.title = exports.sheet_title("税收/2025:[a]\x00")
    row = exports.append(
        ws, [EVIL, "#N/A", NUL_NAME, "\ud800x\uffff", "x" * 40_000, 1.5, float("nan"), -3]
    )
    assert row == 1
    path = exports.save(wb, tmp_path / "t.xlsx")
    got = load_workbook(path).active
    assert got.title == "税收_2025__a__x00"
    values = [(c.value, c.data_type) for c in got[1]]
    assert values[:4] == [(EVIL, "s"), ("#N/A", "s"), (NUL_SHOWN, "s"), ("\\ud800x\\uffff", "s")]
    assert len(values[4][0]) == exports.XLSX_CELL_MAX and values[4][0].endswith(exports.TRUNCATED)
    assert values[5:] == [(1.5, "n"), (None, "n"), (-3, "n")]


def test_write_csv_prefixes_text_not_numbers(tmp_path: Path) -> None:
    path = exports.write_csv(
        tmp_path / "t.csv", ["名称", "值"], [[EVIL, -3], ["-5", 2.5], [NUL_NAME, None]]
    )
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows == [["名称", "值"], ["'" + EVIL, "-3"], ["'-5", "2.5"], [NUL_SHOWN, ""]]


def test_write_xlsx_keeps_text_as_text_and_types_the_rest(tmp_path: Path) -> None:
    """The XlsxWriter table (the web lists' downloads) under the same rules as ``append``:
    formula-like text, error codes and URLs are string cells, characters XML cannot hold are
    escaped, long text is cut with the mark; numbers, booleans and dates keep their types;
    missing values, NaN and empty text leave the cell empty; a zoned time is ISO text."""
    when = datetime(2025, 3, 4, 5, 6, 7)
    zoned = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    rows = [
        [EVIL, "=1+1", "#N/A", "http://evil.example/x", NUL_NAME, "\ud800x\uffff"],
        ["x" * 40_000, "+1", "-2", "@SUM(A1)", "1e3", ""],
        [1.5, -3, Decimal("2.25"), np.int64(7), np.float64("nan"), float("inf")],
        [True, False, when, date(2025, 3, 4), zoned, None],
    ]
    path = exports.write_xlsx(
        tmp_path / "t.xlsx", ["名称", "值", "c", "d", "e", "f"], rows, title="税收/2025:[a]\x00"
    )
    got = load_workbook(path).active
    assert got.title == "税收_2025__a__x00"
    values = [[(c.value, c.data_type) for c in row] for row in got.iter_rows()]
    assert values[0] == [(v, "s") for v in ["名称", "值", "c", "d", "e", "f"]]
    assert values[1] == [
        (EVIL, "s"),
        ("=1+1", "s"),
        ("#N/A", "s"),
        ("http://evil.example/x", "s"),
        (NUL_SHOWN, "s"),
        ("\\ud800x\\uffff", "s"),
    ]
    long, *rest = values[2]
    assert len(long[0]) == exports.XLSX_CELL_MAX and long[0].endswith(exports.TRUNCATED)
    assert rest == [("+1", "s"), ("-2", "s"), ("@SUM(A1)", "s"), ("1e3", "s"), (None, "n")]
    assert values[3] == [(1.5, "n"), (-3, "n"), (2.25, "n"), (7, "n"), (None, "n"), (None, "n")]
    assert values[4][:4] == [(True, "b"), (False, "b"), (when, "d"), (datetime(2025, 3, 4), "d")]
    assert values[4][4:] == [("2025-03-04T05:06:07+00:00", "s"), (None, "n")]
    assert got.cell(row=5, column=3).number_format == "yyyy-mm-dd h:mm:ss"
    assert got.cell(row=5, column=4).number_format == "yyyy-mm-dd"
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(n.startswith("xl/worksheets/_rels") for n in sheets)  # no link
        for name in sheets:
            assert b"<f>" not in z.read(name) and b"<f " not in z.read(name), name


def test_write_csv_writes_every_row_of_a_long_table(tmp_path: Path) -> None:
    """Rows go out a block at a time: all of them arrive, in order, each cell as before."""
    rows = [[f"湖州{i}号", i, "=1+1" if i % 1000 == 0 else "-"] for i in range(4_500)]
    path = exports.write_csv(tmp_path / "t.csv", ["名称", "序号", "备注"], rows)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    with path.open(encoding="utf-8-sig", newline="") as fh:
        got = list(csv.reader(fh))
    assert len(got) == 4_501 and got[0] == ["名称", "序号", "备注"]
    assert got[1] == ["湖州0号", "0", "'=1+1"] and got[2] == ["湖州1号", "1", "'-"]
    assert got[2001] == ["湖州2000号", "2000", "'=1+1"] and got[4500] == [
        "湖州4499号",
        "4499",
        "'-",
    ]
    assert [int(r[1]) for r in got[1:]] == list(range(4_500))


CELL_TEXT = st.text(
    alphabet="a湖,\"\n\r\t=+-@'1 \x00\x01\uffff",
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda n: st.lists(st.lists(CELL_TEXT, min_size=n, max_size=n), min_size=1, max_size=5)
    )
)
def test_csv_bytes_of_text_is_the_cell_by_cell_file(table: list[list[str]]) -> None:
    """A table of text written at once (when nothing needs a change) or cell by cell reads
    back as :func:`exports.csv_value` of each cell: the same bytes as :func:`write_csv`."""
    import tempfile

    header, *rows = table
    with tempfile.TemporaryDirectory() as folder:
        expected = exports.write_csv(Path(folder) / "t.csv", header, rows).read_bytes()
    assert exports.csv_bytes(header, rows) == expected
    got = list(csv.reader(io.StringIO(expected.decode("utf-8-sig"), newline="")))
    assert got == [[exports.csv_value(v) for v in row] for row in table]


@pytest.mark.parametrize(
    ("cells", "written"),
    [
        (["湖州甲", "a=b", "1-2"], ["湖州甲", "a=b", "1-2"]),  # nothing to change: as it is
        (["湖州甲", "=1+1", "x"], ["湖州甲", "'=1+1", "x"]),
        (["x,=y", "a\n-b", '"=q'], ["x,=y", "a\n-b", '"=q']),  # inside a field: no prefix
        (["\tx", "\r=1", "b"], ["'\tx", "'\r=1", "b"]),
        ([NUL_NAME, "b", "c"], [NUL_SHOWN, "b", "c"]),
        (["a", "b", ""], ["a", "b", ""]),  # an empty last field: its row ends ",\r\n"
        (["a", "", "\r"], ["a", "", "'\r"]),
    ],
)
def test_csv_bytes_prefixes_only_fields_that_start_a_formula(
    cells: list[str], written: list[str]
) -> None:
    text = exports.csv_bytes(["名称", "值", "备注"], [cells]).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["名称", "值", "备注"], written]


# -- the ingest error report -------------------------------------------------------------------
A = "91330502MA2B3C4D1U"
B = "91330503MA2B3C4E2E"


def test_ingest_error_report_is_formula_safe(engine: Engine, tmp_path: Path) -> None:
    text = (
        "统一社会信用代码,企业名称,所属区县,行业代码,成立日期\n"
        f'{A},"{EVIL.replace(chr(34), chr(34) * 2)}",吴兴区,1751,2010-05-01\n'
        f"{B},{NUL_NAME},南浔区,3841,2016-03-08\n"
        "91330503MA2B3C4E2X,坏代码有限公司,南浔区,3841,2016-03-08\n"  # bad check digit
    )
    path = tmp_path / "reg.csv"
    path.write_text(text, encoding="utf-8-sig")
    r = import_file("registration", path, engine=engine, report_dir=tmp_path / "rep")
    assert r.report_xlsx, r.problems  # the bad USCC makes a report
    _assert_inert(Path(r.report_xlsx))
    data = load_workbook(r.report_xlsx).worksheets[1]
    names = [row[2] for row in data.iter_rows(min_row=2, values_only=True)]
    assert names[:2] == [EVIL, NUL_SHOWN]


# -- 亩均 ranking workbook and 清三低 lists -----------------------------------------------------
@pytest.fixture
def mujun_store(engine: Engine) -> Engine:
    """The web fixtures' enterprises and a published 2024 亩均 run; one enterprise renamed to a
    formula, one with a control character in its name; every firm's tax low enough for the
    低贡献 list."""
    seed(engine)
    with Session(engine) as s:
        s.execute(update(Enterprise).where(Enterprise.uscc == USCC_WX).values(name=EVIL))
        s.execute(update(Enterprise).where(Enterprise.uscc == USCC_NX).values(name=CTRL_NAME))
        s.commit()
    seed_domains(engine)  # the run copies each enterprise's name into its results
    with Session(engine) as s:
        s.execute(update(MujunResult).values(tax=1.0))
        s.commit()
    return engine


def test_mujun_workbook_is_formula_safe(mujun_store: Engine, tmp_path: Path) -> None:
    with Session(mujun_store) as s:
        out = mujun_report.write_workbook(s, 2024, tmp_path / "mujun_2024.xlsx")
    path = Path(out["path"])
    _assert_inert(path)
    assert [v for v, _ in _cells_with(path, "空字符")] == [CTRL_SHOWN]


def test_mujun_lists_are_formula_safe(mujun_store: Engine, tmp_path: Path) -> None:
    with Session(mujun_store) as s:
        frame = lists.build(s, 2024)
    assert {EVIL, CTRL_NAME} <= set(frame["name"])
    xlsx = lists.export(frame, tmp_path / "lists.xlsx", 2024)
    _assert_inert(xlsx)
    assert [v for v, _ in _cells_with(xlsx, "空字符")] == [CTRL_SHOWN]
    path = lists.export(frame, tmp_path / "lists.csv", 2024)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = {r["企业名称"] for r in rows}
    assert "'" + EVIL in names and CTRL_SHOWN in names and EVIL not in names
    assert all(not v.startswith(exports.FORMULA_TRIGGERS) for r in rows for v in r.values())


# -- 百千万 bulletin -----------------------------------------------------------------------------
def test_bulletin_is_formula_safe(engine: Engine, tmp_path: Path) -> None:
    today = date(2024, 12, 31)
    with Session(engine) as s:
        for n, name in enumerate((EVIL, CTRL_NAME), start=1):
            p = stages.create_project(
                s,
                code=f"HZXM-X-{n:03d}",
                name=name,
                investor_uscc=uscc.make(f"91330502MA{n:06d}0"),
                investor_name=f"新公司{n}",
                county_code="330502",
                planned_investment=1000.0,
                signed_on=date(2024, 1, 5),
                today=today,
            )
            programs.enrol(s, p.id, "攻关", date(2024, 3, 1), today)
        s.commit()
        data = programs.progress(s, 2024, date(2024, 7, 1))
        enrolled = programs.enrolments(s, 2024, date(2024, 7, 1))
    files = bulletin.write_bulletin(data, enrolled, tmp_path / "out", pdf=False)
    _assert_inert(Path(files["xlsx"]))
    assert [v for v, _ in _cells_with(Path(files["xlsx"]), "空字符")] == [CTRL_SHOWN]


def test_web_lists_download_is_formula_safe(mujun_store: Engine, tmp_path: Path) -> None:
    """The same through the web export route (``GET /mujun/lists/{year}.xlsx``)."""
    from fastapi.testclient import TestClient

    from industry_brain.web.app import create_app
    from industry_brain.web.settings import Settings
    from tests.web_fixtures import login

    app = create_app(Settings(today=date(2026, 11, 27)), mujun_store)
    with TestClient(app, base_url="https://testserver") as client:
        login(client, "admin")
        r = client.get("/mujun/lists/2024.xlsx")
    assert r.status_code == 200, r.text[:500]
    path = tmp_path / "download.xlsx"
    path.write_bytes(r.content)
    _assert_inert(path)
    assert [v for v, _ in _cells_with(path, "空字符")] == [CTRL_SHOWN]
