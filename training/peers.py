"""Healthy peers: what a feature looks like at the green accounts of the same segment.

A reason reads better against a reference a CSM trusts: "usage down 42% (healthy Mid-Market:
+2%)". The reference is the median of each numeric feature among the segment's green accounts
of the training window (green by the model's own bands), so it moves with the data, not a
hand-set norm. Segments with fewer than `min_rows` green rows get none rather than a noisy one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_GREEN_ROWS = 20


def healthy_peer_medians(
    X: pd.DataFrame,
    features: list[str],
    segments: np.ndarray,
    bands: np.ndarray,
    *,
    min_rows: int = MIN_GREEN_ROWS,
) -> dict[str, dict[str, float]]:
    """{segment: {feature: median over its green rows}} for the numeric `features` of `X`."""
    numeric = [
        name
        for name in features
        if name in X.columns
        and pd.api.types.is_numeric_dtype(X[name])
        and not pd.api.types.is_bool_dtype(X[name])
    ]
    green = np.asarray(bands) == "green"
    out: dict[str, dict[str, float]] = {}
    for segment in sorted(set(segments.tolist())):
        rows = green & (segments == segment)
        if rows.sum() < min_rows:
            continue
        medians = X.loc[rows, numeric].median(skipna=True)
        out[str(segment)] = {
            name: float(value) for name, value in medians.items() if np.isfinite(value)
        }
    return out
