"""Tier schemes as dated YAML (``parameters/schemes/*.yaml``): conditions, direct paths and
points tables with band edges, each threshold carrying its source and quality tag.

A scheme file::

    code: innovative_sme          # unique per file
    tier: innovative_sme          # the tier it recognises (a code of the ladder)
    category: null                # a tier with categories (单项冠军: enterprise / product) has
                                  # one scheme per category; a firm meets the tier by any one
    region: null                  # GB/T 2260 prefix ("33" Zhejiang, "3305" Huzhou) or null
    version: miit-2022
    valid_from: 2022-06-01        # in force from; the latest in force wins per tier and region
    valid_until: null
    extends: null                 # another scheme's code: start from it, then add/replace
    requires: [...]               # preconditions (all), e.g. SME
    direct: [...]                 # direct paths (any one meets the scheme)
    conditions: [...]             # main path (all); a node may be any_of / all_of
    points: {total_min, groups, indicators: [{code, group, bands: [...]}], within: null}

A condition leaf is ``{id, input, op, value, source, quality}`` (op one of ``>= > <= < == !=``).
A band is ``{input, min, max, min_exclusive, max_inclusive, points}``; bands are tried in order
and the first whose test holds gives the points; a band without min/max matches any known
value. Band edges: lower bound inclusive, upper exclusive unless said otherwise ([DEFAULT]: the
published tables do not say which side is inclusive).

A points table is a main condition (all must hold) unless ``points.within`` names an ``any_of``
condition: then reaching the points is one more alternative of that condition (专精特新
condition 4: "score ≥ 60, or one of the direct alternatives").

A province's own items (特色化) are a file with ``extends: <code>`` and ``region: <its code>``
adding ``conditions`` or ``points.indicators`` — no code. The 专精特新 13-indicator table ships
empty (its bands are not published); a region that has its bands adds them this way, e.g.
``parameters/examples/zhuanjingtexin-region.yaml.example`` (not loaded: an example).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from industry_brain.core.errors import IBError, Location

HERE = Path(__file__).parent
SCHEMES_DIR = HERE / "parameters" / "schemes"
OPS = (">=", ">", "<=", "<", "==", "!=")
QUALITIES = ("V", "SEED", "PRIOR", "DEFAULT", "NOT FOUND")


class SchemeError(IBError):
    """A scheme file is wrong."""


@dataclass(frozen=True)
class Leaf:
    id: str
    input: str
    op: str
    value: float
    source: str | None = None
    quality: str | None = None


@dataclass(frozen=True)
class Group:
    id: str
    kind: str  # all_of | any_of
    children: tuple[Leaf | Group, ...]


Node = Leaf | Group


@dataclass(frozen=True)
class Band:
    input: str
    points: float
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    max_inclusive: bool = False


@dataclass(frozen=True)
class Indicator:
    code: str
    group: str
    bands: tuple[Band, ...]

    @property
    def max_points(self) -> float:
        return max(b.points for b in self.bands)

    @property
    def inputs(self) -> list[str]:
        return list(dict.fromkeys(b.input for b in self.bands))


@dataclass(frozen=True)
class Points:
    total_min: float
    groups: dict[str, float]
    indicators: tuple[Indicator, ...]
    meta: dict[str, Any] = field(default_factory=dict)
    #: the id of an ``any_of`` condition the points requirement is an alternative of (or None:
    #: the points are a main condition)
    within: str | None = None


@dataclass(frozen=True)
class Scheme:
    code: str
    tier: str
    title_zh: str
    title_en: str
    region: str | None
    version: str
    valid_from: date
    valid_until: date | None
    requires: tuple[Node, ...]
    direct: tuple[Node, ...]
    conditions: tuple[Node, ...]
    points: Points | None
    source: str | None
    quality: str | None
    file: str
    category: str | None = None
    #: the scheme's definition as parsed (after ``extends``), JSON-ready: stored with each run,
    #: so a stored result's explanation is rebuilt from the scheme that decided it
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_until is None or on < self.valid_until)

    @property
    def main(self) -> tuple[Node, ...]:
        """Preconditions and main conditions (all must hold)."""
        return self.requires + self.conditions

    def inputs(self) -> list[str]:
        out: list[str] = []
        for node in (*self.requires, *self.direct, *self.conditions):
            out += leaf_inputs(node)
        if self.points:
            for ind in self.points.indicators:
                out += ind.inputs
        return list(dict.fromkeys(out))

    def leaves(self) -> list[Leaf]:
        out: list[Leaf] = []
        for node in (*self.requires, *self.direct, *self.conditions):
            out += _leaves(node)
        return out


def _leaves(node: Node) -> list[Leaf]:
    if isinstance(node, Leaf):
        return [node]
    return [leaf for child in node.children for leaf in _leaves(child)]


def leaf_inputs(node: Node) -> list[str]:
    return [leaf.input for leaf in _leaves(node)]


def _fail(file: str, field_: str, zh: str, en: str) -> SchemeError:
    return SchemeError("tiers.scheme", zh, en, Location(file=file, field=field_))


def _node(raw: Any, file: str, seen: set[str]) -> Node:
    if not isinstance(raw, dict) or "id" not in raw:
        raise _fail(file, str(raw), "条件必须有 id", "a condition needs an id")
    nid = str(raw["id"])
    if nid in seen:
        raise _fail(file, nid, f"条件 id“{nid}”重复", f"condition id '{nid}' is used twice")
    seen.add(nid)
    for kind in ("any_of", "all_of"):
        if kind in raw:
            kids = tuple(_node(c, file, seen) for c in raw[kind])
            if not kids:
                raise _fail(file, nid, "条件组为空", "an empty condition group")
            return Group(nid, kind, kids)
    op = raw.get("op")
    if op not in OPS:
        raise _fail(file, nid, f"未知比较符“{op}”", f"unknown comparison '{op}'")
    quality = raw.get("quality")
    if quality is not None and quality not in QUALITIES:
        raise _fail(file, nid, f"未知质量标记“{quality}”", f"unknown quality tag '{quality}'")
    if "input" not in raw or "value" not in raw:
        raise _fail(file, nid, "条件需要 input 和 value", "a condition needs input and value")
    return Leaf(
        nid, str(raw["input"]), op, float(raw["value"]), raw.get("source"), raw.get("quality")
    )


def _points(raw: dict[str, Any] | None, file: str) -> Points | None:
    if not raw:
        return None
    inds = []
    for ind in raw.get("indicators") or []:
        bands = tuple(
            Band(
                input=str(b["input"]),
                points=float(b["points"]),
                min=None if b.get("min") is None else float(b["min"]),
                max=None if b.get("max") is None else float(b["max"]),
                min_exclusive=bool(b.get("min_exclusive", False)),
                max_inclusive=bool(b.get("max_inclusive", False)),
            )
            for b in ind.get("bands") or []
        )
        if not bands:
            raise _fail(file, ind.get("code", "?"), "指标没有分档", "an indicator without bands")
        inds.append(Indicator(str(ind["code"]), str(ind.get("group", "")), bands))
    total = raw.get("total_min") or {}
    groups = {str(k): float(v["min"]) for k, v in (raw.get("groups") or {}).items()}
    meta = {
        "total_min": total,
        "groups": raw.get("groups") or {},
        "edge_quality": raw.get("edge_quality"),
    }
    within = raw.get("within")
    return Points(
        float(total.get("value", 0)),
        groups,
        tuple(inds),
        meta,
        None if within is None else str(within),
    )


def _merge(base: dict[str, Any], ext: dict[str, Any]) -> dict[str, Any]:
    """An extending file: its keys replace the base's, except ``conditions``, ``direct``,
    ``requires`` (appended; a node with a base node's id replaces it in place) and
    ``points.indicators`` (appended; same code replaces)."""
    out = copy.deepcopy(base)
    for key, value in ext.items():
        if key in ("conditions", "direct", "requires"):
            nodes = list(out.get(key) or [])
            ids = [n.get("id") if isinstance(n, dict) else None for n in nodes]
            for node in value or []:
                nid = node.get("id") if isinstance(node, dict) else None
                if nid is not None and nid in ids:
                    nodes[ids.index(nid)] = node
                else:
                    nodes.append(node)
            out[key] = nodes
        elif key == "points":
            pts = dict(out.get("points") or {})
            for pk, pv in (value or {}).items():
                if pk == "indicators":
                    by_code = {i["code"]: i for i in pts.get("indicators") or []}
                    for ind in pv or []:
                        by_code[ind["code"]] = ind
                    pts["indicators"] = list(by_code.values())
                else:
                    pts[pk] = pv
            out["points"] = pts
        else:
            out[key] = value
    return out


def parse(raw: dict[str, Any], file: str) -> Scheme:
    seen: set[str] = set()
    title = raw.get("title") or {}
    try:
        scheme = Scheme(
            code=str(raw["code"]),
            tier=str(raw["tier"]),
            title_zh=str(title.get("zh", raw["code"])),
            title_en=str(title.get("en", raw["code"])),
            region=None if raw.get("region") is None else str(raw["region"]),
            version=str(raw.get("version", "")),
            valid_from=_date(raw["valid_from"]),
            valid_until=_date(raw["valid_until"]) if raw.get("valid_until") else None,
            requires=tuple(_node(n, file, seen) for n in raw.get("requires") or []),
            direct=tuple(_node(n, file, seen) for n in raw.get("direct") or []),
            conditions=tuple(_node(n, file, seen) for n in raw.get("conditions") or []),
            points=_points(raw.get("points"), file),
            source=raw.get("source"),
            quality=raw.get("quality"),
            file=file,
            category=None if raw.get("category") is None else str(raw["category"]),
            raw=_jsonable(raw),
        )
    except KeyError as exc:
        raise _fail(file, str(exc), f"方案缺少字段 {exc}", f"scheme lacks {exc}") from exc
    within = scheme.points.within if scheme.points else None
    if within is not None:
        groups = {n.id: n for top in (*scheme.requires, *scheme.conditions) for n in _groups(top)}
        if within not in groups or groups[within].kind != "any_of":
            raise _fail(
                file,
                "points.within",
                f"points.within 应为一个 any_of 条件的 id（“{within}”不是）",
                f"points.within must name an any_of condition ('{within}' is not one)",
            )
    return scheme


def _jsonable(value: Any) -> Any:
    """A YAML value as JSON holds it (dates as ISO text; ``parse`` reads them back)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _groups(node: Node) -> list[Group]:
    if isinstance(node, Leaf):
        return []
    return [node, *[g for c in node.children for g in _groups(c)]]


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def load_dir(folder: Path) -> list[Scheme]:
    raws: dict[str, tuple[dict[str, Any], str]] = {}
    for path in sorted(folder.glob("*.y*ml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        code = str(raw.get("code") or "")
        if not code or code in raws:
            raise _fail(path.name, "code", "方案 code 缺失或重复", "scheme code missing or twice")
        raws[code] = (raw, path.name)
    out = []
    for code, (raw, file) in raws.items():
        if raw.get("extends"):
            parent = raws.get(str(raw["extends"]))
            if parent is None:
                raise _fail(file, "extends", "扩展的方案不存在", "the extended scheme is unknown")
            raw = _merge(parent[0], {k: v for k, v in raw.items() if k != "extends"})
            raw["code"] = code
        out.append(parse(raw, file))
    return out


@lru_cache(maxsize=8)
def _cached(folder: str) -> tuple[Scheme, ...]:
    return tuple(load_dir(Path(folder)))


def load(folder: Path | None = None) -> list[Scheme]:
    return list(_cached(str(folder or SCHEMES_DIR)))


def in_force(schemes: list[Scheme], on: date) -> list[Scheme]:
    """Per (tier, category, region), the latest scheme in force on ``on``."""
    best: dict[tuple[str, str | None, str | None], Scheme] = {}
    for s in schemes:
        if not s.in_force(on):
            continue
        key = (s.tier, s.category, s.region)
        if key not in best or best[key].valid_from < s.valid_from:
            best[key] = s
    return sorted(best.values(), key=lambda s: (s.tier, len(s.region or ""), s.code))
