"""The simulated handoff: its rows meet the contract, and its truth is the effect the
onboarding actually received."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.contract import HANDOFF_FIELDS
from simulator import _handoffs as H


@pytest.fixture(scope="module")
def handoffs(sim_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(sim_dir / "handoffs.parquet")


@pytest.fixture(scope="module")
def truth(sim_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(sim_dir / "handoffs_truth.parquet")


def test_rows_meet_the_contract_inside_the_data(handoffs, tables, data_end):
    accounts = tables["accounts"].set_index("account_id")
    assert list(handoffs.columns) == ["account_id", "handed_off_at", *HANDOFF_FIELDS]
    assert handoffs["handed_off_at"].max() < data_end
    assert set(handoffs["account_id"]) <= set(accounts.index)
    created = accounts.loc[handoffs["account_id"], "created_at"].to_numpy()
    assert (handoffs["handed_off_at"].to_numpy() >= created).all()
    assert handoffs["champion_named"].dtype == bool
    per_account = handoffs.groupby("account_id").size()
    assert per_account.max() <= 2  # the handoff and at most one revision
    # Some accounts never get one (MISSING_SHARE 8% of 300: between 2% and 16%).
    assert 0.02 < 1 - len(per_account) / len(accounts) < 0.16


def test_the_truth_is_the_shift_of_the_completeness_at_kickoff(handoffs, truth, tables):
    assert len(truth) == len(tables["accounts"])
    expected = H.QUALITY_PER_COMPLETENESS * (truth["completeness_at_kickoff"] - H.CENTRE)
    np.testing.assert_allclose(truth["quality_shift"], expected)
    np.testing.assert_allclose(truth["pace_factor"], np.exp(-0.5 * truth["quality_shift"]))
    # On time, the kickoff completeness is the first revision's share of filled fields.
    created = tables["accounts"].set_index("account_id")["created_at"]
    first = handoffs.sort_values("handed_off_at").drop_duplicates("account_id")
    on_time = first[
        first["handed_off_at"]
        < first["account_id"].map(created) + pd.Timedelta(days=H.KICKOFF_DAYS)
    ]
    filled = on_time[list(HANDOFF_FIELDS)].notna() & on_time[list(HANDOFF_FIELDS)].ne(False)
    by_account = truth.set_index("account_id")["completeness_at_kickoff"]
    np.testing.assert_allclose(filled.mean(axis=1), by_account[on_time["account_id"]])
    # No handoff at all: nothing acted.
    none = sorted(set(truth["account_id"]) - set(handoffs["account_id"]))
    assert (by_account[none] == 0).all()


def test_a_sparse_handoff_slows_onboarding_and_stalls_it_more_often(truth, tables):
    milestones = tables["milestones"]
    complete = milestones[milestones["milestone"] == "onboarding_complete"].set_index("account_id")
    created = tables["accounts"].set_index("account_id")["created_at"]
    took = (complete["achieved_at"] - created.reindex(complete.index)).dt.days
    frame = truth.set_index("account_id").join(took.rename("took"))
    sparse = frame["completeness_at_kickoff"] < 0.5
    # The stall the truth reports is the one the milestones show (stalled: often never done).
    assert frame.loc[sparse, "stalled_with"].mean() > frame.loc[~sparse, "stalled_with"].mean()
    reached = frame.dropna(subset=["took"])
    reached = reached[~reached["stalled_with"]]
    slow = reached.loc[reached["completeness_at_kickoff"] < 0.5, "took"].median()
    fast = reached.loc[reached["completeness_at_kickoff"] >= 0.8, "took"].median()
    assert slow > fast
