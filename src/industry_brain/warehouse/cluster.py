"""A Spark standalone cluster on this machine (one master, N workers on 127.0.0.1).

Started from the installed pyspark (``bin/spark-class …deploy.master.Master`` and
``…deploy.worker.Worker``), for the cluster test and the province benchmark: the same thing an
operator starts on real machines, only on loopback. A driver uses it by setting
``IB_SPARK_MASTER`` to :attr:`LocalCluster.master_url` (see :mod:`.engines`).

    with LocalCluster(workers=2) as cluster:
        env = {**os.environ, "IB_SPARK_MASTER": cluster.master_url}
        subprocess.run([... a driver ...], env=env)
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

MASTER = "org.apache.spark.deploy.master.Master"
WORKER = "org.apache.spark.deploy.worker.Worker"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spark_home() -> Path:
    """The Spark distribution inside the installed pyspark package."""
    import pyspark

    return Path(pyspark.__file__).parent


class LocalCluster:
    """One master and ``workers`` workers (``cores`` and ``memory`` each) on 127.0.0.1.

    Entering starts them and waits until every worker has registered (``timeout`` seconds);
    leaving stops them and removes their work folders. Logs stay in :attr:`log_dir` until then
    and are quoted in the error when the cluster does not come up."""

    def __init__(
        self, workers: int = 2, cores: int = 1, memory: str = "1g", timeout: float = 90.0
    ) -> None:
        self.workers, self.cores, self.memory, self.timeout = workers, cores, memory, timeout
        self.port = _free_port()
        self.ui_port = _free_port()
        self.master_url = f"spark://127.0.0.1:{self.port}"
        self.root = Path(tempfile.mkdtemp(prefix="ib-spark-cluster-"))
        self.log_dir = self.root / "logs"
        self._procs: list[subprocess.Popen[bytes]] = []

    def _env(self) -> dict[str, str]:
        home = spark_home()
        return {
            **os.environ,
            "SPARK_HOME": str(home),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOG_DIR": str(self.log_dir),
            "SPARK_WORKER_DIR": str(self.root / "work"),
            "SPARK_NO_DAEMONIZE": "1",
        }

    def _start(self, name: str, args: list[str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("wb")
        cmd = [str(spark_home() / "bin" / "spark-class"), *args]
        self._procs.append(
            subprocess.Popen(cmd, env=self._env(), stdout=log, stderr=subprocess.STDOUT)
        )

    def status(self) -> dict[str, Any]:
        """The master's own view (its JSON endpoint): workers, cores, applications."""
        url = f"http://127.0.0.1:{self.ui_port}/json/"
        with urllib.request.urlopen(url, timeout=5) as response:
            return dict(json.loads(response.read().decode("utf-8")))

    def alive_workers(self) -> int:
        try:
            return int(self.status().get("aliveworkers", 0))
        except OSError:
            return 0

    def logs(self) -> str:
        parts = []
        for path in sorted(self.log_dir.glob("*.log")):
            parts.append(f"--- {path.name}\n" + path.read_text("utf-8", "replace")[-2000:])
        return "\n".join(parts)

    def __enter__(self) -> LocalCluster:
        host = ["--host", "127.0.0.1"]
        self._start(
            "master", [MASTER, *host, "--port", str(self.port), "--webui-port", str(self.ui_port)]
        )
        for i in range(self.workers):
            self._start(
                f"worker-{i}",
                [
                    WORKER,
                    *host,
                    "--port",
                    str(_free_port()),
                    "--webui-port",
                    str(_free_port()),
                    "--cores",
                    str(self.cores),
                    "--memory",
                    self.memory,
                    "--work-dir",
                    str(self.root / "work" / str(i)),
                    self.master_url,
                ],
            )
        deadline = time.monotonic() + self.timeout
        while self.alive_workers() < self.workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in self._procs):
                self.__exit__(None, None, None)
                raise RuntimeError(
                    f"the Spark cluster did not start ({self.alive_workers()} of "
                    f"{self.workers} workers)\n{self.logs()}"
                )
            time.sleep(0.5)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()
        shutil.rmtree(self.root, ignore_errors=True)
