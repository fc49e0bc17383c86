"""Backtest metrics as plain `f(y_true, y_score, ...) -> float` functions (scikit-learn style).

Every function accepts array-likes, ignores nothing silently, and returns NaN where the metric is
undefined (one class only, an empty band, no churned ARR) instead of raising: a backtest window
with no churners is a fact to report, not a crash.

Expected calibration error uses 10 equal-width bins on [0, 1]: churn probabilities concentrate
near zero, and equal-width bins keep the bins comparable across models and cutoffs (equal-mass
bins would move with each model's score distribution).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from sklearn import metrics as sk_metrics

BANDS: tuple[str, ...] = ("green", "yellow", "red")
_EPS = 1e-15


def _arrays(y_true: ArrayLike, y_score: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(y_score, dtype=float).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y_true has {y.size} values but y_score has {p.size}")
    return y, p


def _both_classes(y: np.ndarray) -> bool:
    return y.size > 0 and 0 < y.sum() < y.size


def roc_auc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Area under the ROC curve; NaN with one class only."""
    y, p = _arrays(y_true, y_score)
    return float(sk_metrics.roc_auc_score(y, p)) if _both_classes(y) else math.nan


def pr_auc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Average precision (the step-wise area under the precision-recall curve); NaN without
    positives or without negatives."""
    y, p = _arrays(y_true, y_score)
    return float(sk_metrics.average_precision_score(y, p)) if _both_classes(y) else math.nan


def brier(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Mean squared error of the probabilities; NaN when empty."""
    y, p = _arrays(y_true, y_score)
    return float(np.mean((p - y) ** 2)) if y.size else math.nan


def log_loss(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Mean negative log-likelihood, probabilities clipped to [1e-15, 1 - 1e-15]; NaN when empty.

    Defined with one class only (unlike AUC): it still measures how confident a model was.
    """
    y, p = _arrays(y_true, y_score)
    if not y.size:
        return math.nan
    p = np.clip(p, _EPS, 1 - _EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def expected_calibration_error(y_true: ArrayLike, y_score: ArrayLike, n_bins: int = 10) -> float:
    """Share-weighted mean |observed rate - mean probability| over equal-width bins on [0, 1].

    Bins are [0, 0.1), [0.1, 0.2), ..., [0.9, 1.0]; the last bin includes 1.0.
    """
    y, p = _arrays(y_true, y_score)
    if not y.size:
        return math.nan
    bins = np.minimum((np.clip(p, 0.0, 1.0) * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        in_bin = bins == b
        total += in_bin.sum() * abs(y[in_bin].mean() - p[in_bin].mean())
    return float(total / y.size)


def _top_mask(y_score: np.ndarray, top: float) -> np.ndarray:
    """The ceil(top x n) highest scores; ties broken by original order (stable, deterministic)."""
    k = max(1, math.ceil(top * y_score.size))
    order = np.argsort(-y_score, kind="stable")
    mask = np.zeros(y_score.size, dtype=bool)
    mask[order[:k]] = True
    return mask


def top_decile_lift(y_true: ArrayLike, y_score: ArrayLike, top: float = 0.1) -> float:
    """Positive rate among the riskiest `top` share / overall positive rate; NaN without
    positives."""
    y, p = _arrays(y_true, y_score)
    if not y.size or y.sum() == 0:
        return math.nan
    return float(y[_top_mask(p, top)].mean() / y.mean())


def arr_caught_share(
    y_true: ArrayLike, y_score: ArrayLike, arr: ArrayLike, top: float = 0.1
) -> float:
    """Share of the churned ARR that sits in the riskiest `top` share of accounts; NaN when no
    ARR churned."""
    y, p = _arrays(y_true, y_score)
    a = np.nan_to_num(np.asarray(arr, dtype=float).ravel(), nan=0.0)
    if a.shape != y.shape:
        raise ValueError(f"arr has {a.size} values but y_true has {y.size}")
    churned = (y * a).sum()
    if not y.size or churned <= 0:
        return math.nan
    return float((y * a)[_top_mask(p, top)].sum() / churned)


def band_renewal_rates(churned: ArrayLike, bands: Sequence[str] | ArrayLike) -> dict[str, float]:
    """Renewal rate (share not churned) per health band; NaN for an empty band."""
    y = np.asarray(churned, dtype=float).ravel()
    b = np.asarray(bands, dtype=object).ravel()
    if b.shape != y.shape:
        raise ValueError(f"bands has {b.size} values but churned has {y.size}")
    rates = {}
    for band in BANDS:
        in_band = b == band
        rates[band] = float(1.0 - y[in_band].mean()) if in_band.any() else math.nan
    return rates


@dataclass(frozen=True)
class RatioEstimate:
    """Green/red renewal-rate ratio with a percentile bootstrap 95% interval."""

    ratio: float
    low: float
    high: float
    n_green: int
    n_red: int


def _ratio(green_renewed: float, red_renewed: float) -> float:
    if math.isnan(green_renewed) or math.isnan(red_renewed):
        return math.nan
    if red_renewed == 0:
        return math.inf if green_renewed > 0 else math.nan
    return green_renewed / red_renewed


def green_red_ratio(
    churned: ArrayLike,
    bands: Sequence[str] | ArrayLike,
    *,
    n_bootstrap: int = 500,
    seed: int = 0,
) -> RatioEstimate:
    """Renewal rate of green accounts / renewal rate of red accounts, with a bootstrap interval.

    The bootstrap resamples green and red accounts separately (stratified by band), so every
    replicate has both bands; the interval is the 2.5th and 97.5th percentile of the replicates.
    NaN when either band is empty; infinite when every red account churned.
    """
    y = np.asarray(churned, dtype=float).ravel()
    b = np.asarray(bands, dtype=object).ravel()
    rates = band_renewal_rates(y, b)
    ratio = _ratio(rates["green"], rates["red"])
    renewed_green = 1.0 - y[b == "green"]
    renewed_red = 1.0 - y[b == "red"]
    if not renewed_green.size or not renewed_red.size or n_bootstrap <= 0:
        return RatioEstimate(ratio, math.nan, math.nan, renewed_green.size, renewed_red.size)
    rng = np.random.default_rng(seed)
    # Renewal is 0/1, so the mean of a resample of n accounts is Binomial(n, rate) / n exactly:
    # the same bootstrap distribution without materialising n_bootstrap x n draws.
    green_means = rng.binomial(renewed_green.size, renewed_green.mean(), n_bootstrap)
    green_means = green_means / renewed_green.size
    red_means = rng.binomial(renewed_red.size, renewed_red.mean(), n_bootstrap) / renewed_red.size
    safe_red = np.where(red_means > 0, red_means, 1.0)
    replicates = np.where(red_means > 0, green_means / safe_red, np.inf)
    # inverted_cdf picks replicate values instead of interpolating, which stays defined when
    # some replicates are infinite (every resampled red account churned).
    low, high = np.quantile(replicates, [0.025, 0.975], method="inverted_cdf")
    return RatioEstimate(ratio, float(low), float(high), renewed_green.size, renewed_red.size)


def bands_at_shares(y_score: ArrayLike, green_share: float, red_share: float) -> np.ndarray:
    """Bands by rank: the lowest `green_share` of scores green, the highest `red_share` red.

    Comparing models' green/red ratios is fair only at equal band sizes: a model whose red band
    is a tiny extreme group "wins" the ratio against one with a broad red. Ties go to the band
    of the tie's first member in rank order, so equal scores share a band.
    """
    p = np.asarray(y_score, dtype=float).ravel()
    n = len(p)
    out = np.full(n, "yellow", dtype=object)
    if n == 0:
        return out
    order = np.argsort(p, kind="stable")
    # Every member of a tie takes the smallest rank in it.
    sorted_p = p[order]
    first = np.r_[0, np.flatnonzero(sorted_p[1:] != sorted_p[:-1]) + 1]
    starts = np.repeat(first, np.diff(np.r_[first, n]))
    tie_rank = np.empty(n, dtype=np.int64)
    tie_rank[order] = starts
    out[tie_rank < round(green_share * n)] = "green"
    out[tie_rank >= n - round(red_share * n)] = "red"
    return out


def equal_share_band_ratio(
    churned: ArrayLike, y_score: ArrayLike, green_share: float, red_share: float
) -> float:
    """Green/red renewal-rate ratio with bands of the given shares (see `bands_at_shares`)."""
    return band_ratio(churned, bands_at_shares(y_score, green_share, red_share))


def band_ratio(churned: ArrayLike, bands: Sequence[str] | ArrayLike) -> float:
    """Renewal rate of green over red; NaN when a band is empty, inf when every red churned."""
    rates = band_renewal_rates(churned, bands)
    return _ratio(rates["green"], rates["red"])


# Name -> f(y_true, y_score) for the metrics every model and target gets.
SCORE_METRICS = {
    "roc_auc": roc_auc,
    "pr_auc": pr_auc,
    "brier": brier,
    "log_loss": log_loss,
    "ece": expected_calibration_error,
    "top_decile_lift": top_decile_lift,
}
# Lower is better for these; the gate and the report need to know the direction.
LOWER_IS_BETTER: frozenset[str] = frozenset({"brier", "log_loss", "ece"})
