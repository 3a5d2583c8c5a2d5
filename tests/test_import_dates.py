"""Import batches are stamped on the platform's day (issue 14, point 4): the demo runs on its own
day (``DEMO_TODAY``); a store replaying a day (``IB_TODAY``) never shows an import after it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.ingest import import_file
from industry_brain.ingest.pipeline import stamp
from industry_brain.store.models import ImportBatch

SHANGHAI = ZoneInfo("Asia/Shanghai")
CSV = """统一社会信用代码,企业名称,注册地址,所属区县,行业代码,成立日期,登记状态
91330502MA2B3C4D1U,湖州甲织造有限公司,吴兴区织里镇1号,吴兴区,1751,2010-05-01,存续
"""


def test_stamp_is_on_the_day_in_the_platform_zone(monkeypatch) -> None:
    monkeypatch.delenv("IB_TIMEZONE", raising=False)
    real = datetime.now(SHANGHAI).date()
    assert stamp(real) is None  # the real day: the store's own clock
    day = date(2026, 11, 27) if real != date(2026, 11, 27) else date(2025, 1, 1)
    at = stamp(day)
    assert at is not None and at.tzinfo is not None
    assert at.astimezone(SHANGHAI).date() == day  # as the pages show it (Asia/Shanghai)
    monkeypatch.setenv("IB_TODAY", day.isoformat())
    assert stamp().astimezone(SHANGHAI).date() == day  # default: the platform's today


def test_batch_of_a_replayed_day_is_stamped_on_it(sqlite_engine, tmp_path: Path) -> None:
    path = tmp_path / "reg.csv"
    path.write_text(CSV, encoding="utf-8-sig")
    day = date(2026, 11, 27)
    r = import_file("registration", path, engine=sqlite_engine, on_day=day)
    assert r.status == "committed"
    with Session(sqlite_engine) as s:
        batch = s.get(ImportBatch, r.batch_id)
        shown = batch.created_at.astimezone(SHANGHAI)
        if datetime.now(SHANGHAI).date() != day:
            assert shown.date() == day
        assert shown.date() <= day  # never after the platform's day
        assert batch.created_at <= datetime.now(UTC)
        assert s.scalars(select(ImportBatch)).one().id == r.batch_id
