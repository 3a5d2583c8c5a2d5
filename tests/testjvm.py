"""JVM options of the tests' Spark: the local driver, and a test cluster's executors and daemons.

Compiled by C1 alone and collected by the serial collector: the tests' jobs are small and short,
and on 2 cores the optimising compiler's and the parallel collector's threads took a third of
the machine (four PySpark test modules: 160 → 110 CPU-seconds, the same wall time, measured).
The platform itself keeps the JVM's defaults; a caller's own ``IB_SPARK_CONF`` or
``SPARK_DAEMON_JAVA_OPTS`` wins.
"""

from __future__ import annotations

import os

TEST_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
TEST_SPARK_CONF = (
    f"spark.driver.extraJavaOptions={TEST_JVM}; spark.executor.extraJavaOptions={TEST_JVM}"
)


def use() -> None:
    """Set the options for this test run unless the caller set their own."""
    os.environ.setdefault("IB_SPARK_CONF", TEST_SPARK_CONF)
    os.environ.setdefault("SPARK_DAEMON_JAVA_OPTS", TEST_JVM)
