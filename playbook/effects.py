"""A randomized play's effect: the treated arm's outcome rate minus the control arm's.

Where the control arm was drawn at random (`assignment` "random"), the two arms differ only by
chance and by the play, so the difference of their outcome rates estimates the play's average
effect on the accounts it was triggered for. Two 95% intervals: Newcombe's hybrid score
interval (method 10 of Newcombe 1998, from the two Wilson score intervals; good coverage even
with few events, never outside [-1, 1]) and a percentile bootstrap that resamples accounts'
rows within each arm (the arms' sizes fixed, as the design fixed them in expectation).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import norm


@dataclass(frozen=True)
class ArmDifference:
    """treated rate - control rate, with its intervals (NaN where an arm is empty)."""

    treated_n: int
    control_n: int
    treated_events: int
    control_events: int
    treated_rate: float
    control_rate: float
    effect: float
    ci_low: float  # Newcombe hybrid score interval
    ci_high: float
    bootstrap_low: float
    bootstrap_high: float

    def as_dict(self) -> dict:
        return asdict(self)


def wilson_interval(events: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval for a proportion (no continuity correction)."""
    if n == 0:
        return (float("nan"), float("nan"))
    z = norm.ppf(0.5 + level / 2)
    p = events / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (float(max(centre - half, 0.0)), float(min(centre + half, 1.0)))


def newcombe_interval(
    x1: int, n1: int, x0: int, n0: int, level: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p1 - p0 (method 10)."""
    if n1 == 0 or n0 == 0:
        return (float("nan"), float("nan"))
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson_interval(x1, n1, level)
    l0, u0 = wilson_interval(x0, n0, level)
    d = p1 - p0
    low = d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return (float(low), float(high))


def arm_difference(
    treated: np.ndarray,
    control: np.ndarray,
    *,
    n_bootstrap: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> ArmDifference:
    """Difference of the 0/1 outcome rates of two arms, with Newcombe and bootstrap intervals."""
    y1 = np.asarray(treated, dtype=float)
    y0 = np.asarray(control, dtype=float)
    n1, n0 = len(y1), len(y0)
    x1, x0 = int(y1.sum()), int(y0.sum())
    r1 = x1 / n1 if n1 else float("nan")
    r0 = x0 / n0 if n0 else float("nan")
    low, high = newcombe_interval(x1, n1, x0, n0, level)
    b_low = b_high = float("nan")
    if n1 and n0 and n_bootstrap > 0:
        rng = np.random.default_rng(seed)
        # Resampling a 0/1 arm is a binomial draw of its event count.
        draws = rng.binomial(n1, r1, n_bootstrap) / n1 - rng.binomial(n0, r0, n_bootstrap) / n0
        tail = (1 - level) / 2
        b_low, b_high = (float(v) for v in np.quantile(draws, [tail, 1 - tail]))
    return ArmDifference(
        treated_n=n1,
        control_n=n0,
        treated_events=x1,
        control_events=x0,
        treated_rate=float(r1),
        control_rate=float(r0),
        effect=float(r1 - r0),
        ci_low=low,
        ci_high=high,
        bootstrap_low=b_low,
        bootstrap_high=b_high,
    )
