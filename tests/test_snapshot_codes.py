"""The snapshot's reduction of raw facts (``warehouse.snapshot._write_facts``) with the text
columns as codes: precedence, yearly sums and the monthly electricity come out as the text
says, each file ordered by its text — whatever order the text first appears in, and with
each bucket's own code table. Hand-made raw facts, no store: the figures below are computed
by hand from them."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from industry_brain.warehouse import snapshot

#: (enterprise_id, year, month, item, value, unit, source_dept) — text deliberately out of its
#: sorted order within each enterprise (``zeta_item`` before ``electricity``; ``electricity``
#: before ``alpha``), and the two buckets with different sets of text
RAW = [
    (1, 2025, 0, "zeta_item", 5.0, "万元", "statistics"),
    (1, 2025, 1, "electricity", 100.0, "千瓦时", "power_grid"),  # account A, January
    (1, 2025, 1, "electricity", 50.0, "千瓦时", "power_grid"),  # account B, January
    (1, 2025, 2, "electricity", 200.0, "千瓦时", "power_grid"),
    (1, 2025, 0, "electricity", 999.0, "千瓦时", "statistics"),  # loses to power_grid
    (1, 2025, 0, "tax_paid", 10.0, "万元", "statistics"),  # loses to tax
    (1, 2025, 0, "tax_paid", 12.0, "万元", "tax"),
    (2, 2025, 0, "output_value", 7.0, "万元", "statistics"),
    (3, 2025, 0, "electricity", 40.0, "千瓦时", "statistics"),  # its only department
    (3, 2025, 0, "alpha", 3.0, "人", "statistics"),
]


def _raw() -> pa.Table:
    columns = list(zip(*RAW, strict=True))
    return pa.table(
        {name: list(values) for name, values in zip(snapshot.RAW_COLUMNS, columns, strict=True)},
        schema=snapshot.RAW_SCHEMA,
    )


def _rows(path: Path) -> list[tuple]:
    table = pq.read_table(path)
    assert all(t in (pa.int64(), pa.float64(), pa.string()) for t in table.schema.types)
    return [tuple(r.values()) for r in table.to_pylist()]


@pytest.mark.parametrize("whole", [False, True], ids=["per-bucket", "one-table-for-all"])
def test_coded_reduction_gives_the_figures_in_text_order(tmp_path, monkeypatch, whole):
    """Two buckets of 2 ids (enterprise 1 in bucket 0; 2 and 3 in bucket 1). ``whole``: one
    table of every bucket's facts handed out for each bucket (a refresh on PostgreSQL), each
    bucket keeping its own rows only."""
    monkeypatch.setattr(snapshot, "BUCKET_FIRMS", 2)
    raw = _raw()
    ents = tmp_path / "enterprises.parquet"
    pq.write_table(
        pa.table({"enterprise_id": [1, 2, 3], "county_code": ["331003", "331003", None]}), ents
    )
    ids = raw["enterprise_id"].to_pylist()
    first = raw.filter(pa.array([i < 2 for i in ids]))
    second = raw.filter(pa.array([i >= 2 for i in ids]))
    parts = [(0, raw if whole else first, 2), (1, raw if whole else second, None)]
    out = tmp_path / "snap"
    out.mkdir()
    staging = tmp_path / "staging"
    staging.mkdir()

    rows, rewritten = snapshot._write_facts(iter(parts), ents, out, staging)

    # enterprise 1: electricity = power_grid's 100 + 50 + 200 (statistics' 999 loses),
    # tax_paid = tax's 12 (statistics' 10 loses), zeta_item (default order) 5; ordered by
    # item text: electricity < tax_paid < zeta_item
    assert _rows(out / "facts" / "2025-0000.parquet") == [
        (1, 2025, "electricity", 350.0, "千瓦时", "power_grid"),
        (1, 2025, "tax_paid", 12.0, "万元", "tax"),
        (1, 2025, "zeta_item", 5.0, "万元", "statistics"),
    ]
    # bucket 1's own text: alpha < electricity < output_value
    assert _rows(out / "facts" / "2025-0001.parquet") == [
        (2, 2025, "output_value", 7.0, "万元", "statistics"),
        (3, 2025, "alpha", 3.0, "人", "statistics"),
        (3, 2025, "electricity", 40.0, "千瓦时", "statistics"),
    ]
    # the chosen department's months, accounts summed: January 100 + 50, February 200;
    # enterprise 3's electricity is yearly only (month 0): no monthly rows
    assert _rows(out / "electricity_monthly" / "2025-0000.parquet") == [
        (1, 2025, 1, 150.0),
        (1, 2025, 2, 200.0),
    ]
    assert sorted(p.name for p in (out / "electricity_monthly").glob("*.parquet")) == [
        "2025-0000.parquet"
    ]
    assert rows == {"facts": 6, "electricity_monthly": 2} and rewritten is None


def test_no_raw_facts_give_each_table_its_columns(tmp_path):
    """No facts at all: each table is one empty file with its own columns and types."""
    ents = tmp_path / "enterprises.parquet"
    pq.write_table(pa.table({"enterprise_id": pa.array([], pa.int64()), "county_code": []}), ents)
    out = tmp_path / "snap"
    out.mkdir()
    staging = tmp_path / "staging"
    staging.mkdir()
    parts = [(0, snapshot.RAW_SCHEMA.empty_table(), None)]
    rows, _ = snapshot._write_facts(iter(parts), ents, out, staging)
    assert rows == {"facts": 0, "electricity_monthly": 0}
    facts = pq.read_schema(out / "facts" / "empty.parquet")
    assert list(zip(facts.names, facts.types, strict=True)) == [
        ("enterprise_id", pa.int64()),
        ("year", pa.int64()),
        ("item", pa.string()),
        ("value", pa.float64()),
        ("unit", pa.string()),
        ("source_dept", pa.string()),
    ]
    months = pq.read_schema(out / "electricity_monthly" / "empty.parquet")
    assert list(zip(months.names, months.types, strict=True)) == [
        ("enterprise_id", pa.int64()),
        ("year", pa.int64()),
        ("month", pa.int64()),
        ("value", pa.float64()),
    ]
