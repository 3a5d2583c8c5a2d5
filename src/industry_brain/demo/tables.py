"""Parquet tables of the synthetic economy: enterprises, yearly facts (long form), monthly power.

At city scale they are the ground truth next to the department files (the clean values, in
store units, of exactly the figures the files report); at province scale they are the only
output, for benchmarks. Files are written with pyarrow in bounded row groups; nothing in their
metadata depends on the clock, so the same seed gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from industry_brain.demo.constants import YEARS, city
from industry_brain.demo.params import FUELS, POLLUTANTS
from industry_brain.demo.population import Population

ENTERPRISES = pa.schema(
    [
        ("uscc", pa.string()),
        ("name", pa.string()),
        ("former_names", pa.list_(pa.string())),
        ("county_code", pa.string()),
        ("industry_code", pa.string()),
        ("registration_date", pa.date32()),
        ("status", pa.string()),
        ("address", pa.string()),
        ("closed_year", pa.int16()),
    ]
)
FACTS = pa.schema(
    [
        ("uscc", pa.string()),
        ("year", pa.int16()),
        ("item", pa.string()),
        ("value", pa.float64()),
        ("unit", pa.string()),
    ]
)
ELECTRICITY = pa.schema(
    [
        ("uscc", pa.string()),
        ("account_no", pa.string()),
        ("year", pa.int16()),
        ("month", pa.int8()),
        ("kwh", pa.float64()),
    ]
)
TABLES: dict[str, pa.Schema] = {
    "enterprises": ENTERPRISES,
    "facts": FACTS,
    "electricity_monthly": ELECTRICITY,
}
ROW_GROUP = 1_000_000


def enterprise_table(pop: Population) -> pa.Table:
    """Registry rows (一企一档) in generation order."""
    closed = [int(y) if y else None for y in pop.close_year]
    return pa.table(
        {
            "uscc": pa.array(pop.uscc, pa.string()),
            "name": pa.array(pop.name, pa.string()),
            "former_names": pa.array(
                [[n for n, _ in f] for f in pop.former], pa.list_(pa.string())
            ),
            "county_code": pa.array(
                [city().counties[int(c)].code for c in pop.county_idx], pa.string()
            ),
            "industry_code": pa.array(pop.class_code, pa.string()),
            "registration_date": pa.array(pop.reg_date.astype("datetime64[D]"), pa.date32()),
            "status": pa.array(pop.status, pa.string()),
            "address": pa.array(pop.address, pa.string()),
            "closed_year": pa.array(closed, pa.int16()),
        },
        schema=ENTERPRISES,
    )


def _fact_items(pop: Population) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """(item, store unit, values (n, years), present (n, years)) as the departments report them."""
    active, above = pop.active, pop.above
    items: list[tuple[str, str, np.ndarray, np.ndarray]] = [
        ("output_value", "万元", pop.output, active),
        ("value_added", "万元", pop.value_added, active),
        ("revenue", "万元", pop.revenue, active),
        ("profit", "万元", pop.profit, active),
        ("employees", "人", pop.employees.astype(float), active),
        ("rd_expense", "万元", pop.rd, active),
        ("above_scale", "flag", above.astype(float), active),
        ("energy_total", "吨标准煤", pop.energy_total, above),
    ]
    for f, (key, _zh, unit, _tce) in enumerate(FUELS):
        values = pop.fuels[:, :, f]
        items.append((f"fuel.{key}", unit, values, above & (values > 0)))
    tax = pop.tax.sum(axis=2)
    items.append(("tax_paid", "万元", np.round(tax, 4), active & (tax >= 0.0001)))
    items.append(("electricity", "千瓦时", pop.electricity, active))
    items.append(("land_area", "亩", pop.land_area, pop.land_area > 0))
    emitting = active & pop.emits[:, None]
    for p, (key, _zh) in enumerate(POLLUTANTS):
        items.append((f"emission.{key}", "吨", pop.emissions[:, :, p], emitting))
    return items


def fact_table(pop: Population) -> pa.Table:
    """Yearly facts in long form (uscc, year, item, value, unit), ordered by enterprise, year."""
    items = _fact_items(pop)
    ents, years, codes, values = [], [], [], []
    for code, (_item, _unit, vals, mask) in enumerate(items):
        i, y = np.nonzero(mask)
        ents.append(i.astype(np.int32))
        years.append(y.astype(np.int8))
        codes.append(np.full(len(i), code, dtype=np.int32))
        values.append(vals[i, y])
    ent = np.concatenate(ents)
    year = np.concatenate(years)
    code = np.concatenate(codes)
    value = np.concatenate(values).astype(np.float64)
    order = np.lexsort((code, year, ent))
    ent, year, code, value = ent[order], year[order], code[order], value[order]
    uscc = pa.DictionaryArray.from_arrays(pa.array(ent), pa.array(pop.uscc))
    item = pa.DictionaryArray.from_arrays(pa.array(code), pa.array([t[0] for t in items]))
    unit = pa.DictionaryArray.from_arrays(pa.array(code), pa.array([t[1] for t in items]))
    return pa.table(
        {
            "uscc": uscc.cast(pa.string()),
            "year": pa.array((np.asarray(YEARS)[year]).astype(np.int16)),
            "item": item.cast(pa.string()),
            "value": pa.array(value),
            "unit": unit.cast(pa.string()),
        },
        schema=FACTS,
    )


def electricity_table(pop: Population) -> pa.Table:
    """Monthly electricity per power account (户号) in kWh, for years the enterprise is active."""
    m = len(pop.acct_ent)
    present = pop.active[pop.acct_ent]  # (m, years)
    a, y = np.nonzero(present)
    a = np.repeat(a, 12)
    y = np.repeat(y, 12)
    month = np.tile(np.arange(12), len(a) // 12 if m else 0)
    kwh = pop.monthly_kwh[a, y, month]
    uscc = pa.DictionaryArray.from_arrays(
        pa.array(pop.acct_ent[a].astype(np.int32)), pa.array(pop.uscc)
    )
    account = pa.DictionaryArray.from_arrays(pa.array(a.astype(np.int32)), pa.array(pop.acct_no))
    return pa.table(
        {
            "uscc": uscc.cast(pa.string()),
            "account_no": account.cast(pa.string()),
            "year": pa.array((np.asarray(YEARS)[y]).astype(np.int16)),
            "month": pa.array((month + 1).astype(np.int8)),
            "kwh": pa.array(kwh.astype(np.float64)),
        },
        schema=ELECTRICITY,
    )


class TableWriter:
    """Streams populations (one or many chunks) into the three Parquet files under ``folder``."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.rows = dict.fromkeys(TABLES, 0)
        self._writers = {
            name: pq.ParquetWriter(
                folder / f"{name}.parquet", schema, compression="zstd", use_dictionary=True
            )
            for name, schema in TABLES.items()
        }

    def add(self, pop: Population) -> None:
        for name, table in (
            ("enterprises", enterprise_table(pop)),
            ("facts", fact_table(pop)),
            ("electricity_monthly", electricity_table(pop)),
        ):
            self._writers[name].write_table(table, row_group_size=ROW_GROUP)
            self.rows[name] += table.num_rows

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def entries(self, out_dir: Path) -> list[dict[str, Any]]:
        """Manifest entries: table name, relative path, rows."""
        return [
            {
                "table": name,
                "path": (self.folder / f"{name}.parquet").relative_to(out_dir).as_posix(),
                "rows": self.rows[name],
            }
            for name in TABLES
        ]
