"""NUL bytes in a department CSV through the real ``industry-brain import`` (issue 13, point 2,
the report writer's side).

Before: the error-report writer crashed on the NUL (openpyxl ``IllegalCharacterError``) after
the batch was committed — exit 1 with a traceback, and the rerun said ``duplicate``. Now the
report is written through ``core.exports`` (the NUL shown as ``\\x00``), so the CLI exits with
its documented status (1 for a rejected import, 0 for a partial one with ``--accept-valid``),
prints no traceback, and a rerun behaves the same way (rejected again, or ``duplicate`` once
loaded). The file also carries an enterprise named as a formula, which the report keeps as text.

Assertions that depend on the reading side (``ingest/readers.py``, another area) are marked
``[reader]``: that a NUL cell is the per-cell error ``value.control_char``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.store.models import ImportBatch
from tests.cli_inproc import command

EVIL = '=HYPERLINK("http://evil.example/x","click")'
CSV = (
    "统一社会信用代码,企业名称,所属区县,行业代码,成立日期\n"
    "91330502MA2B3C4D1U,湖州\x00甲织造有限公司,吴兴区,1751,2010-05-01\n"
    f'91330503MA2B3C4E2E,"{EVIL.replace(chr(34), chr(34) * 2)}",南浔区,3841,2016-03-08\n'
    "91330521MA2B3C4F3L,德清丁家具有限公司,德清县,2110,2008-07-01\n"
)


@pytest.fixture
def cli(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("IB_DATABASE_URL", db_url)
    return CliRunner()


def _run(cli: CliRunner, *args: str) -> tuple[int, dict]:
    result = cli.invoke(command(), ["import", "registration", *args, "--json"])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout)


def _report_names(doc: dict) -> list[str]:
    data = load_workbook(doc["report_xlsx"]).worksheets[1]
    cells = [c for row in data.iter_rows(min_row=2) for c in row[2:3]]
    assert all(c.data_type == "s" for c in cells)
    return [c.value for c in cells]


def _batches(engine: Engine) -> list[tuple[str, int]]:
    with Session(engine) as s:
        return [
            tuple(r)
            for r in s.execute(
                select(ImportBatch.status, func.count())
                .group_by(ImportBatch.status)
                .order_by(ImportBatch.status)
            )
        ]


def test_nul_csv_rejected_with_a_report_and_rerun_alike(
    cli: CliRunner, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "登记.csv"
    path.write_text(CSV, encoding="utf-8")
    for _ in range(2):  # the rerun gives the same answer: rejected again, not a duplicate
        code, doc = _run(cli, str(path))
        assert (code, doc["status"]) == (1, "rejected")
        codes = {p["code"] for p in doc["problems"]}
        assert "report.failed" not in codes  # the writer did not fail
        assert "value.control_char" in codes  # [reader]
        assert _report_names(doc) == ["湖州\\x00甲织造有限公司", EVIL, "德清丁家具有限公司"]
        assert Path(doc["report_json"]).is_file()
    assert _batches(engine) == [("rejected", 2)]


def test_nul_csv_accept_valid_then_duplicate(
    cli: CliRunner, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "登记.csv"
    path.write_text(CSV, encoding="utf-8")
    code, doc = _run(cli, str(path), "--accept-valid")
    assert (code, doc["status"]) == (0, "partial")  # [reader]: the NUL row is the rejected one
    assert doc["rows_loaded"] == 2 and doc["rows_rejected"] == 1  # [reader]
    assert "report.failed" not in {p["code"] for p in doc["problems"]}
    assert _report_names(doc)[0] == "湖州\\x00甲织造有限公司"
    code, again = _run(cli, str(path), "--accept-valid")
    assert (code, again["status"], again["duplicate_of"]) == (0, "duplicate", doc["batch_id"])
    code, plain = _run(cli, str(path))
    assert (code, plain["status"]) == (0, "duplicate")
    assert _batches(engine) == [("partial", 1)]
