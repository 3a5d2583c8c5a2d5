"""A warehouse snapshot straight from the generated province tables, without the store.

For the benchmarks and the Spark cluster test: the province generator's tables (USCC-keyed long
facts, the 规上 flag as a fact) adapted to the snapshot schema of
:mod:`industry_brain.warehouse.snapshot` (``enterprises``, ``scales``, ``facts``) by DuckDB.
The store path (ingest → snapshot) is the demo's own; this one skips it to time or test the
evaluations alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

from industry_brain.demo.build import write_province
from industry_brain.demo.constants import DEFAULT_SEED


def province_snapshot(out: Path, n_enterprises: int | None, seed: int = DEFAULT_SEED) -> Path:
    """Write the snapshot of ``n_enterprises`` generated firms (None: the whole province) to
    ``out`` and return it; an existing one (its ``facts.parquet``) is reused as it is."""
    out = Path(out)
    if (out / "facts.parquet").exists():
        return out
    src = out.parent / f"{out.name}-province"
    write_province(src, seed=seed, n_enterprises=n_enterprises)
    out.mkdir(parents=True, exist_ok=True)
    tables = src / "tables"
    con = duckdb.connect()
    con.execute(
        f"""
        CREATE TEMP TABLE ents AS
        SELECT row_number() OVER (ORDER BY uscc) AS enterprise_id, uscc, name, county_code,
               industry_code, status, substr(industry_code, 1, 2) AS division
        FROM read_parquet('{tables}/enterprises.parquet');
        COPY ents TO '{out}/enterprises.parquet' (FORMAT parquet);
        COPY (SELECT e.enterprise_id, CAST(f.year AS BIGINT) AS year, f.value > 0 AS above_scale
              FROM read_parquet('{tables}/facts.parquet') f JOIN ents e USING (uscc)
              WHERE f.item = 'above_scale')
        TO '{out}/scales.parquet' (FORMAT parquet);
        COPY (SELECT e.enterprise_id, CAST(f.year AS BIGINT) AS year, f.item, f.value, f.unit,
                     'province' AS source_dept
              FROM read_parquet('{tables}/facts.parquet') f JOIN ents e USING (uscc)
              WHERE f.item <> 'above_scale')
        TO '{out}/facts.parquet' (FORMAT parquet);
        """
    )
    rows = {
        name: int(
            con.execute(f"SELECT count(*) FROM read_parquet('{out}/{name}.parquet')").fetchone()[0]  # type: ignore[index]
        )
        for name in ("enterprises", "scales", "facts")
    }
    con.close()
    manifest = {"rows": rows, "batch_ids": [], "created_at": "", "runs": [], "database": ""}
    (out / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    shutil.rmtree(src)  # keep only the adapted snapshot (≈ 150 MB at province scale)
    return out
