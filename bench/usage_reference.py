"""The features benchmark as a ratio to a reference query over the same usage rows (issue 16).

    .venv/bin/python bench/usage_reference.py --accounts 10000 --months 24 --cache bench/.cache

Simulates once (cached, as bench/features.py), then (`threads = 2`, `memory_limit = 6GB`):

- **reference**: the usage rows aggregated once to (account, day, event), then 7/28/90-day sums
  per (account, as_of, event) at the same month starts `retain features` uses (the work any
  windowed usage feature must do at least once), in a process of its own with DuckDB's
  default settings, so that the product's settings (`features.source`) never slow it down and
  its memory does not count in the build's peak;
- **build_features** at those month starts, with its step times (the usage family apart);
- the reference again, so that the ratio is to the mean of a run before and after the build.

Prints both wall times, the ratio of the whole build and of its usage step to the reference.
Issue 16's goal: the build within 3x of the reference.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.features import StepTimer, cpu_seconds, peak_memory_gb, simulated
from features.build import build_features
from features.source import DataSource
from retain.config import load_config

REFERENCE = """
WITH daily AS (
    SELECT account_id, CAST("timestamp" AS DATE) AS day, event, sum({count}) AS n
    FROM read_parquet('{file}')
    GROUP BY ALL
), dates AS (
    SELECT CAST(unnest($dates) AS DATE) AS as_of
), windows AS (
    SELECT account_id, as_of, event,
           sum(n) FILTER (WHERE day >= as_of - 7) AS n7,
           sum(n) FILTER (WHERE day >= as_of - 28) AS n28,
           sum(n) AS n90
    FROM daily JOIN dates ON day < as_of AND day >= as_of - 90
    GROUP BY ALL
)
SELECT count(*), sum(n7), sum(n28), sum(n90) FROM windows
"""


def reference_query(
    usage_file: str, dates: list, threads: int, memory_limit: str
) -> tuple[int, int, float, float]:
    """The reference query on a fresh DuckDB connection: its windows, the usage rows, wall and
    CPU seconds."""
    connection = duckdb.connect()
    connection.execute(f"SET threads = {threads}")
    connection.execute(f"SET memory_limit = '{memory_limit}'")
    connection.execute("SET enable_progress_bar = false")
    columns = {
        row[0] for row in connection.execute(f"DESCRIBE SELECT * FROM '{usage_file}'").fetchall()
    }
    # A NaN or missing count is one event, as the contract's default says.
    count = "coalesce(nullif(\"count\", 'NaN'::DOUBLE), 1.0)" if "count" in columns else "1.0"
    rows = connection.execute(f"SELECT count(*) FROM '{usage_file}'").fetchone()[0]
    started, cpu = time.perf_counter(), cpu_seconds()
    windows, *_ = connection.execute(
        REFERENCE.format(count=count, file=usage_file), {"dates": dates}
    ).fetchone()
    return windows, rows, time.perf_counter() - started, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path("bench/.cache"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="6GB", help="DuckDB memory_limit")
    args = parser.parse_args()

    folder = simulated(args.cache, args.accounts, args.months, args.seed)
    config = load_config(folder)
    source = DataSource.open(folder, data_end=config.features.data_end)
    source.connection.execute(f"SET threads = {args.threads}")
    source.connection.execute(f"SET memory_limit = '{args.memory_limit}'")

    usage_file = str(folder / "usage.parquet").replace("'", "''")
    month_starts = pd.date_range(
        end=source.data_end - pd.Timedelta(days=1), periods=args.months, freq="MS"
    )
    dates = [d.date() for d in month_starts]

    def run_reference() -> tuple[int, int, float, float]:
        # In a process of its own: DuckDB's defaults, not the product's (its best plan), and
        # its memory apart from the build's peak.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            job = pool.submit(reference_query, usage_file, dates, args.threads, args.memory_limit)
            return job.result()

    load_before = os.getloadavg()[0]
    windows, usage_rows, reference_before, reference_cpu_before = run_reference()

    timer = StepTimer()
    started, cpu = time.perf_counter(), cpu_seconds()
    frame = build_features(source, config, as_of=list(month_starts), progress=timer)
    wall, build_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    steps, cpu_steps = dict(timer.marks), dict(timer.cpu_marks)
    # The reference again after the build: a shared machine's speed drifts within a run, and
    # the mean of both brackets the build.
    _, _, reference_after, reference_cpu_after = run_reference()
    reference = (reference_before + reference_after) / 2
    reference_cpu = (reference_cpu_before + reference_cpu_after) / 2
    usage, usage_cpu = steps.get("usage", float("nan")), cpu_steps.get("usage", float("nan"))

    print(
        f"data: {args.accounts:,} accounts, {usage_rows:,} usage rows, {len(dates)} month starts "
        f"{dates[0]}..{dates[-1]}"
    )
    print(
        f"reference (daily (account, day, event) once, 7/28/90-day sums): {reference:.2f} s "
        f"(before the build {reference_before:.2f} s / {reference_cpu_before:.1f} CPU s, after "
        f"{reference_after:.2f} s / {reference_cpu_after:.1f}), "
        f"{windows:,} (account, as_of, event) windows"
    )
    print(f"build_features: {wall:.1f} s, {len(frame):,} snapshots x {frame.shape[1]} columns")
    print(f"ratio build / reference: {wall / reference:.2f}x (goal: at most 3x)")
    print(
        f"CPU seconds: reference {reference_cpu:.1f}, build {build_cpu:.1f} "
        f"({build_cpu / reference_cpu:.2f}x)"
    )
    print(
        f"usage step: {usage:.1f} s, {usage / reference:.1f}x the reference; "
        f"CPU {usage_cpu:.1f} s, {usage_cpu / reference_cpu:.1f}x"
    )
    print(f"peak memory (ru_maxrss): {peak_memory_gb():.2f} GB")
    # Other sessions share the cores: wall times swing with the load, CPU seconds much less.
    print(f"load average (1 min): {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print("steps: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timer.marks))
    print("steps, CPU: " + ", ".join(f"{name} {s:.1f} s" for name, s in timer.cpu_marks))


if __name__ == "__main__":
    main()
