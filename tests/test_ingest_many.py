"""Many department files in one go (``ingest.many``): independent departments side by side in
worker processes on PostgreSQL, leaving the store exactly as a one-by-one import would."""

from __future__ import annotations

import pickle
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from industry_brain.core.errors import Location, ValidationError
from industry_brain.demo.departments import KIND_ORDER
from industry_brain.ingest import many, validate
from industry_brain.ingest.many import FileJob, import_files, plan, workers_for
from industry_brain.ingest.mapping import load_mapping
from industry_brain.store import facts as fact_store
from industry_brain.store.db import make_engine
from tests.conftest import _create_database, _drop_database
from tests.shared_demo import shared_demo_dir, small_demo


def _job(kind: str, name: str = "f.csv") -> FileJob:
    return FileJob(kind, Path(name))


def test_plan_runs_registration_alone_and_keeps_each_department_in_order():
    jobs = [
        _job("registration"),  # 0: a barrier
        _job("stats_annual"),  # 1 statistics
        _job("power"),  # 2 power_grid
        _job("energy"),  # 3 statistics
        _job("tax"),  # 4 tax: its check reads statistics' revenue → joins that chain
        _job("power"),  # 5
        _job("land"),  # 6
        _job("registration"),  # 7: a second barrier
        _job("emissions"),  # 8
        _job("stats_annual"),  # 9
    ]
    assert plan(jobs) == [
        [[0]],
        [[1, 3, 4], [2, 5], [6]],
        [[7]],
        [[8], [9]],
    ]
    # without 统计 in the stage, 税务 is a chain of its own
    assert plan([_job("tax"), _job("power"), _job("tax")]) == [[[0, 2], [1]]]
    assert plan([]) == []


def test_workers_one_on_sqlite_and_setting_checked(monkeypatch, tmp_path):
    sqlite = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    pg = make_engine("postgresql+psycopg://app@127.0.0.1:9/none")  # never connected
    monkeypatch.delenv("IB_IMPORT_WORKERS", raising=False)
    assert workers_for(sqlite, 4) == 1  # one writer at a time
    assert workers_for(pg) == many.DEFAULT_WORKERS == 2
    monkeypatch.setenv("IB_IMPORT_WORKERS", "3")
    assert workers_for(pg) == 3 and workers_for(pg, 1) == 1
    monkeypatch.setenv("IB_IMPORT_WORKERS", "two")
    with pytest.raises(ValidationError) as info:
        workers_for(pg)
    assert info.value.location.field == "IB_IMPORT_WORKERS" and "'two'" in info.value.en
    with pytest.raises(ValidationError, match="at least 1"):
        workers_for(pg, 0)


def test_a_platform_error_crosses_a_process_boundary_whole():
    error = ValidationError("file.no_rows", "没有数据行", "no data rows", Location(file="a.csv"))
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is ValidationError and back.problem == error.problem
    assert str(back) == str(error) and back.location.file == "a.csv"


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> list[FileJob]:
    """The small demo's department files, as the main job lists them."""
    run, _url, _folder = small_demo(tmp_path_factory, "ingest-many")
    root = shared_demo_dir(tmp_path_factory)
    return [
        FileJob(e["kind"], root / e["path"], e.get("sheet"), e.get("year"), e.get("encoding"))
        for e in run.manifest["files"]
    ]


def _subset(files: list[FileJob]) -> list[FileJob]:
    """Registration, then two files of 统计, 税务 and 电力 and one of 能耗, 自然资源 and 生态环境,
    in the main job's order: a barrier, the 统计 + 税务 chain and three independent chains."""
    wanted = {"stats_annual": 2, "tax": 2, "power": 2, "energy": 1, "land": 1, "emissions": 1}
    out, seen = [], dict.fromkeys(wanted, 0)
    for job in files:
        if job.kind == "registration" and not any(o.kind == "registration" for o in out):
            out.append(job)
        elif seen.get(job.kind, 99) < wanted.get(job.kind, 0):
            seen[job.kind] += 1
            out.append(job)
    assert out[0].kind == "registration" and len(out) == 10
    return out


def test_every_store_figure_a_check_reads_is_declared(demo_files, sqlite_engine, monkeypatch):
    # the checks' reads of other departments' figures, recorded while one file of each kind is
    # imported: each must be the kind's own department or declared in validate.READS, else
    # imports side by side could show a check a store a one-by-one import would not
    read: dict[str, set[str]] = {}
    kind = {"now": ""}
    real = fact_store.current_values

    def recording(session, *args, **kwargs):  # type: ignore[no-untyped-def]
        read.setdefault(kind["now"], set()).add(kwargs.get("source_dept"))
        return real(session, *args, **kwargs)

    monkeypatch.setattr(fact_store, "current_values", recording)
    firsts: dict[str, FileJob] = {}
    for job in demo_files:
        firsts.setdefault(job.kind, job)
    assert set(firsts) == set(KIND_ORDER)  # every kind the demo writes
    for job in firsts.values():
        kind["now"] = job.kind
        many._import(job, sqlite_engine, {"accept_valid": True, "write_reports": False})
    assert read, "no check read the store: the recording is not in the checks' path"
    assert read["stats_annual"] == {"tax"} and read["tax"] == {"statistics"}
    for k, depts in read.items():
        allowed = {load_mapping(k).department, *validate.READS.get(k, ())}
        assert depts <= allowed, (k, depts)


def _store(url: str) -> dict[str, list[tuple]]:
    """What the imports left, keyed so that batch and row ids (assigned in commit order) do not
    matter: figures with their lineage, reviews, problems, accounts, parcels and 规上 flags."""
    queries = {
        "facts": "SELECT e.uscc, f.year, f.month, f.item, f.detail, f.value, f.unit, "
        "f.source_dept, f.sheet, f.row, f.column, f.raw_value, f.superseded_by IS NULL, "
        "b.file_name FROM facts f JOIN enterprises e ON e.id = f.enterprise_id "
        "JOIN import_batches b ON b.id = f.batch_id",
        "batches": "SELECT file_name, sheet, status, rows_total, rows_loaded, rows_rejected "
        "FROM import_batches",
        "reviews": "SELECT r.identity, r.status, b.file_name FROM match_reviews r "
        "JOIN import_batches b ON b.id = r.batch_id",
        "problems": "SELECT b.file_name, p.severity, p.code, p.message_zh, p.message_en "
        "FROM import_problems p JOIN import_batches b ON b.id = p.batch_id",
        "accounts": "SELECT a.account_no, e.uscc FROM power_accounts a "
        "JOIN enterprises e ON e.id = a.enterprise_id",
        "parcels": "SELECT p.parcel_no, e.uscc, p.area_mu FROM land_parcels p "
        "JOIN enterprises e ON e.id = p.enterprise_id",
        "scales": "SELECT e.uscc, s.year, s.above_scale FROM enterprise_scales s "
        "JOIN enterprises e ON e.id = s.enterprise_id",
    }
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                k: sorted(conn.execute(text(q)).all(), key=lambda r: [str(v) for v in r])
                for k, q in queries.items()
            }
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_side_by_side_leaves_the_store_of_one_by_one(demo_files, pg_server, _pg_template):
    jobs = _subset(demo_files)
    stores, results, steps = {}, {}, {}
    names = {w: f"many_{w}_{uuid.uuid4().hex[:8]}" for w in (1, 2)}
    try:
        for w, name in names.items():
            url = _create_database(pg_server, name, _pg_template)
            engine = make_engine(url)
            seen: list[tuple[int, int]] = []
            try:
                results[w] = import_files(
                    jobs,
                    engine=engine,
                    workers=w,
                    accept_valid=True,
                    progress=lambda _what, i, n, seen=seen: seen.append((i, n)),
                )
            finally:
                engine.dispose()
            stores[w], steps[w] = _store(url), seen
    finally:
        for name in names.values():
            _drop_database(pg_server, name)
    # results in the jobs' order, as one by one (batch ids and report paths aside)
    volatile = {"batch_id", "report_json", "report_xlsx"}
    assert [r.file for r in results[2]] == [j.path.name for j in jobs]
    assert [{k: v for k, v in r.to_dict().items() if k not in volatile} for r in results[2]] == [
        {k: v for k, v in r.to_dict().items() if k not in volatile} for r in results[1]
    ]
    assert {r.status for r in results[2]} <= {"committed", "partial"}
    assert sum(r.facts_inserted for r in results[2]) > 1000
    assert stores[2] == stores[1]
    assert len(stores[2]["facts"]) == sum(r.facts_inserted for r in results[2])
    # the progress counted every file once, in order
    assert steps[2] == [(i, len(jobs)) for i in range(len(jobs) + 1)] == steps[1]


@pytest.mark.postgres
def test_a_failing_file_raises_its_own_error_after_the_others_end(
    demo_files, pg_server, _pg_template, tmp_path
):
    registration = next(j for j in demo_files if j.kind == "registration")
    power = next(j for j in demo_files if j.kind == "power")
    empty = tmp_path / "宗地信息_表头.csv"
    empty.write_text("宗地编号,权利人名称,统一社会信用代码,宗地面积(亩),用途\n", encoding="utf-8")
    name = f"many_fail_{uuid.uuid4().hex[:8]}"
    url = _create_database(pg_server, name, _pg_template)
    engine = make_engine(url)
    try:
        with pytest.raises(ValidationError) as caught:
            import_files(
                [registration, FileJob("land", empty, year=2025), power],
                engine=engine,
                workers=2,
                accept_valid=True,
            )
        # the worker's error, whole: its code and the file it names
        assert caught.value.code == "file.no_rows" and caught.value.location.file == empty.name
        with engine.connect() as conn:
            batches = dict(conn.execute(text("SELECT file_name, status FROM import_batches")).all())
    finally:
        engine.dispose()
        _drop_database(pg_server, name)
    # the power file ran beside it and committed; registration before both
    assert batches == {
        registration.path.name: batches[registration.path.name],
        power.path.name: batches[power.path.name],
    }
    assert set(batches.values()) <= {"committed", "partial"}


def test_demo_command_takes_import_workers_of_one_or_more():
    from tests.cli_inproc import run_cli

    bad = run_cli(["demo", "--scale", "small", "--import-workers", "0"])
    assert bad.returncode == 2 and "--import-workers" in bad.stderr
    shown = run_cli(["demo", "--help"])
    assert shown.returncode == 0 and "--import-workers" in shown.stdout


@pytest.mark.postgres
def test_streamed_imports_of_the_demo_files_leave_the_store_of_whole_file_ones(
    demo_files, pg_server, _pg_template, monkeypatch, tmp_path
):
    """The demo's files of the kinds that stream (planted defects included) — registration,
    then two years of 电力 (the second checked year on year against the first) and a file of
    税务, 能耗 and 生态环境 — one by one with ``--accept-valid`` as the main job imports them:
    streamed in slices of 1,999 rows (``ingest.stream``) and whole-file, the same store."""
    from industry_brain.ingest import load, stream

    wanted = {"registration": 1, "power": 2, "tax": 1, "energy": 1, "emissions": 1}
    jobs = []
    for job in demo_files:
        if wanted.get(job.kind, 0) > 0:
            wanted[job.kind] -= 1
            jobs.append(job)
    assert jobs[0].kind == "registration" and not any(wanted.values())
    assert {j.kind for j in jobs[1:]} == stream.KINDS

    written: list[int] = []
    real = load.copy_facts

    def counting(dbapi, parts, stats):  # type: ignore[no-untyped-def]
        written.append(sum(len(p) for p in parts))
        real(dbapi, parts, stats)

    monkeypatch.setattr(load, "copy_facts", counting)
    monkeypatch.delenv("IB_IMPORT_STREAM_FROM", raising=False)  # the thresholds set below
    stores, results = {}, {}
    for mode in ("whole", "streamed"):
        monkeypatch.setattr(stream, "CHUNK_ROWS", 1999)
        monkeypatch.setattr(stream, "STREAM_FROM_ROWS", 1 if mode == "streamed" else 1 << 62)
        name = f"stream_{mode}_{uuid.uuid4().hex[:8]}"
        url = _create_database(pg_server, name, _pg_template)
        engine = make_engine(url)
        try:
            written.clear()
            results[mode] = import_files(
                jobs, engine=engine, workers=1, accept_valid=True, report_dir=tmp_path
            )
            stores[mode] = _store(url)
            copies = len(written)
        finally:
            engine.dispose()
            _drop_database(pg_server, name)
        if mode == "whole":
            whole_copies = copies
    volatile = {"batch_id", "report_json", "report_xlsx"}
    assert [
        {k: v for k, v in r.to_dict().items() if k not in volatile} for r in results["streamed"]
    ] == [{k: v for k, v in r.to_dict().items() if k not in volatile} for r in results["whole"]]
    assert stores["streamed"] == stores["whole"]
    # the streamed run sent its fact kinds' files in many slices
    streamed_kinds = [j for j in jobs if j.kind in stream.KINDS]
    assert streamed_kinds and copies > whole_copies + len(streamed_kinds)
    assert {r.status for r in results["streamed"]} == {"committed", "partial"}
