"""Write the bad-input corpus (issue 13): malformed department files and their expected outcome.

    .venv/bin/python tests/data/bad/make_corpus.py     # rewrites the files and expected.yaml

Each entry names the file, the kind it is imported as, the options, and the expected outcome,
worked out by hand from what the file holds: ``refused`` (the import raises a bilingual error,
nothing is recorded; ``error`` is its code), ``rejected`` (a batch is recorded as rejected, no
figure is stored), ``committed`` or ``partial``. ``problems`` lists the expected problems as
``[code, row, column letter]`` (row/column null for a file-level problem): every one must be
reported, and no other error code may be. The store holds the five enterprises of
``REGISTRATION`` (tests/reliability/test_bad_files.py imports it first).
"""

from __future__ import annotations

import codecs
import io
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import xlsx_raw as X  # noqa: E402

A = "91330502MA2B3C4D1U"  # 湖州甲织造有限公司
B = "91330503MA2B3C4E2E"  # 湖州乙电池有限公司
C = "91330521MA2B3C4F3L"  # 德清丁家具有限公司
UNKNOWN = "91330502MA2B3C4X1K"  # a valid code of no registered enterprise

REGISTRATION = f"""统一社会信用代码,企业名称,所属区县,行业代码
{A},湖州甲织造有限公司,吴兴区,1751
{B},湖州乙电池有限公司,330503,3841
{C},德清丁家具有限公司,德清县,2110
"""

TAX_HEAD = "纳税人识别号,纳税人名称,所属年度,实缴税金(元)\n"
POWER_HEAD = "户号,户名,统一社会信用代码,月份,用电量(千瓦时)\n"
STATS_HEAD = ["统一社会信用代码", "单位详细名称", "年份", "营业收入(万元)", "从业人员平均人数"]


def tax_rows(*rows: tuple[Any, ...]) -> str:
    return TAX_HEAD + "".join(",".join(str(v) for v in r) + "\n" for r in rows)


def power_rows(*rows: tuple[Any, ...]) -> str:
    return POWER_HEAD + "".join(",".join(str(v) for v in r) + "\n" for r in rows)


def text(content: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return lambda p: p.write_bytes(content.encode(encoding))


def raw(content: bytes) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(content)


def workbook(rows: list[list[Any]], merges: list[str] = ()) -> Callable[[Path], None]:  # type: ignore[assignment]
    def write(p: Path) -> None:
        wb = Workbook()
        ws = wb.active
        ws.title = "Sheet1"
        for r in rows:
            ws.append(r)
        for m in merges:
            ws.merge_cells(m)
        wb.save(p)

    return write


def hand_xlsx(rows: list[str], **kw: Any) -> Callable[[Path], None]:
    return lambda p: X.write_xlsx(p, rows, **kw)


def _xlsx_bytes(rows: list[list[Any]]) -> bytes:
    buf = io.BytesIO()
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(buf)
    return buf.getvalue()


def truncated_xlsx(p: Path) -> None:
    data = _xlsx_bytes([STATS_HEAD, [A, "甲", 2025, 100, 10]])
    p.write_bytes(data[: len(data) // 2])


def corrupt_member_xlsx(p: Path) -> None:
    """A complete zip whose worksheet's deflate stream is overwritten with garbage."""
    data = bytearray(_xlsx_bytes([STATS_HEAD, [A, "甲", 2025, 100, 10]]))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 2, start + min(info.compress_size, 200)):
        data[i] = 0xFF
    p.write_bytes(bytes(data))


def zip_of_text(p: Path) -> None:
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("readme.txt", "这不是 Excel 文件")


def wide_csv(p: Path) -> None:
    head = TAX_HEAD.rstrip("\n") + "," + ",".join(f"备注{i}" for i in range(1200)) + "\n"
    p.write_text(head + f"{A},甲,2025,100" + "," * 1200 + "\n", encoding="utf-8")


HUGE = "A" * 140_000  # a 140 KB name field: over the csv module's 128 KiB default
LONG_XLSX = "乙" * 40000

# (file, kind, writer, options, expected)
CORPUS: list[tuple[str, str, Callable[[Path], None], dict[str, Any], dict[str, Any]]] = [
    # -- encodings and BOMs -----------------------------------------------------------------
    (
        "enc_gbk.csv",
        "tax",
        text(tax_rows((A, "湖州甲织造有限公司", 2025, 1000)), "gbk"),
        {},
        {"status": "committed"},
    ),
    (
        "enc_utf16_bom.csv",
        "tax",
        text(tax_rows((A, "甲", 2025, 1000)), "utf-16"),
        {},
        {"status": "committed"},
    ),
    (
        "enc_double_bom.csv",
        "tax",
        raw(codecs.BOM_UTF8 * 2 + tax_rows((A, "甲", 2025, 1000)).encode()),
        {},
        {"status": "committed"},
    ),
    (
        "enc_bom_mid_file.csv",
        "tax",
        raw(
            tax_rows((A, "甲", 2025, 1000)).encode()
            + codecs.BOM_UTF8
            + f"{B},乙,2025,20\n".encode()
        ),
        {},
        {"status": "committed", "problems": [["value.invisible_removed", 3, "A"]]},
    ),
    (
        "enc_undecodable.csv",
        "tax",
        raw(TAX_HEAD.encode() + b"\xff\xfe\xff\x80,\xff,2025,1\n"),
        {},
        {"status": "refused", "error": "read.encoding"},
    ),
    (
        "enc_gbk_forced_utf8.csv",
        "tax",
        text(tax_rows((A, "湖州甲织造有限公司", 2025, 1)), "gbk"),
        {"encoding": "utf-8"},
        {"status": "refused", "error": "read.encoding"},
    ),
    # -- empty, truncated, wrong kind of file ------------------------------------------------
    ("empty_0_byte.csv", "tax", raw(b""), {}, {"status": "refused", "error": "read.no_header"}),
    ("empty_0_byte.xlsx", "tax", raw(b""), {}, {"status": "refused", "error": "read.no_header"}),
    (
        "whitespace_only.csv",
        "tax",
        text(" \r\n\r\n\t\n"),
        {},
        {"status": "refused", "error": "read.no_header"},
    ),
    ("header_only.csv", "tax", text(TAX_HEAD), {}, {"status": "refused", "error": "file.no_rows"}),
    (
        "header_only.xlsx",
        "stats_annual",
        workbook([STATS_HEAD]),
        {},
        {"status": "refused", "error": "file.no_rows"},
    ),
    (
        "header_and_total_only.xlsx",
        "stats_annual",
        workbook([["2025年工业企业主要指标"], STATS_HEAD, ["合计", None, None, 0, 0]]),
        {},
        {"status": "refused", "error": "file.no_rows"},
    ),
    (
        "only_title_rows.xlsx",
        "stats_annual",
        workbook([["2025年工业企业主要经济指标"], ["填报单位：湖州市统计局"], ["单位：万元"]]),
        {},
        {"status": "refused", "error": "read.no_header"},
    ),
    (
        "truncated.xlsx",
        "stats_annual",
        truncated_xlsx,
        {},
        {"status": "refused", "error": "read.unreadable"},
    ),
    (
        "corrupt_member.xlsx",
        "stats_annual",
        corrupt_member_xlsx,
        {},
        {"status": "refused", "error": "read.unreadable"},
    ),
    (
        "zip_not_workbook.xlsx",
        "stats_annual",
        zip_of_text,
        {},
        {"status": "refused", "error": "read.unreadable"},
    ),
    (
        "pdf_renamed.xlsx",
        "stats_annual",
        raw(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"),
        {},
        {"status": "refused", "error": "read.format"},
    ),
    (
        "png_renamed.csv",
        "tax",
        raw(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(32)),
        {},
        {"status": "refused", "error": "read.format"},
    ),
    (
        "html_saved_as.xls",
        "tax",
        text("<html><body><table><tr><td>纳税人识别号</td></tr></table></body></html>"),
        {},
        {"status": "refused", "error": "read.format"},
    ),
    (
        "wrong_extension.pdf",
        "tax",
        text(tax_rows((A, "甲", 2025, 1))),
        {},
        {"status": "refused", "error": "read.format"},
    ),
    # -- hostile sizes -----------------------------------------------------------------------
    (
        "sparse_a2_xfd1048576.xlsx",
        "stats_annual",
        X.sparse_xlsx,
        {},
        {"status": "refused", "error": "file.sparse"},
    ),
    (
        "declared_dimension_huge.xlsx",
        "stats_annual",
        hand_xlsx(
            list(X.rows_xml([STATS_HEAD, [A, "甲", 2025, 100, 10]])), dimension="A1:XFD1048576"
        ),
        {},
        {"status": "refused", "error": "file.sparse"},
    ),
    (
        "zip_bomb.xlsx",
        "stats_annual",
        lambda p: X.zip_bomb_xlsx(p, 12),
        {},
        {"status": "refused", "error": "file.too_large"},
    ),
    ("too_many_columns.csv", "tax", wide_csv, {}, {"status": "refused", "error": "file.too_large"}),
    # -- cells: control characters, huge cells, invisible characters, formulas --------------
    (
        "nul_in_name.csv",
        "tax",
        text(tax_rows((A, "湖州甲\x00织造", 2025, 1000))),
        {},
        {"status": "rejected", "problems": [["value.control_char", 2, "B"]]},
    ),
    (
        "nul_in_number.csv",
        "tax",
        text(tax_rows((A, "甲", 2025, "10\x0000"))),
        {},
        {"status": "rejected", "problems": [["value.not_number", 2, "D"]]},
    ),
    (
        "nul_in_unmatched_power_name.csv",
        "power",
        text(power_rows(("3309", "无名\x00作坊", "", "2025-01", 5))),
        {},
        {
            "status": "rejected",
            # a refused cell keeps its row out of matching: no review entry holds the NUL
            "problems": [["value.control_char", 2, "B"]],
        },
    ),
    (
        "escape_in_name.csv",
        "tax",
        text(tax_rows((A, "甲\x1b[31m", 2025, 1))),
        {},
        {"status": "rejected", "problems": [["value.control_char", 2, "B"]]},
    ),
    (
        "huge_cell.csv",
        "tax",
        text(tax_rows((A, HUGE, 2025, 1000))),
        {},
        {"status": "rejected", "problems": [["value.too_long", 2, "B"]]},
    ),
    (
        "huge_cell.xlsx",
        "stats_annual",
        workbook([STATS_HEAD, [A, LONG_XLSX, 2025, 100, 10]]),
        {},
        {"status": "rejected", "problems": [["value.too_long", 2, "B"]]},
    ),
    (
        "rtl_override_name.csv",
        "tax",
        text(tax_rows((A, "湖州甲\u202e司公限有织造", 2025, 1))),
        {},
        {"status": "committed", "problems": [["value.invisible_removed", 2, "B"]]},
    ),
    (
        "zero_width_in_uscc.csv",
        "tax",
        text(tax_rows((A[:6] + "\u200b" + A[6:], "甲", 2025, 1))),
        {},
        {"status": "committed", "problems": [["value.invisible_removed", 2, "A"]]},
    ),
    (
        "formula_like_names.csv",
        "tax",
        text(
            tax_rows(
                (A, '"=HYPERLINK(""http://evil.example/x"",""甲"")"', 2025, 1),
                (B, "@SUM(1+1)", 2025, 2),
                (C, "+8613800000000", 2025, 3),
            )
        ),
        {},
        {
            "status": "committed",
            "problems": [
                ["value.formula_like", 2, "B"],
                ["value.formula_like", 3, "B"],
                ["value.formula_like", 4, "B"],
            ],
        },
    ),
    (
        "formula_uncached.xlsx",
        "stats_annual",
        hand_xlsx(
            [
                *list(X.rows_xml([STATS_HEAD])),
                '<row r="2">'
                + X.cell("A2", A)
                + X.cell("B2", "甲")
                + X.cell("C2", 2025)
                + X.cell("D2", formula="100*2")
                + X.cell("E2", 10)
                + "</row>",
            ]
        ),
        {},
        {"status": "rejected", "problems": [["value.formula_uncached", 2, "D"]]},
    ),
    (
        "excel_error_values.xlsx",
        "stats_annual",
        hand_xlsx(
            [
                *list(X.rows_xml([STATS_HEAD])),
                '<row r="2">'
                + X.cell("A2", A)
                + X.cell("B2", "甲")
                + X.cell("C2", 2025)
                + X.cell("D2", error="#DIV/0!")
                + X.cell("E2", 10)
                + "</row>",
                '<row r="3">'
                + X.cell("A3", B)
                + X.cell("B3", "乙")
                + X.cell("C3", 2025)
                + X.cell("D3", 50)
                + X.cell("E3", error="#N/A")
                + "</row>",
            ]
        ),
        {},
        {
            "status": "rejected",
            "problems": [["value.not_number", 2, "D"], ["value.not_number", 3, "E"]],
        },
    ),
    (
        "excel_error_in_name.xlsx",
        "stats_annual",
        hand_xlsx(
            [
                *list(X.rows_xml([STATS_HEAD])),
                '<row r="2">'
                + X.cell("A2", A)
                + X.cell("B2", error="#REF!")
                + X.cell("C2", 2025)
                + X.cell("D2", 100)
                + X.cell("E2", 10)
                + "</row>",
            ]
        ),
        {},
        {"status": "rejected", "problems": [["value.excel_error", 2, "B"]]},
    ),
    (
        "nan_true_in_numbers.csv",
        "tax",
        text(tax_rows((A, "甲", 2025, "NaN"), (B, "乙", 2025, "TRUE"), (C, "丙", 2025, "#DIV/0!"))),
        {},
        {
            "status": "rejected",
            "problems": [
                ["value.not_number", 2, "D"],
                ["value.not_number", 3, "D"],
                ["value.not_number", 4, "D"],
            ],
        },
    ),
    # -- columns and headers -----------------------------------------------------------------
    (
        "duplicate_columns.csv",
        "tax",
        text("纳税人识别号,所属年度,实缴税金(元),实缴金额(元)\n" + f"{A},2025,1,2\n"),
        {},
        {"status": "rejected", "problems": [["column.duplicate", 1, "D"]]},
    ),
    (
        "missing_required_column.csv",
        "power",
        text("户名,统一社会信用代码,月份,用电量(千瓦时)\n" + f"甲,{A},2025-01,100\n"),
        {},
        {"status": "rejected", "problems": [["column.missing", None, None]]},
    ),
    (
        "merged_header_over_everything.xlsx",
        "stats_annual",
        workbook(
            [["2025年工业企业主要经济指标"] + [None] * 4, STATS_HEAD, [A, "甲", 2025, 100, 10]],
            merges=["A1:E1"],
        ),
        {},
        {"status": "committed"},
    ),
    (
        "merged_header_split_wrong.xlsx",
        "stats_annual",
        workbook(
            [
                ["统一社会信用代码", "单位详细名称", "经济指标", None, None],
                [None, None, "年份", "营业收入(万元)", None],
                [A, "甲", 2025, 100, 10],
            ],
            merges=["C1:E1"],
        ),
        {},
        {"status": "committed", "problems": [["column.unnamed", None, "E"]]},
    ),
    (
        "ragged_rows.csv",
        "tax",
        text(TAX_HEAD + f"{A},甲,2025,1,多余\n{B},乙,2025\n"),
        {},
        {"status": "committed", "problems": [["column.unnamed", None, "E"]]},
    ),
    (
        "semicolon_classic_mac.csv",
        "tax",
        raw(TAX_HEAD.replace(",", ";").replace("\n", "\r").encode() + f"{A};甲;2025;1\r".encode()),
        {},
        {"status": "committed"},
    ),
    (
        "totals_and_notes.xlsx",
        "stats_annual",
        workbook(
            [STATS_HEAD, [A, "甲", 2025, 100, 10], ["合计", None, None, 100, 10], ["填表人：张三"]]
        ),
        {},
        {"status": "committed"},
    ),
    # -- periods and plausibility ------------------------------------------------------------
    (
        "bad_months.csv",
        "power",
        text(
            power_rows(
                ("3301", "甲", A, "2025年13月", 1),
                ("3301", "甲", A, "2025-02-30", 1),
                ("3301", "甲", A, "上月", 1),
            )
        ),
        {},
        {
            "status": "rejected",
            "problems": [
                ["value.bad_month", 2, "D"],
                ["value.bad_month", 3, "D"],
                ["value.bad_month", 4, "D"],
            ],
        },
    ),
    (
        "power_month_1900.csv",
        "power",
        text(power_rows(("3301", "甲", A, "1900-01", 1), ("3301", "甲", A, "2025-01", 1))),
        {},
        {"status": "rejected", "problems": [["value.year_out_of_range", 2, "D"]]},
    ),
    (
        "power_month_2100.csv",
        "power",
        text(power_rows(("3301", "甲", A, "2100-12", 1))),
        {},
        {"status": "rejected", "problems": [["value.year_out_of_range", 2, "D"]]},
    ),
    (
        "tax_year_2100.csv",
        "tax",
        text(tax_rows((A, "甲", 2100, 1))),
        {},
        {"status": "rejected", "problems": [["value.year_out_of_range", 2, "C"]]},
    ),
    (
        "tax_year_1901.csv",
        "tax",
        text(tax_rows((A, "甲", 1901, 1))),
        {},
        {"status": "rejected", "problems": [["value.year_out_of_range", 2, "C"]]},
    ),
    (
        "implausible_kwh.csv",
        "power",
        text(power_rows(("3301", "甲", A, "2025-01", "1e308"))),
        {},
        {"status": "rejected", "problems": [["value.implausible", 2, "E"]]},
    ),
    (
        "infinite_kwh.csv",
        "power",
        text(power_rows(("3301", "甲", A, "2025-01", "1e309"))),
        {},
        {"status": "rejected", "problems": [["value.implausible", 2, "E"]]},
    ),
    (
        "implausible_tax.csv",
        "tax",
        text(tax_rows((A, "甲", 2025, "1e300"))),
        {},
        {"status": "rejected", "problems": [["value.implausible", 2, "D"]]},
    ),
    (
        "implausible_employees.xlsx",
        "stats_annual",
        workbook([STATS_HEAD, [A, "甲", 2025, 100, 1.5e9]]),
        {},
        {"status": "rejected", "problems": [["value.implausible", 2, "E"]]},
    ),
    (
        "negative_tax.csv",
        "tax",
        text(tax_rows((A, "甲", 2025, -5))),
        {},
        {"status": "rejected", "problems": [["value.negative", 2, "D"]]},
    ),
    (
        "bad_uscc_checksum.csv",
        "tax",
        text(tax_rows((A[:-1] + "X", "甲", 2025, 1))),
        {},
        {"status": "rejected", "problems": [["uscc.checksum", 2, "A"]]},
    ),
    (
        "partial_accept_valid.csv",
        "tax",
        text(tax_rows((A, "甲", 2025, 1), (B, "乙", 2100, 2))),
        {"accept_valid": True},
        {"status": "partial", "problems": [["value.year_out_of_range", 3, "C"]]},
    ),
]


def write(out: Path = HERE) -> None:
    manifest = []
    for name, kind, writer, options, expected in CORPUS:
        writer(out / name)
        manifest.append({"file": name, "kind": kind, "options": options, **expected})
    (out / "expected.yaml").write_text(
        "# Written by make_corpus.py: the bad-input corpus and each file's expected outcome.\n"
        + yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False, width=100),
        encoding="utf-8",
    )


if __name__ == "__main__":
    write()
    print(f"{len(CORPUS)} files written to {HERE}")
