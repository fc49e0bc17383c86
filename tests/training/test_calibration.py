from __future__ import annotations

import numpy as np
import pytest

from training.calibration import IDENTITY, Calibrator, fit_calibrator


def _data(n: int, seed: int = 0, slope: float = 0.5, shift: float = -1.0):
    rng = np.random.default_rng(seed)
    margin = rng.normal(0, 2, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(slope * margin + shift)))).astype(int)
    return margin, y


def test_beta_with_enough_rows_sigmoid_below():
    margin, y = _data(500)
    assert fit_calibrator(margin, y).kind == "beta"
    assert fit_calibrator(margin[:60], y[:60]).kind == "sigmoid"


def test_calibrators_are_strictly_increasing_inside_0_1_and_round_trip_through_json():
    margin, y = _data(600)
    grid = np.linspace(-10, 10, 401)
    for rows in (60, 600):
        calibrator = fit_calibrator(margin[:rows], y[:rows])
        p = calibrator.predict(grid)
        # Strictly: no range of margins collapses onto one probability (isotonic's floor did).
        assert (np.diff(p) > 0).all()
        assert ((p > 0) & (p < 1)).all()
        again = Calibrator.from_json(calibrator.to_json())
        np.testing.assert_array_equal(again.predict(grid), p)


def test_every_distinct_margin_keeps_a_distinct_probability():
    margin, y = _data(5_000, seed=3, slope=1.5, shift=-4.0)  # a rare outcome, a long low tail
    p = fit_calibrator(margin, y).predict(margin)
    assert len(np.unique(p)) == len(np.unique(margin))
    assert (p == p.min()).mean() <= 0.02


def test_beta_recovers_a_logistic_mapping():
    # The logistic law is the beta family's a = b case: logit p = a * margin + c.
    margin, y = _data(20_000, seed=1)
    calibrator = fit_calibrator(margin, y)
    assert calibrator.a == pytest.approx(0.5, abs=0.06)
    assert calibrator.b == pytest.approx(0.5, abs=0.06)
    assert calibrator.c == pytest.approx(-1.0, abs=0.1)


def test_beta_bends_one_tail_where_platt_cannot():
    # Over-confident at the top only: the truth is flat above margin 0.
    rng = np.random.default_rng(5)
    margin = rng.normal(0, 2, 20_000)
    truth = 1 / (1 + np.exp(-(np.minimum(margin, 0.0) - 1.0)))
    y = (rng.random(len(margin)) < truth).astype(int)
    beta = fit_calibrator(margin, y)
    sigmoid = fit_calibrator(margin[:99], y[:99])  # Platt, for comparison on the same law
    top = margin > 2
    assert abs(beta.predict(margin[top]).mean() - y[top].mean()) < 0.05
    assert abs(sigmoid.predict(margin[top]).mean() - y[top].mean()) > abs(
        beta.predict(margin[top]).mean() - y[top].mean()
    )


def test_a_falling_relation_gives_the_base_rate_not_a_reversed_ranking():
    margin, y = _data(50, seed=2, slope=-2.0, shift=0.0)
    calibrator = fit_calibrator(margin, y)
    p = calibrator.predict(np.linspace(-5, 5, 11))
    assert np.ptp(p) == 0.0
    assert p[0] == pytest.approx(y.mean())


def test_one_class_gives_the_identity():
    assert fit_calibrator(np.array([0.1, 0.2]), np.array([0, 0])) is IDENTITY
    np.testing.assert_allclose(IDENTITY.predict(np.array([0.0])), [0.5])
