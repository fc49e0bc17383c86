import math

from retain.config import Config
from serving.signals import SIGNAL_NAMES, signals_of

CONFIG = Config()


def test_every_trigger_fires_with_its_sentence() -> None:
    row = {
        "usage_14d_change_pct": -52.0,
        "usage_drop_40pct_14d": 1.0,
        "champion_left_90d": 1.0,
        "days_since_champion_left": 23.0,
        "open_escalations": 2.0,
        "onboarding_stalled": 1.0,
        "days_to_renewal": 87.0,
        "seat_utilization": 1.18,
        "handoff_completeness_first_180d": 0.5,
        "handoff_success_criteria": 0.0,
        "handoff_champion_named": 0.0,
    }
    assert signals_of(row, CONFIG) == [
        {"name": "usage_drop", "text": "Usage down 52% in the last 14 days"},
        {"name": "champion_left", "text": "Champion left 23 days ago"},
        {"name": "open_escalation", "text": "2 open escalations"},
        {"name": "onboarding_stalled", "text": "Onboarding stalled past its 90-day benchmark"},
        {"name": "renewal_soon", "text": "Renewal in 87 days"},
        {"name": "over_licensed_seats", "text": "Using 118% of licensed seats"},
        {
            "name": "handoff_incomplete",
            "text": "Handoff incomplete: no success criteria, no champion",
        },
    ]
    assert [s["name"] for s in signals_of(row, CONFIG)] == list(SIGNAL_NAMES)


def test_a_healthy_account_raises_none() -> None:
    row = {
        "usage_14d_change_pct": -39.9,
        "champion_left_90d": 0.0,
        "open_escalations": 0.0,
        "onboarding_stalled": 0.0,
        "days_to_renewal": 121.0,
        "seat_utilization": 1.0,
    }
    assert signals_of(row, CONFIG) == []


def test_missing_features_raise_nothing() -> None:
    assert signals_of({}, CONFIG) == []
    assert signals_of({"open_escalations": math.nan, "days_to_renewal": None}, CONFIG) == []


def test_thresholds_come_from_config() -> None:
    config = CONFIG.with_overrides(
        {"features": {"usage_drop_pct": 30.0}, "serving": {"renewal_signal_days": 200}}
    )
    names = [
        s["name"]
        for s in signals_of({"usage_14d_change_pct": -31.0, "days_to_renewal": 150.0}, config)
    ]
    assert names == ["usage_drop", "renewal_soon"]


def test_the_flag_counts_when_the_change_is_unknown() -> None:
    signals = signals_of({"usage_drop_40pct_14d": 1.0}, CONFIG)
    assert signals == [{"name": "usage_drop", "text": "Usage down 40% or more in 14 days"}]
