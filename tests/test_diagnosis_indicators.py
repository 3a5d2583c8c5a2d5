"""County digital indicators from the census, equal to a hand count, on DuckDB and PySpark; and
through the store: evaluated firms, the published comparisons and the stage distribution."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.domains.diagnosis import indicators, questionnaire, service
from industry_brain.domains.diagnosis.models import DiagnosisResult, DiagnosisRun
from industry_brain.store.models import Enterprise, User
from industry_brain.store.scope import scope_for
from industry_brain.warehouse import engines

# enterprise, county, key processes, on CNC, under process control, design tools, chain, cloud
FIRMS = [
    (1, "330502", 10, 6, None, "yes", "no", "yes"),
    (2, "330502", 5, None, 5, "no", "no", "no"),
    (3, "330502", 8, 0, None, "yes", "yes", "yes"),
    (4, "330503", 4, 1, None, "yes", "yes", "no"),
]
HAND = {  # by hand from FIRMS
    "330502": {
        "evaluated": 3,
        "nc_rate": (6 + 5 + 0) / (10 + 5 + 8),
        "design_tools": 2 / 3,
        "chain_collaboration": 1 / 3,
        "cloud": 2 / 3,
    },
    "330503": {
        "evaluated": 1,
        "nc_rate": 1 / 4,
        "design_tools": 1.0,
        "chain_collaboration": 1.0,
        "cloud": 0.0,
    },
    "total": {
        "evaluated": 4,
        "nc_rate": 12 / 27,
        "design_tools": 3 / 4,
        "chain_collaboration": 2 / 4,
        "cloud": 2 / 4,
    },
}


def _answers() -> pd.DataFrame:
    rows = []
    for eid, county, kp, cnc, pcs, design, chain, cloud in FIRMS:
        for code, value in (
            ("nc.key_processes", kp),
            ("nc.cnc_processes", cnc),
            ("nc.pcs_processes", pcs),
            ("design.digital_tools", design),
            ("chain.collaboration", chain),
            ("cloud.uses_cloud", cloud),
        ):
            if value is not None:
                rows.append((eid, county, code, str(value)))
    return pd.DataFrame(rows, columns=list(indicators.ANSWERS_SCHEMA))


def _definitions() -> dict:
    params = parameters.load_dirs([questionnaire.HERE / "parameters"])
    return params.get("diagnosis.indicators.definitions")


@pytest.mark.parametrize("engine_name", ["duckdb", "pyspark"])
def test_indicators_equal_a_hand_count(engine_name: str) -> None:
    con = (
        ibis.duckdb.connect()
        if engine_name == "duckdb"
        else ibis.pyspark.connect(engines.spark_session())
    )
    out = indicators.compute(con, _answers(), _definitions()).set_index("county_code")
    assert sorted(out.index) == ["330502", "330503", "total"]
    for county, expected in HAND.items():
        assert int(out.loc[county, "evaluated"]) == expected["evaluated"]
        for name in ("nc_rate", "design_tools", "chain_collaboration", "cloud"):
            assert out.loc[county, name] == pytest.approx(expected[name], abs=1e-12), (county, name)
    assert out.loc["330502", "nc_rate_num"] == 11 and out.loc["330502", "nc_rate_den"] == 23


def test_indicators_through_the_store(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as s:
        scopes = {}
        for eid, county, *_ in FIRMS:
            uscc = f"9133050{eid}MA2B3C4D5B"[:18]
            e = Enterprise(uscc=uscc, name=f"企业{eid}", county_code=county, status="存续")
            s.add(e)
            s.flush()
            u = User(
                username=f"e{eid}", display_name=f"企业{eid}", role="enterprise", enterprise_id=e.id
            )
            s.add(u)
            s.flush()
            scopes[eid] = (scope_for(u), uscc)
        s.commit()
        for eid, _, kp, cnc, pcs, design, chain, cloud in FIRMS:
            scope, uscc = scopes[eid]
            kind = "process" if pcs is not None else "discrete"
            a = service.start(s, scope, uscc, "census", 2025, kind)
            answers = {
                "nc.key_processes": str(kp),
                "nc.cnc_processes": None if cnc is None else str(cnc),
                "nc.pcs_processes": None if pcs is None else str(pcs),
                "design.digital_tools": design,
                "chain.collaboration": chain,
                "cloud.uses_cloud": cloud,
            }
            if cloud == "yes":
                answers["cloud.scope"] = "management"
            service.save_answers(s, scope, a.id, {k: v for k, v in answers.items() if v})
            if eid != 4:
                service.submit(s, scope, a.id)
        # firm 4 left its census as a draft: it is not evaluated
        out = indicators.indicators(s, 2025)
        rows = {r["county_code"]: r for r in out["rows"]}
        assert sorted(rows) == ["330502", "total"]
        assert rows["330502"]["county_name"] == "吴兴区" and rows["330502"]["evaluated"] == 3
        assert rows["total"]["nc_rate"] == {
            "value": pytest.approx(11 / 23),
            "numerator": 11.0,
            "denominator": 23.0,
        }
        assert out["published"]["nation"]["value"]["nc_rate"] == 0.553
        assert out["published"]["nation"]["quality"] == "V"
        assert out["published"]["province"]["quality"] == "SEED"
        # stage and DCMM distributions: counts of the newest published run's rows
        ids = {
            eid: s.scalar(select(Enterprise.id).where(Enterprise.uscc == u))
            for eid, (_, u) in scopes.items()
        }
        old = DiagnosisRun(
            year=2025, engine="duckdb", parameter_version="x", status="published", actor="t"
        )
        new = DiagnosisRun(
            year=2025, engine="duckdb", parameter_version="x", status="published", actor="t"
        )
        s.add_all([old, new])
        s.flush()
        s.add(
            DiagnosisResult(
                run_id=old.id,
                enterprise_id=ids[1],
                year=2025,
                county_code="330502",
                lianghua_stage=4,
            )
        )
        for eid, county, stage, dcmm in (
            (1, "330502", 2, None),
            (2, "330502", 2, 1),
            (3, "330502", 3, None),
            (4, "330503", 1, 3),
        ):
            s.add(
                DiagnosisResult(
                    run_id=new.id,
                    enterprise_id=ids[eid],
                    year=2025,
                    county_code=county,
                    lianghua_stage=stage,
                    dcmm_level=dcmm,
                )
            )
        s.commit()
        dist = indicators.distributions(s, 2025)
        assert dist["330502"] == {"lianghua_stage": {2: 2, 3: 1}, "dcmm_level": {1: 1}}
        assert dist["total"] == {"lianghua_stage": {1: 1, 2: 2, 3: 1}, "dcmm_level": {1: 1, 3: 1}}
