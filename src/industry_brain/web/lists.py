"""Lists of the web pages: one component for sorting, paging, page size, filters kept in the URL
and the export of exactly the filtered, sorted rows.

A page declares its list once as a :class:`ListSpec` (columns: key, catalog label, sortable,
export value) and reads the request with :func:`read`:

- ``sort=<key>`` and ``dir=asc|desc`` — the key must be a sortable column of the spec (a
  whitelist: the URL never reaches SQL as text); anything else answers 422 ``request.invalid``
  naming the field, like any other bad query parameter.
- ``page=<n>`` and ``size=<n>`` — the page size is one of the spec's choices.
- the page's own filters, which the component only carries along in every link (an empty
  value means "all", as everywhere).
- ``export=xlsx|csv`` — instead of the page, the file of every row matching the filters in the
  chosen order (all pages), written by :mod:`industry_brain.core.exports` (formula-safe) and
  audited as ``export.list.<name>`` with the filters, the order and the row count.

Where the page queries SQL, it sorts and pages in SQL with :meth:`ListState.order_by` (a map
from column key to SQL expression) and ``state.limit``/``state.offset``; small lists computed in
Python (a DataFrame, a service's rows) use :meth:`ListState.apply`. The Jinja macros of
``templates/_list.html`` draw the sortable header, the count, the page numbers, the size choice
and the export links.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from industry_brain.core import exports
from industry_brain.store import scoped
from industry_brain.store.models import Enterprise
from industry_brain.store.scope import Scope
from industry_brain.web.deps import request_id
from industry_brain.web.i18n import Translator, catalog

EXPORT_FORMATS = ("xlsx", "csv")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: the list parameters the component owns (a page's filter may not use these names)
RESERVED = ("sort", "dir", "page", "size", "export")


@dataclass(frozen=True)
class Column:
    """One column of a list: ``key`` (the row's key and the ``sort`` value), ``label`` (a
    catalog key), whether it sorts, and how the export writes it (``value(row, t)``; default
    the row's raw value — numbers stay numbers in the workbook)."""

    key: str
    label: str
    sortable: bool = True
    value: Callable[[Mapping[str, Any], Translator], Any] | None = None
    export: bool = True
    show: bool = True  # False: in the export only (e.g. the USCC beside a linked name)

    @property
    def reader(self) -> Callable[[Mapping[str, Any], Translator], Any]:
        """The export's cell of a row: ``value(row, t)``, else the row's own value."""
        if self.value is not None:
            return self.value
        key = self.key
        return lambda row, t: row.get(key)


@dataclass(frozen=True)
class ListSpec:
    """A list of a page: its name (the element id and the audit action), its columns, the
    default order and the page sizes offered."""

    name: str
    columns: tuple[Column, ...]
    default_sort: str
    default_desc: bool = False
    sizes: tuple[int, ...] = (20, 50, 100)
    default_size: int = 20
    #: prefix of the list's own parameters when a page has another pager (``w_sort``, ``w_page``)
    prefix: str = ""

    def param(self, name: str) -> str:
        """The URL name of the list parameter ``name`` (``sort``, ``dir``, ``page``, ``size``,
        ``export``)."""
        return f"{self.prefix}{name}"

    def __post_init__(self) -> None:
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys) or self.default_sort not in keys:
            raise ValueError(f"list {self.name}: duplicate columns or unknown default sort")
        if self.default_size not in self.sizes:
            raise ValueError(f"list {self.name}: default size not among the sizes")

    @property
    def shown(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.show)

    @property
    def sortable(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns if c.sortable)

    @property
    def audit_action(self) -> str:
        return f"export.list.{self.name}"


def coded(prefix: str, key: str | None = None) -> Callable[[Mapping[str, Any], Translator], Any]:
    """Export value of a code column ``key``: its catalog text ``prefix + code`` in the UI
    language when the catalog has one, else the code itself."""

    def value(row: Mapping[str, Any], t: Translator) -> Any:
        code = row.get(key) if key else None
        return code if code is None else catalog(t.lang).get(f"{prefix}{code}", code)

    return value


def flag(key: str, label: str) -> Callable[[Mapping[str, Any], Translator], Any]:
    """Export value of a true/false column ``key``: the catalog text ``label`` when true."""

    def value(row: Mapping[str, Any], t: Translator) -> Any:
        return t(label) if row.get(key) else ""

    return value


def _invalid(field_name: str, value: str, allowed: Iterable[Any]) -> RequestValidationError:
    choices = ", ".join(str(a) for a in allowed)
    return RequestValidationError(
        [
            {
                "type": "enum",
                "loc": ("query", field_name),
                "msg": f"Input should be one of {choices}",
                "input": value,
            }
        ]
    )


def _int(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise _invalid(name, value, ["an integer ≥ 1"]) from None
    if number < 1:
        raise _invalid(name, value, ["an integer ≥ 1"])
    return number


@dataclass
class ListState:
    """The list as the URL asks for it: filters, order, page, page size, export format."""

    spec: ListSpec
    path: str
    filters: dict[str, str]
    sort: str
    desc: bool
    page: int
    size: int
    export: str | None = None
    total: int = 0
    extra: dict[str, str] = field(default_factory=dict)  # kept in links, not filters (year)

    # -- URLs ---------------------------------------------------------------------------------
    def params(self, **changes: Any) -> dict[str, str]:
        own = {
            "sort": self.sort,
            "dir": "desc" if self.desc else "asc",
            "size": self.size,
            "page": self.page,
        }
        own.update(changes)
        values: dict[str, Any] = {**self.extra, **self.filters}
        values.update({self.spec.param(k): v for k, v in own.items()})
        return {k: "" if v is None else str(v) for k, v in values.items()}

    def url(self, **changes: Any) -> str:
        """This list's URL with ``changes`` (filters always kept; empty means all)."""
        params = self.params(**changes)
        if params.get(self.spec.param("export")) in (None, ""):
            params.pop(self.spec.param("export"), None)
        # a list lower on a page with another pager: come back to the list, not the top
        anchor = f"#{self.spec.name}-bar" if self.spec.prefix else ""
        return f"{self.path}?{urlencode(params)}{anchor}"

    def sort_url(self, key: str) -> str:
        """The header link of ``key``: ascending first, the other way on the sorted column."""
        desc = not self.desc if key == self.sort else False
        return self.url(sort=key, dir="desc" if desc else "asc", page=1)

    def export_url(self, fmt: str) -> str:
        params = self.params(export=fmt)
        params.pop(self.spec.param("page"), None)
        return f"{self.path}?{urlencode(params)}"

    def hidden(self, *skip: str) -> list[tuple[str, str]]:
        """(name, value) of the parameters a form of the list repeats as hidden inputs
        (``skip``: list parameters by their short name, or filters)."""
        names = {self.spec.param(k) for k in skip} | set(skip)
        return [(k, v) for k, v in self.params().items() if k not in names]

    def keep(self) -> list[tuple[str, str]]:
        """(name, value) of the order and page size, for the page's filter form."""
        return [
            (self.spec.param("sort"), self.sort),
            (self.spec.param("dir"), "desc" if self.desc else "asc"),
            (self.spec.param("size"), str(self.size)),
        ]

    # -- paging -------------------------------------------------------------------------------
    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def limit(self) -> int:
        return self.size

    @property
    def first(self) -> int:
        return min(self.total, self.offset + 1)

    @property
    def last(self) -> int:
        return min(self.total, self.offset + self.size)

    def page_numbers(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: the first, the last and ``around`` each side of the current
        one; ``None`` marks a gap."""
        wanted = {1, self.pages, *range(self.page - around, self.page + around + 1)}
        shown = sorted(p for p in wanted if 1 <= p <= self.pages)
        out: list[int | None] = []
        for p in shown:
            if out and p - (out[-1] or 0) > 1:
                out.append(None)
            out.append(p)
        return out

    # -- ordering -----------------------------------------------------------------------------
    def order_by(self, columns: Mapping[str, Any], *tiebreak: Any) -> list[Any]:
        """SQL ``ORDER BY`` of the chosen column (missing values last in both directions),
        then ``tiebreak``; ``columns`` maps every sortable key to its SQL expression."""
        expr = columns[self.sort]
        return [expr.is_(None), expr.desc() if self.desc else expr.asc(), *tiebreak]

    def sorted(self, rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """``rows`` in the chosen order (stable; missing values last in both directions)."""
        rows = list(rows)
        present = [r for r in rows if r.get(self.sort) is not None]
        missing = [r for r in rows if r.get(self.sort) is None]
        present.sort(key=lambda r: _sort_key(r[self.sort]), reverse=self.desc)
        return present + missing

    def apply(self, rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """Sort ``rows`` (already filtered), count them and return the current page (all of
        them when exporting)."""
        ordered = self.sorted(rows)
        self.total = len(ordered)
        if self.export:
            return ordered
        self.page = min(self.page, self.pages)
        return ordered[self.offset : self.offset + self.size]

    def paged(self, total: int) -> None:
        """Record the total of a list paged in SQL (the page stays as asked)."""
        self.total = int(total or 0)


def _sort_key(value: Any) -> Any:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (0, value)
    return (1, str(value))


def read(
    request: Request,
    spec: ListSpec,
    filters: Mapping[str, str | None] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ListState:
    """The list state the request asks for; an unknown sort key, direction, page size or
    export format answers 422 (``request.invalid``, the field named)."""

    def get(name: str) -> str:
        return (request.query_params.get(spec.param(name)) or "").strip()

    sort = get("sort") or spec.default_sort
    if sort not in spec.sortable:
        raise _invalid(spec.param("sort"), sort, spec.sortable)
    direction = get("dir")
    if direction not in ("", "asc", "desc"):
        raise _invalid(spec.param("dir"), direction, ("asc", "desc"))
    desc = spec.default_desc if not direction and sort == spec.default_sort else direction == "desc"
    size_text = get("size")
    size = _int(size_text, spec.param("size")) if size_text else spec.default_size
    if size not in spec.sizes:
        raise _invalid(spec.param("size"), size_text, spec.sizes)
    page_text = get("page")
    page = _int(page_text, spec.param("page")) if page_text else 1
    if page > 100_000:
        raise _invalid(spec.param("page"), page_text, ["1–100000"])
    fmt = get("export") or None
    if fmt is not None and fmt not in EXPORT_FORMATS:
        raise _invalid(spec.param("export"), fmt, EXPORT_FORMATS)
    return ListState(
        spec=spec,
        path=request.url.path,
        filters={k: (v or "") for k, v in (filters or {}).items()},
        sort=sort,
        desc=desc,
        page=page,
        size=size,
        export=fmt,
        extra={k: "" if v is None else str(v) for k, v in (extra or {}).items()},
    )


# -- export -------------------------------------------------------------------------------------
def export_response(
    db: Session,
    scope: Scope,
    state: ListState,
    rows: Sequence[Mapping[str, Any]],
    lang: str,
    object_id: str | None = None,
) -> Response:
    """The file of ``rows`` (every filtered row, in the list's order) as ``state.export``,
    written by :mod:`core.exports` and audited as ``export.list.<name>``."""
    t = Translator(lang)
    columns = [c for c in state.spec.columns if c.export]
    header = [t(c.label) for c in columns]
    readers = [c.reader for c in columns]
    body = [[read(r, t) for read in readers] for r in rows]
    name = f"{state.spec.name}.{state.export}"
    # built in memory and sent at once (no temporary file read back in chunks)
    if state.export == "csv":
        content = exports.csv_bytes(header, body)
        media = "text/csv; charset=utf-8"
    else:
        content = exports.xlsx_bytes(header, body, title=state.spec.name)
        media = XLSX_TYPE
    detail = {
        "list": state.spec.name,
        "format": state.export,
        "rows": len(body),
        "filters": {k: v for k, v in {**state.extra, **state.filters}.items() if v},
        "sort": f"{state.sort} {'desc' if state.desc else 'asc'}",
    }
    scoped.record_export(db, scope, f"list.{state.spec.name}", object_id, detail, request_id())
    db.commit()
    return Response(content, media_type=media, headers={"Content-Disposition": _attachment(name)})


def _attachment(filename: str) -> str:
    """The ``Content-Disposition`` of a download named ``filename``, as Starlette's
    ``FileResponse`` writes it (RFC 5987 form for a name that needs quoting)."""
    quoted = quote(filename)
    if quoted != filename:
        return f"attachment; filename*=utf-8''{quoted}"
    return f'attachment; filename="{filename}"'


# -- 亩均 veto mark -------------------------------------------------------------------------------
def vetoed(db: Session, usccs: Iterable[str]) -> set[str]:
    """The USCCs among ``usccs`` vetoed (一票否决) in their latest published 亩均 evaluation;
    every list marks them with a badge. Empty when the 亩均 service is not installed."""
    wanted = sorted({u for u in usccs if u})
    if not wanted:
        return set()
    try:
        from industry_brain.domains.mujun.models import MujunResult, MujunRun
    except ImportError:  # pragma: no cover - the service ships with the platform
        return set()
    latest = (
        select(MujunRun.id)
        .where(MujunRun.status == "published")
        .order_by(MujunRun.year.desc(), MujunRun.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    # the results by their (run, enterprise) key, the enterprises by their USCC key: the
    # results have no USCC index, and SQLite walked the whole run by ix_mujun_results_county
    # for a filter on their USCC or a join (2.7 ms on every list page; now 0.04 ms)
    rows = db.scalars(
        select(MujunResult.uscc).where(
            MujunResult.run_id == latest,
            MujunResult.enterprise_id.in_(select(Enterprise.id).where(Enterprise.uscc.in_(wanted))),
            MujunResult.veto.is_(True),
        )
    )
    return set(rows)
