import numpy as np
import pandas as pd

from training._split import decision_half, selection_rows


def test_the_decision_half_is_by_account_stable_and_about_half() -> None:
    accounts = np.array([f"acc-{i:05d}" for i in range(4000)])
    half = decision_half(accounts, seed=0)
    assert 0.45 < half.mean() < 0.55
    # A row's half depends on its account and the seed only, not on the other rows.
    assert (decision_half(accounts[::7], seed=0) == half[::7]).all()
    repeated = np.repeat(accounts[:50], 3)
    assert (decision_half(repeated, seed=0).reshape(50, 3).std(axis=1) == 0).all()
    assert (decision_half(accounts, seed=1) != half).any()


def test_candidates_are_compared_on_the_other_half_of_the_out_of_time_rows() -> None:
    frame = pd.DataFrame(
        {
            "account_id": [f"a{i % 40}" for i in range(400)],
            "as_of": pd.to_datetime("2024-01-01") + pd.to_timedelta(np.arange(400) // 40, "D"),
        }
    )
    frame["churn_known_at"] = frame["as_of"] + pd.Timedelta(days=90)
    compared = selection_rows(frame, "churn", fraction=0.2, seed=0)
    latest_two_dates = (frame["as_of"] >= pd.Timestamp("2024-01-09")).to_numpy()
    decide = decision_half(frame["account_id"].to_numpy(), seed=0)
    assert (compared == (latest_two_dates & ~decide)).all()
    assert compared.any() and (latest_two_dates & decide).any()
