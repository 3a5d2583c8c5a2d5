"""Message catalogs: ``web/i18n/<lang>.yaml`` plus each domain service's
``domains/<name>/i18n/<lang>.yaml`` (flat keys → text; ``{name}`` placeholders).

Chinese (``zh``) is the default; English (``en``) is the switch. Templates call ``t("key")``;
a key missing from a catalog is an error (tests check both catalogs have the same keys). A domain
catalog may not redefine a key of the platform or of another domain.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

LANGUAGES = ("zh", "en")


def _read(path: Any) -> dict[str, str]:
    data = yaml.safe_load(path.read_text("utf-8")) or {}
    return {str(k): str(v) for k, v in data.items()}


def domain_catalog_files(lang: str) -> list[Any]:
    """The ``i18n/<lang>.yaml`` files of the domain packages and of the services on the
    contract (``ib_message_catalogs``), by path."""
    from industry_brain import contract

    root = resources.files("industry_brain.domains")
    files = {str(d.joinpath("i18n", f"{lang}.yaml")) for d in root.iterdir() if d.is_dir()}
    files |= {str(d / f"{lang}.yaml") for _, d in contract.each("message_catalogs")}
    return [Path(f) for f in sorted(files)]


@cache
def catalog(lang: str) -> dict[str, str]:
    """The catalog of ``lang`` (``zh`` or ``en``): the platform's and every domain's."""
    if lang not in LANGUAGES:
        raise KeyError(f"no catalog for language {lang!r}")
    merged = _read(resources.files("industry_brain.web").joinpath("i18n", f"{lang}.yaml"))
    for path in domain_catalog_files(lang):
        if not path.is_file():
            continue
        extra = _read(path)
        clash = sorted(set(extra) & set(merged))
        if clash:
            raise ValueError(f"{path}: keys already defined elsewhere: {', '.join(clash[:5])}")
        merged.update(extra)
    return merged


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
