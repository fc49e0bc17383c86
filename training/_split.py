"""Time-ordered hold-out: the rows whose outcome became known last validate, the earlier train.

Ordering by the date a label becomes known (not by as_of) keeps long-latency labels in the
validation rows: a snapshot a year before its renewal is known late, so it validates beside the
recent short-window rows instead of being trained on only. Calibration, bands and the choice of
booster are all fitted on these rows, so they must represent every distance to renewal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.frame import known_at_column


def validation_order(frame: pd.DataFrame, target: str) -> pd.Series:
    """The dates the hold-out is ordered by: `target`'s known date, else as_of."""
    column = known_at_column(target)
    return frame[column] if column in frame.columns else frame["as_of"]


def time_split(order: pd.Series, fraction: float, seed: int) -> tuple[np.ndarray, str]:
    """Boolean mask of validation rows and a description of the split.

    The latest `fraction` of distinct dates of `order` (at least one) is held out; pass
    `validation_order(frame, target)`. Data with a single
    snapshot date has no time to order by; a seeded 20% hold-out is the only option there and the
    description says so.
    """
    dates = pd.to_datetime(order).to_numpy()
    unique = np.unique(dates)
    if len(unique) >= 2:
        n_valid = min(max(1, round(len(unique) * fraction)), len(unique) - 1)
        first_valid = unique[-n_valid]
        mask = dates >= first_valid
        name = order.name or "date"
        return mask, f"time: {name} >= {pd.Timestamp(first_valid).date()} ({n_valid} dates)"
    rng = np.random.default_rng(seed)
    mask = rng.random(len(dates)) < fraction
    return mask, "random: single as_of date, seeded hold-out"
