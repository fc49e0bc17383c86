"""Outcome drift: once the current window's labels are known, did the model stay as good?

ROC-AUC and calibration (ECE) per target, and the renewal rate per health band, each in the
current window against the reference window. Only rows whose outcome is known count: censored
rows (label NaN) are not negatives.

A window whose snapshots trained the model's boosters (as_of before its out-of-time rows,
`data_window_`) has an in-sample AUC: against it, an honest out-of-time window always looks
worse. A reference window of that kind is replaced by the model's own out-of-time validation
AUC; a current window of that kind cannot be checked.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from evaluation.metrics import band_renewal_rates, expected_calibration_error, roc_auc
from monitoring.prediction import band_labels
from retain.config import Config


def outcome_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    scores: dict[str, tuple[np.ndarray, np.ndarray]],
    bands: dict[str, float] | None,
    config: Config,
    models: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Per target: AUC and ECE on both windows; drifted when AUC falls or ECE rises too far.

    `models` (target -> monitoring.prediction.MonitoredModel) lets the check see which windows
    trained the model."""
    if not scores:
        return {"skipped": "no model to score the outcomes with"}
    delta = config.drift.outcome_metric_delta
    result: dict[str, Any] = {}
    for target, (reference_scores, current_scores) in scores.items():
        reference_labels = _known_labels(reference, target)
        current_labels = _known_labels(current, target)
        if current_labels is None or not current_labels.notna().any():
            result[target] = {"skipped": f"no known {target} labels in the current window"}
            continue
        if reference_labels is None or not reference_labels.notna().any():
            result[target] = {"skipped": f"no known {target} labels in the reference window"}
            continue
        reference_window = _metrics(reference_labels, reference_scores)
        current_window = _metrics(current_labels, current_scores)
        model = getattr((models or {}).get(target), "model", None)
        if model is not None and _trained_on(current, model, target):
            result[target] = {
                "skipped": f"the current window's {target} outcomes trained the model "
                f"({model.validation_split_} validated it): its AUC is in-sample",
                "current": current_window,
            }
            continue
        basis = "reference window"
        if model is not None and _trained_on(reference, model, target):
            # In-sample: compare with what the model scored on rows it had not seen instead.
            basis = (
                f"the model's out-of-time validation ({model.validation_split_}): the "
                f"reference window trained the model, its AUC "
                f"{reference_window['roc_auc']:.3f} is in-sample"
            )
            reference_window = _validation_metrics(model)
        auc_drop = reference_window["roc_auc"] - current_window["roc_auc"]
        ece_rise = current_window["ece"] - reference_window["ece"]
        entry: dict[str, Any] = {
            "basis": basis,
            "reference": reference_window,
            "current": current_window,
            "roc_auc_drop": _finite_or_none(auc_drop),
            "ece_rise": _finite_or_none(ece_rise),
            # NaN (one class only in a window) is unknown, not drift.
            "drifted": bool(auc_drop > delta or ece_rise > delta),
        }
        if target == "churn" and bands is not None:
            entry["renewal_rate_by_band"] = {
                "reference": _renewal_rates(reference_labels, reference_scores, bands),
                "current": _renewal_rates(current_labels, current_scores, bands),
            }
        result[target] = entry
    if all("skipped" in entry for entry in result.values()):
        return {"skipped": "; ".join(entry["skipped"] for entry in result.values())}
    return result


_TIME_SPLIT = re.compile(r"^time: (?P<column>\w+) >= (?P<date>\d{4}-\d{2}-\d{2})")


def _split(model: Any) -> tuple[str, pd.Timestamp] | None:
    """(column, first validation date) of the model's time hold-out (training._split)."""
    match = _TIME_SPLIT.match(str(getattr(model, "validation_split_", "")))
    return (match["column"], pd.Timestamp(match["date"])) if match else None


def _trained_on(frame: pd.DataFrame, model: Any, target: str) -> bool:
    """Whether most of the window's known outcomes were training rows of the model's boosters:
    in its data window and known before its hold-out began."""
    split = _split(model)
    if split is None or split[0] not in frame.columns or "as_of" not in frame.columns:
        return False
    column, first_valid = split
    first_as_of = pd.Timestamp((getattr(model, "data_window_", None) or {}).get("first_as_of"))
    known = pd.to_numeric(frame[target], errors="coerce").notna()
    as_of = pd.to_datetime(frame["as_of"], errors="coerce")
    trained = known & (as_of >= first_as_of) & (pd.to_datetime(frame[column]) < first_valid)
    return bool(known.any() and trained.sum() > 0.5 * known.sum())


def _validation_metrics(model: Any) -> dict[str, Any]:
    # The model records AUC on its out-of-time rows but not ECE, and the window's own ECE is
    # in-sample too (its margins are the booster's fit): no calibration comparison then.
    recorded = (getattr(model, "metrics_", None) or {}).get("__all__", {})
    return {
        "rows": recorded.get("valid_rows"),
        "positive_rate": None,
        "mean_score": None,
        "roc_auc": float(recorded.get("roc_auc", float("nan"))),
        "ece": float("nan"),
        "source": "model validation (out-of-time rows)",
    }


def _known_labels(frame: pd.DataFrame, target: str) -> pd.Series | None:
    if target not in frame.columns:
        return None
    # A label is NaN until its outcome is known (censored), so the values alone say what is known.
    return pd.to_numeric(frame[target], errors="coerce").reset_index(drop=True)


def _metrics(labels: pd.Series, scores: np.ndarray) -> dict[str, Any]:
    known = labels.notna().to_numpy() & ~np.isnan(scores)
    y = labels.to_numpy(dtype=float)[known]
    p = scores[known]
    return {
        "rows": int(known.sum()),
        "positive_rate": float(y.mean()) if y.size else None,
        "mean_score": float(p.mean()) if p.size else None,
        "roc_auc": roc_auc(y, p),
        "ece": expected_calibration_error(y, p),
    }


def _renewal_rates(
    labels: pd.Series, churn_scores: np.ndarray, bands: dict[str, float]
) -> dict[str, float | None]:
    known = labels.notna().to_numpy()
    rates = band_renewal_rates(
        labels.to_numpy(dtype=float)[known], band_labels(churn_scores[known], bands)
    )
    return {band: _finite_or_none(rate) for band, rate in rates.items()}


def _finite_or_none(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)
