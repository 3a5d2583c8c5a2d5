"""Benchmarks and recognitions (标杆): 未来工厂, 智能工厂, 数字化车间, 灯塔工厂, 5G 全连接工厂,
上云标杆 and 绿色工厂 (with its star level) imported from official lists with lineage (file, sheet
and row of every entry under an import batch), counts by county against targets, and visits and
learning events held at benchmark factories.

List columns (Chinese or English headers): 统一社会信用代码/uscc, 类别/kind (a code or its
Chinese name; or one kind for the whole list), 年度/year, optional 企业名称/name, 等级/level
(国家级, 省级, 市级; a 绿色工厂's star level 1–5, e.g. 三星级), 发布单位/issuer. A row that cannot
be used is reported with its row number and the others are loaded; an entry already known (same
USCC, kind and year) is kept once. Files are read by the platform's safe reader.

Counts: the recognitions of each kind in a county up to a year (cumulative) against
``programmes.benchmarks.county_targets`` in force on 31 December of that year.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core.uscc import normalize as normalize_uscc
from industry_brain.domains.programmes.common import enterprise, err, read_rows
from industry_brain.domains.programmes.models import ProgrammeEvent, ProgrammeRecognition
from industry_brain.store import audit, codes
from industry_brain.store import facts as fact_store
from industry_brain.store.models import Enterprise, ImportBatch
from industry_brain.store.scope import Scope

KINDS: dict[str, tuple[str, str]] = {
    "future_factory": ("未来工厂", "future factory"),
    "smart_factory": ("智能工厂", "smart factory"),
    "digital_workshop": ("数字化车间", "digital workshop"),
    "lighthouse": ("灯塔工厂", "lighthouse factory"),
    "g5_factory": ("5G 全连接工厂", "5G fully-connected factory"),
    "cloud_benchmark": ("上云标杆", "cloud-adoption benchmark"),
    "green_factory": ("绿色工厂", "green factory"),
}
BY_NAME = {zh.replace(" ", ""): code for code, (zh, _) in KINDS.items()} | {
    "5G全连接工厂": "g5_factory",
    "企业上云标杆": "cloud_benchmark",
    "上云标杆企业": "cloud_benchmark",
    "灯塔": "lighthouse",
}
LEVELS = {"国家级": "national", "省级": "provincial", "市级": "city"}
HEADERS = {
    "uscc": ("统一社会信用代码", "uscc", "信用代码"),
    "name": ("企业名称", "name", "名称"),
    "kind": ("类别", "kind", "称号", "认定类别"),
    "year": ("年度", "year", "认定年度"),
    "level": ("等级", "level", "级别", "星级"),
    "issuer": ("发布单位", "issuer", "认定单位"),
}
EVENT_KINDS = ("visit", "learning")


def kind_code(value: Any) -> str | None:
    text = re.sub(r"\s+", "", str(value or ""))
    if text in KINDS:
        return text
    return BY_NAME.get(text)


def _level(kind: str, value: Any) -> str | None:
    text = re.sub(r"\s+", "", str(value or ""))
    if not text:
        return None
    if kind == "green_factory":
        digits = text.removesuffix("级").removesuffix("星")
        star = (
            "一二三四五".find(digits) + 1 if len(digits) == 1 and digits in "一二三四五" else None
        )
        if star is None and digits in ("1", "2", "3", "4", "5"):
            star = int(digits)
        if not star:
            raise ValueError(
                f"绿色工厂星级“{text}”无效（1–5 星）/ invalid star level '{text}' (1–5)"
            )
        return f"star{star}"
    if text in LEVELS:
        return LEVELS[text]
    if text in LEVELS.values():
        return text
    raise ValueError(f"等级“{text}”无效（国家级、省级、市级）/ invalid level '{text}'")


def import_list(
    session: Session, path: Path, actor: str = "cli", kind: str | None = None
) -> dict[str, Any]:
    """Import one recognition list (committed by the caller); see module doc."""
    if kind is not None and kind_code(kind) is None:
        raise err("kind", f"标杆类别“{kind}”无效", f"unknown benchmark kind '{kind}'", "kind", kind)
    required = ("uscc", "year") if kind else ("uscc", "kind", "year")
    sheet, rows = read_rows(path, HEADERS, required)
    batch = ImportBatch(
        kind="benchmark_list",
        department="economy",
        file_name=path.name,
        file_hash=hashlib.sha256(path.read_bytes()).hexdigest(),
        sheet=sheet,
        status="committed",
        rows_total=len(rows),
        options={"kind": kind},
        summary={},
    )
    session.add(batch)
    session.flush()
    problems: list[dict[str, Any]] = []
    loaded = known = 0
    for n, cells in rows:
        if all(v in (None, "") for v in cells.values()):
            continue
        try:
            uscc = normalize_uscc(str(cells.get("uscc") or ""))
            code = kind_code(kind) if kind else kind_code(cells.get("kind"))
            if code is None:
                raise ValueError(
                    f"标杆类别“{cells.get('kind')}”无效 / unknown kind '{cells.get('kind')}'"
                )
            year_text = str(cells.get("year") or "").strip()
            if not re.fullmatch(r"(19|20)\d\d(\.0)?", year_text):
                raise ValueError(f"年度“{year_text}”无效 / invalid year '{year_text}'")
            year = int(float(year_text))
            level = _level(code, cells.get("level"))
        except Exception as exc:  # a bad cell is a problem of its row, not of the file
            problems.append({"row": n, "message": str(exc).splitlines()[0]})
            continue
        dup = session.scalar(
            select(ProgrammeRecognition.id).where(
                ProgrammeRecognition.uscc == uscc,
                ProgrammeRecognition.kind == code,
                ProgrammeRecognition.year == year,
            )
        )
        if dup is not None:
            known += 1
            continue
        session.add(
            ProgrammeRecognition(
                enterprise_id=session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc)),
                uscc=uscc,
                name=(str(cells.get("name") or "").strip()[:200] or None),
                kind=code,
                level=level,
                year=year,
                issuer=(str(cells.get("issuer") or "").strip()[:100] or None),
                source_file=path.name,
                source_sheet=sheet,
                source_row=n,
                import_batch_id=batch.id,
                actor=actor,
            )
        )
        session.flush()
        loaded += 1
    batch.rows_loaded, batch.rows_rejected = loaded, len(problems)
    batch.status = "committed" if not problems else "partial"
    batch.summary = {
        **fact_store.NO_FACTS,
        "recognitions": loaded,
        "already_known": known,
        "problems": len(problems),
    }
    audit.record(
        session,
        actor,
        "programmes.recognitions",
        "import_batch",
        str(batch.id),
        {"file": path.name},
    )
    session.flush()
    return {
        "batch_id": batch.id,
        "recognitions": loaded,
        "already_known": known,
        "problems": problems,
    }


def counts(session: Session, scope: Scope, year: int) -> dict[str, Any]:
    """Recognitions of each kind by county up to ``year`` against the targets (see module doc)."""
    scope.require("programmes.view")
    if not 1900 <= year <= 2100:
        raise err("year", f"年度 {year} 无效", f"invalid year {year}", "year", year)
    params = parameters.load()
    on = date(year, 12, 31)
    rows = session.execute(
        select(
            Enterprise.county_code, ProgrammeRecognition.kind, func.count(ProgrammeRecognition.id)
        )
        .join(Enterprise, Enterprise.id == ProgrammeRecognition.enterprise_id)
        .where(ProgrammeRecognition.year <= year, scope.enterprise_clause())
        .group_by(Enterprise.county_code, ProgrammeRecognition.kind)
    ).all()
    got = {(c, k): int(n) for c, k, n in rows}
    counties = []
    used = {}
    for code, name in codes.jurisdiction_counties(session):
        if scope.role == "county_officer" and code != scope.county_code:
            continue
        targets = params.resolve("programmes.benchmarks.county_targets", code, on)
        used[f"{targets.key}@{targets.region or 'base'}"] = targets.to_dict()
        kinds = []
        for k in KINDS:
            target = int((targets.value or {}).get(k, 0) or 0)
            n = got.get((code, k), 0)
            kinds.append({"kind": k, "count": n, "target": target, "met": n >= target})
        counties.append({"county_code": code, "county": name, "kinds": kinds})
    return {
        "year": year,
        "counties": counties,
        "totals": {k: sum(got.get((c["county_code"], k), 0) for c in counties) for k in KINDS},
        "parameters": list(used.values()),
    }


def recognitions(session: Session, scope: Scope, limit: int = 200) -> list[dict[str, Any]]:
    """The newest recognitions in the caller's scope with their lineage."""
    scope.require("programmes.view")
    rows = session.execute(
        select(ProgrammeRecognition, Enterprise.name, Enterprise.county_code)
        .join(Enterprise, Enterprise.id == ProgrammeRecognition.enterprise_id)
        .where(scope.enterprise_clause())
        .order_by(ProgrammeRecognition.year.desc(), ProgrammeRecognition.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "uscc": r.uscc,
            "name": name or r.name,
            "county_code": county,
            "kind": r.kind,
            "level": r.level,
            "year": r.year,
            "issuer": r.issuer,
            "source": {
                "file": r.source_file,
                "sheet": r.source_sheet,
                "row": r.source_row,
                "batch": r.import_batch_id,
            },
        }
        for r, name, county in rows
    ]


def add_visit(
    session: Session,
    host_uscc: str,
    held_on: date,
    title: str,
    visitors: int,
    kind: str = "visit",
    actor: str = "cli",
    clause: Any = None,
) -> ProgrammeEvent:
    """A visit to (or a learning event at) a benchmark factory: the host must hold a recognition
    of a year not after the event's (and be within ``clause``, the caller's scope, when given)."""
    if not title.strip():
        raise err("visit_title", "请填写活动名称", "the event needs a title", "title")
    if kind not in EVENT_KINDS:
        raise err(
            "event_kind", f"活动类型“{kind}”无效", f"unknown event kind '{kind}'", "kind", kind
        )
    if int(visitors) < 0:
        raise err("visitors", "参观人数不能为负", "visitors cannot be negative", "visitors")
    host = enterprise(session, host_uscc, clause)
    held = session.scalar(
        select(func.count(ProgrammeRecognition.id)).where(
            ProgrammeRecognition.enterprise_id == host.id, ProgrammeRecognition.year <= held_on.year
        )
    )
    if not held:
        raise err(
            "not_benchmark",
            f"{host.name} 在 {held_on.year} 年前没有标杆认定",
            f"{host.uscc} holds no benchmark recognition by {held_on.year}",
            "host",
            host.uscc,
        )
    ev = ProgrammeEvent(
        kind=kind,
        held_on=held_on,
        theme=title.strip()[:200],
        industry_code=(host.industry_code or "")[:2] or None,
        county_code=host.county_code,
        host_enterprise_id=host.id,
        visitors=int(visitors),
        created_by=actor,
    )
    session.add(ev)
    session.flush()
    audit.record(session, actor, "programmes.visit", "programme_event", str(ev.id), {"kind": kind})
    return ev


def visits(session: Session, scope: Scope, limit: int = 100) -> list[dict[str, Any]]:
    """Visits and learning events at benchmark factories (hosts in the caller's scope)."""
    scope.require("programmes.view")
    rows = session.execute(
        select(ProgrammeEvent, Enterprise.name)
        .join(Enterprise, Enterprise.id == ProgrammeEvent.host_enterprise_id)
        .where(ProgrammeEvent.kind.in_(EVENT_KINDS), scope.enterprise_clause())
        .order_by(ProgrammeEvent.held_on.desc(), ProgrammeEvent.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": e.id,
            "kind": e.kind,
            "held_on": e.held_on.isoformat(),
            "title": e.theme,
            "host": name,
            "county_code": e.county_code,
            "visitors": e.visitors,
        }
        for e, name in rows
    ]
