"""Wall time of `retain backtest` on the default demo data (adaptive origins, all models).

    .venv/bin/python bench/backtest.py [--data /tmp/demo] [--accounts 2000] [--months 36]

Simulates the demo into --data when it holds no data yet, then times the stages of the command
(validation, features built once, the rolling backtest, writing the outputs) and prints the
figures and the headline metrics against the quality levels of the brief. Nothing is asserted:
docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/tmp/demo")
    parser.add_argument("--out", default=None, help="output folder (default: a temp folder)")
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cutoffs", default="auto")
    args = parser.parse_args()
    # bench/ holds scripts named like the packages (bench/features.py); drop the script's own
    # folder from the path so `features` means the package.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]

    from evaluation.backtest import build_backtest_frame, run_backtest
    from evaluation.outputs import save_backtest
    from features.source import DataSource
    from features.validate import require_valid
    from retain.config import load_config
    from simulator import simulate

    data = Path(args.data)
    if not (data / "accounts.parquet").exists():
        started = time.perf_counter()
        simulate(data, n_accounts=args.accounts, months=args.months, seed=args.seed)
        print(f"simulate {args.accounts} x {args.months}: {time.perf_counter() - started:.1f} s")
    out = Path(args.out or tempfile.mkdtemp(prefix="retain-bench-backtest-"))
    timings: dict[str, float] = {}
    total = time.perf_counter()

    started = time.perf_counter()
    config = load_config(data)
    source = DataSource.open(data, data_end=config.features.data_end)
    require_valid(source, config=config)
    timings["validate"] = time.perf_counter() - started

    started = time.perf_counter()
    frame = build_backtest_frame(source, config)
    timings["features (both spines, once)"] = time.perf_counter() - started

    import pandas as pd

    truth = pd.read_parquet(data / "truth.parquet") if (data / "truth.parquet").exists() else None
    started = time.perf_counter()
    result = run_backtest(
        frame, config, cutoffs=args.cutoffs, truth=truth, data_end=source.data_end
    )
    timings["backtest (fit + score + metrics)"] = time.perf_counter() - started

    started = time.perf_counter()
    save_backtest(result, out)
    timings["outputs + report"] = time.perf_counter() - started
    timings["total"] = time.perf_counter() - total

    summary = result.summary
    print(f"data: {data} ({len(frame)} snapshots); cores: {os.cpu_count()}; out: {out}")
    for target, block in summary["targets"].items():
        evaluation = block.get("evaluation", {})
        print(
            f"{target}: {evaluation.get('scheme')} {evaluation.get('spacing') or ''}: "
            f"{', '.join(evaluation.get('windows', []))}"
        )
        print(f"  {(block.get('evidence') or {}).get('sentence', '')}")
    for stage, seconds in timings.items():
        print(f"{stage:36s} {seconds:8.1f} s")
    print()
    print(f"{'target':10s} {'model':10s} {'roc_auc':>8s} {'pr_auc':>8s} {'ece':>8s} {'ratio':>8s}")
    for target, block in summary["targets"].items():
        for model, values in block["models"].items():
            cells = [values.get(k) for k in ("roc_auc", "pr_auc", "ece", "band_renewal_ratio")]
            text = " ".join(f"{'' if v is None else f'{v:.3f}':>8s}" for v in cells)
            print(f"{target:10s} {model:10s} {text}")
    forecast = summary["forecast"]
    print(
        f"forecast error (segmented, mean |%| per cutoff): GRR {forecast['grr_error_pct']}, "
        f"NRR {forecast['nrr_error_pct']}"
    )


if __name__ == "__main__":
    main()
