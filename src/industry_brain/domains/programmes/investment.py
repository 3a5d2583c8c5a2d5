"""Investment structure (重硬轻软): the planned investment of a 百千万 / technical-upgrade project
split into hardware, software and services (万元), kept per project id in this service's own
table (the projects service's ``projects`` is not altered), set one by one or imported from a
list (项目代码/project_code, 硬件投资/hardware, 软件投资/software, 服务投资/services, 万元).

Figures: per project type, the number of projects with a split and the average hardware,
software, services and total per project (sum ÷ projects); by county and year, the sums and the
shares of each part in the total (part ÷ total). A project's year is the year of its signing
(actual, else planned); without either it is left out of the by-year figures.

**The split rule.** Each part is ≥ 0, and the three parts together may not exceed the project's
planned investment (by more than ``SUM_TOLERANCE_WAN``, the rounding of three amounts to 0.1
万元). They may sum to less: a technical-upgrade budget also holds buildings, land and working
capital, which are none of the three. A project without a planned investment has no upper bound.
A split is entered by an officer for a project of its scope or by an enterprise for its own
project (``Scope.project_clause``); a web import is all or nothing (a list with any bad row
changes nothing and names the sheet, row and column of every problem).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core.errors import IBError, Location, NotFoundError
from industry_brain.domains.programmes.common import ProgrammesError, err, read_rows
from industry_brain.domains.programmes.models import ProgrammeInvestment
from industry_brain.store import audit, scoped
from industry_brain.store import facts as fact_store
from industry_brain.store.models import ImportBatch, Project
from industry_brain.store.scope import Scope

PARTS = ("hardware", "software", "services")
SUM_TOLERANCE_WAN = 0.5
HEADERS = {
    "project_code": ("项目代码", "project_code", "项目编号"),
    "hardware": ("硬件投资", "hardware", "硬件"),
    "software": ("软件投资", "software", "软件"),
    "services": ("服务投资", "services", "服务"),
}


def _number(value: Any, field: str) -> float:
    try:
        x = float(str(value).replace(",", "").strip())
    except ValueError:
        raise ValueError(f"{field}“{value}”不是数字 / '{value}' is not a number") from None
    if x < 0:
        raise ValueError(f"{field}不能为负 / {field} cannot be negative")
    return x


def set_split(
    session: Session,
    project_code: str,
    hardware: float,
    software: float,
    services: float,
    actor: str = "cli",
    source: tuple[str, int, int] | None = None,
    scope: Scope | None = None,
) -> ProgrammeInvestment:
    """Set (or replace) the split of one project (amounts ≥ 0 in 万元, summing to at most the
    planned investment; see module doc); with ``scope``, only a project the caller may read
    (another one is not found)."""
    stmt = select(Project).where(Project.code == project_code.strip())
    if scope is not None:
        stmt = stmt.where(scope.project_clause())
    project = session.scalars(stmt).first()
    if project is None:
        raise NotFoundError(
            "programmes.project",
            f"没有项目 {project_code}",
            f"no project {project_code}",
            Location(field="project"),
            project_code,
        )
    values = {}
    for part, v in zip(PARTS, (hardware, software, services), strict=True):
        if v is None or float(v) < 0:
            raise err(
                "split", "投资拆分金额不能为负（万元）", "split amounts cannot be negative", part, v
            )
        values[part] = float(v)
    total = sum(values.values())
    planned = project.planned_investment
    if planned and planned > 0 and total > planned + SUM_TOLERANCE_WAN:
        raise err(
            "split_sum",
            f"三项合计 {total:g} 万元超过计划投资 {planned:g} 万元",
            f"the three parts ({total:g} 万元) exceed the planned investment ({planned:g} 万元)",
            "services",
            total,
        )
    row = session.scalars(
        select(ProgrammeInvestment).where(ProgrammeInvestment.project_id == project.id)
    ).first()
    if row is None:
        row = ProgrammeInvestment(project_id=project.id, actor=actor)
        session.add(row)
    row.hardware_wan = values["hardware"]
    row.software_wan = values["software"]
    row.services_wan = values["services"]
    row.actor = actor
    if source:
        row.source_file, row.source_row, row.import_batch_id = source
    session.flush()
    audit.record(
        session,
        actor,
        "programmes.investment",
        "project",
        project.code,
        values,
        user_id=scope.user_id if scope is not None else None,
    )
    return row


def import_list(
    session: Session,
    path: Path,
    actor: str = "cli",
    scope: Scope | None = None,
    atomic: bool = False,
) -> dict[str, Any]:
    """Import a list of splits (committed by the caller); bad rows are reported with their sheet,
    row and column. ``atomic``: any problem loads nothing (the caller rolls back; ``splits`` is
    then 0). ``scope``: only the caller's projects (another is "no project")."""
    sheet, rows = read_rows(path, HEADERS, ("project_code", *PARTS))
    batch = ImportBatch(
        kind="investment_split",
        department="economy",
        file_name=path.name,
        file_hash=hashlib.sha256(path.read_bytes()).hexdigest(),
        sheet=sheet,
        status="committed",
        rows_total=len(rows),
        options={},
        summary={},
    )
    session.add(batch)
    session.flush()
    problems, loaded = [], 0
    for n, cells in rows:
        if all(v in (None, "") for v in cells.values()):
            continue
        column = None
        try:
            parts = []
            for p in PARTS:
                column = p
                parts.append(_number(cells.get(p), p))
            column = "project_code"
            code = str(cells.get("project_code") or "")
            set_split(
                session,
                code,
                *parts,
                actor=actor,
                source=(path.name, n, batch.id),
                scope=scope,
            )
        except (ValueError, NotFoundError, ProgrammesError) as exc:
            if isinstance(exc, ProgrammesError) and exc.code == "programmes.split_sum":
                column = "split"
            if isinstance(exc, IBError):
                zh, en = exc.zh, exc.en
            else:
                zh, _, en = str(exc).partition(" / ")
            problems.append(
                {
                    "sheet": sheet,
                    "row": n,
                    "column": column,
                    "message": str(exc).splitlines()[0],
                    "zh": zh,
                    "en": en or zh,
                }
            )
            continue
        loaded += 1
    if atomic and problems:
        return {"batch_id": None, "splits": 0, "problems": problems, "sheet": sheet}
    batch.rows_loaded, batch.rows_rejected = loaded, len(problems)
    batch.status = "committed" if not problems else "partial"
    batch.summary = {**fact_store.NO_FACTS, "splits": loaded, "problems": len(problems)}
    session.flush()
    return {"batch_id": batch.id, "splits": loaded, "problems": problems, "sheet": sheet}


def projects(session: Session, scope: Scope, limit: int = 50) -> list[dict[str, Any]]:
    """The caller's projects (scoped) with their planned investment and split, for the form."""
    rows = session.execute(
        select(Project, ProgrammeInvestment)
        .outerjoin(ProgrammeInvestment, ProgrammeInvestment.project_id == Project.id)
        .where(scope.project_clause())
        .order_by(Project.code)
        .limit(limit)
    ).all()
    return [
        {
            "code": p.code,
            "name": p.name,
            "type": p.project_type,
            "planned": p.planned_investment,
            "hardware": inv.hardware_wan if inv else None,
            "software": inv.software_wan if inv else None,
            "services": inv.services_wan if inv else None,
        }
        for p, inv in rows
    ]


def _year(p: Project) -> int | None:
    d = p.actual_signed or p.planned_signed
    return d.year if d else None


def structure(session: Session, scope: Scope, year: int | None = None) -> dict[str, Any]:
    """Averages per project type and sums and shares by county and year (see module doc)."""
    scope.require("programmes.view")
    rows = session.execute(
        select(ProgrammeInvestment, Project)
        .join(Project, Project.id == ProgrammeInvestment.project_id)
        .where(scope.project_clause())
    ).all()
    items = [
        {
            "type": p.project_type,
            "county_code": p.county_code,
            "year": _year(p),
            "hardware": inv.hardware_wan,
            "software": inv.software_wan,
            "services": inv.services_wan,
            "planned": p.planned_investment,
        }
        for inv, p in rows
    ]
    if year is not None:
        items = [i for i in items if i["year"] == year]
    names = scoped.region_names(session, (i["county_code"] for i in items))

    def sums(group: list[dict[str, Any]]) -> dict[str, Any]:
        s = {part: sum(i[part] for i in group) for part in PARTS}
        total = sum(s.values())
        return {
            "projects": len(group),
            **{part: round(s[part], 2) for part in PARTS},
            "total": round(total, 2),
            **{f"{part}_share": (round(s[part] / total, 4) if total else None) for part in PARTS},
        }

    by_type = []
    for t in sorted({i["type"] for i in items}):
        g = [i for i in items if i["type"] == t]
        s = sums(g)
        by_type.append(
            {
                "type": t,
                "projects": len(g),
                **{f"avg_{part}": round(s[part] / len(g), 2) for part in PARTS},
                "avg_total": round(s["total"] / len(g), 2),
                **{f"{part}_share": s[f"{part}_share"] for part in PARTS},
            }
        )
    keys = sorted({(i["county_code"], i["year"]) for i in items if i["year"] is not None})
    by_county_year = [
        {
            "county_code": c,
            "county": names.get(c, c),
            "year": y,
            **sums([i for i in items if i["county_code"] == c and i["year"] == y]),
        }
        for c, y in keys
    ]
    return {
        "year": year,
        "overall": sums(items),
        "by_type": by_type,
        "by_county_year": by_county_year,
    }
