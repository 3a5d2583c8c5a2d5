"""A Taizhou deployment (IB_JURISDICTION=331000): firms of 黄岩区 are imported from department
files through the real ingest path and evaluated with Huangyan's own published 2021 parameters
(``mujun.331003.yaml``, county → city → province → base).

Huangyan 2021 data year [V]: weights 亩均税收 30, 亩均增加值 20, 单位能耗增加值 20, 单位排放增加值
10, 全员劳动生产率 10, R&D 占比 10; benchmarks 26.01 万元/亩, 132.27 万元/亩, 2.54 万元/tce,
4861.08 万元/t, 17.45 万元/人, 0.0305. Item score = value ÷ benchmark × weight.

E1 — land 10 亩, tax 300, value added 1500, energy 500 tce, COD 0.375 t, 75 staff, R&D 25 of
revenue 1000:
    30 / 26.01 × 30 = 34.6021; 150 / 132.27 × 20 = 22.6809; 3.0 / 2.54 × 20 = 23.6220;
    4000 / 4861.08 × 10 = 8.2286; 20 / 17.45 × 10 = 11.4613; 0.025 / 0.0305 × 10 = 8.1967
    → 108.79
E2 — land 10, tax 150, value added 750, energy 500, COD 0.375, 75 staff, no R&D:
    15 / 26.01 × 30 = 17.3010; 75 / 132.27 × 20 = 11.3405; 1.5 / 2.54 × 20 = 11.8110;
    2000 / 4861.08 × 10 = 4.1143; 10 / 17.45 × 10 = 5.7307; 0 → 50.30
Quota classes (n = 2): A places floor(0.2 × 2 + 0.5) = 0, A+B floor(0.6 × 2 + 0.5) = 1,
A+B+C floor(0.95 × 2 + 0.5) = 2 → E1 B, E2 C.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core import uscc as uscc_core
from industry_brain.domains.mujun.service import run
from industry_brain.ingest import import_file
from industry_brain.store.models import Enterprise

E1, E2 = (uscc_core.make(f"91331003MA2CH{k:04d}") for k in (1, 2))


def r2(x: float) -> float:
    return math.floor(x * 100 + 0.5) / 100


E1_SCORE = r2(
    30 / 26.01 * 30 + 150 / 132.27 * 20 + 3.0 / 2.54 * 20 + 4000 / 4861.08 * 10
    + 20 / 17.45 * 10 + 0.025 / 0.0305 * 10
)  # fmt: skip
E2_SCORE = r2(
    15 / 26.01 * 30 + 75 / 132.27 * 20 + 1.5 / 2.54 * 20 + 2000 / 4861.08 * 10 + 10 / 17.45 * 10
)


def _csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", "utf-8-sig")
    return path


def test_huangyan_published_benchmarks_through_import_and_evaluation(
    engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IB_JURISDICTION", "331000")  # 台州市
    files = {
        "registration": [
            "统一社会信用代码,企业名称,所属区县,乡镇街道,行业代码",
            f"{E1},台州黄岩甲模具有限公司,台州市黄岩区,新前街道,3525",
            f"{E2},台州黄岩乙塑料有限公司,331003,北城街道,C2929",
        ],
        "stats_annual": [
            "统一社会信用代码,年份,工业增加值,营业收入,从业人员年平均人数,R&D经费支出,应交税金,规上标志",
            f"{E1},2020,1400,900,70,20,280,是",
            f"{E2},2020,700,500,70,0,140,是",
            f"{E1},2021,1500,1000,75,25,300,是",
            f"{E2},2021,750,600,75,0,150,是",
        ],
        "energy": [
            "统一社会信用代码,年份,综合能耗",
            f"{E1},2021,500",
            f"{E2},2021,500",
        ],
        "emissions": [
            "统一社会信用代码,年份,化学需氧量",
            f"{E1},2021,0.375",
            f"{E2},2021,0.375",
        ],
        "land": [
            "宗地编号,权利人,统一社会信用代码,用地面积（亩）,出让/租赁",
            f"HY-001,台州黄岩甲模具有限公司,{E1},10,出让",
            f"HY-002,台州黄岩乙塑料有限公司,{E2},10,出让",
        ],
    }
    for kind, lines in files.items():
        year = 2021 if kind == "land" else None  # the land file has no year column
        r = import_file(kind, _csv(tmp_path / f"{kind}.csv", lines), engine=engine, year=year)
        assert r.status == "committed", (kind, [p.to_dict() for p in r.problems])
    with Session(engine) as s:
        towns = dict(s.execute(select(Enterprise.uscc, Enterprise.town_code)).all())
    assert towns == {E1: "331003005", E2: "331003004"}  # 新前街道, 北城街道

    _outcome, ev = run(engine, 2021, snapshot_root=tmp_path / "snapshots")
    res = ev.results.set_index("uscc")
    assert res.loc[E1, "county_code"] == "331003"
    assert res.loc[E1, "score"] == pytest.approx(E1_SCORE) == 108.79
    assert res.loc[E2, "score"] == pytest.approx(E2_SCORE) == 50.30
    assert (res.loc[E1, "class_code"], res.loc[E2, "class_code"]) == ("B", "C")
