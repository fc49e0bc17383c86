from __future__ import annotations

import numpy as np

from training.calibration import IDENTITY, Calibrator, fit_calibrator


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    margin = rng.normal(0, 2, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.5 * margin - 1)))).astype(int)
    return margin, y


def test_isotonic_with_enough_rows_sigmoid_below():
    margin, y = _data(500)
    assert fit_calibrator(margin, y, isotonic_min_rows=400).kind == "isotonic"
    assert fit_calibrator(margin, y, isotonic_min_rows=501).kind == "sigmoid"


def test_calibrators_are_monotone_bounded_and_round_trip_through_json():
    margin, y = _data(600)
    grid = np.linspace(-10, 10, 401)
    for min_rows in (100, 10_000):
        calibrator = fit_calibrator(margin, y, isotonic_min_rows=min_rows)
        p = calibrator.predict(grid)
        assert (np.diff(p) >= 0).all()
        assert ((p > 0) & (p < 1)).all()
        again = Calibrator.from_json(calibrator.to_json())
        np.testing.assert_array_equal(again.predict(grid), p)


def test_sigmoid_recovers_a_known_mapping():
    margin, y = _data(20_000, seed=1)
    calibrator = fit_calibrator(margin, y, isotonic_min_rows=10**9)
    assert abs(calibrator.a - 0.5) < 0.05
    assert abs(calibrator.b + 1.0) < 0.1


def test_one_class_gives_the_identity():
    assert fit_calibrator(np.array([0.1, 0.2]), np.array([0, 0]), isotonic_min_rows=1) is IDENTITY
    np.testing.assert_allclose(IDENTITY.predict(np.array([0.0])), [0.5])
