"""The drift stage: compare a current window with a reference window, decide, and write reports.

One verdict, rendered twice: drift.json and drift.html come from the same payload. It comes from
the PSI fast path on the full data and the explicit null-share check, plus prediction and
outcome drift when a model is available. Structural features (`drift.ignore_features`: they
move with the calendar by design) are measured and shown but never decide; drift in a feature
no monitored model uses is reported without failing the check (`drift.fail_on`). Evidently's
per-feature charts, on a sample, sit in drift.html as a second view labelled as Evidently's.
"""

from __future__ import annotations

import fnmatch
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from rich.progress import Progress

from monitoring.evidently_report import EvidentlyView
from monitoring.importance import importance_by_feature
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
from retain.files import write_json, write_text

JSON_NAME = "drift.json"
HTML_NAME = "drift.html"
EXIT_CODES: dict[str, int] = {"ok": 0, "drift": 1, "error": INPUT_ERROR}
_LISTED = 10  # the message names the worst ones; drift.json has them all
# What may make the check exit 1 (`drift.fail_on`).
FAIL_ON: tuple[str, ...] = ("used_features", "features", "scores", "outcomes")


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


def structural(name: str, config: Config) -> bool:
    """Whether `name` is one of `drift.ignore_features` (names or fnmatch patterns)."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in config.drift.ignore_features)


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
    """Measure every kind of drift, decide, write drift.json and drift.html, log to MLflow.

    drift.html renders drift.json's verdict (the same features, thresholds and decision) and
    adds Evidently's per-feature charts as a second view. `progress` is an optional rich
    Progress; its task advances once per step.
    """
    out_dir = Path(out_dir)
    _check_fail_on(config)
    task = progress.add_task("drift: features", total=4) if progress is not None else None

    def step(description: str) -> None:
        if progress is not None and task is not None:
            progress.update(task, advance=1, description=f"drift: {description}")

    kinds = check_windows(reference, current)
    features = feature_drift(reference, current, kinds, config)
    models = models or ModelChoice(models={}, skipped="no model given")
    importance = importance_by_feature(models.models)
    _decide_features(features, importance, config)
    step("scores and outcomes")

    scores = score_windows(models.models, reference, current) if models.models else {}
    bands = health_bands(models.models)
    if scores:
        # Imported here: the outcome metrics pull in scikit-learn, which a run without a model
        # (the common fast check) never needs.
        from monitoring.outcome import outcome_drift

        prediction = prediction_drift(models.models, scores, bands, config)
        outcome = outcome_drift(reference, current, scores, bands, config, models=models.models)
    else:
        prediction = {"skipped": models.skipped or "no model given"}
        outcome = {"skipped": "no model to score the outcomes with"}

    counted = [name for name, entry in features.items() if not entry["ignored"]]
    # Worst first, everywhere a list of features is given.
    drifted = sorted(
        (name for name in counted if features[name]["drifted"]),
        key=lambda name: -features[name]["statistic"],
    )
    failing = [name for name in drifted if features[name]["fails"]]
    drift_share = len(drifted) / len(counted) if counted else 0.0
    fail_on = set(config.drift.fail_on)
    drifting_scores = _drifted_parts(prediction)
    drifting_outcomes = _drifted_parts(outcome)
    failing_parts = [
        *(["features"] if failing else []),
        *(["scores"] if "scores" in fail_on and drifting_scores else []),
        *(["outcomes"] if "outcomes" in fail_on and drifting_outcomes else []),
    ]
    status = "drift" if failing_parts else "ok"
    top = _top_features(features, counted, config.drift.top_features)
    payload: dict[str, Any] = {
        "status": status,
        "exit_code": EXIT_CODES[status],
        "failing": failing_parts,
        "reference": describe_window(reference),
        "current": describe_window(current),
        "features": features,
        "drifted_features": drifted,
        "failing_features": failing,
        "ignored_features": [name for name, entry in features.items() if entry["ignored"]],
        "top_features": top,
        "importance": _importance_note(importance, models),
        "drift_share": drift_share,
        "dataset_drift": drift_share >= config.drift.drift_share,
        "prediction": prediction,
        "outcome": outcome,
        "report": {"skipped": "--no-report"},
        "thresholds": _thresholds(config),
    }
    payload["message"] = _message(payload, drifting_scores, drifting_outcomes)

    step("Evidently charts")
    html_path: Path | None = None
    view = None
    if report:
        view, payload["report"] = _evidently(reference, current, kinds, scores, features, config)
        for name, column in (view.columns if view is not None else {}).items():
            if name in features:
                features[name]["evidently_statistic"] = column.statistic
                features[name]["evidently_test"] = column.test
    json_path = out_dir / JSON_NAME
    write_json(json_path, _json_safe(payload))
    if report:
        from monitoring.page import render_page

        html_path = write_text(out_dir / HTML_NAME, render_page(_json_safe(payload), view))
    else:
        _remove_stale_report(out_dir)
    step("MLflow")
    if log_to_mlflow:
        from monitoring.tracking import log_drift_run

        payload["mlflow"] = log_drift_run(payload, json_path, html_path, models.models, config)
        write_json(json_path, _json_safe(payload))
    step("done")
    return DriftResult(status, payload["message"], payload, json_path, html_path)


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


def _decide_features(
    features: dict[str, dict[str, Any]],
    importance: dict[str, dict[str, float]] | None,
    config: Config,
) -> None:
    """Add `ignored`, `importance`, `used_by_model` and `fails` to each feature's entry.

    A structural feature is measured but never drifted; without a model to say which features
    are used, every feature counts under "used_features".
    """
    fail_on = set(config.drift.fail_on)
    for name, entry in features.items():
        ignored = structural(name, config)
        shares = None if importance is None else importance.get(name, {})
        used = None if shares is None else any(share > 0 for share in shares.values())
        entry["ignored"] = ignored
        entry["drifted"] = bool(entry["drifted"] and not ignored)
        entry["importance"] = shares
        entry["used_by_model"] = used
        entry["fails"] = entry["drifted"] and (
            "features" in fail_on or ("used_features" in fail_on and used is not False)
        )


def _check_fail_on(config: Config) -> None:
    unknown = sorted(set(config.drift.fail_on) - set(FAIL_ON))
    if unknown:
        raise RetainError(
            f"[drift] fail_on has {', '.join(map(repr, unknown))}; use any of "
            f"{', '.join(FAIL_ON)}.",
            exit_code=INPUT_ERROR,
        )


def _top_features(
    features: dict[str, dict[str, Any]], counted: list[str], top: int
) -> list[dict[str, Any]]:
    """The counted features by PSI, worst first (drifted on null share alone go first too)."""
    worst = sorted(
        counted, key=lambda name: (-features[name]["drifted"], -features[name]["statistic"])
    )
    return [
        {
            "feature": name,
            "psi": features[name]["statistic"],
            "null_share_reference": features[name]["null_share_reference"],
            "null_share_current": features[name]["null_share_current"],
            "importance": features[name]["importance"],
            "used_by_model": features[name]["used_by_model"],
            "drifted": features[name]["drifted"],
            "fails": features[name]["fails"],
        }
        for name in worst[:top]
    ]


def _importance_note(
    importance: dict[str, dict[str, float]] | None, models: ModelChoice
) -> dict[str, Any]:
    if importance is None:
        reason = models.skipped or "the monitored models have no LightGBM boosters"
        return {
            "available": False,
            "note": f"no model importance ({reason}): every drifted feature counts as used",
        }
    return {
        "available": True,
        "basis": "share of the total split gain of each monitored model's boosters",
        "models": {target: m.name for target, m in models.models.items()},
    }


def _evidently(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    kinds: FeatureKinds,
    scores: dict[str, Any],
    features: dict[str, dict[str, Any]],
    config: Config,
) -> tuple[EvidentlyView | None, dict[str, Any]]:
    from monitoring.evidently_report import build_view

    numeric = list(kinds.numeric)
    if scores:
        # The scores go into the charts too, so a person sees them move beside the features.
        reference = reference.assign(**{f"{t}_score": s[0] for t, s in scores.items()})
        current = current.assign(**{f"{t}_score": s[1] for t, s in scores.items()})
        numeric += [f"{target}_score" for target in scores]
    drift = config.drift
    info: dict[str, Any] = {
        "path": HTML_NAME,
        "evidently_sample_rows": drift.report_sample_rows,
        "numerical_stattest": drift.numerical_stattest,
        "numerical_stattest_threshold": drift.numerical_stattest_threshold,
        "categorical_stattest": drift.categorical_stattest,
        "categorical_stattest_threshold": drift.categorical_stattest_threshold,
    }
    # The job's worst first, structural features last: the charts follow the verdict's order.
    order = [
        *(f"{target}_score" for target in scores),
        *sorted(features, key=lambda n: (features[n]["ignored"], -features[n]["statistic"])),
    ]
    try:
        view = build_view(reference, current, numeric, kinds.categorical, drift, order=order)
    except Exception as error:  # the charts are for people; their failure must not hide the verdict
        return None, {**info, "error": f"{type(error).__name__}: {error}"}
    return view, {**info, "evidently_rows": list(view.sample_rows)}


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
        "ignore_features": list(drift.ignore_features),
        "fail_on": list(drift.fail_on),
    }


def _message(
    payload: dict[str, Any], drifting_scores: list[str], drifting_outcomes: list[str]
) -> str:
    """One paragraph: what fails the check, then what moved without failing it, then what was
    set aside as structural."""
    features = payload["features"]
    counted = len(features) - len(payload["ignored_features"])
    prediction = payload["prediction"]
    failing, notes = [], []
    if payload["failing_features"]:
        names = payload["failing_features"]
        failing.append(
            f"{len(names)} of {counted} features drifted: "
            + ", ".join(_describe_feature(name, features[name]) for name in names[:_LISTED])
            + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")
        )
    unused = [name for name in payload["drifted_features"] if not features[name]["fails"]]
    if unused:
        notes.append(
            "drifted, but no monitored model uses it: "
            + ", ".join(_describe_feature(name, features[name]) for name in unused[:_LISTED])
        )
    if drifting_scores:
        text = "predictions drifted: " + ", ".join(
            f"{name} PSI {prediction[name]['psi']:.3f}" for name in drifting_scores
        )
        (failing if "scores" in payload["failing"] else notes).append(text)
    if drifting_outcomes:
        text = f"outcomes drifted: {', '.join(drifting_outcomes)}"
        (failing if "outcomes" in payload["failing"] else notes).append(text)
    if failing:
        message = "Drift: " + "; ".join(failing)
    else:
        message = f"No drift to act on in {counted} features, the scores or the outcomes"
    if notes:
        message += " (not failing the check: " + "; ".join(notes) + ")"
    if payload["ignored_features"]:
        message += ". Set aside as structural (drift.ignore_features): " + ", ".join(
            f"{name} PSI {features[name]['statistic']:.3f}" for name in payload["ignored_features"]
        )
    return message + "."


def _describe_feature(name: str, entry: dict[str, Any]) -> str:
    text = f"{name} (PSI {entry['statistic']:.3f}"
    if entry["null_drifted"]:
        text += (
            f", missing {entry['null_share_reference']:.0%} -> {entry['null_share_current']:.0%}"
        )
    if entry.get("importance"):
        text += ", importance " + ", ".join(
            f"{target} {share_text(share)}" for target, share in entry["importance"].items()
        )
    return text + ")"


def share_text(share: float | None) -> str:
    """A gain share as a percentage; a feature used a little is never shown as 0.0%."""
    if share is None:
        return "-"
    return "<0.1%" if 0 < share < 0.0005 else f"{share:.1%}"


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
