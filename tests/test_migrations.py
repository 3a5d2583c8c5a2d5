"""Alembic migrations on SQLite and PostgreSQL: schema, reference data, up/down, models in sync."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.store import db, migrate
from industry_brain.store.models import Base, Industry, Region, Role

TABLES = sorted(
    [
        "regions",
        "industries",
        "enterprises",
        "enterprise_names",
        "enterprise_scales",
        "facts",
        "import_batches",
        "import_problems",
        "land_parcels",
        "power_accounts",
        "match_aliases",
        "match_reviews",
        "roles",
        "users",
        "agent_assignments",
        "projects",
        "audit_log",
        "alembic_version",
    ]
)

# GB/T 4754-2017 divisions 13–43 (shared/domain/codes.md §3).
DIVISIONS = {
    "13": "农副食品加工业",
    "14": "食品制造业",
    "15": "酒、饮料和精制茶制造业",
    "16": "烟草制品业",
    "17": "纺织业",
    "18": "纺织服装、服饰业",
    "19": "皮革、毛皮、羽毛及其制品和制鞋业",
    "20": "木材加工和木、竹、藤、棕、草制品业",
    "21": "家具制造业",
    "22": "造纸和纸制品业",
    "23": "印刷和记录媒介复制业",
    "24": "文教、工美、体育和娱乐用品制造业",
    "25": "石油、煤炭及其他燃料加工业",
    "26": "化学原料和化学制品制造业",
    "27": "医药制造业",
    "28": "化学纤维制造业",
    "29": "橡胶和塑料制品业",
    "30": "非金属矿物制品业",
    "31": "黑色金属冶炼和压延加工业",
    "32": "有色金属冶炼和压延加工业",
    "33": "金属制品业",
    "34": "通用设备制造业",
    "35": "专用设备制造业",
    "36": "汽车制造业",
    "37": "铁路、船舶、航空航天和其他运输设备制造业",
    "38": "电气机械和器材制造业",
    "39": "计算机、通信和其他电子设备制造业",
    "40": "仪器仪表制造业",
    "41": "其他制造业",
    "42": "废弃资源综合利用业",
    "43": "金属制品、机械和设备修理业",
}

HUZHOU_COUNTIES = {
    "330502": "吴兴区",
    "330503": "南浔区",
    "330521": "德清县",
    "330522": "长兴县",
    "330523": "安吉县",
}

ROLES = {
    "admin",
    "city_officer",
    "county_officer",
    "agent",
    "enterprise",
    "bank",
    "assessor",
    "provider",
}


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {
            model.__tablename__: s.scalar(select(func.count()).select_from(model))
            for model in (Region, Industry, Role)
        }


def head_revision(engine: Engine) -> str:
    head = ScriptDirectory.from_config(migrate.alembic_config(engine)).get_current_head()
    assert head is not None
    return head


def test_upgrade_from_empty_creates_all_tables(db_url: str) -> None:
    engine = db.make_engine(db_url)
    try:
        assert migrate.table_names(engine) == []
        assert migrate.current_revision(engine) is None
        revision = migrate.upgrade(engine)
        tables = migrate.table_names(engine)
        # the foundation's tables, and exactly the tables the models (all services) declare
        assert set(TABLES) <= set(tables)
        assert tables == sorted([*Base.metadata.tables, "alembic_version"])
        assert revision == migrate.current_revision(engine) == head_revision(engine)
    finally:
        engine.dispose()


def test_reference_data(engine: Engine) -> None:
    """Huzhou as the seeds describe it, inside the complete national tables (exact counts of
    every level are checked in tests/test_reference.py)."""
    with Session(engine) as s:
        counties = {
            r.code: r
            for r in s.scalars(
                select(Region).where(Region.parent_code == "330500", Region.valid_to.is_(None))
            )
        }
        assert {code: r.name for code, r in counties.items()} == HUZHOU_COUNTIES
        assert all(r.level == "county" for r in counties.values())
        # 330511 郊区 was a county of Huzhou until 1988: kept, with its end date
        suburb = s.get(Region, "330511")
        assert (suburb.name, suburb.valid_to.year) == ("郊区", 1988)
        huzhou = s.get(Region, "330500")
        assert (huzhou.name, huzhou.level, huzhou.parent_code) == ("湖州市", "city", "330000")
        zhejiang = s.get(Region, "330000")
        assert (zhejiang.name, zhejiang.level, zhejiang.parent_code) == ("浙江省", "province", None)

        section = s.get(Industry, "C")
        assert (section.name, section.level, section.parent_code) == ("制造业", "section", None)
        divisions = {
            i.code: i
            for i in s.scalars(
                select(Industry).where(Industry.level == "division", Industry.parent_code == "C")
            )
        }
        assert {code: i.name for code, i in divisions.items()} == DIVISIONS
        assert {i.standard for i in divisions.values()} == {"GB/T 4754-2017"}

        classes = list(s.scalars(select(Industry).where(Industry.level == "class")))
        assert len(classes) == 1381
        for cls in classes:
            assert len(cls.code) == 4
            assert cls.parent_code == cls.code[:3]
        # 3841 锂离子电池制造 sits under 384 电池制造 of 38 (codes.md: power batteries → 38)
        battery = s.get(Industry, "3841")
        assert (battery.name, battery.parent_code) == ("锂离子电池制造", "384")
        assert s.get(Industry, "384").parent_code == "38"

        roles = {r.name: r for r in s.scalars(select(Role))}
        assert set(roles) == ROLES
        assert all(r.zh for r in roles.values())


def test_upgrade_is_idempotent(engine: Engine) -> None:
    before = counts(engine)
    # every code GB/T 2260 ever used (6,450 distinct of 6,823 incarnations), the 133
    # statistics-only county units and 41,352 towns of the NBS table
    assert before["regions"] == 6450 + 133 + 41352
    assert before["industries"] == 20 + 97 + 473 + 1381
    assert before["roles"] == len(ROLES)
    tables = migrate.table_names(engine)
    assert migrate.upgrade(engine) == head_revision(engine)
    assert counts(engine) == before
    assert migrate.table_names(engine) == tables


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    before = counts(engine)
    migrate.downgrade(engine, "base")
    assert migrate.table_names(engine) == ["alembic_version"]
    assert migrate.current_revision(engine) is None
    assert migrate.upgrade(engine) == head_revision(engine)
    assert migrate.table_names(engine) == sorted([*Base.metadata.tables, "alembic_version"])
    assert counts(engine) == before


def test_revision_is_head(engine: Engine) -> None:
    assert migrate.current_revision(engine) == head_revision(engine)
    # a single head: no branches to merge
    heads = ScriptDirectory.from_config(migrate.alembic_config(engine)).get_heads()
    assert len(heads) == 1


def test_models_match_migrations(engine: Engine) -> None:
    with engine.connect() as conn:
        include = migrate.include_object_for(conn.dialect.name)  # 0024's trigger-checked keys
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include}
        )
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_upgrade_uses_default_database(monkeypatch: pytest.MonkeyPatch) -> None:
    # With no engine and no IB_DATABASE_URL, the store is a SQLite file under IB_DATA_DIR.
    url = db.database_url()
    assert url == f"sqlite:///{db.data_dir() / 'industry_brain.sqlite'}"
    assert migrate.upgrade() == head_revision(db.get_engine())
    assert (db.data_dir() / "industry_brain.sqlite").exists()
    db.get_engine().dispose()


def test_0029_records_every_batch_fact_range_and_drops_the_brin_index(
    engine: Engine, tmp_path
) -> None:
    """0029 drops 0026's BRIN index of the batch (PostgreSQL) and gives every batch written
    before ranges were recorded its facts' id range and years, found in one pass: here a tax
    batch of two 2025 facts whose recorded range is taken away at 0028, and a batch without
    facts (an empty range, [1, 0])."""
    from sqlalchemy import inspect

    from industry_brain.ingest import import_file
    from industry_brain.store.models import Fact, ImportBatch

    uscc = "91330502MA2B3C4D1U"
    reg = tmp_path / "reg.csv"
    reg.write_text(f"统一社会信用代码,企业名称,所属区县,行业代码\n{uscc},甲,吴兴区,1751\n", "utf-8")
    assert import_file("registration", reg, engine=engine).status == "committed"
    tax = tmp_path / "tax.csv"
    tax.write_text(
        f"纳税人识别号,所属年度,税种,实缴税金(元)\n{uscc},2025,增值税,1000\n{uscc},2025,房产税,30\n",
        "utf-8",
    )
    result = import_file("tax", tax, engine=engine)
    assert result.status == "committed"
    with Session(engine) as s:
        ids = sorted(s.scalars(select(Fact.id).where(Fact.batch_id == result.batch_id)))
        registration = s.scalar(select(ImportBatch.id).where(ImportBatch.kind == "registration"))
    assert len(ids) == 2
    migrate.downgrade(engine, "0028_facts_lookup_month")
    if engine.dialect.name == "postgresql":
        assert "ix_facts_batch" in {i["name"] for i in inspect(engine).get_indexes("facts")}
    with Session(engine) as s:  # as a batch written before ranges were recorded
        for batch in s.scalars(select(ImportBatch)):
            batch.summary = {
                k: v for k, v in batch.summary.items() if k not in ("fact_id_range", "fact_years")
            }
        s.commit()
    migrate.upgrade(engine)
    assert "ix_facts_batch" not in {i["name"] for i in inspect(engine).get_indexes("facts")}
    with Session(engine) as s:
        summary = s.get(ImportBatch, result.batch_id).summary
        assert summary["fact_id_range"] == [ids[0], ids[1]] and summary["fact_years"] == [2025]
        empty = s.get(ImportBatch, registration).summary
        assert empty["fact_id_range"] == [1, 0] and empty["fact_years"] == []


def test_0031_records_every_batch_fact_units(engine: Engine, tmp_path) -> None:
    """0031 gives every batch written before units were recorded the unit of each item among
    its facts, found in one pass (a tax batch: 实缴税金 in 万元), an empty record to a batch
    without facts (registration), and a service's batch written after 0029 without a range
    (an official list) its empty range too."""
    from industry_brain.ingest import import_file
    from industry_brain.store import facts as fact_store
    from industry_brain.store.models import ImportBatch

    uscc = "91330502MA2B3C4D1U"
    reg = tmp_path / "reg.csv"
    reg.write_text(f"统一社会信用代码,企业名称,所属区县,行业代码\n{uscc},甲,吴兴区,1751\n", "utf-8")
    assert import_file("registration", reg, engine=engine).status == "committed"
    tax = tmp_path / "tax.csv"
    tax.write_text(f"纳税人识别号,所属年度,税种,实缴税金(元)\n{uscc},2025,增值税,1000\n", "utf-8")
    result = import_file("tax", tax, engine=engine)
    assert result.status == "committed"
    with Session(engine) as s:
        assert s.get(ImportBatch, result.batch_id).summary["fact_units"] == {"tax_paid": "万元"}
        listed = ImportBatch(
            kind="tier_list", department="economy", file_name="名单.csv", file_hash="t" * 64,
            status="committed", summary={"titles": 1},
        )  # fmt: skip
        s.add(listed)
        s.commit()
        listed_id = listed.id
    migrate.downgrade(engine, "0030_facts_period_check")
    with Session(engine) as s:  # as batches written before units were recorded
        for batch in s.scalars(select(ImportBatch)):
            batch.summary = {k: v for k, v in batch.summary.items() if k != "fact_units"}
        s.commit()
        assert fact_store.batch_units(s, [result.batch_id]) is None
    migrate.upgrade(engine)
    with Session(engine) as s:
        by_kind = {b.kind: b.summary for b in s.scalars(select(ImportBatch))}
        assert by_kind["tax"]["fact_units"] == {"tax_paid": "万元"}
        assert by_kind["registration"]["fact_units"] == {}
        assert by_kind["tier_list"]["fact_id_range"] == [1, 0]
        assert by_kind["tier_list"]["fact_units"] == {} and by_kind["tier_list"]["titles"] == 1
        ids = list(s.scalars(select(ImportBatch.id)))
        assert listed_id in ids
        assert fact_store.batch_units(s, ids) == {"tax_paid": "万元"}
