"""百千万 programmes: enrolment rules, progress against yearly county targets and the
red/yellow/black bulletin, hand-checked on a small fixture, on SQLite and PostgreSQL; the
bulletin files (XLSX, HTML, PDF)."""

from __future__ import annotations

import contextlib
import re
import textwrap
import zlib
from datetime import date
from fractions import Fraction
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from industry_brain.core import parameters, uscc
from industry_brain.core.errors import IBError
from industry_brain.domains.projects import bulletin, programs, stages
from industry_brain.store.models import Project

D = date
AS_OF = D(2024, 7, 1)  # day 183 of the leap year 2024: time progress 183 / 366 = 1/2
CREATED = D(2024, 12, 31)

# Targets for the fixture (test parameter files, not the shipped defaults):
#   city 330500 (every county without its own file): 攻关 4, 推广 8, 上云 4 → time targets 2, 4, 2
#   长兴 330522: 攻关 2, 推广 4, 上云 0 → time targets 1, 2, — (上云 left out)
#   德清 330521: 攻关 10, 推广 0, 上云 0 → time target 5 (攻关 only)
OVERRIDES = {
    "projects.330500.yaml": "{攻关: 4, 推广: 8, 上云: 4}",
    "projects.330522.yaml": "{攻关: 2, 推广: 4, 上云: 0}",
    "projects.330521.yaml": "{攻关: 10, 推广: 0, 上云: 0}",
}
# Enrolments of 2024 on or before 2024-07-01, per county (攻关, 推广, 上云):
#   吴兴 330502: 3, 4, 2 → 3/2, 4/4, 2/2  → score (1.5 + 1 + 1) / 3 = 7/6 ≈ 1.1667 → 红榜, rank 1
#   长兴 330522: 1, 2, 3 → 1/1, 2/2, —    → score (1 + 1) / 2 = 1 (boundary) → 红榜, rank 2
#   南浔 330503: 2, 3, 1 → 2/2, 3/4, 1/2  → score (1 + .75 + .5) / 3 = 0.75 → 黄榜, rank 3
#   德清 330521: 3, 0, 0 → 3/5            → score 0.6 (boundary) → 黄榜, rank 4
#   安吉 330523: 1, 2, 0 → 1/2, 2/4, 0/2  → score 1/3 ≈ 0.3333 → 黑榜, rank 5
#   (安吉 also has a 上云 enrolment on 2024-07-02, after the day, and a 攻关 one of 2023: neither
#   counts)
ENROL = {
    "330502": (3, 4, 2),
    "330522": (1, 2, 3),
    "330503": (2, 3, 1),
    "330521": (3, 0, 0),
    "330523": (1, 2, 0),
}
CATS = ("攻关", "推广", "上云")


@pytest.fixture
def targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "params"
    folder.mkdir()
    for name, value in OVERRIDES.items():
        text = f"""
        programs:
          county_targets:
            source: test fixture
            values:
              - since: 2019-01-01
                value: {value}
        """
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.setenv("IB_PARAMETERS_DIR", str(folder))
    parameters.load(reload=True)


def _new(s: Session, n: int, county: str, investment: float = 1000.0) -> Project:
    return stages.create_project(
        s,
        code=f"HZXM-B-{n:03d}",
        name=f"项目{n}",
        investor_uscc=uscc.make(f"91{county}MA{n:06d}0"),
        investor_name=f"新公司{n}",
        county_code=county,
        planned_investment=investment,
        signed_on=D(2023, 12, 1),
        today=CREATED,
    )


def _fixture(s: Session) -> dict[str, list[int]]:
    n = 0
    ids: dict[str, list[int]] = {}
    for county, counts in ENROL.items():
        for cat, k in zip(CATS, counts, strict=True):
            for _ in range(k):
                n += 1
                p = _new(s, n, county)
                programs.enrol(s, p.id, cat, D(2024, 3, 1), CREATED)
                ids.setdefault(f"{county}/{cat}", []).append(p.id)
    late = _new(s, 900, "330523")
    programs.enrol(s, late.id, "上云", D(2024, 7, 2), CREATED)
    old = _new(s, 901, "330523")
    programs.enrol(s, old.id, "攻关", D(2023, 12, 15), CREATED)
    # investment completed to date of two 吴兴 攻关 projects: 500 (latest by 07-01) and 100
    # (the 400 of 07-05 comes after the day) → 600 done
    a, b = ids["330502/攻关"][:2]
    stages.report_progress(s, a, D(2024, 3, 31), 300, CREATED)
    stages.report_progress(s, a, D(2024, 6, 30), 500, CREATED)
    stages.report_progress(s, b, D(2024, 1, 31), 100, CREATED)
    stages.report_progress(s, b, D(2024, 7, 5), 400, CREATED)
    s.commit()
    return ids


def test_bulletin_figures_hand_checked(engine: Engine, targets: None) -> None:
    with Session(engine) as s:
        _fixture(s)
        b = programs.progress(s, 2024, AS_OF)
    assert b["time_fraction"] == 0.5
    ranking = [(c["rank"], c["county_code"], c["score"], c["list"]) for c in b["counties"]]
    assert ranking == [
        (1, "330502", 1.1667, "red"),
        (2, "330522", 1.0, "red"),
        (3, "330503", 0.75, "yellow"),
        (4, "330521", 0.6, "yellow"),
        (5, "330523", 0.3333, "black"),
    ]
    assert b["lists"] == {
        "red": ["吴兴区", "长兴县"],
        "yellow": ["南浔区", "德清县"],
        "black": ["安吉县"],
    }
    wuxing = {p["program"]: p for p in b["counties"][0]["programs"]}
    assert (wuxing["攻关"]["achieved"], wuxing["攻关"]["target"]) == (3, 4)
    assert (wuxing["攻关"]["time_target"], wuxing["攻关"]["ratio"]) == (2.0, 1.5)
    assert (wuxing["攻关"]["planned_investment"], wuxing["攻关"]["investment_done"]) == (
        3000.0,
        600.0,
    )
    changxing = {p["program"]: p for p in b["counties"][1]["programs"]}
    assert (changxing["上云"]["achieved"], changxing["上云"]["ratio"]) == (3, None)
    # totals: targets 攻关 4+2+4+10+4 = 24, 推广 8+4+8+0+8 = 28, 上云 4+0+4+0+4 = 12;
    # achieved 攻关 3+1+2+3+1 = 10, 推广 4+2+3+0+2 = 11, 上云 2+3+1+0+0 = 6
    assert {k: (v["target"], v["achieved"]) for k, v in b["totals"].items()} == {
        "攻关": (24, 10),
        "推广": (28, 11),
        "上云": (12, 6),
    }
    assert b["totals"]["攻关"]["planned_investment"] == 10000.0
    sources = {(p["key"], p["region"]) for p in b["parameters"]}
    assert ("projects.programs.county_targets", "330522") in sources
    assert ("projects.programs.county_targets", "330500") in sources


def test_bulletin_files(engine: Engine, targets: None, tmp_path: Path) -> None:
    with Session(engine) as s:
        _fixture(s)
        data = programs.progress(s, 2024, AS_OF)
        listed = programs.enrolments(s, 2024, AS_OF)
    assert len(listed) == 27  # 10 + 11 + 6; the 07-02 and the 2023 enrolments are left out
    files = bulletin.write_bulletin(data, listed, tmp_path / "out", pdf=True)
    wb = openpyxl.load_workbook(files["xlsx"])
    ws = wb["排名 ranking"]
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    assert [(r[0], r[2], r[-2], r[-1]) for r in rows] == [
        (1, "吴兴区", 1.1667, "红榜"),
        (2, "长兴县", 1.0, "红榜"),
        (3, "南浔区", 0.75, "黄榜"),
        (4, "德清县", 0.6, "黄榜"),
        (5, "安吉县", 0.3333, "黑榜"),
    ]
    lists = {r[0]: r[2] for r in wb["红黄黑榜 lists"].iter_rows(min_row=2, values_only=True)}
    assert lists == {"红榜": "吴兴区、长兴县", "黄榜": "南浔区、德清县", "黑榜": "安吉县"}
    assert wb["入库项目 enrolments"].max_row == 28
    html = Path(files["html"]).read_text("utf-8")
    assert "2024年“百千万”工程进度通报" in html and "吴兴区、长兴县" in html
    assert "116.7%" in html and "60.0%" in html
    pdf = Path(files["pdf"]).read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert b"Noto-Sans-CJK-SC" in _pdf_objects(pdf)  # Chinese text is set in a CJK font


def _pdf_objects(pdf: bytes) -> bytes:
    """The PDF with its compressed streams inflated (fonts sit in object streams)."""
    parts = [pdf]
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        with contextlib.suppress(zlib.error):
            parts.append(zlib.decompress(m.group(1)))
    return b"".join(parts)


def test_enrolment_rules(engine: Engine) -> None:
    with Session(engine) as s:
        p = _new(s, 1, "330502")
        e = programs.enrol(s, p.id, "机器换人", D(2024, 5, 1), CREATED)  # a 推广 tag
        assert (e.program, e.year) == ("推广", 2024)
        assert s.get(Project, p.id).programs == ["推广"] and s.get(Project, p.id).version == 2
        programs.enrol(s, p.id, "推广", D(2025, 1, 2), D(2025, 1, 2))  # next year: allowed

        def code(*args) -> str:
            with pytest.raises(IBError) as exc:
                programs.enrol(s, *args)
            return exc.value.code

        assert code(p.id, "工厂物联网", D(2024, 6, 1), CREATED) == "program.duplicate"
        assert code(p.id, "登月", D(2024, 6, 1), CREATED) == "program.unknown"
        assert code(p.id, "攻关", D(2023, 11, 30), CREATED) == "program.before_signed"
        assert code(p.id, "攻关", D(2025, 1, 1), CREATED) == "program.date_future"


def test_time_fraction_and_ties(engine: Engine) -> None:
    assert programs.time_fraction(2024, D(2024, 7, 1)) == Fraction(1, 2)
    assert programs.time_fraction(2026, D(2026, 11, 27)) == Fraction(331, 365)
    assert programs.time_fraction(2026, D(2026, 1, 1)) == Fraction(1, 365)
    assert programs.time_fraction(2025, D(2026, 3, 1)) == 1
    with pytest.raises(IBError, match=r"program\.year_future"):
        programs.time_fraction(2027, D(2026, 12, 31))
    with Session(engine) as s:
        b = programs.progress(s, 2026, D(2026, 6, 30))
    # nothing enrolled: every county scores 0, shares rank 1 and is on the black list
    assert {(c["rank"], c["score"], c["list"]) for c in b["counties"]} == {(1, 0.0, "black")}
    assert len(b["lists"]["black"]) == 5
