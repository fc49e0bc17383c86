"""assign_folds at its edges: the exact reason when there is nothing or too little to split,
counted in accounts when an account has several rows (one account can hold both outcomes) and
in rows otherwise."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from evaluation._folds import FoldPlan, assign_folds

NEED = "two folds need at least two of each"


def test_no_known_outcome_at_all():
    ids = pd.Series(["a", "b"])
    assert assign_folds(ids, pd.Series([np.nan, np.nan]), k=5, seed=0) == (
        "no row has a known outcome"
    )


def test_a_single_labelled_row_is_counted_not_called_empty():
    ids = pd.Series(["a", "b"])
    reason = assign_folds(ids, pd.Series([1.0, np.nan]), k=5, seed=0)
    assert reason == f"1 labelled rows of 1 accounts hold 1 positive and 0 negative rows; {NEED}"


def test_one_row_per_account_counts_rows():
    ids = pd.Series([f"a{i}" for i in range(6)])
    y = pd.Series([1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    reason = assign_folds(ids, y, k=5, seed=0)
    assert reason == f"6 labelled rows of 6 accounts hold 1 positive and 5 negative rows; {NEED}"


def test_several_rows_per_account_count_accounts_and_one_may_hold_both():
    ids = pd.Series(["a", "a", "b", "b", "c", "c"])
    y = pd.Series([1.0, 0.0, 0.0, 0.0, 0.0, 0.0])  # a churned at one snapshot only
    reason = assign_folds(ids, y, k=5, seed=0)
    assert reason == (
        f"6 labelled rows of 3 accounts hold 1 positive and 3 negative accounts; {NEED}"
    )


def test_k_is_the_fewest_of_positive_and_negative_units():
    ids = pd.Series([f"a{i}" for i in range(9)])
    y = pd.Series([1.0] * 6 + [0.0] * 3)
    plan = assign_folds(ids, y, k=5, seed=0)
    assert isinstance(plan, FoldPlan) and plan.k == 3
    assert sorted(set(plan.fold)) == [0, 1, 2]


def test_a_plan_is_immutable():
    plan = assign_folds(pd.Series([f"a{i}" for i in range(4)]), pd.Series([1.0, 0, 1, 0]), 2, 0)
    assert isinstance(plan, FoldPlan)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.k = 3  # type: ignore[misc]
