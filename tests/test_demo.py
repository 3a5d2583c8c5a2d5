"""The deterministic demo city (示范城市): files, manifest, defects, truth, store seeding."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from argon2 import PasswordHasher
from python_calamine import CalamineWorkbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core import uscc as uscc_core
from industry_brain.demo import (
    DEMO_PASSWORD,
    DEMO_TODAY,
    STAGES,
    DemoManifest,
    build_city,
    enterprise_rows,
    seed_operational,
    write_province,
)
from industry_brain.demo.tables import TABLES
from industry_brain.store import reference
from industry_brain.store.db import make_engine
from industry_brain.store.migrate import upgrade
from industry_brain.store.models import AgentAssignment, Enterprise, Project, User

COUNTY_CODES = {"330502", "330503", "330521", "330522", "330523"}
KIND_ORDER = ["registration", "stats_annual", "energy", "tax", "power", "land", "emissions"]
_UNIT_SUFFIX = re.compile(r"[（(][^（()）]*[)）]$")


# ---------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoManifest]:
    out = tmp_path_factory.mktemp("demo_small")
    steps: list[tuple[str, int, int]] = []
    manifest = build_city(out, "small", progress=lambda s, d, t: steps.append((s, d, t)))
    assert steps and steps[-1][1] == steps[-1][2]
    return out, manifest


@pytest.fixture(scope="module")
def registry(built: tuple[Path, DemoManifest]) -> list[dict[str, Any]]:
    return enterprise_rows(built[0])


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@cache
def _aliases(kind: str) -> dict[str, str]:
    """alias → canonical column of the ingest mapping of ``kind``."""
    text = (
        resources.files("industry_brain")
        .joinpath("ingest", "mappings", f"{kind}.yaml")
        .read_text("utf-8")
    )
    spec = yaml.safe_load(text)
    return {a: key for key, col in spec["columns"].items() for a in col["aliases"]}


def _canonical(header: str) -> str:
    return _UNIT_SUFFIX.sub("", header.strip())


class Files:
    """Reads back the written files as grids of cells (list of rows), line 1 = grid[0]."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._grids: dict[tuple[str, str | None], list[list[Any]]] = {}

    def grid(self, path: str, sheet: str | None, encoding: str | None = None) -> list[list[Any]]:
        key = (path, sheet)
        if key not in self._grids:
            full = self.out / path
            if sheet is not None:
                rows = CalamineWorkbook.from_path(str(full)).get_sheet_by_name(sheet).to_python()
            else:
                raw = full.read_bytes()
                enc = encoding or ("utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "gbk")
                rows = list(csv.reader(io.StringIO(raw.decode(enc), newline="")))
            self._grids[key] = rows
        return self._grids[key]

    @staticmethod
    def header_lines(grid: list[list[Any]], xlsx: bool) -> int:
        """Lines above the first data row: merged title, header, parent-header line."""
        if not xlsx:
            return 1
        title = 1 if grid[0][0] and all(v == "" for v in grid[0][1:]) else 0
        lower = grid[title + 1]
        grouped = lower[0] == "" and lower[1] == "" and any(v != "" for v in lower)
        return title + (2 if grouped else 1)

    def headers(self, grid: list[list[Any]], xlsx: bool) -> list[str]:
        """Column headers; with two header lines the lower one wins where it is filled."""
        n = self.header_lines(grid, xlsx)
        bottom = [str(v) for v in grid[n - 1]]
        if xlsx and n >= 2 and bottom[0] == "":
            top = [str(v) for v in grid[n - 2]]
            return [low or high for low, high in zip(bottom, top, strict=True)]
        return bottom

    @staticmethod
    def column(grid: list[list[Any]], header: str) -> int:
        for row in grid[:4]:
            for k, v in enumerate(row):
                if v == header:
                    return k
        raise AssertionError(f"column {header} not found")


@pytest.fixture(scope="module")
def files(built: tuple[Path, DemoManifest]) -> Files:
    return Files(built[0])


def _entry(manifest: DemoManifest, path: str, sheet: str | None) -> dict[str, Any]:
    return next(e for e in manifest.files if e["path"] == path and e["sheet"] == sheet)


def _number(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    return float(unicodedata.normalize("NFKC", str(value)).replace(",", ""))


def _is_number(value: Any) -> bool:
    try:
        _number(value)
    except ValueError:
        return False
    return value != ""


# ---------------------------------------------------------------------------------- determinism
def test_same_seed_gives_identical_files_and_other_seed_differs(
    built: tuple[Path, DemoManifest], tmp_path: Path
) -> None:
    out, _ = built
    again = build_city(tmp_path / "again", "small")
    first, second = _hashes(out), _hashes(tmp_path / "again")
    assert first == second
    assert again.to_dict() == json.loads((out / "manifest.json").read_text("utf-8"))
    build_city(tmp_path / "other", "small", seed=7)
    other = _hashes(tmp_path / "other")
    assert set(other) == set(first)
    same = [p for p in first if p.startswith(("inbox/", "truth/")) and first[p] == other[p]]
    assert same == []


# ---------------------------------------------------------------------------------- manifest
def test_manifest_lists_files_in_import_order(built: tuple[Path, DemoManifest]) -> None:
    out, manifest = built
    assert DemoManifest.load(out).to_dict() == manifest.to_dict()
    assert manifest.scale == "small" and manifest.reference_date == DEMO_TODAY.isoformat()
    kinds = [e["kind"] for e in manifest.files]
    assert kinds[0] == "registration"
    assert kinds == sorted(kinds, key=KIND_ORDER.index)
    for kind in KIND_ORDER[1:]:
        years = [e["year"] for e in manifest.files if e["kind"] == kind]
        assert sorted(set(years)) == [2021, 2022, 2023, 2024, 2025]
        assert years == sorted(years)
    for e in manifest.files:
        assert set(e) == {"kind", "path", "year", "sheet", "encoding"}
        assert (out / e["path"]).is_file()
        if e["path"].endswith(".xlsx"):
            assert e["sheet"] and e["encoding"] is None
        else:
            assert e["sheet"] is None and e["encoding"] in ("gbk", "utf-8-sig")
    encodings = {e["kind"]: e["encoding"] for e in manifest.files if e["encoding"]}
    assert encodings["power"] == "gbk" and encodings["tax"] == "gbk"
    assert encodings["emissions"] == "utf-8-sig"
    formats = {e["path"].rsplit(".", 1)[1] for e in manifest.files if e["kind"] == "stats_annual"}
    assert formats == {"xlsx", "csv"}
    assert [t["table"] for t in manifest.tables] == list(TABLES)


def test_counts_are_in_range(built: tuple[Path, DemoManifest]) -> None:
    c = built[1].counts
    assert 340 <= c["above_scale"] <= 420 and 540 <= c["below_scale"] <= 660
    assert set(c["by_county"]) == COUNTY_CODES
    assert sum(v["above_scale"] for v in c["by_county"].values()) == c["above_scale"]
    assert sum(v["below_scale"] for v in c["by_county"].values()) == c["below_scale"]
    assert all(v["above_scale"] > 20 and v["below_scale"] > 40 for v in c["by_county"].values())
    assert c["renamed"] > 10 and c["name_clashes"] >= 1 and c["closed"] > 0
    assert c["enterprises_with_several_accounts"] > 20 and c["power_accounts_without_uscc"] > 20
    assert c["leased_parcels"] > 50
    by_year = list(c["above_scale_by_year"].values())
    assert len(set(by_year)) > 1  # enterprises cross the 规上 threshold between years


# ---------------------------------------------------------------------------------- registry
def test_registry_codes_are_valid_and_known(registry: list[dict[str, Any]]) -> None:
    rows = reference.read_csv_rows(reference.packaged_bytes("gbt4754_2017.csv"), "gbt4754_2017.csv")
    classes = {r["code"] for r in rows if r["level"] == "class"}
    usccs = [r["uscc"] for r in registry]
    names = [r["name"] for r in registry]
    assert len(set(usccs)) == len(usccs) and len(set(names)) == len(names)
    for row in registry:
        assert uscc_core.normalize(row["uscc"]) == row["uscc"]
        assert row["uscc"][:2] == "91" and row["uscc"][2:8] == row["county_code"]
        assert row["county_code"] in COUNTY_CODES
        assert row["industry_code"] in classes
        assert isinstance(row["registration_date"], date)
        assert row["name"].endswith("公司")
    divisions = {r["industry_code"][:2] for r in registry}
    assert len(divisions) >= 25
    renamed = [r for r in registry if r["former_names"]]
    assert renamed and all(r["name"] not in r["former_names"] for r in renamed)
    flips = [r for r in registry if len(set(r["above_scale"].values())) == 2]
    assert flips  # 新升规 / 退规


def test_truth_matches_department_files(
    built: tuple[Path, DemoManifest], files: Files, registry: list[dict[str, Any]]
) -> None:
    out = built[0]
    facts = pq.read_table(out / "truth" / "facts.parquet").to_pylist()
    revenue = {(f["uscc"], f["year"]): f["value"] for f in facts if f["item"] == "revenue"}
    grid = files.grid("inbox/stats_annual/2021年度工业企业主要经济指标.xlsx", "规上工业企业")
    col = files.column(grid, "营业收入(千元)")
    checked = 0
    for row in grid[2:40]:
        if uscc_core.is_valid(str(row[0])) and _is_number(row[col]):
            assert _number(row[col]) / 10 == pytest.approx(revenue[(row[0], 2021)])
            checked += 1
    assert checked > 20
    monthly = pq.read_table(out / "truth" / "electricity_monthly.parquet").to_pylist()
    kwh = {(m["account_no"], m["year"], m["month"]): m["kwh"] for m in monthly}
    grid = files.grid("inbox/power/2021年1-12月企业用电量.csv", None, "gbk")
    seen = 0
    for row in grid[1:200]:
        if _is_number(row[4]) and row[3].startswith("2021") and "13" not in row[3]:
            month = int(re.findall(r"\d+", row[3])[-1][-2:])
            assert _number(row[4]) == kwh[(row[0], 2021, month)]
            seen += 1
    assert seen > 100


# ---------------------------------------------------------------------------------- headers
def test_headers_use_mapping_aliases(built: tuple[Path, DemoManifest], files: Files) -> None:
    _, manifest = built
    unknown = {
        (d["file"], d["sheet"], d["column"])
        for d in manifest.defects
        if d["kind_of_defect"] == "unknown_column"
    }
    required = {
        "registration": {"uscc", "name", "industry_code", "county", "registration_date"},
        "stats_annual": {"uscc", "name", "output_value", "value_added", "revenue", "above_scale"},
        "energy": {"uscc", "name", "coal_raw", "natural_gas", "electricity", "energy_total"},
        "tax": {"uscc", "name", "year", "tax_type", "tax_paid"},
        "power": {"account_no", "account_name", "uscc", "month", "electricity"},
        "land": {"parcel_no", "holder", "uscc", "lessee", "area", "tenure", "start_date"},
        "emissions": {"uscc", "name", "cod", "ammonia", "so2", "nox"},
    }
    units_seen: dict[str, set[str]] = {}
    for e in manifest.files:
        grid = files.grid(e["path"], e["sheet"], e["encoding"])
        aliases = _aliases(e["kind"])
        found = set()
        for header in files.headers(grid, e["sheet"] is not None):
            if (e["path"], e["sheet"], header) in unknown:
                assert _canonical(header) not in aliases
                continue
            assert _canonical(header) in aliases, (e["path"], header)
            found.add(aliases[_canonical(header)])
            if m := re.search(r"[（(]([^（()）]*)[)）]$", header):
                units_seen.setdefault(e["kind"], set()).add(m.group(1))
        assert required[e["kind"]] <= found, (e["path"], required[e["kind"]] - found)
    assert {"千元", "万元"} <= units_seen["stats_annual"]
    assert {"元", "万元"} <= units_seen["tax"]
    assert {"千瓦时", "万千瓦时"} <= units_seen["power"]
    assert {"平方米", "亩"} <= units_seen["land"]


def test_xlsx_layout_title_two_level_header_and_total(
    built: tuple[Path, DemoManifest], files: Files
) -> None:
    grid = files.grid("inbox/stats_annual/2024年度工业企业主要经济指标.xlsx", "规上工业企业")
    assert grid[0][0] == "2024年度规模以上工业企业主要经济指标"
    assert all(v == "" for v in grid[0][1:])
    assert grid[-1][0] == "合计"
    grid = files.grid("inbox/energy/2025年规上工业企业能源消费情况.xlsx", "能源消费")
    assert "能源消费量" in grid[1] and "原煤(吨)" in grid[2]
    assert files.header_lines(grid, True) == 3
    raw = (built[0] / "inbox/power/2024年1-12月企业用电量.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_power_months_mixed_and_accounts_without_uscc(files: Files) -> None:
    grid = files.grid("inbox/power/2023年1-12月企业用电量.csv", None, "gbk")
    months = [r[3] for r in grid[1:]]
    assert any(re.fullmatch(r"2023年\d{1,2}月", m) for m in months)
    assert any(re.fullmatch(r"2023\.\d\d", m) for m in months)
    assert any(re.fullmatch(r"2023\d\d", m) for m in months)
    assert any(r[2] == "" for r in grid[1:])
    by_uscc: dict[str, set[str]] = {}
    for r in grid[1:]:
        if r[2]:
            by_uscc.setdefault(r[2], set()).add(r[0])
    assert any(2 <= len(a) <= 3 for a in by_uscc.values())


def test_land_has_leases_with_lessee_not_holder(files: Files) -> None:
    grid = files.grid("inbox/land/2025年工业用地宗地信息.xlsx", "宗地信息")
    leases = [r for r in grid[2:-1] if r[7] == "租赁"]
    assert leases and all(r[3] and r[3] != r[1] for r in leases)
    assert any(uscc_core.is_valid(str(r[2])) for r in leases)


# ---------------------------------------------------------------------------------- validity
def test_every_uscc_is_valid_except_listed_defects(
    built: tuple[Path, DemoManifest], files: Files
) -> None:
    _, manifest = built
    listed = {(d["file"], d["sheet"], d["row"]) for d in manifest.defects}
    checked = 0
    for e in manifest.files:
        grid = files.grid(e["path"], e["sheet"], e["encoding"])
        aliases = _aliases(e["kind"])
        xlsx = e["sheet"] is not None
        heads = files.headers(grid, xlsx)
        keys = [aliases.get(_canonical(h)) for h in heads]
        cols = [k for k, key in enumerate(keys) if key in ("uscc", "lessee_uscc")]
        first = files.header_lines(grid, xlsx)
        for line, row in enumerate(grid[first:], first + 1):
            for c in cols:
                value = str(row[c]) if c < len(row) else ""
                if value in ("", "合计"):
                    continue
                checked += 1
                if not uscc_core.is_valid(value):
                    assert (e["path"], e["sheet"], line) in listed, (e["path"], line, value)
    assert checked > 10000


# ---------------------------------------------------------------------------------- defects
def test_defects_cover_many_kinds(built: tuple[Path, DemoManifest]) -> None:
    kinds = built[1].defect_kinds()
    assert len(kinds) >= 10
    for kind in (
        "uscc_bad_check",
        "uscc_fullwidth",
        "uscc_lowercase",
        "missing_uscc_former_name",
        "name_ambiguous",
        "unknown_enterprise",
        "negative_tax",
        "land_area_nonpositive",
        "value_added_gt_output",
        "tax_gt_half_revenue",
        "electricity_jump",
        "missing_marker",
        "thousands_separator",
        "fullwidth_number",
        "duplicate_row",
        "unknown_column",
        "bad_date",
        "bad_month",
        "text_in_numeric",
    ):
        assert kind in kinds, kind
    for d in built[1].defects:
        assert set(d) >= {
            "kind_of_defect",
            "file",
            "sheet",
            "row",
            "column",
            "uscc_or_name",
            "note",
        }


def test_every_defect_is_where_the_manifest_says(
    built: tuple[Path, DemoManifest], files: Files, registry: list[dict[str, Any]]
) -> None:
    out, manifest = built
    by_uscc = {r["uscc"]: r for r in registry}
    names = {}
    for r in registry:
        names.setdefault(r["name"], []).append(r["uscc"])
        for f in r["former_names"]:
            names.setdefault(f, []).append(r["uscc"])
    facts = pq.read_table(out / "truth" / "facts.parquet").to_pylist()
    revenue = {(f["uscc"], f["year"]): f["value"] for f in facts if f["item"] == "revenue"}
    for d in manifest.defects:
        e = _entry(manifest, d["file"], d["sheet"])
        grid = files.grid(d["file"], d["sheet"], e["encoding"])
        row = grid[d["row"] - 1]
        kind = d["kind_of_defect"]
        if kind == "duplicate_row":
            assert row == grid[d["row"] - 2], d
            continue
        col = files.column(grid, d["column"])
        cell = row[col]
        heads = files.headers(grid, e["sheet"] is not None)
        aliases = _aliases(e["kind"])
        key_of = {aliases.get(_canonical(h)): k for k, h in enumerate(heads)}
        if kind != "unknown_column":
            assert (
                d["value"] is None
                or str(cell) == d["value"]
                or _number(cell) == _number(d["value"])
            ), d
        match kind:
            case "uscc_bad_check":
                assert not uscc_core.is_valid(str(cell)) and len(str(cell)) == 18
            case "uscc_lowercase":
                assert str(cell) != str(cell).upper() and uscc_core.is_valid(str(cell))
            case "uscc_fullwidth":
                text = str(cell)
                assert unicodedata.normalize("NFKC", text) != text and uscc_core.is_valid(text)
            case "missing_uscc_former_name":
                assert cell in ("", None)
                name = row[key_of["name"]]
                assert name in by_uscc[d["uscc_or_name"]]["former_names"]
                assert names[name] == [d["uscc_or_name"]]
            case "name_ambiguous":
                assert row[key_of["uscc"]] in ("", None)
                assert len(names[cell]) == 2
            case "unknown_enterprise":
                name_col = key_of.get("name", key_of.get("account_name"))
                assert row[name_col] not in names
                assert row[key_of["uscc"]] in ("", None) or row[key_of["uscc"]] not in by_uscc
            case "negative_tax":
                assert _number(cell) < 0
            case "land_area_nonpositive":
                assert _number(cell) <= 0
            case "value_added_gt_output":
                assert _number(cell) > _number(row[key_of["output_value"]])
            case "tax_gt_half_revenue":
                factor = 10000 if "(元)" in d["column"] else 1
                rev = revenue[(d["uscc_or_name"], e["year"])]
                assert _number(cell) / factor > 0.5 * rev
            case "electricity_jump":
                prev = next(
                    x for x in manifest.files if x["kind"] == "power" and x["year"] == e["year"] - 1
                )
                pgrid = files.grid(prev["path"], None, "gbk")
                pcol = len(pgrid[0]) - 1
                before = [r[pcol] for r in pgrid[1:] if r[0] == row[0] and _is_number(r[pcol])]
                scale = 10000 if "万千瓦时" in d["column"] else 1
                pscale = 10000 if "万千瓦时" in pgrid[0][pcol] else 1
                assert _number(cell) * scale > 10 * _number(before[0]) * pscale
            case "missing_marker":
                assert cell in ("—", "/", "无")
            case "thousands_separator":
                assert "," in str(cell) and _is_number(cell)
            case "fullwidth_number":
                text = str(cell)
                assert unicodedata.normalize("NFKC", text) != text and _is_number(text)
            case "unknown_column":
                assert d["row"] == files.header_lines(grid, e["sheet"] is not None)
                assert _canonical(str(cell)) not in aliases and cell == d["column"]
            case "bad_date":
                assert isinstance(cell, str)
                with pytest.raises(ValueError):
                    date.fromisoformat(cell)
            case "bad_month":
                assert not re.fullmatch(r"\d{4}(年(0?[1-9]|1[0-2])月|\.(0[1-9]|1[0-2]))", cell)
            case "text_in_numeric":
                assert isinstance(cell, str) and not _is_number(cell) and cell
            case _:
                raise AssertionError(f"unchecked defect kind {kind}")


# ---------------------------------------------------------------------------------- store
def test_seed_operational_on_sqlite(built: tuple[Path, DemoManifest], tmp_path: Path) -> None:
    out, _ = built
    engine = make_engine("sqlite:///" + str(tmp_path / "store.sqlite"))
    upgrade(engine)
    with Session(engine) as session:
        for r in enterprise_rows(out):
            session.add(
                Enterprise(
                    uscc=r["uscc"],
                    name=r["name"],
                    county_code=r["county_code"],
                    industry_code=r["industry_code"],
                    registration_date=r["registration_date"],
                    status=r["status"],
                    address=r["address"],
                )
            )
        session.commit()
        summary = seed_operational(session, tmp_path, "small")
        session.commit()
        projects = list(session.scalars(select(Project).order_by(Project.id)))
        users = list(session.scalars(select(User).order_by(User.id)))
        assignments = list(session.scalars(select(AgentAssignment)))
        known = {e.uscc for e in session.scalars(select(Enterprise))}
        with pytest.raises(ValueError):
            seed_operational(session, tmp_path, "small")
    engine.dispose()

    assert 120 <= len(projects) <= 180 and summary["projects"] == len(projects)
    assert {p.stage for p in projects} == {name for name, _ in STAGES}
    order = [name for name, _ in STAGES]
    late = 0
    for p in projects:
        reached = order.index(p.stage)
        actual = [getattr(p, f"actual_{s}") for s in order]
        planned = [getattr(p, f"planned_{s}") for s in order]
        assert all(a is not None for a in actual[: reached + 1])
        assert all(a is None for a in actual[reached + 1 :])
        done = actual[: reached + 1]
        assert done == sorted(done) and len(set(done)) == len(done)
        assert max(done) <= DEMO_TODAY
        assert all(x is not None for x in planned) and planned == sorted(planned)
        if any(a > pl for a, pl in zip(done, planned, strict=False)):
            late += 1
        assert p.planned_investment > 0 and p.county_code in COUNTY_CODES
        if p.land_transfer_date is not None:
            assert p.actual_signed <= p.land_transfer_date <= DEMO_TODAY
        assert (p.enterprise_id is None) == (p.investor_uscc not in known)
    assert late > 10
    assert any(p.programs for p in projects)
    assert sum(p.enterprise_id is None for p in projects) > 5
    roles = {u.role for u in users}
    assert roles == {"admin", "city_officer", "county_officer", "agent", "enterprise", "bank"}
    county_users = [u for u in users if u.role == "county_officer"]
    assert sorted(u.county_code for u in county_users) == sorted(COUNTY_CODES)
    assert sum(u.role == "bank" for u in users) == 3
    assert all(u.enterprise_id for u in users if u.role == "enterprise")
    agents = {u.id for u in users if u.role == "agent"}
    assert assignments and {a.user_id for a in assignments} == agents
    admin = next(u for u in users if u.username == "admin")
    assert PasswordHasher().verify(admin.password_hash, DEMO_PASSWORD)
    assert json.loads((tmp_path / "operational.json").read_text("utf-8")) == summary


# ---------------------------------------------------------------------------------- province
def test_province_writer_schema(tmp_path: Path) -> None:
    manifest = write_province(tmp_path / "a", seed=3, n_enterprises=400, chunk_size=150)
    again = write_province(tmp_path / "b", seed=3, n_enterprises=400, chunk_size=150)
    assert _hashes(tmp_path / "a") == _hashes(tmp_path / "b")
    assert manifest.files == [] and manifest.defects == [] and again.counts == manifest.counts
    assert manifest.counts["enterprises"] == 400
    for entry in manifest.tables:
        path = tmp_path / "a" / entry["path"]
        meta = pq.ParquetFile(path)
        assert meta.schema_arrow == TABLES[entry["table"]]
        assert meta.metadata.num_rows == entry["rows"] > 0
        assert meta.metadata.num_row_groups >= 3  # one per chunk at least
    ents = pq.read_table(tmp_path / "a" / "tables" / "enterprises.parquet").to_pylist()
    usccs = [r["uscc"] for r in ents]
    assert len(set(usccs)) == len(usccs) and all(uscc_core.is_valid(u) for u in usccs)
    facts = pq.read_table(tmp_path / "a" / "tables" / "facts.parquet")
    assert {"revenue", "tax_paid", "electricity", "land_area", "above_scale"} <= set(
        facts.column("item").to_pylist()
    )
