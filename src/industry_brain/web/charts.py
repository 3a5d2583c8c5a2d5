"""Chart specs for the services' cockpit sections, read by ``static/cockpit.js``: a section
template renders ``<script type="application/json" id="ID">`` with the spec of the page's
language and ``<div class="chart" data-chart-json="ID">``; the table beside it shows the same
numbers. With ``links`` (one URL or ``None`` per series and category) a click on a segment
opens the list behind it, and :func:`area_links` builds such links for a service's list page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from industry_brain.web.i18n import LANGUAGES, Translator


def stacked_by_county(
    counties: list[dict[str, Any]],
    keys: list[str],
    label_key: str,
    colours: list[str] | None = None,
    links: list[list[str | None]] | None = None,
) -> dict[str, dict[str, Any]]:
    """A stacked bar per county of the counts ``county[key]`` for each key, in every UI
    language (series names from the catalog key ``label_key.format(key)``); ``links[i][j]`` is
    the URL behind series ``i`` in county ``j``."""
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
            "links": links,
        }
    return out


def area_links(
    path: str,
    counties: list[dict[str, Any]],
    keys: list[str],
    param: str,
    filters: Any,
    *,
    level: str = "county",
    linked: tuple[str, ...] | None = None,
    year: int | None = None,
) -> list[list[str | None]] | None:
    """The URL of ``path`` behind each (key, county) segment of a cockpit chart: the list
    filtered by the county and ``param=key`` (and the year), or ``None`` for a key not in
    ``linked``. ``None`` altogether when the list cannot show the same selection: it filters
    by county only, so not a town-level chart or a cockpit filtered by industry or town."""
    if level != "county" or (
        filters is not None
        and (getattr(filters, "industry", None) or getattr(filters, "town", None))
    ):
        return None
    out: list[list[str | None]] = []
    for k in keys:
        row: list[str | None] = []
        for c in counties:
            if not c.get("code") or (linked is not None and k not in linked):
                row.append(None)
                continue
            query = {"county": c["code"], param: k}
            if year:
                query = {"year": str(year), **query}
            row.append(f"{path}?{urlencode(query)}")
        out.append(row)
    return out
