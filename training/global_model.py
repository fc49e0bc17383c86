"""GlobalModel: one LightGBM over every segment (segment as a feature), for comparison."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from retain.config import Config
from retain.errors import RetainError
from training import _booster
from training._design import DesignSpec, labels_array
from training._metrics import validation_metrics
from training._split import time_split
from training.calibration import fit_calibrator
from training.segmented import require_columns


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
        require_columns(X, ("segment", "as_of"), "GlobalModel.fit")
        config = self.config or Config()
        tc = config.training
        labels = labels_array(y, self.target)
        base = DesignSpec.from_frame(X)
        levels = tuple(sorted(X["segment"].dropna().astype(str).unique()))
        spec = DesignSpec(
            feature_names=(*base.feature_names, "segment"),
            categories={**base.categories, "segment": levels},
        )
        matrix = spec.matrix(X)
        valid, split = time_split(X["as_of"], tc.validation_fraction, tc.seed)
        train = ~valid
        self.booster_ = _booster.fit_booster(
            matrix[train],
            labels[train],
            matrix[valid],
            labels[valid],
            feature_names=list(spec.feature_names),
            categorical=spec.categorical_indices,
            config=tc,
            overrides=self.params,
        )
        margin = _booster.raw_margin(self.booster_, matrix[valid])
        self.calibrator_ = fit_calibrator(
            margin, labels[valid], isotonic_min_rows=tc.isotonic_min_rows
        )
        self.design_ = spec
        self.feature_names_ = list(spec.feature_names)
        self.validation_split_ = split
        self.metrics_ = {
            "__all__": {
                "train_rows": int(train.sum()),
                "train_positives": int(labels[train].sum()),
                "valid_rows": int(valid.sum()),
                "valid_positives": int(labels[valid].sum()),
                **validation_metrics(labels[valid], self.calibrator_.predict(margin)),
            }
        }
        self.n_features_in_ = len(self.feature_names_)
        self.classes_ = np.array([0, 1])
        return self

    def raw_margin(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "booster_"):
            raise RetainError("This GlobalModel is not fitted yet; call fit() first")
        return _booster.raw_margin(self.booster_, self.design_.matrix(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.calibrator_.predict(self.raw_margin(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)
