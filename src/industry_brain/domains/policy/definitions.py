"""Policy definitions (政策定义): dated YAML files under ``parameters/policies/``.

One file per policy, ``<id>.yaml``; regional overrides ``<id>.<GB/T 2260 code>.yaml`` may set the
values of parameters the policy declares (resolved county → city → province → policy file, like
every platform parameter); OpenFisca-style test cases live beside them in ``<id>.tests.yaml``.

A policy names its title, issuing document and link, region, target (enterprise, project or
loan), kind (benefit, or charge for a surcharge), period in force, eligibility conditions and the
amount formula in the safe grammar of :mod:`.grammar`, its parameters (each with source and
quality tag, or ``ref`` to a platform parameter such as ``mujun.measures.land_use_tax_relief``),
the stacking group and the budget rationing rule. A malformed policy is a load error that names
the file, the key and — for an expression — the line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticError

from industry_brain.core import parameters as core_params
from industry_brain.core.errors import IBError, Location
from industry_brain.domains.policy.grammar import GrammarError, Parsed, parse

POLICY_DIR = Path(__file__).parent / "parameters" / "policies"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_BASE = re.compile(r"^(?P<id>[a-z][a-z0-9_]*)\.ya?ml$")
_REGION = re.compile(r"^(?P<id>[a-z][a-z0-9_]*)\.(?P<region>\d{6})\.ya?ml$")
_TESTS = re.compile(r"^(?P<id>[a-z][a-z0-9_]*)\.tests\.ya?ml$")


class PolicyError(IBError):
    """A policy file is malformed, or a policy lookup failed."""


class Text(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: str
    en: str


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: str
    en: str
    link: str | None = None


class Period(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: date
    until: date | None = None


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    zh: str
    en: str
    when: str
    gap_scale: str | None = None  # the gap × this ≈ 万元 still needed (e.g. facts.revenue)


class Amount(BaseModel):
    model_config = ConfigDict(extra="forbid")
    formula: str
    floor: str | None = None
    cap: str | None = None
    cap_per_enterprise: str | None = None
    unit: Literal["万元"] = "万元"
    zh: str | None = None
    en: str | None = None


class Stacking(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group: str
    rule: Literal["highest"] = "highest"


class Rationing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: Literal["pro_rata", "rank", "first_come"] = "pro_rata"
    by: str | None = None  # rank: an expression, highest first; first_come: earliest first


class ParamRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: str
    description: str | None = None


class PolicySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: Text
    document: Document
    source: str
    quality: core_params.Quality
    region: str | None = None
    target: Literal["enterprise", "project", "loan"] = "enterprise"
    kind: Literal["benefit", "charge"] = "benefit"
    period: Period
    conditions: list[Condition] = Field(min_length=1)
    amount: Amount
    parameters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    stacking: Stacking | None = None
    rationing: Rationing = Field(default_factory=Rationing)
    budget: str | None = None  # the name of the parameter holding the yearly budget (万元)

    @model_validator(mode="after")
    def _check(self) -> PolicySpec:
        if self.region is not None and not re.fullmatch(r"\d{6}", self.region):
            raise ValueError(f"region '{self.region}' is not a 6-digit GB/T 2260 code")
        if self.period.until is not None and self.period.until <= self.period.since:
            raise ValueError("period.until is not after period.since")
        if self.rationing.rule == "rank" and not self.rationing.by:
            raise ValueError("rationing rule 'rank' needs 'by' (an expression)")
        ids = [c.id for c in self.conditions]
        if len(set(ids)) != len(ids):
            raise ValueError("condition ids must be unique")
        return self


@dataclass
class Policy:
    """A loaded policy: its spec, parsed expressions (by YAML key) and parameters."""

    spec: PolicySpec
    file: str
    exprs: dict[str, Parsed]
    params: dict[str, core_params.ParameterSpec | ParamRef]
    regional: dict[str, dict[str, core_params.ParameterSpec]] = field(default_factory=dict)
    tests_file: Path | None = None

    @property
    def id(self) -> str:
        return self.spec.id

    def in_force(self, on: date) -> bool:
        p = self.spec.period
        return p.since <= on and (p.until is None or on < p.until)

    def applies_to(self, county: str | None) -> bool:
        """The policy's region covers ``county`` (a province or city code covers its parts)."""
        region = self.spec.region
        if region is None:
            return True
        if not county:
            return False
        return county.startswith(region_prefix(region))

    def resolve(self, name: str, county: str | None, on: date) -> core_params.Resolved:
        """Parameter ``name`` for ``county`` on ``on`` (regional override first)."""
        spec = self.params.get(name)
        if spec is None:
            raise PolicyError(
                "policy.param_unknown",
                f"政策 {self.id} 没有参数“{name}”",
                f"policy {self.id} has no parameter '{name}'",
                Location(file=self.file, field=f"parameters.{name}"),
            )
        if isinstance(spec, ParamRef):
            return core_params.load().resolve(spec.ref, region=county, on=on)
        for code in core_params.region_chain(county):
            override = self.regional.get(code, {}).get(name)
            if override is not None:
                entry = core_params._in_force(override, on)
                if entry is not None:
                    return core_params._resolved(
                        f"{self.id}.{name}",
                        core_params._Param(override, f"{self.id}.{code}.yaml"),
                        entry,
                        code,
                    )
        entry = core_params._in_force(spec, on)
        if entry is None:
            raise PolicyError(
                "policy.param_not_in_force",
                f"政策 {self.id} 的参数“{name}”在 {on} 没有生效的取值",
                f"parameter '{name}' of policy {self.id} has no value in force on {on}",
                Location(file=self.file, field=f"parameters.{name}"),
            )
        return core_params._resolved(
            f"{self.id}.{name}", core_params._Param(spec, self.file), entry, None
        )


def region_prefix(region: str) -> str:
    """The county-code prefix a region covers: 330000 → 33, 320500 → 3205, 330502 → 330502."""
    if region.endswith("0000"):
        return region[:2]
    if region.endswith("00"):
        return region[:4]
    return region


def _error(file: str, key: str, zh: str, en: str, line: int | None = None, col: int | None = None):  # type: ignore[no-untyped-def]
    where = f" (line {line}, column {col})" if line else ""
    where_zh = f"（第 {line} 行第 {col} 列）" if line else ""
    return PolicyError(
        "policy.invalid",
        f"政策文件 {file} 的 {key} 有误{where_zh}：{zh}",
        f"policy file {file}, key {key}{where}: {en}",
        Location(file=file, field=key, row=line, column=str(col) if col else None),
    )


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise _error(
            path.name, "(yaml)", "不是合法 YAML", f"not valid YAML: {exc}", line, col
        ) from exc


def _param_spec(file: str, key: str, raw: Any) -> core_params.ParameterSpec:
    try:
        return core_params._parse(key, raw, file)
    except core_params.ParameterError as exc:
        raise _error(file, key, exc.zh, exc.en) from exc


def parse_policy(raw: Any, file: str, expect_id: str | None = None) -> Policy:
    """Validate one policy document (a dict read from ``file``) → :class:`Policy`."""
    if not isinstance(raw, dict):
        raise _error(file, "(top)", "顶层应为映射", "the top level must be a mapping")
    try:
        spec = PolicySpec.model_validate(raw)
    except PydanticError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise _error(file, key, first["msg"], first["msg"]) from exc
    if not _ID.match(spec.id) or (expect_id is not None and spec.id != expect_id):
        raise _error(
            file, "id", f"应与文件名一致（{expect_id}）", f"must equal the file name ({expect_id})"
        )
    params: dict[str, core_params.ParameterSpec | ParamRef] = {}
    for name, body in spec.parameters.items():
        key = f"parameters.{name}"
        if not _ID.match(name):
            raise _error(file, key, "参数名不合法", "invalid parameter name")
        if isinstance(body, dict) and "ref" in body:
            try:
                ref = ParamRef.model_validate(body)
            except PydanticError as exc:
                raise _error(
                    file, key, str(exc.errors()[0]["msg"]), str(exc.errors()[0]["msg"])
                ) from exc
            if ref.ref not in core_params.load().base:
                raise _error(
                    file,
                    key,
                    f"平台参数 {ref.ref} 不存在",
                    f"platform parameter {ref.ref} does not exist",
                )
            params[name] = ref
        else:
            params[name] = _param_spec(file, key, body)
    if spec.budget is not None and spec.budget not in params:
        raise _error(file, "budget", "应为已声明的参数名", "must name a declared parameter")
    exprs: dict[str, Parsed] = {}
    texts: list[tuple[str, str | None]] = [
        (f"conditions[{i}].when", c.when) for i, c in enumerate(spec.conditions)
    ]
    texts += [(f"conditions[{i}].gap_scale", c.gap_scale) for i, c in enumerate(spec.conditions)]
    texts += [
        ("amount.formula", spec.amount.formula),
        ("amount.floor", spec.amount.floor),
        ("amount.cap", spec.amount.cap),
        ("amount.cap_per_enterprise", spec.amount.cap_per_enterprise),
        ("rationing.by", spec.rationing.by),
    ]
    for key, text in texts:
        if text is None:
            continue
        try:
            parsed = parse(str(text))
        except GrammarError as exc:
            raise _error(file, key, str(exc), str(exc), exc.line, exc.column) from exc
        for ref in parsed.refs:
            ns, name = ref.split(".")
            if ns == "param" and name not in params:
                raise _error(file, key, f"未声明的参数 {name}", f"undeclared parameter '{name}'")
            if ns == "project" and spec.target != "project":
                raise _error(
                    file,
                    key,
                    "只有 target: project 的政策可引用 project",
                    "project.* needs target: project",
                )
            if ns == "loan" and spec.target != "loan":
                raise _error(
                    file, key, "只有 target: loan 的政策可引用 loan", "loan.* needs target: loan"
                )
        exprs[key] = parsed
    return Policy(spec=spec, file=file, exprs=exprs, params=params)


def load_dir(folder: Path = POLICY_DIR) -> dict[str, Policy]:
    """Every policy of ``folder`` with its regional overrides and test-case file, by id."""
    policies: dict[str, Policy] = {}
    overrides: list[tuple[str, str, Path]] = []
    tests: dict[str, Path] = {}
    for path in sorted(Path(folder).glob("*.y*ml")):
        if m := _TESTS.match(path.name):
            tests[m["id"]] = path
        elif m := _REGION.match(path.name):
            overrides.append((m["id"], m["region"], path))
        elif m := _BASE.match(path.name):
            policies[m["id"]] = parse_policy(_read(path), path.name, m["id"])
        else:
            raise _error(
                path.name,
                "(file name)",
                "文件名应为 ID.yaml、ID.地区代码.yaml 或 ID.tests.yaml",
                "file name must be ID.yaml, ID.REGION.yaml or ID.tests.yaml",
            )
    for pid, region, path in overrides:
        if pid not in policies:
            raise _error(path.name, "(file name)", f"没有政策 {pid}", f"no policy {pid}")
        raw = _read(path)
        if not isinstance(raw, dict) or set(raw) - {"parameters", "source", "quality"}:
            raise _error(
                path.name,
                "(top)",
                "地区文件只能设置 parameters",
                "a regional file may only set parameters",
            )
        for name, body in (raw.get("parameters") or {}).items():
            key = f"parameters.{name}"
            base = policies[pid].params.get(name)
            if base is None or isinstance(base, ParamRef):
                raise _error(
                    path.name,
                    key,
                    "政策文件未声明该参数（或为平台参数引用）",
                    "the policy does not declare this parameter (or it is a platform reference)",
                )
            spec = _param_spec(path.name, key, body)
            spec.unit, spec.type = base.unit, base.type
            spec.description = spec.description or base.description
            core_params._check_type(key, spec, path.name)
            policies[pid].regional.setdefault(region, {})[name] = spec
    for pid, path in tests.items():
        if pid not in policies:
            raise _error(path.name, "(file name)", f"没有政策 {pid}", f"no policy {pid}")
        policies[pid].tests_file = path
    return policies


@cache
def _cached() -> dict[str, Policy]:
    return load_dir(POLICY_DIR)


def load(reload: bool = False) -> dict[str, Policy]:
    """The shipped policies (cached)."""
    if reload:
        _cached.cache_clear()
    return _cached()


def version(folder: Path = POLICY_DIR) -> str:
    """A short content hash of the policy files and the platform parameters."""
    import hashlib

    digest = hashlib.sha256(core_params.load().version().encode())
    for path in sorted(Path(folder).glob("*.y*ml")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
