import pandas as pd
import pytest

from features.relationship import ACTIVITY_COUNTS, ACTIVITY_VALUES, CONTACT_COUNTS, CONTACT_VALUES
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


def test_relationship_values_on_a_hand_built_account():
    r = row(base_build())
    assert r["active_contacts"] == 2
    assert r["champion_present"] == 1.0  # k3 stays
    assert r["champion_left_90d"] == 1.0  # k1 left 30 days ago
    assert r["days_since_champion_left"] == pytest.approx(30.0)
    assert r["executive_sponsor_present"] == 1.0
    assert r["executive_sponsor_lost"] == 0.0
    assert pd.isna(r["days_since_sponsor_left"])
    assert r["decision_maker_present"] == 0.0
    assert r["meetings_90d"] == 1
    assert r["qbrs_180d"] == 1
    assert r["emails_out_90d"] == 2
    assert r["outreach_response_rate_90d"] == 0.0  # two emails out, none answered
    assert r["days_since_last_touch"] == pytest.approx(9.0)


def test_a_sponsor_who_left_unreplaced_is_lost_and_one_never_had_is_not():
    frames = base_frames()
    contacts = frames["contacts"]
    contacts.loc[contacts["contact_id"] == "k2", "left_at"] = day(-45)
    frame = build(only(frames, "contacts"))
    r = row(frame)
    assert r["executive_sponsor_present"] == 0.0
    assert r["executive_sponsor_lost"] == 1.0
    assert r["days_since_sponsor_left"] == pytest.approx(45.0)
    never = row(frame, "a2")
    assert never["executive_sponsor_present"] == 0.0 and never["executive_sponsor_lost"] == 0.0
    replaced = plant(
        frames,
        "contacts",
        [
            {
                "contact_id": "k7",
                "account_id": "a1",
                "role": "executive_sponsor",
                "added_at": day(-10),
            }
        ],
    )
    r = row(build(only(replaced, "contacts")))
    assert r["executive_sponsor_lost"] == 0.0
    assert r["days_since_sponsor_left"] == pytest.approx(45.0)


def test_relationship_is_point_in_time():
    frames = base_frames()
    contacts = frames["contacts"]
    contacts.loc[contacts["contact_id"] == "k3", "left_at"] = day(10)  # leaves later
    contacts.loc[contacts["contact_id"] == "k2", "left_at"] = AS_OF  # the sponsor leaves at as_of
    frames = plant(
        frames,
        "contacts",
        [
            {"contact_id": "k8", "account_id": "a1", "role": "decision_maker", "added_at": AS_OF},
            {"contact_id": "k9", "account_id": "a2", "role": "champion", "added_at": day(3)},
        ],
    )
    frames = plant(
        frames,
        "activities",
        [
            {"account_id": "a1", "timestamp": AS_OF, "type": "email_in"},
            {"account_id": "a1", "timestamp": day(2), "type": "qbr"},
        ],
    )
    before = build(only(base_frames(), "contacts", "activities"))
    assert_same_features(before, build(only(frames, "contacts", "activities")))


def test_each_relationship_table_brings_only_its_own_columns():
    assert added_columns("contacts") == set(CONTACT_COUNTS) | set(CONTACT_VALUES)
    assert added_columns("activities") == set(ACTIVITY_COUNTS) | set(ACTIVITY_VALUES)
