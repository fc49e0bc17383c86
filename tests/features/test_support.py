import pandas as pd
import pytest

from features.support import COUNTS, VALUES
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


def test_support_values_on_a_hand_built_account():
    r = row(base_build())
    assert r["tickets_30d"] == 2
    assert r["tickets_90d"] == 3
    assert r["high_priority_tickets_90d"] == 2  # one urgent, one high
    assert r["escalated_tickets_30d"] == 1
    assert r["escalated_tickets_90d"] == 2
    assert r["open_tickets"] == 1
    assert r["open_escalations"] == 1
    assert r["median_resolution_hours_90d"] == pytest.approx(36.0)  # 48 h and 24 h
    assert r["ticket_csat_avg_90d"] == pytest.approx(3.0)
    assert pd.isna(r["tickets_90d_change_pct"])  # nothing in the 90 days before to compare
    quiet = row(base_build(), "a2")
    assert quiet["tickets_90d"] == 0 and quiet["open_tickets"] == 0
    assert pd.isna(quiet["median_resolution_hours_90d"])


def test_ticket_trend_compares_the_last_90_days_with_the_90_before():
    older = [
        {"ticket_id": "t5", "account_id": "a1", "created_at": day(-91), "resolved_at": day(-90)},
        {"ticket_id": "t6", "account_id": "a1", "created_at": day(-180), "resolved_at": day(-179)},
        {"ticket_id": "t7", "account_id": "a1", "created_at": day(-181), "resolved_at": day(-180)},
    ]
    r = row(build(only(plant(base_frames(), "tickets", older), "tickets")))
    assert r["tickets_90d"] == 3
    # t5 (91 days back) and t6 (180 days back, the window's first day) are the prior period.
    assert r["tickets_90d_change_pct"] == pytest.approx((3 - 2) / 2 * 100)


def test_support_is_point_in_time():
    frames = base_frames()
    # The open ticket gets resolved (with a CSAT) only after as_of ...
    frames["tickets"].loc[frames["tickets"]["ticket_id"] == "t3", ["resolved_at", "csat"]] = [
        day(2),
        5.0,
    ]
    # ... and new tickets arrive at and after as_of.
    future = [
        {
            "ticket_id": "t8",
            "account_id": "a1",
            "created_at": AS_OF,
            "priority": "urgent",
            "escalated": True,
            "resolved_at": day(1),
            "csat": 1.0,
        },
        {
            "ticket_id": "t9",
            "account_id": "a2",
            "created_at": day(30),
            "priority": "high",
            "escalated": True,
        },
    ]
    before = build(only(base_frames(), "tickets"))
    assert_same_features(before, build(only(plant(frames, "tickets", future), "tickets")))


def test_the_tickets_table_brings_exactly_the_support_family():
    assert added_columns("tickets") == set(COUNTS) | set(VALUES)
