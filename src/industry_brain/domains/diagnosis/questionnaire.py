"""Questionnaires as versioned data: YAML files validated by a JSON Schema.

A questionnaire is model → domains → sub-domains → levels → requirements
(``questionnaire.schema.json``). Each requirement has an answer type (``satisfaction`` on the
GB/T 39117 scale, ``yes_no``, ``number``, ``choice``), may require evidence, carries a weight,
an applicability by industry type (``discrete`` / ``process``), optional skip logic (``when``
another requirement's answer is one of some values) and help text in Chinese and English.
Requirement texts are our own paraphrase (``tag: paraphrase``) or our own question (``own``).

A file is identified by its ``id`` and ``version``; an assessment freezes both, and a new version
is a new file next to the old one, so answers given to an old version keep their meaning.
An invalid file is a :class:`QuestionnaireError` naming the file and the JSON path.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import yaml

from industry_brain.core.errors import Location, ValidationError

HERE = Path(__file__).parent
SCHEMA_PATH = HERE / "questionnaire.schema.json"
SHIPPED_DIR = HERE / "questionnaires"
ANSWER_TYPES = ("satisfaction", "yes_no", "number", "choice")
INDUSTRY_TYPES = ("discrete", "process")


class QuestionnaireError(ValidationError):
    """A questionnaire file breaks the schema or one of the rules the schema cannot express."""


@dataclass(frozen=True)
class Requirement:
    code: str
    questionnaire: str
    domain: str
    subdomain: str
    level: int
    text: dict[str, str]
    answer: str
    tag: str
    weight: float = 1.0
    subdomain_weight: float = 1.0
    required: bool = True
    evidence: bool = False
    applicability: tuple[str, ...] = INDUSTRY_TYPES
    options: tuple[dict[str, Any], ...] = ()
    when: dict[str, Any] | None = None
    help: dict[str, str] | None = None
    unit: str | None = None
    quality: str | None = None

    def applies_to(self, industry_type: str) -> bool:
        return industry_type in self.applicability


@dataclass
class Questionnaire:
    id: str
    version: str
    title: dict[str, str]
    standard: dict[str, str]
    quality: str
    scoring: str
    levels: list[dict[str, Any]]
    domains: list[dict[str, Any]]
    file: str
    source: str | None = None
    note: dict[str, str] | None = None
    requirements: dict[str, Requirement] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def max_level(self) -> int:
        return max(lv["level"] for lv in self.levels)

    def level_name(self, level: int, lang: str = "zh") -> str:
        for lv in self.levels:
            if lv["level"] == level:
                return lv["name"][lang]
        return ""

    def subdomains(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(domain, sub-domain) pairs in questionnaire order."""
        return [(d, s) for d in self.domains for s in d["subdomains"]]

    def catalog(self) -> pd.DataFrame:
        """One row per requirement: the table the scoring joins answers with."""
        rows = [
            {
                "questionnaire": self.id,
                "version": self.version,
                "domain": r.domain,
                "subdomain": r.subdomain,
                "subdomain_weight": float(r.subdomain_weight),
                "level": r.level,
                "requirement": r.code,
                "weight": float(r.weight),
                "answer_type": r.answer,
                "discrete": "discrete" in r.applicability,
                "process": "process" in r.applicability,
            }
            for r in self.requirements.values()
        ]
        return pd.DataFrame(rows)


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _error(file: str, path: str, zh: str, en: str, value: Any = None) -> QuestionnaireError:
    return QuestionnaireError(
        "diagnosis.questionnaire", zh, en, Location(file=file, field=path), value
    )


def parse(data: Any, file: str) -> Questionnaire:
    """Validate ``data`` (a loaded YAML document) and build the questionnaire."""
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        path = best.json_path
        raise _error(
            file,
            path,
            f"问卷不符合模式（{path}）：{best.message}",
            f"questionnaire breaks the schema at {path}: {best.message}",
        )
    declared = {lv["level"] for lv in data["levels"]}
    if declared != set(range(1, len(declared) + 1)) or len(declared) != len(data["levels"]):
        raise _error(
            file,
            "$.levels",
            "等级应为从 1 起连续且不重复的整数",
            "levels must be distinct consecutive integers from 1",
        )
    q = Questionnaire(
        id=data["id"],
        version=data["version"],
        title=data["title"],
        standard=data["standard"],
        quality=data["quality"],
        scoring=data["scoring"],
        levels=sorted(data["levels"], key=lambda lv: lv["level"]),
        domains=data["domains"],
        file=file,
        source=data.get("source"),
        note=data.get("note"),
    )
    seen_sub: set[str] = set()
    seen_dom: set[str] = set()
    for di, d in enumerate(data["domains"]):
        if d["code"] in seen_dom:
            raise _error(
                file,
                f"$.domains[{di}].code",
                f"能力域代码“{d['code']}”重复",
                f"domain code '{d['code']}' is repeated",
            )
        seen_dom.add(d["code"])
        for si, s in enumerate(d["subdomains"]):
            where = f"$.domains[{di}].subdomains[{si}]"
            if s["code"] in seen_sub:
                raise _error(
                    file,
                    f"{where}.code",
                    f"能力子域代码“{s['code']}”重复",
                    f"sub-domain code '{s['code']}' is repeated",
                )
            seen_sub.add(s["code"])
            sub_app = tuple(s.get("applicability", INDUSTRY_TYPES))
            for li, block in enumerate(s["levels"]):
                if block["level"] not in declared:
                    raise _error(
                        file,
                        f"{where}.levels[{li}].level",
                        f"等级 {block['level']} 未在 levels 中声明",
                        f"level {block['level']} is not declared in levels",
                    )
                for ri, r in enumerate(block["requirements"]):
                    rpath = f"{where}.levels[{li}].requirements[{ri}]"
                    _add_requirement(q, r, d["code"], s, block["level"], sub_app, file, rpath)
    return q


def _add_requirement(
    q: Questionnaire,
    r: dict[str, Any],
    domain: str,
    s: dict[str, Any],
    level: int,
    sub_app: tuple[str, ...],
    file: str,
    rpath: str,
) -> None:
    if r["code"] in q.requirements:
        raise _error(
            file,
            f"{rpath}.code",
            f"要求代码“{r['code']}”重复",
            f"requirement code '{r['code']}' is repeated",
        )
    app = tuple(r.get("applicability", sub_app))
    if not set(app) <= set(sub_app):
        raise _error(
            file,
            f"{rpath}.applicability",
            "要求的适用类型超出其能力子域的适用类型",
            "a requirement applies to an industry type its sub-domain does not",
        )
    when = r.get("when")
    if when is not None:
        target = q.requirements.get(when["requirement"])
        if target is None:
            raise _error(
                file,
                f"{rpath}.when.requirement",
                f"跳题条件引用了未知或靠后的要求“{when['requirement']}”",
                f"skip logic names an unknown or later requirement '{when['requirement']}'",
            )
        allowed = (
            {o["value"] for o in target.options}
            if target.answer == "choice"
            else {True, False}
            if target.answer == "yes_no"
            else None
        )
        if allowed is None or not set(when["in"]) <= allowed:
            raise _error(
                file,
                f"{rpath}.when.in",
                "跳题条件的取值不是所引用要求的可选答案",
                "skip logic values are not answers the named requirement can take",
            )
    if q.scoring in ("levels", "dcmm", "checklist") and r["answer"] == "number":
        raise _error(
            file,
            f"{rpath}.answer",
            "计分问卷的要求不能是数值题",
            "a requirement of a scored questionnaire cannot be a number",
        )
    if r["answer"] == "choice" and q.scoring != "survey":
        missing = [o["value"] for o in r["options"] if "satisfaction" not in o]
        if missing:
            raise _error(
                file,
                f"{rpath}.options",
                f"计分问卷的选项须给出满足程度：{missing}",
                f"options of a scored questionnaire need a satisfaction: {missing}",
            )
    q.requirements[r["code"]] = Requirement(
        code=r["code"],
        questionnaire=q.id,
        domain=domain,
        subdomain=s["code"],
        level=level,
        text=r["text"],
        answer=r["answer"],
        tag=r["tag"],
        weight=float(r.get("weight", 1.0)),
        subdomain_weight=float(s.get("weight", 1.0)),
        required=bool(r.get("required", True)),
        evidence=bool(r.get("evidence", False)),
        applicability=app,
        options=tuple(r.get("options", ())),
        when=when,
        help=r.get("help"),
        unit=r.get("unit"),
        quality=r.get("quality"),
    )


def load_file(path: Path) -> Questionnaire:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _error(path.name, "$", f"不是合法 YAML：{exc}", f"not valid YAML: {exc}") from exc
    return parse(data, path.name)


def load_dir(folder: Path) -> dict[str, Questionnaire]:
    """Every questionnaire of ``folder`` by ``id@version``; two files with the same id and
    version are an error."""
    out: dict[str, Questionnaire] = {}
    for path in sorted(folder.glob("*.yaml")):
        q = load_file(path)
        if q.key in out:
            raise _error(
                path.name,
                "$.version",
                f"问卷 {q.id} 的版本 {q.version} 已在 {out[q.key].file} 中定义",
                f"questionnaire {q.id} version {q.version} is already defined in {out[q.key].file}",
            )
        out[q.key] = q
    return out


_SHIPPED_LOCK = threading.Lock()


def shipped() -> dict[str, Questionnaire]:
    """The shipped questionnaires, parsed once per process (≈ 0.35 s of YAML and schema
    checks). The first profile pages after a start arrive together: under the lock one thread
    parses while the others wait for its result, instead of each parsing them again (25
    concurrent parses took each worker ≈ 9 s of CPU)."""
    with _SHIPPED_LOCK:
        return _shipped()


@cache
def _shipped() -> dict[str, Questionnaire]:
    return load_dir(SHIPPED_DIR)


def get(qid: str, version: str | None = None) -> Questionnaire:
    """A shipped questionnaire: the given version, or the latest of ``qid``."""
    found = shipped()
    if version is not None:
        q = found.get(f"{qid}@{version}")
    else:
        versions = [q for q in found.values() if q.id == qid]
        q = (
            max(versions, key=lambda q: tuple(int(p) for p in q.version.split(".")))
            if versions
            else None
        )
    if q is None:
        raise _error(
            qid,
            "$.id",
            f"没有问卷 {qid}{'@' + version if version else ''}",
            f"no questionnaire {qid}{'@' + version if version else ''}",
        )
    return q


def latest() -> list[Questionnaire]:
    """The latest version of every shipped questionnaire, by id."""
    return [get(qid) for qid in sorted({q.id for q in shipped().values()})]
