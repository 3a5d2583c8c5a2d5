"""kill -9 of a real ``industry-brain import`` in the middle of a large import (issue 13).

A 150,000-row power CSV (12,500 accounts × 12 months of 2025, five registered owners) is
imported by the real CLI in a subprocess. The test watches the store until the import's write
transaction is open (SQLite: another writer holds the database, so ``BEGIN IMMEDIATE`` without
waiting fails; PostgreSQL: another backend of the database has a transaction id), lets it load
a moment longer and sends SIGKILL. Then: the process did die mid-import; the store has nothing
of the batch (no batch row, no fact, no power account) and passes its integrity check; no lock
is left behind (a writer gets the store at once); and the same file imported again is
committed whole with every row.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from industry_brain.ingest import import_file
from industry_brain.store.models import Fact, ImportBatch, PowerAccount

ROWS = 150_000
OWNERS = (
    "91330502MA2B3C4D1U",
    "91330503MA2B3C4E2E",
    "91330521MA2B3C4F3L",
    "91330522MA2B3C4G47",
    "91330523MA2B3C4H5R",
)
REGISTRATION = "统一社会信用代码,企业名称,注册地址,所属区县,行业代码,成立日期,登记状态\n" + "".join(
    f"{u},湖州{n}号制造有限公司,湖州市{n}号,{u[2:8]},1751,2010-05-01,存续\n"
    for n, u in enumerate(OWNERS, start=1)
)
CLI = Path(sys.executable).with_name("industry-brain")
#: After the write transaction is seen open, let the load run this long before the kill.
INTO_LOAD_SECONDS = 0.3


def _power_csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("户号,户名,统一社会信用代码,月份,用电量(千瓦时)\n")
        for i in range(ROWS):
            k, m = divmod(i, 12)
            value = 1000 + (k * 13 + m) % 977
            fh.write(f"33{k:07d},户{k % 5},{OWNERS[k % 5]},2025年{m + 1}月,{value}.5\n")
    return path


def _import(url: str, path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "IB_DATABASE_URL": url}
    return subprocess.Popen(
        [str(CLI), "import", "power", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _writer_active(engine: Engine) -> bool:
    """Whether another connection has an open write transaction on the store."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc) or "busy" in str(exc), exc
            return True
        finally:
            conn.close()
    with engine.connect() as conn:
        n = conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
            )
        )
    return bool(n)


def _power_state(engine: Engine) -> tuple[int, int, int]:
    with Session(engine) as s:
        batches = s.scalar(
            select(func.count()).select_from(ImportBatch).where(ImportBatch.kind == "power")
        )
        facts = s.scalar(
            select(func.count())
            .select_from(Fact)
            .join(ImportBatch, ImportBatch.id == Fact.batch_id)
            .where(ImportBatch.kind == "power")
        )
        accounts = s.scalar(select(func.count()).select_from(PowerAccount))
    return batches, facts, accounts


def test_kill_9_during_import_leaves_all_or_nothing(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    reg = tmp_path / "reg.csv"
    reg.write_text(REGISTRATION, encoding="utf-8-sig")
    assert import_file("registration", reg, engine=engine).status == "committed"
    power = _power_csv(tmp_path / "2025年1-12月企业用电量.csv")
    with Session(engine) as s:
        facts_before = s.scalar(select(func.count()).select_from(Fact))

    proc = _import(db_url, power)
    deadline = time.monotonic() + 60
    while not _writer_active(engine):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the import never started writing"
        time.sleep(0.005)
    time.sleep(INTO_LOAD_SECONDS)
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, out[-500:], err[-2000:])

    # nothing of the batch is in the store, and no lock is left behind
    deadline = time.monotonic() + 15  # PostgreSQL ends the dead client's backend on its own
    while _writer_active(engine):
        assert time.monotonic() < deadline, "a lock of the killed import is still held"
        time.sleep(0.05)
    assert _power_state(engine) == (0, 0, 0)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Fact)) == facts_before
    if make_url(db_url).get_backend_name() == "sqlite":
        with sqlite3.connect(make_url(db_url).database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    # the same file again: committed whole
    again = _import(db_url, power)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, (out[-1000:], err[-2000:])
    assert b"committed" in out and b"Traceback" not in err
    assert _power_state(engine) == (1, ROWS, -(-ROWS // 12))
