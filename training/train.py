"""The `retain train` stage: fit, compare, track and register the models of each target."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from rich.progress import Progress

from retain.config import Config
from retain.errors import RetainError
from training._split import selection_rows, time_split, validation_order
from training.baselines import LogisticBaseline, RuleScorecard
from training.candidates import labelled_rows
from training.registry import ModelRef, log_and_register, log_survival
from training.segmented import GLOBAL, SegmentedModel, segments_of
from training.selection import Selection, candidate_models, select_candidate

METRIC_NAMES: tuple[str, ...] = ("roc_auc", "pr_auc", "brier", "log_loss")


@dataclass
class TrainResult:
    tracking_uri: str
    experiment: str
    run_id: str
    models: dict[str, SegmentedModel] = field(default_factory=dict)
    refs: dict[str, ModelRef] = field(default_factory=dict)
    # Time to churn, fitted when `train` gets coverage ends; logged with the churn model version.
    survival: Any = None
    survival_note: str = ""  # why there is no survival model, when there is none
    # One row per (target, model, segment): validation rows/positives and METRIC_NAMES.
    metrics: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Per target: which LightGBM candidate was registered, and the comparison behind it.
    selections: dict[str, Selection] = field(default_factory=dict)


def train(
    frame: pd.DataFrame,
    targets: Sequence[str] = ("churn", "expansion"),
    config: Config | None = None,
    *,
    experiment: str | None = None,
    n_trials: int = 0,
    cutoff: str | pd.Timestamp | None = None,
    progress: Progress | None = None,
    coverage_end: pd.Series | None = None,
) -> TrainResult:
    """One MLflow parent run; per target the LightGBM candidates of `training.selection` (the
    best registered as challenger) and two baselines, each a nested run with out-of-time
    validation metrics.

    With `coverage_end` (per frame row, `features.person_months.coverage_end`) and the churn
    target, the time-to-churn SurvivalModel is fitted on the months known before the cutoff and
    logged with the churn model version (`training.registry.log_survival`)."""
    import mlflow

    from training.tracking import configure_mlflow

    config = config or Config()
    experiment = experiment or config.tracking.experiment
    uri = configure_mlflow(config)
    mlflow.set_experiment(experiment)
    task = progress.add_task("train", total=len(targets) * 5) if progress else None

    def step(description: str) -> None:
        if progress is not None and task is not None:
            progress.update(task, description=description)

    def done() -> None:
        if progress is not None and task is not None:
            progress.advance(task)

    rows_by_target = {}
    for target in targets:
        rows = labelled_rows(frame, target, cutoff)
        if rows[target].nunique() < 2:
            raise RetainError(
                f"Cannot train {target!r}: {len(rows)} labelled row(s)"
                + (f" before the cutoff {pd.Timestamp(cutoff).date()}" if cutoff else "")
                + " and they do not contain both outcomes"
            )
        rows_by_target[target] = rows

    tables = []
    result: TrainResult
    with mlflow.start_run(run_name="train") as parent:
        result = TrainResult(tracking_uri=uri, experiment=experiment, run_id=parent.info.run_id)
        mlflow.log_params(
            {
                "targets": ",".join(targets),
                "cutoff": str(pd.Timestamp(cutoff).date()) if cutoff is not None else "none",
                "frame_rows": len(frame),
                "tune_trials": n_trials,
            }
        )
        for target in targets:
            rows = rows_by_target[target]
            segment_params = None
            if n_trials > 0:
                step(f"{target}: tuning ({n_trials} trials per segment)")
                segment_params = _tune(rows, target, config, n_trials, experiment)
            done()
            y = rows[target].astype(int)
            candidates = {}
            for name, candidate in candidate_models(target, config, segment_params).items():
                step(f"{target}: LightGBM candidate {name}")
                candidates[name] = candidate.fit(rows, y)
            done()
            step(f"{target}: baselines and the choice")
            baselines = _baselines(rows, target, config)
            selection = select_candidate(candidates, baselines, rows, target, config)
            model = candidates[selection.chosen]
            done()
            step(f"{target}: logging to MLflow")
            tables.append(_log_target(model, selection, candidates, rows, target, config))
            done()
            step(f"{target}: registering")
            result.refs[target] = log_and_register(
                model,
                rows,
                config=config,
                tags={
                    "parent_run_id": parent.info.run_id,
                    "data_window": _window(model),
                    "candidate": selection.chosen,
                    "selection": selection.note[:5000],
                },
            )
            result.models[target] = model
            result.selections[target] = selection
            done()
        if coverage_end is not None and "churn" in result.refs:
            step("churn: time-to-churn model")
            try:
                result.survival = _fit_survival(frame, coverage_end, config, cutoff)
            except RetainError as error:
                # Data without months to follow (one snapshot date, a short history) still
                # trains its churn model; serving then answers without a curve.
                result.survival_note = str(error)
            else:
                log_survival(result.survival, result.refs["churn"], config)
    result.metrics = pd.concat(tables, ignore_index=True)
    return result


def _fit_survival(
    frame: pd.DataFrame,
    coverage_end: pd.Series,
    config: Config,
    cutoff: str | pd.Timestamp | None,
) -> Any:
    """The SurvivalModel on every snapshot's months whose outcome is known before the cutoff."""
    import mlflow

    from features.person_months import curve_months, survival_outcome
    from training.survival import SurvivalModel

    before = (
        pd.Timestamp(cutoff)
        if cutoff is not None
        else pd.to_datetime(frame["as_of"]).max() + pd.Timedelta(days=1)
    )
    history = frame[pd.to_datetime(frame["as_of"]) < before]
    n_months = curve_months(frame.get("contract_term_days"))
    outcome = survival_outcome(
        history, coverage_end[history.index], config, before=before, n_months=n_months
    )
    observed = outcome["duration"] > 0
    model = SurvivalModel(config, n_months=n_months).fit(history[observed], outcome[observed])
    mlflow.log_metrics(
        {
            f"survival.{key}": float(value)
            for key, value in model.metrics_.items()
            if isinstance(value, int | float)
        }
    )
    return model


def _window(model: SegmentedModel) -> str:
    w = model.data_window_
    return f"{w['first_as_of']}..{w['last_as_of']} (valid from {w['valid_from']})"


def _tune(
    rows: pd.DataFrame, target: str, config: Config, n_trials: int, experiment: str
) -> dict[str, dict[str, Any]]:
    import mlflow

    from training.tracking import trial_logger
    from training.tune import tune_target

    studies: dict[str, Any] = {}

    def on_study(segment: str) -> Any:
        return trial_logger(target, segment)

    with mlflow.start_run(run_name=f"tune {target}", nested=True):
        results = tune_target(
            rows, target, config, n_trials, experiment=experiment, on_study=on_study
        )
        for segment, res in results.items():
            studies[segment] = res.best_params
            mlflow.log_metric(f"best_valid_roc_auc.{_key(segment)}", res.best_value)
            mlflow.log_metric(f"pruned_trials.{_key(segment)}", res.n_pruned)
    return studies


def _key(segment: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in segment)


def _baselines(rows: pd.DataFrame, target: str, config: Config) -> dict[str, np.ndarray]:
    """The baselines fitted on the training side, with their validation-row probabilities, so
    the comparison is like with like."""
    y = rows[target].astype(int).to_numpy()
    tc = config.training
    valid, _ = time_split(validation_order(rows, target), tc.validation_fraction, tc.seed)
    compared = selection_rows(rows, target, tc.validation_fraction, tc.seed)
    out = {}
    for name, baseline in (
        ("logistic", LogisticBaseline(target, config)),
        ("scorecard", RuleScorecard(target, config)),
    ):
        baseline.fit(rows[~valid], y[~valid])
        out[name] = baseline.predict_proba(rows[compared])[:, 1]
    return out


def _log_target(
    model: SegmentedModel,
    selection: Selection,
    candidates: dict[str, SegmentedModel],
    rows: pd.DataFrame,
    target: str,
    config: Config,
) -> pd.DataFrame:
    """A nested run per segment of the chosen model (plots), one per other model, and the
    comparison table; returns the rows the CLI prints."""
    import mlflow

    from training.tracking import (
        calibration_figure,
        importance_figure,
        log_model_run,
        shap_summary_figure,
    )

    tc = config.training
    y = rows[target].astype(int).to_numpy()
    # The rows the candidates were compared on (the selection half of the out-of-time rows)
    # feed the calibration plots: the selection's probabilities are on those rows.
    valid = selection_rows(rows, target, tc.validation_fraction, tc.seed)
    segments = segments_of(rows)
    p = np.full(len(rows), np.nan)
    p[valid] = selection.probabilities[selection.chosen]
    chosen = selection.chosen
    table = []
    for segment in model.segments_:
        in_segment = segments == segment
        metrics = model.metrics_[segment]
        strategy = model.segment_strategy_[segment]
        booster = model.boosters_.get(segment, model.global_booster_)
        sample = rows[in_segment]
        if len(sample) > 2_000:
            sample = sample.sample(2_000, random_state=tc.seed)
        explanation = model.explain(sample)
        seg_valid = in_segment & valid
        log_model_run(
            f"{target}/{segment}",
            params={
                "target": target,
                "segment": segment,
                "candidate": chosen,
                "strategy": strategy,
                "strategy_reason": model.segment_reasons_[segment],
                "calibration": model.calibrators_[segment].kind,
                "validation_split": model.validation_split_,
                "data_window": _window(model),
                "num_trees": booster.num_trees(),
                **(model.booster_params or {}),
                **(model.segment_params or {}).get(
                    segment if strategy == "refined" else GLOBAL, {}
                ),
            },
            metrics={f"valid_{k}" if k in METRIC_NAMES else k: v for k, v in metrics.items()},
            tags={"target": target, "segment": segment, "model": chosen},
            figures={
                "plots/feature_importance.png": importance_figure(booster, model.feature_names_),
                "plots/shap_summary.png": shap_summary_figure(
                    explanation.contributions,
                    pd.DataFrame(model.design_.matrix(sample), columns=model.feature_names_),
                    seed=tc.seed,
                ),
                "plots/calibration.png": calibration_figure(y[seg_valid], p[seg_valid]),
            },
            dicts={
                "features.json": {
                    "feature_names": model.feature_names_,
                    "categories": model.categories_,
                }
            },
        )
        table.append(
            {"target": target, "model": chosen, "segment": segment, "strategy": strategy}
            | _row_metrics(metrics)
        )
    comparison = selection.table.set_index("model")
    for name, probabilities in selection.probabilities.items():
        row = comparison.loc[name]
        metrics = {
            "valid_rows": int(row["valid_rows"]),
            "valid_positives": int(row["valid_positives"]),
            **{k: float(row[k]) for k in METRIC_NAMES},
        }
        figures = {"plots/calibration.png": calibration_figure(y[valid], probabilities)}
        if name in candidates and name != chosen:
            figures["plots/feature_importance.png"] = importance_figure(
                candidates[name].global_booster_, candidates[name].feature_names_
            )
        log_model_run(
            f"{target}/{name}" + (" (registered)" if name == chosen else ""),
            params={
                "target": target,
                "model": name,
                "kind": str(row["kind"]),
                "fitted_on": "training window",
            },
            metrics={f"valid_{k}" if k in METRIC_NAMES else k: v for k, v in metrics.items()},
            tags={"target": target, "segment": "all", "model": name},
            figures=figures,
        )
        uses = "registered" if name == chosen else str(row["kind"])
        table.append(
            {"target": target, "model": name, "segment": "all", "strategy": uses}
            | _row_metrics(metrics)
        )
    mlflow.log_dict(
        {
            "chosen": chosen,
            "note": selection.note,
            "comparison": selection.table.to_dict("records"),
        },
        f"selection_{target}.json",
    )
    return pd.DataFrame(table)


def _row_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        "valid_rows": metrics.get("valid_rows"),
        "valid_positives": metrics.get("valid_positives"),
        **{k: metrics.get(k) for k in METRIC_NAMES},
    }
