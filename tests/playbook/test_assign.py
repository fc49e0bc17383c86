"""Assignment: the owner falls back to "unassigned", dates count from as_of, ARR at stake."""

from __future__ import annotations

import math

import pandas as pd

from playbook.assign import arr_at_stake, date_after, owner_of
from playbook.recommend import recommend
from retain.config import Config, PlayConfig


def test_owner_is_the_csm_and_a_missing_or_blank_one_is_unassigned():
    owners = owner_of(pd.Series(["csm-1", None, math.nan, "", "   ", " csm-2 "]))
    assert owners.tolist() == [
        "csm-1",
        "unassigned",
        "unassigned",
        "unassigned",
        "unassigned",
        "csm-2",
    ]
    assert owner_of(pd.Series([None]), "cs-ops queue").tolist() == ["cs-ops queue"]


def test_dates_count_whole_days_from_the_snapshot_date():
    as_of = pd.Series([pd.Timestamp("2026-10-01"), pd.Timestamp("2026-12-28 15:30")])
    assert date_after(as_of, 7).tolist() == [pd.Timestamp("2026-10-08"), pd.Timestamp("2027-01-04")]
    assert date_after(as_of, 0).tolist()[1] == pd.Timestamp("2026-12-28")


def test_arr_at_stake_is_the_arr_in_force_and_stays_missing_when_unknown():
    values = arr_at_stake(pd.Series([48_200.0, None, "12000"])).tolist()
    assert values[0] == 48_200.0 and math.isnan(values[1]) and values[2] == 12_000.0


def _scores() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3"],
            "as_of": pd.to_datetime(["2026-10-01"] * 3),
            "health_band": ["red", "red", "green"],
            "churn_probability": [0.7, 0.6, 0.05],
            "expansion_probability": [0.05, 0.1, 0.4],
            "csm_id": ["csm-1", None, "csm-3"],
            "arr": [50_000.0, 12_000.0, 30_000.0],
            "renewal_date": pd.to_datetime(["2026-11-30", "2027-06-01", "2027-01-01"]),
            "reasons": ["[]", "[]", "[]"],
            "signals": ["[]", "[]", "[]"],
        }
    )


SAVE = PlayConfig("save_plan", bands=("red",), due_days=7, review_days=14, priority=1)


def test_recommend_assigns_the_owner_the_dates_and_the_arr_through_the_fallback():
    config = Config().with_overrides({"playbook": {"plays": [SAVE]}})
    plays = recommend(_scores(), None, config).set_index("account_id")
    assert plays.loc["a1", "owner"] == "csm-1" and plays.loc["a2", "owner"] == "unassigned"
    assert plays.loc["a1", "due_date"] == pd.Timestamp("2026-10-08")
    assert plays.loc["a1", "review_date"] == pd.Timestamp("2026-10-15")
    assert plays.loc["a2", "arr_at_stake"] == 12_000.0
    assert "a3" not in plays.index  # green: no play fires


def test_the_features_frame_supplies_owner_and_arr_the_scores_lack():
    scores = _scores().drop(columns=["csm_id", "arr"])
    features = pd.DataFrame(
        {"account_id": ["a1", "a2"], "csm_id": ["csm-9", "csm-8"], "arr": [1.0, 2.0]}
    )
    config = Config().with_overrides({"playbook": {"plays": [SAVE], "unassigned_owner": "queue"}})
    plays = recommend(scores, features, config).set_index("account_id")
    assert plays["owner"].to_dict() == {"a1": "csm-9", "a2": "csm-8"}
    assert plays["arr_at_stake"].to_dict() == {"a1": 1.0, "a2": 2.0}
    plays = recommend(scores, None, config)
    assert set(plays["owner"]) == {"queue"}  # no owner anywhere: the configured fallback
