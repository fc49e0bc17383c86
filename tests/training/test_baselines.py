from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retain.config import Config
from retain.errors import RetainError
from training import LogisticBaseline, RuleScorecard


def _accounts(**columns: list[float]) -> pd.DataFrame:
    return pd.DataFrame(columns, dtype="float64")


def test_scorecard_points_per_signal_sum_to_100():
    healthy = _accounts(
        active_users_28d_change_pct=[10.0],
        seat_utilization=[0.9],
        champion_present=[1.0],
        escalated_tickets_90d=[0.0],
        open_escalations=[0.0],
        onboarding_stalled=[0.0],
        onboarding_completion_pct=[100.0],
        nps_last=[10.0],
    )
    at_risk = _accounts(
        active_users_28d_change_pct=[-60.0],
        seat_utilization=[0.1],
        champion_present=[0.0],
        escalated_tickets_90d=[4.0],
        open_escalations=[1.0],
        onboarding_stalled=[1.0],
        onboarding_completion_pct=[20.0],
        nps_last=[2.0],
    )
    scorecard = RuleScorecard()
    assert scorecard.score(healthy).tolist() == [100.0]
    assert scorecard.score(at_risk).tolist() == [0.0]
    assert scorecard.band(healthy).tolist() == ["green"]
    assert scorecard.band(at_risk).tolist() == ["red"]


def test_missing_signal_gets_neutral_points():
    assert RuleScorecard().score(pd.DataFrame(index=range(3))).tolist() == [50.0, 50.0, 50.0]
    only_champion = _accounts(champion_present=[0.0, 1.0])
    assert RuleScorecard().score(only_champion).tolist() == [40.0, 60.0]


def test_weights_and_thresholds_come_from_config():
    config = Config().with_overrides(
        {
            "training": {
                "scorecard_weights": [["champion", 1.0], ["nps", 1.0]],
                "scorecard_green_min": 80.0,
                "scorecard_red_below": 30.0,
            }
        }
    )
    accounts = _accounts(champion_present=[1.0, 0.0, 1.0], nps_last=[9.0, 5.0, 5.0])
    scorecard = RuleScorecard(config=config)
    assert scorecard.score(accounts).tolist() == [100.0, 0.0, 50.0]
    assert scorecard.band(accounts).tolist() == ["green", "red", "yellow"]
    bad = Config().with_overrides({"training": {"scorecard_weights": [["logins", 1.0]]}})
    with pytest.raises(RetainError, match="logins"):
        RuleScorecard(config=bad).score(accounts)


def test_scorecard_risk_falls_as_health_points_rise(frame):
    scorecard = RuleScorecard("churn").fit(frame, frame["churn"])
    order = np.argsort(scorecard.score(frame))
    risk = scorecard.predict_proba(frame)[order, 1]
    assert (np.diff(risk) <= 1e-12).all()
    assert risk[0] > risk[-1]


def test_logistic_baseline_handles_nan_unseen_levels_and_column_order(frame):
    model = LogisticBaseline("churn").fit(frame, frame["churn"])
    probe = frame.head(30).copy()
    probe["account_industry"] = "mining"
    probe.loc[probe.index[:5], "seat_utilization"] = np.nan
    p = model.predict_proba(probe)
    assert p.shape == (30, 2) and np.isfinite(p).all()
    np.testing.assert_array_equal(model.predict_proba(probe[probe.columns[::-1]]), p)
    assert model.predict_proba(probe.drop(columns="nps_last")).shape == (30, 2)


def test_logistic_baseline_fits_on_a_seeded_sample_of_large_data(frame):
    sampled = LogisticBaseline("churn", max_rows=500).fit(frame, frame["churn"])
    again = LogisticBaseline("churn", max_rows=500).fit(frame, frame["churn"])
    full = LogisticBaseline("churn", max_rows=None).fit(frame, frame["churn"])
    probe = frame.head(50)
    np.testing.assert_array_equal(sampled.predict_proba(probe), again.predict_proba(probe))
    assert not np.allclose(sampled.predict_proba(probe), full.predict_proba(probe))
