"""The backtest plan of each target: rolling origins, or k-fold with the reason.

`plan_backtest(frame, config, data_end, cutoffs)` returns one `TargetPlan` per target. The
default `cutoffs="auto"` asks evaluation._origins for the most time-honest origins the target's
label latency allows; a target without any falls back to k-fold (grouped by account whenever an
account has several snapshots, evaluation._folds), and so does data with one snapshot date. A
target that cannot be evaluated at all (one class only) gets scheme "none" and the reason;
nothing that meets the data contract is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation._folds import FoldPlan, assign_folds
from evaluation._origins import choose_origins, describe, shorter_window_hint
from evaluation._windows import Window, explicit_windows, is_snapshot_only
from features.frame import TARGETS, known_label_mask
from retain.config import Config

ROLLING = "rolling"
NONE = "none"
_AUTO = ("auto", "quarterly", "monthly")
_KFOLD = ("kfold", "cv")


@dataclass(frozen=True)
class TargetPlan:
    """How one target is evaluated."""

    target: str
    scheme: str  # ROLLING, evaluation._folds.GROUPED / STRATIFIED, or NONE
    windows: list[Window]
    note: str
    spacing: str | None = None  # "quarterly", "monthly" or "explicit" for rolling plans
    known_share: dict[str, float] = field(default_factory=dict)
    fold: np.ndarray | None = None

    @property
    def mode(self) -> str:
        """ "rolling", "kfold" or "none" (the metrics.json `mode` vocabulary)."""
        if self.scheme in (ROLLING, NONE):
            return self.scheme
        return "kfold"

    def masks(self, frame: pd.DataFrame, window: Window) -> tuple[pd.Series, pd.Series]:
        """(training rows, scored rows) of `window` for this target."""
        if window.fold is not None:
            assert self.fold is not None
            train = pd.Series((self.fold >= 0) & (self.fold != window.fold), index=frame.index)
            return train, pd.Series(self.fold == window.fold, index=frame.index)
        as_of = pd.to_datetime(frame["as_of"])
        train = known_label_mask(frame, self.target, window.start)
        scored = (as_of >= window.start) & (as_of < window.end) & frame[self.target].notna()
        return train, scored

    def as_dict(self) -> dict[str, object]:
        return {
            "scheme": self.scheme,
            "mode": self.mode,
            "spacing": self.spacing,
            "windows": [w.name for w in self.windows],
            "known_share": {k: round(v, 4) for k, v in self.known_share.items()},
            "note": self.note,
        }


def _fold_plan(frame: pd.DataFrame, target: str, config: Config, why: str) -> TargetPlan:
    planned = assign_folds(
        frame["account_id"], frame[target], config.evaluation.cv_folds, config.training.seed
    )
    if not isinstance(planned, FoldPlan):
        return TargetPlan(target, NONE, [], f"{why} No k-fold either: {planned}.")
    windows = [Window(f"fold-{i + 1}", fold=i) for i in range(planned.k)]
    return TargetPlan(
        target, planned.scheme, windows, f"{why} {planned.description}.", fold=planned.fold
    )


def _rolling_plan(
    frame: pd.DataFrame, target: str, config: Config, data_end: pd.Timestamp
) -> TargetPlan:
    origins = choose_origins(frame, target, config)
    note = describe(origins, target, config)
    hint = None
    if len(origins.windows) < min(config.evaluation.min_origins, config.evaluation.n_cutoffs):
        hint = shorter_window_hint(frame, target, config, data_end)
    if hint:
        note += " " + hint
    if not origins.windows:
        return _fold_plan(
            frame, target, config, note + " Cross-validation instead (not time-honest):"
        )
    return TargetPlan(
        target, ROLLING, origins.windows, note, origins.spacing, dict(origins.known_share)
    )


def plan_backtest(
    frame: pd.DataFrame,
    config: Config,
    data_end: pd.Timestamp,
    cutoffs: str | Sequence[str] = "auto",
) -> dict[str, TargetPlan]:
    """One plan per target present in `frame`, for a `--cutoffs` value: "auto" (adaptive
    origins), "quarterly" or "monthly" (that spacing), "kfold", or explicit dates."""
    targets = [t for t in TARGETS if t in frame.columns]
    spec = cutoffs.strip().lower() if isinstance(cutoffs, str) else None
    if spec in _KFOLD:
        return {t: _fold_plan(frame, t, config, f"{t}: k-fold requested.") for t in targets}
    if spec in _AUTO:
        if is_snapshot_only(frame):
            why = "one snapshot date: there is no time to roll an origin over."
            return {t: _fold_plan(frame, t, config, f"{t}: {why}") for t in targets}
        if spec != "auto":
            config = config.with_overrides({"evaluation": {"origin_spacing": spec}})
        return {t: _rolling_plan(frame, t, config, data_end) for t in targets}
    dates = spec.split(",") if spec is not None else list(cutoffs)
    windows = explicit_windows(dates)
    note = f"{len(windows)} cutoffs given explicitly."
    return {t: TargetPlan(t, ROLLING, windows, f"{t}: {note}", "explicit") for t in targets}
