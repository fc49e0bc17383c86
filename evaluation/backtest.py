"""Rolling-origin backtest (or stratified k-fold for snapshot-only data) of every candidate model.

For each cutoff c with window [c, next cutoff):

1. training rows are those whose label was known strictly before c (`label_known_at < c`);
   the candidates are fitted on them only (`training.fit_candidates(..., cutoff=c)`);
2. the snapshots with as_of in the window and a known outcome (both spines: monthly and
   renewals) are scored by every model, plus the oracle (the simulator's true probabilities)
   when `truth` is given;
3. health bands come from the training side only: the SegmentedModel's own `bands_` (chosen on
   its out-of-time validation), and for every other model `choose_bands` on its predictions for
   the same out-of-time rows (the latest `validation_fraction` of training as_of dates), so the
   green/red ratios are comparable;
4. the renewal forecast's ARR ratios are learned from the same training rows.

The feature frame is built once (both spines) and sliced per cutoff. Snapshot-only data (one
distinct as_of) cannot be ordered in time, so it gets stratified k-fold cross-validation
instead, with folds named "fold-1".."fold-k" where the cutoffs would be.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation import forecast as fc
from evaluation._summary import ALL, MODELS, POOLED, TARGETS, summarize, tidy_metrics
from evaluation._windows import Window, plan_windows
from retain.config import Config
from retain.errors import RetainError

__all__ = [
    "ALL",
    "MODELS",
    "POOLED",
    "TARGETS",
    "BacktestResult",
    "build_backtest_frame",
    "plan_windows",
    "run_backtest",
]

_BASE_COLUMNS = (
    "account_id",
    "as_of",
    "spine",
    "segment",
    "arr",
    "arr_at_horizon",
    "churn",
    "expansion",
)

FitCandidates = Callable[..., Mapping[str, Any]]
Progress = Callable[[str], None]


@dataclass
class BacktestResult:
    """Everything the outputs are made of."""

    predictions: pd.DataFrame  # one row per model x scored snapshot (wide over targets)
    metrics: pd.DataFrame  # tidy: cutoff, model, target, segment, metric, value
    forecast: pd.DataFrame  # per cutoff x model x segment (see evaluation.forecast)
    summary: dict[str, Any]  # metrics.json
    reasons: pd.DataFrame = field(default_factory=pd.DataFrame)  # last window, segmented model


def build_backtest_frame(source: Any, config: Config, *, progress: Any = None) -> pd.DataFrame:
    """The feature frame a backtest needs, built once: both spines, or the configured snapshot
    dates (`features.as_of_dates`) for snapshot-only data such as the Telco import."""
    from features.build import build_features

    spine = None if config.features.as_of_dates else "both"
    return build_features(source, config, spine=spine, progress=progress)


def _default_fit() -> FitCandidates:
    from training import fit_candidates

    return fit_candidates


def _label_known(frame: pd.DataFrame) -> pd.Series | bool:
    return frame["label_known"].fillna(False).astype(bool) if "label_known" in frame else True


def _known_before(frame: pd.DataFrame, cutoff: pd.Timestamp) -> pd.Series:
    return _label_known(frame) & (pd.to_datetime(frame["label_known_at"]) < cutoff)


def _scorable(frame: pd.DataFrame) -> pd.Series:
    return _label_known(frame) & frame["churn"].notna()


def _kfold_assignment(frame: pd.DataFrame, k: int, seed: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    labelled = _scorable(frame).to_numpy()
    y = frame["churn"].to_numpy(float)
    fold = np.full(len(frame), -1)
    positions = np.flatnonzero(labelled)
    if positions.size < k or len(np.unique(y[positions])) < 2:
        raise RetainError(
            f"Cross-validation needs both churn outcomes among labelled rows; found "
            f"{positions.size} labelled rows with outcomes {sorted(set(y[positions].tolist()))}."
        )
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for i, (_, test) in enumerate(splitter.split(positions, y[positions])):
        fold[positions[test]] = i
    return fold


def _slice(
    frame: pd.DataFrame, window: Window, fold: np.ndarray | None
) -> tuple[pd.Series, pd.Series]:
    """(training mask, scored mask) for one window."""
    if window.fold is not None:
        assert fold is not None
        train = pd.Series((fold >= 0) & (fold != window.fold), index=frame.index)
        scored = pd.Series(fold == window.fold, index=frame.index)
        return train, scored
    as_of = pd.to_datetime(frame["as_of"])
    train = _known_before(frame, window.start)
    scored = (as_of >= window.start) & (as_of < window.end) & _scorable(frame)
    return train, scored


def _band_rows(train: pd.DataFrame, config: Config) -> pd.Series:
    """The training side's out-of-time rows: the latest `validation_fraction` of as_of dates
    (all rows when there is only one date, as in k-fold)."""
    from training._split import time_split

    if train["as_of"].nunique() < 2:
        return pd.Series(True, index=train.index)
    valid, _ = time_split(train["as_of"], config.training.validation_fraction, config.training.seed)
    return pd.Series(valid, index=train.index)


def _positive_probability(model: Any, X: pd.DataFrame) -> np.ndarray:
    proba = np.asarray(model.predict_proba(X), dtype=float)
    return proba[:, 1] if proba.ndim == 2 else proba


def _oracle_column(rows: pd.DataFrame, truth: pd.DataFrame | None, target: str) -> np.ndarray:
    if truth is None:
        return np.full(len(rows), np.nan)
    column = f"{target}_probability"
    keys = ["account_id", "as_of", "spine"]
    merged = rows[keys].merge(truth[[*keys, column]], on=keys, how="left")
    values = merged[column].to_numpy(float)
    missing = np.isnan(values)
    if missing.any():
        # A renewals snapshot on a month start may be stored under either spine in the truth.
        by_date = truth.drop_duplicates(["account_id", "as_of"])[["account_id", "as_of", column]]
        fallback = rows[["account_id", "as_of"]].merge(
            by_date, on=["account_id", "as_of"], how="left"
        )
        values[missing] = fallback[column].to_numpy(float)[missing]
    return values


def _prepare_truth(truth: pd.DataFrame | None) -> pd.DataFrame | None:
    if truth is None:
        return None
    out = truth.copy()
    out["account_id"] = out["account_id"].astype(str)
    out["as_of"] = pd.to_datetime(out["as_of"])
    out["spine"] = out["spine"].astype(str)
    return out.drop_duplicates(["account_id", "as_of", "spine"])


def _check_frame(frame: pd.DataFrame) -> None:
    needed = ("account_id", "as_of", "spine", "segment", "arr", "churn", "label_known_at")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise RetainError(
            f"The feature frame ({len(frame)} rows) lacks column(s) {', '.join(missing)} that the "
            "backtest needs; build it with `retain features` (both spines)."
        )


def run_backtest(
    frame: pd.DataFrame,
    config: Config,
    *,
    cutoffs: str | Sequence[str] = "quarterly",
    truth: pd.DataFrame | None = None,
    data_end: pd.Timestamp | None = None,
    data_label: str = "",
    fit_candidates: FitCandidates | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> BacktestResult:
    """Backtest every candidate (and the oracle when `truth` is given) over `cutoffs`.

    `frame` is a feature frame with both spines (see features.frame); `truth` the simulator's
    true probabilities (account_id, as_of, spine, churn_probability, expansion_probability);
    `data_end` the exclusive end of the data (default: the day after the latest as_of; pass
    `source.data_end`). `fit_candidates(frame, target, config, cutoff=...)` defaults to
    `training.fit_candidates`. `progress(name)` is called after each window, `on_plan(n)` once
    the number of windows is known.
    """
    _check_frame(frame)
    fit = fit_candidates or _default_fit()
    frame = frame.reset_index(drop=True)
    frame["account_id"] = frame["account_id"].astype(str)
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    for column in ("expansion", "arr_at_horizon"):
        if column not in frame.columns:
            frame[column] = np.nan
    if data_end is None:
        data_end = pd.to_datetime(frame["as_of"]).max() + pd.Timedelta(days=1)
    truth = _prepare_truth(truth)
    windows, mode, note = plan_windows(frame, config, pd.Timestamp(data_end), cutoffs)
    if on_plan is not None:
        on_plan(len(windows))
    fold = (
        _kfold_assignment(frame, config.evaluation.cv_folds, config.training.seed)
        if mode == "kfold"
        else None
    )
    scored_parts: list[pd.DataFrame] = []
    forecast_parts: list[pd.DataFrame] = []
    bands_log: dict[str, dict[str, dict[str, float]]] = {}
    strategies: dict[str, dict[str, Any]] = {}
    reasons = pd.DataFrame()
    for index, window in enumerate(windows):
        train_mask, scored_mask = _slice(frame, window, fold)
        train, scored = frame[train_mask], frame[scored_mask]
        if scored.empty:
            if progress:
                progress(window.name)
            continue
        last = index == len(windows) - 1
        step = _score_window(train, scored, window, config, truth, fit, explain=last)
        scored_parts.append(step.predictions)
        forecast_parts.append(step.forecast_rows)
        bands_log[window.name] = step.bands
        strategies[window.name] = step.strategies
        if last:
            reasons = step.reasons
        if progress:
            progress(window.name)
    if not scored_parts:
        raise RetainError(
            f"No snapshot with a known outcome falls in any backtest window ({note}); "
            f"{len(frame)} snapshots, as_of {frame['as_of'].min().date()} to "
            f"{frame['as_of'].max().date()}."
        )
    predictions = pd.concat(scored_parts, ignore_index=True)
    forecast_rows = pd.concat(forecast_parts, ignore_index=True)
    forecast_table = fc.forecast_table(forecast_rows) if not forecast_rows.empty else pd.DataFrame()
    window_names = [w.name for w in windows if w.name in bands_log]
    tidy = tidy_metrics(predictions, forecast_table, window_names, config)
    summary = summarize(
        tidy,
        forecast_table,
        predictions,
        windows=window_names,
        mode=mode,
        note=note,
        data_label=data_label,
        bands=bands_log,
        strategies=strategies,
        n_snapshots=int(frame["account_id"].size),
    )
    return BacktestResult(predictions, tidy, forecast_table, summary, reasons)


@dataclass
class _Step:
    predictions: pd.DataFrame
    forecast_rows: pd.DataFrame
    bands: dict[str, dict[str, float]]
    strategies: dict[str, Any]
    reasons: pd.DataFrame


def _score_window(
    train: pd.DataFrame,
    scored: pd.DataFrame,
    window: Window,
    config: Config,
    truth: pd.DataFrame | None,
    fit: FitCandidates,
    *,
    explain: bool,
) -> _Step:
    from training.bands import band_of, choose_bands

    base = scored[[c for c in _BASE_COLUMNS if c in scored.columns]].copy()
    base.insert(0, "cutoff", window.name)
    probabilities: dict[str, dict[str, np.ndarray]] = {}
    bands: dict[str, dict[str, float]] = {}
    strategies: dict[str, Any] = {}
    reasons = pd.DataFrame()
    band_side = train[_band_rows(train, config) & train["churn"].notna()]
    band_spine = band_side["spine"].to_numpy() if "spine" in band_side else None
    for target in TARGETS:
        labelled = train[train[target].notna()] if target in train else train.iloc[:0]
        y = labelled[target].to_numpy(float) if len(labelled) else np.array([])
        if len(labelled) == 0 or len(np.unique(y)) < 2:
            continue
        models = fit(labelled, target, config, cutoff=window.start)
        for name, model in models.items():
            probabilities.setdefault(name, {})[target] = _positive_probability(model, scored)
            if target == "churn":
                own = getattr(model, "bands_", None)
                if own is None:
                    side = _positive_probability(model, band_side)
                    own = choose_bands(band_side["churn"], side, config, spine=band_spine)
                bands[name] = dict(own)
        segmented = models.get("segmented")
        if segmented is not None:
            strategies[target] = dict(getattr(segmented, "segment_strategy_", {}) or {})
            if explain:
                reasons = pd.concat([reasons, top_reasons(segmented, scored, target)])
    if truth is not None:
        probabilities["oracle"] = {t: _oracle_column(scored, truth, t) for t in TARGETS}
        side = _oracle_column(band_side, truth, "churn")
        bands["oracle"] = choose_bands(band_side["churn"], side, config, spine=band_spine)
    rates = fc.fit_arr_rates(train[train["churn"].notna()])
    parts, forecast_parts = [], []
    for name, by_target in probabilities.items():
        part = base.copy()
        part.insert(1, "model", name)
        part["p_churn"] = by_target.get("churn", np.full(len(part), np.nan))
        part["p_expansion"] = by_target.get("expansion", np.full(len(part), np.nan))
        part["band"] = (
            band_of(part["p_churn"].to_numpy(float), bands[name]) if name in bands else None
        )
        parts.append(part)
        forecast_parts.append(_forecast_rows(part, rates))
    return _Step(
        pd.concat(parts, ignore_index=True),
        pd.concat(forecast_parts, ignore_index=True),
        bands,
        strategies,
        reasons,
    )


def _forecast_rows(part: pd.DataFrame, rates: fc.ArrRates) -> pd.DataFrame:
    rows = part[part["p_churn"].notna() & part["arr_at_horizon"].notna() & (part["arr"] > 0)]
    if (rows["spine"] == "renewals").any():
        rows = rows[rows["spine"] == "renewals"]
    if rows.empty:
        return rows
    return fc.expected_arr(rows, rates)


def top_reasons(model: Any, scored: pd.DataFrame, target: str, k: int = 3) -> pd.DataFrame:
    """The `k` features pushing each scored snapshot's score up most (exact tree SHAP values).

    Long format: account_id, as_of, spine, target, rank, feature, value (as text), contribution
    (log-odds). Empty when the model cannot explain itself.
    """
    if not hasattr(model, "explain") or scored.empty:
        return pd.DataFrame()
    contributions = model.explain(scored).contributions
    values = contributions.to_numpy(float)
    k = min(k, values.shape[1])
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    rows = np.repeat(np.arange(len(scored)), k)
    columns = order.ravel()
    names = np.asarray(contributions.columns, dtype=object)[columns]
    raw = pd.DataFrame(scored.reset_index(drop=True))
    feature_values = [
        None if name not in raw.columns or pd.isna(raw.at[row, name]) else str(raw.at[row, name])
        for row, name in zip(rows, names, strict=True)
    ]
    return pd.DataFrame(
        {
            "account_id": raw["account_id"].to_numpy()[rows],
            "as_of": raw["as_of"].to_numpy()[rows],
            "spine": raw["spine"].to_numpy()[rows],
            "target": target,
            "rank": np.tile(np.arange(1, k + 1), len(scored)),
            "feature": names.astype(str),
            "value": feature_values,
            "contribution": values[rows, columns],
        }
    )
