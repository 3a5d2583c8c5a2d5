"""Hostile workbooks (issue 13 point 1) are refused before any large allocation.

Each file is read in a child process whose address space is capped (``RLIMIT_AS``, 1 GiB): the
4.8 KB workbook with cells at A2 and XFD1048576 made calamine allocate 512 GB (the process
aborted, exit 134), a small workbook expanding to a million rows took minutes and gigabytes.
Refused, the child exits normally with ``file.sparse`` / ``file.too_large`` well within the cap.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BAD = Path(__file__).resolve().parent.parent / "data" / "bad"
sys.path.insert(0, str(BAD))
import xlsx_raw  # noqa: E402

CAP_MB = 1024
CHILD = """
import json, resource, sys
cap = int(sys.argv[1]) << 20
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
from industry_brain.core.errors import ValidationError
from industry_brain.ingest import readers
out = {}
for path in sys.argv[2:]:
    try:
        tables = readers.read_file(path)
        out[path] = {"read": sum(t.num_rows for t in tables)}
    except ValidationError as exc:
        out[path] = {"code": exc.code, "zh": exc.zh, "en": exc.en}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    """The files, and what one capped child process made of each (one process: fast)."""
    tmp = tmp_path_factory.mktemp("hostile")
    rows = [["统一社会信用代码", "用电量"], *[[f"3301{i:06d}", i] for i in range(2000)]]
    files = {
        "sparse": xlsx_raw.sparse_xlsx(tmp / "sparse.xlsx"),
        "million": xlsx_raw.million_rows_xlsx(tmp / "million.xlsx"),
        "bomb": xlsx_raw.zip_bomb_xlsx(tmp / "bomb.xlsx", 64),
        "normal": xlsx_raw.write_xlsx(tmp / "ok.xlsx", xlsx_raw.rows_xml(rows)),
    }
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(CAP_MB), *map(str, files.values())],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    out = json.loads(proc.stdout)
    return {name: (path, out[str(path)]) for name, path in files.items()}


def test_sparse_workbook_is_refused_without_allocating(hostile) -> None:  # type: ignore[no-untyped-def]
    path, out = hostile["sparse"]
    assert path.stat().st_size < 5000  # the 4.8 KB file
    assert out["code"] == "file.sparse"
    assert "A1:XFD1048576" in out["zh"] and "A1:XFD1048576" in out["en"]


def test_million_row_workbook_is_refused(hostile) -> None:  # type: ignore[no-untyped-def]
    path, out = hostile["million"]
    assert path.stat().st_size < 8 << 20
    assert out["code"] == "file.too_large"
    assert "500000" in out["en"]  # the bound (ingest.limits.max_rows) is named


def test_zip_bomb_is_refused(hostile) -> None:  # type: ignore[no-untyped-def]
    path, out = hostile["bomb"]
    assert path.stat().st_size < 200_000  # 64 MB of XML inside
    assert out["code"] == "file.too_large" and "zip bomb" in out["en"]


def test_a_normal_workbook_reads_under_the_same_cap(hostile) -> None:  # type: ignore[no-untyped-def]
    assert hostile["normal"][1] == {"read": 2000}
