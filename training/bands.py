"""Health bands (green / yellow / red) on calibrated churn probability.

Thresholds come from out-of-time outcomes, not from a hand-picked number (config.bands): red is
the largest group of riskiest accounts whose observed renewal rate is at most
`red_max_renewal_rate`, green the largest group of safest accounts whose renewal rate is at
least `green_min_renewal_rate`, each with at least `min_band_rows` rows. When the outcomes cannot
support a target (one class only, or no group reaches it), that band falls back to the configured
share of the predicted distribution, and `basis` says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from retain.config import Config


def choose_bands(
    y_true_churn: Any, p_churn: Any, config: Config | None = None, *, spine: Any = None
) -> dict[str, Any]:
    """{"green_below": p_g, "red_from": p_r, "basis": ...} with p_g <= p_r.

    With `spine` (the feature frame's spine per row), the thresholds come from the renewal-spine
    rows when they are enough to trust: bands promise renewal rates, and a renewal is decided at
    renewal time, not at an arbitrary month start far from it.
    """
    config = config or Config()
    settings = config.bands
    y = np.asarray(y_true_churn, dtype=np.float64)
    p = np.asarray(p_churn, dtype=np.float64)
    known = ~np.isnan(p) & ~np.isnan(y)
    if spine is not None:
        at_renewal = known & (np.asarray(spine, dtype=object) == "renewals")
        churned = y[at_renewal]
        if at_renewal.sum() >= 5 * settings.min_band_rows and 0 < churned.sum() < len(churned):
            known = at_renewal
    y, p = y[known], p[known]
    if len(p) == 0:
        return {"green_below": 0.0, "red_from": 1.0, "basis": "no predictions"}
    one_class = y.min() == y.max()
    red_from = (
        None
        if one_class
        else _red_threshold(y, p, settings.red_max_renewal_rate, settings.min_band_rows)
    )
    green_below = (
        None
        if one_class
        else _green_threshold(y, p, settings.green_min_renewal_rate, settings.min_band_rows)
    )
    basis = {
        "red": "renewal-rate target" if red_from is not None else "share",
        "green": "renewal-rate target" if green_below is not None else "share",
    }
    if red_from is None:
        red_from = float(np.quantile(p, 1.0 - settings.red_share))
    if green_below is None:
        green_below = float(np.quantile(p, settings.green_share))
    green_below = min(green_below, red_from)
    return {"green_below": float(green_below), "red_from": float(red_from), "basis": basis}


def _red_threshold(y: np.ndarray, p: np.ndarray, max_renewal: float, min_rows: int) -> float | None:
    """The lowest p such that the accounts at or above it renewed at most `max_renewal`."""
    order = np.argsort(-p, kind="stable")
    p_desc, churned = p[order], y[order]
    # Only cut between distinct scores: every account at the threshold's score is inside.
    last_of_value = np.r_[p_desc[1:] != p_desc[:-1], True]
    renewal_rate = 1.0 - np.cumsum(churned) / np.arange(1, len(p) + 1)
    ok = last_of_value & (renewal_rate <= max_renewal) & (np.arange(1, len(p) + 1) >= min_rows)
    if not ok.any():
        return None
    return float(p_desc[np.flatnonzero(ok)[-1]])


def _green_threshold(
    y: np.ndarray, p: np.ndarray, min_renewal: float, min_rows: int
) -> float | None:
    """The highest p such that the accounts strictly below it renewed at least `min_renewal`."""
    order = np.argsort(p, kind="stable")
    p_asc, churned = p[order], y[order]
    renewal_rate = 1.0 - np.cumsum(churned) / np.arange(1, len(p) + 1)
    # A cut after position k puts p_asc[:k+1] in green; the next distinct score is the bound.
    next_value = np.r_[p_asc[1:], np.inf]
    ok = (next_value > p_asc) & (renewal_rate >= min_renewal)
    ok &= np.arange(1, len(p) + 1) >= min_rows
    if not ok.any():
        return None
    return float(next_value[np.flatnonzero(ok)[-1]])


def band_of(p: Any, bands: dict[str, Any]) -> np.ndarray:
    """ "green" below green_below, "red" from red_from up, "yellow" between."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, "yellow", dtype=object)
    out[p < bands["green_below"]] = "green"
    out[p >= bands["red_from"]] = "red"
    return out.astype(str)
