"""``exports.write_xlsx_row`` (the XlsxWriter cell writer of every streamed workbook): user text
stays text — a formula, an error code, a URL or a number-looking string is a string cell —
control characters become visible escapes, an oversized cell is cut with a mark, missing values are
empty (blank cells carrying the row's format when one is given), numbers and dates keep
their types. Read back with openpyxl."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pandas as pd

from industry_brain.core import exports


def test_write_xlsx_row_keeps_text_as_text(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    wb = exports.xlsx_book(path, constant_memory=True)
    dates = exports.date_formats(wb)
    border = wb.add_format({"border": 1})
    ws = wb.add_worksheet("t")
    hostile = [
        '=HYPERLINK("http://evil.example","x")',
        "#N/A",
        "http://example.com",
        "00123",
        "a\x07b",
        "x" * (exports.XLSX_CELL_MAX + 10),
    ]
    exports.write_xlsx_row(ws, 0, hostile, dates)
    values = [1, 2.5, True, None, math.nan, pd.NA, "", date(2026, 1, 2), datetime(2026, 1, 2, 3)]
    exports.write_xlsx_row(ws, 1, values, dates, border)
    exports.write_xlsx_row(ws, 2, [datetime(2026, 1, 2, 3, tzinfo=UTC)], dates)
    wb.close()

    sheet = openpyxl.load_workbook(path)["t"]
    first = [sheet.cell(row=1, column=c + 1) for c in range(len(hostile))]
    assert all(c.data_type == "s" for c in first)
    assert [c.value for c in first[:4]] == hostile[:4]
    assert first[4].value == "a\\x07b"  # a visible escape, not a control character
    cut = first[5].value
    assert len(cut) == exports.XLSX_CELL_MAX and cut.endswith(exports.TRUNCATED)
    second = [sheet.cell(row=2, column=c + 1) for c in range(len(values))]
    assert [c.value for c in second[:3]] == [1, 2.5, True]
    # missing values and empty text: empty cells, with the row's border kept on them
    assert [c.value for c in second[3:7]] == [None] * 4
    assert all(c.border.left.style == "thin" for c in second[3:7])
    assert second[7].value == datetime(2026, 1, 2) and second[7].number_format == "yyyy-mm-dd"
    assert second[8].value == datetime(2026, 1, 2, 3)
    assert sheet.cell(row=3, column=1).value == "2026-01-02T03:00:00+00:00"
