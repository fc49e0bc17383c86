"""A play's effect without a control group: doubly robust (AIPW) on LightGBM, after overlap.

When every triggered account got the play (or a CSM chose whom), treated and untreated accounts
differ by more than the play. The estimate adjusts for what the features at the play's start
say about them (the snapshot at or just before `started_at`, point in time), and is only as good
as that: a confounder the features do not see biases it. It is labelled observational for that
reason.

- **Overlap** (`check_overlap`): a propensity model e(x) = P(play | features), cross-fitted.
  The effect on the treated is identified only where untreated accounts with the same
  propensity exist: treated rows whose propensity lies above the untreated rows' range (or
  above `max_propensity`) have no comparable untreated account. When more than
  `max_outside_share` of the treated rows are such, the effect is "not identified" and nothing
  is estimated; otherwise the rows outside the common support are trimmed and the estimate
  refers to the treated rows inside it.
- **Estimate** (`aipw_att`): the augmented inverse-propensity-weighted effect on the treated
  (ATT), with cross-fitting (each row's nuisance values come from models fitted on the other
  folds), so the tree models' overfitting does not leak into it:
  ATT = sum_i [T_i (Y_i - m0(x_i)) - (1 - T_i) e_i / (1 - e_i) (Y_i - m0(x_i))] / sum_i T_i,
  where m0 is the outcome model fitted on untreated rows. Consistent when either e or m0 is
  right; the interval is the normal one from the influence function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

# Default LightGBM settings of the nuisance models: small and regularized, because a play has a
# few hundred treated rows and the untreated pool's size must not let the trees memorize it.
NUISANCE_PARAMS: dict = {
    "n_estimators": 150,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 40,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "verbose": -1,
    "n_jobs": 1,  # a few hundred rows: threads cost more than they give on a shared machine
}
MAX_PROPENSITY = 0.95  # above it an untreated twin is 20 times rarer than a treated one
MIN_PROPENSITY = 0.005  # below it a treated row is not comparable either
MAX_OUTSIDE_SHARE = 0.10  # more treated rows than this without support: not identified

Classifier = Callable[[], object]


@dataclass(frozen=True)
class Overlap:
    identified: bool
    treated_n: int
    untreated_n: int
    outside_share: float  # treated rows without comparable untreated rows
    support_low: float
    support_high: float
    note: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ObservationalEstimate:
    effect: float
    ci_low: float
    ci_high: float
    se: float
    treated_n: int  # inside the common support
    untreated_n: int
    treated_rate: float
    untreated_rate: float
    adjusted_untreated_rate: float  # the treated rows' outcome had they had no play (estimated)

    def as_dict(self) -> dict:
        return asdict(self)


def _lightgbm() -> object:
    from lightgbm import LGBMClassifier

    return LGBMClassifier(**NUISANCE_PARAMS)


def _folds(n: int, k: int, seed: int, groups: np.ndarray | None) -> np.ndarray:
    """Fold of each row; rows of one group (an account) share a fold."""
    rng = np.random.default_rng(seed)
    if groups is None:
        return rng.permutation(np.arange(n) % k)
    codes, first = np.unique(groups, return_inverse=True)
    group_fold = rng.permutation(np.arange(len(codes)) % k)
    return group_fold[first]


def cross_fit(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    fit_mask: np.ndarray | None = None,
    k: int = 5,
    seed: int = 0,
    groups: np.ndarray | None = None,
    make_classifier: Classifier = _lightgbm,
) -> np.ndarray:
    """Out-of-fold P(y = 1 | x) for every row, each fold's model fitted on the other folds'
    rows where `fit_mask` holds (all rows by default)."""
    n = len(X)
    fit_mask = np.ones(n, dtype=bool) if fit_mask is None else np.asarray(fit_mask, dtype=bool)
    y = np.asarray(y, dtype=int)
    fold = _folds(n, k, seed, groups)
    out = np.full(n, np.nan)
    for f in range(k):
        train = (fold != f) & fit_mask
        test = fold == f
        if not test.any():
            continue
        labels = y[train]
        if train.sum() == 0 or labels.min() == labels.max():
            out[test] = labels.mean() if train.any() else np.nan
            continue
        model = make_classifier()
        model.fit(X[train], labels)
        out[test] = model.predict_proba(X[test])[:, 1]
    return out


def check_overlap(
    propensity: np.ndarray,
    treated: np.ndarray,
    *,
    max_propensity: float = MAX_PROPENSITY,
    min_propensity: float = MIN_PROPENSITY,
    max_outside_share: float = MAX_OUTSIDE_SHARE,
) -> tuple[Overlap, np.ndarray]:
    """The overlap verdict and the rows inside the common support."""
    e = np.asarray(propensity, dtype=float)
    t = np.asarray(treated, dtype=bool)
    n1, n0 = int(t.sum()), int((~t).sum())
    if n1 == 0 or n0 == 0:
        verdict = Overlap(
            False, n1, n0, 1.0, float("nan"), float("nan"), "no treated or no untreated rows"
        )
        return verdict, np.zeros(len(e), dtype=bool)
    low = max(float(e[~t].min()), float(e[t].min()), min_propensity)
    high = min(float(e[~t].max()), max_propensity)
    inside = (e >= low) & (e <= high)
    outside = float((~inside[t]).mean())
    identified = outside <= max_outside_share and inside[t].any() and inside[~t].any()
    note = (
        f"{outside:.0%} of the treated rows have no comparable untreated rows (propensity "
        f"outside [{low:.3f}, {high:.3f}])"
    )
    if not identified:
        note += f"; above {max_outside_share:.0%}: the effect is not identified from these data"
    return Overlap(identified, n1, n0, outside, low, high, note), inside


def aipw_att_from_nuisances(
    treated: np.ndarray,
    y: np.ndarray,
    propensity: np.ndarray,
    m0: np.ndarray,
    level: float = 0.95,
) -> tuple[float, float]:
    """(ATT, its standard error) from the nuisance values, by the AIPW formula above."""
    t = np.asarray(treated, dtype=float)
    y = np.asarray(y, dtype=float)
    e = np.asarray(propensity, dtype=float)
    m = np.asarray(m0, dtype=float)
    p = t.mean()
    residual = y - m
    weight = e / (1.0 - e)
    att = float(np.sum(t * residual - (1 - t) * weight * residual) / t.sum())
    psi = (t * (residual - att) - (1 - t) * weight * residual) / p
    se = float(np.sqrt(np.mean(psi**2) / len(t)))
    return att, se


def aipw_att(
    X: pd.DataFrame,
    treated: np.ndarray,
    y: np.ndarray,
    *,
    k: int = 3,
    seed: int = 0,
    groups: np.ndarray | None = None,
    make_classifier: Classifier = _lightgbm,
    level: float = 0.95,
    propensity: np.ndarray | None = None,
) -> tuple[Overlap, ObservationalEstimate | None]:
    """Overlap check, then (if identified) the cross-fitted AIPW effect on the treated."""
    t = np.asarray(treated, dtype=bool)
    y = np.asarray(y, dtype=float)
    if propensity is None:
        propensity = cross_fit(X, t, k=k, seed=seed, groups=groups, make_classifier=make_classifier)
    overlap, inside = check_overlap(propensity, t)
    if not overlap.identified:
        return overlap, None
    Xi, ti, yi, ei = X[inside], t[inside], y[inside], propensity[inside]
    gi = None if groups is None else np.asarray(groups)[inside]
    m0 = cross_fit(
        Xi, yi, fit_mask=~ti, k=k, seed=seed + 1, groups=gi, make_classifier=make_classifier
    )
    att, se = aipw_att_from_nuisances(ti, yi, ei, m0)
    z = norm.ppf(0.5 + level / 2)
    treated_rate = float(yi[ti].mean())
    return overlap, ObservationalEstimate(
        effect=att,
        ci_low=att - z * se,
        ci_high=att + z * se,
        se=se,
        treated_n=int(ti.sum()),
        untreated_n=int((~ti).sum()),
        treated_rate=treated_rate,
        untreated_rate=float(yi[~ti].mean()),
        adjusted_untreated_rate=treated_rate - att,
    )
