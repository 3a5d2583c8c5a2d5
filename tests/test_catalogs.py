"""Message catalogs (``web/i18n/*.yaml`` and ``domains/*/i18n/*.yaml``): every message is read
whole (a YAML comment cannot cut it), zh and en have the same keys and the same placeholders,
and every call with a literal key passes exactly the placeholders its message uses."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
import yaml

from industry_brain.web.i18n import LANGUAGES, catalog

SRC = Path(__file__).resolve().parents[1] / "src" / "industry_brain"
CATALOG_FILES = sorted(SRC.glob("web/i18n/*.yaml")) + sorted(SRC.glob("domains/*/i18n/*.yaml"))
_LINE = re.compile(r"^([A-Za-z0-9_.\-]+):[ \t]+(.*)$")
# t("key", a=…, b=…) in templates and Python; translate(lang, "key", a=…)
_CALL = re.compile(r"""\b(?:t|translate\(\s*\w+\s*,)\(?\s*["']([A-Za-z0-9_.]+)["']\s*([,)])""")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _call_args(source: str, start: int) -> str:
    """The text of a call's arguments from ``start`` to the matching parenthesis."""
    depth = 1
    for i in range(start, len(source)):
        if source[i] == "(":
            depth += 1
        elif source[i] == ")":
            depth -= 1
            if depth == 0:
                return source[start:i]
    return source[start:]


def _top_level_names(args: str) -> set[str]:
    """Keyword names at the top level of an argument list (``a=1, b=f(c=2)`` → a, b)."""
    names: set[str] = set()
    depth = 0
    for m in re.finditer(r"[()\[\]{}]|(?<![=!<>])\b(\w+)\s*=(?!=)", args):
        token = m.group(0)
        if token in "([{":
            depth += 1
        elif token in ")]}":
            depth -= 1
        elif depth == 0 and m.group(1):
            names.add(m.group(1))
    return names


@pytest.mark.parametrize("path", CATALOG_FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_every_message_is_read_whole(path: Path) -> None:
    """An unquoted value with `` #`` is cut by YAML (a comment): the loaded message must be
    the whole text written after the key."""
    loaded = yaml.safe_load(path.read_text("utf-8")) or {}
    cut = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        m = _LINE.match(line)
        if not m or m.group(2)[:1] in ("'", '"', "|", ">"):
            continue
        if str(loaded[m.group(1)]) != m.group(2).strip():
            cut.append(f"line {number}: {m.group(1)} reads {loaded[m.group(1)]!r}")
    assert not cut, "\n".join(cut)


def test_languages_have_the_same_keys_and_placeholders() -> None:
    zh, en = catalog("zh"), catalog("en")
    assert sorted(set(zh) ^ set(en)) == []
    differ = {k: (zh[k], en[k]) for k in zh if placeholders(zh[k]) != placeholders(en[k])}
    assert differ == {}


def test_every_message_renders_with_its_placeholders() -> None:
    for lang in LANGUAGES:
        for key, text in catalog(lang).items():
            values = {name: f"<{name}>" for name in placeholders(text)}
            rendered = text.format(**values)
            assert all(v in rendered for v in values.values()), (lang, key)
            assert "{" not in rendered and "}" not in rendered, (lang, key, rendered)


def test_calls_pass_exactly_the_placeholders_of_their_message() -> None:
    """A call ``t("key", a=…)`` with a literal key gives the names the message uses: a missing
    one is a KeyError on the page, an extra one a value that never shows."""
    messages = catalog("zh")
    files = [*SRC.rglob("*.html"), *SRC.rglob("*.py")]
    wrong, seen = [], 0
    for path in files:
        source = path.read_text("utf-8")
        for m in _CALL.finditer(source):
            key = m.group(1)
            if key not in messages:
                continue
            seen += 1
            given = _top_level_names(_call_args(source, m.end())) if m.group(2) == "," else set()
            wanted = placeholders(messages[key])
            if given != wanted:
                rel = path.relative_to(SRC)
                wrong.append(f"{rel}: {key} given {sorted(given)}, message wants {sorted(wanted)}")
    assert seen > 100  # the scan finds the calls
    assert not wrong, "\n".join(wrong)
