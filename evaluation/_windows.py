"""Backtest windows: one step of a rolling backtest (train before `start`, score [start, end))
or one cross-validation fold; explicit `--cutoffs` dates; the `--cutoffs` vocabulary.

Which windows a target gets is evaluation._plan's job (adaptive origins in evaluation._origins,
folds in evaluation._folds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from retain.errors import RetainError

_QUARTER = pd.DateOffset(months=3)
CUTOFF_WORDS = ("auto", "quarterly", "monthly", "kfold", "cv")


@dataclass(frozen=True)
class Window:
    """One backtest step: train before `start`, score [start, end); or one cross-validation fold."""

    name: str
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    fold: int | None = None


def explicit_windows(dates: Sequence[str]) -> list[Window]:
    """Windows [c_i, c_i+1), the last one a quarter long."""
    try:
        starts = sorted({pd.Timestamp(d.strip()) for d in dates if d.strip()})
    except ValueError as error:
        raise RetainError(f"Cannot read --cutoffs {','.join(dates)!r}: {error}") from error
    if not starts:
        raise RetainError(
            f"--cutoffs gave no dates; use one of {', '.join(CUTOFF_WORDS)} or "
            "YYYY-MM-DD,YYYY-MM-DD"
        )
    ends = [*starts[1:], starts[-1] + _QUARTER]
    return [Window(str(s.date()), s, e) for s, e in zip(starts, ends, strict=True)]


def check_cutoffs(cutoffs: str) -> None:
    """Fail fast on a malformed `--cutoffs` value, before any expensive work."""
    if cutoffs.strip().lower() not in CUTOFF_WORDS:
        explicit_windows(cutoffs.split(","))


def is_snapshot_only(frame: pd.DataFrame) -> bool:
    return pd.to_datetime(frame["as_of"]).nunique() <= 1
