"""Health bands (green / yellow / red) on calibrated churn probability.

Thresholds come from out-of-time predictions, not from a hand-picked number: the riskiest
`red_share` of accounts is red, the safest `green_share` green (config.bands).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from retain.config import Config


def choose_bands(y_true_churn: Any, p_churn: Any, config: Config | None = None) -> dict[str, float]:
    """{"green_below": p_g, "red_from": p_r} with p_g <= p_r, from out-of-time predictions.

    `y_true_churn` is accepted so a gate can later move the cut-offs to hit a renewal-rate ratio;
    today the cut-offs are the configured shares of the predicted distribution.
    """
    config = config or Config()
    p = np.asarray(p_churn, dtype=np.float64)
    p = p[~np.isnan(p)]
    if len(p) == 0:
        return {"green_below": 0.0, "red_from": 1.0}
    green_below = float(np.quantile(p, config.bands.green_share))
    red_from = float(np.quantile(p, 1.0 - config.bands.red_share))
    return {"green_below": green_below, "red_from": max(red_from, green_below)}


def band_of(p: Any, bands: dict[str, float]) -> np.ndarray:
    """ "green" below green_below, "red" from red_from up, "yellow" between."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, "yellow", dtype=object)
    out[p < bands["green_below"]] = "green"
    out[p >= bands["red_from"]] = "red"
    return out.astype(str)
