"""The main job on the small demo city: every department file goes through the real ingest path,
every deliberate defect shows up in the import reports at its file and row, and the store holds
exactly the figures the generator's independent truth tables say the files report."""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.store.db import make_engine
from industry_brain.store.models import Enterprise, EnterpriseScale, Fact, Project, User
from tests.shared_demo import small_demo

# defect kind → problem code the import must report at the defect's file and row
EXPECTED_CODE = {
    "uscc_bad_check": "uscc.checksum",
    "name_ambiguous": "match.ambiguous",
    "negative_tax": "value.negative",
    "land_area_nonpositive": "value.not_positive",
    "value_added_gt_output": "cross.value_added_gt_output",
    "tax_gt_half_revenue": "cross.tax_gt_revenue_share",
    "electricity_jump": "cross.electricity_jump",
    "duplicate_row": "row.duplicate",
    "unknown_column": "column.unknown",
    "bad_date": "value.bad_date",
    "bad_month": "value.bad_month",
    "text_in_numeric": "value.not_number",
}
# defects that must NOT be problems: the value is read correctly (checked against the truth)
CLEAN_READS = {
    "uscc_lowercase",
    "uscc_fullwidth",
    "missing_uscc_former_name",
    "thousands_separator",
    "fullwidth_number",
    "missing_marker",
}
PREFERRED = {"tax_paid": "tax", "electricity": "power_grid", "land_area": "natural_resources"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    run, url, out = small_demo(tmp_path_factory, "main-job")
    # module-scoped: runs before the autouse per-test isolation, so isolate it here
    mp = pytest.MonkeyPatch()
    mp.setenv("IB_DATA_DIR", str(out / "data"))
    mp.delenv("IB_DATABASE_URL", raising=False)
    engine = make_engine(url)
    yield run, engine, run.out_dir
    engine.dispose()
    mp.undo()


def _problems(run) -> list[tuple[str, str | None, int | None, str, str | None]]:
    return [
        (p.location.file, p.location.sheet, p.location.row, p.code, p.location.column)
        for r in run.imports
        for p in r.problems
    ]


def test_summary_counts(demo):
    run, engine, _ = demo
    counts = run.manifest["counts"]
    with Session(engine) as s:
        assert s.scalar(select(Enterprise.id).order_by(Enterprise.id.desc()).limit(1)) >= 1
        n = len(s.scalars(select(Enterprise.id)).all())
        stages = set(s.scalars(select(Project.stage)))
        roles = set(s.scalars(select(User.role)))
    truth = pd.read_parquet(run.out_dir / "truth" / "enterprises.parquet")
    assert n == len(truth) == run.summary["enterprises"]
    assert sum(c["total"] for c in run.summary["by_county"].values()) == n
    assert len(run.summary["by_county"]) == 5
    assert stages == {"signed", "started", "completed", "producing", "above_scale", "at_capacity"}
    assert roles == {
        "admin",
        "city_officer",
        "county_officer",
        "agent",
        "enterprise",
        "bank",
        "provider",
    }
    assert counts  # the manifest carries the generator's own counts
    assert all(r.status in ("committed", "partial") for r in run.imports)


def test_every_defect_is_reported_where_it_is(demo):
    run, _, _ = demo
    problems = _problems(run)
    kinds = {d["kind_of_defect"] for d in run.manifest["defects"]}
    assert len(kinds) >= 10
    missing = []
    for d in run.manifest["defects"]:
        kind = d["kind_of_defect"]
        file = Path(d["file"]).name
        at_row = [p for p in problems if p[0] == file and p[2] == d["row"]]
        if kind in EXPECTED_CODE:
            hits = [p for p in at_row if p[3] == EXPECTED_CODE[kind]]
            if d.get("column") and hits and kind != "duplicate_row":
                # headers are reported as read: NFKC-normalised (full-width brackets → ASCII)
                want = unicodedata.normalize("NFKC", d["column"])
                hits = [p for p in hits if p[4] and want in p[4]]
            if not hits:
                missing.append((kind, file, d["row"], d.get("column"), at_row))
        elif kind in CLEAN_READS:
            errors = [p for p in at_row if not p[3].startswith(("cross.", "column."))]
            if errors:
                missing.append((kind, file, d["row"], "unexpected problem", errors))
        elif kind == "unknown_enterprise":
            if not any(p[3] in ("match.unknown", "match.unknown_uscc") for p in at_row):
                missing.append((kind, file, d["row"], None, at_row))
        else:
            missing.append((kind, "no expectation in this test", None, None, None))
    assert not missing, "\n".join(map(str, missing))


def _store_figures(engine) -> pd.DataFrame:
    with Session(engine) as s:
        rows = s.execute(
            select(Enterprise.uscc, Fact.year, Fact.item, Fact.source_dept, Fact.value)
            .join(Enterprise, Enterprise.id == Fact.enterprise_id)
            .where(Fact.superseded_by.is_(None))
        ).all()
    df = pd.DataFrame(rows, columns=["uscc", "year", "item", "dept", "value"])
    df = df.groupby(["uscc", "year", "item", "dept"], as_index=False)["value"].sum(min_count=1)
    keep = df.apply(lambda r: PREFERRED.get(r["item"], r["dept"]) == r["dept"], axis=1)
    return df[keep].drop(columns="dept")


def test_store_matches_the_generators_truth(demo):
    run, engine, out = demo
    truth = pd.read_parquet(out / "truth" / "facts.parquet")
    skip = {
        (d["uscc_or_name"], year)
        for d in run.manifest["defects"]
        # defects that reject a row or change the value against the truth on purpose
        if d["kind_of_defect"] not in CLEAN_READS - {"missing_marker"}
        for year in range(2021, 2026)
    }
    flags = truth[truth["item"] == "above_scale"]
    truth = truth[truth["item"] != "above_scale"]
    truth = truth[~truth.apply(lambda r: (r["uscc"], r["year"]) in skip, axis=1)]
    store = _store_figures(engine)
    merged = truth.merge(store, on=["uscc", "year", "item"], how="left", suffixes=("", "_store"))
    # land files of odd years give 平方米 to 2 decimals: 0.005 m² = 0.005 × 15 / 10000 亩
    # = 7.5e-6 亩 of rounding per parcel in the file itself, a few parcels per enterprise;
    # every other figure must match to 1e-9 relative.
    merged["tol"] = merged["item"].map({"land_area": 5e-5}).fillna(1e-6)
    bad = merged[
        ~merged.apply(
            lambda r: (
                (pd.isna(r["value"]) and pd.isna(r["value_store"]))
                or (
                    not pd.isna(r["value_store"])
                    and math.isclose(r["value"], r["value_store"], rel_tol=1e-9, abs_tol=r["tol"])
                )
            ),
            axis=1,
        )
    ]
    assert len(merged) > 40_000
    assert bad.empty, bad.head(20).to_string()
    with Session(engine) as s:
        scale = pd.DataFrame(
            s.execute(
                select(Enterprise.uscc, EnterpriseScale.year, EnterpriseScale.above_scale).join(
                    Enterprise, Enterprise.id == EnterpriseScale.enterprise_id
                )
            ).all(),
            columns=["uscc", "year", "above"],
        )
    flags = flags[~flags.apply(lambda r: (r["uscc"], r["year"]) in skip, axis=1)]
    both = flags.merge(scale, on=["uscc", "year"], how="left")
    assert (both["above"].astype(bool) == (both["value"] > 0)).all()


def test_every_result_table_names_its_runs_without_reading_rows(demo) -> None:
    """``ResultTable.runs`` (what a snapshot's currency check asks, without the rows) names the
    same runs as ``read`` for every built-in service's table, on the store where the main job
    published a run of each; and a snapshot taken now is current until a new run is
    published."""
    from industry_brain import contract
    from industry_brain.domains.mujun import service as mujun_service
    from industry_brain.warehouse.snapshot import build_snapshot, latest_snapshot

    _run, engine, _out = demo
    with Session(engine) as s:
        for service, tables in contract.each("result_tables"):
            for table in tables:
                assert table.runs is not None, table.name  # every built-in table has it
                full = table.read(s)[1]
                assert table.published_runs(s) == full, table.name
                if table.name != "result_carbon_lines":  # named by result_carbon
                    assert full and {r["service"] for r in full} == {service}, table.name
    root = Path(engine.url.database).parent / "runs-check"
    snap = build_snapshot(engine, root / "now")
    current = latest_snapshot(root, engine)
    assert current is not None and current.path == snap.path
    year = max(r["year"] for r in snap.runs if r["table"] == "result_mujun")
    mujun_service.run(engine, year, snapshot=snap, actor="test")  # a new published run
    assert latest_snapshot(root, engine) is None
