import dataclasses

import pandas as pd
import pytest

from features.usage import COUNTS, VALUES
from retain.config import Config
from tests.features.fixtures_data import (
    AS_OF,
    added_columns,
    assert_same_features,
    base_build,
    base_frames,
    build,
    day,
    only,
    plant,
    row,
)

KEY_EVENTS = Config(features=dataclasses.replace(Config().features, key_events=("report_created",)))


def test_usage_values_on_a_hand_built_account():
    r = row(build(only(base_frames(), "usage"), config=KEY_EVENTS))
    # u1 uses the product every day for 99 days, u2 for the last 40 days.
    assert r["active_users_7d"] == 2
    assert r["active_users_28d"] == 2
    assert r["active_users_90d"] == 2
    assert r["active_users_28d_change_pct"] == 0.0
    assert r["events_28d"] == 56
    assert r["key_events_28d"] == 28
    assert r["key_events_28d_change_pct"] == 0.0
    assert r["key_events_per_active_user_28d"] == 14
    assert r["features_used_28d"] == 2
    assert r["usage_14d_change_pct"] == 0.0
    assert r["usage_drop_40pct_14d"] == 0.0
    assert r["seat_utilization"] == pytest.approx(2 / 20)  # 20 seats in force
    assert r["days_since_last_activity"] == 1.0
    assert r["weekly_active_users_slope_12w_pct"] > 0  # u2 joined 6 weeks ago
    assert r["key_events_slope_12w_pct"] == pytest.approx(0.0)  # 7 reports every week
    assert r["key_events_per_active_user_28d_change_pct"] == 0.0  # 14 per user in both periods
    assert r["seat_utilization_90d"] == pytest.approx(2 / 20)
    # 12 weeks: u1 active in all 12, u2 in the last 6 (back 1-40 days reaches week 6).
    assert r["weekly_stickiness_12w"] == pytest.approx(18 / 24)
    assert r["key_events_per_active_user_week_12w"] == pytest.approx(84 / 18)  # u1's reports


def _usage(counts_by_day: dict[int, list[str]]) -> pd.DataFrame:
    rows = [
        {"account_id": "a1", "timestamp": day(-back), "event": "login", "user_id": user}
        for back, users in counts_by_day.items()
        for user in users
    ]
    return pd.DataFrame(rows)


def test_a_drop_of_half_within_two_weeks_sets_the_drop_flag_and_a_falling_slope():
    frames = base_frames()
    # Five users daily for weeks 3-12 back, then two users daily in the last 14 days.
    frames["usage"] = _usage(
        {back: [f"u{i}" for i in range(5 if back > 14 else 2)] for back in range(1, 85)}
    )
    r = row(build(only(frames, "usage")))
    assert r["usage_14d_change_pct"] == pytest.approx(-60.0)
    assert r["usage_drop_40pct_14d"] == 1.0
    assert r["active_users_7d"] == 2
    assert r["active_users_28d"] == 5
    assert r["weekly_active_users_slope_12w_pct"] < 0
    assert r["days_since_last_activity"] == 1.0


def test_key_events_rising_week_by_week_give_a_positive_slope_and_deeper_use():
    frames = base_frames()
    # x + 1 reports in week x (oldest week 0 .. the week before as_of 11), all by u1:
    # the least-squares slope is 1 report a week on a mean of 6.5.
    frames["usage"] = pd.DataFrame(
        [
            {"account_id": "a1", "timestamp": day(-(7 * (11 - x) + 1 + i % 7)), "user_id": "u1"}
            for x in range(12)
            for i in range(x + 1)
        ]
    ).assign(event="report_created")
    r = row(build(only(frames, "usage"), config=KEY_EVENTS))
    assert r["key_events_slope_12w_pct"] == pytest.approx(100 / 6.5)
    # 28d: weeks 8-11 hold 9+10+11+12 = 42; prior 28d: weeks 4-7 hold 5+6+7+8 = 26; one user.
    assert r["key_events_per_active_user_28d_change_pct"] == pytest.approx((42 - 26) / 26 * 100)
    quiet = row(build(only(frames, "usage"), config=KEY_EVENTS), "a2")
    assert pd.isna(quiet["key_events_slope_12w_pct"])
    assert pd.isna(quiet["key_events_per_active_user_28d_change_pct"])


def test_windows_exclude_as_of_and_include_their_first_day():
    frames = base_frames()
    frames["usage"] = _usage({28: ["u1"], 29: ["u2"], 7: ["u3"], 8: ["u4"]})
    r = row(build(only(frames, "usage")))
    assert r["active_users_7d"] == 1  # u3 at as_of - 7 days is inside [as_of - 7, as_of)
    assert r["active_users_28d"] == 3  # u1, u3, u4; u2 is in the prior 28 days
    assert r["active_users_28d_change_pct"] == pytest.approx(200.0)
    assert r["days_since_last_activity"] == 7.0


def test_no_usage_in_a_window_is_zero_but_ratios_and_recency_are_missing():
    r = row(base_build(), "a2")
    assert r["active_users_28d"] == 0 and r["events_28d"] == 0
    assert pd.isna(r["active_users_28d_change_pct"])
    assert pd.isna(r["key_events_per_active_user_28d"])
    assert pd.isna(r["days_since_last_activity"])
    assert r["seat_utilization"] == 0.0


def test_usage_is_point_in_time():
    frames = base_frames()
    before = build(only(frames, "usage"), config=KEY_EVENTS)
    future = [
        {"account_id": "a1", "timestamp": AS_OF, "event": "report_created", "user_id": "u9"},
        {"account_id": "a1", "timestamp": day(1), "event": "export", "user_id": "u1"},
        {"account_id": "a1", "timestamp": day(300), "event": "login", "user_id": "u8"},
        {"account_id": "a2", "timestamp": day(0) + pd.Timedelta(hours=23), "event": "x"},
    ]
    after = build(only(plant(frames, "usage", future), "usage"), config=KEY_EVENTS)
    assert_same_features(before, after)


def test_usage_without_user_ids_keeps_only_event_features():
    frames = base_frames()
    frames["usage"] = frames["usage"].drop(columns=["user_id"])
    frame = build(only(frames, "usage"))
    assert "events_28d" in frame and "days_since_last_activity" in frame
    for column in (
        "active_users_28d",
        "seat_utilization",
        "seat_utilization_90d",
        "weekly_active_users_slope_12w_pct",
        "key_events_per_active_user_28d_change_pct",
    ):
        assert column not in frame
    assert "key_events_slope_12w_pct" in frame


def test_the_usage_table_brings_exactly_the_usage_family():
    assert added_columns("usage") == set(COUNTS) | set(VALUES)


def test_days_since_last_activity_looks_back_beyond_the_windows():
    frames = base_frames()
    frames["usage"] = _usage({95: ["u1"], 200: ["u1"], 400: ["u2"]})
    r = row(build(only(frames, "usage")))
    assert r["days_since_last_activity"] == 95.0
    assert r["active_users_90d"] == 0
