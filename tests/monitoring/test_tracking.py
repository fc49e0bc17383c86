from monitoring.drift import run_drift
from monitoring.prediction import load_models
from retain.config import Config


def test_a_drift_check_is_an_mlflow_run_with_both_reports(
    tmp_path, monkeypatch, mlflow_store, saved_models, reference, current
):
    import mlflow

    uri = mlflow_store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    current = current.assign(seat_utilization=current["seat_utilization"] * 0.3)
    models = load_models(Config(), alias=None, model_path=str(saved_models))
    result = run_drift(reference, current, tmp_path / "out", Config(), models=models)

    run_id = result.payload["mlflow"]["run_id"]
    run = mlflow.MlflowClient(tracking_uri=uri).get_run(run_id)
    assert run.data.metrics["drift_share"] == result.payload["drift_share"]
    assert run.data.metrics["drifted_features"] == 1.0
    assert "churn_score_psi" in run.data.metrics
    assert run.data.tags["retain.drift_status"] == "drift"
    assert run.data.tags["retain.churn_model"] == "churn"
    artifacts = {
        a.path for a in mlflow.MlflowClient(tracking_uri=uri).list_artifacts(run_id, "drift")
    }
    assert artifacts == {"drift/drift.json", "drift/drift.html"}
    assert run.data.metrics["failing_features"] == 1.0
    experiment = mlflow.MlflowClient(tracking_uri=uri).get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
