"""Prediction drift: the churn and expansion score distributions and the health-band mix.

Both windows are scored with the monitored model (a registry alias or a saved model folder), so
a move in the scores reflects the data, not a change of model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.frame import TARGETS
from monitoring.inputs import INPUT_ERROR
from monitoring.psi import numeric_psi, psi_from_counts
from retain.config import Config
from retain.errors import RetainError

BANDS: tuple[str, ...] = ("green", "yellow", "red")
_QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class MonitoredModel:
    """One target's model and where it came from (tagged on the MLflow run)."""

    target: str
    model: Any  # training.SegmentedModel (sklearn contract: predict_proba, bands_)
    name: str
    version: str | None
    source: str


@dataclass(frozen=True)
class ModelChoice:
    """The models to score with, or why prediction drift is skipped."""

    models: dict[str, MonitoredModel]
    skipped: str | None = None


def load_models(config: Config, *, alias: str | None, model_path: str | None) -> ModelChoice:
    """Models by registry alias or saved folder; without either, the champion when one exists.

    A model asked for explicitly that cannot be loaded is an error (exit 2); the implicit
    champion being absent only skips prediction drift.
    """
    if alias is not None and model_path is not None:
        raise RetainError("Give --model or --model-path, not both.", exit_code=INPUT_ERROR)
    if model_path is not None:
        return ModelChoice(models=_load_saved(Path(model_path)))
    if alias is not None:
        return ModelChoice(models=_load_registered(config, alias, explicit=True))
    reason = _registry_absent(config)
    if reason is not None:
        return ModelChoice(models={}, skipped=reason)
    models = _load_registered(config, "champion", explicit=False)
    if not models:
        return ModelChoice(models={}, skipped="no champion model in the MLflow registry")
    return ModelChoice(models=models)


def score_windows(
    models: dict[str, MonitoredModel], reference: pd.DataFrame, current: pd.DataFrame
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Positive-class probabilities per target on (reference, current)."""
    scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for target, monitored in models.items():
        try:
            scores[target] = (
                np.asarray(monitored.model.predict_proba(reference)[:, 1], dtype=float),
                np.asarray(monitored.model.predict_proba(current)[:, 1], dtype=float),
            )
        except RetainError as error:
            raise RetainError(str(error), exit_code=INPUT_ERROR) from error
        except (KeyError, ValueError, TypeError) as error:
            raise RetainError(
                f"The {target} model {monitored.name} cannot score these feature files: "
                f"{type(error).__name__}: {error}",
                exit_code=INPUT_ERROR,
            ) from error
    return scores


def health_bands(models: dict[str, MonitoredModel]) -> dict[str, float] | None:
    """The churn model's band cut-offs, when a churn model with bands is monitored."""
    churn = models.get("churn")
    bands = getattr(churn.model, "bands_", None) if churn is not None else None
    return dict(bands) if bands else None


def prediction_drift(
    models: dict[str, MonitoredModel],
    scores: dict[str, tuple[np.ndarray, np.ndarray]],
    bands: dict[str, float] | None,
    config: Config,
) -> dict[str, Any]:
    """Score PSI per target and the band-mix PSI, each against `config.drift.psi_threshold`."""
    threshold = config.drift.psi_threshold
    result: dict[str, Any] = {}
    for target, (reference, current) in scores.items():
        psi = numeric_psi(pd.Series(reference), pd.Series(current), config.drift.psi_bins)
        monitored = models[target]
        result[target] = {
            "model": monitored.name,
            "version": monitored.version,
            "psi": psi,
            "drifted": psi > threshold,
            "mean_reference": _mean(reference),
            "mean_current": _mean(current),
            "quantiles_reference": _quantiles(reference),
            "quantiles_current": _quantiles(current),
        }
    if bands is not None and "churn" in scores:
        reference_bands, current_bands = (band_labels(s, bands) for s in scores["churn"])
        reference_counts = _band_counts(reference_bands)
        current_counts = _band_counts(current_bands)
        psi = psi_from_counts(reference_counts, current_counts)
        result["bands"] = {
            "cut_offs": bands,
            "share_reference": _shares(reference_counts),
            "share_current": _shares(current_counts),
            "psi": psi,
            "drifted": psi > threshold,
        }
    return result


def band_labels(churn_scores: np.ndarray, bands: dict[str, float]) -> np.ndarray:
    """Health band of each churn probability (training.bands.band_of)."""
    from training.bands import band_of

    return np.asarray(band_of(churn_scores, bands), dtype=str)


def _load_saved(path: Path) -> dict[str, MonitoredModel]:
    from training.segmented import SegmentedModel

    if not path.is_dir():
        raise RetainError(f"Model folder {path} does not exist.", exit_code=INPUT_ERROR)
    # A folder of per-target models (churn/, expansion/) or one saved model.
    per_target = {target: path / target for target in TARGETS if (path / target).is_dir()}
    folders = per_target or {"": path}
    models: dict[str, MonitoredModel] = {}
    for hint, folder in folders.items():
        try:
            model = SegmentedModel.load(folder)
        except RetainError as error:
            raise RetainError(str(error), exit_code=INPUT_ERROR) from error
        except Exception as error:  # a damaged model folder fails in LightGBM, JSON or OS calls
            raise RetainError(
                f"Cannot load the saved model in {folder}: {type(error).__name__}: {error}",
                exit_code=INPUT_ERROR,
            ) from error
        target = str(getattr(model, "target", None) or hint)
        if target not in TARGETS:
            raise RetainError(
                f"The model in {folder} predicts {target!r}; drift monitors "
                f"{' and '.join(TARGETS)} models.",
                exit_code=INPUT_ERROR,
            )
        models[target] = MonitoredModel(
            target=target, model=model, name=folder.name, version=None, source=str(folder)
        )
    return models


def _load_registered(config: Config, alias: str, *, explicit: bool) -> dict[str, MonitoredModel]:
    try:
        from training.registry import load_registered
    except ImportError as error:
        if explicit:
            raise RetainError(
                f"Cannot load the {alias!r} model: the model registry is not available ({error}).",
                exit_code=INPUT_ERROR,
            ) from error
        return {}
    models: dict[str, MonitoredModel] = {}
    failures: list[str] = []
    for target in TARGETS:
        try:
            model, ref = load_registered(target, alias, config)
        except Exception as error:  # absent alias, unreachable store, damaged artifacts
            failures.append(f"{target}: {error}")
            continue
        models[target] = MonitoredModel(
            target=target,
            model=model,
            name=str(ref.name),
            version=None if ref.version is None else str(ref.version),
            source=f"models:/{ref.name}@{ref.alias or alias}",
        )
    if explicit and not models:
        raise RetainError(
            f"No {alias!r} model could be loaded from the MLflow registry at "
            f"{config.tracking.resolved_tracking_uri()} ({'; '.join(failures)}).",
            exit_code=INPUT_ERROR,
        )
    return models


def _registry_absent(config: Config) -> str | None:
    # Looking up a champion in a SQLite store that does not exist would create an empty database
    # as a side effect of a read-only monitoring job.
    uri = config.tracking.resolved_tracking_uri()
    if uri.startswith("sqlite:///"):
        database = uri.removeprefix("sqlite:///")
        if not os.path.isfile(database):
            return f"no MLflow registry at {uri} and no --model/--model-path given"
    return None


def _band_counts(labels: np.ndarray) -> np.ndarray:
    return np.array([float(np.sum(labels == band)) for band in BANDS])


def _shares(counts: np.ndarray) -> dict[str, float]:
    total = counts.sum()
    return {band: float(c / total) if total else 0.0 for band, c in zip(BANDS, counts, strict=True)}


def _mean(values: np.ndarray) -> float | None:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else None


def _quantiles(values: np.ndarray) -> dict[str, float] | None:
    finite = values[~np.isnan(values)]
    if not finite.size:
        return None
    return {f"p{round(q * 100)}": float(np.quantile(finite, q)) for q in _QUANTILES}
