"""Loading prepared rows into the store inside the batch's transaction (set-based, bulk)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import delete, func, select, text, tuple_, update
from sqlalchemy.orm import Session

from industry_brain.core import units
from industry_brain.ingest import normalize
from industry_brain.ingest.mapping import Mapping
from industry_brain.store import bulk
from industry_brain.store import facts as fact_store
from industry_brain.store.db import chunks, read_frame
from industry_brain.store.models import (
    Enterprise,
    EnterpriseName,
    EnterpriseScale,
    Fact,
    ImportBatch,
    LandParcel,
    PowerAccount,
)

if TYPE_CHECKING:
    from industry_brain.ingest.matching import Lookup
    from industry_brain.ingest.pipeline import Prepared

# the columns of a fact that vary by row, and those that are constant within an item column
VARYING = ("enterprise_id", "year", "month", "detail", "value", "row", "raw_value")
CONSTANT = ("item", "unit", "source_dept", "batch_id", "sheet", "column")
KEY = ["enterprise_id", "year", "month", "item", "detail"]
#: key pairs deleted by one statement (three parameters a pair, within the drivers' limits)
PAIR_CHUNK = 2000


@dataclass
class LoadStats:
    rows_loaded: int = 0
    facts_inserted: int = 0
    facts_superseded: int = 0
    facts_unchanged: int = 0
    enterprises_created: int = 0
    enterprises_updated: int = 0
    #: the years of the facts written (recorded with the batch: see
    #: :func:`industry_brain.store.facts.department_ranges`)
    fact_years: set[int] = field(default_factory=set)
    #: the unit of each item written (recorded with the batch: see
    #: :func:`industry_brain.store.facts.batch_units`)
    fact_units: dict[str, str] = field(default_factory=dict)


def load(
    session: Session,
    batch: ImportBatch,
    mapping: Mapping,
    prepared: list[Prepared],
    lookup: Lookup,
    progress: Callable[[str, int, int], None] | None = None,
    first_fact_id: int | None = None,
) -> LoadStats:
    """Load the valid rows of ``prepared`` into the batch's transaction. ``first_fact_id``: no
    fact of this batch has a lower id (the store's largest id + 1 before the load), so the
    figures a new one replaces are read in the department's id ranges and the batch's own."""
    stats = LoadStats()
    step = progress or (lambda *_: None)
    for prep in prepared:
        ok = ~prep.frame["_error"].to_numpy()
        stats.rows_loaded += int(ok.sum())
        frame = prep.frame if ok.all() else prep.frame.loc[ok]
        if frame.empty:
            continue
        if mapping.kind == "registration":
            _registration(session, batch, frame, lookup, stats)
            continue
        if mapping.kind == "stats_annual" and "above_scale" in frame:
            _scales(session, batch, frame)
        if mapping.kind == "power":
            power_accounts(session, frame, lookup)
        if mapping.kind == "land":
            _parcels(session, batch, frame)
        parts = long_facts(prep, frame, mapping, batch)
        total = sum(len(p) for p in parts)
        step("load", 0, total)
        write_facts(session, batch, parts, stats, first_fact_id)
        step("load", total, total)
    return stats


# -- facts --------------------------------------------------------------------------------------
@dataclass
class _Facts:
    """The facts of one item column of a sheet: the lineage and constants once (``item``,
    ``unit``, ``source_dept``, ``batch_id``, ``sheet``, ``column``), the values that vary by
    row as NumPy columns (``VARYING``: int64, float64, or object for text)."""

    constants: dict[str, Any]
    rows: pd.DataFrame

    def __len__(self) -> int:
        return len(self.rows)


def _frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """A frame of NumPy columns as they are (pandas 3 would turn object columns of strings
    into its Arrow string dtype, which costs a copy at every take)."""
    return pd.DataFrame(
        {
            k: pd.Series(v, dtype=object if v.dtype == object else None, copy=False)
            for k, v in columns.items()
        },
        copy=False,
    )


def _text(series: pd.Series) -> np.ndarray:
    """A text column as an object array of ``str`` ("" where missing)."""
    values = series.to_numpy(dtype=object, na_value=None)
    missing = pd.isna(values)
    if missing.any() or pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        values = np.array(
            ["" if m else str(v) for v, m in zip(values, missing, strict=True)], dtype=object
        )
    return values


def long_facts(
    prep: Prepared, frame: pd.DataFrame, mapping: Mapping, batch: ImportBatch
) -> list[_Facts]:
    detail_col = mapping.detail_column()
    detail = (
        _text(frame[detail_col])
        if detail_col and detail_col in frame
        else np.full(len(frame), "", dtype=object)
    )
    enterprise = frame["enterprise_id"].to_numpy(dtype=float, na_value=np.nan)
    year = frame["year"].to_numpy(dtype=float, na_value=np.nan)
    month = frame["month"].to_numpy(dtype=float, na_value=np.nan)
    row = frame["_row"].to_numpy()
    parts = []
    for name, spec in mapping.items().items():
        if name not in frame:
            continue
        values = frame[name].to_numpy(dtype=float, na_value=np.nan)
        has = ~np.isnan(values)
        if not has.any():
            continue
        everywhere = bool(has.all())

        def pick(a: np.ndarray, has: np.ndarray = has, everywhere: bool = everywhere) -> np.ndarray:
            return a if everywhere else a[has]

        col = prep.columns[name]
        rows = {
            "enterprise_id": pick(enterprise).astype(np.int64),
            "year": pick(year).astype(np.int64),
            "month": pick(month).astype(np.int64),
            "detail": pick(detail),
            "value": pick(values),
            "row": pick(row).astype(np.int64),
            "raw_value": pick(frame[name + "__raw"].to_numpy(dtype=object)),
        }
        constants = {
            "item": spec.item,
            "unit": units.store_unit(spec.dimension),
            "source_dept": mapping.department,
            "batch_id": batch.id,
            "sheet": prep.table.sheet,
            "column": f"{col.letter}（{col.name}）",
        }
        parts.append(_Facts(constants, _frame(rows)))
    return parts


def write_facts(
    session: Session,
    batch: ImportBatch,
    parts: list[_Facts],
    stats: LoadStats,
    first_fact_id: int | None = None,
) -> None:
    parts = [p for p in parts if len(p)]
    if not parts:
        return
    items = sorted({p.constants["item"] for p in parts})
    years = sorted({int(y) for p in parts for y in np.unique(p.rows["year"].to_numpy())})
    dept = str(parts[0].constants["source_dept"])
    existing = read_frame(
        session,
        select(
            Fact.id, Fact.enterprise_id, Fact.year, Fact.month, Fact.item, Fact.detail, Fact.value
        ).where(
            Fact.source_dept == dept,
            Fact.item.in_(items),
            Fact.year.in_(years),
            Fact.superseded_by.is_(None),
            *_replaceable(session, dept, years, batch, first_fact_id, parts),
        ),
        ["old_id", *KEY, "old_value"],
    )
    supersede: list[pd.DataFrame] = []
    if not existing.empty:
        existing = existing.astype({"enterprise_id": np.int64, "year": np.int64, "month": np.int64})
        keys = [k for k in KEY if k != "item"]
        for k, part in enumerate(parts):
            item = part.constants["item"]
            old = existing.loc[existing["item"] == item, ["old_id", *keys, "old_value"]]
            if old.empty:
                continue
            merged = part.rows.merge(old, on=keys, how="left")
            old_value = merged["old_value"].to_numpy(dtype=float, na_value=np.nan)
            val = merged["value"].to_numpy(dtype=float)
            had = merged["old_id"].notna().to_numpy()
            same = had & np.isclose(old_value, val, rtol=1e-12, atol=1e-12, equal_nan=False)
            stats.facts_unchanged += int(same.sum())
            supersede.append(merged.loc[had & ~same, ["old_id", *keys]].assign(item=item))
            parts[k] = _Facts(part.constants, merged.loc[~same, list(VARYING)])
    _insert_facts(session, parts, stats)
    to_supersede = (
        pd.concat(supersede, ignore_index=True) if supersede else pd.DataFrame(columns=KEY)
    )
    if not to_supersede.empty:
        # the new rows of the superseded keys, found through ix_facts_lookup
        ids = sorted({int(e) for e in to_supersede["enterprise_id"]})
        fresh = pd.concat(
            [
                read_frame(
                    session,
                    select(
                        Fact.id, Fact.enterprise_id, Fact.year, Fact.month, Fact.item, Fact.detail
                    ).where(
                        Fact.enterprise_id.in_(ids[k : k + 500]),
                        Fact.year.in_(years),
                        Fact.item.in_(items),
                        Fact.batch_id == batch.id,
                    ),
                    ["new_id", *KEY],
                )
                for k in range(0, len(ids), 500)
            ],
            ignore_index=True,
        )
        pairs = to_supersede.merge(fresh, on=KEY, how="inner")
        session.execute(
            update(Fact),
            [
                {"id": int(o), "superseded_by": int(n)}
                for o, n in zip(pairs["old_id"], pairs["new_id"], strict=True)
            ],
        )
        stats.facts_superseded += len(pairs)


def _replaceable(
    session: Session,
    dept: str,
    years: list[int],
    batch: ImportBatch,
    first_fact_id: int | None,
    parts: list[_Facts],
) -> list[Any]:
    """The condition that keeps the read of the figures the new ones may replace to the
    enterprises of ``parts`` when they are few (a correction: read through ``ix_facts_lookup``,
    :func:`~industry_brain.store.facts.few_enterprises`), else to the department's batches' id
    ranges (none when they are not known)."""
    few = fact_store.few_enterprises(
        np.concatenate([p.rows["enterprise_id"].to_numpy() for p in parts])
    )
    if few is not None:
        return [Fact.enterprise_id.in_(few)]
    where = fact_store.in_ranges(
        fact_store.department_ranges(
            session, dept, years, loading=batch, loading_from=first_fact_id
        )
    )
    return [] if where is None else [where]


def next_fact_id(session: Session) -> int:
    """The store's largest fact id + 1: no fact an import writes from now on has a lower id."""
    return (session.scalar(select(func.max(Fact.id))) or 0) + 1


def _insert_facts(session: Session, parts: list[_Facts], stats: LoadStats) -> None:
    conn = session.connection()
    dbapi = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        copy_facts(dbapi, parts, stats)
        return
    for part in parts:
        if len(part):
            _sqlite_insert_facts(dbapi, part.constants, part.rows, _index_order(part))
            _count(stats, part)


def _index_order(part: _Facts) -> np.ndarray:
    """Inserting in index order keeps the B-tree appends local (about 1.5x faster on SQLite)."""
    return np.argsort(part.rows["enterprise_id"].to_numpy(dtype=np.int64), kind="stable")


def _count(stats: LoadStats, part: _Facts) -> None:
    stats.facts_inserted += len(part)
    stats.fact_years.update(int(y) for y in np.unique(part.rows["year"].to_numpy()))
    stats.fact_units[str(part.constants["item"])] = str(part.constants["unit"])


def copy_facts(dbapi: Any, parts: list[_Facts], stats: LoadStats) -> None:
    """``COPY`` the facts of ``parts`` into PostgreSQL through the driver's connection
    ``dbapi`` (used by a streamed import's writer thread too, :mod:`~industry_brain.ingest.stream`):
    taken in index order as Arrow columns (a pandas take of the text columns' Python objects
    cost ≈ 0.4 s per million facts), their foreign keys checked once for the set."""
    for part in parts:
        if len(part):
            data = bulk.arrow_table(part.rows, list(VARYING)).take(pa.array(_index_order(part)))
            bulk.pg_copy_checked(dbapi, Fact.__table__, part.rows, data, part.constants)
            _count(stats, part)


def _sqlite_insert_facts(
    dbapi: Any, constants: dict[str, Any], rows: pd.DataFrame, order: np.ndarray
) -> None:
    """Multi-row INSERTs through the DB-API of ``rows`` taken in ``order``."""
    rows = rows.iloc[order]
    # SQLite: the constants, the creation time and the integer or text columns that hold one
    # value in all these rows (usually the year; the month and detail of yearly figures) are
    # SQL literals, so each row binds only the values of its own
    fixed = {**constants}
    for c in ("year", "month", "detail", "enterprise_id"):
        values = rows[c].to_numpy()
        first = values[0] if len(values) else None
        literal = isinstance(first, int | np.integer) or (
            isinstance(first, str) and "\x00" not in first  # SQL text cannot hold NUL
        )
        if literal and bool((values == first).all()):
            fixed[c] = first
    varying = [c for c in VARYING if c not in fixed]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    bulk.sqlite_insert(
        dbapi,
        "facts",
        varying,
        bulk.value_table(rows, varying),  # n × len(varying) Python values (None for missing)
        {**fixed, "created_at": now},
    )


# -- enterprises ---------------------------------------------------------------------------------
def _registration(
    session: Session, batch: ImportBatch, frame: pd.DataFrame, lookup: Lookup, stats: LoadStats
) -> None:
    def col(name: str) -> list[Any]:
        if name not in frame:
            return [None] * len(frame)
        return [
            None if (v is None or v is pd.NA) else v for v in frame[name].to_numpy(dtype=object)
        ]

    usccs, names = col("uscc"), col("name")
    counties, industries, towns = col("county_code"), col("industry_code"), col("town_code")
    addresses, dates, statuses = col("address"), col("registration_date"), col("status")
    formers = col("former_names")
    new_rows, changed = [], []
    name_rows: list[dict[str, Any]] = []
    known = lookup.usccs_of(usccs)
    existing_ids = {u: known[u] for u in usccs if u in known}
    current = {
        e.id: e
        for chunk in chunks(list(existing_ids.values()))
        for e in session.scalars(select(Enterprise).where(Enterprise.id.in_(chunk)))
    }
    for i, uscc in enumerate(usccs):
        record = {
            "uscc": uscc,
            "name": names[i],
            "address": addresses[i],
            "county_code": counties[i],
            "industry_code": industries[i],
            "town_code": towns[i],
            "registration_date": dates[i],
            "status": statuses[i] or "存续",
            "batch_id": batch.id,
        }
        if uscc in existing_ids:
            ent = current[existing_ids[uscc]]
            diff = {
                k: v
                for k, v in record.items()
                if k != "batch_id" and v is not None and getattr(ent, k) != v
            }
            if diff:
                if "name" in diff:
                    name_rows.append({"enterprise_id": ent.id, "name": ent.name, "kind": "former"})
                    name_rows.append(
                        {"enterprise_id": ent.id, "name": diff["name"], "kind": "current"}
                    )
                for k, v in diff.items():
                    setattr(ent, k, v)
                ent.batch_id = batch.id
                changed.append(ent.id)
            ent_id = ent.id
        else:
            new_rows.append(record)
            ent_id = None
        for former in _split_names(formers[i]):
            name_rows.append(
                {"uscc": uscc, "enterprise_id": ent_id, "name": former, "kind": "former"}
            )
    if new_rows:
        # one COPY (PostgreSQL) or multi-row INSERTs (SQLite): SQLAlchemy's executemany of the
        # enterprises and their names took 8 of 16 s for 103,000 firms on PostgreSQL
        bulk.insert_frame(session, Enterprise, pd.DataFrame(new_rows))
        ids = dict(
            session.execute(
                select(Enterprise.uscc, Enterprise.id).where(Enterprise.batch_id == batch.id)
            ).all()
        )
        lookup.add_usccs([(r["uscc"], ids[r["uscc"]]) for r in new_rows])
        for r in new_rows:
            name_rows.append(
                {"enterprise_id": ids[r["uscc"]], "name": r["name"], "kind": "current"}
            )
        for r in name_rows:
            if r.get("enterprise_id") is None:
                r["enterprise_id"] = ids[r["uscc"]]
    session.flush()
    stats.enterprises_created += len(new_rows)
    stats.enterprises_updated += len(changed)
    _write_names(session, name_rows)


def _split_names(value: Any) -> list[str]:
    if not value:
        return []
    return [p for p in (s.strip() for s in re.split(r"[;；、,，|]", str(value))) if p]


def _write_names(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    normalized = normalize.normalize_name([r["name"] for r in rows]).to_pylist()
    wanted: dict[tuple[int, str], dict[str, Any]] = {}
    for r, norm in zip(rows, normalized, strict=True):
        wanted[(int(r["enterprise_id"]), r["name"])] = {
            "enterprise_id": int(r["enterprise_id"]),
            "name": r["name"],
            "normalized": norm,
            "kind": r["kind"],
        }
    existing = {
        (eid, name): kind
        for chunk in chunks(sorted({k[0] for k in wanted}))
        for eid, name, kind in session.execute(
            select(EnterpriseName.enterprise_id, EnterpriseName.name, EnterpriseName.kind).where(
                EnterpriseName.enterprise_id.in_(chunk)
            )
        )
    }
    fresh = [v for k, v in wanted.items() if k not in existing]
    for k, v in wanted.items():
        if k in existing and existing[k] != v["kind"]:
            session.execute(
                update(EnterpriseName)
                .where(EnterpriseName.enterprise_id == k[0], EnterpriseName.name == k[1])
                .values(kind=v["kind"])
            )
    if fresh:
        bulk.insert_frame(session, EnterpriseName, pd.DataFrame(fresh))


def _scales(session: Session, batch: ImportBatch, frame: pd.DataFrame) -> None:
    sub = frame.loc[frame["above_scale"].notna(), ["enterprise_id", "year", "above_scale"]]
    if sub.empty:
        return
    rows = pd.DataFrame(
        {
            "enterprise_id": sub["enterprise_id"].astype("int64").to_numpy(),
            "year": sub["year"].astype("int64").to_numpy(),
            "above_scale": sub["above_scale"].astype(bool).to_numpy(),
        }
    )
    # the flags these rows replace, a year at a time: ``year = y AND enterprise_id IN (…)``
    # walks the unique (enterprise_id, year) index; PostgreSQL scanned the whole table for a
    # list of (enterprise, year) pairs (0.15 s per 500 pairs: 22 of a 64,000-row sheet's 31 s)
    for year, ids in rows.groupby("year")["enterprise_id"]:
        for part in chunks(sorted(set(ids.tolist()))):
            session.execute(
                delete(EnterpriseScale).where(
                    EnterpriseScale.year == int(year), EnterpriseScale.enterprise_id.in_(part)
                )
            )
    # one COPY, its references checked set-wise (see bulk.insert_frame)
    bulk.insert_frame(session, EnterpriseScale, rows, {"batch_id": batch.id})


def power_accounts(session: Session, frame: pd.DataFrame, lookup: Lookup) -> None:
    """Record the accounts of the power rows ``frame`` that the store does not know yet, each
    with its first row's name and enterprise."""
    write_accounts(session, new_accounts(frame, lookup), lookup)


def new_accounts(frame: pd.DataFrame, lookup: Lookup) -> pd.DataFrame | None:
    """The accounts of ``frame`` the store does not know (account, name, enterprise), or None."""
    accounts = frame["account_no"].to_numpy(dtype=object)
    codes, _ = pd.factorize(accounts)
    _, first = np.unique(codes, return_index=True)
    first = np.sort(first)  # each account's first row, in file order
    names = frame["account_name"].to_numpy(dtype=object)[first]
    owners = frame["enterprise_id"].to_numpy(dtype=float, na_value=np.nan)[first]
    known = lookup.accounts_of(accounts[first])
    fresh = [
        (a, n or "", int(e))
        for a, n, e in zip(accounts[first], names, owners, strict=True)
        if a not in known
    ]
    if not fresh:
        return None
    return pd.DataFrame(fresh, columns=["account_no", "account_name", "enterprise_id"])


def write_accounts(session: Session, rows: pd.DataFrame | None, lookup: Lookup) -> None:
    """Write the accounts of :func:`new_accounts`; the look-ups know them from then on."""
    if rows is None:
        return
    bulk.insert_frame(session, PowerAccount, rows)
    owners = rows["enterprise_id"].astype(int).tolist()
    lookup.add_accounts(list(zip(rows["account_no"].tolist(), owners, strict=True)))


def _parcels(session: Session, batch: ImportBatch, frame: pd.DataFrame) -> None:
    sub = frame
    keys = [(p, int(e)) for p, e in zip(sub["parcel_no"], sub["enterprise_id"], strict=True)]
    if session.scalar(select(LandParcel.id).limit(1)) is None:
        pass  # nothing stored yet (a region's first land file): nothing to replace
    elif session.connection().dialect.name == "postgresql":
        # the parcels these rows replace, in one statement joined with the pairs as arrays:
        # PostgreSQL checked each candidate row against the 2,000 pairs of a ``(parcel_no,
        # enterprise_id) IN (…)`` list one by one (56 of a 107,000-row file's 62 s)
        session.execute(
            text(
                "DELETE FROM land_parcels AS lp USING unnest(CAST(:parcels AS text[]), "
                "CAST(:owners AS integer[])) AS k(parcel_no, enterprise_id) "
                "WHERE lp.parcel_no = k.parcel_no AND lp.enterprise_id = k.enterprise_id"
            ),
            {"parcels": [p for p, _ in keys], "owners": [e for _, e in keys]},
        )
    else:
        for part in chunks(keys, PAIR_CHUNK):
            session.execute(
                delete(LandParcel).where(
                    LandParcel.parcel_no.in_(sorted({p for p, _ in part})),  # indexed
                    tuple_(LandParcel.parcel_no, LandParcel.enterprise_id).in_(part),
                )
            )

    def get(name: str) -> list[Any]:
        if name not in sub:
            return [None] * len(sub)
        return [None if v is pd.NA else v for v in sub[name].to_numpy(dtype=object)]

    holders = get("_name") if "_name" in sub else get("holder")
    # one COPY (PostgreSQL) or multi-row INSERTs (SQLite): a province has 500,000 parcels
    parcels = pd.DataFrame(
        {
            "parcel_no": [p for p, _ in keys],
            "enterprise_id": np.asarray([e for _, e in keys], dtype=np.int64),
            "holder_name": [h or "" for h in holders],
            "area_mu": sub["area"].to_numpy(dtype=float),
            "land_use": get("land_use"),
            "tenure": [t or "出让" for t in get("tenure")],
            "start_date": get("start_date"),
            "end_date": get("end_date"),
            "row": sub["_row"].to_numpy(dtype=np.int64),
        }
    )
    bulk.insert_frame(session, LandParcel, parcels, {"batch_id": batch.id})
