"""Calibrators that map a booster's raw margin to a probability, stored as plain JSON.

Isotonic when there are enough out-of-time rows (it needs data but assumes no shape), Platt's
sigmoid otherwise. Both are non-decreasing in the raw margin, so calibration never reorders
accounts within a segment; probabilities stay inside [0, 1] so they can be summed into forecasts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Isotonic steps can reach exactly 0 or 1; a forecast should never claim certainty.
_EPS = 1e-4


@dataclass(frozen=True)
class Calibrator:
    kind: str  # "isotonic" | "sigmoid"
    x: tuple[float, ...] = ()  # isotonic thresholds on the raw margin
    y: tuple[float, ...] = ()  # isotonic probabilities at those thresholds
    a: float = 1.0  # sigmoid: p = 1 / (1 + exp(-(a * margin + b)))
    b: float = 0.0

    def predict(self, margin: np.ndarray) -> np.ndarray:
        margin = np.asarray(margin, dtype=np.float64)
        if self.kind == "isotonic":
            p = np.interp(margin, np.asarray(self.x), np.asarray(self.y))
        else:
            p = 1.0 / (1.0 + np.exp(-(self.a * margin + self.b)))
        return np.clip(p, _EPS, 1.0 - _EPS)

    def to_json(self) -> dict[str, Any]:
        if self.kind == "isotonic":
            return {"kind": "isotonic", "x": list(self.x), "y": list(self.y)}
        return {"kind": "sigmoid", "a": self.a, "b": self.b}

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> Calibrator:
        if payload["kind"] == "isotonic":
            return cls(kind="isotonic", x=tuple(payload["x"]), y=tuple(payload["y"]))
        return cls(kind="sigmoid", a=float(payload["a"]), b=float(payload["b"]))


IDENTITY = Calibrator(kind="sigmoid", a=1.0, b=0.0)


def fit_calibrator(margin: np.ndarray, y: np.ndarray, *, isotonic_min_rows: int) -> Calibrator:
    """Isotonic with at least `isotonic_min_rows` rows, sigmoid below; identity on one class."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    margin = np.asarray(margin, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if len(np.unique(y)) < 2:
        # Nothing to learn the mapping from; the booster's own probability is the honest answer.
        return IDENTITY
    if len(y) >= isotonic_min_rows:
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(margin, y)
        return Calibrator(
            kind="isotonic",
            x=tuple(float(v) for v in iso.X_thresholds_),
            y=tuple(float(v) for v in iso.y_thresholds_),
        )
    platt = LogisticRegression(C=1e4, max_iter=1000).fit(margin.reshape(-1, 1), y)
    a = float(platt.coef_[0, 0])
    if a <= 0:
        # A falling curve would reverse the ranking; the base rate ties accounts instead.
        rate = float(np.clip(y.mean(), _EPS, 1 - _EPS))
        return Calibrator(kind="sigmoid", a=0.0, b=float(np.log(rate / (1 - rate))))
    return Calibrator(kind="sigmoid", a=a, b=float(platt.intercept_[0]))
