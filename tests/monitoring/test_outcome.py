import numpy as np
import pytest

from monitoring.outcome import outcome_drift
from retain.config import Config

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
