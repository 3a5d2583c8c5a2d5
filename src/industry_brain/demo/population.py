"""The synthetic economy: enterprises (一企一档) and their yearly and monthly figures.

All figures are drawn with numpy generators in vectorised form, so the same code serves the
city (≈10 000 enterprises, with department files) and the province (≈500 000, Parquet only,
generated in chunks). Money is in 万元, land in 亩, electricity in 千瓦时 (kWh), energy in
吨标准煤 (tce), pollutants in 吨 — the store units; department files convert to their own units.

Size model: the latest year's 营业收入 of a 规上 enterprise is 2000 万元 × exp(Gamma), of a 规下
one 2000 万元 × exp(−Gamma); earlier years are back-cast with random yearly growth, so firms
near the threshold cross it (新升规 / 退规) between years.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from industry_brain.demo.constants import (
    ABOVE_SCALE_REVENUE,
    LATEST_YEAR,
    YEARS,
    city,
)
from industry_brain.demo.identifiers import CodeBook, NameFactory, random_uscc
from industry_brain.demo.params import (
    DIVISIONS,
    FUEL_KEYS,
    FUELS,
    HEAVY_DIVISIONS,
    ROADS,
    SEASON,
    TCE_PER_KWH,
    classes_by_division,
    division_codes,
)

#: Tax types (税种) in the tax bureau's file.
TAX_TYPES: tuple[str, ...] = (
    "增值税",
    "企业所得税",
    "城市维护建设税",
    "房产税",
    "城镇土地使用税",
    "印花税",
)
NY = len(YEARS)
_EPOCH = np.datetime64("1970-01-01", "D")
#: Divisions whose 规上 enterprises report pollutant emissions (重点排污单位 and others).
_EMITTING = HEAVY_DIVISIONS | {"13", "14", "15", "19", "27", "29", "33", "42"}


@dataclass
class Parcel:
    """A 宗地 row of the land file (owned 出让 or leased 租赁)."""

    parcel_no: str
    enterprise: int  # index of the enterprise using the land (lessee for a lease)
    area_mu: float
    tenure: str  # 出让 | 租赁
    start: date
    end: date
    land_use: str
    holder_name: str | None = None  # lessor (权利人) of a lease; None: the enterprise itself
    holder_uscc: str | None = None
    holder_enterprise: int | None = None  # lessor's index when it is in the registry


@dataclass
class Population:
    """Enterprises ``offset … offset+n-1`` with their facts for :data:`YEARS`."""

    offset: int
    uscc: list[str]
    name: list[str]
    #: former names (曾用名) as (name, last year the name was used), oldest first
    former: list[list[tuple[str, int]]]
    county_idx: np.ndarray
    town_idx: np.ndarray
    class_code: list[str]
    reg_date: np.ndarray  # datetime64[D]
    close_year: np.ndarray  # 0 = still active
    status: list[str]
    address: list[str]
    active: np.ndarray  # (n, NY) bool
    above: np.ndarray  # (n, NY) bool — 规上 in that year
    revenue: np.ndarray  # (n, NY) 万元
    output: np.ndarray
    value_added: np.ndarray
    profit: np.ndarray
    rd: np.ndarray
    employees: np.ndarray  # (n, NY) int
    tax: np.ndarray  # (n, NY, len(TAX_TYPES)) 万元
    fuels: np.ndarray  # (n, NY, len(FUELS)) physical units (吨, 万立方米, 吉焦)
    electricity: np.ndarray  # (n, NY) kWh
    energy_total: np.ndarray  # (n, NY) tce
    emits: np.ndarray  # (n,) bool — reports pollutant emissions
    emissions: np.ndarray  # (n, NY, 4) 吨
    land_area: np.ndarray  # (n, NY) 亩 (own parcels + leased-in parcels in use that year)
    owned_land: np.ndarray  # (n, NY) 亩 of own (出让) parcels: the base of 房产税 and 土地使用税
    acct_ent: np.ndarray  # (m,) enterprise index of each power account
    acct_no: list[str]
    acct_share: np.ndarray  # (m,) share of the enterprise's electricity
    acct_has_uscc: np.ndarray  # (m,) the power company knows the USCC of the account
    acct_old_name: np.ndarray  # (m,) account name still the name at opening (not updated)
    monthly_kwh: np.ndarray  # (m, NY, 12) kWh per account and month (0 when not active)
    parcels: list[Parcel] = field(default_factory=list)
    #: (enterprise A, enterprise B): A's current name is B's former name
    name_clashes: list[tuple[int, int]] = field(default_factory=list)
    #: workshops that are not in the registry: (name, county index, class code, valid USCC)
    outsiders: list[tuple[str, int, str, str]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.uscc)

    def name_in_year(self, i: int, year: int) -> str:
        """The name enterprise ``i`` used in ``year`` (a former name before a change of name)."""
        for old, last in self.former[i]:
            if year <= last:
                return old
        return self.name[i]

    def reg_date_of(self, i: int) -> date:
        return _to_date(self.reg_date[i])


def _to_date(d: np.datetime64) -> date:
    return date(1970, 1, 1) + timedelta(days=int((d - _EPOCH).astype(np.int64)))


def _division_weights(county: str, divisions: tuple[str, ...]) -> np.ndarray:
    spec = city().specialities.get(county, {})
    w = np.array([DIVISIONS[d].weight * spec.get(d, 1.0) for d in divisions], dtype=float)
    return w / w.sum()


def generate(
    rng: np.random.Generator,
    codes: CodeBook,
    names: NameFactory,
    n_above: int,
    n_below: int,
    n_closed: int,
    offset: int = 0,
    account_offset: int = 0,
    detail: bool = True,
) -> Population:
    """Draw a population of ``n_above`` 规上 and ``n_below`` 规下 enterprises active in the latest
    year plus ``n_closed`` closed (注销) ones. ``detail`` adds renames, name clashes and land
    parcels with leases (city scale); without it land is one aggregate area per enterprise.
    """
    n = n_above + n_below + n_closed
    group = np.concatenate(
        [np.zeros(n_above, np.int8), np.ones(n_below, np.int8), np.full(n_closed, 2, np.int8)]
    )
    group = group[rng.permutation(n)]
    is_above = group == 0
    closed = group == 2

    # --- where and what -------------------------------------------------------------------
    shares = np.array([c.share for c in city().counties])
    county_idx = rng.choice(len(city().counties), size=n, p=shares / shares.sum()).astype(np.int8)
    town_u = rng.random(n)
    town_idx = np.array(
        [int(u * len(city().counties[c].towns)) for u, c in zip(town_u, county_idx, strict=True)],
        dtype=np.int8,
    )
    divisions = division_codes()
    classes = classes_by_division()
    division = np.empty(n, dtype="<U2")
    for k, county in enumerate(city().counties):
        mask = county_idx == k
        division[mask] = rng.choice(
            divisions, size=int(mask.sum()), p=_division_weights(county.code, divisions)
        )
    class_u = rng.random(n)
    class_code = [
        classes[d][int(u * len(classes[d]))] for d, u in zip(division, class_u, strict=True)
    ]
    div_of = {d: DIVISIONS[d] for d in divisions}

    def per_div(attr: str) -> np.ndarray:
        table = {d: float(getattr(div_of[d], attr)) for d in divisions}
        return np.array([table[d] for d in division])

    # --- registration and closure -------------------------------------------------------------
    age = np.where(is_above, rng.gamma(3.0, 6.0, n), rng.gamma(3.0, 4.5, n)).astype(int)
    reg_year = np.clip(LATEST_YEAR - age, 1985, LATEST_YEAR)
    close_year = np.where(closed, rng.integers(YEARS[1], LATEST_YEAR + 1, n), 0)
    reg_year = np.where(closed, np.minimum(reg_year, close_year - 2), reg_year)
    day = np.where(reg_year == LATEST_YEAR, rng.integers(0, 180, n), rng.integers(0, 365, n))
    reg_date = (reg_year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + day
    years = np.array(YEARS)
    active = (reg_year[:, None] <= years[None, :]) & (
        (close_year[:, None] == 0) | (years[None, :] < close_year[:, None])
    )

    # --- revenue path ---------------------------------------------------------------------
    size = per_div("size")
    base = np.where(
        is_above,
        ABOVE_SCALE_REVENUE * np.exp(rng.gamma(1.2, 0.8, n)) * np.maximum(size, 1.0),
        ABOVE_SCALE_REVENUE * np.exp(-rng.gamma(1.6, 0.75, n)),
    )
    base = np.maximum(base, 30.0)
    # 规上 enterprises stay above the threshold in the latest year after the size multiplier.
    base = np.where(is_above, np.maximum(base, ABOVE_SCALE_REVENUE * 1.0001), base)
    base = np.where(is_above | closed, base, np.minimum(base, ABOVE_SCALE_REVENUE * 0.9999))
    drift = {2022: 0.03, 2023: 0.05, 2024: 0.06, 2025: 0.05}
    trend = rng.normal(0.0, 0.05, n)
    trend += np.isin(division, ["36", "38", "39", "27", "40"]) * 0.04
    trend -= np.isin(division, ["17", "30", "31", "21"]) * 0.015
    trend -= closed * 0.10
    revenue = np.empty((n, NY))
    revenue[:, -1] = base
    for k in range(NY - 1, 0, -1):
        g = drift[YEARS[k]] + trend + rng.normal(0.0, 0.14, n)
        revenue[:, k - 1] = revenue[:, k] / np.exp(g)
    revenue = np.round(revenue, 1)
    above = active & (revenue >= ABOVE_SCALE_REVENUE)
    above[:, -1] = is_above  # exact counts in the latest year
    revenue[:, -1] = np.where(
        is_above, np.maximum(revenue[:, -1], ABOVE_SCALE_REVENUE), revenue[:, -1]
    )
    small = ~above  # 规下 in that year

    output = np.round(revenue * rng.uniform(0.92, 1.08, (n, NY)), 1)
    va_firm = per_div("va_rate") * rng.lognormal(0.0, 0.12, n)
    value_added = np.round(
        np.minimum(output * va_firm[:, None] * rng.lognormal(0.0, 0.04, (n, NY)), output * 0.7), 1
    )
    margin = per_div("margin") + rng.normal(0.0, 0.04, n)
    profit = np.round(
        revenue * np.maximum(margin[:, None] + rng.normal(0.0, 0.02, (n, NY)), -0.25), 1
    )
    rpe = per_div("revenue_per_employee") * rng.lognormal(0.0, 0.35, n)
    emp_base = np.maximum(base / rpe, np.where(is_above, 8, 2))
    employees = np.maximum(
        np.round(
            emp_base[:, None]
            * (revenue / revenue[:, -1:]) ** 0.5
            * rng.lognormal(0.0, 0.03, (n, NY))
        ),
        1,
    ).astype(np.int64)
    rd_firm = per_div("rd_rate") * rng.lognormal(0.0, 0.6, n)
    rd_firm = np.where(
        is_above, rd_firm * (rng.random(n) > 0.15), rd_firm * 0.4 * (rng.random(n) < 0.3)
    )
    rd = np.round(revenue * rd_firm[:, None] * rng.lognormal(0.0, 0.1, (n, NY)), 1)

    # --- land -----------------------------------------------------------------------------
    productivity = per_div("output_per_mu") * rng.lognormal(0.0, 0.45, n)
    productivity = np.where(is_above, productivity, productivity * 0.55)
    area = np.maximum(output.max(axis=1) / productivity, np.where(is_above, 3.0, 0.6))
    big_site = rng.random(n) < 0.015
    area = np.round(
        np.minimum(np.where(big_site, area * rng.uniform(3.0, 6.0, n), area), 3000.0), 2
    )

    # --- energy ---------------------------------------------------------------------------
    kwh_firm = (
        per_div("kwh_per_wanyuan") * rng.lognormal(0.0, 0.35, n) * np.where(is_above, 1.0, 2.5)
    )
    electricity = np.round(output * kwh_firm[:, None] * rng.lognormal(0.0, 0.05, (n, NY)))
    fuel_tce_firm = per_div("fuel_tce_per_wanyuan") * rng.lognormal(0.0, 0.4, n)
    mix = np.zeros((n, len(FUELS)))
    for f, key in enumerate(FUEL_KEYS):
        share = np.array([div_of[d].fuel_mix.get(key, 0.0) for d in divisions])
        by_div = dict(zip(divisions, share, strict=True))
        s = np.array([by_div[d] for d in division])
        uses = rng.random(n) < np.where(is_above, 0.35 + s, 0.15 + s / 2)
        mix[:, f] = np.where(uses & (s > 0), s, 0.0)
    mix_sum = mix.sum(axis=1, keepdims=True)
    mix = np.divide(mix, mix_sum, out=np.zeros_like(mix), where=mix_sum > 0)
    tce_per_unit = np.array([f[3] for f in FUELS])
    fuel_tce = (output * fuel_tce_firm[:, None])[:, :, None] * mix[:, None, :]
    fuels = np.round(fuel_tce / tce_per_unit[None, None, :], 2)

    # --- emissions ------------------------------------------------------------------------
    emitting = np.isin(division, sorted(_EMITTING))
    emits = (is_above & emitting) | (
        ~is_above & np.isin(division, sorted(HEAVY_DIVISIONS)) & (rng.random(n) < 0.25)
    )
    kg = np.array([div_of[d].emissions_kg for d in division])
    emissions = np.round(
        output[:, :, None]
        * kg[:, None, :]
        / 1000.0
        * rng.lognormal(0.0, 0.6, (n, 1, 4))
        * rng.lognormal(0.0, 0.1, (n, NY, 4)),
        3,
    )

    # --- identifiers, names, addresses ----------------------------------------------------
    index = offset + np.arange(n)
    county_codes = [city().counties[int(c)].code for c in county_idx]
    new_style = reg_date >= np.datetime64("2015-10-01")
    uscc = codes.usccs(index, county_codes, new_style)
    big = base > 20000
    name = names.batch(county_idx, town_idx, class_code, big)
    road = rng.integers(0, len(ROADS), n)
    number = rng.integers(1, 1200, n)
    address = [
        f"{city().province}{city().name}{city().counties[int(c)].name}{city().counties[int(c)].towns[int(t)][1]}"
        f"{ROADS[int(r)]}{int(no)}号"
        for c, t, r, no in zip(county_idx, town_idx, road, number, strict=True)
    ]
    status_u = rng.random(n)
    status = [
        ("吊销" if u < 0.15 else "注销") if c else ("在业" if u < 0.2 else "存续")
        for c, u in zip(closed, status_u, strict=True)
    ]

    # --- power accounts -------------------------------------------------------------------
    u = rng.random(n)
    n_acct = np.where(
        is_above,
        np.where(u < 0.75, 1, np.where(u < 0.93, 2, 3)),
        np.where(u < 0.93, 1, np.where(u < 0.99, 2, 3)),
    )
    acct_ent = np.repeat(np.arange(n), n_acct)
    m = len(acct_ent)
    acct_no = codes.accounts(account_offset + np.arange(m))
    raw_share = rng.gamma(2.0, 1.0, m)
    acct_share = raw_share / np.bincount(acct_ent, weights=raw_share, minlength=n)[acct_ent]
    acct_has_uscc = rng.random(m) >= 0.10
    acct_old_name = rng.random(m) < 0.5
    # Monthly readings with seasonality; the yearly electricity is their sum.
    noise = rng.lognormal(0.0, 0.07, size=(m, NY, 12))
    season = np.asarray(SEASON)[None, None, :] / 12.0
    monthly = (electricity[acct_ent] * acct_share[:, None])[:, :, None] * season * noise
    monthly = np.round(monthly * active[acct_ent][:, :, None])
    electricity = np.zeros((n, NY))
    np.add.at(electricity, acct_ent, monthly.sum(axis=2))
    energy_total = np.round(
        (fuels * tce_per_unit[None, None, :]).sum(axis=2) + electricity * TCE_PER_KWH, 2
    )

    pop = Population(
        offset=offset,
        uscc=uscc,
        name=name,
        former=[[] for _ in range(n)],
        county_idx=county_idx,
        town_idx=town_idx,
        class_code=class_code,
        reg_date=reg_date,
        close_year=close_year.astype(np.int64),
        status=status,
        address=address,
        active=active,
        above=above,
        revenue=revenue,
        output=output,
        value_added=value_added,
        profit=profit,
        rd=rd,
        employees=employees,
        tax=np.zeros((n, NY, len(TAX_TYPES))),
        fuels=fuels,
        electricity=electricity,
        energy_total=energy_total,
        emits=emits,
        emissions=emissions,
        land_area=np.zeros((n, NY)),
        owned_land=np.zeros((n, NY)),
        acct_ent=acct_ent,
        acct_no=acct_no,
        acct_share=acct_share,
        acct_has_uscc=acct_has_uscc,
        acct_old_name=acct_old_name,
        monthly_kwh=monthly,
    )
    _renames(pop, rng, names, detail)
    if detail:
        _parcels(pop, rng, codes, area, is_above)
        _outsiders(pop, rng, names)
    else:
        pop.land_area = np.where(active, area[:, None], 0.0)
        pop.owned_land = pop.land_area * (rng.random(n) >= 0.3)[:, None]
    _taxes(pop, rng, small)
    _mask_inactive(pop)
    return pop


def _renames(pop: Population, rng: np.random.Generator, names: NameFactory, detail: bool) -> None:
    """About 5 % change name once (变更名称), a few twice; with ``detail`` also plant clashes where
    one enterprise's current name is another's former name (a name matching two enterprises).
    """
    n = pop.n
    u = rng.random(n)
    first_year = rng.integers(YEARS[1], LATEST_YEAR + 1, n)
    for i in range(n):
        if u[i] >= 0.05:
            continue
        y = int(first_year[i])
        if not (pop.active[i, YEARS.index(y) - 1] and pop.active[i, YEARS.index(y)]):
            continue
        twice = u[i] < 0.006 and y <= YEARS[2]
        cc, tt, cls = int(pop.county_idx[i]), int(pop.town_idx[i]), pop.class_code[i]
        history = [(pop.name[i], y - 1)]
        current = names.renamed(pop.name[i], cc, tt, cls)
        if twice:
            y2 = y + 2
            history.append((current, y2 - 1))
            current = names.renamed(current, cc, tt, cls)
        pop.former[i] = history
        pop.name[i] = current
    if not detail:
        return
    renamed = [i for i in range(n) if pop.former[i] and pop.close_year[i] == 0]
    plain = [i for i in range(n) if not pop.former[i] and pop.close_year[i] == 0]
    n_clash = min(max(2, n // 2000), len(renamed), len(plain))
    if n_clash == 0:
        return
    chosen_b = rng.choice(len(renamed), size=n_clash, replace=False)
    chosen_a = rng.choice(len(plain), size=n_clash, replace=False)
    for kb, ka in zip(chosen_b, chosen_a, strict=True):
        b, a = renamed[int(kb)], plain[int(ka)]
        pop.name[a] = pop.former[b][0][0]
        pop.name_clashes.append((a, b))


def _parcels(
    pop: Population,
    rng: np.random.Generator,
    codes: CodeBook,
    area: np.ndarray,
    is_above: np.ndarray,
) -> None:
    """Land parcels (宗地): owned 出让 land, expansions, and leases (租赁) from park companies or
    from other enterprises (the lessee is not the 权利人)."""
    n = pop.n
    seq = {c.code: 0 for c in city().counties}

    def parcel_no(ci: int, ti: int) -> str:
        code = city().counties[ci].code
        seq[code] += 1
        return f"{code}{ti + 1:03d}{int(rng.integers(1, 60)):03d}GB{seq[code]:05d}"

    leased = rng.random(n) < np.where(is_above, 0.12, 0.40)
    n_own = np.where(rng.random(n) < np.where(is_above, 0.15, 0.04), 2, 1)
    n_own = np.where(is_above & (rng.random(n) < 0.04), 3, n_own)
    expands = rng.random(n) < 0.06
    expand_year = rng.integers(YEARS[1], LATEST_YEAR + 1, n)
    offsets = rng.integers(30, 400, n)
    parcels: list[Parcel] = []
    own_primary: dict[int, Parcel] = {}
    for i in range(n):
        reg = pop.reg_date_of(i)
        ci, ti = int(pop.county_idx[i]), int(pop.town_idx[i])
        if leased[i]:
            continue
        start = reg + timedelta(days=int(offsets[i]))
        if reg.year <= 2020:
            start = min(start, date(2020, 12, 31))
        weights = rng.dirichlet(np.full(int(n_own[i]), 3.0))
        for k, w in enumerate(weights):
            begin = start if k == 0 else start + timedelta(days=int(rng.integers(200, 2000)))
            if begin.year > LATEST_YEAR:
                begin = date(LATEST_YEAR, 6, 30)
            p = Parcel(
                parcel_no=parcel_no(ci, ti),
                enterprise=i,
                area_mu=round(float(area[i] * w), 2),
                tenure="出让",
                start=begin,
                end=date(begin.year + 50, begin.month, 1) - timedelta(days=1),
                land_use="工业用地" if rng.random() < 0.93 else "仓储用地",
            )
            parcels.append(p)
            if k == 0:
                own_primary[i] = p
        if expands[i]:
            s = date(int(expand_year[i]), int(rng.integers(1, 13)), 1)
            parcels.append(
                Parcel(
                    parcel_no=parcel_no(ci, ti),
                    enterprise=i,
                    area_mu=round(float(area[i] * rng.uniform(0.2, 0.6)), 2),
                    tenure="出让",
                    start=s,
                    end=date(s.year + 50, s.month, 1) - timedelta(days=1),
                    land_use="工业用地",
                )
            )
    # Lessors among enterprises: 规上 firms with large own parcels, by county.
    lessors: dict[int, list[int]] = {k: [] for k in range(len(city().counties))}
    for i, p in own_primary.items():
        if is_above[i] and p.area_mu >= 30 and pop.close_year[i] == 0:
            lessors[int(pop.county_idx[i])].append(i)
    park_blocks: dict[tuple[int, int], str] = {}
    for i in range(n):
        if not leased[i]:
            continue
        ci, ti = int(pop.county_idx[i]), int(pop.town_idx[i])
        reg = pop.reg_date_of(i)
        start = reg if reg.year >= 2016 else date(int(rng.integers(2016, 2021)), 1, 1)
        end = date(start.year + int(rng.integers(10, 16)), start.month, 1) - timedelta(days=1)
        cands = lessors[ci]
        lessor = None
        if cands and rng.random() < 0.35:
            j = cands[int(rng.integers(0, len(cands)))]
            if j != i and own_primary[j].area_mu * 0.3 >= area[i]:
                lessor = j
        if lessor is not None:
            host = own_primary[lessor]
            parcels.append(
                Parcel(
                    parcel_no=host.parcel_no,
                    enterprise=i,
                    area_mu=round(float(area[i]), 2),
                    tenure="租赁",
                    start=max(start, host.start),
                    end=end,
                    land_use=host.land_use,
                    holder_name=None,
                    holder_uscc=pop.uscc[lessor],
                    holder_enterprise=lessor,
                )
            )
        else:
            park = int(rng.integers(0, len(city().park_lessors[city().counties[ci].code])))
            key = (ci, park * 100 + int(rng.integers(0, 8)))
            if key not in park_blocks:
                park_blocks[key] = parcel_no(ci, ti)
            parcels.append(
                Parcel(
                    parcel_no=park_blocks[key],
                    enterprise=i,
                    area_mu=round(float(area[i]), 2),
                    tenure="租赁",
                    start=start,
                    end=end,
                    land_use="工业用地",
                    holder_name=city().park_lessors[city().counties[ci].code][park],
                )
            )
    pop.parcels = parcels
    land = np.zeros((n, NY))
    owned = np.zeros((n, NY))
    for p in parcels:
        for k, y in enumerate(YEARS):
            if p.start.year <= y <= p.end.year and pop.active[p.enterprise, k]:
                land[p.enterprise, k] += p.area_mu
                if p.tenure == "出让":
                    owned[p.enterprise, k] += p.area_mu
    pop.land_area = np.round(land, 2)
    pop.owned_land = np.round(owned, 2)


def _outsiders(pop: Population, rng: np.random.Generator, names: NameFactory) -> None:
    """A few workshops that appear in department files but not in the registry."""
    known = set(pop.uscc)
    for k in range(8):
        ci = k % len(city().counties)
        cls = pop.class_code[int(rng.integers(0, pop.n))]
        name = names.outsider(ci, int(rng.integers(0, len(city().counties[ci].towns))), cls)
        code = random_uscc(rng, city().counties[ci].code)
        while code in known:
            code = random_uscc(rng, city().counties[ci].code)
        known.add(code)
        pop.outsiders.append((name, ci, cls, code))


def _taxes(pop: Population, rng: np.random.Generator, small: np.ndarray) -> None:
    """Taxes by type (万元): VAT from value added, CIT from profit, land-based and minor taxes."""
    n = pop.n
    credit = rng.uniform(0.55, 0.9, n)
    vat = pop.value_added * 0.13 * credit[:, None]
    vat = np.where(small, pop.revenue * rng.uniform(0.01, 0.03, n)[:, None], vat)
    vat[:, YEARS.index(2022)] *= 0.85  # 2022 增值税留抵退税
    high_tech = rng.random(n) < 0.15
    cit = np.maximum(pop.profit, 0.0) * np.where(high_tech, 0.15, 0.25)[:, None]
    cit = np.where(small, cit * 0.4, cit)  # 小微企业所得税优惠
    land_tax = pop.owned_land * rng.uniform(0.2, 0.5, n)[:, None]
    property_tax = pop.owned_land * rng.uniform(0.1, 0.4, n)[:, None]
    stamp = pop.revenue * 0.0003
    tax = np.stack([vat, cit, vat * 0.07, property_tax, land_tax, stamp], axis=2)
    pop.tax = np.round(tax * rng.lognormal(0.0, 0.1, (n, NY, 1)), 4)


def _mask_inactive(pop: Population) -> None:
    """Zero every figure in a year the enterprise was not active (not yet founded or closed)."""
    a = pop.active
    for name in ("revenue", "output", "value_added", "profit", "rd", "electricity"):
        setattr(pop, name, np.where(a, getattr(pop, name), 0.0))
    pop.employees = np.where(a, pop.employees, 0)
    pop.energy_total = np.where(a, pop.energy_total, 0.0)
    pop.land_area = np.where(a, pop.land_area, 0.0)
    pop.tax = np.where(a[:, :, None], pop.tax, 0.0)
    pop.fuels = np.where(a[:, :, None], pop.fuels, 0.0)
    pop.emissions = np.where(a[:, :, None], pop.emissions, 0.0)
    pop.above = pop.above & a


def build_population(
    seed: int, n_above: int, n_below: int, n_closed: int, detail: bool = True
) -> Population:
    """The city's population for ``seed`` (one chunk, with renames and parcels)."""
    root = np.random.SeedSequence(seed)
    code_seq, name_seq, pop_seq = root.spawn(3)
    codes = CodeBook(np.random.Generator(np.random.PCG64(code_seq)))
    names = NameFactory(np.random.Generator(np.random.PCG64(name_seq)))
    rng = np.random.Generator(np.random.PCG64(pop_seq))
    return generate(rng, codes, names, n_above, n_below, n_closed, detail=detail)


__all__ = ["NY", "TAX_TYPES", "Parcel", "Population", "build_population", "generate"]
