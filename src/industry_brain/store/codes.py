"""Region and industry codes as departments write them, resolved against the reference tables.

- :class:`RegionIndex` resolves a county-level unit written as a GB/T 2260 code, a 12-digit
  统计用区划代码, a full or short name (吴兴区, 吴兴, 湖州市吴兴区, 浙江省湖州市吴兴区), a retired
  code or name (mapped to its successor, followed through later changes) — by the data year,
  because codes were reused and renamed. An ambiguous name or successor is never guessed: the
  result lists the candidates. Towns (乡镇街道) resolve by 9-digit code or name within a county.
- :class:`IndustryIndex` resolves GB/T 4754-2017 codes written as ``3421``, ``C3421``,
  ``C34``, ``34``, by name (``金属切削机床制造``) or name and code together; GB/T 4754-2011 codes
  in files of data years before 2018 are mapped when the 2017 code is unambiguous.
- :func:`jurisdiction` is the region this deployment serves (``IB_JURISDICTION``).

Both indexes are built once per loaded set of reference editions (they depend on nothing else)
and resolve each distinct text once, so an import maps a column with one dictionary lookup per
row.
"""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core.errors import Location, ValidationError

#: The jurisdiction when ``IB_JURISDICTION`` is not set: the demo city (湖州市).
DEFAULT_JURISDICTION = "330500"
FIRST_2017_YEAR = 2018  # GB/T 4754-2017 applies to data years from 2018 (statistics practice)

COUNTY_SUFFIXES = ("自治县", "自治旗", "林区", "特区", "新区", "区", "县", "市", "旗")
CITY_SUFFIXES = ("自治州", "地区", "盟", "市")
TOWN_SUFFIXES = ("街道", "镇", "乡")
PROVINCE_SUFFIXES = (
    "维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市",
)  # fmt: skip


def clean(text: Any) -> str:
    """NFKC, no whitespace (department files write codes and names with spaces and full width)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text)))


def short_name(name: str, suffixes: tuple[str, ...]) -> str:
    """The name without the first of ``suffixes`` it ends with (吴兴区 → 吴兴), keeping two
    characters at least."""
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


# -- jurisdiction --------------------------------------------------------------------------------
def jurisdiction() -> str:
    """The region this deployment serves: a province, city or county code (``IB_JURISDICTION``)."""
    code = clean(os.environ.get("IB_JURISDICTION") or DEFAULT_JURISDICTION)
    if not re.fullmatch(r"\d{6}", code):
        raise ValidationError(
            "config.jurisdiction",
            f"IB_JURISDICTION“{code}”不是6位行政区划代码",
            f"IB_JURISDICTION '{code}' is not a 6-digit division code",
            Location(field="IB_JURISDICTION"),
        )
    return code


def jurisdiction_prefix(code: str | None = None) -> str:
    """The code prefix shared by every unit inside a jurisdiction (33, 3305 or 330502)."""
    code = code or jurisdiction()
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def in_jurisdiction(code: str | None, juris: str | None = None) -> bool:
    return bool(code) and str(code).startswith(jurisdiction_prefix(juris))


def jurisdiction_counties(session: Session, juris: str | None = None) -> list[tuple[str, str]]:
    """(code, name) of the county-level units in use inside the jurisdiction, by code: the
    GB/T 2260 counties and the statistics-only units (development zones)."""
    from industry_brain.store.models import Region

    prefix = jurisdiction_prefix(juris)
    rows = session.execute(
        select(Region.code, Region.name)
        .where(
            Region.level == "county",
            Region.valid_to.is_(None),
            Region.code.like(prefix + "%"),
        )
        .order_by(Region.code)
    ).all()
    return [(str(c), str(n)) for c, n in rows]


# -- resolution results --------------------------------------------------------------------------
@dataclass(frozen=True)
class Resolved:
    """The outcome of resolving one written code or name.

    ``status``: ``ok``; ``mapped`` (a retired or 2011 code taken to its successor: a warning);
    ``early`` (a code used in a file of a year before the code existed: a warning);
    ``coarse`` (an industry division or group only: a warning); ``unknown``, ``ambiguous``,
    ``mismatch`` or ``wrong_level`` (errors). ``candidates`` are (code, name) pairs.
    """

    code: str | None
    status: str
    name: str | None = None
    candidates: tuple[tuple[str, str], ...] = ()
    original: tuple[str, str] | None = None  # the retired/2011 (code, name) that was mapped
    note: str = ""  # extra detail (years) for messages

    @property
    def error(self) -> bool:
        return self.status in ("unknown", "ambiguous", "mismatch", "wrong_level")


def candidates_text(cands: tuple[tuple[str, str], ...]) -> str:
    return "；".join(f"{c} {n}" for c, n in cands)


# -- regions -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Incarnation:
    code: str
    name: str
    level: str
    province: str | None
    prefecture: str | None
    valid_from: int | None
    valid_to: int | None
    successors: tuple[str, ...]

    def valid_in(self, year: int) -> bool:
        start = self.valid_from if self.valid_from is not None else -(10**9)
        return start <= year < (self.valid_to if self.valid_to is not None else 10**9)


@dataclass
class RegionIndex:
    """Every county-level incarnation (GB/T 2260 history and statistics-only units), by code and
    by each way a department writes its name."""

    by_code: dict[str, list[_Incarnation]] = field(default_factory=dict)
    by_alias: dict[str, set[tuple[str, int | None]]] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)  # every region code → current level
    names: dict[str, str] = field(default_factory=dict)  # every region code → current name
    towns: dict[str, dict[str, str]] = field(default_factory=dict)  # county → alias → town code

    @classmethod
    def build(cls, session: Session) -> RegionIndex:
        from industry_brain.store.models import Region, RegionHistory

        idx = cls()
        regions = session.execute(
            select(Region.code, Region.name, Region.level, Region.parent_code, Region.source).where(
                Region.level != "town"
            )
        ).all()
        parents: dict[str, str | None] = {}
        for code, name, level, parent, _source in regions:
            idx.levels[code] = level
            idx.names[code] = name
            parents[code] = parent
        history = session.execute(
            select(
                RegionHistory.code, RegionHistory.name, RegionHistory.level,
                RegionHistory.province, RegionHistory.prefecture, RegionHistory.valid_from,
                RegionHistory.valid_to, RegionHistory.successors,
            ).order_by(RegionHistory.code, RegionHistory.valid_from)
        ).all()  # fmt: skip
        for code, name, level, province, prefecture, start, end, successors in history:
            if level != "county":
                idx.levels.setdefault(code, level)
                continue
            prefecture = prefecture if prefecture != "直辖" else None
            succ = tuple(s for s in (successors or "").split(";") if s)
            idx._add(_Incarnation(code, name, "county", province, prefecture, start, end, succ))
        for code, name, level, parent, source in regions:
            if level == "county" and source == "nbs":
                city = (
                    idx.names.get(parent or "") if idx.levels.get(parent or "") == "city" else None
                )
                province = idx.names.get(code[:2] + "0000")
                idx._add(_Incarnation(code, name, "county", province, city, None, None, ()))
        return idx

    def load_towns(self, session: Session, counties: set[str]) -> None:
        """Read the towns of these counties (once each; towns are only needed by files that
        name them)."""
        from industry_brain.store.models import Region

        missing = sorted(c for c in counties if c and c not in self.towns)
        for k in range(0, len(missing), 500):
            part = missing[k : k + 500]
            for county in part:
                self.towns[county] = {}
            for code, name, parent in session.execute(
                select(Region.code, Region.name, Region.parent_code).where(
                    Region.level == "town", Region.parent_code.in_(part)
                )
            ):
                self.levels[code], self.names[code] = "town", name
                aliases = self.towns[parent]
                for alias in {name, short_name(name, TOWN_SUFFIXES)}:
                    # two towns of one county with the same short name: keep neither
                    aliases[alias] = "" if aliases.get(alias, code) != code else code
                aliases[code] = code

    def _add(self, inc: _Incarnation) -> None:
        self.by_code.setdefault(inc.code, []).append(inc)
        key = (inc.code, inc.valid_from)
        names = {inc.name, short_name(inc.name, COUNTY_SUFFIXES)}
        cities = {""}
        if inc.prefecture:
            cities |= {inc.prefecture, short_name(inc.prefecture, CITY_SUFFIXES)}
        provinces = {""}
        if inc.province:
            provinces |= {inc.province, short_name(inc.province, PROVINCE_SUFFIXES)}
        for p in provinces:
            for c in cities:
                for n in names:
                    self.by_alias.setdefault(p + c + n, set()).add(key)

    # -- resolution --
    def _incarnation(self, code: str, year: int) -> _Incarnation | None:
        incs = self.by_code.get(code, [])
        valid = [i for i in incs if i.valid_in(year)]
        if valid:
            return valid[-1]
        return None

    def _current(self, inc: _Incarnation, year: int, depth: int = 0) -> set[str]:
        """The codes in use today that an incarnation leads to (itself when still in use)."""
        if inc.valid_to is None or depth > 12:
            return {inc.code}
        out: set[str] = set()
        for succ in inc.successors:
            nxt = self._incarnation(succ, inc.valid_to)
            if nxt is None:
                later = [i for i in self.by_code.get(succ, []) if (i.valid_from or 0) >= year]
                nxt = later[0] if later else None
            if nxt is not None:
                out |= self._current(nxt, inc.valid_to, depth + 1)
        return out

    def _pick(self, code: str, year: int) -> _Incarnation | None:
        """The incarnation a code meant in ``year``; else the one in use; else the latest."""
        inc = self._incarnation(code, year)
        if inc is not None:
            return inc
        incs = self.by_code.get(code, [])
        current = [i for i in incs if i.valid_to is None]
        return (current or incs or [None])[-1]

    def _from_incarnations(
        self, incs: list[_Incarnation], year: int, juris: str | None
    ) -> Resolved:
        targets: dict[str, _Incarnation] = {}
        for inc in incs:
            for code in self._current(inc, year):
                # a county merged into its city's districts has no county successor
                if self.levels.get(code) == "county":
                    targets.setdefault(code, inc)
        if len(targets) > 1 and juris:
            inside = {c: i for c, i in targets.items() if in_jurisdiction(c, juris)}
            if len(inside) == 1:
                targets = inside
        if not targets:
            inc = incs[0]
            return Resolved(
                None, "unknown", inc.name, original=(inc.code, inc.name),
                note=f"retired {inc.valid_to} without a successor",
            )  # fmt: skip
        if len(targets) > 1:
            cands = tuple(sorted((c, self.names.get(c, c)) for c in targets))
            inc = incs[0]
            return Resolved(None, "ambiguous", inc.name, cands, original=(inc.code, inc.name))
        code, inc = next(iter(targets.items()))
        name = self.names.get(code, inc.name)
        if code != inc.code:
            return Resolved(code, "mapped", name, original=(inc.code, inc.name),
                            note=str(inc.valid_to or ""))  # fmt: skip
        return Resolved(code, "ok", name)

    def resolve(self, text: Any, year: int, juris: str | None = None) -> Resolved:
        """A county-level unit from a code or name written in a file of data year ``year``."""
        value = clean(text)
        if re.fullmatch(r"\d{12}", value) and value.endswith("000000"):
            value = value[:6]
        if re.fullmatch(r"\d{6}", value):
            if value not in self.by_code:
                level = self.levels.get(value)
                if level in ("province", "city"):
                    return Resolved(None, "wrong_level", self.names.get(value), note=level)
                return Resolved(None, "unknown")
            exact = self._incarnation(value, year)
            inc = exact or self._pick(value, year)
            res = self._from_incarnations([inc] if inc else [], year, juris)
            if exact is None and inc and inc.valid_from and inc.valid_from > year and res.code:
                # a code used in a file of a year before it existed (a later re-export)
                return Resolved(res.code, "early", res.name, note=str(inc.valid_from))
            return res
        if re.fullmatch(r"\d{9}(\d{3})?", value):
            return Resolved(None, "wrong_level", self.names.get(value[:9]), note="town")
        keys = self.by_alias.get(value)
        if not keys:
            return Resolved(None, "unknown")
        incs = [i for code, start in sorted(keys, key=lambda k: (k[0], k[1] or 0))
                for i in self.by_code[code] if i.valid_from == start]  # fmt: skip
        valid = [i for i in incs if i.valid_in(year)]
        return self._from_incarnations(valid or incs, year, juris)

    def resolve_town(self, text: Any, county: str | None) -> Resolved:
        """A town (乡镇街道) by 9-digit code or name, inside ``county`` when it is known."""
        value = clean(text)
        if re.fullmatch(r"\d{12}", value):
            value = value[:9]
        if re.fullmatch(r"\d{9}", value):
            if value[:6] not in self.towns:
                return Resolved(None, "unknown", note="towns not loaded")
            if self.levels.get(value) != "town":
                return Resolved(None, "unknown")
            if county and value[:6] != county:
                parent = self.names.get(value[:6], value[:6])
                return Resolved(None, "mismatch", self.names.get(value),
                                candidates=((value[:6], parent),))  # fmt: skip
            return Resolved(value, "ok", self.names.get(value))
        if not county:
            return Resolved(None, "unknown")
        code = self.towns.get(county, {}).get(value)
        if code is None:
            return Resolved(None, "unknown")
        if code == "":
            same = tuple(
                (c, self.names[c])
                for c in self.towns.get(county, {}).values()
                if c and short_name(self.names[c], TOWN_SUFFIXES) == value
            )
            return Resolved(None, "ambiguous", candidates=tuple(sorted(set(same))))
        return Resolved(code, "ok", self.names.get(code))

    def history(self, code: str) -> list[dict[str, Any]]:
        return [
            {
                "code": i.code,
                "name": i.name,
                "valid_from": i.valid_from,
                "valid_to": i.valid_to,
                "successors": list(i.successors),
            }
            for i in self.by_code.get(code, [])
        ]


# -- industries ----------------------------------------------------------------------------------
_INDUSTRY_CODE = re.compile(r"^([A-Ta-t])?(\d{2,4})$")
_NAME_AND_CODE = re.compile(
    r"^(?:([A-Ta-t]?\d{2,4})[-—_:：、.]?(\D.*?)|(\D.*?)[(（\[【]?([A-Ta-t]?\d{2,4})[)）\]】]?)$"
)


@dataclass
class IndustryIndex:
    """GB/T 4754-2017 codes and names (and the 2011 codes, to read old files)."""

    codes: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)  # level,name,par
    by_name: dict[str, list[str]] = field(default_factory=dict)
    codes_2011: dict[str, tuple[str, str]] = field(default_factory=dict)  # code → (level, name)
    children: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, session: Session) -> IndustryIndex:
        from industry_brain.store.models import Industry, Industry2011
        from industry_brain.store.reference import STANDARD_2017

        idx = cls()
        for code, name, level, parent in session.execute(
            select(Industry.code, Industry.name, Industry.level, Industry.parent_code).where(
                Industry.standard == STANDARD_2017
            )
        ):
            idx.codes[code] = (level, name, parent)
            idx.by_name.setdefault(clean(name), []).append(code)
            if parent:
                idx.children.setdefault(parent, []).append(code)
        for code, name, level in session.execute(
            select(Industry2011.code, Industry2011.name, Industry2011.level)
        ):
            idx.codes_2011[code] = (level, name)
        return idx

    def name(self, code: str | None) -> str | None:
        return self.codes[code][1] if code in self.codes else None

    def level(self, code: str | None) -> str | None:
        return self.codes[code][0] if code in self.codes else None

    def _by_name(self, name: str) -> Resolved:
        codes = self.by_name.get(clean(name), [])
        if not codes:
            return Resolved(None, "unknown")
        order = {"class": 0, "group": 1, "division": 2, "section": 3}
        best = min(order[self.codes[c][0]] for c in codes)
        codes = sorted(c for c in codes if order[self.codes[c][0]] == best)
        if len(codes) > 1:
            return Resolved(
                None, "ambiguous", candidates=tuple((c, self.codes[c][1]) for c in codes)
            )
        return self._level_status(codes[0])

    def _level_status(self, code: str) -> Resolved:
        level, name, _ = self.codes[code]
        if level == "section":
            return Resolved(None, "wrong_level", name, note="section")
        status = "ok" if level == "class" else "coarse"
        return Resolved(code, status, name, note=level)

    def _from_2011(self, code: str) -> Resolved:
        """A 2011 class taken to 2017: same code and name, or one 2017 class of the same name;
        otherwise the candidates are the 2017 classes of its group and of the same name."""
        level, name = self.codes_2011[code]
        if code in self.codes and self.codes[code][1] == name:
            return self._level_status(code)
        same = sorted(c for c in self.by_name.get(clean(name), []) if self.codes[c][0] == level)
        if len(same) == 1:
            return Resolved(same[0], "mapped", self.codes[same[0]][1], original=(code, name))
        pool = set(same) | set(self.children.get(code[:3], []) if level == "class" else [])
        pool |= {c for c, (lv, n, _) in self.codes.items() if lv == level and name in n}
        cands = tuple(sorted((c, self.codes[c][1]) for c in pool))
        return Resolved(None, "ambiguous", None, cands, original=(code, name))

    def resolve(self, text: Any, year: int | None) -> Resolved:
        """A GB/T 4754-2017 code from what a department wrote, for a file of data year ``year``
        (2011 codes are read as 2011 in files of years before 2018)."""
        value = clean(text)
        m = _INDUSTRY_CODE.match(value)
        if m:
            letter, digits = m.group(1), m.group(2)
            if len(digits) == 3 and digits not in self.codes and digits.startswith("0"):
                return Resolved(None, "unknown")
            old = year is not None and year < FIRST_2017_YEAR and digits in self.codes_2011
            if old:
                res = self._from_2011(digits)
            elif digits in self.codes:
                res = self._level_status(digits)
            elif digits in self.codes_2011:
                # a 2011 code in a file of 2018 or later: refused, with the 2017 candidates
                old_res = self._from_2011(digits)
                cands = old_res.candidates or ((old_res.code or "", old_res.name or ""),)
                return Resolved(None, "unknown", None, cands, old_res.original, note="2011")
            else:
                return Resolved(None, "unknown")
            if letter and res.code and self._section(res.code) != letter.upper():
                return Resolved(None, "mismatch", res.name, ((res.code, res.name or ""),))
            return res
        if value.upper() in self.codes and value.isalpha():
            return self._level_status(value.upper())
        m = _NAME_AND_CODE.match(value)
        if m and not value.isdigit():
            code_text = m.group(1) or m.group(4)
            name_text = (m.group(2) or m.group(3) or "").strip("-—_:：、.()（）")
            by_code = self.resolve(code_text, year)
            by_name = self._by_name(name_text)
            if by_code.code and by_name.code and by_code.code != by_name.code:
                return Resolved(
                    None, "mismatch", None,
                    ((by_code.code, by_code.name or ""), (by_name.code, by_name.name or "")),
                )  # fmt: skip
            if by_code.code or (by_code.error and by_code.status != "unknown"):
                return by_code
            if by_name.status != "unknown":
                return by_name
        return self._by_name(value)

    def _section(self, code: str) -> str | None:
        while code in self.codes and self.codes[code][0] != "section":
            code = self.codes[code][2] or ""
        return code or None


# -- caches --------------------------------------------------------------------------------------
_LOCK = threading.Lock()
_CACHE: dict[tuple[str, tuple[str, ...]], Any] = {}


def _editions_key(session: Session) -> tuple[str, ...]:
    from industry_brain.store.models import ReferenceEdition

    return tuple(session.scalars(select(ReferenceEdition.sha256).order_by(ReferenceEdition.id)))


def region_index(session: Session) -> RegionIndex:
    """The region index for the reference editions loaded in this store (cached)."""
    key = ("regions", _editions_key(session))
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = RegionIndex.build(session)
        return _CACHE[key]


def industry_index(session: Session) -> IndustryIndex:
    """The industry index for the reference editions loaded in this store (cached)."""
    key = ("industries", _editions_key(session))
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = IndustryIndex.build(session)
        return _CACHE[key]
