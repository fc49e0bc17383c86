"""Bias and interval coverage of `retain plays evaluate`'s estimators, over simulated seeds.

    .venv/bin/python bench/plays_effects.py --seeds 12 --accounts 500 --out /tmp/plays_bench.json

For each seed: simulate a small book (its plays carry true effects, `simulator._plays`), build
the monthly features, run `playbook.evaluate.evaluate_plays` (overall, no segments), and
compare each estimate with the truth of the same rows: the mean over the evaluated rows (known
outcome, a snapshot matched) of the oracle's probability with the play minus without it
(`plays_truth.parquet`), over both arms for a randomized play (its estimand is the effect on
the triggered accounts) and over the treated rows for an observational one (the effect on the
treated; the estimator's trimming of treated rows outside the common support is not applied to
the truth, so a few percent of rows differ). Prints, per play and outcome: seeds with an
estimate, seeds "not identified", the mean true effect, the mean estimate, the bias (mean of
estimate - truth, with its standard error over seeds), the RMSE, the coverage of the 95%
intervals (Newcombe; bootstrap beside it for randomized plays) and their mean width. A single
seed's "covers the truth" is a coin with 95% odds; the coverage over seeds is the figure.
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
from features.source import DataSource
from playbook.evaluate import OUTCOMES, RANDOMIZED, evaluate_plays, play_units
from retain.config import load_config
from retain.files import write_json
from simulator import simulate


def _truth(data: Path, frame: pd.DataFrame, plays: pd.DataFrame, end: pd.Timestamp) -> dict:
    """(play, outcome) -> (randomized rows' mean effect, treated rows' mean effect)."""
    units = play_units(frame, plays, end)
    truth = pd.read_parquet(data / "plays_truth.parquet")
    truth["started_at"] = pd.to_datetime(truth["started_at"]).astype("datetime64[ns]")
    truth["account_id"] = truth["account_id"].astype(str)
    merged = units.merge(
        truth[
            [
                "account_id",
                "play",
                "started_at",
                "churn_probability_with",
                "churn_probability_without",
                "expansion_probability_with",
                "expansion_probability_without",
            ]
        ],
        on=["account_id", "play", "started_at"],
        how="inner",
    )
    out = {}
    for play, outcome in ((p, o) for p in sorted(merged["play"].unique()) for o in OUTCOMES):
        rows = merged[(merged["play"] == play) & merged[outcome].notna()]
        effect = rows[f"{outcome}_probability_with"] - rows[f"{outcome}_probability_without"]
        treated = rows["arm"].isna() | (rows["arm"] == "treated")
        out[(play, outcome)] = (float(effect.mean()), float(effect[treated].mean()))
    return out


def run_seed(seed: int, accounts: int, months: int, n_bootstrap: int, folder: Path) -> list[dict]:
    data = simulate(folder / f"seed{seed}", n_accounts=accounts, months=months, seed=seed)
    config = load_config(data)
    source = DataSource.open(data)
    frame = build_features(source, config, spine="monthly")
    plays = source.frame("plays")
    result = evaluate_plays(
        frame, plays, source.data_end, n_bootstrap=n_bootstrap, seed=seed, segments=False
    )
    truth = _truth(data, frame, plays, source.data_end)
    rows = []
    for e in result["estimates"]:
        all_rows, treated_rows = truth.get((e["play"], e["outcome"]), (np.nan, np.nan))
        rows.append(
            {
                "seed": seed,
                "play": e["play"],
                "outcome": e["outcome"],
                "design": e["design"],
                "identified": e.get("identified"),
                "effect": e.get("effect"),
                "ci_low": e.get("ci_low"),
                "ci_high": e.get("ci_high"),
                "bootstrap_low": e.get("bootstrap_low"),
                "bootstrap_high": e.get("bootstrap_high"),
                "treated_n": e.get("treated_n"),
                "control_n": e.get("control_n"),
                "truth": all_rows if e["design"] == RANDOMIZED else treated_rows,
            }
        )
    return rows


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (play, outcome), g in rows.groupby(["play", "outcome"], sort=True):
        est = g[g["effect"].notna()]
        err = est["effect"] - est["truth"]
        covered = (est["ci_low"] <= est["truth"]) & (est["truth"] <= est["ci_high"])
        boot = est[est["bootstrap_low"].notna()]
        boot_covered = (boot["bootstrap_low"] <= boot["truth"]) & (
            boot["truth"] <= boot["bootstrap_high"]
        )
        out.append(
            {
                "play": play,
                "outcome": outcome,
                "design": g["design"].iloc[0],
                "seeds": len(g),
                "estimated": len(est),
                "not_identified": int((g["identified"] == False).sum()),  # noqa: E712
                "mean_truth": float(est["truth"].mean()) if len(est) else np.nan,
                "mean_estimate": float(est["effect"].mean()) if len(est) else np.nan,
                "bias": float(err.mean()) if len(est) else np.nan,
                "bias_se": float(err.std(ddof=1) / np.sqrt(len(est))) if len(est) > 1 else np.nan,
                "rmse": float(np.sqrt((err**2).mean())) if len(est) else np.nan,
                "coverage": float(covered.mean()) if len(est) else np.nan,
                "bootstrap_coverage": float(boot_covered.mean()) if len(boot) else np.nan,
                "mean_width": float((est["ci_high"] - est["ci_low"]).mean())
                if len(est)
                else np.nan,
                "mean_treated_n": float(est["treated_n"].mean()) if len(est) else np.nan,
                "mean_control_n": float(est["control_n"].mean()) if len(est) else np.nan,
            }
        )
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--n-bootstrap", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=None, help="Write the rows and summary here.")
    args = parser.parse_args()
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            t0 = time.perf_counter()
            rows += run_seed(seed, args.accounts, args.months, args.n_bootstrap, Path(tmp))
            print(f"seed {seed}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    frame = pd.DataFrame(rows)
    summary = summarize(frame)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    print(
        f"{args.seeds} seeds x {args.accounts} accounts x {args.months} months, "
        f"{time.perf_counter() - started:.0f} s"
    )
    print(summary.round(3).to_string(index=False))
    if args.out is not None:
        write_json(
            args.out,
            {"args": vars(args), "summary": summary.to_dict("records"), "rows": rows},
        )


if __name__ == "__main__":
    main()
