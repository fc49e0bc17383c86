"""Each trigger kind on tiny literal data, and how a play combines them."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from playbook.triggers import (
    band_trigger,
    days_to_renewal,
    driver_trigger,
    expansion_trigger,
    play_fires,
    renewal_trigger,
    signal_trigger,
)
from retain.config import PlayConfig

CHAMPION = {"name": "champion_left", "text": "Champion left 23 days ago"}
USAGE = {"name": "usage_drop", "text": "Usage down 52% in the last 14 days"}
SEATS = {"name": "over_licensed_seats", "text": "Using 118% of licensed seats"}


def _reason(feature: str, direction: str, text: str) -> dict:
    return {"feature": feature, "direction": direction, "text": text, "contribution": 0.1}


def test_signal_fires_for_any_named_signal_and_the_first_in_the_scores_order_says_why():
    signals = pd.Series([[USAGE, CHAMPION], [SEATS], [], None])
    fires, text = signal_trigger(signals, ("champion_left", "usage_drop"))
    assert fires.tolist() == [True, False, False, False]
    assert text.tolist() == ["Usage down 52% in the last 14 days", "", "", ""]


def test_driver_fires_only_for_a_top_reason_raising_the_risk():
    reasons = pd.Series(
        [
            [
                _reason("arr_change_pct_365d", "raises", "ARR down 50%"),
                _reason("days_since_champion_left", "raises", "Champion left 12 days ago"),
            ],
            [_reason("days_since_champion_left", "lowers", "Champion left 400 days ago")],
            [_reason("usage_14d_change_pct", "raises", "Usage down 70%")],
        ]
    )
    fires, text = driver_trigger(reasons, ("champion_left_90d", "days_since_champion_left"))
    assert fires.tolist() == [True, False, False]
    assert text.tolist() == ["Champion left 12 days ago", "", ""]


def test_expansion_ready_from_the_threshold_up_and_never_on_a_missing_probability():
    fires, text = expansion_trigger(pd.Series([0.30, 0.2999, 0.9, math.nan]), 0.30)
    assert fires.tolist() == [True, False, True, False]
    assert text.tolist()[0] == "Expansion likelihood 30% (ready from 30%)"
    assert text.tolist()[1] == "" and text.tolist()[3] == ""


def test_band():
    fires, text = band_trigger(pd.Series(["red", "yellow", "green", None]), ("red", "yellow"))
    assert fires.tolist() == [True, True, False, False]
    assert text.tolist() == ["Health band red", "Health band yellow", "", ""]


def test_renewal_window_is_closed_at_both_ends_and_a_past_renewal_is_out():
    fires, text = renewal_trigger(pd.Series([0.0, 120.0, 121.0, -1.0, math.nan, 1.0]), 120)
    assert fires.tolist() == [True, True, False, False, False, True]
    assert text.tolist() == [
        "Renewal today",
        "Renewal in 120 days",
        "",
        "",
        "",
        "Renewal in 1 day",
    ]


def test_days_to_renewal_from_the_date_else_the_feature():
    as_of = pd.Series(pd.to_datetime(["2026-10-01", "2026-10-01", "2026-10-01"]))
    renewal = pd.Series(pd.to_datetime(["2026-12-30", None, None]))
    days = days_to_renewal(as_of, renewal, pd.Series([5.0, 40.0, None]))
    assert days.tolist()[:2] == [90.0, 40.0] and math.isnan(days.tolist()[2])


def _accounts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "signals": [[CHAMPION], [], [USAGE], [SEATS]],
            "reasons": [
                [],
                [_reason("champion_left_90d", "raises", "Champion left in the last 90 days")],
                [],
                [],
            ],
            "health_band": ["red", "red", "green", "green"],
            "expansion_probability": [0.1, 0.2, 0.5, 0.6],
            "days_to_renewal": [30.0, 200.0, 10.0, 100.0],
        }
    )


def test_openers_open_a_play_when_any_fires_and_the_filters_must_all_hold():
    play = PlayConfig(
        "outreach",
        signals=("champion_left",),
        drivers=("champion_left_90d",),
        bands=("red",),
        renewal_within_days=90,
    )
    fires, reason = play_fires(play, _accounts(), None)
    # Row 1 has the driver but renews in 200 days; row 2 is green.
    assert fires.tolist() == [True, False, False, False]
    assert reason.tolist()[0] == "Champion left 23 days ago; Health band red; Renewal in 30 days"
    without_window = PlayConfig(
        "outreach", signals=("champion_left",), drivers=("champion_left_90d",)
    )
    fires, reason = play_fires(without_window, _accounts(), None)
    assert fires.tolist() == [True, True, False, False]
    assert reason.tolist()[1] == "Champion left in the last 90 days"


def test_a_play_of_filters_only_fires_where_they_hold():
    save = PlayConfig("save_plan", bands=("red",), renewal_within_days=120)
    fires, reason = play_fires(save, _accounts(), None)
    assert fires.tolist() == [True, False, False, False]
    assert reason.tolist() == ["Health band red; Renewal in 30 days", "", "", ""]


def test_expansion_ready_with_a_band_filter_and_its_threshold():
    play = PlayConfig("expand", kind="expansion", expansion_ready=True, bands=("green", "yellow"))
    fires, reason = play_fires(play, _accounts(), 0.55)
    assert fires.tolist() == [False, False, False, True]
    assert reason.tolist()[3] == "Expansion likelihood 60% (ready from 55%); Health band green"
    with pytest.raises(ValueError, match="needs the expansion threshold"):
        play_fires(play, _accounts(), None)


def test_a_play_without_any_trigger_is_refused_rather_than_firing_everywhere():
    with pytest.raises(ValueError, match="has no trigger"):
        play_fires(PlayConfig("everyone"), _accounts(), None)
