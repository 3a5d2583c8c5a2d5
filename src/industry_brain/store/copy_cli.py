"""``industry-brain store copy --to URL``: the whole store into an empty database."""

from __future__ import annotations

from typing import Annotated

import typer

from industry_brain.cli_support import JsonOpt, console, errors, print_json, progress

store_app = typer.Typer(
    help="The store as a whole 整库: copy it to another database.", no_args_is_help=True
)


@store_app.command(
    "copy",
    epilog=(
        "Example: industry-brain store copy --to postgresql://app@127.0.0.1/ib "
        "(from IB_DATABASE_URL, default the SQLite store under IB_DATA_DIR) · "
        "industry-brain store copy --from postgresql://app@db/ib --to sqlite:///laptop.sqlite"
    ),
)
def store_copy(
    to: Annotated[str, typer.Option("--to", help="Database URL of the EMPTY target.")],
    source: Annotated[
        str | None,
        typer.Option("--from", help="Database URL of the source (default: IB_DATABASE_URL)."),
    ] = None,
    chunk: Annotated[int, typer.Option(min=1, help="Rows per chunk read and written.")] = 5000,
    as_json: JsonOpt = False,
) -> None:
    """Copy every table of the store into an empty database (SQLite ↔ PostgreSQL): the target
    is migrated with Alembic, tables copied (COPY on PostgreSQL),
    PostgreSQL sequences reset, row counts checked. A non-empty target is refused."""
    from industry_brain.store.copy import copy_store
    from industry_brain.store.db import database_url, make_engine

    src = make_engine(source or database_url())
    dst = make_engine(to)
    try:
        with errors(), progress(not as_json, {"copy": "复制 copying rows"}) as step:
            result = copy_store(src, dst, chunk=chunk, progress=step)
    finally:
        src.dispose()
        dst.dispose()
    if as_json:
        print_json(result.to_dict())
        return
    console.print(
        f"已复制 copied {result.rows:,} 行 rows, {len(result.tables)} 个表 tables "
        f"{result.source} → {result.target} (revision {result.revision}, "
        f"{result.seconds:.1f} s)"
    )
