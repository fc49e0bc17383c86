"""Benchmark of batch scoring on both engines: the inputs of docs/scale.md.

    MLFLOW_TRACKING_URI=sqlite:///mlflow.db .venv/bin/python bench/scale_scoring.py \\
        --accounts 10000 --months 24 --cache bench/.cache [--model-path DIR] [--score-rows 100000]

Simulates once (cached, as bench/features.py does), then in one process, per engine:

- **snapshot**: the features of every active account at the data's end (`retain score`'s
  snapshot: validation on DuckDB, then `build_features` at one as_of on the engine);
- **scoring**: that snapshot, or the snapshot repeated to `--score-rows` rows with new account
  ids (`--score-rows`: scoring cost depends on rows, features and trees, not on the events
  behind them), scored with reasons and survival curves and written as Parquet + CSV
  (DuckDB/pandas: `serving.batch`; Spark: `serving.spark_batch`, mapInPandas);
- the score store: `write_store` of the DuckDB results (time, bytes per account).

Models: `--model-path` (a saved pair) or the registry's champion (challenger allowed). Prints
each figure and the largest probability difference between the engines. Spark runs in
`[spark]`'s session (local[*] by default); its JVM's memory is not in the peak printed here.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.features import cpu_seconds, peak_memory_gb, simulated
from retain.config import load_config


def repeated(snapshot: pd.DataFrame, rows: int) -> pd.DataFrame:
    """`snapshot` repeated to `rows` rows, each copy with its own account ids."""
    if rows <= 0 or rows == len(snapshot):
        return snapshot
    copies = -(-rows // len(snapshot))
    parts = []
    for i in range(copies):
        part = snapshot.copy()
        part["account_id"] = part["account_id"].astype(str) + f"-{i}"
        parts.append(part)
    return pd.concat(parts, ignore_index=True).iloc[:rows].reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path("bench/.cache"))
    parser.add_argument("--data", type=Path, help="A data folder instead of a simulation.")
    parser.add_argument("--model-path", type=Path)
    parser.add_argument("--score-rows", type=int, default=0)
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument(
        "--reuse-snapshot",
        action="store_true",
        help="Score the snapshot a previous run saved beside the data (no features timed).",
    )
    args = parser.parse_args()
    engines = args.engines.split(",")

    from serving.batch import build_snapshot, results_frame, score_snapshot, write_outputs
    from serving.scoring import load_model_pair
    from serving.store import write_store
    from serving.survival import load_survival_model

    data = args.data or simulated(args.cache, args.accounts, args.months, args.seed)
    overrides = {"serving": {"allow_challenger": True}}
    if args.model_path:
        overrides["serving"]["model_path"] = str(args.model_path.resolve())
    config = load_config(data, overrides=overrides)
    models = load_model_pair(config)
    survival = load_survival_model(models, config)
    usage_rows = (
        pd.read_parquet(data / "usage.parquet", columns=["account_id"]).shape[0]
        if (data / "usage.parquet").exists()
        else 0
    )
    print(f"data: {data} ({usage_rows:,} usage rows); models {models.info()}")
    print(f"survival model: {'yes' if survival is not None else 'no'}")
    out = Path(tempfile.mkdtemp(prefix="retain-bench-scale-"))
    probabilities = {}

    saved = data.with_name(data.name + "-snapshot.parquet")
    reuse = args.reuse_snapshot and saved.exists()
    if reuse:
        print(f"snapshot: reused {saved} (features not timed)")
    if "duckdb" in engines:
        started = time.perf_counter()
        snapshot = pd.read_parquet(saved) if reuse else build_snapshot(data, config, None)
        if not reuse:
            print(
                f"duckdb snapshot features: {time.perf_counter() - started:.1f} s, {snapshot.shape}"
            )
            snapshot.to_parquet(saved)
        rows = repeated(snapshot, args.score_rows)
        started, cpu = time.perf_counter(), cpu_seconds()
        results = score_snapshot(rows, models, config)
        scored = results_frame(rows, results, models)
        write_outputs(scored, out / "duckdb" / "scores.parquet", config.serving.top_k_reasons)
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        print(
            f"duckdb scoring + files: {seconds:.1f} s for {len(rows):,} rows "
            f"({len(rows) / seconds:,.0f} accounts/s; {cpu:.1f} CPU s, "
            f"{len(rows) / cpu:,.0f} accounts per CPU second)"
        )
        started = time.perf_counter()
        store = write_store(out / "store.duckdb", rows, models, results)
        print(
            f"score store: {time.perf_counter() - started:.1f} s, "
            f"{store.stat().st_size / len(rows):,.0f} bytes per account"
        )
        probabilities["duckdb"] = scored.set_index("account_id")["churn_probability"]
        print(f"peak memory (this process): {peak_memory_gb():.2f} GB")

    if "spark" in engines:
        from serving.spark_batch import (
            score_dataframe,
            scoring_session,
            snapshot_dataframe,
            spark_snapshot,
            write_spark_outputs,
        )

        started = time.perf_counter()
        session = scoring_session(config)
        print(f"spark session start: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        if reuse:
            snapshot = pd.read_parquet(saved)
        else:
            snapshot = spark_snapshot(data, config, None)
            print(
                f"spark snapshot features: {time.perf_counter() - started:.1f} s, {snapshot.shape}"
            )
        rows = repeated(snapshot, args.score_rows)
        for attempt in ("first", "second"):
            started = time.perf_counter()
            frame = snapshot_dataframe(session, rows)
            scored = score_dataframe(frame, models, survival, config).persist()
            write_spark_outputs(
                scored, out / "spark" / "scores.parquet", config.serving.top_k_reasons
            )
            n = scored.count()
            seconds = time.perf_counter() - started
            print(
                f"spark scoring + files ({attempt}, partitions "
                f"{frame.rdd.getNumPartitions()}): {seconds:.1f} s for {n:,} rows "
                f"({n / seconds:,.0f} accounts/s)"
            )
            spark_p = scored.select("account_id", "churn_probability").toPandas()
            scored.unpersist()
        probabilities["spark"] = spark_p.set_index("account_id")["churn_probability"]
        # The JVM and its Python workers are children of this process: their CPU time is
        # counted once the session's JVM has exited and been reaped.
        session.stop()
        time.sleep(2)
        children = cpu_seconds(resource.RUSAGE_CHILDREN)
        print(f"spark CPU seconds (JVM + Python workers, every step above): {children:.1f}")

    if len(probabilities) == 2:
        a, b = probabilities["duckdb"], probabilities["spark"]
        common = a.index.intersection(b.index)
        diff = np.abs(a.loc[common].to_numpy() - b.loc[common].to_numpy()).max()
        print(f"largest |churn_probability| difference over {len(common):,} accounts: {diff:.3g}")


if __name__ == "__main__":
    main()
