"""Build the small hand-made department files used by tests/test_readers.py.

Run once from the repository root (``.venv/bin/python tests/data/make_files.py``); the
generated files are committed so that the tests do not depend on the writers.
Each file shows one quirk of real department exports: encodings (UTF-8, UTF-8 with BOM,
GBK), a tab delimiter, title rows (标题行), a merged two-row header (能源消费量 over 原煤/焦炭),
units in a second header row (千元), blank rows, 合计 rows, notes, two sheets and legacy .xls.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import xlwt

HERE = Path(__file__).resolve().parent

# Valid unified social credit codes (GB 32100 check characters).
USCC = [
    "91330500MA2B3C4D5B",
    "91330502MA28C0A01P",
    "913305001471234563",
    "91330521MA29XK1G02",
]


def _write_text(name: str, text: str, encoding: str) -> None:
    (HERE / name).write_bytes(text.encode(encoding))


def csv_files() -> None:
    # UTF-8: header on line 1, a quoted thousands separator, a blank line, a trailing 合计.
    _write_text(
        "power_utf8.csv",
        "户号,户名,统一社会信用代码,月份,用电量(千瓦时)\n"
        f'3300001,湖州甲机械有限公司,{USCC[0]},2024-03,"12,345.5"\n'
        f"3300002,湖州乙纺织有限公司,{USCC[1]},2024年3月,800\n"
        "\n"
        f"3300003,湖州丙化工有限公司,{USCC[2]},202403,—\n"
        "合计,,,,13145.5\n",
        "utf-8",
    )
    # UTF-8 with BOM and CRLF line ends.
    _write_text(
        "power_utf8_bom.csv",
        "\ufeff户号,户名,月份,用电量\r\n"
        "3300001,湖州甲机械有限公司,2024-04,100\r\n"
        "3300002,湖州乙纺织有限公司,2024-04,200\r\n",
        "utf-8",
    )
    # GBK: a title line, a units note line, the header on line 3, a repeated header, 合  计.
    _write_text(
        "tax_gbk.csv",
        "2024年度重点企业实缴税金,,,\n"
        ",,,单位：元\n"
        "纳税人识别号,纳税人名称,所属年度,实缴税金\n"
        f"{USCC[0]},湖州甲机械有限公司,2024,1234567.80\n"
        f'{USCC[1]},湖州乙纺织（集团）有限公司,2024,"2,000"\n'
        "纳税人识别号,纳税人名称,所属年度,实缴税金\n"
        f"{USCC[2]},湖州丙化工有限公司,2024,(300)\n"
        "合  计,,,1236267.8\n",
        "gbk",
    )
    # Tab-delimited text with commas inside numbers.
    _write_text(
        "energy_tab.csv",
        "统一社会信用代码\t企业名称\t综合能耗(吨标准煤)\n"
        f"{USCC[0]}\t湖州甲机械有限公司\t1,234.5\n"
        f"{USCC[1]}\t湖州乙纺织有限公司\t56.25\n",
        "utf-8",
    )


def stats_title_xlsx() -> None:
    """Title merged over A1:F1, header on row 2 with units in brackets, data from row 3."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "统计年报"
    ws["A1"] = "2024年规模以上工业企业主要指标"
    ws.merge_cells("A1:F1")
    ws.append(
        [
            "统一社会信用代码",
            "单位详细名称",
            "工业总产值（千元）",
            "营业收入\n(万元)",
            "从业人员年平均人数(人)",
            "规上标志",
        ]
    )
    ws.append([USCC[0], "湖州甲机械有限公司", 12345.6, 0.1 + 0.2, 120, "是"])
    ws.append([USCC[1], "湖州乙纺织有限公司", 2000, 1234.5, 80.0, "否"])
    ws.append([None, None, None, None, None, None])  # blank row 5
    ws.append([USCC[2], "湖州丙化工有限公司", "—", 10, 35, 1])
    ws.append(["合计", None, 14345.6, 1244.8, 235, None])
    ws.append(["注：数据截至2024年12月31日。"])
    wb.save(HERE / "stats_title.xlsx")


def energy_two_row_xlsx() -> None:
    """Two-row merged header: 能源消费量 over 原煤/焦炭/天然气, others merged vertically."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "能源"
    ws["A1"] = "2024年重点用能单位能源消费情况"
    ws.merge_cells("A1:H1")
    labels = ["序号", "统一社会信用代码", "单位详细名称", "综合能耗(吨标准煤)", "所属区县"]
    for col, text in zip("ABCGH", labels, strict=True):
        ws[f"{col}2"] = text
        ws.merge_cells(f"{col}2:{col}3")
    ws["D2"] = "能源消费量"
    ws.merge_cells("D2:F2")
    ws["D3"] = "原煤(吨)"
    ws["E3"] = "焦炭(吨)"
    ws["F3"] = "天然气(万立方米)"
    ws.append([1, USCC[0], "湖州甲机械有限公司", 100, 0, 1.5, 150.25, "吴兴区"])
    ws.append([2, USCC[1], "湖州乙纺织有限公司", 20.5, None, 0.3, 30, None])
    ws.merge_cells("H4:H5")  # 区县 merged over two data rows
    ws.append([3, USCC[3], "湖州丁建材有限公司", "--", 5, "/", 12, "南浔区"])
    wb.save(HERE / "energy_two_row.xlsx")


def units_row_xlsx() -> None:
    """Header on row 1, units in row 2 (千元/万元/人), an Excel date cell, float noise."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(
        ["统一社会信用代码", "企业名称", "工业总产值", "营业收入", "从业人员平均人数", "填报日期"]
    )
    ws.append([None, None, "千元", "（万元）", "人", None])
    ws.append([USCC[0], "湖州甲机械有限公司", 1234.5, 2.675, 12, dt.datetime(2024, 3, 1)])
    ws.append([USCC[1], "湖州乙纺织有限公司", 1e-7, 1e20, 3.0, dt.date(2024, 12, 31)])
    wb.save(HERE / "units_row.xlsx")


def two_sheets_xlsx() -> None:
    """Two visible sheets with tables, one empty sheet and one hidden helper sheet."""
    wb = openpyxl.Workbook()
    first = wb.active
    first.title = "2023年"
    first.append(["纳税人识别号", "纳税人名称", "实缴税金"])
    first.append([USCC[0], "湖州甲机械有限公司", 100])
    second = wb.create_sheet("2024年")
    second.append(["纳税人识别号", "纳税人名称", "实缴税金"])
    second.append([USCC[0], "湖州甲机械有限公司", 120])
    second.append([USCC[1], "湖州乙纺织有限公司", 80])
    wb.create_sheet("空表")
    hidden = wb.create_sheet("代码表")
    hidden.append(["代码", "名称"])
    hidden.append(["330502", "吴兴区"])
    hidden.sheet_state = "hidden"
    wb.save(HERE / "two_sheets.xlsx")


def legacy_xls() -> None:
    """An .xls (BIFF8) export: merged title, header on row 2, a date cell, 合计 row."""
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("用地")
    ws.write_merge(0, 0, 0, 4, "2024年工业用地台账")
    for c, text in enumerate(["宗地编号", "权利人", "用地面积（平方米）", "取得方式", "起始日期"]):
        ws.write(1, c, text)
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    rows = [
        ["330502-001", "湖州甲机械有限公司", 6666.7, "出让", dt.datetime(2010, 5, 1)],
        ["330502-002", "湖州乙纺织有限公司", 1000.0, "租赁", dt.datetime(2018, 1, 15)],
    ]
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row):
            if isinstance(value, dt.datetime):
                ws.write(r, c, value, date_style)
            else:
                ws.write(r, c, value)
    ws.write(4, 0, "合计")
    ws.write(4, 2, 7666.7)
    wb.save(str(HERE / "land_legacy.xls"))


def main() -> None:
    csv_files()
    stats_title_xlsx()
    energy_two_row_xlsx()
    units_row_xlsx()
    two_sheets_xlsx()
    legacy_xls()


if __name__ == "__main__":
    main()
