"""Benchmark of `retain features --engine spark` against DuckDB on one data folder.

    .venv/bin/python bench/spark_features.py --data data/demo --spine both

Builds the frame on DuckDB, then on Spark local mode ([spark] config, `local[*]` by default):
prints the session start, each engine's wall time and CPU time, the load average, and whether
the frames agree (the parity test's rule: counts exact, NaN in the same places, floats within
1e-9). Spark runs `--spark-runs` times in one session (default 2): the first build pays the
JVM's warm-up, the second is the steady state. CPU time is this process plus, for Spark, the
JVM's (from /proc): on a shared machine wall time depends on the other load, CPU time less.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.features import load_average
from features._spark import SparkSource, spark_session
from features.build import build_features
from features.source import DataSource
from retain.config import load_config
from tests.features.test_spark_parity import assert_same_frame


def _jvm_cpu_seconds(session) -> float:
    """User + system CPU seconds of the session's JVM (0 when it is not a local child)."""
    try:
        pid = session.sparkContext._gateway.proc.pid
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (AttributeError, OSError, ValueError, IndexError):
        return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument("--spine", default="both")
    parser.add_argument("--spark-runs", type=int, default=2)
    arguments = parser.parse_args()
    config = load_config(arguments.data)

    started, cpu = time.perf_counter(), time.process_time()
    source = DataSource.open(arguments.data, data_end=config.features.data_end)
    duck = build_features(source, config, spine=arguments.spine)
    print(
        f"duckdb: {time.perf_counter() - started:.1f} s wall, "
        f"{time.process_time() - cpu:.1f} s CPU, {duck.shape[0]:,} x {duck.shape[1]} "
        f"({load_average()})"
    )

    started = time.perf_counter()
    session = spark_session(config.spark)
    print(f"spark session ({config.spark.master}): {time.perf_counter() - started:.1f} s")
    for run in range(1, arguments.spark_runs + 1):
        started, cpu, jvm = time.perf_counter(), time.process_time(), _jvm_cpu_seconds(session)
        spark_source = SparkSource.open(arguments.data, session, data_end=config.features.data_end)
        frame = build_features(spark_source, config, spine=arguments.spine)
        spark_source.close()
        used = time.process_time() - cpu + _jvm_cpu_seconds(session) - jvm
        print(
            f"spark, build {run}: {time.perf_counter() - started:.1f} s wall, {used:.1f} s CPU "
            f"(JVM and Python; {load_average()})"
        )
    assert_same_frame(duck, frame)
    print("frames agree")


if __name__ == "__main__":
    main()
