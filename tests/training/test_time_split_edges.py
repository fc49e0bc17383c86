"""training._split.time_split at its edges: at least one date held out, at least one date kept
for training, the single-date fallback, and the description."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training._split import time_split, validation_order


def dates(*days: str, name: str | None = "churn_known_at") -> pd.Series:
    return pd.Series(pd.to_datetime(list(days)), name=name)


def test_two_dates_hold_out_the_later_one_even_when_the_fraction_rounds_to_none():
    order = dates("2024-01-01", "2024-01-01", "2024-02-01")
    mask, description = time_split(order, 0.2, seed=0)  # round(2 x 0.2) = 0 -> at least 1
    assert mask.tolist() == [False, False, True]
    assert description == "time: churn_known_at >= 2024-02-01 (1 dates)"


def test_a_large_fraction_still_leaves_one_date_to_train_on():
    order = dates("2024-01-01", "2024-02-01", "2024-03-01")
    mask, description = time_split(order, 0.9, seed=0)  # round(2.7) = 3 -> at most 3 - 1
    assert mask.tolist() == [False, True, True]
    assert description == "time: churn_known_at >= 2024-02-01 (2 dates)"


def test_the_fraction_of_distinct_dates_not_of_rows():
    order = dates(*["2024-01-01"] * 50, "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01")
    mask, _ = time_split(order, 0.5, seed=0)  # 5 dates: round(2.5) = 2 (banker's) -> Apr, May
    assert mask.sum() == 2 and mask[-2:].all()


def test_an_unnamed_order_is_called_date():
    _, description = time_split(dates("2024-01-01", "2024-02-01", name=None), 0.5, seed=0)
    assert description == "time: date >= 2024-02-01 (1 dates)"


def test_a_single_date_falls_back_to_a_seeded_random_hold_out():
    order = dates(*["2024-01-01"] * 2_000)
    mask, description = time_split(order, 0.2, seed=7)
    assert description == "random: single as_of date, seeded hold-out"
    assert 0.17 < mask.mean() < 0.23
    again, _ = time_split(order, 0.2, seed=7)
    np.testing.assert_array_equal(mask, again)
    assert not np.array_equal(mask, time_split(order, 0.2, seed=8)[0])


def test_the_order_is_the_targets_known_date_else_as_of():
    frame = pd.DataFrame(
        {"as_of": pd.to_datetime(["2024-01-01"]), "churn_known_at": pd.to_datetime(["2024-08-01"])}
    )
    assert validation_order(frame, "churn").name == "churn_known_at"
    assert validation_order(frame, "expansion").name == "as_of"
