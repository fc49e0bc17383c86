"""Reason codes: the features whose exact SHAP contributions move a probability most.

The contributions come from `SegmentedModel.explain` (LightGBM `pred_contrib`, log-odds), so a
row's contributions plus its base value are exactly the model's raw margin: the reasons are the
model's own arithmetic, not an approximation of it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from serving.catalogue import describe

Direction = Literal["raises", "lowers"]


def json_value(value: object) -> float | str | None:
    """A feature value as JSON can carry it: NaN and None become null, numbers float."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return float(value)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    return None if math.isnan(number) or math.isinf(number) else number


def _reason(feature: str, value: object, contribution: float, direction: Direction) -> dict:
    return {
        "feature": feature,
        "value": json_value(value),
        "contribution": float(contribution),
        "direction": direction,
        "text": describe(feature, value),
    }


def top_reasons(
    contributions: pd.DataFrame,
    values: Mapping[str, np.ndarray],
    *,
    k: int,
    directions: tuple[Direction, ...] = ("raises", "lowers"),
) -> list[list[dict[str, Any]]]:
    """Per row, the `k` largest positive ("raises") and/or negative ("lowers") contributions.

    `contributions` is rows x features in log-odds; `values` maps each of those features to
    its values for the same rows, by position (missing features may be absent). Zero
    contributions are never reasons. Ties break by the feature order of `contributions`, so
    the result is deterministic.
    """
    features = list(contributions.columns)
    matrix = contributions.to_numpy(dtype=float)
    missing = np.full(matrix.shape[0], np.nan)
    columns = [values.get(name, missing) for name in features]
    for name, column in zip(features, columns, strict=True):
        if len(column) != matrix.shape[0]:
            raise ValueError(f"{name} has {len(column)} values for {matrix.shape[0]} rows")
    # A stable sort on the negated (or plain) matrix gives descending (ascending) order with ties
    # kept in column order.
    orders: dict[Direction, np.ndarray] = {}
    if "raises" in directions:
        orders["raises"] = np.argsort(-matrix, axis=1, kind="stable")[:, :k]
    if "lowers" in directions:
        orders["lowers"] = np.argsort(matrix, axis=1, kind="stable")[:, :k]
    results: list[list[dict[str, Any]]] = []
    for row in range(matrix.shape[0]):
        reasons: list[dict[str, Any]] = []
        for direction in directions:
            for column in orders[direction][row]:
                contribution = matrix[row, column]
                keep = contribution > 0 if direction == "raises" else contribution < 0
                if keep:
                    reasons.append(
                        _reason(features[column], columns[column][row], contribution, direction)
                    )
        results.append(reasons)
    return results
