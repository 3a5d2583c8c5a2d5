"""The import pipeline end to end on a real store (SQLite and PostgreSQL).

Files are written by each test as a department would send them; every expected figure is
computed by hand in a comment.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core.errors import ValidationError
from industry_brain.ingest import import_file
from industry_brain.ingest import load as load_mod
from industry_brain.ingest.matching import Lookup
from industry_brain.ingest.review import confirm, open_reviews
from industry_brain.store import facts
from industry_brain.store.facts import explain
from industry_brain.store.models import (
    Enterprise,
    EnterpriseName,
    EnterpriseScale,
    Fact,
    ImportBatch,
    ImportProblem,
    LandParcel,
    MatchAlias,
    MatchReview,
    PowerAccount,
)

A = "91330502MA2B3C4D1U"  # 湖州甲织造有限公司, 吴兴区
B = "91330503MA2B3C4E2E"  # 湖州乙电池有限公司, 南浔区 (former name 南浔丙电池厂)
C = "91330521MA2B3C4F3L"  # 德清丁家具有限公司, 德清县
D = "91330522MA2B3C4G47"  # 长兴戊纺织有限公司 (former name 湖州共同纺织厂)
E = "91330523MA2B3C4H5R"  # 安吉己竹业有限公司 (former name 湖州共同纺织厂 too → ambiguous)

REGISTRATION = f"""统一社会信用代码,企业名称,曾用名,注册地址,所属区县,行业代码,成立日期,登记状态
{A},湖州甲织造有限公司,,吴兴区织里镇1号,吴兴区,1751,2010-05-01,存续
{B},湖州乙电池有限公司,南浔丙电池厂,南浔区练市镇2号,330503,3841,2016年3月8日,存续
{C},德清丁家具有限公司,,德清县武康街道3号,德清县,2110,2008/7/1,存续
{D},长兴戊纺织有限公司,湖州共同纺织厂,长兴县雉城街道4号,长兴县,1711,2001-01-01,存续
{E},安吉己竹业有限公司,湖州共同纺织厂,安吉县递铺街道5号,安吉县,2041,2003-03-03,存续
"""


def _write(path: Path, text: str, encoding: str = "utf-8-sig") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def _count(engine, model, *where) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def registered(engine, tmp_path):
    r = import_file("registration", _write(tmp_path / "reg.csv", REGISTRATION), engine=engine)
    assert r.status == "committed", r.problems
    assert r.enterprises_created == 5
    return engine


def test_registration_in_chunks_of_ids(engine, tmp_path, monkeypatch):
    """Lookups by enterprise id go in slices (a province's 100,000 ids in one IN list exceed
    PostgreSQL's 65,535 and SQLite's 32,766 parameters): slices of 2 give the same store,
    first import and re-import with a changed name alike."""
    from industry_brain.store import db as store_db

    monkeypatch.setattr(store_db, "IN_CHUNK", 2)
    r = import_file("registration", _write(tmp_path / "reg.csv", REGISTRATION), engine=engine)
    assert r.status == "committed" and r.enterprises_created == 5
    renamed = REGISTRATION.replace("湖州甲织造有限公司", "湖州甲新材料有限公司")
    r2 = import_file("registration", _write(tmp_path / "reg2.csv", renamed), engine=engine)
    assert r2.status == "committed" and r2.enterprises_created == 0
    with Session(engine) as s:
        a = s.scalars(select(Enterprise).where(Enterprise.uscc == A)).one()
        names = {(n.name, n.kind) for n in s.scalars(select(EnterpriseName).where(
            EnterpriseName.enterprise_id == a.id))}  # fmt: skip
        assert a.name == "湖州甲新材料有限公司"
        assert ("湖州甲新材料有限公司", "current") in names
        assert ("湖州甲织造有限公司", "former") in names
        assert _count(engine, Enterprise) == 5


def test_registration_creates_enterprises_with_names(registered):
    with Session(registered) as s:
        b = s.scalars(select(Enterprise).where(Enterprise.uscc == B)).one()
        assert b.county_code == "330503"  # given as a code
        assert b.industry_code == "3841"
        assert b.registration_date.isoformat() == "2016-03-08"  # from 2016年3月8日
        assert b.former_names == ["南浔丙电池厂"]
        a = s.scalars(select(Enterprise).where(Enterprise.uscc == A)).one()
        assert a.county_code == "330502"  # given as the name 吴兴区


def test_same_file_twice_changes_nothing(registered, tmp_path):
    path = _write(
        tmp_path / "stats.csv", f"统一社会信用代码,企业名称,年份,营业收入(万元)\n{A},甲,2025,1000\n"
    )
    first = import_file("stats_annual", path, engine=registered)
    assert first.status == "committed" and first.facts_inserted == 1
    facts_before = _count(registered, Fact)
    batches_before = _count(registered, ImportBatch)
    again = import_file("stats_annual", path, engine=registered)
    assert again.status == "duplicate" and again.duplicate_of == first.batch_id
    assert _count(registered, Fact) == facts_before
    assert _count(registered, ImportBatch) == batches_before


def test_units_converted_and_scale_flags(registered, tmp_path):
    # 工业总产值 12,345 千元 = 1234.5 万元; 营业收入 "１２３４５" (full-width) 千元 = 1234.5 万元;
    # 从业人员 85 人; R&D "—" is missing, never 0.
    text = (
        "2025年度规模以上工业企业主要经济指标\n"
        "统一社会信用代码,单位详细名称,年份,工业总产值(千元),工业增加值(千元),营业收入(千元),"
        "从业人员年平均人数(人),R&D经费支出(千元),规上标志\n"
        f'{A},甲,2025,"12,345",3000,１２３４５,85,—,是\n'
        f"{B},乙,2025,900,200,950,12,/,否\n"
    )
    r = import_file("stats_annual", _write(tmp_path / "s.csv", text), engine=registered)
    assert r.status == "committed", [p.message() for p in r.problems]
    with Session(registered) as s:
        ex = explain(s, A, 2025, "output")
        assert ex["value"] == pytest.approx(1234.5)
        assert ex["unit"] == "万元"
        assert explain(s, A, 2025, "revenue")["value"] == pytest.approx(1234.5)
        assert explain(s, A, 2025, "rd")["value"] is None  # "—" → missing, not 0
        scales = dict(
            s.execute(
                select(Enterprise.uscc, EnterpriseScale.above_scale).join(
                    EnterpriseScale, EnterpriseScale.enterprise_id == Enterprise.id
                )
            ).all()
        )
        assert scales == {A: True, B: False}
        assert ex["used"][0]["row"] == 3  # title row 1, header row 2, first data row 3
        assert ex["used"][0]["raw_value"] == "12,345"


def test_a_later_file_replaces_the_scale_flags_of_its_year_only(registered, tmp_path, monkeypatch):
    """规上标志 per (enterprise, year): a later file's flags replace those of the same year (a
    slice of enterprises per statement) and leave the other years and enterprises alone."""
    from industry_brain.store import db

    monkeypatch.setattr(db, "IN_CHUNK", 1)
    head = "统一社会信用代码,单位详细名称,年份,营业收入(万元),规上标志\n"
    first = import_file(
        "stats_annual",
        _write(
            tmp_path / "a.csv", head + f"{A},甲,2024,10,是\n{A},甲,2025,10,是\n{B},乙,2025,9,否\n"
        ),
        engine=registered,
    )
    later = import_file(
        "stats_annual", _write(tmp_path / "b.csv", head + f"{A},甲,2025,11,否\n"), engine=registered
    )
    assert (first.status, later.status) == ("committed", "committed")
    with Session(registered) as s:
        flags = {
            (u, y): (flag, batch)
            for u, y, flag, batch in s.execute(
                select(
                    Enterprise.uscc,
                    EnterpriseScale.year,
                    EnterpriseScale.above_scale,
                    EnterpriseScale.batch_id,
                ).join(EnterpriseScale, EnterpriseScale.enterprise_id == Enterprise.id)
            )
        }
    assert flags == {
        (A, 2024): (True, first.batch_id),
        (A, 2025): (False, later.batch_id),
        (B, 2025): (False, first.batch_id),
    }


def test_one_bad_row_rejects_the_whole_file(registered, tmp_path):
    text = (
        "统一社会信用代码,企业名称,所属年度,实缴税金(元)\n"
        f"{A},甲,2025,1200000\n"
        f"{B},乙,2025,-5\n"  # negative tax → error
        f"{C},丁,2025,300000\n"
    )
    path = _write(tmp_path / "tax.csv", text)
    facts_before = _count(registered, Fact)
    r = import_file("tax", path, engine=registered)
    assert r.status == "rejected"
    assert _count(registered, Fact) == facts_before  # store unchanged
    err = next(p for p in r.problems if p.code == "value.negative")
    assert (err.location.row, err.location.column[0]) == (3, "D")
    assert err.value == "-5"
    assert "负数" in err.zh and "negative" in err.en
    # the attempt is recorded with its problems (the data are not)
    assert _count(registered, ImportProblem, ImportProblem.batch_id == r.batch_id) >= 1
    # --accept-valid loads the two good rows and records the reject
    r2 = import_file("tax", path, engine=registered, accept_valid=True)
    assert r2.status == "partial"
    assert (r2.rows_loaded, r2.rows_rejected) == (2, 1)
    with Session(registered) as s:
        # 1,200,000 元 = 120 万元
        assert explain(s, A, 2025, "tax")["value"] == pytest.approx(120.0)
        assert explain(s, B, 2025, "tax")["value"] is None


def test_corrected_reimport_supersedes_and_keeps_history(registered, tmp_path):
    v1 = _write(
        tmp_path / "t1.csv",
        f"纳税人识别号,纳税人名称,所属年度,实缴税金(万元)\n{A},甲,2025,100\n{C},丁,2025,50\n",
    )
    v2 = _write(
        tmp_path / "t2.csv",
        f"纳税人识别号,纳税人名称,所属年度,实缴税金(万元)\n{A},甲,2025,110\n{C},丁,2025,50\n",
    )
    r1 = import_file("tax", v1, engine=registered)
    r2 = import_file("tax", v2, engine=registered)
    assert (r2.facts_inserted, r2.facts_superseded, r2.facts_unchanged) == (1, 1, 1)
    with Session(registered) as s:
        ex = explain(s, A, 2025, "tax")
        assert ex["value"] == pytest.approx(110)
        assert [h["value"] for h in ex["history"]] == [100, 110]
        old = ex["history"][0]
        assert old["batch_id"] == r1.batch_id and old["superseded_by"] == ex["used"][0]["id"]
        assert old["file"] == "t1.csv" and old["row"] == 2


def test_department_precedence_keeps_losing_value(registered, tmp_path):
    # statistics reports 应交税金 90 万元, the tax bureau 实缴税金 1,000,000 元 = 100 万元;
    # ingest.precedence puts tax before statistics for tax_paid.
    import_file(
        "stats_annual",
        _write(
            tmp_path / "s.csv", f"统一社会信用代码,企业名称,年份,应交税金(万元)\n{A},甲,2024,90\n"
        ),
        engine=registered,
    )
    import_file(
        "tax",
        _write(
            tmp_path / "t.csv",
            f"纳税人识别号,纳税人名称,所属年度,实缴税金(元)\n{A},甲,2024,1000000\n",
        ),
        engine=registered,
    )
    with Session(registered) as s:
        ex = explain(s, A, 2024, "tax")
    assert ex["value"] == pytest.approx(100) and ex["source_dept"] == "tax"
    assert sorted(h["value"] for h in ex["history"]) == [90, 100]


@pytest.mark.parametrize("accounts", ["by key", "all read"])
def test_matching_by_account_name_former_name_and_review_queue(
    registered, tmp_path, monkeypatch, accounts
):
    # a file of few accounts looks its accounts up by key; a large one reads every stored
    # account (forced here): the same matches either way
    if accounts == "all read":
        monkeypatch.setattr(facts, "BY_KEY_MAX", 0)
    text = (
        "户号,户名,统一社会信用代码,月份,用电量(千瓦时)\n"
        f"3300000001,湖州甲织造有限公司,{A},2025年1月,1000\n"  # USCC → A, account remembered
        "3300000001,甲织造老厂区,,2025.02,1100\n"  # account linked to A by the row above
        "3300000002,南浔丙电池厂,,202501,500\n"  # former name of B
        "3300000003,湖州 乙电池有限公司,,2025-01,700\n"  # name with a space → B
        "3300000004,湖州共同纺织厂,,2025年1月,300\n"  # former name of D and E → ambiguous
        "3300000005,无名作坊,,2025年1月,10\n"  # nobody
    )
    path = _write(tmp_path / "p.csv", text, encoding="gbk")
    r = import_file("power", path, engine=registered, accept_valid=True)
    assert r.status == "partial"
    codes = r.counts_by_code()
    assert codes["match.ambiguous"] == 1 and codes["match.unknown"] == 1
    assert r.reviews_opened == 2
    with Session(registered) as s:
        reviews = {rv["reason"]: rv for rv in open_reviews(s)}
        assert {c["uscc"] for c in reviews["ambiguous"]["candidates"]} == {D, E}
        assert reviews["ambiguous"]["raw_account"] == "3300000004"
        assert explain(s, B, 2025, "electricity")["value"] == pytest.approx(1200)  # 500 + 700
        # 1000 (Jan) + 1100 (Feb, matched through the account)
        assert explain(s, A, 2025, "electricity")["value"] == pytest.approx(2100)
        # the officer confirms the ambiguous row is E
        confirm(s, reviews["ambiguous"]["id"], E)
        s.commit()
        assert s.get(PowerAccount, "3300000004").enterprise_id == s.scalar(
            select(Enterprise.id).where(Enterprise.uscc == E)
        )
    # next month's file: the confirmed account now matches without asking
    nxt = _write(
        tmp_path / "p2.csv",
        "户号,户名,统一社会信用代码,月份,用电量(千瓦时)\n3300000004,湖州共同纺织厂,,2025年2月,320\n",
        encoding="gbk",
    )
    r2 = import_file("power", nxt, engine=registered)
    assert r2.status == "committed"
    with Session(registered) as s:
        assert explain(s, E, 2025, "electricity")["value"] == pytest.approx(320)


def test_confirmed_name_alias_is_remembered(registered, tmp_path):
    path = _write(tmp_path / "e.csv", "企业名称,年份,化学需氧量(吨)\n湖州甲织造公司,2025,1.5\n")
    r = import_file("emissions", path, engine=registered)
    assert r.status == "rejected" and r.counts_by_code() == {"match.unknown": 1}
    with Session(registered) as s:
        (review,) = open_reviews(s)
        assert review["candidates"][0]["uscc"] == A  # closest name suggested, not applied
        confirm(s, review["id"], A)
        s.commit()
        assert s.scalar(select(func.count()).select_from(MatchAlias)) == 1
        # what an import matches by, as loaded: USCCs, names (current, former, confirmed)
        from industry_brain.ingest.matching import Lookup
        from industry_brain.ingest.normalize import normalize_name

        lookup = Lookup.load(s)
        ids = dict(s.execute(select(Enterprise.uscc, Enterprise.id)).all())
        assert lookup.by_uscc == ids and {lookup.usccs[i] for i in ids.values()} == set(ids)
        assert lookup.names[ids[A]] == "湖州甲织造有限公司"

        def key(name: str) -> str:
            return normalize_name([name]).to_pylist()[0]

        assert lookup.by_name[key("湖州共同纺织厂")] == {ids[D], ids[E]}  # two former names
        assert lookup.by_name[key("南浔丙电池厂")] == {ids[B]}
        assert lookup.by_name[key("湖州甲织造公司")] == {ids[A]}  # the confirmed alias
        assert lookup.by_account == {}
        # the review queue's suggestions: the closest names first, nothing unlike any name
        assert [c["uscc"] for c in lookup.candidates("湖州甲织造厂")][:1] == [A]
        assert lookup.candidates("上海市完全无关贸易行") == []
    r2 = import_file("emissions", path, engine=registered)  # same file, earlier attempt rejected
    assert r2.status == "committed" and r2.facts_inserted == 1


def test_cross_field_warnings_and_duplicates(registered, tmp_path):
    # A: VA 600 > output 500 → warning; B: tax 60 (statistics) > revenue 100 × 0.5 → warning
    text = (
        "统一社会信用代码,企业名称,年份,工业总产值(万元),工业增加值(万元),营业收入(万元),"
        "应交税金(万元),备注\n"
        f"{A},甲,2025,500,600,520,10,x\n"
        f"{B},乙,2025,300,100,100,60,\n"
        f"{B},乙,2025,300,100,100,60,\n"  # duplicate of row 3 → error
    )
    r = import_file(
        "stats_annual", _write(tmp_path / "s.csv", text), engine=registered, accept_valid=True
    )
    codes = r.counts_by_code()
    assert codes["cross.value_added_gt_output"] == 1
    assert codes["cross.tax_gt_revenue_share"] == 1
    assert codes["row.duplicate"] == 1
    assert codes["column.unknown"] == 1  # 备注
    dup = next(p for p in r.problems if p.code == "row.duplicate")
    assert dup.location.row == 4 and "第 3 行" in dup.zh
    assert r.rows_loaded == 2


def test_electricity_jump_against_last_year(registered, tmp_path):
    head = "户号,户名,统一社会信用代码,月份,用电量(万千瓦时)\n"
    import_file(
        "power", _write(tmp_path / "a.csv", head + f"33001,甲,{A},2024年5月,1\n"), engine=registered
    )
    # 2025-05: 12 万kWh vs 1 万kWh in 2024-05 → ×12 > 10 → warning; stored as 120,000 kWh
    r = import_file(
        "power",
        _write(tmp_path / "b.csv", head + f"33001,甲,{A},2025年5月,12\n"),
        engine=registered,
    )
    assert r.status == "committed"
    assert r.counts_by_code() == {"cross.electricity_jump": 1}
    with Session(registered) as s:
        assert explain(s, A, 2025, "electricity")["value"] == pytest.approx(120_000)


@pytest.mark.parametrize("accounts", ["few", "many"])
def test_electricity_jump_sums_last_year_and_reads_this_files_own_earlier_year(
    registered, tmp_path, monkeypatch, accounts
):
    # a file of few accounts has only their stored figures sent back; a large one (forced
    # here) reads the department's year: the same warnings either way
    if accounts == "many":
        monkeypatch.setattr(facts, "BY_KEY_MAX", 0)
    head = "户号,户名,统一社会信用代码,月份,用电量(万千瓦时)\n"
    last_year = (
        f"33001,甲,{A},2024年5月,20\n"
        f"33002,甲,{A},2024年6月,3\n"
        f"33002,乙,{B},2024年6月,2\n"  # one account's month reported for two enterprises
        f"33004,甲,{A},2024年8月,10\n"
    )
    r = import_file("power", _write(tmp_path / "a.csv", head + last_year), engine=registered)
    assert r.status == "committed" and r.facts_inserted == 4
    this_year = (
        f"33001,甲,{A},2025年5月,1\n"  # 1 / 20 = 0.05 < 1/10 → warning (a fall)
        f"33001,甲,{A},2025年6月,30\n"  # no 2024-06 figure of account 33001 → nothing
        f"33002,甲,{A},2025年6月,60\n"  # 60 / (3 + 2) = 12 > 10 → warning against 50,000 kWh
        f"33003,丙,{C},2024年7月,1\n"  # this file's own earlier year …
        f"33003,丙,{C},2025年7月,11\n"  # … 11 / 1 = 11 > 10 → warning
        f"33004,甲,{A},2025年8月,50\n"  # 50 / 10 = 5 → nothing
        f"33005,甲,{A},2025年9月,99\n"  # no figure a year earlier → nothing
    )
    r = import_file("power", _write(tmp_path / "b.csv", head + this_year), engine=registered)
    assert r.status == "committed"
    jumps = sorted((p.location.row, p.zh) for p in r.problems if p.code == "cross.electricity_jump")
    # CSV rows: the header is row 1, so the file's n-th record is row n + 1
    assert [row for row, _ in jumps] == [2, 4, 6]
    assert "上年同月 200000 千瓦时" in jumps[0][1]
    assert "上年同月 50000 千瓦时" in jumps[1][1]
    assert "上年同月 10000 千瓦时" in jumps[2][1]


def test_electricity_jump_finds_accounts_holding_quotes(registered, tmp_path):
    # the few accounts of a correction are written into the query sent through ADBC on
    # PostgreSQL: a quote or a backslash in an account stays part of the value
    head = "户号,户名,统一社会信用代码,月份,用电量(万千瓦时)\n"
    quoted, other = "33'0\\1", "33'0\\2"
    last = f"{head}{quoted},甲,{A},2024年5月,1\n{other},甲,{A},2024年5月,5\n"
    this = f"{head}{quoted},甲,{A},2025年5月,12\n{other},甲,{A},2025年5月,6\n"
    import_file("power", _write(tmp_path / "a.csv", last), engine=registered)
    r = import_file("power", _write(tmp_path / "b.csv", this), engine=registered)
    # 12 / 1 > 10 → warning on row 2; 6 / 5 → nothing
    assert r.status == "committed"
    assert [p.location.row for p in r.problems if p.code == "cross.electricity_jump"] == [2]
    with Session(registered) as s:
        assert set(s.scalars(select(Fact.detail).where(Fact.year == 2025))) == {quoted, other}


def _power_ids(engine, year: int) -> list[int]:
    with Session(engine) as s:
        return list(
            s.scalars(select(Fact.id).where(Fact.source_dept == "power_grid", Fact.year == year))
        )


def test_department_reads_use_the_batches_id_ranges(registered, tmp_path):
    """Last year's electricity is read from the id ranges of the power batches of that year
    (recorded with each batch), not by scanning every fact; the answer is the same as a scan."""
    head = "户号,户名,统一社会信用代码,月份,用电量(万千瓦时)\n"
    for name, year, value in (("p24.csv", 2024, 1), ("p25.csv", 2025, 2)):
        body = "".join(f"3300{m},甲,{A},{year}年{m}月,{value}\n" for m in range(1, 4))
        r = import_file("power", _write(tmp_path / name, head + body), engine=registered)
        assert r.status == "committed" and r.facts_inserted == 3
    tax = f"纳税人识别号,纳税人名称,所属年度,实缴税金(万元)\n{A},甲,2024,5\n"
    r = import_file("tax", _write(tmp_path / "t.csv", tax), engine=registered)
    assert r.status == "committed", r.problems
    ids24, ids25 = _power_ids(registered, 2024), _power_ids(registered, 2025)
    with Session(registered) as s:
        batch = s.scalars(select(ImportBatch).where(ImportBatch.kind == "power")).first()
        assert batch.summary["fact_id_range"] == [min(ids24), max(ids24)]
        assert batch.summary["fact_years"] == [2024]
        assert facts.department_ranges(s, "power_grid", [2024]) == [(min(ids24), max(ids24))]
        # both years' batches were imported one after the other: one range
        assert facts.department_ranges(s, "power_grid", [2024, 2025]) == [(min(ids24), max(ids25))]
        assert facts.department_ranges(s, "power_grid", [2023]) == []
        got = facts.current_values(s, ["electricity"], [2024], source_dept="power_grid")
        assert sorted(got["id"]) == ids24
        assert facts.current_values(s, ["electricity"], [2023], source_dept="power_grid").empty
        # the batch being loaded: its facts are the ids from its first on
        loading = ImportBatch(
            kind="power",
            department="power_grid",
            file_name="x.csv",
            file_hash="x",
            status="committed",
            options={},
            summary={},
        )
        s.add(loading)
        s.flush()
        assert facts.department_ranges(
            s, "power_grid", [2024], loading=loading, loading_from=max(ids25) + 1
        ) == [(min(ids24), max(ids24)), (max(ids25) + 1, None)]
        # a batch of the department without a recorded range (written outside the import):
        # the ranges are unknown, so the read covers every fact again
        fact = Fact(
            enterprise_id=s.scalar(select(Enterprise.id).where(Enterprise.uscc == A)),
            year=2024,
            month=7,
            item="electricity",
            detail="33007",
            value=5.0,
            unit="千瓦时",
            source_dept="power_grid",
            batch_id=loading.id,
        )
        s.add(fact)
        s.flush()
        assert facts.department_ranges(s, "power_grid", [2024]) is None
        got = facts.current_values(s, ["electricity"], [2024], source_dept="power_grid")
        assert sorted(got["id"]) == [*ids24, fact.id]
        s.rollback()


def test_department_read_is_a_primary_key_range_read_on_sqlite(sqlite_engine, tmp_path):
    r = import_file(
        "registration", _write(tmp_path / "reg.csv", REGISTRATION), engine=sqlite_engine
    )
    assert r.status == "committed"
    head = "户号,户名,统一社会信用代码,月份,用电量(万千瓦时)\n"
    for year in (2023, 2024):
        body = f"33001,甲,{A},{year}年5月,1\n"
        r = import_file(
            "power", _write(tmp_path / f"{year}.csv", head + body), engine=sqlite_engine
        )
        assert r.status == "committed"
    with Session(sqlite_engine) as s:
        where = facts.in_ranges(facts.department_ranges(s, "power_grid", [2024]))
        stmt = select(Fact.id).where(Fact.year == 2024, where)
        sql = str(stmt.compile(sqlite_engine, compile_kwargs={"literal_binds": True}))
        plan = " ".join(
            str(row[-1]) for row in s.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
        )
    assert "INTEGER PRIMARY KEY" in plan and "SCAN facts" not in plan, plan


def test_fact_ranges_are_merged():
    assert facts._merged([(25, 30), (1, 5), (6, 9), (20, None), (11, 12)]) == [
        (1, 9),
        (11, 12),
        (20, None),
    ]
    assert facts._merged([(1, 10), (3, 4)]) == [(1, 10)]
    assert facts.in_ranges(None) is None


def test_bad_uscc_is_an_error_naming_the_expected_character(registered, tmp_path):
    wrong = A[:-1] + "X"  # A's check character is U
    text = (
        f"统一社会信用代码,企业名称,年份,营业收入(万元)\n{wrong},甲,2025,1\n{A.lower()},甲,2025,2\n"
    )
    r = import_file(
        "stats_annual", _write(tmp_path / "s.csv", text), engine=registered, accept_valid=True
    )
    err = next(p for p in r.problems if p.code == "uscc.checksum")
    assert "“U”" in err.zh and "'U'" in err.en and err.location.row == 2
    assert r.rows_loaded == 1  # the lower-case code is normalised and matched


def test_missing_required_column_and_year(registered, tmp_path):
    r = import_file(
        "power", _write(tmp_path / "p.csv", "户名,月份\n甲,2025年1月\n"), engine=registered
    )
    assert r.status == "rejected"
    assert r.counts_by_code()["column.missing"] == 1  # 户号 (a blank 用电量 only loads no figure)
    r2 = import_file(
        "tax", _write(tmp_path / "t.csv", f"纳税人识别号,实缴税金(元)\n{A},1\n"), engine=registered
    )
    assert r2.status == "rejected" and "period.missing_year" in r2.counts_by_code()
    r3 = import_file(
        "tax",
        _write(tmp_path / "t.csv", f"纳税人识别号,实缴税金(元)\n{A},1\n"),
        engine=registered,
        year=2025,
    )
    assert r3.status == "committed"


def test_dry_run_changes_nothing(registered, tmp_path):
    path = _write(tmp_path / "t.csv", f"纳税人识别号,所属年度,实缴税金(元)\n{A},2025,1\n")
    before = (
        _count(registered, Fact),
        _count(registered, ImportBatch),
        _count(registered, MatchReview),
    )
    r = import_file("tax", path, engine=registered, dry_run=True)
    assert r.status == "dry_run" and r.rows_loaded == 1
    assert (
        _count(registered, Fact),
        _count(registered, ImportBatch),
        _count(registered, MatchReview),
    ) == before


def test_a_land_reimport_replaces_the_same_parcel_and_holder_only(registered, tmp_path):
    head = (
        "宗地编号,权利人,权利人统一社会信用代码,承租人,承租人统一社会信用代码,用地面积(平方米),"
        "用途,取得方式\n"
    )
    first = (
        f"ZD-1,湖州甲织造有限公司,{A},,,2000,工业,出让\n"
        f"ZD-2,德清丁家具有限公司,{C},湖州乙电池有限公司,{B},6666.67,仓储,租赁\n"
    )
    r1 = import_file(
        "land", _write(tmp_path / "l1.csv", head + first), engine=registered, year=2024
    )
    assert r1.status == "committed"
    # ZD-1 of A again (4,000 m² now), ZD-2 held by D this time (B's lease row stays), ZD-4 new
    second = (
        f"ZD-1,湖州甲织造有限公司,{A},,,4000,工业,出让\n"
        f"ZD-2,长兴戊纺织有限公司,{D},,,6666.67,工业,出让\n"
        f"ZD-4,湖州甲织造有限公司,{A},,,1000,工业,出让\n"
    )
    r2 = import_file(
        "land", _write(tmp_path / "l2.csv", head + second), engine=registered, year=2025
    )
    assert r2.status == "committed"
    with Session(registered) as s:
        ids = dict(s.execute(select(Enterprise.uscc, Enterprise.id)).all())
        usccs = {v: k for k, v in ids.items()}
        rows = sorted(
            (p, usccs[e], round(a, 4), b)
            for p, e, a, b in s.execute(
                select(
                    LandParcel.parcel_no,
                    LandParcel.enterprise_id,
                    LandParcel.area_mu,
                    LandParcel.batch_id,
                )
            )
        )
    # 4,000 m² × 15 / 10,000 = 6 亩; 1,000 m² = 1.5 亩; 6,666.67 m² = 10.0000 亩
    assert rows == [
        ("ZD-1", A, 6.0, r2.batch_id),
        ("ZD-2", B, 10.0, r1.batch_id),
        ("ZD-2", D, 10.0, r2.batch_id),
        ("ZD-4", A, 1.5, r2.batch_id),
    ]


def test_land_lease_counts_for_lessee(registered, tmp_path):
    # 2,000 m² = 2000 × 15 / 10000 = 3 亩 granted to A; 6,666.67 m² ≈ 10 亩 owned by C, leased to B
    text = (
        "宗地编号,权利人,权利人统一社会信用代码,承租人,承租人统一社会信用代码,用地面积(平方米),用途,取得方式,起始日期\n"
        f"ZD-1,湖州甲织造有限公司,{A},,,2000,工业,出让,2015-06-01\n"
        f"ZD-2,德清丁家具有限公司,{C},湖州乙电池有限公司,{B},6666.67,仓储,租赁,\n"
        f"ZD-3,德清丁家具有限公司,{C},,,0,工业,出让,\n"  # zero area → error
    )
    r = import_file(
        "land", _write(tmp_path / "l.csv", text), engine=registered, year=2025, accept_valid=True
    )
    assert r.counts_by_code() == {"value.not_positive": 1}
    with Session(registered) as s:
        assert explain(s, A, 2025, "land")["value"] == pytest.approx(3.0)
        assert explain(s, B, 2025, "land")["value"] == pytest.approx(10.0, abs=1e-4)
        assert explain(s, C, 2025, "land")["value"] is None
        # the parcels as written in bulk (COPY on PostgreSQL): the lessee holds ZD-2
        parcels = s.execute(
            select(
                LandParcel.parcel_no,
                LandParcel.enterprise_id,
                LandParcel.holder_name,
                LandParcel.area_mu,
                LandParcel.land_use,
                LandParcel.tenure,
                LandParcel.start_date,
                LandParcel.end_date,
                LandParcel.row,
                LandParcel.batch_id,
            ).order_by(LandParcel.parcel_no)
        ).all()
        ids = {e.uscc: e.id for e in s.scalars(select(Enterprise))}
        assert [p[:3] for p in parcels] == [
            ("ZD-1", ids[A], "湖州甲织造有限公司"),
            ("ZD-2", ids[B], "湖州乙电池有限公司"),
        ]
        assert parcels[0].area_mu == pytest.approx(3.0) and parcels[1].land_use == "仓储"
        assert (parcels[0].tenure, parcels[1].tenure) == ("出让", "租赁")
        assert parcels[0].start_date == date(2015, 6, 1) and parcels[1].start_date is None
        assert [p.row for p in parcels] == [2, 3] and parcels[0].batch_id == r.batch_id


def test_error_report_workbook(registered, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "税收"
    ws.append(["2025年度企业实缴税金"])
    ws.append(["纳税人识别号", "纳税人名称", "所属年度", "实缴税金(元)"])
    ws.append([A, "甲", 2025, 1000])
    ws.append([B, "乙", 2025, "abc"])
    path = tmp_path / "tax.xlsx"
    wb.save(path)
    r = import_file("tax", path, engine=registered, report_dir=tmp_path / "rep")
    assert r.status == "rejected"
    report = load_workbook(r.report_xlsx)
    listing = report["问题清单"]
    header = [c.value for c in listing[1]]
    first = dict(zip(header, [c.value for c in listing[2]], strict=True))
    assert first["代码 code"] == "value.not_number" and first["行 row"] == 4
    data = report["税收"]
    assert [c.value for c in data[1]][:2] == ["原行号 / Row", "纳税人识别号"]
    bad_row = [c for c in data[3]]
    assert bad_row[0].value == 4 and bad_row[4].value == "abc"
    assert bad_row[4].fill.fgColor.rgb.endswith("FFC7CE")  # problem cell highlighted
    assert "value.not_number" in bad_row[-1].value
    assert [c.value for c in data[2]][-1] is None  # the good row has no problem text
    doc = json.loads(Path(r.report_json).read_text("utf-8"))
    assert doc["status"] == "rejected" and doc["problems"][0]["row"] == 4


def test_unit_column_gives_the_unit_per_row(registered, tmp_path):
    # 实缴税金 1,500,000 元 = 150 万元 for A; 80 万元 for C; "吨" is no money unit → error
    text = (
        "纳税人识别号,所属年度,实缴税金,单位\n"
        f"{A},2025,1500000,元\n"
        f"{C},2025,80,万元\n"
        f"{B},2025,3,吨\n"
    )
    r = import_file("tax", _write(tmp_path / "t.csv", text), engine=registered, accept_valid=True)
    assert r.counts_by_code() == {"value.bad_unit": 1}
    bad = r.problems[0]
    assert bad.location.row == 4 and bad.location.column.startswith("D")
    with Session(registered) as s:
        assert explain(s, A, 2025, "tax")["value"] == pytest.approx(150)
        assert explain(s, C, 2025, "tax")["value"] == pytest.approx(80)
        assert explain(s, B, 2025, "tax")["value"] is None


def _power_rows(accounts: int, value) -> tuple[str, dict[int, tuple]]:  # type: ignore[no-untyped-def]
    """A power CSV of ``accounts`` accounts × 12 months of 2025 (the last account 11 months),
    owners A–E by account number; December rows carry no USCC (matched through the account's
    other rows). Returns the text and, by line number, (account, uscc, month, raw, value)."""
    owners = [A, B, C, D, E]
    lines = ["户号,户名,统一社会信用代码,月份,用电量(千瓦时)"]
    expected: dict[int, tuple] = {}
    for k in range(accounts):
        for month in range(1, 12 if k == accounts - 1 else 13):
            owner = owners[k % 5]
            number = value(k, month)
            raw = f"{number:,.1f}" if (k + month) % 7 == 0 else f"{number:.1f}"
            cell = f'"{raw}"' if "," in raw else raw
            code = "" if month == 12 else owner
            lines.append(f"3300{k:05d},户{k % 5},{code},2025年{month}月,{cell}")
            expected[len(lines)] = (f"3300{k:05d}", owner, month, raw, float(f"{number:.1f}"))
    return "\n".join(lines) + "\n", expected


def _stored_power(engine) -> dict[int, tuple]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        rows = s.execute(
            select(
                Fact.row,
                Fact.detail,
                Enterprise.uscc,
                Fact.month,
                Fact.raw_value,
                Fact.value,
                Fact.column,
                Fact.sheet,
                Fact.year,
                Fact.unit,
                Fact.batch_id,
                Fact.id,
                Fact.superseded_by,
            )
            .join(Enterprise, Enterprise.id == Fact.enterprise_id)
            .where(Fact.item == "electricity")
        ).all()
    return rows


def _replaced_reads(monkeypatch) -> list:
    """Collects the loader's reads of the figures an import may replace (the department's
    current facts of the file's items and years), as statements."""
    seen: list = []
    read = load_mod.read_frame

    def record(bind, stmt, columns):
        if columns and columns[0] == "old_id":
            seen.append(stmt)
        return read(bind, stmt, columns)

    monkeypatch.setattr(load_mod, "read_frame", record)
    return seen


@pytest.mark.parametrize("by", ["enterprise", "range"])
def test_large_power_file_keeps_every_cell_and_supersedes_exactly(
    registered, tmp_path, monkeypatch, by
):
    # the figures a file may replace are read by enterprise when it names few (a correction),
    # else in the department's id ranges: the same outcome either way
    if by == "range":
        monkeypatch.setattr(facts, "BY_KEY_MAX", 0)
    reads = _replaced_reads(monkeypatch)
    # 417 accounts × 12 months - 1 = 5,003 rows: more than the rows above which repeating text
    # is shared between rows, and not a multiple of the rows per INSERT statement
    text, expected = _power_rows(417, lambda k, m: k * 1000 + m * 10 + 0.5)
    r = import_file("power", _write(tmp_path / "p1.csv", text, "gbk"), engine=registered)
    assert r.status == "committed", r.problems[:3]
    assert (r.rows_total, r.rows_loaded, r.facts_inserted) == (5003, 5003, 5003)
    stored = _stored_power(registered)
    assert len(stored) == 5003
    for row, detail, uscc, month, raw, value, column, sheet, year, unit, batch, _, sup in stored:
        assert (detail, uscc, month, raw, value) == expected[row]
        assert (column, sheet, year, unit, batch, sup) == (
            "E（用电量(千瓦时)）",
            None,
            2025,
            "千瓦时",
            r.batch_id,
            None,
        )
    assert _count(registered, PowerAccount) == 417
    with Session(registered) as s:
        owner = s.scalar(
            select(Enterprise.uscc)
            .join(PowerAccount, PowerAccount.enterprise_id == Enterprise.id)
            .where(PowerAccount.account_no == "330000416")
        )
        assert owner == [A, B, C, D, E][416 % 5]

    # a corrected file: every month 3 changes (417 facts), the other 4,586 stay as they are
    text2, expected2 = _power_rows(417, lambda k, m: k * 1000 + m * 10 + (7.5 if m == 3 else 0.5))
    r2 = import_file("power", _write(tmp_path / "p2.csv", text2, "gbk"), engine=registered)
    assert r2.status == "committed", r2.problems[:3]
    assert (r2.facts_inserted, r2.facts_superseded, r2.facts_unchanged) == (417, 417, 4586)
    # one read per import: the file's 5 enterprises by key, or the batches' id ranges
    assert len(reads) == 2
    sql = [" ".join(str(q).split()) for q in reads]
    assert all(("facts.enterprise_id IN" in q) == (by == "enterprise") for q in sql)
    assert all(("facts.id >=" in q or "BETWEEN" in q) == (by == "range") for q in sql)
    if registered.dialect.name == "sqlite":  # by key: the index, not a scan of the table
        literal = str(reads[-1].compile(registered, compile_kwargs={"literal_binds": True}))
        with registered.connect() as conn:
            plan = " ".join(
                str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {literal}")
            )
        access = "USING INDEX ix_facts_lookup" if by == "enterprise" else "INTEGER PRIMARY KEY"
        assert access in plan and "SCAN facts" not in plan, plan
    stored = _stored_power(registered)
    assert len(stored) == 5003 + 417
    by_id = {f[11]: f for f in stored}
    for row, detail, uscc, month, raw, value, _, _, _, _, batch, _, sup in stored:
        if batch == r2.batch_id:
            assert month == 3 and sup is None
            assert (detail, uscc, month, raw, value) == expected2[row]
        elif month == 3:  # superseded by the new fact of the same account and month
            new = by_id[sup]
            assert (new[1], new[3], new[10]) == (detail, 3, r2.batch_id)
            assert (detail, uscc, month, raw, value) == expected[row]
        else:
            assert sup is None and (detail, uscc, month, raw, value) == expected[row]


@pytest.mark.parametrize(
    "values",
    [
        [f"户{i % 37}" if i % 11 else None for i in range(10_000)],  # repeating, with nulls
        [f"{i}.5" for i in range(10_000)],  # all distinct
        ["ok"] * 9_999 + ["invalid"],
        [None] * 5_000,
        ["a", None, "b"],  # short
    ],
)
def test_objects_gives_the_python_values_of_a_column(values):
    import pyarrow as pa

    from industry_brain.ingest.pipeline import _objects

    arr = pa.array(values, pa.string())
    assert _objects(arr).tolist() == values
    assert _objects(pa.chunked_array([arr.slice(0, 3), arr.slice(3)])).tolist() == values
    assert _objects(pa.chunked_array([arr]).combine_chunks().dictionary_encode()).tolist() == values


def test_values_shared_by_all_rows_are_stored_exactly(registered, tmp_path):
    # one tax type (with a quote) in every row, two years: the detail is the same everywhere,
    # the year is not; 1,000,000 元 = 100 万元
    text = (
        "纳税人识别号,所属年度,税种,实缴税金(元)\n"
        f"{A},2025,增值税'一般',1000000\n"
        f"{C},2025,增值税'一般',500000\n"
        f"{A},2024,增值税'一般',900000\n"
    )
    r = import_file("tax", _write(tmp_path / "t.csv", text), engine=registered)
    assert r.status == "committed" and r.facts_inserted == 3
    with Session(registered) as s:
        got = sorted(
            s.execute(
                select(Enterprise.uscc, Fact.year, Fact.month, Fact.detail, Fact.value, Fact.row)
                .join(Enterprise, Enterprise.id == Fact.enterprise_id)
                .where(Fact.item == "tax_paid")
            ).all()
        )
    assert got == [
        (A, 2024, 0, "增值税'一般'", 90.0, 4),
        (A, 2025, 0, "增值税'一般'", 100.0, 2),
        (C, 2025, 0, "增值税'一般'", 50.0, 3),
    ]


# -- issue 13: hardening -----------------------------------------------------------------------
POWER_TEXT = (
    "户号,户名,统一社会信用代码,月份,用电量(千瓦时)\n"
    f"3300000001,湖州甲织造有限公司,{A},2025年1月,1000\n"
    "3300000005,无名作坊,,2025年1月,10\n"  # nobody: a review entry
)


def _open_review_count(engine) -> int:  # type: ignore[no-untyped-def]
    return _count(engine, MatchReview, MatchReview.status == "open")


def test_same_content_is_a_duplicate_whatever_the_flags(registered, tmp_path):
    """Re-importing with --accept-valid made a new batch and opened the same review ×3."""
    path = _write(tmp_path / "p.csv", POWER_TEXT, encoding="gbk")
    first = import_file("power", path, engine=registered)
    assert first.status == "rejected" and first.reviews_opened == 1
    # a rejected file may be tried again (the store may have changed), but opens no review twice
    again = import_file("power", path, engine=registered)
    assert again.status == "rejected" and again.reviews_opened == 0
    assert _open_review_count(registered) == 1
    partial = import_file("power", path, engine=registered, accept_valid=True)
    assert partial.status == "partial" and partial.rows_loaded == 1
    assert partial.reviews_opened == 0 and _open_review_count(registered) == 1
    batches, problems = _count(registered, ImportBatch), _count(registered, ImportProblem)
    facts = _count(registered, Fact)
    for accept in (True, False):
        dup = import_file("power", path, engine=registered, accept_valid=accept)
        assert dup.status == "duplicate" and dup.duplicate_of == partial.batch_id
    assert _count(registered, ImportBatch) == batches
    assert _count(registered, ImportProblem) == problems
    assert _count(registered, Fact) == facts
    assert _open_review_count(registered) == 1
    with Session(registered) as s:
        (identity,) = s.scalars(select(MatchReview.identity)).all()
        assert identity.startswith("power:") and identity.endswith(":3")  # kind, hash, row 3


def test_error_report_of_a_large_file_lists_its_problem_rows_with_their_values(
    registered, tmp_path, monkeypatch
):
    """Above ``FULL_ROWS_LIMIT`` rows the data sheet holds the problem rows only, each with its
    own cells (only those rows become Python values). With the limit at 1, a three-row file
    whose middle and last rows are bad gives a sheet of those two rows."""
    from industry_brain.ingest import report

    monkeypatch.setattr(report, "FULL_ROWS_LIMIT", 1)
    path = tmp_path / "tax.csv"
    path.write_text(
        "纳税人识别号,纳税人名称,所属年度,实缴税金(元)\n"
        f"{A},甲,2025,1000\n{B},乙,2025,abc\n{A},甲,2025,-x\n",
        "utf-8",
    )
    r = import_file("tax", path, engine=registered, report_dir=tmp_path / "rep")
    sheet = next(ws for ws in load_workbook(r.report_xlsx) if ws.title != "问题清单")
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert [(row[0], row[1], row[2], row[4]) for row in rows] == [
        (3, B, "乙", "abc"),
        (4, A, "甲", "-x"),
    ]
    assert all("value.not_number" in row[-1] for row in rows)


def test_a_failing_report_cannot_fail_a_committed_import(registered, tmp_path):
    """The report writer failing after the commit gave an error exit for a committed batch
    (and the rerun said 'duplicate'). Reports are written before the commit; a failure is a
    warning and the import is whole."""
    path = _write(tmp_path / "t.csv", f"纳税人识别号,所属年度,实缴税金(元)\n{A},2025,2500000\n")
    blocked = tmp_path / "reports"
    blocked.write_text("a file where the report folder should be")  # mkdir fails for real
    r = import_file("tax", path, engine=registered, report_dir=blocked)
    assert r.status == "committed" and r.facts_inserted == 1
    (warning,) = r.warnings
    assert warning.code == "report.failed" and "FileExistsError" in warning.en
    with Session(registered) as s:
        batch = s.get(ImportBatch, r.batch_id)
        assert batch.status == "committed" and batch.summary["warnings"] == 1
        codes = s.scalars(select(ImportProblem.code).where(ImportProblem.batch_id == batch.id))
        assert list(codes) == ["report.failed"]


def test_nul_and_a_field_over_128_kib_are_cell_errors(registered, tmp_path):
    """NUL bytes crashed the report writer after the commit; a CSV field over 128 KiB raised."""
    long_name = "A" * 140_000
    text = (
        "纳税人识别号,纳税人名称,所属年度,实缴税金(元)\n"
        f"{A},湖州甲\x00织造,2025,1\n"
        f"{B},{long_name},2025,2\n"
        f"{C},德清丁家具有限公司,2025,3\n"
    )
    path = _write(tmp_path / "t.csv", text, encoding="utf-8")
    r = import_file("tax", path, engine=registered, report_dir=tmp_path / "out")
    assert r.status == "rejected"
    found = {(p.code, p.location.row, p.location.column) for p in r.errors}
    assert found == {
        ("value.control_char", 2, "B（纳税人名称）"),
        ("value.too_long", 3, "B（纳税人名称）"),
    }
    control = next(p for p in r.errors if p.code == "value.control_char")
    assert control.value == "湖州甲\\x00织造"  # shown escaped, never as a raw NUL
    too_long = next(p for p in r.errors if p.code == "value.too_long")
    assert "32000" in too_long.en and len(str(too_long.value)) < 100
    assert Path(r.report_json).exists()
    assert _count(registered, Fact, Fact.item == "tax_paid") == 0


def test_plausibility_bounds_and_data_years(registered, tmp_path, monkeypatch):
    """1e308 kWh, tax 1e300 元, 1.5e9 employees, months 1900-01 and 2100-12, statistics for
    2100 and 1901 were stored; the platform's clock (IB_TODAY) bounds the data year."""
    monkeypatch.setenv("IB_TODAY", "2026-06-30")
    power = _write(
        tmp_path / "p.csv",
        "户号,户名,统一社会信用代码,月份,用电量(千瓦时)\n"
        f"3301,甲,{A},2025-01,1e308\n"
        f"3301,甲,{A},1900-01,5\n"
        f"3301,甲,{A},2100-12,5\n"
        f"3301,甲,{A},2025-02,99999999999\n",  # 1e11 - 1 kWh: within the bound
    )
    r = import_file("power", power, engine=registered)
    assert r.status == "rejected"
    by_row = {p.location.row: p for p in r.errors}
    assert set(by_row) == {2, 3, 4}
    assert by_row[2].code == "value.implausible"
    assert "1e+11 千瓦时" in by_row[2].zh and "1e+11 千瓦时" in by_row[2].en
    assert by_row[3].code == by_row[4].code == "value.year_out_of_range"
    assert "2000–2026" in by_row[3].en
    stats = _write(
        tmp_path / "s.csv",
        "统一社会信用代码,年份,营业收入(万元),从业人员平均人数,应交税金(元)\n"
        f"{A},2025,100,1500000000,10\n"
        f"{B},2025,100,10,1e300\n"
        f"{C},2100,100,10,10\n"
        f"{D},1901,100,10,10\n",
    )
    r = import_file("stats_annual", stats, engine=registered)
    assert sorted((p.code, p.location.row) for p in r.errors) == [
        ("value.implausible", 2),
        ("value.implausible", 3),
        ("value.year_out_of_range", 4),
        ("value.year_out_of_range", 5),
    ]
    assert _count(registered, Fact, Fact.year.in_((1900, 1901, 2100))) == 0
    # the clock decides: with today in 2024, data of 2025 are from the future
    monkeypatch.setenv("IB_TODAY", "2024-06-30")
    r = import_file(
        "tax",
        _write(tmp_path / "t.csv", f"纳税人识别号,所属年度,实缴税金(元)\n{A},2025,1\n"),
        engine=registered,
    )
    assert r.counts_by_code() == {"value.year_out_of_range": 1}
    with pytest.raises(ValidationError) as info:
        import_file(
            "tax",
            _write(tmp_path / "t2.csv", f"纳税人识别号,实缴税金(元)\n{A},1\n"),
            engine=registered,
            year=2100,
        )
    assert info.value.code == "import.year" and "2000–2024" in info.value.en


def test_names_are_cleaned_of_invisible_characters_and_formula_like_names_warned(
    registered, tmp_path
):
    """U+202E, zero-width characters and control characters in names were stored unchanged;
    a name starting with '=' went into every exported workbook as a live formula."""
    f_code, g_code, h_code = "91330502MA2B3C4J11", "91330502MA2B3C4K12", "91330502MA2B3C4L13"
    text = (
        "统一社会信用代码,企业名称,所属区县,行业代码\n"
        f"{f_code},湖州庚\u202e司公限有\u200b,吴兴区,1751\n"
        f'{g_code},"=HYPERLINK(""http://evil.example/x"",""点击"")",吴兴区,1751\n'
        f"{h_code},湖州壬\x07有限公司,吴兴区,1751\n"
    )
    path = _write(tmp_path / "reg2.csv", text)
    r = import_file("registration", path, engine=registered, accept_valid=True)
    assert r.status == "partial" and r.rows_loaded == 2
    codes = {(p.code, p.severity, p.location.row) for p in r.problems}
    assert codes == {
        ("value.invisible_removed", "warning", 2),
        ("value.formula_like", "warning", 3),
        ("value.control_char", "error", 4),
    }
    removed = next(p for p in r.problems if p.code == "value.invisible_removed")
    assert "U+200B U+202E" in removed.zh and "U+200B U+202E" in removed.en
    with Session(registered) as s:
        names = dict(s.execute(select(Enterprise.uscc, Enterprise.name)).all())
    assert names[f_code] == "湖州庚司公限有"
    assert names[g_code].startswith("=HYPERLINK(")  # kept as text, warned
    assert h_code not in names


@given(
    st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=30),
    st.lists(st.text(max_size=4), max_size=30),
)
def test_account_codes_in_arrow_equal_pandas_factorize(stored, accounts):
    """The year-on-year electricity check keys accounts by integer codes computed in Arrow
    (``validate._text_codes``); they equal ``pd.factorize`` of the stored and the file's
    accounts together (first appearance order, -1 for a missing value)."""
    import numpy as np
    import pandas as pd

    from industry_brain.ingest.validate import _text_codes

    left = pd.Series(stored, dtype="str")
    right = np.array(accounts, dtype=object)
    expected, _ = pd.factorize(np.concatenate([left.to_numpy(dtype=object), right]))
    assert _text_codes(left, right).tolist() == expected.tolist()


def test_lookup_reads_few_keys_by_key(registered, tmp_path, monkeypatch):
    """``Lookup.accounts_of``, ``usccs_of`` and ``names_of``: the known keys among those asked,
    by key for a few, from the whole table for many — and keys written during the import count
    once added."""
    path = _write(
        tmp_path / "p.csv",
        "户号,户名,统一社会信用代码,月份,用电量(千瓦时)\n"
        f"3300000001,甲,{A},2025年1月,1000\n3300000002,乙,{B},2025年1月,900\n",
        encoding="gbk",
    )
    assert import_file("power", path, engine=registered).status == "committed"
    with Session(registered) as s:
        ids = dict(s.execute(select(Enterprise.uscc, Enterprise.id)).all())
        asked = np.array(["3300000002", None, "3300000009", "3300000002"], dtype=object)
        few = Lookup(s)
        assert few.accounts_of(asked) == {"3300000002": ids[B]}
        assert "by_account" not in few.__dict__  # the table was not read whole
        few.add_accounts([("3300000009", ids[A])])  # not read yet: nothing to update
        assert "by_account" not in few.__dict__
        monkeypatch.setattr(facts, "BY_KEY_MAX", 1)
        many = Lookup(s)
        assert many.accounts_of(asked) == {"3300000002": ids[B]}
        assert many.by_account == {"3300000001": ids[A], "3300000002": ids[B]}
        many.add_accounts([("3300000009", ids[A])])
        assert many.accounts_of(["3300000009"]) == {"3300000009": ids[A]}
        # USCCs the same way: by key for a few, and the registry once read
        monkeypatch.setattr(facts, "BY_KEY_MAX", 10)
        usccs = Lookup(s)
        assert usccs.usccs_of(np.array([B, None, "91330000MA00000000", B], dtype=object)) == {
            B: ids[B]
        }
        assert "by_uscc" not in usccs.__dict__
        assert usccs.by_uscc == ids
        usccs.add_usccs([("91330000MA00000000", 99)])
        assert usccs.usccs_of(["91330000MA00000000"]) == {"91330000MA00000000": 99}
        # names (current and former) the same way: by key, or from every name once read
        from industry_brain.ingest.normalize import normalize_name

        common, former = normalize_name(["湖州共同纺织厂", "南浔丙电池厂"]).to_pylist()
        names = Lookup(s)
        asked_names = [common, None, "没有这家", former, common]
        assert names.names_of(asked_names) == {common: {ids[D], ids[E]}, former: {ids[B]}}
        assert "by_name" not in names.__dict__
        assert names.by_name[common] == {ids[D], ids[E]}
        assert names.names_of(asked_names) == {common: {ids[D], ids[E]}, former: {ids[B]}}
        # a key holding NUL is never stored (and PostgreSQL takes no NUL in a parameter)
        fresh = Lookup(s)
        assert fresh.names_of(["无名\x00作坊"]) == {}
        assert fresh.accounts_of(["33\x0001"]) == {}
        assert fresh.usccs_of([B[:5] + "\x00" + B[6:], B]) == {B: ids[B]}
