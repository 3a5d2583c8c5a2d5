"""The web app's routes are matched in order (``web.app.create_app`` puts the platform's pages
first, then the JSON API, then the services'): that order must never decide which route answers.
No route of one group may match a path of another group's route (same method), with path
parameters filled by a sample value — so moving a group changes only how fast a path is found.
"""

from __future__ import annotations

import re
from itertools import combinations

from fastapi.routing import iter_route_contexts
from starlette.routing import compile_path

from industry_brain.web import domains
from industry_brain.web.routes import api, desks, import_pages, pages


def _groups() -> dict[str, list]:
    out = {
        "pages": [
            r for m in (desks, import_pages, pages) for r in iter_route_contexts(m.router.routes)
        ],
        "api": list(iter_route_contexts(api.router.routes)),
    }
    for name, entry in domains.discover().items():
        routes = []
        for router in (entry.router, entry.api_router):
            if router is not None:
                routes += list(iter_route_contexts(router.routes))
        out[f"service {name}"] = routes
    return out


def _sample(path: str) -> str:
    return re.sub(r"{(\w+)(?::\w+)?}", "S1", path)


def _clash(a, b) -> bool:  # type: ignore[no-untyped-def]
    ma, mb = set(a.methods or ()), set(b.methods or ())
    if ma and mb and not ma & mb:
        return False
    return bool(compile_path(a.path)[0].match(_sample(b.path))) or bool(
        compile_path(b.path)[0].match(_sample(a.path))
    )


def test_no_route_of_one_group_matches_a_path_of_another() -> None:
    groups = _groups()
    assert len(groups["pages"]) > 20 and len(groups) > 5  # the groups were found
    clashes = [
        f"{ga}: {a.path} ~ {gb}: {b.path}"
        for (ga, ra), (gb, rb) in combinations(groups.items(), 2)
        for a in ra
        for b in rb
        if _clash(a, b)
    ]
    assert not clashes, "\n".join(clashes)


def test_the_clash_check_sees_a_clash() -> None:
    # the check itself: a parametrised route matches another's concrete path
    class R:
        def __init__(self, path: str) -> None:
            self.path, self.methods = path, {"GET"}

    assert _clash(R("/enterprises/{uscc}"), R("/enterprises/export"))
    assert not _clash(R("/enterprises/{uscc}"), R("/carbon/{uscc}"))
