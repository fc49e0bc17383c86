"""Randomized effects: Wilson and Newcombe intervals on published values, arm differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from playbook.effects import arm_difference, newcombe_interval, wilson_interval


def test_wilson_interval_matches_the_published_values():
    # Newcombe (1998), Table I: 0/10 gives 0 to 0.2775; 81/263 gives 0.2553 to 0.3662.
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)


def test_newcombe_interval_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873-890, example (a), method 10:
    # 56/70 - 48/80 = 0.2000, interval 0.0524 to 0.3339.
    assert newcombe_interval(56, 70, 48, 80) == pytest.approx((0.0524, 0.3339), abs=1e-4)
    # Swapping the arms mirrors it.
    assert newcombe_interval(48, 80, 56, 70) == pytest.approx((-0.3339, -0.0524), abs=1e-4)


def test_an_empty_arm_has_no_interval():
    low, high = newcombe_interval(3, 10, 0, 0)
    assert math.isnan(low) and math.isnan(high)


def test_arm_difference_counts_rates_and_intervals_by_hand():
    treated = np.array([1, 1, 0, 0, 0, 0, 0, 0])  # 2 of 8 churned
    control = np.array([1, 1, 1, 0])  # 3 of 4
    d = arm_difference(treated, control, n_bootstrap=500, seed=1)
    assert (d.treated_n, d.control_n, d.treated_events, d.control_events) == (8, 4, 2, 3)
    assert d.treated_rate == 0.25 and d.control_rate == 0.75
    assert d.effect == -0.5
    assert (d.ci_low, d.ci_high) == newcombe_interval(2, 8, 3, 4)
    assert d.ci_low < d.effect < d.ci_high
    assert d.bootstrap_low <= d.effect <= d.bootstrap_high
    # Seeded: the same bootstrap twice, another seed another one.
    again = arm_difference(treated, control, n_bootstrap=500, seed=1)
    assert (again.bootstrap_low, again.bootstrap_high) == (d.bootstrap_low, d.bootstrap_high)


def test_no_difference_is_centred_on_zero():
    y = np.array([1, 0, 0, 1, 0, 0, 1, 0, 0, 0])
    d = arm_difference(y, y.copy(), n_bootstrap=0)
    assert d.effect == 0.0
    assert d.ci_low == pytest.approx(-d.ci_high)
    assert math.isnan(d.bootstrap_low)
