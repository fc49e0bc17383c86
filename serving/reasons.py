"""Reason codes: the drivers whose exact SHAP contributions move a probability most.

The contributions come from `SegmentedModel.explain` (LightGBM `pred_contrib`, log-odds), so a
row's contributions plus its base value are exactly the model's raw margin: the reasons are the
model's own arithmetic, not an approximation of it.

Only drivers are reasons (`serving.catalogue.is_driver`), ranked by |contribution|; context
(timing, contract, static attributes) is returned beside them by `context_of`. A missing value
is never a reason: the features the data does not describe are listed once, apart, by
`data_gaps`. Each reason compares the account with healthy peers: the median of the feature
among its segment's green accounts in the training window (`SegmentedModel.healthy_peers_`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from serving.catalogue import CONTEXT_FEATURES, describe, is_data_gap, is_driver, short_value

Direction = Literal["raises", "lowers"]
Peers = Mapping[str, Mapping[str, float]]  # segment -> feature -> healthy median


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


def _is_missing(value: object) -> bool:
    return json_value(value) is None


def _reason(
    feature: str,
    value: object,
    contribution: float,
    direction: Direction,
    segment: str | None,
    peers: Peers,
) -> dict[str, Any]:
    text = describe(feature, value)
    peer = peers.get(segment or "", {}).get(feature) if segment is not None else None
    if peer is not None:
        text = f"{text} (healthy {segment}: {short_value(feature, peer)})"
    return {
        "feature": feature,
        "value": json_value(value),
        "contribution": float(contribution),
        "direction": direction,
        "text": text,
        "healthy_peer_median": peer,
    }


def _columns(
    contributions: pd.DataFrame, values: Mapping[str, np.ndarray]
) -> tuple[list[str], np.ndarray, list[np.ndarray]]:
    features = list(contributions.columns)
    matrix = contributions.to_numpy(dtype=float)
    missing = np.full(matrix.shape[0], np.nan)
    columns = [values.get(name, missing) for name in features]
    for name, column in zip(features, columns, strict=True):
        if len(column) != matrix.shape[0]:
            raise ValueError(f"{name} has {len(column)} values for {matrix.shape[0]} rows")
    return features, matrix, columns


def top_reasons(
    contributions: pd.DataFrame,
    values: Mapping[str, np.ndarray],
    *,
    k: int,
    directions: tuple[Direction, ...] = ("raises", "lowers"),
    segments: Sequence[str | None] | None = None,
    peers: Peers | None = None,
) -> list[list[dict[str, Any]]]:
    """Per row, the `k` drivers with the largest positive ("raises") and/or negative ("lowers")
    contributions whose value is recorded.

    `contributions` is rows x features in log-odds; `values` maps each of those features to
    its values for the same rows, by position (missing features may be absent). Zero
    contributions, context features and missing values are never reasons. Ties break by the
    feature order of `contributions`, so the result is deterministic. With `segments` and
    `peers`, each reason says the healthy peer median of its segment.
    """
    features, matrix, columns = _columns(contributions, values)
    peers = peers or {}
    n = matrix.shape[0]
    segments = segments if segments is not None else [None] * n
    eligible = np.array([is_driver(name) for name in features], dtype=bool)[None, :]
    recorded = (
        np.column_stack([~pd.isna(pd.Series(column)).to_numpy() for column in columns])
        if columns
        else np.zeros((n, 0), dtype=bool)
    )
    usable = eligible & recorded
    # A stable sort on the negated (or plain) matrix gives descending (ascending) order with ties
    # kept in column order; unusable cells sort last by being zeroed.
    masked = np.where(usable, matrix, 0.0)
    orders: dict[Direction, np.ndarray] = {}
    if "raises" in directions:
        orders["raises"] = np.argsort(-masked, axis=1, kind="stable")
    if "lowers" in directions:
        orders["lowers"] = np.argsort(masked, axis=1, kind="stable")
    results: list[list[dict[str, Any]]] = []
    for row in range(n):
        reasons: list[dict[str, Any]] = []
        for direction in directions:
            for column in orders[direction][row][:k]:
                contribution = masked[row, column]
                keep = contribution > 0 if direction == "raises" else contribution < 0
                if not keep:
                    break
                reasons.append(
                    _reason(
                        features[column],
                        columns[column][row],
                        contribution,
                        direction,
                        segments[row],
                        peers,
                    )
                )
        results.append(reasons)
    return results


def data_gaps(contributions: pd.DataFrame, values: Mapping[str, np.ndarray]) -> list[list[str]]:
    """Per row, what the data does not say about drivers the model used, each said once.

    Ordered by |contribution| (the gaps that weigh most first); a driver the model ignored for
    the row (contribution 0) is no gap worth listing, nor is a missing value that means "never
    happened" (no champion has left).
    """
    features, matrix, columns = _columns(contributions, values)
    gap_columns = [i for i, name in enumerate(features) if is_data_gap(name)]
    results: list[list[str]] = []
    for row in range(matrix.shape[0]):
        weighted = [
            (abs(matrix[row, i]), describe(features[i], None))
            for i in gap_columns
            if matrix[row, i] != 0 and _is_missing(columns[i][row])
        ]
        texts: list[str] = []
        for _, text in sorted(weighted, key=lambda item: -item[0]):
            if text not in texts:
                texts.append(text)
        results.append(texts)
    return results


def context_of(values: Mapping[str, np.ndarray], n: int) -> list[list[dict[str, Any]]]:
    """Per row, the timing and contract context shown beside the reasons (recorded ones only)."""
    present = [name for name in sorted(CONTEXT_FEATURES) if name in values]
    out: list[list[dict[str, Any]]] = []
    for row in range(n):
        items = []
        for name in present:
            value = values[name][row]
            if not _is_missing(value):
                items.append(
                    {"feature": name, "value": json_value(value), "text": describe(name, value)}
                )
        out.append(items)
    return out
