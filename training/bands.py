"""Health bands (green / yellow / red) on calibrated churn probability.

Thresholds come from out-of-time outcomes, not from a hand-picked number (config.bands): red is
the largest group of riskiest accounts whose observed renewal rate is at most
`red_max_renewal_rate`, green the largest group of safest accounts whose renewal rate is at
least `green_min_renewal_rate`, each with at least `min_band_rows` rows. When the outcomes cannot
support a target (one class only, or no group reaches it), that band falls back to the configured
share of the predicted distribution, and `basis` says so.

Whatever the data, every band then holds at least `min_band_share` of the rows the bands were
chosen on (and at least one row): a band a CS leader never sees, or a "yellow" squeezed to
nothing between green and red, promises nothing. A threshold moved for that reason is marked
in `basis` ("... + minimum size").
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
    green_below, red_from, moved = _with_minimum_sizes(p, green_below, red_from, settings)
    for band in moved:
        basis[band] += " + minimum size"
    return {"green_below": float(green_below), "red_from": float(red_from), "basis": basis}


def _with_minimum_sizes(
    p: np.ndarray, green_below: float, red_from: float, settings: Any
) -> tuple[float, float, list[str]]:
    """Thresholds moved (as little as possible) so that each band holds at least the minimum
    number of rows; cuts fall between distinct scores so tied accounts share a band."""
    values = np.sort(p)
    n = len(values)
    minimum = max(1, int(np.ceil(settings.min_band_share * n)))
    if n < 3 * minimum or values[0] == values[-1]:
        return green_below, red_from, []  # too few rows, or one score: nothing to split
    moved: list[str] = []

    def cut_at(k: int) -> float:
        """The threshold that puts the k lowest rows (rounded up to a whole tie) below it."""
        k = int(np.clip(k, 1, n - 1))
        above = values[k:]
        return float(above[above > values[k - 1]][0]) if (above > values[k - 1]).any() else np.inf

    green = int(np.searchsorted(values, green_below, side="left"))
    red = n - int(np.searchsorted(values, red_from, side="left"))
    if green < minimum:
        green_below, moved = cut_at(minimum), [*moved, "green"]
        green = int(np.searchsorted(values, green_below, side="left"))
    if red < minimum:
        red_from, moved = cut_at(n - minimum), [*moved, "red"]
        red = n - int(np.searchsorted(values, red_from, side="left"))
    yellow = n - green - red
    if yellow < minimum:
        # Give yellow its rows from whichever of green and red is larger, as far as that band
        # keeps its own minimum.
        missing = minimum - yellow
        if green - missing >= minimum and green >= red:
            green_below, moved = cut_at(green - missing), [*moved, "green"]
        elif red - missing >= minimum:
            red_from, moved = cut_at(n - red + missing), [*moved, "red"]
        else:
            green_below, red_from = cut_at(minimum), cut_at(n - minimum)
            moved = [*moved, "green", "red"]
    return green_below, red_from, sorted(set(moved))


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
