"""Policy results as a warehouse table: after a batch run, a snapshot holds ``result_policy``
(run id, parameter version, year, enterprise, policy, entity, three-valued eligible, amount,
paid) with the run in its manifest and the same totals as the run. Store: the web fixtures
(three enterprises, 2024) plus 甲's R&D 300 of revenue 4,000 万元 (R&D award: 7.5 % ≥ 5 %,
300 × 5 % = 15 万元); 丙 (规上, no figures) cannot be told; 乙 (not 规上) is not eligible."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.domains.policy import service
from industry_brain.store.models import Enterprise, Fact, ImportBatch
from industry_brain.warehouse import Snapshot, build_snapshot, connect
from tests.web_fixtures import USCC_NX, USCC_WX, USCC_XSS, seed


def _store(engine: Engine) -> dict[str, int]:
    seed(engine)
    with Session(engine) as s:
        ents = {e.uscc: e.id for e in s.scalars(select(Enterprise))}
        batch = s.scalars(select(ImportBatch)).first()
        assert batch is not None
        for row, (item, value) in enumerate((("rd_expense", 300.0), ("revenue", 4000.0)), 50):
            s.add(
                Fact(
                    enterprise_id=ents[USCC_WX],
                    year=2024,
                    month=0,
                    item=item,
                    detail="",
                    value=value,
                    unit="万元",
                    source_dept="statistics",
                    batch_id=batch.id,
                    sheet="Sheet1",
                    row=row,
                    column=item,
                    raw_value=str(value),
                )
            )
        s.commit()
    return ents


def test_a_snapshot_holds_the_policy_run_with_its_totals(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    ents = _store(sqlite_engine)
    run_id, ev = service.run(sqlite_engine, year=2024, root=tmp_path / "snapshots", fresh=True)
    snap = build_snapshot(sqlite_engine, tmp_path / "after")
    assert {"service": "policy", "run_id": run_id, "table": "result_policy"}.items() <= next(
        r for r in snap.runs if r["table"] == "result_policy"
    ).items()
    assert Snapshot.open(snap.path).runs_of("result_policy")[0]["run_id"] == run_id
    con = connect(snap.path, "duckdb", tables=("result_policy",))
    t = con.table("result_policy")
    assert list(t.columns) == [
        "run_id",
        "parameter_version",
        "year",
        "enterprise_id",
        "policy_id",
        "entity",
        "county_code",
        "status",
        "eligible",
        "amount",
        "paid",
    ]
    frame = con.to_pyarrow(t).to_pandas()
    assert set(frame["run_id"]) == {run_id} and set(frame["year"]) == {2024}
    award = frame[(frame["policy_id"] == "rd_intensity_award")].set_index("enterprise_id")
    assert award.loc[ents[USCC_WX], "eligible"] == "true"
    assert award.loc[ents[USCC_WX], "amount"] == pytest.approx(15.0)
    assert award.loc[ents[USCC_WX], "paid"] == pytest.approx(15.0)
    assert award.loc[ents[USCC_XSS], "eligible"] == "unknown"
    assert award.loc[ents[USCC_XSS], "paid"] != award.loc[ents[USCC_XSS], "paid"]  # NaN: unpaid
    assert ents[USCC_NX] not in award.index  # not eligible: a run keeps candidates only
    # the same totals as the run: paid, beneficiaries, rows per status
    totals = ev.totals()
    paid = frame[frame["eligible"] == "true"]["paid"].fillna(0.0)
    assert round(float(paid.sum()), 4) == totals["total"] == pytest.approx(15.0)
    assert frame["eligible"].eq("unknown").sum() == totals["unknown"]
    assert frame.loc[paid[paid > 0].index, "enterprise_id"].nunique() == totals["beneficiaries"]
    assert set(frame["eligible"]) <= {"true", "unknown"}
