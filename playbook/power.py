"""How many accounts a play's comparison needs before it can be conclusive.

The two-proportion sample size (normal approximation, Fleiss' formula without continuity
correction): the accounts per arm that detect a difference of `p1 - p0` with a two-sided test
at `alpha` with probability `power`, for a given allocation `ratio` = treated / control (a 10%
holdback is a ratio of 9). Evaluated at the observed rates, it says whether the sample in hand
is enough for the difference it shows, or how far it is from that.
"""

from __future__ import annotations

import math

from scipy.stats import norm


def sample_size(
    p0: float, p1: float, *, ratio: float = 1.0, alpha: float = 0.05, power: float = 0.8
) -> tuple[int, int] | None:
    """(control n, treated n) to detect p1 vs p0; None when the rates are equal or undefined."""
    if not (0.0 <= p0 <= 1.0 and 0.0 <= p1 <= 1.0) or p0 == p1 or ratio <= 0:
        return None
    z_a = norm.ppf(1 - alpha / 2)
    z_b = norm.ppf(power)
    p_bar = (p1 * ratio + p0) / (1 + ratio)
    spread = z_a * math.sqrt(p_bar * (1 - p_bar) * (1 + 1 / ratio)) + z_b * math.sqrt(
        p0 * (1 - p0) + p1 * (1 - p1) / ratio
    )
    control = spread**2 / (p1 - p0) ** 2
    return (math.ceil(control), math.ceil(control * ratio))


def power_at(p0: float, p1: float, n_control: int, n_treated: int, *, alpha: float = 0.05) -> float:
    """The chance that a two-sided test at `alpha` detects p1 vs p0 with these arms."""
    if n_control < 1 or n_treated < 1 or p0 == p1:
        return float("nan") if p0 == p1 else 0.0
    # The same approximation as sample_size: pooled variance under no difference, each arm's
    # own under the difference.
    p_bar = (p1 * n_treated + p0 * n_control) / (n_treated + n_control)
    null_se = math.sqrt(p_bar * (1 - p_bar) * (1 / n_control + 1 / n_treated))
    se = math.sqrt(p0 * (1 - p0) / n_control + p1 * (1 - p1) / n_treated)
    if se == 0:
        return 1.0
    z_a = norm.ppf(1 - alpha / 2)
    return float(norm.cdf((abs(p1 - p0) - z_a * null_se) / se))
