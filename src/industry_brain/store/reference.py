"""Reference data (GB/T 2260 regions, GB/T 4754-2017 industries, roles) loaded idempotently."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.store.models import Industry, Region, Role

ROLES: list[tuple[str, str, str]] = [
    ("admin", "系统管理员", "manages users, parameters and imports; searches the audit log"),
    ("city_officer", "市级经信干部", "sees every enterprise of the city"),
    ("county_officer", "区县经信干部", "sees enterprises of the officer's own county"),
    ("agent", "服务专员", "sees enterprises and projects assigned to the agent"),
    ("enterprise", "企业用户", "sees the enterprise's own record (own USCC)"),
    ("bank", "合作银行", "sees only data an enterprise consented to, via API token"),
]


def _load(name: str) -> Any:
    text = (
        resources.files("industry_brain.store").joinpath("reference_data", name).read_text("utf-8")
    )
    return yaml.safe_load(text)


def regions() -> list[dict[str, Any]]:
    return _load("regions.yaml")


def industries() -> list[dict[str, str | None]]:
    """Sections, divisions and classes as rows (code, name, level, parent_code)."""
    data = _load("industries.yaml")
    rows: list[dict[str, str | None]] = []
    for code, name in data["sections"].items():
        rows.append({"code": code, "name": name, "level": "section", "parent_code": None})
    for code, name in data["divisions"].items():
        rows.append({"code": code, "name": name, "level": "division", "parent_code": "C"})
    for code, name in data["classes"].items():
        rows.append({"code": code, "name": name, "level": "class", "parent_code": code[:2]})
    return rows


def seed(engine: Engine) -> None:
    """Insert or update reference rows; never deletes (codes may be referenced)."""
    with Session(engine) as session:
        for row in regions():
            obj = session.get(Region, row["code"]) or Region(code=row["code"])
            obj.name, obj.level, obj.parent_code = row["name"], row["level"], row.get("parent")
            session.add(obj)
            session.flush()
        for row in industries():
            obj = session.get(Industry, row["code"]) or Industry(code=row["code"])
            obj.name, obj.level, obj.parent_code = row["name"], row["level"], row["parent_code"]
            session.add(obj)
            session.flush()
        for name, zh, desc in ROLES:
            obj = session.get(Role, name) or Role(name=name)
            obj.zh, obj.description = zh, desc
            session.add(obj)
        session.commit()


def county_codes(session: Session) -> list[str]:
    return list(session.scalars(select(Region.code).where(Region.level == "county")))
