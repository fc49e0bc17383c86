import json

import numpy as np
import pytest

from monitoring.drift import run_drift, write_error_report
from monitoring.prediction import load_models
from retain.config import Config
from retain.errors import RetainError


def _strict_json(path):
    def refuse(constant):
        raise AssertionError(f"drift.json holds {constant}, which is not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def test_the_same_data_twice_is_ok(tmp_path, reference):
    result = run_drift(reference, reference.copy(), tmp_path, Config(), log_to_mlflow=False)
    assert (result.status, result.exit_code) == ("ok", 0)
    payload = _strict_json(tmp_path / "drift.json")
    assert payload["status"] == "ok"
    assert payload["drifted_features"] == []
    assert payload["drift_share"] == 0.0
    assert payload["prediction"] == {"skipped": "no model given"}
    assert payload["features"]["arr"]["statistic"] == 0.0
    assert (tmp_path / "drift.html").is_file()


def test_a_shift_in_one_usage_feature_is_drift_naming_it(tmp_path, reference, current):
    current = current.assign(active_users_28d=current["active_users_28d"] * 0.5)
    result = run_drift(reference, current, tmp_path, Config(), log_to_mlflow=False)
    assert (result.status, result.exit_code) == ("drift", 1)
    payload = _strict_json(tmp_path / "drift.json")
    assert payload["drifted_features"] == ["active_users_28d"]
    entry = payload["features"]["active_users_28d"]
    assert entry["psi_drifted"] and not entry["null_drifted"]
    assert entry["evidently_test"] == "psi"
    assert entry["evidently_statistic"] > 0.2
    assert f"active_users_28d (PSI {entry['statistic']:.3f})" in result.message


def test_a_jump_in_null_share_is_caught(tmp_path, reference, current):
    current = current.copy()
    current.loc[: int(len(current) * 0.15), "tickets_30d"] = np.nan
    payload = run_drift(reference, current, tmp_path, Config(), log_to_mlflow=False).payload
    entry = payload["features"]["tickets_30d"]
    assert entry["null_share_reference"] == 0.0
    assert entry["null_share_current"] == pytest.approx(0.15, abs=0.001)
    assert entry["null_drifted"]
    assert payload["drifted_features"] == ["tickets_30d"]
    assert payload["status"] == "drift"


def test_empty_and_constant_columns_do_not_crash(tmp_path, reference, current):
    reference = reference.assign(nps_last=np.nan, seats=50.0, account_region=None)
    current = current.assign(nps_last=np.nan, seats=50.0, account_region=None)
    result = run_drift(reference, current, tmp_path, Config(), log_to_mlflow=False)
    assert result.status == "ok"
    for name in ("nps_last", "seats", "account_region"):
        assert result.payload["features"][name]["statistic"] == 0.0
    assert result.payload["features"]["nps_last"]["evidently_test"] is None


@pytest.mark.parametrize("shift", [1.0, 0.7])
def test_999_and_1001_reference_rows_give_the_same_verdict(tmp_path, reference, current, shift):
    current = current.assign(active_users_28d=current["active_users_28d"] * shift)
    verdicts = []
    for rows in (999, 1_001):
        payload = run_drift(
            reference.iloc[:rows], current, tmp_path / str(rows), Config(), log_to_mlflow=False
        ).payload
        verdicts.append(
            (
                payload["status"],
                payload["drifted_features"],
                {name: entry["evidently_test"] for name, entry in payload["features"].items()},
            )
        )
    assert verdicts[0] == verdicts[1]
    assert verdicts[0][0] == ("ok" if shift == 1.0 else "drift")


def test_with_a_model_prediction_and_outcome_drift_are_reported(
    tmp_path, saved_models, reference, current
):
    models = load_models(Config(), alias=None, model_path=str(saved_models))
    (tmp_path / "drift.html").write_text("<html>last week's windows</html>")
    result = run_drift(
        reference, current, tmp_path, Config(), models=models, report=False, log_to_mlflow=False
    )
    payload = _strict_json(tmp_path / "drift.json")
    assert set(payload["prediction"]) == {"churn", "expansion", "bands"}
    assert payload["outcome"]["churn"]["current"]["rows"] == len(current)
    assert payload["report"] == {"skipped": "--no-report"}
    assert not (tmp_path / "drift.html").exists()
    assert result.status == "ok"


def test_write_error_report_marks_the_status_and_removes_an_old_report(tmp_path):
    (tmp_path / "drift.html").write_text("<html>last week's windows</html>")
    write_error_report(tmp_path, RetainError("the current feature file is missing"))
    assert not (tmp_path / "drift.html").exists()
    assert _strict_json(tmp_path / "drift.json") == {
        "status": "error",
        "error": "the current feature file is missing",
    }


def test_structural_features_are_set_aside_by_default(tmp_path, reference, current):
    # A book ages between two dates: tenure and the renewal count grow for every account.
    reference = reference.assign(tenure_days=400.0 + reference.index, renewals_count=1.0)
    current = current.assign(tenure_days=580.0 + current.index, renewals_count=2.0)
    result = run_drift(reference, current, tmp_path, Config(), log_to_mlflow=False)
    assert (result.status, result.exit_code) == ("ok", 0)
    payload = result.payload
    assert payload["ignored_features"] == ["tenure_days", "renewals_count"]
    assert payload["drifted_features"] == []
    tenure = payload["features"]["tenure_days"]
    assert tenure["psi_drifted"] and tenure["ignored"] and not tenure["drifted"]
    assert payload["thresholds"]["ignore_features"] == ["tenure_days", "renewals_count"]
    assert "Set aside as structural (drift.ignore_features): tenure_days PSI" in result.message
    # Counted when the setting is emptied.
    counted = Config().with_overrides({"drift": {"ignore_features": ()}})
    result = run_drift(reference, current, tmp_path / "all", counted, log_to_mlflow=False)
    assert result.exit_code == 1
    assert sorted(result.payload["drifted_features"]) == ["renewals_count", "tenure_days"]


def test_a_planted_usage_shift_still_fails_beside_structural_features(tmp_path, reference, current):
    reference = reference.assign(tenure_days=400.0 + reference.index)
    current = current.assign(
        tenure_days=580.0 + current.index, active_users_28d=current["active_users_28d"] * 0.6
    )
    result = run_drift(reference, current, tmp_path, Config(), log_to_mlflow=False, report=False)
    assert result.exit_code == 1
    assert result.payload["failing_features"] == ["active_users_28d"]
    assert result.message.startswith("Drift: 1 of 6 features drifted: active_users_28d (PSI")
    top = result.payload["top_features"][0]
    assert top["feature"] == "active_users_28d"
    assert set(top) >= {"psi", "null_share_reference", "null_share_current", "importance"}


def test_ignore_features_takes_patterns(tmp_path, reference, current):
    config = Config().with_overrides({"drift": {"ignore_features": "active_*"}})
    current = current.assign(active_users_28d=current["active_users_28d"] * 0.5)
    result = run_drift(reference, current, tmp_path, config, log_to_mlflow=False, report=False)
    assert result.payload["ignored_features"] == ["active_users_28d"]
    assert result.exit_code == 0


def test_an_unknown_fail_on_value_is_an_exit_2_error(tmp_path, reference):
    config = Config().with_overrides({"drift": {"fail_on": "features,everything"}})
    with pytest.raises(RetainError, match="'everything'") as error:
        run_drift(reference, reference, tmp_path, config, log_to_mlflow=False)
    assert error.value.exit_code == 2


def test_drift_in_scores_can_be_left_out_of_the_exit_code(
    tmp_path, saved_models, reference, current
):
    models = load_models(Config(), alias=None, model_path=str(saved_models))
    current = current.assign(seat_utilization=current["seat_utilization"] * 0.3)
    config = Config().with_overrides({"drift": {"fail_on": "outcomes"}})
    result = run_drift(
        reference, current, tmp_path, config, models=models, log_to_mlflow=False, report=False
    )
    assert result.payload["prediction"]["churn"]["drifted"]
    assert "seat_utilization" in result.payload["drifted_features"]
    assert result.payload["failing"] == []
    assert result.exit_code == 0
    assert "not failing the check" in result.message
