"""Hand-made 亩均 and carbon results on top of the web fixtures' store (tests/web_fixtures.py):
one published 亩均 run of 2024 and one carbon run of 2024 over the three enterprises.

Figures are chosen by hand so the pages' tables can be checked without running the engines:

| enterprise | county | 亩均 class / score / rank | carbon grade / K / label |
|---|---|---|---|
| 甲 USCC_WX  | 330502 | A / 92.5 / 1 of 2 | 2 / 0.75 / 低碳2级 |
| 乙 USCC_NX  | 330503 | D / 41.0 / 1 of 1 | 5 / 2.40 / 高碳5级 |
| XSS USCC_XSS | 330502 | B / 70.0 / 2 of 2 | not graded (NO_ENERGY_DATA) |
"""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.domains.carbon import codes
from industry_brain.domains.carbon.models import CarbonResult, CarbonRun
from industry_brain.domains.mujun.models import MujunResult, MujunRun
from industry_brain.store.models import Enterprise
from tests.web_fixtures import USCC_NX, USCC_WX, USCC_XSS

MUJUN = {
    USCC_WX: ("330502", "above", 92.5, 1, 2, "A"),
    USCC_NX: ("330503", "above", 41.0, 1, 1, "D"),
    USCC_XSS: ("330502", "above", 70.0, 2, 2, "B"),
}
CARBON = {
    USCC_WX: ("330502", 0.75, "低碳", 2, "低碳2级", "graded"),
    USCC_NX: ("330503", 2.40, "高碳", 5, "高碳5级", "graded"),
    USCC_XSS: ("330502", None, None, None, None, "NO_ENERGY_DATA"),
}


def seed_domains(engine: Engine) -> None:
    with Session(engine) as s:
        ents = {e.uscc: e for e in s.scalars(select(Enterprise))}
        run = MujunRun(
            year=2024,
            kind="evaluation",
            status="published",
            engine="duckdb",
            parameter_version="test",
            parameters={},
            input_batch_ids=[],
            snapshot={},
            summary={},
            actor="test",
        )
        crun = CarbonRun(
            year=2024,
            engine="duckdb",
            method="huzhou_2021",
            parameter_version="test",
            snapshot_path="-",
            snapshot_created_at="-",
        )
        s.add_all([run, crun])
        s.flush()
        for uscc, (county, kind, score, rank, n, cls) in MUJUN.items():
            e = ents[uscc]
            s.add(
                MujunResult(
                    run_id=run.id,
                    enterprise_id=e.id,
                    uscc=uscc,
                    name=e.name,
                    county_code=county,
                    year=2024,
                    scope=kind,
                    evaluated=True,
                    land_mu=10.0,
                    tax=321.5,
                    score=score,
                    rank_county=rank,
                    n_county=n,
                    class_code=cls,
                    class_rule="threshold",
                )
            )
        for uscc, (county, k, level, grade, label, status) in CARBON.items():
            s.add(
                CarbonResult(
                    run_id=crun.id,
                    enterprise_id=ents[uscc].id,
                    year=2024,
                    method="huzhou_2021",
                    above_scale=True,
                    county_code=county,
                    denominator_item="value_added",
                    denominator=1000.0,
                    co2_net=500.0 if grade else None,
                    intensity=0.5 if grade else None,
                    k_value=k,
                    level=level,
                    grade=grade,
                    label=label,
                    status=status,
                )
            )
        s.commit()
    codes.generate_key()
