"""What the renewal risk looks like on a scored book: ties, far-renewal bands, calendar reliance.

    MLFLOW_TRACKING_URI=sqlite:///mlflow.db .venv/bin/python bench/renewal_risk.py \\
        --data data/demo [--alias champion]

Scores the latest snapshot of every active account with the registered models (as `retain
score` does) and prints the figures issue 9 asks for: the share of accounts at the lowest churn
probability and the number of distinct values, the bands of accounts renewing more than 180
days out, and the share of red/yellow accounts whose largest raising SHAP contribution is a
context feature (days to renewal, term, tenure, ...), i.e. how much the model still leans on the
calendar. Nothing is asserted: docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/demo")
    parser.add_argument("--alias", default="champion")
    parser.add_argument(
        "--backtest",
        default=None,
        help="a `retain backtest --out` folder: also print its churn ROC-AUC per model for all "
        "rows and for rows more than 180 days before their renewal",
    )
    parser.add_argument("--features", default=None, help="the feature file the backtest read")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]

    import numpy as np
    import pandas as pd

    from retain.config import load_config
    from serving.batch import build_snapshot, score_snapshot
    from serving.catalogue import is_driver
    from serving.scoring import load_model_pair

    config = load_config(
        args.data,
        overrides={"serving": {"model_alias": args.alias, "allow_challenger": True}},
    )
    models = load_model_pair(config)
    snapshot = build_snapshot(args.data, config, None).reset_index(drop=True)
    results = score_snapshot(snapshot, models, config, show_progress=False)
    scores = pd.DataFrame(results)
    p = scores["churn_probability"]
    print(f"accounts scored: {len(scores)} at {scores['as_of'].iloc[0]}")
    print(
        f"churn probability: {p.nunique()} distinct values; {(p == p.min()).mean():.2%} "
        f"of accounts at the lowest ({p.min():.2e}); max {p.max():.3f}; "
        f"exactly 0 or 1: {int(((p == 0) | (p == 1)).sum())}"
    )
    days_out = (
        pd.to_datetime(snapshot["renewal_date"]) - pd.to_datetime(snapshot["as_of"])
    ).dt.days.to_numpy()
    far = days_out > 180
    bands = scores["health_band"]
    print(f"bands, all {len(scores)}: {bands.value_counts().to_dict()}")
    print(
        f"bands, renewal > 180 days out ({int(far.sum())}): {bands[far].value_counts().to_dict()}"
    )
    print(
        f"mean churn probability: renewal > 180 days out {p[far].mean():.3f}, "
        f"within 180 days {p[~far].mean():.3f}"
    )
    explained = models.churn.explain(snapshot)
    contributions = explained.contributions
    at_risk = bands.isin(["red", "yellow"]).to_numpy()
    top = contributions.to_numpy().argmax(axis=1)
    top_names = np.array(contributions.columns)[top]
    context_top = np.array([not is_driver(name) for name in top_names])
    print(
        f"red/yellow accounts: {int(at_risk.sum())}; largest raising contribution is context "
        f"for {context_top[at_risk].mean():.1%} "
        f"({pd.Series(top_names[at_risk & context_top]).value_counts().head(4).to_dict()})"
    )
    reasons_top = [r["reasons"][0]["feature"] if r["reasons"] else None for r in results]
    reasons_top = pd.Series(reasons_top)[at_risk]
    print(
        f"top reason shown on red/yellow accounts: {reasons_top.value_counts().head(5).to_dict()}"
    )
    if args.backtest and args.features:
        _backtest_by_distance(Path(args.backtest), Path(args.features))


def _backtest_by_distance(folder: Path, features: Path) -> None:
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    keys = ["account_id", "as_of", "spine"]
    predictions = pd.read_parquet(folder / "predictions.parquet")
    renewal = pd.read_parquet(features, columns=[*keys, "renewal_date"])
    rows = predictions.merge(renewal, on=keys, how="left")
    rows = rows[rows["churn"].notna()]
    days_out = (rows["renewal_date"] - rows["as_of"]).dt.days
    for name, part in (
        ("all rows", rows),
        ("rows > 180 days before renewal", rows[days_out > 180]),
    ):
        auc = {
            model: round(roc_auc_score(group["churn"], group["p_churn"]), 3)
            for model, group in part.groupby("model")
            if group["churn"].nunique() == 2
        }
        print(f"backtest churn ROC-AUC, {name} ({part['account_id'].nunique()} accounts): {auc}")


if __name__ == "__main__":
    main()
