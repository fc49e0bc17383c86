"""The drift stage: compare a current window with a reference window, decide, and write reports.

The verdict (and so the exit code) comes from the PSI fast path on the full data and the explicit
null-share check, plus prediction and outcome drift when a model is available; the Evidently
HTML report, built on a sample, is for the person who opens it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from rich.progress import Progress

from monitoring.inputs import INPUT_ERROR, FeatureKinds, check_windows, describe_window
from monitoring.prediction import (
    ModelChoice,
    health_bands,
    prediction_drift,
    score_windows,
)
from monitoring.psi import FeaturePsi, PsiReference
from retain.config import Config
from retain.errors import RetainError
from retain.files import write_json

JSON_NAME = "drift.json"
HTML_NAME = "drift.html"
EXIT_CODES: dict[str, int] = {"ok": 0, "drift": 1, "error": INPUT_ERROR}
_LISTED_FEATURES = 10  # the message names the worst ones; drift.json has them all


@dataclass(frozen=True)
class DriftResult:
    """The verdict, the one-paragraph message for the log, and where the reports are."""

    status: str
    message: str
    payload: dict[str, Any]
    json_path: Path
    html_path: Path | None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


def feature_drift(
    reference: pd.DataFrame, current: pd.DataFrame, kinds: FeatureKinds, config: Config
) -> dict[str, dict[str, Any]]:
    """PSI and null shares per feature (the fast path: no Evidently, full data)."""
    drift = config.drift
    fitted = PsiReference.fit(reference, kinds.numeric, kinds.categorical, drift.psi_bins)
    measured = fitted.compare(current)
    categorical = set(kinds.categorical)
    return {name: _feature_entry(measured[name], name in categorical, config) for name in kinds.all}


def run_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    config: Config,
    *,
    models: ModelChoice | None = None,
    report: bool = True,
    log_to_mlflow: bool = True,
    progress: Progress | None = None,
) -> DriftResult:
    """Measure every kind of drift, write drift.json (and drift.html), log to MLflow.

    `progress` is an optional rich Progress; its task advances once per step.
    """
    out_dir = Path(out_dir)
    task = progress.add_task("drift: features", total=4) if progress is not None else None

    def step(description: str) -> None:
        if progress is not None and task is not None:
            progress.update(task, advance=1, description=f"drift: {description}")

    kinds = check_windows(reference, current)
    features = feature_drift(reference, current, kinds, config)
    step("scores and outcomes")

    models = models or ModelChoice(models={}, skipped="no model given")
    scores = score_windows(models.models, reference, current) if models.models else {}
    bands = health_bands(models.models)
    if scores:
        # Imported here: the outcome metrics pull in scikit-learn, which a run without a model
        # (the common fast check) never needs.
        from monitoring.outcome import outcome_drift

        prediction = prediction_drift(models.models, scores, bands, config)
        outcome = outcome_drift(reference, current, scores, bands, config)
    else:
        prediction = {"skipped": models.skipped or "no model given"}
        outcome = {"skipped": "no model to score the outcomes with"}

    step("Evidently report")
    html_path: Path | None = None
    report_info: dict[str, Any] = {"skipped": "--no-report"}
    if report:
        html_path, report_info = _evidently(reference, current, kinds, scores, config, out_dir)
        for name, column in report_info.pop("columns", {}).items():
            if name in features:
                features[name]["evidently_statistic"] = column.statistic
                features[name]["evidently_test"] = column.test
    if html_path is None:
        _remove_stale_report(out_dir)

    drifted = [name for name, entry in features.items() if entry["drifted"]]
    drift_share = len(drifted) / len(features)
    drifting_scores = _drifted_parts(prediction)
    drifting_outcomes = _drifted_parts(outcome)
    status = "drift" if drifted or drifting_scores or drifting_outcomes else "ok"
    payload: dict[str, Any] = {
        "status": status,
        "reference": describe_window(reference),
        "current": describe_window(current),
        "features": features,
        "drifted_features": drifted,
        "drift_share": drift_share,
        "dataset_drift": drift_share >= config.drift.drift_share,
        "prediction": prediction,
        "outcome": outcome,
        "report": report_info,
        "thresholds": _thresholds(config),
    }
    message = _message(status, features, drifted, drifting_scores, drifting_outcomes, prediction)
    json_path = out_dir / JSON_NAME
    write_json(json_path, _json_safe(payload))
    step("MLflow")
    if log_to_mlflow:
        from monitoring.tracking import log_drift_run

        payload["mlflow"] = log_drift_run(payload, json_path, html_path, models.models, config)
        write_json(json_path, _json_safe(payload))
    step("done")
    return DriftResult(status, message, payload, json_path, html_path)


def write_error_report(out_dir: str | os.PathLike[str], error: RetainError) -> Path:
    """drift.json with status `error`, so a job reading the file sees why there is no verdict."""
    _remove_stale_report(Path(out_dir))
    return write_json(Path(out_dir) / JSON_NAME, {"status": "error", "error": str(error)})


def _remove_stale_report(out_dir: Path) -> None:
    # A report left by an earlier run beside this run's drift.json would show the wrong windows.
    (out_dir / HTML_NAME).unlink(missing_ok=True)


def _feature_entry(measured: FeaturePsi, categorical: bool, config: Config) -> dict[str, Any]:
    drift = config.drift
    psi_drifted = measured.psi > drift.psi_threshold
    null_jump = abs(measured.null_share_current - measured.null_share_reference)
    null_drifted = null_jump > drift.null_share_delta
    return {
        "type": "categorical" if categorical else "numeric",
        "method": "psi",
        "statistic": measured.psi,
        "p_value": None,
        "psi_drifted": psi_drifted,
        "evidently_statistic": None,
        "evidently_test": None,
        "null_share_reference": measured.null_share_reference,
        "null_share_current": measured.null_share_current,
        "null_drifted": null_drifted,
        "drifted": psi_drifted or null_drifted,
    }


def _evidently(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    kinds: FeatureKinds,
    scores: dict[str, Any],
    config: Config,
    out_dir: Path,
) -> tuple[Path | None, dict[str, Any]]:
    from monitoring.evidently_report import build_report

    numeric = list(kinds.numeric)
    if scores:
        # The scores go into the report too, so a person sees them move beside the features.
        reference = reference.assign(**{f"{t}_score": s[0] for t, s in scores.items()})
        current = current.assign(**{f"{t}_score": s[1] for t, s in scores.items()})
        numeric += [f"{target}_score" for target in scores]
    html_path = out_dir / HTML_NAME
    drift = config.drift
    info: dict[str, Any] = {
        "path": HTML_NAME,
        "sample_rows": drift.report_sample_rows,
        "numerical_stattest": drift.numerical_stattest,
        "numerical_stattest_threshold": drift.numerical_stattest_threshold,
        "categorical_stattest": drift.categorical_stattest,
        "categorical_stattest_threshold": drift.categorical_stattest_threshold,
    }
    try:
        columns = build_report(reference, current, numeric, kinds.categorical, drift, html_path)
    except Exception as error:  # the report is for people; its failure must not hide the verdict
        return None, {**info, "error": f"{type(error).__name__}: {error}"}
    return html_path, {**info, "columns": columns}


def _drifted_parts(section: dict[str, Any]) -> list[str]:
    return [
        name for name, entry in section.items() if isinstance(entry, dict) and entry.get("drifted")
    ]


def _thresholds(config: Config) -> dict[str, Any]:
    drift = config.drift
    return {
        "psi": drift.psi_threshold,
        "psi_bins": drift.psi_bins,
        "null_share_delta": drift.null_share_delta,
        "drift_share": drift.drift_share,
        "outcome_metric_delta": drift.outcome_metric_delta,
    }


def _message(
    status: str,
    features: dict[str, dict[str, Any]],
    drifted: list[str],
    drifting_scores: list[str],
    drifting_outcomes: list[str],
    prediction: dict[str, Any],
) -> str:
    if status == "ok":
        return (
            f"No drift: none of {len(features)} features, scores or outcomes crossed a threshold."
        )
    parts: list[str] = []
    if drifted:
        worst = sorted(drifted, key=lambda name: -features[name]["statistic"])
        described = [_describe_feature(name, features[name]) for name in worst[:_LISTED_FEATURES]]
        more = len(worst) - _LISTED_FEATURES
        parts.append(
            f"{len(drifted)} of {len(features)} features drifted: {', '.join(described)}"
            + (f" and {more} more" if more > 0 else "")
        )
    if drifting_scores:
        scores = ", ".join(f"{name} PSI {prediction[name]['psi']:.3f}" for name in drifting_scores)
        parts.append(f"predictions drifted: {scores}")
    if drifting_outcomes:
        parts.append(f"outcomes drifted: {', '.join(drifting_outcomes)}")
    return "Drift: " + "; ".join(parts) + "."


def _describe_feature(name: str, entry: dict[str, Any]) -> str:
    text = f"{name} (PSI {entry['statistic']:.3f}"
    if entry["null_drifted"]:
        text += (
            f", missing {entry['null_share_reference']:.0%} -> {entry['null_share_current']:.0%}"
        )
    return text + ")"


def _json_safe(value: Any) -> Any:
    # Strict JSON has no NaN or Infinity; an undefined metric is null.
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
