"""The import batch page and the review queue on the hand-made web store (issue 14, point 14):
counts and facts of a batch, what superseded what, the error workbook written from the stored
problems, the permission, and review decisions (CSRF, audit, conflicts)."""

from __future__ import annotations

import io
import tempfile

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.store.models import (
    AuditLog,
    Enterprise,
    Fact,
    ImportBatch,
    ImportProblem,
    MatchAlias,
    MatchReview,
)
from industry_brain.web.app import create_app
from industry_brain.web.settings import Settings
from tests.web_fixtures import USCC_NX, USCC_WX, login, seed


@pytest.fixture
def store(engine: Engine) -> dict[str, int]:
    """The web store plus a correcting batch #2: USCC_WX's tax 321.5 → 330.0, one problem
    and one review entry (two candidates)."""
    seed(engine)
    with Session(engine) as s:
        wx = s.scalars(select(Enterprise).where(Enterprise.uscc == USCC_WX)).one()
        nx = s.scalars(select(Enterprise).where(Enterprise.uscc == USCC_NX)).one()
        second = ImportBatch(
            kind="tax",
            department="tax",
            file_name="税收更正_2024.csv",
            file_hash="b" * 64,
            year=2024,
            status="partial",
            rows_total=3,
            rows_loaded=1,
            rows_rejected=2,
            options={"accept_valid": True},
            summary={"facts_inserted": 0, "facts_superseded": 1, "facts_unchanged": 0},
        )
        s.add(second)
        s.flush()
        old = s.scalars(
            select(Fact).where(Fact.enterprise_id == wx.id, Fact.item == "tax_paid")
        ).one()
        new = Fact(
            enterprise_id=wx.id,
            year=2024,
            month=0,
            item="tax_paid",
            detail="",
            value=330.0,
            unit="万元",
            source_dept="tax",
            batch_id=second.id,
            row=2,
            column="E（实缴税金）",
        )
        s.add(new)
        s.flush()
        old.superseded_by = new.id
        s.add(
            ImportProblem(
                batch_id=second.id,
                severity="error",
                code="match.ambiguous",
                message_zh="企业名称对应多家企业",
                message_en="the name matches several enterprises",
                row=3,
                column="B（纳税人名称）",
                value="湖州纺织厂",
            )
        )
        review = MatchReview(
            batch_id=second.id,
            row=3,
            raw_name="湖州纺织厂",
            reason="ambiguous",
            candidates=[
                {"enterprise_id": wx.id, "uscc": USCC_WX, "name": wx.name},
                {"enterprise_id": nx.id, "uscc": USCC_NX, "name": nx.name},
            ],
            status="open",
        )
        s.add(review)
        s.commit()
        return {"first": old.batch_id, "second": second.id, "review": review.id}


@pytest.fixture
def app(engine: Engine, store: dict[str, int]):  # type: ignore[no-untyped-def]
    return create_app(Settings(), engine)


def _client(app, username: str) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    c = TestClient(app, base_url="https://testserver")
    return c, login(c, username)


def test_batch_page_counts_facts_and_corrections(app, store) -> None:  # type: ignore[no-untyped-def]
    c, _ = _client(app, "city")
    first = c.get(f"/import/batches/{store['first']}")
    assert first.status_code == 200
    # 3 enterprises × 2 figures, one of them corrected later by batch #2
    assert 'id="facts-total" data-total="6"' in first.text
    assert "本批次的 1 条数据已被之后的批次更正" in first.text
    assert f'href="/import/batches/{store["second"]}"' in first.text
    second = c.get(f"/import/batches/{store['second']}").text
    assert "本批次更正了此前批次的 1 条数据" in second
    assert "321.50" in second and "330.00" in second  # old and new value
    assert "共 3 行，入库 1 行，拒绝 2 行" in second
    assert 'data-code="match.ambiguous"' in second and "企业匹配有歧义" in second
    one = c.get(f"/import/batches/{store['first']}?uscc={USCC_NX}").text
    assert 'data-total="2"' in one and USCC_WX not in one.split('id="batch-facts"')[1]
    assert c.get("/import/batches/999").status_code == 404
    county, _ = _client(app, "county_wx")
    assert county.get(f"/import/batches/{store['first']}").status_code == 403
    assert county.get("/import/reviews").status_code == 403


def test_batch_workbook_from_the_stored_problems(app, store, engine, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the route writes the workbook
    c, _ = _client(app, "admin")
    r = c.get(f"/import/batches/{store['second']}/workbook.xlsx")
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][1] == "match.ambiguous" and rows[1][3] == 3
    assert c.get(f"/import/batches/{store['first']}/workbook.xlsx").status_code == 404
    # neither the sent workbook's folder nor the refused one's is left behind
    assert list(scratch.iterdir()) == []
    with Session(engine) as s:
        audit = s.scalars(
            select(AuditLog).where(AuditLog.action == "export.import_batch_workbook")
        ).one()
        assert audit.actor == "admin" and audit.object_id == str(store["second"])


def test_review_confirm_is_checked_audited_and_remembered(app, store, engine) -> None:  # type: ignore[no-untyped-def]
    c, csrf = _client(app, "admin")
    url = f"/import/reviews/{store['review']}/confirm"
    queue = c.get("/import/reviews").text
    assert f'data-review="{store["review"]}"' in queue and USCC_NX in queue
    assert c.post(url, data={"uscc": USCC_NX}, follow_redirects=False).status_code == 403
    r = c.post(url, data={"uscc": USCC_NX, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/import/reviews?status=open"
    page = c.get(r.headers["location"]).text
    assert f"已确认待核对记录 #{store['review']}" in page  # the flash, once
    assert f"已确认待核对记录 #{store['review']}" not in c.get("/import/reviews").text
    again = c.post(url, data={"uscc": USCC_WX, "csrf_token": csrf}, follow_redirects=False)
    assert again.status_code == 409 and "已处理" in again.text
    with Session(engine) as s:
        review = s.get(MatchReview, store["review"])
        nx = s.scalars(select(Enterprise).where(Enterprise.uscc == USCC_NX)).one()
        assert review.status == "confirmed" and review.enterprise_id == nx.id
        assert s.scalars(select(MatchAlias).where(MatchAlias.enterprise_id == nx.id)).one()
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "review.confirm")).one()
        assert audit.actor == "admin" and audit.object_id == str(store["review"])
    done = c.get("/import/reviews?status=confirmed").text
    assert f'data-review="{store["review"]}"' in done
