"""加减分与一票否决 records: bonus (高新技术企业…), penalty (环保/安全处罚…) and veto items.

The points of each code are parameters (``mujun.adjustments.items``, per county and year); a
record only says that the item applies to an enterprise in a data year, with its source (the
certifying department or penalty decision number). Every write is audited.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core import uscc as uscc_mod
from industry_brain.core.errors import Location
from industry_brain.domains.mujun.models import MujunAdjustment
from industry_brain.domains.mujun.rules import MujunError, parameter_date
from industry_brain.domains.mujun.service import enterprise_by_uscc
from industry_brain.store import audit
from industry_brain.store.db import chunks
from industry_brain.store.models import Enterprise

#: Column aliases of an adjustment file (CSV or XLSX).
FILE_COLUMNS = {
    "uscc": ("统一社会信用代码", "信用代码", "uscc"),
    "year": ("年度", "数据年度", "year"),
    "code": ("项目代码", "项目", "code"),
    "note": ("说明", "备注", "note"),
    "source": ("来源", "文号", "source"),
}


def known_codes(county: str | None, year: int) -> dict[str, dict[str, Any]]:
    return parameters.load().get("mujun.adjustments.items", region=county, on=parameter_date(year))


def _check_code(code: str, county: str | None, year: int) -> None:
    codes = known_codes(county, year)
    if code not in codes:
        raise MujunError(
            "mujun.adjustment_code",
            f"未知的加减分项目“{code}”（可用：{'、'.join(codes)}）",
            f"unknown adjustment item '{code}' (known: {', '.join(codes)})",
            Location(field="code"),
            code,
        )


def add(
    session: Session,
    uscc: str,
    year: int,
    code: str,
    actor: str,
    note: str | None = None,
    source: str | None = None,
) -> MujunAdjustment:
    """Record that adjustment ``code`` applies to ``uscc`` in data ``year``."""
    ent = enterprise_by_uscc(session, uscc_mod.normalize(uscc))
    _check_code(code, ent.county_code, year)
    adj = MujunAdjustment(
        enterprise_id=ent.id, year=year, code=code, note=note, source=source, recorded_by=actor
    )
    session.add(adj)
    session.flush()
    audit.record(
        session,
        actor,
        "mujun.adjustment.add",
        "mujun_adjustment",
        str(adj.id),
        {"uscc": ent.uscc, "year": year, "code": code, "source": source},
    )
    return adj


def revoke(session: Session, adjustment_id: int, actor: str, reason: str) -> MujunAdjustment:
    adj = session.get(MujunAdjustment, adjustment_id)
    if adj is None or adj.revoked_at is not None:
        raise MujunError(
            "mujun.adjustment_not_found",
            f"没有有效的加减分记录 #{adjustment_id}",
            f"no active adjustment #{adjustment_id}",
            Location(field="id"),
            adjustment_id,
        )
    adj.revoked_at = datetime.now(UTC)
    audit.record(
        session,
        actor,
        "mujun.adjustment.revoke",
        "mujun_adjustment",
        str(adj.id),
        {"reason": reason},
    )
    return adj


def listing(session: Session, year: int, county: str | None = None) -> list[dict[str, Any]]:
    stmt = (
        select(MujunAdjustment, Enterprise)
        .join(Enterprise, Enterprise.id == MujunAdjustment.enterprise_id)
        .where(MujunAdjustment.year == year, MujunAdjustment.revoked_at.is_(None))
        .order_by(MujunAdjustment.id)
    )
    if county:
        stmt = stmt.where(Enterprise.county_code == county)
    return [
        {
            "id": a.id,
            "uscc": e.uscc,
            "name": e.name,
            "county_code": e.county_code,
            "year": a.year,
            "code": a.code,
            "note": a.note,
            "source": a.source,
            "recorded_by": a.recorded_by,
        }
        for a, e in session.execute(stmt).all()
    ]


def _read(path: Path) -> pd.DataFrame:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return pd.read_excel(path, dtype=str, engine="calamine")
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise MujunError(
            "mujun.file_encoding",
            "无法识别文件编码（应为 UTF-8 或 GB18030）",
            "cannot decode the file (UTF-8 or GB18030 expected)",
            Location(file=path.name),
        )
    from io import StringIO

    return pd.read_csv(StringIO(text), dtype=str)


def import_file(session: Session, path: Path, actor: str) -> dict[str, Any]:
    """Load adjustment records from a CSV/XLSX file (columns 统一社会信用代码, 年度, 项目代码,
    说明, 来源); the whole file is rejected when any row is wrong."""
    frame = _read(path)
    rename = {}
    for key, aliases in FILE_COLUMNS.items():
        for col in frame.columns:
            if str(col).strip() in aliases:
                rename[col] = key
    frame = frame.rename(columns=rename)
    missing = [c for c in ("uscc", "year", "code") if c not in frame.columns]
    if missing:
        raise MujunError(
            "mujun.file_columns",
            f"文件缺少列：{missing}（需要 统一社会信用代码、年度、项目代码）",
            f"file lacks columns {missing} (uscc, year, code required)",
            Location(file=path.name),
        )
    problems: list[dict[str, Any]] = []
    usccs = []
    for i, raw in enumerate(frame["uscc"].fillna(""), start=2):
        try:
            usccs.append(uscc_mod.normalize(raw, Location(file=path.name, row=i, column="uscc")))
        except Exception as exc:
            usccs.append(None)
            problems.append({"row": i, "column": "uscc", "message": str(exc)})
    frame["uscc"] = usccs
    frame["year"] = pd.to_numeric(frame["year"], errors="coerce")
    ents: dict[str, int] = {}
    counties: dict[int, str | None] = {}
    for part in chunks(sorted({u for u in usccs if u})):  # a file may list a province
        for uscc, eid, county in session.execute(
            select(Enterprise.uscc, Enterprise.id, Enterprise.county_code).where(
                Enterprise.uscc.in_(part)
            )
        ):
            ents[uscc], counties[eid] = eid, county
    frame["enterprise_id"] = frame["uscc"].map(ents)
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        if row.uscc and pd.isna(row.enterprise_id):
            problems.append({"row": i, "column": "uscc", "message": f"unknown USCC {row.uscc}"})
        if pd.isna(row.year):
            problems.append({"row": i, "column": "year", "message": "year is not a number"})
            continue
        if not pd.isna(row.enterprise_id):
            county = counties.get(int(row.enterprise_id))
            if row.code not in known_codes(county, int(row.year)):
                problems.append({"row": i, "column": "code", "message": f"unknown {row.code}"})
    if problems:
        raise MujunError(
            "mujun.file_rows",
            f"文件有 {len(problems)} 处错误，未导入：{problems[:5]}",
            f"{len(problems)} problems, nothing imported: {problems[:5]}",
            Location(file=path.name, row=problems[0]["row"], column=problems[0]["column"]),
        )
    records = [
        {
            "enterprise_id": int(r.enterprise_id),
            "year": int(r.year),
            "code": str(r.code),
            "note": None if pd.isna(getattr(r, "note", None)) else str(r.note),
            "source": None if pd.isna(getattr(r, "source", None)) else str(r.source),
            "recorded_by": actor,
        }
        for r in frame.reindex(
            columns=["enterprise_id", "year", "code", "note", "source"]
        ).itertuples(index=False)
    ]
    if records:
        session.execute(insert(MujunAdjustment), records)
    audit.record(
        session,
        actor,
        "mujun.adjustment.import",
        "mujun_adjustment",
        None,
        {"file": path.name, "rows": len(records)},
    )
    return {"file": path.name, "imported": len(records)}
