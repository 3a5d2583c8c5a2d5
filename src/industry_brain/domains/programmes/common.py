"""Shared helpers of the programmes service: errors, enterprises by USCC, the safe reading of an
imported list (the platform's reader, :func:`industry_brain.ingest.readers.read_file`); a header's
``(万元)`` suffix is dropped, any other unit leaves the column unrecognised."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core.errors import IBError, Location, NotFoundError
from industry_brain.core.uscc import normalize as normalize_uscc
from industry_brain.ingest.readers import read_file
from industry_brain.store.models import Enterprise

_UNIT = re.compile(r"[（(]\s*万元\s*[)）]$")


class ProgrammesError(IBError):
    """A programmes step that is not allowed or an input that breaks a rule (HTTP 422)."""


def err(
    code: str, zh: str, en: str, field: str | None = None, value: Any = None
) -> ProgrammesError:
    return ProgrammesError(f"programmes.{code}", zh, en, Location(field=field), value)


def enterprise(session: Session, uscc: str, clause: Any = None) -> Enterprise:
    """The enterprise of ``uscc`` (normalised), within ``clause`` when given."""
    code = normalize_uscc(uscc, Location(field="uscc"))
    stmt = select(Enterprise).where(Enterprise.uscc == code)
    if clause is not None:
        stmt = stmt.where(clause)
    ent = session.scalars(stmt).first()
    if ent is None:
        raise NotFoundError(
            "programmes.enterprise",
            f"没有企业 {code}",
            f"no enterprise {code}",
            Location(field="uscc"),
            code,
        )
    return ent


def read_rows(
    path: Path, headers: dict[str, tuple[str, ...]], required: tuple[str, ...]
) -> tuple[str | None, list[tuple[int, dict[str, str | None]]]]:
    """The rows of the first sheet of a CSV/XLSX list as ``(row number, {field: text})`` through
    the platform's safe reader (size limits, encodings, title rows, merged cells); a missing
    required column is an error naming the file."""
    table = read_file(path, header_hints=[a for aliases in headers.values() for a in aliases])[0]
    cols: dict[str, int] = {}
    for col in table.columns:
        name = _UNIT.sub("", col.name.strip()).strip().lower()
        for code, aliases in headers.items():
            if code not in cols and name in {a.lower() for a in aliases}:
                cols[code] = col.index
    missing = [c for c in required if c not in cols]
    if missing:
        raise ProgrammesError(
            "programmes.list_header",
            "名单缺少列：" + "、".join(headers[c][0] for c in missing),
            "the list lacks columns: " + ", ".join(missing),
            Location(file=path.name, sheet=table.sheet),
            missing,
        )
    data = {code: table.column(i).to_pylist() for code, i in cols.items()}
    numbers = table.row_numbers.to_pylist()
    rows = [
        (int(numbers[n]), {code: data[code][n] for code in cols}) for n in range(table.num_rows)
    ]
    return table.sheet, rows
