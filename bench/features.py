"""Benchmark of `retain features`: the monthly spine over a large simulated customer base.

    .venv/bin/python bench/features.py --accounts 100000 --months 24 --cache bench/.cache

Simulates once (cached on disk), then, in one process:
1. the floor: a bare DuckDB `SELECT account_id, count(*) FROM read_parquet(usage) GROUP BY 1`,
   one pass over the usage file;
2. `build_features` for every account active at each of the last `--months` month starts.
Prints wall times, the ratio to the floor, usage rows per second and the peak resident memory
(ru_maxrss, which includes DuckDB's native allocations that tracemalloc cannot see).
Goal (issue #1, section 6): under 120 s and 8 GB on 2 cores, within 10x of the floor.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features.build import build_features
from features.source import DataSource
from retain.config import load_config


class StepTimer:
    """Records how long each step of `build_features` took, in wall and CPU seconds
    (duck-types rich's Progress)."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []
        self.cpu_marks: list[tuple[str, float]] = []
        self._last = time.perf_counter()
        self._last_cpu = cpu_seconds()

    def add_task(self, description: str, total: int) -> int:
        self._last, self._last_cpu = time.perf_counter(), cpu_seconds()
        return 0

    def update(self, task: int, advance: int = 0, description: str = "") -> None:
        if advance:
            now, cpu = time.perf_counter(), cpu_seconds()
            self.marks.append((description, now - self._last))
            self.cpu_marks.append((description, cpu - self._last_cpu))
            self._last, self._last_cpu = now, cpu


def simulated(cache: Path, accounts: int, months: int, seed: int) -> Path:
    folder = cache / f"sim-{accounts}-{months}-{seed}"
    if not (folder / "truth.parquet").exists():
        from simulator import simulate

        started = time.perf_counter()
        simulate(folder, n_accounts=accounts, months=months, seed=seed)
        print(
            f"simulated {accounts:,} accounts x {months} months in "
            f"{time.perf_counter() - started:.1f} s -> {folder}"
        )
    return folder


def peak_memory_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, for benchmarks run on a shared machine."""
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    """User + system CPU seconds (every thread): robust to other sessions' load, unlike wall."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
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

    started = time.perf_counter()
    source.connection.execute(
        f"SELECT account_id, count(*) FROM read_parquet('{usage_file}') GROUP BY 1"
    ).fetchall()
    floor = time.perf_counter() - started
    usage_rows = source.connection.execute(
        f"SELECT count(*) FROM read_parquet('{usage_file}')"
    ).fetchall()[0][0]

    month_starts = pd.date_range(
        end=source.data_end - pd.Timedelta(days=1), periods=args.months, freq="MS"
    )
    timer = StepTimer()
    load_before = os.getloadavg()[0]
    started, cpu = time.perf_counter(), cpu_seconds()
    frame = build_features(source, config, as_of=list(month_starts), progress=timer)
    wall, build_cpu = time.perf_counter() - started, cpu_seconds() - cpu

    print(
        f"data: {args.accounts:,} accounts, {usage_rows:,} usage rows, "
        f"{len(month_starts)} month starts {month_starts[0]:%Y-%m-%d}..{month_starts[-1]:%Y-%m-%d}"
    )
    print(f"snapshots: {len(frame):,} rows x {frame.shape[1]} columns")
    print(f"floor (bare DuckDB GROUP BY account_id over usage): {floor:.2f} s")
    print(f"build_features wall time: {wall:.1f} s  ({wall / floor:.1f}x the floor)")
    print(f"build_features CPU time: {build_cpu:.1f} s (this process, every thread)")
    print(f"usage rows per second: {usage_rows / wall:,.0f}")
    print(f"peak memory (ru_maxrss): {peak_memory_gb():.2f} GB")
    print(f"load average (1 min): {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print("steps: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timer.marks))
    print("steps, CPU: " + ", ".join(f"{name} {s:.1f} s" for name, s in timer.cpu_marks))


if __name__ == "__main__":
    main()
