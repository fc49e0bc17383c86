import pytest

from monitoring.prediction import (
    health_bands,
    load_models,
    prediction_drift,
    score_windows,
)
from retain.config import Config
from retain.errors import RetainError


def test_a_folder_of_per_target_models_loads_both(saved_models):
    choice = load_models(Config(), alias=None, model_path=str(saved_models))
    assert choice.skipped is None
    assert set(choice.models) == {"churn", "expansion"}
    assert choice.models["churn"].name == "churn"
    bands = health_bands(choice.models)
    assert {"green_below", "red_from"} <= set(bands)
    assert bands["green_below"] <= bands["red_from"]


def test_a_single_saved_model_folder_loads_its_target(saved_models):
    choice = load_models(Config(), alias=None, model_path=str(saved_models / "expansion"))
    assert set(choice.models) == {"expansion"}
    assert health_bands(choice.models) is None  # bands live on churn probability


def test_a_missing_model_folder_is_an_exit_2_error(tmp_path):
    with pytest.raises(RetainError, match="does not exist") as e:
        load_models(Config(), alias=None, model_path=str(tmp_path / "nope"))
    assert e.value.exit_code == 2


def test_a_folder_without_a_model_is_an_exit_2_error(tmp_path):
    with pytest.raises(RetainError, match="No saved SegmentedModel") as e:
        load_models(Config(), alias=None, model_path=str(tmp_path))
    assert e.value.exit_code == 2


def test_without_a_registry_prediction_drift_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/absent.db")
    choice = load_models(Config(), alias=None, model_path=None)
    assert choice.models == {}
    assert "no MLflow registry" in choice.skipped
    assert not (tmp_path / "absent.db").exists()  # a read-only check creates no database


def test_an_explicit_alias_that_cannot_load_is_an_exit_2_error(mlflow_store, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_store)
    with pytest.raises(RetainError, match="challenger") as e:
        load_models(Config(), alias="challenger", model_path=None)
    assert e.value.exit_code == 2


def test_model_and_model_path_together_are_an_error(saved_models):
    with pytest.raises(RetainError, match="not both"):
        load_models(Config(), alias="champion", model_path=str(saved_models))


def test_same_window_has_no_prediction_drift(saved_models, reference):
    models = load_models(Config(), alias=None, model_path=str(saved_models)).models
    scores = score_windows(models, reference, reference.copy())
    result = prediction_drift(models, scores, health_bands(models), Config())
    assert result["churn"]["psi"] == 0.0
    assert not result["churn"]["drifted"]
    assert not result["expansion"]["drifted"]
    assert result["bands"]["share_reference"] == result["bands"]["share_current"]
    assert sum(result["bands"]["share_current"].values()) == pytest.approx(1.0)


def test_collapsing_usage_moves_churn_scores_and_the_band_mix(saved_models, reference, current):
    models = load_models(Config(), alias=None, model_path=str(saved_models)).models
    idle = current.assign(active_users_28d=0.0, seat_utilization=0.0, days_since_last_activity=90.0)
    scores = score_windows(models, reference, idle)
    result = prediction_drift(models, scores, health_bands(models), Config())
    assert result["churn"]["drifted"]
    assert result["churn"]["mean_current"] > result["churn"]["mean_reference"]
    assert result["bands"]["drifted"]
    assert result["bands"]["share_current"]["red"] > result["bands"]["share_reference"]["red"]
