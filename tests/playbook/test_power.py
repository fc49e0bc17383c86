"""Sample sizes of the two-proportion comparison, worked by hand."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from playbook.power import power_at, sample_size


def test_equal_arms_match_the_formula_worked_by_hand():
    # 50% vs 60%, alpha 0.05 two-sided, power 0.8, equal arms:
    # [1.95996 sqrt(0.55 0.45 2) + 0.84162 sqrt(0.25 + 0.24)]^2 / 0.1^2 = 387.3 -> 388 per arm.
    assert sample_size(0.5, 0.6) == (388, 388)


def test_an_unequal_allocation_keeps_its_ratio_and_needs_more_in_total():
    control, treated = sample_size(0.30, 0.20, ratio=9.0)  # a 10% holdback
    assert abs(treated / control - 9.0) < 9.0 / control  # both rounded up
    equal = sample_size(0.30, 0.20)
    assert control + treated > sum(equal)


def test_the_needed_sample_has_the_asked_power():
    control, treated = sample_size(0.25, 0.15, ratio=3.0)
    assert power_at(0.25, 0.15, control, treated) == pytest.approx(0.8, abs=0.01)
    # And half of it has less.
    assert power_at(0.25, 0.15, control // 2, treated // 2) < 0.6


def test_no_difference_needs_no_sample_size():
    assert sample_size(0.2, 0.2) is None
    assert math.isnan(power_at(0.2, 0.2, 100, 100))


def test_power_at_by_hand():
    # null se = sqrt(0.55 0.45 (2 / 100)) = 0.070356; se = sqrt(0.25 / 100 + 0.24 / 100) = 0.07
    expected = norm.cdf((0.1 - norm.ppf(0.975) * 0.0703562) / 0.07)
    assert power_at(0.5, 0.6, 100, 100) == pytest.approx(expected, abs=1e-6)
