"""Benchmark of `retain train`'s model fitting on the foundation benchmark's simulated data.

    .venv/bin/python bench/training.py --accounts 100000 --months 24 --cache bench/.cache

1. The feature frame of the last `--months` month starts (built once with `build_features`,
   cached as parquet beside the simulated tables of bench/features.py).
2. `training.fit_candidates` for churn and for expansion (segmented LightGBM per segment, the
   global booster, the small-data candidate, logistic baseline, rule scorecard) on every
   labelled row, with the default config (2 threads). Wall and CPU time per target and per
   model, split into the served models (the segmented model, whose global booster is also the
   `global` candidate) and the extra candidates; out-of-time ROC-AUC of each.
   `--large-data-rows 1000000000` turns the large-book rule of `training._booster` off, for an
   A/B of its time and ROC-AUC.
3. A `--trials`-trial Optuna study of one booster, with pruning and without, on the labelled
   rows of `--study-accounts` accounts sampled from the same frame (a study on all 100k
   accounts would hold the shared 2-core machine for an hour). Wall times, best validation
   AUCs, pruned trials and the unpruned/pruned time ratio.
Goals: the two served models (churn, expansion) on the 100k-account frame in at most 120 s on
2 cores (issue 16); pruning at least 2x cheaper for the same best score within 0.002 AUC.
No MLflow here: it measures the fitting, not the logging.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.features import cpu_seconds, load_average
from features.build import build_features
from features.frame import feature_columns
from features.source import DataSource
from retain.config import load_config
from retain.files import write_parquet
from training._design import DesignSpec
from training._split import time_split, validation_order
from training.candidates import fit_candidates, labelled_rows
from training.tune import tune_booster

# The models `retain train` serves per target: the segmented model, whose global booster is the
# `global` candidate too. Everything else `fit_candidates` fits is an extra candidate.
SERVED = ("segmented",)


class StepTimer:
    """Records how long each model of `fit_candidates` took, in wall and CPU seconds
    (duck-types rich's Progress)."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float, float]] = []
        self._name = ""
        self._last = (time.perf_counter(), cpu_seconds())

    def add_task(self, description: str, total: int) -> int:
        self._last = (time.perf_counter(), cpu_seconds())
        return 0

    def update(self, task: int, description: str = "", **_: object) -> None:
        self._name = description.rsplit(": ", 1)[-1]

    def advance(self, task: int) -> None:
        now = (time.perf_counter(), cpu_seconds())
        self.marks.append((self._name, now[0] - self._last[0], now[1] - self._last[1]))
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


def _name_of(models: dict) -> str:
    return next(n for n, m in models.items() if n != "chosen" and m is models["chosen"])


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
    parser.add_argument(
        "--large-data-rows",
        type=int,
        help="override [training] large_data_rows (a huge value turns the large-book rule off, "
        "for an A/B of its speed and out-of-time ROC-AUC)",
    )
    args = parser.parse_args()

    frame, folder = feature_frame(args.cache, args.accounts, args.months, args.seed)
    config = load_config(folder)
    if args.large_data_rows is not None:
        config = replace(
            config, training=replace(config.training, large_data_rows=args.large_data_rows)
        )
    print(f"large-book rule from {config.training.large_data_rows:,} training rows")
    n_features = len(feature_columns(frame))
    print(
        f"frame: {len(frame):,} snapshots x {n_features} features "
        f"({frame['account_id'].nunique():,} accounts, {frame['as_of'].nunique()} as_of dates)"
    )

    if not args.skip_fit:
        totals = {"served": [0.0, 0.0], "extra": [0.0, 0.0], "all": [0.0, 0.0]}
        for target in ("churn", "expansion"):
            rows = labelled_rows(frame, target)
            timer = StepTimer()
            print(f"{target}: start, {load_average()}")
            started, started_cpu = time.perf_counter(), cpu_seconds()
            models = fit_candidates(frame, target, config, progress=timer)
            wall, cpu = time.perf_counter() - started, cpu_seconds() - started_cpu
            segmented = models["segmented"]
            # What follows the last model: choosing among the LightGBM candidates.
            marks = [
                *timer.marks,
                (
                    "selection",
                    wall - sum(m[1] for m in timer.marks),
                    cpu - sum(m[2] for m in timer.marks),
                ),
            ]
            served = [m for m in marks if m[0] in SERVED]
            extra = [m for m in marks if m[0] not in SERVED]
            for key, group in (("served", served), ("extra", extra), ("all", marks)):
                totals[key][0] += sum(m[1] for m in group)
                totals[key][1] += sum(m[2] for m in group)

            print(
                f"fit_candidates({target}): {wall:.1f} s wall, {cpu:.1f} s CPU on {len(rows):,} "
                f"labelled rows x {n_features} features; {load_average()}"
            )
            print(
                "  served: "
                + ", ".join(f"{name} {w:.1f} s wall / {c:.1f} s CPU" for name, w, c in served)
            )
            print(
                "  extra:  "
                + ", ".join(f"{name} {w:.1f} s wall / {c:.1f} s CPU" for name, w, c in extra)
            )
            print(
                "  segments: "
                + ", ".join(
                    f"{s} {segmented.segment_strategy_[s]} "
                    f"(auc {segmented.metrics_[s]['roc_auc']:.4f}, "
                    f"{_trees(segmented, s)} trees)"
                    for s in segmented.segments_
                )
            )
            print(
                f"  out-of-time ROC-AUC: segmented {segmented.metrics_['__all__']['roc_auc']:.4f}, "
                f"global {models['global'].metrics_['__all__']['roc_auc']:.4f} "
                f"({segmented.global_booster_.num_trees()} trees), "
                f"small_data {models['small_data'].metrics_['__all__']['roc_auc']:.4f}; "
                f"chosen: {_name_of(models)}"
            )
        for key, label in (
            ("served", "the two served models (segmented churn + expansion)"),
            ("extra", "extra candidates and selection"),
            ("all", "full fit_candidates, both targets"),
        ):
            print(f"{label}: {totals[key][0]:.1f} s wall, {totals[key][1]:.1f} s CPU")
        print(f"end: {load_average()}")

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
