"""The dynamics the oracle forecasts are the dynamics the week loop runs."""

from __future__ import annotations

import numpy as np

from simulator import _latent as L


def test_forecast_tables_match_simulated_paths():
    a, q = L.transition()
    rng = np.random.default_rng(0)
    state = np.tile([[0.5], [0.05]], (1, 50_000))
    for _ in range(9):
        state = a @ state + np.sqrt(np.diag(q))[:, None] * rng.normal(size=state.shape)
    powers, covs = L.forecast_tables()
    expected_mean = powers[9] @ np.array([0.5, 0.05])
    assert np.allclose(state.mean(axis=1), expected_mean, atol=0.01)
    assert np.allclose(np.cov(state), covs[9], rtol=0.05, atol=1e-4)


def test_expected_sigmoid_is_close_to_monte_carlo():
    rng = np.random.default_rng(1)
    for mean, sd in ((-3.0, 1.5), (0.5, 2.0)):
        sample = L.sigmoid(mean + sd * rng.normal(size=200_000)).mean()
        assert abs(L.expected_sigmoid(np.array(mean), np.array(sd**2)) - sample) < 0.01


def test_churn_rises_when_health_falls_and_the_champion_leaves():
    base = dict(
        segment=np.array([2, 2, 2]),
        v=np.zeros(3),
        sponsor_absent=np.zeros(3),
        escalations=np.zeros(3),
        stalled=np.zeros(3),
        tenure_days=np.full(3, 400.0),
        term_months=np.full(3, 12),
    )
    logits = L.churn_logit(
        health=np.array([1.0, -1.0, -1.0]), champion_absent=np.array([0.0, 0.0, 1.0]), **base
    )
    assert logits[0] < logits[1] < logits[2]


def test_provisioned_users_are_whole_people_and_at_least_one():
    users = L.provisioned_users(np.log(np.array([0.3, 1.0, 2.99, 3.0, 17.6])))
    assert users.tolist() == [1.0, 1.0, 2.0, 3.0, 17.0]
