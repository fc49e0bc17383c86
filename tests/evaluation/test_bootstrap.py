"""Bootstrap by account: the weighted curves equal scikit-learn's, an account's rows move
together, and the intervals widen when the same rows belong to fewer accounts."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from evaluation.bootstrap import (
    account_draws,
    bootstrap_intervals,
    weighted_band_ratio,
    weighted_pr_auc,
    weighted_roc_auc,
)


def test_weighted_curves_equal_scikit_learn_with_sample_weights() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.2).astype(float)
    p = np.round(rng.random(400) + 0.4 * y, 1)  # many ties
    codes, counts = account_draws(rng.integers(0, 50, 400), 4, seed=1)
    weights = counts[:, codes].astype(float)
    expected_roc = [roc_auc_score(y, p, sample_weight=w) for w in weights]
    expected_pr = [average_precision_score(y, p, sample_weight=w) for w in weights]
    np.testing.assert_allclose(weighted_roc_auc(y, p, weights), expected_roc, rtol=1e-12)
    np.testing.assert_allclose(weighted_pr_auc(y, p, weights), expected_pr, rtol=1e-12)


def test_an_accounts_rows_share_one_weight_in_every_replicate() -> None:
    accounts = np.array(["b", "a", "b", "c", "a", "b"])
    codes, counts = account_draws(accounts, 20, seed=3)
    weights = counts[:, codes]
    assert (weights[:, 0] == weights[:, 2]).all() and (weights[:, 2] == weights[:, 5]).all()
    assert (weights[:, 1] == weights[:, 4]).all()
    assert (counts.sum(axis=1) == 3).all()  # three accounts drawn per replicate


def test_band_ratio_weights_renewals_per_band() -> None:
    churned = np.array([0.0, 0.0, 1.0, 1.0])
    bands = np.array(["green", "green", "red", "red"], dtype=object)
    ratio = weighted_band_ratio(churned, bands, np.array([[1.0, 1.0, 1.0, 1.0]]))
    assert np.isinf(ratio[0])  # every red churned
    churned[2] = 0.0
    assert weighted_band_ratio(churned, bands, np.array([[1.0, 3.0, 1.0, 1.0]]))[0] == 2.0


def _predictions(n_accounts: int, rows_each: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = n_accounts * rows_each
    # The same 1,200 rows, owned by fewer or more accounts; an account's rows share the outcome.
    risk = np.repeat(rng.normal(size=n_accounts), rows_each)
    y = np.repeat(rng.random(n_accounts), rows_each) < 1 / (1 + np.exp(0.5 - risk))
    p = 1 / (1 + np.exp(-(risk + rng.normal(0, 1.0, n))))
    frame = pd.DataFrame(
        {
            "cutoff": "w",
            "model": "segmented",
            "account_id": np.repeat([f"a{i}" for i in range(n_accounts)], rows_each),
            "spine": "monthly",
            "churn": y.astype(float),
            "p_churn": p,
        }
    )
    other = frame.assign(model="global", p_churn=rng.random(n))
    return pd.concat([frame, other], ignore_index=True)


def test_intervals_reflect_accounts_not_rows_and_pair_the_models() -> None:
    few = bootstrap_intervals(_predictions(40, 30), "churn", n_bootstrap=300, seed=0)
    many = bootstrap_intervals(_predictions(1200, 1), "churn", n_bootstrap=300, seed=0)

    def width(intervals: dict, model: str = "segmented") -> float:
        low, high = intervals[model]["roc_auc_ci"]
        return high - low

    assert width(few) > 2 * width(many)
    _, high = few["global"]["roc_auc_vs_headline_ci"]
    assert high < 0  # random scores rank worse than the real ones, on the same draws
    assert "roc_auc_vs_headline_ci" not in few["segmented"]
    assert bootstrap_intervals(_predictions(40, 30), "churn", n_bootstrap=0, seed=0) == {}


def test_differences_are_to_the_chosen_candidate_when_it_is_there() -> None:
    # `chosen` scores like the real model: global is worse than it, and segmented (a copy of the
    # random one here) gets a difference of its own instead of being the reference.
    rows = _predictions(40, 30)
    real = rows[rows["model"] == "segmented"]
    rows = pd.concat(
        [
            rows.assign(
                model=rows["model"].replace({"segmented": "global", "global": "segmented"})
            ),
            real.assign(model="chosen"),
        ],
        ignore_index=True,
    )
    intervals = bootstrap_intervals(rows, "churn", n_bootstrap=200, seed=0)
    assert "roc_auc_vs_headline_ci" not in intervals["chosen"]
    assert intervals["global"]["roc_auc_vs_headline_ci"] == [0.0, 0.0]  # the same scores
    assert intervals["segmented"]["roc_auc_vs_headline_ci"][1] < 0
