"""碳效 peers by GB/T 4754 group (``carbon.industry_level: group``), now that the reference table
has every group: peers and K values change with the level, and the group is named.

Four 规上 firms of 吴兴区 (330502) in 2025, electricity only (华东 grid 0.5500 tCO2/MWh):

| firm | class | kWh       | CO2 t | value added 万元 | L = CO2 / VA |
|------|-------|-----------|-------|------------------|--------------|
| P    | 3011  | 1,000,000 |   550 | 1000             | 0.55         |
| Q    | 3012  | 2,000,000 |  1100 | 1000             | 1.10         |
| R    | 3021  | 1,000,000 |   550 |  500             | 1.10         |
| S    | 3021  | 3,000,000 |  1650 |  500             | 3.30         |

By group: 301 average (550 + 1100) / 2000 = 0.825 → K_P = 0.6667, K_Q = 1.3333;
302 average (550 + 1650) / 1000 = 2.2 → K_R = 0.5, K_S = 1.5.
By division 30: average 3850 / 3000 = 1.283333 → K_P = 0.4286, K_S = 2.5714.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core import uscc as uscc_mod
from industry_brain.domains.carbon.accounting import adjustments_frame, compute
from industry_brain.domains.carbon.rules import load_rules
from industry_brain.store import migrate
from industry_brain.store.db import make_engine
from industry_brain.store.models import Enterprise, EnterpriseScale, Fact, ImportBatch, Industry
from industry_brain.warehouse import build_snapshot, connect

YEAR = 2025
FIRMS = {
    "P": ("3011", 1_000_000, 1000),
    "Q": ("3012", 2_000_000, 1000),
    "R": ("3021", 1_000_000, 500),
    "S": ("3021", 3_000_000, 500),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("carbon-group")
    engine = make_engine(f"sqlite:///{tmp / 'store.sqlite'}")
    migrate.upgrade(engine)
    with Session(engine) as s:
        batch = ImportBatch(
            kind="stats_annual", department="statistics", file_name="hand.xlsx",
            file_hash="1" * 64, status="committed", year=YEAR,
        )  # fmt: skip
        s.add(batch)
        s.flush()
        for n, (key, (cls, kwh, va)) in enumerate(FIRMS.items(), start=1):
            ent = Enterprise(
                uscc=uscc_mod.make(f"91330502MA2CG{n:04d}"),
                name=f"分组测试企业{key}",
                county_code="330502",
                industry_code=cls,
            )
            s.add(ent)
            s.flush()
            s.add(EnterpriseScale(enterprise_id=ent.id, year=YEAR, above_scale=True))
            for item, value, unit, dept in (
                ("electricity", kwh, "千瓦时", "power_grid"),
                ("value_added", va, "万元", "statistics"),
            ):
                s.add(
                    Fact(
                        enterprise_id=ent.id, year=YEAR, month=0, item=item, detail="",
                        value=float(value), unit=unit, source_dept=dept, batch_id=batch.id,
                        row=n + 1,
                    )
                )  # fmt: skip
        s.commit()
        names = {e.id: e.name[-1] for e in s.query(Enterprise)}
    snap = build_snapshot(engine, tmp / "snapshot")
    yield snap.path, names, engine
    engine.dispose()


def _results(store: Any, level: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    (tmp_path / "carbon.330502.yaml").write_text(
        textwrap.dedent(
            f"""
            industry_level:
              values:
                - since: 2024-01-01
                  value: {level}
            """
        ),
        "utf-8",
    )
    monkeypatch.setenv("IB_PARAMETERS_DIR", str(tmp_path))
    parameters._cached.cache_clear()
    snap, names, _ = store
    res, _lines = compute(
        connect(snap, "duckdb"), load_rules(YEAR, ["330502"]), adjustments_frame([])
    )
    return res.assign(key=res["enterprise_id"].map(names)).set_index("key")


def test_peers_by_group(store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = _results(store, "group", tmp_path, monkeypatch)
    assert res.loc[["P", "Q", "R", "S"], "industry_key"].tolist() == ["301", "301", "302", "302"]
    assert res.loc["P", "intensity"] == pytest.approx(0.55)
    assert res.loc["P", "k_value"] == pytest.approx(0.6667, abs=1e-4)
    assert res.loc["Q", "k_value"] == pytest.approx(1.3333, abs=1e-4)
    assert res.loc["R", "k_value"] == pytest.approx(0.5, abs=1e-4)
    assert res.loc["S", "k_value"] == pytest.approx(1.5, abs=1e-4)
    assert set(res["industry_peers"]) == {2}
    # the explanation names the peer group from the reference table
    with Session(store[2]) as s:
        assert s.get(Industry, "301").name == "水泥、石灰和石膏制造"


def test_peers_by_division(store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = _results(store, "division", tmp_path, monkeypatch)
    assert set(res["industry_key"]) == {"30"}
    assert res.loc["P", "k_value"] == pytest.approx(0.4286, abs=1e-4)
    assert res.loc["S", "k_value"] == pytest.approx(2.5714, abs=1e-4)
    assert set(res["industry_peers"]) == {4}
