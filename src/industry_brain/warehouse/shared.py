"""Snapshots on a shared file system (共享存储): S3 (or any S3-compatible object store), HDFS, a
shared mount — where every Spark executor of a cluster reads them.

``IB_SNAPSHOT_URI`` names the root (``s3://bucket/industry-brain/snapshots``, ``s3a://…`` as
Spark's Hadoop connector spells it, ``hdfs://namenode:8020/industry-brain/snapshots``,
``file:///mnt/shared/snapshots``). Every snapshot the store builds is then **published** there,
``<root>/<snapshot folder name>/`` with the same layout as the local folder: the Parquet files
first, ``manifest.json`` last (a reader never sees a half-published snapshot), through Arrow's
file systems (S3 credentials and endpoint from the usual ``AWS_*`` variables; HDFS through
libhdfs). A refreshed snapshot uploads only the files it rewrote: the years it took unchanged
from its base (hard links locally) are copied from the base's published files inside the file
system (S3 ``CopyObject``: no byte leaves the client).

Readers: :func:`industry_brain.warehouse.connect` takes the published URI itself (DuckDB
reads it through Arrow datasets, no DuckDB extension needed; Spark through its Hadoop file
systems), and for Spark a local snapshot folder that was published is read from its URI — the
executors of a real cluster never read the driver's disk. The driver keeps the local folder
(small tables such as the county list are read from it).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from industry_brain.core.errors import Location, ValidationError

MANIFEST = "manifest.json"
SCHEMES = ("s3", "s3a", "hdfs", "file")


def root_uri() -> str:
    """The shared root snapshots are published to (``IB_SNAPSHOT_URI``), or "" (not shared)."""
    uri = os.environ.get("IB_SNAPSHOT_URI", "").strip().rstrip("/")
    if uri:
        check_uri(uri)
    return uri


def check_uri(uri: str) -> None:
    """Refuse a location that is not a URI of a supported file system."""
    scheme = uri.split("://", 1)[0] if "://" in uri else ""
    if scheme not in SCHEMES:
        raise ValidationError(
            "warehouse.snapshot_uri",
            f"IB_SNAPSHOT_URI 无效：“{uri}”应为 {'、'.join(s + '://…' for s in SCHEMES)} 之一",
            f"IB_SNAPSHOT_URI is invalid: '{uri}' must be one of "
            f"{', '.join(s + '://…' for s in SCHEMES)}",
            Location(field="IB_SNAPSHOT_URI"),
            uri,
        )


def is_uri(location: str | Path) -> bool:
    return "://" in str(location)


def arrow_uri(uri: str) -> str:
    """The URI as Arrow names it (Spark's ``s3a://`` is Arrow's ``s3://``: the same objects)."""
    return "s3://" + uri[len("s3a://") :] if uri.startswith("s3a://") else uri


def spark_uri(uri: str) -> str:
    """The URI as Spark's Hadoop file systems name it (``s3://`` → ``s3a://``)."""
    return "s3a://" + uri[len("s3://") :] if uri.startswith("s3://") else uri


def filesystem(uri: str) -> tuple[Any, str]:
    """(Arrow file system, path inside it) of ``uri``."""
    from pyarrow import fs

    check_uri(uri)
    return fs.FileSystem.from_uri(arrow_uri(uri))


def published_uri(folder: Path) -> str:
    """The URI a local snapshot folder was published to ("" when it was not)."""
    manifest = Path(folder) / MANIFEST
    if not manifest.exists():
        return ""
    return str(json.loads(manifest.read_text("utf-8")).get("published_uri", ""))


def _local_files(folder: Path) -> list[Path]:
    """The snapshot's files, manifest excluded, staging folders (".staging-…") skipped."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.name != MANIFEST
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def publish(folder: Path, root: str | None = None) -> dict[str, Any]:
    """Copy the local snapshot ``folder`` to ``<root>/<folder name>/`` and record the URI in the
    local manifest. Returns {uri, uploaded, copied, bytes, seconds}: the files sent, the files
    copied inside the file system from the base snapshot's published files (a refresh's
    unchanged years), the bytes sent."""
    from pyarrow import fs

    started = time.perf_counter()
    folder = Path(folder)
    root = (root or root_uri()).rstrip("/")
    if not root:
        raise ValueError("no shared snapshot root: set IB_SNAPSHOT_URI or pass root")
    check_uri(root)
    uri = f"{root}/{folder.name}"
    target, base_path = filesystem(uri)
    manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    # the base a refresh started from, when it was published to the same file system
    base_dir = Path(manifest.get("refreshed_from") or "")
    base_uri = published_uri(base_dir) if manifest.get("refreshed_from") else ""
    base_remote = ""
    if base_uri:
        base_fs, base_remote = filesystem(base_uri)
        if base_fs.type_name != target.type_name:
            base_remote = ""
    target.create_dir(base_path, recursive=True)
    local = fs.LocalFileSystem()
    uploaded: list[str] = []
    copied: list[str] = []
    sent = 0
    for path in _local_files(folder):
        rel = path.relative_to(folder).as_posix()
        dest = f"{base_path}/{rel}"
        if "/" in rel:
            target.create_dir(dest.rsplit("/", 1)[0], recursive=True)
        twin = base_dir / rel
        if base_remote and twin.exists() and os.path.samefile(path, twin):
            target.copy_file(f"{base_remote}/{rel}", dest)
            copied.append(rel)
            continue
        fs.copy_files(str(path), dest, source_filesystem=local, destination_filesystem=target)
        uploaded.append(rel)
        sent += path.stat().st_size
    manifest["published_uri"] = uri
    text = json.dumps(manifest, indent=2)
    # the local manifest says where the snapshot is shared; the remote one is written last
    (folder / MANIFEST).write_text(text, "utf-8")
    with target.open_output_stream(f"{base_path}/{MANIFEST}") as out:
        out.write(text.encode("utf-8"))
    return {
        "uri": uri,
        "uploaded": uploaded,
        "copied": copied,
        "bytes": sent,
        "seconds": round(time.perf_counter() - started, 3),
    }


def read_manifest(uri: str) -> dict[str, Any]:
    """The manifest of a published snapshot."""
    target, path = filesystem(uri)
    with target.open_input_stream(f"{path}/{MANIFEST}") as f:
        return json.loads(f.read().decode("utf-8"))


def remote_tables(uri: str) -> dict[str, str]:
    """{table name: path inside the file system} of a published snapshot: ``name.parquet``
    files and per-year folders (``facts/``)."""
    from pyarrow import fs

    target, path = filesystem(uri)
    tables: dict[str, str] = {}
    for info in target.get_file_info(fs.FileSelector(path)):
        name = info.base_name
        if name.startswith("."):
            continue
        if info.type == fs.FileType.Directory:
            tables[name] = info.path
        elif name.endswith(".parquet"):
            tables[name[: -len(".parquet")]] = info.path
    return tables


def dataset(uri: str, name: str) -> Any:
    """The Arrow dataset of table ``name`` of a published snapshot (read lazily: DuckDB pushes
    its column and row filters into the scan)."""
    import pyarrow.dataset as ds

    target, _ = filesystem(uri)
    tables = remote_tables(uri)
    if name not in tables:
        raise ValidationError(
            "warehouse.table_missing",
            f"共享快照“{uri}”中没有数据表“{name}”",
            f"the shared snapshot '{uri}' has no table '{name}'",
            Location(field="table"),
            name,
        )
    return ds.dataset(tables[name], filesystem=target, format="parquet")


def table_uri(uri: str, name: str) -> str:
    """The URI Spark reads table ``name`` of a published snapshot from (file or folder)."""
    _, path = filesystem(uri)
    # "s3://bucket/a" is "bucket/a" inside S3, "file:///srv/a" is "/srv/a": the scheme and
    # authority are what the URI has before the path
    prefix = uri[: len(uri) - len(path.rstrip("/"))]
    return spark_uri(prefix + remote_tables(uri)[name])
