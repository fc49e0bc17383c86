import math

import numpy as np
import pandas as pd

from serving.reasons import json_value, top_reasons


def contributions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "usage_14d_change_pct": [0.9, -0.2],
            "champion_left_90d": [0.4, 0.0],
            "open_escalations": [0.0, 0.3],
            "nps_last": [-0.5, -0.1],
            "seat_utilization": [-0.1, 0.3],
        }
    )


def values() -> dict[str, np.ndarray]:
    return {
        "usage_14d_change_pct": np.array([-52.0, 10.0]),
        "champion_left_90d": np.array([1.0, 0.0]),
        "open_escalations": np.array([0.0, 2.0]),
        "nps_last": np.array([9.0, math.nan]),
        "seat_utilization": np.array([0.5, 1.2]),
    }


def test_top_k_raising_then_lowering_with_texts() -> None:
    reasons = top_reasons(contributions(), values(), k=2)
    first = reasons[0]
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
    }


def test_zero_contributions_are_never_reasons_and_ties_keep_column_order() -> None:
    second = top_reasons(contributions(), values(), k=3)[1]
    raises = [r["feature"] for r in second if r["direction"] == "raises"]
    # open_escalations and seat_utilization tie at 0.3: column order decides; 0.0 is dropped.
    assert raises == ["open_escalations", "seat_utilization"]
    lowers = [r for r in second if r["direction"] == "lowers"]
    assert [r["feature"] for r in lowers] == ["usage_14d_change_pct", "nps_last"]
    assert lowers[1]["value"] is None
    assert lowers[1]["text"] == "No NPS response on record"


def test_only_raising_reasons_for_expansion() -> None:
    reasons = top_reasons(contributions(), values(), k=1, directions=("raises",))
    assert [[r["feature"] for r in row] for row in reasons] == [
        ["usage_14d_change_pct"],
        ["open_escalations"],
    ]


def test_a_feature_without_values_is_missing() -> None:
    partial = values()
    del partial["champion_left_90d"]
    reasons = top_reasons(contributions(), partial, k=2)
    champion = next(r for r in reasons[0] if r["feature"] == "champion_left_90d")
    assert champion["value"] is None


def test_json_value() -> None:
    assert json_value(np.float64(2.5)) == 2.5
    assert json_value(np.nan) is None
    assert json_value(None) is None
    assert json_value(np.True_) == 1.0
    assert json_value("Retail") == "Retail"
