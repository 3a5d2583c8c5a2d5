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
from typing import TYPE_CHECKING

import numpy as np
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from industry_brain.core import exports

if TYPE_CHECKING:
    from industry_brain.ingest.pipeline import ImportResult, Prepared

FULL_ROWS_LIMIT = 20_000
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
WARNING_FILL = PatternFill("solid", fgColor="FFEB9C")
HEADER_FONT = Font(bold=True)
PROBLEMS_HEADER = "问题说明 / Problems"
ROW_HEADER = "原行号 / Row"


def write_json(result: ImportResult, path: Path) -> Path:
    path.write_text(
        json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str), "utf-8"
    )
    return path


def write_xlsx(result: ImportResult, prepared: list[Prepared], path: Path) -> Path:
    wb = exports.workbook()
    summary = wb.active
    summary.title = "问题清单"
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
    exports.append(summary, head)
    for cell in summary[1]:
        cell.font = HEADER_FONT
    for p in result.problems:
        loc = p.location
        summary_row = exports.append(
            summary,
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
        )
        fill = ERROR_FILL if p.severity == "error" else WARNING_FILL
        summary.cell(row=summary_row, column=1).fill = fill
    for idx, width in enumerate([10, 26, 50, 50, 24, 14, 8, 18, 18, 20], start=1):
        summary.column_dimensions[get_column_letter(idx)].width = width

    used: set[str] = {summary.title}
    for prep in prepared:
        _data_sheet(wb, prep, result, used)
    return exports.save(wb, path)


def _data_sheet(wb: exports.Workbook, prep: Prepared, result: ImportResult, used: set[str]) -> None:
    table = prep.table
    by_row: dict[int, list] = defaultdict(list)
    for p in result.problems:
        if (
            p.location.row is not None
            and p.location.sheet == table.sheet
            and (p.location.file == table.file)
        ):
            by_row[p.location.row].append(p)
    ws = wb.create_sheet(exports.sheet_title(table.sheet, used))
    exports.append(ws, [ROW_HEADER, *[c.name for c in table.columns], PROBLEMS_HEADER])
    for cell in ws[1]:
        cell.font = HEADER_FONT
    letters = {c.letter: k for k, c in enumerate(table.columns)}
    rows = np.asarray(table.row_numbers.to_numpy(zero_copy_only=False))
    if len(rows) <= FULL_ROWS_LIMIT:
        selected = np.arange(len(rows))
    else:
        selected = np.flatnonzero(np.isin(rows, list(by_row)))
    data = table.data
    columns = [data.column(i).to_pylist() for i in range(data.num_columns)]
    for i in selected:
        row_no = int(rows[i])
        problems = by_row.get(row_no, [])
        r = exports.append(
            ws,
            [
                row_no,
                *[columns[k][i] for k in range(len(columns))],
                "；".join(f"[{p.code}] {p.zh} / {p.en}" for p in problems) or None,
            ],
        )
        for p in problems:
            fill = ERROR_FILL if p.severity == "error" else WARNING_FILL
            letter = (p.location.column or "").split("（")[0]
            if letter in letters:
                ws.cell(row=r, column=letters[letter] + 2).fill = fill
            else:
                ws.cell(row=r, column=1).fill = fill
        if problems:
            worst = ERROR_FILL if any(p.severity == "error" for p in problems) else WARNING_FILL
            ws.cell(row=r, column=len(table.columns) + 2).fill = worst
    ws.column_dimensions[get_column_letter(len(table.columns) + 2)].width = 80
    ws.freeze_panes = "B2"
