"""Backtest ROC-AUC against the oracle as the book grows: is the gap data or modelling?

    .venv/bin/python bench/learning_curve.py [--sizes 1000,2000,5000,10000] [--months 48] \\
        [--cutoffs 4] [--work /tmp/retain-learning-curve]

For each size, simulates a book (same seed and months as the demo otherwise), builds both spines
once, runs the default rolling backtest with the last `--cutoffs` origins and the oracle, and
prints per target the ROC-AUC of every LightGBM model, of logistic regression and of the oracle,
and the chosen model's gap to the oracle. Wall times per stage are printed too. The simulator is
never tuned to these figures; nothing is asserted (docs/benchmarks.md records them).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

MODELS = ("chosen", "segmented", "global", "small_data", "logistic", "oracle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000,5000,10000")
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--cutoffs", type=int, default=4, help="latest rolling origins kept")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default="/tmp/retain-learning-curve")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]

    import pandas as pd

    from evaluation.backtest import build_backtest_frame, run_backtest
    from features.source import DataSource
    from retain.config import load_config
    from simulator import simulate

    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        data = Path(args.work) / f"book_{size}"
        timings = {}
        started = time.perf_counter()
        if not (data / "accounts.parquet").exists():
            simulate(data, n_accounts=size, months=args.months, seed=args.seed)
        timings["simulate"] = time.perf_counter() - started
        config = load_config(data, overrides={"evaluation": {"n_cutoffs": args.cutoffs}})
        source = DataSource.open(data, data_end=config.features.data_end)
        started = time.perf_counter()
        frame = build_backtest_frame(source, config)
        timings["features"] = time.perf_counter() - started
        truth = pd.read_parquet(data / "truth.parquet")
        started = time.perf_counter()
        result = run_backtest(frame, config, truth=truth, data_end=source.data_end)
        timings["backtest"] = time.perf_counter() - started
        for target, block in result.summary["targets"].items():
            models = block["models"]
            auc = {m: (models.get(m) or {}).get("roc_auc") for m in MODELS}
            rows.append({"accounts": size, "target": target, **auc})
            windows = block.get("evaluation", {}).get("windows", [])
            print(
                f"{size:>6} accounts, {target:9s}: "
                + ", ".join(f"{m} {v:.3f}" for m, v in auc.items() if v is not None)
                + f"; gap chosen-oracle {auc['oracle'] - auc['chosen']:.3f} ({len(windows)} "
                f"windows)",
                flush=True,
            )
        print(
            f"{size:>6} accounts: "
            + ", ".join(f"{stage} {seconds:.0f} s" for stage, seconds in timings.items()),
            flush=True,
        )
    table = pd.DataFrame(rows)
    table["gap"] = table["oracle"] - table["chosen"]
    print()
    print(table.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
