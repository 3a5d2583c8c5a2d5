"""Import reports: a JSON document and an Excel workbook for the department that sent the file.

The workbook has, per imported sheet, the original rows with their original row numbers, the
problem cells filled (red for errors, yellow for warnings) and a problems column; and a sheet
listing every problem. Files above ``FULL_ROWS_LIMIT`` rows get only their problem rows.
Cells are written through :mod:`industry_brain.core.exports`: department text is never a
formula, and control characters (e.g. NUL) appear escaped instead of failing the report.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from industry_brain.core import exports

if TYPE_CHECKING:
    from industry_brain.ingest.pipeline import ImportResult, Prepared

FULL_ROWS_LIMIT = 20_000
ERROR_FILL = "#FFC7CE"
WARNING_FILL = "#FFEB9C"
PROBLEMS_HEADER = "问题说明 / Problems"
ROW_HEADER = "原行号 / Row"


def write_json(result: ImportResult, path: Path) -> Path:
    path.write_text(
        json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str), "utf-8"
    )
    return path


def write_xlsx(result: ImportResult, prepared: list[Prepared], path: Path) -> Path:
    """The report workbook, streamed with XlsxWriter in constant memory (a province's files
    have hundreds of thousands of rows; openpyxl held a Python object per cell)."""
    path = Path(path)
    wb = exports.xlsx_book(path, constant_memory=True)
    dates = exports.date_formats(wb)
    fmt = {
        "header": wb.add_format({"bold": True}),
        "error": wb.add_format({"bg_color": ERROR_FILL}),
        "warning": wb.add_format({"bg_color": WARNING_FILL}),
    }
    summary = wb.add_worksheet("问题清单")
    head = [
        "严重性 severity",
        "代码 code",
        "说明",
        "message",
        "文件 file",
        "工作表 sheet",
        "行 row",
        "列 column",
        "原值 value",
        "USCC",
    ]
    for idx, width in enumerate([10, 26, 50, 50, 24, 14, 8, 18, 18, 20]):
        summary.set_column(idx, idx, width)
    exports.write_xlsx_row(summary, 0, head, dates, fmt["header"])
    for r, p in enumerate(result.problems, 1):
        loc = p.location
        exports.write_xlsx_row(
            summary,
            r,
            [
                p.severity,
                p.code,
                p.zh,
                p.en,
                loc.file,
                loc.sheet,
                loc.row,
                loc.column or loc.field,
                None if p.value is None else str(p.value),
                p.uscc,
            ],
            dates,
            column_formats={0: fmt["error" if p.severity == "error" else "warning"]},
        )
    used: set[str] = {summary.name}
    for prep in prepared:
        _data_sheet(wb, prep, result, used, dates, fmt)
    wb.close()
    return path


def _data_sheet(
    wb: Any,
    prep: Prepared,
    result: ImportResult,
    used: set[str],
    dates: dict[str, Any],
    fmt: dict[str, Any],
) -> None:
    table = prep.table
    by_row: dict[int, list] = defaultdict(list)
    for p in result.problems:
        if (
            p.location.row is not None
            and p.location.sheet == table.sheet
            and (p.location.file == table.file)
        ):
            by_row[p.location.row].append(p)
    ws = wb.add_worksheet(exports.sheet_title(table.sheet, used))
    last = len(table.columns) + 1  # 0-based: the problems column
    ws.set_column(last, last, 80)
    ws.freeze_panes(1, 1)
    header = [ROW_HEADER, *[c.name for c in table.columns], PROBLEMS_HEADER]
    exports.write_xlsx_row(ws, 0, header, dates, fmt["header"])
    letters = {c.letter: k for k, c in enumerate(table.columns)}
    rows = np.asarray(table.row_numbers.to_numpy(zero_copy_only=False))
    if len(rows) <= FULL_ROWS_LIMIT:
        selected = np.arange(len(rows))
    else:
        selected = np.flatnonzero(np.isin(rows, list(by_row)))
    # only the rows written become Python values (a province's power file has 7 million rows,
    # of which a few hundred carry a problem)
    data = table.data.take(pa.array(selected, pa.int64()))
    columns = [data.column(i).to_pylist() for i in range(data.num_columns)]
    for j, i in enumerate(selected):
        r = j + 1
        row_no = int(rows[i])
        problems = by_row.get(row_no, [])
        marks: dict[int, Any] = {}
        for p in problems:
            fill = fmt["error" if p.severity == "error" else "warning"]
            letter = (p.location.column or "").split("（")[0]
            col = letters[letter] + 1 if letter in letters else 0
            if marks.get(col) is not fmt["error"]:  # an error's red wins over a warning
                marks[col] = fill
        if problems:
            worst = any(p.severity == "error" for p in problems)
            marks[last] = fmt["error" if worst else "warning"]
        exports.write_xlsx_row(
            ws,
            r,
            [
                row_no,
                *[columns[k][j] for k in range(len(columns))],
                "；".join(f"[{p.code}] {p.zh} / {p.en}" for p in problems) or None,
            ],
            dates,
            column_formats=marks,
        )
