"""异议 (appeals): an enterprise disputes a figure of the published result; an officer decides.

Workflow 公示 → 异议 → 定级: the published run is the 公示 list; ``file`` records the dispute
(item, the value used, the value claimed, the enterprise's statement); ``decide`` accepts or
rejects it. Accepting writes the corrected figure into the store as a new fact from the
``appeal`` source (its own import batch, so lineage names the appeal) and points every current
figure of that item, enterprise and year at it through ``superseded_by`` with the reason —
the correction wins whatever the department precedence, and the old values stay as history.
``reevaluate`` then produces a new run that becomes the published list; earlier runs are kept.

One open appeal per figure (enterprise, year, item): a second one is refused with
``mujun.appeal_open`` naming the first (a partial unique index, migration 0012, also refuses
one filed concurrently). A decision claims its appeal with ``UPDATE … WHERE status = 'open'``
before writing anything, so of two officers deciding the same appeal at once the second gets
``mujun.appeal_decided``; the corrected figure recorded on an accepted appeal is therefore
always the effective one.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from industry_brain.core import units
from industry_brain.core.errors import ConflictError, Location
from industry_brain.domains.mujun import service
from industry_brain.domains.mujun.models import MujunAppeal, MujunResult
from industry_brain.domains.mujun.rules import EMISSION_ITEMS, MujunError
from industry_brain.store import audit
from industry_brain.store import facts as store_facts
from industry_brain.store.models import Fact, ImportBatch

#: Items an appeal may correct, with their store dimension (unit comes from core.units).
APPEALABLE: dict[str, str] = {
    "tax_paid": "money",
    "value_added": "money",
    "revenue": "money",
    "rd_expense": "money",
    "output_value": "money",
    "employees": "headcount",
    "energy_total": "energy",
    "electricity": "electricity",
    "land_area": "area",
    **dict.fromkeys(EMISSION_ITEMS, "mass"),
}


def _item(item: str) -> str:
    item = store_facts.ITEM_ALIASES.get(item, item)
    if item not in APPEALABLE:
        raise MujunError(
            "mujun.appeal_item",
            f"异议项目“{item}”不是评价输入项（可用：{'、'.join(APPEALABLE)}）",
            f"'{item}' is not an evaluation input (one of {', '.join(APPEALABLE)})",
            Location(field="item"),
            item,
        )
    return item


def _get(session: Session, appeal_id: int) -> MujunAppeal:
    appeal = session.get(MujunAppeal, appeal_id)
    if appeal is None:
        raise MujunError(
            "mujun.appeal_not_found",
            f"没有编号为 {appeal_id} 的异议",
            f"no appeal {appeal_id}",
            Location(field="id"),
            appeal_id,
        )
    return appeal


def file(
    session: Session,
    uscc: str,
    year: int,
    item: str,
    statement: str,
    filed_by: str,
    claimed_value: float | None = None,
) -> MujunAppeal:
    """Record an enterprise's dispute of ``item`` in its published result of ``year``."""
    item = _item(item)
    ent = service.enterprise_by_uscc(session, uscc)
    run = service.published_run(session, year)
    assert run is not None
    in_run = session.scalar(
        select(MujunResult.id).where(
            MujunResult.run_id == run.id, MujunResult.enterprise_id == ent.id
        )
    )
    if in_run is None:
        raise MujunError(
            "mujun.not_in_run",
            f"{uscc} 不在 {year} 年度已发布的评价结果中",
            f"{uscc} is not in the published result of {year}",
            Location(field="uscc"),
            uscc,
        )
    if claimed_value is not None and claimed_value < 0:
        raise MujunError(
            "mujun.appeal_value",
            "主张的数值不能为负",
            "the claimed value cannot be negative",
            Location(field="claimed"),
            claimed_value,
        )
    _no_open_appeal(session, ent.id, ent.uscc, year, item)
    current = store_facts.explain(session, ent.uscc, year, item)
    appeal = MujunAppeal(
        enterprise_id=ent.id,
        year=year,
        item=item,
        run_id=run.id,
        disputed_value=current["value"],
        claimed_value=claimed_value,
        statement=statement,
        filed_by=filed_by,
        status="open",
        superseded_fact_ids=[],
    )
    session.add(appeal)
    ent_id, ent_uscc = ent.id, ent.uscc
    try:
        session.flush()
    except IntegrityError:
        # an appeal on the same figure was filed concurrently and won (unique open index)
        session.rollback()
        _no_open_appeal(session, ent_id, ent_uscc, year, item)
        raise
    audit.record(
        session,
        filed_by,
        "mujun.appeal.file",
        "mujun_appeal",
        str(appeal.id),
        {"uscc": ent.uscc, "year": year, "item": item, "claimed": claimed_value},
    )
    return appeal


def _no_open_appeal(session: Session, enterprise_id: int, uscc: str, year: int, item: str) -> None:
    """Refuse a second open appeal on the same figure (``mujun.appeal_open``, a conflict)."""
    open_id = session.scalar(
        select(MujunAppeal.id).where(
            MujunAppeal.enterprise_id == enterprise_id,
            MujunAppeal.year == year,
            MujunAppeal.item == item,
            MujunAppeal.status == "open",
        )
    )
    if open_id is not None:
        raise ConflictError(
            "mujun.appeal_open",
            f"{uscc} {year} 年“{item}”已有未决异议 #{open_id}，请待其处理后再提出",
            f"{uscc} already has the open appeal #{open_id} on {item} of {year}; "
            "file again after it is decided",
            Location(field="item"),
            open_id,
        )


def _decided(appeal_id: int, status: str) -> MujunError:
    return MujunError(
        "mujun.appeal_decided",
        f"异议 #{appeal_id} 已处理（{status}）",
        f"appeal #{appeal_id} is already {status}",
        Location(field="id"),
        appeal_id,
    )


def _claim(session: Session, appeal: MujunAppeal, status: str) -> None:
    """Move the appeal from ``open`` to ``status`` with a compare-and-set in this transaction;
    a decision committed meanwhile (or in progress: PostgreSQL waits for it, SQLite's single
    writer too) leaves no open row, and the caller gets ``mujun.appeal_decided``."""
    appeal_id = appeal.id
    done = session.execute(
        update(MujunAppeal)
        .where(MujunAppeal.id == appeal_id, MujunAppeal.status == "open")
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        session.rollback()
        raise _decided(appeal_id, str(session.get(MujunAppeal, appeal_id).status))
    set_committed_value(appeal, "status", status)


def decide(
    session: Session,
    appeal_id: int,
    accept: bool,
    reason: str,
    officer: str,
    corrected_value: float | None = None,
) -> MujunAppeal:
    """Accept (write the corrected fact, superseding the disputed ones) or reject an appeal."""
    appeal = _get(session, appeal_id)
    if appeal.status != "open":
        raise _decided(appeal_id, appeal.status)
    if not reason.strip():
        raise MujunError(
            "mujun.appeal_reason",
            "处理异议必须填写理由",
            "a decision needs a reason",
            Location(field="reason"),
        )
    value = corrected_value if corrected_value is not None else appeal.claimed_value
    if accept and (value is None or value < 0):
        raise MujunError(
            "mujun.appeal_value",
            "采纳异议需要一个非负的更正数值（--value）",
            "accepting an appeal needs a non-negative corrected value (--value)",
            Location(field="value"),
            value,
        )
    _claim(session, appeal, "accepted" if accept else "rejected")
    now = datetime.now(UTC)
    appeal.decided_by, appeal.decided_at, appeal.decision_reason = officer, now, reason
    if not accept:
        audit.record(
            session,
            officer,
            "mujun.appeal.reject",
            "mujun_appeal",
            str(appeal.id),
            {"reason": reason},
        )
        return appeal
    assert value is not None
    unit = units.store_unit(APPEALABLE[appeal.item])
    batch = ImportBatch(
        kind="appeal",
        department="appeal",
        file_name=f"异议#{appeal.id}",
        file_hash=hashlib.sha256(
            f"appeal:{appeal.id}:{appeal.item}:{value!r}:{reason}".encode()
        ).hexdigest(),
        year=appeal.year,
        status="committed",
        rows_total=1,
        rows_loaded=1,
        rows_rejected=0,
        options={"appeal_id": appeal.id},
        summary={"officer": officer, "reason": reason},
    )
    session.add(batch)
    session.flush()
    fact = Fact(
        enterprise_id=appeal.enterprise_id,
        year=appeal.year,
        month=0,
        item=appeal.item,
        detail="",
        value=float(value),
        unit=unit,
        source_dept="appeal",
        batch_id=batch.id,
        column="异议更正",
        raw_value=repr(float(value)),
        reason=reason,
    )
    session.add(fact)
    session.flush()
    # where the batch's one fact lies: a snapshot refresh reads a new batch's facts by the
    # primary key in this range (the facts have no index of the batch)
    batch.summary = {
        **batch.summary,
        "fact_id_range": [fact.id, fact.id],
        "fact_years": [fact.year],
        "fact_units": {fact.item: fact.unit},
    }
    old_ids = list(
        session.scalars(
            select(Fact.id).where(
                Fact.enterprise_id == appeal.enterprise_id,
                Fact.year == appeal.year,
                Fact.item == appeal.item,
                Fact.superseded_by.is_(None),
                Fact.id != fact.id,
            )
        )
    )
    if old_ids:
        session.execute(
            update(Fact)
            .where(Fact.id.in_(old_ids))
            .values(
                superseded_by=fact.id, reason=f"异议 #{appeal.id} / appeal #{appeal.id}: {reason}"
            )
        )
    appeal.corrected_value = float(value)
    appeal.fact_id = fact.id
    appeal.superseded_fact_ids = old_ids
    audit.record(
        session,
        officer,
        "mujun.appeal.accept",
        "fact",
        str(fact.id),
        {
            "appeal_id": appeal.id,
            "item": appeal.item,
            "year": appeal.year,
            "old_value": appeal.disputed_value,
            "new_value": float(value),
            "superseded_fact_ids": old_ids,
            "reason": reason,
        },
    )
    return appeal


def reevaluate(
    engine: Engine,
    year: int,
    appeal_ids: list[int],
    compute: str = "duckdb",
    actor: str = "cli",
    progress: service.Progress | None = None,
) -> service.RunOutcome:
    """A new run of ``year`` after accepted appeals; it becomes the published list."""
    with Session(engine) as session:
        parent = service.published_run(session, year)
        assert parent is not None
        parent_id = parent.id
    note = "异议复核 / re-evaluation after appeals " + ", ".join(f"#{i}" for i in appeal_ids)
    outcome = service.run(
        engine,
        year,
        compute=compute,
        actor=actor,
        kind="appeal",
        parent_run_id=parent_id,
        note=note,
        progress=progress,
    )[0]
    with Session(engine) as session:
        session.execute(
            update(MujunAppeal)
            .where(MujunAppeal.id.in_(appeal_ids))
            .values(new_run_id=outcome.run_id)
        )
        session.commit()
    return outcome


def listing(session: Session, year: int, status: str | None = None) -> list[dict[str, Any]]:
    from industry_brain.store.models import Enterprise

    stmt = (
        select(MujunAppeal, Enterprise)
        .join(Enterprise, Enterprise.id == MujunAppeal.enterprise_id)
        .where(MujunAppeal.year == year)
        .order_by(MujunAppeal.id)
    )
    if status:
        stmt = stmt.where(MujunAppeal.status == status)
    return [
        {
            "id": a.id,
            "uscc": e.uscc,
            "name": e.name,
            "year": a.year,
            "item": a.item,
            "status": a.status,
            "run_id": a.run_id,
            "disputed_value": a.disputed_value,
            "claimed_value": a.claimed_value,
            "corrected_value": a.corrected_value,
            "statement": a.statement,
            "filed_by": a.filed_by,
            "decided_by": a.decided_by,
            "decision_reason": a.decision_reason,
            "fact_id": a.fact_id,
            "superseded_fact_ids": a.superseded_fact_ids,
            "new_run_id": a.new_run_id,
        }
        for a, e in session.execute(stmt).all()
    ]
