"""Department file mappings: canonical columns with Chinese aliases, types, units and items.

One YAML per kind in ``ingest/mappings/`` (registration, stats_annual, energy, tax, power, land,
emissions). A header cell maps to a column when its text, with any unit suffix in brackets
removed, equals one of the column's aliases after NFKC and whitespace clean-up.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

from industry_brain.core.errors import Location, ValidationError

ColumnType = Literal[
    "uscc",
    "text",
    "text_list",
    "number",
    "year",
    "month",
    "date",
    "flag",
    "tenure",
    "region",
    "industry",
]


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aliases: list[str]
    type: ColumnType
    required: bool = False
    dimension: str | None = None
    unit: str | None = None  # default unit when the header names none
    item: str | None = None  # fact item this column loads into
    min: float | None = None
    min_exclusive: float | None = None
    detail: bool = False  # distinguishes several figures of one item (account, parcel, tax type)


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str
    department: str
    zh: str
    en: str
    period: Literal["none", "year", "month"]
    columns: dict[str, ColumnSpec]

    def hints(self) -> set[str]:
        return {a for c in self.columns.values() for a in c.aliases}

    def items(self) -> dict[str, ColumnSpec]:
        return {name: c for name, c in self.columns.items() if c.item}

    def detail_column(self) -> str | None:
        return next((name for name, c in self.columns.items() if c.detail), None)


_UNIT_SUFFIX = re.compile(r"[\(（\[【][^\)）\]】]*[\)）\]】]\s*$")


def clean_header(text: str) -> str:
    """NFKC, no whitespace, unit suffix dropped: ``工业总产值（千元）`` → ``工业总产值``."""
    t = unicodedata.normalize("NFKC", str(text))
    t = re.sub(r"\s+", "", t)
    prev = None
    while prev != t:
        prev, t = t, _UNIT_SUFFIX.sub("", t)
    return t.replace("/", "/").lower()


KINDS = ("registration", "stats_annual", "energy", "tax", "power", "land", "emissions")


@cache
def load_mapping(kind: str) -> Mapping:
    """The mapping for a department kind (one of ``KINDS``)."""
    if kind not in KINDS:
        raise ValidationError(
            "import.kind",
            f"未知的数据类型“{kind}”（可选：{'、'.join(KINDS)}）",
            f"unknown kind '{kind}' (one of: {', '.join(KINDS)})",
            Location(field="kind"),
            kind,
        )
    text = resources.files("industry_brain.ingest").joinpath("mappings", f"{kind}.yaml")
    return Mapping.model_validate(yaml.safe_load(text.read_text("utf-8")))


def alias_index(mapping: Mapping) -> dict[str, str]:
    """Cleaned alias → canonical column name."""
    index: dict[str, str] = {}
    for name, spec in mapping.columns.items():
        for alias in [*spec.aliases, name]:
            index[clean_header(alias)] = name
    return index
