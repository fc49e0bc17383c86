"""End to end on a small simulated dataset: `retain train` (features built from the source, a
short tuning run) and `retain promote`, against real SQLite MLflow and Optuna stores."""

from __future__ import annotations

import mlflow
import optuna
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from retain.cli import app
from retain.errors import RetainError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from simulator import simulate

    folder = tmp_path_factory.mktemp("e2e")
    simulate(folder / "data", n_accounts=150, months=24, seed=3)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow.db'}")
        # Small data: a short boosting budget keeps the test quick; the code path is the same.
        (folder / "retain.toml").write_text(
            "[training]\nnum_boost_round = 80\nearly_stopping_rounds = 15\n"
            "min_positives_per_segment = 40\n"
        )
        yield folder
    mlflow.set_tracking_uri(None)


@pytest.fixture(scope="module")
def trained(workdir):
    result = CliRunner().invoke(
        app,
        ["train", "--data", "data", "--target", "churn", "--tune", "2", "--experiment", "e2e"],
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def test_train_builds_features_tunes_and_registers(workdir, trained):
    assert "registered retain-churn version 1 as @challenger" in trained.output
    assert "scorecard" in trained.output and "segmented" in trained.output
    client = MlflowClient()
    version = client.get_model_version_by_alias("retain-churn", "challenger")
    assert str(version.version) == "1"
    experiment = client.get_experiment_by_name("e2e")
    runs = client.search_runs([experiment.experiment_id], max_results=200)
    names = [r.info.run_name for r in runs]
    assert "train" in names and "tune churn" in names
    assert sum(name.startswith("trial ") for name in names) >= 2
    studies = optuna.get_all_study_summaries(f"sqlite:///{workdir / 'optuna.db'}")
    assert all(s.study_name.startswith("e2e:churn:") for s in studies)
    assert all(s.n_trials == 2 for s in studies)


def test_promote_moves_champion_and_records_why(workdir, trained):
    result = CliRunner().invoke(
        app, ["promote", "--target", "churn", "--version", "1", "--reason", "first model"]
    )
    assert result.exit_code == 0, result.output
    assert "retain-churn version 1 is now @champion" in result.output
    version = MlflowClient().get_model_version_by_alias("retain-churn", "champion")
    assert version.tags["promotion_reason"] == "first model"
    assert "promoted_by" in version.tags and "promoted_at" in version.tags


def test_promote_unknown_version_fails_cleanly(workdir, trained):
    result = CliRunner().invoke(
        app, ["promote", "--target", "churn", "--version", "9", "--reason", "x"]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, RetainError)
    assert "no version 9" in str(result.exception)


def test_bad_cutoff_fails_cleanly(workdir):
    result = CliRunner().invoke(app, ["train", "--data", "data", "--cutoff", "soon"])
    assert isinstance(result.exception, RetainError)
    assert "--cutoff 'soon' is not a date" in str(result.exception)
