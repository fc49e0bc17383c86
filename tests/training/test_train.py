from __future__ import annotations

import mlflow
import pytest
from mlflow import MlflowClient

from training.train import TrainResult, train


@pytest.fixture(scope="module")
def trained(frame, config, tmp_path_factory) -> TrainResult:
    """One `train` into a fresh SQLite MLflow store (artifacts under the same tmp folder)."""
    folder = tmp_path_factory.mktemp("mlflow")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow.db'}")
        result = train(frame, ("churn", "expansion"), config, experiment="test")
        yield result
    mlflow.set_tracking_uri(None)


def test_parent_run_with_a_child_run_per_target_and_segment(trained):
    client = MlflowClient(trained.tracking_uri)
    experiment = client.get_experiment_by_name("test")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    children = {r.info.run_name: r for r in runs if r.info.run_id != trained.run_id}
    assert all(r.data.tags.get("mlflow.parentRunId") == trained.run_id for r in children.values())
    for target in ("churn", "expansion"):
        for segment in ("Enterprise", "Mid-Market", "SMB"):
            run = children[f"{target}/{segment}"]
            assert {"valid_roc_auc", "valid_pr_auc", "valid_brier", "valid_log_loss"} <= set(
                run.data.metrics
            )
            assert {"train_rows", "train_positives"} <= set(run.data.metrics)
            assert run.data.params["data_window"].startswith("2024-01-01..")
            artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
            assert artifacts == {
                "plots/feature_importance.png",
                "plots/shap_summary.png",
                "plots/calibration.png",
            }
            assert "features.json" in {a.path for a in client.list_artifacts(run.info.run_id)}
        for name in ("global", "logistic", "scorecard"):
            assert f"{target}/{name}" in children
    assert children["churn/Enterprise"].data.params["strategy"] == "global"
    assert children["churn/SMB"].data.params["strategy"] == "own"


def test_segmented_models_are_registered_as_challenger(trained):
    client = MlflowClient(trained.tracking_uri)
    for target in ("churn", "expansion"):
        ref = trained.refs[target]
        assert (ref.name, ref.alias) == (f"retain-{target}", "challenger")
        version = client.get_model_version_by_alias(ref.name, "challenger")
        assert str(version.version) == ref.version
        assert version.tags["parent_run_id"] == trained.run_id


def test_metrics_table_compares_models_side_by_side(trained):
    table = trained.metrics
    churn = table[(table["target"] == "churn") & (table["segment"] == "all")]
    assert list(churn["model"]) == ["segmented", "global", "logistic", "scorecard"]
    assert (churn["valid_rows"] == 300).all()
    assert churn["roc_auc"].between(0.5, 1.0).all()
