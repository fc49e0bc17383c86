import math

import numpy as np
import pandas as pd

from serving.reasons import context_of, data_gaps, json_value, top_reasons


def contributions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "usage_14d_change_pct": [0.9, -0.2],
            "champion_left_90d": [0.4, 0.0],
            "open_escalations": [0.0, 0.3],
            "nps_last": [-0.5, -0.1],
            "seat_utilization": [-0.1, 0.3],
            "days_to_renewal": [2.0, -3.0],  # context: never a reason, however large
            "key_events_per_active_user_28d": [0.6, 0.0],
        }
    )


def values() -> dict[str, np.ndarray]:
    return {
        "usage_14d_change_pct": np.array([-52.0, 10.0]),
        "champion_left_90d": np.array([1.0, 0.0]),
        "open_escalations": np.array([0.0, 2.0]),
        "nps_last": np.array([9.0, math.nan]),
        "seat_utilization": np.array([0.5, 1.2]),
        "days_to_renewal": np.array([40.0, 300.0]),
        "key_events_per_active_user_28d": np.array([math.nan, 3.0]),
    }


def test_top_k_drivers_raising_then_lowering_with_texts() -> None:
    reasons = top_reasons(contributions(), values(), k=2)
    first = reasons[0]
    # days_to_renewal (+2.0) is context and depth of use (+0.6) is missing: neither is a reason.
    assert [(r["feature"], r["direction"]) for r in first] == [
        ("usage_14d_change_pct", "raises"),
        ("champion_left_90d", "raises"),
        ("nps_last", "lowers"),
        ("seat_utilization", "lowers"),
    ]
    assert first[0] == {
        "feature": "usage_14d_change_pct",
        "value": -52.0,
        "contribution": 0.9,
        "direction": "raises",
        "text": "Usage down 52% over the last 14 days",
        "healthy_peer_median": None,
    }


def test_zero_contributions_and_missing_values_are_never_reasons() -> None:
    second = top_reasons(contributions(), values(), k=3)[1]
    raises = [r["feature"] for r in second if r["direction"] == "raises"]
    # open_escalations and seat_utilization tie at 0.3: column order decides; 0.0 is dropped.
    assert raises == ["open_escalations", "seat_utilization"]
    lowers = [r["feature"] for r in second if r["direction"] == "lowers"]
    assert lowers == ["usage_14d_change_pct"]  # nps_last is missing in this row


def test_each_reason_compares_with_healthy_peers_of_its_segment() -> None:
    peers = {"Mid-Market": {"usage_14d_change_pct": 2.0, "seat_utilization": 0.85}}
    reasons = top_reasons(
        contributions(), values(), k=2, segments=["Mid-Market", "SMB"], peers=peers
    )
    usage = reasons[0][0]
    assert usage["text"] == "Usage down 52% over the last 14 days (healthy Mid-Market: +2%)"
    assert usage["healthy_peer_median"] == 2.0
    seats = next(r for r in reasons[0] if r["feature"] == "seat_utilization")
    assert seats["text"].endswith("(healthy Mid-Market: 85%)")
    # No peers recorded for SMB: the sentence stands alone.
    assert all("healthy" not in r["text"] for r in reasons[1])


def test_only_raising_reasons_for_expansion() -> None:
    reasons = top_reasons(contributions(), values(), k=1, directions=("raises",))
    assert [[r["feature"] for r in row] for row in reasons] == [
        ["usage_14d_change_pct"],
        ["open_escalations"],
    ]


def test_a_feature_without_values_is_missing_and_so_no_reason() -> None:
    partial = values()
    del partial["champion_left_90d"]
    reasons = top_reasons(contributions(), partial, k=2)
    assert "champion_left_90d" not in [r["feature"] for r in reasons[0]]


def test_data_gaps_are_listed_apart_once_by_weight() -> None:
    gaps = data_gaps(contributions(), values())
    assert gaps[0] == ["Depth of use not recorded"]
    assert gaps[1] == ["No NPS response on record"]
    # "No champion has left" is a fact, not a gap.
    frame = pd.DataFrame({"days_since_champion_left": [0.5], "nps_last": [0.1]})
    same_text = pd.DataFrame({"nps_last": [0.2], "days_since_last_nps": [0.3]})
    assert data_gaps(frame, {"days_since_champion_left": np.array([np.nan])}) == [
        ["No NPS response on record"]
    ]
    assert data_gaps(same_text, {}) == [["No NPS response on record"]]


def test_context_is_shown_beside_the_reasons() -> None:
    context = context_of(values(), 2)
    assert context[0] == [
        {"feature": "days_to_renewal", "value": 40.0, "text": "Renewal in 40 days"}
    ]


def test_json_value() -> None:
    assert json_value(np.float64(2.5)) == 2.5
    assert json_value(np.nan) is None
    assert json_value(None) is None
    assert json_value(np.True_) == 1.0
