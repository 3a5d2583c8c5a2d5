"""National reference data (issue 12): complete tables with exact counts, codes as departments
write them, code history by data year, jurisdiction, towns, refreshing with a new edition.

Counts come from the shipped files themselves (../shared/reference/README.md states them):
GB/T 2260 in use at 2024-12-31: 34 provinces, 333 prefectures, 2,846 counties; 133 statistics-only
county-level units and 41,352 towns of the NBS table; GB/T 4754-2017: 20 sections, 97 divisions,
473 groups, 1,381 classes.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from industry_brain.core import uscc as uscc_core
from industry_brain.ingest import import_file
from industry_brain.store import codes, reference
from industry_brain.store.models import Enterprise, Industry, Region, RegionHistory

SHIPPED = {
    r["code"]: r
    for r in reference.read_csv_rows(
        reference.packaged_bytes("gbt4754_2017.csv"), "gbt4754_2017.csv"
    )
}
REGIONS_2024 = reference.read_csv_rows(
    (
        Path(reference.__file__).parent / "reference_data" / "gbt2260_history_1981_2024.csv"
    ).read_bytes(),
    "history.csv",
)


def _count(session: Session, model, *where) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model).where(*where))


# -- complete tables --------------------------------------------------------------------------
def test_every_level_is_loaded_with_exact_counts(engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        in_use = Region.valid_to.is_(None)
        gbt = Region.source == "gbt2260"
        assert _count(s, Region, in_use, gbt, Region.level == "province") == 34
        assert _count(s, Region, in_use, gbt, Region.level == "city") == 333
        assert _count(s, Region, in_use, gbt, Region.level == "county") == 2846
        assert _count(s, Region, Region.source == "nbs", Region.level == "county") == 133
        assert _count(s, Region, Region.level == "town") == 41352
        assert _count(s, RegionHistory) == 6823
        for level, n in (("section", 20), ("division", 97), ("group", 473), ("class", 1381)):
            assert _count(s, Industry, Industry.level == level) == n
        # the names the old demo table had wrong, from the standard
        names = dict(s.execute(select(Industry.code, Industry.name)).all())
        assert names["1954"] == "橡胶鞋制造"
        assert names["3731"] == "金属船舶制造"
        assert names["3856"] == "家用美容、保健护理电器具制造"
        assert "1310" not in names
        assert (names["3421"], names["2651"]) == ("金属切削机床制造", "初级形态塑料及合成树脂制造")
        # parents: class → group → division → section
        parents = dict(s.execute(select(Industry.code, Industry.parent_code)).all())
        assert [parents["3421"], parents["342"], parents["34"]] == ["342", "34", "C"]
        # the structural parent of each county equals the 2024 file's parent column
        sip = s.get(Region, "320576")
        assert (sip.name, sip.level, sip.parent_code) == ("苏州工业园区", "county", "320500")
        assert s.get(Region, "429004").parent_code == "420000"  # 仙桃市: 省直辖
        town = s.get(Region, "330502100")
        assert (town.name, town.level, town.parent_code) == ("织里镇", "town", "330502")


def test_region_parents_match_the_2024_table(sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    # the 2024 table of the same source, kept beside the tests as an independent cross-check
    text = (Path(__file__).parent / "data" / "reference" / "gbt2260_2024.csv").read_text("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3213
    with Session(sqlite_engine) as s:
        stored = {
            r.code: r
            for r in s.scalars(
                select(Region).where(Region.valid_to.is_(None), Region.source == "gbt2260")
            )
        }
    assert set(stored) == {r["code"] for r in rows}
    for r in rows:
        assert stored[r["code"]].name == r["name"]
        assert (stored[r["code"]].parent_code or "") == r["parent"]


# -- regions by data year ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def indexes(tmp_path_factory):  # type: ignore[no-untyped-def]
    from industry_brain.store import db, migrate

    path = tmp_path_factory.mktemp("ref") / "ref.sqlite"
    engine = db.make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with Session(engine) as s:
        yield codes.region_index(s), codes.industry_index(s)
    engine.dispose()


@pytest.mark.parametrize(
    ("text", "year", "status", "code"),
    [
        # Hangzhou 2021: 下城区 330103 → 拱墅区 330105; 江干区 330104 → 上城区 or 钱塘区
        ("330103", 2020, "mapped", "330105"),
        ("330103", 2023, "mapped", "330105"),
        ("下城区", 2020, "mapped", "330105"),
        ("杭州市下城区", 2022, "mapped", "330105"),
        ("330104", 2020, "ambiguous", None),
        ("江干区", 2020, "ambiguous", None),
        # created in 2021: in a file of 2021 or later fine, earlier noted
        ("330113", 2021, "ok", "330113"),
        ("临平区", 2022, "ok", "330113"),
        ("330114", 2020, "early", "330114"),
        # a code reused: 130107 井陉矿区 1983-1989 went to 130121, the code came back in 1992
        ("130107", 1986, "mapped", "130121"),
        ("130107", 2000, "ok", "130107"),
        # a rename under the same code: 120110 东郊区 (1981-1992) is 东丽区 since
        ("东郊区", 1985, "ok", "120110"),
        ("120110", 2024, "ok", "120110"),
        # forms of one name
        ("吴兴区", 2024, "ok", "330502"),
        ("吴兴", 2024, "ok", "330502"),
        ("湖州市吴兴区", 2024, "ok", "330502"),
        ("浙江省湖州市吴兴区", 2024, "ok", "330502"),
        (" 湖州 吴兴区 ", 2024, "ok", "330502"),
        ("330502000000", 2024, "ok", "330502"),
        ("３３０５０２", 2024, "ok", "330502"),
        # statistics-only unit
        ("苏州工业园区", 2024, "ok", "320576"),
        ("320576", 2024, "ok", "320576"),
        # never guessed
        ("朝阳区", 2024, "ambiguous", None),
        ("330500", 2024, "wrong_level", None),
        ("330502100", 2024, "wrong_level", None),
        ("不存在区", 2024, "unknown", None),
        ("999999", 2024, "unknown", None),
    ],
)
def test_regions_resolve_by_data_year(indexes, text, year, status, code) -> None:  # type: ignore[no-untyped-def]
    res = indexes[0].resolve(text, year)
    assert (res.status, res.code) == (status, code)


def test_ambiguous_regions_list_their_candidates(indexes) -> None:  # type: ignore[no-untyped-def]
    regions = indexes[0]
    assert regions.resolve("330104", 2020).candidates == (
        ("330102", "上城区"),
        ("330114", "钱塘区"),
    )
    assert regions.resolve("朝阳区", 2024).candidates == (
        ("110105", "朝阳区"),
        ("220104", "朝阳区"),
    )
    # inside a Beijing deployment, its own 朝阳区 is meant
    assert regions.resolve("朝阳区", 2024, juris="110000").code == "110105"


CURRENT_COUNTIES = [r for r in REGIONS_2024 if r["级别"] == "县级" and r["状态"] == "在用"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(CURRENT_COUNTIES), st.sampled_from(["code", "name", "city", "province"]))
def test_every_county_resolves_by_code_and_name(indexes, row, form) -> None:  # type: ignore[no-untyped-def]
    regions = indexes[0]
    city = "" if row["二级行政区"] == "直辖" else row["二级行政区"]
    text = {
        "code": row["代码"],
        "name": row["名称"],
        "city": city + row["名称"],
        "province": row["一级行政区"] + city + row["名称"],
    }[form]
    res = regions.resolve(text, 2024)
    if res.status == "ambiguous":  # a name several counties share: listed, never guessed
        assert form != "code"
        assert row["代码"] in {c for c, _ in res.candidates}
    else:
        assert (res.status, res.code) == ("ok", row["代码"])


# -- industries as departments write them ---------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "year", "status", "code"),
    [
        ("3421", 2024, "ok", "3421"),
        ("C3421", 2024, "ok", "3421"),
        ("c3421", 2024, "ok", "3421"),
        ("2651", 2024, "ok", "2651"),
        ("C34", 2024, "coarse", "34"),
        ("34", 2024, "coarse", "34"),
        ("342", 2024, "coarse", "342"),
        ("金属切削机床制造", 2024, "ok", "3421"),
        ("3421 金属切削机床制造", 2024, "ok", "3421"),
        ("C3421-金属切削机床制造", 2024, "ok", "3421"),
        ("金属切削机床制造（3421）", 2024, "ok", "3421"),
        ("3421 初级形态塑料及合成树脂制造", 2024, "mismatch", None),
        ("A3421", 2024, "mismatch", None),
        ("C", 2024, "wrong_level", None),
        ("9999", 2024, "unknown", None),
        # GB/T 4754-2011 in files before 2018: mapped when unambiguous, else candidates
        ("3421", 2016, "ok", "3421"),  # same code, same name in both editions
        ("1310", 2016, "ambiguous", None),  # 谷物磨制 → 1311-1319
        ("1440", 2016, "ambiguous", None),  # 乳制品制造 split into 1441/1442/1449
        ("1310", 2020, "unknown", None),  # a 2011 code in a 2020 file: refused
    ],
)
def test_industries_resolve(indexes, text, year, status, code) -> None:  # type: ignore[no-untyped-def]
    res = indexes[1].resolve(text, year)
    assert (res.status, res.code) == (status, code)


def test_2011_codes_list_their_2017_candidates(indexes) -> None:  # type: ignore[no-untyped-def]
    industries = indexes[1]
    res = industries.resolve("1310", 2016)
    assert res.original == ("1310", "谷物磨制")
    assert [c for c, _ in res.candidates] == ["1311", "1312", "1313", "1314", "1319"]
    # a 2011 class whose name is one 2017 class elsewhere is mapped: 2011 1364 鱼油提取及制品制造
    # is 2017 1363 (same name)
    mapped = industries.resolve("1364", 2016)
    assert (mapped.status, mapped.code, mapped.original) == (
        "mapped", "1363", ("1364", "鱼油提取及制品制造"),
    )  # fmt: skip
    refused = industries.resolve("1310", 2020)
    assert refused.note == "2011" and len(refused.candidates) == 5


CLASSES = sorted(c for c, r in SHIPPED.items() if r["level"] == "class")


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(CLASSES), st.sampled_from(["code", "letter", "name", "both", "name_code"]))
def test_every_class_resolves_in_each_form(indexes, code, form) -> None:  # type: ignore[no-untyped-def]
    industries = indexes[1]
    name = SHIPPED[code]["name"]
    section = SHIPPED[SHIPPED[SHIPPED[code]["parent"]]["parent"]]["parent"]
    text = {
        "code": code,
        "letter": section + code,
        "name": name,
        "both": f"{code} {name}",
        "name_code": f"{name}({code})",
    }[form]
    res = industries.resolve(text, 2024)
    same_name = [c for c, r in SHIPPED.items() if r["name"] == name and r["level"] == "class"]
    if form == "name" and len(same_name) > 1:
        assert res.status == "ambiguous" and code in {c for c, _ in res.candidates}
    else:
        assert (res.status, res.code) == ("ok", code)


# -- through the import ---------------------------------------------------------------------------
def _usccs(county: str, n: int) -> list[str]:
    return [uscc_core.make(f"91{county}MA2C{k:04d}0") for k in range(n)]


def _reg(path: Path, rows: list[tuple[str, ...]], header: str) -> Path:
    path.write_text(header + "\n" + "\n".join(",".join(r) for r in rows) + "\n", "utf-8-sig")
    return path


def test_import_resolves_codes_and_rejects_outside_jurisdiction(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a, b, c, d, e, f = _usccs("330502", 6)
    header = "统一社会信用代码,企业名称,所属区县,乡镇街道,行业代码,行业名称"
    rows = [
        (a, "甲机床有限公司", "吴兴", "织里镇", "C3421", ""),
        (b, "乙树脂有限公司", "湖州市南浔区", "330503101", "初级形态塑料及合成树脂制造", ""),
        (c, "丙机械有限公司", "330521", "", "34", ""),
        (d, "丁公司", "朝阳区", "", "3421", ""),
        (e, "戊公司", "330102", "", "3421", ""),  # 上城区, 杭州: outside 湖州
        (f, "己公司", "吴兴区", "", "3421", "初级形态塑料及合成树脂制造"),
    ]
    path = _reg(tmp_path / "reg.csv", rows, header)
    r = import_file("registration", path, engine=engine, accept_valid=True)
    by_code: dict[str, list] = {}
    for p in r.problems:
        by_code.setdefault(p.code, []).append(p)
    assert [p.location.row for p in by_code["value.ambiguous_region"]] == [5]
    assert "110105 朝阳区" in by_code["value.ambiguous_region"][0].zh
    assert [p.location.row for p in by_code["value.outside_jurisdiction"]] == [6]
    assert "330102 上城区" in by_code["value.outside_jurisdiction"][0].zh
    assert [p.location.row for p in by_code["value.industry_mismatch"]] == [7]
    assert [(p.location.row, p.severity) for p in by_code["value.coarse_industry"]] == [
        (4, "warning")
    ]
    with Session(engine) as s:
        got = {
            e.uscc: (e.county_code, e.town_code, e.industry_code)
            for e in s.scalars(select(Enterprise))
        }
    assert got == {
        a: ("330502", "330502100", "3421"),
        b: ("330503", "330503101", "2651"),
        c: ("330521", None, "34"),
    }


def test_outside_jurisdiction_follows_the_setting(engine, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (a,) = _usccs("331003", 1)
    path = _reg(tmp_path / "reg.csv", [(a, "黄岩甲模具有限公司", "黄岩区", "3525")],
                "统一社会信用代码,企业名称,所属区县,行业代码")  # fmt: skip
    refused = import_file("registration", path, engine=engine)
    assert refused.status == "rejected"
    assert [p.code for p in refused.problems] == ["value.outside_jurisdiction"]
    monkeypatch.setenv("IB_JURISDICTION", "331000")  # 台州市
    done = import_file("registration", path, engine=engine)
    assert done.status == "committed", done.problems
    with Session(engine) as s:
        assert s.scalar(select(Enterprise.county_code).where(Enterprise.uscc == a)) == "331003"
        assert codes.jurisdiction_counties(s)[:2] == [("331002", "椒江区"), ("331003", "黄岩区")]


def test_retired_codes_map_with_a_warning_in_the_import(engine, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IB_JURISDICTION", "330100")
    a, b = _usccs("330103", 2)
    path = _reg(
        tmp_path / "reg.csv",
        [(a, "下城甲有限公司", "330103", "3421"), (b, "江干乙有限公司", "江干区", "3421")],
        "统一社会信用代码,企业名称,所属区县,行业代码",
    )
    r = import_file("registration", path, engine=engine, year=2020, accept_valid=True)
    warn = [p for p in r.problems if p.code == "value.region_retired"]
    assert len(warn) == 1 and "330103 下城区" in warn[0].zh and "330105 拱墅区" in warn[0].zh
    amb = [p for p in r.problems if p.code == "value.ambiguous_region"]
    assert [p.location.row for p in amb] == [3]
    with Session(engine) as s:
        assert s.scalar(select(Enterprise.county_code).where(Enterprise.uscc == a)) == "330105"
        assert s.scalar(select(Enterprise.id).where(Enterprise.uscc == b)) is None


# -- refreshing with a new edition ----------------------------------------------------------------
def test_a_new_edition_adds_rows_and_end_dates_never_rewrites(sqlite_engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = Path(reference.__file__).parent / "reference_data" / "gbt2260_history_1981_2024.csv"
    lines = src.read_text("utf-8-sig").splitlines()
    header = lines[0]
    body = [ln for ln in lines[1:]]
    # 2025 edition (invented for the test): 330503 南浔区 retired in 2025 into a new 330504,
    # and a closed incarnation contradicted (must be kept as stored)
    edited = []
    for ln in body:
        if ln.startswith("330503,"):
            parts = ln.split(",")
            parts[5], parts[7], parts[8] = "弃用", "2025", "330504"
            ln = ",".join(parts)
        if ln.startswith("330103,"):
            parts = ln.split(",")
            parts[7] = "2022"  # history says 2021
            ln = ",".join(parts)
        edited.append(ln)
    edited.append("330504,浙江省,湖州市,南浔新区,县级,在用,2025,,")
    new = tmp_path / "gbt2260_history_1981_2025.csv"
    new.write_text("\n".join([header, *edited]) + "\n", "utf-8")
    report = reference.refresh(sqlite_engine, "region_history", str(new), "GB/T 2260 1981-2025")
    assert (report.added, report.ended) == (1, 1)
    assert report.conflicts and "330103" in report.conflicts[0]
    with Session(sqlite_engine) as s:
        nanxun = s.get(Region, "330503")
        assert nanxun.valid_to.year == 2025
        assert s.get(Region, "330504").name == "南浔新区"
        xiacheng = s.scalars(select(RegionHistory).where(RegionHistory.code == "330103")).one()
        assert xiacheng.valid_to == 2021  # never rewritten
    again = reference.refresh(sqlite_engine, "region_history", str(new), "GB/T 2260 1981-2025")
    assert again.skipped
