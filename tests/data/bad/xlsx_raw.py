"""Hand-built XLSX packages for hostile-file tests (importable from tests and the corpus script).

openpyxl cannot write what an attacker or a broken exporter writes (a cell at XFD1048576 in a
4.8 KB file, a zip member that expands a thousandfold, formulas without cached values, error
cells), so these helpers write the few parts of a workbook by hand.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>'
)


def col_letter(index: int) -> str:
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell(
    ref: str, value: object = None, *, formula: str | None = None, error: str | None = None
) -> str:
    """One ``<c>`` element: a number, an inline string, a formula (no cached value) or an error."""
    if error is not None:
        return f'<c r="{ref}" t="e"><v>{escape(error)}</v></c>'
    if formula is not None:
        return f'<c r="{ref}"><f>{escape(formula)}</f></c>'
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def rows_xml(rows: Iterable[Iterable[object]], start: int = 1) -> Iterable[str]:
    """``<row>`` elements for plain values (numbers, text, None), from row ``start``."""
    for r, values in enumerate(rows, start=start):
        cells = "".join(cell(f"{col_letter(c)}{r}", v) for c, v in enumerate(values))
        yield f'<row r="{r}">{cells}</row>'


def write_xlsx(
    path: Path,
    rows: Iterable[str],
    *,
    dimension: str | None = None,
    sheet_name: str = "Sheet1",
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """Write a one-sheet workbook whose ``sheetData`` is the given ``<row>`` elements."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    with zipfile.ZipFile(path, "w", compression, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK.format(name=escape(sheet_name)))
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with zf.open("xl/worksheets/sheet1.xml", "w") as out:
            out.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                + dim.encode()
                + b"<sheetData>"
            )
            for row in rows:
                out.write(row.encode("utf-8"))
            out.write(b"</sheetData></worksheet>")
    return path


def sparse_xlsx(path: Path) -> Path:
    """The issue's 4.8 KB workbook: a header at A1, a cell at A2 and one at XFD1048576."""
    rows = [
        '<row r="1">' + cell("A1", "统一社会信用代码") + cell("B1", "企业名称") + "</row>",
        '<row r="2">' + cell("A2", "91330502MA2B3C4D1U") + "</row>",
        '<row r="1048576">' + cell("XFD1048576", 1) + "</row>",
    ]
    return write_xlsx(path, rows, dimension="A1:XFD1048576")


def million_rows_xlsx(path: Path, rows: int = 1_000_000) -> Path:
    """A small workbook expanding to ``rows`` rows of one number each (about 1 MB zipped)."""

    def gen() -> Iterable[str]:
        yield '<row r="1"><c r="A1" t="inlineStr"><is><t>用电量</t></is></c></row>'
        chunk: list[str] = []
        for r in range(2, rows + 2):
            chunk.append(f'<row r="{r}"><c r="A{r}"><v>1</v></c></row>')
            if len(chunk) == 10000:
                yield "".join(chunk)
                chunk = []
        if chunk:
            yield "".join(chunk)

    return write_xlsx(path, gen())


def zip_bomb_xlsx(path: Path, megabytes: int = 64) -> Path:
    """A workbook whose sheet XML pads ``megabytes`` MB of spaces (ratio about 1000×)."""

    def gen() -> Iterable[str]:
        yield '<row r="1"><c r="A1" t="inlineStr"><is><t>用电量</t></is></c></row>'
        pad = " " * (1 << 20)
        for _ in range(megabytes):
            yield pad

    return write_xlsx(path, gen())
