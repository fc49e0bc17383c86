"""Benchmark of `retain features --engine spark` against DuckDB on one data folder.

    .venv/bin/python bench/spark_features.py --data data/demo --spine both

Builds the frame on DuckDB, then on Spark local mode ([spark] config, `local[*]` by default):
prints the session start, each engine's wall time and whether the frames agree (the parity
test's rule: counts exact, NaN in the same places, floats within 1e-9). Spark runs twice in one
session: the first build pays the JVM's warm-up, the second is the steady state.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features._spark import SparkSource, spark_session
from features.build import build_features
from features.source import DataSource
from retain.config import load_config
from tests.features.test_spark_parity import assert_same_frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument("--spine", default="both")
    arguments = parser.parse_args()
    config = load_config(arguments.data)

    started = time.perf_counter()
    source = DataSource.open(arguments.data, data_end=config.features.data_end)
    duck = build_features(source, config, spine=arguments.spine)
    print(f"duckdb: {time.perf_counter() - started:.1f} s, {duck.shape[0]:,} x {duck.shape[1]}")

    started = time.perf_counter()
    session = spark_session(config.spark)
    print(f"spark session ({config.spark.master}): {time.perf_counter() - started:.1f} s")
    for run in ("first", "second"):
        started = time.perf_counter()
        spark_source = SparkSource.open(arguments.data, session, data_end=config.features.data_end)
        frame = build_features(spark_source, config, spine=arguments.spine)
        spark_source.close()
        print(f"spark, {run} build: {time.perf_counter() - started:.1f} s")
    assert_same_frame(duck, frame)
    print("frames agree")


if __name__ == "__main__":
    main()
