"""SurvivalModel: time to churn as a discrete-time hazard model on LightGBM.

One booster learns h(k | x), the probability that an account still covered at the start of month k
after as_of loses its coverage in month k, from the person-month frame of
`features.person_months` (features of the snapshot at as_of plus time covariates known then).
The curve is S(t) = prod_{k <= t} (1 - h(k | x)), for t = 1 .. `n_months_` months.

Consistency with the renewal risk (`anchor_to_churn`): the churn model is the calibrated authority
on the account's next renewal decision, P(churn by T). The curve is made to agree with it at T by
scaling its cumulative hazard up to the month holding T (H(t) -> c H(t), c = -log(1 - p) / H(T),
which keeps the curve's shape inside the window), and after that month it follows the hazard
model's own conditional survival: S(t) = S(m) * S_raw(t) / S_raw(m). So 1 - S(T) equals
churn_probability exactly (H linear inside a month), for every account, and later months add what
the hazard model knows about renewals after the next one.

Stored as a LightGBM text model plus JSON, never pickle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.person_months import (
    MIN_CURVE_MONTHS,
    TIME_COVARIATES,
    curve_months,
    expand,
    time_covariates,
)
from retain.config import Config
from retain.errors import RetainError
from retain.files import write_json, write_text
from training import _booster
from training._design import DesignSpec

if TYPE_CHECKING:
    import lightgbm as lgb

FORMAT_VERSION = 1
_MODEL_FILE = "survival_model.json"
_BOOSTER_FILE = "hazard.txt"
EXPECTED_MONTHS_HORIZON = 24  # "expected months retained over the next two years"
_PREDICT_CHUNK = 2_000  # snapshots per prediction block (x n_months person-month rows)
_TINY_HAZARD = 1e-9


class SurvivalModel:
    """Discrete-time hazard model (scikit-learn estimator contract).

    `fit(X, y)`: X a feature frame (one row per snapshot), y a frame with `duration` (months
    observed) and `event` (churned in the last observed month), e.g. from
    `features.person_months.survival_outcome`. `far_month_share` keeps that share of the months
    far from any renewal point (weighted back); `valid_share` of accounts stop the boosting early;
    both default to the config's [survival] section.
    """

    def __init__(
        self,
        config: Config | None = None,
        n_months: int | None = None,
        far_month_share: float | None = None,
        valid_share: float | None = None,
    ) -> None:
        self.config = config
        self.n_months = n_months
        self.far_month_share = far_month_share
        self.valid_share = valid_share

    def fit(self, X: pd.DataFrame, y: pd.DataFrame) -> SurvivalModel:
        import lightgbm as lgb

        missing = [c for c in ("duration", "event") if c not in getattr(y, "columns", ())]
        if missing:
            raise RetainError(
                f"SurvivalModel.fit needs y with columns duration and event (missing "
                f"{', '.join(missing)})"
            )
        if len(y) != len(X):
            raise RetainError(f"{len(X)} feature rows but {len(y)} survival outcomes")
        if "account_id" not in X.columns:
            raise RetainError("SurvivalModel.fit needs an 'account_id' column in the feature frame")
        config = self.config or Config()
        tc = config.training
        far_share = (
            config.survival.far_month_share
            if self.far_month_share is None
            else self.far_month_share
        )
        valid_share = config.survival.valid_share if self.valid_share is None else self.valid_share
        X = X.reset_index(drop=True)
        y = y.reset_index(drop=True)
        n_months = self.n_months or curve_months(X.get("contract_term_days"))
        spec = DesignSpec.from_frame(X)
        person_months = expand(X, y, n_months, far_month_share=far_share, seed=tc.seed)
        events = int(person_months["event"].sum())
        if events == 0 or events == len(person_months):
            raise RetainError(
                f"Cannot fit a survival model: {len(person_months)} observed month(s) at risk "
                f"from {len(X)} snapshots hold {events} churn(s); both outcomes are needed"
            )
        rows = person_months["row"].to_numpy()
        base = spec.matrix(X).astype(np.float32)
        matrix = np.hstack([base[rows], person_months[list(TIME_COVARIATES)].to_numpy(np.float32)])
        labels = person_months["event"].to_numpy()
        weights = person_months["weight"].to_numpy()
        # Early stopping on whole accounts held out (seeded by the account id's hash): an
        # account's snapshots overlap in time, so splitting rows would leak the answer.
        hashed = pd.util.hash_array(X["account_id"].astype(str).to_numpy(), categorize=True)
        held_out = (hashed % 1000) < int(valid_share * 1000)
        valid = held_out[rows]
        names = [*spec.feature_names, *TIME_COVARIATES]
        params = {**_booster.base_params(tc), "metric": ["binary_logloss"]}
        train_set = lgb.Dataset(
            matrix[~valid],
            label=labels[~valid],
            weight=weights[~valid],
            feature_name=names,
            categorical_feature=spec.categorical_indices or "auto",
            free_raw_data=True,
        )
        valid_sets, callbacks = [], []
        if valid.any() and len(np.unique(labels[valid])) == 2:
            valid_sets.append(
                lgb.Dataset(
                    matrix[valid], label=labels[valid], weight=weights[valid], reference=train_set
                )
            )
            callbacks.append(lgb.early_stopping(tc.early_stopping_rounds, verbose=False))
        booster = lgb.train(
            params,
            train_set,
            num_boost_round=tc.num_boost_round if valid_sets else min(tc.num_boost_round, 100),
            valid_sets=valid_sets,
            valid_names=["valid"] if valid_sets else None,
            callbacks=callbacks,
        )
        best = booster.best_iteration or booster.current_iteration()
        self.booster_: lgb.Booster = lgb.Booster(
            model_str=booster.model_to_string(num_iteration=best)
        )
        self.design_ = spec
        self.feature_names_ = list(spec.feature_names)
        self.n_months_ = int(n_months)
        self.n_features_in_ = len(self.feature_names_)
        valid_loss = booster.best_score.get("valid", {}).get("binary_logloss")
        self.metrics_ = {
            "snapshots": len(X),
            "person_months": len(person_months),
            "person_months_weighted": float(weights.sum()),
            "events": events,
            "valid_person_months": int(valid.sum()),
            "valid_log_loss": None if valid_loss is None else float(valid_loss),
            "num_trees": int(self.booster_.num_trees()),
            "far_month_share": far_share,
            "valid_share": valid_share,
        }
        return self

    # -- prediction ----------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise RetainError("This SurvivalModel is not fitted yet; call fit() or load()")

    def predict_hazard(self, X: pd.DataFrame) -> np.ndarray:
        """(n, n_months_): h(k | x) for months k = 1 .. n_months_."""
        self._check_fitted()
        k = self.n_months_
        schedule = _schedule(X)
        out = np.empty((len(X), k), dtype=np.float64)
        for first in range(0, len(X), _PREDICT_CHUNK):
            whole = len(X) <= _PREDICT_CHUNK
            chunk = X if whole else X.iloc[first : first + _PREDICT_CHUNK]
            base = self.design_.matrix(chunk)
            covariates = time_covariates(
                schedule if whole else schedule.iloc[first : first + _PREDICT_CHUNK], k
            )
            matrix = np.hstack(
                [np.repeat(base, k, axis=0)]
                + [covariates[name].reshape(-1, 1) for name in TIME_COVARIATES]
            )
            hazard = np.asarray(self.booster_.predict(matrix), dtype=np.float64)
            out[first : first + len(chunk)] = hazard.reshape(len(chunk), k)
        return out

    def predict_survival(self, X: pd.DataFrame) -> np.ndarray:
        """(n, n_months_): S(t), the probability of still being a customer t months after as_of."""
        return np.cumprod(1.0 - self.predict_hazard(X), axis=1)

    # -- persistence (LightGBM text + JSON, never pickle) -------------------------------------

    def save(self, directory: str | Path) -> Path:
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        write_text(directory / _BOOSTER_FILE, self.booster_.model_to_string())
        payload = {
            "format_version": FORMAT_VERSION,
            "kind": "retain.SurvivalModel",
            "design": self.design_.to_json(),
            "n_months": self.n_months_,
            "time_covariates": list(TIME_COVARIATES),
            "metrics": self.metrics_,
        }
        write_json(directory / _MODEL_FILE, payload)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> SurvivalModel:
        directory = Path(directory)
        path = directory / _MODEL_FILE
        if not path.is_file():
            raise RetainError(f"No saved SurvivalModel in {directory} (missing {_MODEL_FILE})")
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("format_version") != FORMAT_VERSION:
            raise RetainError(
                f"{path} has survival model format {payload.get('format_version')!r}; this "
                f"version of retain reads format {FORMAT_VERSION}"
            )
        if list(payload.get("time_covariates", [])) != list(TIME_COVARIATES):
            raise RetainError(f"{path} was saved with other time covariates; train it again")
        model = cls()
        model.booster_ = _booster.booster_from_file(str(directory / _BOOSTER_FILE))
        model.design_ = DesignSpec.from_json(payload["design"])
        model.feature_names_ = list(model.design_.feature_names)
        model.n_months_ = int(payload["n_months"])
        model.n_months = model.n_months_
        model.n_features_in_ = len(model.feature_names_)
        model.metrics_ = dict(payload["metrics"])
        return model


# -- curves --------------------------------------------------------------------------------------


def cumulative_hazard_at(curves: np.ndarray, months: np.ndarray) -> np.ndarray:
    """H at fractional months (hazard constant inside a month: H linear between month ends);
    beyond the last month, the last month's hazard carries on."""
    curves = np.clip(np.asarray(curves, dtype=np.float64), _TINY_HAZARD, 1.0)
    n, k = curves.shape
    hazard = np.hstack([np.zeros((n, 1)), -np.log(curves)])  # H(0) = 0, H(1..k)
    months = np.clip(np.asarray(months, dtype=np.float64), 0.0, None)
    low = np.minimum(np.floor(months).astype(np.int64), k - 1)
    frac = months - low
    rows = np.arange(n)
    return hazard[rows, low] + frac * (hazard[rows, low + 1] - hazard[rows, low])


def survival_at(curves: np.ndarray, months: np.ndarray) -> np.ndarray:
    """S at fractional months, interpolated as `cumulative_hazard_at` says."""
    return np.exp(-cumulative_hazard_at(curves, months))


def anchor_to_churn(
    curves: np.ndarray, window_months: np.ndarray, churn_probability: np.ndarray
) -> np.ndarray:
    """Curves that agree with the renewal risk: 1 - S(T) = churn_probability at the window end T
    (`window_months` after as_of), the raw curve's shape kept inside the window and its
    conditional survival after it (module docstring)."""
    curves = np.clip(np.asarray(curves, dtype=np.float64), _TINY_HAZARD, 1.0)
    k = curves.shape[1]
    p = np.clip(np.asarray(churn_probability, dtype=np.float64), 0.0, 1.0 - 1e-12)
    w = np.asarray(window_months, dtype=np.float64)
    target = -np.log1p(-p)
    at_window = cumulative_hazard_at(curves, w)
    hazard = -np.log(curves)
    rows = np.arange(len(curves))
    # Months up to the one holding T are scaled together: H is linear inside a month, so the
    # interpolated H(T) scales by the same factor and lands exactly on the target.
    last = np.clip(np.ceil(w).astype(np.int64), 1, k)
    t = np.arange(1, k + 1, dtype=np.float64)[None, :]
    inside = t <= last[:, None]
    flat = at_window <= _TINY_HAZARD
    scale = np.where(flat, 0.0, target / np.maximum(at_window, _TINY_HAZARD))
    # A raw curve flat up to T cannot be scaled: spread the target evenly over the window.
    spread = np.where(flat, target / np.maximum(w, 1e-9), 0.0)
    within = scale[:, None] * hazard + spread[:, None] * t
    at_last = within[rows, last - 1]
    after = at_last[:, None] + (hazard - hazard[rows, last - 1][:, None])
    return np.exp(-np.where(inside, within, after))


def expected_months_retained(
    curves: np.ndarray, horizon: int = EXPECTED_MONTHS_HORIZON
) -> np.ndarray:
    """Restricted mean time retained over `horizon` months: the area under S from 0 to the
    horizon (trapezoids between month ends, S(0) = 1)."""
    curves = np.asarray(curves, dtype=np.float64)
    if curves.shape[1] < horizon:
        raise RetainError(f"Curves reach {curves.shape[1]} months, fewer than {horizon}")
    points = np.hstack([np.ones((len(curves), 1)), curves[:, :horizon]])
    return (points[:, :-1] + points[:, 1:]).sum(axis=1) / 2.0


def anchored_curves(
    model: SurvivalModel, X: pd.DataFrame, churn_probability: np.ndarray, config: Config
) -> np.ndarray:
    """The served curves: the model's, anchored to each row's calibrated churn probability."""
    from features.person_months import window_months

    return anchor_to_churn(
        model.predict_survival(X), window_months(_schedule(X), config), churn_probability
    )


_SCHEDULE_COLUMNS = ("as_of", "churn_window_end", "days_to_renewal", "contract_term_days")


def _schedule(X: pd.DataFrame) -> pd.DataFrame:
    """The few columns the month arithmetic reads, dates parsed once (an API frame carries ISO
    text): a small frame, so the wide feature frame is neither copied nor parsed again."""
    out = pd.DataFrame(index=pd.RangeIndex(len(X)))
    for column in _SCHEDULE_COLUMNS:
        if column not in X.columns:
            continue
        values = X[column].to_numpy()
        if column in ("as_of", "churn_window_end"):
            values = pd.to_datetime(pd.Series(values), format="ISO8601").to_numpy()
        out[column] = values
    return out


__all__ = [
    "EXPECTED_MONTHS_HORIZON",
    "MIN_CURVE_MONTHS",
    "SurvivalModel",
    "anchor_to_churn",
    "anchored_curves",
    "cumulative_hazard_at",
    "expected_months_retained",
    "survival_at",
]
