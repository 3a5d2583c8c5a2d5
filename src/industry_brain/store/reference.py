"""Reference data: GB/T 2260 regions with their history, 统计用区划 units and towns, GB/T 4754
industries (2017, and 2011 for old files), roles — loaded by ``db upgrade`` and refreshable.

The tables ship as the public files in ``reference_data/`` (provenance in its README). Loading
is additive: a file already loaded (same SHA-256) is skipped; a newer edition adds the codes it
introduces and gives end years to the incarnations it closes, never rewriting a closed one
(:func:`load_region_history`). The ``regions`` table holds one row per code (its latest
incarnation) for joins and lookups; ``region_history`` keeps every dated incarnation.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from industry_brain.core.errors import Location, ValidationError

ROLES: list[tuple[str, str, str]] = [
    ("admin", "系统管理员", "manages users, parameters and imports; searches the audit log"),
    ("city_officer", "市级经信干部", "sees every enterprise of the city"),
    ("county_officer", "区县经信干部", "sees enterprises of the officer's own county"),
    ("agent", "服务专员", "sees enterprises and projects assigned to the agent"),
    ("enterprise", "企业用户", "sees the enterprise's own record (own USCC)"),
    ("bank", "合作银行", "sees only data an enterprise consented to, via API token"),
    ("assessor", "诊断评估师", "a diagnosis provider's assessor: sees enterprises assigned to it"),
]

# Lightweight table descriptions (not the ORM models) so that migrations stay valid when the
# models grow later.
_regions = sa.table(
    "regions",
    sa.column("code"),
    sa.column("name"),
    sa.column("level"),
    sa.column("parent_code"),
    sa.column("valid_from"),
    sa.column("valid_to"),
    sa.column("source"),
)
_history = sa.table(
    "region_history",
    sa.column("id"),
    sa.column("code"),
    sa.column("name"),
    sa.column("level"),
    sa.column("province"),
    sa.column("prefecture"),
    sa.column("valid_from"),
    sa.column("valid_to"),
    sa.column("successors"),
    sa.column("transfers"),
    sa.column("edition"),
)
_industries = sa.table(
    "industries",
    sa.column("code"),
    sa.column("name"),
    sa.column("level"),
    sa.column("parent_code"),
    sa.column("standard"),
)
_industries_2011 = sa.table(
    "industries_2011", sa.column("code"), sa.column("name"), sa.column("level"),
    sa.column("parent_code"),
)  # fmt: skip
_editions = sa.table(
    "reference_editions",
    sa.column("table_name"),
    sa.column("edition"),
    sa.column("source"),
    sa.column("sha256"),
    sa.column("rows"),
    sa.column("added"),
    sa.column("ended"),
)

STANDARD_2017 = "GB/T 4754-2017"
WITHDRAWN = "not in GB/T 4754-2017"
LEVELS_2260 = {"省级": "province", "地级": "city", "县级": "county"}
LEVEL_ORDER = {"province": 0, "city": 1, "county": 2, "town": 3}


@dataclass(frozen=True)
class PackagedFile:
    """A reference file shipped in ``reference_data/``."""

    table: str  # region_history | nbs_units | industries | industries_2011
    file: str
    edition: str
    source: str


PACKAGED: tuple[PackagedFile, ...] = (
    PackagedFile(
        "region_history",
        "gbt2260_history_1981_2024.csv",
        "GB/T 2260 1981-2024",
        "github yescallop/areacodes result.csv @ eed219a (Ministry of Civil Affairs, CC0-1.0)",
    ),
    PackagedFile(
        "nbs_units",
        "nbs_statistical_divisions_towns.csv.gz",
        "统计用区划代码 2022/2023",
        "github modood/Administrative-divisions-of-China dist/*.csv @ 57a0aa9 (NBS, WTFPL)",
    ),
    PackagedFile(
        "industries",
        "gbt4754_2017.csv",
        STANDARD_2017,
        "github ramwin/china-public-data 国民经济行业分类_2017.json @ e13a003, cross-checked",
    ),
    PackagedFile(
        "industries_2011",
        "gbt4754_2011.csv",
        "GB/T 4754-2011",
        "github ramwin/china-public-data 国民经济行业分类/国民经济行业分类_2011.json @ 2bfa111",
    ),
)


@dataclass
class LoadReport:
    """What one reference file changed in the store."""

    table: str
    edition: str
    rows: int
    added: int = 0
    ended: int = 0
    skipped: bool = False
    conflicts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "edition": self.edition,
            "rows": self.rows,
            "added": self.added,
            "ended": self.ended,
            "skipped": self.skipped,
            "conflicts": self.conflicts,
        }


def bulk_insert(conn: Connection, table: sa.TableClause, rows: list[dict[str, Any]]) -> None:
    """Insert many rows at the driver's speed: COPY on PostgreSQL, ``executemany`` on SQLite
    (SQLAlchemy's per-row parameter processing costs seconds for the 41,352 towns)."""
    if not rows:
        return
    cols = list(rows[0])
    data = [tuple(r[c] for c in cols) for r in rows]
    raw = conn.connection.dbapi_connection
    assert raw is not None
    if conn.dialect.name == "postgresql":
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy,
        ):
            for row in data:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in cols)
    cur = raw.cursor()
    try:
        cur.executemany(f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({marks})", data)
    finally:
        cur.close()


def packaged_bytes(name: str) -> bytes:
    return resources.files("industry_brain.store").joinpath("reference_data", name).read_bytes()


def read_csv_rows(data: bytes, name: str) -> list[dict[str, str]]:
    """Rows of a reference CSV (UTF-8, optional BOM, optionally gzip-compressed)."""
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    header = next(reader, [])
    return [dict(zip(header, row, strict=False)) for row in reader if row]


def _ref_error(file: str, row: int | None, zh: str, en: str) -> ValidationError:
    return ValidationError("reference.bad_file", zh, en, Location(file=file, row=row))


# -- GB/T 2260 history ---------------------------------------------------------------------------
def parse_history(rows: list[dict[str, str]], file: str) -> list[dict[str, Any]]:
    """Rows of the GB/T 2260 history file (代码, 名称, 级别, 启用时间, 变更/弃用时间, 新代码…)."""
    need = ("代码", "名称", "级别", "启用时间", "变更/弃用时间", "新代码")
    if rows and any(k not in rows[0] for k in need):
        raise _ref_error(
            file, 1, f"缺少列：{'、'.join(need)}", f"missing columns: {', '.join(need)}"
        )
    out = []
    for i, r in enumerate(rows, start=2):
        code, level = r["代码"].strip(), LEVELS_2260.get(r["级别"].strip())
        if len(code) != 6 or not code.isdigit() or level is None:
            raise _ref_error(file, i, "代码或级别无效", "invalid code or level")
        try:
            start = int(r["启用时间"])
            end = int(r["变更/弃用时间"]) if r["变更/弃用时间"].strip() else None
        except ValueError:
            raise _ref_error(file, i, "年份无效", "invalid year") from None
        successors, transfers = [], []
        for part in filter(None, (p.strip() for p in r["新代码"].split(";"))):
            (transfers if "[" in part else successors).append(part)
        out.append(
            {
                "code": code,
                "name": r["名称"].strip(),
                "level": level,
                "province": (r.get("一级行政区") or "").strip() or None,
                "prefecture": (r.get("二级行政区") or "").strip() or None,
                "valid_from": start,
                "valid_to": end,
                # a code "changed" to itself (a rename) has no successor but itself
                "successors": ";".join(successors) or None,
                "transfers": ";".join(transfers) or None,
            }
        )
    return out


def load_region_history(conn: Connection, rows: list[dict[str, Any]], edition: str) -> LoadReport:
    """Add a GB/T 2260 edition: new incarnations are inserted, open ones that the edition closes
    get their end year and successors; closed incarnations are never rewritten (a disagreement
    is reported as a conflict). Then ``regions`` is refreshed from the history."""
    report = LoadReport("region_history", edition, len(rows))
    existing = {
        (r.code, r.valid_from): r
        for r in conn.execute(
            select(
                _history.c.id, _history.c.code, _history.c.valid_from, _history.c.valid_to,
                _history.c.successors,
            )
        )
    }  # fmt: skip
    new, ends = [], []
    for r in rows:
        old = existing.get((r["code"], r["valid_from"]))
        if old is None:
            new.append({**r, "edition": edition})
        elif old.valid_to is None and r["valid_to"] is not None:
            ends.append(
                {
                    "b_id": old.id,
                    "b_to": r["valid_to"],
                    "b_succ": r["successors"],
                    "b_tr": r["transfers"],
                }
            )
        elif old.valid_to is not None and old.valid_to != r["valid_to"]:
            report.conflicts.append(
                f"{r['code']} {r['name']} {r['valid_from']}: stored end {old.valid_to}, "
                f"file says {r['valid_to'] or 'in use'} (kept)"
            )
    bulk_insert(conn, _history, new)
    if ends:
        conn.execute(
            sa.update(_history)
            .where(_history.c.id == sa.bindparam("b_id"))
            .values(
                valid_to=sa.bindparam("b_to"),
                successors=sa.bindparam("b_succ"),
                transfers=sa.bindparam("b_tr"),
            ),
            ends,
        )
    report.added, report.ended = len(new), len(ends)
    _refresh_regions_from_history(conn)
    return report


def _refresh_regions_from_history(conn: Connection) -> None:
    """One ``regions`` row per GB/T 2260 code: its latest incarnation, with a structural parent
    (a county's prefecture when that code is a city, else its province)."""
    latest: dict[str, Any] = {}
    for r in conn.execute(
        select(
            _history.c.code, _history.c.name, _history.c.level, _history.c.valid_from,
            _history.c.valid_to,
        ).order_by(_history.c.code, _history.c.valid_from)
    ):  # fmt: skip
        latest[r.code] = r
    cities = {c for c, r in latest.items() if r.level == "city"}

    def parent(code: str, level: str) -> str | None:
        if level == "province":
            return None
        if level == "county" and code[:4] + "00" in cities:
            return code[:4] + "00"
        province = code[:2] + "0000"
        return province if province in latest else None

    rows = [
        {
            "code": code,
            "name": r.name,
            "level": r.level,
            "parent_code": parent(code, r.level),
            "valid_from": date(r.valid_from, 1, 1),
            "valid_to": date(r.valid_to, 1, 1) if r.valid_to else None,
            "source": "gbt2260",
        }
        for code, r in latest.items()
    ]
    _upsert_regions(conn, rows)


def _upsert_regions(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert new codes and update changed ones, parents before children; returns inserts."""
    stored = {
        r.code: r
        for r in conn.execute(
            select(
                _regions.c.code, _regions.c.name, _regions.c.level, _regions.c.parent_code,
                _regions.c.valid_from, _regions.c.valid_to, _regions.c.source,
            )
        ).all()
    }  # fmt: skip
    keys = ("name", "level", "parent_code", "valid_from", "valid_to", "source")
    rows = sorted(rows, key=lambda r: (LEVEL_ORDER[r["level"]], r["code"]))
    inserts = [r for r in rows if r["code"] not in stored]
    updates = [
        {"b_" + k: v for k, v in r.items()}
        for r in rows
        if r["code"] in stored and any(getattr(stored[r["code"]], k) != r[k] for k in keys)
    ]
    for level in ("province", "city", "county", "town"):
        bulk_insert(conn, _regions, [r for r in inserts if r["level"] == level])
    if updates:
        conn.execute(
            sa.update(_regions)
            .where(_regions.c.code == sa.bindparam("b_code"))
            .values({k: sa.bindparam("b_" + k) for k in keys}),
            updates,
        )
    return len(inserts)


# -- 统计用区划代码: statistics-only county units and towns ---------------------------------
def load_nbs_units(conn: Connection, rows: list[dict[str, str]], edition: str) -> LoadReport:
    """Add the statistics-only county-level units (development zones…) and the towns/streets
    (乡镇街道, 9-digit codes) of an NBS edition. Codes GB/T 2260 knows keep their GB/T row."""
    report = LoadReport("nbs_units", edition, len(rows))
    gbt = {
        code
        for (code,) in conn.execute(select(_regions.c.code).where(_regions.c.source == "gbt2260"))
    }
    out = []
    for i, r in enumerate(rows, start=2):
        code, level, parent = r["code"].strip(), r["level"].strip(), (r["parent"] or "").strip()
        if level not in ("county", "town"):
            continue  # provinces and prefectures come from GB/T 2260; NBS "市辖区" are not units
        if not code.isdigit() or len(code) not in (6, 9):
            raise _ref_error(edition, i, "代码无效", "invalid code")
        if code in gbt:
            continue
        if level == "county":
            city = code[:4] + "00"
            parent = city if city in gbt else code[:2] + "0000"
        out.append(
            {
                "code": code,
                "name": r["name"].strip(),
                "level": level,
                "parent_code": parent or None,
                "valid_from": None,
                "valid_to": None,
                "source": "nbs",
            }
        )
    report.added = _upsert_regions(conn, out)
    return report


# -- GB/T 4754 -----------------------------------------------------------------------------------
def load_industries(
    conn: Connection, rows: list[dict[str, str]], edition: str, table: str = "industries"
) -> LoadReport:
    """Insert or update every code of a GB/T 4754 edition (sections, divisions, groups, classes).

    For 2017, codes of earlier loads that the table does not have stay (they may be referenced)
    but are marked as not in the standard, so that imports refuse them.
    """
    report = LoadReport(table, edition, len(rows))
    target = _industries if table == "industries" else _industries_2011
    stored = {r.code: r for r in conn.execute(select(target))}
    order = {"section": 0, "division": 1, "group": 2, "class": 3}
    data = []
    for r in sorted(rows, key=lambda r: order.get(r["level"], 9)):
        item = {
            "code": r["code"].strip(),
            "name": r["name"].strip(),
            "level": r["level"].strip(),
            "parent_code": (r["parent"] or "").strip() or None,
        }
        if table == "industries":
            item["standard"] = STANDARD_2017
        data.append(item)
    inserts = [r for r in data if r["code"] not in stored]
    updates = [
        {"b_" + k: v for k, v in r.items()}
        for r in data
        if r["code"] in stored and any(getattr(stored[r["code"]], k) != v for k, v in r.items())
    ]
    for level in ("section", "division", "group", "class"):
        bulk_insert(conn, target, [r for r in inserts if r["level"] == level])
    keys = [k for k in data[0] if k != "code"] if data else []
    if updates:
        conn.execute(
            sa.update(target)
            .where(target.c.code == sa.bindparam("b_code"))
            .values({k: sa.bindparam("b_" + k) for k in keys}),
            updates,
        )
    if table == "industries":
        codes = {r["code"] for r in data}
        gone = [c for c, r in stored.items() if c not in codes and r.standard != WITHDRAWN]
        if gone:
            conn.execute(
                sa.update(_industries)
                .where(_industries.c.code.in_(gone))
                .values(standard=WITHDRAWN)
            )
    report.added = len(inserts)
    return report


# -- loading -------------------------------------------------------------------------------------
def _loaded(conn: Connection, table: str, digest: str) -> bool:
    return (
        conn.execute(
            select(sa.func.count())
            .select_from(_editions)
            .where(_editions.c.table_name == table, _editions.c.sha256 == digest)
        ).scalar_one()
        > 0
    )


def load_file(
    conn: Connection, table: str, data: bytes, name: str, edition: str, source: str
) -> LoadReport:
    """Load one reference file into ``table`` unless this exact file was loaded before."""
    digest = hashlib.sha256(data).hexdigest()
    if _loaded(conn, table, digest):
        return LoadReport(table, edition, 0, skipped=True)
    rows = read_csv_rows(data, name)
    if table == "region_history":
        report = load_region_history(conn, parse_history(rows, name), edition)
    elif table == "nbs_units":
        report = load_nbs_units(conn, rows, edition)
    elif table in ("industries", "industries_2011"):
        report = load_industries(conn, rows, edition, table)
    else:
        raise ValueError(f"unknown reference table {table!r}")
    conn.execute(
        sa.insert(_editions).values(
            table_name=table,
            edition=edition,
            source=source,
            sha256=digest,
            rows=report.rows,
            added=report.added,
            ended=report.ended,
        )
    )
    return report


def load_packaged(conn: Connection) -> list[LoadReport]:
    """Load the shipped reference files (each skipped when already loaded)."""
    return [
        load_file(conn, f.table, packaged_bytes(f.file), f.file, f.edition, f.source)
        for f in PACKAGED
    ]


def seed(engine: Engine) -> None:
    """Load reference files not loaded yet and the roles (idempotent, cheap when up to date)."""
    from industry_brain.store.models import Role

    with engine.begin() as conn:
        # below revision 0009 (``db upgrade --revision 0008``) the tables do not exist yet
        if sa.inspect(conn).has_table("reference_editions"):
            load_packaged(conn)
    with Session(engine) as session:
        for name, zh, desc in ROLES:
            obj = session.get(Role, name) or Role(name=name)
            obj.zh, obj.description = zh, desc
            session.add(obj)
        session.commit()


def refresh(engine: Engine, table: str, path: str, edition: str) -> LoadReport:
    """Load a newer edition of a reference table from ``path`` (one transaction)."""
    from pathlib import Path

    data = Path(path).read_bytes()
    with engine.begin() as conn:
        return load_file(conn, table, data, Path(path).name, edition, str(path))


def stats(session: Session) -> dict[str, Any]:
    """Counts per level of every reference table and the editions loaded."""
    from industry_brain.store.models import (
        Industry,
        Industry2011,
        ReferenceEdition,
        Region,
        RegionHistory,
    )

    def counts(stmt: Any) -> dict[str, int]:
        return {str(k): int(v) for k, v in session.execute(stmt).all()}

    return {
        "regions": counts(
            select(Region.level, sa.func.count())
            .where(Region.valid_to.is_(None))
            .group_by(Region.level)
        ),
        "regions_retired": counts(
            select(Region.level, sa.func.count())
            .where(Region.valid_to.is_not(None))
            .group_by(Region.level)
        ),
        "statistics_only_units": counts(
            select(Region.level, sa.func.count())
            .where(Region.source == "nbs")
            .group_by(Region.level)
        ),
        "region_history": counts(
            select(RegionHistory.level, sa.func.count()).group_by(RegionHistory.level)
        ),
        "industries": counts(
            select(Industry.level, sa.func.count())
            .where(Industry.standard == STANDARD_2017)
            .group_by(Industry.level)
        ),
        "industries_2011": counts(
            select(Industry2011.level, sa.func.count()).group_by(Industry2011.level)
        ),
        "editions": [
            {
                "table": e.table_name,
                "edition": e.edition,
                "source": e.source,
                "sha256": e.sha256,
                "rows": e.rows,
                "added": e.added,
                "ended": e.ended,
                "loaded_at": e.loaded_at.isoformat() if e.loaded_at else None,
            }
            for e in session.scalars(select(ReferenceEdition).order_by(ReferenceEdition.id))
        ],
    }
