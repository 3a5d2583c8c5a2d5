"""亩均 industry peers at any GB/T 4754 level (``mujun.industry_level``: division, group or class).

Four 规上 firms of one county (331004, the golden test's fixed 2022 benchmarks), all in division 30,
whose six indicators are exactly r × benchmark, so the score is r × 100 (test_mujun_golden.py):

| firm | class | r    | score  | rank in division 30 | rank in its group |
|------|-------|------|--------|---------------------|-------------------|
| G1   | 3011  | 1.2  | 120.00 | 1 of 4              | 1 of 2 (301)      |
| G2   | 3012  | 1.0  | 100.00 | 2 of 4              | 2 of 2 (301)      |
| G3   | 3021  | 0.9  |  90.00 | 3 of 4              | 1 of 2 (302)      |
| G4   | 3021  | 0.8  |  80.00 | 4 of 4              | 2 of 2 (302)      |
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from industry_brain.core import parameters
from industry_brain.domains.mujun.service import evaluate_snapshot
from tests.test_mujun_golden import TEST_OVERRIDE, YEAR, _scaled_firm

FIRMS = {"G1": ("3011", 1.2), "G2": ("3012", 1.0), "G3": ("3021", 0.9), "G4": ("3021", 0.8)}
LEVEL = """
industry_level:
  values:
    - since: 2018-01-01
      value: {level}
"""


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mujun-level")
    ents, scales, facts = [], [], []
    for i, (key, (cls, r)) in enumerate(FIRMS.items(), 1):
        ents.append(
            {
                "enterprise_id": i, "uscc": f"91331004{key}00000000"[:18], "name": key,
                "county_code": "331004", "industry_code": cls, "status": "存续",
                "division": cls[:2],
            }
        )  # fmt: skip
        scales.append({"enterprise_id": i, "year": YEAR, "above_scale": True})
        for item, value in _scaled_firm(r).items():
            facts.append(
                {"enterprise_id": i, "year": YEAR, "item": item, "value": float(value),
                 "unit": "", "source_dept": "test"}
            )  # fmt: skip
        facts.append(
            {"enterprise_id": i, "year": YEAR - 1, "item": "revenue", "value": 100.0,
             "unit": "万元", "source_dept": "test"}
        )  # fmt: skip
    pd.DataFrame(ents).to_parquet(out / "enterprises.parquet", index=False)
    pd.DataFrame(scales).to_parquet(out / "scales.parquet", index=False)
    pd.DataFrame(facts).to_parquet(out / "facts.parquet", index=False)
    return out


def _ranks(snapshot: Path, tmp_path: Path, level: str, engine: str) -> dict[str, tuple]:
    (tmp_path / "mujun.331004.yaml").write_text(TEST_OVERRIDE, "utf-8")
    (tmp_path / "mujun.331000.yaml").write_text(LEVEL.format(level=level), "utf-8")
    params = parameters.load_dirs([*parameters.default_dirs(), tmp_path])
    ev = evaluate_snapshot(snapshot, YEAR, engine, None, params)
    res = ev.results.set_index("name")
    return {
        k: (round(float(res.loc[k, "score"]), 2), int(res.loc[k, "rank_industry"]),
            int(res.loc[k, "n_industry"]))
        for k in FIRMS
    }  # fmt: skip


@pytest.mark.parametrize("engine", ["duckdb", "pyspark"])
def test_industry_peers_by_group_and_by_division(
    snapshot: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    monkeypatch.setenv("IB_JURISDICTION", "331000")  # 台州市: the level is the jurisdiction's
    by_group = _ranks(snapshot, tmp_path, "group", engine)
    assert by_group == {
        "G1": (120.0, 1, 2), "G2": (100.0, 2, 2), "G3": (90.0, 1, 2), "G4": (80.0, 2, 2),
    }  # fmt: skip
    by_division = _ranks(snapshot, tmp_path, "division", engine)
    assert by_division == {
        "G1": (120.0, 1, 4), "G2": (100.0, 2, 4), "G3": (90.0, 3, 4), "G4": (80.0, 4, 4),
    }  # fmt: skip
