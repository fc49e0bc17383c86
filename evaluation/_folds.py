"""K-fold assignment for the backtest: grouped by account whenever an account has several rows.

Neighbouring monthly snapshots of one account are almost the same row; with row-stratified folds
they sit on both sides of a split and the model is graded on accounts it has already seen (the
issue measured 0.87 vs 0.65 churn ROC-AUC on the same features). So an account's rows always
share one fold (scikit-learn's StratifiedGroupKFold, which also keeps the positive share of the
folds close). Only data with one row per account (a CRM export, the Telco import) gets plain
StratifiedKFold, and the scheme says which was used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

GROUPED = "grouped k-fold"
STRATIFIED = "stratified k-fold"


@dataclass(frozen=True)
class FoldPlan:
    """Fold number per row (-1: not labelled, never scored nor trained on), and the scheme."""

    fold: np.ndarray
    k: int
    scheme: str  # GROUPED or STRATIFIED
    description: str


def assign_folds(account_id: pd.Series, y: pd.Series, k: int, seed: int) -> FoldPlan | str:
    """Folds over the rows with a label (`y` not NaN), or the reason there can be none.

    Returns a `FoldPlan`, or a sentence saying why the rows cannot be cross-validated (fewer
    labelled accounts or positives than two folds need). `k` is lowered to the number of
    accounts with a positive when there are fewer, so every fold can hold one.
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    labels = y.to_numpy(float)
    labelled = np.flatnonzero(~np.isnan(labels))
    fold = np.full(len(labels), -1)
    if labelled.size == 0:
        return "no row has a known outcome"
    values = labels[labelled]
    groups = account_id.to_numpy()[labelled]
    n_accounts = len(pd.unique(groups))
    grouped = n_accounts < labelled.size
    unit = "accounts" if grouped else "rows"
    positive_units = len(pd.unique(groups[values == 1])) if grouped else int((values == 1).sum())
    negative_units = len(pd.unique(groups[values == 0])) if grouped else int((values == 0).sum())
    k = min(k, positive_units, negative_units)
    if k < 2:
        return (
            f"{labelled.size} labelled rows of {n_accounts} accounts hold {positive_units} "
            f"positive and {negative_units} negative {unit}; two folds need at least two of each"
        )
    if grouped:
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        splits = splitter.split(labelled, values, groups)
        description = (
            f"{GROUPED} ({k} folds, StratifiedGroupKFold): all {labelled.size} labelled rows of "
            f"one account share a fold ({n_accounts} accounts, "
            f"{labelled.size / n_accounts:.1f} rows per account)"
        )
    else:
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        splits = splitter.split(labelled, values)
        description = (
            f"{STRATIFIED} ({k} folds): one labelled row per account ({n_accounts} accounts)"
        )
    for index, (_, test) in enumerate(splits):
        fold[labelled[test]] = index
    return FoldPlan(fold, k, GROUPED if grouped else STRATIFIED, description)
