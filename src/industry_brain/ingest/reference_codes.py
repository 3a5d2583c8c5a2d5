"""Counties, towns and industries of an import resolved against the reference tables.

Each distinct (text, data year) is resolved once by :mod:`industry_brain.store.codes` and mapped
back to the rows, so a column costs one dictionary lookup per row. Problems are located at their
cell like every other ingest problem:

- ``value.unknown_region`` / ``value.ambiguous_region`` (errors; the candidates are listed),
  ``value.region_retired`` (a retired code or name mapped to its successor: a warning naming
  both), ``value.region_not_yet`` (a code used before it existed: a warning),
  ``value.outside_jurisdiction`` (an enterprise registered outside ``IB_JURISDICTION``: error);
- ``value.unknown_town`` / ``value.ambiguous_town`` / ``value.town_county_mismatch`` (errors);
- ``value.unknown_industry`` / ``value.ambiguous_industry`` / ``value.industry_mismatch``
  (errors), ``value.coarse_industry`` (a division or group only: a warning),
  ``value.industry_2011`` (a GB/T 4754-2011 code of a file before 2018 mapped: a warning).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from industry_brain.core import env
from industry_brain.store import codes
from industry_brain.store.codes import Resolved, candidates_text

if TYPE_CHECKING:
    from industry_brain.ingest import readers
    from industry_brain.ingest.pipeline import _Sheet


def platform_year() -> int:
    """The year of the platform's today (``IB_TODAY`` when set)."""
    return env.today().year


def _years(frame: pd.DataFrame) -> np.ndarray:
    """The data year of every row (the platform's year when the file has none)."""
    if "year" not in frame:
        return np.full(len(frame), platform_year(), dtype=np.int64)
    return frame["year"].astype("Int64").fillna(platform_year()).to_numpy(dtype=np.int64)


def _resolve_column(
    raw: pd.Series, keys: np.ndarray, resolve: Any
) -> tuple[np.ndarray, list[Resolved | None]]:
    """Resolve each distinct (text, key) once; returns the per-row results."""
    cache: dict[tuple[Any, Any], Resolved] = {}
    values = raw.to_numpy(dtype=object)
    out: list[Resolved | None] = []
    for v, k in zip(values, keys, strict=True):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
            continue
        key = (v, k)
        if key not in cache:
            cache[key] = resolve(v, k)
        out.append(cache[key])
    codes_arr = np.array([r.code if r is not None else None for r in out], dtype=object)
    return codes_arr, out


def _objects(frame: pd.DataFrame, values: np.ndarray) -> pd.Series:
    """An object column (pandas would infer a string dtype and turn None into NaN)."""
    return pd.Series(values, index=frame.index, dtype=object)


def _mask(results: list[Resolved | None], *statuses: str) -> np.ndarray:
    return np.array([r is not None and r.status in statuses for r in results], dtype=bool)


def check(
    frame: pd.DataFrame,
    sheet: _Sheet,
    columns: dict[str, readers.RawColumn],
    session: Session,
) -> None:
    """Resolve ``county``, ``town`` and ``industry_code`` of a registration-like frame in place
    (``county_code``, ``town_code``, ``industry_code``) and flag what cannot be resolved."""
    n = len(frame)
    years = _years(frame)
    juris = codes.jurisdiction()
    regions = codes.region_index(session) if ("county" in frame or "town" in frame) else None
    county_codes = np.full(n, None, dtype=object)
    if "county" in frame and regions is not None:
        col = columns["county"]
        county_codes, res = _resolve_column(
            frame["county"], years, lambda v, y: regions.resolve(v, int(y), juris)
        )
        _flag_regions(sheet, col, res, years)
    if "town" in frame and regions is not None:
        col = columns["town"]
        wanted = {c for c in county_codes if c}
        texts = frame["town"].astype("object")
        wanted |= {codes.clean(t)[:6] for t in texts.dropna() if codes.clean(t)[:6].isdigit()}
        regions.load_towns(session, wanted)
        town_codes, res = _resolve_column(
            texts, county_codes, lambda v, c: regions.resolve_town(v, c)
        )
        _flag_towns(sheet, col, res, county_codes)
        # a town code alone tells its county
        derived = np.array(
            [
                t[:6] if (c is None and t) else c
                for c, t in zip(county_codes, town_codes, strict=True)
            ],
            dtype=object,
        )
        county_codes = derived
        frame["town_code"] = _objects(frame, town_codes)
    if "county" in frame or "town" in frame:
        outside = np.array([bool(c) and not codes.in_jurisdiction(c, juris) for c in county_codes])
        if outside.any() and regions is not None:
            name = regions.names.get(juris, juris)
            col = columns.get("county") or columns.get("town")
            sheet.flag(
                outside,
                col,
                "value.outside_jurisdiction",
                "",
                "",
                zh_each=lambda i: (
                    f"企业登记在 {county_codes[i]} {regions.names.get(county_codes[i], '')}，"
                    f"不在本平台辖区 {juris} {name} 内"
                ),
                en_each=lambda i: (
                    f"the enterprise is registered in {county_codes[i]} "
                    f"{regions.names.get(county_codes[i], '')}, outside this platform's "
                    f"jurisdiction {juris} {name}"
                ),
            )
    frame["county_code"] = _objects(frame, county_codes)
    if "industry_code" in frame:
        industries = codes.industry_index(session)
        col = columns["industry_code"]
        texts = frame["industry_code"].astype("object")
        if "industry_name" in frame:
            # a separate name column is checked against the code (code + name in one text)
            names = frame["industry_name"].astype("object")
            texts = texts.where(
                names.isna(), texts.fillna("").astype(str) + " " + names.astype(str)
            )
        ind_codes, res = _resolve_column(texts, years, lambda v, y: industries.resolve(v, int(y)))
        _flag_industries(sheet, col, res, years)
        frame["industry_code"] = _objects(frame, ind_codes)


Message = Callable[[Resolved, int], str]


def _flag(
    sheet: _Sheet,
    col: readers.RawColumn,
    res: list[Resolved | None],
    statuses: tuple[str, ...],
    code: str,
    zh: Message,
    en: Message,
    severity: str = "error",
) -> None:
    """Flag the rows whose resolution has one of ``statuses``; messages see the result."""

    def at(i: int) -> Resolved:
        item = res[i]
        assert item is not None
        return item

    sheet.flag(
        _mask(res, *statuses), col, code, "", "", severity=severity,
        zh_each=lambda i: zh(at(i), i), en_each=lambda i: en(at(i), i),
    )  # fmt: skip


def _orig(x: Resolved) -> str:
    return f"{x.original[0]} {x.original[1]}" if x.original else ""


def _flag_regions(
    sheet: _Sheet, col: readers.RawColumn, res: list[Resolved | None], years: np.ndarray
) -> None:
    def unknown_zh(x: Resolved, i: int) -> str:
        if x.status == "wrong_level" and x.note == "town":
            return f"“{x.name or ''}”是乡镇街道代码，此列应填区县"
        if x.status == "wrong_level":
            return f"“{x.name}”是{'省级' if x.note == 'province' else '地级'}单位，此列应填区县"
        if x.original:
            return f"区划 {_orig(x)} 已于 {x.note} 撤销，且没有继承单位"
        return "区县不在行政区划表中（应为 GB/T 2260 代码或区县名称）"

    def unknown_en(x: Resolved, i: int) -> str:
        if x.status == "wrong_level" and x.note == "town":
            return f"'{x.name or ''}' is a town code: this column takes a county"
        if x.status == "wrong_level":
            return f"'{x.name}' is a {x.note}-level unit: this column takes a county"
        if x.original:
            return f"division {_orig(x)} was {x.note} with no successor"
        return "county is not a known division (a GB/T 2260 code or a county name)"

    _flag(
        sheet, col, res, ("unknown", "wrong_level"), "value.unknown_region", unknown_zh, unknown_en
    )
    _flag(
        sheet, col, res, ("ambiguous",), "value.ambiguous_region",
        lambda x, i: f"对应多个区县，请填写代码：{candidates_text(x.candidates)}",
        lambda x, i: f"matches several counties, write the code: {candidates_text(x.candidates)}",
    )  # fmt: skip
    _flag(
        sheet, col, res, ("mapped",), "value.region_retired",
        lambda x, i: f"区划 {_orig(x)} 已于 {x.note} 年撤销，按继承关系记为 {x.code} {x.name}",
        lambda x, i: (
            f"division {_orig(x)} was retired in {x.note}; recorded as its successor "
            f"{x.code} {x.name}"
        ),
        severity="warning",
    )  # fmt: skip
    _flag(
        sheet, col, res, ("early",), "value.region_not_yet",
        lambda x, i: f"区划 {x.code} {x.name} 自 {x.note} 年启用，晚于数据年度 {years[i]}",
        lambda x, i: (
            f"division {x.code} {x.name} exists from {x.note}, after the data year {years[i]}"
        ),
        severity="warning",
    )  # fmt: skip


def _flag_towns(
    sheet: _Sheet, col: readers.RawColumn, res: list[Resolved | None], counties: np.ndarray
) -> None:
    _flag(
        sheet, col, res, ("unknown",), "value.unknown_town",
        lambda x, i: (
            f"乡镇街道不在区县 {counties[i]} 的统计用区划中"
            if counties[i]
            else "乡镇街道无法确定（请填写9位统计用区划代码，或同时填写区县）"
        ),
        lambda x, i: (
            f"town is not a town of county {counties[i]} in the statistical divisions"
            if counties[i]
            else "town cannot be determined (write its 9-digit code, or give the county too)"
        ),
    )  # fmt: skip
    _flag(
        sheet, col, res, ("ambiguous",), "value.ambiguous_town",
        lambda x, i: f"对应多个乡镇街道，请填写全称或代码：{candidates_text(x.candidates)}",
        lambda x, i: (
            f"matches several towns, write the full name or code: {candidates_text(x.candidates)}"
        ),
    )  # fmt: skip
    _flag(
        sheet, col, res, ("mismatch",), "value.town_county_mismatch",
        lambda x, i: (
            f"乡镇街道 {x.name} 属于 {candidates_text(x.candidates)}，与区县 {counties[i]} 不符"
        ),
        lambda x, i: (
            f"town {x.name} belongs to {candidates_text(x.candidates)}, not to county "
            f"{counties[i]}"
        ),
    )  # fmt: skip


def _flag_industries(
    sheet: _Sheet, col: readers.RawColumn, res: list[Resolved | None], years: np.ndarray
) -> None:
    def unknown_zh(x: Resolved, i: int) -> str:
        if x.status == "wrong_level":
            return f"“{x.name}”是门类，行业应至少写到大类（两位代码）"
        if x.note == "2011" and x.original:
            return (
                f"{x.original[0]} 是 GB/T 4754-2011 代码（{x.original[1]}），{years[i]} 年的数据"
                f"应使用 2017 代码：{candidates_text(x.candidates)}"
            )
        return "行业代码或名称不在 GB/T 4754-2017 行业表中"

    def unknown_en(x: Resolved, i: int) -> str:
        if x.status == "wrong_level":
            return f"'{x.name}' is a section: give at least a division (two digits)"
        if x.note == "2011" and x.original:
            return (
                f"{x.original[0]} is a GB/T 4754-2011 code ({x.original[1]}); data of "
                f"{years[i]} use 2017 codes: {candidates_text(x.candidates)}"
            )
        return "industry code or name is not in the GB/T 4754-2017 table"

    def ambiguous_zh(x: Resolved, i: int) -> str:
        if x.original:
            return (
                f"GB/T 4754-2011 代码 {_orig(x)} 对应多个 2017 代码，"
                f"请改填其一：{candidates_text(x.candidates)}"
            )
        return f"行业名称对应多个代码，请填写代码：{candidates_text(x.candidates)}"

    def ambiguous_en(x: Resolved, i: int) -> str:
        if x.original:
            return (
                f"GB/T 4754-2011 code {_orig(x)} maps to several 2017 codes, write one of: "
                f"{candidates_text(x.candidates)}"
            )
        return (
            f"industry name matches several codes, write the code: {candidates_text(x.candidates)}"
        )

    _flag(
        sheet, col, res, ("unknown", "wrong_level"), "value.unknown_industry", unknown_zh,
        unknown_en,
    )  # fmt: skip
    _flag(sheet, col, res, ("ambiguous",), "value.ambiguous_industry", ambiguous_zh, ambiguous_en)
    _flag(
        sheet, col, res, ("mismatch",), "value.industry_mismatch",
        lambda x, i: f"行业代码与名称或门类不一致：{candidates_text(x.candidates)}",
        lambda x, i: (
            f"industry code and name (or section letter) disagree: "
            f"{candidates_text(x.candidates)}"
        ),
    )  # fmt: skip
    _flag(
        sheet, col, res, ("coarse",), "value.coarse_industry",
        lambda x, i: (
            f"行业只写到{'大类' if x.note == 'division' else '中类'} {x.code} {x.name}，"
            "无法与同小类企业比较"
        ),
        lambda x, i: (
            f"industry is only a {x.note} ({x.code} {x.name}): too coarse for class-level peers"
        ),
        severity="warning",
    )  # fmt: skip
    _flag(
        sheet, col, res, ("mapped",), "value.industry_2011",
        lambda x, i: f"GB/T 4754-2011 代码 {_orig(x)} 记为 2017 代码 {x.code} {x.name}",
        lambda x, i: f"GB/T 4754-2011 code {_orig(x)} recorded as 2017 code {x.code} {x.name}",
        severity="warning",
    )  # fmt: skip
