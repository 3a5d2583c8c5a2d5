"""The demo anywhere (issue 12 point 6): the small Hangzhou demo (330100) through the whole main
job — its real 13 county-level units and their towns, sized by the region's parameters
(5,500 / 10,000 at city scale, so 550 / 1,000 at small scale), every service run on it."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.demo.cities import city_for
from industry_brain.domains.mujun.models import MujunResult
from industry_brain.mainjob import run_demo
from industry_brain.store.db import make_engine
from industry_brain.store.models import Enterprise, ImportProblem, Region

HANGZHOU = {
    "330102": "上城区", "330105": "拱墅区", "330106": "西湖区", "330108": "滨江区",
    "330109": "萧山区", "330110": "余杭区", "330111": "富阳区", "330112": "临安区",
    "330113": "临平区", "330114": "钱塘区", "330122": "桐庐县", "330127": "淳安县",
    "330182": "建德市",
}  # fmt: skip


@pytest.fixture(scope="module")
def hangzhou(tmp_path_factory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("demo-hangzhou")
    mp = pytest.MonkeyPatch()
    mp.setenv("IB_DATA_DIR", str(out / "data"))
    mp.delenv("IB_DATABASE_URL", raising=False)
    mp.delenv("IB_JURISDICTION", raising=False)
    parameters._cached.cache_clear()
    engine = make_engine(f"sqlite:///{out / 'store.sqlite'}")
    run = run_demo(out / "demo", scale="small", engine=engine, region="330100")
    yield run, engine
    engine.dispose()
    mp.undo()


def test_city_of_a_region_from_the_reference_tables() -> None:
    hz = city_for("330100")
    assert (hz.name, hz.short, hz.province) == ("杭州市", "杭州", "浙江省")
    assert {c.code: c.name for c in hz.counties} == HANGZHOU
    assert (hz.above, hz.below) == (5500, 10000)  # demo.330100.yaml [SEED 003]
    suzhou = city_for("320500")
    assert "320576" in {c.code for c in suzhou.counties}  # 苏州工业园区 (statistics-only)
    assert {c.code for c in city_for("420100").counties} >= {"420102", "420106", "420111"}


def test_hangzhou_demo_through_the_main_job(hangzhou) -> None:  # type: ignore[no-untyped-def]
    run, engine = hangzhou
    assert (run.region, run.region_name) == ("330100", "杭州市")
    assert os.environ.get("IB_JURISDICTION") is None  # restored after the run
    counts = run.manifest["counts"]
    assert (counts["above_scale"], counts["below_scale"]) == (550, 1000)
    assert set(run.summary["by_county"]) == set(HANGZHOU.values())
    with Session(engine) as s:
        counties = dict(
            s.execute(
                select(Enterprise.county_code, func.count()).group_by(Enterprise.county_code)
            ).all()
        )
        assert set(counties) <= set(HANGZHOU) and len(counties) == 13
        # every enterprise keeps its town, a town of its own county
        towns = s.execute(
            select(Enterprise.county_code, Region.parent_code, Region.level).join(
                Region, Region.code == Enterprise.town_code
            )
        ).all()
        assert len(towns) == s.scalar(select(func.count()).select_from(Enterprise))
        assert all(level == "town" and parent == county for county, parent, level in towns)
        codes = {c for (c,) in s.execute(select(ImportProblem.code).distinct())}
        assert not codes & {
            "value.unknown_region", "value.outside_jurisdiction", "value.unknown_industry",
            "value.unknown_town",
        }  # fmt: skip
        evaluated = set(s.scalars(select(MujunResult.county_code).distinct()))
    assert evaluated <= set(HANGZHOU) and len(evaluated) == 13
    assert {"mujun", "carbon", "projects"} <= set(run.services)
