"""Time-to-churn figures of a backtest: the survival section, and how long it takes.

    .venv/bin/retain simulate --out /tmp/surv_demo --months 36 --accounts 1000
    .venv/bin/retain features --data /tmp/surv_demo --spine both \
        --out /tmp/surv_out/features.parquet
    .venv/bin/retain backtest --data /tmp/surv_demo --features /tmp/surv_out/features.parquet \
        --out /tmp/surv_out/backtest --no-track
    .venv/bin/python bench/survival.py --data /tmp/surv_demo \
        --features /tmp/surv_out/features.parquet --backtest /tmp/surv_out/backtest

Refits the SurvivalModel at every cutoff of the backtest's predictions (months known before the
cutoff only), scores the rows the churn models scored, and prints Uno's C-index and the
integrated Brier score to 12 months (anchored curve, raw hazard curve, Kaplan-Meier), the Brier
score at 3, 6 and 12 months against the simulator's true S, the consistency of 1 - S(T) with the
segmented model's churn probability per segment, and wall times. `--out` writes the section as
JSON (the layout of metrics.json's `survival`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluation.survival import survival_backtest
from features.person_months import coverage_blocks_frame, coverage_end
from features.source import DataSource
from retain.config import load_config
from retain.files import write_json


def _fmt(value: object) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--features", required=True, type=Path)
    parser.add_argument("--backtest", required=True, type=Path, help="a backtest --out folder")
    parser.add_argument("--out", type=Path, help="write the section as JSON here")
    args = parser.parse_args()

    config = load_config(args.data)
    source = DataSource.open(args.data, data_end=config.features.data_end)
    frame = pd.read_parquet(args.features)
    predictions = pd.read_parquet(args.backtest / "predictions.parquet")
    truth_path = args.data / "truth.parquet"
    truth = pd.read_parquet(truth_path) if truth_path.is_file() else None

    began = time.perf_counter()
    ends = coverage_end(frame, coverage_blocks_frame(source, config))
    coverage_s = time.perf_counter() - began
    windows: list[tuple[str, float]] = []
    last = time.perf_counter()

    def step(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        windows.append((name, now - last))
        last = now

    section = survival_backtest(
        frame,
        ends,
        predictions,
        config,
        data_end=source.data_end,
        truth=truth,
        progress=step,
    )
    total = time.perf_counter() - began
    print(f"data {args.data}: {len(frame):,} snapshots; curves to {section['n_months']} months")
    print(f"coverage ends: {coverage_s:.1f} s; survival backtest total {total:.1f} s")
    for (name, seconds), (_, fit) in zip(windows, section["training"].items(), strict=True):
        print(
            f"  cutoff {name}: {seconds:5.1f} s, {fit['person_months']:,} person-months "
            f"({fit['person_months_weighted']:,.0f} weighted) from {fit['snapshots']:,} "
            f"snapshots, {fit['events']:,} churns, {fit['num_trees']} trees"
        )
    print(f"scored {section['n_scored']:,} rows ({section['events']:,} churned in follow-up)")
    print(f"curves over {section['horizon_months']} months")
    print(f"{'curve':<14}{'Uno C':>12}{'IBS':>11}{'skill vs KM':>13}")
    for name, values in section["metrics"].items():
        print(
            f"{name:<14}{_fmt(values.get('uno_c_index')):>12}"
            f"{_fmt(values['integrated_brier']):>11}"
            f"{_fmt(values.get('brier_skill_vs_kaplan_meier')):>13}"
        )
    oracle = section["oracle"]
    if oracle:
        print(f"Brier vs the true S ({oracle['rows']:,} rows with truth):")
        for month, scores in oracle["brier"].items():
            cells = "  ".join(f"{k} {v:.4f}" for k, v in scores.items())
            mae = oracle["mean_abs_error_vs_true_s"][month]
            print(f"  {month:>4}: {cells}  |S - S_true| {mae:.3f}")
    check = section["consistency"]
    print(f"1 - S(T) - churn_probability, mean per segment (tolerance {check['tolerance']}):")
    for segment, values in check["anchored"].items():
        raw = check["raw"][segment]["mean_signed_difference"]
        print(
            f"  {segment:<12} rows {values['rows']:>6,}  anchored "
            f"{values['mean_signed_difference']:+.4f}  raw hazard model {raw:+.4f}"
        )
    print(f"consistency passed: {check['passed']}")
    print(f"mean expected months retained (24m): {section['expected_months_retained_mean']:.2f}")
    if args.out:
        write_json(args.out, section)
        print(json.dumps({"written": str(args.out)}))


if __name__ == "__main__":
    main()
