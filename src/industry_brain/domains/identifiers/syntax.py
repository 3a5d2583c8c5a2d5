"""Identifier syntax ``88.118.8/<suffix>`` (shared/domain/codes.md §5).

An identifier is ``prefix "/" suffix`` (Handle: naming authority "/" local name, RFC 3650). The
prefix is ``country . node . enterprise`` separated by dots — China's country code 88 [PRIOR];
the prefix pattern ``^\\d+(\\.[0-9A-Za-z]+)+$`` is codes.md's [DEFAULT]; an *enterprise* prefix
has at least three segments (country, industry or regional node, enterprise). The suffix is
defined by industry rules; the characters accepted here are a [DEFAULT] of this node (RFC 3986
unreserved characters plus ``/ : *``, at most 255), not a fact of any standard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from industry_brain.core.errors import Location, ValidationError

PREFIX_RE = re.compile(r"^\d+(\.[0-9A-Za-z]+)+$")  # [DEFAULT] codes.md §5
SUFFIX_RE = re.compile(r"^[0-9A-Za-z\-._~:/*]{1,255}$")  # [DEFAULT] of this node
PREFIX_MAX = 64


@dataclass(frozen=True)
class Handle:
    prefix: str
    suffix: str

    def __str__(self) -> str:
        return f"{self.prefix}/{self.suffix}"

    @property
    def country(self) -> str:
        return self.prefix.split(".")[0]

    @property
    def node(self) -> str:
        """The secondary node part: ``88.118`` of ``88.118.8``."""
        return ".".join(self.prefix.split(".")[:2])


def bad(code: str, zh: str, en: str, value: str, field: str = "identifier") -> ValidationError:
    return ValidationError(code, zh, en, Location(field=field), value=value)


def check_prefix(prefix: str, enterprise: bool = True) -> str:
    """The prefix itself, or ValidationError ``ids.bad_prefix``."""
    if not isinstance(prefix, str) or len(prefix) > PREFIX_MAX or not PREFIX_RE.match(prefix):
        raise bad(
            "ids.bad_prefix",
            "标识前缀格式错误（应为 国家代码.节点代码.企业代码，如 88.118.8）",
            "bad identifier prefix (country.node.enterprise, e.g. 88.118.8)",
            str(prefix),
            "prefix",
        )
    if enterprise and prefix.count(".") < 2:
        raise bad(
            "ids.bad_prefix",
            "企业标识前缀至少三段：国家代码.节点代码.企业代码",
            "an enterprise prefix has at least three parts: country.node.enterprise",
            prefix,
            "prefix",
        )
    return prefix


def check_suffix(suffix: str) -> str:
    if not isinstance(suffix, str) or not SUFFIX_RE.match(suffix):
        raise bad(
            "ids.bad_suffix",
            "标识后缀格式错误（1–255 个字母、数字或 - . _ ~ : / *）",
            "bad identifier suffix (1–255 letters, digits or - . _ ~ : / *)",
            str(suffix),
            "suffix",
        )
    return suffix


def parse(text: str) -> Handle:
    """``prefix/suffix`` → Handle; the first "/" separates them (a suffix may contain "/")."""
    if not isinstance(text, str) or "/" not in text:
        raise bad(
            "ids.bad_syntax",
            "标识格式错误（应为 前缀/后缀，如 88.118.8/P001）",
            "bad identifier (prefix/suffix, e.g. 88.118.8/P001)",
            str(text),
        )
    prefix, suffix = text.split("/", 1)
    return Handle(check_prefix(prefix), check_suffix(suffix))


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except ValidationError:
        return False
    return True
