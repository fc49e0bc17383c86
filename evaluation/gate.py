"""The promotion gate: move "champion" only to a challenger that is better on the same backtest.

Both registered models are refitted from their own settings (an unfitted copy with the same
constructor parameters, as `sklearn.base.clone` does) at every cutoff of one rolling backtest,
so they are compared on exactly the same training windows and the same scored snapshots; scoring
the registered models as they are would grade them on rows they were trained on.

The challenger passes when it is better on the primary metric
(`config.evaluation.primary_metric`, default PR-AUC; lower is better for brier, log_loss and
ece) beyond the noise: the 95% interval of the paired difference (challenger minus champion,
the same accounts resampled for both, `config.evaluation.n_bootstrap` replicates) lies entirely
on the better side of zero. Its expected calibration error must also be at most the champion's
plus `config.evaluation.calibration_tolerance`. With no champion yet there is nothing to compare
and the challenger passes, which the decision says. Every decision is logged to MLflow.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation import metrics as m
from evaluation.backtest import ALL, POOLED, run_backtest
from retain.config import Config
from retain.errors import RetainError

# The registry's alias names (training.registry), kept here so importing the gate stays light.
CHALLENGER = "challenger"
CHAMPION = "champion"


@dataclass(frozen=True)
class PromotionDecision:
    """The gate's verdict and the numbers behind it."""

    promote: bool
    target: str
    primary_metric: str
    challenger_value: float
    champion_value: float | None
    challenger_ece: float
    champion_ece: float | None
    tolerance: float
    reason: str
    rows_compared: int
    cutoffs: list[str] = field(default_factory=list)
    # 95% bootstrap interval of challenger minus champion on the primary metric (None without
    # a champion).
    difference_interval: tuple[float, float] | None = None
    challenger_version: str | None = None
    champion_version: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(
    primary_metric: str,
    challenger: Mapping[str, float],
    champion: Mapping[str, float] | None,
    tolerance: float,
    difference_interval: tuple[float, float] | None = None,
) -> tuple[bool, str]:
    """(promote, reason) from pooled metrics of both models (champion None: there is none).

    `difference_interval` is the 95% bootstrap interval of challenger minus champion on the
    primary metric; without it the point estimates alone decide (strictly better).
    """
    if primary_metric not in m.SCORE_METRICS:
        raise RetainError(
            f"Unknown [evaluation] primary_metric {primary_metric!r}; choose one of "
            f"{', '.join(m.SCORE_METRICS)}"
        )
    new = challenger.get(primary_metric, math.nan)
    if champion is None:
        return True, (
            f"no champion yet, so no comparison: the challenger ({primary_metric} {new:.4f} on "
            "the backtest) becomes the champion"
        )
    old = champion.get(primary_metric, math.nan)
    if math.isnan(new) or math.isnan(old):
        return False, f"{primary_metric} is undefined on this backtest (one class only?)"
    lower = primary_metric in m.LOWER_IS_BETTER
    better = new < old if lower else new > old
    if not better:
        return False, (
            f"challenger {primary_metric} {new:.4f} is not better than the champion's {old:.4f}"
        )
    noise = ""
    if difference_interval is not None:
        low, high = difference_interval
        noise = f" (difference {new - old:+.4f}, 95% interval {low:+.4f} to {high:+.4f})"
        beyond = high < 0 if lower else low > 0
        if math.isnan(low) or not beyond:
            return False, (
                f"challenger {primary_metric} {new:.4f} vs the champion's {old:.4f}{noise}: "
                "the difference is within the bootstrap noise, so the champion stays"
            )
    new_ece, old_ece = challenger.get("ece", math.nan), champion.get("ece", math.nan)
    if not math.isnan(new_ece) and not math.isnan(old_ece) and new_ece > old_ece + tolerance:
        return False, (
            f"challenger {primary_metric} {new:.4f} beats {old:.4f}{noise}, but its calibration "
            f"error {new_ece:.4f} exceeds the champion's {old_ece:.4f} by more than {tolerance}"
        )
    return True, (
        f"challenger {primary_metric} {new:.4f} beats the champion's {old:.4f}{noise}; "
        f"calibration error {new_ece:.4f} vs {old_ece:.4f} (tolerance {tolerance})"
    )


def paired_difference_interval(
    predictions: pd.DataFrame,
    target: str,
    metric: str,
    *,
    n_bootstrap: int,
    seed: int,
) -> tuple[float, float]:
    """95% interval of metric(challenger) - metric(champion) over resampled accounts.

    Both models scored the same snapshots of one backtest; each replicate draws accounts with
    replacement and weighs both models' rows alike, so the difference is paired.
    """
    from evaluation.bootstrap import account_draws, weighted_pr_auc, weighted_roc_auc

    p_column = f"p_{target}"
    keys = ["cutoff", "account_id", "as_of", "spine"]
    rows = predictions[predictions[target].notna() & predictions[p_column].notna()]
    pair = rows[rows["model"] == CHALLENGER][[*keys, target, p_column]].merge(
        rows[rows["model"] == CHAMPION][[*keys, p_column]], on=keys, suffixes=("", "_champion")
    )
    if pair.empty or n_bootstrap <= 0 or pair[target].nunique() < 2:
        return math.nan, math.nan
    codes, counts = account_draws(pair["account_id"], n_bootstrap, seed)
    y = pair[target].to_numpy(float)
    new, old = pair[p_column].to_numpy(float), pair[f"{p_column}_champion"].to_numpy(float)
    differences = []
    for first in range(0, n_bootstrap, 64):
        weights = counts[first : first + 64][:, codes].astype(float)
        if metric in ("roc_auc", "pr_auc"):
            area = weighted_roc_auc if metric == "roc_auc" else weighted_pr_auc
            differences.append(area(y, new, weights) - area(y, old, weights))
        else:
            differences.append(
                np.array(
                    [_weighted(metric, y, new, w) - _weighted(metric, y, old, w) for w in weights]
                )
            )
    values = np.concatenate(differences)
    values = values[np.isfinite(values)]
    if values.size < 0.9 * n_bootstrap:
        return math.nan, math.nan
    low, high = np.quantile(values, [0.025, 0.975])
    return float(low), float(high)


def _weighted(metric: str, y: np.ndarray, p: np.ndarray, weights: np.ndarray) -> float:
    keep = weights > 0
    y, p, weights = y[keep], p[keep], weights[keep]
    if metric == "brier":
        return float(np.average((p - y) ** 2, weights=weights))
    if metric == "log_loss":
        p = np.clip(p, 1e-7, 1 - 1e-7)
        return float(np.average(-(y * np.log(p) + (1 - y) * np.log(1 - p)), weights=weights))
    # ece: expected calibration error over ten equal-width bins, weighted.
    bins = np.minimum((p * 10).astype(int), 9)
    total = weights.sum()
    error = 0.0
    for b in np.unique(bins):
        inside = bins == b
        w = weights[inside]
        error += (
            w.sum()
            / total
            * abs(np.average(p[inside], weights=w) - np.average(y[inside], weights=w))
        )
    return float(error)


def unfitted_copy(model: Any) -> Any:
    """A fresh estimator with `model`'s constructor parameters (what sklearn's clone does)."""
    if hasattr(model, "get_params"):
        from sklearn.base import clone

        return clone(model)
    names = [
        p.name
        for p in inspect.signature(type(model).__init__).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    return type(model)(**{name: getattr(model, name) for name in names if hasattr(model, name)})


def _refit(model: Any, rows: pd.DataFrame, y: pd.Series, config: Config) -> Any:
    copy = unfitted_copy(model)
    if getattr(copy, "config", ...) is None:
        # A registered model comes back without its config (only its own tuned parameters);
        # both models are refitted under the same settings so only their parameters differ.
        copy.config = config
    return copy.fit(rows, y)


def compare_estimators(
    challenger: Any,
    champion: Any | None,
    frame: pd.DataFrame,
    target: str,
    config: Config,
    *,
    cutoffs: str | Sequence[str] = "auto",
    data_end: pd.Timestamp | None = None,
) -> PromotionDecision:
    """Backtest unfitted copies of both estimators on `frame` and apply `decide`."""
    templates = {CHALLENGER: challenger} | ({CHAMPION: champion} if champion is not None else {})

    def fit_both(rows: pd.DataFrame, fit_target: str, _config: Config, cutoff: Any = None):
        if fit_target != target:
            return {}
        y = rows[target].astype(int)
        return {name: _refit(model, rows, y, config) for name, model in templates.items()}

    result = run_backtest(
        frame, config, cutoffs=cutoffs, data_end=data_end, fit_candidates=fit_both
    )
    pooled = result.metrics[
        (result.metrics["cutoff"] == POOLED)
        & (result.metrics["segment"] == ALL)
        & (result.metrics["target"] == target)
    ]
    values = {
        name: pooled[pooled["model"] == name].set_index("metric")["value"].to_dict()
        for name in templates
    }
    primary = config.evaluation.primary_metric
    tolerance = config.evaluation.calibration_tolerance
    interval = (
        paired_difference_interval(
            result.predictions,
            target,
            primary,
            n_bootstrap=config.evaluation.n_bootstrap,
            seed=config.training.seed,
        )
        if champion is not None
        else None
    )
    promote, reason = decide(primary, values[CHALLENGER], values.get(CHAMPION), tolerance, interval)
    old = values.get(CHAMPION)
    return PromotionDecision(
        promote=promote,
        target=target,
        primary_metric=primary,
        challenger_value=float(values[CHALLENGER].get(primary, math.nan)),
        champion_value=None if old is None else float(old.get(primary, math.nan)),
        challenger_ece=float(values[CHALLENGER].get("ece", math.nan)),
        champion_ece=None if old is None else float(old.get("ece", math.nan)),
        tolerance=tolerance,
        reason=reason,
        rows_compared=int(values[CHALLENGER].get("n", 0)),
        cutoffs=list(result.summary["cutoffs"]),
        difference_interval=interval,
    )


def _feature_frame(
    config: Config, data: str | Path | None, features: str | Path | pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    if isinstance(features, pd.DataFrame):
        return features, None
    source = None
    if data is not None:
        from features.source import DataSource
        from features.validate import require_valid

        source = DataSource.open(data, data_end=config.features.data_end)
        require_valid(source)
    if features is not None:
        path = Path(features)
        if not path.is_file():
            raise RetainError(f"Feature file {path} does not exist.")
        return pd.read_parquet(path), source.data_end if source is not None else None
    if source is None:
        raise RetainError("The promotion gate needs --data (a data source) or --features.")
    from evaluation.backtest import build_backtest_frame

    return build_backtest_frame(source, config), source.data_end


def log_decision(decision: PromotionDecision, config: Config) -> str:
    """Record the comparison as an MLflow run; returns the run id."""
    import mlflow

    mlflow.set_tracking_uri(config.tracking.resolved_tracking_uri())
    mlflow.set_experiment(config.tracking.experiment)
    with mlflow.start_run(run_name=f"promotion gate {decision.target}") as run:
        mlflow.set_tags(
            {
                "retain.stage": "promotion_gate",
                "retain.target": decision.target,
                "retain.promote": str(decision.promote).lower(),
                "retain.reason": decision.reason[:5000],
                "retain.challenger_version": decision.challenger_version or "",
                "retain.champion_version": decision.champion_version or "",
            }
        )
        mlflow.log_params(
            {
                "primary_metric": decision.primary_metric,
                "tolerance": decision.tolerance,
                "cutoffs": ",".join(decision.cutoffs)[:500],
            }
        )
        numbers = {
            "challenger_value": decision.challenger_value,
            "champion_value": decision.champion_value,
            "challenger_ece": decision.challenger_ece,
            "champion_ece": decision.champion_ece,
            "rows_compared": float(decision.rows_compared),
            "difference_low": (decision.difference_interval or (None, None))[0],
            "difference_high": (decision.difference_interval or (None, None))[1],
            "promote": float(decision.promote),
        }
        mlflow.log_metrics(
            {k: float(v) for k, v in numbers.items() if v is not None and math.isfinite(v)}
        )
        mlflow.log_dict(decision.as_dict(), "promotion_decision.json")
        return run.info.run_id


def check_promotion(
    target: str,
    config: Config,
    *,
    data: str | Path | None = None,
    features: str | Path | pd.DataFrame | None = None,
    cutoffs: str | Sequence[str] = "auto",
    log: bool = True,
) -> PromotionDecision:
    """Compare the registered challenger of `target` with its champion on one backtest.

    `data` is a data source (validated, features built with both spines) and/or `features` a
    feature parquet file (or frame) to reuse. The decision is logged to MLflow when `log`.
    """
    from training.registry import load_registered, version_of

    challenger, challenger_ref = load_registered(target, CHALLENGER, config)
    # Look the champion up before loading it: load_registered would fall back to (and download
    # again) the challenger when no champion exists.
    champion_version = version_of(target, CHAMPION, config)
    if champion_version == challenger_ref.version:
        raise RetainError(
            f"{challenger_ref.name} version {challenger_ref.version} is already the champion; "
            "train a new challenger first"
        )
    champion, champion_ref = (
        (None, None) if champion_version is None else load_registered(target, CHAMPION, config)
    )
    frame, data_end = _feature_frame(config, data, features)
    decision = compare_estimators(
        challenger, champion, frame, target, config, cutoffs=cutoffs, data_end=data_end
    )
    decision = PromotionDecision(
        **(
            decision.as_dict()
            | {
                "challenger_version": challenger_ref.version,
                "champion_version": None if champion_ref is None else champion_ref.version,
            }
        )
    )
    if log:
        log_decision(decision, config)
    return decision
