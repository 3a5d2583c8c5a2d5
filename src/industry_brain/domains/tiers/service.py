"""五企培育 runs: evaluate a data year on a warehouse snapshot, decode the wide result into one
row per (enterprise, scheme) with its explanation, derive each firm's level (highest tier met or
recognised, tier newly recognised that year, candidate, next tier and closeness) and store the
run as published (earlier runs of the year become superseded).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
from sqlalchemy import Select, inspect, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, defer

from industry_brain.core import env, parameters
from industry_brain.core.errors import IBError, Location
from industry_brain.domains.tiers import schemes as schemes_mod
from industry_brain.domains.tiers.evaluate import evaluate
from industry_brain.domains.tiers.inputs import INPUTS, TIERS, provider
from industry_brain.domains.tiers.models import (
    TiersDeclarationItem,
    TiersLevel,
    TiersPlan,
    TiersResult,
    TiersRun,
    TiersTitle,
)
from industry_brain.domains.tiers.schemes import Leaf, Node, Scheme
from industry_brain.store import bulk
from industry_brain.store.db import data_dir, read_frame
from industry_brain.store.models import Enterprise, EnterpriseScale
from industry_brain.warehouse.engines import connect, fetch
from industry_brain.warehouse.snapshot import Snapshot, build_snapshot

STATUS = {True: "meets", False: "fails", None: "unknown"}


class TiersError(IBError):
    """A tiers operation cannot be done."""


def on_date(year: int, params: parameters.Parameters | None = None) -> date:
    params = params or parameters.load()
    offset = params.get("tiers.apply_year_offset", on=date(year, 1, 1))
    return date(year + int(offset), 1, 1)


def settings(year: int, params: parameters.Parameters | None = None) -> dict[str, Any]:
    params = params or parameters.load()
    on = date(year, 1, 1)
    return {
        "sme_employees_max": params.get("tiers.sme.employees_max", on=on),
        "sme_revenue_max": params.get("tiers.sme.revenue_max", on=on),
        "innovation": dict(params.get("tiers.innovation.indicators", on=on)),
        "ladder": list(params.get("tiers.ladder", on=on)),
        "min_closeness": params.get("tiers.candidates.min_closeness", on=on),
    }


# -- inputs from the store (titles, declarations) ---------------------------------------------
TITLE_SCHEMA = {"enterprise_id": "int64", "tier": "string", "year": "int64", "valid_until": "date"}
DECLARED_SCHEMA = {
    "enterprise_id": "int64",
    "basis": "string",
    "item": "string",
    "value": "float64",
}


def titles_frame(session: Session) -> pd.DataFrame:
    frame = read_frame(
        session,
        select(TiersTitle.enterprise_id, TiersTitle.tier, TiersTitle.year, TiersTitle.valid_until)
        .where(TiersTitle.enterprise_id.is_not(None))
        .order_by(TiersTitle.id),
        list(TITLE_SCHEMA),
    )
    frame = frame.astype({"enterprise_id": "int64", "year": "int64"})
    # SQLite's DB-API gives ISO strings, PostgreSQL dates: the same dates either way
    frame["valid_until"] = pd.Series(
        [
            v if isinstance(v, date) else date.fromisoformat(str(v)[:10])
            for v in frame["valid_until"]
        ],
        index=frame.index,
        dtype=object,
    )
    return frame


def declared_frame(session: Session, year: int) -> pd.DataFrame:
    """Per enterprise and item, the latest declared figure of ``year`` on two bases: only
    verified items (``verified``) and verified or not yet verified ones (``declared``)."""
    rows = read_frame(
        session,
        select(
            TiersDeclarationItem.id,
            TiersDeclarationItem.enterprise_id,
            TiersDeclarationItem.item,
            TiersDeclarationItem.value,
            TiersDeclarationItem.status,
        )
        .where(TiersDeclarationItem.year == year, TiersDeclarationItem.value.is_not(None))
        .order_by(TiersDeclarationItem.id),
        ["id", "enterprise_id", "item", "value", "status"],
    )
    out = []
    for basis, allowed in (("verified", {"verified"}), ("declared", {"verified", "declared"})):
        sub = rows[rows["status"].isin(allowed)]
        sub = sub.drop_duplicates(["enterprise_id", "item"], keep="last")
        out.append(sub.assign(basis=basis)[list(DECLARED_SCHEMA)])
    frame = (
        pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=list(DECLARED_SCHEMA))
    )
    return frame.astype({"enterprise_id": "int64", "value": "float64"})


def _memtable(frame: pd.DataFrame, schema: dict[str, str]) -> Any:
    import pyarrow as pa

    types = {
        "int64": pa.int64(),
        "string": pa.string(),
        "date": pa.date32(),
        "float64": pa.float64(),
    }
    arrow = pa.table({c: pa.array(list(frame[c]), type=types[t]) for c, t in schema.items()})
    return ibis.memtable(arrow, schema=schema)


# -- evaluation ---------------------------------------------------------------------------------
#: enterprise ids per slice of a sliced evaluation's wide rows (:class:`Evaluation`): at province
#: scale ≈ 100,000 wide rows of ≈ 200 columns in pandas at a time
WIDE_SLICE = 50_000


@dataclass
class Evaluation:
    """One year's evaluation: the wide rows (one per enterprise and basis), then, once
    :meth:`complete`, the results and levels.

    A **sliced** evaluation (:func:`evaluate_tables` with ``sliced=True``, DuckDB) keeps its wide
    rows in a temporary table of the engine (``wide_table``, columnar and compressed) instead of
    in pandas (``wide`` is None): :meth:`complete` reads them :data:`WIDE_SLICE` enterprise ids
    at a time, so a province's ≈ 1 million wide rows (3.4 GB as pandas) never sit in memory
    together. Results and levels are the same either way."""

    year: int
    engine: str
    on: date
    schemes: list[Scheme]
    wide: pd.DataFrame | None
    results: pd.DataFrame | None  # None until complete()
    levels: pd.DataFrame | None
    seconds: float
    snapshot: Snapshot | None = None
    parameter_version: str = ""
    input_batch_ids: list[int] = field(default_factory=list)
    titles: pd.DataFrame | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    wide_table: Any = None  # a sliced evaluation's wide rows (an Ibis table of ``backend``)
    backend: Any = None

    @property
    def decoded(self) -> bool:
        """False until :meth:`complete` has made the results and levels of the wide rows."""
        return self.results is not None

    def wide_parts(self) -> Iterator[pd.DataFrame]:
        """The wide rows: whole, or a sliced evaluation's slices of :data:`WIDE_SLICE`
        enterprise ids (every row of an enterprise in one slice), ascending."""
        if self.wide_table is None:
            if self.wide is not None:
                yield self.wide
            return
        t = self.wide_table
        bounds = fetch(
            self.backend, t.aggregate(lo=t.enterprise_id.min(), hi=t.enterprise_id.max())
        )
        lo, hi = bounds["lo"].iloc[0], bounds["hi"].iloc[0]
        if pd.isna(lo):
            return
        for start in range(int(lo), int(hi) + 1, WIDE_SLICE):
            part = fetch(
                self.backend,
                t.filter((t.enterprise_id >= start) & (t.enterprise_id < start + WIDE_SLICE)),
            )
            if len(part):
                yield part

    def complete(self, sink: Callable[[pd.DataFrame], None] | None = None) -> None:
        """Decode the wide rows into :attr:`results` and derive :attr:`levels`.

        With ``sink`` every slice of results goes to it with its explanations (:class:`Trace`)
        and :attr:`results` keeps them without (no ``trace`` column): a province's few million
        explanations then never sit in memory together (:func:`store_run` writes them). A sliced
        evaluation's temporary table is dropped once read, and its engine let go."""
        parts, kept = [], []
        for wide in self.wide_parts():
            for part in decode_parts(wide, self.schemes):
                if sink is not None:
                    sink(part)
                    part = part.drop(columns="trace")
                parts.append(part)
            kept.append(_level_columns(wide))
        if self.wide_table is not None:
            # by its own name: ``drop_table`` of the qualified ``temp.main.…`` name with
            # ``force`` silently drops nothing
            name = self.wide_table.op().name
            self.backend.raw_sql(f'DROP TABLE "{name}"')
            # the engine goes with it: what DuckDB took for the evaluation is given back before
            # the levels are derived (the evaluation was its last user)
            self.wide_table = self.backend = None
        self.results = _concat_results(parts, with_trace=sink is None)
        verified = (
            pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=LEVEL_COLUMNS)
        )
        self.levels = derive_levels(verified, self.results, self.titles, self.year, self.settings)


#: the wide-row columns :func:`derive_levels` reads, besides the ``inno__`` ones
LEVEL_COLUMNS = ["enterprise_id", "basis", "county_code", "industry_code"]


def _level_columns(wide: pd.DataFrame) -> pd.DataFrame:
    """The verified wide rows with only what :func:`derive_levels` reads."""
    columns = [c for c in wide.columns if c in LEVEL_COLUMNS or c.startswith("inno__")]
    return wide.loc[wide["basis"] == "verified", columns]


def evaluate_tables(
    tables: dict[str, Any],
    year: int,
    con: Any,
    engine: str = "duckdb",
    params: parameters.Parameters | None = None,
    scheme_list: list[Scheme] | None = None,
    complete: bool = True,
    sliced: bool = False,
) -> Evaluation:
    """Evaluate ``year`` on Ibis tables with backend ``con``; decode results and levels
    (``complete=False``: only the wide rows; :meth:`Evaluation.complete` decodes them).
    ``sliced`` (DuckDB): the wide rows stay in a temporary table of the engine, read a slice
    at a time when decoded (see :class:`Evaluation`)."""
    params = params or parameters.load()
    on = on_date(year, params)
    sch = schemes_mod.in_force(scheme_list or schemes_mod.load(), on)
    cfg = settings(year, params)
    start = time.perf_counter()
    expr = evaluate(tables, sch, year, on, cfg)
    if sliced and engine == "duckdb":
        name = f"tiers_wide_{year}_{time.monotonic_ns()}"
        table = con.create_table(name, expr, temp=True)
        wide = None
    else:
        table, wide = None, fetch(con, expr)
    seconds = time.perf_counter() - start
    ev = Evaluation(year, engine, on, sch, wide, None, None, seconds, None, params.version())
    ev.wide_table, ev.backend = table, con
    ev.titles = tables.get("_titles_frame")
    ev.settings = cfg
    if complete:
        ev.complete()
    return ev


def evaluate_snapshot(
    session: Session,
    snapshot_dir: Path,
    year: int,
    engine: str = "duckdb",
    params: parameters.Parameters | None = None,
    complete: bool = True,
    sliced: bool = False,
) -> Evaluation:
    con = connect(Path(snapshot_dir), engine, tables=("enterprises", "scales", "facts"))
    titles = titles_frame(session)
    tables: dict[str, Any] = {name: con.table(name) for name in ("enterprises", "scales", "facts")}
    tables["titles"] = _memtable(titles, TITLE_SCHEMA)
    tables["declared"] = _memtable(declared_frame(session, year), DECLARED_SCHEMA)
    tables["_titles_frame"] = titles
    return evaluate_tables(tables, year, con, engine, params, complete=complete, sliced=sliced)


def _value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):
        v = v.item()
    return v


def _gap(leaf: Leaf, value: float | None) -> float | None:
    """How far the value is from passing (in the input's unit), for a failing comparison."""
    if value is None:
        return None
    if leaf.op in (">=", ">"):
        return round(leaf.value - value, 6)
    if leaf.op in ("<=", "<"):
        return round(value - leaf.value, 6)
    return None


def _explain_node(row: dict[str, Any], code: str, node: Node) -> dict[str, Any]:
    ok = _value(row.get(f"{code}__c__{node.id}"))
    if isinstance(node, Leaf):
        value = _value(row.get(node.input))
        out: dict[str, Any] = {
            "id": node.id,
            "input": node.input,
            "op": node.op,
            "threshold": node.value,
            "value": value,
            "ok": ok,
            "source": node.source,
            "quality": node.quality,
        }
        if ok is False:
            out["gap"] = _gap(node, value)
        return out
    return {
        "id": node.id,
        "kind": node.kind,
        "ok": ok,
        "children": [_explain_node(row, code, c) for c in node.children],
    }


def _missing(node_trace: dict[str, Any], out: list[str]) -> None:
    if "children" in node_trace:
        if node_trace["ok"] is None:
            for c in node_trace["children"]:
                _missing(c, out)
        return
    if node_trace["ok"] is None and node_trace["value"] is None:
        out.append(node_trace["input"])


def _failing(node_trace: dict[str, Any], out: list[dict[str, Any]]) -> None:
    if node_trace["ok"] is not False:
        return
    if "children" not in node_trace:
        out.append({k: node_trace[k] for k in ("id", "input", "op", "threshold", "value", "gap")})
        return
    if node_trace["kind"] == "any_of":
        # each alternative fails: report the alternatives' failing leaves
        for c in node_trace["children"]:
            _failing(c, out)
    else:
        for c in node_trace["children"]:
            _failing(c, out)


def explain_row(row: dict[str, Any], s: Scheme) -> dict[str, Any]:
    """The trace of one (enterprise, basis, scheme): conditions, points, failing, missing."""
    code = s.code
    requires = [_explain_node(row, code, n) for n in s.requires]
    direct = [_explain_node(row, code, n) for n in s.direct]
    conditions = [_explain_node(row, code, n) for n in s.conditions]
    trace: dict[str, Any] = {
        "scheme": code,
        "category": s.category,
        "version": s.version,
        "file": s.file,
        "requires": requires,
        "direct": direct,
        "conditions": conditions,
    }
    missing: list[str] = []
    failing: list[dict[str, Any]] = []
    for n in requires + conditions:
        _missing(n, missing)
        _failing(n, failing)
    if s.points is not None and s.points.indicators:
        inds = []
        for ind in s.points.indicators:
            pts = _value(row.get(f"{code}__p__{ind.code}"))
            inds.append(
                {
                    "code": ind.code,
                    "group": ind.group,
                    "points": pts,
                    "max": ind.max_points,
                    "inputs": {i: _value(row.get(i)) for i in ind.inputs},
                }
            )
            if pts is None:
                missing += [i for i in ind.inputs if _value(row.get(i)) is None]
        lo = _value(row.get(f"{code}__lo"))
        trace["points"] = {
            "indicators": inds,
            "lo": lo,
            "hi": _value(row.get(f"{code}__hi")),
            "total_min": s.points.total_min,
            "groups": s.points.groups,
            "ok": _value(row.get(f"{code}__c___points")),
            "edge_quality": s.points.meta.get("edge_quality"),
            "within": s.points.within,
        }
        # points within an any_of condition matter only when that condition fails
        decides = (
            s.points.within is None or _value(row.get(f"{code}__c__{s.points.within}")) is False
        )
        if trace["points"]["ok"] is False and decides:
            failing.append(
                {
                    "id": "_points",
                    "input": "points",
                    "op": ">=",
                    "threshold": s.points.total_min,
                    "value": lo,
                    "gap": None if lo is None else s.points.total_min - lo,
                }
            )
    if direct and not any(d["ok"] for d in direct):
        # the direct paths last: the main path's data first
        for d in direct:
            _missing(d, missing)
    missing = list(dict.fromkeys(missing))
    trace["failing"] = failing
    trace["missing"] = [
        {"input": m, "provider_zh": provider(m)[0], "provider_en": provider(m)[1]} for m in missing
    ]
    return trace


class _Reads(dict):
    """A row that records which keys :func:`explain_row` reads."""

    def __init__(self) -> None:
        super().__init__()
        self.keys_read: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:
        self.keys_read.append(key)
        return default


_TRACE_KEYS: dict[int, tuple[Scheme, tuple[str, ...]]] = {}


def _trace_keys(s: Scheme) -> tuple[str, ...]:
    """The wide-row columns :func:`explain_row` reads for scheme ``s`` (the same for every
    row: it reads every condition, leaf input and points figure, whatever their values).
    Cached by the scheme object (schemes hold dicts, so they are not hashable)."""
    hit = _TRACE_KEYS.get(id(s))
    if hit is None or hit[0] is not s:
        row = _Reads()
        explain_row(row, s)
        hit = (s, tuple(dict.fromkeys(row.keys_read)))
        if len(_TRACE_KEYS) > 256:
            _TRACE_KEYS.clear()
        _TRACE_KEYS[id(s)] = hit
    return hit[1]


class Trace(Mapping[str, Any]):
    """The explanation of one (enterprise, scheme) result, kept compact: the basis, whether the
    scheme's preconditions hold, and the few figures of the wide row the explanation is made
    of. Read as a mapping it is the full explanation (:func:`explain_row`, built on each
    access): a province's millions of results hold ≈ 40 values each instead of a tree of a
    few kilobytes, in memory and in the store."""

    __slots__ = ("basis", "requires_ok", "scheme", "values")

    def __init__(
        self, scheme: Scheme, row: dict[str, Any], basis: str, requires_ok: bool | None
    ) -> None:
        self.scheme = scheme
        # the figures as a tuple in the order of the scheme's keys (a dict per result would
        # repeat the ≈ 40 keys a few million times)
        self.values = tuple(row.get(k) for k in _trace_keys(scheme))
        self.basis = basis
        self.requires_ok = requires_ok

    @property
    def row(self) -> dict[str, Any]:
        """The figures the explanation reads, by wide-row column."""
        return dict(zip(_trace_keys(self.scheme), self.values, strict=True))

    @classmethod
    def of_values(
        cls, scheme: Scheme, values: tuple[Any, ...], basis: str, requires_ok: bool | None
    ) -> Trace:
        """The trace of the figures ``values`` (in the order of the scheme's trace keys, as
        Python values) — what :func:`decode` builds column by column."""
        trace = cls.__new__(cls)
        trace.scheme, trace.values, trace.basis, trace.requires_ok = (
            scheme,
            values,
            basis,
            requires_ok,
        )
        return trace

    def full(self) -> dict[str, Any]:
        trace = explain_row(self.row, self.scheme)
        trace["basis"] = self.basis
        trace["requires_ok"] = self.requires_ok
        return trace

    def stored(self) -> dict[str, Any]:
        """What the store keeps (``tiers_results.trace``); :func:`trace_of` rebuilds the rest."""
        return {"basis": self.basis, "requires_ok": self.requires_ok, "row": self.row}

    def __getitem__(self, key: str) -> Any:
        if key == "basis":
            return self.basis
        if key == "requires_ok":
            return self.requires_ok
        return self.full()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.full())

    def __len__(self) -> int:
        return len(self.full())

    def __repr__(self) -> str:
        return f"Trace({self.scheme.code}, {self.basis})"


RESULT_COLUMNS = [
    "enterprise_id",
    "scheme",
    "tier",
    "status",
    "points",
    "closeness",
    "requires_ok",
    "trace",
]


def decode(wide: pd.DataFrame, sch: list[Scheme]) -> pd.DataFrame:
    """One row per (enterprise, scheme that applies): status on the verified basis, or
    ``candidate`` when only the unverified declared figures make it meet; points, closeness,
    whether the scheme's preconditions hold, and the trace (of the basis that decided, a
    compact :class:`Trace`)."""
    return _concat_results(list(decode_parts(wide, sch)), with_trace=True)


def decode_parts(wide: pd.DataFrame, sch: list[Scheme]) -> Iterator[pd.DataFrame]:
    """:func:`decode` a slice of enterprises at a time (:data:`DECODE_SLICE`): the results and
    their explanations exist only for the slice in hand."""
    ids = wide["enterprise_id"].astype("int64").to_numpy()
    order = ids.argsort(kind="stable")
    bounds = np.flatnonzero(np.diff(ids[order])) + 1  # starts of each enterprise's rows
    starts = [0, *bounds.tolist()]
    for first in range(0, len(starts), DECODE_SLICE):
        a = starts[first]
        b = starts[first + DECODE_SLICE] if first + DECODE_SLICE < len(starts) else len(order)
        yield _decode_slice(wide.iloc[order[a:b]], sch)


def _concat_results(parts: list[pd.DataFrame], with_trace: bool) -> pd.DataFrame:
    columns = RESULT_COLUMNS if with_trace else RESULT_COLUMNS[:-1]
    if not parts:
        return pd.DataFrame(columns=columns, dtype=object)
    return pd.concat(parts, ignore_index=True)[columns]


#: enterprises decoded at once by :func:`decode` (their results and explanations in memory)
DECODE_SLICE = 10_000
#: results written to the store by one bulk insert (:func:`store_run`)
STORE_SLICE = 50_000


class _Basis:
    """The wide rows of one basis (verified or declared) of a slice, each column read as Python
    values (None where missing, as :func:`_value` reads a cell); ``take`` (row positions, -1 for
    none) puts them in another order, a missing row reading None."""

    def __init__(self, rows: pd.DataFrame, take: np.ndarray | None = None) -> None:
        self.rows, self.take = rows, take
        self._columns: dict[str, np.ndarray] = {}

    def __call__(self, column: str) -> np.ndarray:
        hit = self._columns.get(column)
        if hit is None:
            n = len(self.rows) if self.take is None else len(self.take)
            if column in self.rows.columns:
                hit = self.rows[column].to_numpy(dtype=object, copy=True)
                hit[pd.isna(hit)] = None
                if self.take is not None:
                    hit = np.append(hit, None)[self.take]  # -1 → the appended None
            else:
                hit = np.full(n, None, dtype=object)
            self._columns[column] = hit
        return hit


def _decode_slice(part: pd.DataFrame, sch: list[Scheme]) -> pd.DataFrame:
    """The results of the wide rows ``part`` (every row of its enterprises), column by column.

    Per enterprise and scheme that applies (``<code>__app`` on the verified row): ``meets`` on
    the verified figures, else ``candidate`` when the declared ones meet, else the declared
    status (``fails``/``unknown``); points, closeness and the explanation's figures come from
    the basis that decided. An enterprise without a declared row is read on its verified row
    throughout (and its basis is ``verified``)."""
    verified = part[part["basis"] == "verified"].drop_duplicates("enterprise_id", keep="last")
    declared = part[part["basis"] == "declared"].drop_duplicates("enterprise_id", keep="last")
    eids = verified["enterprise_id"].astype("int64").to_numpy()
    declared_ids = declared["enterprise_id"].astype("int64").to_numpy()
    at_row = {int(e): i for i, e in enumerate(declared_ids)}
    take = np.array([at_row.get(int(e), -1) for e in eids], dtype=np.int64)
    has_declared = take >= 0
    mine, theirs = _Basis(verified), _Basis(declared, take)

    def other(column: str) -> np.ndarray:
        return np.where(has_declared, theirs(column), mine(column))

    positions, schemes, columns = [], [], []
    ids_obj = np.array([int(e) for e in eids], dtype=object)
    for j, s in enumerate(sch):
        applies = mine(f"{s.code}__app").astype(bool)
        if not applies.any():
            continue
        status_v = mine(f"{s.code}__status")[applies]
        status_d = other(f"{s.code}__status")[applies]
        use_mine = np.array([v is True for v in status_v], dtype=bool)
        status = [
            "meets" if m else ("candidate" if d is True else STATUS[d])
            for m, d in zip(use_mine, status_d, strict=True)
        ]

        def used(column: str, applies: np.ndarray = applies, use_mine: np.ndarray = use_mine):
            return np.where(use_mine, mine(column)[applies], other(column)[applies])

        keys = _trace_keys(s)
        figures = [used(k) for k in keys]
        values = list(zip(*figures, strict=True)) if keys else [()] * int(applies.sum())
        at = {k: i for i, k in enumerate(keys)}
        required = [
            figures[at[k]] if k in at else np.full(len(values), None, dtype=object)
            for k in (f"{s.code}__c__{n.id}" for n in s.requires)
        ]
        n = len(values)
        oks = [_requires_ok(r) for r in zip(*required, strict=True)] if required else [True] * n
        bases = np.where(use_mine | ~has_declared[applies], "verified", "declared")
        traces = np.empty(n, dtype=object)
        for i in range(n):
            traces[i] = Trace.of_values(s, values[i], str(bases[i]), oks[i])
        positions.append(np.flatnonzero(applies))
        schemes.append(np.full(n, j))
        columns.append(
            {
                "enterprise_id": ids_obj[applies],
                "scheme": np.full(n, s.code, dtype=object),
                "tier": np.full(n, s.tier, dtype=object),
                "status": np.array(status, dtype=object),
                "points": used(f"{s.code}__lo"),
                "closeness": used(f"{s.code}__close"),
                "requires_ok": np.array(oks, dtype=object),
                "trace": traces,
            }
        )
    if not columns:
        return pd.DataFrame(columns=RESULT_COLUMNS, dtype=object)
    # by enterprise (the slice's order), then scheme (the schemes' order)
    order = np.lexsort((np.concatenate(schemes), np.concatenate(positions)))
    return pd.DataFrame(
        {c: np.concatenate([col[c] for col in columns])[order] for c in RESULT_COLUMNS},
        columns=RESULT_COLUMNS,
    )


def _requires_ok(oks: tuple[Any, ...]) -> bool | None:
    """Whether a scheme's preconditions hold, from each one's outcome (True, False or None):
    False when one is known not to hold, None when one is unknown, else True. A scheme whose
    preconditions are known not to hold (e.g. 新升规 for a firm above designated size) is no
    next step for the firm."""
    if any(ok is False for ok in oks):
        return False
    if any(ok is None for ok in oks):
        return None
    return all(ok is True for ok in oks)


@lru_cache(maxsize=64)
def _scheme_from(definition: str, file: str) -> Scheme:
    return schemes_mod.parse(json.loads(definition), file)


#: stored runs' scheme definitions (a stored run's schemes never change), by store, run id and
#: creation time (another database may reuse the id); bounded
_RUN_SCHEMES: dict[tuple[str, int, Any], list[dict[str, Any]]] = {}
_RUN_SCHEMES_MAX = 32


def _schemes_of(run: TiersRun) -> list[dict[str, Any]]:
    state = inspect(run)
    if state.session is None or not state.persistent or run.created_at is None:
        return run.schemes or []
    key = (str(state.session.get_bind().engine.url), run.id, run.created_at)
    found = _RUN_SCHEMES.get(key)
    if found is None:
        found = run.schemes or []
        if len(_RUN_SCHEMES) >= _RUN_SCHEMES_MAX:
            _RUN_SCHEMES.pop(next(iter(_RUN_SCHEMES)))
        _RUN_SCHEMES[key] = found
    return found


def run_scheme(run: TiersRun, code: str) -> Scheme | None:
    """The scheme ``code`` as it was when ``run`` was evaluated (its stored definition)."""
    for entry in _schemes_of(run):
        if entry.get("code") == code and entry.get("definition"):
            text = json.dumps(entry["definition"], sort_keys=True)
            return _scheme_from(text, str(entry.get("file") or code))
    return None


def trace_of(run: TiersRun, result: TiersResult) -> dict[str, Any]:
    """The full explanation of a stored result: rebuilt from its compact figures with the
    run's own scheme definition (results stored before traces were compact hold it whole)."""
    stored = result.trace or {}
    if "row" not in stored:
        return stored
    scheme = run_scheme(run, result.scheme)
    if scheme is None:
        raise TiersError(
            "tiers.no_scheme",
            f"评价批次 #{run.id} 没有保存方案 {result.scheme} 的定义，无法还原说明",
            f"run #{run.id} lacks the definition of scheme {result.scheme}: cannot explain",
            Location(field="scheme"),
        )
    return Trace(scheme, stored["row"], stored["basis"], stored["requires_ok"]).full()


def _rank(ladder: list[str], tier: str | None) -> int:
    return ladder.index(tier) if tier in ladder else -1


def derive_levels(
    wide: pd.DataFrame,
    results: pd.DataFrame,
    titles: pd.DataFrame | None,
    year: int,
    cfg: dict[str, Any],
) -> pd.DataFrame:
    """Per enterprise: the highest tier recognised (valid title in the year) or met on verified
    figures; the tier newly recognised in the year (highest on the ladder, else 高新技术企业);
    the highest candidate tier; the next tier up and the closeness to it; innovation score."""
    ladder = cfg["ladder"]
    start, end = date(year, 1, 1), date(year, 12, 31)
    held: dict[int, list[str]] = {}
    new: dict[int, list[str]] = {}
    if titles is not None and not titles.empty:
        for eid, tier, ty, until in titles.itertuples(index=False):
            if int(ty) <= year and until >= start:
                held.setdefault(int(eid), []).append(str(tier))
            if int(ty) == year and until >= start and date(int(ty), 1, 1) <= end:
                new.setdefault(int(eid), []).append(str(tier))
    by_ent: dict[int, dict[str, tuple[str, float | None]]] = {}
    open_: dict[int, set[str]] = {}
    # a tier with categories (单项冠军: enterprise or product) is met by its best category
    order = {"meets": 3, "candidate": 2, "unknown": 1, "fails": 0}
    for eid, tier, status, close, requires_ok in results[
        ["enterprise_id", "tier", "status", "closeness", "requires_ok"]
    ].itertuples(index=False):
        mine_ = by_ent.setdefault(int(eid), {})
        prev = mine_.get(tier)
        if prev is None or (order.get(status, 0), close or 0) > (
            order.get(prev[0], 0),
            prev[1] or 0,
        ):
            mine_[tier] = (status, close)
        if requires_ok is not False:
            open_.setdefault(int(eid), set()).add(tier)
    # only the columns read below (the wide rows carry every scheme's conditions)
    verified = _level_columns(wide)
    rows = []
    for r in verified.to_dict(orient="records"):
        eid = int(r["enterprise_id"])
        mine = by_ent.get(eid, {})
        rec = max(held.get(eid, []), key=lambda t: _rank(ladder, t), default=None)
        met = max(
            (t for t, (st, _) in mine.items() if st == "meets"),
            key=lambda t: _rank(ladder, t),
            default=None,
        )
        cand = max(
            (t for t, (st, _) in mine.items() if st == "candidate"),
            key=lambda t: _rank(ladder, t),
            default=None,
        )
        if rec is not None and _rank(ladder, rec) >= _rank(ladder, met):
            tier, status = rec, "recognised"
        elif met is not None:
            tier, status = met, "meets"
        else:
            tier, status = rec, "recognised" if rec else "none"
        if cand is not None and _rank(ladder, cand) <= _rank(ladder, tier):
            cand = None
        news = new.get(eid, [])
        on_ladder = [t for t in news if t in ladder]
        new_tier = (
            max(on_ladder, key=lambda t: _rank(ladder, t))
            if on_ladder
            else ("high_tech" if "high_tech" in news else None)
        )
        base = _rank(ladder, tier)
        nxt = None
        for t in ladder[base + 1 :]:
            if t in open_.get(eid, set()):
                nxt = t
                break
        rows.append(
            {
                "enterprise_id": eid,
                "county_code": r.get("county_code"),
                "industry_code": r.get("industry_code"),
                "tier": tier,
                "status": status,
                "new_tier": new_tier,
                "candidate_tier": cand,
                "next_tier": nxt,
                "closeness": mine[nxt][1] if nxt else None,
                "titles": sorted(held.get(eid, [])),
                "innovation_score": _value(r.get("inno__score")),
                "innovation_rank_industry": _value(r.get("inno__rank_industry")),
                "innovation_rank_county": _value(r.get("inno__rank_county")),
                "innovation_parts": {
                    k[len("inno__") :]: _value(v)
                    for k, v in r.items()
                    if k.startswith("inno__")
                    and k not in ("inno__score", "inno__rank_industry", "inno__rank_county")
                },
            }
        )
    return pd.DataFrame(rows, dtype=object)


# -- runs ---------------------------------------------------------------------------------------
def take_snapshot(engine: Engine, root: Path | None = None) -> Snapshot:
    root = root or data_dir() / "snapshots"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return build_snapshot(engine, Path(root) / f"tiers-{stamp}")


def store_run(session: Session, ev: Evaluation, actor: str) -> TiersRun:
    """Store ``ev`` as the published run of its year (the year's earlier runs are superseded).

    An evaluation not yet decoded (``complete=False``) is decoded here a slice at a time and
    each slice's results are written as they come: at province scale the explanations of all
    results never sit in memory together (``ev.results`` keeps them without explanations)."""
    session.execute(
        update(TiersRun)
        .where(TiersRun.year == ev.year, TiersRun.status == "published")
        .values(status="superseded")
    )
    run = TiersRun(
        year=ev.year,
        status="published",
        engine=ev.engine,
        parameter_version=ev.parameter_version,
        schemes=[
            {
                "code": s.code,
                "version": s.version,
                "region": s.region,
                "file": s.file,
                "definition": s.raw,  # explanations of the stored results are rebuilt from it
            }
            for s in ev.schemes
        ],
        input_batch_ids=list(ev.snapshot.batch_ids) if ev.snapshot else [],
        input_runs=[],
        snapshot={"path": str(ev.snapshot.path)} if ev.snapshot else {},
        summary={},
        actor=actor,
    )
    session.add(run)
    session.flush()
    # COPY on PostgreSQL, multi-row INSERTs on SQLite (a province: millions of scheme results),
    # :data:`STORE_SLICE` results at a time: the stored explanations (dicts, then JSON text)
    # exist for one slice only
    pending: list[pd.DataFrame] = []

    def write(part: pd.DataFrame | None) -> None:
        if part is not None and len(part):
            pending.append(part)
        if pending and (part is None or sum(len(p) for p in pending) >= STORE_SLICE):
            _store_results(session, run.id, pd.concat(pending, ignore_index=True))
            pending.clear()

    if ev.decoded:
        for start in range(0, len(ev.results), STORE_SLICE):
            write(ev.results.iloc[start : start + STORE_SLICE])
    else:
        ev.complete(sink=write)
    write(None)
    if ev.levels.empty:
        # nothing to publish (the caller's transaction, holding the run row, rolls back)
        raise TiersError(
            "tiers.no_enterprises",
            f"{ev.year} 年没有可评价的企业：仓库快照中没有该年的企业数据，请先导入该年的部门数据",
            f"no enterprise to evaluate in {ev.year}: the warehouse snapshot holds no "
            "enterprise data of that year; import the year's department files first",
            Location(field="year"),
            ev.year,
        )
    run.summary = summarise(ev)
    lv = ev.levels
    if not lv.empty:
        bulk.insert_frame(
            session,
            TiersLevel,
            pd.DataFrame(
                {
                    "enterprise_id": lv["enterprise_id"].astype("int64"),
                    **{
                        c: lv[c]
                        for c in (
                            "county_code",
                            "industry_code",
                            "tier",
                            "status",
                            "new_tier",
                            "next_tier",
                            "innovation_score",
                            "innovation_rank_industry",
                            "innovation_rank_county",
                        )
                    },
                    "trace": [
                        {
                            "candidate_tier": c,
                            "closeness": x,
                            "titles": t,
                            "innovation": p,
                        }
                        for c, x, t, p in zip(
                            lv["candidate_tier"],
                            lv["closeness"],
                            lv["titles"],
                            lv["innovation_parts"],
                            strict=True,
                        )
                    ],
                }
            ),
            {"run_id": run.id},
        )
    return run


def _store_results(session: Session, run_id: int, res: pd.DataFrame) -> None:
    bulk.insert_frame(
        session,
        TiersResult,
        pd.DataFrame(
            {
                "enterprise_id": res["enterprise_id"].astype("int64"),
                "scheme": res["scheme"],
                "tier": res["tier"],
                "status": res["status"],
                "points": [_value(v) for v in res["points"]],
                "closeness": [_value(v) for v in res["closeness"]],
                "trace": [t.stored() for t in res["trace"]],
            }
        ),
        {"run_id": run_id},
    )


def summarise(ev: Evaluation) -> dict[str, Any]:
    lv = ev.levels
    res = ev.results
    out: dict[str, Any] = {"enterprises": len(lv)}
    out["tiers"] = {str(k): int(v) for k, v in lv["tier"].dropna().value_counts().items()}
    out["new_tiers"] = {str(k): int(v) for k, v in lv["new_tier"].dropna().value_counts().items()}
    out["schemes"] = {
        code: {str(k): int(v) for k, v in g["status"].value_counts().items()}
        for code, g in res.groupby("scheme")
    }
    return out


def run(
    engine: Engine,
    year: int,
    compute: str = "duckdb",
    snapshot: Snapshot | None = None,
    actor: str = "cli",
    snapshot_root: Path | None = None,
) -> tuple[TiersRun, Evaluation]:
    """Snapshot the store (unless given), evaluate ``year`` and store a published run."""
    snapshot = snapshot or take_snapshot(engine, snapshot_root)
    with Session(engine) as session:
        # decoded while it is stored: the results keep no explanations in memory (see store_run)
        ev = evaluate_snapshot(session, snapshot.path, year, compute, complete=False, sliced=True)
        ev.snapshot = snapshot
        stored = store_run(session, ev, actor)
        # the plans' fact-backed targets get the figures that arrived since the last run
        from industry_brain.domains.tiers import plans

        for plan in session.scalars(select(TiersPlan).where(TiersPlan.status != "closed")):
            plans.record_from_facts(session, plan, env.today(), actor)
        session.commit()
        session.refresh(stored)
        session.expunge(stored)
    return stored, ev


def published_run(
    session: Session, year: int | None = None, light: bool = False
) -> TiersRun | None:
    """The newest published run (of ``year``). ``light``: its JSON columns are deferred,
    loaded only when read (a page that shows the run's id and year does not decode them)."""
    return session.scalars(published_stmt(year, light)).first()


def published_stmt(year: int | None = None, light: bool = False) -> Select:
    """The statement of :func:`published_run`, newest first (callers may join to it)."""
    stmt = select(TiersRun).where(TiersRun.status == "published")
    if light:
        stmt = stmt.options(
            defer(TiersRun.schemes),
            defer(TiersRun.input_batch_ids),
            defer(TiersRun.input_runs),
            defer(TiersRun.snapshot),
            defer(TiersRun.summary),
        )
    if year is not None:
        stmt = stmt.where(TiersRun.year == year)
    return stmt.order_by(TiersRun.year.desc(), TiersRun.id.desc())


def latest_year(session: Session) -> int | None:
    from sqlalchemy import func

    return session.scalar(select(func.max(EnterpriseScale.year)))


def enterprise_by_uscc(session: Session, uscc: str) -> Enterprise:
    ent = session.scalars(select(Enterprise).where(Enterprise.uscc == uscc)).first()
    if ent is None:
        raise TiersError(
            "enterprise.not_found",
            f"企业库中没有统一社会信用代码为 {uscc} 的企业",
            f"no enterprise with USCC {uscc}",
            Location(field="uscc"),
        )
    return ent


def tier_label(code: str | None, lang: str = "zh") -> str:
    if not code:
        return "—"
    zh, en = TIERS.get(code, (code, code))
    return zh if lang == "zh" else en


def input_label(code: str, lang: str = "zh") -> str:
    inp = INPUTS.get(code)
    if inp is None:
        return code
    return inp.zh if lang == "zh" else inp.en
