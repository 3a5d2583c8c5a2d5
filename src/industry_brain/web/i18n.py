"""Message catalogs: ``web/i18n/<lang>.yaml`` (flat keys → text; ``{name}`` placeholders).

Chinese (``zh``) is the default; English (``en``) is the switch. Templates call ``t("key")``;
a key missing from a catalog is an error (tests check both catalogs have the same keys).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

LANGUAGES = ("zh", "en")


@cache
def catalog(lang: str) -> dict[str, str]:
    """The catalog of ``lang`` (``zh`` or ``en``)."""
    if lang not in LANGUAGES:
        raise KeyError(f"no catalog for language {lang!r}")
    text = resources.files("industry_brain.web").joinpath("i18n", f"{lang}.yaml")
    data = yaml.safe_load(text.read_text("utf-8"))
    return {str(k): str(v) for k, v in data.items()}


def translate(lang: str, key: str, **values: Any) -> str:
    """The message ``key`` in ``lang`` with ``{placeholders}`` filled."""
    text = catalog(lang)[key]
    return text.format(**values) if values else text


class Translator:
    """Callable bound to one language, given to templates as ``t``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else LANGUAGES[0]

    def __call__(self, key: str, **values: Any) -> str:
        return translate(self.lang, key, **values)

    def pick(self, zh: str | None, en: str | None) -> str:
        """Pick the language's text of a bilingual pair (e.g. an error's zh/en)."""
        return (zh if self.lang == "zh" else en) or zh or en or ""
