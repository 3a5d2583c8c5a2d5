"""The demo delivers files the ingest accepts: at province scale a one-sheet Excel export larger
than the ingest's sheet limits (registration, land: more than 500,000 rows) is written as CSV,
and imports to the same enterprises as the Excel file would."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.demo import sheets
from industry_brain.demo.constants import DEFAULT_SEED, SCALES
from industry_brain.demo.departments import CityFiles, fit_limits
from industry_brain.demo.population import build_population
from industry_brain.demo.sheets import DeptFile, Sheet
from industry_brain.ingest.pipeline import import_file
from industry_brain.ingest.readers import Limits
from industry_brain.store.db import make_engine
from industry_brain.store.migrate import upgrade
from industry_brain.store.models import Enterprise


def _limits(**change: int) -> Limits:
    return dataclasses.replace(Limits.from_parameters(), **change)


def _file(rows: int, sheets_: int = 1) -> DeptFile:
    made = []
    for k in range(sheets_):
        sheet = Sheet(["编号", "名称"], ["no", "name"], name=f"表{k}", title="标题")
        for i in range(rows):
            sheet.add([i, f"企业{i}"], None)
        made.append(sheet)
    return DeptFile("land", 2025, "inbox/land/宗地.xlsx", "xlsx", None, made)


def test_only_files_beyond_the_limits_become_csv() -> None:
    # title + header + 4 rows = 6 lines: within 6 rows, beyond 5
    same = fit_limits(_file(4), _limits(max_rows=6))
    assert (same.fmt, same.path, same.sheets[0].title) == ("xlsx", "inbox/land/宗地.xlsx", "标题")
    moved = fit_limits(_file(4), _limits(max_rows=5))
    assert (moved.fmt, moved.encoding, moved.path) == ("csv", "utf-8-sig", "inbox/land/宗地.csv")
    assert (moved.sheets[0].title, moved.sheets[0].name, moved.sheets[0].header_lines) == (
        None,
        None,
        1,
    )
    # the area limit too: 6 lines × 2 columns = 12 cells
    assert fit_limits(_file(4), _limits(max_cells=11)).fmt == "csv"
    assert fit_limits(_file(4), _limits(max_cells=12)).fmt == "xlsx"
    with pytest.raises(ValueError, match="several sheets"):
        fit_limits(_file(4, sheets_=2), _limits(max_rows=5))


def _registration(limits: Limits | None) -> DeptFile:
    sc = SCALES["small"]
    pop = build_population(DEFAULT_SEED, sc.above, sc.below, sc.closed, detail=True)
    dept = CityFiles(pop, DEFAULT_SEED).registration()
    return fit_limits(dept, limits) if limits else dept


def _imported(dept: DeptFile, root: Path) -> tuple[int, set[tuple[str, str, str | None]]]:
    path = sheets.write(dept, root)
    engine = make_engine(f"sqlite:///{root / 'store.sqlite'}")
    upgrade(engine)
    result = import_file(
        "registration",
        path,
        engine=engine,
        sheet=dept.sheets[0].name,
        encoding=dept.encoding,
        accept_valid=True,
        write_reports=False,
    )
    with Session(engine) as s:
        firms = {(e.uscc, e.name, e.county_code) for e in s.scalars(select(Enterprise))}
    engine.dispose()
    return result.rows_loaded, firms


def test_a_registration_too_large_for_excel_imports_as_csv_to_the_same_firms(
    tmp_path: Path,
) -> None:
    as_xlsx = _registration(None)
    as_csv = _registration(_limits(max_rows=100))  # the small city's ≈ 1,000 firms are beyond
    assert (as_xlsx.fmt, as_csv.fmt) == ("xlsx", "csv")
    assert as_csv.path.endswith(".csv") and len(as_csv.sheets[0].rows) > 100
    loaded_x, firms_x = _imported(as_xlsx, tmp_path / "xlsx")
    loaded_c, firms_c = _imported(as_csv, tmp_path / "csv")
    assert loaded_c == loaded_x > 900
    assert firms_c == firms_x
