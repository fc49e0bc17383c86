"""Conclusive after many questions: a p-value per estimate and Holm's adjustment per family.

`retain plays evaluate` asks one question per play and outcome, overall and again per segment.
Each 95% interval alone excludes zero for 1 useless play in 20, so with eight overall estimates a
false "conclusive" is more likely than not to appear somewhere (the demo's truly useless
`adoption_review` came out at -11.5 points, interval -20.8 to -2.6). A CS leader who stops or
scales a play on that verdict acts on noise.

- **p-values:** a randomized estimate gets the score test of two independent proportions (the
  test Newcombe's score interval inverts, statsmodels' `test_proportions_2indep`); an
  observational (AIPW) estimate gets the Wald test of its effect over its standard error.
- **Families:** the overall estimates (segment "all") are the primary family, the per-segment
  estimates a second, exploratory one; each is adjusted on its own, so adding segments never
  weakens the overall verdicts.
- **Holm** (step-down Bonferroni, statsmodels' `multipletests`) controls the chance of any false
  "conclusive" in a family at `alpha`, whatever the dependence between estimates (the same
  accounts sit in several: a play's churn and expansion estimates share their rows).

An estimate is then `conclusive` when its Holm-adjusted p-value is below `alpha`;
`conclusive_unadjusted` keeps the single-question verdict (its interval excludes zero) beside it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from scipy.stats import norm

ALPHA = 0.05
PRIMARY = "overall"
EXPLORATORY = "per segment"
ADJUSTMENT = "holm"
OVERALL_SEGMENT = "all"  # playbook.evaluate's name for the estimate over every segment


def randomized_p_value(
    treated_events: int, treated_n: int, control_events: int, control_n: int
) -> float:
    """Two-sided score test that the treated and control rates are equal."""
    from statsmodels.stats.proportion import test_proportions_2indep

    if treated_n == 0 or control_n == 0:
        return math.nan
    if treated_events * control_n == control_events * treated_n:
        return 1.0  # equal rates (including 0 vs 0 and all vs all, where the test is undefined)
    result = test_proportions_2indep(
        treated_events, treated_n, control_events, control_n, method="score"
    )
    return float(result.pvalue)


def wald_p_value(effect: float, se: float) -> float:
    """Two-sided p-value of an approximately normal estimate."""
    if not (math.isfinite(effect) and math.isfinite(se)) or se <= 0:
        return math.nan
    return float(2 * norm.sf(abs(effect) / se))


def holm(p_values: Iterable[float], alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """(rejected, adjusted p-values) of Holm's step-down procedure; NaN p-values are skipped."""
    from statsmodels.stats.multitest import multipletests

    ps = np.asarray(list(p_values), dtype=float)
    rejected = np.zeros(len(ps), dtype=bool)
    adjusted = np.full(len(ps), np.nan)
    known = np.isfinite(ps)
    if known.any():
        reject, corrected, _, _ = multipletests(ps[known], alpha=alpha, method=ADJUSTMENT)
        rejected[known] = reject
        adjusted[known] = corrected
    return rejected, adjusted


def adjust_estimates(estimates: list[dict], alpha: float = ALPHA) -> list[dict]:
    """Every estimate with `family`, `p_adjusted` and `conclusive` after Holm within its family
    (estimates without an effect are left as they are)."""
    out = [dict(e) for e in estimates]
    for family in (PRIMARY, EXPLORATORY):
        members = [
            i
            for i, e in enumerate(out)
            if e.get("effect") is not None and _family(e) == family and "p_value" in e
        ]
        rejected, adjusted = holm((out[i]["p_value"] for i in members), alpha)
        for i, reject, p in zip(members, rejected, adjusted, strict=True):
            out[i]["family"] = family
            out[i]["p_adjusted"] = None if math.isnan(p) else float(p)
            out[i]["conclusive"] = bool(reject)
    return out


def _family(estimate: dict) -> str:
    return PRIMARY if estimate.get("segment") == OVERALL_SEGMENT else EXPLORATORY
