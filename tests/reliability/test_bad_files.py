"""The bad-input corpus (issue 13): every malformed department file in ``tests/data/bad/`` is
imported through the real pipeline on SQLite and PostgreSQL and gives the outcome its manifest
(``expected.yaml``, written with the files by ``make_corpus.py``) names: a refusal with its code,
or a batch with its status and located problems. A refused or rejected import changes nothing
in the store's data; a refusal records nothing at all. A few files go through the real CLI for
its exit codes (0 loaded, 1 rejected, 2 refused) and output.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core.errors import IBError
from industry_brain.ingest import import_file
from industry_brain.store.models import (
    Enterprise,
    Fact,
    ImportBatch,
    ImportProblem,
    MatchReview,
)

BAD = Path(__file__).resolve().parent.parent / "data" / "bad"
sys.path.insert(0, str(BAD))
from make_corpus import REGISTRATION  # noqa: E402

from tests.conftest import (  # noqa: E402
    _create_database,
    _drop_database,
    _fill_from_template,
    _migrated,
)

MANIFEST: list[dict[str, Any]] = yaml.safe_load((BAD / "expected.yaml").read_text("utf-8"))
TODAY = "2026-06-30"
EXE = Path(sys.executable).parent / "industry-brain"


def test_corpus_is_large_and_complete() -> None:
    files = {p.name for p in BAD.iterdir() if p.is_file() and p.suffix not in (".py", ".yaml")}
    listed = [e["file"] for e in MANIFEST]
    assert len(listed) >= 40 and len(set(listed)) == len(listed)
    assert files == set(listed), "every corpus file has an expected outcome, and only those"


def _counts(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return {
            m.__tablename__: s.scalar(select(func.count()).select_from(m))
            for m in (Enterprise, Fact, ImportBatch, ImportProblem, MatchReview)
        }


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    ids=["sqlite", "postgresql"],
)
def registered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One migrated store per backend for the whole corpus, holding the registered enterprises
    (each test compares the store before and after its own import)."""
    tmp = tmp_path_factory.mktemp("bad-corpus")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'corpus.sqlite'}"
        sqlite3.connect(tmp / "corpus.sqlite").close()
    else:
        server = request.getfixturevalue("pg_server")
        name = f"t_{uuid.uuid4().hex[:16]}"
        url = _create_database(server, name)
    _fill_from_template(request, url)
    reg = tmp / "registration.csv"
    reg.write_text(REGISTRATION, encoding="utf-8")
    try:
        for engine in _migrated(url):
            r = import_file("registration", reg, engine=engine, report_dir=tmp)
            assert r.status == "committed", r.problems
            yield engine
    finally:
        if request.param == "postgresql":
            _drop_database(request.getfixturevalue("pg_server"), name)


def _letter(column: str | None) -> str | None:
    return column.split("（")[0] if column else None


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_bad_file(entry: dict[str, Any], registered, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IB_TODAY", TODAY)
    before = _counts(registered)
    path = BAD / entry["file"]
    options = entry.get("options") or {}
    if entry["status"] == "refused":
        with pytest.raises(IBError) as info:
            import_file(entry["kind"], path, engine=registered, report_dir=tmp_path, **options)
        assert info.value.code == entry["error"], info.value
        assert info.value.zh and info.value.en and info.value.location.file == entry["file"]
        assert _counts(registered) == before  # nothing recorded at all
        return
    result = import_file(entry["kind"], path, engine=registered, report_dir=tmp_path, **options)
    assert result.status == entry["status"], result.counts_by_code()
    found = {(p.code, p.location.row, _letter(p.location.column)) for p in result.problems}
    expected = {tuple(p) for p in entry.get("problems") or []}
    assert expected <= found, found
    expected_errors = {p[0] for p in expected if not p[0].startswith(_WARNINGS)}
    assert {p.code for p in result.errors} == expected_errors
    assert all(p.location.file == entry["file"] for p in result.problems)
    after = _counts(registered)
    assert after["import_batches"] == before["import_batches"] + 1
    if result.status == "rejected":  # the attempt and its problems are recorded, no data
        assert after["facts"] == before["facts"]
        assert after["enterprises"] == before["enterprises"]
    else:
        assert result.rows_loaded > 0
        assert after["facts"] == before["facts"] + result.facts_inserted


_WARNINGS = ("value.invisible_removed", "value.formula_like", "column.unnamed", "column.unknown")


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXE), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **env},
        timeout=300,
    )


def test_cli_exit_codes_and_no_traceback(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """1 rejected (the NUL file: no traceback, its report written, and a rerun is tried again,
    not called a 'duplicate' of a committed batch), 2 refused (the sparse sheet, before any
    allocation), 0 loaded."""
    url = engine.url.render_as_string(hide_password=False)
    env = {"IB_DATABASE_URL": url, "IB_DATA_DIR": str(tmp_path), "IB_TODAY": TODAY}
    reg = tmp_path / "registration.csv"
    reg.write_text(REGISTRATION, encoding="utf-8")
    assert _cli("import", "registration", str(reg), env=env).returncode == 0
    for _ in range(2):
        proc = _cli("import", "tax", str(BAD / "nul_in_name.csv"), "--json", env=env)
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        out = json.loads(proc.stdout)
        assert out["status"] == "rejected" and out["problem_counts"] == {"value.control_char": 1}
        assert out["report_json"] and Path(out["report_json"]).exists()
    proc = _cli("import", "stats_annual", str(BAD / "sparse_a2_xfd1048576.xlsx"), env=env)
    assert proc.returncode == 2 and "file.sparse" in proc.stderr and "Traceback" not in proc.stderr
