"""Baselines every model must beat: a logistic regression and a rule scorecard.

The scorecard is built the way incumbent CS platforms build one: points per signal (usage trend,
seat utilization, champion, escalations, onboarding, NPS) summing to 100, with configurable
weights and green/yellow/red thresholds. A signal the data does not have gets half its points
(neutral), so a missing table neither rewards nor punishes an account.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.frame import categorical_feature_columns, feature_columns
from retain.config import Config
from retain.errors import RetainError
from training._design import labels_array


class LogisticBaseline:
    """Median imputation (with missing indicators), scaling, one-hot categoricals, logistic."""

    def __init__(
        self,
        target: str = "churn",
        config: Config | None = None,
        C: float = 1.0,
        max_rows: int | None = 200_000,
    ) -> None:
        self.target = target
        self.config = config
        self.C = C
        # A linear baseline stops improving long before millions of rows; a seeded sample keeps
        # the backtest's many refits fast.
        self.max_rows = max_rows

    def fit(self, X: pd.DataFrame, y: Any) -> LogisticBaseline:
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline, make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        config = self.config or Config()
        labels = labels_array(y, self.target)
        self.feature_names_ = feature_columns(X)
        categorical = categorical_feature_columns(X)
        # A column with no value at all carries no information and breaks the imputer's median.
        numeric = [c for c in self.feature_names_ if c not in categorical and X[c].notna().any()]
        self.numeric_features_ = numeric
        self.categorical_features_ = categorical
        transformers: list[tuple[str, Any, list[str]]] = [
            (
                "numeric",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
                ),
                numeric,
            )
        ]
        if categorical:
            transformers.append(
                (
                    "categorical",
                    make_pipeline(
                        SimpleImputer(strategy="constant", fill_value="(missing)"),
                        OneHotEncoder(handle_unknown="ignore", min_frequency=20),
                    ),
                    categorical,
                )
            )
        self.pipeline_ = Pipeline(
            [
                ("prepare", ColumnTransformer(transformers)),
                (
                    "logistic",
                    LogisticRegression(C=self.C, max_iter=2000, random_state=config.training.seed),
                ),
            ]
        )
        rows = np.arange(len(X))
        if self.max_rows is not None and len(X) > self.max_rows:
            rng = np.random.default_rng(config.training.seed)
            rows = np.sort(rng.choice(len(X), self.max_rows, replace=False))
        self.pipeline_.fit(self._frame(X.iloc[rows]), labels[rows])
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = len(self.feature_names_)
        return self

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(index=X.index)
        for column in self.numeric_features_:
            values = X[column] if column in X.columns else np.nan
            out[column] = pd.to_numeric(pd.Series(values, index=X.index), errors="coerce").astype(
                "float64"
            )
        for column in self.categorical_features_:
            values = X[column] if column in X.columns else None
            out[column] = (
                pd.Series(values, index=X.index, dtype="object")
                .where(lambda s: s.notna(), "(missing)")
                .astype(str)
            )
        return out

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "pipeline_"):
            raise RetainError("This LogisticBaseline is not fitted yet; call fit() first")
        return self.pipeline_.predict_proba(self._frame(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)


def _ramp(values: np.ndarray, zero_at: float, full_at: float) -> np.ndarray:
    """0 at `zero_at`, 1 at `full_at`, linear between, clipped; NaN stays NaN."""
    return np.clip((values - zero_at) / (full_at - zero_at), 0.0, 1.0)


def _column(X: pd.DataFrame, name: str) -> np.ndarray:
    if name not in X.columns:
        return np.full(len(X), np.nan)
    return pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=np.float64)


def _signal_shares(X: pd.DataFrame) -> dict[str, np.ndarray]:
    """Share (0-1) of each signal's points per row; NaN where the data has no value."""
    usage = _ramp(_column(X, "active_users_28d_change_pct"), -50.0, 0.0)
    utilization = _ramp(_column(X, "seat_utilization"), 0.2, 0.8)
    champion = np.clip(_column(X, "champion_present"), 0.0, 1.0)
    escalated = _ramp(_column(X, "escalated_tickets_90d"), 3.0, 0.0)
    open_escalations = _column(X, "open_escalations")
    # An escalation still open is the worst support state, whatever the 90-day count says.
    escalations = np.where(open_escalations > 0, 0.0, escalated)
    escalations = np.where(np.isnan(escalated) & (open_escalations == 0), 1.0, escalations)
    stalled = _column(X, "onboarding_stalled")
    completion = _column(X, "onboarding_completion_pct") / 100.0
    onboarding = np.where(stalled == 1, 0.0, np.clip(completion, 0.0, 1.0))
    onboarding = np.where(np.isnan(completion) & (stalled == 0), 1.0, onboarding)
    nps = _ramp(_column(X, "nps_last"), 5.0, 9.0)  # detractors score nothing, promoters all
    return {
        "usage_trend": usage,
        "utilization": utilization,
        "champion": champion,
        "escalations": escalations,
        "onboarding": onboarding,
        "nps": nps,
    }


class RuleScorecard:
    """Points per signal summing to 100; predict_proba is a 1-D logistic fit on the points."""

    def __init__(self, target: str = "churn", config: Config | None = None) -> None:
        self.target = target
        self.config = config

    def _weights(self) -> dict[str, float]:
        config = self.config or Config()
        weights = dict(config.training.scorecard_weights)
        unknown = set(weights) - set(_signal_shares(pd.DataFrame()))
        if unknown:
            raise RetainError(
                f"Unknown scorecard signal(s) in [training] scorecard_weights: "
                f"{', '.join(sorted(unknown))}"
            )
        total = sum(weights.values())
        if total <= 0:
            raise RetainError("[training] scorecard_weights must sum to more than 0")
        return {k: 100.0 * v / total for k, v in weights.items()}

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Health points 0-100 (higher is healthier); a missing signal gets half its points."""
        shares = _signal_shares(X)
        points = np.zeros(len(X), dtype=np.float64)
        for signal, weight in self._weights().items():
            share = np.where(np.isnan(shares[signal]), 0.5, shares[signal])
            points += weight * share
        return points

    def band(self, X: pd.DataFrame) -> np.ndarray:
        config = self.config or Config()
        points = self.score(X)
        out = np.full(len(X), "yellow", dtype=object)
        out[points >= config.training.scorecard_green_min] = "green"
        out[points < config.training.scorecard_red_below] = "red"
        return out.astype(str)

    def fit(self, X: pd.DataFrame, y: Any) -> RuleScorecard:
        from sklearn.linear_model import LogisticRegression

        labels = labels_array(y, self.target)
        self.weights_ = self._weights()
        points = self.score(X).reshape(-1, 1) / 100.0
        self.logistic_ = LogisticRegression(max_iter=1000).fit(points, labels)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "logistic_"):
            raise RetainError("This RuleScorecard is not fitted yet; call fit() first")
        return self.logistic_.predict_proba(self.score(X).reshape(-1, 1) / 100.0)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)
