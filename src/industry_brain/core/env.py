"""Settings read from the environment (``IB_*`` variables, 环境变量配置), parsed strictly.

A value that cannot be what the variable means is refused with a :class:`ValidationError`
(code ``settings.invalid``) naming the variable, the value and what is expected, in Chinese and
English — never a traceback, never a silent default: ``IB_COOKIE_SECURE=ture`` (a typo) is an
error, not a cookie without ``Secure``. An unset or empty variable takes its default.

:func:`industry_brain.checkup.settings_problems` reads every setting of the platform at once
(``industry-brain check``; ``industry-brain serve`` before it starts).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from industry_brain.core.errors import IBError, Location, Problem, ValidationError

#: spellings of a yes/no setting
TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})
#: the log levels ``IB_LOG_LEVEL`` takes
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


def raw(name: str) -> str | None:
    """The variable's value without surrounding blanks; None when unset or empty."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def invalid(name: str, value: str, expected_zh: str, expected_en: str) -> ValidationError:
    """The error of a bad setting: the variable, its value and what it should be."""
    shown = value if len(value) <= 80 else value[:77] + "..."
    return ValidationError(
        "settings.invalid",
        f"环境变量的值“{shown}”无效，应为：{expected_zh}",
        f"invalid value {shown!r}: expected {expected_en}",
        Location(field=name),
        shown,
    )


class SettingsError(ValidationError):
    """Several bad settings found at once (:func:`gather`); the first is the error's own
    problem, :attr:`problems` holds them all."""

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        super().__init__(first.code, first.zh, first.en, first.location, first.value)
        self.problems = problems


def problems_of(exc: IBError) -> list[Problem]:
    """Every problem an error carries (a :class:`SettingsError` several, others one)."""
    return list(getattr(exc, "problems", None) or [exc.problem])


def gather(reads: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Each read's value by name; every read runs, and the bad values are raised together
    (:class:`SettingsError`) — an administrator fixes them in one go."""
    out: dict[str, Any] = {}
    bad: list[Problem] = []
    for key, read in reads.items():
        try:
            out[key] = read()
        except ValidationError as exc:
            bad.extend(problems_of(exc))
    if bad:
        raise SettingsError(bad)
    return out


def _numeric(
    name: str, default: Any, minimum: Any, parse: Callable[[str], Any], zh: str, en: str
) -> Any:
    """The variable parsed by ``parse`` (finite, at least ``minimum`` when given)."""
    value = raw(name)
    if value is None:
        return default
    try:
        out = parse(value)
    except ValueError:
        out = math.nan
    if not math.isfinite(out) or (minimum is not None and out < minimum):
        floor_zh = f"不小于 {minimum:g} 的" if minimum is not None else ""
        floor_en = f" of at least {minimum:g}" if minimum is not None else ""
        raise invalid(name, value, f"{floor_zh}{zh}", f"{en}{floor_en}")
    return out


def integer(name: str, default: int, minimum: int | None = None) -> int:
    """A whole number, at least ``minimum`` when given."""
    return int(_numeric(name, default, minimum, int, "整数", "a whole number"))


def number(name: str, default: float, minimum: float | None = None) -> float:
    """A finite number (seconds, sizes), at least ``minimum`` when given."""
    return float(_numeric(name, default, minimum, float, "数值", "a number"))


def flag(name: str, default: bool) -> bool:
    """Yes or no: ``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off``."""
    value = raw(name)
    if value is None:
        return default
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise invalid(name, value, "1/true/yes/on 或 0/false/no/off", "1/true/yes/on or 0/false/no/off")


def choice(name: str, default: str, choices: tuple[str, ...], upper: bool = False) -> str:
    """One of ``choices`` (compared in upper case when ``upper``)."""
    value = raw(name)
    if value is None:
        return default
    key = value.upper() if upper else value
    if key not in choices:
        listed = " / ".join(choices)
        raise invalid(name, value, f"{listed} 之一", f"one of {listed}")
    return key


def iso_date(name: str) -> date | None:
    """A calendar date written ``YYYY-MM-DD``; None when unset."""
    value = raw(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(name, value, "YYYY-MM-DD 格式的日期", "a date written YYYY-MM-DD") from None


def zone(name: str, default: str) -> str:
    """An IANA time zone name (``Asia/Shanghai``)."""
    value = raw(name)
    if value is None:
        return default
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid(
            name, value, "IANA 时区名（如 Asia/Shanghai）", "an IANA time zone (e.g. Asia/Shanghai)"
        ) from None
    return value


def today() -> date:
    """The platform's today: ``IB_TODAY`` when set (replaying a day), else the real date."""
    return iso_date("IB_TODAY") or date.today()


def log_level() -> str:
    """``IB_LOG_LEVEL`` (default ``INFO``), in upper case."""
    return choice("IB_LOG_LEVEL", "INFO", LOG_LEVELS, upper=True)
