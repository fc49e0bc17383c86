"""Validation metrics logged for every model: ranking (ROC-AUC, PR-AUC) and calibration."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from training._auc import SCORE_CLIP, ranked, weighted_auc

METRICS: tuple[str, ...] = ("roc_auc", "pr_auc", "brier", "log_loss")
LOWER_IS_BETTER: frozenset[str] = frozenset({"brier", "log_loss"})


def metric_value(
    name: str, y: np.ndarray, p: np.ndarray, sample_weight: np.ndarray | None = None
) -> float:
    """One of `METRICS` (NaN for an AUC on one class: undefined, not a misleading number)."""
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    y = np.asarray(y, dtype=np.int64)
    p = np.clip(np.asarray(p, dtype=np.float64), SCORE_CLIP, 1 - SCORE_CLIP)
    if name == "brier":
        return float(brier_score_loss(y, p, sample_weight=sample_weight))
    if name == "log_loss":
        return float(log_loss(y, p, labels=[0, 1], sample_weight=sample_weight))
    if len(np.unique(y)) < 2:
        return float("nan")
    if name == "roc_auc":
        return float(roc_auc_score(y, p, sample_weight=sample_weight))
    if name == "pr_auc":
        return float(average_precision_score(y, p, sample_weight=sample_weight))
    raise ValueError(f"unknown metric {name!r}; choose one of {', '.join(METRICS)}")


def validation_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {name: metric_value(name, y, p) for name in ("brier", "roc_auc", "pr_auc", "log_loss")}


def account_draws(accounts: np.ndarray, seed: int, n_bootstrap: int) -> Iterator[np.ndarray]:
    """Each bootstrap replicate's row weights: how often the row's account was drawn when
    the accounts are resampled with replacement (0 for a row not drawn)."""
    codes, uniques = pd.factorize(pd.Series(accounts).astype(str))
    rng = np.random.default_rng(seed)
    for _ in range(n_bootstrap):
        counts = np.bincount(rng.integers(0, len(uniques), len(uniques)), minlength=len(uniques))
        yield counts[codes].astype(float)


def paired_bootstrap_interval(
    y: np.ndarray,
    p: np.ndarray,
    reference: np.ndarray,
    accounts: np.ndarray,
    metric: str,
    seed: int,
    n_bootstrap: int,
) -> tuple[float, float]:
    """95% interval of metric(p) - metric(reference), accounts resampled with replacement.

    An account's rows move together (its snapshots share one future), and both score vectors
    get the same draws, so the difference is paired. NaN when no replicate is defined.
    ROC-AUC ranks the scores once and reweights them per replicate (`training._auc`).
    """
    y = np.asarray(y, dtype=np.int64)
    if metric == "roc_auc":
        positive = y == 1
        ranks_p, ranks_reference = ranked(p), ranked(reference)

        def difference(weights: np.ndarray) -> float:
            return weighted_auc(*ranks_p, positive, weights) - weighted_auc(
                *ranks_reference, positive, weights
            )
    else:

        def difference(weights: np.ndarray) -> float:
            keep = weights > 0
            a = metric_value(metric, y[keep], p[keep], weights[keep])
            return a - metric_value(metric, y[keep], reference[keep], weights[keep])

    differences = []
    for weights in account_draws(accounts, seed, n_bootstrap):
        if len(np.unique(y[weights > 0])) < 2:
            continue
        differences.append(difference(weights))
    if not differences:
        return float("nan"), float("nan")
    low, high = np.percentile(differences, [2.5, 97.5])
    return float(low), float(high)
