"""What an assignment covers: the save loop's own measure and a per-owner view.

The measure (BRIEF, the save loop): every red account has a play, a named owner and a review
date; the goal is 100%. An account held back as a control still has its play, owner and review
date (the review is when its outcome is read), so it counts; `red_treated_share` says how many
red accounts have a play (rank 1) that is actually run.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from playbook.control import CONTROL


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def summarize(
    plays: pd.DataFrame, scores: pd.DataFrame, unassigned: str = "unassigned"
) -> dict[str, Any]:
    """Counts over the accounts of `scores` and their plays (`recommend`'s rows, any ranks)."""
    first = plays[plays["rank"] == 1]
    bands = scores.assign(account_id=scores["account_id"].astype(str)).drop_duplicates("account_id")
    red = set(bands.loc[bands["health_band"] == "red", "account_id"])
    covered = first[
        first["owner"].ne(unassigned) & first["review_date"].notna() & first["play"].ne("")
    ]
    treated = set(first.loc[first["arm"] != CONTROL, "account_id"])
    red_covered = len(red & set(covered["account_id"]))
    return {
        "accounts_scored": len(bands),
        "accounts_with_play": int(first["account_id"].nunique()),
        "at_risk_with_play": int((first["kind"] == "risk").sum()),
        "ready_to_expand_with_play": int((first["kind"] == "expansion").sum()),
        "unassigned_accounts": int((first["owner"] == unassigned).sum()),
        "control_accounts": int((first["arm"] == CONTROL).sum()),
        "plays": {str(k): int(v) for k, v in first["play"].value_counts().items()},
        "red_accounts": len(red),
        "red_with_play_owner_review": red_covered,
        "red_with_play_owner_review_share": _share(red_covered, len(red)),
        "red_treated_share": _share(len(red & treated), len(red)),
    }


def by_owner(plays: pd.DataFrame) -> pd.DataFrame:
    """Per owner (rank-1 plays): accounts, red accounts, plays due first, ARR at stake."""
    first = plays[plays["rank"] == 1]
    if first.empty:
        return pd.DataFrame(columns=["owner", "accounts", "red", "next_due", "arr_at_stake"])
    grouped = first.groupby("owner")
    table = pd.DataFrame(
        {
            "accounts": grouped["account_id"].nunique(),
            "red": grouped["health_band"].agg(lambda b: int((b == "red").sum())),
            "next_due": grouped["due_date"].min(),
            "arr_at_stake": grouped["arr_at_stake"].sum(min_count=1),
        }
    ).reset_index()
    return table.sort_values(["red", "arr_at_stake"], ascending=False).reset_index(drop=True)
