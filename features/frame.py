"""The feature frame: what `retain features` writes and every later stage reads.

One row per snapshot (account_id, as_of). Columns fall into three groups:

- identity and context: `account_id`, `as_of`, `spine`, `segment`, `renewal_date` (the next
  renewal E), `churn_window_end` (T = max(E, as_of + min_risk_days), the date the renewal risk
  refers to);
- labels (never features): `churn`, `expansion`, `contraction` as 1.0 / 0.0, NaN while the
  outcome is unknown (censored, not negative); one known date per target, `<target>_known_at`
  (`known_at_column`), the first date on which that outcome is certain (churn: T + grace;
  expansion, contraction: as_of + horizon + grace), so training at a cutoff uses only rows whose
  target is known strictly before it (`known_label_mask`); `arr_at_horizon`, the actual ARR at
  as_of + horizon (for forecast error), NaN while unknown;
- features: everything else. Numeric features are float64 with NaN for missing (never silently
  zero); categorical features (static account attributes such as `account_industry`) are text.
  `arr` is both context and a feature.
"""

from __future__ import annotations

import pandas as pd

IDENTITY_COLUMNS: tuple[str, ...] = (
    "account_id",
    "as_of",
    "spine",
    "segment",
    "renewal_date",
    "churn_window_end",
)
OUTCOMES: tuple[str, ...] = ("churn", "expansion", "contraction")
TARGETS: tuple[str, ...] = ("churn", "expansion")


def known_at_column(target: str) -> str:
    """The column holding the date on which `target`'s outcome becomes known."""
    return f"{target}_known_at"


LABEL_COLUMNS: tuple[str, ...] = (
    *OUTCOMES,
    *(known_at_column(outcome) for outcome in OUTCOMES),
    "arr_at_horizon",
)
NON_FEATURE_COLUMNS: frozenset[str] = frozenset(IDENTITY_COLUMNS + LABEL_COLUMNS)


def known_label_mask(
    frame: pd.DataFrame, target: str, before: str | pd.Timestamp | None = None
) -> pd.Series:
    """Rows whose `target` outcome is known, and known strictly before `before` when given.

    A label that becomes known on or after a cutoff was not knowable at the cutoff, so a model
    trained "as of" the cutoff must never see it.
    """
    known = frame[target].notna()
    if before is not None:
        known_at = pd.to_datetime(frame[known_at_column(target)])
        known &= known_at.notna() & (known_at < pd.Timestamp(before))
    return known


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
