"""The backtest with defaults on every simulator shape: origins, ROC-AUC per model, rolling vs
grouped k-fold.

    .venv/bin/python bench/shapes.py [--accounts 800] [--seed 0] [--cache bench/.cache/shapes]
    .venv/bin/python bench/shapes.py --shapes months24,snapshot

Shapes (`retain simulate` options; for tests and benchmarks, never to tune to):
`default` (36 months, mixed billing), `months24` (--months 24), `monthly` (--billing monthly),
`snapshot` (--snapshot: one snapshot per account, like a CRM export). For each it builds the
backtest's feature frame once, runs `run_backtest` with the default `--cutoffs auto`, and, where
the default is a rolling backtest, again with `--cutoffs kfold` (grouped by account); it prints
each target's scheme and windows, the pooled ROC-AUC of every model with its account-bootstrap
interval, and the segmented model's rolling minus k-fold ROC-AUC (the brief's level: within
0.02). Settings are the defaults of retain.config plus the simulator's retain.toml. Nothing is
asserted: docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

SHAPES: dict[str, dict[str, object]] = {
    "default": {},
    "months24": {"months": 24},
    "monthly": {"billing": "monthly"},
    "snapshot": {"snapshot": True},
}


def _roc(summary: dict, target: str, model: str) -> str:
    values = summary["targets"].get(target, {}).get("models", {}).get(model)
    if not values or values.get("roc_auc") is None:
        return "    n/a"
    low, high = values.get("roc_auc_ci") or [None, None]
    interval = f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
    return f"{values['roc_auc']:.3f}{interval}"


def _plan_line(summary: dict, target: str) -> str:
    block = summary["targets"].get(target)
    if block is None:
        return f"  {target}: not in the frame"
    evaluation = block.get("evaluation", {})
    windows = evaluation.get("windows", [])
    where = f"{windows[0]} .. {windows[-1]}" if windows else "-"
    evidence = block.get("evidence") or {}
    return (
        f"  {target}: {evaluation.get('scheme')} {evaluation.get('spacing') or ''} "
        f"{len(windows)} windows ({where}); scored {evidence.get('scored_snapshots', 0):,} "
        f"snapshots of {evidence.get('scored_accounts', 0):,} accounts, "
        f"{evidence.get('positive_accounts', 0):,} positive accounts"
    )


def _kfold_on_rolling_rows(predictions: dict, target: str) -> float:
    """The segmented model's k-fold ROC-AUC on exactly the snapshots the default scored: the
    gap that is left is the models' (less training data before an origin, time), not the
    population's."""
    from evaluation.metrics import roc_auc

    keys = ["account_id", "as_of", "spine"]

    def rows(frame):
        own = frame[(frame["model"] == "segmented") & frame[f"p_{target}"].notna()]
        return own[[*keys, target, f"p_{target}"]]

    rolling = rows(predictions["auto"])[keys].drop_duplicates()
    folds = rows(predictions["kfold"]).merge(rolling, on=keys)
    return roc_auc(folds[target], folds[f"p_{target}"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default="bench/.cache/shapes")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--json", default=None, help="also write every summary to this file")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]

    import pandas as pd

    from evaluation.backtest import MODELS, build_backtest_frame, run_backtest
    from features.source import DataSource
    from features.validate import require_valid
    from retain.config import load_config
    from simulator import simulate

    results: dict[str, dict] = {}
    for name in args.shapes.split(","):
        options = SHAPES[name]
        data = Path(args.cache) / f"{name}-{args.accounts}-{args.seed}"
        started = time.perf_counter()
        if not (data / "accounts.parquet").exists():
            simulate(data, n_accounts=args.accounts, seed=args.seed, **options)  # type: ignore[arg-type]
        config = load_config(data, workdir=data)
        source = DataSource.open(data, data_end=config.features.data_end)
        require_valid(source, config=config)
        frame = build_backtest_frame(source, config)
        truth = pd.read_parquet(data / "truth.parquet")
        built = time.perf_counter() - started
        runs = {}
        timings = {}
        predictions = {}
        for cutoffs in ("auto", "kfold"):
            began = time.perf_counter()
            result = run_backtest(
                frame, config, cutoffs=cutoffs, truth=truth, data_end=source.data_end
            )
            timings[cutoffs] = time.perf_counter() - began
            runs[cutoffs] = result.summary
            predictions[cutoffs] = result.predictions
            if cutoffs == "auto" and result.summary["mode"] == "kfold":
                break  # the default already is k-fold (one snapshot per account)
        results[name] = runs
        flags = " ".join(f"--{k} {v}" if v is not True else f"--{k}" for k, v in options.items())
        command = f"retain simulate --accounts {args.accounts} --seed {args.seed} {flags}"
        print(f"\n== {name}: {command.rstrip()}")
        print(
            f"  {len(frame):,} snapshots of {frame['account_id'].nunique():,} accounts; "
            f"simulate + validate + features {built:.0f} s; backtest "
            + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
        )
        auto = runs["auto"]
        for target in ("churn", "expansion"):
            print(_plan_line(auto, target))
        header = f"  {'target':10s} {'model':10s} {'default (auto)':>24s}"
        if "kfold" in runs:
            header += f" {'grouped k-fold':>24s}"
        print(header)
        for target in ("churn", "expansion"):
            for model in MODELS:
                line = f"  {target:10s} {model:10s} {_roc(auto, target, model):>24s}"
                if "kfold" in runs:
                    line += f" {_roc(runs['kfold'], target, model):>24s}"
                print(line)
            if "kfold" in runs:
                rolling = auto["targets"].get(target, {}).get("models", {}).get("segmented", {})
                folds = (
                    runs["kfold"]["targets"].get(target, {}).get("models", {}).get("segmented", {})
                )
                if rolling.get("roc_auc") is not None and folds.get("roc_auc") is not None:
                    gap = rolling["roc_auc"] - folds["roc_auc"]
                    same = _kfold_on_rolling_rows(predictions, target)
                    print(
                        f"  {target}: segmented default - k-fold ROC-AUC {gap:+.3f}; k-fold on "
                        f"the default's scored snapshots only {same:.3f} "
                        f"(default - that {rolling['roc_auc'] - same:+.3f})"
                    )
        for target, block in auto["targets"].items():
            for line in (block.get("evidence") or {}).get("unsupported", []):
                print(f"  {target} does not support: {line}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
