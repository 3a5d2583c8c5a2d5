"""Loading prepared rows into the store inside the batch's transaction (set-based, bulk)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from industry_brain.core import units
from industry_brain.ingest import normalize
from industry_brain.ingest.mapping import Mapping
from industry_brain.store.db import read_frame
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

FACT_COLUMNS = (
    "enterprise_id",
    "year",
    "month",
    "item",
    "detail",
    "value",
    "unit",
    "source_dept",
    "batch_id",
    "sheet",
    "row",
    "column",
    "raw_value",
)
KEY = ["enterprise_id", "year", "month", "item", "detail"]


@dataclass
class LoadStats:
    rows_loaded: int = 0
    facts_inserted: int = 0
    facts_superseded: int = 0
    facts_unchanged: int = 0
    enterprises_created: int = 0
    enterprises_updated: int = 0


def load(
    session: Session,
    batch: ImportBatch,
    mapping: Mapping,
    prepared: list[Prepared],
    lookup: Lookup,
    progress: Callable[[str, int, int], None] | None = None,
) -> LoadStats:
    stats = LoadStats()
    step = progress or (lambda *_: None)
    for prep in prepared:
        ok = ~prep.frame["_error"].to_numpy()
        stats.rows_loaded += int(ok.sum())
        frame = prep.frame.loc[ok]
        if frame.empty:
            continue
        if mapping.kind == "registration":
            _registration(session, batch, frame, lookup, stats)
            continue
        if mapping.kind == "stats_annual" and "above_scale" in frame:
            _scales(session, batch, frame)
        if mapping.kind == "power":
            _power_accounts(session, frame, lookup)
        if mapping.kind == "land":
            _parcels(session, batch, frame)
        long = _long_facts(prep, frame, mapping, batch)
        step("load", 0, len(long))
        _write_facts(session, batch, long, stats)
        step("load", len(long), len(long))
    return stats


# -- facts --------------------------------------------------------------------------------------
def _long_facts(
    prep: Prepared, frame: pd.DataFrame, mapping: Mapping, batch: ImportBatch
) -> pd.DataFrame:
    detail_col = mapping.detail_column()
    detail = (
        frame[detail_col].astype("object").fillna("").astype(str)
        if detail_col and detail_col in frame
        else pd.Series([""] * len(frame), index=frame.index)
    )
    parts = []
    for name, spec in mapping.items().items():
        if name not in frame:
            continue
        values = frame[name].to_numpy(dtype=float, na_value=np.nan)
        has = ~np.isnan(values)
        if not has.any():
            continue
        col = prep.columns[name]
        sub = pd.DataFrame(
            {
                "enterprise_id": frame["enterprise_id"].to_numpy(dtype=float)[has].astype(np.int64),
                "year": frame["year"].to_numpy(dtype=float)[has].astype(np.int64),
                "month": frame["month"].to_numpy(dtype=float)[has].astype(np.int64),
                "item": spec.item,
                "detail": detail.to_numpy()[has],
                "value": values[has],
                "unit": units.store_unit(spec.dimension),
                "source_dept": mapping.department,
                "batch_id": batch.id,
                "sheet": prep.table.sheet,
                "row": frame["_row"].to_numpy()[has].astype(np.int64),
                "column": f"{col.letter}（{col.name}）",
                "raw_value": frame[name + "__raw"].to_numpy(dtype=object)[has],
            }
        )
        parts.append(sub)
    if not parts:
        return pd.DataFrame(columns=list(FACT_COLUMNS))
    return pd.concat(parts, ignore_index=True)


def _write_facts(session: Session, batch: ImportBatch, new: pd.DataFrame, stats: LoadStats) -> None:
    if new.empty:
        return
    items = sorted(new["item"].unique())
    years = sorted(int(y) for y in new["year"].unique())
    dept = str(new["source_dept"].iloc[0])
    existing = read_frame(
        session,
        select(
            Fact.id, Fact.enterprise_id, Fact.year, Fact.month, Fact.item, Fact.detail, Fact.value
        ).where(
            Fact.source_dept == dept,
            Fact.item.in_(items),
            Fact.year.in_(years),
            Fact.superseded_by.is_(None),
        ),
        ["old_id", *KEY, "old_value"],
    )
    to_supersede = pd.DataFrame(columns=["old_id", *KEY])
    if not existing.empty:
        existing = existing.astype({"enterprise_id": np.int64, "year": np.int64, "month": np.int64})
        merged = new.merge(existing, on=KEY, how="left")
        old = merged["old_value"].to_numpy(dtype=float, na_value=np.nan)
        val = merged["value"].to_numpy(dtype=float)
        had = merged["old_id"].notna().to_numpy()
        same = had & np.isclose(old, val, rtol=1e-12, atol=1e-12, equal_nan=False)
        stats.facts_unchanged += int(same.sum())
        to_supersede = merged.loc[had & ~same, ["old_id", *KEY]]
        new = merged.loc[~same, list(FACT_COLUMNS)]
    if new.empty:
        return
    # inserting in index order keeps the B-tree appends local (about 1.5x faster on SQLite)
    order = np.argsort(new["enterprise_id"].to_numpy(dtype=np.int64), kind="stable")
    new = new.iloc[order]
    _bulk_insert_facts(session, new)
    stats.facts_inserted += len(new)
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


def _bulk_insert_facts(session: Session, frame: pd.DataFrame) -> None:
    """Fast path: DB-API executemany (SQLite) or COPY (PostgreSQL)."""
    conn = session.connection()
    cols = list(FACT_COLUMNS)
    dbapi = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        records = _records(frame, cols)
        with dbapi.cursor() as cur:
            quoted = ", ".join(f'"{c}"' for c in cols)
            with cur.copy(f"COPY facts ({quoted}) FROM STDIN") as copy:
                for rec in records:
                    copy.write_row(rec)
        return
    # SQLite: the columns that are constant within an item column of a sheet are written as
    # SQL literals, so each row binds only its own 7 values (about twice as fast).
    constant = ["item", "unit", "source_dept", "batch_id", "sheet", "column"]
    varying = [c for c in cols if c not in constant]
    names = ", ".join(f'"{c}"' for c in [*varying, *constant, "created_at"])
    now = _literal(datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"))
    cur = dbapi.cursor()
    try:
        for key, group in frame.groupby(constant, dropna=False, sort=False):
            literals = ", ".join(_literal(v) for v in key)
            placeholders = ", ".join("?" for _ in varying)
            cur.executemany(
                f"INSERT INTO facts ({names}) VALUES ({placeholders}, {literals}, {now})",
                _records(group, varying),
            )
    finally:
        cur.close()


def _literal(value: Any) -> str:
    """A SQLite literal for a constant (numbers, or text quoted with '' escaping)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "NULL"
    if isinstance(value, int | np.integer):
        return str(int(value))
    return "'" + str(value).replace("'", "''") + "'"


def _records(frame: pd.DataFrame, cols: list[str]) -> list[tuple]:
    """Rows as tuples of Python values (None for missing), converted column-wise by pyarrow."""
    table = pa.Table.from_pandas(frame[cols], preserve_index=False)
    return list(zip(*(table.column(c).to_pylist() for c in cols), strict=True))


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
    counties, industries = col("county_code"), col("industry_code")
    addresses, dates, statuses = col("address"), col("registration_date"), col("status")
    formers = col("former_names")
    new_rows, changed = [], []
    name_rows: list[dict[str, Any]] = []
    existing_ids = {u: lookup.by_uscc[u] for u in usccs if u in lookup.by_uscc}
    current = (
        {
            e.id: e
            for e in session.scalars(
                select(Enterprise).where(Enterprise.id.in_(list(existing_ids.values())))
            )
        }
        if existing_ids
        else {}
    )
    for i, uscc in enumerate(usccs):
        record = {
            "uscc": uscc,
            "name": names[i],
            "address": addresses[i],
            "county_code": counties[i],
            "industry_code": industries[i],
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
        session.execute(insert(Enterprise), new_rows)
        ids = dict(
            session.execute(
                select(Enterprise.uscc, Enterprise.id).where(Enterprise.batch_id == batch.id)
            ).all()
        )
        for r in new_rows:
            lookup.by_uscc[r["uscc"]] = ids[r["uscc"]]
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
        for eid, name, kind in session.execute(
            select(EnterpriseName.enterprise_id, EnterpriseName.name, EnterpriseName.kind).where(
                EnterpriseName.enterprise_id.in_(sorted({k[0] for k in wanted}))
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
        session.execute(insert(EnterpriseName), fresh)


def _scales(session: Session, batch: ImportBatch, frame: pd.DataFrame) -> None:
    sub = frame.loc[frame["above_scale"].notna(), ["enterprise_id", "year", "above_scale"]]
    if sub.empty:
        return
    keys = [(int(e), int(y)) for e, y in zip(sub["enterprise_id"], sub["year"], strict=True)]
    for chunk in range(0, len(keys), 500):
        session.execute(
            delete(EnterpriseScale).where(
                tuple_(EnterpriseScale.enterprise_id, EnterpriseScale.year).in_(
                    keys[chunk : chunk + 500]
                )
            )
        )
    session.execute(
        insert(EnterpriseScale),
        [
            {"enterprise_id": e, "year": y, "above_scale": bool(a), "batch_id": batch.id}
            for (e, y), a in zip(keys, sub["above_scale"], strict=True)
        ],
    )


def _power_accounts(session: Session, frame: pd.DataFrame, lookup: Lookup) -> None:
    accounts = frame["account_no"].to_numpy(dtype=object)
    codes, _ = pd.factorize(accounts)
    _, first = np.unique(codes, return_index=True)
    sub = frame.iloc[np.sort(first)][["account_no", "account_name", "enterprise_id"]]
    fresh = [
        {"account_no": a, "account_name": n or "", "enterprise_id": int(e)}
        for a, n, e in zip(
            sub["account_no"], sub["account_name"], sub["enterprise_id"], strict=True
        )
        if a not in lookup.by_account
    ]
    if fresh:
        session.execute(PowerAccount.__table__.insert(), fresh)
        for r in fresh:
            lookup.by_account[r["account_no"]] = r["enterprise_id"]


def _parcels(session: Session, batch: ImportBatch, frame: pd.DataFrame) -> None:
    sub = frame
    keys = [(p, int(e)) for p, e in zip(sub["parcel_no"], sub["enterprise_id"], strict=True)]
    for chunk in range(0, len(keys), 500):
        session.execute(
            delete(LandParcel).where(
                tuple_(LandParcel.parcel_no, LandParcel.enterprise_id).in_(
                    keys[chunk : chunk + 500]
                )
            )
        )

    def get(name: str) -> list[Any]:
        if name not in sub:
            return [None] * len(sub)
        return [None if v is pd.NA else v for v in sub[name].to_numpy(dtype=object)]

    holders = get("_name") if "_name" in sub else get("holder")
    session.execute(
        insert(LandParcel),
        [
            {
                "parcel_no": p,
                "enterprise_id": e,
                "holder_name": h or "",
                "area_mu": float(a),
                "land_use": u,
                "tenure": t or "出让",
                "start_date": s,
                "end_date": d,
                "batch_id": batch.id,
                "row": int(row),
            }
            for (p, e), h, a, u, t, s, d, row in zip(
                keys,
                holders,
                sub["area"].to_numpy(dtype=float),
                get("land_use"),
                get("tenure"),
                get("start_date"),
                get("end_date"),
                sub["_row"],
                strict=True,
            )
        ],
    )
