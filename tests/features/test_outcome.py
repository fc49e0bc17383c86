import pandas as pd
import pytest

from features.outcome import COUNTS, VALUES
from tests.features.fixtures_data import (
    added_columns,
    assert_same_features,
    base_build,
    base_frames,
    build,
    day,
    only,
    row,
)


def test_outcome_values_on_a_hand_built_account():
    r = row(base_build())
    assert r["milestones_done"] == 2
    assert r["milestones_overdue"] == 1  # integration was due 2023-03-01
    assert r["onboarding_completion_pct"] == pytest.approx(200 / 3)
    assert r["first_value_reached"] == 1.0
    assert r["days_to_first_value"] == pytest.approx(60.0)  # 2023-01-01 -> 2023-03-02
    assert r["onboarding_stalled"] == 1.0  # integration still open long after 90 days


def test_outcome_early_in_onboarding():
    r = row(build(only(base_frames(), "milestones"), as_of=["2023-02-01"]))
    assert r["milestones_done"] == 1
    assert r["milestones_overdue"] == 0  # first_value is due 2023-02-15, not yet overdue
    assert r["first_value_reached"] == 0.0
    assert pd.isna(r["days_to_first_value"])
    assert r["onboarding_stalled"] == 0.0  # the 90-day benchmark has not passed


def test_outcome_is_point_in_time():
    frames = base_frames()
    milestones = frames["milestones"]
    milestones.loc[milestones["milestone"] == "integration", "achieved_at"] = day(3)
    before = build(only(base_frames(), "milestones"))
    assert_same_features(before, build(only(frames, "milestones")))


def test_the_milestones_table_brings_exactly_the_outcome_family():
    assert added_columns("milestones") == set(COUNTS) | set(VALUES)
