"""Fixed settings of the demo city (示范城市): years, counties, scales, reference date.

Nothing here reads the clock: the demo's "today" is :data:`DEMO_TODAY` so that the same seed
always gives the same files and the same store.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime

#: The demo's reference date ("today" in the synthetic city); never ``date.today()``.
DEMO_TODAY = date(2026, 11, 27)
#: Timestamp written into file metadata (XLSX core properties, ZIP entries).
FIXED_TIMESTAMP = datetime(2026, 11, 27, 8, 0, 0)
#: Default seed of the demo (the reference date as a number).
DEFAULT_SEED = 20261127
#: Data years (数据年度) of the department files.
YEARS: tuple[int, ...] = (2021, 2022, 2023, 2024, 2025)
LATEST_YEAR = YEARS[-1]
#: 规模以上工业企业: main-business revenue ≥ 2000 万元 per year.
ABOVE_SCALE_REVENUE = 2000.0

CITY_CODE = "330500"
CITY_NAME = "湖州市"
PROVINCE_NAME = "浙江省"


@dataclass(frozen=True)
class County:
    """A county (区县) of the demo city with its GB/T 2260 code and naming words."""

    code: str
    name: str
    short: str
    share: float  # share of the city's industrial enterprises
    towns: tuple[tuple[str, str], ...]  # (short name used in company names, full town name)


COUNTIES: tuple[County, ...] = (
    County(
        "330502",
        "吴兴区",
        "吴兴",
        0.23,
        (
            ("织里", "织里镇"),
            ("八里店", "八里店镇"),
            ("埭溪", "埭溪镇"),
            ("东林", "东林镇"),
            ("妙西", "妙西镇"),
            ("道场", "道场乡"),
        ),
    ),
    County(
        "330503",
        "南浔区",
        "南浔",
        0.19,
        (
            ("南浔", "南浔镇"),
            ("练市", "练市镇"),
            ("双林", "双林镇"),
            ("菱湖", "菱湖镇"),
            ("和孚", "和孚镇"),
            ("善琏", "善琏镇"),
            ("旧馆", "旧馆街道"),
            ("千金", "千金镇"),
            ("石淙", "石淙镇"),
        ),
    ),
    County(
        "330521",
        "德清县",
        "德清",
        0.18,
        (
            ("武康", "武康街道"),
            ("乾元", "乾元镇"),
            ("新市", "新市镇"),
            ("洛舍", "洛舍镇"),
            ("钟管", "钟管镇"),
            ("禹越", "禹越镇"),
            ("新安", "新安镇"),
            ("雷甸", "雷甸镇"),
        ),
    ),
    County(
        "330522",
        "长兴县",
        "长兴",
        0.24,
        (
            ("雉城", "雉城街道"),
            ("画溪", "画溪街道"),
            ("李家巷", "李家巷镇"),
            ("洪桥", "洪桥镇"),
            ("林城", "林城镇"),
            ("泗安", "泗安镇"),
            ("和平", "和平镇"),
            ("煤山", "煤山镇"),
            ("夹浦", "夹浦镇"),
            ("虹星桥", "虹星桥镇"),
        ),
    ),
    County(
        "330523",
        "安吉县",
        "安吉",
        0.16,
        (
            ("递铺", "递铺街道"),
            ("孝丰", "孝丰镇"),
            ("天荒坪", "天荒坪镇"),
            ("梅溪", "梅溪镇"),
            ("鄣吴", "鄣吴镇"),
            ("杭垓", "杭垓镇"),
            ("报福", "报福镇"),
            ("天子湖", "天子湖镇"),
        ),
    ),
)
COUNTY_CODES: tuple[str, ...] = tuple(c.code for c in COUNTIES)


@dataclass(frozen=True)
class DemoCity:
    """The city a demo is built for: its counties and towns, and the names departments use.

    :data:`HUZHOU` is the default (curated county shares, towns and parks); other cities are
    built from the reference tables by :func:`industry_brain.demo.cities.city_for`.
    """

    code: str
    name: str  # 湖州市
    short: str  # 湖州
    province: str  # 浙江省
    province_short: str  # 浙江
    counties: tuple[County, ...]
    park_lessors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    specialities: dict[str, dict[str, float]] = field(default_factory=dict)
    above: int = 3800  # 规上 enterprises at city scale
    below: int = 6000  # 规下 enterprises at city scale

    @property
    def county_codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.counties)

    @property
    def banks(self) -> tuple[tuple[str, str], ...]:
        """(username, organisation) of the demo's cooperating banks."""
        return (
            ("bank_huzhou", f"{self.short}银行"),
            ("bank_icbc", f"中国工商银行{self.short}分行"),
            ("bank_rcb", f"{self.short}农村商业银行"),
        )


def _huzhou() -> DemoCity:
    from industry_brain.demo.params import COUNTY_SPECIALITIES, PARK_LESSORS

    return DemoCity(
        CITY_CODE, CITY_NAME, "湖州", PROVINCE_NAME, "浙江", COUNTIES,
        PARK_LESSORS, COUNTY_SPECIALITIES,
    )  # fmt: skip


_ACTIVE: list[DemoCity] = []


def city() -> DemoCity:
    """The city the demo is being built for (Huzhou unless :func:`use_city` says otherwise)."""
    if not _ACTIVE:
        _ACTIVE.append(_huzhou())
    return _ACTIVE[-1]


@contextmanager
def use_city(demo_city: DemoCity) -> Iterator[DemoCity]:
    """Build the demo for ``demo_city`` inside this block."""
    _ACTIVE.append(demo_city)
    try:
        yield demo_city
    finally:
        _ACTIVE.pop()


@dataclass(frozen=True)
class Scale:
    """Size of the demo: 规上 and 规下 enterprises active in the latest year, plus closed ones."""

    name: str
    above: int
    below: int
    closed: int
    projects: int
    agents_per_county: int
    enterprise_users: int
    files: bool  # write department files (city, small) or only Parquet tables (province)


SCALES: dict[str, Scale] = {
    "small": Scale("small", 380, 600, 30, 150, 2, 12, True),
    "city": Scale("city", 3800, 6000, 300, 1500, 4, 60, True),
    "province": Scale("province", 190_000, 310_000, 15_000, 15_000, 8, 200, False),
}


_FIRMS: list[int] = []


@contextmanager
def use_firms(firms: int | None) -> Iterator[int | None]:
    """Inside this block the ``province`` scale has ``firms`` active enterprises (规上 and 规下
    in the province's proportion) and writes department files that the main job imports
    through the real ingest path, like the city (``demo --scale province --firms N``). Without
    it (or with ``None``) ``province`` writes only Parquet tables; ``small`` and ``city`` are
    never affected."""
    if firms is None:
        yield None
        return
    if firms < 100:
        raise ValueError("a province demo needs at least 100 firms")
    _FIRMS.append(int(firms))
    try:
        yield firms
    finally:
        _FIRMS.pop()


def _province_with_files(firms: int) -> Scale:
    """The province scale at ``firms`` active enterprises, with department files."""
    base = SCALES["province"]
    share = firms / (base.above + base.below)
    above = round(base.above * share)
    return replace(
        base,
        above=above,
        below=firms - above,
        closed=max(1, round(base.closed * share)),
        projects=max(10, round(base.projects * share)),
        enterprise_users=max(5, round(base.enterprise_users * share)),
        files=True,
    )


def scale_of(name: str) -> Scale:
    """The :class:`Scale` called ``name`` (small, city, province), sized for the active city:
    its 规上/规下 counts at city scale (a tenth at small scale), the rest in proportion;
    ``province`` inside :func:`use_firms` is sized by the firms given, with files."""
    try:
        base = SCALES[name]
    except KeyError:
        known = ", ".join(SCALES)
        raise ValueError(f"unknown demo scale {name!r} (known: {known})") from None
    if name == "province" and _FIRMS:
        return _province_with_files(_FIRMS[-1])
    here = city()
    ref = SCALES["city"]
    if not base.files or (here.above, here.below) == (ref.above, ref.below):
        return base
    factor = here.above / ref.above
    div = ref.above / base.above  # 1 for city, 10 for small
    return replace(
        base,
        above=round(here.above / div),
        below=round(here.below / div),
        closed=max(1, round(base.closed * factor)),
        projects=max(10, round(base.projects * factor)),
        enterprise_users=max(5, round(base.enterprise_users * factor)),
    )
