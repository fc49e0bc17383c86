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
    learned, rules = GlobalModel("churn", fast_config), RuleScorecard("churn", fast_config)
    accept = compare_estimators(learned, rules, frame, "churn", fast_config, data_end=data_end)
    assert accept.promote, accept.reason
    assert accept.challenger_value > accept.champion_value
    assert accept.rows_compared > 1000 and accept.cutoffs == ["2022-04-01", "2022-07-01"]
    refuse = compare_estimators(rules, learned, frame, "churn", fast_config, data_end=data_end)
    assert not refuse.promote
    assert "not better" in refuse.reason
    # Same backtest both ways: the numbers swap exactly.
    assert refuse.champion_value == pytest.approx(accept.challenger_value)
    assert refuse.rows_compared == accept.rows_compared
