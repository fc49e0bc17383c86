"""MLflow tracking: where runs go, what a model's child run holds, and the plots.

Every `retain train` is one parent run; each (target, segment) model, the comparison models and
every tuning trial are nested runs below it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from retain.config import Config

_SHAP_SAMPLE_ROWS = 2_000


def configure_mlflow(config: Config) -> str:
    """Point MLflow at the configured store (MLFLOW_TRACKING_URI wins) and keep it quiet."""
    import mlflow

    uri = config.tracking.resolved_tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # MLflow and the SQLite migrations log at INFO on every store open; the CLI prints a summary.
    for logger in ("mlflow", "alembic"):
        logging.getLogger(logger).setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    ensure_experiment(config.tracking.experiment)
    return uri


# The MLflow 3 UI opens an experiment on its GenAI traces view unless this tag says the
# experiment is model training ("custom_model_development": the runs view). The UI reads it from
# `mlflow.experimentKind`; mlflow/server/js and mlflow/demo/generators/traces.py use the values.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"


def ensure_experiment(name: str) -> str:
    """The experiment's id, creating it tagged as model training when absent; an existing one
    without a kind gets the tag (a kind someone chose is kept)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(name, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
        except MlflowException:  # created meanwhile by another process
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if EXPERIMENT_KIND_TAG not in experiment.tags and experiment.lifecycle_stage == "active":
        client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
    return experiment.experiment_id


def attach_to_model_run(
    path: str | os.PathLike[str], name: str, version: str, artifact_path: str
) -> str | None:
    """Log a file (a review page, a report) under the run that produced model `name` version
    `version`, beside its plots; the run id, or None when the version records no run.

    The review page of `retain report accounts` belongs with the model that scored it: a
    person opening that training run finds the page its scores produced."""
    import mlflow

    client = mlflow.MlflowClient()
    run_id = client.get_model_version(name, str(version)).run_id
    if not run_id:
        return None
    client.log_artifact(run_id, str(path), artifact_path=artifact_path)
    return run_id


def _finite(metrics: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in metrics.items():
        if isinstance(value, int | float | np.number) and value is not None and np.isfinite(value):
            out[key] = float(value)
    return out


def log_model_run(
    run_name: str,
    *,
    params: Mapping[str, Any],
    metrics: Mapping[str, Any],
    tags: Mapping[str, str] | None = None,
    figures: Mapping[str, Any] | None = None,
    dicts: Mapping[str, Any] | None = None,
) -> str:
    """A nested run with params, metrics, figures (closed after logging) and JSON artifacts."""
    import matplotlib.pyplot as plt
    import mlflow

    with mlflow.start_run(run_name=run_name, nested=True) as run:
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        mlflow.log_metrics(_finite(metrics))
        if tags:
            mlflow.set_tags(dict(tags))
        for path, figure in (figures or {}).items():
            mlflow.log_figure(figure, path)
            plt.close(figure)
        for path, payload in (dicts or {}).items():
            mlflow.log_dict(payload, path)
        return run.info.run_id


def trial_logger(target: str, segment: str) -> Any:
    """An Optuna callback that records each finished trial as a nested MLflow run."""
    import mlflow

    def callback(study: Any, trial: Any) -> None:
        with mlflow.start_run(run_name=f"trial {trial.number}", nested=True):
            mlflow.log_params(trial.params)
            mlflow.set_tags(
                {
                    "target": target,
                    "segment": segment,
                    "study": study.study_name,
                    "state": trial.state.name,
                }
            )
            if trial.value is not None:
                mlflow.log_metric("valid_roc_auc", float(trial.value))
            if trial.intermediate_values:
                last_step = max(trial.intermediate_values)
                mlflow.log_metric("last_reported_round", float(last_step))

    return callback


# -- plots (matplotlib Agg: no display needed) ------------------------------------------------


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def importance_figure(booster: Any, feature_names: list[str], top: int = 20) -> Any:
    """Horizontal bars of the booster's total split gain, the `top` features, on a new figure."""
    plt = _pyplot()
    gain = booster.feature_importance(importance_type="gain")
    order = np.argsort(gain)[::-1][:top][::-1]
    figure, axis = plt.subplots(figsize=(7, 0.3 * len(order) + 1.2))
    axis.barh([feature_names[i] for i in order], gain[order])
    axis.set_xlabel("total gain (sum over the booster's splits)")
    axis.set_ylabel("feature")
    axis.set_title("Feature importance (LightGBM gain)")
    figure.tight_layout()
    return figure


def shap_summary_figure(
    contributions: pd.DataFrame, values: pd.DataFrame, seed: int = 0, top: int = 20
) -> Any:
    """SHAP beeswarm from exact pred_contrib values, on at most 2,000 rows, on a new figure.

    shap draws on pyplot's current figure: without a figure of its own it drew over whatever
    was created last (the importance bars: both files were the same image).
    """
    import shap

    plt = _pyplot()
    if len(contributions) > _SHAP_SAMPLE_ROWS:
        rows = np.random.default_rng(seed).choice(
            len(contributions), _SHAP_SAMPLE_ROWS, replace=False
        )
        contributions, values = contributions.iloc[rows], values.iloc[rows]
    figure = plt.figure()
    shap.summary_plot(
        contributions.to_numpy(),
        features=values.to_numpy(dtype=float),
        feature_names=list(contributions.columns),
        max_display=top,
        show=False,
    )
    axis = figure.axes[0]
    axis.set_xlabel("SHAP value (contribution to the raw score, log-odds)")
    axis.set_title("SHAP summary (each dot a snapshot)")
    figure.tight_layout()
    return figure


def calibration_figure(y: np.ndarray, p: np.ndarray, bins: int = 10) -> Any:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    if len(y):
        edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
        index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
        mean_p = [p[index == i].mean() for i in np.unique(index)]
        rate = [y[index == i].mean() for i in np.unique(index)]
        axis.plot(mean_p, rate, marker="o", label="out-of-time")
    axis.set_xlabel("predicted probability")
    axis.set_ylabel("observed rate")
    axis.set_title("Calibration (validation rows)")
    axis.legend()
    figure.tight_layout()
    return figure
