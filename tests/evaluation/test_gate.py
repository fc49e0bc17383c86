"""The promotion gate refuses a worse challenger and accepts a better one."""

from __future__ import annotations

import pytest

from evaluation.gate import compare_estimators, decide, unfitted_copy
from retain.errors import RetainError
from training.baselines import RuleScorecard
from training.global_model import GlobalModel


def test_decide_needs_a_strictly_better_primary_metric() -> None:
    champion = {"pr_auc": 0.40, "ece": 0.02}
    assert decide("pr_auc", {"pr_auc": 0.45, "ece": 0.02}, champion, 0.01)[0]
    assert not decide("pr_auc", {"pr_auc": 0.40, "ece": 0.01}, champion, 0.01)[0]
    assert not decide("pr_auc", {"pr_auc": 0.35, "ece": 0.01}, champion, 0.01)[0]


def test_decide_needs_the_difference_beyond_the_bootstrap_noise() -> None:
    champion = {"pr_auc": 0.40, "ece": 0.02}
    challenger = {"pr_auc": 0.42, "ece": 0.02}
    promote, reason = decide("pr_auc", challenger, champion, 0.01, (-0.01, 0.05))
    assert not promote and "within the bootstrap noise" in reason and "-0.0100" in reason
    promote, reason = decide("pr_auc", challenger, champion, 0.01, (0.005, 0.035))
    assert promote and "95% interval +0.0050 to +0.0350" in reason
    # Lower is better: the whole interval must lie below zero.
    better_brier = {"brier": 0.08, "ece": 0.01}
    assert decide("brier", better_brier, {"brier": 0.09, "ece": 0.01}, 0.01, (-0.02, -0.001))[0]
    assert not decide("brier", better_brier, {"brier": 0.09, "ece": 0.01}, 0.01, (-0.02, 0.0))[0]
    assert not decide("pr_auc", challenger, champion, 0.01, (float("nan"), float("nan")))[0]


def test_decide_refuses_worse_calibration_beyond_tolerance() -> None:
    champion = {"pr_auc": 0.40, "ece": 0.02}
    promote, reason = decide("pr_auc", {"pr_auc": 0.45, "ece": 0.04}, champion, 0.01)
    assert not promote and "calibration error" in reason
    assert decide("pr_auc", {"pr_auc": 0.45, "ece": 0.029}, champion, 0.01)[0]


def test_decide_lower_is_better_metrics_and_no_champion() -> None:
    assert decide("brier", {"brier": 0.08, "ece": 0.01}, {"brier": 0.09, "ece": 0.01}, 0.01)[0]
    assert not decide("brier", {"brier": 0.10, "ece": 0.01}, {"brier": 0.09, "ece": 0.0}, 0.01)[0]
    promote, reason = decide("pr_auc", {"pr_auc": 0.3}, None, 0.01)
    assert promote and "no champion" in reason
    with pytest.raises(RetainError, match="Unknown \\[evaluation\\] primary_metric"):
        decide("accuracy", {}, None, 0.01)


def test_unfitted_copy_keeps_settings_not_fit(fast_config, demo_frame) -> None:
    frame, _, _ = demo_frame
    rows = frame[frame["churn"].notna()]
    fitted = GlobalModel("churn", fast_config).fit(rows, rows["churn"].astype(int))
    copy = unfitted_copy(fitted)
    assert type(copy) is GlobalModel and copy.config is fast_config
    assert not any(name.endswith("_") and not name.startswith("_") for name in vars(copy))


def test_gate_on_one_backtest_accepts_better_and_refuses_worse(demo_frame, fast_config) -> None:
    frame, _, data_end = demo_frame
    # The ranking decides here; the calibration rule has its own test above. A 40-round booster
    # on this small frame is 0.01-0.015 less calibrated than the (constant-ish) scorecard.
    config = fast_config.with_overrides({"evaluation": {"calibration_tolerance": 0.05}})
    learned, rules = GlobalModel("churn", config), RuleScorecard("churn", config)
    kwargs = {"data_end": data_end, "cutoffs": "2022-04-01,2022-07-01"}
    accept = compare_estimators(learned, rules, frame, "churn", config, **kwargs)
    assert accept.promote, accept.reason
    assert accept.challenger_value > accept.champion_value
    low, high = accept.difference_interval
    assert 0 < low <= accept.challenger_value - accept.champion_value <= high
    assert accept.rows_compared > 1000 and accept.cutoffs == ["2022-04-01", "2022-07-01"]
    refuse = compare_estimators(rules, learned, frame, "churn", config, **kwargs)
    assert not refuse.promote
    assert "not better" in refuse.reason
    # A copy of the champion is no better: the gate keeps the champion.
    same = compare_estimators(learned, learned, frame, "churn", config, **kwargs)
    assert not same.promote and same.difference_interval == (0.0, 0.0)
    # Same backtest both ways: the numbers swap exactly.
    assert refuse.champion_value == pytest.approx(accept.challenger_value)
    assert refuse.rows_compared == accept.rows_compared


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    yield
    import mlflow

    mlflow.set_tracking_uri(None)


@pytest.mark.slow
def test_check_promotion_with_the_registry(store, demo_frame, fast_config) -> None:
    import mlflow

    from evaluation.gate import check_promotion
    from training import SegmentedModel, labelled_rows
    from training.registry import log_and_register, promote

    frame, _, _ = demo_frame
    rows = labelled_rows(frame, "churn")
    good = SegmentedModel("churn", fast_config).fit(rows, rows["churn"])
    log_and_register(good, frame, config=fast_config)
    first = check_promotion("churn", fast_config, features=frame)
    assert first.promote and "no champion" in first.reason
    assert first.challenger_version == "1" and first.champion_version is None
    promote("churn", first.challenger_version, "first model", fast_config)

    # Leaves need more rows than exist: every booster is a constant, so the challenger ranks
    # no better than chance and the gate must refuse it.
    stump = {"min_data_in_leaf": 10**7}
    crippled = {"__global__": stump, "SMB": stump, "Enterprise": stump}
    bad = SegmentedModel("churn", fast_config, segment_params=crippled).fit(rows, rows["churn"])
    log_and_register(bad, frame, config=fast_config)
    second = check_promotion("churn", fast_config, features=frame)
    assert not second.promote
    assert (second.challenger_version, second.champion_version) == ("2", "1")
    assert second.challenger_value < second.champion_value
    runs = mlflow.search_runs(
        experiment_names=[fast_config.tracking.experiment],
        filter_string="tags.`retain.stage` = 'promotion_gate'",
    )
    assert sorted(runs["tags.retain.promote"]) == ["false", "true"]
