"""Dated, regional parameters (参数): every domain number lives here, never in code.

Model (after OpenFisca): a domain's YAML file is a tree of groups; a leaf parameter has metadata
(description, unit, source, quality) and ``values``: a list of ``{since: DATE, value: ...}``
entries, a ``value: null`` ending the parameter. Regional overrides live beside the base file as
``<domain>.<GB/T 2260 code>.yaml`` and may only set keys the base declares. Resolution for a
county code walks county → city → province → base and takes, per key, the most specific region
that has a value in force on the date.

Load errors (raised as ``ParameterError`` naming file and key): unknown metadata keys, unknown
parameter keys in an override, overlapping periods (two entries with the same ``since`` or an
explicit ``until`` after the next ``since``), bad dates, unknown quality tags, an override whose
unit differs from the base's. An override inherits type, unit and description from the base.

    >>> from datetime import date
    >>> params = load()
    >>> params.get("mujun.above.weights", region="330502", on=date(2025, 1, 1))["tax_per_mu"]
    30
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticError

from industry_brain.core.errors import IBError, Location

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
Quality = Literal["V", "SEED", "PRIOR", "DEFAULT", "NOT FOUND"]
_REGION_FILE = re.compile(r"^(?P<domain>[a-z_]+)\.(?P<region>\d{6})\.ya?ml$")
_BASE_FILE = re.compile(r"^(?P<domain>[a-z_]+)\.ya?ml$")
_META_KEYS = {"description", "unit", "source", "quality", "reference", "values", "type"}


class ParameterError(IBError):
    """A parameter file or lookup is wrong."""


class ValueEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: date
    until: date | None = None
    value: Any = None
    source: str | None = None
    quality: Quality | None = None

    @model_validator(mode="after")
    def _order(self) -> ValueEntry:
        if self.until is not None and self.until <= self.since:
            raise ValueError(f"until {self.until} is not after since {self.since}")
        return self


class ParameterSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    unit: str | None = None
    source: str | None = None
    reference: str | None = None
    quality: Quality | None = None
    type: Literal["number", "integer", "string", "boolean", "mapping", "list", "any"] = "any"
    values: list[ValueEntry] = Field(min_length=1)


@dataclass(frozen=True)
class Resolved:
    """A value with where it came from: key, region that set it, its period and metadata."""

    key: str
    value: Any
    region: str | None
    since: date
    until: date | None
    unit: str | None
    source: str | None
    quality: str | None
    description: str | None
    file: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "region": self.region or "base",
            "since": self.since.isoformat(),
            "until": self.until.isoformat() if self.until else None,
            "unit": self.unit,
            "source": self.source,
            "quality": self.quality,
            "description": self.description,
            "file": self.file,
        }


@dataclass
class _Param:
    spec: ParameterSpec
    file: str


@dataclass
class Parameters:
    """All loaded parameters: ``base[key]`` and ``regional[region][key]``."""

    base: dict[str, _Param] = field(default_factory=dict)
    regional: dict[str, dict[str, _Param]] = field(default_factory=dict)
    digest: str = ""

    # -- lookup -----------------------------------------------------------------------------
    def resolve(self, key: str, region: str | None = None, on: date | None = None) -> Resolved:
        """Resolve ``key`` for ``region`` on date ``on`` (today when omitted)."""
        on = on or date.today()
        if key not in self.base:
            group = [k for k in self.base if k.startswith(key + ".")]
            hint = f"; did you mean one of {group[:5]}" if group else ""
            raise ParameterError(
                "param.unknown_key",
                f"未知参数“{key}”",
                f"unknown parameter '{key}'{hint}",
                Location(field=key),
            )
        for code in region_chain(region):
            param = self.regional.get(code, {}).get(key)
            if param is None:
                continue
            entry = _in_force(param.spec, on)
            if entry is not None:
                return _resolved(key, param, entry, code)
        base = self.base[key]
        entry = _in_force(base.spec, on)
        if entry is None:
            raise ParameterError(
                "param.not_in_force",
                f"参数“{key}”在 {on.isoformat()} 没有生效的取值（地区 {region or '默认'}）",
                f"parameter '{key}' has no value in force on {on.isoformat()} "
                f"(region {region or 'base'})",
                Location(file=base.file, field=key),
            )
        return _resolved(key, base, entry, None)

    def get(self, key: str, region: str | None = None, on: date | None = None) -> Any:
        """The value of ``key`` for ``region`` on ``on``, e.g. ``get("mujun.above.weights")``."""
        return self.resolve(key, region, on).value

    def keys(self, prefix: str = "") -> list[str]:
        """Keys equal to ``prefix`` or below it (``"mujun"``, ``"mujun.above"``); all when empty."""
        prefix = prefix.rstrip(".")
        if not prefix:
            return sorted(self.base)
        return sorted(k for k in self.base if k == prefix or k.startswith(prefix + "."))

    def domain(
        self, domain: str, region: str | None = None, on: date | None = None
    ) -> list[Resolved]:
        """Every parameter of a domain resolved for a region and date (missing ones skipped)."""
        out = []
        for key in self.keys(domain):
            try:
                out.append(self.resolve(key, region, on))
            except ParameterError as exc:
                if exc.code != "param.not_in_force":
                    raise
        return out

    def domains(self) -> list[str]:
        return sorted({k.split(".", 1)[0] for k in self.base})

    def version(self, domain: str | None = None) -> str:
        """A short content hash of the loaded files (recorded with every result)."""
        return self.digest


def region_chain(region: str | None) -> list[str]:
    """Most specific first: county 330502 → city 330500 → province 330000."""
    if not region:
        return []
    if not re.fullmatch(r"\d{6}", region):
        raise ParameterError(
            "param.region",
            f"地区代码“{region}”不是6位 GB/T 2260 代码",
            f"region '{region}' is not a 6-digit GB/T 2260 code",
            Location(field="region"),
        )
    chain = [region]
    city = region[:4] + "00"
    province = region[:2] + "0000"
    for code in (city, province):
        if code not in chain:
            chain.append(code)
    return chain


def _in_force(spec: ParameterSpec, on: date) -> ValueEntry | None:
    current = None
    for entry in spec.values:  # sorted by since at load
        if entry.since <= on:
            current = entry
    if current is None or current.value is None:
        return None
    if current.until is not None and on >= current.until:
        return None
    return current


def _resolved(key: str, param: _Param, entry: ValueEntry, region: str | None) -> Resolved:
    idx = param.spec.values.index(entry)
    nxt = param.spec.values[idx + 1].since if idx + 1 < len(param.spec.values) else None
    return Resolved(
        key=key,
        value=entry.value,
        region=region,
        since=entry.since,
        until=entry.until or nxt,
        unit=param.spec.unit,
        source=entry.source or param.spec.source,
        quality=entry.quality or param.spec.quality,
        description=param.spec.description,
        file=param.file,
    )


# -- loading --------------------------------------------------------------------------------
def _flatten(tree: Any, prefix: str, file: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(tree, dict):
        raise ParameterError(
            "param.structure",
            f"参数“{prefix}”应为映射（分组或含 values 的参数）",
            f"parameter node '{prefix}' must be a mapping (a group or a parameter with values)",
            Location(file=file, field=prefix),
        )
    if "values" in tree:
        unknown = set(tree) - _META_KEYS
        if unknown:
            raise ParameterError(
                "param.unknown_field",
                f"参数“{prefix}”含未知字段：{sorted(unknown)}",
                f"parameter '{prefix}' has unknown fields: {sorted(unknown)}",
                Location(file=file, field=prefix),
            )
        yield prefix, tree
        return
    for name, child in tree.items():
        if name in ("description", "source", "quality", "reference") and not isinstance(
            child, dict
        ):
            continue  # group metadata
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(name)):
            raise ParameterError(
                "param.key_name",
                f"参数名“{name}”不合法（小写字母、数字、下划线）",
                f"parameter name '{name}' is invalid (lower-case letters, digits, underscores)",
                Location(file=file, field=f"{prefix}.{name}"),
            )
        yield from _flatten(child, f"{prefix}.{name}", file)


def _check_type(key: str, spec: ParameterSpec, file: str) -> None:
    checks = {
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "mapping": lambda v: isinstance(v, dict),
        "list": lambda v: isinstance(v, list),
        "any": lambda v: True,
    }
    ok = checks[spec.type]
    for entry in spec.values:
        if entry.value is not None and not ok(entry.value):
            raise ParameterError(
                "param.type",
                f"参数“{key}”自 {entry.since} 的取值类型应为 {spec.type}",
                f"parameter '{key}' value since {entry.since} must be of type {spec.type}",
                Location(file=file, field=key),
                entry.value,
            )


def _parse(key: str, raw: dict[str, Any], file: str) -> ParameterSpec:
    try:
        spec = ParameterSpec.model_validate(raw)
    except PydanticError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ParameterError(
            "param.invalid",
            f"参数“{key}”无效（{where}）：{first['msg']}",
            f"parameter '{key}' is invalid at {where}: {first['msg']}",
            Location(file=file, field=key),
        ) from exc
    spec.values.sort(key=lambda e: e.since)
    for a, b in zip(spec.values, spec.values[1:], strict=False):
        if a.since == b.since or (a.until is not None and a.until > b.since):
            raise ParameterError(
                "param.overlap",
                f"参数“{key}”的生效期重叠：{a.since}…{a.until or ''} 与 {b.since} 起",
                f"parameter '{key}' has overlapping periods: {a.since}..{a.until or ''} "
                f"and from {b.since}",
                Location(file=file, field=key),
            )
    _check_type(key, spec, file)
    return spec


def default_dirs() -> list[Path]:
    """Parameter folders: every ``domains/*/parameters``, those of the services on the contract
    (``ib_parameter_domain``) plus ``$IB_PARAMETERS_DIR`` entries."""
    from industry_brain import contract

    dirs = sorted(PACKAGE_ROOT.glob("domains/*/parameters")) + sorted(
        PACKAGE_ROOT.glob("*/parameters")
    )
    dirs += [d for _, (_, d) in contract.each("parameter_domain") if Path(d) not in dirs]
    extra = os.environ.get("IB_PARAMETERS_DIR")
    if extra:
        dirs += [Path(p) for p in extra.split(os.pathsep) if p]
    return dirs


def load_dirs(dirs: list[Path]) -> Parameters:
    """Load and validate every parameter file in ``dirs`` (base files before overrides)."""
    files = sorted({p for d in dirs for p in Path(d).glob("*.y*ml")})
    contents = {path: path.read_bytes() for path in files}
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(contents[path])
    if (known := _LOADED.get(digest.hexdigest())) is not None:
        return known
    params = Parameters()
    overrides: list[tuple[str, str, Path]] = []
    for path in files:
        if m := _BASE_FILE.match(path.name):
            tree = _read_yaml(path, contents[path])
            for key, raw in _flatten(tree, m["domain"], path.name):
                if key in params.base:
                    raise ParameterError(
                        "param.duplicate",
                        f"参数“{key}”在多个文件中定义",
                        f"parameter '{key}' is defined in more than one file",
                        Location(file=path.name, field=key),
                    )
                params.base[key] = _Param(_parse(key, raw, path.name), path.name)
        elif m := _REGION_FILE.match(path.name):
            overrides.append((m["domain"], m["region"], path))
        else:
            raise ParameterError(
                "param.file_name",
                f"参数文件名“{path.name}”不合规（应为 域.yaml 或 域.地区代码.yaml）",
                f"parameter file name '{path.name}' must be DOMAIN.yaml or DOMAIN.REGION.yaml",
                Location(file=str(path)),
            )
    for domain, region, path in overrides:
        tree = _read_yaml(path, contents[path])
        for key, raw in _flatten(tree, domain, path.name):
            if key not in params.base:
                raise ParameterError(
                    "param.unknown_key",
                    f"地区参数文件设置了基础文件未声明的参数“{key}”",
                    f"regional file sets parameter '{key}' that the base file does not declare",
                    Location(file=path.name, field=key),
                )
            spec = _parse(key, raw, path.name)
            base = params.base[key].spec
            if spec.unit is not None and spec.unit != base.unit:
                raise ParameterError(
                    "param.unit",
                    f"地区参数“{key}”的单位“{spec.unit}”与基础文件的“{base.unit}”不一致",
                    f"regional parameter '{key}' has unit '{spec.unit}' but the base file "
                    f"declares '{base.unit}'",
                    Location(file=path.name, field=key),
                )
            # What the parameter is (type, unit, description) is declared once, in the base file;
            # an override sets values (and may name its own source and quality).
            spec.type = base.type
            spec.unit = base.unit
            spec.description = spec.description or base.description
            spec.reference = spec.reference or base.reference
            _check_type(key, spec, path.name)
            params.regional.setdefault(region, {})[key] = _Param(spec, path.name)
    params.digest = digest.hexdigest()[:12]
    if len(_LOADED) >= _LOADED_MAX:
        _LOADED.pop(next(iter(_LOADED)))
    _LOADED[digest.hexdigest()] = params
    return params


#: Parameters already loaded, by the SHA-256 of their files' names and bytes: the same files
#: give the same (read-only) parameters without parsing and checking them again (a reload after
#: ``_cached.cache_clear()`` finds them here unless a file changed).
_LOADED: dict[str, Parameters] = {}
_LOADED_MAX = 8


def _read_yaml(path: Path, content: bytes) -> dict[str, Any]:
    """The mapping in ``content``, the bytes read from ``path`` (named in errors)."""
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
        data = yaml.load(content.decode("utf-8"), Loader=loader) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(
            "param.yaml",
            f"参数文件不是合法 YAML：{exc}",
            f"parameter file is not valid YAML: {exc}",
            Location(file=path.name),
        ) from exc
    if not isinstance(data, dict):
        raise ParameterError(
            "param.structure",
            "参数文件顶层应为映射",
            "top level of a parameter file must be a mapping",
            Location(file=path.name),
        )
    return data


@lru_cache(maxsize=1)
def _cached() -> Parameters:
    return load_dirs(default_dirs())


def load(reload: bool = False) -> Parameters:
    """The project's parameters (cached; ``reload=True`` re-reads the files)."""
    if reload:
        _cached.cache_clear()
    return _cached()
