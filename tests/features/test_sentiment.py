import pytest

from features.sentiment import VALUES
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


def test_sentiment_values_on_a_hand_built_account():
    r = row(base_build())
    assert r["nps_last"] == 6.0
    assert r["nps_change"] == -3.0
    assert r["days_since_last_nps"] == pytest.approx(50.0)
    assert r["survey_csat_avg_180d"] == 3.0


def test_sentiment_is_point_in_time():
    future = [
        {"account_id": "a1", "timestamp": AS_OF, "kind": "nps", "score": 0.0},
        {"account_id": "a1", "timestamp": day(20), "kind": "csat", "score": 5.0},
        {"account_id": "a2", "timestamp": day(1), "kind": "nps", "score": 10.0},
    ]
    before = build(only(base_frames(), "surveys"))
    assert_same_features(before, build(only(plant(base_frames(), "surveys", future), "surveys")))


def test_the_surveys_table_brings_exactly_the_sentiment_family():
    assert added_columns("surveys") == set(VALUES)
