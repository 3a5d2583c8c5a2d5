"""亩均 and 碳效 on a real Spark standalone cluster (one master, two workers on 127.0.0.1).

The cluster is started from the installed pyspark (:class:`LocalCluster`), a driver process is
pointed at it by configuration only (``IB_SPARK_MASTER``, ``IB_SPARK_CONF``), runs both
evaluations on a generated snapshot of 500 firms and writes their results; the same
evaluations on DuckDB in this process must give the same rows. The master's own record says the
application ran there with two executors. The snapshot is published to a shared location first
(``warehouse.shared.publish``, a ``file://`` URI standing for ``s3a://``/``hdfs://``) and the
driver's own folder keeps only the enterprises and the manifest: the executors read the facts
from the shared copy. (The suite's in-process Spark session is ``local[2]``;
a second driver in this process is impossible, hence the subprocess.)

worker group: own (no Spark session in this process; see tests/conftest.py)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from industry_brain.core.errors import ValidationError
from industry_brain.demo.constants import LATEST_YEAR
from industry_brain.demo.snapshot import province_snapshot
from industry_brain.warehouse.cluster import LocalCluster
from industry_brain.warehouse.engines import spark_master, spark_settings
from industry_brain.warehouse.shared import publish
from tests import testjvm

FIRMS = 500

DRIVER = """
import json, sys
from pathlib import Path
import pandas as pd
from industry_brain.domains.carbon.accounting import adjustments_frame, compute
from industry_brain.domains.carbon.rules import load_rules
from industry_brain.domains.mujun.service import evaluate_snapshot
from industry_brain.warehouse import connect
from industry_brain.warehouse.engines import spark_session

snap, year, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
ev = evaluate_snapshot(snap, year, "pyspark")
ev.results.drop(columns=["adjustment_codes"]).to_parquet(out / "mujun.parquet")
counties = pd.read_parquet(snap / "enterprises.parquet")["county_code"].unique().tolist()
con = connect(snap, "pyspark", tables=("enterprises", "scales", "facts"))
res, lines = compute(con, load_rules(year, counties), adjustments_frame([]))
res.to_parquet(out / "carbon.parquet")
lines.to_parquet(out / "carbon_lines.parquet")
sc = spark_session().sparkContext
info = {
    "master": sc.master,
    "app_id": sc.applicationId,
    "executors": sc._jsc.sc().getExecutorMemoryStatus().size() - 1,
    "partitions": spark_session().conf.get("spark.sql.shuffle.partitions"),
}
(out / "info.json").write_text(json.dumps(info))
"""


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return province_snapshot(tmp_path_factory.mktemp("cluster") / "snapshot", FIRMS)


@pytest.fixture(scope="module")
def on_cluster(snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("cluster-results")
    results = tmp_path_factory.mktemp("cluster-parquet")
    # the snapshot published to a shared location (here a file:// URI; on a real cluster
    # s3a:// or hdfs://, the same code); the driver keeps only its small tables and the
    # manifest, so the executors can only have read the facts from the shared copy
    shared_root = tmp_path_factory.mktemp("cluster-shared")
    published = publish(snapshot, f"file://{shared_root}")
    driver_snap = tmp_path_factory.mktemp("cluster-driver") / snapshot.name
    driver_snap.mkdir()
    for name in ("manifest.json", "enterprises.parquet"):
        shutil.copy(snapshot / name, driver_snap / name)
    with LocalCluster(workers=2, cores=1, memory="1g") as cluster:
        env = {
            **os.environ,
            "IB_SPARK_MASTER": cluster.master_url,
            "IB_SPARK_CONF": f"{testjvm.TEST_SPARK_CONF}; spark.executor.memory=768m; "
            "spark.sql.shuffle.partitions=6",
            "IB_SPARK_RESULTS": str(results),
            "PYSPARK_PYTHON": sys.executable,
        }
        run = subprocess.run(
            [sys.executable, "-c", DRIVER, str(driver_snap), str(LATEST_YEAR), str(out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stderr[-4000:] + cluster.logs()
        status = cluster.status()
    info = json.loads((out / "info.json").read_text())
    return {
        "out": out,
        "info": info,
        "status": status,
        "url": cluster.master_url,
        "results_dir": results,
        "published": published,
    }


def test_the_driver_ran_on_the_cluster_with_two_executors(on_cluster: dict) -> None:
    info, status = on_cluster["info"], on_cluster["status"]
    assert info["master"] == on_cluster["url"]
    assert info["executors"] == 2
    assert info["partitions"] == "6"  # IB_SPARK_CONF reached the session
    apps = {a["id"]: a for a in status["completedapps"] + status["activeapps"]}
    assert apps[info["app_id"]]["name"] == "industry-brain"
    assert status["aliveworkers"] == 2 and status["cores"] == 2
    # results went through Parquet in IB_SPARK_RESULTS; each folder removed after reading
    assert list(Path(on_cluster["results_dir"]).iterdir()) == []
    # the facts and scales were only in the shared copy (the driver's folder has neither)
    assert {"facts.parquet", "scales.parquet"} <= set(on_cluster["published"]["uploaded"])


def _plain(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Rows in key order, text columns as objects with None for missing (a Parquet round trip
    reads them back as strings with NaN)."""
    frame = frame.sort_values(keys).reset_index(drop=True)
    for col in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(
            frame[col]
        ):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


def _same(left: pd.DataFrame, right: pd.DataFrame, keys: list[str]) -> None:
    left = _plain(left, keys)
    right = _plain(right[left.columns], keys)
    pd.testing.assert_frame_equal(left, right, check_dtype=False, rtol=1e-9)


def test_mujun_on_the_cluster_equals_duckdb(on_cluster: dict, snapshot: Path) -> None:
    from industry_brain.domains.mujun.service import evaluate_snapshot

    duck = evaluate_snapshot(snapshot, LATEST_YEAR, "duckdb").results
    duck = duck.drop(columns=["adjustment_codes"])
    spark = pd.read_parquet(on_cluster["out"] / "mujun.parquet")
    assert len(duck) == FIRMS and set(duck["class_code"]) >= {"A", "B", "C", "D"}
    _same(duck, spark, ["enterprise_id"])


def test_carbon_on_the_cluster_equals_duckdb(on_cluster: dict, snapshot: Path) -> None:
    from industry_brain.domains.carbon.accounting import adjustments_frame, compute
    from industry_brain.domains.carbon.rules import load_rules
    from industry_brain.warehouse import connect

    counties = pd.read_parquet(snapshot / "enterprises.parquet")["county_code"].unique().tolist()
    con = connect(snapshot, "duckdb", tables=("enterprises", "scales", "facts"))
    res, lines = compute(con, load_rules(LATEST_YEAR, counties), adjustments_frame([]))
    assert res["grade"].notna().sum() > FIRMS // 2  # 500 of the 500 firms graded (measured)
    _same(res, pd.read_parquet(on_cluster["out"] / "carbon.parquet"), ["enterprise_id"])
    _same(
        lines,
        pd.read_parquet(on_cluster["out"] / "carbon_lines.parquet"),
        ["enterprise_id", "item"],
    )


def test_spark_configuration_is_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IB_SPARK_MASTER", raising=False)
    assert spark_master() == "local[2]"
    monkeypatch.setenv("IB_SPARK_MASTER", "yarn")
    monkeypatch.setenv("IB_SPARK_CONF", "spark.executor.instances=8;\nspark.driver.memory=8g")
    settings = spark_settings()
    assert settings["spark.executor.instances"] == "8"
    assert settings["spark.driver.memory"] == "8g"  # overrides the default 4g
    assert "spark.driver.host" not in settings  # a real cluster: not bound to loopback
    monkeypatch.setenv("IB_SPARK_MASTER", "spark://127.0.0.1:7077")
    assert spark_settings()["spark.driver.host"] == "127.0.0.1"
    for bad, word in (("executor.memory=4g", "executor.memory"), ("spark.x", "spark.x")):
        monkeypatch.setenv("IB_SPARK_CONF", bad)
        with pytest.raises(ValidationError) as info:
            spark_settings()
        assert word in info.value.en and "IB_SPARK_CONF" in info.value.zh
