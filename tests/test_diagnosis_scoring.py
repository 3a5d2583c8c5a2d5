"""Golden tests of the GB/T 39117 scoring (diagnosis service), computed by hand, on DuckDB and
PySpark: a sub-domain exactly at 0.8, a skipped level, non-applicable and skipped sub-domains,
an unanswered requirement, DCMM's composite and a checklist."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from industry_brain.core import parameters
from industry_brain.domains.diagnosis import questionnaire, score
from industry_brain.warehouse import engines


def _req(code: str, answer: str = "satisfaction", **kw) -> dict:
    return {"code": code, "text": {"zh": code, "en": code}, "tag": "own", "answer": answer, **kw}


def _levels(n: int) -> list[dict]:
    return [{"level": i, "name": {"zh": f"级{i}", "en": f"L{i}"}} for i in range(1, n + 1)]


def _sub(code: str, reqs: dict[int, list[dict]], **kw) -> dict:
    return {
        "code": code,
        "name": {"zh": code, "en": code},
        "levels": [{"level": lv, "requirements": rs} for lv, rs in reqs.items()],
        **kw,
    }


LEVELS_Q = questionnaire.parse(
    {
        "id": "golden",
        "version": "2026.1",
        "title": {"zh": "金标", "en": "Golden"},
        "standard": {"zh": "测试", "en": "test"},
        "quality": "DEFAULT",
        "scoring": "levels",
        "levels": _levels(3),
        "domains": [
            {
                "code": "a",
                "name": {"zh": "甲", "en": "A"},
                "subdomains": [
                    _sub(
                        "a1",
                        {
                            1: [_req("r1", weight=3), _req("r2", weight=2)],
                            2: [_req("r3")],
                            3: [_req("r4")],
                        },
                    ),
                    _sub(
                        "a2",
                        {1: [_req("r5")], 2: [_req("r6")], 3: [_req("r7")]},
                        applicability=["discrete"],
                    ),
                ],
            },
            {
                "code": "b",
                "name": {"zh": "乙", "en": "B"},
                "subdomains": [
                    _sub("b1", {1: [_req("r8")], 2: [_req("r9")], 3: [_req("r10")]}, weight=2)
                ],
            },
        ],
    },
    "golden.yaml",
)

DCMM_Q = questionnaire.parse(
    {
        "id": "golden_dcmm",
        "version": "2026.1",
        "title": {"zh": "金标", "en": "Golden"},
        "standard": {"zh": "测试", "en": "test"},
        "quality": "DEFAULT",
        "scoring": "dcmm",
        "levels": _levels(2),
        "domains": [
            {
                "code": "x",
                "name": {"zh": "X", "en": "X"},
                "subdomains": [
                    _sub("x1", {1: [_req("x1.1")], 2: [_req("x1.2")]}),
                    _sub("x2", {1: [_req("x2.1")], 2: [_req("x2.2")]}),
                ],
            },
            {
                "code": "y",
                "name": {"zh": "Y", "en": "Y"},
                "subdomains": [_sub("y1", {1: [_req("y1.1")], 2: [_req("y1.2")]})],
            },
        ],
    },
    "golden_dcmm.yaml",
)

CHECK_Q = questionnaire.parse(
    {
        "id": "golden_check",
        "version": "2026.1",
        "title": {"zh": "金标", "en": "Golden"},
        "standard": {"zh": "测试", "en": "test"},
        "quality": "DEFAULT",
        "scoring": "checklist",
        "levels": _levels(1),
        "domains": [
            {
                "code": "k",
                "name": {"zh": "K", "en": "K"},
                "subdomains": [
                    _sub("k", {1: [_req(f"k{i}", "yes_no") for i in range(1, 5)]}),
                ],
            }
        ],
    },
    "golden_check.yaml",
)

BASE = {  # assessment 1's answers (a2 answered although it does not apply to a process firm)
    "r1": "full",
    "r2": "partly",  # a1 level 1: (3 × 1 + 2 × 0.5) / 5 = 0.8 exactly → met
    "r3": "largely",  # a1 level 2: 0.8 → met
    "r4": "none",
    "r5": "none",
    "r8": "full",
    "r9": "partly",  # b1 level 2: 0.5 → not met
    "r10": "full",  # b1 level 3: 1.0 but level 2 is skipped → not counted
}
ASSESSMENTS = [
    # id, questionnaire, industry type, answers, skipped requirements
    (1, LEVELS_Q, "process", BASE, []),
    (2, LEVELS_Q, "discrete", {**BASE, "r5": "full", "r6": "full", "r7": "full"}, []),
    (
        3,
        LEVELS_Q,
        "discrete",
        {"r1": "full", "r2": "full", "r5": "full", "r8": "full", "r3": "none", "r6": "none"}
        | {"r9": "none", "r4": "full", "r10": "full"},  # r7 unanswered → 0
        [],
    ),
    (4, LEVELS_Q, "discrete", {f"r{i}": "full" for i in range(1, 11)}, []),
    (5, LEVELS_Q, "process", {f"r{i}": "none" for i in range(1, 11)}, []),
    (6, LEVELS_Q, "discrete", BASE, ["r5", "r6", "r7"]),  # a2 skipped by skip logic
    (
        7,
        DCMM_Q,
        "process",
        {"x1.1": "full", "x1.2": "full", "x2.1": "full", "x2.2": "partly", "y1.1": "partly"}
        | {"y1.2": "full"},
        [],
    ),
    (8, CHECK_Q, "discrete", {"k1": "yes", "k2": "yes", "k3": "yes", "k4": "no"}, []),
    (9, CHECK_Q, "process", {"k1": "yes", "k2": "yes", "k3": "yes", "k4": "yes"}, []),
]


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    a = pd.DataFrame(
        [
            {
                "assessment_id": i,
                "questionnaire": q.id,
                "version": q.version,
                "industry_type": kind,
            }
            for i, q, kind, _, _ in ASSESSMENTS
        ]
    )
    rows = []
    for i, _, _, answers, skipped in ASSESSMENTS:
        rows += [
            {"assessment_id": i, "requirement": r, "value": v, "skipped": r in skipped}
            for r, v in answers.items()
        ]
        rows += [
            {"assessment_id": i, "requirement": r, "value": None, "skipped": True}
            for r in skipped
            if r not in answers
        ]
    return a, pd.DataFrame(rows)


@pytest.fixture(scope="module", params=["duckdb", "pyspark"])
def scores(request) -> score.Scores:
    con = (
        ibis.duckdb.connect()
        if request.param == "duckdb"
        else ibis.pyspark.connect(engines.spark_session())
    )
    a, answers = _frames()
    # the service's own parameter folder only: the golden numbers do not depend on other files
    params = parameters.load_dirs([questionnaire.HERE / "parameters"])
    rules = score.Rules.load(params=params)
    assert (rules.pass_threshold, rules.satisfaction["largely"]) == (0.8, 0.8)
    return score.score(con, [LEVELS_Q, DCMM_Q, CHECK_Q], a, answers, rules)


def _overall(scores: score.Scores) -> pd.DataFrame:
    return scores.overall.set_index("assessment_id")


def _sub(scores: score.Scores, i: int) -> dict[str, tuple[int, float]]:
    s = scores.subdomains[scores.subdomains.assessment_id == i]
    return {r.subdomain: (int(r.level), round(float(r.score), 12)) for r in s.itertuples()}


def test_a_subdomain_exactly_at_the_threshold_meets_the_level(scores) -> None:
    sl = scores.subdomain_levels
    a1 = sl[(sl.assessment_id == 1) & (sl.subdomain == "a1")].set_index("level")["score"]
    assert a1.tolist() == pytest.approx([0.8, 0.8, 0.0], abs=1e-12)
    assert _sub(scores, 1)["a1"] == (2, 2.0)  # 2 + level-3 score 0


def test_a_skipped_level_does_not_count(scores) -> None:
    # b1: level 1 = 1, level 2 = 0.5 (not met), level 3 = 1 (met alone, but level 2 is not)
    assert _sub(scores, 1)["b1"] == (1, 1.5)
    # assessment 3: levels 1 and 3 fully met, level 2 not at all → level 1, score 1 + 0
    ov = _overall(scores)
    assert (ov.loc[3, "level"], ov.loc[3, "score"]) == (1, pytest.approx(1.0, abs=1e-12))


def test_non_applicable_subdomains_are_left_out(scores) -> None:
    ov = _overall(scores)
    # process firm: a2 does not apply.
    # level 1 = (1 × 0.8 + 2 × 1) / 3, level 2 = (0.8 + 2 × 0.5) / 3
    lv = scores.levels[scores.levels.assessment_id == 1].set_index("level")["score"]
    assert lv.tolist() == pytest.approx([2.8 / 3, 1.8 / 3, 2.0 / 3], abs=1e-12)
    assert (ov.loc[1, "level"], ov.loc[1, "score"]) == (1, pytest.approx(1.6, abs=1e-12))
    assert set(_sub(scores, 1)) == {"a1", "b1"}
    # discrete firm: a2 counts. Level 2 = (0.8 + 1 + 2 × 0.5) / 4 = 0.7
    assert (ov.loc[2, "level"], ov.loc[2, "score"]) == (1, pytest.approx(1.7, abs=1e-12))
    assert _sub(scores, 2)["a2"] == (3, 3.0)
    dom = scores.domains[scores.domains.assessment_id == 2].set_index("domain")["score"]
    assert dom.to_dict() == pytest.approx({"a": 2.5, "b": 1.5}, abs=1e-12)
    dom1 = scores.domains[scores.domains.assessment_id == 1].set_index("domain")["score"]
    assert dom1.to_dict() == pytest.approx({"a": 2.0, "b": 1.5}, abs=1e-12)
    # skip logic: a discrete firm whose a2 answers are all skipped scores as the process firm
    assert (ov.loc[6, "level"], ov.loc[6, "score"]) == (1, pytest.approx(1.6, abs=1e-12))
    assert set(_sub(scores, 6)) == {"a1", "b1"}


def test_unanswered_counts_as_not_satisfied_and_the_ends_of_the_scale(scores) -> None:
    lv = scores.levels[scores.levels.assessment_id == 3].set_index("level")["score"]
    # level 3: a1 r4 = 1, a2 r7 unanswered = 0, b1 (weight 2) r10 = 1 → (1 + 0 + 2) / 4
    assert lv[3] == pytest.approx(0.75, abs=1e-12)
    ov = _overall(scores)
    assert (ov.loc[4, "level"], ov.loc[4, "score"]) == (3, pytest.approx(3.0))
    assert (ov.loc[5, "level"], ov.loc[5, "score"]) == (0, pytest.approx(0.0))


def test_dcmm_composite_is_the_mean_of_the_areas(scores) -> None:
    ov = _overall(scores)
    # items: x1 = 2 + 0 = 2.0; x2 = 1 + 0.5 = 1.5; y1: level 1 = 0.5 not met → 0 + 0.5
    assert _sub(scores, 7) == {"x1": (2, 2.0), "x2": (1, 1.5), "y1": (0, 0.5)}
    # areas: X = (2.0 + 1.5) / 2 = 1.75, Y = 0.5; composite = 1.125 → level floor = 1
    assert ov.loc[7, "composite"] == pytest.approx(1.125, abs=1e-12)
    assert (ov.loc[7, "level"], ov.loc[7, "score"]) == (1, pytest.approx(1.125, abs=1e-12))


def test_checklist_scores_the_share_met(scores) -> None:
    ov = _overall(scores)
    assert (ov.loc[8, "level"], ov.loc[8, "score"]) == (0, pytest.approx(0.75, abs=1e-12))
    assert (ov.loc[9, "level"], ov.loc[9, "score"]) == (1, pytest.approx(1.0, abs=1e-12))
    assert ov.loc[9, "scoring"] == "checklist"
