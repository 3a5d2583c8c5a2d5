"""Enterprise matching: which enterprise a department row is about.

Order: the USCC when the row has a valid one; otherwise a known power account (电力户号); otherwise
the exact normalised current or former name (曾用名) or a name an officer confirmed before.
A row that matches nobody, or more than one enterprise, is never guessed: it goes to the review
queue with candidates, and the row is rejected until someone confirms the match. A confirmed
match is remembered (``match_aliases`` / ``power_accounts``) for the next import.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.ingest import normalize
from industry_brain.ingest.mapping import Mapping
from industry_brain.store import facts as fact_store
from industry_brain.store.db import fetch_tuples
from industry_brain.store.models import (
    Enterprise,
    EnterpriseName,
    MatchAlias,
    PowerAccount,
)

if TYPE_CHECKING:
    from industry_brain.ingest import readers
    from industry_brain.ingest.pipeline import _Sheet


#: the least similarity (0–100) of a name suggested to the review queue
CANDIDATE_MIN_SIMILARITY = 60.0


class Lookup:
    """In-memory indexes of the store used to match one import (read once per import, each
    when first needed: a file whose rows all carry a known USCC never reads the names, and only
    a power file reads the power accounts — at province scale each is hundreds of thousands of
    rows). A file with few distinct keys (a correction) reads only those, by key
    (:meth:`usccs_of`, :meth:`accounts_of`, :meth:`names_of`). Read as the driver's plain
    tuples, in the import's session."""

    def __init__(self, session: Session) -> None:
        self._session = session
        #: held while the look-ups read the store: a streamed import
        #: (:mod:`industry_brain.ingest.stream`) sets its lock here, so that a read never meets
        #: the COPY its writer thread is sending on the same connection
        self.guard: AbstractContextManager[Any] = nullcontext()

    def _fetch(self, stmt: Any) -> list[tuple[Any, ...]]:
        with self.guard:
            return fetch_tuples(self._session, stmt)

    @classmethod
    def load(cls, session: Session) -> Lookup:
        return cls(session)

    @cached_property
    def by_uscc(self) -> dict[str, int]:
        """USCC → enterprise id, every enterprise of the store."""
        return dict(self._fetch(select(Enterprise.uscc, Enterprise.id)))

    @cached_property
    def _registered(self) -> tuple[dict[int, str], dict[int, str]]:
        rows = self._fetch(select(Enterprise.id, Enterprise.uscc, Enterprise.name))
        return {eid: name for eid, _, name in rows}, {eid: uscc for eid, uscc, _ in rows}

    @property
    def names(self) -> dict[int, str]:
        """Enterprise id → current name (for the review queue's candidates)."""
        return self._registered[0]

    @property
    def usccs(self) -> dict[int, str]:
        """Enterprise id → USCC (for the review queue's candidates)."""
        return self._registered[1]

    @cached_property
    def by_name(self) -> dict[str, set[int]]:
        """Normalised name (current, former 曾用名, or confirmed by an officer) → enterprise ids."""
        return self._names()

    def _names(self, only: list[str] | None = None) -> dict[str, set[int]]:
        """Normalised name → enterprise ids from the names and the confirmed aliases, all of
        them or ``only`` these names (through the names' indexes)."""
        found: dict[str, set[int]] = defaultdict(set)
        names = select(EnterpriseName.enterprise_id, EnterpriseName.normalized)
        aliases = select(MatchAlias.enterprise_id, MatchAlias.value)
        aliases = aliases.where(MatchAlias.kind == "name")
        if only is not None:
            names = names.where(EnterpriseName.normalized.in_(only))
            aliases = aliases.where(MatchAlias.value.in_(only))
        for stmt in (names, aliases):
            for eid, name in self._fetch(stmt):
                found[name].add(eid)
        return dict(found)

    @cached_property
    def by_account(self) -> dict[str, int]:
        """Power account (电力户号) → enterprise id."""
        return dict(self._fetch(select(PowerAccount.account_no, PowerAccount.enterprise_id)))

    def names_of(self, names: Any) -> dict[str, set[int]]:
        """Normalised name → enterprise ids for the known ones among ``names`` (current, former
        or confirmed; :meth:`_few`)."""
        wanted, whole = self._few(names, "by_name")
        if whole:
            return _subset(wanted, self.by_name)
        return self._names(wanted) if wanted else {}

    def usccs_of(self, usccs: Any) -> dict[str, int]:
        """USCC → enterprise id for the registered ones among ``usccs`` (:meth:`_few`)."""
        wanted, whole = self._few(usccs, "by_uscc")
        if whole:
            return _subset(wanted, self.by_uscc)
        return self._keyed(Enterprise.uscc, Enterprise.id, wanted)

    def accounts_of(self, accounts: Any) -> dict[str, int]:
        """Power account → enterprise id for the known ones among ``accounts`` (:meth:`_few`)."""
        wanted, whole = self._few(accounts, "by_account")
        if whole:
            return _subset(wanted, self.by_account)
        return self._keyed(PowerAccount.account_no, PowerAccount.enterprise_id, wanted)

    def _few(self, values: Any, whole: str) -> tuple[list[str], bool]:
        """The distinct keys among ``values`` (missing values ignored; pass distinct values
        where they are at hand, as :func:`map_values` does), and whether the whole table's map
        ``whole`` answers for them: when it is read already, or for more than
        :data:`~industry_brain.store.facts.BY_KEY_MAX` keys; else they are read by key (a
        correction), instead of every enterprise, name or account of the province. Either way
        the caller gets a new dict it may extend, which sees what this import's transaction
        wrote."""
        wanted = distinct_texts(values)
        return wanted, whole in self.__dict__ or len(wanted) > fact_store.BY_KEY_MAX

    def _keyed(self, key: Any, target: Any, wanted: list[str]) -> dict[str, int]:
        if not wanted:
            return {}
        return dict(self._fetch(select(key, target).where(key.in_(wanted))))

    def add_usccs(self, pairs: list[tuple[str, int]]) -> None:
        """Enterprises just registered (USCC, id): known from now on."""
        if "by_uscc" in self.__dict__:  # read already; else a later read includes them
            self.by_uscc.update(pairs)

    def add_accounts(self, pairs: list[tuple[str, int]]) -> None:
        """Accounts just written to the store (account, enterprise id): known from now on."""
        if "by_account" in self.__dict__:  # read already; else a later read includes them
            self.by_account.update(pairs)

    @cached_property
    def _name_keys(self) -> list[str]:
        return list(self.by_name)

    def candidates(self, name: str | None, limit: int = 3) -> list[dict[str, Any]]:
        """Closest names in the store for the review queue (suggestions, never applied): the
        names of the highest similarity (RapidFuzz's normalised Indel similarity, at least
        ``CANDIDATE_MIN_SIMILARITY``), best first. The standard library's ``difflib`` took
        0.9 s a row against 100,000 firms' names (≈ 4 s at province scale)."""
        if not name:
            return []
        found = process.extract(
            name,
            self._name_keys,
            scorer=fuzz.ratio,
            limit=limit * 2,
            score_cutoff=CANDIDATE_MIN_SIMILARITY,
        )
        out: list[dict[str, Any]] = []
        for key, _score, _index in found:
            for eid in sorted(self.by_name[key]):
                entry = {"enterprise_id": eid, "uscc": self.usccs[eid], "name": self.names[eid]}
                if entry not in out:
                    out.append(entry)
        return out[:limit]


def _subset(keys: list[str], known: dict[str, Any]) -> dict[str, Any]:
    return {k: known[k] for k in keys if k in known}


def distinct_texts(values: Any) -> list[str]:
    """The distinct texts among ``values`` in order of appearance, missing values dropped and
    texts holding NUL too: none is stored (the import refuses control characters, and
    PostgreSQL's text cannot hold NUL, nor a query's parameter): the keys a look-up by key may
    send."""
    distinct = pd.unique(np.asarray(values, dtype=object))
    return [v for v in distinct if isinstance(v, str) and "\x00" not in v]


def _norm_names(frame: pd.DataFrame, column: str, rows: np.ndarray) -> np.ndarray:
    """Normalised names for the selected rows only (None elsewhere)."""
    out = np.full(len(frame), None, dtype=object)
    if column in frame and rows.any():
        values = frame[column].to_numpy(dtype=object)[rows]
        out[rows] = np.asarray(normalize.normalize_name(values).to_pylist(), dtype=object)
    return out


def map_values(
    values: Any, mapping: dict[Any, int] | Callable[[np.ndarray], dict[Any, int]]
) -> np.ndarray:
    """Vectorised dict lookup: factorise, look up each distinct value once, take back.
    ``mapping`` may be a function of the distinct values that returns the dict (e.g.
    :meth:`Lookup.usccs_of`: only those are looked up, and the values are made distinct once)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    if callable(mapping):
        mapping = mapping(uniques)
    looked = np.array([mapping.get(u, np.nan) for u in uniques], dtype=float)
    out = np.full(len(codes), np.nan)
    has = codes >= 0
    out[has] = looked[codes[has]]
    return out


def match_rows(
    frame: pd.DataFrame,
    sheet: _Sheet,
    mapping: Mapping,
    columns: dict[str, readers.RawColumn],
    lookup: Lookup,
) -> list[dict[str, Any]]:
    """Set ``frame["enterprise_id"]`` (NaN where unmatched); return review-queue entries."""
    n = len(frame)
    if mapping.kind == "registration":
        ids = map_values(frame["uscc"], lookup.usccs_of) if "uscc" in frame else np.full(n, np.nan)
        frame["enterprise_id"] = pd.array(ids, dtype="Float64")
        return []

    uscc_col, name_col = "uscc", "name"
    if mapping.kind == "land":
        name_col = "holder"
        if "tenure" in frame:
            leased = (frame["tenure"] == "租赁").to_numpy()
            if "lessee_uscc" in frame:
                frame["_uscc"] = np.where(leased, frame["lessee_uscc"], frame.get("uscc"))
                frame["_uscc_status"] = np.where(
                    leased,
                    frame["lessee_uscc__status"],
                    frame.get("uscc__status", pd.Series(["missing"] * n)),
                )
                uscc_col = "_uscc"
            if "lessee" in frame:
                frame["_name"] = np.where(
                    leased & frame["lessee"].notna(), frame["lessee"], frame["holder"]
                )
                name_col = "_name"
    elif mapping.kind == "power":
        name_col = "account_name"

    ids = np.full(n, np.nan)
    method = np.full(n, "", dtype=object)
    if uscc_col in frame:
        mapped = map_values(frame[uscc_col], lookup.usccs_of)
        hit = ~np.isnan(mapped)
        ids[hit] = mapped[hit]
        method[hit] = "uscc"
        status_col = "_uscc_status" if uscc_col == "_uscc" else uscc_col + "__status"
        uscc_status = frame[status_col].to_numpy(dtype=object) if status_col in frame else None
    else:
        uscc_status = None
    has_valid_uscc = (
        frame[uscc_col].notna().to_numpy() if uscc_col in frame else np.zeros(n, dtype=bool)
    )
    # a malformed USCC is already an error: never fall back to the name for such rows
    bad_uscc = (
        np.isin(uscc_status, ["checksum", "length", "charset"])
        if uscc_status is not None
        else np.zeros(n, dtype=bool)
    )

    if mapping.kind == "power" and "account_no" in frame and (np.isnan(ids) & ~bad_uscc).any():
        # accounts known in the store, plus accounts this file links to exactly one enterprise
        # through rows that carry a USCC
        accounts_all = frame["account_no"].to_numpy(dtype=object)
        known = lookup.accounts_of(accounts_all[np.isnan(ids) & ~bad_uscc])
        wanted = set(accounts_all[np.isnan(ids) & ~bad_uscc]) - set(known)
        if wanted:
            sel = ~np.isnan(ids) & pd.Series(accounts_all).isin(wanted).to_numpy()
            linked = pd.DataFrame({"a": accounts_all[sel], "e": ids[sel]}).drop_duplicates()
            unique = linked.groupby("a")["e"].nunique()
            in_file = linked[linked["a"].isin(unique[unique == 1].index)].drop_duplicates("a")
            for a, e in zip(in_file["a"], in_file["e"], strict=True):
                known[a] = int(e)
        acc = map_values(accounts_all, known)
        use = np.isnan(ids) & ~np.isnan(acc) & ~has_valid_uscc & ~bad_uscc
        ids[use] = acc[use]
        method[use] = "account"

    ambiguous = np.zeros(n, dtype=bool)
    need = np.isnan(ids) & ~has_valid_uscc & ~bad_uscc
    names = _norm_names(frame, name_col, need)
    known_names: dict[str, set[int]] = {}
    if need.any():
        uniq = pd.unique(names[need & pd.notna(names)])
        known_names = lookup.names_of(uniq)
        resolved: dict[str, float] = {}
        multi: set[str] = set()
        for nm in uniq:
            hits = known_names.get(nm, set())
            if len(hits) == 1:
                resolved[nm] = float(next(iter(hits)))
            elif len(hits) > 1:
                multi.add(nm)
        by_name = map_values(names, resolved)
        use = need & ~np.isnan(by_name)
        ids[use] = by_name[use]
        method[use] = "name"
        ambiguous = need & pd.Series(names).isin(multi).to_numpy()

    frame["enterprise_id"] = pd.array(ids, dtype="Float64")
    frame["_match"] = pd.Series(method, dtype=object, copy=False)  # not pandas' Arrow strings
    unmatched = np.isnan(ids) & ~bad_uscc & ~sheet.error
    reviews: list[dict[str, Any]] = []
    if not unmatched.any():
        return reviews

    raw_uscc = frame[uscc_col].to_numpy(dtype=object) if uscc_col in frame else None
    raw_name = frame[name_col].to_numpy(dtype=object) if name_col in frame else None
    accounts = frame["account_no"].to_numpy(dtype=object) if "account_no" in frame else None
    col = columns.get("uscc") or columns.get(name_col) or columns.get("account_no")
    known_uscc_unknown = unmatched & has_valid_uscc
    sheet.flag(
        known_uscc_unknown,
        col,
        "match.unknown_uscc",
        "统一社会信用代码在企业库中不存在，已进入待核对队列",
        "USCC is not in the enterprise register; sent to the review queue",
        values=raw_uscc,
        uscc=raw_uscc,
    )
    sheet.flag(
        unmatched & ambiguous,
        columns.get(name_col) or col,
        "match.ambiguous",
        "企业名称对应多家企业，无法确定，已进入待核对队列",
        "name matches several enterprises; sent to the review queue",
        values=raw_name,
    )
    sheet.flag(
        unmatched & ~ambiguous & ~has_valid_uscc,
        columns.get(name_col) or col,
        "match.unknown",
        "无统一社会信用代码且名称/户号无法匹配企业，已进入待核对队列",
        "no USCC and neither name nor account matches an enterprise; sent to the review queue",
        values=raw_name,
    )
    seen: dict[tuple, int] = {}
    rows = frame["_row"].to_numpy()
    for i in np.flatnonzero(unmatched):
        key = (
            raw_uscc[i] if raw_uscc is not None else None,
            names[i],
            accounts[i] if accounts is not None else None,
        )
        if key in seen:
            continue
        seen[key] = int(rows[i])
        candidates: list[dict[str, Any]] = []
        if ambiguous[i]:
            candidates = [
                {"enterprise_id": e, "uscc": lookup.usccs[e], "name": lookup.names[e]}
                for e in sorted(known_names[names[i]])
            ]
        else:
            candidates = lookup.candidates(names[i])
        reviews.append(
            {
                "row": int(rows[i]),
                "raw_name": raw_name[i] if raw_name is not None else None,
                "raw_uscc": raw_uscc[i] if raw_uscc is not None else None,
                "raw_account": accounts[i] if accounts is not None else None,
                "reason": "ambiguous" if ambiguous[i] else "unknown",
                "candidates": candidates,
            }
        )
    return reviews
