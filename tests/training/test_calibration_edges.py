"""Calibration at its edges: the row count that switches Platt to beta, a Platt slope below 1
kept (not flattened to the base rate), and a beta fit whose lower tail falls."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from training.calibration import fit_calibrator


def _rising(n: int, seed: int, slope: float = 0.5, shift: float = -1.0):
    rng = np.random.default_rng(seed)
    margin = rng.normal(0, 2, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(slope * margin + shift)))).astype(int)
    return margin, y


def test_beta_from_exactly_100_rows_platt_below():
    margin, y = _rising(100, seed=3)
    assert fit_calibrator(margin, y).kind == "beta"
    assert fit_calibrator(margin[:99], y[:99]).kind == "sigmoid"


def test_a_gentle_platt_slope_is_kept():
    margin, y = _rising(99, seed=4, slope=0.5)
    calibrator = fit_calibrator(margin, y)
    assert calibrator.kind == "sigmoid"
    assert 0.0 < calibrator.a < 1.0  # a slope, not the base rate (a = 0)
    p = calibrator.predict(np.array([-4.0, 0.0, 4.0]))
    assert p[0] < p[1] < p[2]


@pytest.mark.parametrize(("seed", "upper"), [(0, 1.5), (1, 0.6)])  # b about 1.0 and 0.35
def test_a_beta_fit_whose_lower_tail_falls_keeps_the_upper_term(seed, upper):
    # Risk falls with the margin below 0 and rises above it: ln(p0), the lower tail's term,
    # comes out negative and is dropped; -ln(1 - p0) is refitted alone and stays positive.
    rng = np.random.default_rng(seed)
    margin = rng.normal(0, 2, 4_000)
    logit = -0.4 * np.minimum(margin, 0.0) + upper * np.maximum(margin, 0.0) - 1.0
    y = (rng.random(len(margin)) < 1 / (1 + np.exp(-logit))).astype(int)
    calibrator = fit_calibrator(margin, y)
    assert calibrator.kind == "beta"
    assert calibrator.a == 0.0 and calibrator.b > 0.0
    assert (np.diff(calibrator.predict(np.linspace(-8, 8, 81))) > 0).all()
    # ... and b, c are the refit on -ln(1 - p0) alone, not the two-term fit with a clipped.
    refit = LogisticRegression(C=1e4, max_iter=1000).fit(np.logaddexp(0.0, margin)[:, None], y)
    assert calibrator.b == pytest.approx(refit.coef_[0, 0], rel=1e-6)
    assert calibrator.c == pytest.approx(refit.intercept_[0], rel=1e-6)


def test_a_calibrator_is_immutable():
    calibrator = fit_calibrator(*_rising(200, seed=5))
    with pytest.raises(dataclasses.FrozenInstanceError):
        calibrator.a = 2.0  # type: ignore[misc]


@pytest.mark.parametrize("rows", [99, 600], ids=["platt", "beta"])
def test_a_gently_falling_curve_is_the_base_rate(rows):
    # Falling slopes between -1 and 0 (Platt's a; beta's refitted b is -0.81 here) are still
    # falling: never a decreasing map, nor a constant other than the base rate.
    rng = np.random.default_rng(6)
    margin = rng.normal(0, 2, rows)
    y = (rng.random(rows) < 1 / (1 + np.exp(0.4 * margin))).astype(int)
    calibrator = fit_calibrator(margin, y)
    p = calibrator.predict(np.linspace(-6, 6, 13))
    assert np.ptp(p) == 0.0 and p[0] == pytest.approx(y.mean())


def test_a_beta_fit_whose_upper_tail_falls_keeps_a_gentle_lower_term():
    # Risk rises gently below 0 and falls above it: -ln(1 - p0)'s coefficient comes out
    # negative and is dropped; the refitted ln(p0) term keeps a slope under 1.
    rng = np.random.default_rng(2)
    margin = rng.normal(0, 2, 4_000)
    logit = 0.5 * np.minimum(margin, 0.0) - 0.8 * np.maximum(margin, 0.0) - 1.0
    y = (rng.random(len(margin)) < 1 / (1 + np.exp(-logit))).astype(int)
    calibrator = fit_calibrator(margin, y)
    assert calibrator.kind == "beta" and calibrator.b == 0.0
    assert 0.0 < calibrator.a < 1.0
    assert (np.diff(calibrator.predict(np.linspace(-8, 8, 81))) > 0).all()
