"""Assignment: who owns a play, by when it is due and reviewed, and what is at stake.

The owner is the account's CSM (`csm_id`); an account without one is "unassigned"
(`[playbook] unassigned_owner`) and counted as such, never given to someone by guess. Dates
count from the snapshot (as_of), the day the scores describe, so a file made twice for the same
snapshot gives the same dates.
"""

from __future__ import annotations

import pandas as pd


def owner_of(csm_id: pd.Series, unassigned: str = "unassigned") -> pd.Series:
    """The account's csm_id as text; missing or blank ids become `unassigned`."""
    text = csm_id.astype("string").str.strip()
    return text.where(text.notna() & text.ne(""), unassigned).astype(object)


def date_after(as_of: pd.Series, days: int) -> pd.Series:
    """The day `days` after as_of (midnight timestamps)."""
    return pd.to_datetime(as_of).dt.normalize() + pd.Timedelta(days=days)


def arr_at_stake(arr: pd.Series) -> pd.Series:
    """The ARR in force at as_of: what a save play protects, the base an expansion grows."""
    return pd.to_numeric(arr, errors="coerce").astype(float)
