import pytest

from tests.features.fixtures_data import (
    AS_OF,
    T,
    assert_same_features,
    base_build,
    base_frames,
    build,
    only,
    plant,
    row,
)


def test_commercial_values_on_a_hand_built_account():
    r = row(base_build())
    assert r["arr"] == 30_000
    assert r["seats"] == 20
    assert r["arr_per_seat"] == 1_500
    assert r["tenure_days"] == (AS_OF - T("2023-01-01")).days
    assert r["days_to_renewal"] == (T("2025-01-01") - AS_OF).days
    assert r["contract_term_days"] == 366  # 2024 is a leap year
    assert r["renewals_count"] == 1
    assert r["arr_change_pct_365d"] == pytest.approx(50.0)  # 20k a year ago, 30k now


def test_on_a_renewal_day_the_ending_term_describes_the_account():
    # c1 ends and c2 starts on 2024-01-01: c2 is not known yet, c1 is in force (up for renewal).
    r = row(build(only(base_frames()), as_of=["2024-01-01"]))
    assert r["arr"] == 20_000
    assert r["days_to_renewal"] == 0
    assert r["renewal_date"] == T("2024-01-01")  # the renewal decided that day
    assert r["churn_window_end"] == T("2024-03-31")  # as_of + 90 days
    assert r["renewals_count"] == 0  # the ending term is not completed until it renews


def test_commercial_features_are_point_in_time():
    future = [
        # an add-on starting exactly at as_of and a renewal signed for later
        {
            "contract_id": "c8",
            "account_id": "a1",
            "start_date": AS_OF,
            "end_date": T("2025-01-01"),
            "arr": 5_000.0,
            "seats": 5.0,
        },
        {
            "contract_id": "c9",
            "account_id": "a1",
            "start_date": T("2025-01-01"),
            "end_date": T("2026-01-01"),
            "arr": 50_000.0,
            "seats": 40.0,
        },
    ]
    before = build(only(base_frames()))
    after = build(only(plant(base_frames(), "contracts", future)))
    assert_same_features(before, after)
    # the labels do see the future, on purpose: the add-on counts from its start
    assert row(before)["arr_at_horizon"] == 30_000
    assert row(after)["arr_at_horizon"] == 35_000
