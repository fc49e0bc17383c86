"""Backtest windows: rolling quarterly cutoffs, explicit dates, or k-fold for snapshot-only data.

A window [c, next) qualifies when every snapshot in it has an outcome known by the data's end
(label_known_at = as_of + horizon + grace <= data_end) and enough outcomes are known before c to
train on (three as_of dates and twenty churners).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from retain.config import Config
from retain.errors import RetainError

# Training's out-of-time split needs at least two as_of dates; three leaves one to validate on
# and two to learn from, the least that is a model at all.
_MIN_TRAINING_DATES = 3
# Fewer churners than this and any model is its base rate plus noise. Lower than training's
# per-segment minimum (which decides whether a segment gets its own booster, not whether a
# model can be fitted at all) so short histories still get a cutoff.
_MIN_TRAINING_POSITIVES = 20
_QUARTER = pd.DateOffset(months=3)


@dataclass(frozen=True)
class Window:
    """One backtest step: train before `start`, score [start, end); or one cross-validation fold."""

    name: str
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    fold: int | None = None


def _known_delay(config: Config) -> pd.Timedelta:
    return pd.Timedelta(days=config.labels.horizon_days + config.labels.grace_days)


def _quarter_starts(first: pd.Timestamp, last: pd.Timestamp) -> list[pd.Timestamp]:
    start = pd.Timestamp(year=first.year, month=3 * ((first.month - 1) // 3) + 1, day=1)
    return list(pd.date_range(start, last, freq="QS"))


def quarterly_windows(
    frame: pd.DataFrame, config: Config, data_end: pd.Timestamp
) -> tuple[list[Window], str]:
    """The last `n_cutoffs` quarter starts whose window's outcomes are all known by `data_end`,
    and before which enough outcomes are known to train on (at least three as_of dates and
    twenty churners); and a note saying why when fewer."""
    as_of = pd.to_datetime(frame["as_of"])
    delay = _known_delay(config)
    known_at = (
        pd.to_datetime(frame["label_known_at"]).fillna(as_of + delay)
        if "label_known_at" in frame
        else as_of + delay
    )
    wanted = config.evaluation.n_cutoffs
    min_positives = min(_MIN_TRAINING_POSITIVES, config.training.min_positives_per_segment)
    known = known_at <= data_end
    known_dates = np.sort(known_at[known].groupby(as_of[known]).max().to_numpy())
    churned = frame["churn"].to_numpy(float) == 1 if "churn" in frame else np.zeros(len(frame))
    positive_known_at = np.sort(known_at[known & churned].to_numpy())
    usable: list[Window] = []
    for start in _quarter_starts(as_of.min(), as_of.max()):
        end = start + _QUARTER
        in_window = (as_of >= start) & (as_of < end)
        if not in_window.any() or known_at[in_window].max() > data_end:
            continue
        start_value = start.to_datetime64()
        if np.searchsorted(known_dates, start_value) < _MIN_TRAINING_DATES:
            continue
        if np.searchsorted(positive_known_at, start_value) < min_positives:
            continue
        usable.append(Window(str(start.date()), start, end))
    chosen = usable[-wanted:]
    note = f"{len(chosen)} quarterly cutoffs (wanted {wanted})."
    if len(chosen) < wanted:
        note += (
            f" Only {len(usable)} quarters qualify: a window's outcomes must be known by the "
            f"data's end ({data_end.date()}; an outcome is known {delay.days} days after as_of: "
            f"horizon + grace), and before the first cutoff at least {_MIN_TRAINING_DATES} as_of "
            f"dates and {min_positives} churners must have known outcomes to train on (as_of "
            f"from {as_of.min().date()} to {as_of.max().date()})."
        )
    if not chosen:
        raise RetainError(
            f"No backtest cutoff is possible on {len(frame)} snapshots: {note} "
            "Give --cutoffs dates explicitly or use data with a longer history."
        )
    return chosen, note


def explicit_windows(dates: Sequence[str]) -> list[Window]:
    """Windows [c_i, c_i+1), the last one a quarter long."""
    try:
        starts = sorted({pd.Timestamp(d.strip()) for d in dates if d.strip()})
    except ValueError as error:
        raise RetainError(f"Cannot read --cutoffs {','.join(dates)!r}: {error}") from error
    if not starts:
        raise RetainError("--cutoffs gave no dates; use 'quarterly' or YYYY-MM-DD,YYYY-MM-DD")
    ends = [*starts[1:], starts[-1] + _QUARTER]
    return [Window(str(s.date()), s, e) for s, e in zip(starts, ends, strict=True)]


def check_cutoffs(cutoffs: str) -> None:
    """Fail fast on a malformed `--cutoffs` value, before any expensive work."""
    if cutoffs.strip().lower() not in ("quarterly", "kfold", "cv"):
        explicit_windows(cutoffs.split(","))


def is_snapshot_only(frame: pd.DataFrame) -> bool:
    return pd.to_datetime(frame["as_of"]).nunique() <= 1


def plan_windows(
    frame: pd.DataFrame, config: Config, data_end: pd.Timestamp, cutoffs: str | Sequence[str]
) -> tuple[list[Window], str, str]:
    """(windows, mode, note) for a `--cutoffs` value: "quarterly", "kfold" or a list of dates."""
    if isinstance(cutoffs, str):
        spec = cutoffs.strip().lower()
        if spec in ("kfold", "cv") or (spec == "quarterly" and is_snapshot_only(frame)):
            k = config.evaluation.cv_folds
            windows = [Window(f"fold-{i + 1}", fold=i) for i in range(k)]
            note = (
                f"Stratified {k}-fold cross-validation: the data has one snapshot date, so there "
                "is no time to roll an origin over."
                if spec == "quarterly"
                else f"Stratified {k}-fold cross-validation (requested)."
            )
            return windows, "kfold", note
        if spec == "quarterly":
            windows, note = quarterly_windows(frame, config, data_end)
            return windows, "rolling", note
        cutoffs = spec.split(",")
    windows = explicit_windows(list(cutoffs))
    return windows, "rolling", f"{len(windows)} cutoffs given explicitly."
