"""Questionnaires as versioned YAML validated by a JSON Schema (diagnosis service)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from industry_brain.domains.diagnosis import questionnaire as qn

MINIMAL = {
    "id": "mini",
    "version": "2026.1",
    "title": {"zh": "小问卷", "en": "Mini"},
    "standard": {"zh": "测试", "en": "test"},
    "quality": "DEFAULT",
    "scoring": "levels",
    "levels": [{"level": 1, "name": {"zh": "一级", "en": "One"}}],
    "domains": [
        {
            "code": "d",
            "name": {"zh": "域", "en": "Domain"},
            "subdomains": [
                {
                    "code": "s",
                    "name": {"zh": "子域", "en": "Sub-domain"},
                    "levels": [
                        {
                            "level": 1,
                            "requirements": [
                                {
                                    "code": "s.q1",
                                    "text": {"zh": "要求", "en": "Requirement"},
                                    "tag": "own",
                                    "answer": "yes_no",
                                }
                            ],
                        }
                    ],
                }
            ],
        }
    ],
}


def _write(folder: Path, name: str, doc: dict) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_shipped_questionnaires_load_with_the_structure_of_their_standards() -> None:
    found = {q.id: q for q in qn.latest()}
    assert set(found) == {"cmmm", "dcmm", "lianghua", "ics_security", "g5_factory", "census"}
    cmmm = found["cmmm"]
    elements = {d["element"]["zh"] for d in cmmm.domains}
    assert elements == {"人员", "技术", "资源", "制造"}
    assert (len(cmmm.domains), len(cmmm.subdomains()), cmmm.max_level) == (12, 20, 5)
    assert len(cmmm.requirements) == 100  # one per sub-domain and level
    assert all(r.tag == "paraphrase" for r in cmmm.requirements.values())
    dcmm = found["dcmm"]
    assert (len(dcmm.domains), len(dcmm.subdomains()), dcmm.max_level) == (8, 28, 5)
    assert [lv["name"]["zh"] for lv in found["lianghua"].levels] == [
        "基础建设",
        "单项应用",
        "综合集成",
        "协同创新",
    ]
    census = found["census"].requirements
    assert census["nc.cnc_processes"].applicability == ("discrete",)
    assert census["nc.pcs_processes"].applicability == ("process",)
    assert census["cloud.scope"].when == {"requirement": "cloud.uses_cloud", "in": [True]}
    for q in found.values():
        for r in q.requirements.values():
            assert r.text["zh"] and r.text["en"] and r.tag in ("paraphrase", "own")


@pytest.mark.parametrize(
    ("mutate", "path", "words"),
    [
        (lambda d: d.pop("version"), "$", "'version' is a required property"),
        (
            lambda d: d["domains"][0]["subdomains"][0]["levels"][0]["requirements"][0].update(
                answer="scale"
            ),
            "$.domains[0].subdomains[0].levels[0].requirements[0].answer",
            "'scale' is not one of",
        ),
        (
            lambda d: d["domains"][0]["subdomains"][0].update(applicability=["continuous"]),
            "$.domains[0].subdomains[0].applicability[0]",
            "is not one of",
        ),
        (
            lambda d: d["domains"][0]["subdomains"][0]["levels"][0]["requirements"][0]["text"].pop(
                "en"
            ),
            "$.domains[0].subdomains[0].levels[0].requirements[0].text",
            "'en' is a required property",
        ),
        (
            lambda d: d["domains"][0]["subdomains"][0]["levels"][0]["requirements"][0].update(
                answer="choice"
            ),
            "$.domains[0].subdomains[0].levels[0].requirements[0]",
            "'options' is a required property",
        ),
        (
            lambda d: d["domains"][0]["subdomains"][0]["levels"][0].update(level=2),
            "$.domains[0].subdomains[0].levels[0].level",
            "level 2 is not declared",
        ),
        (
            lambda d: d["domains"][0]["subdomains"][0]["levels"][0]["requirements"][0].update(
                when={"requirement": "s.q9", "in": [True]}
            ),
            "$.domains[0].subdomains[0].levels[0].requirements[0].when.requirement",
            "unknown or later requirement 's.q9'",
        ),
        (
            lambda d: d["domains"][0]["subdomains"][0]["levels"][0]["requirements"][0].update(
                answer="number"
            ),
            "$.domains[0].subdomains[0].levels[0].requirements[0].answer",
            "cannot be a number",
        ),
    ],
)
def test_an_invalid_file_is_a_load_error_naming_file_and_json_path(
    tmp_path: Path, mutate, path: str, words: str
) -> None:
    doc = copy.deepcopy(MINIMAL)
    mutate(doc)
    file = _write(tmp_path, "mini-2026.1.yaml", doc)
    with pytest.raises(qn.QuestionnaireError) as err:
        qn.load_file(file)
    assert err.value.location.file == "mini-2026.1.yaml"
    assert err.value.location.field == path
    assert words in err.value.en
    assert "mini-2026.1.yaml" in str(err.value) and path in str(err.value)


def test_versions_live_side_by_side_and_a_duplicate_version_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "mini-2026.1.yaml", MINIMAL)
    newer = copy.deepcopy(MINIMAL)
    newer["version"] = "2026.2"
    newer["domains"][0]["subdomains"][0]["levels"][0]["requirements"][0]["text"]["zh"] = "新要求"
    _write(tmp_path, "mini-2026.2.yaml", newer)
    found = qn.load_dir(tmp_path)
    assert sorted(found) == ["mini@2026.1", "mini@2026.2"]
    assert found["mini@2026.1"].requirements["s.q1"].text["zh"] == "要求"
    _write(tmp_path, "mini-copy.yaml", MINIMAL)
    with pytest.raises(qn.QuestionnaireError) as err:
        qn.load_dir(tmp_path)
    assert err.value.location.field == "$.version"


def test_the_schema_file_is_valid_json_schema() -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(qn.schema())


def test_concurrent_first_reads_parse_the_shipped_questionnaires_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The first profile pages after a start ask for the questionnaires together: one thread
    parses them, the others get its result (each used to parse them again)."""
    import threading
    import time

    calls = []
    real = qn.load_dir

    def counted(folder: Path) -> dict[str, qn.Questionnaire]:
        calls.append(folder)
        time.sleep(0.2)  # a window in which every other thread arrives
        return real(folder)

    monkeypatch.setattr(qn, "load_dir", counted)
    qn._shipped.cache_clear()
    start = threading.Barrier(8)
    got: list[dict[str, qn.Questionnaire]] = []

    def read() -> None:
        start.wait()
        got.append(qn.shipped())

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    qn._shipped.cache_clear()  # the next test reads the real files again
    assert len(calls) == 1
    assert len(got) == 8 and all(g is got[0] for g in got) and got[0]
