"""What the demo puts straight into the store: 项目钉 projects and users of every role.

Runs after the registration file has been imported (it needs the enterprises). Projects go
through the six stages 签约 signed → 开工 started → 竣工 completed → 投产 producing → 上规
above_scale → 达产 at_capacity, with planned dates and actual dates; actual dates increase and
none lies after :data:`DEMO_TODAY`; some projects are late against plan.

Demo users (username → role): ``admin``; ``city_officer_01``/``02``; ``county_<code>`` (区县,
one per county); ``agent_<county>_<nn>`` (服务专员, with assignments); ``ent_<USCC>`` (企业用户);
``bank_huzhou``, ``bank_icbc``, ``bank_rcb`` (合作银行). Every demo user's password is
:data:`DEMO_PASSWORD`. Hashes are argon2id with a salt derived from the seed and the username,
so the store is the same for the same seed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from argon2.low_level import Type, hash_secret
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.demo.constants import DEFAULT_SEED, DEMO_TODAY, city, scale_of
from industry_brain.demo.identifiers import random_uscc
from industry_brain.demo.params import TRADE_CHARS, classes_by_division, words_for
from industry_brain.store.models import AgentAssignment, Enterprise, Project, User

#: Password of every demo user (documented in the README of the demo).
DEMO_PASSWORD = "Demo@2026"
#: The six stages of 项目钉 in order: (English name stored in ``Project.stage``, Chinese name).
STAGES: tuple[tuple[str, str], ...] = (
    ("signed", "签约"),
    ("started", "开工"),
    ("completed", "竣工"),
    ("producing", "投产"),
    ("above_scale", "上规"),
    ("at_capacity", "达产"),
)
_STAGE_WEIGHTS = (0.14, 0.26, 0.14, 0.14, 0.14, 0.18)
#: Planned days from the previous stage: (min, max) for new-build and for upgrade projects.
_GAPS_NEW = ((60, 180), (300, 720), (30, 120), (180, 540), (365, 730))
_GAPS_UPGRADE = ((30, 90), (120, 360), (15, 60), (120, 360), (180, 540))
PROGRAMS = ("攻关", "推广", "上云", "机器换人", "工厂物联网", "智改数转", "标准地")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙朱胡沈钱姚潘施蒋"
_GIVEN = "建国华明伟芳军丽强敏静磊洁勇艳杰娟涛超秀霞平刚桂英"
# argon2id, RFC 9106 second recommended option scaled to OWASP's minimum (m=19 MiB, t=2, p=1).
_ARGON = {"time_cost": 2, "memory_cost": 19456, "parallelism": 1, "hash_len": 32}


def password_hash(username: str, seed: int = DEFAULT_SEED, password: str = DEMO_PASSWORD) -> str:
    """argon2id hash of ``password`` with a salt derived from ``seed`` and ``username``.

    The encoded string is verified by ``argon2.PasswordHasher().verify`` like any other.
    """
    salt = hashlib.sha256(f"industry-brain-demo:{seed}:{username}".encode()).digest()[:16]
    encoded = hash_secret(password.encode(), salt, type=Type.ID, **_ARGON)
    return encoded.decode("ascii")


def _person(rng: np.random.Generator) -> str:
    given = "".join(_GIVEN[int(k)] for k in rng.integers(0, len(_GIVEN), int(rng.integers(1, 3))))
    return _SURNAMES[int(rng.integers(0, len(_SURNAMES)))] + given


def seed_operational(
    session: Session,
    out_dir: Path,
    scale: str = "city",
    seed: int = DEFAULT_SEED,
) -> dict[str, Any]:
    """Create demo users of every role, agent assignments and 项目钉 projects in the store.

    The enterprises must be in the store already (imported from the registration file). Writes
    ``operational.json`` (the summary) into ``out_dir`` and returns the summary. Refuses to run
    twice on the same store. The session is flushed, not committed.
    """
    sc = scale_of(scale)
    enterprises = list(session.scalars(select(Enterprise).order_by(Enterprise.uscc)))
    if not enterprises:
        raise ValueError("no enterprises in the store: import the registration file first")
    if session.scalar(select(func.count()).select_from(User).where(User.username == "admin")):
        raise ValueError("the demo users exist already: seed_operational runs once per store")
    root = np.random.SeedSequence([seed, 4242])
    user_seq, project_seq = root.spawn(2)
    rng = np.random.Generator(np.random.PCG64(user_seq))

    users_by_role: dict[str, int] = {}

    def add_user(username: str, display: str, role: str, **scope: Any) -> User:
        user = User(
            username=username,
            display_name=display,
            role=role,
            password_hash=password_hash(username, seed),
            active=True,
            **scope,
        )
        session.add(user)
        users_by_role[role] = users_by_role.get(role, 0) + 1
        return user

    add_user("admin", "系统管理员", "admin", organisation=f"{city().name}经济和信息化局")
    for k in (1, 2):
        add_user(
            f"city_officer_{k:02d}",
            f"市经信局 {_person(rng)}",
            "city_officer",
            organisation=f"{city().name}经济和信息化局",
        )
    for county in city().counties:
        add_user(
            f"county_{county.code}",
            f"{county.name}经信局 {_person(rng)}",
            "county_officer",
            county_code=county.code,
            organisation=f"{county.name}经济和信息化局",
        )
    agents: dict[str, list[User]] = {}
    for county in city().counties:
        agents[county.code] = [
            add_user(
                f"agent_{county.code}_{k:02d}",
                f"{county.name}服务专员 {_person(rng)}",
                "agent",
                county_code=county.code,
                organisation=f"{county.name}经济和信息化局",
            )
            for k in range(1, sc.agents_per_county + 1)
        ]
    n_ent_users = min(sc.enterprise_users, len(enterprises))
    for j in sorted(rng.choice(len(enterprises), size=n_ent_users, replace=False).tolist()):
        ent = enterprises[j]
        add_user(
            f"ent_{ent.uscc}", ent.name, "enterprise", enterprise_id=ent.id, organisation=ent.name
        )
    for username, bank in city().banks:
        add_user(username, bank, "bank", organisation=bank)
    session.flush()

    # Agent assignments (服务专员包联): about a quarter of each county's enterprises.
    pairs: dict[tuple[int, int], None] = {}
    for county in city().counties:
        mine = [e for e in enterprises if e.county_code == county.code]
        chosen = [e for e, u in zip(mine, rng.random(len(mine)), strict=True) if u < 0.25]
        team = agents[county.code]
        for k, ent in enumerate(chosen):
            pairs[(team[k % len(team)].id, ent.id)] = None

    projects = _projects(session, enterprises, agents, sc.projects, project_seq, pairs)
    for user_id, enterprise_id in pairs:
        session.add(AgentAssignment(user_id=user_id, enterprise_id=enterprise_id))
    session.flush()

    by_stage = {name: 0 for name, _ in STAGES}
    for p in projects:
        by_stage[p.stage] += 1
    late = sum(1 for p in projects if _is_late(p))
    summary: dict[str, Any] = {
        "scale": scale,
        "seed": seed,
        "reference_date": DEMO_TODAY.isoformat(),
        "password": DEMO_PASSWORD,
        "users": sum(users_by_role.values()),
        "users_by_role": users_by_role,
        "agent_assignments": len(pairs),
        "projects": len(projects),
        "projects_by_stage": by_stage,
        "projects_late": late,
        "projects_new_investors": sum(1 for p in projects if p.enterprise_id is None),
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(summary, ensure_ascii=False, indent=2) + "\n"
    (out / "operational.json").write_text(text, encoding="utf-8")
    return summary


def _is_late(p: Project) -> bool:
    """Behind plan: the next milestone's planned date has passed, or 达产 came after its plan."""
    for name, _ in STAGES[1:]:
        planned = getattr(p, f"planned_{name}")
        if getattr(p, f"actual_{name}") is None:
            return planned is not None and planned < DEMO_TODAY
    return p.actual_at_capacity is not None and p.actual_at_capacity > p.planned_at_capacity


def _projects(
    session: Session,
    enterprises: list[Enterprise],
    agents: dict[str, list[User]],
    count: int,
    seq: np.random.SeedSequence,
    pairs: dict[tuple[int, int], None],
) -> list[Project]:
    rng = np.random.Generator(np.random.PCG64(seq))
    known_uscc = {e.uscc for e in enterprises}
    known_names = {e.name for e in enterprises}
    classes = classes_by_division()
    all_classes = [c for codes in classes.values() for c in codes]
    stage_of = rng.choice(len(STAGES), size=count, p=np.asarray(_STAGE_WEIGHTS))
    out: list[Project] = []
    for k in range(count):
        new_investor = rng.random() < 0.15
        if new_investor:
            ci = int(rng.integers(0, len(city().counties)))
            county = city().counties[ci].code
            cls = all_classes[int(rng.integers(0, len(all_classes)))]
            uscc = random_uscc(rng, county)
            while uscc in known_uscc:
                uscc = random_uscc(rng, county)
            known_uscc.add(uscc)
            short = _new_company(rng, ci, cls, known_names)
            ent = None
        else:
            ent = enterprises[int(rng.integers(0, len(enterprises)))]
            uscc = ent.uscc
            county = ent.county_code or city().counties[0].code
            cls = ent.industry_code if ent.industry_code in all_classes else all_classes[0]
            short = _short_name(ent.name)
        upgrade = ent is not None and rng.random() < 0.35
        gaps = _GAPS_UPGRADE if upgrade else _GAPS_NEW
        planned_gap = [int(rng.integers(lo, hi + 1)) for lo, hi in gaps]
        u = rng.random()
        if u < 0.25:  # late
            factor = rng.uniform(1.3, 2.2, len(gaps))
        elif u < 0.35:  # early
            factor = rng.uniform(0.6, 0.9, len(gaps))
        else:
            factor = np.clip(rng.normal(1.0, 0.12, len(gaps)), 0.7, 1.3)
        actual_gap = [max(1, round(g * f)) for g, f in zip(planned_gap, factor, strict=True)]
        stage = int(stage_of[k])
        reached = sum(actual_gap[:stage])
        if stage < len(gaps):
            slack = int(rng.integers(0, actual_gap[stage]))
        else:
            slack = int(rng.integers(0, 900))
        signed = DEMO_TODAY - timedelta(days=reached + slack)
        planned = [signed]
        actual: list[date | None] = [signed]
        for j, (p_gap, a_gap) in enumerate(zip(planned_gap, actual_gap, strict=True)):
            planned.append(planned[-1] + timedelta(days=p_gap))
            prev = actual[-1]
            actual.append(prev + timedelta(days=a_gap) if prev is not None and j < stage else None)
        investment = float(
            max(500.0, rng.lognormal(np.log(3000 if upgrade else 20000), 0.9 if upgrade else 1.0))
        )
        land_mu = None if upgrade else round(investment / float(rng.uniform(250, 500)), 1)
        land_date = None
        if not upgrade:
            candidate = signed + timedelta(days=int(rng.integers(15, max(16, planned_gap[0] - 10))))
            started = actual[1]
            if started is not None:
                candidate = min(candidate, started - timedelta(days=1))
                candidate = max(candidate, signed)
            land_date = candidate if candidate <= DEMO_TODAY else None
        programs: list[str] = []
        if rng.random() < 0.35:
            pool = [p for p in PROGRAMS if p != "标准地" or not upgrade]
            n_tags = int(rng.integers(1, 3))
            picked = rng.choice(len(pool), size=n_tags, replace=False)
            programs = [pool[int(i)] for i in sorted(picked.tolist())]
        team = agents[county]
        agent = team[int(rng.integers(0, len(team)))]
        project = Project(
            code=f"HZXM-{signed.year}-{k + 1:05d}",
            name=short + _project_phrase(rng, cls, upgrade),
            investor_uscc=uscc,
            enterprise_id=ent.id if ent is not None else None,
            county_code=county,
            industry_code=cls,
            project_type="tech_upgrade" if upgrade else "industrial",
            planned_investment=round(investment, 1),
            planned_land_mu=land_mu,
            programs=programs,
            stage=STAGES[stage][0],
            agent_id=agent.id,
            land_transfer_date=land_date,
        )
        for j, (name, _zh) in enumerate(STAGES):
            setattr(project, f"planned_{name}", planned[j])
            setattr(project, f"actual_{name}", actual[j])
        session.add(project)
        out.append(project)
        if ent is not None:
            pairs[(agent.id, ent.id)] = None
    session.flush()
    return out


def _short_name(name: str) -> str:
    for suffix in ("股份有限公司", "有限责任公司", "有限公司"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _new_company(rng: np.random.Generator, ci: int, cls: str, taken: set[str]) -> str:
    """Short name of a company being set up for a new project (not in the registry)."""
    words = words_for(cls)
    while True:
        idx = rng.integers(0, len(TRADE_CHARS), 2)
        short = city().counties[ci].short + "".join(TRADE_CHARS[int(i)] for i in idx) + words[0]
        if short + "有限公司" not in taken:
            taken.add(short + "有限公司")
            return short


def _project_phrase(rng: np.random.Generator, cls: str, upgrade: bool) -> str:
    if upgrade:
        phrases = (
            "智能化技术改造项目",
            "数字化车间建设项目",
            "机器换人改造项目",
            "未来工厂建设项目",
            "绿色低碳技术改造项目",
        )
        return phrases[int(rng.integers(0, len(phrases)))]
    div = cls[:2]
    n = int(rng.choice((5, 10, 20, 30, 50, 100, 200)))
    special = {
        "17": f"年产{n}00万米高档面料项目",
        "18": f"年产{n}0万件童装项目",
        "30": f"年产{n}万吨新型建材项目",
        "21": f"年产{n}万套家具项目",
        "36": f"年产{n}万套汽车零部件项目",
        "39": f"年产{n}万片电子元器件项目",
    }
    if cls == "3841":
        return f"年产{max(1, n // 10)}GWh锂离子电池项目"
    if div in special:
        return special[div]
    word = words_for(cls)[0]
    if div in ("34", "35", "37", "38", "40"):
        unit = "台套"
    elif div in ("22", "26", "28", "31", "32"):
        unit = "吨"
    else:
        unit = "件"
    return f"年产{n}万{unit}{word}产品项目"
