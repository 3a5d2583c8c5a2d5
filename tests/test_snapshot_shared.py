"""Snapshots published to a shared file system (issue 21 points 3 and 5): an S3 object store —
moto's S3 server on 127.0.0.1, spoken to over HTTP by Arrow's own S3 client — and the engines
reading them back from there.

- the store's snapshot is published when ``IB_SNAPSHOT_URI`` is set: every file, byte for byte,
  the manifest last and naming the URI; a refresh sends only the year it rewrote and copies the
  unchanged year inside the store (from the base's published file);
- 亩均 and 碳效 evaluated on DuckDB from the S3 copy give exactly the local results;
- an unsupported URI is refused in both languages.
"""

from __future__ import annotations

import pandas as pd
import pytest
from moto.server import ThreadedMotoServer

from industry_brain.core.errors import ValidationError
from industry_brain.demo.constants import LATEST_YEAR
from industry_brain.demo.snapshot import province_snapshot
from industry_brain.domains.carbon.accounting import adjustments_frame, compute
from industry_brain.domains.carbon.rules import load_rules
from industry_brain.domains.mujun.evaluate import evaluate
from industry_brain.domains.mujun.rules import rule_set
from industry_brain.domains.mujun.service import snapshot_counties
from industry_brain.ingest import import_file
from industry_brain.warehouse import build_snapshot, connect, shared
from industry_brain.warehouse.engines import fetch

A = "91330502MA2B3C4D1U"
B = "91330503MA2B3C4E2E"
BUCKET = "ib-shared"


@pytest.fixture(scope="module")
def s3() -> dict[str, str]:
    """An S3 server on 127.0.0.1 with an empty bucket; the client settings as environment."""
    from pyarrow import fs

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ACCESS_KEY_ID": "test-key",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }
    admin = fs.S3FileSystem(
        access_key=env["AWS_ACCESS_KEY_ID"],
        secret_key=env["AWS_SECRET_ACCESS_KEY"],
        endpoint_override=f"{host}:{port}",
        scheme="http",
        region="us-east-1",
        allow_bucket_creation=True,
    )
    admin.create_dir(BUCKET)
    yield env
    server.stop()


@pytest.fixture
def s3_env(s3: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    for key, value in s3.items():
        monkeypatch.setenv(key, value)
    root = f"s3://{BUCKET}/snapshots"
    monkeypatch.setenv("IB_SNAPSHOT_URI", root)
    return root


def _remote_bytes(uri: str) -> dict[str, bytes]:
    from pyarrow import fs

    target, path = shared.filesystem(uri)
    out = {}
    for info in target.get_file_info(fs.FileSelector(path, recursive=True)):
        if info.type == fs.FileType.File:
            with target.open_input_stream(info.path) as f:
                out[info.path[len(path) + 1 :]] = f.read()
    return out


def _local_bytes(folder) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and not p.relative_to(folder).parts[0].startswith(".")
    }


def _put(engine, tmp_path, name: str, text: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    r = import_file(kind, path, engine=engine)
    assert r.status == "committed", [p.message() for p in r.problems]


def test_the_store_snapshot_is_published_and_a_refresh_sends_only_what_changed(
    engine, tmp_path, s3_env
):
    _put(
        engine,
        tmp_path,
        "reg.csv",
        f"统一社会信用代码,企业名称,所属区县,行业代码\n{A},甲,吴兴区,1751\n{B},乙,南浔区,3841\n",
        "registration",
    )
    _put(
        engine,
        tmp_path,
        "stats.csv",
        "统一社会信用代码,企业名称,年份,工业增加值(万元),应交税金(万元),规上标志\n"
        f"{A},甲,2025,300,90,是\n{B},乙,2025,50,5,否\n",
        "stats_annual",
    )
    first = build_snapshot(engine, tmp_path / "snaps" / "first")
    assert first.published_uri == f"{s3_env}/first"
    assert first.publication is not None and first.publication["copied"] == []
    remote = _remote_bytes(first.published_uri)
    local = _local_bytes(first.path)
    # every file byte for byte; the manifest (local and remote) names the published URI
    assert remote == local and "facts/2025-0000.parquet" in remote
    assert shared.read_manifest(first.published_uri)["published_uri"] == first.published_uri
    assert shared.published_uri(first.path) == first.published_uri

    # statistics of 2024 arrive: the refresh rewrites 2024 and takes 2025 from the first
    # snapshot — sent: 2024 and the small tables; copied inside S3: the 2025 year files
    _put(
        engine,
        tmp_path,
        "stats24.csv",
        "统一社会信用代码,企业名称,年份,工业增加值(万元),应交税金(万元),规上标志\n"
        f"{A},甲,2024,280,80,是\n{B},乙,2024,40,4,否\n",
        "stats_annual",
    )
    second = build_snapshot(engine, tmp_path / "snaps" / "second")
    assert second.rewritten_years == [2024]
    pub = second.publication
    assert pub is not None
    assert (
        "facts/2025-0000.parquet" in pub["copied"] and "facts/2024-0000.parquet" in pub["uploaded"]
    )
    assert not set(pub["copied"]) & set(pub["uploaded"])
    assert pub["bytes"] == sum((second.path / rel).stat().st_size for rel in pub["uploaded"])
    assert _remote_bytes(second.published_uri) == _local_bytes(second.path)

    # DuckDB reads the published copy: the same facts as the local folder
    local_facts = connect(second.path, tables=("facts",)).table("facts").to_pandas()
    remote_facts = connect(second.published_uri, tables=("facts",)).table("facts").to_pandas()
    key = ["enterprise_id", "year", "item"]
    pd.testing.assert_frame_equal(
        local_facts.sort_values(key).reset_index(drop=True),
        remote_facts.sort_values(key).reset_index(drop=True),
    )


def test_mujun_and_carbon_from_the_s3_copy_equal_the_local_results(tmp_path, s3_env):
    snap = province_snapshot(tmp_path / "province", 400)
    pub = shared.publish(snap)
    assert pub["uri"] == f"{s3_env}/province" and pub["copied"] == []
    assert sorted(shared.remote_tables(pub["uri"])) == ["enterprises", "facts", "scales"]
    year = LATEST_YEAR
    names = ("enterprises", "scales", "facts")

    def mujun(location) -> pd.DataFrame:  # type: ignore[no-untyped-def]
        con = connect(location, "duckdb", tables=names)
        rules = rule_set(year, snapshot_counties(snap))
        return fetch(con, evaluate({n: con.table(n) for n in names}, rules))

    def carbon(location) -> tuple[pd.DataFrame, pd.DataFrame]:  # type: ignore[no-untyped-def]
        counties = pd.read_parquet(snap / "enterprises.parquet")["county_code"].unique()
        rules = load_rules(year, list(counties))
        return compute(connect(location, "duckdb", tables=names), rules, adjustments_frame([]))

    here, there = mujun(snap), mujun(pub["uri"])
    assert len(here) == 400 and here["class_code"].nunique() >= 3
    pd.testing.assert_frame_equal(
        here.sort_values("enterprise_id").reset_index(drop=True),
        there.sort_values("enterprise_id").reset_index(drop=True),
    )
    (res_here, lines_here), (res_there, lines_there) = carbon(snap), carbon(pub["uri"])
    assert (res_here["status"] == "graded").sum() > 300
    pd.testing.assert_frame_equal(res_here, res_there)
    pd.testing.assert_frame_equal(lines_here, lines_there)


def test_an_unsupported_location_is_refused_in_both_languages(monkeypatch, tmp_path):
    monkeypatch.setenv("IB_SNAPSHOT_URI", "ftp://files.example/snapshots")
    with pytest.raises(ValidationError) as info:
        shared.root_uri()
    assert "IB_SNAPSHOT_URI" in info.value.zh and "must be one of" in info.value.en
    with pytest.raises(ValidationError):
        connect("gopher://x/snap", "duckdb")
