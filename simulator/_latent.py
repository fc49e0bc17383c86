"""The latent state's dynamics and the outcome probabilities it implies.

The week loop (`_engine`) draws outcomes from these functions and the oracle (`_truth`) forecasts
them, so both read the same formulas and the oracle is the true generating process, not a copy.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from simulator import _params as P


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def expected_sigmoid(mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """E[sigmoid(Z)] for Z ~ N(mean, variance), by the probit approximation (MacKay 1992)."""
    return sigmoid(mean / np.sqrt(1.0 + np.pi * variance / 8.0))


def transition() -> tuple[np.ndarray, np.ndarray]:
    """State (x, v): x[t+1] = A x[t] + noise with covariance Q."""
    a = np.array([[1.0 - P.KAPPA, 1.0], [0.0, P.PHI]])
    q = np.diag([P.SIGMA_X**2, P.SIGMA_V**2])
    return a, q


@cache
def forecast_tables(max_steps: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """A^k and the k-step forecast covariance for k = 0..max_steps."""
    a, q = transition()
    powers = np.zeros((max_steps + 1, 2, 2))
    covs = np.zeros((max_steps + 1, 2, 2))
    powers[0] = np.eye(2)
    for k in range(1, max_steps + 1):
        powers[k] = a @ powers[k - 1]
        covs[k] = a @ covs[k - 1] @ a.T + q
    return powers, covs


@cache
def stationary_cov() -> np.ndarray:
    a, q = transition()
    cov = np.zeros((2, 2))
    for _ in range(3_000):
        cov = a @ cov @ a.T + q
    return cov


def trend(v: np.ndarray) -> np.ndarray:
    """The drift still to come from momentum v: what a falling usage curve says about tomorrow."""
    return v / (1.0 - P.PHI)


def stalled_weight(tenure_days: np.ndarray) -> np.ndarray:
    return np.exp(-np.maximum(tenure_days, 0.0) / P.STALLED_DECAY_DAYS)


def term_churn_shift(term_months: np.ndarray) -> np.ndarray:
    return np.where(
        term_months <= 1,
        P.MONTHLY_CHURN_SHIFT,
        np.where(term_months > 12, P.MULTI_YEAR_CHURN_SHIFT, 0.0),
    )


def churn_logit(
    segment: np.ndarray,
    health: np.ndarray,
    v: np.ndarray,
    champion_absent: np.ndarray,
    sponsor_absent: np.ndarray,
    escalations: np.ndarray,
    stalled: np.ndarray,
    tenure_days: np.ndarray,
    term_months: np.ndarray,
) -> np.ndarray:
    """Log-odds that a renewal decided in this state is a churn."""
    w = P.segment_vector
    return (
        w("churn_intercept", segment)
        + term_churn_shift(term_months)
        + w("churn_health", segment) * health
        + w("churn_trend", segment) * trend(v)
        + w("churn_champion_absent", segment) * champion_absent
        + w("churn_sponsor_absent", segment) * sponsor_absent
        + w("churn_escalations", segment) * np.log1p(escalations)
        + w("churn_onboarding_stalled", segment) * stalled * stalled_weight(tenure_days)
    )


def expansion_logit(
    segment: np.ndarray, health: np.ndarray, log_pressure: np.ndarray, term_months: np.ndarray
) -> np.ndarray:
    """Log-odds that a renewal (not a churn) adds seats; pressure = provisioned users / seats."""
    w = P.segment_vector
    return (
        w("expansion_intercept", segment)
        + np.where(term_months <= 1, P.MONTHLY_EXPANSION_SHIFT, 0.0)
        + w("expansion_health", segment) * health
        + w("expansion_pressure", segment) * log_pressure
    )


def contraction_logit(
    segment: np.ndarray, health: np.ndarray, log_pressure: np.ndarray, term_months: np.ndarray
) -> np.ndarray:
    w = P.segment_vector
    return (
        w("contraction_intercept", segment)
        + np.where(term_months <= 1, P.MONTHLY_EXPANSION_SHIFT, 0.0)
        + w("contraction_health", segment) * health
        + w("contraction_pressure", segment) * log_pressure
    )


def provisioned_users(log_pool: np.ndarray) -> np.ndarray:
    """The user accounts that exist: whole people, at least one.

    The pool grows continuously, but only whole users can log in, so the seat pressure that
    drives add-ons and expansions counts these (a CS team sees them; a fraction of a user it
    could never see).
    """
    return np.maximum(np.floor(np.exp(log_pool)), 1.0)


def upsell_hazard(health: np.ndarray, log_pressure: np.ndarray) -> np.ndarray:
    """Weekly chance of a mid-term add-on: high once provisioned users outgrow the licence."""
    return np.minimum(
        0.06 * sigmoid(8.0 * (np.exp(log_pressure) - 1.08)) * np.exp(0.3 * health), 0.2
    )
