"""Bilingual errors carrying a stable code, Chinese and English messages and a location.

Every problem the platform reports to a person (a bad cell in a department file, an unknown
parameter key, a refused stage transition) is one of these, so that the CLI, the web pages and
the JSON API can all show the same code, message and place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file cell (file/sheet/row/column) or a named field."""

    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    field: str | None = None

    def describe(self, lang: str = "zh") -> str:
        parts: list[str] = []
        labels = (
            {"file": "文件", "sheet": "工作表", "row": "行", "column": "列", "field": "字段"}
            if lang == "zh"
            else {
                "file": "file",
                "sheet": "sheet",
                "row": "row",
                "column": "column",
                "field": "field",
            }
        )
        for key in ("file", "sheet", "row", "column", "field"):
            value = getattr(self, key)
            if value is not None and value != "":
                parts.append(f"{labels[key]} {value}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Problem:
    """One finding: severity (error|warning|info), stable code, zh/en message, location, value."""

    code: str
    zh: str
    en: str
    location: Location = field(default_factory=Location)
    severity: str = "error"
    value: Any = None
    uscc: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "zh": self.zh,
            "en": self.en,
            **self.location.to_dict(),
        }
        if self.value is not None:
            d["value"] = self.value if isinstance(self.value, int | float) else str(self.value)
        if self.uscc:
            d["uscc"] = self.uscc
        return d

    def message(self) -> str:
        where = self.location.describe("zh")
        where_en = self.location.describe("en")
        prefix = f"[{self.code}] "
        zh = f"{where}：{self.zh}" if where else self.zh
        en = f"{where_en}: {self.en}" if where_en else self.en
        return f"{prefix}{zh} / {en}"


class IBError(Exception):
    """Base error of the platform: a code, a Chinese and an English message and a location."""

    def __init__(
        self,
        code: str,
        zh: str,
        en: str,
        location: Location | None = None,
        value: Any = None,
    ) -> None:
        self.problem = Problem(
            code=code, zh=zh, en=en, location=location or Location(), value=value
        )
        super().__init__(self.problem.message())

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled whole (its problem and any attributes) when it crosses a process boundary
        # (parallel imports): the default would call ``cls(message)``, which takes more
        return (_rebuilt, (self.__class__, self.problem.message(), self.__dict__))

    @property
    def code(self) -> str:
        return self.problem.code

    @property
    def zh(self) -> str:
        return self.problem.zh

    @property
    def en(self) -> str:
        return self.problem.en

    @property
    def location(self) -> Location:
        return self.problem.location

    def to_dict(self) -> dict[str, Any]:
        return self.problem.to_dict()


def _rebuilt(cls: type[IBError], message: str, state: dict[str, Any]) -> IBError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class ValidationError(IBError):
    """Input that breaks a rule (bad identifier, bad unit, bad parameter file...)."""


class NotFoundError(IBError):
    """A requested object (enterprise, parameter key, batch) does not exist."""


class ConflictError(IBError):
    """A write lost a race or contradicts the stored state (stale version, duplicate batch)."""
