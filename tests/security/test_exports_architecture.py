"""Every XLSX/CSV export goes through ``industry_brain.core.exports`` (issue 13, point 11).

The source tree is searched for the ways a module can write a workbook or a CSV file itself
(an openpyxl ``Workbook``, ``csv.writer``/``DictWriter``, pandas ``to_csv``/``to_excel``, other
XLSX writers). Only the helper may, plus the demo's department-file writer, which produces the
synthetic *input* files of the demo city (not exports of the platform's data).
"""

from __future__ import annotations

import re
from pathlib import Path

import industry_brain

SRC = Path(industry_brain.__file__).resolve().parent
HELPER = "core/exports.py"
#: Modules allowed to write spreadsheet files besides the helper, with the reason.
ALLOWED = {
    "demo/sheets.py": "writes the demo city's synthetic department files (input, not export)",
}
PATTERNS = {
    "openpyxl Workbook": re.compile(
        r"from\s+openpyxl(\.workbook(\.workbook)?)?\s+import\s+[^\n]*\bWorkbook\b"
        r"|openpyxl\.(workbook\.)?Workbook\b"
    ),
    "csv writer": re.compile(
        r"\bcsv\.(writer|DictWriter)\b|from\s+csv\s+import\s+[^\n]*\b(writer|DictWriter)\b"
    ),
    "pandas to_csv/to_excel": re.compile(r"\.to_csv\(|\.to_excel\(|\bExcelWriter\b"),
    "other XLSX writer": re.compile(r"\b(xlsxwriter|pyexcel|xlwt)\b"),
}


def offenders(root: Path = SRC) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == HELPER or rel in ALLOWED:
            continue
        text = path.read_text("utf-8")
        for what, pattern in PATTERNS.items():
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{rel}:{line}: {what}")
    return found


def test_no_module_writes_xlsx_or_csv_outside_the_helper() -> None:
    assert offenders() == [], "write exports through industry_brain.core.exports"


def test_the_check_sees_a_writer(tmp_path: Path) -> None:
    """The search finds each way of writing (so the test above can fail)."""
    (tmp_path / "bad.py").write_text(
        "from openpyxl import load_workbook, Workbook\n"
        "import csv\nw = csv.writer(f)\nframe.to_csv(p)\nframe.to_excel(p)\n",
        "utf-8",
    )
    assert offenders(tmp_path) == [
        "bad.py:1: openpyxl Workbook",
        "bad.py:3: csv writer",
        "bad.py:4: pandas to_csv/to_excel",
        "bad.py:5: pandas to_csv/to_excel",
    ]


def test_the_allowed_modules_exist() -> None:
    for rel in [HELPER, *ALLOWED]:
        assert (SRC / rel).is_file(), rel
