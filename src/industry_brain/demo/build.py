"""Build the demo city: department files into ``<out>/inbox/``, truth tables, the manifest."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from industry_brain.core.progress import Progress
from industry_brain.demo import sheets
from industry_brain.demo.constants import (
    DEFAULT_SEED,
    DEMO_TODAY,
    LATEST_YEAR,
    SCALES,
    YEARS,
    city,
    scale_of,
)
from industry_brain.demo.departments import CityFiles, Defect
from industry_brain.demo.identifiers import CodeBook, NameFactory
from industry_brain.demo.manifest import DemoManifest
from industry_brain.demo.population import Population, build_population, generate
from industry_brain.demo.tables import TableWriter

TRUTH_DIR = "truth"
PROVINCE_DIR = "tables"
PROVINCE_CHUNK = 10_000


def build_city(
    out_dir: Path,
    scale: str = "city",
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
) -> DemoManifest:
    """Build the synthetic city (示范城市) for ``seed`` into ``out_dir``.

    ``small`` and ``city`` write the department files (部门报送文件) under ``inbox/``, the truth
    tables under ``truth/`` and ``manifest.json``; ``province`` writes only Parquet tables under
    ``tables/`` (about 500 000 enterprises, for benchmarks). ``progress(step, done, total)`` is
    called after each file. The same seed always gives byte-identical files.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sc = scale_of(scale)
    if not sc.files:
        return write_province(out_dir, seed, progress=progress, scale=scale)
    pop = build_population(seed, sc.above, sc.below, sc.closed, detail=True)
    city = CityFiles(pop, seed)
    total = city.file_count() + 1
    entries: list[dict[str, Any]] = []
    rows: dict[str, int] = {}
    defects: list[Defect] = []
    for k, (dept, planted) in enumerate(city.files(), 1):
        sheets.write(dept, out_dir)
        defects += planted
        for sheet in dept.sheets:
            entries.append(
                {
                    "kind": dept.kind,
                    "path": dept.path,
                    "year": dept.year,
                    "sheet": sheet.name if dept.fmt == "xlsx" else None,
                    "encoding": dept.encoding,
                }
            )
        rows[dept.path] = sum(len(s.rows) for s in dept.sheets)
        if progress:
            progress(f"{dept.kind} {dept.year or ''}".strip(), k, total)
        del dept, planted  # free this file's rows before the next one is built
    with TableWriter(out_dir / TRUTH_DIR) as writer:
        writer.add(pop)
    if progress:
        progress("truth tables", total, total)
    counts = _counts(pop)
    counts["rows"] = rows
    manifest = DemoManifest(
        scale=scale,
        seed=seed,
        reference_date=DEMO_TODAY.isoformat(),
        counts=counts,
        files=entries,
        defects=[d.to_dict() for d in defects],
        tables=writer.entries(out_dir),
    )
    manifest.write(out_dir)
    return manifest


def write_province(
    out_dir: Path,
    seed: int = DEFAULT_SEED,
    n_enterprises: int | None = None,
    progress: Progress | None = None,
    chunk_size: int = PROVINCE_CHUNK,
    scale: str = "province",
) -> DemoManifest:
    """Province-scale Parquet tables (enterprises, facts, monthly electricity) in chunks.

    ``n_enterprises`` (active in the latest year; default ≈ 500 000) shrinks the run for tests.
    Memory is bounded by ``chunk_size`` enterprises; identifiers stay unique across chunks.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sc = SCALES["province"]
    active = sc.above + sc.below if n_enterprises is None else int(n_enterprises)
    n_above = round(active * sc.above / (sc.above + sc.below))
    n_below = active - n_above
    n_closed = round(active * sc.closed / (sc.above + sc.below))
    total = n_above + n_below + n_closed
    chunks = max(1, -(-total // chunk_size))
    root = np.random.SeedSequence(seed)
    code_seq, name_seq, pop_seq = root.spawn(3)
    codes = CodeBook(np.random.Generator(np.random.PCG64(code_seq)))
    names = NameFactory(np.random.Generator(np.random.PCG64(name_seq)))
    chunk_seqs = pop_seq.spawn(chunks)
    counts: dict[str, Any] = {}
    offset = 0
    accounts = 0
    with TableWriter(out_dir / PROVINCE_DIR) as writer:
        for c in range(chunks):
            rng = np.random.Generator(np.random.PCG64(chunk_seqs[c]))
            pop = generate(
                rng,
                codes,
                names,
                _split(n_above, chunks, c),
                _split(n_below, chunks, c),
                _split(n_closed, chunks, c),
                offset=offset,
                account_offset=accounts,
                detail=False,
            )
            offset += pop.n
            accounts += len(pop.acct_no)
            writer.add(pop)
            _merge_counts(counts, _counts(pop))
            if progress:
                progress(f"province chunk {c + 1}", c + 1, chunks)
    manifest = DemoManifest(
        scale=scale,
        seed=seed,
        reference_date=DEMO_TODAY.isoformat(),
        counts=counts,
        files=[],
        defects=[],
        tables=writer.entries(out_dir),
    )
    manifest.write(out_dir)
    return manifest


def _split(total: int, parts: int, k: int) -> int:
    return total // parts + (1 if k < total % parts else 0)


def _counts(pop: Population) -> dict[str, Any]:
    """Enterprises by county and by scale in the latest year, and other sizes."""
    k = YEARS.index(LATEST_YEAR)
    active = pop.active[:, k]
    above = pop.above[:, k]
    by_county: dict[str, dict[str, Any]] = {}
    for c, county in enumerate(city().counties):
        here = pop.county_idx == c
        by_county[county.code] = {
            "name": county.name,
            "above_scale": int((above & here).sum()),
            "below_scale": int((active & ~above & here).sum()),
        }
    leased = sum(1 for p in pop.parcels if p.tenure == "租赁")
    return {
        "year": LATEST_YEAR,
        "registered": pop.n,
        "enterprises": int(active.sum()),
        "above_scale": int(above.sum()),
        "below_scale": int((active & ~above).sum()),
        "closed": int((~active).sum()),
        "by_county": by_county,
        "above_scale_by_year": {str(y): int(pop.above[:, j].sum()) for j, y in enumerate(YEARS)},
        "renamed": sum(1 for f in pop.former if f),
        "name_clashes": len(pop.name_clashes),
        "power_accounts": len(pop.acct_no),
        "power_accounts_without_uscc": int((~pop.acct_has_uscc).sum()),
        "enterprises_with_several_accounts": int((np.bincount(pop.acct_ent) > 1).sum()),
        "land_parcels": len(pop.parcels),
        "leased_parcels": leased,
    }


def _merge_counts(into: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if isinstance(value, dict):
            _merge_counts(into.setdefault(key, {}), value)
        elif isinstance(value, int) and key != "year":
            into[key] = into.get(key, 0) + value
        else:
            into[key] = value


def enterprise_rows(out_dir: Path) -> list[dict[str, Any]]:
    """The generated registry (一企一档) of a built demo as dicts, with 规上 flags by year.

    Keys: uscc, name, former_names, county_code, industry_code, registration_date (date),
    status, address, closed_year, above_scale ({year: bool}). Reads the truth tables.
    """
    out_dir = Path(out_dir)
    folder = out_dir / TRUTH_DIR
    if not (folder / "enterprises.parquet").exists():
        folder = out_dir / PROVINCE_DIR
    rows = pq.read_table(folder / "enterprises.parquet").to_pylist()
    flags = pq.read_table(
        folder / "facts.parquet",
        columns=["uscc", "year", "value"],
        filters=[("item", "=", "above_scale")],
    ).to_pydict()
    by_uscc: dict[str, dict[int, bool]] = {}
    for code, year, value in zip(flags["uscc"], flags["year"], flags["value"], strict=True):
        by_uscc.setdefault(code, {})[int(year)] = bool(value)
    for row in rows:
        reg = row["registration_date"]
        row["registration_date"] = reg if isinstance(reg, date) else None
        row["above_scale"] = by_uscc.get(row["uscc"], {})
    return rows
