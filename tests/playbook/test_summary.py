"""The save loop's measure and the per-owner view, worked by hand on literal plays."""

from __future__ import annotations

import pandas as pd

from playbook.summary import by_owner, summarize


def _plays() -> pd.DataFrame:
    rows = [
        # account, rank, play, kind, owner, arm, band, arr
        ("r1", 1, "save_plan", "risk", "c1", "treated", "red", 100.0),
        ("r1", 2, "risk_review", "risk", "c1", "treated", "red", 100.0),
        ("r2", 1, "adoption_review", "risk", "c1", "control", "red", 50.0),
        ("r3", 1, "risk_review", "risk", "unassigned", "treated", "red", 10.0),
        ("g1", 1, "expansion_opportunity", "expansion", "c2", "treated", "green", 40.0),
    ]
    frame = pd.DataFrame(
        rows, columns=["account_id", "rank", "play", "kind", "owner", "arm", "health_band", "arr"]
    )
    frame["arr_at_stake"] = frame.pop("arr")
    frame["due_date"] = pd.Timestamp("2026-10-08")
    frame["review_date"] = pd.Timestamp("2026-10-15")
    return frame


def _scores() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["r1", "r2", "r3", "r4", "g1", "g2"],
            "health_band": ["red", "red", "red", "red", "green", "green"],
        }
    )


def test_red_accounts_need_a_play_an_owner_and_a_review_date():
    summary = summarize(_plays(), _scores())
    # r4 has no play, r3 no owner: 2 of the 4 red accounts are covered; r2 is held back.
    assert summary["red_accounts"] == 4
    assert summary["red_with_play_owner_review"] == 2
    assert summary["red_with_play_owner_review_share"] == 0.5
    assert summary["red_treated_share"] == 0.5  # r1 and r3 run their play; r2 is control
    assert summary["accounts_scored"] == 6 and summary["accounts_with_play"] == 4
    assert summary["unassigned_accounts"] == 1 and summary["control_accounts"] == 1
    assert (summary["at_risk_with_play"], summary["ready_to_expand_with_play"]) == (3, 1)
    assert summary["plays"] == {
        "save_plan": 1,
        "adoption_review": 1,
        "risk_review": 1,
        "expansion_opportunity": 1,
    }


def test_no_red_account_gives_no_share_rather_than_a_perfect_one():
    summary = summarize(_plays().iloc[[4]], _scores().iloc[[4, 5]])
    assert summary["red_accounts"] == 0
    assert summary["red_with_play_owner_review_share"] is None


def test_by_owner_counts_each_account_once_with_its_first_play():
    table = by_owner(_plays())
    assert table["owner"].tolist() == ["c1", "unassigned", "c2"]
    c1 = table.iloc[0]
    assert (c1.accounts, c1.red, c1.arr_at_stake) == (2, 2, 150.0)
    assert by_owner(_plays().iloc[0:0]).empty
