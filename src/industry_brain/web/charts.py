"""Chart specs for the services' cockpit sections, read by ``static/cockpit.js``: a section
template renders ``<script type="application/json" id="ID">`` with the spec of the page's
language and ``<div class="chart" data-chart-json="ID">``; the table beside it shows the same
numbers."""

from __future__ import annotations

from typing import Any

from industry_brain.web.i18n import LANGUAGES, Translator


def stacked_by_county(
    counties: list[dict[str, Any]],
    keys: list[str],
    label_key: str,
    colours: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """A stacked bar per county of the counts ``county[key]`` for each key, in every UI
    language (series names from the catalog key ``label_key.format(key)``)."""
    out = {}
    for lang in LANGUAGES:
        t = Translator(lang)
        out[lang] = {
            "kind": "stacked",
            "categories": [c["name"] for c in counties],
            "colors": colours,
            "series": [
                {"name": t(label_key.format(k)), "data": [c[k] for c in counties]} for k in keys
            ],
        }
    return out
