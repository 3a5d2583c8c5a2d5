"""Readers: encodings, delimiters, header detection, row numbers and skipped rows.

The files in tests/data are built by tests/data/make_files.py; smaller edge cases are written
to a temporary directory by the tests themselves.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest

from industry_brain.core.errors import ValidationError
from industry_brain.ingest import readers
from industry_brain.ingest.readers import RawTable, read_file

DATA = Path(__file__).parent / "data"

ENERGY_HINTS = ["统一社会信用代码", "单位详细名称", "原煤", "焦炭", "天然气", "综合能耗"]


def one(path: Path | str, **kwargs: object) -> RawTable:
    tables = read_file(path, **kwargs)  # type: ignore[arg-type]
    assert len(tables) == 1
    return tables[0]


def names(table: RawTable) -> list[str]:
    return [c.name for c in table.columns]


def col(table: RawTable, name: str) -> list[str | None]:
    [c] = [c for c in table.columns if c.name == name]
    return table.data.column(c.index).to_pylist()


def rows(table: RawTable) -> list[int]:
    return table.row_numbers.to_pylist()


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def assert_rows_accounted(table: RawTable, total_rows: int) -> None:
    """Every row of the sheet is a header row, a data row or a skipped row, exactly once."""
    seen = table.header_rows + rows(table) + [r for r, _ in table.skipped]
    assert sorted(seen) == list(range(1, total_rows + 1))


# -- CSV -------------------------------------------------------------------------------------
def test_utf8_csv_blank_and_total_rows() -> None:
    t = one(DATA / "power_utf8.csv")
    assert (t.file, t.sheet, t.encoding) == ("power_utf8.csv", None, "utf-8")
    assert t.header_rows == [1]
    assert names(t) == ["户号", "户名", "统一社会信用代码", "月份", "用电量(千瓦时)"]
    assert [c.letter for c in t.columns] == ["A", "B", "C", "D", "E"]
    assert rows(t) == [2, 3, 5]
    assert t.skipped == [(4, "blank"), (6, "total_row")]
    assert col(t, "用电量(千瓦时)") == ["12,345.5", "800", "—"]
    assert col(t, "月份") == ["2024-03", "2024年3月", "202403"]
    assert t.row_numbers.type == pa.int32()
    assert t.data.column_names == ["c0", "c1", "c2", "c3", "c4"]
    assert_rows_accounted(t, 6)


def test_utf8_bom_csv_with_crlf() -> None:
    t = one(DATA / "power_utf8_bom.csv")
    assert t.encoding == "utf-8-sig"
    assert names(t) == ["户号", "户名", "月份", "用电量"]
    assert rows(t) == [2, 3]
    assert col(t, "用电量") == ["100", "200"]  # no stray carriage returns


def test_gbk_csv_title_units_note_repeated_header_and_total() -> None:
    t = one(DATA / "tax_gbk.csv")
    assert t.encoding == "gb18030"
    assert t.header_rows == [3]
    assert names(t) == ["纳税人识别号", "纳税人名称", "所属年度", "实缴税金"]
    assert rows(t) == [4, 5, 7]
    assert t.skipped == [(1, "title"), (2, "title"), (6, "repeated_header"), (8, "total_row")]
    assert col(t, "纳税人名称")[1] == "湖州乙纺织（集团）有限公司"
    assert col(t, "实缴税金") == ["1234567.80", "2,000", "(300)"]
    assert t.unit_note == "元"  # from the line ",,,单位：元" above the header
    assert_rows_accounted(t, 8)


@pytest.mark.parametrize("given", ["gbk", "GB2312", "gb18030", "cp936"])
def test_encoding_override_reads_gbk_as_gb18030(given: str) -> None:
    t = one(DATA / "tax_gbk.csv", encoding=given)
    assert t.encoding == "gb18030"
    assert col(t, "纳税人名称")[0] == "湖州甲机械有限公司"


def test_encoding_override_that_does_not_fit_names_the_line() -> None:
    with pytest.raises(ValidationError) as err:
        read_file(DATA / "tax_gbk.csv", encoding="utf-8")
    e = err.value
    assert e.code == "read.encoding"
    assert e.location.file == "tax_gbk.csv"
    assert e.location.row == 1
    assert "第1行" in e.zh and "utf-8" in e.zh
    assert "line 1" in e.en


def test_undecodable_bytes_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes("户号,户名\n1,甲\n".encode("gbk") + b"2,\xff\xff\n")
    with pytest.raises(ValidationError) as err:
        read_file(path)
    assert err.value.code == "read.encoding"
    assert err.value.location.row == 3
    assert "line 3" in err.value.en


def test_unknown_encoding_name(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as err:
        read_file(DATA / "power_utf8.csv", encoding="klingon")
    assert err.value.code == "read.encoding"
    assert "klingon" in err.value.zh


def test_utf16_unicode_text_export(tmp_path: Path) -> None:
    path = tmp_path / "unicode.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + "户号\t用电量\r\n1\t5\r\n".encode("utf-16-le"))
    t = one(path)
    assert t.encoding == "utf-16"
    assert names(t) == ["户号", "用电量"]
    assert col(t, "用电量") == ["5"]


def test_tab_delimited_csv_keeps_commas_in_numbers() -> None:
    t = one(DATA / "energy_tab.csv")
    assert names(t) == ["统一社会信用代码", "企业名称", "综合能耗(吨标准煤)"]
    assert col(t, "综合能耗(吨标准煤)") == ["1,234.5", "56.25"]
    assert rows(t) == [2, 3]


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_delimiter_sniffing(tmp_path: Path, delimiter: str) -> None:
    lines = [["企业名称", "金额", "备注"], ["甲公司", "1,5", "a"], ["乙公司", "2", ""]]
    text = "\n".join(delimiter.join(f'"{v}"' if "," in v else v for v in r) for r in lines)
    t = one(write(tmp_path, "d.csv", text + "\n"))
    assert names(t) == ["企业名称", "金额", "备注"]
    assert col(t, "金额") == ["1,5", "2"]
    assert col(t, "备注") == ["a", None]


def test_quoted_line_break_keeps_editor_line_numbers(tmp_path: Path) -> None:
    text = '名称,地址\n甲公司,"湖州市\n吴兴区"\n乙公司,南浔区\n'
    t = one(write(tmp_path, "q.csv", text))
    assert col(t, "地址") == ["湖州市\n吴兴区", "南浔区"]
    assert rows(t) == [2, 4]


def test_ragged_rows_are_padded_or_widened(tmp_path: Path) -> None:
    text = "户号,户名,用电量\n1,甲,10\n2,乙\n3,丙,30,多出\n   \n,,\n4,丁,40,\n"
    t = one(write(tmp_path, "r.csv", text))
    assert names(t) == ["户号", "户名", "用电量", ""]
    assert rows(t) == [2, 3, 4, 7]
    assert col(t, "用电量") == ["10", None, "30", "40"]
    assert t.data.column(3).to_pylist() == [None, None, "多出", None]
    assert t.skipped == [(5, "blank"), (6, "blank")]
    assert t.columns[3].letter == "D"


def test_trailing_delimiters_of_excel_exports(tmp_path: Path) -> None:
    text = "2024年用电,,,,,\n户号,户名,用电量,,,\n1,甲,10,,,\n2,乙,20,,,\n"
    t = one(write(tmp_path, "x.csv", text))
    assert t.header_rows == [2]
    assert names(t) == ["户号", "户名", "用电量"]
    assert t.data.num_columns == 3
    assert rows(t) == [3, 4]


def test_placeholders_are_kept_as_text_and_whitespace_cells_are_null(tmp_path: Path) -> None:
    t = one(write(tmp_path, "n.csv", "名称,值\n甲,N/A\n乙,NULL\n丙,   \n"))
    assert col(t, "值") == ["N/A", "NULL", None]


def test_csv_two_row_header_exported_from_excel(tmp_path: Path) -> None:
    text = (
        "2024年能源消费,,,,,\n"
        "统一社会信用代码,单位详细名称,能源消费量,,,综合能耗(吨标准煤)\n"
        ",,原煤(吨),焦炭(吨),天然气(万立方米),\n"
        "91330500MA2B3C4D5B,甲公司,1,2,3,4\n"
    )
    path = write(tmp_path, "e.csv", text)
    for hints in ((), ENERGY_HINTS):
        t = one(path, header_hints=hints)
        assert t.header_rows == [2, 3]
        assert names(t) == [
            "统一社会信用代码",
            "单位详细名称",
            "原煤(吨)",
            "焦炭(吨)",
            "天然气(万立方米)",
            "综合能耗(吨标准煤)",
        ]
        labels = [c.label for c in t.columns]
        assert labels[2:5] == [
            "能源消费量/原煤(吨)",
            "能源消费量/焦炭(吨)",
            "能源消费量/天然气(万立方米)",
        ]
        assert labels[0] == "统一社会信用代码"
        assert rows(t) == [4]
        assert t.skipped == [(1, "title")]


def test_csv_units_row(tmp_path: Path) -> None:
    text = "企业名称,工业总产值,营业收入\n,千元,(万元)\n甲公司,10,20\n"
    t = one(write(tmp_path, "u.csv", text))
    assert t.header_rows == [1, 2]
    assert names(t) == ["企业名称", "工业总产值", "营业收入"]
    assert [c.label for c in t.columns] == ["企业名称", "工业总产值/千元", "营业收入/(万元)"]
    assert rows(t) == [3]


def test_header_hints_win_over_a_wider_title_block(tmp_path: Path) -> None:
    text = (
        "填报单位,湖州市统计局,报告期,2024年\n"
        "说明文字,另一段,再一段,还有\n"
        "户号,户名,用电量（万千瓦时）,备注\n"
        "1,甲,5,\n"
    )
    t = one(write(tmp_path, "h.csv", text), header_hints=["户号", "户名", "用电量"])
    assert t.header_rows == [3]
    assert names(t)[:3] == ["户号", "户名", "用电量(万千瓦时)"]
    assert t.skipped == [(1, "title"), (2, "title")]


def test_unit_note_title_cells_and_required_markers(tmp_path: Path) -> None:
    text = (
        "2024年企业税收情况（金额单位：万元）,,,制表日期 2024-01-05\n"
        "填报单位：湖州市税务局,,,\n"
        "*纳税人识别号,*纳税人名称,所属年度,实缴税金\n"
        "91330500MA2B3C4D5B,甲,2024,5\n"
    )
    t = one(write(tmp_path, "t.csv", text), header_hints=["纳税人识别号", "纳税人名称"])
    assert t.header_rows == [3]
    assert names(t) == ["纳税人识别号", "纳税人名称", "所属年度", "实缴税金"]
    assert [c.label for c in t.columns] == names(t)
    assert t.unit_note == "万元"
    assert one(DATA / "power_utf8.csv").unit_note is None


def test_title_with_a_second_cell_is_not_a_parent_header(tmp_path: Path) -> None:
    text = (
        "2024年企业税收情况,,,制表日期 2024-01-05\n"
        "纳税人识别号,纳税人名称,所属年度,实缴税金\n"
        "1,甲,2024,5\n"
    )
    t = one(write(tmp_path, "t.csv", text))
    assert t.header_rows == [2]
    assert [c.label for c in t.columns] == ["纳税人识别号", "纳税人名称", "所属年度", "实缴税金"]
    assert t.skipped == [(1, "title")]


def test_column_code_row_subtotals_and_trailing_notes(tmp_path: Path) -> None:
    text = (
        "企业名称,区县,产值\n"
        "甲,乙,1\n"
        "注塑科技有限公司,吴兴区,10\n"
        "小计,,10\n"
        "湖州乙有限公司,南浔区,5\n"
        "总 计,,15\n"
        "填表人：张三,,联系电话：123\n"
        "注：单位为万元,,\n"
    )
    t = one(write(tmp_path, "c.csv", text))
    assert col(t, "企业名称") == ["注塑科技有限公司", "湖州乙有限公司"]
    assert rows(t) == [3, 5]
    assert t.skipped == [
        (2, "column_codes"),
        (4, "total_row"),
        (6, "total_row"),
        (7, "note"),
        (8, "note"),
    ]
    assert_rows_accounted(t, 8)


def test_empty_and_headerless_files(tmp_path: Path) -> None:
    for name, text in [("e.csv", ""), ("w.csv", " \n\n"), ("n.csv", "1,2\n3,4\n")]:
        with pytest.raises(ValidationError) as err:
            read_file(write(tmp_path, name, text))
        assert err.value.code == "read.no_header"
        assert err.value.location.file == name


def test_header_only_csv_has_no_rows(tmp_path: Path) -> None:
    t = one(write(tmp_path, "h.csv", "户号,户名\n"))
    assert names(t) == ["户号", "户名"]
    assert t.data.num_rows == 0
    assert rows(t) == []


def test_classic_mac_line_ends(tmp_path: Path) -> None:
    t = one(write(tmp_path, "m.csv", "户号,户名\r1,甲\r2,乙\r"))
    assert rows(t) == [2, 3]


# -- Excel -----------------------------------------------------------------------------------
def test_xlsx_merged_title_blank_total_and_note() -> None:
    t = one(DATA / "stats_title.xlsx")
    assert (t.sheet, t.encoding) == ("统计年报", None)
    assert t.header_rows == [2]
    assert names(t) == [
        "统一社会信用代码",
        "单位详细名称",
        "工业总产值(千元)",
        "营业收入(万元)",
        "从业人员年平均人数(人)",
        "规上标志",
    ]
    assert rows(t) == [3, 4, 6]  # title row 1, header row 2: first data row is 3
    assert t.skipped == [(1, "title"), (5, "blank"), (7, "total_row"), (8, "note")]
    assert col(t, "营业收入(万元)") == ["0.3", "1234.5", "10"]  # 0.1 + 0.2 without float noise
    assert col(t, "从业人员年平均人数(人)") == ["120", "80", "35"]  # 80.0 → "80"
    assert col(t, "规上标志") == ["是", "否", "1"]
    assert_rows_accounted(t, 8)


def test_xlsx_with_hints_finds_the_same_header() -> None:
    t = one(DATA / "stats_title.xlsx", header_hints=["统一社会信用代码", "工业总产值", "营业收入"])
    assert t.header_rows == [2]


def test_xlsx_two_row_merged_header() -> None:
    for hints in ((), ENERGY_HINTS):
        t = one(DATA / "energy_two_row.xlsx", header_hints=hints)
        assert t.header_rows == [2, 3]
        assert names(t) == [
            "序号",
            "统一社会信用代码",
            "单位详细名称",
            "原煤(吨)",
            "焦炭(吨)",
            "天然气(万立方米)",
            "综合能耗(吨标准煤)",
            "所属区县",
        ]
        assert [c.label for c in t.columns] == [
            "序号",
            "统一社会信用代码",
            "单位详细名称",
            "能源消费量/原煤(吨)",
            "能源消费量/焦炭(吨)",
            "能源消费量/天然气(万立方米)",
            "综合能耗(吨标准煤)",
            "所属区县",
        ]
        assert rows(t) == [4, 5, 6]
        assert t.skipped == [(1, "title")]
        assert col(t, "焦炭(吨)") == ["0", None, "5"]
        assert col(t, "所属区县") == ["吴兴区", "吴兴区", "南浔区"]  # merged H4:H5


def test_merged_data_cells_can_be_left_unfilled() -> None:
    t = one(DATA / "energy_two_row.xlsx", fill_merged=False)
    assert col(t, "所属区县") == ["吴兴区", None, "南浔区"]


def test_xlsx_units_in_second_header_row_and_cell_rendering() -> None:
    t = one(DATA / "units_row.xlsx")
    assert t.header_rows == [1, 2]
    assert rows(t) == [3, 4]
    by_name = {c.name: c for c in t.columns}
    assert by_name["工业总产值"].label == "工业总产值/千元"
    assert by_name["营业收入"].label == "营业收入/(万元)"
    assert by_name["从业人员平均人数"].label == "从业人员平均人数/人"
    assert by_name["企业名称"].label == "企业名称"
    assert col(t, "工业总产值") == ["1234.5", "0.0000001"]
    assert col(t, "营业收入") == ["2.675", "100000000000000000000"]
    assert col(t, "从业人员平均人数") == ["12", "3"]
    assert col(t, "填报日期") == ["2024-03-01", "2024-12-31"]


def test_all_visible_sheets_are_read() -> None:
    tables = read_file(DATA / "two_sheets.xlsx")
    assert [t.sheet for t in tables] == ["2023年", "2024年"]  # empty and hidden sheets skipped
    assert [rows(t) for t in tables] == [[2], [2, 3]]
    assert all(t.file == "two_sheets.xlsx" for t in tables)


def test_sheet_selection_by_name_including_hidden() -> None:
    t = one(DATA / "two_sheets.xlsx", sheet="2024年")
    assert t.sheet == "2024年"
    assert col(t, "实缴税金") == ["120", "80"]
    hidden = one(DATA / "two_sheets.xlsx", sheet="代码表")
    assert col(hidden, "代码") == ["330502"]


def test_missing_sheet_error_lists_sheets_in_both_languages() -> None:
    with pytest.raises(ValidationError) as err:
        read_file(DATA / "two_sheets.xlsx", sheet="2025年")
    e = err.value
    assert e.code == "read.sheet_not_found"
    assert e.zh == "工作表“2025年”不存在（现有工作表：2023年、2024年、空表、代码表）"
    assert e.en == "sheet '2025年' not found (available sheets: 2023年, 2024年, 空表, 代码表)"
    assert (e.location.file, e.location.sheet) == ("two_sheets.xlsx", "2025年")
    assert "[read.sheet_not_found]" in str(e)


def test_selecting_an_empty_sheet_is_no_header() -> None:
    with pytest.raises(ValidationError) as err:
        read_file(DATA / "two_sheets.xlsx", sheet="空表")
    assert err.value.code == "read.no_header"
    assert err.value.location.sheet == "空表"


def test_legacy_xls() -> None:
    t = one(DATA / "land_legacy.xls")
    assert t.sheet == "用地"
    assert t.header_rows == [2]
    assert names(t) == ["宗地编号", "权利人", "用地面积(平方米)", "取得方式", "起始日期"]
    assert rows(t) == [3, 4]
    assert t.skipped == [(1, "title"), (5, "total_row")]
    assert col(t, "用地面积(平方米)") == ["6666.7", "1000"]
    assert col(t, "起始日期") == ["2010-05-01", "2018-01-15"]


def test_table_starting_in_column_b(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["B3"], ws["C3"] = "户号", "用电量"
    ws["B4"], ws["C4"] = "001", 5
    path = tmp_path / "b.xlsx"
    wb.save(path)
    t = one(path)
    assert t.header_rows == [3]
    assert t.skipped == [(1, "blank"), (2, "blank")]
    assert [(c.name, c.index, c.letter) for c in t.columns] == [
        ("", 0, "A"),
        ("户号", 1, "B"),
        ("用电量", 2, "C"),
    ]
    assert t.data.column(2).to_pylist() == ["5"]
    assert t.column(t.columns[1]).to_pylist() == ["001"]


# -- formats and errors ----------------------------------------------------------------------
def test_unknown_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "report.pdf", "x")
    with pytest.raises(ValidationError) as err:
        read_file(path)
    assert err.value.code == "read.format"
    assert ".pdf" in err.value.zh and ".pdf" in err.value.en


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as err:
        read_file(tmp_path / "nope.csv")
    assert err.value.code == "read.unreadable"
    assert err.value.location.file == "nope.csv"


def test_corrupt_xlsx_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(ValidationError) as err:
        read_file(path)
    assert err.value.code == "read.unreadable"


def test_html_saved_as_xls_is_a_format_error(tmp_path: Path) -> None:
    path = write(tmp_path, "export.xls", "<html><table><tr><td>户号</td></tr></table></html>")
    with pytest.raises(ValidationError) as err:
        read_file(path)
    assert err.value.code == "read.format"
    assert "HTML" in err.value.en


def test_tab_text_saved_as_xls_is_read_as_text(tmp_path: Path) -> None:
    path = write(tmp_path, "export.xls", "户号\t户名\n1\t甲\n", "gbk")
    t = one(path)
    assert (t.encoding, t.sheet) == ("gb18030", None)
    assert col(t, "户名") == ["甲"]


# -- label helpers ---------------------------------------------------------------------------
def test_label_helpers() -> None:
    assert readers.clean_label(" 工业总产值\n（千元） ") == "工业总产值(千元)"
    assert readers.clean_label("R&D\n经费  支出") == "R&D经费 支出"
    assert readers.clean_label("Tax\npaid") == "Tax paid"
    assert readers.header_key("企业 名称") == "企业名称"
    assert readers.header_key_variants("工业总产值（当年价格）（千元）") == [
        "工业总产值(当年价格)(千元)",
        "工业总产值(当年价格)",
        "工业总产值",
    ]
    assert readers.header_key_variants("COD【吨】") == ["cod【吨】", "cod"]
    assert [readers.column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AB",
        "ZZ",
        "AAA",
    ]


# -- issue 13: limits, cell flags, long fields --------------------------------------------------
def _limits(**changes: int) -> readers.Limits:
    base = readers.Limits.from_parameters()
    return readers.Limits(**{**base.__dict__, **changes})


def _bad_xlsx():  # type: ignore[no-untyped-def]
    import sys

    sys.path.insert(0, str(DATA / "bad"))
    import xlsx_raw

    return xlsx_raw


def test_limits_come_from_dated_parameters() -> None:
    lim = readers.Limits.from_parameters()
    assert lim.max_rows == 500_000 and lim.max_columns == 1000 and lim.max_cells == 5_000_000
    assert lim.max_file_bytes == 512 << 20 and lim.max_cell_chars == 32000


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("户号,用电量\n" + "3301,1\n" * 1000, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read_file(path, limits=_limits(max_file_bytes=1000))
    assert info.value.code == "file.too_large" and "MB" in info.value.en


def test_xlsx_rows_and_columns_bounded_by_the_stream_scan(tmp_path: Path) -> None:
    X = _bad_xlsx()
    rows = [["户号", "用电量"], *[[f"33{i:04d}", i] for i in range(50)]]
    path = X.write_xlsx(tmp_path / "p.xlsx", X.rows_xml(rows))
    assert one(path, limits=_limits(max_rows=51)).num_rows == 50
    with pytest.raises(ValidationError) as info:
        read_file(path, limits=_limits(max_rows=50))
    assert info.value.code == "file.too_large" and info.value.location.sheet == "Sheet1"
    with pytest.raises(ValidationError) as info:
        read_file(path, limits=_limits(max_columns=1))
    assert info.value.code == "file.too_large"


def test_cells_without_references_are_bounded_too(tmp_path: Path) -> None:
    X = _bad_xlsx()
    head = '<row r="1">' + "".join(f'<c t="inlineStr"><is><t>列{i}</t></is></c>' for i in range(30))
    path = X.write_xlsx(
        tmp_path / "noref.xlsx", [head + "</row>", '<row r="2"><c><v>1</v></c></row>']
    )
    assert len(one(path).columns) == 30
    with pytest.raises(ValidationError) as info:
        read_file(path, limits=_limits(max_columns=20))
    assert info.value.code == "file.too_large"


def test_formulas_without_cache_and_error_cells_are_flagged(tmp_path: Path) -> None:
    X = _bad_xlsx()
    rows = [
        '<row r="1">'
        + X.cell("A1", "户号")
        + X.cell("B1", "用电量")
        + X.cell("C1", "户名")
        + "</row>",
        '<row r="2">'
        + X.cell("A2", "3301")
        + X.cell("B2", formula="SUM(1,2)")
        + X.cell("C2", "甲")
        + "</row>",
        '<row r="3">'
        + X.cell("A3", "3302")
        + X.cell("B3", error="#DIV/0!")
        + X.cell("C3", error="#REF!")
        + "</row>",
        '<row r="4">'
        + X.cell("A4", "3303")
        + '<c r="B4"><f>1+1</f><v>2</v></c>'
        + X.cell("C4", "丙")
        + "</row>",
    ]
    t = one(X.write_xlsx(tmp_path / "f.xlsx", rows))
    assert sorted((f.row, f.column, f.kind, f.value) for f in t.cell_flags) == [
        (2, 1, "formula_uncached", None),
        (3, 1, "error", "#DIV/0!"),
        (3, 2, "error", "#REF!"),
    ]
    # an error cell reads as its error text, as Excel shows it; a cached formula as its value
    assert col(t, "用电量") == [None, "#DIV/0!", "2"]


def test_csv_field_over_128_kib_is_read_not_raised(tmp_path: Path) -> None:
    long = "A" * 140_000
    path = tmp_path / "long.csv"
    # a ragged row goes through the csv module (its default limit is 128 KiB per field)
    path.write_text(f"户号,户名,用电量\n3301,{long},1\n3302,乙,2,多余\n", encoding="utf-8")
    t = one(path)
    assert [len(v or "") for v in col(t, "户名")] == [140_000, 1]


def test_csv_with_too_many_fields_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("户号,用电量\n3301,1\n3302,2" + ",x" * 1500 + "\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read_file(path)
    assert info.value.code == "file.too_large" and "1000" in info.value.en


@pytest.mark.parametrize(
    ("head", "what"),
    [(b"%PDF-1.7\n", "PDF"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff\xe0", "JPEG")],
)
def test_renamed_binary_files_are_named(tmp_path: Path, head: bytes, what: str) -> None:
    path = tmp_path / "data.xlsx"
    path.write_bytes(head + bytes(100))
    with pytest.raises(ValidationError) as info:
        read_file(path)
    assert info.value.code == "read.format" and what in info.value.en


def test_double_bom_is_stripped(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_bytes(codecs.BOM_UTF8 * 2 + "户号,用电量\n3301,1\n".encode())
    assert names(one(path)) == ["户号", "用电量"]
