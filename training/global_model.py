"""GlobalModel: one LightGBM for every segment, "one score for all", for comparison.

It sees the same features as the segment boosters and not the segment itself, so comparing it
with SegmentedModel measures what scoring each segment against its peers adds. It is the very
booster SegmentedModel trains for small and unseen segments; `from_segmented` reuses it instead of
fitting it twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retain.config import Config
from retain.errors import RetainError
from training import _booster
from training._design import DesignSpec
from training.calibration import Calibrator
from training.explain import Explanation
from training.segmented import GLOBAL, SegmentedModel

if TYPE_CHECKING:
    import lightgbm as lgb


class GlobalModel:
    """A single calibrated booster for all segments (scikit-learn estimator contract)."""

    def __init__(
        self,
        target: str = "churn",
        config: Config | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.target = target
        self.config = config
        self.params = params

    def fit(self, X: pd.DataFrame, y: Any) -> GlobalModel:
        # The global booster of a SegmentedModel whose segments all fall back to it is exactly
        # this model; fitting through it keeps one code path for split, stopping and calibration.
        config = self.config or Config()
        everyone_global = config.with_overrides({"training": {"min_positives_per_segment": 2**62}})
        segmented = SegmentedModel(
            self.target, everyone_global, segment_params={GLOBAL: dict(self.params or {})}
        ).fit(X, y)
        return self._take(segmented)

    @classmethod
    def from_segmented(cls, model: SegmentedModel) -> GlobalModel:
        """The global booster a fitted SegmentedModel already holds, as a GlobalModel."""
        params = (model.segment_params or {}).get(GLOBAL)
        return cls(model.target, model.config, params=params)._take(model)

    def _take(self, model: SegmentedModel) -> GlobalModel:
        self.booster_: lgb.Booster = model.global_booster_
        self.calibrator_: Calibrator = model.global_calibrator_
        self.design_: DesignSpec = model.design_
        self.feature_names_ = list(model.feature_names_)
        self.validation_split_ = model.validation_split_
        self.metrics_ = {"__all__": dict(model.global_metrics_)}
        self.n_features_in_ = len(self.feature_names_)
        self.classes_ = np.array([0, 1])
        return self

    def raw_margin(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "booster_"):
            raise RetainError("This GlobalModel is not fitted yet; call fit() first")
        return _booster.raw_margin(self.booster_, self.design_.matrix(X))

    def explain(self, X: pd.DataFrame) -> Explanation:
        """Exact TreeSHAP contributions (log-odds) of the one booster, plus its base value:
        `contributions.sum(axis=1) + base_value == raw_margin` for every row. (The backtest's
        reasons come from the headline model, which is this one when `global` is chosen.)"""
        if not hasattr(self, "booster_"):
            raise RetainError("This GlobalModel is not fitted yet; call fit() first")
        matrix = self.design_.matrix(X)
        n_features = len(self.feature_names_)
        values = _booster.contributions(self.booster_, matrix)
        frame = pd.DataFrame(values[:, :n_features], columns=self.feature_names_, index=X.index)
        return Explanation(
            contributions=frame,
            base_value=values[:, n_features],
            raw_margin=_booster.raw_margin(self.booster_, matrix),
        )

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.calibrator_.predict(self.raw_margin(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)
