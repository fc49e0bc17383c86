"""Benchmark of `retain train`'s model fitting on the foundation benchmark's simulated data.

    .venv/bin/python bench/training.py --accounts 100000 --months 24 --cache bench/.cache

1. The feature frame of the last `--months` month starts (built once with `build_features`,
   cached as parquet beside the simulated tables of bench/features.py).
2. `training.fit_candidates` for churn and for expansion (segmented LightGBM per segment, the
   global booster, logistic baseline, rule scorecard) on every labelled row, with the default
   config (2 threads). Wall time per target and per model.
3. A `--trials`-trial Optuna study of one booster, with pruning and without, on the labelled
   rows of `--study-accounts` accounts sampled from the same frame (a study on all 100k
   accounts would hold the shared 2-core machine for an hour). Wall times, best validation
   AUCs, pruned trials and the unpruned/pruned time ratio.
Goal (training issue): full training under 3 minutes on 2 cores; pruning at least 2x cheaper for
the same best score within 0.002 AUC. No MLflow here: it measures the fitting, not the logging.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features.build import build_features
from features.frame import feature_columns
from features.source import DataSource
from retain.config import load_config
from retain.files import write_parquet
from training._design import DesignSpec
from training._split import time_split, validation_order
from training.candidates import fit_candidates, labelled_rows
from training.tune import tune_booster


class StepTimer:
    """Records how long each model of `fit_candidates` took (duck-types rich's Progress)."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []
        self._name = ""
        self._last = time.perf_counter()

    def add_task(self, description: str, total: int) -> int:
        self._last = time.perf_counter()
        return 0

    def update(self, task: int, description: str = "", **_: object) -> None:
        self._name = description.rsplit(": ", 1)[-1]

    def advance(self, task: int) -> None:
        now = time.perf_counter()
        self.marks.append((self._name, now - self._last))
        self._last = now


def feature_frame(cache: Path, accounts: int, months: int, seed: int) -> tuple[pd.DataFrame, Path]:
    folder = cache / f"sim-{accounts}-{months}-{seed}"
    cached = cache / f"features-{accounts}-{months}-{seed}.parquet"
    if not (folder / "truth.parquet").exists():
        from simulator import simulate

        started = time.perf_counter()
        simulate(folder, n_accounts=accounts, months=months, seed=seed)
        print(f"simulated {accounts:,} accounts in {time.perf_counter() - started:.1f} s")
    if not cached.exists():
        config = load_config(folder)
        source = DataSource.open(folder, data_end=config.features.data_end)
        month_starts = pd.date_range(
            end=source.data_end - pd.Timedelta(days=1), periods=months, freq="MS"
        )
        started = time.perf_counter()
        write_parquet(cached, build_features(source, config, as_of=list(month_starts)))
        print(f"built features in {time.perf_counter() - started:.1f} s -> {cached}")
    return pd.read_parquet(cached), folder


def _trees(model, segment: str) -> int:
    return model.boosters_.get(segment, model.global_booster_).num_trees()


def study(rows: pd.DataFrame, config, trials: int, prune: bool, storage: str) -> tuple:
    spec = DesignSpec.from_frame(rows)
    matrix = spec.matrix(rows)
    y = rows["churn"].to_numpy(dtype=int)
    valid, _ = time_split(
        validation_order(rows, "churn"), config.training.validation_fraction, config.training.seed
    )
    started = time.perf_counter()
    result = tune_booster(
        matrix[~valid],
        y[~valid],
        matrix[valid],
        y[valid],
        feature_names=list(spec.feature_names),
        categorical=spec.categorical_indices,
        config=config,
        name=f"bench:churn:{'pruned' if prune else 'unpruned'}",
        n_trials=trials,
        storage=storage,
        prune=prune,
    )
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path("bench/.cache"))
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--study-accounts", type=int, default=10_000)
    parser.add_argument("--skip-fit", action="store_true", help="only run the tuning studies")
    parser.add_argument("--skip-study", action="store_true", help="only run the fits")
    args = parser.parse_args()

    frame, folder = feature_frame(args.cache, args.accounts, args.months, args.seed)
    config = load_config(folder)
    n_features = len(feature_columns(frame))
    print(
        f"frame: {len(frame):,} snapshots x {n_features} features "
        f"({frame['account_id'].nunique():,} accounts, {frame['as_of'].nunique()} as_of dates)"
    )

    if not args.skip_fit:
        total = 0.0
        for target in ("churn", "expansion"):
            rows = labelled_rows(frame, target)
            timer = StepTimer()
            started = time.perf_counter()
            models = fit_candidates(frame, target, config, progress=timer)
            wall = time.perf_counter() - started
            total += wall
            segmented = models["segmented"]

            print(
                f"fit_candidates({target}): {wall:.1f} s on {len(rows):,} labelled rows x "
                f"{n_features} features; "
                + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timer.marks)
            )
            print(
                "  segments: "
                + ", ".join(
                    f"{s} {segmented.segment_strategy_[s]} "
                    f"(auc {segmented.metrics_[s]['roc_auc']:.3f}, "
                    f"{_trees(segmented, s)} trees)"
                    for s in segmented.segments_
                )
                + f"; all {segmented.metrics_['__all__']['roc_auc']:.3f}, "
                f"global {models['global'].metrics_['__all__']['roc_auc']:.3f}"
            )
        print(f"full training (both targets, all candidates): {total:.1f} s")

    if not args.skip_study:
        accounts = frame["account_id"].drop_duplicates()
        chosen = accounts.sample(min(args.study_accounts, len(accounts)), random_state=args.seed)
        rows = labelled_rows(frame[frame["account_id"].isin(chosen)], "churn")
        print(
            f"study data: churn, {len(chosen):,} accounts, {len(rows):,} labelled rows, "
            f"{int(rows['churn'].sum()):,} positives"
        )
        with tempfile.TemporaryDirectory() as tmp:
            storage = f"sqlite:///{Path(tmp) / 'optuna.db'}"
            timings = {}
            for prune in (True, False):
                wall, result = study(rows, config, args.trials, prune, storage)
                timings[prune] = (wall, result)
                print(
                    f"study {'with' if prune else 'without'} pruning: {wall:.1f} s, "
                    f"{args.trials} trials ({result.n_pruned} pruned), "
                    f"best valid AUC {result.best_value:.4f}"
                )
        (pruned_wall, pruned), (full_wall, full) = timings[True], timings[False]
        print(
            f"unpruned/pruned time ratio: {full_wall / pruned_wall:.2f}x; "
            f"best AUC difference (unpruned - pruned): {full.best_value - pruned.best_value:+.4f}"
        )


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
