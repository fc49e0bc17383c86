"""The feature frame: what `retain features` writes and every later stage reads.

One row per snapshot (account_id, as_of). Columns fall into three groups:

- identity and context: `account_id`, `as_of`, `spine`, `segment`, `renewal_date`;
- labels (never features): `churn`, `expansion`, `contraction` as 1.0 / 0.0, NaN while the
  outcome is unknown (censored, not negative); `label_known`; `label_known_at`, the first date
  on which the outcome is certain (as_of + horizon + grace), so training at a cutoff uses only
  rows with `label_known_at < cutoff`; `arr_at_horizon`, the actual ARR at as_of + horizon (for
  forecast error), NaN while unknown;
- features: everything else. Numeric features are float64 with NaN for missing (never silently
  zero); categorical features (static account attributes such as `account_industry`) are text.
  `arr` is both context and a feature.
"""

from __future__ import annotations

import pandas as pd

IDENTITY_COLUMNS: tuple[str, ...] = ("account_id", "as_of", "spine", "segment", "renewal_date")
LABEL_COLUMNS: tuple[str, ...] = (
    "churn",
    "expansion",
    "contraction",
    "label_known",
    "label_known_at",
    "arr_at_horizon",
)
TARGETS: tuple[str, ...] = ("churn", "expansion")
NON_FEATURE_COLUMNS: frozenset[str] = frozenset(IDENTITY_COLUMNS + LABEL_COLUMNS)


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """The feature columns of a feature frame, in the frame's order."""
    return [column for column in frame.columns if column not in NON_FEATURE_COLUMNS]


def categorical_feature_columns(frame: pd.DataFrame) -> list[str]:
    """Feature columns holding text (categorical) rather than numbers."""
    return [
        column
        for column in feature_columns(frame)
        if not pd.api.types.is_numeric_dtype(frame[column])
        and not pd.api.types.is_bool_dtype(frame[column])
    ]
