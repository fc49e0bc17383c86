"""K-fold by account: no account on both sides of a split; plain stratified only when every
account has one row; a reason instead of folds when there is too little to split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation._folds import GROUPED, STRATIFIED, FoldPlan, assign_folds
from evaluation.backtest import run_backtest
from tests.evaluation.synthetic import make_frame


def _accounts(n_accounts: int, rows_each: int, seed: int = 0) -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    ids = pd.Series(np.repeat([f"a{i:03d}" for i in range(n_accounts)], rows_each))
    churner = rng.random(n_accounts) < 0.2
    y = pd.Series(np.repeat(churner, rows_each).astype(float))
    y[rng.random(len(y)) < 0.1] = np.nan  # some outcomes still unknown
    return ids, y


def test_an_account_with_several_rows_never_sits_on_both_sides() -> None:
    ids, y = _accounts(120, 6)
    plan = assign_folds(ids, y, k=5, seed=0)
    assert isinstance(plan, FoldPlan) and plan.scheme == GROUPED and plan.k == 5
    labelled = y.notna().to_numpy()
    assert (plan.fold[~labelled] == -1).all()
    folds_per_account = pd.Series(plan.fold[labelled]).groupby(ids[labelled].to_numpy()).nunique()
    assert (folds_per_account == 1).all()
    # Stratified: each fold holds positives, close to the overall share.
    shares = pd.Series(y[labelled].to_numpy()).groupby(plan.fold[labelled]).mean()
    assert shares.min() > 0 and (shares - y.mean()).abs().max() < 0.1
    assert "StratifiedGroupKFold" in plan.description


def test_one_row_per_account_is_plain_stratified() -> None:
    ids, y = _accounts(200, 1)
    plan = assign_folds(ids, y, k=4, seed=0)
    assert isinstance(plan, FoldPlan) and plan.scheme == STRATIFIED and plan.k == 4


def test_too_few_positive_accounts_lowers_k_or_gives_the_reason() -> None:
    ids = pd.Series(np.repeat(["a", "b", "c", "d"], 3))
    y = pd.Series([1.0] * 3 + [0.0] * 3 + [1.0] * 3 + [0.0] * 3)
    plan = assign_folds(ids, y, k=5, seed=0)
    assert isinstance(plan, FoldPlan) and plan.k == 2  # two positive accounts: two folds
    reason = assign_folds(ids, y.where(ids != "c", 0.0), k=5, seed=0)
    assert isinstance(reason, str) and "1 positive" in reason


def _logistic_only(rows, target, config, cutoff=None):
    # One real, fast candidate: this test is about which rows train and score, not the models.
    from training.baselines import LogisticBaseline

    return {"logistic": LogisticBaseline(target, config).fit(rows, rows[target].astype(int))}


def test_kfold_backtest_scores_each_account_in_one_fold_only(demo_frame, fast_config) -> None:
    frame, _, data_end = demo_frame
    result = run_backtest(
        frame, fast_config, cutoffs="kfold", data_end=data_end, fit_candidates=_logistic_only
    )
    assert result.summary["schemes"] == {"churn": GROUPED, "expansion": GROUPED}
    churn = result.predictions[
        (result.predictions["model"] == "logistic") & result.predictions["p_churn"].notna()
    ]
    assert (churn.groupby("account_id")["cutoff"].nunique() == 1).all()
    assert len(churn) == frame["churn"].notna().sum()  # every labelled row scored once
    assert "grouped k-fold" in result.summary["targets"]["churn"]["evaluation"]["note"]
    # Not time-honest: the evidence block says what cross-validation cannot support.
    unsupported = result.summary["targets"]["churn"]["evidence"]["unsupported"]
    assert any("not a time-honest backtest" in line for line in unsupported)


def test_row_folds_would_put_an_account_on_both_sides() -> None:
    # The defect the grouping fixes: StratifiedKFold over rows splits an account's snapshots.
    from sklearn.model_selection import StratifiedKFold

    frame, _, _ = make_frame(n_accounts=60, months=12)
    rows = frame[frame["churn"].notna()].reset_index(drop=True)
    fold = np.empty(len(rows), dtype=int)
    splitter = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    for i, (_, test) in enumerate(splitter.split(rows, rows["churn"])):
        fold[test] = i
    assert (pd.Series(fold).groupby(rows["account_id"]).nunique() > 1).any()
    plan = assign_folds(rows["account_id"], rows["churn"], k=3, seed=0)
    assert isinstance(plan, FoldPlan)
    assert (pd.Series(plan.fold).groupby(rows["account_id"]).nunique() == 1).all()
