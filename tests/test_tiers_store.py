"""五企培育 with the store (SQLite and PostgreSQL): declaration → verification → tier, evidence
handling, official lists with lineage, validity and warnings, plan progress and overdue warnings
on a frozen clock, the plan PDF, result_tiers in the warehouse snapshot."""

from __future__ import annotations

import contextlib
import gc
import re
import weakref
import zlib
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.domains.tiers import declarations as decl
from industry_brain.domains.tiers import documents, plans, publish, service, titles
from industry_brain.domains.tiers.models import TiersDeclarationItem, TiersTitle
from industry_brain.store import facts as fact_store
from industry_brain.store.models import Enterprise, Fact, ImportBatch
from industry_brain.warehouse.snapshot import build_snapshot
from tests.web_fixtures import USCC_NX, USCC_WX, seed

PDF = b"%PDF-1.4\n% test evidence\n"
FULL = {"ip_class1_high_value": 1, "debt_ratio": 0.5, "strategic_emerging": 1,
        "main_business_share": 0.8}  # fmt: skip


@pytest.fixture
def store(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The web fixtures' store plus 湖州甲's revenue (2023: 1000, 2024: 1150 万元), R&D (2024:
    57.5 万元 = 5 %) and staff (50): growth 15 % → 20 points, R&D 5 % → 20 points."""
    monkeypatch.setenv("IB_DATA_DIR", str(tmp_path / "data"))
    seed(engine)
    with Session(engine) as s:
        batch = s.scalars(select(ImportBatch)).first()
        wx = s.scalars(select(Enterprise).where(Enterprise.uscc == USCC_WX)).one()
        for year, item, value, unit in (
            (2023, "revenue", 1000.0, "万元"),
            (2024, "revenue", 1150.0, "万元"),
            (2024, "rd_expense", 57.5, "万元"),
            (2024, "employees", 50.0, "人"),
        ):
            s.add(Fact(enterprise_id=wx.id, year=year, month=0, item=item, detail="", value=value,
                       unit=unit, source_dept="statistics", batch_id=batch.id))  # fmt: skip
        s.commit()
    return engine


def _inflated(pdf: bytes) -> bytes:
    """The PDF with its compressed streams inflated (font names sit in object streams)."""
    parts = [pdf]
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        with contextlib.suppress(zlib.error):
            parts.append(zlib.decompress(m.group(1)))
    return b"".join(parts)


def _wx(s: Session) -> Enterprise:
    return s.scalars(select(Enterprise).where(Enterprise.uscc == USCC_WX)).one()


def _status(engine: Engine, tmp_path: Path, scheme: str = "innovative_sme") -> tuple:
    run, ev = service.run(engine, 2024, snapshot_root=tmp_path / "snaps")
    with Session(engine) as s:
        eid = _wx(s).id
    r = ev.results[(ev.results.enterprise_id == eid) & (ev.results.scheme == scheme)].iloc[0]
    lv = ev.levels[ev.levels.enterprise_id == eid].iloc[0]
    return run, r["status"], lv["tier"], lv["status"]


def test_declaration_verification_gives_the_tier(store: Engine, tmp_path: Path) -> None:
    with Session(store) as s:
        evidence = {k: decl.Evidence(f"{k}.pdf", PDF + k.encode()) for k in FULL}
        d = decl.declare(s, _wx(s), 2024, FULL, evidence, actor="ent_wx")
        s.commit()
        decl_id = d.id
    # declared only: the points reach 100 on the enterprise's word → candidate, no tier
    _run1, status, tier, _ = _status(store, tmp_path)
    assert (status, tier) == ("candidate", None)
    with Session(store) as s:
        items = s.scalars(
            select(TiersDeclarationItem).where(TiersDeclarationItem.declaration_id == decl_id)
        ).all()
        with pytest.raises(service.TiersError) as exc:
            decl.decide(s, items[0].id, "city", accept=False, reason="  ")
        assert exc.value.code == "tiers.reason_required"
        # one figure rejected with a reason, the others verified
        for it in items:
            if it.item == "strategic_emerging":
                decl.decide(s, it.id, "city", accept=False, reason="不属于战略性新兴产业目录")
            else:
                decl.decide(s, it.id, "city", accept=True)
        s.commit()
        with pytest.raises(service.TiersError) as exc:
            decl.decide(s, items[0].id, "city", accept=True)
        assert exc.value.code == "tiers.item_decided"
    # verified: IP 20 + R&D 20 + growth 20 + debt 10 + share 20 = 90; the rejected field
    # counts as missing (at most +10): meets on verified figures → the tier
    run2, status, tier, lstatus = _status(store, tmp_path)
    assert (status, tier, lstatus) == ("meets", "innovative_sme", "meets")
    # result_tiers: the newest published run of the year only
    with Session(store) as s:
        frame, manifest = publish.read(s)
    assert manifest == [
        {
            "service": "tiers",
            "run_id": run2.id,
            "year": 2024,
            "parameter_version": run2.parameter_version,
        }
    ]
    assert list(frame.columns) == [c for c, _ in publish.SCHEMA]
    wx_row = frame[frame.enterprise_id == frame.enterprise_id.min()]
    assert set(frame["run_id"]) == {run2.id}
    assert wx_row["tier"].iloc[0] == "innovative_sme"
    # and the next warehouse snapshot carries it for the other services
    snap = build_snapshot(store, tmp_path / "after")
    table = pd.read_parquet(snap.path / "result_tiers.parquet")
    assert sorted(table["tier"].dropna()) == ["innovative_sme"]


def test_evidence_is_checked_and_kept_outside_the_web_root(store: Engine) -> None:
    with Session(store) as s:
        ent = _wx(s)
        with pytest.raises(service.TiersError) as exc:
            exe = decl.Evidence("x.pdf", b"MZ\x90\x00 not a pdf")
            decl.declare(s, ent, 2024, {"debt_ratio": 0.5}, {"debt_ratio": exe})
        assert exc.value.code == "tiers.evidence_type"
        big = PDF + b"0" * decl.max_bytes()
        with pytest.raises(service.TiersError) as exc:
            decl.declare(s, ent, 2024, {"debt_ratio": 0.5},
                         {"debt_ratio": decl.Evidence("big.pdf", big)})  # fmt: skip
        assert exc.value.code == "tiers.evidence_size"
        with pytest.raises(service.TiersError) as exc:
            decl.declare(s, ent, 2024, {"debt_ratio": 1.5})
        assert exc.value.code == "tiers.bad_value"
        d = decl.declare(s, ent, 2024, {"debt_ratio": 0.5, "niche_years": 4},
                         {"debt_ratio": decl.Evidence("../../etc/负债.pdf", PDF)})  # fmt: skip
        items = {i.item: i for i in decl.items_of(s, ent.id) if i.declaration_id == d.id}
        stored = decl.evidence_path(items["debt_ratio"])
        assert stored is not None and stored.read_bytes() == PDF
        assert stored.parent.name == "tiers_evidence" and "static" not in stored.parts
        assert items["debt_ratio"].evidence_name == "负债.pdf"
        assert items["debt_ratio"].evidence_type == "application/pdf"
        # a figure without evidence cannot be verified
        with pytest.raises(service.TiersError) as exc:
            decl.decide(s, items["niche_years"].id, "city", accept=True)
        assert exc.value.code == "tiers.evidence_required"


def test_xlsx_template_round_trip(store: Engine, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = decl.write_template(tmp_path / "模板.xlsx")
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    ws.delete_rows(2)
    ws.append([USCC_WX, 2024, "niche_years", 5, ""])
    ws.append([USCC_WX, 2024, "debt_ratio", 0.4, ""])
    ws.append([USCC_NX, 2024, "equity_2y", 2500, ""])
    wb.save(path)
    with Session(store) as s:
        out = decl.import_xlsx(s, path, "city")
        s.commit()
        assert (out["declarations"], out["items"], out["problems"]) == (2, 3, [])
        rows = s.scalars(select(TiersDeclarationItem).order_by(TiersDeclarationItem.id)).all()
        assert [(r.item, r.value, r.source_row, r.status) for r in rows] == [
            ("niche_years", 5.0, 2, "declared"),
            ("debt_ratio", 0.4, 3, "declared"),
            ("equity_2y", 2500.0, 4, "declared"),
        ]
    ws.append(["91330500MA2B3C4D5X", 2024, "debt_ratio", 0.4, ""])  # bad USCC check digit
    ws.append([USCC_WX, 2024, "no_such_item", 1, ""])
    wb.save(path)
    with Session(store) as s:
        out = decl.import_xlsx(s, path, "city")
        assert out["items"] == 0 and [p["row"] for p in out["problems"]] == [5, 6]


def test_official_list_lineage_validity_and_warnings(store: Engine, tmp_path: Path) -> None:
    path = tmp_path / "名单.csv"
    path.write_text(
        "统一社会信用代码,企业名称,梯度,年度,批次\n"
        f"{USCC_WX},湖州甲机械有限公司,专精特新“小巨人”,2024,第六批\n"
        f"{USCC_NX},湖州乙纺织有限公司,专精特新中小企业,2021,2021年\n"
        "91330000MA00000000,名单外企业,高新技术企业,2024,2024年\n"
        f"{USCC_NX},湖州乙纺织有限公司,不存在的称号,2024,1\n",
        encoding="utf-8",
    )
    with Session(store) as s:
        out = titles.import_list(s, path, "city")
        s.commit()
        assert (out["titles"], out["already_known"]) == (2, 0)
        assert [p["row"] for p in out["problems"]] == [4, 5]  # bad USCC, unknown tier
        rows = {t.uscc: t for t in s.scalars(select(TiersTitle))}
        wx = rows[USCC_WX]
        assert (wx.tier, wx.year, wx.batch, wx.source_file, wx.source_row) == (
            "little_giant", 2024, "第六批", "名单.csv", 2)  # fmt: skip
        assert wx.valid_until == date(2026, 12, 31)  # 3 years from 1 January 2024
        assert wx.import_batch_id == out["batch_id"] and wx.enterprise_id is not None
        # the list's batch writes no facts, and says so (a snapshot's refresh reads none)
        summary = s.get(ImportBatch, out["batch_id"]).summary
        assert {k: summary[k] for k in fact_store.NO_FACTS} == fact_store.NO_FACTS
        assert rows[USCC_NX].valid_until == date(2023, 12, 31)
        assert titles.import_list(s, path, "city")["already_known"] == 2
        warned = titles.warnings(s, date(2026, 8, 1))
        assert [(w["uscc"], w["kind"], w["days_left"]) for w in warned] == [
            (USCC_NX, "expired", -944),
            (USCC_WX, "rereview", 152),
        ]
    # the list is the fact: 小巨人 recognised in 2024 is the tier, and new that year
    _, _, tier, lstatus = _status(store, tmp_path, "little_giant")
    assert (tier, lstatus) == ("little_giant", "recognised")


def test_official_list_looked_up_in_slices_counts_a_repeated_row_once(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list's enterprises and known titles are looked up set-wise, a slice at a time (here
    slices of one USCC); a row repeated in the list is one title, the repeat counted known."""
    import industry_brain.store.db as store_db

    monkeypatch.setattr(store_db, "IN_CHUNK", 1)
    path = tmp_path / "名单2.csv"
    path.write_text(
        "统一社会信用代码,企业名称,梯度,年度,批次\n"
        f"{USCC_WX},湖州甲机械有限公司,专精特新中小企业,2024,第一批\n"
        f"{USCC_NX},湖州乙纺织有限公司,专精特新中小企业,2024,第一批\n"
        f"{USCC_WX},湖州甲机械有限公司,专精特新中小企业,2024,第一批\n",
        encoding="utf-8",
    )
    with Session(store) as s:
        out = titles.import_list(s, path, "city")
        s.commit()
        assert (out["titles"], out["already_known"], out["problems"]) == (2, 1, [])
        got = s.execute(select(TiersTitle.uscc, TiersTitle.source_row, TiersTitle.enterprise_id))
        ids = dict(s.execute(select(Enterprise.uscc, Enterprise.id)).all())
        assert sorted(map(tuple, got.all())) == sorted(
            [(USCC_WX, 2, ids[USCC_WX]), (USCC_NX, 3, ids[USCC_NX])]
        )


def test_plan_progress_and_warnings_on_a_frozen_clock(store: Engine, tmp_path: Path) -> None:
    with Session(store) as s:
        ent = _wx(s)
        plans.add_to_pool(s, ent, "city", date(2024, 1, 5), target_tier="little_giant")
        plan = plans.create_plan(
            s, ent, "冠军领航计划", date(2024, 1, 1), date(2025, 12, 31), "city", "little_giant",
            targets=[
                {"indicator": "revenue", "target": 1500, "due_date": date(2025, 12, 31),
                 "baseline": 1000},
                {"indicator": "rd_ratio", "target": 0.06, "due_date": date(2024, 12, 31),
                 "baseline": 0.04},
            ],
            actions=[
                {"title": "申报省级企业技术中心", "owner_kind": "department", "owner": "市经信局",
                 "due_date": date(2024, 6, 30)},
                {"title": "对接服务商", "owner_kind": "agent", "owner": "agent_wx",
                 "due_date": date(2024, 12, 31)},
            ],
        )  # fmt: skip
        assert plans.record_from_facts(s, plan, date(2024, 9, 1), "city") == 3
        assert plans.record_from_facts(s, plan, date(2024, 9, 1), "city") == 0
        states = plans.target_states(s, plan, date(2024, 9, 1))
        rev, rd = states
        # revenue: latest 1150 (2024); straight line 1000 → 1500 over 730 days, 244 gone:
        # expected 1000 + 500 × 244 / 730 = 1167.12 > 1150 → off track
        assert (rev.latest, rev.latest_year) == (1150, 2024)
        assert rev.expected == pytest.approx(1000 + 500 * 244 / 730)
        assert rev.state == "off_track"
        # R&D intensity 57.5 / 1150 = 5 %; expected 4 % + 2 % × 244 / 365 = 5.34 % → off track
        assert rd.latest == pytest.approx(0.05) and rd.state == "off_track"
        warned = plans.warnings(s, date(2024, 9, 1))
        assert [(w["kind"], w["days_overdue"]) for w in warned] == [
            ("action_overdue", 63),
            ("target_off_track", 0),
            ("target_off_track", 0),
        ]
        later = plans.warnings(s, date(2026, 1, 2))
        kinds = sorted(w["kind"] for w in later)
        assert kinds == ["action_overdue", "action_overdue", "target_due_missed",
                         "target_due_missed"]  # fmt: skip
        plans.sign(s, plan, "湖州甲机械有限公司", date(2024, 1, 20), "city")
        pdf = documents.plan_pdf(s, plan, date(2024, 9, 1))
        assert pdf.startswith(b"%PDF")
        assert b"CJK" in _inflated(pdf)  # the Chinese text is set in a Noto CJK font
        html = documents.plan_html(s, plan, date(2024, 9, 1))
        assert "冠军领航计划书" in html and "1,150" in html and "滞后" in html
        assert [ent_.uscc for _, ent_ in plans.pool_members(s)] == [USCC_WX]


def test_stored_traces_are_compact_and_explain_as_the_evaluation_did(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store keeps each result's basis, precondition flag and the few wide-row figures its
    explanation reads; the explanation rebuilt from them with the run's stored scheme
    definition equals the one built from the whole wide row at evaluation time."""
    import json

    from industry_brain.domains.tiers.models import TiersResult, TiersRun

    monkeypatch.setattr(service, "STORE_SLICE", 3)  # results stored a few at a time
    monkeypatch.setattr(service, "DECODE_SLICE", 1)  # decoded and handed over per enterprise
    monkeypatch.setattr(service, "WIDE_SLICE", 1)  # the wide rows read one enterprise id at a time
    engines: list = []  # the run's engine: a weak reference, and its DuckDB connection

    def evaluate_snapshot(*args, **kwargs):
        ev = evaluate(*args, **kwargs)
        engines.append((weakref.ref(ev.backend), ev.backend.con))
        return ev

    evaluate = service.evaluate_snapshot
    monkeypatch.setattr(service, "evaluate_snapshot", evaluate_snapshot)
    run, ev = service.run(store, 2024, snapshot_root=tmp_path / "snaps")
    monkeypatch.setattr(service, "evaluate_snapshot", evaluate)
    # the run kept its wide rows in the engine (sliced), not in pandas, dropped them after, and
    # let the engine go (what DuckDB took is given back before the levels are derived)
    assert ev.wide is None and ev.wide_table is None and ev.backend is None
    [(backend, con)] = engines
    gc.collect()
    assert backend() is None
    left = con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    assert not [t for (t,) in left if t.startswith("tiers_wide_")]
    with Session(store) as s:  # the same evaluation, its wide rows whole in pandas
        at_once = service.evaluate_snapshot(s, Path(run.snapshot["path"]), 2024)
    assert at_once.wide is not None and at_once.wide["enterprise_id"].nunique() > 1
    # the run decoded while storing: its results keep no explanations in memory, and are
    # those of decoding the whole wide result at once; so are its levels
    whole = service.decode(at_once.wide, ev.schemes)
    assert "trace" not in ev.results.columns
    key = ["enterprise_id", "scheme"]
    pd.testing.assert_frame_equal(
        ev.results.sort_values(key).reset_index(drop=True),
        whole.drop(columns="trace").sort_values(key).reset_index(drop=True),
    )
    pd.testing.assert_frame_equal(
        ev.levels.sort_values("enterprise_id").reset_index(drop=True),
        at_once.levels.sort_values("enterprise_id").reset_index(drop=True),
    )
    wide = {
        (int(r["enterprise_id"]), r["basis"]): r for r in at_once.wide.to_dict(orient="records")
    }
    by_code = {sch.code: sch for sch in ev.schemes}
    expected = {}
    for r in whole.itertuples(index=False):
        t = r.trace
        # the explanation from the whole wide row of the basis that decided
        full = service.explain_row(wide[(int(r.enterprise_id), t["basis"])], by_code[r.scheme])
        full["basis"], full["requires_ok"] = t["basis"], t["requires_ok"]
        assert dict(t) == full
        expected[(int(r.enterprise_id), r.scheme)] = full
    assert len(expected) > 5
    with Session(store) as s:
        stored_run = s.get(TiersRun, run.id)
        rows = s.scalars(select(TiersResult).where(TiersResult.run_id == run.id)).all()
        assert len(rows) == len(expected)
        assert stored_run.summary["schemes"] == {
            code: {str(k): int(v) for k, v in g["status"].value_counts().items()}
            for code, g in whole.groupby("scheme")
        }
        for row in rows:
            assert set(row.trace) == {"basis", "requires_ok", "row"}
            assert service.trace_of(stored_run, row) == expected[(row.enterprise_id, row.scheme)]
            # a few hundred bytes, not the tree (sources, thresholds, providers) of kilobytes
            assert (
                len(json.dumps(row.trace))
                < len(json.dumps(expected[(row.enterprise_id, row.scheme)])) / 2
            )
        # a result stored whole (runs before compact traces) reads as it was stored
        old = rows[0]
        old.trace = expected[(old.enterprise_id, old.scheme)]
        assert service.trace_of(stored_run, old) == old.trace


def test_demo_hook_holds_no_year_evaluation_while_it_evaluates_the_next(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The main job's 五企培育 step evaluates the last two years; the first year's evaluation
    (its wide rows, results and levels: gigabytes at province scale) must be gone before the
    second starts — holding it doubled the step's peak memory."""
    import gc
    import weakref

    from industry_brain.domains.tiers import demo_hook

    real = service.run
    evaluations: list[weakref.ref] = []
    alive_at_start: list[int] = []

    def run(*args, **kwargs):  # service.run, watched
        gc.collect()
        alive_at_start.append(sum(ref() is not None for ref in evaluations))
        stored, ev = real(*args, **kwargs)
        evaluations.append(weakref.ref(ev))
        return stored, ev

    from industry_brain.store.models import EnterpriseScale

    with Session(store) as s:  # a second year of scales: the hook evaluates the last two
        first = min(s.scalars(select(EnterpriseScale.year)))
        for ent in s.scalars(select(Enterprise)):
            s.add(EnterpriseScale(enterprise_id=ent.id, year=first - 1, above_scale=True))
        s.commit()
    monkeypatch.setattr(service, "run", run)
    summary = demo_hook.run(store, tmp_path, progress=lambda *_: None)
    assert len(summary["runs"]) == 2  # two years evaluated
    assert alive_at_start == [0, 0]
