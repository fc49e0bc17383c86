"""Exact per-row explanations of a tree model in log-odds (LightGBM's TreeSHAP, pred_contrib)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Explanation:
    """`contributions.sum(axis=1) + base_value == raw_margin` (within float rounding).

    contributions: rows x features (the model's feature_names_), in log-odds of the raw booster,
    before calibration; base_value: the booster's expected margin per row (boosters differ per
    segment); raw_margin: the booster's log-odds per row.
    """

    contributions: pd.DataFrame
    base_value: np.ndarray
    raw_margin: np.ndarray
