"""Validation rules beyond single cells: duplicates in the file and cross-field plausibility.

Errors reject a row; warnings are reported and the row loads. Thresholds are parameters
(``ingest.validation.*``), never literals here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from industry_brain.ingest.mapping import Mapping
from industry_brain.ingest.matching import distinct_texts
from industry_brain.store import facts as fact_store
from industry_brain.store.db import bulk_reads

if TYPE_CHECKING:
    from industry_brain.ingest import readers
    from industry_brain.ingest.pipeline import _Sheet


def _key_codes(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """One int64 code per row for the combined key (factorised column by column), and a mask
    of rows whose key parts are all present."""
    combined = np.zeros(len(frame), dtype=np.int64)
    usable = np.ones(len(frame), dtype=bool)
    for k in keys:
        codes, uniques = pd.factorize(_key_values(frame[k]), use_na_sentinel=True)
        usable &= codes >= 0
        combined = combined * (len(uniques) + 1) + (codes + 1)
        combined, _ = pd.factorize(combined)  # keep the code range small
        combined = combined.astype(np.int64)
    return combined, usable


def _key_values(column: pd.Series) -> np.ndarray:
    """A key column for factorising: numbers as float64 (NaN for missing; no Python objects),
    anything else as objects."""
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    return column.to_numpy(dtype=object)


def duplicates(
    frame: pd.DataFrame,
    sheet: _Sheet,
    mapping: Mapping,
    columns: dict[str, readers.RawColumn],
) -> None:
    """A second row with the same key (enterprise, period, detail) is an error."""
    if len(frame) == 0:
        return
    if mapping.kind == "registration":
        keys = ["uscc"] if "uscc" in frame else []
    else:
        ent = frame["enterprise_id"].to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(ent)
        fallback = None
        for cand in ("uscc", "account_no", "name", "holder"):
            if cand in frame:
                fallback = frame[cand].to_numpy(dtype=object)
                break
        if fallback is not None and missing.any():
            # unmatched rows: the enterprise is keyed by its code, account or name instead
            mixed = ent.astype(object)
            mixed[missing] = fallback[missing]
            mixed[missing & pd.isna(mixed)] = None
            frame["_ekey"] = pd.Series(mixed, dtype=object, copy=False)
        else:
            frame["_ekey"] = ent
        keys = ["_ekey", "year", "month"]
        detail = mapping.detail_column()
        if detail and detail in frame:
            keys.append(detail)
    if not keys:
        return
    codes, usable = _key_codes(frame, keys)
    codes = np.where(usable, codes, -1 - np.arange(len(codes)))  # incomplete keys never collide
    series = pd.Series(codes)
    dup = series.duplicated(keep="first").to_numpy()
    if not dup.any():
        return
    rows = frame["_row"].to_numpy()
    first_index = series.drop_duplicates(keep="first")
    first_row = dict(zip(first_index.to_numpy(), rows[first_index.index.to_numpy()], strict=True))
    firsts = (
        np.array(
            [first_row.get(c) if d else None for c, d in zip(codes, dup, strict=True)], dtype=object
        )
        if dup.sum() > len(codes) // 2
        else None
    )
    if firsts is None:
        firsts = np.full(len(codes), None, dtype=object)
        for i in np.flatnonzero(dup):
            firsts[i] = first_row[codes[i]]
    col = columns.get("uscc") or columns.get("account_no") or columns.get("name")
    sheet.flag(
        dup,
        col,
        "row.duplicate",
        "",
        "",
        zh_each=lambda i: f"与第 {firsts[i]} 行重复（同一企业、期间和明细）",
        en_each=lambda i: f"duplicates row {firsts[i]} (same enterprise, period and detail)",
    )


#: the other departments whose stored figures a kind's checks read (:func:`store_rules`): when
#: files are imported side by side (:mod:`industry_brain.ingest.many`) these departments' files
#: keep their given order, so each check sees what a one-by-one import would have shown it
READS: dict[str, tuple[str, ...]] = {"stats_annual": ("tax",), "tax": ("statistics",)}


def store_rules(
    frame: pd.DataFrame,
    sheet: _Sheet,
    mapping: Mapping,
    columns: dict[str, readers.RawColumn],
    session: Session,
    thresholds: dict[str, Any],
) -> None:
    """Cross-field warnings, also against figures already in the store."""
    if len(frame) == 0 or "enterprise_id" not in frame:
        return
    ok = ~sheet.error
    if mapping.kind == "registration":
        _reference_codes(frame, sheet, columns, session)
    elif mapping.kind == "stats_annual":
        _value_added_vs_output(frame, sheet, columns, ok, thresholds)
        _tax_vs_revenue(frame, sheet, columns, session, ok, thresholds, side="revenue")
    elif mapping.kind == "tax":
        _tax_vs_revenue(frame, sheet, columns, session, ok, thresholds, side="tax")
    elif mapping.kind == "power":
        _electricity_jump(frame, sheet, columns, session, ok, thresholds)


def _value_added_vs_output(frame, sheet, columns, ok, thresholds) -> None:  # type: ignore[no-untyped-def]
    if not thresholds["value_added_exceeds_output"]:
        return
    if "value_added" not in frame or "output_value" not in frame:
        return
    va = frame["value_added"].to_numpy(dtype=float, na_value=np.nan)
    out = frame["output_value"].to_numpy(dtype=float, na_value=np.nan)
    mask = ok & ~np.isnan(va) & ~np.isnan(out) & (va > out)
    sheet.flag(
        mask,
        columns["value_added"],
        "cross.value_added_gt_output",
        "工业增加值大于工业总产值",
        "value added exceeds gross industrial output",
        severity="warning",
    )


def _tax_vs_revenue(frame, sheet, columns, session, ok, thresholds, side: str) -> None:  # type: ignore[no-untyped-def]
    ratio = float(thresholds["tax_revenue_ratio_max"])
    ent = frame["enterprise_id"].to_numpy(dtype=float, na_value=np.nan)
    years = frame["year"].to_numpy(dtype=float, na_value=np.nan)
    valid = ok & ~np.isnan(ent) & ~np.isnan(years)
    if not valid.any():
        return
    if side == "revenue":
        if "revenue" not in frame:
            return
        revenue = frame["revenue"].to_numpy(dtype=float, na_value=np.nan)
        if "tax_paid" in frame:
            tax = frame["tax_paid"].to_numpy(dtype=float, na_value=np.nan)
        else:
            tax = np.full(len(frame), np.nan)
        other = _stored_totals(session, "tax_paid", "tax", ent, years, valid)
        if other is not None:
            tax = np.where(np.isnan(other), tax, other)
        col = columns["revenue"]
    else:
        if "tax_paid" not in frame:
            return
        per_row = frame["tax_paid"].to_numpy(dtype=float, na_value=np.nan)
        totals = (
            pd.DataFrame({"e": ent, "y": years, "t": per_row})
            .groupby(["e", "y"])["t"]
            .transform("sum")
            .to_numpy(dtype=float)
        )
        tax = np.where(np.isnan(per_row), np.nan, totals)
        revenue = _stored_totals(session, "revenue", "statistics", ent, years, valid)
        if revenue is None:
            return
        col = columns["tax_paid"]
    mask = valid & ~np.isnan(tax) & ~np.isnan(revenue) & (revenue > 0) & (tax > revenue * ratio)
    sheet.flag(
        mask,
        col,
        "cross.tax_gt_revenue_share",
        f"税收超过营业收入的 {ratio:g} 倍，请核实",
        f"tax exceeds {ratio:g} × revenue; please check",
        severity="warning",
    )


def _stored_values(session: Session, *args: Any, **kwargs: Any) -> pd.DataFrame:
    """:func:`industry_brain.store.facts.current_values`, on PostgreSQL through ADBC: the
    cross-checks run before the import writes anything, so what is committed is what they
    compare with (last year's electricity of a province: 7 million figures)."""
    with bulk_reads():
        return fact_store.current_values(session, *args, **kwargs)


def _stored_totals(
    session: Session,
    item: str,
    dept: str,
    ent: np.ndarray,
    years: np.ndarray,
    valid: np.ndarray,
) -> np.ndarray | None:
    """Each row's stored total of ``item`` from ``dept`` for its enterprise and year (NaN where
    none), or None when the department has none of those years at all."""
    stored = _stored_values(
        session,
        [item],
        sorted({int(y) for y in years[valid]}),
        source_dept=dept,
        columns=("enterprise_id", "year", "value"),
        enterprise_ids=ent[valid],
    )
    if stored.empty:
        return None
    totals = stored.groupby(["enterprise_id", "year"])["value"].sum()
    return totals.reindex(pd.MultiIndex.from_arrays([ent, years])).to_numpy(dtype=float)


def _text_codes(*parts: Any) -> np.ndarray:
    """One integer per distinct text across ``parts`` (pandas columns or object arrays), in
    order of first appearance, -1 for a missing value — as ``pd.factorize`` of their
    concatenation, but hashed in Arrow: a province's power accounts (7 million stored, 7 million
    in the file) never become Python objects (≈ 2.4 GB and 16 s more than the rest of the
    validation)."""
    arrays = []
    for part in parts:
        array = pa.array(part, from_pandas=True)
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        arrays.append(array.cast(pa.large_string()))
    indices = pc.dictionary_encode(pa.concat_arrays(arrays)).indices
    return np.asarray(pc.fill_null(indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _electricity_jump(frame, sheet, columns, session, ok, thresholds) -> None:  # type: ignore[no-untyped-def]
    if "electricity" not in frame or "account_no" not in frame:
        return
    jump = float(thresholds["electricity_yoy_jump_max"])
    year_col = frame["year"].to_numpy(dtype=float, na_value=np.nan)
    years = sorted({int(y) for y in pd.unique(year_col[ok & ~np.isnan(year_col)])})
    if not years:
        return
    prev_years = sorted({y - 1 for y in years})
    account = frame["account_no"].to_numpy(dtype=object, na_value=None)
    month_col = frame["month"].to_numpy(dtype=float, na_value=np.nan)
    v = frame["electricity"].to_numpy(dtype=float, na_value=np.nan)
    valid = ok & ~pd.isna(account) & ~np.isnan(year_col) & ~np.isnan(month_col) & ~np.isnan(v)
    # a correction's few accounts: only their stored figures are sent back (not the year's)
    accounts = distinct_texts(account[valid])
    if not accounts:
        return  # no row to compare
    stored = _stored_values(
        session,
        ["electricity"],
        prev_years,
        source_dept="power_grid",
        columns=("detail", "year", "month", "value"),
        details=accounts if len(accounts) <= fact_store.BY_KEY_MAX else None,
    )
    if stored.empty and not set(prev_years) & set(years):
        return  # no figures of the previous year, in the store or in this file
    # last year's figure of each (account, year, month), from the store and from this file's
    # own earlier year, summed (an account's month may be reported for several enterprises);
    # keyed by one integer per (account, year, month) instead of grouping text columns
    codes = _text_codes(stored["detail"], account[valid])
    n_stored = len(stored)

    def key(code: np.ndarray, year: np.ndarray, month: np.ndarray) -> np.ndarray:
        return (code.astype(np.int64) * 10_000 + year.astype(np.int64)) * 16 + month.astype(
            np.int64
        )

    # this file's valid rows, keyed once; they are a previous year only where the file holds
    # the next year too (a file of one year — the usual case — adds nothing to look up)
    file_codes, file_years, file_months = codes[n_stored:], year_col[valid], month_col[valid]
    own = np.isin(file_years + 1, years)
    prev_keys = np.concatenate(
        [
            key(
                codes[:n_stored],
                stored["year"].to_numpy(dtype=np.int64) + 1,
                stored["month"].to_numpy(dtype=np.int64),
            ),
            key(file_codes[own], file_years[own] + 1, file_months[own]),
        ]
    )
    # summed by key and looked up by hash in Arrow (pandas' groupby and reindex of a few
    # million keys in random order took several times longer)
    prev_figures = np.concatenate(
        [stored["value"].to_numpy(dtype=float, na_value=np.nan), v[valid][own]]
    )
    sums = (
        pa.table({"k": prev_keys, "v": pa.array(prev_figures, from_pandas=True)})
        .group_by("k")
        .aggregate([("v", "sum")])
    )
    found = pc.index_in(
        pa.array(key(file_codes, file_years, file_months)),
        value_set=sums["k"].combine_chunks(),
    )
    hit = found.is_valid().to_numpy(zero_copy_only=False)
    last_year = np.full(len(hit), np.nan)
    last_year[hit] = sums["v_sum"].to_numpy().astype(float)[found.drop_null().to_numpy()]
    p = np.full(len(frame), np.nan)
    p[valid] = last_year
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = v / p
    mask = valid & (p > 0) & (v > 0) & ((ratio > jump) | (ratio < 1 / jump))
    prev_values = p
    sheet.flag(
        mask,
        columns["electricity"],
        "cross.electricity_jump",
        "",
        "",
        severity="warning",
        zh_each=lambda i: f"用电量同比变化超过 {jump:g} 倍（上年同月 {prev_values[i]:g} 千瓦时）",
        en_each=lambda i: (
            f"electricity changed more than {jump:g}× year on year "
            f"(same month last year {prev_values[i]:g} kWh)"
        ),
    )


def _reference_codes(frame, sheet, columns, session) -> None:  # type: ignore[no-untyped-def]
    """County, town (GB/T 2260 / 统计用区划) and industry (GB/T 4754) resolved against the
    reference tables; see :mod:`industry_brain.ingest.reference_codes`."""
    from industry_brain.ingest import reference_codes

    reference_codes.check(frame, sheet, columns, session)
