"""The ranked, weighted ROC-AUC behind the paired bootstrap's ROC-AUC replicates."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from training._auc import ranked, weighted_auc
from training._metrics import account_draws, metric_value, paired_bootstrap_interval


def test_weighted_auc_counts_ties_as_half_and_uses_weights():
    y = np.array([0, 1, 0, 1, 1, 0])
    scores = np.array([0.1, 0.4, 0.4, 0.8, 0.2, 0.3])
    weights = np.array([1.0, 2.0, 1.0, 1.0, 3.0, 2.0])
    ranks, n = ranked(scores)
    expected = roc_auc_score(y, scores, sample_weight=weights)
    assert weighted_auc(ranks, n, y == 1, weights) == pytest.approx(expected, abs=1e-12)


def test_weighted_auc_is_nan_without_both_classes():
    ranks, n = ranked(np.array([0.2, 0.5, 0.7]))
    assert np.isnan(weighted_auc(ranks, n, np.array([True, True, True]), np.ones(3)))


def _sklearn_bootstrap(y, p, reference, accounts, seed, n_bootstrap):
    """The interval with scikit-learn on the drawn rows of each replicate (the same draws)."""
    differences = []
    for weights in account_draws(accounts, seed, n_bootstrap):
        keep = weights > 0
        if len(np.unique(y[keep])) < 2:
            continue
        a = metric_value("roc_auc", y[keep], p[keep], weights[keep])
        differences.append(a - metric_value("roc_auc", y[keep], reference[keep], weights[keep]))
    return tuple(float(v) for v in np.percentile(differences, [2.5, 97.5]))


def test_interval_equals_the_scikit_learn_bootstrap_on_margins_with_ties():
    rng = np.random.default_rng(3)
    accounts = np.repeat(np.arange(10, 50).astype(str), 3)
    y = rng.integers(0, 2, len(accounts))
    # Raw margins, as the refinement passes them: negative ones all clip to the same score.
    reference = np.round(rng.normal(0, 1, len(accounts)), 1)
    p = reference + np.round(rng.normal(0, 0.5, len(accounts)), 1)
    fast = paired_bootstrap_interval(y, p, reference, accounts, "roc_auc", 7, 50)
    slow = _sklearn_bootstrap(y, p, reference, accounts, seed=7, n_bootstrap=50)
    assert fast == pytest.approx(slow, abs=1e-12)
    assert fast[0] < fast[1]


def test_interval_is_nan_when_no_replicate_has_both_classes():
    y = np.array([1, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.4])
    low, high = paired_bootstrap_interval(
        y, scores, scores[::-1], np.array(list("abcd")), "roc_auc", 0, 20
    )
    assert np.isnan(low) and np.isnan(high)
