"""Backtest of every candidate model: per target, rolling origins or k-fold (evaluation._plan).

For each target and each of its windows:

1. rolling origin c with window [c, next): training rows are those whose target was known
   strictly before c (`features.frame.known_label_mask`; `training.fit_candidates(...,
   cutoff=c)` keeps exactly those); the snapshots with as_of in the window and a known outcome
   (both spines) are scored. K-fold: the other folds train, the fold is scored; an account's rows
   share one fold whenever it has several (evaluation._folds);
2. every model scores them, plus the oracle (the simulator's true probabilities) when `truth`
   is given;
3. churn only: health bands come from the training side (the SegmentedModel's own `bands_`,
   and `choose_bands` on the same out-of-time rows for every other model, so the green/red
   ratios are comparable), and the renewal forecast's ARR ratios are learned from the same
   training rows.

The feature frame is built once (both spines) and sliced per window. The targets' windows may
differ (churn's latency follows each account's renewal, expansion's the horizon), so the
predictions carry one row per window, model and snapshot with each target's probability where
that target was scored in that window. Bootstrap intervals over accounts (evaluation.bootstrap)
say how much the pooled figures can be trusted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation import forecast as fc
from evaluation._headline import headline_model
from evaluation._plan import TargetPlan, plan_backtest
from evaluation._summary import ALL, MODELS, POOLED, TARGETS, summarize, tidy_metrics
from evaluation._windows import Window
from evaluation.handoff_evidence import handoff_evidence
from features.frame import known_at_column
from retain.config import Config
from retain.errors import RetainError

__all__ = [
    "ALL",
    "MODELS",
    "POOLED",
    "TARGETS",
    "BacktestResult",
    "build_backtest_frame",
    "plan_backtest",
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
_KEYS = ["cutoff", "model", "account_id", "as_of", "spine"]

FitCandidates = Callable[..., Mapping[str, Any]]
Progress = Callable[[str], None]


@dataclass
class BacktestResult:
    """Everything the outputs are made of."""

    predictions: pd.DataFrame  # one row per model x scored snapshot (wide over targets)
    metrics: pd.DataFrame  # tidy: cutoff, model, target, segment, metric, value
    forecast: pd.DataFrame  # per cutoff x model x segment (see evaluation.forecast)
    summary: dict[str, Any]  # metrics.json
    reasons: pd.DataFrame = field(default_factory=pd.DataFrame)  # last window, headline model


def build_backtest_frame(source: Any, config: Config, *, progress: Any = None) -> pd.DataFrame:
    """The feature frame a backtest needs, built once: both spines, or the configured snapshot
    dates (`features.as_of_dates`) for snapshot-only data such as the Telco import."""
    from features.build import build_features

    spine = None if config.features.as_of_dates else "both"
    return build_features(source, config, spine=spine, progress=progress)


def _default_fit() -> FitCandidates:
    from training import fit_candidates

    return fit_candidates


def _band_rows(train: pd.DataFrame, config: Config) -> pd.Series:
    """The training side's out-of-time rows: the latest `validation_fraction` of as_of dates
    (all rows when there is only one date, as in k-fold)."""
    from training._split import time_split, validation_order

    if train["as_of"].nunique() < 2:
        return pd.Series(True, index=train.index)
    order = validation_order(train, "churn")
    valid, _ = time_split(order, config.training.validation_fraction, config.training.seed)
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
    needed = ["account_id", "as_of", "spine", "segment", "arr", "churn"]
    needed += [known_at_column(t) for t in TARGETS if t in frame.columns]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise RetainError(
            f"The feature frame ({len(frame)} rows) lacks column(s) {', '.join(missing)} that the "
            "backtest needs; build it with `retain features` (both spines)."
        )


def _window_order(plans: Mapping[str, TargetPlan]) -> list[str]:
    """Every window name once: dated windows in date order, then folds."""
    windows: dict[str, Window] = {}
    for plan in plans.values():
        for window in plan.windows:
            windows.setdefault(window.name, window)
    dated = sorted((w for w in windows.values() if w.start is not None), key=lambda w: w.start)
    folds = sorted((w for w in windows.values() if w.fold is not None), key=lambda w: w.fold)
    return [w.name for w in (*dated, *folds)]


def _wide(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per window, model and snapshot, each target's probability where it was scored."""
    long = pd.concat(parts, ignore_index=True)
    if long.empty:
        return long
    return long.groupby(_KEYS, sort=False, as_index=False, dropna=False).first()


def run_backtest(
    frame: pd.DataFrame,
    config: Config,
    *,
    cutoffs: str | Sequence[str] = "auto",
    truth: pd.DataFrame | None = None,
    data_end: pd.Timestamp | None = None,
    data_label: str = "",
    fit_candidates: FitCandidates | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[int], None] | None = None,
    coverage_end: pd.Series | None = None,
) -> BacktestResult:
    """Backtest every candidate (and the oracle when `truth` is given) for every target.

    `frame` is a feature frame with both spines (see features.frame); `truth` the simulator's
    true probabilities (account_id, as_of, spine, churn_probability, expansion_probability);
    `data_end` the exclusive end of the data (default: the day after the latest as_of; pass
    `source.data_end`). `cutoffs`: "auto" (adaptive origins, else k-fold per target),
    "quarterly", "monthly", "kfold" or explicit dates. `fit_candidates(frame, target, config,
    cutoff=...)` defaults to `training.fit_candidates`. `progress(name)` is called after each
    window of each target, `on_plan(n)` once the number of windows is known. With
    `coverage_end` (per frame row, `features.person_months.coverage_end`) the summary gets the
    time-to-churn section `survival` (`evaluation.survival.survival_backtest`).
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
    plans = plan_backtest(frame, config, pd.Timestamp(data_end), cutoffs)
    if on_plan is not None:
        on_plan(sum(len(plan.windows) for plan in plans.values()))
    scored_parts: list[pd.DataFrame] = []
    rates: dict[str, fc.ArrRates] = {}
    bands_log: dict[str, dict[str, dict[str, float]]] = {}
    strategies: dict[str, dict[str, Any]] = {}
    reasons: list[pd.DataFrame] = []
    for target, plan in plans.items():
        for index, window in enumerate(plan.windows):
            train_mask, scored_mask = plan.masks(frame, window)
            train, scored = frame[train_mask], frame[scored_mask]
            step = None
            if not scored.empty:
                last = index == len(plan.windows) - 1
                step = _score_window(
                    train, scored, window, target, config, truth, fit, explain=last
                )
            if step is not None:
                scored_parts.append(step.predictions)
                if step.rates is not None:
                    rates[window.name] = step.rates
                if step.bands:
                    bands_log[window.name] = step.bands
                if step.strategy is not None:
                    strategies.setdefault(window.name, {})[target] = step.strategy
                reasons.append(step.reasons)
            if progress:
                progress(f"{target} {window.name}")
    predictions = _wide(scored_parts) if scored_parts else pd.DataFrame(columns=_KEYS)
    forecast_table = _forecast(predictions, rates)
    window_names = [
        name for name in _window_order(plans) if name in set(predictions.get("cutoff", []))
    ]
    tidy = tidy_metrics(predictions, forecast_table, window_names, config)
    summary = summarize(
        tidy,
        forecast_table,
        predictions,
        windows=window_names,
        plans=plans,
        config=config,
        data_label=data_label,
        bands=bands_log,
        strategies=strategies,
        n_snapshots=int(frame["account_id"].size),
    )
    if coverage_end is not None:
        summary["survival"] = _survival_section(
            frame, np.asarray(coverage_end), predictions, config, pd.Timestamp(data_end), truth
        )
    handoffs = handoff_evidence(frame, config, truth)  # None: the data has no handoffs
    if handoffs is not None:
        summary["handoff_evidence"] = handoffs
    reason_frame = pd.concat(reasons, ignore_index=True) if reasons else pd.DataFrame()
    return BacktestResult(predictions, tidy, forecast_table, summary, reason_frame)


def _survival_section(
    frame: pd.DataFrame,
    coverage_end: np.ndarray,
    predictions: pd.DataFrame,
    config: Config,
    data_end: pd.Timestamp,
    truth: pd.DataFrame | None,
) -> dict[str, Any]:
    """The time-to-churn figures, or why there are none (the rest of the backtest stands)."""
    from evaluation.survival import survival_backtest

    # Anchored to the churn model the summary speaks of: the curve served beside it.
    churn_model = headline_model(name for name in MODELS if name in set(predictions["model"]))
    try:
        return survival_backtest(
            frame,
            pd.Series(coverage_end),
            predictions,
            config,
            data_end=data_end,
            truth=truth,
            churn_model=churn_model or "segmented",
        )
    except RetainError as error:
        return {"skipped": str(error)}


@dataclass
class _Step:
    predictions: pd.DataFrame
    rates: fc.ArrRates | None  # churn windows: the forecast's ARR ratios
    bands: dict[str, dict[str, float]]
    strategy: dict[str, Any] | None
    reasons: pd.DataFrame


def _score_window(
    train: pd.DataFrame,
    scored: pd.DataFrame,
    window: Window,
    target: str,
    config: Config,
    truth: pd.DataFrame | None,
    fit: FitCandidates,
    *,
    explain: bool,
) -> _Step | None:
    """Fit `target`'s candidates on `train` and score `scored`; None when `train` holds one
    class only (nothing to learn)."""
    from training.bands import band_of, choose_bands

    labelled = train[train[target].notna()] if target in train else train.iloc[:0]
    y = labelled[target].to_numpy(float)
    if len(labelled) == 0 or len(np.unique(y)) < 2:
        return None
    base = scored[[c for c in _BASE_COLUMNS if c in scored.columns]].copy()
    base.insert(0, "cutoff", window.name)
    models = dict(fit(labelled, target, config, cutoff=window.start))
    if not models:
        return None
    probabilities = {name: _positive_probability(model, scored) for name, model in models.items()}
    bands: dict[str, dict[str, float]] = {}
    segmented = models.get("segmented")
    strategy = (
        dict(getattr(segmented, "segment_strategy_", {}) or {}) if segmented is not None else None
    )
    # Reasons of the model the summary speaks of (what would have been served).
    headline = headline_model(models)
    reasons = (
        top_reasons(models[headline], scored, target)
        if explain and headline is not None
        else pd.DataFrame()
    )
    if truth is not None:
        probabilities["oracle"] = _oracle_column(scored, truth, target)
    if target == "churn":
        band_side = labelled[_band_rows(labelled, config)]
        band_spine = band_side["spine"].to_numpy() if "spine" in band_side else None
        for name, model in models.items():
            own = getattr(model, "bands_", None)
            if own is None:
                side = _positive_probability(model, band_side)
                own = choose_bands(band_side["churn"], side, config, spine=band_spine)
            bands[name] = dict(own)
        if truth is not None:
            side = _oracle_column(band_side, truth, "churn")
            bands["oracle"] = choose_bands(band_side["churn"], side, config, spine=band_spine)
    parts = []
    for name, p in probabilities.items():
        part = base.copy()
        part.insert(1, "model", name)
        part[f"p_{target}"] = p
        if target == "churn":
            part["band"] = band_of(p, bands[name]) if name in bands else None
        parts.append(part)
    return _Step(
        pd.concat(parts, ignore_index=True),
        fc.fit_arr_rates(labelled) if target == "churn" else None,
        bands,
        strategy,
        reasons,
    )


def _forecast(predictions: pd.DataFrame, rates: Mapping[str, fc.ArrRates]) -> pd.DataFrame:
    """Expected vs actual ARR per churn window and model. A window where expansion was not
    scored forecasts NRR without expansion beyond the ordinary growth (evaluation.forecast)."""
    parts = []
    for window, window_rates in rates.items():
        part = predictions[predictions["cutoff"] == window]
        if "p_expansion" not in part:
            part = part.assign(p_expansion=np.nan)
        rows = _forecast_rows(part, window_rates)
        if not rows.empty:
            parts.append(rows)
    return fc.forecast_table(pd.concat(parts, ignore_index=True)) if parts else pd.DataFrame()


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
