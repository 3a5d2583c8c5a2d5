"""新产品产值 reaches the store through the statistics annual report (工业运行监测 reads the item
``new_product_output``; its rate is new-product output ÷ output, see tests/test_monitor.py).

Two firms of 吴兴区, 2025, the header in 千元: 1,200 千元 = 120 万元 and 3,000 千元 = 300 万元.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core import uscc as uscc_core
from industry_brain.ingest import import_file
from industry_brain.store.models import Enterprise, Fact

A, B = (uscc_core.make(f"91330502MA2CN{k:04d}") for k in (1, 2))


def test_new_product_output_is_imported(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reg = tmp_path / "reg.csv"
    reg.write_text(
        f"统一社会信用代码,企业名称,所属区县,行业代码\n{A},甲新品有限公司,吴兴区,3421\n"
        f"{B},乙新品有限公司,吴兴区,2651\n",
        "utf-8-sig",
    )
    assert import_file("registration", reg, engine=engine).status == "committed"
    stats = tmp_path / "stats.csv"
    stats.write_text(
        "统一社会信用代码,年份,工业总产值（千元）,新产品产值（千元）\n"
        f"{A},2025,5000,1200\n{B},2025,4000,3000\n",
        "utf-8-sig",
    )
    r = import_file("stats_annual", stats, engine=engine)
    assert r.status == "committed", [p.to_dict() for p in r.problems]
    with Session(engine) as s:
        got = dict(
            s.execute(
                select(Enterprise.uscc, Fact.value)
                .join(Fact, Fact.enterprise_id == Enterprise.id)
                .where(Fact.item == "new_product_output", Fact.year == 2025)
            ).all()
        )
    assert got == {A: 120.0, B: 300.0}
