"""破五未 warnings: a project whose next milestone is late enters one of five categories.

=============== ================ =============================
stage reached   missing stage    warning (kind)
=============== ================ =============================
签约 signed      开工 started      签约未开工 not_started
开工 started     竣工 completed    开工未竣工 not_completed
竣工 completed   投产 producing    竣工未投产 not_producing
投产 producing   上规 above_scale  投产未上规 not_above_scale
上规 above_scale 达产 at_capacity  上规未达产 not_at_capacity
=============== ================ =============================

Deadline: parameter ``projects.deadlines.<kind>.anchors`` lists anchors (``land_transfer`` or
a stage); the first one with a date on the project and a value for its project type in
``projects.deadlines.<kind>.<anchor>`` (months) wins: ``deadline = anchor date + months``.
The months in force **on the anchor date** apply (a later rule change does not move a
running deadline); the colour thresholds in force on ``today`` apply. For a deadline period of
``T`` days from the anchor ``A`` to the deadline ``D``:

- yellow (黄) from ``A + ceil(yellow_at × T)`` days up to and including ``D``;
- red (红) from ``D + 1`` up to and including ``add_months(D, black_after_months[kind])``;
- black (黑) after that.

Recording the missing milestone clears the warning (the project moves to the next stage).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core.errors import Location, ValidationError
from industry_brain.core.parameters import ParameterError
from industry_brain.domains.projects.models import WarningSnapshot
from industry_brain.domains.projects.stages import (
    LAND_TRANSFER,
    STAGE_ZH,
    STAGES,
    add_months,
    find_user,
    lookups,
)
from industry_brain.store.models import Project

#: kind → (stage reached, missing stage, Chinese name, English description)
KINDS: dict[str, tuple[str, str, str, str]] = {
    "not_started": ("signed", "started", "签约未开工", "signed, not started"),
    "not_completed": ("started", "completed", "开工未竣工", "started, not completed"),
    "not_producing": ("completed", "producing", "竣工未投产", "completed, not producing"),
    "not_above_scale": ("producing", "above_scale", "投产未上规", "producing, not yet 规上"),
    "not_at_capacity": ("above_scale", "at_capacity", "上规未达产", "规上, not at capacity"),
}
KIND_OF_STAGE = {v[0]: k for k, v in KINDS.items()}
COLOURS: tuple[str, ...] = ("yellow", "red", "black")
COLOUR_ZH = {"yellow": "黄", "red": "红", "black": "黑"}


def kind_code(text: str) -> str:
    """``签约未开工`` or ``not_started`` → ``not_started``."""
    value = text.strip()
    if value in KINDS:
        return value
    for code, spec in KINDS.items():
        if value == spec[2]:
            return code
    raise ValidationError(
        "warning.kind_unknown",
        f"未知预警类别“{text}”（{'、'.join(v[2] for v in KINDS.values())}）",
        f"unknown warning kind '{text}' (one of {', '.join(KINDS)})",
        Location(field="kind"),
        text,
    )


def colour_code(text: str) -> str:
    """``红`` or ``red`` → ``red``."""
    value = text.strip().lower()
    if value in COLOURS:
        return value
    for code, zh in COLOUR_ZH.items():
        if value in (zh, zh + "色", zh + "灯"):
            return code
    raise ValidationError(
        "warning.colour_unknown",
        f"未知颜色“{text}”（黄/红/黑）",
        f"unknown colour '{text}' (yellow, red or black)",
        Location(field="colour"),
        text,
    )


@dataclass(frozen=True)
class Deadline:
    """The deadline of a project's next milestone and the dates its colour changes."""

    kind: str
    anchor: str
    anchor_date: date
    months: int
    deadline: date
    yellow_from: date
    black_from: date
    params: list[dict[str, Any]] = field(default_factory=list)

    def colour(self, today: date) -> str | None:
        if today >= self.black_from:
            return "black"
        if today > self.deadline:
            return "red"
        if today >= self.yellow_from:
            return "yellow"
        return None


@dataclass(frozen=True)
class ProjectWarning:
    """One 破五未 warning of a project on a day."""

    project_id: int
    code: str
    name: str
    uscc: str
    county_code: str
    agent_id: int | None
    stage: str
    today: date
    colour: str
    rule: Deadline

    @property
    def kind(self) -> str:
        return self.rule.kind

    @property
    def days_overdue(self) -> int:
        return max(0, (self.today - self.rule.deadline).days)

    @property
    def days_left(self) -> int:
        return max(0, (self.rule.deadline - self.today).days)

    def to_dict(
        self, counties: dict[str, str] | None = None, agents: dict[int, str] | None = None
    ) -> dict[str, Any]:
        reached, missing, zh, en = KINDS[self.kind]
        anchor_zh = "交地" if self.rule.anchor == LAND_TRANSFER else STAGE_ZH[self.rule.anchor]
        return {
            "project_id": self.project_id,
            "code": self.code,
            "name": self.name,
            "uscc": self.uscc,
            "county_code": self.county_code,
            "county": (counties or {}).get(self.county_code, self.county_code),
            "agent": (agents or {}).get(self.agent_id) if self.agent_id else None,
            "kind": zh,
            "kind_code": self.kind,
            "kind_en": en,
            "colour": self.colour,
            "colour_zh": COLOUR_ZH[self.colour],
            "days_overdue": self.days_overdue,
            "days_left": self.days_left,
            "stage": self.stage,
            "missing_stage": missing,
            "deadline": self.rule.deadline.isoformat(),
            "anchor": self.rule.anchor,
            "anchor_zh": anchor_zh,
            "anchor_date": self.rule.anchor_date.isoformat(),
            "months": self.rule.months,
            "yellow_from": self.rule.yellow_from.isoformat(),
            "black_from": self.rule.black_from.isoformat(),
            "as_of": self.today.isoformat(),
            "explain": {
                "zh": f"{STAGE_ZH[reached]}后未{STAGE_ZH[missing]}：自{anchor_zh}日 "
                f"{self.rule.anchor_date} 起 {self.rule.months} 个月，期限 {self.rule.deadline}；"
                f"{self.rule.yellow_from} 起黄灯，期限次日起红灯，{self.rule.black_from} 起黑灯",
                "en": f"{en}: {self.rule.months} months from "
                f"{'land handover' if self.rule.anchor == LAND_TRANSFER else self.rule.anchor} "
                f"{self.rule.anchor_date}, deadline {self.rule.deadline}; yellow from "
                f"{self.rule.yellow_from}, red after the deadline, black from "
                f"{self.rule.black_from}",
                "parameters": self.rule.params,
            },
        }


def deadline_of(
    project: Project, today: date, params: parameters.Parameters | None = None
) -> Deadline | None:
    """The deadline of ``project``'s next milestone (None at 达产, the last stage)."""
    kind = KIND_OF_STAGE.get(project.stage)
    if kind is None:
        return None
    params = params or parameters.load()
    region = project.county_code
    base = f"projects.deadlines.{kind}"
    anchors = params.resolve(f"{base}.anchors", region, today)
    used: list[dict[str, Any]] = [anchors.to_dict()]
    for anchor in anchors.value:
        if anchor == LAND_TRANSFER:
            day = project.land_transfer_date
        elif anchor in STAGES:
            day = getattr(project, f"actual_{anchor}")
        else:
            raise ParameterError(
                "param.value",
                f"参数“{base}.anchors”含未知起算点“{anchor}”",
                f"parameter '{base}.anchors' names an unknown anchor '{anchor}'",
                Location(file=anchors.file, field=f"{base}.anchors"),
                anchor,
            )
        if day is None:
            continue
        months_param = params.resolve(f"{base}.{anchor}", region, day)
        months = (months_param.value or {}).get(project.project_type)
        if months is None:
            continue
        deadline = add_months(day, int(months))
        share = params.resolve("projects.warnings.yellow_at", region, today)
        black = params.resolve("projects.warnings.black_after_months", region, today)
        period = (deadline - day).days
        yellow_from = day + timedelta(days=math.ceil(Fraction(str(share.value)) * period))
        black_from = add_months(deadline, int(black.value[kind])) + timedelta(days=1)
        used += [months_param.to_dict(), share.to_dict(), black.to_dict()]
        return Deadline(kind, anchor, day, int(months), deadline, yellow_from, black_from, used)
    raise ParameterError(
        "param.no_anchor",
        f"项目 {project.code}（{project.project_type}）没有适用的“{KINDS[kind][2]}”期限参数",
        f"no deadline parameter of '{kind}' applies to project {project.code} "
        f"({project.project_type})",
        Location(file=anchors.file, field=base),
        project.code,
    )


def evaluate(
    project: Project, today: date, params: parameters.Parameters | None = None
) -> ProjectWarning | None:
    """The project's warning on ``today``, or None (no deadline near or passed)."""
    rule = deadline_of(project, today, params)
    if rule is None:
        return None
    colour = rule.colour(today)
    if colour is None:
        return None
    return ProjectWarning(
        project_id=project.id,
        code=project.code,
        name=project.name,
        uscc=project.investor_uscc,
        county_code=project.county_code,
        agent_id=project.agent_id,
        stage=project.stage,
        today=today,
        colour=colour,
        rule=rule,
    )


def compute(
    session: Session,
    today: date,
    *,
    county: str | None = None,
    agent: str | None = None,
    kind: str | None = None,
    colour: str | None = None,
) -> list[ProjectWarning]:
    """Warnings on ``today``, optionally for one county, one agent (username), one kind or one
    colour; ordered black → red → yellow, then by days overdue (most first) and project id."""
    stmt = select(Project).where(Project.stage != STAGES[-1]).order_by(Project.id)
    if county:
        stmt = stmt.where(Project.county_code == county)
    if agent:
        stmt = stmt.where(Project.agent_id == find_user(session, agent).id)
    if kind:
        stmt = stmt.where(Project.stage == KINDS[kind_code(kind)][0])
    wanted = colour_code(colour) if colour else None
    params = parameters.load()
    out = []
    for project in session.scalars(stmt):
        warning = evaluate(project, today, params)
        if warning is not None and (wanted is None or warning.colour == wanted):
            out.append(warning)
    rank = {"black": 0, "red": 1, "yellow": 2}
    out.sort(key=lambda w: (rank[w.colour], -w.days_overdue, w.days_left, w.project_id))
    return out


def counts(warnings: list[ProjectWarning]) -> dict[str, dict[str, int]]:
    """Chinese kind name → colour → number (every kind and colour present, zeros included)."""
    c = Counter((w.kind, w.colour) for w in warnings)
    return {spec[2]: {col: c[(k, col)] for col in COLOURS} for k, spec in KINDS.items()}


def grouped(
    session: Session, warnings: list[ProjectWarning], by: str = "county"
) -> list[dict[str, Any]]:
    """Warning counts per county or per agent: ``[{key, name, yellow, red, black, total}]``."""
    if by not in ("county", "agent"):
        raise ValidationError(
            "warning.group_by",
            f"分组方式“{by}”无效（county 或 agent）",
            f"group by '{by}' is invalid (county or agent)",
            Location(field="group_by"),
            by,
        )
    counties, agents = lookups(session)
    table: dict[Any, Counter] = {}
    for w in warnings:
        key = w.county_code if by == "county" else w.agent_id
        table.setdefault(key, Counter())[w.colour] += 1
    rows = []
    for key, c in table.items():
        name = counties.get(key, key) if by == "county" else agents.get(key, "（未分配）")
        rows.append(
            {
                "key": key if by == "county" else name,
                "name": name,
                **{col: c[col] for col in COLOURS},
                "total": sum(c.values()),
            }
        )
    rows.sort(key=lambda r: (-r["black"], -r["red"], -r["total"], str(r["key"])))
    return rows


def refresh(session: Session, today: date) -> dict[str, Any]:
    """Store the warnings of ``today`` as a snapshot (replacing one of the same day)."""
    warnings = compute(session, today)
    session.execute(delete(WarningSnapshot).where(WarningSnapshot.snapshot_date == today))
    version = parameters.load().version()
    session.add_all(
        WarningSnapshot(
            snapshot_date=today,
            project_id=w.project_id,
            kind=w.kind,
            colour=w.colour,
            anchor=w.rule.anchor,
            anchor_date=w.rule.anchor_date,
            deadline=w.rule.deadline,
            days_overdue=w.days_overdue,
            county_code=w.county_code,
            agent_id=w.agent_id,
            params_version=version,
        )
        for w in warnings
    )
    session.flush()
    return {
        "snapshot_date": today.isoformat(),
        "warnings": len(warnings),
        "counts": counts(warnings),
        "params_version": version,
    }


def snapshot(session: Session, day: date) -> list[dict[str, Any]]:
    """The stored snapshot of ``day`` (empty when none was taken)."""
    rows = session.scalars(
        select(WarningSnapshot)
        .where(WarningSnapshot.snapshot_date == day)
        .order_by(WarningSnapshot.project_id)
    )
    return [
        {
            "project_id": r.project_id,
            "kind": KINDS[r.kind][2],
            "kind_code": r.kind,
            "colour": r.colour,
            "deadline": r.deadline.isoformat(),
            "days_overdue": r.days_overdue,
            "county_code": r.county_code,
            "params_version": r.params_version,
        }
        for r in rows
    ]
