"""The carbon lineage of a 亩均 explanation (issue 14): read from the run's warehouse snapshot
(``result_carbon`` and ``result_carbon_lines``) once per snapshot, then answered from the
store's cache until a file of those tables changes or a run reads another snapshot."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from industry_brain.domains.mujun import explain
from industry_brain.domains.mujun.models import MujunRun

YEAR = 2025


def _write(folder: Path, grade: int, lines: list[tuple[str, float, float]]) -> Path:
    """A snapshot folder with one carbon result of enterprise 7 (and one of enterprise 8, whose
    lines must not show in 7's lineage) — lines given as (item, quantity, factor)."""
    folder.mkdir(parents=True, exist_ok=True)
    head = {
        "run_id": 3,
        "parameter_version": "c0ffee",
        "year": YEAR,
        "county_code": "330502",
        "grade": grade,
        "co2_net": 42.5,
        "e_energy": 50.0,
        "electricity_kwh": None,
        "grid_factor": None,
        "co2_electricity": None,
        "e_zero_carbon": 5.0,
        "e_sinks": 2.5,
    }
    pd.DataFrame(
        [{**head, "enterprise_id": 7}, {**head, "enterprise_id": 8, "grade": 5}]
    ).to_parquet(folder / "result_carbon.parquet", index=False)
    rows = [
        {"run_id": 3, "year": YEAR, "enterprise_id": 7, "item": item, "quantity": q}
        | {"unit": "t", "factor": f, "co2": q * f}
        for item, q, f in lines
    ]
    rows.append(
        {"run_id": 3, "year": YEAR, "enterprise_id": 8, "item": "coal", "quantity": 1.0}
        | {"unit": "t", "factor": 2.0, "co2": 2.0}
    )
    pd.DataFrame(rows).to_parquet(folder / "result_carbon_lines.parquet", index=False)
    return folder


def _run(path: Path) -> MujunRun:
    return MujunRun(id=1, year=YEAR, snapshot={"path": str(path)})


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The snapshot folders whose carbon tables were read (the real reader, counted)."""
    seen: list[Path] = []
    real = explain._carbon_index

    def counted(path: Path) -> dict:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(explain, "_carbon_index", counted)
    return seen


def test_lineage_is_the_enterprises_result_and_lines_in_item_order(
    sqlite_engine: Engine, tmp_path: Path, reads: list[Path]
) -> None:
    snap = _write(tmp_path / "snap", 2, [("natural_gas", 10.0, 2.0), ("coal", 10.0, 2.5)])
    with Session(sqlite_engine) as s:
        got = explain.carbon_lineage(s, _run(snap), 7, YEAR)
        assert got is not None
        assert (got["run_id"], got["grade"], got["co2_net"], got["snapshot"]) == (
            3,
            2,
            42.5,
            str(snap),
        )
        assert got["electricity_kwh"] is None
        # 10 t × 2.5 = 25 and 10 t × 2.0 = 20, coal before natural_gas
        assert [(x["item"], x["co2"]) for x in got["lines"]] == [
            ("coal", 25.0),
            ("natural_gas", 20.0),
        ]
        assert explain.carbon_lineage(s, _run(snap), 9, YEAR) is None  # no result of firm 9
        assert explain.carbon_lineage(s, _run(snap), 7, YEAR - 1) is None  # nor of 2024
        assert explain.carbon_lineage(s, _run(tmp_path / "gone"), 7, YEAR) is None
        # the later questions were answered from the cache: one read of the snapshot
        assert reads == [snap]
        # a caller changing its copy does not change the next answer
        got["lines"][0]["co2"] = -1.0
        again = explain.carbon_lineage(s, _run(snap), 7, YEAR)
        assert again is not None and again["lines"][0]["co2"] == 25.0
        assert reads == [snap]


def test_a_rewritten_snapshot_file_is_read_again(
    sqlite_engine: Engine, tmp_path: Path, reads: list[Path]
) -> None:
    snap = _write(tmp_path / "snap", 2, [("coal", 10.0, 2.5)])
    with Session(sqlite_engine) as s:
        first = explain.carbon_lineage(s, _run(snap), 7, YEAR)
        assert first is not None and first["grade"] == 2
        _write(snap, 4, [("coal", 10.0, 2.5), ("diesel", 1.0, 3.0)])
        stat = (snap / "result_carbon.parquet").stat()
        # a later modification time even where the clock's step is coarse
        later = stat.st_mtime_ns + 2_000_000_000
        for name in ("result_carbon.parquet", "result_carbon_lines.parquet"):
            os.utime(snap / name, ns=(later, later))
        second = explain.carbon_lineage(s, _run(snap), 7, YEAR)
        assert second is not None and second["grade"] == 4
        assert [x["item"] for x in second["lines"]] == ["coal", "diesel"]
        assert reads == [snap, snap]


def test_a_new_run_reads_its_own_snapshot(
    sqlite_engine: Engine, tmp_path: Path, reads: list[Path]
) -> None:
    old = _write(tmp_path / "mujun-1", 2, [("coal", 10.0, 2.5)])
    new = _write(tmp_path / "mujun-2", 3, [("natural_gas", 4.0, 2.0)])
    with Session(sqlite_engine) as s:
        a = explain.carbon_lineage(s, _run(old), 7, YEAR)
        b = explain.carbon_lineage(s, _run(new), 7, YEAR)
        a2 = explain.carbon_lineage(s, _run(old), 7, YEAR)
    assert a is not None and b is not None and a2 is not None
    assert (a["grade"], [x["co2"] for x in a["lines"]]) == (2, [25.0])
    assert (b["grade"], [x["co2"] for x in b["lines"]]) == (3, [8.0])
    assert a2 == a
    assert reads == [old, new]
