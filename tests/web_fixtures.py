"""A small hand-made store for the web tests: two counties, one enterprise per county plus one
whose name is a script tag, figures with lineage (tax is sensitive), users of every role."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from industry_brain.store.models import (
    AgentAssignment,
    Enterprise,
    EnterpriseName,
    EnterpriseScale,
    Fact,
    ImportBatch,
    User,
)
from industry_brain.web.auth import argon2_parameters

PASSWORD = "Test@2026"
#: hashed with the platform's argon2 parameters (``web.password.argon2``), as the platform stores
#: it: each login verifies in ~0.05 s. (argon2's library defaults, 64 MiB × 3 passes, took
#: ~0.3 s per login plus a rehash, on hundreds of logins per suite run; the rehash of such an old
#: hash is tested in tests/security/test_web_auth.py with ``LIBRARY_DEFAULT_HASH``.)
_HASH = PasswordHasher(**argon2_parameters()).hash(PASSWORD)
LIBRARY_DEFAULT_HASH = PasswordHasher().hash(PASSWORD)

USCC_WX = "91330500MA2B3C4D5B"  # 吴兴区 330502
USCC_NX = "91330502MA28C0A01P"  # 南浔区 330503
USCC_XSS = "91330500MA2B3C4D1Y"  # 吴兴区, name is a script tag
XSS_NAME = "<script>alert('x')</script>有限公司"


@dataclass
class Seeded:
    ids: dict[str, int]


def seed(engine: Engine) -> Seeded:
    with Session(engine) as s:
        batch = ImportBatch(
            kind="stats_annual",
            department="statistics",
            file_name="统计年报_2024.xlsx",
            file_hash="a" * 64,
            sheet="Sheet1",
            year=2024,
            status="committed",
            rows_total=3,
            rows_loaded=3,
            rows_rejected=0,
            options={},
            summary={},
        )
        s.add(batch)
        s.flush()
        ents = {}
        for uscc, name, county in (
            (USCC_WX, "湖州甲机械有限公司", "330502"),
            (USCC_NX, "湖州乙纺织有限公司", "330503"),
            (USCC_XSS, XSS_NAME, "330502"),
        ):
            e = Enterprise(
                uscc=uscc,
                name=name,
                county_code=county,
                industry_code=None,
                registration_date=date(2010, 5, 1),
                status="存续",
            )
            s.add(e)
            s.flush()
            s.add(EnterpriseName(enterprise_id=e.id, name=name, normalized=name, kind="current"))
            s.add(EnterpriseScale(enterprise_id=e.id, year=2024, above_scale=county == "330502"))
            for row, (item, value, unit) in enumerate(
                (("output_value", 12345.6, "万元"), ("tax_paid", 321.5, "万元")), start=5
            ):
                s.add(
                    Fact(
                        enterprise_id=e.id,
                        year=2024,
                        month=0,
                        item=item,
                        detail="",
                        value=value,
                        unit=unit,
                        source_dept="statistics",
                        batch_id=batch.id,
                        sheet="Sheet1",
                        row=row,
                        column="D（工业总产值）" if item == "output_value" else "K（应交税金）",
                        raw_value=str(value),
                    )
                )
            ents[uscc] = e.id
        users = {
            "admin": {"role": "admin"},
            "city": {"role": "city_officer"},
            "county_wx": {"role": "county_officer", "county_code": "330502"},
            "county_nx": {"role": "county_officer", "county_code": "330503"},
            "agent_wx": {"role": "agent", "county_code": "330502"},
            "ent_wx": {"role": "enterprise", "enterprise_id": ents[USCC_WX]},
            "ent_nx": {"role": "enterprise", "enterprise_id": ents[USCC_NX]},
            "bank": {"role": "bank", "organisation": "湖州银行"},
        }
        ids = {}
        for username, scope in users.items():
            u = User(username=username, display_name=username, password_hash=_HASH, **scope)
            s.add(u)
            s.flush()
            ids[username] = u.id
        s.add(AgentAssignment(user_id=ids["agent_wx"], enterprise_id=ents[USCC_WX]))
        s.commit()
    return Seeded(ids=ids)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; returns the CSRF token of the new session."""
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    html = client.get("/").text  # the role's start page
    match = re.search(r'data-csrf="([^"]*)"', html)
    assert match and match.group(1), "no session CSRF token after login"
    return match.group(1)
