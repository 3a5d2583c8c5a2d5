"""亩均 runs in the store on SQLite and PostgreSQL: a run records its parameter version and
input batches, publishing supersedes the previous run, appeals write audited corrected facts
and produce a new published run, bonus/penalty/veto records take effect and can be revoked."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.domains.mujun import adjustments, appeals, service
from industry_brain.domains.mujun.explain import explain
from industry_brain.domains.mujun.models import MujunResult, MujunResultItem, MujunRun
from industry_brain.domains.mujun.rules import MujunError
from industry_brain.store.models import AuditLog, Enterprise, EnterpriseScale, Fact, ImportBatch

COUNTY = "330502"
# uscc → (规上?, land 亩, tax 万元, value added, energy tce, staff, R&D, revenue, kWh)
FIRMS = {
    "91330502MA2B3C4D1U": (True, 20.0, 400.0, 2000.0, 800.0, 100, 60.0, 3000.0, 4e6),
    "9133050200000000AR": (True, 10.0, 150.0, 900.0, 500.0, 60, 20.0, 2500.0, 2e6),
    "9133050200000000BW": (True, 8.0, 60.0, 300.0, 400.0, 50, 0.0, 2100.0, 3e6),
    "9133050200000000C0": (False, 6.0, 30.0, 150.0, None, 12, 0.0, 800.0, 9e5),
    "9133050200000000D3": (False, 4.0, 10.0, 60.0, None, 8, 0.0, 400.0, 6e5),
}
ITEMS = (
    "land_area",
    "tax_paid",
    "value_added",
    "energy_total",
    "employees",
    "rd_expense",
    "revenue",
    "electricity",
)
UNITS = {"land_area": "亩", "electricity": "千瓦时", "energy_total": "吨标准煤", "employees": "人"}


def _load(engine: Engine) -> dict[str, int]:
    """Five firms, 2024 and 2025 figures (2024 = 90 % of 2025), in one import batch."""
    with Session(engine) as s:
        batch = ImportBatch(
            kind="stats_annual",
            department="statistics",
            file_name="统计年报.csv",
            file_hash="x" * 64,
            status="committed",
            options={},
            summary={},
        )
        s.add(batch)
        s.flush()
        ids = {}
        for k, (uscc, (above, *values)) in enumerate(FIRMS.items(), 1):
            ent = Enterprise(
                uscc=uscc, name=f"湖州测试{k}有限公司", county_code=COUNTY, industry_code="1751"
            )
            s.add(ent)
            s.flush()
            ids[uscc] = ent.id
            for year, share in ((2024, 0.9), (2025, 1.0)):
                s.add(EnterpriseScale(enterprise_id=ent.id, year=year, above_scale=above))
                for row, (item, value) in enumerate(zip(ITEMS, values, strict=True), 2):
                    if value is None:
                        continue
                    scaled = value if item == "land_area" else value * share
                    s.add(
                        Fact(
                            enterprise_id=ent.id,
                            year=year,
                            item=item,
                            value=scaled,
                            unit=UNITS.get(item, "万元"),
                            source_dept="tax" if item == "tax_paid" else "statistics",
                            batch_id=batch.id,
                            sheet=None,
                            row=row,
                            column=item,
                        )
                    )
            s.add(
                Fact(
                    enterprise_id=ent.id,
                    year=2023,
                    item="revenue",
                    value=100.0,
                    unit="万元",
                    source_dept="statistics",
                    batch_id=batch.id,
                )
            )
        s.commit()
        ids["batch"] = batch.id
    return ids


def test_run_appeal_and_history(engine: Engine, tmp_path) -> None:
    ids = _load(engine)
    a = "91330502MA2B3C4D1U"
    first, ev = service.run(engine, 2025, actor="test", snapshot_root=tmp_path)
    assert first.n_results == 5 and ev.engine == "duckdb"
    with Session(engine) as s:
        run = s.get(MujunRun, first.run_id)
        assert run.status == "published" and run.kind == "evaluation"
        assert run.input_batch_ids == [ids["batch"]]
        assert run.parameter_version == ev.rules.version and run.parameters["330502"]
        items = s.scalars(select(MujunResultItem).where(MujunResultItem.run_id == run.id)).all()
        # 规上 seven indicators (six plus va_per_co2, Huzhou override mujun.330500), 规下 two
        assert len(items) == 3 * 7 + 2 * 2
        res = s.scalars(
            select(MujunResult).where(
                MujunResult.run_id == run.id, MujunResult.enterprise_id == ids[a]
            )
        ).one()
        assert res.tax == pytest.approx(400.0) and res.class_code in "ABCD"
        # a 规下 firm of 4 亩 (≥ the 3 亩 minimum) is evaluated; energy is not a 规下 input
        assert s.scalar(
            select(MujunResult.evaluated).where(
                MujunResult.run_id == run.id, MujunResult.uscc == "9133050200000000D3"
            )
        )
        assert s.scalars(select(AuditLog).where(AuditLog.action == "mujun.evaluate")).all()

        # the enterprise disputes its tax; the officer accepts 500 万元
        appeal = appeals.file(s, a, 2025, "tax", "含 2024 年补缴税款", "enterprise", 500.0)
        s.commit()
        appeal_id = appeal.id
        assert appeal.disputed_value == pytest.approx(400.0) and appeal.run_id == run.id
        appeals.decide(s, appeal.id, True, "核实完税证明", "officer_wx")
        s.commit()
        new_fact = s.get(Fact, appeal.fact_id)
        assert (new_fact.value, new_fact.source_dept, new_fact.month) == (500.0, "appeal", 0)
        # its batch records where its one fact lies (a snapshot refresh reads it by id)
        assert s.get(ImportBatch, new_fact.batch_id).summary["fact_id_range"] == [
            new_fact.id,
            new_fact.id,
        ]
        assert s.get(ImportBatch, new_fact.batch_id).summary["fact_years"] == [2025]
        old = s.get(Fact, appeal.superseded_fact_ids[0])
        assert old.superseded_by == new_fact.id and "异议 #" in old.reason
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "mujun.appeal.accept")).one()
        assert audit.detail["new_value"] == 500.0 and audit.actor == "officer_wx"
        with pytest.raises(MujunError) as info:
            appeals.decide(s, appeal.id, False, "again", "officer_wx")
        assert info.value.code == "mujun.appeal_decided"

    second = appeals.reevaluate(engine, 2025, [appeal_id], actor="officer_wx")
    with Session(engine) as s:
        runs = s.scalars(select(MujunRun).order_by(MujunRun.id)).all()
        assert [(r.status, r.kind) for r in runs] == [
            ("superseded", "evaluation"),
            ("published", "appeal"),
        ]
        assert runs[1].parent_run_id == runs[0].id and "#" in runs[1].note
        assert service.published_run(s, 2025).id == second.run_id
        new = s.scalars(
            select(MujunResult).where(
                MujunResult.run_id == second.run_id, MujunResult.enterprise_id == ids[a]
            )
        ).one()
        assert new.tax == pytest.approx(500.0)
        # the old run keeps the old figure (history)
        old_res = s.scalars(
            select(MujunResult).where(
                MujunResult.run_id == first.run_id, MujunResult.enterprise_id == ids[a]
            )
        ).one()
        assert old_res.tax == pytest.approx(400.0)
        text = explain(s, a, 2025)["text"]
        # lineage of the tax now names the appeal's batch; the old figure shows as superseded
        assert f"异议更正 异议#{appeal_id}" in text and "已被更正" in text
        assert "六、异议" in text and "accepted" in text
        assert s.get(appeals.MujunAppeal, appeal_id).new_run_id == second.run_id

        # a rejected appeal changes nothing
        other = appeals.file(s, "9133050200000000AR", 2025, "land_area", "面积有误", "ent", 8.0)
        appeals.decide(s, other.id, False, "与不动产登记一致", "officer_wx")
        s.commit()
        assert other.status == "rejected" and other.fact_id is None


def test_adjustments_veto_and_revoke(engine: Engine, tmp_path) -> None:
    _load(engine)
    b = "9133050200000000AR"
    with Session(engine) as s:
        veto = adjustments.add(s, b, 2025, "major_accident", "test", source="湖应急罚〔2025〕3号")
        adjustments.add(s, b, 2025, "high_tech", "test")
        with pytest.raises(MujunError) as info:
            adjustments.add(s, b, 2025, "no_such_item", "test")
        assert info.value.code == "mujun.adjustment_code" and "未知" in info.value.zh
        s.commit()
        veto_id = veto.id
    run, ev = service.run(engine, 2025, snapshot_root=tmp_path)
    row = ev.results.set_index("uscc").loc[b]
    assert row["veto"] and row["class_code"] == "D" and row["bonus"] == 3.0
    with Session(engine) as s:  # the stored codes read back as lists, none as []
        stored_frame = service.results_frame(s, run.run_id).set_index("uscc")
        stored = stored_frame["adjustment_codes"]
    # the flags as booleans on both stores (SQLite's driver gives 0 and 1)
    assert stored_frame["veto"].dtype == bool and stored_frame["evaluated"].dtype == bool
    assert bool(stored_frame.loc[b, "veto"]) and not stored_frame.drop(index=b)["veto"].any()
    assert stored[b] == ["high_tech", "major_accident"]
    assert all(codes == [] for uscc, codes in stored.items() if uscc != b)
    assert row["rank_county"] == row["n_county"]  # a vetoed firm ranks last
    with Session(engine) as s:
        assert [r["code"] for r in adjustments.listing(s, 2025)] == ["major_accident", "high_tech"]
        adjustments.revoke(s, veto_id, "test", "处罚已撤销")
        s.commit()
    _, ev = service.run(engine, 2025, snapshot_root=tmp_path)
    row = ev.results.set_index("uscc").loc[b]
    assert not row["veto"] and row["class_code"] != "T"


def test_adjustments_file_is_checked_whole_and_looked_up_in_slices(
    engine: Engine, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An adjustments file (CSV, Chinese headers) is rejected whole when a row names an
    unknown firm, and loads every row otherwise; firms are looked up a slice at a time (a file
    may list a province: one IN list of them would pass the drivers' parameter limits)."""
    from industry_brain.domains.mujun.models import MujunAdjustment
    from industry_brain.store import db

    monkeypatch.setattr(db, "IN_CHUNK", 1)  # one USCC per lookup
    ids = _load(engine)
    a, b = sorted(ids)[:2]
    header = "统一社会信用代码,年度,项目代码,说明,来源\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(header + f"{a},2025,high_tech,,\n91330502MA0000000X,2025,high_tech,,\n")
    with Session(engine) as s, pytest.raises(MujunError) as info:
        adjustments.import_file(s, bad, "test")
    assert info.value.code == "mujun.file_rows" and info.value.location.row == 3
    assert "unknown USCC 91330502MA0000000X" in info.value.en
    good = tmp_path / "good.csv"
    good.write_text(header + f"{a},2025,high_tech,高企,\n{b},2025,major_accident,,罚〔2025〕1号\n")
    with Session(engine) as s:
        assert adjustments.import_file(s, good, "test") == {"file": "good.csv", "imported": 2}
        s.commit()
        got = {
            (r.enterprise_id, r.code, r.note, r.source) for r in s.scalars(select(MujunAdjustment))
        }
    assert got == {
        (ids[a], "high_tech", "高企", None),
        (ids[b], "major_accident", None, "罚〔2025〕1号"),
    }


def test_items_of_many_enterprises_read_in_slices_in_stored_order(
    engine: Engine, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A province's county sheet asks for more firms' items than one IN list may bind: read a
    slice of enterprises at a time (here two), the rows are those of the whole run's read, in
    the same stored order (the 500,000-firm main job failed here before)."""
    from industry_brain.store import db

    _load(engine)
    run, _ = service.run(engine, 2025, snapshot_root=tmp_path)
    with Session(engine) as s:
        whole = service.items_of(s, run.run_id)
        ids = sorted(set(whole["enterprise_id"]))[::-1][:3]  # any order, duplicates ignored
        monkeypatch.setattr(db, "IN_CHUNK", 2)
        some = service.items_of(s, run.run_id, [*ids, ids[0]])
    expected = whole[whole["enterprise_id"].isin(ids)].reset_index(drop=True)
    assert len(expected) > 3
    pd.testing.assert_frame_equal(some, expected)


def test_migration_0012_keeps_one_open_appeal_per_figure(engine: Engine) -> None:
    """A store from before 0012 with two open appeals on one figure: the upgrade keeps the
    earliest open, closes the later as rejected with a reason naming it, and builds the index
    that refuses a third."""
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from industry_brain.domains.mujun.models import MujunAppeal
    from industry_brain.store import migrate

    ids = _load(engine)
    migrate.downgrade(engine, "0012-1")  # undo only this migration
    row = {
        "enterprise_id": next(iter(ids.values())),
        "year": 2025,
        "item": "tax_paid",
        "statement": "s",
        "filed_by": "ent",
        "superseded_fact_ids": [],
    }
    with engine.begin() as conn:
        for status in ("open", "open", "rejected", "open"):
            conn.execute(insert(MujunAppeal).values(**row, status=status))
        conn.execute(insert(MujunAppeal).values(**{**row, "item": "land_area"}, status="open"))
    migrate.upgrade(engine)
    with Session(engine) as s:
        got = s.execute(
            select(
                MujunAppeal.id, MujunAppeal.item, MujunAppeal.status, MujunAppeal.decision_reason
            ).order_by(MujunAppeal.id)
        ).all()
    first = got[0].id
    assert [(r.item, r.status) for r in got] == [
        ("tax_paid", "open"),
        ("tax_paid", "rejected"),
        ("tax_paid", "rejected"),
        ("tax_paid", "rejected"),
        ("land_area", "open"),
    ]
    assert f"#{first}" in got[1].decision_reason and f"#{first}" in got[3].decision_reason
    assert got[2].decision_reason is None  # a decided appeal is left as it was
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(MujunAppeal).values(**row, status="open"))
