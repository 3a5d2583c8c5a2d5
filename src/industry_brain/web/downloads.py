"""Downloads written to a scratch folder first (workbooks made on request).

A route that writes a file for one response gets a fresh folder from :func:`scratch`, writes
the file into it and answers with :func:`file_download`. The folder is removed once the file is
sent (a background task of the response) and at once when anything fails before the response
exists (a refused scope, a not-found, a failed audit commit): a long-running server must not
collect one folder per refused download in its temporary directory.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A fresh temporary folder, removed when the block raises (it is kept otherwise: hand it
    to :func:`file_download`, which removes it after sending)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def file_download(
    path: Path, folder: Path, media_type: str = XLSX, filename: str | None = None
) -> FileResponse:
    """``path`` as an attachment (named ``filename`` or its own name); ``folder`` (the
    :func:`scratch` folder) is removed once the response is sent."""
    return FileResponse(
        path,
        filename=filename or path.name,
        media_type=media_type,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
