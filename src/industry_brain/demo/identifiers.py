"""Synthetic identifiers: USCCs (统一社会信用代码), company names, power account numbers (户号).

Every identifier is unique by construction or checked against the names already issued, and
is drawn from numpy generators only, so the same seed always yields the same identifiers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from industry_brain.core import uscc as uscc_core
from industry_brain.demo.constants import city
from industry_brain.demo.params import SUFFIXES, TECH_DIVISIONS, TRADE_CHARS, words_for

# GB 11714 organisation code: values 0–9, A=10 … Z=35; weights of the 8 body characters.
_GB11714_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ORG_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_USCC_CHARS = uscc_core.ALPHABET
_MA_SPACE = 31**6  # bodies "MA" + 6 USCC characters (registered after 2015-10-01)
_DIGIT_SPACE = 10**8  # bodies of 8 digits (old organisation codes)
_ACCOUNT_SPACE = 10**8


def _coprime_multiplier(rng: np.random.Generator, space: int) -> int:
    """A multiplier coprime to ``space`` so that ``(a*i + b) % space`` is a bijection."""
    while True:
        a = int(rng.integers(space // 3, space - 1))
        if np.gcd(a, space) == 1:
            return a


class CodeBook:
    """Issues unique USCC bodies and power account numbers from affine bijections of an index."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._ma = (_coprime_multiplier(rng, _MA_SPACE), int(rng.integers(0, _MA_SPACE)))
        self._digits = (_coprime_multiplier(rng, _DIGIT_SPACE), int(rng.integers(0, _DIGIT_SPACE)))
        self._accounts = (
            _coprime_multiplier(rng, _ACCOUNT_SPACE),
            int(rng.integers(0, _ACCOUNT_SPACE)),
        )

    def usccs(
        self, index: np.ndarray, county_codes: Sequence[str], new_style: np.ndarray
    ) -> list[str]:
        """USCCs for enterprises ``index`` (global numbers): authority 9, type 1 (企业), the
        county code, a GB 11714 body (``MA…`` after the 2015 reform, 8 digits before) whose 9th
        character is the GB 11714 check, then the GB 32100 check character.
        """
        index = np.asarray(index, dtype=np.int64)
        n = len(index)
        a, b = self._ma
        v = (a * index + b) % _MA_SPACE
        ma_digits = np.empty((n, 6), dtype=np.int64)
        for k in range(5, -1, -1):
            ma_digits[:, k] = v % 31
            v //= 31
        a, b = self._digits
        d = (a * index + b) % _DIGIT_SPACE
        digit_body = np.empty((n, 8), dtype=np.int64)
        for k in range(7, -1, -1):
            digit_body[:, k] = d % 10
            d //= 10
        # Values of each body character in GB 11714 terms (0-9, A=10 … Z=35) and as text.
        uscc_to_org = np.array([_ORG_CHARS.index(c) for c in _USCC_CHARS], dtype=np.int64)
        ma_values = np.concatenate(
            [
                np.full((n, 1), _ORG_CHARS.index("M")),
                np.full((n, 1), _ORG_CHARS.index("A")),
                uscc_to_org[ma_digits],
            ],
            axis=1,
        )
        values = np.where(np.asarray(new_style, dtype=bool)[:, None], ma_values, digit_body)
        check = 11 - (values * _GB11714_WEIGHTS).sum(axis=1) % 11  # 10 → X, 11 → 0
        check = np.where(check == 11, 0, np.where(check == 10, _ORG_CHARS.index("X"), check))
        org_bytes = np.frombuffer(_ORG_CHARS.encode(), dtype=np.uint8)
        chars = np.concatenate([org_bytes[values], org_bytes[check][:, None]], axis=1)
        chars = np.ascontiguousarray(chars.astype(np.uint8))
        bodies = chars.view("S9").ravel()
        return [uscc_core.make("91" + county_codes[i] + bodies[i].decode()) for i in range(n)]

    def accounts(self, index: np.ndarray) -> list[str]:
        """10-digit power account numbers (户号) starting with 33 (国网浙江)."""
        a, b = self._accounts
        vals = (a * np.asarray(index, dtype=np.int64) + b) % _ACCOUNT_SPACE
        return [f"33{int(v):08d}" for v in vals]


def gb11714_check(body8: str) -> str:
    """The GB 11714 check character of an 8-character organisation-code body."""
    total = sum(_ORG_CHARS.index(c) * int(w) for c, w in zip(body8, _GB11714_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else ("0" if c == 11 else str(c))


def random_uscc(rng: np.random.Generator, county_code: str) -> str:
    """A valid ``91…MA…`` USCC with a random body (used for companies outside the registry)."""
    body = "MA" + "".join(_USCC_CHARS[int(i)] for i in rng.integers(0, 31, size=6))
    return uscc_core.make("91" + county_code + body + gb11714_check(body))


class NameFactory:
    """Unique synthetic company names: place word + 字号 + industry word + 有限公司.

    Uniqueness is on the name without its legal-form suffix, so that 有限公司 and 股份有限公司
    variants of one name never coexist.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: set[str] = set()

    @staticmethod
    def _places(county_idx: int, town_idx: int) -> tuple[str, ...]:
        county = city().counties[county_idx]
        return (city().province_short, city().short, county.short, county.towns[town_idx][0])

    def batch(
        self,
        county_idx: np.ndarray,
        town_idx: np.ndarray,
        class_codes: Sequence[str],
        big: np.ndarray,
    ) -> list[str]:
        """One name per enterprise; draws are made in bulk, collisions redrawn one by one."""
        n = len(class_codes)
        rng = self.rng
        u_place = rng.random(n)
        trade = rng.integers(0, len(TRADE_CHARS), size=(n, 2))
        word_u = rng.random(n)
        tech_u = rng.random(n)
        suffix_u = rng.random(n)
        names: list[str] = []
        for i in range(n):
            place_k = _place_choice(float(u_place[i]), bool(big[i]))
            places = self._places(int(county_idx[i]), int(town_idx[i]))
            t1, t2 = int(trade[i, 0]), int(trade[i, 1])
            if t1 == t2:
                t2 = (t2 + 1) % len(TRADE_CHARS)
            words = words_for(class_codes[i])
            word = words[int(word_u[i] * len(words))]
            tech = "科技" if class_codes[i][:2] in TECH_DIVISIONS and tech_u[i] < 0.3 else ""
            core = places[place_k] + TRADE_CHARS[t1] + TRADE_CHARS[t2] + word + tech
            core = self._unique(core, places, word + tech)
            names.append(core + _suffix(float(suffix_u[i]), bool(big[i])))
        return names

    def _unique(self, core: str, places: tuple[str, ...], tail: str) -> str:
        attempts = 0
        while core in self.used:
            attempts += 1
            k = int(self.rng.integers(0, len(places)))
            size = 2 if attempts < 20 else 3
            idx = self.rng.integers(0, len(TRADE_CHARS), size=size)
            core = places[k] + "".join(TRADE_CHARS[int(j)] for j in idx) + tail
        self.used.add(core)
        return core

    def renamed(self, old_name: str, county_idx: int, town_idx: int, class_code: str) -> str:
        """A new name after a change of name (变更名称): new place or industry word, same 字号."""
        rng = self.rng
        places = self._places(county_idx, town_idx)
        core_old = _strip_suffix(old_name)
        trade = next((core_old[len(p) :][:2] for p in places if core_old.startswith(p)), "")
        if not trade or rng.random() < 0.3:
            idx = rng.integers(0, len(TRADE_CHARS), size=2)
            trade = "".join(TRADE_CHARS[int(j)] for j in idx)
        words = (*words_for(class_code), "新材料", "科技", "实业", "智能科技")
        word = words[int(rng.integers(0, len(words)))]
        place = places[int(rng.integers(0, 3))]
        core = self._unique(place + trade + word, places, word)
        return core + _suffix(float(rng.random()), False)

    def outsider(self, county_idx: int, town_idx: int, class_code: str) -> str:
        """A name of a workshop that is not in the registry (加工厂, 经营部)."""
        places = self._places(county_idx, town_idx)
        idx = self.rng.integers(0, len(TRADE_CHARS), size=2)
        words = words_for(class_code)
        core = places[3] + "".join(TRADE_CHARS[int(j)] for j in idx) + words[0]
        core = self._unique(core, places, words[0])
        return core + ("加工厂" if self.rng.random() < 0.5 else "经营部")


def _place_choice(u: float, big: bool) -> int:
    # 0 province (浙江), 1 city (湖州), 2 county, 3 town
    cuts = (0.25, 0.5, 0.75) if big else (0.08, 0.33, 0.62)
    return next((k for k, c in enumerate(cuts) if u < c), 3)


def _suffix(u: float, big: bool) -> str:
    if big and u < 0.3:
        return "股份有限公司"
    acc = 0.0
    for text, weight in SUFFIXES:
        acc += weight
        if u < acc:
            return text
    return SUFFIXES[0][0]


def _strip_suffix(name: str) -> str:
    for text in ("股份有限公司", "有限责任公司", "有限公司", "加工厂", "经营部"):
        if name.endswith(text):
            return name[: -len(text)]
    return name
