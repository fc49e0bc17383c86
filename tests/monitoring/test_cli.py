"""`retain drift` end to end through the real entry point (`retain.cli.main`), in process."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from retain.cli import main


def _retain(monkeypatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["retain", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return exit_info.value.code or 0


@pytest.fixture
def files(tmp_path, monkeypatch, reference, current):
    # No registry here: prediction drift is skipped unless a model is given.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    reference.to_parquet(tmp_path / "reference.parquet")
    current.to_parquet(tmp_path / "current.parquet")
    shifted = current.assign(active_users_28d=current["active_users_28d"] * 0.5)
    shifted.to_parquet(tmp_path / "shifted.parquet")
    return tmp_path


def test_the_same_data_twice_exits_0(files, monkeypatch, capsys):
    code = _retain(
        monkeypatch, "drift", "--reference", "reference.parquet", "--current",
        "reference.parquet", "--out", "out", "--no-mlflow",
    )  # fmt: skip
    assert code == 0
    assert "No drift" in capsys.readouterr().out
    assert json.loads((files / "out" / "drift.json").read_text())["status"] == "ok"


def test_a_shift_in_one_usage_feature_exits_1_and_names_it(files, monkeypatch, capsys):
    code = _retain(
        monkeypatch, "drift", "--reference", "reference.parquet", "--current",
        "shifted.parquet", "--out", "out", "--no-mlflow", "--no-report",
    )  # fmt: skip
    assert code == 1
    out = capsys.readouterr().out
    assert "1 of 6 features drifted: active_users_28d (PSI " in out
    assert not (files / "mlflow.db").exists()


def test_a_missing_input_exits_2_with_a_clear_message(files, monkeypatch, capsys):
    code = _retain(
        monkeypatch, "drift", "--reference", "reference.parquet", "--current",
        "missing.parquet", "--out", "out", "--no-mlflow",
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "current feature file missing.parquet does not exist" in err
    assert "Traceback" not in err
    payload = json.loads((files / "out" / "drift.json").read_text())
    assert payload["status"] == "error"
    assert "missing.parquet" in payload["error"]


def test_a_corrupt_input_exits_2(files, monkeypatch, capsys):
    (files / "corrupt.parquet").write_bytes(b"not a parquet file")
    code = _retain(
        monkeypatch, "drift", "--reference", "corrupt.parquet", "--current",
        "current.parquet", "--out", "out", "--no-mlflow",
    )  # fmt: skip
    assert code == 2
    assert "reference feature file corrupt.parquet cannot be read as parquet" in (
        capsys.readouterr().err
    )


def test_an_explicit_model_that_is_missing_exits_2(files, monkeypatch, capsys):
    code = _retain(
        monkeypatch, "drift", "--reference", "reference.parquet", "--current",
        "current.parquet", "--out", "out", "--no-mlflow", "--model-path", "no_such_model",
    )  # fmt: skip
    assert code == 2
    assert "Model folder no_such_model does not exist" in capsys.readouterr().err


def test_data_without_dates_exits_2(files, monkeypatch, capsys):
    code = _retain(monkeypatch, "drift", "--data", str(files), "--out", "out")
    assert code == 2
    assert "--reference-as-of" in capsys.readouterr().err


def test_a_threshold_option_overrides_the_config(files, monkeypatch):
    code = _retain(
        monkeypatch, "drift", "--reference", "reference.parquet", "--current",
        "shifted.parquet", "--out", "out", "--no-mlflow", "--no-report", "--threshold", "100",
    )  # fmt: skip
    assert code == 0
    payload = json.loads((files / "out" / "drift.json").read_text())
    assert payload["thresholds"]["psi"] == 100.0


def test_the_registered_champion_is_monitored_and_the_run_is_logged(
    files, monkeypatch, mlflow_store, saved_models
):
    import mlflow

    from training.registry import log_and_register
    from training.segmented import SegmentedModel

    uri = mlflow_store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    churn = SegmentedModel.load(saved_models / "churn")
    frame = pd.read_parquet(files / "reference.parquet")
    ref = log_and_register(churn, frame, alias="champion")

    # The tiny churn model splits on seat_utilization, never on active_users_28d.
    current = pd.read_parquet(files / "current.parquet")
    used = current.assign(seat_utilization=current["seat_utilization"] * 0.5)
    used.to_parquet(files / "shifted_used.parquet")
    code = _retain(
        monkeypatch, "drift", "--reference", "reference.parquet", "--current",
        "shifted_used.parquet", "--out", "out", "--no-report",
    )  # fmt: skip
    assert code == 1
    payload = json.loads((files / "out" / "drift.json").read_text())
    assert payload["failing_features"] == ["seat_utilization"]
    assert payload["features"]["seat_utilization"]["importance"]["churn"] > 0
    assert payload["prediction"]["churn"]["model"] == ref.name
    assert payload["prediction"]["churn"]["version"] == ref.version
    run = mlflow.MlflowClient(tracking_uri=uri).get_run(payload["mlflow"]["run_id"])
    assert run.data.tags["retain.churn_model_version"] == ref.version

    # Drift in a column the model does not use is reported, named as unused, and exits 0...
    code = _retain(
        monkeypatch, "drift", "--reference", "reference.parquet", "--current",
        "shifted.parquet", "--out", "out2", "--no-report", "--no-mlflow",
    )  # fmt: skip
    assert code == 0
    payload = json.loads((files / "out2" / "drift.json").read_text())
    assert payload["drifted_features"] == ["active_users_28d"]
    assert payload["failing_features"] == []
    entry = payload["features"]["active_users_28d"]
    assert (entry["used_by_model"], entry["importance"]) == (False, {"churn": 0.0})
    assert "no monitored model uses it: active_users_28d" in payload["message"]
    # ...unless any feature is to fail the check.
    code = _retain(
        monkeypatch, "drift", "--reference", "reference.parquet", "--current",
        "shifted.parquet", "--out", "out3", "--no-report", "--no-mlflow",
        "--fail-on", "features,scores,outcomes",
    )  # fmt: skip
    assert code == 1


def test_the_installed_command_exits_1_on_drift(files):
    completed = subprocess.run(
        [
            sys.executable, "-m", "retain.cli", "drift", "--reference", "reference.parquet",
            "--current", "shifted.parquet", "--out", "out", "--no-mlflow", "--no-report",
        ],
        cwd=files, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert completed.returncode == 1, completed.stderr
    assert "active_users_28d" in completed.stdout


def test_windows_built_from_a_data_source_show_the_usage_drop(
    files, monkeypatch, capsys, data_source
):
    code = _retain(
        monkeypatch, "drift", "--data", str(data_source), "--reference-as-of", "2024-06-01",
        "--current-as-of", "2024-10-01", "--out", "out", "--no-mlflow", "--no-report",
    )  # fmt: skip
    assert code == 1
    payload = json.loads((files / "out" / "drift.json").read_text())
    assert payload["reference"]["as_of_min"] == "2024-06-01"
    assert payload["current"]["rows"] == 40
    assert "active_users_28d" in payload["drifted_features"]
    assert payload["features"]["arr"]["drifted"] is False
