"""The promotion gate: move "champion" only to a challenger that is better on the same backtest.

Both registered models are refitted from their own settings (an unfitted copy with the same
constructor parameters, as `sklearn.base.clone` does) at every cutoff of one rolling backtest,
so they are compared on exactly the same training windows and the same scored snapshots; scoring
the registered models as they are would grade them on rows they were trained on.

The challenger passes when it is strictly better on the primary metric
(`config.evaluation.primary_metric`, default PR-AUC; lower is better for brier, log_loss and
ece) and its expected calibration error is at most the champion's plus
`config.evaluation.calibration_tolerance`. With no champion yet, the challenger passes. Every
decision is logged to MLflow.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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
    challenger_version: str | None = None
    champion_version: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(
    primary_metric: str,
    challenger: Mapping[str, float],
    champion: Mapping[str, float] | None,
    tolerance: float,
) -> tuple[bool, str]:
    """(promote, reason) from pooled metrics of both models (champion None: there is none)."""
    if primary_metric not in m.SCORE_METRICS:
        raise RetainError(
            f"Unknown [evaluation] primary_metric {primary_metric!r}; choose one of "
            f"{', '.join(m.SCORE_METRICS)}"
        )
    new = challenger.get(primary_metric, math.nan)
    if champion is None:
        return True, f"no champion yet: the challenger ({primary_metric} {new:.4f}) becomes it"
    old = champion.get(primary_metric, math.nan)
    if math.isnan(new) or math.isnan(old):
        return False, f"{primary_metric} is undefined on this backtest (one class only?)"
    lower = primary_metric in m.LOWER_IS_BETTER
    better = new < old if lower else new > old
    if not better:
        return False, (
            f"challenger {primary_metric} {new:.4f} is not better than the champion's {old:.4f}"
        )
    new_ece, old_ece = challenger.get("ece", math.nan), champion.get("ece", math.nan)
    if not math.isnan(new_ece) and not math.isnan(old_ece) and new_ece > old_ece + tolerance:
        return False, (
            f"challenger {primary_metric} {new:.4f} beats {old:.4f}, but its calibration error "
            f"{new_ece:.4f} exceeds the champion's {old_ece:.4f} by more than {tolerance}"
        )
    return True, (
        f"challenger {primary_metric} {new:.4f} beats the champion's {old:.4f}; calibration "
        f"error {new_ece:.4f} vs {old_ece:.4f} (tolerance {tolerance})"
    )


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
    cutoffs: str | Sequence[str] = "quarterly",
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
    promote, reason = decide(primary, values[CHALLENGER], values.get(CHAMPION), tolerance)
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
    cutoffs: str | Sequence[str] = "quarterly",
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
