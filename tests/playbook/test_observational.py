"""The observational estimator: the AIPW formula by hand, the overlap check, a known effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from playbook.observational import aipw_att, aipw_att_from_nuisances, check_overlap


def test_aipw_att_formula_worked_by_hand():
    t = np.array([1, 1, 0, 0, 0])
    y = np.array([1, 1, 0, 1, 0])
    e = np.array([0.6, 0.6, 0.2, 0.5, 0.5])
    m0 = np.array([0.4, 0.2, 0.3, 0.6, 0.2])
    # treated: (1 - 0.4) + (1 - 0.2) = 1.4; untreated: 0.25(-0.3) + 1(0.4) + 1(-0.2) = 0.125
    att, se = aipw_att_from_nuisances(t, y, e, m0)
    assert att == pytest.approx((1.4 - 0.125) / 2)
    assert se > 0


def test_overlap_fails_when_treated_rows_have_no_untreated_twin():
    e = np.array([0.3, 0.5, 0.99, 0.1, 0.4, 0.6])
    t = np.array([1, 1, 1, 0, 0, 0], dtype=bool)
    verdict, _ = check_overlap(e, t)
    assert not verdict.identified
    assert verdict.outside_share == pytest.approx(1 / 3)
    assert (verdict.support_low, verdict.support_high) == (0.3, 0.6)
    assert "not identified" in verdict.note


def test_overlap_trims_to_the_common_support():
    e = np.array([0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.5, 0.55, 0.58, 0.9, 0.1, 0.2, 0.65])
    t = np.array([1] * 11 + [0] * 3, dtype=bool)
    verdict, inside = check_overlap(e, t)
    # Untreated range [0.1, 0.65], treated minimum 0.3: support [0.3, 0.65]; 0.9 is outside.
    assert verdict.identified
    assert verdict.outside_share == pytest.approx(1 / 11)
    assert inside.tolist() == [True] * 10 + [False, False, False, True]


def _confounded(n: int, seed: int, deterministic: bool = False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = rng.normal(size=n)
    e = 1 / (1 + np.exp(-(x - 1.0)))
    t = (x > 1.0) if deterministic else rng.random(n) < e
    base = 1 / (1 + np.exp(-(-0.5 + 1.5 * x)))
    with_play = 1 / (1 + np.exp(-(-0.5 + 1.5 * x - 1.0)))
    y = (rng.random(n) < np.where(t, with_play, base)).astype(float)
    truth = float((with_play - base)[t].mean())
    return pd.DataFrame({"x": x, "z": z}), t, y, truth


def test_aipw_recovers_a_known_effect_the_naive_difference_misses():
    X, t, y, truth = _confounded(4000, seed=11)
    verdict, estimate = aipw_att(X, t, y, seed=0)
    assert verdict.identified
    naive = y[t].mean() - y[~t].mean()
    # Sicker accounts got the play: the raw difference says the play raises churn.
    assert naive > 0 > truth
    assert abs(estimate.effect - truth) < 3 * estimate.se
    assert estimate.ci_low < truth < estimate.ci_high
    assert estimate.adjusted_untreated_rate == pytest.approx(
        estimate.treated_rate - estimate.effect
    )


def test_a_deterministic_rule_is_not_identified():
    X, t, y, _ = _confounded(2000, seed=3, deterministic=True)
    verdict, estimate = aipw_att(X, t, y, seed=0)
    assert not verdict.identified
    assert estimate is None
