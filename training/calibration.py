"""Calibrators that map a booster's raw margin to a probability, stored as plain JSON.

Beta calibration (Kull, Silva Filho and Flach, 2017) is the default: with p0 = sigmoid(margin),
logit(p) = a ln(p0) - b ln(1 - p0) + c, a, b >= 0. Why it and not isotonic regression:

- it is strictly increasing, so it keeps the booster's ranking *within* ties too: isotonic
  regression maps whole ranges of margins onto one step, which put half of a book on a single
  lowest probability (and produced exactly 0 and 1) while the accounts in it differed;
- three parameters fit on a few hundred out-of-time rows, where isotonic needs thousands;
- unlike Platt's sigmoid (the special case a = b) it bends the two tails separately, which a
  booster trained with early stopping on shifted data needs (over-confident at one end only).

Platt's sigmoid remains for tiny calibration sets, and every probability is kept strictly inside
(0, 1) so forecasts can sum it and no account is ever "certain".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# A probability is never exactly 0 or 1; far enough out that it ties no real accounts.
_EPS = 1e-9
# Below this many calibration rows, fit one slope and intercept (Platt) instead of three.
_BETA_MIN_ROWS = 100


def _log_terms(margin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ln p0, -ln(1 - p0)) of p0 = sigmoid(margin), computed without overflow."""
    return -np.logaddexp(0.0, -margin), np.logaddexp(0.0, margin)


@dataclass(frozen=True)
class Calibrator:
    kind: str  # "beta" | "sigmoid"
    a: float = 1.0  # sigmoid: p = 1 / (1 + exp(-(a * margin + b)))
    b: float = 0.0  # beta: logit p = a ln p0 + b (-ln(1 - p0)) + c
    c: float = 0.0

    def predict(self, margin: np.ndarray) -> np.ndarray:
        margin = np.asarray(margin, dtype=np.float64)
        if self.kind == "beta":
            log_p, minus_log_q = _log_terms(margin)
            logit = self.a * log_p + self.b * minus_log_q + self.c
        else:
            logit = self.a * margin + self.b
        return np.clip(1.0 / (1.0 + np.exp(-logit)), _EPS, 1.0 - _EPS)

    def to_json(self) -> dict[str, Any]:
        if self.kind == "beta":
            return {"kind": "beta", "a": self.a, "b": self.b, "c": self.c}
        return {"kind": "sigmoid", "a": self.a, "b": self.b}

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> Calibrator:
        if payload["kind"] == "beta":
            return cls(
                kind="beta", a=float(payload["a"]), b=float(payload["b"]), c=float(payload["c"])
            )
        return cls(kind="sigmoid", a=float(payload["a"]), b=float(payload["b"]))


IDENTITY = Calibrator(kind="sigmoid", a=1.0, b=0.0)


def _logistic(features: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    # Nearly unpenalized: these are calibration parameters, not a model to regularize.
    fit = LogisticRegression(C=1e4, max_iter=1000).fit(features, y)
    return fit.coef_[0].astype(float), float(fit.intercept_[0])


def _base_rate(y: np.ndarray) -> Calibrator:
    # A falling curve would reverse the ranking; the base rate ties accounts instead.
    rate = float(np.clip(y.mean(), _EPS, 1 - _EPS))
    return Calibrator(kind="sigmoid", a=0.0, b=float(np.log(rate / (1 - rate))))


def _fit_sigmoid(margin: np.ndarray, y: np.ndarray) -> Calibrator:
    (a,), b = _logistic(margin.reshape(-1, 1), y)
    return Calibrator(kind="sigmoid", a=float(a), b=b) if a > 0 else _base_rate(y)


def _fit_beta(margin: np.ndarray, y: np.ndarray) -> Calibrator:
    log_p, minus_log_q = _log_terms(margin)
    (a, b), c = _logistic(np.column_stack([log_p, minus_log_q]), y)
    # A negative coefficient would make the map non-monotone: refit with that term dropped
    # (the published method's own fallback), keeping the map increasing.
    if a < 0:
        (b,), c = _logistic(minus_log_q.reshape(-1, 1), y)
        a = 0.0
    elif b < 0:
        (a,), c = _logistic(log_p.reshape(-1, 1), y)
        b = 0.0
    if a <= 0 and b <= 0:
        return _base_rate(y)
    return Calibrator(kind="beta", a=max(float(a), 0.0), b=max(float(b), 0.0), c=c)


def fit_calibrator(margin: np.ndarray, y: np.ndarray) -> Calibrator:
    """Beta calibration from `_BETA_MIN_ROWS` rows, Platt below; identity on one class."""
    margin = np.asarray(margin, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if len(np.unique(y)) < 2:
        # Nothing to learn the mapping from; the booster's own probability is the honest answer.
        return IDENTITY
    if len(y) < _BETA_MIN_ROWS:
        return _fit_sigmoid(margin, y)
    return _fit_beta(margin, y)
