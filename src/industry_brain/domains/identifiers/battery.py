"""GB/T 34014-2017 汽车动力蓄电池编码: the 24-character code (shared/domain/codes.md §4).

| Pos.  | Field                 | Tag                                                       |
|-------|-----------------------|-----------------------------------------------------------|
| 1–3   | manufacturer code     | [V] assigned centrally                                    |
| 4     | product type P/M/C    | [V] pack, module, cell                                    |
| 5     | chemistry             | B LFP, E NCM/NCA [V]; A C D F G Z [PRIOR]                 |
| 6–7   | spec code             | [V] maker-defined; width [PRIOR]                          |
| 8–14  | traceability          | [V] maker-defined; width [PRIOR]                          |
| 15–17 | production date       | [V] year, month, day chars; tables [NOT FOUND] → DEFAULT  |
| 18–24 | serial                | [V] daily sequence 1…9999999                              |

The date character tables were NOT FOUND in the standard's public text: the ones below are this
node's [DEFAULT] (configurable through :class:`DateChars`): month ``1–9 A B C``; day ``1–9`` then
letters A–Y skipping I, O, Q and Z (codes.md's hypothesis also skips U, which leaves only 30
characters for 31 days — U is kept here so that day 31 can be coded; flagged); year in a
VIN-like 30-year cycle (A=2010 … skipping I O Q U Z 0, then 1–9). Parsing is lenient: a date
that does not decode is ``None`` and the raw code is always kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from industry_brain.core.errors import Location, ValidationError

PRODUCT_TYPES = {"P": "pack", "M": "module", "C": "cell"}  # [V]
CHEMISTRY = {  # B, E [V]; the rest [PRIOR]
    "A": ("镍氢", "NiMH", "PRIOR"),
    "B": ("磷酸铁锂", "LFP", "V"),
    "C": ("锰酸锂", "LMO", "PRIOR"),
    "D": ("钴酸锂", "LCO", "PRIOR"),
    "E": ("三元", "NCM/NCA", "V"),
    "F": ("超级电容器", "supercapacitor", "PRIOR"),
    "G": ("钛酸锂", "LTO", "PRIOR"),
    "Z": ("其他", "other", "PRIOR"),
}
CODE_RE = re.compile(r"^[0-9A-Z]{24}$")


@dataclass(frozen=True)
class DateChars:
    """[DEFAULT] date character tables (the standard's are NOT FOUND): configurable."""

    year_base: int = 2010
    year_chars: str = "ABCDEFGHJKLMNPRSTVWXY123456789"  # VIN-like cycle of 30 years
    month_chars: str = "123456789ABC"
    day_chars: str = "123456789ABCDEFGHJKLMNPRSTUVWXY"  # 31; see module docstring about U

    def encode(self, d: date) -> str:
        offset = (d.year - self.year_base) % len(self.year_chars)
        return self.year_chars[offset] + self.month_chars[d.month - 1] + self.day_chars[d.day - 1]

    def decode(self, chars: str, near: int | None = None) -> date | None:
        """The date closest to ``near`` (a year; default the base's cycle), or None."""
        try:
            offset = self.year_chars.index(chars[0])
            month = self.month_chars.index(chars[1]) + 1
            day = self.day_chars.index(chars[2]) + 1
        except (ValueError, IndexError):
            return None
        year = self.year_base + offset
        if near is not None:
            cycle = len(self.year_chars)
            while year + cycle <= near + cycle // 2:
                year += cycle
        try:
            return date(year, month, day)
        except ValueError:
            return None


DEFAULT_DATES = DateChars()


@dataclass(frozen=True)
class BatteryCode:
    raw: str
    manufacturer: str
    product_type: str
    chemistry: str
    spec: str
    trace: str
    date_chars: str
    serial: int
    produced: date | None = None
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return {
            "code": self.raw,
            "manufacturer": self.manufacturer,
            "product_type": self.product_type,
            "product": PRODUCT_TYPES[self.product_type],
            "chemistry": self.chemistry,
            "chemistry_name": CHEMISTRY.get(self.chemistry, ("?", "?", ""))[1],
            "spec": self.spec,
            "trace": self.trace,
            "date_chars": self.date_chars,
            "produced": self.produced.isoformat() if self.produced else None,
            "serial": self.serial,
            "warnings": list(self.warnings),
        }


def _bad(code: str, zh: str, en: str, value: str) -> ValidationError:
    return ValidationError(code, zh, en, Location(field="battery_code"), value=value)


def parse(raw: str, dates: DateChars = DEFAULT_DATES, near: int | None = None) -> BatteryCode:
    """Validate and split a 24-character code; strict on the [V] fields, lenient on the date."""
    code = raw.strip().upper() if isinstance(raw, str) else ""
    if not CODE_RE.match(code):
        raise _bad(
            "ids.battery.length",
            "电池编码应为 24 位大写字母或数字",
            "a battery code has 24 upper-case letters or digits",
            str(raw),
        )
    if code[3] not in PRODUCT_TYPES:
        raise _bad(
            "ids.battery.product_type",
            "第 4 位产品类型应为 P（电池包）、M（模块）或 C（单体）",
            "position 4 (product type) must be P (pack), M (module) or C (cell)",
            code,
        )
    if code[4] not in CHEMISTRY:
        raise _bad(
            "ids.battery.chemistry",
            "第 5 位电池类型代码未知",
            "position 5 (chemistry) is not a known code",
            code,
        )
    serial = int(code[17:24]) if code[17:24].isdigit() else 0
    if not 1 <= serial <= 9_999_999:
        raise _bad(
            "ids.battery.serial",
            "第 18–24 位序列号应为 0000001–9999999",
            "positions 18–24 (serial) must be 0000001–9999999",
            code,
        )
    produced = dates.decode(code[14:17], near)
    warnings = () if produced else ("date_not_decoded",)
    return BatteryCode(
        raw=code,
        manufacturer=code[0:3],
        product_type=code[3],
        chemistry=code[4],
        spec=code[5:7],
        trace=code[7:14],
        date_chars=code[14:17],
        serial=serial,
        produced=produced,
        warnings=warnings,
    )


def generate(
    manufacturer: str,
    product_type: str,
    chemistry: str,
    spec: str,
    trace: str,
    produced: date,
    serial: int,
    dates: DateChars = DEFAULT_DATES,
) -> str:
    """Compose a code; every part is checked by :func:`parse` afterwards."""
    parts = {"manufacturer": (manufacturer, 3), "spec": (spec, 2), "trace": (trace, 7)}
    for name, (value, width) in parts.items():
        if len(value) != width or not re.fullmatch(r"[0-9A-Z]+", value):
            raise _bad(
                f"ids.battery.{name}",
                f"{name} 应为 {width} 位大写字母或数字",
                f"{name} must be {width} upper-case letters or digits",
                value,
            )
    if not 1 <= serial <= 9_999_999:
        raise _bad(
            "ids.battery.serial",
            "序列号应为 1–9999999",
            "the serial must be 1–9999999",
            str(serial),
        )
    code = (
        f"{manufacturer}{product_type}{chemistry}{spec}{trace}{dates.encode(produced)}{serial:07d}"
    )
    parse(code, dates)
    return code
