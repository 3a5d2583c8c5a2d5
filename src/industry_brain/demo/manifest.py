"""The demo's manifest (清单): what was built, the import order of the files, planted defects."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"


@dataclass
class DemoManifest:
    """What :func:`industry_brain.demo.build_city` wrote.

    ``files``: department files in import order, each ``{kind, path, year, sheet, encoding}``
    (``path`` relative to the output folder; one entry per sheet of a workbook).
    ``defects``: planted defects, each ``{kind_of_defect, file, sheet, row, column,
    uscc_or_name, note, value}`` with ``row`` the line number a person sees in Excel (title and
    header lines included). ``tables``: Parquet tables (ground truth at city scale, the only
    output at province scale). ``counts``: enterprises by county and scale (规上/规下) in the
    latest year and other sizes.
    """

    scale: str
    seed: int
    reference_date: str
    counts: dict[str, Any] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    defects: list[dict[str, Any]] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return asdict(self)

    def defect_kinds(self) -> list[str]:
        """Distinct defect kinds, in order of first appearance."""
        return list(dict.fromkeys(d["kind_of_defect"] for d in self.defects))

    def write(self, out_dir: Path) -> Path:
        """Write ``manifest.json`` (UTF-8, sorted as built) into ``out_dir``."""
        path = Path(out_dir) / MANIFEST_NAME
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"
        path.write_text(text, encoding="utf-8")
        return path

    @classmethod
    def load(cls, out_dir: Path) -> DemoManifest:
        """Read ``manifest.json`` from ``out_dir`` (or the file itself)."""
        path = Path(out_dir)
        if path.is_dir():
            path = path / MANIFEST_NAME
        return cls(**json.loads(path.read_text(encoding="utf-8")))
