"""Segments: the accounts table's `segment` where given, otherwise ARR bands.

Applied to the assembled frame (one vectorised pass), because it needs the point-in-time `arr`
feature and, for an account whose first contract starts exactly at as_of, the ARR at as_of.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from retain.config import SegmentsConfig


def segment_from_arr(arr: pd.Series, config: SegmentsConfig) -> pd.Series:
    """The first band whose (exclusive) upper bound exceeds `arr`; the top segment otherwise."""
    values = arr.to_numpy(dtype="float64")
    conditions = [values < bound for _, bound in config.arr_bands]
    names = [name for name, _ in config.arr_bands]
    chosen = np.select(conditions, names, default=config.top_segment) if conditions else None
    if chosen is None:
        chosen = np.full(len(values), config.top_segment, dtype=object)
    return pd.Series(chosen, index=arr.index, dtype=object)


def segments(given: pd.Series, arr: pd.Series, config: SegmentsConfig) -> pd.Series:
    """`given` where non-null (and not blank), else from `arr`."""
    given = given.astype(object).where(given.notna() & (given.astype(str).str.strip() != ""))
    return given.where(given.notna(), segment_from_arr(arr, config)).astype(object)
