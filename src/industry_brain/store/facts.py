"""Reading facts: current values, department precedence, and lineage (数据血缘).

A fact is *current* when nothing supersedes it. When several departments report the same
item for the same enterprise and period, the configured precedence
(``ingest.precedence``) decides which value is used; the others stay stored and are shown
in explanations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.store.db import read_frame
from industry_brain.store.models import Fact, ImportBatch

# Short names accepted by ``facts explain --item`` (the store's item codes also work).
ITEM_ALIASES: dict[str, str] = {
    "tax": "tax_paid",
    "va": "value_added",
    "output": "output_value",
    "land": "land_area",
    "energy": "energy_total",
    "staff": "employees",
    "rd": "rd_expense",
    "power": "electricity",
}


def current_values(
    session: Session,
    items: Sequence[str],
    years: Sequence[int],
    source_dept: str | None = None,
) -> pd.DataFrame:
    """Current (not superseded) facts of ``items`` in ``years`` as a frame."""
    cols = [
        Fact.id,
        Fact.enterprise_id,
        Fact.year,
        Fact.month,
        Fact.item,
        Fact.detail,
        Fact.value,
        Fact.source_dept,
    ]
    if not items or not years:
        return pd.DataFrame(columns=[c.key for c in cols])
    stmt = select(*cols).where(
        Fact.item.in_(list(items)),
        Fact.year.in_([int(y) for y in years]),
        Fact.superseded_by.is_(None),
    )
    if source_dept:
        stmt = stmt.where(Fact.source_dept == source_dept)
    return read_frame(session, stmt, [c.key for c in cols])


def precedence_table(region: str | None = None, on: date | None = None) -> dict[str, list[str]]:
    """``ingest.precedence`` in force for ``region`` on ``on``: item → departments, best first,
    with ``default`` for the other items (resolve once, look up many items)."""
    return parameters.load().get("ingest.precedence", region=region, on=on)


def precedence(item: str, region: str | None = None, on: date | None = None) -> list[str]:
    table = precedence_table(region, on)
    return list(table.get(item) or table["default"])


@dataclass
class FactLine:
    """One stored figure with its lineage."""

    id: int
    value: float | None
    unit: str
    month: int
    detail: str
    source_dept: str
    batch_id: int
    batch_kind: str
    batch_status: str
    imported_at: str
    file: str
    sheet: str | None
    row: int | None
    column: str | None
    raw_value: str | None
    superseded_by: int | None
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def explain(session: Session, uscc: str, year: int, item: str) -> dict[str, Any]:
    """Value, unit and lineage (batch, file, sheet, row) of an item, with superseded history.

    The ``value`` is the sum of the current figures of the preferred department (several
    figures arise with power accounts, parcels or tax types); ``history`` lists every stored
    figure including superseded and losing-department ones.
    """
    item = ITEM_ALIASES.get(item, item)
    from industry_brain.store.enterprises import get_by_uscc  # enterprises imports this module

    ent = get_by_uscc(session, uscc)
    rows = session.execute(
        select(Fact, ImportBatch)
        .join(ImportBatch, and_(ImportBatch.id == Fact.batch_id))
        .where(Fact.enterprise_id == ent.id, Fact.year == year, Fact.item == item)
        .order_by(Fact.source_dept, Fact.month, Fact.detail, Fact.id)
    ).all()
    lines = [
        FactLine(
            id=f.id,
            value=f.value,
            unit=f.unit,
            month=f.month,
            detail=f.detail,
            source_dept=f.source_dept,
            batch_id=b.id,
            batch_kind=b.kind,
            batch_status=b.status,
            imported_at=b.created_at.isoformat() if b.created_at else "",
            file=b.file_name,
            sheet=f.sheet,
            row=f.row,
            column=f.column,
            raw_value=f.raw_value,
            superseded_by=f.superseded_by,
            reason=f.reason,
        )
        for f, b in rows
    ]
    current = [ln for ln in lines if ln.superseded_by is None]
    order = precedence(item, ent.county_code, date(year, 1, 1))
    depts = sorted(
        {ln.source_dept for ln in current},
        key=lambda d: (d not in order, order.index(d) if d in order else 0, d),
    )
    chosen = depts[0] if depts else None
    used = [ln for ln in current if ln.source_dept == chosen]
    value = sum(ln.value for ln in used if ln.value is not None) if used else None
    return {
        "uscc": ent.uscc,
        "name": ent.name,
        "year": year,
        "item": item,
        "value": value,
        "unit": used[0].unit if used else None,
        "source_dept": chosen,
        "precedence": order,
        "used": [ln.to_dict() for ln in used],
        "history": [ln.to_dict() for ln in lines],
    }
