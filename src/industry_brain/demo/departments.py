"""Department files of the demo city, written the way departments send them (部门报送文件).

Seven kinds, with the column aliases of ``ingest/mappings/<kind>.yaml`` and units in the
headers: 市场监管 registration (XLSX), 统计 annual indicators (XLSX with a merged title, 规上 and
规下 sheets and a 合计 row, or UTF-8-BOM CSV) and energy by fuel (XLSX with 能源消费量 as a
parent header), 税务 taxes (GBK CSV), 电力 monthly electricity (GBK CSV, mixed 月份 forms,
accounts without USCC), 自然资源 land parcels (XLSX or CSV, 平方米 or 亩, leases) and 生态环境
emissions (UTF-8-BOM CSV). Deliberate defects are planted in a few rows and listed in the
manifest with the line number a person sees in Excel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from industry_brain.demo.constants import DEMO_TODAY, LATEST_YEAR, YEARS, city
from industry_brain.demo.identifiers import random_uscc
from industry_brain.demo.params import FUELS, POLLUTANTS
from industry_brain.demo.population import TAX_TYPES, Population
from industry_brain.demo.sheets import DeptFile, Row, Sheet
from industry_brain.ingest.readers import Limits

#: Import order of the kinds (registration first: it creates the enterprises).
KIND_ORDER: tuple[str, ...] = (
    "registration",
    "stats_annual",
    "energy",
    "tax",
    "power",
    "land",
    "emissions",
)
_FULLWIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")
_MONTH_FORMS = ("{y}年{m}月", "{y}.{m:02d}", "{y}{m:02d}")


#: Statistics file layout per year: format, money unit, brackets, then the header words for
#: USCC, name, revenue, employees, R&D and the 规上 flag, and the year column ("-": none).
_STATS_LAYOUT = {
    2021: "xlsx 千元 () 统一社会信用代码 单位详细名称 营业收入 "
    "从业人员年平均人数 R&D经费支出 规上标志 -",
    2022: "csv 万元 （） 社会信用代码 企业名称 主营业务收入 "
    "从业人员平均人数 研究与试验发展经费支出 是否规上 年份",
    2023: "xlsx 万元 （） 统一社会信用代码 单位详细名称 营业收入 "
    "从业人员年平均人数 R&D经费支出 规上标志 -",
    2024: "xlsx 千元 () 统一社会信用代码 单位详细名称 营业收入 "
    "从业人员年平均人数 研发经费支出 规上标志 -",
    2025: "csv 万元 () 信用代码 企业名称 营业收入 "
    "从业人员年平均人数 R&D经费支出 规模以上标志 统计年度",
}
#: Energy file layout per year: format, natural-gas unit, electricity unit, total-energy header.
_ENERGY_LAYOUT = {
    2021: ("xlsx", "万立方米", "万千瓦时", "综合能耗"),
    2022: ("xlsx", "立方米", "万千瓦时", "综合能耗"),
    2023: ("csv", "万立方米", "万千瓦时", "综合能源消费量"),
    2024: ("xlsx", "万立方米", "千瓦时", "综合能耗"),
    2025: ("xlsx", "万立方米", "万千瓦时", "综合能耗"),
}
#: Power file layout per year: headers of 户号, 户名, USCC, month; electricity word and unit;
#: the dominant 月份 form (index into ``_MONTH_FORMS``).
_POWER_LAYOUT = {
    2021: "户号 户名 统一社会信用代码 月份 用电量 千瓦时 0",
    2022: "用电户号 用电户名 社会信用代码 抄表年月 结算电量 千瓦时 2",
    2023: "户号 户名 统一社会信用代码 电费年月 用电量 千瓦时 1",
    2024: "户号 户名 统一社会信用代码 月份 月用电量 万千瓦时 0",
    2025: "电力户号 用户名称 信用代码 用电年月 用电量 万千瓦时 2",
}


def fullwidth(text: str) -> str:
    """Digits (and the decimal point) as full-width characters: ``12.5`` → ``１２．５``."""
    return text.translate(_FULLWIDTH)


def _num_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def _unit(label: str, unit: str, brackets: str) -> str:
    return f"{label}{brackets[0]}{unit}{brackets[1]}"


def _money(value: float, unit: str) -> float | int:
    """万元 → the file's money unit (千元 as whole numbers, 元 with 2 decimals)."""
    if unit == "千元":
        return round(value * 10)
    if unit == "元":
        return round(value * 10000, 2)
    return round(value, 4)


@dataclass
class Defect:
    """One planted defect: where it is (file, sheet, spreadsheet line, column) and what it is."""

    kind_of_defect: str
    file: str
    sheet: str | None
    row: int
    column: str | None
    uscc_or_name: str
    note: str
    value: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Pending:
    kind: str
    dept: DeptFile
    sheet: Sheet
    row: Row | None  # None: the header line
    key: str | None
    who: str
    note: str
    value: Any


class Planter:
    """Chooses rows with a generator, changes cells and records each change as a defect."""

    def __init__(self, rng: np.random.Generator, pop: Population) -> None:
        self.rng = rng
        self.pop = pop
        self.pending: list[_Pending] = []
        self._touched: set[int] = set()

    def pick(self, sheet: Sheet, where: Callable[[int], bool] | None = None) -> int | None:
        """Index of an untouched data row satisfying ``where`` (None when there is none).

        Random draws first (cheap on large files), then a full scan so that a rare condition
        is still found when it exists.
        """

        def ok(k: int) -> bool:
            return id(sheet.rows[k]) not in self._touched and (where is None or where(k))

        n = len(sheet.rows)
        chosen = None
        if n:
            for k in self.rng.integers(0, n, size=64):
                if ok(int(k)):
                    chosen = int(k)
                    break
        if chosen is None:
            cands = [k for k in range(n) if ok(k)]
            if not cands:
                return None
            chosen = cands[int(self.rng.integers(0, len(cands)))]
        self._touched.add(id(sheet.rows[chosen]))
        return chosen

    def touched(self, row: Row) -> bool:
        """True when a defect was planted on ``row`` already."""
        return id(row) in self._touched

    def touch(self, row: Row) -> None:
        """Keep later defects off ``row``."""
        self._touched.add(id(row))

    def who(self, sheet: Sheet, k: int) -> str:
        owner = sheet.owners[k]
        if owner is not None:
            return self.pop.uscc[owner]
        for key in ("name", "account_name", "holder"):
            if key in sheet.keys:
                return str(sheet.rows[k][sheet.col(key)])
        return ""

    def record(
        self,
        kind: str,
        dept: DeptFile,
        sheet: Sheet,
        row: Row | None,
        key: str | None,
        who: str,
        note: str,
        value: Any = None,
    ) -> None:
        if row is not None:
            self._touched.add(id(row))
        self.pending.append(_Pending(kind, dept, sheet, row, key, who, note, value))

    def cell(
        self,
        kind: str,
        dept: DeptFile,
        sheet: Sheet,
        key: str,
        change: Callable[[Any, int | None], Any],
        note: str,
        where: Callable[[int], bool] | None = None,
    ) -> bool:
        """Change the ``key`` cell of one chosen row with ``change(old, owner)``."""
        c = sheet.col(key)
        k = self.pick(sheet, where)
        if k is None:
            return False
        row = sheet.rows[k]
        who = self.who(sheet, k)
        row[c] = change(row[c], sheet.owners[k])
        self.record(kind, dept, sheet, row, key, who, note, row[c])
        return True

    def numeric(self, sheet: Sheet, key: str, minimum: float = 0.0) -> Callable[[int], bool]:
        """Rows whose ``key`` cell is a number above ``minimum``."""
        c = sheet.col(key)

        def ok(k: int) -> bool:
            v = sheet.rows[k][c]
            return isinstance(v, int | float) and not isinstance(v, bool) and v > minimum

        return ok

    def resolve(self, dept: DeptFile) -> list[Defect]:
        """The defects planted in ``dept`` (the file just built, all its rows in place) with
        spreadsheet line numbers. They must all lie in that file; they are forgotten with the
        rows touched, so that the generator keeps only one file's rows in memory (a later file
        never plants into an earlier one)."""
        stray = [p.dept.path for p in self.pending if p.dept is not dept]
        if stray:
            raise RuntimeError(f"defects planted outside {dept.path}: {sorted(set(stray))}")
        lines: dict[int, dict[int, int]] = {}
        out: list[Defect] = []
        for p in self.pending:
            sid = id(p.sheet)
            if sid not in lines:
                lines[sid] = p.sheet.line_numbers()
            row = p.sheet.header_lines if p.row is None else lines[sid][id(p.row)]
            column = p.sheet.header[p.sheet.col(p.key)] if p.key is not None else None
            value = None if p.value is None else _num_text(p.value)
            out.append(
                Defect(
                    p.kind,
                    p.dept.path,
                    p.sheet.name if p.dept.fmt == "xlsx" else None,
                    row,
                    column,
                    p.who,
                    p.note,
                    value,
                )
            )
        self.pending.clear()
        self._touched.clear()
        return out


def fit_limits(dept: DeptFile, limits: Limits) -> DeptFile:
    """``dept`` as a department would deliver it to the platform: a one-sheet Excel file larger
    than the ingest accepts for a sheet (``ingest.limits.max_rows`` / ``max_cells`` /
    ``max_columns``: at province scale the registration and land exports) becomes a UTF-8 CSV
    (without the Excel title row and parent headers, which a CSV export does not have)."""
    if dept.fmt != "xlsx":
        return dept

    def too_large(sheet: Sheet) -> bool:
        rows = sheet.header_lines + len(sheet.rows) + (sheet.total is not None)
        cols = len(sheet.header)
        return rows > limits.max_rows or cols > limits.max_columns or rows * cols > limits.max_cells

    if not any(too_large(sheet) for sheet in dept.sheets):
        return dept
    if len(dept.sheets) != 1:
        raise ValueError(f"{dept.path}: several sheets beyond the ingest's limits")
    (sheet,) = dept.sheets
    sheet.title, sheet.groups, sheet.name = None, [], None
    dept.fmt, dept.encoding = "csv", "utf-8-sig"
    dept.path = str(PurePosixPath(dept.path).with_suffix(".csv"))
    return dept


class CityFiles:
    """Builds every department file of a detailed :class:`Population` for one seed."""

    def __init__(self, pop: Population, seed: int) -> None:
        self.pop = pop
        self.seed = seed
        self.planter = Planter(self._rng("defects", 0), pop)
        rng = self._rng("parks", 0)
        known = set(pop.uscc)
        self.park_uscc: dict[str, str] = {}
        for county in city().counties:
            for name in city().park_lessors[county.code]:
                code = random_uscc(rng, county.code)
                while code in known:
                    code = random_uscc(rng, county.code)
                known.add(code)
                self.park_uscc[name] = code
        renamed_clash = {b for _, b in pop.name_clashes} | {a for a, _ in pop.name_clashes}
        self._plain_renamed = [i for i in range(pop.n) if pop.former[i] and i not in renamed_clash]

    def _rng(self, purpose: str, year: int) -> np.random.Generator:
        key = sum(ord(ch) * (k + 1) for k, ch in enumerate(purpose))
        seq = np.random.SeedSequence([self.seed, key, year])
        return np.random.Generator(np.random.PCG64(seq))

    def file_count(self) -> int:
        """How many files :meth:`files` yields."""
        return 1 + (len(KIND_ORDER) - 1) * len(YEARS)

    def files(self) -> Iterator[tuple[DeptFile, list[Defect]]]:
        """Each file in import order with the defects planted in it, one at a time: the caller
        writes a file and drops it before the next is built, so memory holds one file's rows."""
        makers: list[Callable[[], DeptFile]] = [self.registration]
        for kind in KIND_ORDER[1:]:
            make: Callable[[int], DeptFile] = getattr(self, kind)
            makers += [lambda make=make, year=year: make(year) for year in YEARS]
        limits = Limits.from_parameters(DEMO_TODAY)
        for maker in makers:
            dept = fit_limits(maker(), limits)
            yield dept, self.planter.resolve(dept)

    # ------------------------------------------------------------------ helpers
    def _county_order(self, idx: np.ndarray) -> np.ndarray:
        pop = self.pop
        uscc = np.array(pop.uscc, dtype=object)[idx]
        cls = np.array(pop.class_code, dtype=object)[idx]
        order = sorted(
            range(len(idx)), key=lambda k: (int(pop.county_idx[idx[k]]), cls[k], uscc[k])
        )
        return idx[np.array(order, dtype=np.int64)] if len(order) else idx

    def _former_name_row(self, sheet: Sheet, year: int) -> Callable[[int], bool]:
        renamed = set(self._plain_renamed)
        pop = self.pop

        def ok(k: int) -> bool:
            i = sheet.owners[k]
            return i is not None and i in renamed and year > pop.former[i][-1][1]

        return ok

    def _missing_uscc_former_name(self, dept: DeptFile, sheet: Sheet, year: int) -> None:
        k = self.planter.pick(sheet, self._former_name_row(sheet, year))
        if k is None:
            return
        i = sheet.owners[k]
        assert i is not None
        row = sheet.rows[k]
        former = self.pop.former[i][-1][0]
        row[sheet.col("uscc")] = None
        row[sheet.col("name")] = former
        self.planter.record(
            "missing_uscc_former_name",
            dept,
            sheet,
            row,
            "uscc",
            self.pop.uscc[i],
            f"USCC empty; name is the former name (曾用名) {former} of {self.pop.name[i]}",
        )

    def _name_ambiguous(self, dept: DeptFile, sheet: Sheet, year: int) -> None:
        pop = self.pop
        for a, b in pop.name_clashes:
            if year <= pop.former[b][0][1]:
                continue
            ks = [k for k, o in enumerate(sheet.owners) if o == a]
            if not ks or self.planter.touched(sheet.rows[ks[0]]):
                continue
            row = sheet.rows[ks[0]]
            row[sheet.col("uscc")] = None
            self.planter.record(
                "name_ambiguous",
                dept,
                sheet,
                row,
                "name",
                pop.uscc[a],
                f"USCC empty; {pop.name[a]} is the name of {pop.uscc[a]} and the former name "
                f"of {pop.uscc[b]}",
                pop.name[a],
            )
            return

    def _duplicate(self, dept: DeptFile, sheet: Sheet) -> None:
        k = self.planter.pick(sheet)
        if k is None:
            return
        row = sheet.rows[k]
        copy = list(row)
        sheet.insert_after(row, copy, sheet.owners[k])
        self.planter.record(
            "duplicate_row",
            dept,
            sheet,
            copy,
            None,
            self.planter.who(sheet, k),
            "exact copy of the row above",
        )

    def _unknown_column(
        self, dept: DeptFile, sheet: Sheet, header: str, fill: Callable[[int], Any]
    ) -> None:
        sheet.add_column("extra", header, [fill(k) for k in range(len(sheet.rows))])
        self.planter.record(
            "unknown_column",
            dept,
            sheet,
            None,
            "extra",
            "",
            f"column {header} is not in the {dept.kind} mapping",
        )

    def _marker(self, dept: DeptFile, sheet: Sheet, key: str, marker: str) -> None:
        self.planter.cell(
            "missing_marker",
            dept,
            sheet,
            key,
            lambda v, o: marker,
            f"{marker} written for a missing value",
            self.planter.numeric(sheet, key),
        )

    def _thousands(self, dept: DeptFile, sheet: Sheet, key: str) -> None:
        self.planter.cell(
            "thousands_separator",
            dept,
            sheet,
            key,
            lambda v, o: f"{v:,.1f}" if isinstance(v, float) else f"{v:,}",
            "number written with thousands separators",
            self.planter.numeric(sheet, key, 1000),
        )

    def _fullwidth_number(self, dept: DeptFile, sheet: Sheet, key: str) -> None:
        self.planter.cell(
            "fullwidth_number",
            dept,
            sheet,
            key,
            lambda v, o: fullwidth(_num_text(v)),
            "number written in full-width digits",
            self.planter.numeric(sheet, key, 1),
        )

    def _text_in_number(self, dept: DeptFile, sheet: Sheet, key: str, text: str) -> None:
        self.planter.cell(
            "text_in_numeric",
            dept,
            sheet,
            key,
            lambda v, o: text,
            f"text {text} in a numeric cell",
            self.planter.numeric(sheet, key),
        )

    def _bad_check(self, dept: DeptFile, sheet: Sheet, key: str = "uscc") -> None:
        alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

        def change(v: Any, o: int | None) -> str:
            wrong = alphabet[(alphabet.index(v[17]) + 7) % 31]
            return v[:17] + wrong

        self.planter.cell(
            "uscc_bad_check",
            dept,
            sheet,
            key,
            change,
            "check character (18th) is wrong",
            lambda k: (
                isinstance(sheet.rows[k][sheet.col(key)], str)
                and len(sheet.rows[k][sheet.col(key)]) == 18
            ),
        )

    def _uscc_form(self, dept: DeptFile, sheet: Sheet, kind: str, key: str = "uscc") -> None:
        change = (
            (lambda v, o: v.lower()) if kind == "uscc_lowercase" else (lambda v, o: fullwidth(v))
        )
        note = "USCC in lower case" if kind == "uscc_lowercase" else "USCC in full-width digits"
        self.planter.cell(
            kind,
            dept,
            sheet,
            key,
            change,
            note,
            lambda k: (
                isinstance(sheet.rows[k][sheet.col(key)], str)
                and any(ch.isalpha() for ch in sheet.rows[k][sheet.col(key)])
            ),
        )

    # ------------------------------------------------------------------ registration
    def registration(self) -> DeptFile:
        """市场监管 registration of every enterprise (active and closed) as of the latest year."""
        pop = self.pop
        cols = [
            ("seq", "序号"),
            ("uscc", "统一社会信用代码"),
            ("name", "企业名称"),
            ("former_names", "曾用名"),
            ("address", "注册地址"),
            ("county", "所属区县"),
            ("industry_code", "行业代码"),
            ("registration_date", "成立日期"),
            ("status", "登记状态"),
            ("town", "乡镇街道"),
        ]
        sheet = Sheet(
            header=[h for _, h in cols],
            keys=[k for k, _ in cols],
            name="登记信息",
            title=f"{city().name}工业企业登记信息（截至{LATEST_YEAR}年12月31日）",
        )
        order = np.lexsort((np.array(pop.uscc), pop.reg_date, pop.county_idx))
        for seq, i in enumerate(order, 1):
            former = "；".join(name for name, _ in pop.former[i])
            sheet.add(
                [
                    seq,
                    pop.uscc[i],
                    pop.name[i],
                    former or None,
                    pop.address[i],
                    city().counties[int(pop.county_idx[i])].name,
                    pop.class_code[i],
                    pop.reg_date_of(i),
                    pop.status[i],
                    city().counties[int(pop.county_idx[i])].towns[int(pop.town_idx[i])][1] or None,
                ],
                int(i),
            )
        dept = DeptFile(
            "registration",
            None,
            f"inbox/registration/{city().name}工业企业登记信息_{LATEST_YEAR}年末.xlsx",
            "xlsx",
            None,
            [sheet],
            creator=f"{city().name}市场监督管理局",
        )
        P = self.planter
        P.record(
            "unknown_column",
            dept,
            sheet,
            None,
            "seq",
            "",
            "序号 (row number) is not in the registration mapping",
        )
        self._uscc_form(dept, sheet, "uscc_lowercase")
        self._uscc_form(dept, sheet, "uscc_lowercase")
        self._uscc_form(dept, sheet, "uscc_fullwidth")
        return dept

    # ------------------------------------------------------------------ statistics
    def stats_annual(self, year: int) -> DeptFile:
        """统计年报: 规上 and 规下 industrial enterprises' main indicators for ``year``."""
        pop = self.pop
        *words, h_year = _STATS_LAYOUT[year].split()
        fmt, money, br, h_uscc, h_name, h_rev, h_emp, h_rd, h_flag = words
        k = YEARS.index(year)
        cols: list[tuple[str, str]] = [("uscc", h_uscc), ("name", h_name)]
        if h_year != "-":
            cols.append(("year", h_year))
        cols += [
            ("output_value", _unit("工业总产值", money, br)),
            ("value_added", _unit("工业增加值", money, br)),
            ("revenue", _unit(h_rev, money, br)),
            ("profit", _unit("利润总额", money, br)),
            ("employees", _unit(h_emp, "人", br)),
            ("rd_expense", _unit(h_rd, money, br)),
            ("above_scale", h_flag),
        ]
        numeric = ("output_value", "value_added", "revenue", "profit", "employees", "rd_expense")

        def flag(above: bool) -> Any:
            return (1 if above else 0) if year == 2025 else ("是" if above else "否")

        def make_sheet(name: str | None, title: str | None) -> Sheet:
            return Sheet([h for _, h in cols], [c for c, _ in cols], name=name, title=title)

        def fill(sheet: Sheet, idx: np.ndarray) -> None:
            for i in self._county_order(idx):
                values = {
                    "uscc": pop.uscc[i],
                    "name": pop.name_in_year(int(i), year),
                    "year": year,
                    "output_value": _money(pop.output[i, k], money),
                    "value_added": _money(pop.value_added[i, k], money),
                    "revenue": _money(pop.revenue[i, k], money),
                    "profit": _money(pop.profit[i, k], money),
                    "employees": int(pop.employees[i, k]),
                    "rd_expense": _money(pop.rd[i, k], money),
                    "above_scale": flag(bool(pop.above[i, k])),
                }
                sheet.add([values[c] for c, _ in cols], int(i))

        def total(sheet: Sheet) -> None:
            row: Row = [None] * len(cols)
            row[0] = "合计"
            for key in numeric:
                c = sheet.col(key)
                s = sum(r[c] for r in sheet.rows if isinstance(r[c], int | float))
                row[c] = round(s, 1) if isinstance(s, float) else s
            sheet.total = row

        above_idx = np.flatnonzero(pop.above[:, k])
        below_idx = np.flatnonzero(pop.active[:, k] & ~pop.above[:, k])
        if fmt == "xlsx":
            s_above = make_sheet("规上工业企业", f"{year}年度规模以上工业企业主要经济指标")
            s_below = make_sheet("规下工业企业", f"{year}年度规模以下工业企业主要经济指标")
            fill(s_above, above_idx)
            fill(s_below, below_idx)
            sheets = [s_above, s_below]
            path = f"inbox/stats_annual/{year}年度工业企业主要经济指标.xlsx"
        else:
            s_all = make_sheet(None, None)
            fill(s_all, np.concatenate([above_idx, below_idx]))
            sheets = [s_all]
            path = f"inbox/stats_annual/{year}年工业企业主要指标（规上+规下）.csv"
        dept = DeptFile(
            "stats_annual",
            year,
            path,
            fmt,
            None if fmt == "xlsx" else "utf-8-sig",
            sheets,
            creator=f"{city().name}统计局",
        )
        main = sheets[0]
        other = sheets[-1]
        self._plant_stats(dept, main, other, year, money)
        if fmt == "xlsx":
            for sheet in sheets:
                total(sheet)
        return dept

    def _plant_stats(
        self, dept: DeptFile, main: Sheet, other: Sheet, year: int, money: str
    ) -> None:
        P = self.planter
        pop = self.pop
        if year == 2021:
            self._bad_check(dept, main)
            self._thousands(dept, main, "revenue")
            self._thousands(dept, other, "output_value")
            self._marker(dept, main, "rd_expense", "—")
        elif year == 2022:
            self._va_gt_output(dept, main)
            self._marker(dept, main, "profit", "无")
            self._fullwidth_number(dept, main, "revenue")
            self._missing_uscc_former_name(dept, main, year)
        elif year == 2023:
            self._duplicate(dept, main)
            self._text_in_number(dept, other, "employees", "待核实")
            self._missing_uscc_former_name(dept, other, year)
            name, _ci, _cls, code = pop.outsiders[0]
            row = self._outsider_stats_row(main, name, code, year, money)
            P.record(
                "unknown_enterprise",
                dept,
                main,
                row,
                "uscc",
                code,
                f"valid USCC and name {name} not in the registry",
            )
        elif year == 2024:
            self._bad_check(dept, other)
            self._va_gt_output(dept, other)
            self._name_ambiguous(dept, main if self._has_clash(main) else other, year)
            self._marker(dept, main, "rd_expense", "/")
        elif year == 2025:
            self._unknown_column(dept, main, "备注", lambda r: "新升规" if r % 97 == 5 else None)
            self._name_ambiguous(dept, main, year)
            name = pop.outsiders[1][0]
            row = self._outsider_stats_row(main, name, None, year, money)
            P.record(
                "unknown_enterprise",
                dept,
                main,
                row,
                "name",
                name,
                "no USCC and a name not in the registry",
            )
            self._fullwidth_number(dept, main, "output_value")
            self._missing_uscc_former_name(dept, main, year)
            self._thousands(dept, main, "value_added")

    def _has_clash(self, sheet: Sheet) -> bool:
        owners = set(o for o in sheet.owners if o is not None)
        return any(a in owners for a, _ in self.pop.name_clashes)

    def _va_gt_output(self, dept: DeptFile, sheet: Sheet) -> None:
        c_out = sheet.col("output_value")
        c_va = sheet.col("value_added")

        def ok(k: int) -> bool:
            r = sheet.rows[k]
            return (
                isinstance(r[c_out], int | float)
                and r[c_out] > 100
                and isinstance(r[c_va], int | float)
            )

        k = self.planter.pick(sheet, ok)
        if k is None:
            return
        row = sheet.rows[k]
        out = row[c_out]
        row[c_va] = round(out * 1.35) if isinstance(out, int) else round(out * 1.35, 1)
        self.planter.record(
            "value_added_gt_output",
            dept,
            sheet,
            row,
            "value_added",
            self.planter.who(sheet, k),
            f"value added {row[c_va]} exceeds gross output {out}",
            row[c_va],
        )

    def _outsider_stats_row(
        self, sheet: Sheet, name: str, code: str | None, year: int, money: str
    ) -> Row:
        rng = self._rng("outsider", year)
        revenue = float(round(rng.uniform(2100, 6000), 1))
        values = {
            "uscc": code,
            "name": name,
            "year": year,
            "output_value": _money(revenue * 1.02, money),
            "value_added": _money(revenue * 0.22, money),
            "revenue": _money(revenue, money),
            "profit": _money(revenue * 0.05, money),
            "employees": int(revenue / 80),
            "rd_expense": _money(revenue * 0.01, money),
            "above_scale": 1 if year == 2025 else "是",
            "extra": None,
        }
        row = [values[c] for c in sheet.keys]
        sheet.add(row, None)
        return row

    # ------------------------------------------------------------------ energy
    def energy(self, year: int) -> DeptFile:
        """统计 energy use by fuel (能源消费量) of 规上 enterprises, in physical units and tce."""
        pop = self.pop
        fmt, gas_unit, elec_unit, total_label = _ENERGY_LAYOUT[year]
        k = YEARS.index(year)
        cols: list[tuple[str, str]] = [("uscc", "统一社会信用代码"), ("name", "单位详细名称")]
        for key, zh, unit, _ in FUELS:
            cols.append((key, _unit(zh, gas_unit if key == "natural_gas" else unit, "()")))
        cols.append(("electricity", _unit("外购电力", elec_unit, "()")))
        cols.append(("energy_total", _unit(total_label, "吨标准煤", "()")))
        groups = [("能源消费量", 2, 2 + len(FUELS))] if fmt == "xlsx" else []
        sheet = Sheet(
            [h for _, h in cols],
            [c for c, _ in cols],
            name="能源消费" if fmt == "xlsx" else None,
            title=f"{year}年规模以上工业企业能源消费情况" if fmt == "xlsx" else None,
            groups=groups,
        )
        for i in self._county_order(np.flatnonzero(pop.above[:, k])):
            row: Row = [pop.uscc[i], pop.name_in_year(int(i), year)]
            for f, (key, _zh, _u, _tce) in enumerate(FUELS):
                v = float(pop.fuels[i, k, f])
                if key == "natural_gas" and gas_unit == "立方米":
                    row.append(round(v * 10000) if v > 0 else None)
                else:
                    row.append(round(v, 2) if v > 0 else None)
            kwh = float(pop.electricity[i, k])
            row.append(int(kwh) if elec_unit == "千瓦时" else round(kwh / 10000, 4))
            row.append(round(float(pop.energy_total[i, k]), 2))
            sheet.add(row, int(i))
        dept = DeptFile(
            "energy",
            year,
            f"inbox/energy/{year}年规上工业企业能源消费情况.{fmt}",
            fmt,
            None if fmt == "xlsx" else "utf-8-sig",
            [sheet],
            creator=f"{city().name}统计局",
        )
        if year == 2021:
            self._marker(dept, sheet, "natural_gas", "—")
        elif year == 2022:
            self._uscc_form(dept, sheet, "uscc_fullwidth")
        elif year == 2023:
            self._unknown_column(
                dept, sheet, "联系电话", lambda r: f"0572-{2000000 + r * 37 % 999999}"
            )
        elif year == 2024:
            self._thousands(dept, sheet, "electricity")
        elif year == 2025:
            self._text_in_number(dept, sheet, "energy_total", "见附件")
        if fmt == "xlsx":
            total: Row = [None] * len(cols)
            total[0] = "合计"
            for key in ("electricity", "energy_total"):
                c = sheet.col(key)
                total[c] = round(sum(r[c] for r in sheet.rows if isinstance(r[c], int | float)), 2)
            sheet.total = total
        return dept

    # ------------------------------------------------------------------ tax
    def tax(self, year: int) -> DeptFile:
        """税务 paid taxes by tax type (税种), GBK CSV; amounts in 元 (万元 in 2023)."""
        pop = self.pop
        k = YEARS.index(year)
        if year == 2023:
            money = "万元"
            cols = [
                ("uscc", "统一社会信用代码"),
                ("name", "企业名称"),
                ("year", "年份"),
                ("tax_type", "征收项目"),
                ("tax_paid", "实缴金额(万元)"),
                ("tax_revenue", "入库金额(万元)"),
            ]
        else:
            money = "元"
            cols = [
                ("uscc", "纳税人识别号"),
                ("name", "纳税人名称"),
                ("year", "所属年度"),
                ("tax_type", "税种"),
                ("tax_paid", "实缴税金(元)"),
                ("tax_revenue", "入库税收(元)"),
            ]
        sheet = Sheet([h for _, h in cols], [c for c, _ in cols])
        rng = self._rng("tax", year)
        refund = rng.random(pop.n) < 0.05
        idx = np.flatnonzero(pop.active[:, k])
        for i in sorted(idx.tolist(), key=lambda j: pop.uscc[j]):
            for t, tax_type in enumerate(TAX_TYPES):
                v = float(pop.tax[i, k, t])
                if v < 0.0001:
                    continue
                paid = _money(v, money)
                entered = _money(v * 0.9, money) if refund[i] and t == 0 else paid
                sheet.add(
                    [pop.uscc[i], pop.name_in_year(i, year), year, tax_type, paid, entered], i
                )
        dept = DeptFile(
            "tax",
            year,
            f"inbox/tax/{year}年度企业税收明细.csv",
            "csv",
            "gbk",
            [sheet],
            creator=f"国家税务总局{city().name}税务局",
        )
        P = self.planter
        if year in (2021, 2023, 2025):
            P.cell(
                "negative_tax",
                dept,
                sheet,
                "tax_paid",
                lambda v, o: -v,
                "negative tax paid (refund booked as a negative payment)",
                P.numeric(sheet, "tax_paid", 0),
            )
        if year in (2021, 2025):
            self._uscc_form(dept, sheet, "uscc_lowercase")
        if year in (2022, 2024):
            self._tax_gt_half_revenue(dept, sheet, year, money)
        if year == 2022:
            self._duplicate(dept, sheet)
        if year == 2023:
            self._thousands(dept, sheet, "tax_revenue")
        if year == 2024:
            self._missing_uscc_former_name(dept, sheet, year)
            self._bad_check(dept, sheet)
        return dept

    def _tax_gt_half_revenue(self, dept: DeptFile, sheet: Sheet, year: int, money: str) -> None:
        pop = self.pop
        k = YEARS.index(year)
        c_type = sheet.col("tax_type")

        def ok(r: int) -> bool:
            i = sheet.owners[r]
            return (
                i is not None and sheet.rows[r][c_type] == TAX_TYPES[0] and pop.revenue[i, k] > 100
            )

        r = self.planter.pick(sheet, ok)
        if r is None:
            return
        i = sheet.owners[r]
        assert i is not None
        row = sheet.rows[r]
        row[sheet.col("tax_paid")] = _money(pop.revenue[i, k] * 0.6, money)
        row[sheet.col("tax_revenue")] = row[sheet.col("tax_paid")]
        self.planter.record(
            "tax_gt_half_revenue",
            dept,
            sheet,
            row,
            "tax_paid",
            pop.uscc[i],
            f"增值税 alone is 0.6 × revenue ({pop.revenue[i, k]} 万元)",
            row[sheet.col("tax_paid")],
        )

    # ------------------------------------------------------------------ power
    def account_name(self, a: int, year: int) -> str:
        """户名 of account ``a``: some accounts keep the name they were opened under."""
        pop = self.pop
        i = int(pop.acct_ent[a])
        if pop.acct_old_name[a] and pop.former[i]:
            return pop.former[i][0][0]
        return pop.name_in_year(i, year)

    def power(self, year: int) -> DeptFile:
        """国网 monthly electricity per account (户号), 12 months, GBK CSV."""
        pop = self.pop
        *heads, label, unit, form_text = _POWER_LAYOUT[year].split()
        form = int(form_text)
        k = YEARS.index(year)
        cols = [
            ("account_no", heads[0]),
            ("account_name", heads[1]),
            ("uscc", heads[2]),
            ("month", heads[3]),
            ("electricity", _unit(label, unit, "()")),
        ]
        sheet = Sheet([h for _, h in cols], [c for c, _ in cols])
        rng = self._rng("power", year)
        forms = np.where(
            rng.random(len(pop.acct_no)) < 0.8, form, rng.integers(0, 3, len(pop.acct_no))
        )
        order = sorted(range(len(pop.acct_no)), key=lambda a: pop.acct_no[a])
        first_rows: dict[int, Row] = {}
        for a in order:
            i = int(pop.acct_ent[a])
            if not pop.active[i, k]:
                continue
            name = self.account_name(a, year)
            code = pop.uscc[i] if pop.acct_has_uscc[a] else None
            for m in range(12):
                kwh = float(pop.monthly_kwh[a, k, m])
                value: Any = int(kwh) if unit == "千瓦时" else round(kwh / 10000, 4)
                month = _MONTH_FORMS[int(forms[a])].format(y=year, m=m + 1)
                row = [pop.acct_no[a], name, code, month, value]
                sheet.add(row, i)
                if m == 0:
                    first_rows[a] = row
        dept = DeptFile(
            "power",
            year,
            f"inbox/power/{year}年1-12月企业用电量.csv",
            "csv",
            "gbk",
            [sheet],
            creator=f"国网{city().short}供电公司",
        )
        if year == 2021:
            self._bad_month(dept, sheet, f"{year}年13月")
            self._marker(dept, sheet, "electricity", "—")
        elif year == 2022:
            self._jump(dept, sheet, year, first_rows)
            self._outsider_account(dept, sheet, year, 2, unit, form)
        elif year == 2023:
            self._text_in_number(dept, sheet, "electricity", "表计故障")
            self._fullwidth_number(dept, sheet, "electricity")
        elif year == 2024:
            self._jump(dept, sheet, year, first_rows)
            self._bad_month(dept, sheet, f"{year}.00")
        elif year == 2025:
            self._outsider_account(dept, sheet, year, 3, unit, form)
            self._duplicate(dept, sheet)
        return dept

    def _bad_month(self, dept: DeptFile, sheet: Sheet, text: str) -> None:
        self.planter.cell(
            "bad_month", dept, sheet, "month", lambda v, o: text, f"month {text} cannot be parsed"
        )

    def _jump(self, dept: DeptFile, sheet: Sheet, year: int, first_rows: dict[int, Row]) -> None:
        """Multiply one account's 12 months by 15 against the previous year (用电量突增)."""
        pop = self.pop
        k = YEARS.index(year)
        cands = [
            a
            for a in sorted(first_rows, key=lambda a: pop.acct_no[a])
            if pop.active[int(pop.acct_ent[a]), k - 1] and pop.monthly_kwh[a, k - 1].min() > 1000
        ]
        if not cands:
            return
        a = cands[int(self.planter.rng.integers(0, len(cands)))]
        c = sheet.col("electricity")
        first = first_rows[a]
        start = next(p for p, r in enumerate(sheet.rows) if r is first)
        for r in sheet.rows[start : start + 12]:
            if isinstance(r[c], int | float):
                r[c] = r[c] * 15 if isinstance(r[c], int) else round(r[c] * 15, 4)
            self.planter.touch(r)
        self.planter.record(
            "electricity_jump",
            dept,
            sheet,
            first,
            "electricity",
            pop.uscc[int(pop.acct_ent[a])],
            f"account {pop.acct_no[a]}: all 12 months are 15 × the previous year",
            first[c],
        )

    def _outsider_account(
        self, dept: DeptFile, sheet: Sheet, year: int, which: int, unit: str, form: int
    ) -> None:
        name = self.pop.outsiders[which][0]
        account = f"33{90000000 + which * 1111:08d}"
        rng = self._rng("outsider_power", year)
        base = float(rng.uniform(3000, 30000))
        first: Row | None = None
        for m in range(12):
            kwh = round(base * float(rng.uniform(0.8, 1.2)))
            value: Any = kwh if unit == "千瓦时" else round(kwh / 10000, 4)
            row = [account, name, None, _MONTH_FORMS[form].format(y=year, m=m + 1), value]
            sheet.add(row, None)
            first = first or row
        assert first is not None
        self.planter.record(
            "unknown_enterprise",
            dept,
            sheet,
            first,
            "account_name",
            name,
            f"account {account} ({name}) has no USCC and its name is not in the registry",
        )

    # ------------------------------------------------------------------ land
    def land(self, year: int) -> DeptFile:
        """自然资源 land parcels (宗地) in use in ``year``: owned (出让) and leased (租赁)."""
        pop = self.pop
        k = YEARS.index(year)
        xlsx = year in (2021, 2023, 2025)
        if xlsx:
            cols = [
                ("parcel_no", "宗地编号"),
                ("holder", "权利人"),
                ("uscc", "权利人统一社会信用代码"),
                ("lessee", "承租人"),
                ("lessee_uscc", "承租人统一社会信用代码"),
                ("area", "用地面积(平方米)"),
                ("land_use", "土地用途"),
                ("tenure", "取得方式"),
                ("start_date", "使用起始日期"),
                ("end_date", "使用终止日期"),
            ]
        else:
            cols = [
                ("parcel_no", "宗地号"),
                ("holder", "土地使用权人"),
                ("uscc", "统一社会信用代码"),
                ("lessee", "承租方"),
                ("lessee_uscc", "承租方信用代码"),
                ("area", "土地面积（亩）"),
                ("land_use", "用途"),
                ("tenure", "使用权类型"),
                ("start_date", "起始日期"),
                ("end_date", "终止日期"),
            ]
        sheet = Sheet(
            [h for _, h in cols],
            [c for c, _ in cols],
            name="宗地信息" if xlsx else None,
            title=f"{year}年度工业用地宗地信息表" if xlsx else None,
        )

        def when(d: date) -> Any:
            if xlsx:
                return d
            return f"{d.year}/{d.month}/{d.day}" if year == 2022 else d.isoformat()

        rows = [
            p
            for p in pop.parcels
            if p.start.year <= year <= p.end.year and pop.active[p.enterprise, k]
        ]
        rows.sort(key=lambda p: (p.parcel_no, p.tenure != "出让", pop.uscc[p.enterprise]))
        for p in rows:
            i = p.enterprise
            user = pop.name_in_year(i, year)
            if p.tenure == "租赁":
                if p.holder_enterprise is not None:
                    holder = pop.name_in_year(p.holder_enterprise, year)
                    holder_uscc = pop.uscc[p.holder_enterprise]
                else:
                    holder = p.holder_name or ""
                    holder_uscc = self.park_uscc[holder]
                lessee, lessee_uscc = user, pop.uscc[i]
            else:
                holder, holder_uscc, lessee, lessee_uscc = user, pop.uscc[i], None, None
            area = round(p.area_mu * 10000 / 15, 2) if xlsx else round(p.area_mu, 2)
            sheet.add(
                [
                    p.parcel_no,
                    holder,
                    holder_uscc,
                    lessee,
                    lessee_uscc,
                    area,
                    p.land_use,
                    p.tenure,
                    when(p.start),
                    when(p.end),
                ],
                i,
            )
        dept = DeptFile(
            "land",
            year,
            f"inbox/land/{year}年工业用地宗地信息.{'xlsx' if xlsx else 'csv'}",
            "xlsx" if xlsx else "csv",
            None if xlsx else "utf-8-sig",
            [sheet],
            creator=f"{city().name}自然资源和规划局",
        )
        P = self.planter
        if year == 2021:
            P.cell(
                "land_area_nonpositive",
                dept,
                sheet,
                "area",
                lambda v, o: 0,
                "land area is zero",
                P.numeric(sheet, "area"),
            )
        elif year == 2022:
            P.cell(
                "bad_date",
                dept,
                sheet,
                "end_date",
                lambda v, o: "长期",
                "end date 长期 (indefinite) is not a date",
            )
        elif year == 2023:
            P.cell(
                "land_area_nonpositive",
                dept,
                sheet,
                "area",
                lambda v, o: -v,
                "land area is negative",
                P.numeric(sheet, "area"),
            )
            self._bad_check(dept, sheet)
        elif year == 2024:
            self._fullwidth_number(dept, sheet, "area")
            P.cell(
                "bad_date",
                dept,
                sheet,
                "start_date",
                lambda v, o: f"{v[:4]}-02-30",
                "start date does not exist (February 30)",
            )
        elif year == 2025:
            P.cell(
                "missing_marker",
                dept,
                sheet,
                "start_date",
                lambda v, o: "—",
                "— written for a missing start date",
            )
        if xlsx:
            total: Row = [None] * len(cols)
            total[0] = "合计"
            c = sheet.col("area")
            total[c] = round(sum(r[c] for r in sheet.rows if isinstance(r[c], int | float)), 2)
            sheet.total = total
        return dept

    # ------------------------------------------------------------------ emissions
    def emissions(self, year: int) -> DeptFile:
        """生态环境 main pollutant emissions (主要污染物排放量) of reporting units (UTF-8 CSV)."""
        pop = self.pop
        k = YEARS.index(year)
        kg = year == 2022
        unit = "千克" if kg else "吨"
        cols: list[tuple[str, str]] = [
            ("uscc", "统一社会信用代码"),
            ("name", "企业名称" if kg else "排污单位名称"),
            ("year", "年度" if kg else "年份"),
        ]
        cols += [(key, _unit(zh, unit, "（）" if kg else "()")) for key, zh in POLLUTANTS]
        sheet = Sheet([h for _, h in cols], [c for c, _ in cols])
        for i in self._county_order(np.flatnonzero(pop.emits & pop.active[:, k])):
            values = [
                round(float(v) * 1000, 1) if kg else round(float(v), 3) for v in pop.emissions[i, k]
            ]
            sheet.add([pop.uscc[i], pop.name_in_year(int(i), year), year, *values], int(i))
        dept = DeptFile(
            "emissions",
            year,
            f"inbox/emissions/{year}年排污单位主要污染物排放量.csv",
            "csv",
            "utf-8-sig",
            [sheet],
            creator=f"{city().name}生态环境局",
        )
        P = self.planter
        if year == 2021:
            self._marker(dept, sheet, "so2", "/")
        elif year == 2022:
            self._text_in_number(dept, sheet, "cod", "未监测")
        elif year == 2023:
            name = pop.outsiders[4][0]
            row: Row = [None, name, year, 1.2, 0.1, 0.5, 0.8]
            sheet.add(row, None)
            P.record(
                "unknown_enterprise",
                dept,
                sheet,
                row,
                "name",
                name,
                "no USCC and a name not in the registry",
            )
        elif year == 2024:
            self._fullwidth_number(dept, sheet, "nox")
            self._uscc_form(dept, sheet, "uscc_fullwidth")
        elif year == 2025:
            self._marker(dept, sheet, "ammonia", "无")
        return dept
