"""Time-ordered hold-out: the latest as_of dates validate, the earlier ones train."""

from __future__ import annotations

import numpy as np
import pandas as pd


def time_split(as_of: pd.Series, fraction: float, seed: int) -> tuple[np.ndarray, str]:
    """Boolean mask of validation rows and a description of the split.

    The latest `fraction` of distinct as_of dates (at least one) is held out. Data with a single
    snapshot date has no time to order by; a seeded 20% hold-out is the only option there and the
    description says so.
    """
    dates = pd.to_datetime(as_of).to_numpy()
    unique = np.unique(dates)
    if len(unique) >= 2:
        n_valid = min(max(1, round(len(unique) * fraction)), len(unique) - 1)
        first_valid = unique[-n_valid]
        mask = dates >= first_valid
        return mask, f"time: as_of >= {pd.Timestamp(first_valid).date()} ({n_valid} dates)"
    rng = np.random.default_rng(seed)
    mask = rng.random(len(dates)) < fraction
    return mask, "random: single as_of date, seeded hold-out"
