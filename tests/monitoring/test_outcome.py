import numpy as np
import pytest

from monitoring.outcome import outcome_drift
from retain.config import Config
from tests.monitoring.conftest import feature_frame

BANDS = {"green_below": 0.3, "red_from": 0.6}


def _informative_scores(labels: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(0.2 + 0.5 * labels + rng.normal(0, 0.15, labels.size), 0.0, 1.0)


def test_a_model_that_stays_good_has_no_outcome_drift(reference, current):
    scores = {
        "churn": (
            _informative_scores(reference["churn"].to_numpy(), 0),
            _informative_scores(current["churn"].to_numpy(), 1),
        )
    }
    result = outcome_drift(reference, current, scores, BANDS, Config())
    churn = result["churn"]
    assert churn["reference"]["roc_auc"] > 0.9
    assert not churn["drifted"]
    assert abs(churn["roc_auc_drop"]) < 0.05
    rates = churn["renewal_rate_by_band"]["current"]
    assert rates["green"] > rates["red"]


def test_a_model_that_lost_its_signal_drifts_on_auc(reference, current):
    rng = np.random.default_rng(2)
    scores = {
        "churn": (
            _informative_scores(reference["churn"].to_numpy(), 0),
            rng.uniform(0, 1, len(current)),
        )
    }
    churn = outcome_drift(reference, current, scores, BANDS, Config())["churn"]
    assert churn["drifted"]
    assert churn["roc_auc_drop"] > 0.3
    assert churn["current"]["roc_auc"] == pytest.approx(0.5, abs=0.06)


def test_censored_rows_are_not_counted_as_negatives(reference, current):
    current = current.assign(churn=current["churn"].where(current.index < 500))
    scores = {
        "churn": (
            _informative_scores(reference["churn"].to_numpy(), 0),
            _informative_scores(current["churn"].fillna(0).to_numpy(), 1),
        )
    }
    churn = outcome_drift(reference, current, scores, None, Config())["churn"]
    assert churn["current"]["rows"] == 500
    assert "renewal_rate_by_band" not in churn


def test_unknown_current_labels_skip_outcome_drift(reference, current):
    current = current.assign(churn=np.nan, label_known=False)
    scores = {"churn": (np.full(len(reference), 0.2), np.full(len(current), 0.2))}
    result = outcome_drift(reference, current, scores, BANDS, Config())
    assert result == {"skipped": "no known churn labels in the current window"}


def test_without_scores_outcome_drift_is_skipped(reference, current):
    assert "skipped" in outcome_drift(reference, current, {}, None, Config())


def _monitored(saved_models):
    from monitoring.prediction import load_models

    return load_models(Config(), alias=None, model_path=str(saved_models)).models


def test_a_reference_window_that_trained_the_model_is_replaced_by_its_validation_auc(
    saved_models,
):
    models = _monitored(saved_models)
    model = models["churn"].model
    # The fixture model trained on as_of 2024-01 .. 2024-05 (2024-05 validated it).
    reference = feature_frame(800, seed=3, as_of="2024-02-01")
    current = feature_frame(800, seed=4, as_of="2025-04-01")
    scores = {"churn": tuple(model.predict_proba(frame)[:, 1] for frame in (reference, current))}
    result = outcome_drift(reference, current, scores, None, Config(), models=models)["churn"]
    assert result["basis"].startswith("the model's out-of-time validation (time: churn_known_at")
    assert result["reference"]["roc_auc"] == pytest.approx(model.metrics_["__all__"]["roc_auc"])
    assert result["ece_rise"] is None
    assert result["roc_auc_drop"] == pytest.approx(
        model.metrics_["__all__"]["roc_auc"] - result["current"]["roc_auc"]
    )
    # Without the models, the same windows are compared as they are (in-sample reference).
    plain = outcome_drift(reference, current, scores, None, Config())["churn"]
    assert plain["basis"] == "reference window"
    assert plain["reference"]["rows"] == len(reference)


def test_a_current_window_that_trained_the_model_is_not_checked(saved_models):
    models = _monitored(saved_models)
    model = models["churn"].model
    reference = feature_frame(800, seed=3, as_of="2025-01-01")
    current = feature_frame(800, seed=4, as_of="2024-03-01")
    scores = {"churn": tuple(model.predict_proba(frame)[:, 1] for frame in (reference, current))}
    result = outcome_drift(reference, current, scores, None, Config(), models=models)
    assert "its AUC is in-sample" in result["skipped"]
