"""Optuna tuning of LightGBM per (target, segment): TPE, pruning on the validation curve,
resumable studies in any database Optuna supports (SQLite by default).

`--tune N` means "the study should hold N finished trials": a restarted command only runs the
trials still missing, and several workers pointing at one database URL share the work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from retain.config import Config
from retain.errors import RetainError
from training import _booster
from training._design import DesignSpec, labels_array
from training._split import time_split, validation_order
from training.segmented import GLOBAL, segments_of

# SQLite handles a write per report badly; one report every few rounds is plenty for pruning.
REPORT_EVERY = 10

TrialCallback = Callable[[Any, Any], None]  # (optuna.Study, optuna.trial.FrozenTrial)


@dataclass(frozen=True)
class TuneResult:
    study_name: str
    best_params: dict[str, Any]
    best_value: float
    n_complete: int
    n_pruned: int


def study_name(experiment: str, target: str, segment: str) -> str:
    return f"{experiment}:{target}:{segment}"


def _suggest(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 4, 64, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 5, 200, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
        "bagging_fraction": trial.suggest_float("bagging_fraction", 0.5, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
    }


def _pruning_callback(trial: Any) -> Callable[[Any], None]:
    """Report the validation AUC to Optuna every few rounds and stop a hopeless trial."""
    import optuna

    def callback(env: Any) -> None:
        if (env.iteration + 1) % REPORT_EVERY:
            return
        for data_name, metric, value, _ in env.evaluation_result_list:
            if data_name == "valid" and metric == "auc":
                trial.report(value, step=env.iteration + 1)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at round {env.iteration + 1}")
                return

    return callback


def tune_booster(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    *,
    feature_names: list[str],
    categorical: list[int],
    config: Config,
    name: str,
    n_trials: int,
    storage: str | None = None,
    prune: bool = True,
    on_trial: TrialCallback | None = None,
) -> TuneResult:
    """Run (or resume) the study `name` until it holds `n_trials` finished trials."""
    import optuna
    from optuna.trial import TrialState

    if len(np.unique(y_valid)) < 2 or len(np.unique(y_train)) < 2:
        raise RetainError(f"Study {name}: training and validation rows need both classes")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tc = config.training
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=3 * REPORT_EVERY)
        if prune
        else optuna.pruners.NopPruner()
    )
    study = optuna.create_study(
        study_name=name,
        storage=storage or config.tracking.optuna_storage,
        direction="maximize",
        pruner=pruner,
        load_if_exists=True,
    )
    finished = (TrialState.COMPLETE, TrialState.PRUNED)
    done = len(study.get_trials(deepcopy=False, states=finished))
    # A fresh seed per restart: the same seed would replay the random start-up trials.
    study.sampler = optuna.samplers.TPESampler(seed=tc.seed + len(study.trials), multivariate=True)

    def objective(trial: Any) -> float:
        # The study maximises AUC, so the validation curve that pruning watches is AUC too.
        params = {**_suggest(trial), "metric": ["auc"]}
        booster = _booster.fit_booster(
            x_train,
            y_train,
            x_valid,
            y_valid,
            feature_names=feature_names,
            categorical=categorical,
            config=tc,
            overrides=params,
            callbacks=[_pruning_callback(trial)] if prune else None,
        )
        from sklearn.metrics import roc_auc_score

        score = float(roc_auc_score(y_valid, _booster.raw_margin(booster, x_valid)))
        trial.set_user_attr("best_iteration", booster.current_iteration())
        return score

    callbacks: list[Any] = [optuna.study.MaxTrialsCallback(n_trials, states=finished)]
    if on_trial is not None:
        callbacks.append(on_trial)
    if done < n_trials:
        study.optimize(objective, n_trials=n_trials - done, callbacks=callbacks)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise RetainError(f"Study {name}: no trial completed")
    return TuneResult(
        study_name=name,
        best_params=dict(study.best_params),
        best_value=float(study.best_value),
        n_complete=len(complete),
        n_pruned=len(study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))),
    )


def tune_target(
    rows: pd.DataFrame,
    target: str,
    config: Config,
    n_trials: int,
    *,
    experiment: str,
    storage: str | None = None,
    prune: bool = True,
    on_study: Callable[[str], TrialCallback | None] | None = None,
) -> dict[str, TuneResult]:
    """One study per segment with enough positives, plus one for the global booster.

    `rows` are labelled rows (training.labelled_rows). `on_study(segment)` may return a
    per-trial callback (the MLflow nested runs); tuning itself knows nothing of MLflow.
    """
    tc = config.training
    labels = labels_array(rows[target], target)
    spec = DesignSpec.from_frame(rows)
    matrix = spec.matrix(rows)
    valid, _ = time_split(validation_order(rows, target), tc.validation_fraction, tc.seed)
    segments = segments_of(rows)
    groups = {GLOBAL: np.ones(len(rows), dtype=bool)}
    for segment in sorted(set(segments.tolist())):
        mask = segments == segment
        if labels[mask & ~valid].sum() >= tc.min_positives_per_segment:
            groups[segment] = mask
    results = {}
    for segment, mask in groups.items():
        train_rows, valid_rows = mask & ~valid, mask & valid
        if len(np.unique(labels[valid_rows])) < 2:
            continue  # nothing to score a trial on; the segment keeps the default parameters
        results[segment] = tune_booster(
            matrix[train_rows],
            labels[train_rows],
            matrix[valid_rows],
            labels[valid_rows],
            feature_names=list(spec.feature_names),
            categorical=spec.categorical_indices,
            config=config,
            name=study_name(experiment, target, segment),
            n_trials=n_trials,
            storage=storage,
            prune=prune,
            on_trial=on_study(segment) if on_study else None,
        )
    return results
