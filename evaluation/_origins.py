"""Adaptive rolling origins: as many time-honest backtest origins per target as latency allows.

An origin c with window [c, c + spacing) is time-honest when the models trained for it see only
labels known strictly before c (`features.frame.known_label_mask(frame, target, c)`), and it
qualifies when

- enough is known before c to train a model at all: `_MIN_TRAINING_DATES` as_of dates and
  `min(_MIN_TRAINING_POSITIVES, training.min_positives_per_segment)` positives (this is the
  shortest training window that gives a model, so origins start as early as the labels allow);
- the window's outcomes are known by the data's end for at least `min_known_share` of its
  snapshots (a label is known only after its own window: the next renewal plus grace for churn,
  the horizon plus grace for expansion), and the known ones hold both outcomes. A window whose
  outcomes are mostly still open would grade the model on the few short-latency rows only.

Spacing: quarter starts when they give `min_origins` or more, else month starts when those give
more; the latest `n_cutoffs` qualifying origins are used. A target without any qualifying origin
falls back to grouped k-fold (evaluation._folds) and the plan says why; data that meets the
contract is never refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation._windows import Window
from features.frame import known_at_column
from retain.config import Config

# Training's out-of-time split needs at least two as_of dates; three leaves one to validate on
# and two to learn from, the least that is a model at all.
_MIN_TRAINING_DATES = 3
# Fewer positives than this and any model is its base rate plus noise. Lower than training's
# per-segment minimum (which decides whether a segment gets its own booster, not whether a
# model can be fitted at all) so short histories still get an origin.
_MIN_TRAINING_POSITIVES = 20
SPACINGS: dict[str, pd.DateOffset] = {
    "quarterly": pd.DateOffset(months=3),
    "monthly": pd.DateOffset(months=1),
}


@dataclass(frozen=True)
class Origins:
    """The qualifying origins of one target at one spacing, and why others did not qualify."""

    spacing: str
    windows: list[Window]
    known_share: dict[str, float] = field(default_factory=dict)  # window name -> share known
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> how many period starts


@dataclass(frozen=True)
class _Arrays:
    as_of: np.ndarray  # datetime64[ns]
    known_at: np.ndarray  # datetime64[ns]; NaT -> far future
    labelled: np.ndarray  # outcome known by the data's end
    positive: np.ndarray


def _arrays(frame: pd.DataFrame, target: str) -> _Arrays:
    as_of = pd.to_datetime(frame["as_of"])
    known_at = pd.to_datetime(frame[known_at_column(target)])
    labels = frame[target].to_numpy(float)
    labelled = ~np.isnan(labels)
    far = np.datetime64("2262-01-01")
    return _Arrays(
        as_of=as_of.to_numpy("datetime64[ns]"),
        known_at=np.where(known_at.isna(), far, known_at.to_numpy("datetime64[ns]")),
        labelled=labelled,
        positive=labelled & (labels == 1),
    )


def period_starts(first: pd.Timestamp, last: pd.Timestamp, spacing: str) -> list[pd.Timestamp]:
    """Quarter or month starts from the one containing `first` up to `last`."""
    months = 3 if spacing == "quarterly" else 1
    start = pd.Timestamp(year=first.year, month=months * ((first.month - 1) // months) + 1, day=1)
    return list(pd.date_range(start, last, freq="QS" if months == 3 else "MS"))


def find_origins(frame: pd.DataFrame, target: str, config: Config, spacing: str) -> Origins:
    """Every qualifying origin of `target` at `spacing` (not yet capped at n_cutoffs)."""
    arrays = _arrays(frame, target)
    if not len(arrays.as_of):
        return Origins(spacing, [])
    ev = config.evaluation
    min_positives = min(_MIN_TRAINING_POSITIVES, config.training.min_positives_per_segment)
    step = SPACINGS[spacing]
    windows: list[Window] = []
    shares: dict[str, float] = {}
    rejected: dict[str, int] = {}
    first, last = pd.Timestamp(arrays.as_of.min()), pd.Timestamp(arrays.as_of.max())
    for start in period_starts(first, last, spacing):
        end = start + step
        c, e = start.to_datetime64(), end.to_datetime64()
        in_window = (arrays.as_of >= c) & (arrays.as_of < e)
        if not in_window.any():
            continue
        known = in_window & arrays.labelled
        share = float(known.sum() / in_window.sum())
        train = arrays.labelled & (arrays.known_at < c)
        reason = None
        if len(np.unique(arrays.as_of[train])) < _MIN_TRAINING_DATES:
            reason = f"fewer than {_MIN_TRAINING_DATES} as_of dates known before the origin"
        elif int((train & arrays.positive).sum()) < min_positives:
            reason = f"fewer than {min_positives} positives known before the origin"
        elif share < ev.min_known_share:
            reason = (
                f"under {ev.min_known_share:.0%} of the window's outcomes known by the data's end"
            )
        elif not (known & arrays.positive).any() or (known & ~arrays.positive).sum() == 0:
            reason = "the window's known outcomes are all of one kind"
        if reason is not None:
            rejected[reason] = rejected.get(reason, 0) + 1
            continue
        name = str(start.date())
        windows.append(Window(name, start, end))
        shares[name] = share
    return Origins(spacing, windows, shares, rejected)


def choose_origins(frame: pd.DataFrame, target: str, config: Config) -> Origins:
    """The spacing with the most origins (quarterly first when it reaches `min_origins`), capped
    at the latest `n_cutoffs`; `evaluation.origin_spacing` forces one spacing."""
    ev = config.evaluation
    forced = ev.origin_spacing.strip().lower()
    if forced in SPACINGS:
        chosen = find_origins(frame, target, config, forced)
    else:
        chosen = find_origins(frame, target, config, "quarterly")
        if len(chosen.windows) < ev.min_origins:
            monthly = find_origins(frame, target, config, "monthly")
            if len(monthly.windows) > len(chosen.windows):
                chosen = monthly
    kept = chosen.windows[-ev.n_cutoffs :] if ev.n_cutoffs > 0 else []
    shares = {w.name: chosen.known_share[w.name] for w in kept}
    return Origins(chosen.spacing, kept, shares, chosen.rejected)


def describe(origins: Origins, target: str, config: Config) -> str:
    """One or two sentences on the origins found (or why there are none)."""
    ev = config.evaluation
    n = len(origins.windows)
    if n:
        names = [w.name for w in origins.windows]
        low, high = min(origins.known_share.values()), max(origins.known_share.values())
        shares = f"{low:.0%}" if f"{low:.0%}" == f"{high:.0%}" else f"{low:.0%}-{high:.0%}"
        text = (
            f"{target}: {n} {origins.spacing} rolling origins ({names[0]} to {names[-1]}); "
            f"{shares} of each window's outcomes known by the data's end, training only on "
            "labels known before each origin."
        )
        wanted = min(ev.min_origins, ev.n_cutoffs)
        if n < wanted:
            text += f" Fewer than the {wanted} wanted:"
        else:
            return text
    else:
        text = f"{target}: no time-honest rolling origin is possible:"
    why = "; ".join(
        f"{count} period start(s) had {reason}" for reason, count in origins.rejected.items()
    )
    return f"{text} {why or 'no snapshot falls in any period'}."


def _with_latency(
    frame: pd.DataFrame, target: str, known_at: pd.Series, data_end: pd.Timestamp
) -> pd.DataFrame:
    """`frame` as if `target` became known at `known_at`: rows known by then keep their label;
    rows that would newly be known have no outcome in the data, so they get a seeded draw at the
    current base rate (an estimate for the hint, never a label anything trains on)."""
    out = frame[["account_id", "as_of"]].copy()
    labels = frame[target]
    newly = (labels.isna() & (known_at < data_end)).to_numpy()
    rate = float(labels.mean()) if labels.notna().any() else 0.0
    draws = (np.random.default_rng(0).random(len(frame)) < rate).astype(float)
    values = labels.where(known_at < data_end).to_numpy(float)
    values[newly] = draws[newly]
    out[target] = values
    out[known_at_column(target)] = known_at
    return out


def shorter_window_hint(
    frame: pd.DataFrame, target: str, config: Config, data_end: pd.Timestamp
) -> str | None:
    """Which shorter label window would allow `min_origins` origins (or more than now), as a
    sentence naming the setting; None when none of the tried windows helps."""
    labels = config.labels
    grace = pd.Timedelta(days=labels.grace_days)
    as_of = pd.to_datetime(frame["as_of"])
    now = len(choose_origins(frame, target, config).windows)
    if target == "churn":
        if "churn_window_end" not in frame or "renewal_date" not in frame:
            return None
        setting, current = "min_risk_days", labels.min_risk_days
        renewal = pd.to_datetime(frame["renewal_date"])

        def known_at(days: int) -> pd.Series:
            floor = as_of + pd.Timedelta(days=days)
            return floor.where(renewal.isna() | (floor >= renewal), renewal) + grace
    else:
        setting, current = "horizon_days", labels.horizon_days

        def known_at(days: int) -> pd.Series:
            return as_of + pd.Timedelta(days=days) + grace

    for days in (d for d in (150, 120, 90, 60, 30) if d < current):
        shifted = _with_latency(frame, target, known_at(days), data_end)
        found = len(choose_origins(shifted, target, config).windows)
        if found > now and (found >= config.evaluation.min_origins or days == 30):
            return (
                f"A {days}-day window instead of {current} (`[labels] {setting} = {days}`) would "
                f"allow about {found} origins for {target}."
            )
    return None
